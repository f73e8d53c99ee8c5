// Exact nearest-neighbour search that screens the bank in a low-dimensional projection of its principal directions,
// where the distances are a provable lower bound of the full ones, and ranks the few rows that bound leaves open in
// double precision. Used by the inverted file (and the exact search) on wide patch vectors where the CPU has AVX-512
// BF16.
#ifndef OPENCV_PATCHCORE_SEARCH_PROJECTED_HPP
#define OPENCV_PATCHCORE_SEARCH_PROJECTED_HPP

#include "search_bf16.hpp"

#include <vector>

namespace cv {
namespace patchcore {
namespace detail {

/** The bank projected onto its leading principal directions (an orthonormal basis P, D x d), screened there with
 *  Bf16Screen, ranked in full.
 *
 *  Why it is exact: for orthonormal P, |P^T (q - x)| <= |q - x| for every row x. The screen returns a query's T rows
 *  of smallest projected distance, exactly ranked in the projection; their full distances are computed in double,
 *  nearest projection first, until the lower bound of the next projected distance exceeds the k-th smallest full
 *  distance found: no row left, listed or not, can then be nearer. A query the T rows do not settle is screened again
 *  with 4 T. The bound allows for everything rounded: the float basis (its largest singular value), the fp32
 *  projection of each row and query, the float distances returned.
 *
 *  Patch vectors concentrate in few directions (1024-d ResNet taps: 96 % of the variance in 128), so a query needs a
 *  handful of full distances, while the screen reads 8x fewer bytes and does 8x fewer products than the full-width
 *  bf16 screen. On data without such directions the result is the same, only slower (more rounds). */
class ProjectedScreen
{
public:
    /** True when the CPU has the bf16 screen and vectors of `dim` are wide enough to be worth projecting. */
    static bool available(int dim);
    /** The projection's width for vectors of `dim` (0 where not available()). */
    static int dimsFor(int dim);

    /** Finds the basis from (a fixed sample of) `bank` (N x D CV_32F, continuous) and projects and packs every row.
     *  Returns false, keeping nothing, when a value is not finite (the caller's fallback reports it). */
    bool build(const Mat& bank);
    void release();
    bool empty() const { return screen_.empty(); }
    /** Projected rows screened per query in the first round, beyond k. */
    static int extraRows();

    /** As Bf16Screen::knn over all of `bank` (the matrix given to build()); `rowIds` (bank row -> the caller's id, or
     *  null) names the rows in `indices` and breaks ties. `fullDistancesPerQuery`, when given, receives the mean
     *  number of rows ranked in full per query. */
    void knn(const Mat& queries, const Mat& bank, int k, const int* rowIds, Mat& distSq, Mat& indices,
             double* fullDistancesPerQuery = nullptr) const;
    /** As Bf16Screen::knnInCells: query i reaches only the rows of the cells probed[i] (its nearest cell first, then
     *  any order), cell c being bank rows [cellRows[c], cellRows[c + 1]); exact over those rows. */
    void knnInCells(const Mat& queries, const Mat& bank, int k, const std::vector<std::vector<int>>& probed,
                    const std::vector<int>& cellRows, const int* rowIds, Mat& distSq, Mat& indices) const;

private:
    /** Projected queries (m x d CV_32F) and, per query, how far its projection may be off by rounding. */
    void project(const Mat& rows, Mat& projected, std::vector<double>* errors) const;
    /** The search both faces share: `screen(z, subset, t, pd, rows)` fills, for the queries `subset` whose
     *  projections are the rows of z, their t nearest projected rows (pd ascending, rows in the bank's numbering);
     *  `reach[i]` is how many rows query i can reach. */
    template <typename Screen>
    void search(const Mat& queries, const Mat& bank, int k, const std::vector<int>& reach, const int* rowIds,
                Screen&& screen, Mat& distSq, Mat& indices, double* fullDistancesPerQuery) const;

    Mat mean_;                // 1 x D CV_32F, subtracted before projecting
    Mat basisT_;              // d x D CV_32F, the basis as rows
    Mat projected_;           // N x d CV_32F
    Bf16Screen screen_;       // of projected_
    double basisGainSq_ = 1;  // largest squared singular value of the float basis (1 + rounding)
    double errorPerNorm_ = 0; // a projection's rounding error per unit of |row - mean|
    double maxRowError_ = 0;  // the largest over the bank's rows
};

} // namespace detail
} // namespace patchcore
} // namespace cv

#endif
