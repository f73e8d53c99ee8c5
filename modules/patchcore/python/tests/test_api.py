"""The API beyond train/predict: image formats, maps, thresholds, update, the ensemble, the metrics, Params."""
import itertools
import math

import cv2
import numpy as np
import pytest

import patchcore
from conftest import squeezenet_params


def test_params_defaults_are_the_cpp_ones():
    p = patchcore.Params()
    # A few that the C++ header documents; the rest must at least round-trip through the C++ struct.
    assert (p.resize_size, p.crop_size, p.coreset_ratio, p.k, p.layers) == (256, 224, 0.1, 1, ["layer2", "layer3"])
    assert p.input_mode == patchcore.INPUT_AUTO and p.search_method == patchcore.SEARCH_AUTO
    assert patchcore.Params(**p.to_dict()) == p
    assert len(patchcore.Params.fields()) == len(p.to_dict()) == 41


def test_every_field_is_written_to_the_cpp_struct(tmp_path, trained):
    # A saved detector holds the C++ Params: what comes back from it must be what Python set.
    p = trained.params
    assert p == squeezenet_params(input_mode=p.input_mode)  # train() resolves INPUT_AUTO
    changed = squeezenet_params(coreset_ratio=0.25, sigma=2.5, seed=7, reweight=True, mean=(0.5, 0.5, 0.5))
    det = patchcore.Detector.create(changed)
    assert (det.params.coreset_ratio, det.params.sigma, det.params.seed, det.params.reweight,
            det.params.mean) == (0.25, 2.5, 7, True, (0.5, 0.5, 0.5))


def test_image_formats_cv2_returns_are_accepted(trained, image):
    score, amap = trained.predict(image)
    assert amap.dtype == np.float32 and amap.shape == image.shape[:2]
    assert math.isfinite(score) and score == pytest.approx(float(amap.max()), rel=0.5)
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    variants = {
        "gray": gray,
        "gray HxWx1": gray[:, :, None],
        "bgra": cv2.cvtColor(image, cv2.COLOR_BGR2BGRA),
        "uint16": image.astype(np.uint16) * 257,
        "float32": image.astype(np.float32) / 255,
    }
    for name, img in variants.items():
        s, m = trained.predict(img)
        assert m.shape == img.shape[:2] and m.dtype == np.float32, name
        assert math.isfinite(s), name
    # 16-bit and float versions of the same pixels are nearly the same image to the detector (8-bit images take
    # PIL's 8-bit fixed-point resize, the others its float one), and the float versions exactly the same.
    s16 = trained.predict(variants["uint16"], return_map=False)
    assert s16 == pytest.approx(score, rel=1e-2)
    assert trained.predict(variants["float32"], return_map=False) == pytest.approx(s16, rel=1e-6)


def test_views_are_scored_like_their_copies(trained, image):
    views = {
        "crop": image[40:400, 30:300],
        "flipped": image[:, ::-1],
        "strided": image[::2, ::2],
        "channel-reversed": image[:, :, ::-1],
        "fortran": np.asfortranarray(image),
    }
    for name, view in views.items():
        s, m = trained.predict(view)
        s_copy, m_copy = trained.predict(np.ascontiguousarray(view))
        assert s == s_copy, name
        np.testing.assert_array_equal(m, m_copy)


def test_working_frame_and_patch_scores(trained, image):
    w, h = trained.feature_grid_size
    patches = trained.compute_patch_scores(image)
    assert patches.shape == (h, w) and patches.dtype == np.float32
    score, working = trained.predict(image, frame=patchcore.FRAME_WORKING)
    # The backbone saw the image shrunk to crop_size on its shorter side.
    assert working.dtype == np.float32 and min(working.shape) == trained.params.crop_size
    assert score == trained.predict(image, return_map=False)
    mask = np.zeros(image.shape[:2], np.uint8)
    mask[100:200, 100:200] = 255
    frame = trained.to_working_frame(mask)
    assert frame.shape == working.shape and frame.dtype == np.float32 and 0 < frame.max() <= 1
    emb = trained.compute_embedding(image)
    assert emb.shape == (w * h, 256)


def test_thresholds_calibrate_and_detect(train_files, test_files):
    det = patchcore.Detector.create(squeezenet_params())
    det.train([cv2.imread(f) for f in train_files[:6]])
    assert math.isnan(det.image_threshold) and math.isnan(det.pixel_threshold)
    det.calibrate([cv2.imread(f) for f in train_files[6:12]])
    assert det.image_threshold > 0 and det.pixel_threshold > 0
    img = cv2.imread(test_files[0])
    defect, score, mask = det.detect(img)
    assert score == det.predict(img, return_map=False)
    assert defect == (score > det.image_threshold)
    assert mask.dtype == np.uint8 and mask.shape == img.shape[:2] and set(np.unique(mask)) <= {0, 255}
    det.set_thresholds(-1.0, 1e30)
    assert det.detect(img, return_mask=False) == (True, score)
    assert not det.detect(img)[2].any()


