#include "coreset.hpp"

#include <Eigen/Core>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/parallel_reduce.h>

#include <cmath>

namespace cv {
namespace patchcore {
namespace detail {

namespace {

typedef Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> RowMatrix;
typedef Eigen::Map<const RowMatrix> ConstRowMap;
typedef Eigen::Map<RowMatrix> RowMap;

ConstRowMap asEigen(const Mat& m)
{
    CV_Assert(m.type() == CV_32F && m.isContinuous());
    return ConstRowMap(m.ptr<float>(), m.rows, m.cols);
}

struct Farthest
{
    float distance = -1.f;
    int index = -1;

    void consider(float d, int i)
    {
        // Strictly greater keeps the lowest index among equals within a range; join() does the same across ranges.
        if (d > distance || (d == distance && i < index))
        {
            distance = d;
            index = i;
        }
    }
};

const int kRowGrain = 1024;

} // namespace

int coresetSize(int n, double ratio)
{
    CV_Assert(n > 0 && ratio > 0 && ratio <= 1);
    return std::max(1, static_cast<int>(n * ratio));
}

Mat randomProjection(int inDim, int outDim, uint64 seed)
{
    CV_Assert(inDim > 0 && outDim > 0);
    RNG rng(seed);
    const float bound = 1.f / std::sqrt(static_cast<float>(inDim));
    Mat projection(inDim, outDim, CV_32F);
    for (int r = 0; r < inDim; ++r)
        for (int c = 0; c < outDim; ++c)
            projection.at<float>(r, c) = rng.uniform(-bound, bound);
    return projection;
}

Mat projectRows(const Mat& rows, const Mat& projection)
{
    CV_Assert(rows.cols == projection.rows);
    Mat out(rows.rows, projection.cols, CV_32F);
    const ConstRowMap w = asEigen(projection);
    const ConstRowMap x = asEigen(rows);
    RowMap y(out.ptr<float>(), out.rows, out.cols);
    tbb::parallel_for(tbb::blocked_range<int>(0, rows.rows, kRowGrain), [&](const tbb::blocked_range<int>& r) {
        const int n = r.end() - r.begin();
        y.middleRows(r.begin(), n).noalias() = x.middleRows(r.begin(), n) * w;
    });
    return out;
}

std::vector<int> randomIndices(int n, int count, uint64 seed)
{
    CV_Assert(n > 0 && count >= 0 && count <= n);
    RNG rng(seed);
    std::vector<int> all(n);
    for (int i = 0; i < n; ++i)
        all[i] = i;
    // Partial Fisher-Yates: the first `count` entries become a uniform random subset.
    for (int i = 0; i < count; ++i)
        std::swap(all[i], all[i + static_cast<int>(rng.uniform(0, n - i))]);
    all.resize(count);
    return all;
}

std::vector<int> greedyCoreset(const Mat& projected, const std::vector<int>& starts, int count,
                               const StepCallback& onStep)
{
    const int n = projected.rows;
    CV_Assert(n > 0 && count > 0 && count <= n && !starts.empty());
    const ConstRowMap x = asEigen(projected);

    // Squared distances throughout: the order of sqrt(a) and sqrt(b) is that of a and b, so the selection is the
    // reference's while the loop saves a square root per point and iteration.
    std::vector<float> minSq(n);
    tbb::parallel_for(tbb::blocked_range<int>(0, n, kRowGrain), [&](const tbb::blocked_range<int>& r) {
        for (int i = r.begin(); i < r.end(); ++i)
        {
            double sum = 0;
            for (int s : starts)
                sum += std::sqrt(static_cast<double>((x.row(i) - x.row(s)).squaredNorm()));
            const double mean = sum / static_cast<double>(starts.size());
            minSq[i] = static_cast<float>(mean * mean);
        }
    });

    auto farthestInitial = tbb::parallel_reduce(
        tbb::blocked_range<int>(0, n, kRowGrain), Farthest(),
        [&](const tbb::blocked_range<int>& r, Farthest f) {
            for (int i = r.begin(); i < r.end(); ++i)
                f.consider(minSq[i], i);
            return f;
        },
        [](Farthest a, const Farthest& b) { a.consider(b.distance, b.index); return a; });

    std::vector<int> selected;
    selected.reserve(count);
    int next = farthestInitial.index;
    const int reportEvery = std::max(1, count / 100);
    for (int it = 0; it < count; ++it)
    {
        if (it > 0 && minSq[next] <= 0.f)
            break; // every point coincides with a selected one
        selected.push_back(next);
        const Eigen::VectorXf centre = x.row(next).transpose();
        // Update the running minimum and find the next farthest point in the same pass over the data.
        Farthest f = tbb::parallel_reduce(
            tbb::blocked_range<int>(0, n, kRowGrain), Farthest(),
            [&](const tbb::blocked_range<int>& r, Farthest local) {
                for (int i = r.begin(); i < r.end(); ++i)
                {
                    const float d = (x.row(i) - centre.transpose()).squaredNorm();
                    if (d < minSq[i])
                        minSq[i] = d;
                    local.consider(minSq[i], i);
                }
                return local;
            },
            [](Farthest a, const Farthest& b) { a.consider(b.distance, b.index); return a; });
        next = f.index;
        if (onStep && ((it + 1) % reportEvery == 0 || it + 1 == count) && !onStep(it + 1, count))
            CV_Error(Error::StsError, "patchcore: coreset selection cancelled by the progress callback");
    }
    return selected;
}

std::vector<int> selectCoreset(const Mat& bank, const Params& params, const StepCallback& onStep)
{
    CV_Assert(!bank.empty() && bank.type() == CV_32F);
    const int n = bank.rows;
    if (params.coresetMethod == CORESET_NONE)
    {
        std::vector<int> all(n);
        for (int i = 0; i < n; ++i)
            all[i] = i;
        return all;
    }
    const int count = coresetSize(n, params.coresetRatio);
    if (params.coresetMethod == CORESET_RANDOM)
        return randomIndices(n, count, static_cast<uint64>(params.seed));
    CV_Assert(params.coresetMethod == CORESET_GREEDY);

    // One generator drives both random choices so that a seed fixes the whole selection.
    const uint64 seed = static_cast<uint64>(params.seed);
    const bool project = params.projectionDim > 0 && params.projectionDim < bank.cols;
    const Mat projected = project ? projectRows(bank, randomProjection(bank.cols, params.projectionDim, seed)) : bank;
    const std::vector<int> starts = randomIndices(n, std::min(n, params.numStarts), seed + 1);
    return greedyCoreset(projected, starts, count, onStep);
}

} // namespace detail
} // namespace patchcore
} // namespace cv
