#!/usr/bin/env python3
"""Fails when the modules of src/ import each other in a cycle.

A module is a file of src/ (`src/a/b.rs` or `src/a/b/mod.rs` is `a::b`). A module depends on
another when it names it: a `use crate::…` or `use super::…` line (braces expanded), or a path
`crate::a::b::…` in its code. A path is resolved to the longest module it starts with, so
`crate::cases::Step` is `cases` and `crate::measures::service::open` is `measures::service`.
Naming a module's child from its parent (`pub mod x;`, `x::f()`, `pub use x::Y`) is not an
edge upward, and what a module's own `#[cfg(test)] mod tests` uses is left out (tests sit
beside what they test, above it).

Prints each cycle (a strongly connected component of more than one module, with one path
around it) and exits 1; prints "no import cycle among N modules" and exits 0 otherwise.

Also fails when a domain's `api` (a file `api.rs` or under `api/`) names diesel or
`crate::schema`: handlers parse, authorise, call their service and present; queries live
in `queries`.

Usage: scripts/check-layers.py [src-dir]
       scripts/check-layers.py --self-test   (adds a cycle and an api query to a copy of
                                              src/ and fails unless both are caught)
"""

import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.normpath(os.path.join(HERE, "..", "src"))


def modules():
    """Module path (tuple) -> file."""
    found = {}
    for root, _, files in os.walk(SRC):
        for f in files:
            if not f.endswith(".rs"):
                continue
            rel = os.path.relpath(os.path.join(root, f), SRC)
            parts = rel[:-3].split(os.sep)
            if parts == ["lib"] or parts == ["main"]:
                continue
            if parts[-1] == "mod":
                parts = parts[:-1]
            found[tuple(parts)] = os.path.join(root, f)
    return found


# Comments and literals, whichever starts first: a line or block comment, a quote in a char
# literal, a raw string (`r#"…"#`), a string.
TOKENS = re.compile("|".join([
    r"//[^\n]*",
    r"/\*(?:.|\n)*?\*/",
    r"'\"'",
    r"'\\''",
    r'\br(#*)"(?:.|\n)*?"\1',
    r'"(?:\\.|[^"\\])*"',
]), re.S)


def strip(text):
    """The code without comments, strings and test modules."""
    text = TOKENS.sub(lambda m: '""' if m.group(0)[0] in "'\"r" else " ", text)
    # `#[cfg(test)] mod tests { … }` to the end of the file (by convention it is last).
    m = re.search(r"#\[cfg\(test\)\]\s*(pub\s+)?mod\s+\w+\s*\{", text)
    if m:
        text = text[: m.start()]
    return text


def expand(tree):
    """`a::{b, c::{d, e}}` -> ['a::b', 'a::c::d', 'a::c::e']."""
    tree = tree.strip()
    depth = 0
    for i, ch in enumerate(tree):
        if ch == "{":
            if depth == 0:
                prefix, inner = tree[:i], tree[i + 1 : tree.rindex("}")]
                parts, cur, d = [], "", 0
                for c in inner:
                    if c == "," and d == 0:
                        parts.append(cur)
                        cur = ""
                        continue
                    d += c == "{"
                    d -= c == "}"
                    cur += c
                parts.append(cur)
                out = []
                for p in parts:
                    if p.strip():
                        out += [prefix + q for q in expand(p)]
                return out
            depth += 1
    return [re.sub(r"\s+as\s+\w+$", "", tree)]


def resolve(path, here, known):
    """The module a path names, from module `here`; None for outside crates and itself."""
    parts = [p for p in path.split("::") if p]
    if not parts:
        return None
    if parts[0] == "crate":
        base = []
        parts = parts[1:]
    elif parts[0] in ("super", "self"):
        base = list(here)
        is_dir = os.path.basename(known[here]) == "mod.rs"
        # In a.rs, `super` is a's parent; in a/mod.rs, `super` is a's parent too, `self` is a.
        while parts and parts[0] in ("super", "self"):
            if parts[0] == "super":
                base = base[:-1]
            parts = parts[1:]
        del is_dir
    else:
        return None
    full = base + parts
    for n in range(len(full), 0, -1):
        cand = tuple(full[:n])
        if cand in known:
            return cand
    return None


