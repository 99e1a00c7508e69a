#!/usr/bin/env bash
# Start or stop a local moto server for the firebreak-aws end-to-end tests.
#
#   scripts/moto.sh start   starts moto_server on 127.0.0.1 with a free port in the
#                           background, waits until it answers, writes the URL to
#                           $FIREBREAK_MOTO_STATE/url and prints FIREBREAK_MOTO_URL=<url>
#                           (`export $(scripts/moto.sh start)` exports it).
#   scripts/moto.sh stop    stops the server started by `start`.
#   scripts/moto.sh url     prints the URL of the running server.
#
# Needs `moto_server` (pip install 'moto[server]'). State lives in
# $FIREBREAK_MOTO_STATE (default: ${TMPDIR:-/tmp}/firebreak-moto).
set -euo pipefail

state_dir="${FIREBREAK_MOTO_STATE:-${TMPDIR:-/tmp}/firebreak-moto}"
pid_file="$state_dir/pid"
url_file="$state_dir/url"
log_file="$state_dir/moto.log"

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

answers() {
    python3 - "$1" <<'PY'
import sys, urllib.request
try:
    urllib.request.urlopen(sys.argv[1] + "/moto-api/", timeout=1).read()
except Exception:
    sys.exit(1)
PY
}

start() {
    command -v moto_server >/dev/null || { echo "moto.sh: moto_server not found (pip install 'moto[server]')" >&2; exit 1; }
    mkdir -p "$state_dir"
    if [[ -f "$pid_file" ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
        echo "FIREBREAK_MOTO_URL=$(cat "$url_file")"
        return
    fi
    local port url pid
    for _attempt in 1 2 3; do
        port="$(free_port)"
        url="http://127.0.0.1:$port"
        nohup moto_server -H 127.0.0.1 -p "$port" >"$log_file" 2>&1 &
        pid=$!
        for _ in $(seq 1 100); do
            if answers "$url"; then
                echo "$pid" >"$pid_file"
                echo "$url" >"$url_file"
                echo "FIREBREAK_MOTO_URL=$url"
                return
            fi
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        kill "$pid" 2>/dev/null || true
    done
    echo "moto.sh: moto_server did not answer; log: $log_file" >&2
    exit 1
}

stop() {
    if [[ -f "$pid_file" ]]; then
        kill "$(cat "$pid_file")" 2>/dev/null || true
        rm -f "$pid_file" "$url_file"
    fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    url) cat "$url_file" ;;
    *) echo "usage: $0 start|stop|url" >&2; exit 2 ;;
esac
