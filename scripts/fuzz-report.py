"""Reads the fuzzer's cassette (schemathesis VCR report) and checks that every action
endpoint (a POST that takes If-Match) was reached with an If-Match the service accepted:
answered 200 (done) or 409 (the state forbids it, which the service decides only after the
version matched). Prints, per action, the requests sent and how many the stateful phase
chained from an earlier response's ETag. Exits 1 when an action was never reached.

Usage: python fuzz-report.py openapi.json cassette.yaml
"""

import json
import re
import sys

import yaml


def main(spec_path: str, cassette_path: str) -> int:
    spec = json.load(open(spec_path))
    actions = {}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            takes_if_match = any(p.get("name") == "If-Match" for p in op.get("parameters", []))
            if method == "post" and takes_if_match:
                pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"
                actions[op["operationId"]] = re.compile(pattern)
    cassette = yaml.safe_load(open(cassette_path))
    seen = {name: {"sent": 0, "accepted": 0, "chained": 0} for name in actions}
    etags = set()
    for interaction in cassette["http_interactions"]:
        request, response = interaction["request"], interaction.get("response") or {}
        path = re.sub(r"^https?://[^/]+", "", request["uri"]).split("?")[0]
        status = str(response.get("status", {}).get("code", ""))
        if_match = (request["headers"].get("If-Match") or [None])[0]
        for name, pattern in actions.items():
            if request["method"] == "POST" and pattern.match(path):
                seen[name]["sent"] += 1
                if if_match and status in ("200", "409"):
                    seen[name]["accepted"] += 1
                    if interaction["phase"]["name"] == "stateful" and if_match in etags:
                        seen[name]["chained"] += 1
        for etag in (response.get("headers") or {}).get("etag", []):
            etags.add(etag)
    missing = [name for name, s in seen.items() if s["accepted"] == 0]
    print(f"{'action':32} {'sent':>5} {'If-Match accepted':>18} {'chained by a link':>18}")
    for name, s in sorted(seen.items()):
        print(f"{name:32} {s['sent']:5} {s['accepted']:18} {s['chained']:18}")
    if missing:
        print(f"never reached with an accepted If-Match: {', '.join(missing)}")
        return 1
    print(f"every action ({len(actions)}) reached with an accepted If-Match")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
