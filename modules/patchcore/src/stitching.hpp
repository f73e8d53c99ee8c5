// Assembling one anomaly map from the patch scores of several backbone windows (tiles) of a working frame.
#ifndef OPENCV_PATCHCORE_STITCHING_HPP
#define OPENCV_PATCHCORE_STITCHING_HPP

#include "precomp.hpp"

namespace cv {
namespace patchcore {
namespace detail {

/** Each window's patch-score grid (CV_32F, any grid size) is upsampled bilinearly (align_corners=false) to its
 *  window, the windows are blended into `frame` with weights that fade towards window edges inside the frame (so that overlapping
 *  tiles meet without seams), and the result is smoothed once with gaussianSmooth(sigma). With one window covering
 *  the frame this is exactly computeAnomalyMap(). */
Mat stitchAnomalyMap(const std::vector<Mat>& patchScores, const std::vector<Rect>& windows, Size frame, double sigma);

} // namespace detail
} // namespace patchcore
} // namespace cv

#endif
