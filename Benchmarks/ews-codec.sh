#!/usr/bin/env bash
# EWS codec benchmark: StreamingEventDecoder vs `xmllint --stream --noout` on the same bytes.
# Usage: Benchmarks/ews-codec.sh [MEGABYTES]   (default 100)
set -euo pipefail
cd "$(dirname "$0")/.."
MB="${1:-100}"
WRAPPED="$(mktemp -t ews-codec-XXXXXX.xml)"
trap 'rm -f "$WRAPPED"' EXIT

swift build -c release --product ews-codec-bench >&2
BIN="$(swift build -c release --show-bin-path)/ews-codec-bench"

OURS="$("$BIN" --megabytes "$MB" --write-wrapped "$WRAPPED")"
echo "$OURS"
OURS_MBS="$(echo "$OURS" | sed -n 's/.*MB\/s=\([0-9.]*\).*/\1/p')"

BYTES="$(stat -c %s "$WRAPPED")"
START="$(date +%s.%N)"
xmllint --stream --noout "$WRAPPED"
END="$(date +%s.%N)"
python3 - "$BYTES" "$START" "$END" "$OURS_MBS" <<'PY'
import sys
size, start, end, ours = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
seconds = end - start
xmllint = size / 1e6 / seconds
print(f"xmllint --stream: seconds={seconds:.3f} MB/s={xmllint:.1f}")
print(f"ratio (ours / xmllint) = {ours / xmllint:.2f}")
PY
