#!/usr/bin/env bash
# The benchmark: wrk against the release service (own embedded database, demo data) and
# pgbench against the same PostgreSQL, in one run. Prints a table and writes it to
# bench-results/. Knobs: BENCH_SECONDS (default 15), BENCH_CONNECTIONS (default 16);
# BENCH_CASES, BENCH_HOUSING, BENCH_MEASURES_SET, BENCH_PROGRAMMES, BENCH_WEBHOOKS (0 to skip a
# part; measures and programmes need the cases).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

binary=${1:-target/release/passerelle}
seconds=${BENCH_SECONDS:-15}
connections=${BENCH_CONNECTIONS:-16}
mkdir -p bench-results
work=$(mktemp -d /tmp/passerelle-bench.XXXXXX)
chmod 755 "$work"
data_dir="$work/data"
mkdir -p "$data_dir"
chmod 755 "$data_dir"
trap 'stop_service; rm -rf "$work"' EXIT
port=$(free_port)
base="http://127.0.0.1:$port"

rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

# Start-up: first start (creates the cluster, migrates, loads the demo), then a restart.
t0=$(date +%s.%N)
start_service "$binary" "$data_dir" "$port" PASSERELLE_ACCESS_TOKEN_TTL=7200
t1=$(date +%s.%N)
stop_service
t2=$(date +%s.%N)
start_service "$binary" "$data_dir" "$port" PASSERELLE_ACCESS_TOKEN_TTL=7200
t3=$(date +%s.%N)
first_start=$(echo "$t1 - $t0" | bc)
restart=$(echo "$t3 - $t2" | bc)

client_token=$(token "$port" -d grant_type=client_credentials -d client_id=demo-association -d client_secret=demo-secret-association)
sleep 2
idle_rss=$(rss_kib "$SERVICE_PID")

# Sample the service's memory while the load runs.
peak_file="$work/peak"
echo 0 >"$peak_file"
(
    while kill -0 "$SERVICE_PID" 2>/dev/null; do
        r=$(rss_kib "$SERVICE_PID" 2>/dev/null || echo 0)
        [ "${r:-0}" -gt "$(cat "$peak_file")" ] && echo "$r" >"$peak_file"
        sleep 0.2
    done
) &
sampler=$!

cat >"$work/token.lua" <<LUA
wrk.method = "POST"
wrk.body = "grant_type=client_credentials&client_id=demo-association&client_secret=demo-secret-association"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
LUA

results="$work/results.tsv"
: >"$results"
run_wrk() {
    local name=$1
    shift
    local out
    out=$(wrk -t2 -c"$connections" -d"${seconds}s" --latency "$@")
    local rps p50 p99 non2xx
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    non2xx=$(awk '/Non-2xx/ {print $5}' <<<"$out")
    # Little's law: requests/s times the mean latency is the number of requests in flight,
    # at most the connections (wrk reads about 1.3 times that on this machine even on sound
    # runs). Its latencies sometimes say far more (over twice) on this kind of
    # machine (samples no run of this length could hold); such a line is marked, its
    # percentiles are not to be trusted, and the line is measured again (twice at most).
    local in_flight
    in_flight=$(awk -v rps="$rps" '$1 == "Latency" && !done {
        v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
        f = (u == "us") ? 1e-6 : (u == "ms") ? 1e-3 : (u == "s") ? 1 : (u == "m") ? 60 : 0
        printf "%.1f", rps * v * f; done = 1 }' <<<"$out")
    if awk -v x="$in_flight" -v c="$connections" 'BEGIN { exit !(x > c * 2) }'; then
        if [ "${wrk_retry:-0}" -lt 2 ]; then
            echo "$name: wrk's latencies imply $in_flight requests in flight over $connections connections; measuring again" >&2
            wrk_retry=$(( ${wrk_retry:-0} + 1 )) run_wrk "$name" "$@"
            return
        fi
        p99="$p99 (inconsistent: $in_flight in flight)"
    fi
    printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$rps" "$p50" "$p99" "${non2xx:-0}" >>"$results"
}

load_times=()
run_wrk "GET /healthz (no token)" "$base/healthz"
run_wrk "GET /v1/me (bearer token)" -H "Authorization: Bearer $client_token" "$base/v1/me"
run_wrk "POST /v1/auth/token (client_credentials)" -s "$work/token.lua" "$base/v1/auth/token"

