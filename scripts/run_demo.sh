#!/usr/bin/env bash
# The main job: install, build, train on hazelnut_toy with ResNet50-v2, score the test split, write heat maps.
# Usage: scripts/run_demo.sh [category folder] [output folder]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
data_root=${PATCHCORE_DATA_ROOT:-$(cd .. && pwd)/shared}
category=${1:-$data_root/datasets/hazelnut_toy}
out=${2:-out/$(basename "$category")}
./build/bin/patchcore run "$category" --out="$out" --model="$data_root/models/resnet50v2_to_layer3.onnx"
