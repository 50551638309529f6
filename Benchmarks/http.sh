#!/usr/bin/env bash
# HTTP transport benchmark (see Benchmarks/README.md, "HTTP transport").
#   Benchmarks/http.sh [idle-connections] [idle-seconds] [requests]
# Builds http-bench in release mode, runs its loopback server in a separate process (so server CPU
# is not charged to the client), then:
#   (a) holds N idle streaming responses with a 5 s heartbeat each: client CPU% and RSS/connection;
#   (b) short GETs with 64 in flight: ewsfleet HTTPClient vs `curl --parallel --parallel-max 64`.
set -euo pipefail
cd "$(dirname "$0")/.."
CONNS=${1:-2000}
SECONDS_IDLE=${2:-30}
REQUESTS=${3:-50000}
PORT=${PORT:-18080}

swift build -c release --product http-bench >/dev/null || { echo "build failed" >&2; exit 1; }
BIN=$(swift build -c release --show-bin-path)/http-bench

"$BIN" server "$PORT" 5 > /tmp/http-bench-server.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q listening /tmp/http-bench-server.log 2>/dev/null && break; sleep 0.1; done

echo "== (a) $CONNS idle streams, heartbeat every 5 s, ${SECONDS_IDLE} s window"
for LOOP in epoll poll; do
  "$BIN" idle "http://127.0.0.1:$PORT/stream" "$CONNS" "$SECONDS_IDLE" "$LOOP"
done

echo "== (b) $REQUESTS short requests, 64 in flight"
for LOOP in epoll poll; do
  "$BIN" throughput "http://127.0.0.1:$PORT/small" "$REQUESTS" 64 "$LOOP"
done

CFG=$(mktemp)
for _ in $(seq "$REQUESTS"); do printf 'url = "http://127.0.0.1:%s/small"\noutput = "/dev/null"\n' "$PORT"; done > "$CFG"
TIMEFORMAT='%R %U %S'
T=$( { time curl -s --parallel --parallel-max 64 -K "$CFG" >/dev/null 2>&1; } 2>&1 )
rm -f "$CFG"
read -r REAL USER_S SYS_S <<<"$T"
awk -v n="$REQUESTS" -v r="$REAL" -v u="$USER_S" -v s="$SYS_S" 'BEGIN {
  printf "throughput client=curl-parallel requests=%d concurrency=64 seconds=%.2f req_per_s=%.2f cpu_us_per_req=%.2f cpu_percent=%.2f\n",
    n, r, n / r, (u + s) * 1e6 / n, (u + s) / r * 100 }'
