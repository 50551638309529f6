#!/usr/bin/env bash
# Resilience benchmarks (issue 11), see Benchmarks/resilience_bench.py and Benchmarks/README.md:
#   Benchmarks/resilience.sh storm      misbehaving servers: requests per mailbox per minute (MINUTES, default 7)
#   Benchmarks/resilience.sh restart    a server restart: every mailbox hearing again
# Environment: MAILBOXES, DIALECT (gromox|exchange), IMPERSONATION (on|off).
set -euo pipefail
mode="${1:-}"
case "$mode" in storm|restart) ;; *) echo "usage: Benchmarks/resilience.sh storm|restart" >&2; exit 64 ;; esac
source "$(dirname "$0")/../scripts/lib/common.sh"
cd "$EWSF_ROOT"
start_private_postgres
pg_create_db resilience
swift build -c release --product ewsfleet >/dev/null
swift build -c release --product ews-sim >/dev/null
python3 Benchmarks/resilience_bench.py "$mode" "$EWSF_ROOT/.build/release" "postgres://postgres@127.0.0.1:$EWSF_PG_PORT/resilience"
