// Exact k-nearest-neighbour search of patch vectors in the memory bank.
#ifndef OPENCV_PATCHCORE_SEARCH_HPP
#define OPENCV_PATCHCORE_SEARCH_HPP

#include "precomp.hpp"
#include "distance_kernels.hpp"
#include "search_bf16.hpp"

namespace cv {
namespace patchcore {
namespace detail {

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
