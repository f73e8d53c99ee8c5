#include "reference_rng.hpp"

#include <cmath>
#include <random>

namespace cv {
namespace patchcore {
namespace detail {

Mat torchLinearProjection(int inDim, int outDim, uint32_t seed, int64 drawsBefore)
{
    CV_Assert(inDim > 0 && outDim > 0 && drawsBefore >= 0);
    // torch.manual_seed seeds a standard MT19937 with the seed's low 32 bits.
    std::mt19937 mt(seed);
    mt.discard(static_cast<unsigned long long>(drawsBefore));
    // nn.Linear initialises its weight with kaiming_uniform_(a = sqrt(5)); the bound is computed in double by
    // Python in this order, then rounded to float by uniform_.
    const double a = std::sqrt(5.0);
    const double gain = std::sqrt(2.0 / (1.0 + a * a));
    const double bound = std::sqrt(3.0) * (gain / std::sqrt(static_cast<double>(inDim)));
    const float from = static_cast<float>(-bound), to = static_cast<float>(bound);
    const float range = to - from;
    // torch's uniform_real for float: the low 24 bits of one 32-bit draw scaled to [0, 1), then x * range + from
    // with a single rounding: torch's CPU kernels are built with FMA contraction (two roundings differ in the last
    // bit for about half the draws when the bound is not a power of two).
    const float unit = 1.f / static_cast<float>(1 << 24);
    Mat projection(inDim, outDim, CV_32F);
    for (int o = 0; o < outDim; ++o)
        for (int i = 0; i < inDim; ++i)
        {
            const float x = static_cast<float>(mt() & 0xFFFFFFu) * unit;
            projection.at<float>(i, o) = std::fma(x, range, from);
        }
    return projection;
}

std::vector<int> numpyChoiceWithoutReplacement(int n, int count, uint32_t seed)
{
    CV_Assert(n > 0 && count >= 0 && count <= n);
    // RandomState.seed(int) is MT19937's init_genrand, as std::mt19937's constructor.
    std::mt19937 mt(seed);
    std::vector<int> order(n);
    for (int i = 0; i < n; ++i)
        order[i] = i;
    // RandomState.shuffle: Fisher-Yates from the end, each index drawn by masked rejection sampling
    // (random_interval), which consumes one 32-bit draw per try for ranges below 2^32.
    for (int i = n - 1; i > 0; --i)
    {
        uint32_t mask = static_cast<uint32_t>(i);
        mask |= mask >> 1;
        mask |= mask >> 2;
        mask |= mask >> 4;
        mask |= mask >> 8;
        mask |= mask >> 16;
        uint32_t j;
        do
            j = static_cast<uint32_t>(mt()) & mask;
        while (j > static_cast<uint32_t>(i));
        std::swap(order[i], order[j]);
    }
    order.resize(count);
    return order;
}

} // namespace detail
} // namespace patchcore
} // namespace cv
