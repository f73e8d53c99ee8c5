#!/usr/bin/python3
"""False alarms and misses on an MVTec-layout category with and without a care mask that excludes a border.

Usage: PYTHONPATH=build/python /usr/bin/python3 scripts/care_border.py [category] [border_fraction]
(data root from PATCHCORE_DATA_ROOT, default ../shared). Thresholds come from 10 % of the training images held out
(Params.calibration_fraction); decisions are detect_regions()'s, by the image score alone and, second, also by any
region of at least 20 pixels (DecisionRule.regions_decide). Prints one line per setting.
"""
import glob
import os
import sys
import time

import cv2
import numpy as np
import patchcore

root = os.environ.get("PATCHCORE_DATA_ROOT", os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
category = sys.argv[1] if len(sys.argv) > 1 else "magnetic_tile"
border = float(sys.argv[2]) if len(sys.argv) > 2 else 0.10
base = os.path.join(root, "datasets", category)
model = os.path.join(root, "models", "resnet50v2_to_layer3.onnx")
if not os.path.isdir(base) or not os.path.isfile(model):
    print(f"care_border: skipped, {base} or {model} is absent")
    sys.exit(0)

train = sorted(glob.glob(os.path.join(base, "train", "good", "*")))
tests = []
for folder in sorted(glob.glob(os.path.join(base, "test", "*"))):
    for f in sorted(glob.glob(os.path.join(folder, "*"))):
        tests.append((f, os.path.basename(folder) != "good"))

# Relative to the frame: a mask of 1000 x 1000 scaled to every image (the category's sizes differ).
mask = np.zeros((1000, 1000), np.uint8)
b = int(round(border * 1000))
mask[b:1000 - b, b:1000 - b] = 255
images = [cv2.imread(f, cv2.IMREAD_UNCHANGED) for f, _ in tests]

for name, care in (("no mask", None), (f"{border:.0%} border excluded", mask)):
    p = patchcore.Params(model_path=model, calibration_fraction=0.1)
    det = patchcore.Detector.create(p)
    if care is not None:
        det.set_care_mask(care, scale_to_image=True)
    t0 = time.time()
    det.train_files(train)
    trained = time.time() - t0
    for decide in (False, True):
        det.set_decision_rule(patchcore.DecisionRule(min_region_area=20, regions_decide=decide))
        fa = miss = 0
        scores, labels = [], []
        for img, (_, bad) in zip(images, tests):
            reject, score, regions, _ = det.detect_regions(img)
            scores.append(score)
            labels.append(int(bad))
            fa += (not bad) and reject
            miss += bad and not reject
        goods = labels.count(0)
        print(f"{category} {name:24s} rule={'score or region>=20px' if decide else 'score':22s} "
              f"false alarms {fa}/{goods}  misses {miss}/{len(labels) - goods}  "
              f"image AUROC {patchcore.image_auroc(scores, labels):.3f}  bank {det.memory_bank_size}  "
              f"train {trained:.0f} s", flush=True)
