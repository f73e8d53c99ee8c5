"""Train / predict / save / load from Python give the scores of the C++ `patchcore` program on the same data."""
import csv
import os
import pathlib
import subprocess

import cv2
import numpy as np
import pytest

import patchcore
from conftest import require, squeezenet_params

# The program's options that select squeezenet_params(); every other option is left at its default, which is the
# library's default, as in Params().
CLI_OPTIONS = ["--layers=fire4,fire8", "--dims=256"]


def cli():
    path = os.environ.get("PATCHCORE_CLI")
    if not path or not os.access(path, os.X_OK):
        pytest.skip("SKIPPED: needs the patchcore program (set PATCHCORE_CLI; ctest does)")
    return path


def run(*args):
    done = subprocess.run([cli(), *map(str, args)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"patchcore {' '.join(map(str, args))} failed:\n{done.stdout}\n{done.stderr}"


def cli_scores(detector_file, images_dir, out_dir):
    run("predict", detector_file, images_dir, f"--out={out_dir}")
    with open(out_dir / "scores.csv", newline="") as f:
        return {os.path.basename(row["image"]): float(row["score"]) for row in csv.DictReader(f)}


@pytest.fixture(scope="module")
def split(tmp_path_factory, train_files, test_files):
    """Folders of links to the data (never copies): 10 training images, 12 test images of both kinds (named
    <kind>_<file>: every kind numbers its files from 00)."""
    root = tmp_path_factory.mktemp("parity")
    chosen_test = test_files[:6] + test_files[-6:]
    for name, files in (("train", train_files[:10]), ("test", chosen_test)):
        (root / name).mkdir()
        for f in files:
            (root / name / link_name(f)).symlink_to(f)
    return root, train_files[:10], chosen_test


def link_name(f):
    return f"{os.path.basename(os.path.dirname(f))}_{os.path.basename(f)}"


def test_python_scores_equal_the_cli_scores(split):
    root, train, test = split
    model = require("models/squeezenet1.1.onnx")
    run("train", root / "train", f"--out={root / 'cli.pcb'}", f"--model={model}", *CLI_OPTIONS)
    expected = cli_scores(root / "cli.pcb", root / "test", root / "cli_out")
    assert sorted(expected) == sorted(link_name(f) for f in test)

    det = patchcore.Detector.create(squeezenet_params())
    det.train_files(train)  # what the program does
    images = [cv2.imread(f, cv2.IMREAD_UNCHANGED) for f in test]
    scores = [det.predict(img, return_map=False) for img in images]
    # The program writes 6 decimals; the detectors themselves are the same, so nothing else may differ.
    for f, s in zip(test, scores):
        assert abs(s - expected[link_name(f)]) <= 1e-6, f
    # Defective images must stand out, or equal scores would prove little.
    assert len(set(round(s, 3) for s in scores)) > len(scores) // 2

    # The program's detector, loaded in Python, and Python's, scored by the program.
    cli_det = patchcore.Detector.load(root / "cli.pcb")
    assert cli_det.params == det.params
    np.testing.assert_array_equal(cli_det.memory_bank(), det.memory_bank())
    assert [cli_det.predict(img, return_map=False) for img in images] == scores
    det.save(root / "py.pcb")
    again = cli_scores(root / "py.pcb", root / "test", root / "py_out")
    assert again == expected


@pytest.mark.parametrize("suffix", [".pcb", ".yml.gz"])
def test_save_load_round_trip_is_exact(tmp_path, trained, test_files, suffix):
    path = tmp_path / ("det" + suffix)
    trained.save(str(path))
    loaded = patchcore.Detector.load(path)
    assert loaded.params == trained.params
    assert loaded.memory_bank_size == trained.memory_bank_size > 0
    for f in test_files[:3] + test_files[-3:]:
        img = cv2.imread(f)
        s0, m0 = trained.predict(img)
        s1, m1 = loaded.predict(img)
        assert s1 == s0
        np.testing.assert_array_equal(m1, m0)


def test_train_on_arrays_equals_train_files(train_files, trained):
    det = patchcore.Detector.create(squeezenet_params())
    det.train_files(train_files[:8])
    np.testing.assert_array_equal(det.memory_bank(), trained.memory_bank())


def test_predict_batch_equals_predict(trained, test_files):
    images = [cv2.imread(f) for f in test_files[:5]]
    scores, maps = trained.predict_batch(images)
    assert trained.predict_batch(images, return_maps=False) == scores
    for img, s, m in zip(images, scores, maps):
        s1, m1 = trained.predict(img)
        assert s == s1
        np.testing.assert_array_equal(m, m1)
