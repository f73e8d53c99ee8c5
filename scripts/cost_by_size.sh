#!/usr/bin/env bash
# What the default (INPUT_AUTO) costs by image size (issue 14, doc/PERFORMANCE.md "Cost by image size"): mvtec_grid
# resized to 256, 512, 1024 and 2048 px on a side (copies under $WORK, never in the project) and deeppcb as it is.
# For each: the backbone's own time on the frame the default makes, train time, predict time per image (in the
# predictMap() call, and end to end with reading the image and its mask), peak RSS, and the issue's ratios (predict
# call / backbone, train / (backbone x training images + 30 s)). Prints a Markdown table.
#   scripts/cost_by_size.sh [sizes...]      (default: 256 512 1024 2048 deeppcb)
# Environment: PATCHCORE_BIN (build/bin/patchcore), PATCHCORE_PERF (the benchmark binary), PATCHCORE_DATA_ROOT
# (../shared), OUT (out/cost), WORK (a temporary folder for the resized copies), THREADS (2).
set -euo pipefail
source "$(dirname "$0")/eval_env.sh"
PERF=${PATCHCORE_PERF:-build/modules/patchcore/opencv_perf_patchcore}
OUT=${OUT:-out/cost}
THREADS=${THREADS:-2}
WORK=${WORK:-$(mktemp -d)}
[ -x "$PERF" ] || { echo "build the benchmarks first (scripts/build.sh), or set PATCHCORE_PERF" >&2; exit 1; }
for need in datasets/mvtec_grid datasets/deeppcb models/resnet50v2_to_layer3.onnx; do
    [ -e "$DATA/$need" ] || { echo "SKIPPED: needs $DATA/$need (set PATCHCORE_DATA_ROOT)" >&2; exit 0; }
done
mkdir -p "$OUT"
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(256 512 1024 2048 deeppcb)

# The backbone alone (oneDNN fp32, the default engine) on the two frames the default makes: 224 x 224 for images of
# at most 512 px on the shorter side (aspect mode), 512 x 512 above (frame mode).
"$PERF" --benchmark_filter='BM_BackboneEngine/engine:2/h:(224/w:224|512/w:512)/threads:'"$THREADS"'/' \
    --benchmark_format=json --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
    > "$OUT/backbone.json"

for s in "${sizes[@]}"; do
    if [ "$s" = deeppcb ]; then
        ds="$DATA/datasets/deeppcb"
    else
        ds="$WORK/grid_$s"
        [ -d "$ds" ] || /usr/bin/python3 - "$DATA/datasets/mvtec_grid" "$ds" "$s" <<'PY'
import cv2, os, sys
src, dst, side = sys.argv[1], sys.argv[2], int(sys.argv[3])
for root, _, files in os.walk(src):
    for f in files:
        if not f.lower().endswith((".png", ".jpg", ".jpeg", ".bmp")):
            continue
        mask = os.sep + "ground_truth" + os.sep in root + os.sep
        img = cv2.imread(os.path.join(root, f), cv2.IMREAD_UNCHANGED)
        out = cv2.resize(img, (side, side), interpolation=cv2.INTER_NEAREST if mask else cv2.INTER_AREA)
        target = os.path.join(dst, os.path.relpath(root, src))
        os.makedirs(target, exist_ok=True)
        cv2.imwrite(os.path.join(target, f), out)
PY
    fi
    id=cost_$s
    if [ ! -f "$OUT/$id/results.json" ]; then
        echo "== $id" >&2
        mkdir -p "$OUT/$id"
        /usr/bin/time -f "%M" -o "$OUT/$id/peak_kb" "$BIN" eval "$ds" --out="$OUT/$id" --overlays=0 >&2
    fi
done

/usr/bin/python3 - "$OUT" "${sizes[@]}" <<'PY'
import json, os, sys
out, sizes = sys.argv[1], sys.argv[2:]
ms = {}
for b in json.load(open(os.path.join(out, "backbone.json")))["benchmarks"]:
    if b.get("aggregate_name") == "median":
        ms[b["run_name"].split("/h:")[1].split("/threads")[0]] = b["ms"]
print("| images | frame | bank | backbone ms | predict ms/img: call / end to end | predict call / backbone | train s | train / (backbone x n + 30 s) | peak RSS GB | image AUROC / pixel AUROC / PRO |")
print("|---|---|---|---|---|---|---|---|---|---|")
for s in sizes:
    folder = os.path.join(out, "cost_" + s)
    r = json.load(open(os.path.join(folder, "results.json")))["runs"][0]
    frame = "512/w:512" if r["mode"].startswith(("frame", "tiles")) else "224/w:224"
    bb = ms[frame]
    peak = int(open(os.path.join(folder, "peak_kb")).read().strip()) / 1048576
    pred = 1e3 * r["predict_s_per_image"]
    call = 1e3 * r.get("predict_call_s_per_image", r["predict_s_per_image"])
    budget = bb * r["train_images"] / 1e3 + 30
    name = "deeppcb 640 px" if s == "deeppcb" else "mvtec_grid %s px" % s
    print("| %s (%d train) | %s | %d | %.0f | %.0f / %.0f | %.2f | %.1f | %.2f | %.2f | %.3f / %.3f / %.3f |" % (
        name, r["train_images"], r["mode"], r["bank"], bb, call, pred, call / bb, r["train_s"], r["train_s"] / budget,
        peak, r["image_auroc"], r["pixel_auroc"], r["pro"]))
PY
