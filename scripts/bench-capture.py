#!/usr/bin/env python3
"""Turns the statements PostgreSQL logged for one request into a pgbench script.

Usage: bench-capture.py SERVER_LOG OFFSET > script.sql

Reads the server log from byte OFFSET (the request was made with
log_min_duration_statement = 0), keeps every statement the request's backend executed, in order,
with its bound parameters written as literals, so that pgbench runs exactly the SQL the
endpoint ran.
"""
import re
import sys

log_path, offset = sys.argv[1], int(sys.argv[2])
with open(log_path, encoding="utf-8", errors="replace") as f:
    f.seek(offset)
    lines = f.read().splitlines()

statements = []
for i, line in enumerate(lines):
    m = re.search(r"LOG:  duration: [0-9.]+ ms  (?:execute [^:]*|statement): (.*)$", line)
    if not m:
        continue
    # A statement over several lines goes on in lines that start with a tab.
    parts = [m.group(1)]
    j = i + 1
    while j < len(lines) and lines[j].startswith("\t"):
        parts.append(lines[j][1:])
        j += 1
    sql = "\n".join(parts)
    if "log_min_duration_statement" in sql or "pg_reload_conf" in sql:
        continue
    # The parameters follow the statement, though another backend's line (a checkpoint, an
    # autovacuum) may come between. A NULL parameter is logged bare.
    detail = next((l for l in lines[j : j + 5] if "parameters:" in l), "")
    params = dict(re.findall(r"\$(\d+) = ('(?:[^']|'')*'|NULL)", detail))
    sql = re.sub(r"\$(\d+)(?!\d)", lambda p: params[p.group(1)], sql)
    backend = re.search(r"\[(\d+)\]", line[: m.start()])
    statements.append((backend.group(1) if backend else "", sql.rstrip().rstrip(";") + ";"))

if not statements:
    sys.exit("no statement found in the log: was log_min_duration_statement set?")
# The request ran on one backend; a background job of the service (an expiry) may have run
# on another meanwhile: keep the backend that ran the most statements.
counts = {}
for backend, _ in statements:
    counts[backend] = counts.get(backend, 0) + 1
request_backend = max(counts, key=counts.get)
print("\n".join(sql for backend, sql in statements if backend == request_backend))
