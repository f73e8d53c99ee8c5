// Patch and image scores of an embedded image: the nearest bank rows of every patch (paper Eq. 6), the image score as
// the worst patch's, and the paper's Eq. 7 reweighting.
#include "detector_impl.hpp"
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

} // namespace

DetectorImpl::Scores DetectorImpl::score(const ImageResult& image) const
{
    const Params& p = state_.params;
    // Every scored patch of every window in one list, in (window, row) order, with its first neighbour's bank
    // row. Patches outside the care mask are not searched: their score stays 0.
    std::vector<float> scores;
    std::vector<int> nearest;
    std::vector<std::pair<int, int>> patches; // (window, row)
    for (size_t w = 0; w < image.windows.size(); ++w)
    {
        const WindowResult& win = image.windows[w];
        std::vector<int> rows;
        if (win.care.empty())
        {
            rows.resize(win.embedding.rows);
            std::iota(rows.begin(), rows.end(), 0);
        }
        else
            rows = careRows(win.care);
        if (rows.empty())
            continue;
        Mat distSq, indices;
        search_->knn(careEmbedding(win.embedding, win.care), p.k, distSq, indices);
        for (int r = 0; r < distSq.rows; ++r)
        {
            scores.push_back(patchScore(distSq, r, p.k, p.metric));
            nearest.push_back(indices.at<int>(r, 0));
            patches.emplace_back(static_cast<int>(w), rows[r]);
        }
    }
    if (scores.empty())
        PATCHCORE_ERROR(Error::StsBadArg, "no patch of this image lies in the care area (the detector's care "
                                   "mask and the frame's); a patch counts when its centre falls on a non-zero pixel");
    if (!search_->exact())
    {
        // An approximate index reports true distances to the rows it found, so each patch score is an upper bound
        // of the exact one: re-searching the worst patches exactly makes the image score (and its patch) exact.
        const int dim = image.windows[0].embedding.cols;
        makeMaximumExact(scores, kExactBatch, [&](const std::vector<int>& which, std::vector<float>& exact) {
            Mat rows(static_cast<int>(which.size()), dim, CV_32F), distSq, indices;
            for (size_t i = 0; i < which.size(); ++i)
                image.windows[patches[which[i]].first].embedding.row(patches[which[i]].second).copyTo(
                    rows.row(static_cast<int>(i)));
            search_->knnExact(rows, p.k, distSq, indices);
            for (size_t i = 0; i < which.size(); ++i)
            {
                exact[i] = patchScore(distSq, static_cast<int>(i), p.k, p.metric);
                nearest[which[i]] = indices.at<int>(static_cast<int>(i), 0);
            }
        });
    }
    Scores out;
    for (const WindowResult& win : image.windows)
        out.patchScores.push_back(Mat::zeros(win.grid, CV_32F));
    for (size_t j = 0; j < scores.size(); ++j)
        out.patchScores[patches[j].first].ptr<float>()[patches[j].second] = scores[j];
    // The first patch of the highest score, as in (window, row) order.
    const size_t worst = std::max_element(scores.begin(), scores.end()) - scores.begin();
    out.image = scores[worst];
    if (p.reweight)
    {
        // Paper Eq. 7, in anomalib's form: 1 - softmax over the Euclidean distances from the worst test patch to
        // its nearest bank vector m* and m*'s neighbours in the bank, taken at m*.
        const Mat worstRow = image.windows[patches[worst].first].embedding.row(patches[worst].second);
        const int worstNearest = nearest[worst];
        const int b = std::min(p.reweightNeighbours, state_.bank.rows);
        Mat support, supportIdx;
        search_->knnExact(state_.bank.row(worstNearest), b, support, supportIdx);
        std::vector<double> dist(b);
        double maxDist = 0;
        for (int j = 0; j < b; ++j)
        {
            dist[j] = norm(worstRow, state_.bank.row(supportIdx.at<int>(0, j)), NORM_L2);
            maxDist = std::max(maxDist, dist[j]);
        }
        double denominator = 0;
        for (double d : dist)
            denominator += std::exp(d - maxDist);
        out.image *= 1.0 - std::exp(dist[0] - maxDist) / denominator;
    }
    return out;
}

} // namespace detail
} // namespace patchcore
} // namespace cv
