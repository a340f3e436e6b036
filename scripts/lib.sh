# Shared by the scripts: start a throw-away passerelle with its own embedded database.

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_service BINARY DATA_DIR PORT [extra env...]: starts the service in the background,
# sets SERVICE_PID, waits until /readyz answers.
start_service() {
    local binary=$1 data_dir=$2 port=$3
    shift 3
    env -u DATABASE_URL PASSERELLE_DATA_DIR="$data_dir" PASSERELLE_BIND="127.0.0.1:$port" \
        PASSERELLE_BOOTSTRAP_ADMIN_EMAIL=admin@passerelle.test \
        PASSERELLE_BOOTSTRAP_ADMIN_PASSWORD=admin-passerelle-2026 \
        PASSERELLE_DEMO_DATA=true RUST_LOG="${RUST_LOG:-warn}" "$@" \
        "$binary" serve >"$data_dir/service.log" 2>&1 &
    SERVICE_PID=$!
    for _ in $(seq 1 120); do
        if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then
            return 0
        fi
        if ! kill -0 "$SERVICE_PID" 2>/dev/null; then
            echo "the service exited:" >&2
            cat "$data_dir/service.log" >&2
            return 1
        fi
        sleep 0.5
    done
    echo "the service did not become ready:" >&2
    cat "$data_dir/service.log" >&2
    return 1
}

# stop_service: SIGTERM, then wait (the service stops its database on the way out).
stop_service() {
    if [ -n "${SERVICE_PID:-}" ] && kill -0 "$SERVICE_PID" 2>/dev/null; then
        kill -TERM "$SERVICE_PID"
        wait "$SERVICE_PID" 2>/dev/null || true
    fi
    SERVICE_PID=
}

# token PORT FIELDS...: prints an access token.
token() {
    local port=$1
    shift
    curl -fsS "http://127.0.0.1:$port/v1/auth/token" "$@" | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
}
