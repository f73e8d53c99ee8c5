// patchcore.Params: every field of cv::patchcore::Params under its snake_case name, with the C++ defaults.
#include "bindings.hpp"
#include "errors.hpp"
#include "ndarray.hpp"
#include "values.hpp"
#include "../src/params_table.hpp"

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

// Getters and setters by field type; the strict conversions name the field as the library's messages do.
py::object toPython(int v) { return py::int_(v); }
py::object toPython(double v) { return py::float_(v); }
py::object toPython(bool v) { return py::bool_(v); }
py::object toPython(const cv::Scalar& v) { return py::make_tuple(v[0], v[1], v[2]); }
py::object toPython(const cv::String& v) { return py::str(v); }
py::object toPython(const std::vector<cv::String>& v)
{
    return py::cast(std::vector<std::string>(v.begin(), v.end()));
}

void fromPython(py::handle v, const char* field, int& out) { out = toInt(v, field); }
void fromPython(py::handle v, const char* field, double& out) { out = toDouble(v, field); }
void fromPython(py::handle v, const char* field, bool& out) { out = toBool(v, field); }
void fromPython(py::handle v, const char* field, cv::Scalar& out) { out = toRgb(v, field); }
void fromPython(py::handle v, const char* field, cv::String& out)
{
    out = pathFromPython(v, std::string("Params.") + field); // the only string field is the model's path
}
void fromPython(py::handle v, const char* field, std::vector<cv::String>& out) { out = toNames(v, field); }

// The library's table of settings (src/params_table.hpp): every field under its Python name, in declaration order.
#define PATCHCORE_PY_FIELD(kind, type, name, pyName, value, ok, rule, doc)                                           \
    Field{pyName, #name, doc, [](const Params& p) { return toPython(p.name); },                                    \
          [](Params& p, py::handle v) { fromPython(v, pyName, p.name); }},
const std::vector<Field>& fields()
{
    static const std::vector<Field> table = {PATCHCORE_PARAM_FIELDS(PATCHCORE_PY_FIELD)};
    return table;
}
#undef PATCHCORE_PY_FIELD

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
