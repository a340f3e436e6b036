# Sourced by scripts/bench.sh: webhooks to a local receiver (scripts/bench-receiver.py).
# - steady: events committed at BENCH_WEBHOOK_RATE a second (default 200) for
#   BENCH_WEBHOOK_SECONDS (default 60), by pgbench writing to the outbox as the service
#   does (one event a transaction); p50 and p99 from the event's transaction to the
#   receiver's 2xx;
# - backlog: BENCH_WEBHOOK_BACKLOG (default 100 000) deliveries queued for a disabled
#   endpoint, then the endpoint enabled: how fast they drain, and the service's memory meanwhile.
# The service is restarted with PASSERELLE_WEBHOOKS_ALLOW_PRIVATE=true (the receiver is on
# loopback, over plain HTTP).
rate=${BENCH_WEBHOOK_RATE:-200}
steady_seconds=${BENCH_WEBHOOK_SECONDS:-60}
backlog=${BENCH_WEBHOOK_BACKLOG:-100000}
stop_service
start_service "$binary" "$data_dir" "$port" PASSERELLE_ACCESS_TOKEN_TTL=7200 PASSERELLE_WEBHOOKS_ALLOW_PRIVATE=true
# The embedded cluster listens on a new port after a restart.
pg_url="postgres://passerelle:$(cat "$data_dir/postgres.password")@127.0.0.1:$(sed -n 4p "$data_dir/postgres/postmaster.pid")/passerelle"
rport=$(free_port)
python3 scripts/bench-receiver.py "$rport" &
receiver_pid=$!
trap 'kill "$receiver_pid" 2>/dev/null || true; stop_service; rm -rf "$work"' EXIT
sleep 1
receiver() { curl -fsS "http://127.0.0.1:$rport/$1"; }
stat() { receiver stats | python3 -c "import json, sys; print(json.load(sys.stdin)['$1'])"; }
wait_for() { # N SECONDS: until the receiver counted N deliveries, at most SECONDS
    local n=$1 deadline=$(( $(date +%s) + $2 ))
    while [ "$(stat count)" -lt "$n" ] && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.2; done
}

webhook_token=$(token "$port" -d grant_type=client_credentials -d client_id=demo-association -d client_secret=demo-secret-association)
endpoint=$(curl -fsS "$base/v1/webhook-endpoints" -H "Authorization: Bearer $webhook_token" -H 'Content-Type: application/json' \
    -d "{\"url\": \"http://127.0.0.1:$rport/hook\", \"description\": \"benchmark receiver\", \"event_types\": [\"household.updated\"]}")
endpoint_id=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["id"])' "$endpoint")
org=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["organisation_id"])' "$endpoint")

# Steady: one event a transaction, into the outbox, as the service writes it.
cat >"$work/event.sql" <<SQL
WITH e AS (INSERT INTO events (id, event_type, subject_type, subject_id, data)
           VALUES (passerelle_uuid_v7(), 'household.updated', 'household', passerelle_uuid_v7(), '{"version": 2}')
           RETURNING seq)
INSERT INTO event_recipients (organisation_id, seq) SELECT '$org', seq FROM e;
SQL
receiver reset >/dev/null
if ! (cd "$work" && pgbench -n -c 2 -j 1 -R "$rate" -T "$steady_seconds" -f "$work/event.sql" "$pg_url" >"$work/pgbench-events.out" 2>&1); then
    echo "pgbench failed writing events:" >&2
    cat "$work/pgbench-events.out" >&2
    exit 1
fi
sent=$(awk '/number of transactions actually processed/ {print $NF}' "$work/pgbench-events.out" | cut -d/ -f1)
wait_for "$sent" 60
printf '%s\t%s\t%s\t%s\t%s\n' "webhooks: $rate events/s for ${steady_seconds} s, commit to receiver's 2xx ($(stat count) of $sent delivered, $(stat distinct) distinct)" \
    "$(echo "scale=1; $(stat count) / $steady_seconds" | bc)" "$(stat p50_ms)ms" "$(stat p99_ms)ms" "$(( sent - $(stat count) ))" >>"$results"

# Backlog: the endpoint disabled, the deliveries queued, then the endpoint enabled.
version=$(curl -fsS "$base/v1/webhook-endpoints/$endpoint_id" -H "Authorization: Bearer $webhook_token" | python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')
curl -fsS -o /dev/null -X POST "$base/v1/webhook-endpoints/$endpoint_id/disable" -H "Authorization: Bearer $webhook_token" -H "If-Match: \"$version\""
t0=$(date +%s.%N)
psql -q "$pg_url" >/dev/null <<SQL
CREATE TEMP TABLE backlog AS
WITH e AS (INSERT INTO events (id, event_type, subject_type, subject_id, data)
           SELECT passerelle_uuid_v7(), 'household.updated', 'household', passerelle_uuid_v7(), '{"version": 3}'
           FROM generate_series(1, $backlog) RETURNING seq, tx_id, id, event_type)
SELECT * FROM e;
INSERT INTO event_recipients (organisation_id, tx_id, seq) SELECT '$org', tx_id, seq FROM backlog;
INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, event_seq, event_tx_id, next_attempt_at, created_at, updated_at)
SELECT passerelle_uuid_v7(), '$endpoint_id', id, event_type, seq, tx_id, now(), now(), now() FROM backlog;
CREATE TABLE backlog_events AS SELECT seq FROM backlog;
VACUUM ANALYZE webhook_deliveries;
SQL
t1=$(date +%s.%N)
load_times+=("$backlog queued webhook deliveries: $(printf '%.1f' "$(echo "$t1 - $t0" | bc)") s")
receiver reset >/dev/null
rss_before=$(rss_kib "$SERVICE_PID")
: >"$work/drain-rss"
( while kill -0 "$SERVICE_PID" 2>/dev/null; do rss_kib "$SERVICE_PID" >>"$work/drain-rss"; sleep 0.5; done ) &
drain_sampler=$!
t0=$(date +%s.%N)
curl -fsS -o /dev/null -X POST "$base/v1/webhook-endpoints/$endpoint_id/enable" -H "Authorization: Bearer $webhook_token" -H "If-Match: \"$((version + 1))\""
wait_for "$backlog" 600
t1=$(date +%s.%N)
kill "$drain_sampler" 2>/dev/null || true
drained=$(stat count)
elapsed=$(echo "$t1 - $t0" | bc)
# Until the last outcomes are recorded.
for _ in $(seq 1 50); do
    [ "$(sql "SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = '$endpoint_id' AND status = 'pending'")" = 0 ] && break
    sleep 0.2
done
succeeded=$(sql "SELECT count(*) FROM webhook_deliveries d JOIN backlog_events b ON b.seq = d.event_seq WHERE d.endpoint_id = '$endpoint_id' AND d.status = 'succeeded'")
printf '%s\t%s\t%s\t%s\t%s\n' "webhooks: backlog of $backlog deliveries drained ($drained received, $(stat distinct) distinct, $succeeded recorded succeeded) in $(printf '%.1f' "$elapsed") s" \
    "$(echo "scale=1; $drained / $elapsed" | bc)" "-" "-" "$(( backlog - drained ))" >>"$results"
drain_min=$(sort -n "$work/drain-rss" | head -1)
drain_max=$(sort -n "$work/drain-rss" | tail -1)
drain_end=$(rss_kib "$SERVICE_PID")
load_times+=("service memory while the backlog drained: $((rss_before / 1024)) MiB before, $((drain_min / 1024)) to $((drain_max / 1024)) MiB during, $((drain_end / 1024)) MiB after")
kill "$receiver_pid" 2>/dev/null || true
