// Python exceptions for the library's errors, and the rule that every long call runs without the GIL.
#ifndef PATCHCORE_PYTHON_ERRORS_HPP
#define PATCHCORE_PYTHON_ERRORS_HPP

#include <opencv2/core.hpp>
#include <pybind11/pybind11.h>

#include <string>

namespace patchcore_python {

namespace py = pybind11;

/** Creates patchcore.Error, patchcore.BadArgument and patchcore.Cancelled in `m` and translates cv::Exception (and
 *  Cancelled below) into them. */
void registerErrors(py::module_& m);

/** Thrown when a progress callback returned False; becomes patchcore.Cancelled with the library's message. */
struct Cancelled
{
    std::string message;
};

/** Thrown when a call would break the threading contract (a non-const call overlapping another call on the same
 *  object); becomes patchcore.Error. */
struct Busy
{
    std::string message;
};

/** Per-thread record of what the progress callback did during the current call: the library only sees true/false,
 *  so the reason (a False return, or a Python exception to re-raise as it was) is kept here. */
struct CallbackOutcome
{
    bool cancelled = false;
    std::exception_ptr error;
};
CallbackOutcome& callbackOutcome();

/** Runs `f` with the GIL released. When the library throws because the progress callback stopped it, the callback's
 *  own Python exception is raised instead, or patchcore.Cancelled after a False return. */
template <class F>
auto withoutGil(F&& f) -> decltype(f())
{
    CallbackOutcome& outcome = callbackOutcome();
    const CallbackOutcome outer = outcome; // a callback may itself call into the module
    outcome = CallbackOutcome();
    try
    {
        py::gil_scoped_release nogil;
        if constexpr (std::is_void_v<decltype(f())>)
        {
            f();
            outcome = outer;
        }
        else
        {
            auto result = f();
            outcome = outer;
            return result;
        }
    }
    catch (const cv::Exception& e)
    {
        const CallbackOutcome mine = outcome;
        outcome = outer;
        if (mine.error)
            std::rethrow_exception(mine.error);
        if (mine.cancelled)
            throw Cancelled{e.err};
        throw;
    }
    catch (...)
    {
        outcome = outer;
        throw;
    }
}

} // namespace patchcore_python

#endif
