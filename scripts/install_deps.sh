#!/usr/bin/env bash
# Installs the build and test dependencies from Debian 12's archive (idempotent; needs root or sudo).
set -euo pipefail
packages=(build-essential cmake ninja-build pkg-config libopencv-dev libopencv-contrib-dev libtbb-dev libeigen3-dev
          libgtest-dev libbenchmark-dev
          libdnnl-dev ocl-icd-opencl-dev                       # the oneDNN backbone engine (its CMake needs OpenCL)
          doxygen                                              # scripts/build_docs.sh (API reference, tutorial)
          python3-torch python3-torchvision python3-onnx)      # tools/export_backbone.py and its test (~70 s)
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
