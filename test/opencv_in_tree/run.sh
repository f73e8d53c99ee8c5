#!/usr/bin/env bash
# Builds cv::patchcore as an extra module of an OpenCV 4.6 source tree (OPENCV_EXTRA_MODULES_PATH), with OpenCV's
# Python bindings, then runs OpenCV's header parser on our headers (tools/check_bindings.py) and smoke.py against
# the generated cv2 module. Too long for CI (about 25 min on 2 cores), so it is run by hand; doc/BUILD_IN_OPENCV.md
# has the last result.
#
# Usage: test/opencv_in_tree/run.sh [work folder]     (default /tmp/patchcore-in-tree)
#   OPENCV_SRC=<opencv source tree>: used as is. Otherwise Debian's source package of the installed OpenCV is fetched
#   with `apt-get source` (needs a deb-src entry; as root the script adds one for the configured Debian mirror).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=$(mkdir -p "${1:-/tmp/patchcore-in-tree}" && cd "${1:-/tmp/patchcore-in-tree}" && pwd)

if [ -z "${OPENCV_SRC:-}" ]; then
  OPENCV_SRC=$(find "$work/src" -maxdepth 1 -type d -name 'opencv-4*' 2>/dev/null | head -n 1 || true)
  if [ -z "$OPENCV_SRC" ]; then
    if ! apt-cache showsrc opencv >/dev/null 2>&1 || [ -z "$(apt-cache showsrc opencv 2>/dev/null)" ]; then
      [ "$(id -u)" = 0 ] || { echo "run.sh: set OPENCV_SRC, or run as root to fetch Debian's opencv source"; exit 1; }
      sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
        >/etc/apt/sources.list.d/patchcore-deb-src.sources
      apt-get update -q >/dev/null
    fi
    mkdir -p "$work/src"
    (cd "$work/src" && apt-get source --download-only -q opencv >/dev/null && tar xf opencv_*.orig.tar.xz)
    OPENCV_SRC=$(find "$work/src" -maxdepth 1 -type d -name 'opencv-4*' | head -n 1)
  fi
fi
echo "run.sh: OpenCV source $OPENCV_SRC"
if [ "$(id -u)" = 0 ]; then
  # Debian's OpenCV source has no bundled protobuf (dfsg): cv::dnn needs the system one.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q libprotobuf-dev protobuf-compiler python3-dev python3-numpy \
    >/dev/null
fi

/usr/bin/python3 "$repo/tools/check_bindings.py" --opencv-src "$OPENCV_SRC"

# Only what the module needs. Off: what would download (IPP, ADE) and what Debian's dfsg tarball lacks (3rdparty/).
cmake -S "$OPENCV_SRC" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DOPENCV_EXTRA_MODULES_PATH="$repo/modules" \
  -DBUILD_LIST=core,imgproc,imgcodecs,dnn,python3,patchcore \
  -DBUILD_TESTS=OFF -DBUILD_PERF_TESTS=OFF -DBUILD_EXAMPLES=OFF -DBUILD_opencv_apps=OFF -DBUILD_JAVA=OFF \
  -DBUILD_DOCS=OFF -DWITH_IPP=OFF -DWITH_ADE=OFF -DWITH_OPENCL=OFF -DWITH_CUDA=OFF -DWITH_TBB=ON \
  -DWITH_PROTOBUF=ON -DBUILD_PROTOBUF=OFF -DPROTOBUF_UPDATE_FILES=ON -DWITH_FFMPEG=OFF -DWITH_GSTREAMER=OFF \
  -DWITH_OPENJPEG=OFF -DWITH_QUIRC=OFF -DWITH_ITT=OFF -DWITH_1394=OFF -DWITH_V4L=OFF -DBUILD_opencv_python2=OFF \
  -DWITH_GTK=OFF -DWITH_QT=OFF -DWITH_VTK=OFF -DWITH_OPENEXR=OFF -DWITH_JASPER=OFF -DWITH_WEBP=OFF \
  -DPYTHON3_EXECUTABLE=/usr/bin/python3 >"$work/configure.log" || { tail -50 "$work/configure.log"; exit 1; }
grep -E "To be built|Python 3:|Disabled:" -A2 "$work/configure.log" | head -20
grep -q "patchcore" <(grep "To be built" "$work/configure.log") ||
  { echo "run.sh: OpenCV's configuration did not pick up the patchcore module"; exit 1; }
cmake --build "$work/build" --target opencv_patchcore opencv_python3 -- -j"$(nproc)" >"$work/build.log" 2>&1 ||
  { grep -E "error|Error" -m 40 "$work/build.log"; exit 1; }
echo "run.sh: warnings in the module's sources: $(grep -c "modules/patchcore/.*warning" "$work/build.log" || true)"

pydir=$(dirname "$(find "$work/build/lib" -name 'cv2*.so' | head -n 1)")
PYTHONPATH="$pydir" LD_LIBRARY_PATH="$work/build/lib" /usr/bin/python3 "$here/smoke.py" \
  "$repo/data/test_models/tiny_backbone.onnx"
echo "run.sh: in-tree build and Python bindings OK"
