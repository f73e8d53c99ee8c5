#!/usr/bin/env bash
# Peak memory of training against the number of training images, with and without Params::memoryBudgetMB
# (doc/PERFORMANCE.md, "Scale"). magnetic_tile's 752 training images are augmented (identity, horizontal flip,
# vertical flip, 180-degree rotation) into up to 3,008 images under a scratch folder outside the project, since the
# data set may not be copied into it. Centre-crop geometry (784 patch vectors per image) and a 1 % greedy coreset.
#   scripts/scale_memory.sh            prints a Markdown table on stdout
# Environment: PATCHCORE_BIN (build/bin/patchcore), PATCHCORE_DATA_ROOT (../shared), SCRATCH (/tmp/patchcore-scale),
# BUDGET (MiB for the bounded runs, 1536), COUNTS ("500 1000 2000"), UNBOUNDED ("500 2000").
set -euo pipefail
source "$(dirname "$0")/eval_env.sh"
SCRATCH=${SCRATCH:-/tmp/patchcore-scale}
BUDGET=${BUDGET:-1536}
COUNTS=${COUNTS-500 1000 2000}
UNBOUNDED=${UNBOUNDED-500 2000}

pool="$SCRATCH/pool"
if [ ! -f "$pool/.complete" ]; then
    mkdir -p "$pool"
    /usr/bin/python3 - "$DATA/datasets/magnetic_tile/train/good" "$pool" <<'PY'
import os, sys
from PIL import Image
src, dst = sys.argv[1], sys.argv[2]
files = sorted(f for f in os.listdir(src) if f.lower().endswith((".jpg", ".png", ".bmp")))
ops = [None, Image.FLIP_LEFT_RIGHT, Image.FLIP_TOP_BOTTOM, Image.ROTATE_180]
n = 0
for k, op in enumerate(ops):
    for f in files:
        img = Image.open(os.path.join(src, f)).convert("RGB")
        (img if op is None else img.transpose(op)).save(os.path.join(dst, "%05d_%d_%s.png" % (n, k, os.path.splitext(f)[0])))
        n += 1
PY
    touch "$pool/.complete"
fi

# train_run <images> <budget MiB>: trains on the first <images> of the pool, prints one table row.
train_run() {
    local n=$1 budget=$2 dir="$SCRATCH/set_$1"
    if [ ! -d "$dir" ]; then
        mkdir -p "$dir"
        local files
        mapfile -t files < <(ls "$pool")
        for f in "${files[@]:0:$n}"; do ln -s "$pool/$f" "$dir/$f"; done
    fi
    local log="$SCRATCH/train_${n}_${budget}.log"
    /usr/bin/time -f "%M %e" -o "$log.time" "$BIN" train "$dir" --mode=crop --ratio=0.01 --budget="$budget" \
        --out="$SCRATCH/detector.pcb" >"$log" 2>&1 || { echo "| $n | $budget | failed: $(tail -n 1 "$log") | | |"; return; }
    read -r peak seconds <"$log.time"
    local bank
    bank=$(grep -o "memory bank: [0-9]* of [0-9]*" "$log" | tail -n 1 | sed 's/memory bank: //')
    printf "| %d | %s | %.2f | %.0f | %s |\n" "$n" "$([ "$budget" = 0 ] && echo none || echo "$budget MiB")" \
        "$(awk -v k="$peak" 'BEGIN { print k / 1048576 }')" "$seconds" "$bank"
}

echo "| training images | budget | peak RSS GB | train s | bank (of patch vectors) |"
echo "|---|---|---|---|---|"
for n in $COUNTS; do train_run "$n" "$BUDGET"; done
for n in $UNBOUNDED; do train_run "$n" 0; done
