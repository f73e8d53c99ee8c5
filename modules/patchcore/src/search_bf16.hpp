// Exact nearest-neighbour search that screens candidates with bf16 dot products (AVX-512 BF16) and ranks them with
// distances computed in double precision. Used by ExactSearch where the CPU has the instructions.
#ifndef OPENCV_PATCHCORE_SEARCH_BF16_HPP
#define OPENCV_PATCHCORE_SEARCH_BF16_HPP

#include "precomp.hpp"

#include <cstdint>
#include <functional>
#include <vector>

namespace cv {
namespace patchcore {
namespace detail {

/** A bf16 copy of the bank, packed for the dot-product kernel, with the rounding error of every row.
 *
 *  Why it is exact: a bf16 dot product runs at twice the rate of fp32 FMAs on CPUs with AVX-512 BF16, but it is off by
 *  up to E = |q| |x - bf16(x)| + |q - bf16(q)| |bf16(x)| + (summation rounding), which these rows bound from above.
 *  Every bank row whose screened distance lies within 2 E of the k-th smallest screened distance is a candidate; that
 *  set provably holds the true k nearest rows, which the candidates' double-precision distances then pick out. */
class Bf16Screen
{
public:
    /** True when the CPU (and PATCHCORE_SIMD) allow the kernel. */
    static bool available();
    /** Packs `bank` (N x D CV_32F, continuous). Returns false, keeping nothing, when a value is not finite: the caller
     *  then searches in fp32, which reports non-finite data itself. `allowAmx` false keeps the AVX-512 BF16 kernel
     *  where AMX is available (to compare the two). */
    bool build(const Mat& bank, bool allowAmx = true);
    void release();
    bool empty() const { return packed_.empty(); }
    /** True when the dot products run on AMX tiles (SIMD_AMX_BF16 and a dimension that fills whole tile rows, a
     *  multiple of 32), else on AVX-512 BF16; the results are the same either way. */
    bool usesAmx() const { return amx_; }

    /** As ExactSearch::knn; `bank` is the CV_32F matrix given to build(), used to rank the candidates.
     *  `candidatesPerQuery`, when given, receives the mean number of rows ranked per query (how tight the bound is). */
    void knn(const Mat& queries, const Mat& bank, int k, Mat& distSq, Mat& indices,
             double* candidatesPerQuery = nullptr) const;

    /** The queries an inverted file sends to each cell of the bank (which build() received cell by cell):
     *  cell c is bank rows [cellRows[c], cellRows[c + 1]); query i probes firstCell[i] (its nearest, screened
     *  before the others) and the cells that list it: cell c lists queries[byCellStart[c] .. byCellStart[c + 1]). */
    struct CellProbes
    {
        std::vector<int> cellRows, firstCell, byCellStart, queries;
        /** The lists for the queries `subset` (all of `probed` when empty), query i of the lists being subset[i]:
         *  probed[q] holds the cells query q probes, its nearest first. */
        static CellProbes of(const std::vector<std::vector<int>>& probed, const std::vector<int>& subset,
                             const std::vector<int>& cellRows);
    };
    /** As knn(), but each query is screened only against the rows of the cells that list it, so the result is exact
     *  over those rows. `rowIds` (bank row -> the caller's row id, or
     *  null) names the rows in `indices` and breaks ties. A query must reach at least k rows. */
    void knnInCells(const Mat& queries, const Mat& bank, int k, const CellProbes& probes, const int* rowIds,
                    Mat& distSq, Mat& indices) const;
    /** Screened distances less |q|^2, without the exact ranking: calls visit(i, d) for every query i, where d[r] =
     *  |x_r|^2 - 2 bf16(q_i).bf16(x_r) for the build()'s rows r (an approximate ranking of the rows for query i:
     *  the inverted file's choice of cells). Queries in fixed blocks, so that a value does not depend on the number
     *  of threads; visit() may be called from several threads at once. */
    void partialDistances(const Mat& queries, const std::function<void(int, const float*)>& visit) const;

private:
    Mat packed_;                 // CV_16U, one row per group of 16 bank rows: [pair][lane][2] bf16
    std::vector<float> normsSq_; // |x|^2 per bank row, padded to whole groups
    int rows_ = 0, dim_ = 0, pairs_ = 0;
    bool amx_ = false;
    double maxRoundingError_ = 0; // max over rows of |x - bf16(x)|
    double maxRoundedNorm_ = 0;   // max over rows of |bf16(x)|
    double maxNormSq_ = 0;        // max over rows of |x|^2
};

} // namespace detail
} // namespace patchcore
} // namespace cv

#endif
