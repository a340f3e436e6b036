#!/usr/bin/env bash
# Regenerates src/reference/postcodes.txt (postcode -> INSEE commune codes)
# from the pinned npm package @etalab/decoupage-administratif.
# Requires: npm, python3. Deterministic: same package version => same bytes.
set -euo pipefail

PKG="@etalab/decoupage-administratif"
VERSION="6.0.0"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$repo_root/src/reference/postcodes.txt"

tmpdir="$(mktemp -d)"
trap 'rm -rf "$tmpdir"' EXIT

npm install --no-save --no-audit --no-fund --silent --prefix "$tmpdir" "$PKG@$VERSION" >&2
pkgdir="$tmpdir/node_modules/$PKG"

mkdir -p "$(dirname "$out")"
python3 - "$pkgdir" "$PKG" "$VERSION" "$out" <<'PY'
import json, re, sys, collections

pkgdir, pkg, version, out = sys.argv[1:5]
meta = json.load(open(f"{pkgdir}/package.json", encoding="utf-8"))
if meta["version"] != version:
    sys.exit(f"expected {pkg}@{version}, got {meta['version']}")
communes = json.load(open(f"{pkgdir}/data/communes.json", encoding="utf-8"))

POSTCODE = re.compile(r"^[0-9]{5}$")
INSEE = re.compile(r"^[0-9][0-9AB][0-9]{3}$")
table = collections.defaultdict(set)
for c in communes:
    code = c["code"]
    for cp in c.get("codesPostaux") or []:
        if not POSTCODE.match(cp) or not INSEE.match(code):
            sys.exit(f"unexpected code: postcode={cp!r} insee={code!r}")
        table[cp].add(code)

pairs = sum(len(v) for v in table.values())
insee = set().union(*table.values())
header = [
    f"# French postcodes -> INSEE commune codes served.",
    f"# Source: npm package {pkg}@{version}, data/communes.json (field codesPostaux),",
    f"#   https://github.com/etalab/decoupage-administratif (INSEE COG; postcodes from La Poste's",
    f"#   'Base officielle des codes postaux').",
    f"# Licence, as stated in the package README: 'Données : Licence Ouverte",
    f"#   (https://www.etalab.gouv.fr/licence-ouverte-open-licence) / Code : MIT'; the README says the",
    f"#   La Poste postcode list was 'Antérieurement, sous licence ODBL, maintenant en LO'.",
    f"# Regenerate with: scripts/gen-postcodes.sh (do not edit by hand).",
    f"# Covers every entry with postcodes: current communes, municipal arrondissements (Paris,",
    f"#   Lyon, Marseille), overseas 971-978 and 986-989. Delegated/associated communes carry no",
    f"#   postcodes in the package and are therefore absent.",
    f"# Format: <postcode> <insee> <insee> ...  (sorted; INSEE codes distinct and sorted)",
    f"# Counts: {len(table)} postcodes, {pairs} (postcode, INSEE) pairs, {len(insee)} distinct INSEE codes.",
]
with open(out, "w", encoding="utf-8", newline="\n") as f:
    f.write("\n".join(header) + "\n")
    for cp in sorted(table):
        f.write(cp + " " + " ".join(sorted(table[cp])) + "\n")
print(f"postcodes={len(table)} pairs={pairs} insee={len(insee)}", file=sys.stderr)
PY

echo "wrote $out: $(wc -l < "$out") lines ($(grep -vc '^#' "$out") postcode lines), $(wc -c < "$out") bytes"
