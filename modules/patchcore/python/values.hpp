// Strict Python -> C++ scalar conversions for fields of the bound structs (Params, DecisionRule): Python would
// otherwise turn True into 1 for an int field, or 2.5 into an "incompatible function arguments" message; these name
// the field and what it takes.
#ifndef PATCHCORE_PYTHON_VALUES_HPP
#define PATCHCORE_PYTHON_VALUES_HPP

#include <pybind11/pybind11.h>

#include <string>

namespace patchcore_python {

namespace py = pybind11;

/** An int (or anything with __index__, but not bool or float); `what` names the field ("Params.k"). TypeError for
 *  another type, ValueError outside the C++ int range. */
int intFromPython(py::handle v, const std::string& what);

/** A real number (not bool, str or complex). TypeError otherwise. */
double numberFromPython(py::handle v, const std::string& what);

/** True or False (or numpy.bool_). TypeError otherwise. */
bool boolFromPython(py::handle v, const std::string& what);

} // namespace patchcore_python

#endif
