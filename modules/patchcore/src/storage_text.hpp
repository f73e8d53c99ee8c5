// Checks of YAML/XML/JSON text before cv::FileStorage parses it: OpenCV 4.6's parsers crash or loop forever on some
// malformed files (fuzzing: NUL bytes inside a YAML file, a broken `<?xml` declaration).
#ifndef OPENCV_PATCHCORE_STORAGE_TEXT_HPP
#define OPENCV_PATCHCORE_STORAGE_TEXT_HPP

#include "precomp.hpp"

namespace cv {
namespace patchcore {
namespace detail {

/** Throws cv::Exception (Error::StsParseError) saying what is wrong with `what` unless `text` can be handed to
 *  cv::FileStorage: no NUL byte anywhere (none of its text formats has one); for XML, a declaration closed by "?>"
 *  on the first line in printable ASCII, closed comments, and every attribute written name="value" (or 'value'). */
void checkStorageText(const char* text, size_t size, const std::string& what);

} // namespace detail
} // namespace patchcore
} // namespace cv

#endif
