#!/usr/bin/python3
"""Writes the tiny ONNX backbones that let detector tests run without ../shared.

Run with Debian's interpreter (python3-onnx, python3-numpy):  /usr/bin/python3 tools/make_test_models.py [out_dir]
Default out_dir: data/test_models beside this script's parent. `--check` writes nothing and fails unless the
committed files are exactly what this script builds (ctest runs it as patchcore_test_models_reproducible, so the
committed models are provably ours: synthetic weights from a fixed seed, no trained or third-party model). The
output is deterministic (fixed seed, fixed producer fields), so re-running it gives byte-identical files and
committed files can be checked with `git diff`.

Files:
  tiny_backbone.onnx   3 x (Conv 3x3 + Relu); graph outputs tap_a (stride 4, 8 channels) and tap_b (stride 8,
                       16 channels); input "input" of shape N x 3 x H x W with N, H, W dynamic. Opset 11.
  tiny_rank2.onnx      the same network plus graph output "flat" = Flatten(tap_b), a rank-2 tensor: what a user
                       gets by tapping a classifier head instead of a feature map.
  tiny_truncated.onnx  the first half of tiny_backbone.onnx's bytes (an interrupted download).
  tiny_nonfinite.onnx  tiny_backbone.onnx with an infinite bias in tap_b's convolution: a network that loads and
                       runs but outputs +inf (broken weights, e.g. after a bad conversion or fp16 overflow).
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 11
# IR version 6 is what opset 11 shipped with; older readers (OpenCV 4.5/4.6's bundled protobuf schema) accept it.
IR_VERSION = 6


def conv_relu(name, x, cin, cout, stride, rng, initializers, nodes):
    """Appends Conv(3x3, pad 1) + Relu; the Relu's output is named `name` so it can be tapped by that name."""
    # He-style scale keeps activations O(1) through the layers, so features are neither all zero nor huge.
    w = (rng.standard_normal((cout, cin, 3, 3)) * np.sqrt(2.0 / (cin * 9))).astype(np.float32)
    b = (rng.standard_normal(cout) * 0.05).astype(np.float32)
    initializers += [numpy_helper.from_array(w, name + "_w"), numpy_helper.from_array(b, name + "_b")]
    nodes.append(helper.make_node("Conv", [x, name + "_w", name + "_b"], [name + "_conv"], name=name + "_conv",
                                  kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[stride, stride]))
    nodes.append(helper.make_node("Relu", [name + "_conv"], [name], name=name))
    return name


def build(with_rank2_output, infinite_bias=False):
    rng = np.random.default_rng(20240607)
    initializers, nodes = [], []
    x = conv_relu("stem", "input", 3, 8, 2, rng, initializers, nodes)
    a = conv_relu("tap_a", x, 8, 8, 2, rng, initializers, nodes)
    b = conv_relu("tap_b", a, 8, 16, 2, rng, initializers, nodes)
    if infinite_bias:
        bias = next(t for t in initializers if t.name == "tap_b_b")
        bias.CopyFrom(numpy_helper.from_array(np.full(16, np.inf, dtype=np.float32), "tap_b_b"))
    outputs = [helper.make_tensor_value_info("tap_a", TensorProto.FLOAT, ["N", 8, "Ha", "Wa"]),
               helper.make_tensor_value_info("tap_b", TensorProto.FLOAT, ["N", 16, "Hb", "Wb"])]
    if with_rank2_output:
        nodes.append(helper.make_node("Flatten", [b], ["flat"], name="flat", axis=1))
        outputs.append(helper.make_tensor_value_info("flat", TensorProto.FLOAT, ["N", "F"]))
    graph = helper.make_graph(nodes, "patchcore_tiny_backbone",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, "H", "W"])],
                              outputs, initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="patchcore-make_test_models", producer_version="1")
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model.SerializeToString()


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    args = [a for a in sys.argv[1:] if a != "--check"]
    out_dir = args[0] if args else os.path.join(here, "..", "data", "test_models")
    good = build(False)
    files = {
        "tiny_backbone.onnx": good,
        "tiny_rank2.onnx": build(True),
        "tiny_truncated.onnx": good[: len(good) // 2],
        "tiny_nonfinite.onnx": build(False, infinite_bias=True),
    }
    if "--check" in sys.argv[1:]:
        differ = []
        for name, data in files.items():
            path = os.path.join(out_dir, name)
            if not os.path.isfile(path) or open(path, "rb").read() != data:
                differ.append(path)
        if differ:
            sys.exit("not what tools/make_test_models.py builds: " + ", ".join(differ))
        print("%d test models match tools/make_test_models.py byte for byte" % len(files))
        return
    os.makedirs(out_dir, exist_ok=True)
    for name, data in files.items():
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(data)
        print("%s: %d bytes" % (os.path.join(out_dir, name), len(data)))


if __name__ == "__main__":
    main()
