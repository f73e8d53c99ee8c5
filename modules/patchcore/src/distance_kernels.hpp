// SIMD distance kernels, chosen at run time for the CPU: dot-product tiles, distances to scattered rows, and the
// double-precision distance that ranks search candidates. Shared by the search and the coreset selection.
#ifndef OPENCV_PATCHCORE_DISTANCE_KERNELS_HPP
#define OPENCV_PATCHCORE_DISTANCE_KERNELS_HPP

#include "precomp.hpp"

namespace cv {
namespace patchcore {
namespace detail {

/** Instruction set the distance kernels use on this CPU, chosen once at run time so that a generic x86-64 build still
 *  runs AVX-512 / AVX2 code where the CPU has it. The environment variable
 *  PATCHCORE_SIMD=amx|avx512bf16|avx512|avx2|generic caps it (to measure or to rule the kernels out); it can lower the
 *  choice, never raise it above what the CPU (and, for AMX, the operating system) supports. */
enum SimdLevel
{
    SIMD_GENERIC = 0,    //!< Eigen, compiled for the build's baseline
    SIMD_AVX2 = 1,       //!< AVX2 + FMA intrinsics
    SIMD_AVX512 = 2,     //!< AVX-512F intrinsics
    SIMD_AVX512_BF16 = 3, //!< AVX-512F, and AVX-512 BF16 dot products to screen search candidates
    SIMD_AMX_BF16 = 4     //!< as SIMD_AVX512_BF16, the screening's dot products on AMX tiles (Linux grants the state)
};
SimdLevel simdLevel();
const char* simdLevelName(SimdLevel level);

/** out[i * outStride + j] = dot(a row i, b row j) for i < rowsA, j < rowsB; rows are `dim` contiguous floats, `strideA`
 *  / `strideB` floats apart. */
void dotProducts(const float* a, int rowsA, size_t strideA, const float* b, int rowsB, size_t strideB, int dim,
                 float* out, size_t outStride);

/** rows * projection (rows: N x D CV_32F, continuous; projection: D x d CV_32F) through dotProducts, in blocks of rows
 *  in parallel; each value is computed the same way whatever the number of threads. */
Mat projectRows(const Mat& rows, const Mat& projection);

/** Squared Euclidean distance in double precision between `a` and `b`, summed in the same order whatever the
 *  instruction set, so that rankings do not depend on the CPU. */
double exactDistanceSq(const float* a, const float* b, int dim);

/** The last step of every search: orders a query's candidates, (double-precision squared distance, bank row), by
 *  distance then row, and writes the k first into row `query` of `distSq` (CV_32F) and `indices` (CV_32S). Fewer than
 *  k candidates means non-finite vectors (their distances never compare), which is reported as such. */
void keepNearest(std::vector<std::pair<double, int>>& candidates, int k, int query, Mat& distSq, Mat& indices);

/** out[j] = squared Euclidean distance from `centre` to row rows[j] of `data` (row-major, `dim` floats per row).
 *  With `bounds`, a caller that only asks "is it below bounds[j]?" lets a row stop early: out[j] is then a partial sum
 *  >= bounds[j] (the full distance, as computed without bounds, is at least as large); below its bound, or when the
 *  kernel does not stop, out[j] is exactly the full distance. */
void distancesSqToRows(const float* data, int dim, const int* rows, int count, const float* centre, float* out,
                       const float* bounds = nullptr);

} // namespace detail
} // namespace patchcore
} // namespace cv

#endif
