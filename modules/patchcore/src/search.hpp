// Exact k-nearest-neighbour search of patch vectors in the memory bank.
#ifndef OPENCV_PATCHCORE_SEARCH_HPP
#define OPENCV_PATCHCORE_SEARCH_HPP

#include "precomp.hpp"
#include "distance_kernels.hpp"
#include "bank_index.hpp"
#include "search_bf16.hpp"
#include "search_projected.hpp"

namespace cv {
namespace patchcore {
namespace detail {

/** Exact search: candidate neighbours come from GEMM-like squared distances (||q||^2 + ||b||^2 - 2 q.b, blocked and
 *  parallel, SIMD kernels), and the few best candidates of each query are re-ranked by distances computed directly in
 *  double precision, so that cancellation in the GEMM form can neither reorder close neighbours nor bias the
 *  distances. Where the CPU has AVX-512 BF16 the bank is screened with bf16 dot products instead (Bf16Screen: twice
 *  the arithmetic rate, an error bound that keeps every possible neighbour, same results). An fp16 detector's bank
 *  arrives already rounded (Params::bankFp16) and is searched as those values. */
class ExactSearch : public BankIndex
{
public:
    /** `screening`: the screen wanted, where the CPU and the bank's width allow it (createBankIndex() picks it by the
     *  bank's size; SCREEN_FP32 measures or tests the fp32 path). */
    explicit ExactSearch(Screening screening = SCREEN_BF16) : screening_(screening) {}
    /** Keeps `bank` (N x D CV_32F, shared, not copied) and precomputes its squared norms, or its packed bf16 copy
     *  (half its size) for screening. */
    void setBank(const Mat& bank) CV_OVERRIDE;
    /** True when knn() screens with bf16 dot products (at full width or projected). */
    bool screensInBf16() const { return !screen_.empty() || !projected_.empty(); }
    const Mat& bank() const { return bank_; }
    int size() const CV_OVERRIDE { return bank_.rows; }
    bool empty() const { return bank_.empty(); }
    std::string describe() const CV_OVERRIDE
    {
        return !projected_.empty() ? "exact, projected-screened" : screensInBf16() ? "exact, bf16-screened" : "exact";
    }
    /** For each row of `queries` (M x D CV_32F): the k nearest bank rows by squared Euclidean distance, ascending
     *  (ties: lower index first). `distSq` gets M x k CV_32F, `indices` M x k CV_32S. k <= bank rows. */
    void knn(const Mat& queries, int k, Mat& distSq, Mat& indices) const CV_OVERRIDE;
    /** As knn(); also reports the mean number of bank rows ranked in double per query (bf16 screening only, else 0). */
    void knn(const Mat& queries, int k, Mat& distSq, Mat& indices, double& candidatesPerQuery) const;

private:
    Screening screening_;
    Mat bank_;
    std::vector<float> bankNormsSq_;
    ProjectedScreen projected_;
    Bf16Screen screen_;
};

} // namespace detail
} // namespace patchcore
} // namespace cv

#endif