# pgbench on the same server: NAME FILE (its latencies from the per-transaction log).
pg_url="postgres://passerelle:$(cat "$data_dir/postgres.password")@127.0.0.1:$(sed -n 4p "$data_dir/postgres/postmaster.pid")/passerelle"
run_pgbench() {
    local name=$1 file=$2
    rm -f "$work"/pgbench_log.*
    if ! (cd "$work" && pgbench -n -M prepared -c "$connections" -j 2 -T "$seconds" -l -f "$file" "$pg_url" >"$work/pgbench.out" 2>&1); then
        echo "pgbench failed on $name:" >&2
        cat "$work/pgbench.out" >&2
        return 1
    fi
    python3 - "$work" "$name" >>"$results" <<'PY'
import glob, re, sys
work, name = sys.argv[1], sys.argv[2]
lat = sorted(int(line.split()[2]) for f in glob.glob(f"{work}/pgbench_log.*") for line in open(f) if len(line.split()) >= 3)
tps = float(re.search(r"tps = ([0-9.]+)", open(f"{work}/pgbench.out").read()).group(1))
pct = lambda p: f"{lat[min(len(lat) - 1, int(len(lat) * p))] / 1000:.2f}ms"
print(f"pgbench: {name}\t{tps:.2f}\t{pct(0.50)}\t{pct(0.99)}\t0")
PY
}

account_id=$(curl -fsS "$base/v1/me" -H "Authorization: Bearer $client_token" | python3 -c 'import json, sys; print(json.load(sys.stdin)["account"]["id"])')
echo "SELECT id, active, role, organisation_id, kind, scopes FROM accounts WHERE id = '$account_id';" >"$work/select.sql"
run_pgbench "SELECT account by primary key" "$work/select.sql"

sql() { psql -qtA "$pg_url" -c "$1"; }
# capture NAME CURL_ARGS...: makes the request once with every statement logged, and writes
# what the service ran (caller check, read, journal) to $work/NAME.sql for pgbench.
capture() {
    local name=$1 log offset
    shift
    log="$data_dir/postgres/server.log"
    offset=$(stat -c %s "$log")
    # Each line names its backend's application: the requests' pool is passerelle-http, the
    # background work's passerelle-jobs and passerelle-webhooks (src/db.rs).
    sql "ALTER SYSTEM SET log_min_duration_statement = 0" >/dev/null
    sql "ALTER SYSTEM SET log_line_prefix = '%m [%p] app=%a '" >/dev/null
    sql "SELECT pg_reload_conf()" >/dev/null
    sleep 0.5
    curl -fsS -o /dev/null "$@"
    sql "ALTER SYSTEM RESET log_min_duration_statement" >/dev/null
    sql "ALTER SYSTEM RESET log_line_prefix" >/dev/null
    sql "SELECT pg_reload_conf()" >/dev/null
    sleep 0.5
    python3 scripts/bench-capture.py "$log" "$offset" >"$work/$name.sql"
}

if [ "${BENCH_CASES:-1}" = 1 ]; then
    . scripts/bench-cases.sh
fi
if [ "${BENCH_HOUSING:-1}" = 1 ]; then
    . scripts/bench-housing.sh
fi
if [ "${BENCH_MEASURES_SET:-1}" = 1 ]; then
    . scripts/bench-measures.sh
fi
if [ "${BENCH_PROGRAMMES:-1}" = 1 ]; then
    . scripts/bench-programmes.sh
fi
if [ "${BENCH_WEBHOOKS:-1}" = 1 ]; then
    . scripts/bench-webhooks.sh
fi

kill "$sampler" 2>/dev/null || true
peak_rss=$(cat "$peak_file")

report="bench-results/$(date -u +%Y%m%dT%H%M%SZ).md"
{
    echo "# passerelle benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo
    echo "Machine: $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB; wrk and the service share it. ${connections} connections, ${seconds} s each; RUST_LOG=warn."
    echo
    echo "| what | requests/s | p50 | p99 | non-2xx |"
    echo "|---|---:|---:|---:|---:|"
    while IFS=$'\t' read -r name rps p50 p99 bad; do
        echo "| $name | $rps | $p50 | $p99 | $bad |"
    done <"$results"
    echo
    echo "| memory and start-up | value |"
    echo "|---|---:|"
    echo "| resident memory, idle | $((idle_rss / 1024)) MiB |"
    echo "| resident memory, peak under load | $((peak_rss / 1024)) MiB |"
    echo "| first start (create cluster, migrate, demo data) to ready | ${first_start} s |"
    echo "| restart (existing cluster) to ready | ${restart} s |"
    for l in "${load_times[@]}"; do echo "| load $l |  |"; done
} | tee "$report"
echo
echo "written to $report"
