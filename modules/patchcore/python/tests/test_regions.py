"""Care masks, defect regions and decision rules (opencv2/patchcore/regions.hpp) from Python, on a small synthetic
detector (the repository's tiny backbone: no ../shared data), and the `patchcore` program's regions files."""
import csv
import json
import os
import pickle
import re
import subprocess

import cv2
import numpy as np
import pytest

import patchcore
from conftest import tiny_params

DONT_CARE_COLUMNS = 24  # label_mask() leaves x < 24 out (of 64)
CARE_DEFECT = (30, 20, 16, 16)  # x, y, w, h: in the care area (labels 1 and 2)
DONT_CARE_DEFECT = (2, 20, 14, 16)  # in the don't-care area


def part(seed, defect=None, size=(64, 64)):
    """A grey BGR texture (the C++ CLI tests' one), with a saturated magenta square at `defect` (x, y, w, h)."""
    y, x = np.mgrid[0:size[0], 0:size[1]]
    grey = (90 + (x * 7 + y * 13 + seed * 5) % 29 + ((x // 8 + y // 8) % 2) * 40).astype(np.uint8)
    img = np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
    if defect:
        dx, dy, dw, dh = defect
        img[dy:dy + dh, dx:dx + dw] = (250, 30, 250)
    return img


def label_mask():
    """0 (don't care) for x < 24, label 1 for 24 <= x < 44, label 2 beyond."""
    mask = np.full((64, 64), 2, np.uint8)
    mask[:, :DONT_CARE_COLUMNS] = 0
    mask[:, DONT_CARE_COLUMNS:44] = 1
    return mask


@pytest.fixture(scope="module")
def masked():
    """A detector with label_mask() as its care mask, calibrated on held-out good images; tests must not modify it
    (copy() gives one to modify)."""
    det = patchcore.Detector.create(tiny_params(calibration_fraction=0.25))
    det.set_care_mask(label_mask())
    det.set_label_false_alarm_rate(2, 1e-4)
    det.train([part(i) for i in range(8)])
    return det


def copy(det, tmp_path, name="copy.pcb"):
    det.save(tmp_path / name)
    return patchcore.Detector.load(tmp_path / name)


def expected_regions(det, amap, care):
    """The regions by hand: cv2's 8-connected components of the map pixels above their label's threshold."""
    threshold = np.full(care.shape, np.inf, np.float32)
    for label in np.unique(care[care > 0]):
        threshold[care == label] = det.get_label_threshold(int(label))
    n, components, stats, centroids = cv2.connectedComponentsWithStats((amap > threshold).astype(np.uint8),
                                                                       connectivity=8)
    out = {}
    for i in range(1, n):
        pixels = components == i
        peak_at = np.unravel_index(np.argmax(np.where(pixels, amap, -np.inf)), amap.shape)
        out[tuple(int(v) for v in stats[i, :4])] = dict(
            area=int(stats[i, cv2.CC_STAT_AREA]), centroid=tuple(centroids[i]), peak=float(amap[pixels].max()),
            mean=float(amap[pixels].astype(np.float64).mean()), label=int(care[peak_at]))
    return out


def test_decision_rule_fields_checks_and_copies():
    rule = patchcore.DecisionRule()
    assert (rule.min_region_area, rule.max_regions, rule.regions_decide) == (1, 0, False)
    rule = patchcore.DecisionRule(min_region_area=20, max_regions=3, regions_decide=True)
    assert rule == pickle.loads(pickle.dumps(rule)) and rule != patchcore.DecisionRule()
    assert repr(rule) == "patchcore.DecisionRule(min_region_area=20, max_regions=3, regions_decide=True)"
    with pytest.raises(TypeError, match="DecisionRule.min_region_area takes an int, got float"):
        rule.min_region_area = 2.5
    with pytest.raises(TypeError, match="DecisionRule.regions_decide takes True or False"):
        patchcore.DecisionRule(regions_decide=1)
    with pytest.raises(patchcore.BadArgument, match="minRegionArea must be at least 1"):
        patchcore.DecisionRule(min_region_area=0).validate()
    with pytest.raises(patchcore.BadArgument, match="maxRegions"):
        patchcore.Detector.create(tiny_params()).set_decision_rule(patchcore.DecisionRule(max_regions=-1))


def test_region_fields():
    r = patchcore.Region()
    assert (r.label, r.area, r.box, r.centroid, r.peak_score, r.mean_score) == (0, 0, (0, 0, 0, 0), (0.0, 0.0), 0, 0)
    r.box, r.centroid, r.label = (1, 2, 3, 4), (2.5, 3.5), 7
    assert r.box == (1, 2, 3, 4) and r.centroid == (2.5, 3.5) and "label=7" in repr(r)
    with pytest.raises(TypeError, match=r"Region.box takes \(x, y, width, height\)"):
        r.box = (1, 2)


def test_care_mask_is_kept_as_a_copy(masked):
    mask = masked.get_care_mask()
    np.testing.assert_array_equal(mask, label_mask())
    assert mask.dtype == np.uint8 and masked.care_mask_scales is False
    mask[:] = 0  # the detector's own mask is not this array
    np.testing.assert_array_equal(masked.get_care_mask(), label_mask())
    assert patchcore.Detector.create(tiny_params()).get_care_mask() is None
    # Every label got its own calibrated threshold; label 2's lower false-alarm target gives a higher one.
    assert masked.get_label_threshold(2) > masked.get_label_threshold(1) > 0


def test_detect_regions_matches_the_hand_computed_components(masked):
    image = part(21, CARE_DEFECT)
    decision, score, regions, amap = masked.detect_regions(image)
    assert decision is True and regions, "the defect in the care area was not found"
    assert amap.dtype == np.float32 and amap.shape == (64, 64)
    s, m = masked.predict(image)
    assert score == s
    np.testing.assert_array_equal(amap, m)
    assert not amap[:, :DONT_CARE_COLUMNS].any(), "the map is 0 in the don't-care area"
    expected = expected_regions(masked, amap, label_mask())
    assert sorted(r.box for r in regions) == sorted(expected)
    for r in regions:
        e = expected[r.box]
        assert r.area == e["area"] and r.label == e["label"] and r.label in (1, 2)
        assert r.centroid == pytest.approx(e["centroid"], abs=1e-9)
        assert r.peak_score == pytest.approx(e["peak"], rel=1e-6)
        assert r.mean_score == pytest.approx(e["mean"], rel=1e-5)
        assert r.box[0] >= DONT_CARE_COLUMNS
    peaks = [r.peak_score for r in regions]
    assert peaks == sorted(peaks, reverse=True), "highest peak first"
    # detect() gives the same decision, and its mask the same pixels.
    d, s2, defect = masked.detect(image)
    assert (d, s2) == (decision, score)
    assert int(np.count_nonzero(defect)) == sum(r.area for r in regions)


def test_defect_in_the_dont_care_area_is_ignored(masked):
    inside = masked.detect_regions(part(21, CARE_DEFECT))
    outside = masked.detect_regions(part(21, DONT_CARE_DEFECT))
    assert all(r.box[0] >= DONT_CARE_COLUMNS for r in outside[2])
    assert outside[1] < inside[1]


def test_decision_rule_is_applied_and_saved(masked, tmp_path):
    det = copy(masked, tmp_path)
    image = part(21, CARE_DEFECT)
    all_regions = det.detect_regions(image)[2]
    det.set_decision_rule(patchcore.DecisionRule(min_region_area=10 ** 6))
    assert det.detect_regions(image)[2] == []
    det.set_decision_rule(patchcore.DecisionRule(max_regions=1, regions_decide=True))
    decision, _, regions, _ = det.detect_regions(image)
    assert regions == all_regions[:1] and decision is True
    # Regions decide: one above the pixel threshold rejects even an image whose score is below the image threshold.
    det.set_thresholds(1e30, masked.pixel_threshold)
    det.set_label_threshold(1, masked.get_label_threshold(1))
    det.set_label_threshold(2, masked.get_label_threshold(2))
    assert det.detect_regions(image)[0] is True
    det.set_decision_rule(patchcore.DecisionRule())
    assert det.detect_regions(image)[0] is False
    det.set_decision_rule(patchcore.DecisionRule(min_region_area=5, max_regions=2, regions_decide=True))
    for name in ("rule.pcb", "rule.yml.gz"):
        again = copy(det, tmp_path, name)
        assert again.decision_rule == det.decision_rule
        np.testing.assert_array_equal(again.get_care_mask(), label_mask())
        assert [again.get_label_threshold(label) for label in (1, 2, 3)] == \
            [det.get_label_threshold(label) for label in (1, 2, 3)]
        assert again.detect_regions(image)[:3] == det.detect_regions(image)[:3]


def test_label_thresholds_by_hand(masked, tmp_path):
    det = copy(masked, tmp_path)
    det.set_label_threshold(1, 123.0)
    assert det.get_label_threshold(1) == 123.0
    assert det.get_label_threshold(3) == det.pixel_threshold  # a label without its own threshold
    det.set_thresholds(det.image_threshold, det.pixel_threshold)  # clears the per-label thresholds
    assert det.get_label_threshold(1) == det.pixel_threshold
    with pytest.raises(patchcore.BadArgument, match="1..255"):
        det.get_label_threshold(0)
    with pytest.raises(patchcore.BadArgument):
        det.set_label_false_alarm_rate(1, 1.5)
    det.clear_care_mask()
    assert det.get_care_mask() is None
    assert det.detect_regions(part(21, CARE_DEFECT))[2][0].label == 255  # no care mask: every region is label 255


def test_predict_masked_and_per_frame_care_masks(masked):
    image = part(21, CARE_DEFECT)
    everywhere = np.full((64, 64), 255, np.uint8)
    assert masked.predict_masked(image, everywhere, return_map=False) == masked.predict(image, return_map=False)
    frame = everywhere.copy()
    frame[:, 40:] = 0  # this frame's own don't-care area
    score, amap = masked.predict_masked(image, frame)
    assert amap.shape == (64, 64) and not amap[:, 40:].any() and not amap[:, :DONT_CARE_COLUMNS].any()
    decision, score2, regions, amap2 = masked.detect_regions(image, care_mask=frame)
    assert score2 == score
    np.testing.assert_array_equal(amap2, amap)
    assert all(DONT_CARE_COLUMNS <= r.box[0] and r.box[0] + r.box[2] <= 40 for r in regions)


BAD_MASKS = [
    ("float32", np.ones((64, 64), np.float32), TypeError, "dtype float32"),
    ("bool", np.ones((64, 64), bool), TypeError, ".astype(numpy.uint8) * 255"),
    ("BGR", np.ones((64, 64, 3), np.uint8), ValueError, "one channel"),
    ("empty", np.ones((0, 64), np.uint8), ValueError, "empty"),
    ("None", None, TypeError, "mask is None"),
    ("list", [[1, 1], [1, 1]], TypeError, "must be a numpy array"),
    ("all zero", np.zeros((64, 64), np.uint8), patchcore.BadArgument, "nothing"),
]


@pytest.mark.parametrize("name,mask,error,fragment", BAD_MASKS, ids=[b[0] for b in BAD_MASKS])
def test_bad_care_masks(name, mask, error, fragment):
    det = patchcore.Detector.create(tiny_params())
    with pytest.raises(error, match=re.escape(fragment)):
        det.set_care_mask(mask)
    assert det.get_care_mask() is None


def test_bad_calls_say_what_to_change(masked, tmp_path):
    plain = patchcore.Detector.create(tiny_params())
    plain.train([part(i) for i in range(3)])
    with pytest.raises(patchcore.Error, match="thresholds"):
        plain.detect_regions(part(0))
    with pytest.raises(patchcore.Error, match="32x32"):
        det = copy(masked, tmp_path)
        det.set_care_mask(np.full((32, 32), 255, np.uint8))  # 64 x 64 images, not scaled
        det.predict(part(0))
    with pytest.raises(patchcore.Error, match="care mask"):
        masked.predict_masked(part(0), np.full((32, 32), 255, np.uint8))
    with pytest.raises(TypeError, match="care_mask has dtype float32"):
        masked.detect_regions(part(0), care_mask=np.ones((64, 64), np.float32))


def test_scaled_care_mask(tmp_path):
    small = np.full((16, 16), 255, np.uint8)
    small[:, :6] = 0  # 24 of 64 px, 36 of 96
    det = patchcore.Detector.create(tiny_params(calibration_fraction=0.25))
    det.set_care_mask(small, scale_to_image=True)
    det.train([part(i) for i in range(8)])
    assert det.care_mask_scales is True
    _, _, regions, amap = det.detect_regions(part(23, (50, 30, 24, 24), size=(96, 96)))
    assert amap.shape == (96, 96) and not amap[:, :36].any()
    assert all(r.box[0] >= 36 and r.label == 255 for r in regions)
    assert copy(det, tmp_path).care_mask_scales is True


def cli():
    path = os.environ.get("PATCHCORE_CLI")
    if not path or not os.access(path, os.X_OK):
        pytest.skip("SKIPPED: needs the patchcore program (set PATCHCORE_CLI; ctest does)")
    return path


REGION_COLUMNS = ["image", "region", "label", "area", "x", "y", "width", "height", "centroid_x", "centroid_y",
                  "peak_score", "mean_score", "decision"]


def test_cli_regions_files_equal_detect_regions(masked, tmp_path):
    masked.save(tmp_path / "det.pcb")
    images = tmp_path / "images"
    images.mkdir()
    for name, img in (("good", part(20)), ("care_defect", part(21, CARE_DEFECT)),
                      ("dontcare_defect", part(22, DONT_CARE_DEFECT))):
        cv2.imwrite(str(images / f"{name}.png"), img)
    out = tmp_path / "out"
    done = subprocess.run([cli(), "predict", str(tmp_path / "det.pcb"), str(images), f"--out={out}"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    with open(out / "regions.json") as f:
        listed = json.load(f)
    with open(out / "regions.csv", newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == REGION_COLUMNS
        rows = list(reader)
    with open(out / "scores.csv", newline="") as f:
        defect = {row["image"]: row["defect"] for row in csv.DictReader(f)}
    assert sorted(os.path.basename(entry["name"]) for entry in listed) == \
        ["care_defect.png", "dontcare_defect.png", "good.png"]
    assert len(rows) == sum(len(entry["regions"]) for entry in listed)
    for entry in listed:
        decision, score, regions, _ = masked.detect_regions(cv2.imread(entry["name"], cv2.IMREAD_UNCHANGED))
        assert entry["decision"] == int(decision) and defect[entry["name"]] == str(int(decision))
        assert entry["score"] == pytest.approx(score, rel=1e-8)
        assert len(entry["regions"]) == len(regions)
        mine = [row for row in rows if row["image"] == entry["name"]]
        for i, (listed_region, row, r) in enumerate(zip(entry["regions"], mine, regions)):
            assert listed_region["region"] == int(row["region"]) == i + 1
            assert listed_region["label"] == int(row["label"]) == r.label
            assert listed_region["area"] == int(row["area"]) == r.area
            assert tuple(listed_region["box"]) == tuple(int(row[k]) for k in ("x", "y", "width", "height")) == r.box
            assert tuple(listed_region["centroid"]) == pytest.approx(r.centroid, rel=1e-8)
            assert listed_region["peak_score"] == pytest.approx(r.peak_score, rel=1e-8)
            assert float(row["mean_score"]) == pytest.approx(r.mean_score, rel=1e-8)
            assert row["decision"] == str(int(decision))
