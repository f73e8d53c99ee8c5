"""The GIL is released during long calls, concurrent predictions are safe and not serialised, callbacks cancel."""
import concurrent.futures
import sys
import threading
import time

import cv2
import numpy as np
import pytest

import patchcore
from conftest import squeezenet_params


class Counter:
    """Counts in a Python thread, which can only run while no other thread holds the GIL."""

    def __init__(self):
        self.n = 0
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop:
            self.n += 1

    def __enter__(self):
        self._thread.start()
        while self.n == 0:
            time.sleep(0.001)
        return self

    def __exit__(self, *exc):
        self._stop = True
        self._thread.join()


def counted_during(call):
    """How far the counter got while `call` ran in this thread, and how long it ran."""
    with Counter() as c:
        start_n, start_t = c.n, time.perf_counter()
        call()
        return c.n - start_n, time.perf_counter() - start_t


@pytest.mark.parametrize("name", ["train", "predict", "predict_batch", "calibrate", "detect_regions"])
def test_long_calls_release_the_gil(train_files, trained, image, name):
    # Each a single call of 0.1 s or more on an idle machine, so that a GIL-holding call would be unmistakable.
    images = [cv2.imread(f) for f in train_files]
    fresh = patchcore.Detector.create(squeezenet_params(input_mode=patchcore.INPUT_FRAME))
    if name != "train":
        fresh.train(images[:2])
    if name == "detect_regions":
        fresh.set_thresholds(1e30, 1e30)  # no region: the call is the backbone pass and the search
    large = cv2.resize(image, (2048, 2048))  # INPUT_FRAME runs the backbone on all of it
    calls = {
        "train": lambda: fresh.train(images[:12]),
        "predict": lambda: fresh.predict(large),
        "predict_batch": lambda: trained.predict_batch(images),
        "calibrate": lambda: fresh.calibrate(images[4:20]),
        "detect_regions": lambda: fresh.detect_regions(large),
    }
    # Holding the GIL, one C++ call would stop the counter for all of its duration but about one switch interval
    # on either side. Released, the counter runs alongside it, with whatever share of the 2 cores it gets.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.001)
    try:
        counted, seconds = counted_during(calls[name])
        with Counter() as c:
            n0 = c.n
            time.sleep(seconds)
            idle = c.n - n0
    finally:
        sys.setswitchinterval(interval)
    held_bound = 2 * 0.001 / seconds  # the share a GIL-holding call would leave the counter, at most
    assert counted > max(0.02, 5 * held_bound) * idle, \
        f"{name}: {counted} counts in {seconds:.3f} s, {idle} while sleeping as long"


def test_concurrent_predictions_equal_serial_ones(trained, test_files):
    images = [cv2.imread(f) for f in test_files[:8]] * 2
    for img in images[:8]:
        trained.predict(img)  # oneDNN compiles its primitives once per input shape: not part of the timing
    t0 = time.perf_counter()
    serial = [trained.predict(img) for img in images]
    t_serial = time.perf_counter() - t0
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        t0 = time.perf_counter()
        threaded = list(pool.map(trained.predict, images))
        t_threaded = time.perf_counter() - t0
    for (s0, m0), (s1, m1) in zip(serial, threaded):
        assert s0 == s1
        np.testing.assert_array_equal(m0, m1)
    print(f"[ figures ] {len(images)} predictions: serial {t_serial:.3f} s, 4 Python threads {t_threaded:.3f} s")
    # Not a speed test (the machine is shared): with the GIL serialising the calls the threads could only be
    # slower than one thread; allow for noise.
    assert t_threaded < 1.5 * t_serial


def test_modifying_call_during_another_call_is_refused(train_files):
    det = patchcore.Detector.create(squeezenet_params())
    det.train([cv2.imread(f) for f in train_files[:4]])
    errors = []
    started = threading.Event()

    def callback(progress):
        started.set()
        try:
            det.clear()  # a non-const call while this detector's update() runs
        except patchcore.Error as e:
            errors.append(str(e))
        return True

    det.set_progress_callback(callback)
    det.update([cv2.imread(f) for f in train_files[4:6]])
    assert started.is_set() and errors and "cannot run while another call" in errors[0]
    assert not det.empty()


def test_callback_returning_false_cancels_and_leaves_the_detector_as_it_was(train_files):
    images = [cv2.imread(f) for f in train_files[:6]]
    det = patchcore.Detector.create(squeezenet_params())
    det.train(images[:3])
    bank = det.memory_bank()
    seen = []

    def stop_at_second(progress):
        seen.append((progress.stage, progress.done, progress.total))
        return len(seen) < 2

    det.set_progress_callback(stop_at_second)
    with pytest.raises(patchcore.Cancelled, match="cancelled by the progress callback"):
        det.train(images)
    assert len(seen) == 2 and all(0 <= done <= total for _, done, total in seen)
    np.testing.assert_array_equal(det.memory_bank(), bank)
    det.set_progress_callback(None)
    det.train(images)
    assert det.memory_bank_size > bank.shape[0]


def test_callback_exception_propagates_unchanged(train_files):
    det = patchcore.Detector.create(squeezenet_params())

    class Stop(Exception):
        pass

    def boom(progress):
        raise Stop(progress.stage)

    det.set_progress_callback(boom)
    with pytest.raises(Stop):
        det.train([cv2.imread(f) for f in train_files[:3]])
    assert det.empty()
    with pytest.raises(TypeError, match="callable"):
        det.set_progress_callback(42)
