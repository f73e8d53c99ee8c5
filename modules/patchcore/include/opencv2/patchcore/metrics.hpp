// This file is part of the cv::patchcore module.
#ifndef OPENCV_PATCHCORE_METRICS_HPP
#define OPENCV_PATCHCORE_METRICS_HPP

#include <opencv2/core.hpp>

#include <vector>

namespace cv {
namespace patchcore {

//! @addtogroup patchcore
//! @{

/** @brief Evaluation metrics of the published PatchCore tables (image AUROC, pixel AUROC, AUPRO) and F1 thresholds.

All metrics are exact: scores are sorted once and every distinct score value is a threshold, so no binning is
involved and the results do not depend on how many thresholds one would otherwise choose.

Conventions shared by every function:
- A sample (image or pixel) is predicted anomalous at threshold t when its score is >= t.
- Image labels are 0 (normal) or 1 (anomalous); any other value is rejected.
- Anomaly maps are single-channel CV_32F. Ground-truth masks are single-channel and of the same size as their map:
  CV_8U masks mark anomalous pixels where the value is > 0 (so both 0/1 and 0/255 masks work); CV_32F masks mark
  anomalous pixels where the value is > 0.5 (as the reference evaluation binarises resized masks).
- Maps and masks may be passed as a std::vector<Mat> (one entry per test image) or as a single Mat (one image).
- Scores must not be NaN; infinite scores are allowed and ordered as usual.
- Invalid input raises cv::Exception (StsBadArg or StsBadSize) with a message saying what to fix.
*/

/** @brief Area under the ROC curve of image scores (Mann-Whitney U statistic).

Equals the probability that a randomly chosen anomalous sample scores higher than a randomly chosen normal one,
with ties counted as one half. Runs in O(n log n) and is exact (pair counts are accumulated in integers).
@param scores one score per sample, higher meaning more anomalous; no NaN.
@param labels one label per sample: 0 = normal, 1 = anomalous; both classes must occur.
@return AUROC in [0, 1].
*/
CV_EXPORTS_W double imageAUROC(const std::vector<double>& scores, const std::vector<int>& labels);

/** @brief Area under the ROC curve over all pixels of all test images, as in the pixel-level tables.

Every pixel of every map is one sample, labelled by the corresponding mask; ties count one half, as in imageAUROC.
Needs about 4 bytes of extra memory per pixel.
@param anomalyMaps CV_32FC1 anomaly maps, one per image.
@param masks ground-truth masks, CV_8UC1 (anomalous where > 0) or CV_32FC1 (anomalous where > 0.5), same sizes
as the maps. Across all images there must be anomalous and normal pixels.
@return pixel AUROC in [0, 1].
*/
CV_EXPORTS_W double pixelAUROC(InputArrayOfArrays anomalyMaps, InputArrayOfArrays masks);

/** @brief Normalised area under the per-region-overlap curve (AUPRO), up to a false-positive rate of maxFpr.

Ground-truth regions are the 8-connected components of each mask (each image's components are separate regions;
an image whose mask is empty only contributes normal pixels). For a threshold t, with pixels predicted anomalous
where map >= t:
- PRO(t) = mean over all regions of all images of (predicted-anomalous pixels in the region / region size),
  every region weighted equally whatever its size;
- FPR(t) = predicted-anomalous normal pixels / all normal pixels of all images.

The curve runs through (0, 0) (threshold above every score) and one point per distinct score value, ending at
(1, 1). PRO is integrated over FPR in [0, maxFpr] with the trapezoid rule, interpolating linearly at maxFpr, and the
area is divided by maxFpr, so a perfect map scores 1. Because the curve starts at (0, 0) and is interpolated
linearly, a constant map (everything predicted at once) scores maxFpr / 2, not 0.
@param anomalyMaps CV_32FC1 anomaly maps, one per image.
@param masks ground-truth masks, CV_8UC1 (anomalous where > 0) or CV_32FC1 (anomalous where > 0.5), same sizes
as the maps. There must be at least one anomalous region and at least one normal pixel.
@param maxFpr upper end of the integration range, in (0, 1] (default 0.3, as in the published tables).
@return normalised AUPRO in [0, 1].
*/
CV_EXPORTS_W double computePRO(InputArrayOfArrays anomalyMaps, InputArrayOfArrays masks, double maxFpr = 0.3);

/** @brief The threshold that maximises F1, with the precision and recall it achieves. */
struct CV_EXPORTS_W_SIMPLE F1Threshold
{
    /** @brief Sets every field to 0. */
    CV_WRAP F1Threshold() : threshold(0), f1(0), precision(0), recall(0) {}

    /** @brief Samples scoring >= threshold are predicted anomalous; it is one of the input score values. */
    CV_PROP_RW double threshold;
    /** @brief F1 score at that threshold, 2 * precision * recall / (precision + recall). */
    CV_PROP_RW double f1;
    /** @brief True positives / predicted positives at that threshold. */
    CV_PROP_RW double precision;
    /** @brief True positives / actual positives at that threshold. */
    CV_PROP_RW double recall;
};

/** @brief Finds the score threshold with the best F1 over image scores, by an exact sweep over distinct scores.

When several thresholds reach the same best F1, the largest of them is returned (fewest predicted anomalies).
@param scores one score per sample, higher meaning more anomalous; no NaN.
@param labels one label per sample: 0 = normal, 1 = anomalous; at least one sample must be anomalous.
*/
CV_EXPORTS_W F1Threshold bestF1Threshold(const std::vector<double>& scores, const std::vector<int>& labels);

/** @brief Finds the anomaly-map threshold with the best pixel-level F1 over all pixels of all images.

Same sweep and tie rule as bestF1Threshold, with every pixel a sample.
@param anomalyMaps CV_32FC1 anomaly maps, one per image.
@param masks ground-truth masks, CV_8UC1 (anomalous where > 0) or CV_32FC1 (anomalous where > 0.5), same sizes
as the maps; at least one pixel must be anomalous.
*/
CV_EXPORTS_W F1Threshold bestPixelF1Threshold(InputArrayOfArrays anomalyMaps, InputArrayOfArrays masks);

/** @brief Maps scores linearly onto [0, 1] using their minimum and maximum, as the reference does over a test set.

Rank-based metrics (AUROC, AUPRO) are unchanged by it; it only matters when averaging scores of several models.
@param scores the scores to normalise; no NaN and no infinity.
@return (s - min) / (max - min) for every score; all zeros when every score is equal; empty for empty input.
*/
CV_EXPORTS_W std::vector<double> minMaxNormalize(const std::vector<double>& scores);

//! @}

} // namespace patchcore
} // namespace cv

#endif
