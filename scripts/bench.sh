#!/usr/bin/env bash
# Benchmark: figures, not a test. Generates a 1,000,000-event corpus with `simulate`, then
# prints events/s, MB/s of uncompressed JSON and peak RSS for:
#   - firebreak scan (built-in pack + the 57 SigmaHQ AWS rules), 1 thread and all cores;
#   - the ceiling: libdeflate-gunzip -c of the same files, one stream;
#   - the peer: DuckDB read_json with an equivalent detection query.
# Usage: scripts/bench.sh [EVENTS] (default 1000000). Needs ../shared/corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS="${1:-1000000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/firebreak/target}"
OUT="${BENCH_DIR:-$PWD/bench-out}"
SIGMA="../shared/corpus/sigma-aws/rules"
mkdir -p "$OUT"

need() { command -v "$1" >/dev/null 2>&1; }
need /usr/bin/time || { apt-get update -qq && apt-get install -y -qq time; }
need libdeflate-gunzip || { apt-get update -qq && apt-get install -y -qq libdeflate-tools; }
python3 -c 'import duckdb' 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check duckdb

if [ -n "${FIREBREAK_BIN:-}" ]; then
    FB="$FIREBREAK_BIN"
else
    echo "== building firebreak (release, detection only: no AWS SDK)"
    cargo build --release -q -p firebreak --no-default-features
    FB="$CARGO_TARGET_DIR/release/firebreak"
fi

CORPUS="$OUT/corpus-$EVENTS"
if [ ! -f "$CORPUS.done" ]; then
    rm -rf "$CORPUS"
    echo "== simulate $EVENTS events"
    /usr/bin/time -f "simulate: %e s, peak RSS %M KB" "$FB" simulate --out "$CORPUS" --events "$EVENTS" --seed 7 --scenarios all --truth "$OUT/truth.jsonl"
    touch "$CORPUS.done"
fi
FILES=$(find "$CORPUS" -name '*.json.gz' | wc -l)
GZ_BYTES=$(find "$CORPUS" -name '*.json.gz' -print0 | du -cb --files0-from=- | tail -1 | cut -f1)
RAW_BYTES=$(find "$CORPUS" -name '*.json.gz' -print0 | xargs -0 cat | gzip -dc | wc -c)
echo "corpus: $FILES files, $((GZ_BYTES / 1000000)) MB gzip, $((RAW_BYTES / 1000000)) MB JSON, $EVENTS events"

rate() { # label wall_seconds peak_kb cpu_seconds
    python3 - "$1" "$2" "$3" "$4" "$EVENTS" "$RAW_BYTES" <<'PY'
import sys
label, secs, kb, cpu, ev, raw = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
secs, cpu = max(secs, 1e-6), max(cpu, 1e-6)
print(f"{label:<34} {secs:7.2f} s wall {ev/secs:11,.0f} events/s {raw/secs/1e6:6.0f} MB/s | "
      f"{cpu:7.2f} s CPU {ev/cpu:11,.0f} events/CPU-s {raw/cpu/1e6:6.0f} MB/CPU-s | peak RSS {kb/1024:6.1f} MB")
PY
}
measure() { # label cmd...
    local label="$1"; shift
    local tf; tf=$(mktemp)
    # Exit status 1 (damaged input) still measures; the summary line says what was damaged.
    /usr/bin/time -f "%e %M %U %S" -o "$tf" "$@" >/dev/null 2>"$OUT/last.err" || true
    local secs kb user sys
    read -r secs kb user sys < <(grep -E '^[0-9.]+ [0-9]+ [0-9.]+ [0-9.]+$' "$tf" | tail -1); rm -f "$tf"
    echo "$secs $(rate "$label" "$secs" "$kb" "$(python3 -c "print($user + $sys)")")"
}

echo "== results (best of 3 for each; load average now: $(cut -d' ' -f1-3 /proc/loadavg))"
best() { # label cmd... : runs 3 times, prints the fastest
    local label="$1"; shift
    local lines=()
    for _ in 1 2 3; do lines+=("$(measure "$label" "$@")"); done
    printf '%s\n' "${lines[@]}" | sort -n | head -1 | cut -d' ' -f2-
}
best "firebreak scan, 1 thread" "$FB" scan "$CORPUS" --rules "$SIGMA" -j 1 --format jsonl --output /dev/null --no-progress
best "firebreak scan, $(nproc) threads" "$FB" scan "$CORPUS" --rules "$SIGMA" --format jsonl --output /dev/null --no-progress
tail -1 "$OUT/last.err" | sed 's/^/  (firebreak says) /'
best "libdeflate-gunzip -c, 1 stream" sh -c "find '$CORPUS' -name '*.json.gz' -print0 | xargs -0 libdeflate-gunzip -c"
best "duckdb read_json + detection" python3 scripts/bench_duckdb.py "$CORPUS"
"$FB" scan "$CORPUS" --rules "$SIGMA" --format jsonl --output "$OUT/findings.jsonl" --no-progress -q || true
echo "findings: $(wc -l < "$OUT/findings.jsonl")"
