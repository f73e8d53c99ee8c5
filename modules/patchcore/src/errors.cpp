#include "errors.hpp"

namespace cv {
namespace patchcore {
namespace detail {

void raise(int code, const std::string& message, const char* func, const char* file, int line)
{
    cv::error(code, "patchcore: " + message, func, file, line);
#if defined(__GNUC__)
    __builtin_unreachable(); // cv::error never returns; older OpenCV headers do not say so
#endif
}

bool isUserFacing(const cv::Exception& e)
{
    // The codes our checks use for what a user must fix; OpenCV's own failures inside FileNode accessors come as
    // assertions or generic errors and are reported as a malformed file instead.
    switch (e.code)
    {
    case Error::StsParseError:
    case Error::StsBadArg:
    case Error::StsBadSize:
    case Error::StsOutOfRange:
    case Error::StsObjectNotFound:
    case Error::StsUnsupportedFormat:
        return true;
    default:
        return false;
    }
}

} // namespace detail
} // namespace patchcore
} // namespace cv
