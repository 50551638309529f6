#!/usr/bin/env bash
# Calendar benchmark (issue 13, part 2): N mailboxes watch their calendar against ews-sim, on a
# private PostgreSQL with default durability. Environment: MAILBOXES (200), TENANTS (2), RATE (10
# changes/s), CHANGES (600). Prints one JSON document of figures (see calendar_bench.py).
set -euo pipefail
source "$(dirname "$0")/../scripts/lib/common.sh"
cd "$EWSF_ROOT"
start_private_postgres
pg_create_db calendarbench
swift build -c release --product ewsfleet >/dev/null
swift build -c release --product ews-sim >/dev/null
python3 Benchmarks/calendar_bench.py "$EWSF_ROOT/.build/release" "postgres://postgres@127.0.0.1:$EWSF_PG_PORT/calendarbench"
