// The exact maximum of scores known only as upper bounds: how an approximate index still gives exact image scores.
#ifndef OPENCV_PATCHCORE_EXACT_MAXIMUM_HPP
#define OPENCV_PATCHCORE_EXACT_MAXIMUM_HPP

#include <algorithm>
#include <limits>
#include <numeric>
#include <vector>

namespace cv {
namespace patchcore {
namespace detail {

/** Entries re-scored at a time: an image needs about this many (doc/PERFORMANCE.md), so one batch usually does. */
const int kExactBatch = 8;

/** Every entry of `scores` is an upper bound of its exact value (an approximate nearest neighbour is never nearer
 *  than the true one). Re-scores entries in decreasing order of their bounds, `batch` at a time, through
 *  `rescore(which, exact)` (fills `exact[i]` for entry `which[i]`), until the next bound is below the best exact
 *  value: no entry left can then reach it, so the largest entry, and the first index that holds it, are exact.
 *  Re-scored entries keep their exact values. Returns the number re-scored. */
template <typename Rescore>
size_t makeMaximumExact(std::vector<float>& scores, int batch, Rescore&& rescore)
{
    std::vector<int> order(scores.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return scores[a] > scores[b]; });
    float best = -std::numeric_limits<float>::infinity();
    size_t done = 0;
    std::vector<int> which;
    std::vector<float> exact;
    // `>=`: a bound equal to the best may hide an exact tie at a lower index, which the exact search would report.
    while (done < order.size() && scores[order[done]] >= best)
    {
        const size_t count = std::min(order.size() - done, static_cast<size_t>(batch));
        which.assign(order.begin() + done, order.begin() + done + count);
        exact.assign(count, 0.f);
        rescore(which, exact);
        for (size_t i = 0; i < count; ++i)
        {
            scores[which[i]] = exact[i];
            best = std::max(best, exact[i]);
        }
        done += count;
    }
    return done;
}

} // namespace detail
} // namespace patchcore
} // namespace cv

#endif
