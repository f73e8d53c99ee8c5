// bf16 rounding for the search's screening (Bf16Screen): the rounding itself, the statistics of its error, and the
// per-query margin they bound the screened distances with.
#ifndef OPENCV_PATCHCORE_SEARCH_BF16_ROUNDING_HPP
#define OPENCV_PATCHCORE_SEARCH_BF16_ROUNDING_HPP

#include <cmath>
#include <cstdint>
#include <cstring>

namespace cv {
namespace patchcore {
namespace detail {

const double kUnitRoundoff = 0x1p-24;

// Round to nearest even, as vcvtneps2bf16 does. A result below bf16's normal range becomes zero because vdpbf16ps
// reads denormal inputs as zero; the error bound then sees the value as lost, which it is.
inline uint16_t toBf16(float f)
{
    uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    u += 0x7FFFu + ((u >> 16) & 1u);
    uint16_t h = static_cast<uint16_t>(u >> 16);
    if ((h & 0x7F80u) == 0)
        h &= 0x8000u;
    return h;
}

inline float fromBf16(uint16_t h)
{
    const uint32_t u = static_cast<uint32_t>(h) << 16;
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
}

// Norms of a vector, of its bf16 rounding and of the rounding error, in double.
struct RoundingStats
{
    double normSq = 0, roundedNormSq = 0, errorSq = 0;
    void add(float v, uint16_t h)
    {
        const double x = v, r = fromBf16(h);
        normSq += x * x;
        roundedNormSq += r * r;
        errorSq += (x - r) * (x - r);
    }
};

// Per-query bound on |screened distance - exact distance| over every bank row (see Bf16Screen). Each term is
// rounded up generously; the bound costs candidates, never correctness, when loose.
struct Margin
{
    double dim, maxRoundingError, maxRoundedNorm, maxNormSq;
    double operator()(const RoundingStats& q) const
    {
        const double qNorm = std::sqrt(q.normSq), qRounded = std::sqrt(q.roundedNormSq), qError = std::sqrt(q.errorSq);
        // vdpbf16ps and AMX TDPBF16PS: exact products, one rounding per accumulated product (dim of them per lane).
        const double n = dim + 2, gamma = n * kUnitRoundoff / (1 - n * kUnitRoundoff);
        const double dot = qNorm * maxRoundingError + qError * maxRoundedNorm + gamma * qRounded * maxRoundedNorm;
        // |q|^2 + |x|^2 - 2 dot in fp32: the two norms and two operations, each within one unit roundoff.
        const double combine = 8 * kUnitRoundoff * (q.normSq + maxNormSq + 2 * (1 + gamma) * qRounded * maxRoundedNorm);
        return (2 * dot + combine) * (1 + 1e-6) + 1e-30;
    }
};

/** toBf16 of q[0 .. dim) into h, and their RoundingStats. Needs AVX-512F (Bf16Screen::available()). */
RoundingStats roundRow(const float* q, int dim, uint16_t* h);

} // namespace detail
} // namespace patchcore
} // namespace cv

#endif
