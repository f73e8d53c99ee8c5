#!/usr/bin/env bash
# Ours against the authors' implementation on this machine, one job after the other (issue 14's "faster than the
# authors' code on the same machine, in less memory, with at least its image AUROC and PRO"). For each data set:
#   ref       the authors' PatchCore (../shared/reference/runner/run_reference.py: centre crop, layer2+layer3, 10 %)
#   default   ours with the default settings (INPUT_AUTO)
#   crop      ours in the reference's centre-crop mode
#   default+bf16  the default with the oneDNN bf16 backbone (only where the CPU has AVX512_BF16 or AMX)
#   frame     ours with the whole frame in one pass at its own scale (--mode=frame; RUNS=frame asks for it: it
#             measures INPUT_AUTO's 512 px edge on sets whose images are not above it, e.g. hazelnut_toy)
# and prints train time, predict time per image (inside the predict call: the reference's _predict, our
# predictMap()), peak RSS (/usr/bin/time, whole process) and the metrics, with ours / ref ratios. Only ratios from
# one run of this script mean anything on a shared machine.
#   scripts/reference_compare.sh [set[:N] ...]     (default: mvtec_grid deeppcb:200)
# `set:N` trains both on the first N training images (sorted names), e.g. deeppcb:200: the reference's greedy
# coreset is quadratic, so its 1,000 images would take hours.
# Needs: PATCHCORE_SRC, the folder holding the authors' `patchcore` package (their repository's src/, commit
# fcaa92f; ../shared/reference/runner/README.md says how to get it), and `scripts/install_deps.sh --reference`.
# Environment: PATCHCORE_BIN (build/bin/patchcore), PATCHCORE_DATA_ROOT (../shared), OUT (out/refcmp),
# THREADS (the reference's torch and FAISS threads, 2; ours use every core, 2 here), RUNS (the runs to do: "ref default crop bf16"; empty: only print the table of earlier runs).
set -euo pipefail
source "$(dirname "$0")/eval_env.sh"
OUT=${OUT:-out/refcmp}
THREADS=${THREADS:-2}
RUNS=${RUNS-ref default crop bf16}
RUNNER=$DATA/reference/runner/run_reference.py
MODEL=$DATA/models/resnet50v2_to_layer3.onnx
for need in "$RUNNER" "$MODEL"; do
    [ -e "$need" ] || { echo "SKIPPED: needs $need (set PATCHCORE_DATA_ROOT)" >&2; exit 0; }
done
if [[ " $RUNS " == *" ref "* ]]; then
    [ -d "${PATCHCORE_SRC:-}/patchcore" ] || {
        echo "set PATCHCORE_SRC to the folder holding the authors' 'patchcore' package (see $DATA/reference/runner/README.md)" >&2
        exit 1; }
    /usr/bin/python3 -c 'import faiss, torch, sklearn, scipy, tqdm, matplotlib, pandas' 2>/dev/null || {
        echo "the reference's Python packages are missing: run scripts/install_deps.sh --reference" >&2; exit 1; }
