#!/usr/bin/env bash
# Installs dependencies, builds once, runs the whole test suite with ctest in parallel, then the checks that are not
# unit tests: the documentation must build without warnings, and every benchmark must still run (once, briefly).
set -euo pipefail
cd "$(dirname "$0")/.."
# The test and development set (pytest, doxygen, torch for the export tool) on top of what build.sh installs.
bash scripts/install_deps.sh --test
bash scripts/build.sh
build_dir=${BUILD_DIR:-build}
data_root=${PATCHCORE_DATA_ROOT:-$(cd .. && pwd)/shared}
if [ ! -d "$data_root/models" ]; then
  echo "NOTE: no models under '$data_root': tests that need ../shared will report SKIPPED."
fi
# The magnetic_tile parity cases (5-9 min each alone on 2 cores) run here, not in a plain ctest or test binary run.
export PATCHCORE_SLOW_TESTS=${PATCHCORE_SLOW_TESTS:-1}
(cd "$build_dir" && ctest --output-on-failure -j "$(nproc)" --timeout 1500)
echo "== documentation"
bash scripts/build_docs.sh "$build_dir/doc"
echo "== benchmark smoke run"
bash scripts/run_benchmarks.sh --smoke --build-dir "$build_dir" > "$build_dir/benchmark_smoke.log" 2>&1 ||
  { tail -40 "$build_dir/benchmark_smoke.log"; exit 1; }
echo "benchmarks ran; output in $build_dir/benchmark_smoke.log"
if [ "${SANITIZERS:-1}" != 0 ]; then
  echo "== sanitizer jobs (ASan+UBSan suite, TSan concurrency tests, fuzz smoke; SANITIZERS=0 skips them)"
  bash scripts/run_sanitizers.sh
fi
