#!/usr/bin/env bash
# Installs dependencies, builds once, runs the whole test suite with ctest in parallel.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
build_dir=${BUILD_DIR:-build}
data_root=${PATCHCORE_DATA_ROOT:-$(cd .. && pwd)/shared}
if [ ! -d "$data_root/models" ]; then
  echo "NOTE: no models under '$data_root': tests that need ../shared will report SKIPPED."
fi
cd "$build_dir"
ctest --output-on-failure -j "$(nproc)" --timeout 1500