fi
bf16=0
grep -qwE 'avx512_bf16|amx_bf16' /proc/cpuinfo && bf16=1
mkdir -p "$OUT"
sets=("$@")
[ ${#sets[@]} -eq 0 ] && sets=(mvtec_grid deeppcb:200)

for spec in "${sets[@]}"; do
    name=${spec%%:*}
    count=${spec#*:}; [ "$count" = "$spec" ] && count=
    ds=$DATA/datasets/$name
    [ -d "$ds/train/good" ] || { echo "SKIPPED: $ds is not in MVTec layout (train/good)" >&2; continue; }
    tag=$name${count:+_$count}
    list=()
    if [ -n "$count" ]; then
        (cd "$ds" && find train/good -type f | sort | sed -n "1,${count}p") > "$OUT/$tag.train.txt" # no SIGPIPE
        list=(--train-list="$OUT/$tag.train.txt")
    fi
    for run in $RUNS; do
        dir=$OUT/$tag/$run
        [ -f "$dir/peak_kb" ] && continue
        [ "$run" = bf16 ] && [ $bf16 -eq 0 ] && { echo "SKIPPED: bf16 (the CPU has neither AVX512_BF16 nor AMX)" >&2; continue; }
        mkdir -p "$dir"
        echo "== $tag $run" >&2
        # Every run is one command under /usr/bin/time, which records the process's peak RSS.
        ours=("$BIN" eval "$ds" --out="$dir" --overlays=0 "${list[@]}")
        case $run in
            ref)
                cmd=(/usr/bin/python3 "$RUNNER" --patchcore-src "$PATCHCORE_SRC" --onnx "$MODEL" --data "$ds"
                     --variant RAW --pct 0.1 --threads "$THREADS" --faiss-num-workers "$THREADS" --out "$dir"
                     --tag result)
                [ -n "$count" ] && cmd+=(--train-list "$OUT/$tag.train.txt") ;;
            default) cmd=("${ours[@]}") ;;
            crop) cmd=("${ours[@]}" --mode=crop) ;;
            bf16) cmd=("${ours[@]}" --engine=onednn-bf16) ;;
            frame) cmd=("${ours[@]}" --mode=frame) ;;
            *) echo "unknown run '$run' in RUNS" >&2; exit 2 ;;
        esac
        /usr/bin/time -f "%M" -o "$dir/peak_kb.tmp" "${cmd[@]}" > "$dir/log.txt" 2>&1
        mv "$dir/peak_kb.tmp" "$dir/peak_kb" # only a finished run counts, so an interrupted one is redone
    done
done

/usr/bin/python3 - "$OUT" "${sets[@]}" <<'PY'
import json, os, sys
out, sets = sys.argv[1], sys.argv[2:]
names = {"ref": "authors' code (crop, 10 %)", "default": "ours, default", "crop": "ours, --mode=crop",
         "bf16": "ours, default + bf16 backbone", "frame": "ours, --mode=frame"}
print("| set | run | mode | bank | train s | predict s/img | peak RSS GB | image AUROC / pixel AUROC / PRO "
      "| train / ref | predict / ref | RSS / ref |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for spec in sets:
    tag = spec.replace(":", "_")
    rows = {}
    for run in ("ref", "default", "crop", "bf16", "frame"):
        d = os.path.join(out, tag, run)
        if not os.path.isfile(os.path.join(d, "peak_kb")):
            continue
        peak = int(open(os.path.join(d, "peak_kb")).read().split()[-1]) / 1048576
        if run == "ref":
            r = json.load(open(os.path.join(d, "result.json")))
            m, t = r["metrics"], r["timing"]
            rows[run] = ("crop 224", r["bank"]["after"][0], t["fit_total_s"], t["infer_per_image_s"], peak,
                         m["image_auroc"], m["pixel_auroc"], m["pro_0.3"], r["n_train"])
        else:
            r = json.load(open(os.path.join(d, "results.json")))["runs"][0]
            rows[run] = (r["mode"], r["bank"], r["train_s"], r.get("predict_call_s_per_image", r["predict_s_per_image"]),
                         peak, r["image_auroc"], r["pixel_auroc"], r["pro"], r["train_images"])
    ref = rows.get("ref")
    for run, (mode, bank, train, pred, peak, ia, pa, pro, n) in rows.items():
        ratio = lambda a, b: "%.2f" % (a / b) if ref else "-"
        print("| %s (%d train) | %s | %s | %d | %.1f | %.3f | %.2f | %.3f / %.3f / %.3f | %s | %s | %s |" % (
            spec, n, names[run], mode, bank, train, pred, peak, ia, pa, pro,
            ratio(train, ref[2]) if ref else "-", ratio(pred, ref[3]) if ref else "-", ratio(peak, ref[4]) if ref else "-"))
PY
