#!/usr/bin/env bash
# Sync-mode benchmark (issue 13): one mode of ewsfleet against ews-sim, each its own process, on a
# private PostgreSQL with default durability. Environment: MODE (sync-only | notify), MAILBOXES
# (1000), TENANTS (10), INTERVAL (poll interval, 60 s), IDLE_SECONDS (180), RATE (20 events/s),
# SECONDS (180 of traffic),
# PROPERTIES (the tenants' --properties, default), FILTER (every mailbox's --filter, none), SEARCH (a
# search folder of that name every mailbox watches beside its inbox, none). Prints one JSON document of figures.
set -euo pipefail
source "$(dirname "$0")/../scripts/lib/common.sh"
cd "$EWSF_ROOT"
start_private_postgres
pg_create_db modesbench
swift build -c release --product ewsfleet >/dev/null
swift build -c release --product ews-sim >/dev/null
python3 Benchmarks/modes_bench.py "$EWSF_ROOT/.build/release" "postgres://postgres@127.0.0.1:$EWSF_PG_PORT/modesbench"
