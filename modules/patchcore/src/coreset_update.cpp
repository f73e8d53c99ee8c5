#include "coreset_update.hpp"
#include "search.hpp"
#include "cuda_dispatch.hpp"

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

    // Each candidate's distance to the nearest bank vector starts its running minimum: the bank counts as already
    // selected. That search (candidates x bank, the stage's heavy part) and the selection loop run on the coreset's
    // device; the CPU loop is the training's own (greedyCoreset's cells, pruned by each candidate's nearest centre).
    const bool cuda = useCuda(params.coresetDevice, "coreset");
    std::shared_ptr<BankIndex> nearestCentre;
    if (cuda)
        nearestCentre = std::make_shared<CudaSearch>();
    else
        nearestCentre = std::make_shared<ExactSearch>();
    nearestCentre->setBank(centres);
    Mat distSq, index;
    nearestCentre->knn(x, 1, distSq, index);
    CV_Assert(distSq.type() == CV_32F && index.type() == CV_32S && distSq.isContinuous() && index.isContinuous());
    std::vector<float> minSq(distSq.ptr<float>(), distSq.ptr<float>() + n);
    if (cuda)
        return greedyContinueCuda(x, minSq, count, onStep);
    std::vector<int> nearest(index.ptr<int>(), index.ptr<int>() + n);
    for (int& c : nearest)
        c += n;
    Mat stacked;
    vconcat(x, centres, stacked);
    return greedyContinue(stacked, n, minSq, nearest, count, onStep);
}

} // namespace detail
} // namespace patchcore
} // namespace cv
