// File formats: a generic checksummed binary container, SHA-256, and atomic file replacement.
#ifndef OPENCV_PATCHCORE_SERIALIZATION_HPP
#define OPENCV_PATCHCORE_SERIALIZATION_HPP

#include "precomp.hpp"

#include <array>
#include <functional>
#include <map>

namespace cv {
namespace patchcore {
namespace detail {

/** SHA-256 of a byte range, as 64 lowercase hex digits (same as `sha256sum`). */
std::string sha256Hex(const void* data, size_t size);
/** SHA-256 of a byte range, as the 32 raw digest bytes (what the container stores). */
std::array<uint8_t, 32> sha256(const void* data, size_t size);
/** SHA-256 of a whole file; throws cv::Exception if the file cannot be read. */
std::string sha256File(const std::string& path);

/** Reads a whole file; throws cv::Exception naming the path if it cannot be opened or read. */
std::vector<uchar> readFileBytes(const std::string& path);

/** Writes a file atomically: `writer` fills a temporary file next to `path` (same folder); `verify`, when given,
 *  checks what it wrote (throwing if it is incomplete); the file is then flushed to disk and renamed over `path`
 *  only if everything succeeded. On any failure the temporary file is removed, an existing `path` is left
 *  byte-identical, and cv::Exception is thrown. Temporary files that earlier, killed saves left in the folder are
 *  removed first (only names and contents of our own pattern, only of processes that are gone). */
void writeFileAtomically(const std::string& path, const std::function<void(const std::string& tmpPath)>& writer,
                         const std::function<void(const std::string& tmpPath)>& verify = {});

/** writeFileAtomically() of a byte buffer, with every write, the flush and the final size checked. */
void writeBytesAtomically(const std::string& path, const void* data, size_t size);

/** Named binary sections stored in one file. */
typedef std::map<std::string, std::vector<uchar>> Sections;

/** Binary container layout (little endian):
 *    magic "PATCHCORE-BIN\0\0\0" (16 bytes), u32 formatVersion, u32 sectionCount,
 *    per section: u32 nameLength, name bytes, u64 payloadLength, payload bytes,
 *    then 32 raw bytes: SHA-256 of everything before them.
 *  Written atomically (writeFileAtomically). */
void writeContainer(const std::string& path, uint32_t formatVersion, const Sections& sections);

/** Reads and verifies a container: magic, supported version (<= maxSupportedVersion), every length against the
 *  file size, and the checksum. Any mismatch throws cv::Exception saying what is wrong with the file.
 *  Returns the sections; *formatVersion receives the version read. */
Sections readContainer(const std::string& path, uint32_t maxSupportedVersion, uint32_t* formatVersion);

/** True if the file starts with the container magic (cheap format sniffing). */
bool isContainerFile(const std::string& path);

} // namespace detail
} // namespace patchcore
} // namespace cv

#endif
