#include "values.hpp"
#include "ndarray.hpp"

#include <climits>

namespace patchcore_python {

int intFromPython(py::handle v, const std::string& what)
{
    if (!py::isinstance<py::bool_>(v) && py::hasattr(v, "__index__") && !py::isinstance<py::float_>(v))
    {
        const py::int_ i = py::reinterpret_steal<py::int_>(PyNumber_Index(v.ptr()));
        if (!i)
            throw py::error_already_set();
        const long long value = i.cast<long long>();
        if (value < INT_MIN || value > INT_MAX)
            throw py::value_error(what + " is out of the int range: " + std::to_string(value));
        return static_cast<int>(value);
    }
    throw py::type_error(what + " takes an int, got " + typeName(v));
}

double numberFromPython(py::handle v, const std::string& what)
{
    if (!py::isinstance<py::bool_>(v) && !py::isinstance<py::str>(v) && PyNumber_Check(v.ptr()) &&
        !PyComplex_Check(v.ptr()))
        return v.cast<double>();
    throw py::type_error(what + " takes a number, got " + typeName(v));
}

bool boolFromPython(py::handle v, const std::string& what)
{
    if (py::isinstance<py::bool_>(v) || typeName(v) == "numpy.bool_")
        return PyObject_IsTrue(v.ptr()) == 1;
    throw py::type_error(what + " takes True or False, got " + typeName(v));
}

} // namespace patchcore_python
