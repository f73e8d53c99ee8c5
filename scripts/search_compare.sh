#!/usr/bin/env bash
# The default search (SEARCH_AUTO: the inverted file on banks of 8,192+ rows outside the centre crop) against the
# exact search, on every shared set in the default mode (issue 14 item 2, doc/PERFORMANCE.md "Inverted-file index"):
# the same detector trained twice (training does not depend on the search), its test split scored by each. Prints a
# Markdown table: bank, predict time per image of both and their ratio, the largest image-score difference, and
# image AUROC / pixel AUROC / PRO of both with their differences.
#   scripts/search_compare.sh [sets...]      (default: hazelnut_toy mvtec_grid magnetic_tile deeppcb)
# Environment: PATCHCORE_BIN (build/bin/patchcore), PATCHCORE_DATA_ROOT (../shared), OUT (out/search_compare).
set -euo pipefail
source "$(dirname "$0")/eval_env.sh"
OUT=${OUT:-out/search_compare}
sets=("$@")
[ ${#sets[@]} -eq 0 ] && sets=(hazelnut_toy mvtec_grid magnetic_tile deeppcb)
mkdir -p "$OUT"
ran=()
for s in "${sets[@]}"; do
    if [ ! -d "$DATA/datasets/$s" ]; then
        echo "SKIPPED: $s (no $DATA/datasets/$s; set PATCHCORE_DATA_ROOT)" >&2
        continue
    fi
    ran+=("$s")
    for search in exact auto; do
        id=${s}_$search
        [ -f "$OUT/$id/results.json" ] && continue
        echo "== $id" >&2
        mkdir -p "$OUT/$id"
        /usr/bin/time -f "%M" -o "$OUT/$id/peak_kb" "$BIN" eval "$DATA/datasets/$s" --search=$search \
            --out="$OUT/$id" --overlays=0 >&2
    done
done
[ ${#ran[@]} -eq 0 ] && exit 0

/usr/bin/python3 - "$OUT" "${ran[@]}" <<'PY'
import csv, json, os, sys
out, sets = sys.argv[1], sys.argv[2:]
def load(s, search):
    folder = os.path.join(out, "%s_%s" % (s, search))
    run = json.load(open(os.path.join(folder, "results.json")))["runs"][0]
    with open(os.path.join(folder, run["id"], "images.csv")) as f:
        scores = {row["image"]: float(row["score"]) for row in csv.DictReader(f)}
    peak = int(open(os.path.join(folder, "peak_kb")).read().strip()) / 1048576
    return run, scores, peak
print("| set | mode | bank | exact ms/img | auto ms/img | speedup | max image-score diff | exact: image AUROC / pixel AUROC / PRO | auto: same | differences | peak RSS GB exact / auto |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for s in sets:
    (e, es, ep), (a, as_, ap) = load(s, "exact"), load(s, "auto")
    assert e["bank"] == a["bank"], "the two detectors should have the same bank"
    diff = max(abs(as_[k] - es[k]) / max(abs(es[k]), 1e-30) for k in es)
    m = lambda r: "%.4f / %.4f / %.4f" % (r["image_auroc"], r["pixel_auroc"], r["pro"])
    d = "%+.4f / %+.4f / %+.4f" % tuple(a[k] - e[k] for k in ("image_auroc", "pixel_auroc", "pro"))
    print("| %s | %s | %d | %.0f | %.0f | %.2fx | %.1e | %s | %s | %s | %.2f / %.2f |" % (
        s, e["mode"], e["bank"], 1e3 * e["predict_s_per_image"], 1e3 * a["predict_s_per_image"],
        e["predict_s_per_image"] / a["predict_s_per_image"], diff, m(e), m(a), d, ep, ap))
PY
