#!/usr/bin/env bash
# `ewsfleet mailbox import` throughput (see Benchmarks/README.md, "Mailbox import").
#   Benchmarks/mailbox-import.sh [rows=50000] [batch-size=1000]
# Starts a private PostgreSQL (default durability), adds 10 tenants, imports a generated CSV of
# `rows` mailboxes and prints rows/s; then imports it again (all duplicates) and prints that too.
# CONFIG=debug uses the debug build (no release build needed; slower figures).
set -euo pipefail
source "$(dirname "$0")/../scripts/lib/common.sh"
cd "$EWSF_ROOT"
ROWS=${1:-50000}
BATCH=${2:-1000}
CONFIG=${CONFIG:-release}
work=$(mktemp -d)
trap 'pg_stop; rm -rf "$work"' EXIT

swift build -c "$CONFIG" --product ewsfleet >/dev/null
bin="$(swift build -c "$CONFIG" --show-bin-path)/ewsfleet"
pg_start
pg_create_db ewsfleet
export EWSFLEET_DATABASE_URL="postgres://postgres@127.0.0.1:$EWSF_PG_PORT/ewsfleet"
export EWSFLEET_SECRET_KEY="$("$bin" secrets generate-key)"
"$bin" db migrate 2>/dev/null
for t in $(seq 1 10); do
    echo pw | "$bin" tenant add "t$t" --ews-url http://127.0.0.1:1/EWS/Exchange.asmx --auth basic \
        --identity "svc@t$t.example" --secret-stdin --allow-plain-http 2>/dev/null
done
python3 -c "
import sys
rows = int(sys.argv[1])
print('tenant,smtp,folders')
for i in range(rows):
    print(f't{i % 10 + 1},user{i}@t{i % 10 + 1}.example,inbox')
" "$ROWS" >"$work/mailboxes.csv"

measure() {
    local start end
    start=$(date +%s.%N)
    "$bin" mailbox import "$work/mailboxes.csv" --batch-size "$BATCH" 2>/dev/null | tail -1
    end=$(date +%s.%N)
    python3 -c "import sys; s=float(sys.argv[2])-float(sys.argv[1]); print(f'{sys.argv[3]}: {int(sys.argv[4])} rows in {s:.2f} s = {int(sys.argv[4])/s:,.0f} rows/s')" \
        "$start" "$end" "$1" "$ROWS"
}
measure "fresh import"
measure "re-import (all duplicates)"
