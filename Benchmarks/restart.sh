#!/usr/bin/env bash
# Resilience benchmark, restart mode (issue 11): see Benchmarks/resilience_bench.py and Benchmarks/README.md.
# Environment: MAILBOXES, DIALECT (gromox|exchange), IMPERSONATION (on|off).
set -euo pipefail
source "$(dirname "$0")/../scripts/lib/common.sh"
cd "$EWSF_ROOT"
start_private_postgres
pg_create_db resilience
swift build -c release --product ewsfleet >/dev/null
swift build -c release --product ews-sim >/dev/null
python3 Benchmarks/resilience_bench.py restart "$EWSF_ROOT/.build/release" "postgres://postgres@127.0.0.1:$EWSF_PG_PORT/resilience"
