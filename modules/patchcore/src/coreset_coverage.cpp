// The coverage stop of greedy selection (Params::coresetCoverageStop): where the bank stops growing.
#include "coreset.hpp"
#include "distance_kernels.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>

namespace cv {
namespace patchcore {
namespace detail {

bool coverageFlattened(const std::vector<float>& radiusSq, int t, double gain)
{
    if (gain <= 0 || t < kCoverageMinBank)
        return false;
    CV_Assert(static_cast<size_t>(t) < radiusSq.size());
    // Squared radii: r_t > (1 - gain) r_{t/2} is r_t^2 > (1 - gain)^2 r_{t/2}^2. r_{t/2} > 0, or selection had ended.
    const double keep = 1.0 - gain;
    return static_cast<double>(radiusSq[t]) > keep * keep * static_cast<double>(radiusSq[t / 2]);
}

size_t coveragePrefix(const Mat& projected, const std::vector<int>& starts, const std::vector<int>& selected,
                      double gain)
{
    if (gain <= 0 || selected.size() <= static_cast<size_t>(kCoverageMinBank))
        return selected.size();
    CV_Assert(projected.type() == CV_32F && projected.isContinuous() && !starts.empty());
    const float* x = projected.ptr<float>();
    const int dim = projected.cols;
    // What the selection loop saw before its step t: the t-th point's running minimum, over the start distance and
    // its distances to the t points selected before it.
    std::vector<float> radiusSq(selected.size());
    tbb::parallel_for(tbb::blocked_range<size_t>(0, selected.size(), 64), [&](const tbb::blocked_range<size_t>& r) {
        std::vector<float> d2;
        for (size_t t = r.begin(); t < r.end(); ++t)
        {
            const size_t row = static_cast<size_t>(selected[t]);
            float m = startDistanceSq(x, dim, starts, row, d2);
            d2.resize(t);
            if (t > 0)
                distancesSqToRows(x, dim, selected.data(), static_cast<int>(t), x + row * dim, d2.data());
            for (size_t s = 0; s < t; ++s)
                m = std::min(m, d2[s]);
            radiusSq[t] = m;
        }
    });
    for (size_t t = kCoverageMinBank; t < selected.size(); ++t)
        if (coverageFlattened(radiusSq, static_cast<int>(t), gain))
            return t;
    return selected.size();
}

} // namespace detail
} // namespace patchcore
} // namespace cv
