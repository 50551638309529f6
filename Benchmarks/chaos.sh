#!/usr/bin/env bash
# The chaos soak (issue 12), see Benchmarks/chaos_bench.py and Benchmarks/README.md: ews-sim and
# `ewsfleet run` as processes on a private PostgreSQL (default durability), random faults, kills and
# database restarts, then one verdict from ews-sim's ground truth, ledger and counters.
# Environment: MAILBOXES (100), TENANTS (2), SECONDS (180), SEED (1), RATE (30 events/s),
# EWSF_CONFIG (release).
# Exit 0 when the target holds: every mailbox converged, 0 lost, 0 duplicated, 0 back-off violations.
set -euo pipefail
# bash's own SECONDS counts up from the value it was started with: read the caller's value now,
# before the build adds minutes to it.
export CHAOS_SECONDS="$(printenv SECONDS || echo 180)"
source "$(dirname "$0")/../scripts/lib/common.sh"
cd "$EWSF_ROOT"
start_private_postgres
pg_create_db chaos
# EWSF_CONFIG=debug runs the debug binaries (slower, so a stricter test of pacing and lag).
config="${EWSF_CONFIG:-release}"
for product in ewsfleet ews-sim chaos-verdict; do swift build -c "$config" --product "$product" >/dev/null; done
# Immediate mode: PostgreSQL goes down as if it crashed (no checkpoint, crash recovery on start).
restart="$EWSF_ROOT/scripts/lib/pgctl.sh restart-immediate $EWSF_PG_DIR"
python3 Benchmarks/chaos_bench.py "$EWSF_ROOT/.build/$config" "postgres://postgres@127.0.0.1:$EWSF_PG_PORT/chaos" \
    "$EWSF_PG_DIR" "$restart"
