#!/usr/bin/env bash
# Runs each fuzz target for a while (default 60 s each): the readers (arbitrary bytes,
# plain and gzip) and the rule parser (arbitrary YAML). Needs cargo-fuzz; uses the stable
# toolchain with RUSTC_BOOTSTRAP=1 for the sanitizer flags.
# Usage: scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
SECONDS_EACH="${1:-60}"
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/firebreak/fuzz-target}"
for target in readers rule_parser; do
    echo "== fuzzing $target for ${SECONDS_EACH}s"
    RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" -- -max_total_time="$SECONDS_EACH" 2>&1 | tail -3
done
