#include "stitching.hpp"
#include "anomaly_map.hpp"
#include "interpolation.hpp"

namespace cv {
namespace patchcore {
namespace detail {

namespace {

// Weight of one axis of a window: 1 in the interior, ramping up from (almost) 0 at a window edge that lies inside
// the frame. The first half cell next to such an edge gets the floor weight only, because bilinear upsampling clamps
// there (align_corners=false) and would put a flat step into the blend. Edges on the frame border keep full weight.
std::vector<float> axisWeights(int offset, int length, int frameLength, double cell, int ramp)
{
    const float floorWeight = 1e-4f;
    std::vector<float> w(length);
    const bool lowInside = offset > 0, highInside = offset + length < frameLength;
    for (int i = 0; i < length; ++i)
    {
        double d = 1e9;
        if (lowInside)
            d = std::min(d, i + 0.5 - cell / 2);
        if (highInside)
            d = std::min(d, length - i - 0.5 - cell / 2);
        w[i] = static_cast<float>(std::max<double>(floorWeight, std::min(1.0, d / ramp)));
    }
    return w;
}

} // namespace

Mat stitchAnomalyMap(const std::vector<Mat>& patchScores, const std::vector<Rect>& windows, Size frame, double sigma)
{
    CV_Assert(!patchScores.empty() && patchScores.size() == windows.size());
    if (windows.size() == 1 && windows[0] == Rect(Point(), frame))
        return computeAnomalyMap(patchScores[0], frame, sigma);

    Mat sum = Mat::zeros(frame, CV_32F), weight = Mat::zeros(frame, CV_32F);
    const int ramp = std::max(1, std::min(windows[0].width, windows[0].height) / 8);
    for (size_t i = 0; i < windows.size(); ++i)
    {
        const Rect& w = windows[i];
        CV_Assert((w & Rect(Point(), frame)) == w);
        const Mat& grid = patchScores[i];
        const Mat rows = grid.clone().reshape(1, grid.rows * grid.cols);
        const Mat up = resizeGridBilinear(rows, grid.size(), w.size()).reshape(1, w.height);
        const std::vector<float> wx = axisWeights(w.x, w.width, frame.width, double(w.width) / grid.cols, ramp);
        const std::vector<float> wy = axisWeights(w.y, w.height, frame.height, double(w.height) / grid.rows, ramp);
        Mat feather(w.size(), CV_32F);
        for (int y = 0; y < w.height; ++y)
            for (int x = 0; x < w.width; ++x)
                feather.at<float>(y, x) = wy[y] * wx[x];
        Mat s = sum(w), wt = weight(w);
        s += up.mul(feather);
        wt += feather;
    }
    Mat blended;
    divide(sum, weight, blended);
    return gaussianSmooth(blended, sigma);
}

} // namespace detail
} // namespace patchcore
} // namespace cv
