#!/usr/bin/env bash
# Runs every benchmark in benchmarks/ (one script each); tables and plots go to
# benchmarks/results/. Expects scripts/setup.sh to have run (make bench does both).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${ZHANYE_VENV:-$PWD/.venv}
for script in benchmarks/bench_*.py; do
    printf '\n\033[1m== %s ==\033[0m\n' "$script"
    "$venv/bin/python" "$script"
done
