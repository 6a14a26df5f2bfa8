#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the plugin's
# FileCheck tests, the compile-and-run corpus, the runtime's Criterion tests
# (plain, with poisoned freed memory, and under AddressSanitizer/UBSan).
set -euo pipefail
cd "$(dirname "$0")"
scripts/deps.sh
jobs=$(nproc)
cmake -S . -B build -G Ninja >/dev/null
cmake --build build
ctest --test-dir build --output-on-failure -j"$jobs"
cmake -S . -B build-asan -G Ninja -DPREEMPT_SANITIZE=ON >/dev/null
cmake --build build-asan
ctest --test-dir build-asan -L runtime --output-on-failure -j"$jobs"
echo "all tests passed"
