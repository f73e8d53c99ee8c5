// Scoring stage: patch scores from a bank index (paper Eq. 6), the image score as the worst patch's, made exact
// when the index is approximate, and the paper's Eq. 7 reweighting. DetectorImpl only hands it embeddings.
#ifndef OPENCV_PATCHCORE_SCORING_HPP
#define OPENCV_PATCHCORE_SCORING_HPP

#include "precomp.hpp"
#include "bank_index.hpp"

namespace cv {
namespace patchcore {
namespace detail {

/** One window of an image to score: its patch vectors, feature grid and care labels (empty: every patch). */
struct ScoringWindow
{
    const Mat* embedding; // grid.area() x dim, row = y * grid.width + x
    Size grid;
    const Mat* care; // CV_8U, grid-sized, or empty
};

/** Patch-score grids (one per window, 0 outside the care area) and the image score. */
struct ImageScores
{
    std::vector<Mat> patchScores;
    double image = 0;
};

/** Scores the windows of one image against `index` (k nearest, `metric`): every care patch's score, the image score
 *  as the largest (exact even when the index is approximate), and with `reweightNeighbours` > 0 the image score
 *  reweighted by Eq. 7 over that many neighbours of the worst patch's nearest bank row (`bank` is the index's).
 *  Throws when no patch lies in the care area. */
ImageScores scoreImage(const std::vector<ScoringWindow>& windows, const BankIndex& index, const Mat& bank, int k,
                       int metric, int reweightNeighbours);

} // namespace detail
} // namespace patchcore
} // namespace cv

#endif
