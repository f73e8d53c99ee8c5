// SHA-256 (FIPS 180-4): file and container checksums, and the backbone fingerprint in saved detectors.
#ifndef OPENCV_PATCHCORE_SHA256_HPP
#define OPENCV_PATCHCORE_SHA256_HPP

#include "precomp.hpp"

#include <array>

namespace cv {
namespace patchcore {
namespace detail {

/** Incremental hasher, so files and containers can be hashed while streaming instead of buffered whole. */
class Sha256
{
public:
    Sha256();
    void update(const void* data, size_t size);
    /** Pads, finishes and returns the digest; the hasher is spent afterwards. */
    std::array<uint8_t, 32> finish();

private:
    void compress(const uint8_t* block);

    uint32_t h_[8];
    uint8_t buffer_[64];
    size_t bufferUsed_ = 0;
    uint64_t totalBytes_ = 0;
};

/** 64 lowercase hex digits of a digest (as `sha256sum` prints it). */
std::string toHex(const std::array<uint8_t, 32>& digest);

} // namespace detail
} // namespace patchcore
} // namespace cv

#endif
