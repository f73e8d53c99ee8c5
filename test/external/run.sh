#!/usr/bin/env bash
# Installs a built tree into a temporary prefix and builds test/external against it, with CMake
# (find_package(PatchCore)) and with pkg-config, then runs both programs and the installed `patchcore` program.
# Usage: test/external/run.sh <build folder>     (registered with ctest as patchcore_external_package)
set -euo pipefail
build=$(cd "${1:?usage: run.sh <build folder>}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
model="$here/../../data/test_models/tiny_backbone.onnx"
work=$(mktemp -d "${TMPDIR:-/tmp}/patchcore-external.XXXXXX")
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/prefix" >"$work/install.log"
expected=(include/opencv2/patchcore.hpp include/opencv2/patchcore/metrics.hpp)
[ -x "$build/bin/patchcore" ] && expected+=(bin/patchcore)
for f in "${expected[@]}"; do
  [ -e "$work/prefix/$f" ] || { echo "run.sh: the install lacks $f"; exit 1; }
done

# CMake consumer. Only the temporary prefix is searched for PatchCore, so a system-wide copy cannot stand in for it.
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S "$here" -B "$work/app" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$work/prefix" \
      >"$work/configure.log" || { cat "$work/configure.log"; exit 1; }
cmake --build "$work/app" >"$work/build.log" || { cat "$work/build.log"; exit 1; }
mkdir -p "$work/scratch"
"$work/app/consumer" "$model" "$work/scratch"

# pkg-config consumer: the same program from patchcore.pc's flags alone.
pcdir=$(dirname "$(find "$work/prefix" -name patchcore.pc | head -n 1)")
flags=$(PKG_CONFIG_PATH="$pcdir" pkg-config --cflags --libs patchcore)
libdir=$(PKG_CONFIG_PATH="$pcdir" pkg-config --variable=libdir patchcore)
c++ -std=c++17 -O1 "$here/main.cpp" -o "$work/consumer_pc" $flags
LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$work/consumer_pc" "$model" "$work/scratch"

# The installed program finds its library through its RPATH, without LD_LIBRARY_PATH.
[ ! -x "$build/bin/patchcore" ] || "$work/prefix/bin/patchcore" --help >/dev/null

# The installed Python module (when the build made one) imports from the prefix alone, its RPATH finding the library.
what="CMake, pkg-config, patchcore program"
if ls "$build"/python/patchcore.*.so >/dev/null 2>&1; then
  module=$(find "$work/prefix" -name 'patchcore.*.so' | head -n 1)
  [ -n "$module" ] || { echo "run.sh: the install lacks the Python module"; exit 1; }
  (cd "$work" && PYTHONPATH="$(dirname "$module")" /usr/bin/python3 -c \
    "import patchcore, sys; assert patchcore.__file__.startswith('$work/prefix'), patchcore.__file__; patchcore.Params().validate()")
  what="$what, Python module"
fi
echo "run.sh: installed package OK ($what)"
