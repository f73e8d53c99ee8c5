#include "coreset_update.hpp"
#include "search.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_reduce.h>

namespace cv {
namespace patchcore {
namespace detail {

std::vector<int> selectAdditions(const Mat& bank, const Mat& candidates, const Params& params,
                                 const StepCallback& onStep)
{
    CV_Assert(!bank.empty() && !candidates.empty() && bank.cols == candidates.cols);
    const int n = candidates.rows;
    if (params.coresetMethod == CORESET_NONE)
    {
        std::vector<int> all(n);
        for (int i = 0; i < n; ++i)
            all[i] = i;
        return all;
    }
    const int count = coresetSize(n, params.coresetRatio);
    if (params.coresetMethod == CORESET_RANDOM)
        return randomIndices(n, count, static_cast<uint64>(params.seed) + 3);

    const Mat projection = coresetProjection(bank.cols, params);
    const Mat x = projection.empty() ? candidates : projectRows(candidates, projection);
    const Mat centres = projection.empty() ? bank : projectRows(bank, projection);

    // Running squared distance of each candidate to everything selected so far, starting with the bank.
    ExactSearch nearestCentre;
    nearestCentre.setBank(centres);
    Mat distSq, unused;
    nearestCentre.knn(x, 1, distSq, unused);
    std::vector<float> minSq(distSq.ptr<float>(), distSq.ptr<float>() + n);

    struct Farthest
    {
        float d = -1.f;
        int i = -1;
        void consider(float dd, int ii)
        {
            if (dd > d || (dd == d && ii < i))
            {
                d = dd;
                i = ii;
            }
        }
    };
    auto farthest = [&](int centre) {
        return tbb::parallel_reduce(
            tbb::blocked_range<int>(0, n, 1024), Farthest(),
            [&](const tbb::blocked_range<int>& r, Farthest f) {
                for (int i = r.begin(); i < r.end(); ++i)
                {
                    if (centre >= 0)
                        minSq[i] = std::min(minSq[i], static_cast<float>(norm(x.row(i), x.row(centre), NORM_L2SQR)));
                    f.consider(minSq[i], i);
                }
                return f;
            },
            [](Farthest a, const Farthest& b) { a.consider(b.d, b.i); return a; });
    };
    std::vector<int> selected;
    Farthest next = farthest(-1);
    for (int it = 0; it < count && next.d > 0.f; ++it)
    {
        selected.push_back(next.i);
        next = farthest(next.i);
        if (onStep && !onStep(it + 1, count))
            CV_Error(Error::StsError, "patchcore: update cancelled by the progress callback");
    }
    return selected;
}

} // namespace detail
} // namespace patchcore
} // namespace cv
