#include "distance_kernels.hpp"

#include <Eigen/Core>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <cpuid.h>
#include <immintrin.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif
#define PATCHCORE_X86_KERNELS 1
// GCC 12's AVX-512 headers initialise their "undefined" vectors from themselves, which -Wuninitialized reports at
// every inlined use; the values are never read.
#pragma GCC diagnostic ignored "-Wuninitialized"
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
// The library is built for generic x86-64; these attributes compile single functions for newer CPUs, and
// simdLevel() only calls them where the CPU has the instructions.
#define PATCHCORE_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))
#define PATCHCORE_TARGET_AVX2 __attribute__((target("avx2,fma,f16c")))
#else
#define PATCHCORE_X86_KERNELS 0
#endif
namespace cv {
namespace patchcore {
namespace detail {

namespace {

typedef Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> RowMatrix;
typedef Eigen::Map<const RowMatrix, 0, Eigen::OuterStride<>> ConstStridedMap;
typedef Eigen::Map<RowMatrix, 0, Eigen::OuterStride<>> StridedMap;

#if PATCHCORE_X86_KERNELS
/** AMX-BF16 and AMX-TILE (CPUID leaf 7 EDX bits 22, 24), the tile state enabled by the OS (XCR0 bits 17-18), and
 *  Linux's permission for this process to use it (arch_prctl ARCH_REQ_XCOMP_PERM; without it the first tile
 *  instruction kills the process). Asked once; any thread may use the tiles afterwards. */
bool amxGranted()
{
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) || !(edx & (1u << 22)) || !(edx & (1u << 24)))
        return false;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & bit_OSXSAVE))
        return false;
    unsigned lo = 0, hi = 0;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & (3u << 17)) != (3u << 17))
        return false;
#if defined(__linux__)
    const long ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18;
    return syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
#else
    return false;
#endif
}
#endif

// The level PATCHCORE_SIMD allows (unset or unknown: no cap).
SimdLevel simdCap()
{
    const char* cap = std::getenv("PATCHCORE_SIMD");
    const std::string s(cap ? cap : "");
    return s == "generic"      ? SIMD_GENERIC
           : s == "avx2"       ? SIMD_AVX2
           : s == "avx512"     ? SIMD_AVX512
           : s == "avx512bf16" ? SIMD_AVX512_BF16
                               : SIMD_AMX_BF16;
}

SimdLevel detectSimd()
{
    const SimdLevel cap = simdCap();
    SimdLevel best = SIMD_GENERIC;
#if PATCHCORE_X86_KERNELS
    __builtin_cpu_init();
    // F16C through cpuid: clang 14's __builtin_cpu_supports does not know the "f16c" feature string.
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    const bool f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C);
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && f16c)
        best = SIMD_AVX2;
    if (best == SIMD_AVX2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl"))
        best = SIMD_AVX512;
    // AVX512_BF16 is leaf 7, sub-leaf 1, EAX bit 5 (older compilers' __builtin_cpu_supports do not name it).
    if (best == SIMD_AVX512 && __get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx) && (eax & (1u << 5)))
        best = SIMD_AVX512_BF16;
    // Only asked of the OS when the cap allows the tiles.
    if (best == SIMD_AVX512_BF16 && cap >= SIMD_AMX_BF16 && amxGranted())
        best = SIMD_AMX_BF16;
#endif
    return std::min(best, cap);
}

#if PATCHCORE_X86_KERNELS

