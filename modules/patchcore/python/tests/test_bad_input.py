"""Wrong inputs raise the exception a Python user expects, with a message that says what to change."""
import cv2
import numpy as np
import pytest

import patchcore
from conftest import squeezenet_params

IMG = np.zeros((64, 64, 3), np.uint8)

# (what is passed to predict, exception type, fragment of its message)
BAD_IMAGES = [
    ("float64", IMG.astype(np.float64), TypeError, "astype(numpy.float32)"),
    ("int32", IMG.astype(np.int32), TypeError, "uint8, uint16 or float32"),
    ("int16", IMG.astype(np.int16), TypeError, "dtype int16"),
    ("bool", IMG.astype(bool), TypeError, "astype(numpy.uint8) * 255"),
    ("big-endian uint16", IMG.astype(">u2"), TypeError, "uint8, uint16 or float32"),
    ("1-d", np.zeros(64, np.uint8), ValueError, "H x W or H x W x C"),
    ("4-d stack", np.zeros((2, 64, 64, 3), np.uint8), ValueError, "pass a list of arrays"),
    ("2 channels", np.zeros((64, 64, 2), np.uint8), ValueError, "2 channels"),
    ("5 channels", np.zeros((64, 64, 5), np.uint8), ValueError, "1 (gray), 3 (BGR) or 4 (BGRA)"),
    ("empty", np.zeros((0, 64, 3), np.uint8), ValueError, "empty"),
    ("0-d", np.array(3, np.uint8), ValueError, "has shape ()"),
    ("None (failed imread)", None, TypeError, "cv2.imread returns None"),
    ("nested list", IMG.tolist(), TypeError, "numpy.asarray"),
    ("str", "part.png", TypeError, "must be a numpy array"),
]


@pytest.mark.parametrize("name,value,error,fragment", BAD_IMAGES, ids=[b[0] for b in BAD_IMAGES])
def test_bad_image(trained, name, value, error, fragment):
    with pytest.raises(error, match=fragment_pattern(fragment)) as info:
        trained.predict(value)
    assert "image" in str(info.value)


def fragment_pattern(fragment):
    import re
    return re.escape(fragment)


BAD_IMAGE_LISTS = [
    ("one array instead of a list", IMG, TypeError, "for one image pass [image]"),
    ("a bad item", [IMG, IMG.astype(np.float64)], TypeError, "images[1] has dtype float64"),
    ("not a sequence", 42, TypeError, "must be a list of images"),
]


@pytest.mark.parametrize("name,value,error,fragment", BAD_IMAGE_LISTS, ids=[b[0] for b in BAD_IMAGE_LISTS])
def test_bad_image_list(trained, name, value, error, fragment):
    with pytest.raises(error, match=fragment_pattern(fragment)):
        trained.predict_batch(value)


# (field, value, exception type, fragment): assignment checks types, validate() checks values in C++.
BAD_PARAMS = [
    ("k", 2.5, TypeError, "Params.k takes an int, got float"),
    ("k", True, TypeError, "Params.k takes an int, got bool"),
    ("reweight", 1, TypeError, "takes True or False"),
    ("coreset_ratio", "0.1", TypeError, "takes a number, got str"),
    ("layers", "layer2", TypeError, 'write ["name"] for one'),
    ("layers", ["layer2", 3], TypeError, "list of str"),
    ("mean", (0.5, 0.5), ValueError, "three numbers (R, G, B)"),
    ("model_path", 3, TypeError, "str or os.PathLike"),
    ("coreset_ration", 0.1, TypeError, "Params has no field 'coreset_ration'"),
]


@pytest.mark.parametrize("field,value,error,fragment", BAD_PARAMS, ids=[f"{b[0]}={b[1]!r}" for b in BAD_PARAMS])
def test_bad_params_types(field, value, error, fragment):
    with pytest.raises(error, match=fragment_pattern(fragment)):
        patchcore.Params(**{field: value})
    p = patchcore.Params()
    if field in patchcore.Params.fields():
        with pytest.raises(error, match=fragment_pattern(fragment)):
            setattr(p, field, value)


BAD_VALUES = [
    ("coreset_ratio", 0.0, "coresetRatio must be in (0, 1]", "Params.coreset_ratio"),
    ("crop_size", 0, "cropSize must be in [1, 8192]", "Params.crop_size"),
    ("resize_size", 100, "resizeSize must be >= cropSize", "Params.resize_size"),
    ("patch_size", 4, "patchSize must be odd", "Params.patch_size"),
    ("layers", [], "layers is empty", "Params.layers"),
    ("input_mode", 9, "inputMode must be a cv::patchcore::InputMode", "Params.input_mode"),
    ("stdev", (0.2, 0.0, 0.2), "stdev must be positive", "Params.stdev"),
]


@pytest.mark.parametrize("field,value,message,python_name", BAD_VALUES, ids=[b[0] for b in BAD_VALUES])
def test_bad_params_values(field, value, message, python_name):
    p = squeezenet_params(**{field: value})
    for call in (p.validate, lambda: patchcore.Detector.create(p)):
        with pytest.raises(ValueError, match=fragment_pattern(message)) as info:
            call()
        assert isinstance(info.value, patchcore.BadArgument) and isinstance(info.value, patchcore.Error)
        assert python_name in str(info.value)
        assert info.value.code == -5  # cv::Error::StsBadArg


def test_library_errors_keep_their_message_and_code(tmp_path, trained):
    with pytest.raises(patchcore.Error, match="does not exist") as info:
        patchcore.Detector.load(tmp_path / "missing.pcb")
    assert str(tmp_path / "missing.pcb") in str(info.value)
    assert info.value.code == -204 and info.value.func and info.value.line > 0  # cv::Error::StsObjectNotFound
    (tmp_path / "garbage.pcb").write_bytes(b"not a detector")
    with pytest.raises(patchcore.Error, match="garbage.pcb"):
        patchcore.Detector.load(tmp_path / "garbage.pcb")
    with pytest.raises(patchcore.Error, match="missing.png"):
        patchcore.Detector.create(squeezenet_params()).train_files([str(tmp_path / "missing.png")])
    with pytest.raises(TypeError, match="for one file pass"):
        trained.train_files("one.png")
    with pytest.raises(patchcore.Error, match="none.onnx"):
        patchcore.Detector.create(patchcore.Params(model_path=str(tmp_path / "none.onnx")))
    with pytest.raises(patchcore.Error, match="calibrate"):
        trained.detect(IMG)  # no thresholds yet


def test_untrained_detector_says_what_to_do():
    det = patchcore.Detector.create(squeezenet_params())
    with pytest.raises(patchcore.Error, match=r"train\(\) or train_files\(\) first"):
        det.predict(IMG)


def test_bad_metric_inputs():
    with pytest.raises(ValueError, match="at least one of each class"):
        patchcore.image_auroc([0.1, 0.2], [0, 0])
    with pytest.raises(ValueError, match="labels must be 0"):
        patchcore.image_auroc([0.1, 0.2], [0, 0.5])
    with pytest.raises(TypeError, match="anomaly_maps has dtype float64"):
        patchcore.pixel_auroc(np.zeros((4, 4)), np.zeros((4, 4), np.uint8))
    with pytest.raises(TypeError, match="masks"):
        patchcore.pro(np.zeros((4, 4), np.float32), "mask.png")
