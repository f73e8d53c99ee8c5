// The Python progress callback behind Detector::setProgressCallback.
#ifndef PATCHCORE_PYTHON_PROGRESS_HPP
#define PATCHCORE_PYTHON_PROGRESS_HPP

#include <opencv2/patchcore.hpp>
#include <pybind11/pybind11.h>

namespace patchcore_python {

namespace py = pybind11;

/** Binds patchcore.Progress. */
void bindProgress(py::module_& m);

/** A ProgressCallback that calls `fn(progress)` with the GIL held (the library calls it from threads that run without
 *  the GIL). A False return cancels; an exception cancels too and is re-raised by the call that ran it. */
cv::patchcore::ProgressCallback progressFromPython(py::function fn);

} // namespace patchcore_python

#endif
