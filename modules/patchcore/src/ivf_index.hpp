// Inverted-file index over k-means cells of the memory bank: a sub-linear search for large banks (the paper's Table 5
// uses IVF-PQ for the same purpose), without the PQ step, so that every reported distance stays exact.
#ifndef OPENCV_PATCHCORE_IVF_INDEX_HPP
#define OPENCV_PATCHCORE_IVF_INDEX_HPP

#include "bank_index.hpp"
#include "search_bf16.hpp"
#include "search_projected.hpp"

namespace cv {
namespace patchcore {
namespace detail {

/** The bank is split into k-means cells; a query scans only the `probes` cells whose centroids are nearest to it
 *  (more when those cells hold fewer than k rows), screens them where the CPU has AVX-512 BF16 in a 128-d principal
 *  projection (ProjectedScreen::knnInCells, a lower bound) or at full width (Bf16Screen::knnInCells, the exact
 *  search's error bound; the cells are then chosen by bf16 distances to the centroids too,
 *  Bf16Screen::partialDistances), else with the fp32 kernels in GEMM form, and ranks the candidates in double
 *  precision. A true neighbour is missed only when it lies in a cell that is not probed; with probes == cells the
 *  search is exact.
 *
 *  Memory: setBank() keeps a copy of the bank permuted cell by cell (so that a probe reads contiguous memory, once for
 *  every query that probes the cell), its squared norms, the original row ids and the screen's copy: a packed bf16
 *  copy at full width (about 1.5x the bank's size in all, 6 KB per 1024-d row) or the projected rows in fp32 and bf16
 *  (about 1.2x), on top of the caller's bank, which is shared elsewhere and must not be reordered.
 *
 *  Deterministic: for a given seed, setBank() and knn() give the same results whatever the number of threads. */
class IvfIndex : public BankIndex
{
public:
    /** `cells` 0: autoCells(N). `probes` 0: autoProbes(cells). Both are clamped to the bank at setBank().
     *  `screening`: how the probed cells are screened, where the CPU and the bank's width allow it
     *  (createBankIndex() picks it by the bank's size). */
    explicit IvfIndex(int cells = 0, int probes = 0, uint64 seed = 0, Screening screening = SCREEN_BF16);

    void setBank(const Mat& bank) CV_OVERRIDE;
    void knn(const Mat& queries, int k, Mat& distSq, Mat& indices) const CV_OVERRIDE;
    /** Every cell probed: the true k nearest, for the few queries that must be exact. */
    void knnExact(const Mat& queries, int k, Mat& distSq, Mat& indices) const CV_OVERRIDE;
    bool exact() const CV_OVERRIDE { return probes() >= cells(); }
    int size() const CV_OVERRIDE { return permuted_.rows; }
    std::string describe() const CV_OVERRIDE;

    /** Changes the cells a query probes without rebuilding (clamped to [1, cells]), e.g. to trade recall for time;
     *  not while knn() runs. */
    void setProbes(int probes);
    /** Cells and probes in use (after setBank()). */
    int cells() const { return static_cast<int>(cellStart_.empty() ? 0 : cellStart_.size() - 1); }
    int probes() const { return probesUsed_; }
    /** Rows of cell `c`. */
    int cellSize(int c) const { return cellStart_[c + 1] - cellStart_[c]; }

    /** The automatic rules: cells = sqrt(N), probes = max(8, cells / 16). The detector keeps image scores exact by
     *  re-searching an image's worst patches with knnExact(), so only maps can differ from the exact search; how
     *  much, and the speed, is measured in doc/PERFORMANCE.md ("Inverted-file index"). */
    static int autoCells(int bankRows);
    static int autoProbes(int cells);

private:
    /** Cells a query probes, nearest first: the `probes` nearest non-empty ones, then more until they hold at least
     *  `capacity` rows. `centroidDistance` is indexed by cell. */
    std::vector<int> cellsToProbe(const float* centroidDistance, int probesWanted, int capacity) const;
    /** knn() with `probes` cells probed per query. */
    void search(const Mat& queries, int k, int probes, Mat& distSq, Mat& indices) const;

    int cellsWanted_, probesWanted_, probesUsed_ = 0;
    uint64 seed_;
    Screening screening_;
    ProjectedScreen projected_;         // of permuted_, where the CPU has AVX-512 BF16 and the rows are wide
    Bf16Screen screen_;                 // of permuted_, where the CPU has AVX-512 BF16 and projected_ is not used
    Bf16Screen centroidScreen_;         // of centroids_: the queries' choice of cells, with screen_
    Mat centroids_;                     // cells x D CV_32F
    std::vector<float> centroidNormsSq_;
    Mat permuted_;                      // bank rows cell by cell (CV_32F, N x D)
    std::vector<float> normsSq_;        // of permuted_ rows, for the fp32 scan (the screens keep their own)
    std::vector<int> rowIds_;           // permuted_ row -> caller's bank row
    std::vector<int> cellStart_;        // cells + 1 offsets into permuted_
};

} // namespace detail
} // namespace patchcore
} // namespace cv

#endif
