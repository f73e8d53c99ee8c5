// Patch and image scores of an embedded image: the nearest bank rows of every patch (paper Eq. 6), the image score as
// the worst patch's, and the paper's Eq. 7 reweighting.
#include "detector_impl.hpp"

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

// Patches re-searched exactly at a time while an approximate index's image score is being made exact.
const int kExactBatch = 8;

} // namespace

DetectorImpl::Scores DetectorImpl::score(const ImageResult& image) const
{
    const Params& p = state_.params;
    Scores out;
    std::vector<Mat> nearest; // per window: the first neighbour's bank row per patch (CV_32S column)
    for (const WindowResult& win : image.windows)
    {
        Mat distSq, indices;
        search_->knn(win.embedding, p.k, distSq, indices);
        Mat grid(win.grid, CV_32F);
        float* scores = grid.ptr<float>();
        for (int r = 0; r < distSq.rows; ++r)
            scores[r] = patchScore(distSq, r, p.k, p.metric);
        out.patchScores.push_back(grid);
        nearest.push_back(indices.col(0).clone());
    }

    // Patches in (window, row) order; the image score is the first patch of the highest score, as an exact search
    // over all patches would find it.
    struct Patch
    {
        int window, row;
    };
    std::vector<Patch> patches;
    for (size_t w = 0; w < image.windows.size(); ++w)
        for (int r = 0; r < image.windows[w].embedding.rows; ++r)
            patches.push_back({static_cast<int>(w), r});
    auto scoreOf = [&](const Patch& q) { return out.patchScores[q.window].ptr<float>()[q.row]; };
    auto worstOf = [&](size_t count) {
        return std::max_element(patches.begin(), patches.begin() + count, [&](const Patch& a, const Patch& b) {
            return scoreOf(a) < scoreOf(b);
        });
    };
    Patch worst = *worstOf(patches.size());

    if (!search_->exact())
    {
        // An approximate index reports true distances to the rows it found, so every patch score is an upper bound
        // of the exact one. Re-search exactly in decreasing order of those bounds until the next bound is below the
        // best exact score so far: then no patch left can reach it, and the image score (and its patch) are exact.
        std::vector<int> order(patches.size());
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(),
                         [&](int a, int b) { return scoreOf(patches[a]) > scoreOf(patches[b]); });
        float best = -1.f;
        size_t done = 0;
        while (done < order.size() && scoreOf(patches[order[done]]) >= best)
        {
            const size_t count = std::min(order.size() - done, static_cast<size_t>(kExactBatch));
            Mat rows(static_cast<int>(count), image.windows[0].embedding.cols, CV_32F), distSq, indices;
            for (size_t i = 0; i < count; ++i)
            {
                const Patch& q = patches[order[done + i]];
                image.windows[q.window].embedding.row(q.row).copyTo(rows.row(static_cast<int>(i)));
            }
            search_->knnExact(rows, p.k, distSq, indices);
            for (size_t i = 0; i < count; ++i)
            {
                const Patch& q = patches[order[done + i]];
                out.patchScores[q.window].ptr<float>()[q.row] = patchScore(distSq, static_cast<int>(i), p.k, p.metric);
                nearest[q.window].at<int>(q.row) = indices.at<int>(static_cast<int>(i), 0);
                best = std::max(best, scoreOf(q));
            }
            done += count;
        }
        // The patches not re-searched keep bounds below `best`, so the first patch of the highest score, as the
        // exact search would pick it, is now among the re-searched ones.
        worst = *worstOf(patches.size());
    }
    out.image = scoreOf(worst);
    if (p.reweight)
    {
        // Paper Eq. 7, in anomalib's form: 1 - softmax over the Euclidean distances from the worst test patch to
        // its nearest bank vector m* and m*'s neighbours in the bank, taken at m*.
        const Mat worstRow = image.windows[worst.window].embedding.row(worst.row);
        const int worstNearest = nearest[worst.window].at<int>(worst.row);
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