// ---- AVX-512: a tile of R rows of a times C rows of b, each product a full-length dot product. Inner products (not
// BLAS's packed outer products) suit this shape: dim (1024) is long and contiguous, so the horizontal sums at the
// end of each tile cost little, and no packing copy is needed. R x C accumulators stay in registers.
PATCHCORE_TARGET_AVX2 inline float hsum256(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

PATCHCORE_TARGET_AVX512 inline float hsum512(__m512 v)
{
    const __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
    return hsum256(_mm256_add_ps(_mm512_castps512_ps256(v), hi));
}

template <int R, int C>
PATCHCORE_TARGET_AVX512 void tileAvx512(const float* a, size_t sa, const float* b, size_t sb, int dim, float* out,
                                        size_t so)
{
    __m512 acc[R][C];
    for (int r = 0; r < R; ++r)
        for (int c = 0; c < C; ++c)
            acc[r][c] = _mm512_setzero_ps();
    int k = 0;
    for (; k + 16 <= dim; k += 16)
    {
        __m512 bv[C];
        for (int c = 0; c < C; ++c)
            bv[c] = _mm512_loadu_ps(b + c * sb + k);
        for (int r = 0; r < R; ++r)
        {
            const __m512 av = _mm512_loadu_ps(a + r * sa + k);
            for (int c = 0; c < C; ++c)
                acc[r][c] = _mm512_fmadd_ps(av, bv[c], acc[r][c]);
        }
    }
    for (int r = 0; r < R; ++r)
        for (int c = 0; c < C; ++c)
        {
            float s = hsum512(acc[r][c]);
            for (int t = k; t < dim; ++t)
                s += a[r * sa + t] * b[c * sb + t];
            out[r * so + c] = s;
        }
}

// ---- AVX2 + FMA: the same tiles, 8 lanes.
template <int R, int C>
PATCHCORE_TARGET_AVX2 void tileAvx2(const float* a, size_t sa, const float* b, size_t sb, int dim, float* out, size_t so)
{
    __m256 acc[R][C];
    for (int r = 0; r < R; ++r)
        for (int c = 0; c < C; ++c)
            acc[r][c] = _mm256_setzero_ps();
    int k = 0;
    for (; k + 8 <= dim; k += 8)
    {
        __m256 bv[C];
        for (int c = 0; c < C; ++c)
            bv[c] = _mm256_loadu_ps(b + c * sb + k);
        for (int r = 0; r < R; ++r)
        {
            const __m256 av = _mm256_loadu_ps(a + r * sa + k);
            for (int c = 0; c < C; ++c)
                acc[r][c] = _mm256_fmadd_ps(av, bv[c], acc[r][c]);
        }
    }
    for (int r = 0; r < R; ++r)
        for (int c = 0; c < C; ++c)
        {
            float s = hsum256(acc[r][c]);
            for (int t = k; t < dim; ++t)
                s += a[r * sa + t] * b[c * sb + t];
            out[r * so + c] = s;
        }
}

typedef void (*TileFn)(const float*, size_t, const float*, size_t, int, float*, size_t);

// Tile functions indexed [rows - 1][cols - 1]; full 4 x 4 tiles do the work, smaller ones take the edges.
template <bool Avx512>
struct TileTable
{
    template <int R, int C>
    static TileFn pick() { return Avx512 ? &tileAvx512<R, C> : &tileAvx2<R, C>; }
    TileFn fn[4][4] = {{pick<1, 1>(), pick<1, 2>(), pick<1, 3>(), pick<1, 4>()},
                       {pick<2, 1>(), pick<2, 2>(), pick<2, 3>(), pick<2, 4>()},
                       {pick<3, 1>(), pick<3, 2>(), pick<3, 3>(), pick<3, 4>()},
                       {pick<4, 1>(), pick<4, 2>(), pick<4, 3>(), pick<4, 4>()}};
};

template <bool Avx512>
void dotTiles(const float* a, int rowsA, size_t sa, const float* b, int rowsB, size_t sb, int dim, float* out, size_t so)
{
    static const TileTable<Avx512> table;
    // b rows outermost: four of them (16 KB at dim 1024) stay in L1 while the rows of a stream past from L2.
    for (int j = 0; j < rowsB; j += 4)
    {
        const int c = std::min(4, rowsB - j);
        for (int i = 0; i < rowsA; i += 4)
        {
            const int r = std::min(4, rowsA - i);
            table.fn[r - 1][c - 1](a + i * sa, sa, b + j * sb, sb, dim, out + i * so + j, so);
        }
    }
}

template <int C>
PATCHCORE_TARGET_AVX512 inline void accumulateSquares(__m512* acc, const float* const* p, const float* centre, int from,
                                                      int to)
{
    for (int k = from; k < to; k += 16)
    {
        const __m512 cv = _mm512_loadu_ps(centre + k);
        for (int c = 0; c < C; ++c)
        {
            const __m512 d = _mm512_sub_ps(_mm512_loadu_ps(p[c] + k), cv);
            acc[c] = _mm512_fmadd_ps(d, d, acc[c]);
        }
    }
}

// With bounds, the rows stop after half the dimensions when every partial sum already reaches its bound: most rows a
// coreset scan visits are far from the new centre, and their exact distance is never needed. Each lane only grows
// (squares are >= 0 and float addition is monotone), so the full sum would be >= the partial one; when the rows do
// not stop, the sums are formed in exactly the order of the unbounded kernel.
template <int C>
PATCHCORE_TARGET_AVX512 void rowDistancesAvx512(const float* data, int dim, const int* rows, const float* centre,
                                                const float* bounds, float* out)
{
    __m512 acc[C];
    const float* p[C];
    for (int c = 0; c < C; ++c)
    {
        acc[c] = _mm512_setzero_ps();
        p[c] = data + static_cast<size_t>(rows[c]) * dim;
    }
    const int vectorEnd = dim / 16 * 16, half = dim / 32 * 16;
    accumulateSquares<C>(acc, p, centre, 0, half);
    if (bounds)
    {
        float partial[C];
        bool stop = true;
        for (int c = 0; c < C && stop; ++c)
        {
            partial[c] = hsum512(acc[c]);
            stop = partial[c] >= bounds[c];
        }
        if (stop)
        {
            for (int c = 0; c < C; ++c)
                out[c] = partial[c];
            return;
        }
    }
    accumulateSquares<C>(acc, p, centre, half, vectorEnd);
    for (int c = 0; c < C; ++c)
    {
        float s = hsum512(acc[c]);
        for (int t = vectorEnd; t < dim; ++t)
            s += (p[c][t] - centre[t]) * (p[c][t] - centre[t]);
        out[c] = s;
    }
}

template <int C>
PATCHCORE_TARGET_AVX2 void rowDistancesAvx2(const float* data, int dim, const int* rows, const float* centre,
                                            float* out)
{
    __m256 acc[C];
    const float* p[C];
    for (int c = 0; c < C; ++c)
    {
        acc[c] = _mm256_setzero_ps();
        p[c] = data + static_cast<size_t>(rows[c]) * dim;
    }
    int k = 0;
    for (; k + 8 <= dim; k += 8)
    {
        const __m256 cv = _mm256_loadu_ps(centre + k);
        for (int c = 0; c < C; ++c)
        {
            const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(p[c] + k), cv);
            acc[c] = _mm256_fmadd_ps(d, d, acc[c]);
        }
    }
    for (int c = 0; c < C; ++c)
    {
        float s = hsum256(acc[c]);
        for (int t = k; t < dim; ++t)
            s += (p[c][t] - centre[t]) * (p[c][t] - centre[t]);
        out[c] = s;
    }
}

