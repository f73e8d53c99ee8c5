// patchcore.Params: every field of cv::patchcore::Params under its snake_case name, with the C++ defaults.
#include "bindings.hpp"
#include "errors.hpp"
#include "ndarray.hpp"
#include "values.hpp"

#include <opencv2/patchcore.hpp>
#include <pybind11/stl.h>

#include <cmath>
#include <functional>
#include <sstream>

namespace patchcore_python {

using cv::patchcore::Params;

namespace {

struct Field
{
    const char* name;    // Python
    const char* cppName; // C++, as the library's messages spell it
    const char* doc;
    std::function<py::object(const Params&)> get;
    std::function<void(Params&, py::handle)> set;
};

// Strict conversions (values.hpp), named as the library's messages name the field: "Params.k takes an int".
int toInt(py::handle v, const char* field)
{
    return intFromPython(v, std::string("Params.") + field);
}

double toDouble(py::handle v, const char* field)
{
    return numberFromPython(v, std::string("Params.") + field);
}

bool toBool(py::handle v, const char* field)
{
    return boolFromPython(v, std::string("Params.") + field);
}

cv::Scalar toRgb(py::handle v, const char* field)
{
    std::vector<double> values;
    if (py::isinstance<py::sequence>(v) && !py::isinstance<py::str>(v))
        for (py::handle item : py::reinterpret_borrow<py::sequence>(v))
            values.push_back(toDouble(item, field));
    if (values.size() != 3)
        throw py::value_error(std::string("Params.") + field + " takes three numbers (R, G, B), got " +
                              (values.empty() ? typeName(v) : std::to_string(values.size()) + " values"));
    return cv::Scalar(values[0], values[1], values[2]);
}

std::vector<cv::String> toNames(py::handle v, const char* field)
{
    if (!py::isinstance<py::sequence>(v) || py::isinstance<py::str>(v))
        throw py::type_error(std::string("Params.") + field + " takes a list of str, got " + typeName(v) +
                             (py::isinstance<py::str>(v) ? " (write [\"name\"] for one)" : ""));
    std::vector<cv::String> out;
    for (py::handle item : py::reinterpret_borrow<py::sequence>(v))
    {
        if (!py::isinstance<py::str>(item))
            throw py::type_error(std::string("Params.") + field + " takes a list of str, got an item of type " +
                                 typeName(item));
        out.push_back(item.cast<std::string>());
    }
    return out;
}

#define PC_INT(py_name, member, doc)                                                                                \
    Field{py_name, #member, doc, [](const Params& p) { return py::object(py::int_(p.member)); },                    \
          [](Params& p, py::handle v) { p.member = toInt(v, py_name); }}
#define PC_DOUBLE(py_name, member, doc)                                                                             \
    Field{py_name, #member, doc, [](const Params& p) { return py::object(py::float_(p.member)); },                  \
          [](Params& p, py::handle v) { p.member = toDouble(v, py_name); }}
#define PC_BOOL(py_name, member, doc)                                                                               \
    Field{py_name, #member, doc, [](const Params& p) { return py::object(py::bool_(p.member)); },                   \
          [](Params& p, py::handle v) { p.member = toBool(v, py_name); }}
#define PC_RGB(py_name, member, doc)                                                                                \
    Field{py_name, #member, doc,                                                                                    \
          [](const Params& p) { return py::object(py::make_tuple(p.member[0], p.member[1], p.member[2])); },        \
          [](Params& p, py::handle v) { p.member = toRgb(v, py_name); }}

// Same order as the C++ declaration; documentation abridged from it (patchcore.hpp has the full text).
const std::vector<Field>& fields()
{
    static const std::vector<Field> table = {
        Field{"model_path", "modelPath", "Path to the ONNX backbone (str or os.PathLike). Required.",
              [](const Params& p) { return py::object(py::str(p.modelPath)); },
              [](Params& p, py::handle v) { p.modelPath = pathFromPython(v, "Params.model_path"); }},
        Field{"layers", "layers",
              "Backbone outputs to tap, shallowest first (list of str; default ['layer2', 'layer3']). Assign a new "
              "list: the property returns a copy.",
              [](const Params& p) { return py::object(py::cast(std::vector<std::string>(p.layers.begin(),
                                                                                        p.layers.end()))); },
              [](Params& p, py::handle v) { p.layers = toNames(v, "layers"); }},
        PC_INT("resize_size", resizeSize, "Shorter image side after resizing (default 256)."),
        PC_INT("crop_size", cropSize, "Side of the square centre crop fed to the backbone (default 224)."),
        PC_INT("resize_method", resizeMethod, "A RESIZE_* constant (default RESIZE_PIL_BILINEAR)."),
        PC_RGB("mean", mean, "Per-channel mean subtracted after scaling to [0, 1], (R, G, B) (default ImageNet's)."),
        PC_RGB("stdev", stdev, "Per-channel standard deviation, (R, G, B) (default ImageNet's)."),
        PC_INT("patch_size", patchSize, "Neighbourhood side of locally aware patch features (odd, default 3)."),
        PC_INT("pretrain_embed_dim", pretrainEmbedDim, "Dimension each tap is pooled to (default 1024)."),
        PC_INT("target_embed_dim", targetEmbedDim, "Dimension of the final patch vector (default 1024)."),
        PC_INT("coreset_method", coresetMethod, "A CORESET_* constant (default CORESET_GREEDY)."),
        PC_DOUBLE("coreset_ratio", coresetRatio, "Fraction of patch vectors the coreset keeps, in (0, 1] (default 0.1)."),
        PC_INT("projection_dim", projectionDim, "Random projection dimension of greedy selection (default 128; 0 = none)."),
        PC_INT("num_starts", numStarts, "Random start points of greedy selection (default 10)."),
        PC_INT("k", k, "Nearest bank vectors averaged into a patch score (default 1)."),
        PC_INT("metric", metric, "A DISTANCE_* constant (default DISTANCE_L2_SQUARED)."),
        PC_BOOL("reweight", reweight, "Apply the paper's Eq. 7 image-score reweighting (default False)."),
        PC_INT("reweight_neighbours", reweightNeighbours, "Bank neighbourhood size b of Eq. 7 (default 9)."),
        PC_DOUBLE("sigma", sigma, "Gaussian sigma of the anomaly map, in crop pixels (default 4)."),
        PC_INT("seed", seed, "Seed of every random choice (default 0)."),
        PC_INT("coreset_random", coresetRandom, "A RANDOM_* constant (default RANDOM_OPENCV)."),
        PC_INT("reference_draws_before", referenceDrawsBefore,
               "RANDOM_REFERENCE: torch draws before the projection (default 0; doc/PARITY.md)."),
        PC_INT("batch_size", batchSize, "Images pre-processed and embedded together (default 4)."),
        PC_INT("backend", backend, "cv::dnn backend id (default cv2.dnn.DNN_BACKEND_OPENCV)."),
        PC_INT("target", target, "cv::dnn target id (default cv2.dnn.DNN_TARGET_CPU)."),
        PC_BOOL("embed_model", embedModel, "Store the ONNX bytes inside saved files (default True)."),
        PC_INT("input_mode", inputMode, "An INPUT_* constant (default INPUT_AUTO; INPUT_CENTER_CROP is the reference)."),
        PC_DOUBLE("tile_scale", tileScale, "INPUT_TILES / INPUT_FRAME: image scale before the backbone (default 1)."),
        PC_DOUBLE("tile_overlap", tileOverlap, "INPUT_TILES: overlap of neighbouring tiles, in [0, 0.9] (default 0.25)."),
        PC_INT("coreset_device", coresetDevice, "A DEVICE_* constant (default DEVICE_AUTO)."),
        PC_INT("search_device", searchDevice, "A DEVICE_* constant (default DEVICE_AUTO)."),
        PC_INT("search_method", searchMethod, "A SEARCH_* constant (default SEARCH_AUTO)."),
        PC_BOOL("bank_fp16", bankFp16, "Round the memory bank to 16-bit floats (default False)."),
        PC_DOUBLE("calibration_fraction", calibrationFraction,
                  "Fraction of training images held out to calibrate thresholds (default 0)."),
        PC_DOUBLE("image_false_alarm_rate", imageFalseAlarmRate, "Calibration target for images (default 0.01)."),
        PC_DOUBLE("pixel_false_alarm_rate", pixelFalseAlarmRate, "Calibration target for pixels (default 0.001)."),
        PC_DOUBLE("memory_budget_mb", memoryBudgetMB, "Training memory bound for patch vectors, MiB (default 2048; 0 = none)."),
        PC_DOUBLE("max_image_mb", maxImageMB, "Largest memory one image may take, MiB (default 2048; 0 = the process's)."),
        PC_INT("coreset_max_size", coresetMaxSize, "Largest memory bank (default -1: automatic; 0 = no cap)."),
        PC_INT("coreset_chunk_rows", coresetChunkRows,
               "Composable greedy selection chunk (default -1: automatic; 0 = one selection)."),
    };
    return table;
}

#undef PC_INT
#undef PC_DOUBLE
#undef PC_BOOL
#undef PC_RGB

const Field* findField(const std::string& name)
{
    for (const Field& f : fields())
        if (name == f.name)
            return &f;
    return nullptr;
}

std::string fieldList()
{
    std::string out;
    for (const Field& f : fields())
        out += (out.empty() ? "" : ", ") + std::string(f.name);
    return out;
}

void setField(Params& p, const std::string& name, py::handle value)
{
    const Field* f = findField(name);
    if (!f)
        throw py::type_error("Params has no field '" + name + "'; the fields are: " + fieldList());
    f->set(p, value);
}

// Params(**d), to_dict() and pickling: one mapping of Python names to values, both ways.
Params fromDict(const py::dict& d)
{
    Params p;
    for (const auto& item : d)
        setField(p, item.first.cast<std::string>(), item.second);
    return p;
}

py::dict toDict(const Params& p)
{
    py::dict d;
    for (const Field& f : fields())
        d[f.name] = f.get(p);
    return d;
}

// The library's message names the C++ field; a Python user wrote the snake_case one: say both.
std::string withPythonName(const std::string& message)
{
    for (const Field& f : fields())
    {
        const std::string cpp = std::string(f.cppName) + " ";
        if (message.find(": " + cpp) != std::string::npos || message.find("Params: " + cpp) != std::string::npos)
            return message + " [Params." + f.name + "]";
    }
    return message;
}

} // namespace

void validateParams(const Params& p)
{
    try
    {
        p.validate();
    }
    catch (const cv::Exception& e)
    {
        cv::Exception renamed = e;
        renamed.err = withPythonName(e.err);
        throw renamed;
    }
}

void bindParams(py::module_& m)
{
    py::class_<Params> cls(m, "Params", R"doc(Every setting of a Detector, with the C++ library's defaults.

Fields are the C++ ones in snake_case (modelPath -> model_path). Keyword arguments set fields:
``Params(model_path="resnet50v2_to_layer3.onnx", coreset_ratio=0.05)``. Types are checked on assignment (TypeError);
values by validate(), which Detector.create() also calls (patchcore.BadArgument, a ValueError, naming the field).)doc");
    cls.def(py::init([](const py::kwargs& kwargs) { return fromDict(kwargs); }),
            "Params(**fields): the defaults, with the given fields set.");
    for (const Field& f : fields())
    {
        const std::string name = f.name;
        cls.def_property(
            f.name, [name](const Params& p) { return findField(name)->get(p); },
            [name](Params& p, py::handle v) { findField(name)->set(p, v); }, f.doc);
    }
    cls.def("validate", &validateParams,
            "Raises patchcore.BadArgument (a ValueError) naming the first invalid field; returns None otherwise.");
    cls.def("to_dict", &toDict, "The fields as a dict (Params(**d) gives them back).");
    cls.def_static("fields", []() {
        py::list names;
        for (const Field& f : fields())
            names.append(f.name);
        return names;
    }, "Names of every field, in the C++ declaration's order.");
    cls.def("__eq__", [](const Params& a, py::object other) -> py::object {
        if (!py::isinstance<Params>(other))
            return py::reinterpret_borrow<py::object>(Py_NotImplemented);
        const Params& b = other.cast<const Params&>();
        for (const Field& f : fields())
            if (!f.get(a).equal(f.get(b)))
                return py::bool_(false);
        return py::bool_(true);
    });
    cls.attr("__hash__") = py::none();
    cls.def("__repr__", [](const Params& p) {
        std::string out = "patchcore.Params(";
        bool first = true;
        for (const Field& f : fields())
        {
            out += (first ? "" : ", ") + std::string(f.name) + "=" + std::string(py::repr(f.get(p)));
            first = false;
        }
        return out + ")";
    });
    cls.def(py::pickle(&toDict, &fromDict));
    cls.def("__copy__", [](const Params& p) { return p; });
    cls.def("__deepcopy__", [](const Params& p, py::dict) { return p; });
}

} // namespace patchcore_python
