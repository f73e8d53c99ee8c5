#!/usr/bin/python3
"""Uses cv::patchcore through the cv2 module that OpenCV's in-tree build generated: parameters, training, prediction,
calibrated decisions, saving and loading, metrics and an ensemble. Each step checks its result."""
import os
import sys
import tempfile

import cv2 as cv
import numpy as np

model = sys.argv[1]
pc = cv.patchcore
print("cv2", cv.__version__, "from", cv.__file__)


def image(rng, defect=False):
    img = np.full((64, 64, 3), 128, np.uint8)
    img += rng.integers(0, 8, img.shape, dtype=np.uint8)
    if defect:
        img[20:34, 24:38] = (255, 0, 0)
    return img


params = pc.Params()
params.modelPath = model
params.layers = ["tap_a", "tap_b"]
params.resizeSize = 64
params.cropSize = 64
params.pretrainEmbedDim = 32
params.targetEmbedDim = 32
params.coresetRatio = 0.5
assert list(params.layers) == ["tap_a", "tap_b"], params.layers

rng = np.random.default_rng(0)
good = [image(rng) for _ in range(8)]
detector = pc.Detector_create(params)
assert detector.empty()
detector.train(good)
assert not detector.empty() and detector.getMemoryBankSize() > 0

score_good, amap = detector.predict(image(rng))
score_bad, amap_bad = detector.predict(image(rng, defect=True))
assert amap.shape == (64, 64) and amap.dtype == np.float32, (amap.shape, amap.dtype)
assert score_bad > score_good, (score_bad, score_good)
peak = np.unravel_index(np.argmax(amap_bad), amap_bad.shape)
assert 14 <= peak[0] <= 40 and 18 <= peak[1] <= 44, peak

detector.calibrate([image(rng) for _ in range(4)], 0.01, 0.01)
found, score, mask = detector.detect(image(rng, defect=True))
assert found and mask.shape == (64, 64) and mask.max() > 0, (found, score)

with tempfile.TemporaryDirectory() as tmp:
    for name in ("d.pcb", "d.yml"):
        path = os.path.join(tmp, name)
        detector.save(path)
        loaded = pc.Detector_load(path)
        s, _ = loaded.predict(image(np.random.default_rng(1), defect=True))
        s0, _ = detector.predict(image(np.random.default_rng(1), defect=True))
        assert abs(s - s0) <= 1e-6 * max(1.0, abs(s0)), (name, s, s0)
    # trainFiles(): the same images from PNG files (lossless) give the same memory bank.
    files = []
    for i, img in enumerate(good):
        files.append(os.path.join(tmp, "good_%d.png" % i))
        assert cv.imwrite(files[-1], img)
    from_files = pc.Detector_create(params)
    from_files.trainFiles(files)
    assert np.array_equal(from_files.getMemoryBank(), detector.getMemoryBank())

auroc = pc.imageAUROC([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
assert abs(auroc - 0.75) < 1e-12, auroc

second = pc.Params()
for name in ("modelPath", "resizeSize", "cropSize", "pretrainEmbedDim", "targetEmbedDim", "coresetRatio"):
    setattr(second, name, getattr(params, name))
second.layers = ["tap_b"]
ensemble = pc.Ensemble_create(0.25)
ensemble.addMember(params)
ensemble.addMember(second)
ensemble.train(good)
assert ensemble.getMemberCount() == 2
e_good, _ = ensemble.predict(image(rng))
e_bad, e_map = ensemble.predict(image(rng, defect=True))
assert e_bad > e_good and e_map.shape == (64, 64), (e_good, e_bad)
print("smoke.py: OK (scores good %.4f, defective %.4f; image AUROC check %.2f)" % (score_good, score_bad, auroc))
