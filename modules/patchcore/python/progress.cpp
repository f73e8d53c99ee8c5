#include "progress.hpp"

#include "errors.hpp"

#include <memory>

namespace patchcore_python {

void bindProgress(py::module_& m)
{
    using cv::patchcore::Progress;
    py::class_<Progress>(m, "Progress",
                         "What a long operation reports to the progress callback (set_progress_callback).")
        .def_readonly("stage", &Progress::stage, "\"backbone\", \"coreset\", \"search\", ...")
        .def_readonly("done", &Progress::done, "units of work finished in this stage")
        .def_readonly("total", &Progress::total, "units of work in this stage")
        .def_readonly("message", &Progress::message, "a human-readable line, or empty")
        .def("__repr__", [](const Progress& p) {
            return "Progress(stage='" + p.stage + "', done=" + std::to_string(p.done) +
                   ", total=" + std::to_string(p.total) + ", message='" + p.message + "')";
        });
}

cv::patchcore::ProgressCallback progressFromPython(py::function fn)
{
    // std::function copies and destroys its target on threads without the GIL: share one Python reference, dropped
    // under the GIL when the last copy goes.
    std::shared_ptr<py::function> shared(new py::function(std::move(fn)), [](py::function* f) {
        py::gil_scoped_acquire gil;
        delete f;
    });
    return [shared](const cv::patchcore::Progress& p) -> bool {
        py::gil_scoped_acquire gil;
        try
        {
            py::object result = (*shared)(p);
            // None (a callback that only prints) continues; False, 0 and other false values cancel.
            if (result.is_none() || PyObject_IsTrue(result.ptr()) == 1)
                return true;
            callbackOutcome().cancelled = true;
        }
        catch (py::error_already_set&)
        {
            callbackOutcome().error = std::current_exception();
        }
        return false;
    };
}

} // namespace patchcore_python
