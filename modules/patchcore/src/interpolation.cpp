#include "interpolation.hpp"

#include <tbb/parallel_for.h>

namespace cv {
namespace patchcore {
namespace detail {

std::vector<LinearTap> linearTaps(int inSize, int outSize)
{
    CV_Assert(inSize > 0 && outSize > 0);
    std::vector<LinearTap> taps(outSize);
    // Computed in float, as PyTorch's CPU kernel does, so that weights agree bit for bit.
    const float scale = static_cast<float>(inSize) / static_cast<float>(outSize);
    for (int o = 0; o < outSize; ++o)
    {
        float src = scale * (static_cast<float>(o) + 0.5f) - 0.5f;
        if (src < 0.f)
            src = 0.f;
        const int i0 = std::min(static_cast<int>(src), inSize - 1);
        const int i1 = i0 + (i0 < inSize - 1 ? 1 : 0);
        const float w1 = src - static_cast<float>(i0);
        taps[o] = LinearTap{i0, i1, 1.f - w1, w1};
    }
    return taps;
}

GridResampler::GridResampler(Size from, Size to)
    : from_(from), to_(to), ty_(linearTaps(from.height, to.height)), tx_(linearTaps(from.width, to.width))
{
}

void GridResampler::row(const Mat& grid, int y, float* dst, size_t dstStride) const
{
    const LinearTap& vy = ty_[y];
    const int channels = grid.cols;
    for (int x = 0; x < to_.width; ++x)
    {
        const LinearTap& vx = tx_[x];
        const float* a = grid.ptr<float>(vy.i0 * from_.width + vx.i0);
        const float* b = grid.ptr<float>(vy.i0 * from_.width + vx.i1);
        const float* c = grid.ptr<float>(vy.i1 * from_.width + vx.i0);
        const float* d = grid.ptr<float>(vy.i1 * from_.width + vx.i1);
        float* o = dst + static_cast<size_t>(x) * dstStride;
        for (int ch = 0; ch < channels; ++ch)
            o[ch] = vy.w0 * (vx.w0 * a[ch] + vx.w1 * b[ch]) + vy.w1 * (vx.w0 * c[ch] + vx.w1 * d[ch]);
    }
}

Mat resizeGridBilinear(const Mat& grid, Size from, Size to)
{
    CV_Assert(grid.type() == CV_32F && grid.rows == from.area() && grid.isContinuous());
    if (from == to)
        return grid.clone();
    const GridResampler resampler(from, to);
    Mat out(to.area(), grid.cols, CV_32F);
    tbb::parallel_for(0, to.height, [&](int y) { resampler.row(grid, y, out.ptr<float>(y * to.width), grid.cols); });
    return out;
}

} // namespace detail
} // namespace patchcore
} // namespace cv
