#!/usr/bin/python3
"""Exports a torchvision CNN as an ONNX backbone that cv::patchcore (cv::dnn, OpenCV >= 4.6) can load.

The network is cut after the deepest tapped layer, and every tap becomes a named graph output, which is what
Params::layers names. Opset 11, input "input" of shape N x 3 x H x W with N, H and W dynamic.

    /usr/bin/python3 tools/export_backbone.py wide_resnet50_2 wrn50_to_layer3.onnx
    /usr/bin/python3 tools/export_backbone.py densenet201 densenet201.onnx --taps features.denseblock2,features.denseblock3
    /usr/bin/python3 tools/export_backbone.py resnet18 r18.onnx --weights none          # random weights, no download

Weights: "default" (torchvision's ImageNet weights; downloaded once into torch's cache, needs network access the
first time), "none" (random, for tests), or a path to a state_dict saved with torch.save (offline machines).

OpenCV 4.6 cannot import graphs in which an initializer reaches a node through an `Identity` node (torch emits them
when tensors are shared); every such Identity is replaced by a copy of its initializer under the Identity's output
name. The output's taps are named after the last component of each module path ("features.denseblock2" ->
"denseblock2").

--reference DIR additionally writes, for a fixed pseudo-random input, input.bin and <tap>.bin (raw little-endian
float32, shape in <name>.shape as text) as computed by torch, so that a C++ test can compare cv::dnn's outputs.
Needs Debian's python3-torch, python3-torchvision and python3-onnx.
"""
import argparse
import os
import sys

DEFAULT_TAPS = {
    "resnet": "layer2,layer3",          # resnet18/34/50/101/152, wide_resnet*, resnext*
    "wide_resnet": "layer2,layer3",
    "resnext": "layer2,layer3",
    "densenet": "features.denseblock2,features.denseblock3",
}
OPSET = 11
# Opset 11 shipped with IR version 6; OpenCV 4.5/4.6's bundled ONNX schema reads it.
IR_VERSION = 6


def default_taps(arch):
    for prefix in sorted(DEFAULT_TAPS, key=len, reverse=True):
        if arch.startswith(prefix):
            return DEFAULT_TAPS[prefix]
    sys.exit(f"export_backbone: no default taps for '{arch}'; name them with --taps (module paths, e.g. layer2,layer3)")


def build_model(arch, weights):
    import torch
    import torchvision
    if not hasattr(torchvision.models, arch):
        sys.exit(f"export_backbone: torchvision {torchvision.__version__} has no model '{arch}'")
    factory = getattr(torchvision.models, arch)
    if weights == "none":
        model = factory(weights=None)
    elif weights == "default":
        model = factory(weights="DEFAULT")
    else:
        model = factory(weights=None)
        model.load_state_dict(torch.load(weights, map_location="cpu"))
    return model.eval()


class Taps(object):
    """Runs a torchvision model only as far as its deepest tap and returns the taps as a tuple."""

    @staticmethod
    def make(model, taps):
        import torch
        from torchvision.models.feature_extraction import create_feature_extractor

        # Feature extraction traces the model and drops every node the taps do not depend on: the truncation.
        extractor = create_feature_extractor(model, return_nodes={t: str(i) for i, t in enumerate(taps)})

        class AsTuple(torch.nn.Module):
            def __init__(self, inner):
                super().__init__()
                self.inner = inner

            def forward(self, x):
                out = self.inner(x)
                return tuple(out[str(i)] for i in range(len(taps)))

        return AsTuple(extractor).eval()


def inline_identity_initializers(model):
    """Replaces each Identity node fed by an initializer with a copy of that initializer; returns how many."""
    from onnx import numpy_helper
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    outputs = {o.name for o in graph.output}
    kept, replaced = [], 0
    for node in graph.node:
        if node.op_type == "Identity" and node.input[0] in inits and node.output[0] not in outputs:
            copy = numpy_helper.from_array(numpy_helper.to_array(inits[node.input[0]]), node.output[0])
            graph.initializer.append(copy)
            inits[copy.name] = copy
            replaced += 1
        else:
            kept.append(node)
    del graph.node[:]
    graph.node.extend(kept)
    return replaced


def export(arch, out_path, taps, weights, size, reference_dir):
    import numpy as np
    import onnx
    import torch

    torch.manual_seed(0)
    model = build_model(arch, weights)
    names = [t.split(".")[-1] for t in taps]
    if len(set(names)) != len(names):
        sys.exit(f"export_backbone: taps {taps} end in the same name; tap distinct modules")
    net = Taps.make(model, taps)
    dummy = torch.zeros(1, 3, size, size)
    dynamic = {"input": {0: "N", 2: "H", 3: "W"}}
    for n in names:
        dynamic[n] = {0: "N", 2: f"{n}_h", 3: f"{n}_w"}
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    tmp_path = out_path + ".tmp"
    with torch.no_grad():
        torch.onnx.export(net, dummy, tmp_path, opset_version=OPSET, input_names=["input"], output_names=names,
                          dynamic_axes=dynamic, do_constant_folding=True)
    proto = onnx.load(tmp_path)
    os.remove(tmp_path)
    replaced = inline_identity_initializers(proto)
    proto.ir_version = min(proto.ir_version, IR_VERSION)
    proto.producer_name = "cv::patchcore tools/export_backbone.py"
    onnx.checker.check_model(proto)
    onnx.save(proto, out_path)

    if reference_dir:
        os.makedirs(reference_dir, exist_ok=True)
        rng = np.random.default_rng(0)
        x = rng.standard_normal((1, 3, size, size)).astype(np.float32)
        with torch.no_grad():
            ys = net(torch.from_numpy(x))
        for name, arr in [("input", x)] + [(n, y.numpy()) for n, y in zip(names, ys)]:
            arr.astype("<f4").tofile(os.path.join(reference_dir, name + ".bin"))
            with open(os.path.join(reference_dir, name + ".shape"), "w") as f:
                f.write(" ".join(str(d) for d in arr.shape) + "\n")
    return names, replaced


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("arch", help="torchvision model name, e.g. wide_resnet50_2, resnet18, densenet201")
    ap.add_argument("output", help="ONNX file to write")
    ap.add_argument("--taps", help="comma-separated module paths to tap, shallowest first (default per family)")
    ap.add_argument("--weights", default="default", help="default | none | path to a state_dict (.pth)")
    ap.add_argument("--size", type=int, default=224, help="input side used for tracing (shapes stay dynamic)")
    ap.add_argument("--reference", metavar="DIR", help="also write torch's outputs for a fixed input into DIR")
    args = ap.parse_args()
    taps = (args.taps or default_taps(args.arch)).split(",")
    names, replaced = export(args.arch, args.output, taps, args.weights, args.size, args.reference)
    print(f"{args.output}: outputs {','.join(names)} (Params::layers); {replaced} Identity initializers inlined")


if __name__ == "__main__":
    main()
