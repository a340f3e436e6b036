#!/usr/bin/env python3
"""Turns the statements PostgreSQL logged for one request into a pgbench script.

Usage: bench-capture.py SERVER_LOG OFFSET > script.sql

Reads the server log from byte OFFSET (the request was made with
log_min_duration_statement = 0 and log_line_prefix naming each line's application, app=%a),
keeps every statement the request ran, in order, with its bound parameters written as
literals, so that pgbench runs exactly the SQL the endpoint ran. The request's statements are
those of the service's HTTP pool (application passerelle-http), on whichever of its backends
they ran: the background work (passerelle-jobs, passerelle-webhooks) and psql are others,
whatever they ran meanwhile.
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
    prefix = line[: m.start()]
    backend = re.search(r"\[(\d+)\]", prefix)
    app = re.search(r"app=(\S*)", prefix)
    statements.append(
        (
            backend.group(1) if backend else "",
            app.group(1) if app else "",
            sql.rstrip().rstrip(";") + ";",
        )
    )

if not statements:
    sys.exit("no statement found in the log: was log_min_duration_statement set?")
# One request runs while the log is on, so every statement of the HTTP pool is the request's,
# in log order: a request may check a connection out more than once (the caller's account,
# then the handler's transaction), and the pool may hand it another backend each time.
request = [sql for _, app, sql in statements if app == "passerelle-http"]
if not request:
    apps = sorted({app for _, app, _ in statements})
    sys.exit(
        f"no statement of passerelle-http in the log (applications in it: {apps}): "
        "was log_line_prefix set with app=%a?"
    )
print("\n".join(request))
