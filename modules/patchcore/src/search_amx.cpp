#include "search_amx.hpp"

#include "errors.hpp"

// The tile intrinsics need GCC 11 / clang 12 and are used only through function target attributes, so that the
// library stays built for generic x86-64.
#if defined(__GNUC__) && defined(__x86_64__) && (defined(__clang__) ? __clang_major__ >= 12 : __GNUC__ >= 11)
#include <immintrin.h>
#define PATCHCORE_AMX_KERNELS 1
#define PATCHCORE_TARGET_AMX __attribute__((target("amx-tile,amx-bf16")))
#else
#define PATCHCORE_AMX_KERNELS 0
#endif

namespace cv {
namespace patchcore {
namespace detail {

#if PATCHCORE_AMX_KERNELS
namespace {

// Tile registers: C (fp32 results) in 0-3 as [query tile][group], A (queries) in 4-5, B (bank groups) in 6-7.
// Every tile is 16 rows of 64 bytes: 16 queries x 16 pairs, 16 pairs x 16 lanes x 2, or 16 queries x 16 lanes.
struct alignas(64) TileConfig
{
    uint8_t palette, startRow;
    uint8_t reserved[14];
    uint16_t bytesPerRow[16];
    uint8_t rows[16];
};

// In static storage: GCC's _tile_loadconfig tells the compiler it reads one byte only, so a configuration built on
// the stack had its other stores optimised away.
const TileConfig kTileConfig = {1, 0, {}, {64, 64, 64, 64, 64, 64, 64, 64}, {16, 16, 16, 16, 16, 16, 16, 16}};

PATCHCORE_TARGET_AMX void configure()
{
    _tile_loadconfig(&kTileConfig);
}

PATCHCORE_TARGET_AMX void release()
{
    _tile_release();
}

// TDPBF16PS accumulates, for each lane, one product at a time in fp32 (round to nearest even, denormals flushed):
// the error model of vdpbf16ps that Bf16Screen's bound assumes, and toBf16 flushes denormal inputs as both do.
template <int QT, int G>
PATCHCORE_TARGET_AMX void tileDots(const uint32_t* q, size_t qStride, const uint16_t* b, size_t gStride, int pairs,
                                   float* out)
{
    const size_t qBytes = qStride * sizeof(uint32_t), gBytes = gStride * sizeof(uint16_t);
    _tile_zero(0);
    if (G > 1)
        _tile_zero(1);
    if (QT > 1)
    {
        _tile_zero(2);
        if (G > 1)
            _tile_zero(3);
    }
    for (int p = 0; p < pairs; p += kAmxPairs)
    {
        const char* a = reinterpret_cast<const char*>(q + p);
        const char* bp = reinterpret_cast<const char*>(b + static_cast<size_t>(p) * 2 * kAmxQueries);
        _tile_loadd(4, a, qBytes);
        _tile_loadd(6, bp, 64);
        _tile_dpbf16ps(0, 4, 6);
        if (G > 1)
        {
            _tile_loadd(7, bp + gBytes, 64);
            _tile_dpbf16ps(1, 4, 7);
        }
        if (QT > 1)
        {
            _tile_loadd(5, a + kAmxQueries * qBytes, qBytes);
            _tile_dpbf16ps(2, 5, 6);
            if (G > 1)
                _tile_dpbf16ps(3, 5, 7);
        }
    }
    // Query i of tile t, group j at out + ((16 t + i) G + j) 16: rows of the C tiles interleaved by group.
    const size_t rowBytes = G * kAmxQueries * sizeof(float);
    _tile_stored(0, out, rowBytes);
    if (G > 1)
        _tile_stored(1, out + kAmxQueries, rowBytes);
    if (QT > 1)
    {
        float* second = out + kAmxQueries * G * kAmxQueries;
        _tile_stored(2, second, rowBytes);
        if (G > 1)
            _tile_stored(3, second + kAmxQueries, rowBytes);
    }
}

} // namespace

bool AmxTiles::built()
{
    return true;
}

AmxTiles::AmxTiles()
{
    configure();
}

AmxTiles::~AmxTiles()
{
    release();
}

void AmxTiles::dots(const uint32_t* queries, size_t queryStride, int queryTiles, const uint16_t* groups,
                    size_t groupStride, int numGroups, int pairs, float* out) const
{
    CV_DbgAssert(pairs % kAmxPairs == 0 && (queryTiles == 1 || queryTiles == 2) && (numGroups == 1 || numGroups == 2));
    if (queryTiles == 2)
        return numGroups == 2 ? tileDots<2, 2>(queries, queryStride, groups, groupStride, pairs, out)
                              : tileDots<2, 1>(queries, queryStride, groups, groupStride, pairs, out);
    return numGroups == 2 ? tileDots<1, 2>(queries, queryStride, groups, groupStride, pairs, out)
                          : tileDots<1, 1>(queries, queryStride, groups, groupStride, pairs, out);
}

#else

bool AmxTiles::built()
{
    return false;
}

AmxTiles::AmxTiles()
{
    PATCHCORE_ERROR(Error::StsNotImplemented, "this build has no AMX kernels");
}

AmxTiles::~AmxTiles() {}

void AmxTiles::dots(const uint32_t*, size_t, int, const uint16_t*, size_t, int, int, float*) const {}

#endif

} // namespace detail
} // namespace patchcore
} // namespace cv