// The rows of a selection step are scattered over the data: asking for the next ones early overlaps their memory
// latency with the arithmetic on the current ones.
// `floats` leading values of each row: with bounds, most rows stop after their first half.
inline void prefetchRows(const float* data, int dim, const int* rows, int count, int floats)
{
    for (int c = 0; c < count; ++c)
    {
        const char* p = reinterpret_cast<const char*>(data + static_cast<size_t>(rows[c]) * dim);
        for (size_t off = 0; off < floats * sizeof(float); off += 64)
            _mm_prefetch(p + off, _MM_HINT_T0);
    }
}

#endif // PATCHCORE_X86_KERNELS

void dotProductsGeneric(const float* a, int rowsA, size_t sa, const float* b, int rowsB, size_t sb, int dim, float* out,
                        size_t so)
{
    const ConstStridedMap am(a, rowsA, dim, Eigen::OuterStride<>(static_cast<Eigen::Index>(sa)));
    StridedMap om(out, rowsA, rowsB, Eigen::OuterStride<>(static_cast<Eigen::Index>(so)));
    const ConstStridedMap bm(b, rowsB, dim, Eigen::OuterStride<>(static_cast<Eigen::Index>(sb)));
    om.noalias() = am * bm.transpose();
}

} // namespace

#if defined(__GNUC__) && !defined(__clang__)
#define PATCHCORE_NO_FP_CONTRACT __attribute__((optimize("fp-contract=off")))
#else
#define PATCHCORE_NO_FP_CONTRACT
#endif

#if PATCHCORE_X86_KERNELS
// The portable loop below, eight lanes at a time: separate multiply and add (contraction into FMA is switched off),
// so that every partial sum is rounded exactly as there and both give the same bits.
static PATCHCORE_TARGET_AVX512 PATCHCORE_NO_FP_CONTRACT double exactDistanceSqAvx512(const float* a, const float* b, int dim)
{
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
    __m512d partial = _mm512_setzero_pd();
    int j = 0;
    for (; j + 8 <= dim; j += 8)
    {
        const __m512d d = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(a + j)), _mm512_cvtps_pd(_mm256_loadu_ps(b + j)));
        partial = _mm512_add_pd(partial, _mm512_mul_pd(d, d));
    }
    alignas(64) double lanes[8];
    _mm512_store_pd(lanes, partial);
    for (int l = 0; j < dim; ++j, ++l)
    {
        const double d = static_cast<double>(a[j]) - b[j];
        lanes[l] += d * d;
    }
    return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
}
#endif

// Rows per projection task: 64 rows (256 KB at 1024 dims) and the 128 projection columns (512 KB) fit in L2.
const int kProjectRows = 64;

Mat projectRows(const Mat& rows, const Mat& projection)
{
    CV_Assert(rows.cols == projection.rows && rows.type() == CV_32F && rows.isContinuous());
    CV_Assert(projection.type() == CV_32F);
    Mat out(rows.rows, projection.cols, CV_32F);
    // Each output is the dot product of a row with a projection column: with the columns stored as rows, the SIMD
    // dot-product kernels of the search do the work (the build itself targets generic x86-64).
    const Mat columns = projection.t();
    tbb::parallel_for(tbb::blocked_range<int>(0, rows.rows, kProjectRows), [&](const tbb::blocked_range<int>& r) {
        dotProducts(rows.ptr<float>(r.begin()), r.end() - r.begin(), rows.cols, columns.ptr<float>(), columns.rows,
                    columns.cols, rows.cols, out.ptr<float>(r.begin()), out.cols);
    });
    return out;
}

