// The parts of the module, one file each; module.cpp calls them in this order.
#ifndef PATCHCORE_PYTHON_BINDINGS_HPP
#define PATCHCORE_PYTHON_BINDINGS_HPP

#include "guard.hpp"

#include <opencv2/patchcore.hpp>
#include <pybind11/pybind11.h>

namespace patchcore_python {

namespace py = pybind11;

void bindConstants(py::module_& m); // module.cpp: the C++ enums as integer constants
void bindParams(py::module_& m);
void bindRegionTypes(py::module_& m); // bind_regions.cpp: Region, DecisionRule
void bindDetector(py::module_& m);
void bindEnsemble(py::module_& m);
void bindMetrics(py::module_& m);

template <class T>
struct GuardedCalls; // shared_methods.hpp

/** The Detector methods of bind_regions.cpp (care mask, per-label thresholds, decision rule, predict_masked,
 *  detect_regions), added by bindDetector(). */
void bindDetectorRegions(py::class_<Handle<cv::patchcore::Detector>>& cls,
                         const GuardedCalls<cv::patchcore::Detector>& calls);

/** Params::validate() with the Python field name added to the message. */
void validateParams(const cv::patchcore::Params& p);

} // namespace patchcore_python

#endif