def test_update_grows_the_bank(train_files):
    det = patchcore.Detector.create(squeezenet_params())
    det.train([cv2.imread(f) for f in train_files[:4]])
    before = det.memory_bank()
    det.update([cv2.imread(f) for f in train_files[4:8]])
    after = det.memory_bank()
    assert after.shape[0] > before.shape[0]
    np.testing.assert_array_equal(after[: before.shape[0]], before)  # nothing already in the bank is removed
    det.clear()
    assert det.empty() and det.memory_bank_size == 0


def test_ensemble_train_predict_save_load(tmp_path, train_files, test_files):
    ens = patchcore.Ensemble.create(holdout_fraction=0.34)
    ens.add_member(squeezenet_params())
    ens.add_member(squeezenet_params(layers=["fire2", "fire8"], seed=3))
    assert len(ens) == ens.member_count == 2 and ens.empty()
    ens.train([cv2.imread(f) for f in train_files[:6]])
    img = cv2.imread(test_files[-1])
    score, amap = ens.predict(img)
    total, members = ens.predict_members(img)
    assert total == pytest.approx(score) and total == pytest.approx(sum(members) / 2)
    assert amap.shape == img.shape[:2]
    for i in range(2):
        mean, stdev = ens.normalization(i)
        raw = ens.member(i).predict(img, return_map=False)
        assert members[i] == pytest.approx((raw - mean) / stdev)
    assert not math.isnan(ens.image_threshold)  # train() calibrates
    defect, s, mask = ens.detect(img)
    assert s == pytest.approx(score) and defect == (s > ens.image_threshold)
    with pytest.raises(IndexError, match="out of range"):
        ens.member(2)
    ens.save(tmp_path / "part.pce")
    again = patchcore.Ensemble.load(tmp_path / "part.pce")
    assert again.predict(img, return_map=False) == score
    # patchcore.load() gives whichever kind a file holds.
    anything = patchcore.load(tmp_path / "part.pce")
    assert isinstance(anything, patchcore.Ensemble) and anything.predict(img, return_map=False) == score
    member = ens.member(0)
    member.save(tmp_path / "member.pcb")
    single = patchcore.load(tmp_path / "member.pcb")
    assert isinstance(single, patchcore.Detector)
    assert single.predict(img, return_map=False) == member.predict(img, return_map=False)


def auroc_by_pairs(scores, labels):
    pos = [s for s, l in zip(scores, labels) if l]
    neg = [s for s, l in zip(scores, labels) if not l]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))


def test_metrics_agree_with_direct_computations():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 40)
    scores = rng.normal(size=40) + labels * 0.8
    scores[:5] = scores[5]  # ties
    assert patchcore.image_auroc(scores, labels) == pytest.approx(auroc_by_pairs(scores, labels), abs=1e-12)
    assert patchcore.image_auroc(list(scores), list(labels)) == patchcore.image_auroc(scores, labels)
    maps = [rng.random((20, 30), dtype=np.float32) for _ in range(2)]
    masks = [np.zeros((20, 30), np.uint8) for _ in range(2)]
    masks[0][5:10, 5:10] = 255
    maps[0][5:10, 5:10] += 0.5
    flat_maps = np.concatenate([m.ravel() for m in maps])
    flat_masks = np.concatenate([m.ravel() > 0 for m in masks])
    assert patchcore.pixel_auroc(maps, masks) == pytest.approx(auroc_by_pairs(flat_maps, flat_masks), abs=1e-9)
    assert patchcore.pixel_auroc(maps, [m > 0 for m in masks]) == patchcore.pixel_auroc(maps, masks)
    perfect = [m.astype(np.float32) for m in masks]
    assert patchcore.pro(perfect, masks) == pytest.approx(1.0)
    assert 0 < patchcore.pro(maps, masks, max_fpr=0.3) <= 1
    best = patchcore.best_f1_threshold(scores, labels)
    assert best.threshold in scores and 0 < best.f1 <= 1
    assert patchcore.best_pixel_f1_threshold(perfect, masks).f1 == pytest.approx(1.0)
    assert patchcore.min_max_normalize([2.0, 4.0, 3.0]) == [0.0, 1.0, 0.5]
