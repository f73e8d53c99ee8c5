// Writing files atomically, and what the readers and writers share about paths.
#ifndef OPENCV_PATCHCORE_ATOMIC_FILE_HPP
#define OPENCV_PATCHCORE_ATOMIC_FILE_HPP

#include "precomp.hpp"

#include <functional>

namespace cv {
namespace patchcore {
namespace detail {

/** strerror() of an errno value. */
std::string errnoText(int err);

enum class PathKind { Missing, File, Folder, Other };
/** What `path` names; *err receives errno when it is Missing. */
PathKind pathKind(const std::string& path, int* err = nullptr);
/** The folder holding `path` ("." for a bare file name). */
std::string parentFolder(const std::string& path);

/** Writes a file atomically: `writer` fills a temporary file next to `path` (same folder); `verify`, when given,
 *  checks what it wrote (throwing if it is incomplete); the file is then flushed to disk and renamed over `path`
 *  only if everything succeeded. On any failure the temporary file is removed, an existing `path` is left
 *  byte-identical, and cv::Exception is thrown. Temporary files that earlier, killed saves left in the folder are
 *  removed first (only names and contents of our own pattern, only of processes that are gone). */
void writeFileAtomically(const std::string& path, const std::function<void(const std::string& tmpPath)>& writer,
                         const std::function<void(const std::string& tmpPath)>& verify = {});

/** writeFileAtomically() of a byte buffer, with every write, the flush and the final size checked. */
void writeBytesAtomically(const std::string& path, const void* data, size_t size);

} // namespace detail
} // namespace patchcore
} // namespace cv

#endif
