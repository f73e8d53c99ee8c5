// The `patchcore` Python module: entry point, constants, and the parts bound in the other files.
#include "bindings.hpp"
#include "errors.hpp"
#include "progress.hpp"

#include <opencv2/patchcore.hpp>

namespace patchcore_python {

void bindConstants(py::module_& m)
{
    namespace pc = cv::patchcore;
    // Integer constants under the C++ enumerators' names, as cv2 exposes OpenCV's: Params fields hold plain ints.
#define PC_CONSTANT(name) m.attr(#name) = static_cast<int>(pc::name)
    PC_CONSTANT(CORESET_GREEDY);
    PC_CONSTANT(CORESET_RANDOM);
    PC_CONSTANT(CORESET_NONE);
    PC_CONSTANT(RANDOM_OPENCV);
    PC_CONSTANT(RANDOM_REFERENCE);
    PC_CONSTANT(DISTANCE_L2_SQUARED);
    PC_CONSTANT(DISTANCE_L2);
    PC_CONSTANT(RESIZE_PIL_BILINEAR);
    PC_CONSTANT(RESIZE_AREA);
    PC_CONSTANT(RESIZE_LINEAR);
    PC_CONSTANT(DEVICE_AUTO);
    PC_CONSTANT(DEVICE_CPU);
    PC_CONSTANT(DEVICE_CUDA);
    PC_CONSTANT(SEARCH_EXACT);
    PC_CONSTANT(SEARCH_APPROXIMATE);
    PC_CONSTANT(SEARCH_AUTO);
    PC_CONSTANT(INPUT_CENTER_CROP);
    PC_CONSTANT(INPUT_RESIZE);
    PC_CONSTANT(INPUT_ASPECT);
    PC_CONSTANT(INPUT_TILES);
    PC_CONSTANT(INPUT_AUTO);
    PC_CONSTANT(INPUT_FRAME);
    PC_CONSTANT(ENGINE_AUTO);
    PC_CONSTANT(ENGINE_OPENCV);
    PC_CONSTANT(ENGINE_ONEDNN_FP32);
    PC_CONSTANT(ENGINE_ONEDNN_BF16);
    PC_CONSTANT(FRAME_IMAGE);
    PC_CONSTANT(FRAME_WORKING);
#undef PC_CONSTANT
}

} // namespace patchcore_python

PYBIND11_MODULE(patchcore, m)
{
    using namespace patchcore_python;
    m.doc() = R"doc(PatchCore anomaly detection (cv::patchcore) for Python, on numpy arrays as cv2 uses them.

    import cv2, patchcore
    det = patchcore.Detector.create(patchcore.Params(model_path="resnet50v2_to_layer3.onnx"))
    det.train([cv2.imread(f) for f in good_files])
    score, anomaly_map = det.predict(cv2.imread("part.png"))
    det.save("part.pcb")

Errors of the C++ library raise patchcore.Error (a RuntimeError) with its message; invalid arguments raise
patchcore.BadArgument (also a ValueError), or TypeError / ValueError for arrays of the wrong dtype or shape.
Long calls release the GIL. See doc/PYTHON.md.)doc";
    m.attr("__version__") = PATCHCORE_VERSION;
    registerErrors(m);
    bindConstants(m);
    bindProgress(m);
    bindParams(m);
    bindRegionTypes(m);
    bindDetector(m);
    bindEnsemble(m);
    bindMetrics(m);
}
