// Exact k-nearest-neighbour search of patch vectors in the memory bank, and the SIMD distance kernels it shares
// with the coreset selection.
#ifndef OPENCV_PATCHCORE_SEARCH_HPP
#define OPENCV_PATCHCORE_SEARCH_HPP

#include "precomp.hpp"
#include "search_bf16.hpp"

namespace cv {
namespace patchcore {
namespace detail {

/** Instruction set the distance kernels use on this CPU, chosen once at run time so that a generic x86-64 build still
 *  runs AVX-512 / AVX2 code where the CPU has it. The environment variable PATCHCORE_SIMD=avx512bf16|avx512|avx2|generic
 *  caps it (to measure or to rule the kernels out); it can lower the choice, never raise it above what the CPU
 *  supports. */
enum SimdLevel
{
    SIMD_GENERIC = 0,    //!< Eigen, compiled for the build's baseline
    SIMD_AVX2 = 1,       //!< AVX2 + FMA intrinsics
    SIMD_AVX512 = 2,     //!< AVX-512F intrinsics
    SIMD_AVX512_BF16 = 3 //!< AVX-512F, and AVX-512 BF16 dot products to screen search candidates
};
SimdLevel simdLevel();
const char* simdLevelName(SimdLevel level);

/** out[i * outStride + j] = dot(a row i, b row j) for i < rowsA, j < rowsB; rows are `dim` contiguous floats, `strideA`
 *  / `strideB` floats apart. `bHalf` != nullptr: b rows are IEEE fp16 (uint16) instead of `b`. */
void dotProducts(const float* a, int rowsA, size_t strideA, const float* b, const ushort* bHalf, int rowsB,
                 size_t strideB, int dim, float* out, size_t outStride);

/** Squared Euclidean distance in double precision between `a` and `b` (or the fp16 row `bHalf` when not null), summed
 *  in the same order whatever the instruction set, so that rankings do not depend on the CPU. */
double exactDistanceSq(const float* a, const float* b, const ushort* bHalf, int dim);

/** out[j] = squared Euclidean distance from `centre` to row rows[j] of `data` (row-major, `dim` floats per row). */
void distancesSqToRows(const float* data, int dim, const int* rows, int count, const float* centre, float* out);

/** Exact search: candidate neighbours come from GEMM-like squared distances (||q||^2 + ||b||^2 - 2 q.b, blocked and
 *  parallel, SIMD kernels), and the few best candidates of each query are re-ranked by distances computed directly in
 *  double precision, so that cancellation in the GEMM form can neither reorder close neighbours nor bias the
 *  distances. With an fp16 bank the distances are those to the fp16-rounded bank vectors (exact for what is stored).
 *  Where the CPU has AVX-512 BF16, an fp32 bank is screened with bf16 dot products instead (Bf16Screen: twice the
 *  arithmetic rate, an error bound that keeps every possible neighbour, same results). */
class ExactSearch
{
public:
    /** Keeps `bank` (N x D CV_32F, shared, not copied) and precomputes its squared norms. With `fp16`, keeps only a
     *  CV_16F copy instead (half the memory; distances are then those to the rounded vectors). An fp32 bank also gets a
     *  packed bf16 copy (half its size) for screening, unless `bf16Screening` is false or the CPU lacks AVX-512 BF16.
     *  With screening, an fp16 bank is searched as its rounded values in fp32 form (same results, isFp16() false). */
    void setBank(const Mat& bank, bool fp16 = false, bool bf16Screening = true);
    /** True when knn() screens with bf16 dot products (setBank() allowed it and the CPU has AVX-512 BF16). */
    bool screensInBf16() const { return !screen_.empty(); }
    /** The CV_32F bank given to setBank(); empty for an fp16 bank, whose only copy is halfBank(). */
    const Mat& bank() const { return bank_; }
    const Mat& halfBank() const { return bankHalf_; }
    int size() const { return isFp16() ? bankHalf_.rows : bank_.rows; }
    bool empty() const { return bank_.empty() && bankHalf_.empty(); }
    bool isFp16() const { return !bankHalf_.empty(); }

    /** For each row of `queries` (M x D CV_32F): the k nearest bank rows by squared Euclidean distance, ascending
     *  (ties: lower index first). `distSq` gets M x k CV_32F, `indices` M x k CV_32S. k <= bank rows. */
    void knn(const Mat& queries, int k, Mat& distSq, Mat& indices) const;
    /** As knn(); also reports the mean number of bank rows ranked in double per query (bf16 screening only, else 0). */
    void knn(const Mat& queries, int k, Mat& distSq, Mat& indices, double& candidatesPerQuery) const;

private:
    Mat bank_;     // CV_32F rows, or empty for an fp16 bank
    Mat bankHalf_; // CV_16F rows when the bank is stored in fp16
    std::vector<float> bankNormsSq_;
    Bf16Screen screen_;
};

} // namespace detail
} // namespace patchcore
} // namespace cv

#endif
