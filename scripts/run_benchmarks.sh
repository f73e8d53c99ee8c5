#!/usr/bin/env bash
# Runs the Google Benchmark programs (opencv_perf_patchcore, and opencv_perf_patchcore_faiss where FAISS was found).
#
#   scripts/run_benchmarks.sh [--smoke] [--build-dir DIR] [-- extra benchmark flags]
#
# Default: every benchmark except the multi-minute "Large" ones (magnetic_tile's coreset, the 163,840-vector bank);
#          add `-- --benchmark_filter=.` to run those too. Tables are written to DIR/benchmarks/*.json as well.
# --smoke: each benchmark once, briefly (CI): no "Large" ones, minimum time 0.01 s. Benchmarks whose shared data is
#          absent report "SKIPPED: needs ..." and do not fail the run.
# The machine is shared: compare numbers from one run only (each program prints ours next to its comparison).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=build
SMOKE=0
EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) SMOKE=1 ;;
    --build-dir) BUILD_DIR="$2"; shift ;;
    --) shift; EXTRA=("$@"); break ;;
    *) echo "usage: $0 [--smoke] [--build-dir DIR] [-- benchmark flags]" >&2; exit 2 ;;
  esac
  shift
done

if [ ! -f "$BUILD_DIR/build.ninja" ] && [ ! -f "$BUILD_DIR/Makefile" ]; then
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DPATCHCORE_BUILD_PERF=ON
fi
cmake --build "$BUILD_DIR" --target opencv_perf_patchcore -j "$(nproc)"
if grep -q opencv_perf_patchcore_faiss "$BUILD_DIR"/build.ninja "$BUILD_DIR"/Makefile 2>/dev/null ||
   [ -d "$BUILD_DIR/modules/patchcore/CMakeFiles/opencv_perf_patchcore_faiss.dir" ]; then
  cmake --build "$BUILD_DIR" --target opencv_perf_patchcore_faiss -j "$(nproc)"
fi

FLAGS=(--benchmark_filter=-Large)
if [ "$SMOKE" = 1 ]; then
  FLAGS+=(--benchmark_min_time=0.01)
fi
OUT="$BUILD_DIR/benchmarks"
mkdir -p "$OUT"
status=0
for prog in opencv_perf_patchcore opencv_perf_patchcore_faiss; do
  bin=$(find "$BUILD_DIR" -type f -name "$prog" -perm -u+x | head -n 1)
  [ -n "$bin" ] || continue
  echo "== $prog"
  "$bin" "${FLAGS[@]}" "${EXTRA[@]}" --benchmark_out="$OUT/$prog.json" --benchmark_out_format=json || status=1
done
exit $status
