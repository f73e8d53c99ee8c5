// Scoring stage: the nearest bank rows of every patch (paper Eq. 6), the image score as the worst patch's, and the
// paper's Eq. 7 reweighting.
#include "scoring.hpp"
#include "care_mask.hpp"
#include "exact_maximum.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace cv {
namespace patchcore {
namespace detail {

namespace {

// Mean of a row's k nearest distances, in the detector's metric.
float patchScore(const Mat& distSq, int row, int k, int metric)
{
    double sum = 0;
    for (int j = 0; j < k; ++j)
    {
        const double d = distSq.at<float>(row, j);
        sum += metric == DISTANCE_L2 ? std::sqrt(d) : d;
    }
    return static_cast<float>(sum / k);
}

/** Paper Eq. 7, in anomalib's form: 1 - softmax over the Euclidean distances from the worst test patch to its
 *  nearest bank vector m* and m*'s neighbours in the bank, taken at m*. */
double eq7Weight(const Mat& worstRow, int worstNearest, const BankIndex& index, const Mat& bank, int neighbours)
{
    const int b = std::min(neighbours, bank.rows);
    Mat support, supportIdx;
    index.knnExact(bank.row(worstNearest), b, support, supportIdx);
    std::vector<double> dist(b);
    double maxDist = 0;
    for (int j = 0; j < b; ++j)
    {
        dist[j] = norm(worstRow, bank.row(supportIdx.at<int>(0, j)), NORM_L2);
        maxDist = std::max(maxDist, dist[j]);
    }
    double denominator = 0;
    for (double d : dist)
        denominator += std::exp(d - maxDist);
    return 1.0 - std::exp(dist[0] - maxDist) / denominator;
}

} // namespace

ImageScores scoreImage(const std::vector<ScoringWindow>& windows, const BankIndex& index, const Mat& bank, int k,
                       int metric, int reweightNeighbours)
{
    // Every scored patch of every window in one list, in (window, row) order, with its first neighbour's bank
    // row. Patches outside the care mask are not searched: their score stays 0.
    std::vector<float> scores;
    std::vector<int> nearest;
    std::vector<std::pair<int, int>> patches; // (window, row)
    for (size_t w = 0; w < windows.size(); ++w)
    {
        const ScoringWindow& win = windows[w];
        std::vector<int> rows;
        if (win.care->empty())
        {
            rows.resize(win.embedding->rows);
            std::iota(rows.begin(), rows.end(), 0);
        }
        else
            rows = careRows(*win.care);
        if (rows.empty())
            continue;
        Mat distSq, indices;
        index.knn(careEmbedding(*win.embedding, *win.care), k, distSq, indices);
        for (int r = 0; r < distSq.rows; ++r)
        {
            scores.push_back(patchScore(distSq, r, k, metric));
            nearest.push_back(indices.at<int>(r, 0));
            patches.emplace_back(static_cast<int>(w), rows[r]);
        }
    }
    if (scores.empty())
        PATCHCORE_ERROR(Error::StsBadArg, "no patch of this image lies in the care area (the detector's care "
                                          "mask and the frame's); a patch counts when its centre falls on a "
                                          "non-zero pixel");
    if (!index.exact())
    {
        // An approximate index reports true distances to the rows it found, so each patch score is an upper bound
        // of the exact one: re-searching the worst patches exactly makes the image score (and its patch) exact.
        const int dim = windows[0].embedding->cols;
        makeMaximumExact(scores, kExactBatch, [&](const std::vector<int>& which, std::vector<float>& exact) {
            Mat rows(static_cast<int>(which.size()), dim, CV_32F), distSq, indices;
            for (size_t i = 0; i < which.size(); ++i)
                windows[patches[which[i]].first]
                    .embedding->row(patches[which[i]].second)
                    .copyTo(rows.row(static_cast<int>(i)));
            index.knnExact(rows, k, distSq, indices);
            for (size_t i = 0; i < which.size(); ++i)
            {
                exact[i] = patchScore(distSq, static_cast<int>(i), k, metric);
                nearest[which[i]] = indices.at<int>(static_cast<int>(i), 0);
            }
        });
    }
    ImageScores out;
    for (const ScoringWindow& win : windows)
        out.patchScores.push_back(Mat::zeros(win.grid, CV_32F));
    for (size_t j = 0; j < scores.size(); ++j)
        out.patchScores[patches[j].first].ptr<float>()[patches[j].second] = scores[j];
    // The first patch of the highest score, as in (window, row) order.
    const size_t worst = std::max_element(scores.begin(), scores.end()) - scores.begin();
    out.image = scores[worst];
    if (reweightNeighbours > 0)
        out.image *= eq7Weight(windows[patches[worst].first].embedding->row(patches[worst].second), nearest[worst],
                               index, bank, reweightNeighbours);
    return out;
}

} // namespace detail
} // namespace patchcore
} // namespace cv
