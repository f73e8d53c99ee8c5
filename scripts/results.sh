#!/usr/bin/env bash
# Regenerates the tables of doc/RESULTS.md with `patchcore eval`; prints them as Markdown on stdout.
#   scripts/results.sh [section ...]      sections: parity coreset taps k reweight size fp16 lowshot mt_coreset mt_act
#                                          mt_act_variants mt_variants mt_lowshot
# With no section, runs the ones that take minutes on 2 cores (parity without magnetic_tile, coreset, taps, k,
# reweight, size, lowshot). magnetic_tile sections take tens of minutes each. A run whose results.json exists under
# $OUT is not repeated (delete it to rerun). Environment: PATCHCORE_BIN (default build/bin/patchcore),
# PATCHCORE_DATA_ROOT (default ../shared), OUT (default out/results).
set -euo pipefail
source "$(dirname "$0")/eval_env.sh"
OUT=${OUT:-out/results}
RAW=layer2,layer3
ACT=layer2_act,layer3_act
MT_LIST=$DATA/reference/magnetic_tile_train300.txt

# run <id> <dataset> [eval options...]: one evaluation into $OUT/<id>, skipped when already done.
run() {
    local id=$1 ds=$2
    shift 2
    if [ ! -f "$OUT/$id/results.json" ]; then
        echo "== $id" >&2
        # The reference's centre crop, so that every table compares with the reference's own figures.
        "$BIN" eval "$DATA/datasets/$ds" --out="$OUT/$id" --overlays=3 --mode=crop "$@" >&2
    fi
}

# base <dataset> <RAW|ACT> <10|100> [refdraws]: the default settings with these taps and coreset, compared with the
# reference's per-image scores when its CSV exists; every section shares these runs. "refdraws" draws the coreset's
# projection and start points as the reference's process did (doc/PARITY.md), so that its coreset is selected.
base() {
    local ds=$1 t=$2 pct=$3 draws=${4:-} opts=()
    [ $t = ACT ] && opts+=(--layers=$ACT) || opts+=(--layers=$RAW)
    [ $pct = 100 ] && opts+=(--coreset=none)
    [ "$draws" = refdraws ] && opts+=(--random=reference --reference-draws=8512706)
    [ $ds = magnetic_tile ] && opts+=(--train-list="$MT_LIST")
    [ -f "$DATA/reference/${ds}_${t}_$pct.csv" ] && opts+=(--reference="$DATA/reference/${ds}_${t}_$pct.csv")
    run ${ds}_${t}_$pct${draws:+_$draws} $ds "${opts[@]}"
}

# table <title> <id>...: one Markdown row per run (low-shot runs give one row per shot count).
table() {
    local title=$1
    shift
    python3 - "$OUT" "$title" "$@" <<'EOF'
import json, sys
out, title, ids = sys.argv[1], sys.argv[2], sys.argv[3:]
f = lambda v, d=3: "n/a" if v is None else f"{v:.{d}f}"
print(f"\n### {title}\n")
print("| run | train imgs | bank | image AUROC | pixel AUROC | PRO | train s | s/img | vs reference |")
print("|---|---|---|---|---|---|---|---|---|")
for i in ids:
    for r in json.load(open(f"{out}/{i}/results.json"))["runs"]:
        ref = r.get("reference")
        cmp = (f"Spearman {ref['spearman']:.3f}, rel. diff median {ref.get('median_relative_diff', float('nan')):.2g}, "
               f"max {ref['max_relative_diff']:.2g}") if ref else ""
        name = i if not r["shots"] else f"{i} {r['shots']} shots"
        print(f"| {name} | {r['train_images']} | {r['bank']} | {f(r['image_auroc'])} | {f(r['pixel_auroc'])} | "
              f"{f(r['pro'])} | {f(r['train_s'], 1)} | {f(r['predict_s_per_image'], 3)} | {cmp} |")
EOF
}

parity() {
    local ids=()
    for ds in hazelnut_toy mvtec_grid; do
        for t in RAW ACT; do
            base $ds $t 10 refdraws
            base $ds $t 10
            ids+=(${ds}_${t}_10_refdraws ${ds}_${t}_10)
            if [ -f "$DATA/reference/${ds}_${t}_100.csv" ]; then
                base $ds $t 100
                ids+=(${ds}_${t}_100)
            fi
        done
    done
    table "Parity with the reference (same settings; seed 0; _refdraws: the reference's random draws)" "${ids[@]}"
}

parity_mt() {
    local ids=()
    for t in RAW ACT; do
        base magnetic_tile $t 10 refdraws
        base magnetic_tile $t 10
        ids+=(magnetic_tile_${t}_10_refdraws magnetic_tile_${t}_10)
    done
    table "Parity on magnetic_tile (300 train images)" "${ids[@]}"
}

coreset() {
    local ids=()
    for ds in hazelnut_toy mvtec_grid; do
        for t in RAW ACT; do
            local layers=$RAW
            [ $t = ACT ] && layers=$ACT
            run ${ds}_${t}_1 $ds --layers=$layers --ratio=0.01
            base $ds $t 10
            run ${ds}_${t}_25 $ds --layers=$layers --ratio=0.25
            base $ds $t 100
            ids+=(${ds}_${t}_1 ${ds}_${t}_10 ${ds}_${t}_25 ${ds}_${t}_100)
        done
    done
    table "Coreset size and taps (k = 1, 224 px)" "${ids[@]}"
}

