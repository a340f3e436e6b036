#!/usr/bin/env bash
# Installs what the make targets need and the machine lacks, from Debian's packages:
#   postgres  the PostgreSQL server binaries (the embedded default database, the tests)
#   build     libpq (for the diesel CLI that checks src/schema.rs), python3-venv (fuzzing),
#             openssl (the tests read the generated signing key with it)
#   bench     wrk and pgbench
#   clients   Node.js and npm (TypeScript types, the spec's lint), a Java runtime
#             (openapi-generator's validation), python3-venv (the Python client)
# As root it installs with apt-get; otherwise it says what to install and fails.
set -euo pipefail

have_pg_server() {
    compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null
}

missing=()
for what in "$@"; do
    case "$what" in
        postgres)
            have_pg_server || missing+=(postgresql)
            ;;
        build)
            [ -e /usr/include/postgresql/libpq-fe.h ] || missing+=(libpq-dev)
            python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
            command -v curl >/dev/null || missing+=(curl)
            # The tests check that OpenSSL reads the signing key the service generates.
            command -v openssl >/dev/null || missing+=(openssl)
            ;;
        clients)
            command -v node >/dev/null || missing+=(nodejs)
            command -v npm >/dev/null || missing+=(npm)
            command -v java >/dev/null || missing+=(default-jre-headless)
            python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
            command -v curl >/dev/null || missing+=(curl)
            ;;
        bench)
            command -v wrk >/dev/null || missing+=(wrk)
            command -v pgbench >/dev/null || missing+=(postgresql-contrib)
            command -v bc >/dev/null || missing+=(bc)
            have_pg_server || missing+=(postgresql)
            ;;
        *)
            echo "install-deps: unknown group $what" >&2
            exit 2
            ;;
    esac
done

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "Missing Debian packages: ${missing[*]}. Install them (sudo apt-get install ${missing[*]}) and run again." >&2
    exit 1
fi
echo "Installing ${missing[*]} ..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
