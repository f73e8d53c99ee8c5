// File formats: a generic checksummed binary container and SHA-256 (files are written through atomic_file.hpp).
#ifndef OPENCV_PATCHCORE_SERIALIZATION_HPP
#define OPENCV_PATCHCORE_SERIALIZATION_HPP

#include "precomp.hpp"
#include "atomic_file.hpp"

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

/** The bytes writeContainer() would write (an ensemble holds its members' containers in its own sections). */
std::vector<uchar> containerBytes(uint32_t formatVersion, const Sections& sections);
/** readContainer() on bytes in memory; `name` stands for the path in messages. */
Sections parseContainer(const std::vector<uchar>& bytes, const std::string& name, uint32_t maxSupportedVersion,
                        uint32_t* formatVersion);

/** True if the file starts with the container magic (cheap format sniffing). */
bool isContainerFile(const std::string& path);

} // namespace detail
} // namespace patchcore
} // namespace cv

#endif
