#!/usr/bin/env bash
# Fleet benchmark (issue 7): ewsfleet against ews-sim, each its own process, on a private PostgreSQL
# with default durability. Environment: MAILBOXES (1000), TENANTS (10), RATE (500 events/s),
# PHASE_SECONDS (60 per traffic phase). Prints one JSON document of figures.
set -euo pipefail
source "$(dirname "$0")/../scripts/lib/common.sh"
cd "$EWSF_ROOT"
start_private_postgres
pg_create_db fleetbench
swift build -c release --product ewsfleet >/dev/null
swift build -c release --product ews-sim >/dev/null
python3 Benchmarks/fleet_bench.py "$EWSF_ROOT/.build/release" "postgres://postgres@127.0.0.1:$EWSF_PG_PORT/fleetbench"
