#!/usr/bin/env bash
# Input modes (doc/RESULTS.md, "Whole-frame inspection"): the reference's centre crop against the whole-frame modes on
# magnetic_tile and mvtec_grid, with training/predict time and peak memory. Prints a Markdown table on stdout.
#   scripts/results_modes.sh [mt300|mt752|grid|auto|bounded|coverage ...]   (default: mt300, grid, mt752)
# `auto` runs the default mode (INPUT_AUTO) on all three data sets, e.g. RATIO=0.1 for the 10 % comparison with the
# reference's centre-crop figures.
# A run whose results.json exists under $OUT is not repeated. Environment as scripts/results.sh:
# PATCHCORE_BIN (build/bin/patchcore), PATCHCORE_DATA_ROOT (../shared), OUT (out/results), RATIO (coreset, 0.01).
set -euo pipefail
source "$(dirname "$0")/eval_env.sh"
OUT=${OUT:-out/results}
RATIO=${RATIO:-0.01}

ids=()
# run <id> <dataset> [eval options...]: one evaluation into $OUT/<id>, peak memory recorded beside it.
run() {
    local id=$1 ds=$2
    shift 2
    ids+=("$id")
    [ -f "$OUT/$id/results.json" ] && return
    echo "== $id" >&2
    mkdir -p "$OUT/$id"
    /usr/bin/time -f "%M" -o "$OUT/$id/peak_kb" "$BIN" eval "$DATA/datasets/$ds" --out="$OUT/$id" --overlays=3 \
        --ratio="$RATIO" "$@" >&2
}

groups=("$@")
[ ${#groups[@]} -eq 0 ] && groups=(mt300 grid mt752)
for g in "${groups[@]}"; do
    case $g in
    mt300)
        for m in crop resize aspect tiles; do
            run mt300_$m magnetic_tile --train-list="$DATA/reference/magnetic_tile_train300.txt" --mode=$m
        done ;;
    mt752)
        for m in crop aspect; do run mt752_$m magnetic_tile --mode=$m; done ;;
    grid)
        for m in crop resize; do run grid_$m mvtec_grid --mode=$m; done
        run grid_tiles_half mvtec_grid --mode=tiles --tile-scale=0.5
        run grid_tiles_native mvtec_grid --mode=tiles --tile-scale=1 ;;
    auto)
        run hazelnut_auto hazelnut_toy --mode=auto
        run grid_auto mvtec_grid --mode=auto
        run mt300_auto magnetic_tile --train-list="$DATA/reference/magnetic_tile_train300.txt" --mode=auto ;;
    bounded)
        # The default after issue 14 (frame pass, capped bank, composable greedy) and what it replaced, RATIO=0.1.
        run hazelnut_bounded hazelnut_toy --mode=auto
        run grid_bounded mvtec_grid --mode=auto
        run grid_bounded_tiles mvtec_grid --mode=tiles --tile-scale=0.5
        run grid_bounded_onesel mvtec_grid --mode=auto --chunk-rows=0
        run mt300_bounded magnetic_tile --train-list="$DATA/reference/magnetic_tile_train300.txt" --mode=auto
        run deeppcb_bounded deeppcb --mode=auto ;;
    coverage)
        # The coverage stop (coresetCoverageStop) against fixed 1 / 10 / 25 % in the default mode, full training
        # sets (doc/RESULTS.md, "Coverage stop"). A ratio whose bank reaches the 16,384 cap is the 10 % run again,
        # so magnetic_tile and deeppcb run 25 % (and deeppcb 1 %) only through their 10 % run.
        for ds in hazelnut_toy mvtec_grid; do
            RATIO=0.01 run ${ds}_r01 $ds
            RATIO=0.25 run ${ds}_r25 $ds
        done
        RATIO=0.01 run magnetic_tile_r01 magnetic_tile
        for ds in hazelnut_toy mvtec_grid magnetic_tile deeppcb; do
            RATIO=0.1 run ${ds}_r10 $ds
            for stop in 0.10 0.15; do RATIO=0.1 run ${ds}_stop$stop $ds --coverage-stop=$stop; done
        done ;;
    *) echo "unknown group $g (mt300, mt752, grid, auto, bounded, coverage)" >&2; exit 2 ;;
    esac
done

echo "| run | train images | bank | image AUROC | pixel AUROC | PRO | train s | predict s/img | peak RSS GB |"
echo "|---|---|---|---|---|---|---|---|---|"
for id in "${ids[@]}"; do
    /usr/bin/python3 - "$OUT/$id" "$id" <<'PY'
import json, sys, os
folder, ident = sys.argv[1], sys.argv[2]
r = json.load(open(os.path.join(folder, "results.json")))["runs"][0]
peak = open(os.path.join(folder, "peak_kb")).read().strip() if os.path.exists(os.path.join(folder, "peak_kb")) else ""
peak = "%.2f" % (int(peak) / 1048576) if peak.isdigit() else "-"
print("| %s | %d | %d | %.3f | %.3f | %.3f | %.0f | %.3f | %s |" % (ident, r["train_images"], r["bank"],
      r["image_auroc"], r["pixel_auroc"], r["pro"], r["train_s"], r["predict_s_per_image"], peak))
PY
done
