// Anomaly map: patch-score grid -> smoothed map on the backbone's input frame.
#ifndef OPENCV_PATCHCORE_ANOMALY_MAP_HPP
#define OPENCV_PATCHCORE_ANOMALY_MAP_HPP

#include "precomp.hpp"

namespace cv {
namespace patchcore {
namespace detail {

/** Gaussian smoothing as scipy.ndimage.gaussian_filter(sigma, truncate=4) does it: 2 * int(4 sigma + 0.5) + 1 taps,
 *  border mode "reflect" (cv::BORDER_REFLECT). sigma = 0 returns a copy. */
Mat gaussianSmooth(const Mat& map, double sigma);

/** Patch scores (grid-sized CV_32F) -> bilinear (align_corners=false) to `frame`, then gaussianSmooth. */
Mat computeAnomalyMap(const Mat& patchScores, Size frame, double sigma);

} // namespace detail
} // namespace patchcore
} // namespace cv

#endif
