#!/usr/bin/env bash
# EWS codec benchmark: StreamingEventDecoder (16 KiB chunks) vs `xmllint --stream --noout` on the
# same bytes wrapped in one root element. Prints wall-clock and CPU-time throughput for both and
# the ratios; CPU time is the fair figure on a shared machine.
# Usage: Benchmarks/ews-codec.sh [MEGABYTES]   (default 100)
set -euo pipefail
cd "$(dirname "$0")/.."
MB="${1:-100}"
WRAPPED="$(mktemp -t ews-codec-XXXXXX.xml)"
TIMES="$(mktemp -t ews-codec-times-XXXXXX)"
trap 'rm -f "$WRAPPED" "$TIMES"' EXIT

swift build -c release --product ews-codec-bench >&2
BIN="$(swift build -c release --show-bin-path)/ews-codec-bench"

OURS="$("$BIN" --megabytes "$MB" --write-wrapped "$WRAPPED")"
echo "$OURS"
BYTES="$(stat -c %s "$WRAPPED")"
# Warm the page cache, then time xmllint (wall, user, sys).
cat "$WRAPPED" > /dev/null
START="$(date +%s.%N)"
( TIMEFORMAT='%U %S'; time xmllint --stream --noout "$WRAPPED" ) 2> "$TIMES"
END="$(date +%s.%N)"
python3 - "$BYTES" "$START" "$END" "$(cat "$TIMES")" "$OURS" <<'PY'
import re, sys
size, start, end = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
user, system = (float(x) for x in sys.argv[4].split())
ours = sys.argv[5]
wall_ours = float(re.search(r"wall: .*MB/s=([0-9.]+)", ours).group(1))
cpu_ours = float(re.search(r"cpu: .*MB/s=([0-9.]+)", ours).group(1))
wall = size / 1e6 / (end - start)
cpu = size / 1e6 / (user + system)
print(f"xmllint --stream: wall MB/s={wall:.1f} cpu MB/s={cpu:.1f}")
print(f"ratio ours/xmllint: wall={wall_ours / wall:.2f} cpu={cpu_ours / cpu:.2f}")
PY
