#!/usr/bin/env bash
# Checkpoint throughput and latency (issue 2's target: >= 20,000 changes/s in 512-row checkpoints).
# Starts a private PostgreSQL with default durability (fsync and synchronous_commit on).
set -euo pipefail
source "$(dirname "$0")/../scripts/lib/common.sh"
cd "$EWSF_ROOT"
start_private_postgres
pg_create_db bench
swift build -c release --product store-bench >/dev/null
.build/release/store-bench --database-url "postgres://postgres@127.0.0.1:$EWSF_PG_PORT/bench" "$@"
