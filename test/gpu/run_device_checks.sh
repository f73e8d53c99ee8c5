#!/usr/bin/env bash
# Device checks of the CUDA coreset and search, for a machine with an NVIDIA GPU, nvcc and CMake (no OpenCV needed):
# builds modules/patchcore/src/cuda standalone, runs its GPU-vs-CPU tests and the benchmark, prints a short table.
# About 3-5 minutes on a 16-core H200 machine; every step has a time limit so the whole stays under 8 minutes.
#
#   test/gpu/run_device_checks.sh [build-dir]      (default /tmp/patchcore-cuda-checks)
#   SANITIZE=1  also runs the tests under compute-sanitizer memcheck (adds a few minutes)
#   QUICK=1     benchmark at a tenth of the sizes
# Logs go to $OUT when set (the device tool's result folder), else to <build-dir>/logs.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-/tmp/patchcore-cuda-checks}
logs=${OUT:-$build/logs}
mkdir -p "$build" "$logs"
if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH=/usr/local/cuda/bin:$PATH
fi
jobs=$(nproc 2>/dev/null || echo 4)
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)

declare -a table
row() { table+=("$(printf '%-28s | %-6s | %s' "$1" "$2" "$3")"); }
seconds() { echo $(( $(date +%s) - $1 )); }

echo "== device"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv,noheader 2>&1 | tee "$logs/device.txt"
nvcc --version | tail -2

echo "== configure + build"
t0=$(date +%s)
if timeout 120 cmake -S "$root/modules/patchcore/src/cuda" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
     >"$logs/configure.log" 2>&1 &&
   timeout 300 cmake --build "$build" -j "$jobs" >"$logs/build.log" 2>&1; then
  row "build (sm_90 + PTX)" "ok" "$(seconds "$t0") s, $jobs jobs"
else
  tail -40 "$logs/configure.log" "$logs/build.log"
  row "build (sm_90 + PTX)" "FAIL" "see build.log"
  printf '%s\n' "${table[@]}"
  exit 1
fi

echo "== tests"
status=0
for t in test_cuda_coreset test_cuda_knn; do
  t0=$(date +%s)
  timeout 240 "$build/tests/$t" >"$logs/$t.log" 2>&1
  rc=$?
  tail -5 "$logs/$t.log"
  failed=$(grep -cE '^\[  FAILED  \]|\[ +FAILED +\]' "$logs/$t.log" || true)
  skipped=$(grep -c 'SKIPPED: no CUDA device' "$logs/$t.log" || true)
  if [ "$rc" -eq 0 ] && [ "$skipped" -eq 0 ]; then verdict=ok; elif [ "$skipped" -gt 0 ]; then verdict=SKIP; else verdict=FAIL; status=1; fi
  [ "$rc" -eq 124 ] && verdict=TIMEOUT && status=1
  row "$t" "$verdict" "rc $rc, $(seconds "$t0") s, failed lines: $failed"
done

if [ "${SANITIZE:-0}" = 1 ] && command -v compute-sanitizer >/dev/null; then
  echo "== compute-sanitizer memcheck"
  for t in test_cuda_coreset test_cuda_knn; do
    t0=$(date +%s)
    timeout 240 compute-sanitizer --tool memcheck --error-exitcode 9 "$build/tests/$t" >"$logs/$t.memcheck.log" 2>&1
    rc=$?
    tail -3 "$logs/$t.memcheck.log"
    row "$t memcheck" "$([ $rc -eq 0 ] && echo ok || echo FAIL)" "rc $rc, $(seconds "$t0") s"
  done
fi

echo "== benchmark"
t0=$(date +%s)
bench_args=()
[ "${QUICK:-0}" = 1 ] && bench_args=(--quick)
timeout 240 "$build/bench_patchcore_cuda" "${bench_args[@]}" 2>&1 | tee "$logs/bench.log"
rc=${PIPESTATUS[0]}
row "benchmark" "$([ "$rc" -eq 0 ] && echo ok || echo FAIL)" "rc $rc, $(seconds "$t0") s (table above)"
grep -q '| FAIL ' "$logs/bench.log" && status=1

echo
echo "== summary"
printf '%s\n' "${table[@]}"
exit $status
