#!/usr/bin/env bash
# Runs firebreak's whole test suite: installs and starts what the tests need (a local
# moto server for the AWS tests), runs `cargo test`, and stops it again.
# Usage: scripts/test.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."

# Builds go outside the clone so that later runs are incremental.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/firebreak/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

# moto serves the AWS APIs on 127.0.0.1 for the response-action tests.
if ! command -v moto_server >/dev/null 2>&1; then
    python3 -m pip install --quiet --disable-pip-version-check 'moto[server]>=5.2,<6'
fi
# PySpark (local mode, the machine's Java) runs the generated Spark SQL on exported Parquet;
# DuckDB's Python package reads the Parquet back as a second engine.
# sqlglot checks that the generated Athena (Trino) SQL parses.
if ! python3 -c 'import pyspark, duckdb, sqlglot' >/dev/null 2>&1; then
    python3 -m pip install --quiet --disable-pip-version-check 'pyspark>=4.0,<5' 'duckdb>=1.1' 'sqlglot>=25'
fi
# Headless Chromium renders the HTML incident report in its test.
if ! command -v chromium >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then
        (apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 ||
            { apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends chromium >/dev/null; }) ||
            echo "test.sh: could not install chromium; the report test will fail under CI" >&2
    fi
fi
if [ -x scripts/moto.sh ] && [ -z "${FIREBREAK_MOTO_URL:-}" ]; then
    eval "$(scripts/moto.sh start)"
    export FIREBREAK_MOTO_URL
    trap 'scripts/moto.sh stop >/dev/null 2>&1 || true' EXIT
fi

cargo test --workspace --no-fail-fast "$@"
