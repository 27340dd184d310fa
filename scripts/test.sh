#!/usr/bin/env bash
# Runs every check and the whole test suite with the native kernels, then every test
# that uses the kernels again with their numpy twins. Expects scripts/setup.sh to have
# run (make test does both).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${ZHANYE_VENV:-$PWD/.venv}
py="$venv/bin/python"

# Each step says when it started: the whole run has a time budget (README).
step() { printf '\n\033[1m== %s ==\033[0m (at %d:%02d)\n' "$*" $((SECONDS / 60)) $((SECONDS % 60)); }
trap 'printf "\n== finished at %d:%02d ==\n" $((SECONDS / 60)) $((SECONDS % 60))' EXIT

step "lint: ruff, mypy, rustfmt, clippy"
"$venv/bin/ruff" check zhanye_sdk tests benchmarks examples hosts
"$venv/bin/ruff" format --check zhanye_sdk tests benchmarks examples hosts
"$venv/bin/mypy"
cargo fmt --manifest-path zhanye_sdk_native/Cargo.toml -- --check
cargo clippy --release -q --manifest-path zhanye_sdk_native/Cargo.toml --all-targets -- -D warnings

step "rust unit tests"
cargo test --release -q --manifest-path zhanye_sdk_native/Cargo.toml

step "pytest with the native kernels"
# The slowest tests are listed: the whole run has a time budget (README).
ZHANYE_SDK_EXPECT_BACKEND=native "$py" -m pytest -n auto -q -m "not alone" --durations=25 "$@"

step "pytest of the real-time tests, one at a time on an otherwise idle machine"
ZHANYE_SDK_EXPECT_BACKEND=native "$py" -m pytest -q -m alone "$@"

step "pytest of everything that uses the kernels, with the numpy twins (ZHANYE_SDK_NATIVE=0)"
ZHANYE_SDK_NATIVE=0 ZHANYE_SDK_EXPECT_BACKEND=numpy "$py" -m pytest -n auto -q -m "kernels and not alone" "$@"
