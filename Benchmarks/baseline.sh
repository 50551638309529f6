#!/usr/bin/env bash
# Baseline benchmark (issue 13): how long adding mailboxes takes with --start backfill and with
# --start now, and the EWS calls each makes, against ews-sim on a private PostgreSQL. Environment:
# MAILBOXES (100), ITEMS (2000 per mailbox), RATE (the tenant's request rate; 20/s, the default),
# STARTS ("now backfill"). Prints one JSON document per start mode.
set -euo pipefail
source "$(dirname "$0")/../scripts/lib/common.sh"
cd "$EWSF_ROOT"
start_private_postgres
swift build -c release --product ewsfleet >/dev/null
swift build -c release --product ews-sim >/dev/null
for start in ${STARTS:-now backfill}; do
    pg_create_db "baseline_$start"
    START="$start" python3 Benchmarks/baseline_bench.py "$EWSF_ROOT/.build/release" \
        "postgres://postgres@127.0.0.1:$EWSF_PG_PORT/baseline_$start"
done
