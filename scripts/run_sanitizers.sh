#!/usr/bin/env bash
# Sanitizer jobs (CI runs this after scripts/run_tests.sh):
#   1. clang build with AddressSanitizer + UndefinedBehaviorSanitizer (+ libFuzzer coverage hooks, so the same
#      build also gives the fuzz targets): the whole test suite except the slowest data-heavy tests (see EXCLUDE:
#      whole-network ResNet50 runs, parity, the approximate-search detector run, integration and export tests).
#   2. clang build with ThreadSanitizer: the concurrency tests (Patchcore_Threading.*, the oneDNN engine's concurrent
#      runs, except the one that forks:
#      TSan does not support fork() in a multi-threaded process; it runs under ASan instead).
#   3. fuzz smoke: each libFuzzer target for FUZZ_SECONDS on a copy of its committed seed corpus.
# CUDA is left out (nvcc does not take the sanitizer flags; the CUDA path has its own checks).
# OpenCV, oneTBB and GoogleTest come from Debian and are not instrumented: memory errors inside them are only
# caught when they corrupt memory our code touches, and TSan cannot see their internal synchronisation
# (scripts/tsan.supp explains the suppressions that follow from that).
# Environment: SAN_BUILD_ROOT (default build-san), JOBS (default nproc), FUZZ_SECONDS (per target, default 20),
# SAN_SKIP_TSAN=1 / SAN_SKIP_FUZZ=1 to skip a stage.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
start=$(date +%s)
bash scripts/install_deps.sh

# clang and its compiler-rt (sanitizer and libFuzzer runtimes): Debian 12 ships clang 14.
need=()
for p in clang libclang-rt-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

build_root=$(realpath -m "${SAN_BUILD_ROOT:-build-san}")
jobs=${JOBS:-$(nproc)}
fuzz_seconds=${FUZZ_SECONDS:-20}
# Left out: every test that trains or evaluates ResNet-50 on the toy data set (names with ResNet50, Parity,
# FullPipelineScoresWithinOnePercent: over a minute each under ASan, the ensemble test alone over nine minutes)
# and patchcore_external_package (it links an installed copy of the library with the system
# compiler and no sanitizer runtime, which cannot work for an instrumented library). Every other test, including
# every tiny-model and bad-input test, runs.
EXCLUDE=${SAN_CTEST_EXCLUDE:-'ResNet50|Patchcore_Parity|FullPipelineScoresWithinOnePercent|patchcore_external_package|Patchcore_ApproximateSearch.Detector|Patchcore_Integration|Patchcore_Export'}

# The Python module is left out: an instrumented extension cannot load into Debian's uninstrumented interpreter
# (the sanitizer runtimes must come first), and its C++ underneath is the library these jobs already check.
configure() { # folder, extra flags, cmake args...
  local dir=$1 flags=$2
  shift 2
  CC=clang CXX=clang++ cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS="$flags -fno-omit-frame-pointer" -DPATCHCORE_BUILD_PERF=OFF -DPATCHCORE_WITH_CUDA=OFF \
    -DPATCHCORE_BUILD_PYTHON=OFF "$@" >/dev/null
}

stage() { echo "=== $* ($(( $(date +%s) - start )) s)"; }

# ---- 1. ASan + UBSan ------------------------------------------------------------------------------------------
stage "ASan+UBSan build"
asan_dir=$build_root/asan
configure "$asan_dir" "-fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=undefined" \
  -DPATCHCORE_BUILD_TESTS=ON -DPATCHCORE_BUILD_SAMPLES=ON -DPATCHCORE_BUILD_FUZZERS=ON
cmake --build "$asan_dir" -j "$jobs"
stage "ASan+UBSan tests (excluded: $EXCLUDE)"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1"
export LSAN_OPTIONS="suppressions=$root/scripts/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
(cd "$asan_dir" && ctest --output-on-failure -j "$jobs" --timeout 1500 -E "$EXCLUDE")

# ---- 2. TSan --------------------------------------------------------------------------------------------------
if [ "${SAN_SKIP_TSAN:-0}" != 1 ]; then
  stage "TSan build"
  tsan_dir=$build_root/tsan
  configure "$tsan_dir" "-fsanitize=thread" -DPATCHCORE_BUILD_TESTS=ON -DPATCHCORE_BUILD_SAMPLES=OFF
  cmake --build "$tsan_dir" -j "$jobs" --target opencv_test_patchcore
  stage "TSan concurrency tests"
  TSAN_OPTIONS="suppressions=$root/scripts/tsan.supp:halt_on_error=1:second_deadlock_stack=1:report_signal_unsafe=0" \
    "$tsan_dir/modules/patchcore/opencv_test_patchcore" --gtest_filter='Patchcore_Threading.*:Patchcore_OneDnn.concurrent_runs_equal_sequential_ones:-*killed_save*'
fi

# ---- 3. Fuzz smoke --------------------------------------------------------------------------------------------
# A crash counts against us when one of its three innermost frames (below the sanitizer runtime and libc) is in our
# sources. OpenCV 4.6's ONNX importer crashes on some malformed protobufs before our code sees the network
# (doc/ROBUSTNESS.md); those crashes are listed but tolerated, which is why the targets run with -ignore_crashes.
ours() { # artifact, target -> 0 if the crash reproduces and is in our code
  local top
  top=$(UBSAN_OPTIONS=print_stacktrace=1 ASAN_OPTIONS=detect_leaks=0 timeout 120 "$2" "$1" 2>&1 |
    grep -E '^ +#[0-9]+ 0x' | grep -vE '__interceptor|__asan|__ubsan|__sanitizer|operator new|malloc|libc\.so' |
    head -3 | sed -E 's/^ +#[0-9]+ 0x[0-9a-f]+ //; s/ \(BuildId.*//' | tr '\n' ' ')
  echo "  $(basename "$1"): ${top:-does not reproduce}"
  [[ "$top" == *modules/patchcore/* ]]
}
if [ "${SAN_SKIP_FUZZ:-0}" != 1 ]; then
  corpus_root=$root/modules/patchcore/fuzz/corpus
  failed=0
  for pair in binary_loader:binary yaml_loader:yaml onnx_model:onnx; do
    target=$asan_dir/bin/fuzz_${pair%%:*}
    stage "fuzz smoke: $(basename "$target"), ${fuzz_seconds} s"
    work=$(mktemp -d)
    mkdir "$work/corpus" "$work/crashes"
    cp "$corpus_root/${pair##*:}/." "$work/corpus/" -r # a copy: libFuzzer adds inputs to the folder it is given
    (cd "$work" && ASAN_OPTIONS=detect_leaks=0 "$target" -fork=1 -ignore_crashes=1 -max_total_time="$fuzz_seconds" \
      -timeout=10 -rss_limit_mb=3000 -artifact_prefix="$work/crashes/" corpus > "$work/log" 2>&1) || true
    grep -E '^#[0-9]+' "$work/log" | tail -1 || true
    for a in "$work"/crashes/crash-* "$work"/crashes/leak-*; do
      [ -e "$a" ] || continue
      if ours "$a" "$target"; then
        failed=1
        mkdir -p "$build_root/fuzz-crashes" && cp "$a" "$build_root/fuzz-crashes/"
      fi
    done
    rm -rf "$work"
  done
  [ "$failed" -eq 0 ] || { echo "fuzz smoke: crashes in cv::patchcore, inputs kept in $build_root/fuzz-crashes"; exit 1; }
fi
stage "sanitizers: all passed"
