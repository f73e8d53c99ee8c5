// Defect regions: the anomaly-map pixels above their care label's threshold, grouped into measured components.
#ifndef OPENCV_PATCHCORE_REGIONS_INTERNAL_HPP
#define OPENCV_PATCHCORE_REGIONS_INTERNAL_HPP

#include "precomp.hpp"

#include <vector>

namespace cv {
namespace patchcore {
namespace detail {

/** The threshold of `label`: labelThresholds[label] when set (not NaN), else `global`. */
double thresholdOf(int label, double global, const std::vector<double>& labelThresholds);

/** Defect pixels (CV_8U, 255) of `map`: above the threshold of their label in `care` (CV_8U labels, 0 = never a
 *  defect), or above `global` everywhere when `care` is empty. */
Mat defectPixels(const Mat& map, const Mat& care, double global, const std::vector<double>& labelThresholds);

/** The 8-connected components of `defect`, measured on `map` (CV_32F, same size), labelled from `care` at their
 *  peak (kDefaultCareLabel when `care` is empty), those of at least rule.minRegionArea pixels, highest peak first
 *  (ties: top-left first), at most rule.maxRegions (0 = all). */
std::vector<Region> findRegions(const Mat& map, const Mat& defect, const Mat& care, const DecisionRule& rule);

} // namespace detail
} // namespace patchcore
} // namespace cv

#endif
