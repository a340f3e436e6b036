#!/usr/bin/env bash
# Compares src/schema.rs with what `diesel print-schema` prints for a freshly migrated
# database (the service's own `migrate` on a throw-away embedded cluster).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
data_dir=$(mktemp -d /tmp/passerelle-schema.XXXXXX)
chmod 755 "$data_dir"
trap 'stop_service; rm -rf "$data_dir"' EXIT
cargo build --quiet --locked
port=$(free_port)
start_service target/debug/passerelle "$data_dir" "$port" PASSERELLE_DEMO_DATA=false
url="postgres://passerelle:$(cat "$data_dir/postgres.password")@127.0.0.1:$(sed -n 4p "$data_dir/postgres/postmaster.pid")/passerelle"
if ! diesel print-schema --database-url "$url" | diff -u src/schema.rs -; then
    echo "src/schema.rs differs from diesel print-schema (above): regenerate it" >&2
    exit 1
fi
echo "src/schema.rs matches diesel print-schema"
