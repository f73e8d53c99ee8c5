#include "anomaly_map.hpp"
#include "interpolation.hpp"

namespace cv {
namespace patchcore {
namespace detail {

Mat gaussianSmooth(const Mat& map, double sigma)
{
    CV_Assert(map.type() == CV_32F && sigma >= 0);
    if (sigma == 0)
        return map.clone();
    const int radius = static_cast<int>(4.0 * sigma + 0.5);
    const Mat kernel = getGaussianKernel(2 * radius + 1, sigma, CV_64F);
    Mat smoothed;
    // A double-precision kernel applied with sepFilter2D keeps the weights as scipy computes them.
    sepFilter2D(map, smoothed, CV_32F, kernel, kernel, Point(-1, -1), 0, BORDER_REFLECT);
    return smoothed;
}

Mat computeAnomalyMap(const Mat& patchScores, Size frame, double sigma)
{
    CV_Assert(patchScores.type() == CV_32F && !patchScores.empty());
    const Size grid = patchScores.size();
    Mat rows = patchScores.isContinuous() ? patchScores.reshape(1, grid.area()) : patchScores.clone().reshape(1, grid.area());
    Mat upsampled = resizeGridBilinear(rows, grid, frame).reshape(1, frame.height);
    return gaussianSmooth(upsampled, sigma);
}

} // namespace detail
} // namespace patchcore
} // namespace cv
