// Bilinear resampling of feature grids with PyTorch's align_corners=false geometry.
#ifndef OPENCV_PATCHCORE_INTERPOLATION_HPP
#define OPENCV_PATCHCORE_INTERPOLATION_HPP

#include "precomp.hpp"

namespace cv {
namespace patchcore {
namespace detail {

/** One output coordinate's two source taps and weights along one axis. */
struct LinearTap
{
    int i0, i1;
    float w0, w1;
};

/** Source taps for resampling `inSize` samples to `outSize` (half-pixel centres, negative coordinates clamped to 0,
 *  exactly as torch.nn.functional.interpolate(mode="bilinear", align_corners=False) computes them). */
std::vector<LinearTap> linearTaps(int inSize, int outSize);

/** Resamples a grid stored as rows: `grid` has from.area() rows (row = y * from.width + x) of any number of CV_32F
 *  columns (channels); returns to.area() rows with the same columns. Works for any channel count, unlike
 *  cv::resize, which is limited to 512 channels. */
Mat resizeGridBilinear(const Mat& grid, Size from, Size to);

/** resizeGridBilinear one output row at a time, so that a caller can consume rows while they are in cache. */
class GridResampler
{
public:
    GridResampler(Size from, Size to);
    /** Output row y (to.width positions) of `grid` (from.area() rows), position x at dst + x * dstStride. */
    void row(const Mat& grid, int y, float* dst, size_t dstStride) const;

private:
    Size from_, to_;
    std::vector<LinearTap> ty_, tx_;
};

} // namespace detail
} // namespace patchcore
} // namespace cv

#endif
