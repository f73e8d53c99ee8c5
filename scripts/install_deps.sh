#!/usr/bin/env bash
# Installs dependencies from Debian 12's archive (idempotent; needs root or sudo).
# Usage: scripts/install_deps.sh [--test | --reference]
#   (no option)  what building and running the library, its program and its Python module need (the main job,
#                scripts/run_demo.sh, via scripts/build.sh)
#   --test       also what only the test command uses (scripts/run_tests.sh): pytest, the docs, and torch for
#                tools/export_backbone.py and its test
#   --reference  also what the authors' implementation needs to run beside ours (scripts/reference_compare.sh,
#                ../shared/reference/runner): FAISS with OpenBLAS, torch, scikit-learn and what its package imports
set -euo pipefail
packages=(build-essential cmake ninja-build pkg-config libopencv-dev libopencv-contrib-dev libtbb-dev libeigen3-dev
          libgtest-dev libbenchmark-dev                        # the default build compiles the tests and benchmarks
          libdnnl-dev ocl-icd-opencl-dev                       # the oneDNN backbone engine (its CMake needs OpenCL)
          pybind11-dev python3-dev python3-numpy python3-opencv)  # the Python module `patchcore` and its cv2 use
case "${1:-}" in
  "") ;;
  --test)
    packages+=(python3-pytest                                  # the Python module's tests
               doxygen                                         # scripts/build_docs.sh (API reference, tutorial)
               python3-torch python3-torchvision python3-onnx) # tools/export_backbone.py and its test (~70 s)
    ;;
  --reference)
    packages+=(python3-torch python3-torchvision python3-onnx python3-faiss python3-scipy python3-sklearn
               python3-tqdm python3-matplotlib python3-pandas
               libopenblas0-openmp)                            # FAISS on Debian's reference BLAS is ~14x slower
    ;;
  *) echo "usage: $0 [--test | --reference]" >&2; exit 2 ;;
esac
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install_deps: all packages present"
  exit 0
fi
echo "install_deps: installing ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
