// Thresholds from the score distribution of good images, shared by Detector and Ensemble calibration.
#ifndef OPENCV_PATCHCORE_QUANTILE_HPP
#define OPENCV_PATCHCORE_QUANTILE_HPP

#include "precomp.hpp"

#include <algorithm>
#include <cmath>

namespace cv {
namespace patchcore {
namespace detail {

/** The q-quantile of `values` (q in (0, 1)) as the smallest value with at least q of the values at or below it:
 *  a threshold that flags at most a (1 - q) fraction of these values as above it. Reorders `values`. The values
 *  keep their own type so that the threshold is exactly one of them: a rounded copy could fall below its source
 *  and flag it. */
template <typename T> double upperQuantile(std::vector<T>& values, double q)
{
    CV_Assert(!values.empty());
    const size_t n = values.size();
    size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(n)));
    rank = std::min(n, std::max<size_t>(rank, 1)) - 1;
    std::nth_element(values.begin(), values.begin() + rank, values.end());
    return static_cast<double>(values[rank]);
}

/** Throws, naming `caller`, unless both false-alarm rates lie in (0, 1). */
void checkFalseAlarmRates(double imageFalseAlarmRate, double pixelFalseAlarmRate, const char* caller);

} // namespace detail
} // namespace patchcore
} // namespace cv

#endif
