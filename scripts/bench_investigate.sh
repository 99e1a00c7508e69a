#!/usr/bin/env bash
# Benchmarks the investigation side (figures, not a test):
#  1. ingest rate on the 1,000,000-event corpus of scripts/bench.sh, against the scan rate
#     of the same binary on the same corpus (built-in rules, all cores), and the case size
#     on disk against the gzip input;
#  2. `timeline --access-key` and `summary` on a 5,000,000-event case (wall time of the
#     whole command, best of 3).
# Usage: scripts/bench_investigate.sh [EVENTS_BIG]   (default 5000000)
# FIREBREAK_BIN overrides the binary (else a bench-fast build with the investigate feature).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/firebreak/target}"
BIG="${1:-5000000}"
OUT=bench-out
mkdir -p "$OUT"
command -v /usr/bin/time >/dev/null || apt-get install -y time >/dev/null
if [ -n "${FIREBREAK_BIN:-}" ]; then
    FB="$FIREBREAK_BIN"
else
    cargo build --profile bench-fast -q -p firebreak --no-default-features --features investigate
    FB="$CARGO_TARGET_DIR/bench-fast/firebreak"
fi

CORPUS="$OUT/corpus-1000000"
if [ ! -f "$CORPUS.done" ]; then
    rm -rf "$CORPUS"
    "$FB" simulate --out "$CORPUS" --events 1000000 --seed 7 --scenarios all --truth "$OUT/truth.jsonl"
    touch "$CORPUS.done"
fi
GZ_BYTES=$(find "$CORPUS" -name '*.json.gz' -print0 | du -cb --files0-from=- | tail -1 | cut -f1)
RAW_BYTES=$(find "$CORPUS" -name '*.json.gz' -print0 | xargs -0 cat | gzip -dc | wc -c)
echo "corpus: 1000000 events, $((GZ_BYTES / 1000000)) MB gzip, $((RAW_BYTES / 1000000)) MB JSON; load: $(cut -d' ' -f1-3 /proc/loadavg)"

measure() { # label, command...: wall seconds and peak RSS
    local label="$1"; shift
    local f
    f=$(mktemp)
    /usr/bin/time -o "$f" -f "%e %M %U %S" "$@" >/dev/null 2>&1 || true
    echo "$label|$(tail -1 "$f")"
    rm -f "$f"
}
rate() { # label wall rss user sys
    awk -F'|' -v ev=1000000 -v mb="$RAW_BYTES" '{ split($2, a, " "); printf "%-44s %7.2f s  %9.0f events/s  %6.0f MB/s JSON  peak RSS %5.0f MB  CPU %.1f s\n", $1, a[1], ev / a[1], mb / 1e6 / a[1], a[2] / 1024, a[3] + a[4] }'
}

measure "scan, built-in rules, $(nproc) threads" "$FB" scan "$CORPUS" --format jsonl --output /dev/null --no-progress -q | rate
rm -rf "$OUT/case-1m"
measure "ingest (built-in rules), $(nproc) threads" "$FB" ingest --case "$OUT/case-1m" "$CORPUS" | rate
CASE_BYTES=$(du -sb "$OUT/case-1m" | cut -f1)
awk -v c="$CASE_BYTES" -v g="$GZ_BYTES" -v r="$RAW_BYTES" 'BEGIN { printf "case size: %.1f MB = %.2fx the gzip input, %.2fx the JSON\n", c / 1e6, c / g, c / r }'
measure "re-ingest of the same corpus (all duplicates)" "$FB" ingest --case "$OUT/case-1m" "$CORPUS" | rate

# The big case for the pivots.
BIGCASE="$OUT/case-$BIG"
if [ ! -f "$BIGCASE.done" ]; then
    rm -rf "$BIGCASE" "$OUT/logs-$BIG"
    "$FB" simulate --out "$OUT/logs-$BIG" --events "$BIG" --seed 9 --days 30 --format jsonl --truth "$OUT/truth-$BIG.jsonl"
    /usr/bin/time -f "ingest of $BIG events: %e s, peak RSS %M KB" "$FB" ingest --case "$BIGCASE" "$OUT/logs-$BIG"
    rm -rf "$OUT/logs-$BIG"
    touch "$BIGCASE.done"
fi
KEY=$(python3 -c "import json,sys; [print(t['access_key_id']) for t in map(json.loads, open('$OUT/truth-$BIG.jsonl')) if t['scenario']=='iam-credential-compromise']")
best3() { # label, command...
    local label="$1"; shift
    local best=999999
    for _ in 1 2 3; do
        local s e
        s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N)
        best=$(echo "$s $e $best" | awk '{ d = $2 - $1; print (d < $3) ? d : $3 }')
    done
    printf "%-44s best of 3: %.3f s\n" "$label" "$best"
}
echo "case of $BIG events: $(du -sh "$BIGCASE" | cut -f1) on disk"
best3 "timeline --access-key $KEY" "$FB" timeline --case "$BIGCASE" --access-key "$KEY" --format jsonl
best3 "summary" "$FB" summary --case "$BIGCASE" --format jsonl
best3 "query count(*) by eventname" "$FB" query --case "$BIGCASE" "SELECT eventname, count(*) FROM cloudtrail GROUP BY 1" --format jsonl
