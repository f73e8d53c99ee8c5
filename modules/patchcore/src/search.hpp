// Exact k-nearest-neighbour search of patch vectors in the memory bank.
#ifndef OPENCV_PATCHCORE_SEARCH_HPP
#define OPENCV_PATCHCORE_SEARCH_HPP

#include "precomp.hpp"

namespace cv {
namespace patchcore {
namespace detail {

/** Exact search: candidate neighbours come from GEMM-based squared distances (||q||^2 + ||b||^2 - 2 q.b, blocked
 *  and parallel), and the few best candidates of each query are re-ranked by distances computed directly in double
 *  precision, so that cancellation in the GEMM form can neither reorder close neighbours nor bias the distances. */
class ExactSearch
{
public:
    /** Keeps `bank` (N x D CV_32F, shared, not copied) and precomputes its squared norms. */
    void setBank(const Mat& bank);
    const Mat& bank() const { return bank_; }
    bool empty() const { return bank_.empty(); }

    /** For each row of `queries` (M x D CV_32F): the k nearest bank rows by squared Euclidean distance, ascending
     *  (ties: lower index first). `distSq` gets M x k CV_32F, `indices` M x k CV_32S. k <= bank rows. */
    void knn(const Mat& queries, int k, Mat& distSq, Mat& indices) const;

private:
    Mat bank_;
    std::vector<float> bankNormsSq_;
};

} // namespace detail
} // namespace patchcore
} // namespace cv

#endif
