#!/usr/bin/env bash
# The API as partners' tools see it, from the committed spec:
# - openapi-generator's validation and Redocly's recommended lint (errors fail; warnings
#   are printed);
# - TypeScript types (openapi-typescript), compiled with `tsc --strict` with code that uses
#   them (scripts/clients/uses-types.ts);
# - a Python client (openapi-python-client), checked with `mypy --strict`, then one partner
#   scenario run with it against the running service (scripts/clients/scenario.py).
# Tools come pinned from npm (scripts/clients/package-lock.json) and PyPI
# (scripts/requirements-clients.txt), installed under .tools/ and .venv-clients/.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

binary=${1:-target/debug/passerelle}
spec=openapi/openapi.json
tools=.tools/clients
venv=.venv-clients
mkdir -p "$tools"

if [ ! -x "$venv/bin/openapi-python-client" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r scripts/requirements-clients.txt
fi
if [ ! -x scripts/clients/node_modules/.bin/tsc ] || [ scripts/clients/package-lock.json -nt scripts/clients/node_modules/.package-lock.json ]; then
    (cd scripts/clients && npm ci --no-audit --no-fund --loglevel=error)
fi
bin=scripts/clients/node_modules/.bin

echo "== openapi-generator validate"
"$venv/bin/openapi-generator-cli" validate -i "$spec"

echo "== redocly lint (recommended)"
"$bin/redocly" lint "$spec" --extends=recommended --format=summary

echo "== TypeScript types, tsc --strict"
"$bin/openapi-typescript" "$spec" -o "$tools/passerelle.d.ts" --silent
"$bin/tsc" -p scripts/clients/tsconfig.json

echo "== Python client, mypy --strict"
rm -rf "$tools/python"
PATH="$PWD/$venv/bin:$PATH" "$venv/bin/openapi-python-client" generate --path "$spec" \
    --output-path "$tools/python" --meta setup --overwrite >/dev/null
(cd "$tools/python" && "$OLDPWD/$venv/bin/mypy" --strict passerelle_client)
(cd scripts/clients && PYTHONPATH="../../$tools/python" "../../$venv/bin/mypy" --strict scenario.py)

echo "== the partner scenario, with the Python client"
data_dir=$(mktemp -d /tmp/passerelle-clients.XXXXXX)
chmod 755 "$data_dir"
trap 'stop_service; rm -rf "$data_dir"' EXIT
port=$(free_port)
start_service "$binary" "$data_dir" "$port"
PYTHONPATH="$tools/python" "$venv/bin/python" scripts/clients/scenario.py "http://127.0.0.1:$port"