# Each option on its own against the default (RAW taps, coreset 10 %), on both small datasets and both taps.
variants() {
    local title=$1 tag=$2
    shift 2
    local ids=()
    for ds in hazelnut_toy mvtec_grid; do
        for t in RAW ACT; do
            local layers=$RAW
            [ $t = ACT ] && layers=$ACT
            base $ds $t 10
            run ${ds}_${t}_$tag $ds --layers=$layers "$@"
            ids+=(${ds}_${t}_10 ${ds}_${t}_$tag)
        done
    done
    table "$title" "${ids[@]}"
}

lowshot() {
    run hazelnut_toy_lowshot hazelnut_toy --shots=1,2,5,10,20
    run mvtec_grid_lowshot mvtec_grid --shots=1,2,5,10,20
    table "Low-shot (RAW, coreset 10 %, first N train images after a seed-0 shuffle)" \
        hazelnut_toy_lowshot mvtec_grid_lowshot
}

mt_coreset() {
    run magnetic_tile_RAW_1 magnetic_tile --train-list="$MT_LIST" --ratio=0.01
    base magnetic_tile RAW 10
    run magnetic_tile_RAW_25 magnetic_tile --train-list="$MT_LIST" --ratio=0.25
    base magnetic_tile RAW 100
    table "magnetic_tile coreset size (RAW, 300 train images)" magnetic_tile_RAW_1 magnetic_tile_RAW_10 \
        magnetic_tile_RAW_25 magnetic_tile_RAW_100
}

# The same coreset ladder with the ACT taps.
mt_act() {
    run magnetic_tile_ACT_1 magnetic_tile --train-list="$MT_LIST" --layers=$ACT --ratio=0.01
    base magnetic_tile ACT 10
    run magnetic_tile_ACT_25 magnetic_tile --train-list="$MT_LIST" --layers=$ACT --ratio=0.25
    base magnetic_tile ACT 100
    table "magnetic_tile coreset size (ACT, 300 train images)" magnetic_tile_ACT_1 magnetic_tile_ACT_10 \
        magnetic_tile_ACT_25 magnetic_tile_ACT_100
}

# k = 3, Eq. 7 and 320 px with the ACT taps.
mt_act_variants() {
    base magnetic_tile ACT 10
    run magnetic_tile_ACT_k3 magnetic_tile --train-list="$MT_LIST" --layers=$ACT --k=3
    run magnetic_tile_ACT_reweight magnetic_tile --train-list="$MT_LIST" --layers=$ACT --reweight=true
    run magnetic_tile_ACT_px320 magnetic_tile --train-list="$MT_LIST" --layers=$ACT --resize=366 --crop=320
    table "magnetic_tile: k = 3, Eq. 7, 320 px (ACT, coreset 10 %, 300 train images)" magnetic_tile_ACT_10 \
        magnetic_tile_ACT_k3 magnetic_tile_ACT_reweight magnetic_tile_ACT_px320
}

# k = 3, Eq. 7 and 320 px on magnetic_tile, each against the RAW 10 % run (ACT 10 % is in parity_mt).
mt_variants() {
    base magnetic_tile RAW 10
    run magnetic_tile_RAW_k3 magnetic_tile --train-list="$MT_LIST" --k=3
    run magnetic_tile_RAW_reweight magnetic_tile --train-list="$MT_LIST" --reweight=true
    run magnetic_tile_RAW_px320 magnetic_tile --train-list="$MT_LIST" --resize=366 --crop=320
    table "magnetic_tile: k = 3, Eq. 7, 320 px (RAW, coreset 10 %, 300 train images)" magnetic_tile_RAW_10 \
        magnetic_tile_RAW_k3 magnetic_tile_RAW_reweight magnetic_tile_RAW_px320
}

mt_lowshot() {
    run magnetic_tile_lowshot magnetic_tile --shots=1,2,5,10,20,50
    table "magnetic_tile low-shot (RAW, coreset 10 %, from all 752 train images, seed-0 shuffle)" magnetic_tile_lowshot
}

sections=("$@")
[ ${#sections[@]} -eq 0 ] && sections=(parity coreset k reweight size lowshot)
for s in "${sections[@]}"; do
    case $s in
        parity) parity ;;
        parity_mt) parity_mt ;;
        coreset | taps) coreset ;;
        k) variants "k = 3 vs k = 1 (coreset 10 %)" k3 --k=3 ;;
        reweight) variants "Eq. 7 reweighting on vs off (coreset 10 %)" reweight --reweight=true ;;
        size) variants "320 px (resize 366, crop 320) vs 224 px (coreset 10 %)" px320 --resize=366 --crop=320 ;;
        fp16) variants "fp16 bank vs fp32 (coreset 10 %)" fp16 --fp16=true ;;
        lowshot) lowshot ;;
        mt_coreset) mt_coreset ;;
        mt_variants) mt_variants ;;
        mt_act) mt_act ;;
        mt_act_variants) mt_act_variants ;;
        mt_lowshot) mt_lowshot ;;
        *) echo "unknown section '$s' (parity parity_mt coreset k reweight size fp16 lowshot mt_coreset mt_act" \
                "mt_act_variants mt_variants mt_lowshot)" >&2; exit 1 ;;
    esac
done
