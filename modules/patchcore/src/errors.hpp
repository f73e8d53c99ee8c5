// The library's one error voice: every message starts with "patchcore: " and carries a cv::Error code, so that
// callers (and our own catch sites) decide from the code, never from the text.
#ifndef OPENCV_PATCHCORE_ERRORS_HPP
#define OPENCV_PATCHCORE_ERRORS_HPP

#include <opencv2/core.hpp>

#include <string>

namespace cv {
namespace patchcore {
namespace detail {

/** Throws cv::Exception(code, "patchcore: " + message) attributed to func/file/line. */
[[noreturn]] void raise(int code, const std::string& message, const char* func, const char* file, int line);

/** Whether an exception caught while reading a file is one of our own verdicts on it (a message for the user,
 *  passed on as is) rather than a failure inside OpenCV's parser (wrapped as "invalid detector file"). */
bool isUserFacing(const cv::Exception& e);

} // namespace detail
} // namespace patchcore
} // namespace cv

#define PATCHCORE_ERROR(code, message) ::cv::patchcore::detail::raise((code), (message), CV_Func, __FILE__, __LINE__)
#define PATCHCORE_CHECK(condition, code, message)                                                                      \
    do                                                                                                                 \
    {                                                                                                                  \
        if (!(condition))                                                                                              \
            PATCHCORE_ERROR(code, message);                                                                            \
    } while (false)

#endif