def edges(known):
    graph = {m: set() for m in known}
    for mod, path in known.items():
        with open(path, encoding="utf-8") as f:
            code = strip(f.read())
        paths = []
        for m in re.finditer(r"\buse\s+([^;]+);", code):
            paths += expand(m.group(1))
        paths += re.findall(r"\b((?:crate|super)(?:::\w+)+)", code)
        for p in paths:
            target = resolve(p, mod, known)
            if target is None or target == mod:
                continue
            # A parent naming its own child is not an edge.
            if target[: len(mod)] == mod:
                continue
            graph[mod].add(target)
    return graph


def cycles(graph):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def loop_in(comp, graph):
    """One cycle through the component's first module, as a list of modules."""
    start, members = comp[0], set(comp)
    prev, queue = {start: None}, [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph[v]):
            if w == start:
                path = [v]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return list(reversed(path)) + [start]
            if w in members and w not in prev:
                prev[w] = v
                queue.append(w)
    return comp


def api_queries(known):
    """(module, what it names) for each api module that names diesel or the schema."""
    out = []
    for mod, path in sorted(known.items()):
        if "api" not in mod:
            continue
        with open(path, encoding="utf-8") as f:
            code = strip(f.read())
        for bad in ("diesel", "crate::schema"):
            if re.search(r"\b" + re.escape(bad), code):
                out.append((mod, bad))
    return out


def check():
    known = modules()
    graph = edges(known)
    found = cycles(graph)
    name = lambda m: "::".join(m)
    failed = False
    for comp in found:
        print(f"import cycle among {len(comp)} modules: {', '.join(map(name, comp))}")
        print("  for example: " + " -> ".join(map(name, loop_in(comp, graph))))
    if found:
        print(f"{len(found)} import cycle(s): a module may only use modules below it (see src/lib.rs)")
        failed = True
    for mod, bad in api_queries(known):
        print(f"{name(mod)} names {bad}: an api calls its service; statements live in queries")
        failed = True
    if failed:
        return 1
    apis = sum(1 for m in known if "api" in m)
    print(f"no import cycle among {len(known)} modules; no query in {apis} api modules")
    return 0


def self_test():
    """The check fails on a copy of src/ with a cycle, and on one with a query in an api."""
    import shutil
    import subprocess
    import tempfile

    def run_on(change):
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copytree(SRC, os.path.join(tmp, "src"))
            os.mkdir(os.path.join(tmp, "scripts"))
            script = os.path.join(tmp, "scripts", "check.py")
            shutil.copy(os.path.abspath(__file__), script)
            change(os.path.join(tmp, "src"))
            r = subprocess.run([sys.executable, script], capture_output=True, text=True)
            return r.returncode, r.stdout

    def prepend(path, line):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        with open(path, "w", encoding="utf-8") as f:
            f.write(line + text)

    def add_cycle(src):
        # `context` is the bottom of the crate; `error` uses it, so naming a domain from it
        # closes a loop.
        prepend(os.path.join(src, "context.rs"), "use crate::households::model::HouseholdRow;\n")

    def add_api_query(src):
        prepend(os.path.join(src, "api.rs"), "use crate::schema::households;\n")

    code, out = run_on(lambda src: None)
    assert code == 0, "the unchanged tree must pass:\n" + out
    code, out = run_on(add_cycle)
    assert code == 1 and "import cycle" in out and "context" in out, "a cycle went unseen:\n" + out
    code, out = run_on(add_api_query)
    assert code == 1 and "names crate::schema" in out, "a query in an api went unseen:\n" + out
    print("self-test: a cycle through context and a query in an api are both refused")
    return 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    return check()


if __name__ == "__main__":
    sys.exit(main())
