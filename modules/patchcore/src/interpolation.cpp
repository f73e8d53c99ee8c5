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

Mat resizeGridBilinear(const Mat& grid, Size from, Size to)
{
    CV_Assert(grid.type() == CV_32F && grid.rows == from.area() && grid.isContinuous());
    if (from == to)
        return grid.clone();
    const std::vector<LinearTap> ty = linearTaps(from.height, to.height);
    const std::vector<LinearTap> tx = linearTaps(from.width, to.width);
    const int channels = grid.cols;
    Mat out(to.area(), channels, CV_32F);
    tbb::parallel_for(0, to.height, [&](int y) {
        const LinearTap& vy = ty[y];
        for (int x = 0; x < to.width; ++x)
        {
            const LinearTap& vx = tx[x];
            const float* a = grid.ptr<float>(vy.i0 * from.width + vx.i0);
            const float* b = grid.ptr<float>(vy.i0 * from.width + vx.i1);
            const float* c = grid.ptr<float>(vy.i1 * from.width + vx.i0);
            const float* d = grid.ptr<float>(vy.i1 * from.width + vx.i1);
            float* o = out.ptr<float>(y * to.width + x);
            for (int ch = 0; ch < channels; ++ch)
                o[ch] = vy.w0 * (vx.w0 * a[ch] + vx.w1 * b[ch]) + vy.w1 * (vx.w0 * c[ch] + vx.w1 * d[ch]);
        }
    });
    return out;
}

} // namespace detail
} // namespace patchcore
} // namespace cv
