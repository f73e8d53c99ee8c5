#include "errors.hpp"

namespace patchcore_python {

CallbackOutcome& callbackOutcome()
{
    thread_local CallbackOutcome outcome;
    return outcome;
}

namespace {

// Codes the library uses for "the caller passed something wrong": these are also ValueErrors, so that
// `except ValueError` works as for any Python library.
bool isArgumentError(int code)
{
    switch (code)
    {
    case cv::Error::StsBadArg:
    case cv::Error::StsBadSize:
    case cv::Error::StsOutOfRange:
    case cv::Error::StsUnmatchedSizes:
    case cv::Error::StsUnsupportedFormat:
    case cv::Error::StsBadFlag:
    case cv::Error::BadDepth:
    case cv::Error::BadNumChannels:
        return true;
    default:
        return false;
    }
}

// Created once at import and kept for the life of the process (translators run after module objects may be gone).
PyObject* g_error = nullptr;
PyObject* g_badArgument = nullptr;
PyObject* g_cancelled = nullptr;

void raise(PyObject* type, const std::string& message, int code, const std::string& func, const std::string& file,
           int line)
{
    py::object exc = py::reinterpret_borrow<py::object>(type)(message);
    exc.attr("code") = code;
    exc.attr("func") = func;
    exc.attr("file") = file;
    exc.attr("line") = line;
    PyErr_SetObject(type, exc.ptr());
}

} // namespace

void registerErrors(py::module_& m)
{
    g_error = PyErr_NewExceptionWithDoc(
        "patchcore.Error",
        "An error raised by the C++ library (cv::Exception). str(e) is its message; e.code is OpenCV's error code "
        "(cv::Error::Code), e.func, e.file and e.line say where it was raised.",
        PyExc_RuntimeError, nullptr);
    py::object bases = py::make_tuple(py::handle(g_error), py::handle(PyExc_ValueError));
    g_badArgument = PyErr_NewExceptionWithDoc(
        "patchcore.BadArgument",
        "A patchcore.Error caused by an invalid argument (bad Params value, wrong image size, ...): also a ValueError.",
        bases.ptr(), nullptr);
    g_cancelled = PyErr_NewExceptionWithDoc(
        "patchcore.Cancelled",
        "Raised when the progress callback returned False: the operation stopped and the object is as it was before.",
        g_error, nullptr);
    m.add_object("Error", py::handle(g_error));
    m.add_object("BadArgument", py::handle(g_badArgument));
    m.add_object("Cancelled", py::handle(g_cancelled));

    py::register_exception_translator([](std::exception_ptr p) {
        try
        {
            if (p)
                std::rethrow_exception(p);
        }
        catch (const cv::Exception& e)
        {
            raise(isArgumentError(e.code) ? g_badArgument : g_error, e.err, e.code, e.func, e.file, e.line);
        }
        catch (const Cancelled& e)
        {
            raise(g_cancelled, e.message, cv::Error::StsError, "", "", 0);
        }
        catch (const Busy& e)
        {
            raise(g_error, e.message, cv::Error::StsError, "", "", 0);
        }
    });
}

} // namespace patchcore_python
