// Approximate nearest-neighbour search for large banks: a KD-tree over a PCA projection, exact re-ranking.
#ifndef OPENCV_PATCHCORE_APPROXIMATE_SEARCH_HPP
#define OPENCV_PATCHCORE_APPROXIMATE_SEARCH_HPP

#include "bank_index.hpp"

#include <memory>

namespace cv {
namespace patchcore {
namespace detail {

/** Candidates come from a nanoflann KD-tree over the bank's first `projectionDim` principal components (fitted on
 *  at most 20,000 bank rows); the `candidates` nearest in that space are re-ranked by exact double-precision
 *  distances in the full space. Distances returned are exact for the neighbours found; a true neighbour is missed
 *  only when the projection ranks it below `candidates` others. Copies share the index; knn() is thread-safe. */
class ApproximateSearch : public BankIndex
{
public:
    explicit ApproximateSearch(int projectionDim = 32, int candidates = 256);
    /** Keeps `bank` (N x D CV_32F, shared) and builds the index. */
    void setBank(const Mat& bank) CV_OVERRIDE;
    bool empty() const { return bank_.empty(); }
    int size() const CV_OVERRIDE { return bank_.rows; }
    std::string describe() const CV_OVERRIDE { return "approximate: KD-tree over a PCA projection"; }
    /** As ExactSearch::knn (squared distances ascending, ties by index). */
    void knn(const Mat& queries, int k, Mat& distSq, Mat& indices) const CV_OVERRIDE;

private:
    struct Index;
    int projectionDim_, candidates_;
    Mat bank_;
    std::shared_ptr<const Index> index_;
};

} // namespace detail
} // namespace patchcore
} // namespace cv

#endif
