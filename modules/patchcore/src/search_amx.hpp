// AMX tiles for the bf16 screening of the search (Bf16Screen): the same dot products as the AVX-512 BF16 kernel,
// at several times its rate on CPUs with Advanced Matrix Extensions.
#ifndef OPENCV_PATCHCORE_SEARCH_AMX_HPP
#define OPENCV_PATCHCORE_SEARCH_AMX_HPP

#include <cstddef>
#include <cstdint>

namespace cv {
namespace patchcore {
namespace detail {

/** Queries per tile (the rows of an A tile) and bf16 pairs per tile step (its 64-byte rows). */
const int kAmxQueries = 16;
const int kAmxPairs = 16;

/** The tile registers configured for amxDots() on the calling thread for the object's lifetime (the configuration
 *  is per thread, and released so that the OS need not save the tile state on a context switch). Construct it only
 *  where simdLevel() is SIMD_AMX_BF16. */
class AmxTiles
{
public:
    /** True when this build has the tile kernels (GCC 11 / clang 12 on x86-64). */
    static bool built();
    AmxTiles();
    ~AmxTiles();
    AmxTiles(const AmxTiles&) = delete;
    AmxTiles& operator=(const AmxTiles&) = delete;

    /** Dot products of `queryTiles` (1 or 2) x 16 queries with `groups` (1 or 2) groups of 16 bank rows:
     *  out[(i * groups + j) * 16 + lane] for query i, group j. Queries are rows of bf16 pairs (`queryStride` pairs
     *  apart; all 16 rows of a tile must be readable), groups are Bf16Screen's packing ([pair][lane][2] bf16,
     *  `groupStride` uint16 apart); `pairs` is a multiple of kAmxPairs. */
    void dots(const uint32_t* queries, size_t queryStride, int queryTiles, const uint16_t* groups, size_t groupStride,
              int numGroups, int pairs, float* out) const;
};

} // namespace detail
} // namespace patchcore
} // namespace cv

#endif