PATCHCORE_NO_FP_CONTRACT double exactDistanceSq(const float* a, const float* b, int dim)
{
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
#if PATCHCORE_X86_KERNELS
    if (simdLevel() >= SIMD_AVX512)
        return exactDistanceSqAvx512(a, b, dim);
#endif
    // Eight independent partial sums: the additions pipeline (a single chain waits on each one), and the order is
    // fixed by the code, not by what the compiler vectorises.
    const int lanes = 8;
    double partial[lanes] = {0, 0, 0, 0, 0, 0, 0, 0};
    int j = 0;
    for (; j + lanes <= dim; j += lanes)
        for (int l = 0; l < lanes; ++l)
        {
            const double d = static_cast<double>(a[j + l]) - b[j + l];
            partial[l] += d * d;
        }
    for (int l = 0; j < dim; ++j, ++l)
    {
        const double d = static_cast<double>(a[j]) - b[j];
        partial[l] += d * d;
    }
    return ((partial[0] + partial[1]) + (partial[2] + partial[3])) + ((partial[4] + partial[5]) + (partial[6] + partial[7]));
}

void keepNearest(std::vector<std::pair<double, int>>& candidates, int k, int query, Mat& distSq, Mat& indices)
{
    if (static_cast<int>(candidates.size()) < k)
        PATCHCORE_ERROR(Error::StsError, "a patch vector is not finite (NaN or Inf); check the backbone "
                                         "model and the input image");
    std::partial_sort(candidates.begin(), candidates.begin() + k, candidates.end());
    for (int j = 0; j < k; ++j)
    {
        distSq.at<float>(query, j) = static_cast<float>(candidates[j].first);
        indices.at<int>(query, j) = candidates[j].second;
    }
}

SimdLevel simdLevel()
{
    static const SimdLevel level = detectSimd();
    return level;
}

const char* simdLevelName(SimdLevel level)
{
    return level == SIMD_AMX_BF16      ? "amx-bf16"
           : level == SIMD_AVX512_BF16 ? "avx512bf16"
           : level == SIMD_AVX512    ? "avx512"
           : level == SIMD_AVX2      ? "avx2"
                                     : "generic";
}

void dotProducts(const float* a, int rowsA, size_t strideA, const float* b, int rowsB, size_t strideB, int dim,
                 float* out, size_t outStride)
{
#if PATCHCORE_X86_KERNELS
    const SimdLevel level = simdLevel();
    if (level >= SIMD_AVX512)
        return dotTiles<true>(a, rowsA, strideA, b, rowsB, strideB, dim, out, outStride);
    if (level == SIMD_AVX2)
        return dotTiles<false>(a, rowsA, strideA, b, rowsB, strideB, dim, out, outStride);
#endif
    dotProductsGeneric(a, rowsA, strideA, b, rowsB, strideB, dim, out, outStride);
}

void distancesSqToRows(const float* data, int dim, const int* rows, int count, const float* centre, float* out,
                       const float* bounds)
{
    int j = 0;
#if PATCHCORE_X86_KERNELS
    // Four rows per pass: four independent accumulator chains hide the FMA latency.
    const SimdLevel level = simdLevel();
    if (level >= SIMD_AVX512)
    {
        for (; j + 4 <= count; j += 4)
        {
            prefetchRows(data, dim, rows + j + 4, std::min(4, count - j - 4), bounds ? dim / 2 : dim);
            rowDistancesAvx512<4>(data, dim, rows + j, centre, bounds ? bounds + j : nullptr, out + j);
        }
        for (; j < count; ++j)
            rowDistancesAvx512<1>(data, dim, rows + j, centre, bounds ? bounds + j : nullptr, out + j);
    }
    else if (level == SIMD_AVX2)
    {
        for (; j + 4 <= count; j += 4)
        {
            prefetchRows(data, dim, rows + j + 4, std::min(4, count - j - 4), dim);
            rowDistancesAvx2<4>(data, dim, rows + j, centre, out + j);
        }
        for (; j < count; ++j)
            rowDistancesAvx2<1>(data, dim, rows + j, centre, out + j);
    }
#endif
    const Eigen::Map<const Eigen::VectorXf> c(centre, dim);
    for (; j < count; ++j)
        out[j] = (Eigen::Map<const Eigen::VectorXf>(data + static_cast<size_t>(rows[j]) * dim, dim) - c).squaredNorm();
}

} // namespace detail
} // namespace patchcore
} // namespace cv
