"""Shared fixtures of the Python module's tests: the data root, a small detector, images.

The data root is found as the C++ tests find it: $PATCHCORE_DATA_ROOT, else the configured default that ctest passes
as $PATCHCORE_DEFAULT_DATA_ROOT, else ../shared beside the repository. Tests whose data is absent are skipped with
"SKIPPED: needs <path>".
"""
import os
import pathlib

import cv2
import pytest

try:
    import patchcore
except ImportError as e:  # run by hand without the build on the path
    raise pytest.UsageError(f"cannot import patchcore ({e}): build it, then run with PYTHONPATH=build/python "
                            "(doc/PYTHON.md)") from e

REPO = pathlib.Path(__file__).resolve().parents[4]


def data_root():
    for var in ("PATCHCORE_DATA_ROOT", "PATCHCORE_DEFAULT_DATA_ROOT"):
        if os.environ.get(var):
            return pathlib.Path(os.environ[var])
    return REPO.parent / "shared"


def require(relative):
    path = data_root() / relative
    if not path.exists():
        pytest.skip(f"SKIPPED: needs {path}")
    return path


def images_in(folder):
    return sorted(str(p) for p in pathlib.Path(folder).iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))


def squeezenet_params(**overrides):
    """The small configuration the C++ tests use too (SqueezeNet taps fire4 + fire8, 256 dimensions): a few ms per
    image, so that the suite stays short."""
    fields = dict(model_path=str(require("models/squeezenet1.1.onnx")), layers=["fire4", "fire8"],
                  pretrain_embed_dim=256, target_embed_dim=256)
    fields.update(overrides)
    return patchcore.Params(**fields)


def tiny_params(**overrides):
    """The repository's own tiny backbone (data/test_models/tiny_backbone.onnx, the C++ tests' tinyModelParams()):
    64 px, 32 dimensions, milliseconds per image, and no ../shared data needed."""
    fields = dict(model_path=str(REPO / "data" / "test_models" / "tiny_backbone.onnx"), layers=["tap_a", "tap_b"],
                  resize_size=64, crop_size=64, pretrain_embed_dim=32, target_embed_dim=32)
    fields.update(overrides)
    return patchcore.Params(**fields)


@pytest.fixture(scope="session")
def train_files():
    return images_in(require("datasets/hazelnut_toy/train/good"))


@pytest.fixture(scope="session")
def test_files():
    root = require("datasets/hazelnut_toy/test")
    return [f for sub in sorted(p for p in root.iterdir() if p.is_dir()) for f in images_in(sub)]


@pytest.fixture(scope="session")
def trained(train_files):
    """A detector trained on the first 8 good images; tests must not modify it."""
    det = patchcore.Detector.create(squeezenet_params())
    det.train([cv2.imread(f) for f in train_files[:8]])
    return det


@pytest.fixture(scope="session")
def image(test_files):
    return cv2.imread(test_files[0])
