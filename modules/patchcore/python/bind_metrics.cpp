// The evaluation metrics of opencv2/patchcore/metrics.hpp, on numpy arrays or lists.
#include "bindings.hpp"
#include "errors.hpp"
#include "ndarray.hpp"

#include <opencv2/patchcore/metrics.hpp>
#include <pybind11/stl.h>

#include <cmath>

namespace patchcore_python {

namespace pc = cv::patchcore;

namespace {

// A numpy array of any numeric dtype, or any sequence of numbers; one value per sample.
std::vector<double> scoresFromPython(py::handle obj, const char* what)
{
    if (py::isinstance<py::str>(obj) || !(py::isinstance<py::sequence>(obj) || py::isinstance<py::array>(obj)))
        throw py::type_error(std::string(what) + " must be a list or 1-d array of numbers, got " + typeName(obj));
    const py::array_t<double, py::array::c_style | py::array::forcecast> a =
        py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(obj);
    if (!a || a.ndim() != 1)
    {
        PyErr_Clear();
        throw py::type_error(std::string(what) + " must be a list or 1-d array of numbers");
    }
    return std::vector<double>(a.data(), a.data() + a.size());
}

std::vector<int> labelsFromPython(py::handle obj)
{
    const std::vector<double> values = scoresFromPython(obj, "labels");
    std::vector<int> out;
    out.reserve(values.size());
    for (double v : values)
    {
        // Integral values go through as they are, so that the library's message names a wrong label such as 2.
        if (!(v == std::floor(v)) || std::fabs(v) > 1e9)
            throw py::value_error("labels must be 0 (normal) or 1 (anomalous), got " + std::to_string(v));
        out.push_back(static_cast<int>(v));
    }
    return out;
}

// The pixel metrics all take anomaly maps and masks, converted in that order (so that a bad map is reported first),
// and run without the GIL.
template <class F>
auto onMapsAndMasks(py::handle maps, py::handle masks, F&& metric)
{
    const std::vector<MatView> mv = planesFromPython(maps, "anomaly_maps", false);
    const std::vector<MatView> kv = planesFromPython(masks, "masks", true);
    return withoutGil([&] { return metric(toMats(mv), toMats(kv)); });
}

using Planes = std::vector<cv::Mat>;

} // namespace

void bindMetrics(py::module_& m)
{
    py::class_<pc::F1Threshold>(m, "F1Threshold", "The threshold that maximises F1, with its precision and recall.")
        .def_readonly("threshold", &pc::F1Threshold::threshold, "samples scoring >= threshold are predicted anomalous")
        .def_readonly("f1", &pc::F1Threshold::f1)
        .def_readonly("precision", &pc::F1Threshold::precision)
        .def_readonly("recall", &pc::F1Threshold::recall)
        .def("__repr__", [](const pc::F1Threshold& t) {
            return "F1Threshold(threshold=" + std::to_string(t.threshold) + ", f1=" + std::to_string(t.f1) +
                   ", precision=" + std::to_string(t.precision) + ", recall=" + std::to_string(t.recall) + ")";
        });

    m.def(
        "image_auroc",
        [](py::handle scores, py::handle labels) {
            return pc::imageAUROC(scoresFromPython(scores, "scores"), labelsFromPython(labels));
        },
        py::arg("scores"), py::arg("labels"),
        "Image AUROC (Mann-Whitney U, ties count one half). labels: 0 = normal, 1 = anomalous; both must occur.");
    m.def(
        "pixel_auroc",
        [](py::handle maps, py::handle masks) {
            return onMapsAndMasks(maps, masks, [](const Planes& m, const Planes& k) { return pc::pixelAUROC(m, k); });
        },
        py::arg("anomaly_maps"), py::arg("masks"),
        "AUROC over every pixel of every map. anomaly_maps: float32 H x W arrays (one, or a list); masks of the same "
        "sizes: uint8 (anomalous where > 0), bool, or float32 (> 0.5).");
    m.def(
        "pro",
        [](py::handle maps, py::handle masks, double maxFpr) {
            return onMapsAndMasks(maps, masks,
                                  [maxFpr](const Planes& m, const Planes& k) { return pc::computePRO(m, k, maxFpr); });
        },
        py::arg("anomaly_maps"), py::arg("masks"), py::arg("max_fpr") = 0.3,
        "Normalised area under the per-region-overlap curve up to max_fpr (AUPRO; 8-connected regions).");
    m.def(
        "best_f1_threshold",
        [](py::handle scores, py::handle labels) {
            return pc::bestF1Threshold(scoresFromPython(scores, "scores"), labelsFromPython(labels));
        },
        py::arg("scores"), py::arg("labels"), "The image-score threshold with the best F1 (exact sweep).");
    m.def(
        "best_pixel_f1_threshold",
        [](py::handle maps, py::handle masks) {
            return onMapsAndMasks(maps, masks,
                                  [](const Planes& m, const Planes& k) { return pc::bestPixelF1Threshold(m, k); });
        },
        py::arg("anomaly_maps"), py::arg("masks"), "The anomaly-map threshold with the best pixel-level F1.");
    m.def(
        "min_max_normalize", [](py::handle scores) { return pc::minMaxNormalize(scoresFromPython(scores, "scores")); },
        py::arg("scores"), "(s - min) / (max - min) for every score; all zeros when every score is equal.");
}

} // namespace patchcore_python
