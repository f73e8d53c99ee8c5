#include "search_bf16_rounding.hpp"

#include "errors.hpp"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>
#define PATCHCORE_ROUNDING_KERNELS 1
#pragma GCC diagnostic ignored "-Wuninitialized"
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#define PATCHCORE_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma")))
#else
#define PATCHCORE_ROUNDING_KERNELS 0
#endif

namespace cv {
namespace patchcore {
namespace detail {

#if PATCHCORE_ROUNDING_KERNELS
// toBf16 and RoundingStats over a row, 16 values at a time (the statistics summed in double in another order, which
// the margin's slack absorbs; the bf16 values are the same bits).
PATCHCORE_TARGET_AVX512 RoundingStats roundRow(const float* q, int dim, uint16_t* h)
{
    __m512d sums[3][2] = {{_mm512_setzero_pd(), _mm512_setzero_pd()},
                          {_mm512_setzero_pd(), _mm512_setzero_pd()},
                          {_mm512_setzero_pd(), _mm512_setzero_pd()}};
    int t = 0;
    for (; t + 16 <= dim; t += 16)
    {
        const __m512i u = _mm512_loadu_si512(q + t);
        const __m512i odd = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
        __m512i v = _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_add_epi32(_mm512_set1_epi32(0x7FFF), odd)), 16);
        const __mmask16 tiny = _mm512_testn_epi32_mask(v, _mm512_set1_epi32(0x7F80));
        v = _mm512_mask_and_epi32(v, tiny, v, _mm512_set1_epi32(0x8000));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(h + t), _mm512_cvtepi32_epi16(v));
        const __m512 x = _mm512_castsi512_ps(u), r = _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
        for (int half = 0; half < 2; ++half)
        {
            const __m256 xs = half ? _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1))
                                   : _mm512_castps512_ps256(x);
            const __m256 rs = half ? _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(r), 1))
                                   : _mm512_castps512_ps256(r);
            const __m512d xd = _mm512_cvtps_pd(xs), rd = _mm512_cvtps_pd(rs), ed = _mm512_sub_pd(xd, rd);
            sums[0][half] = _mm512_fmadd_pd(xd, xd, sums[0][half]);
            sums[1][half] = _mm512_fmadd_pd(rd, rd, sums[1][half]);
            sums[2][half] = _mm512_fmadd_pd(ed, ed, sums[2][half]);
        }
    }
    RoundingStats st;
    st.normSq = _mm512_reduce_add_pd(_mm512_add_pd(sums[0][0], sums[0][1]));
    st.roundedNormSq = _mm512_reduce_add_pd(_mm512_add_pd(sums[1][0], sums[1][1]));
    st.errorSq = _mm512_reduce_add_pd(_mm512_add_pd(sums[2][0], sums[2][1]));
    for (; t < dim; ++t)
    {
        h[t] = toBf16(q[t]);
        st.add(q[t], h[t]);
    }
    return st;
}
#else
RoundingStats roundRow(const float*, int, uint16_t*)
{
    PATCHCORE_ERROR(Error::StsNotImplemented, "this build has no AVX-512 kernels");
}
#endif

} // namespace detail
} // namespace patchcore
} // namespace cv
