// This file is part of the cv::patchcore module.
#ifndef OPENCV_PATCHCORE_REGIONS_HPP
#define OPENCV_PATCHCORE_REGIONS_HPP

#include <opencv2/core.hpp>

namespace cv {
namespace patchcore {

//! @addtogroup patchcore
//! @{

/** @brief One defect region: a connected component (8-connected) of the anomaly-map pixels above their pixel
threshold, in the input image's coordinates (Detector::detectRegions). */
struct CV_EXPORTS_W_SIMPLE Region
{
    /** @brief An empty region (label 0, area 0). */
    CV_WRAP Region() : label(0), area(0), peakScore(0), meanScore(0) {}
    /** @brief Care-mask label at the region's peak: the detector's care-mask value there, 255 where the detector
    has no care mask. Selects the pixel threshold the region was cut with (Detector::getLabelThreshold). */
    CV_PROP_RW int label;
    /** @brief Number of pixels. */
    CV_PROP_RW int area;
    /** @brief Bounding box. */
    CV_PROP_RW Rect box;
    /** @brief Centre of mass of the region's pixels (unweighted). */
    CV_PROP_RW Point2d centroid;
    /** @brief Largest anomaly-map value inside the region. */
    CV_PROP_RW double peakScore;
    /** @brief Mean anomaly-map value over the region. */
    CV_PROP_RW double meanScore;
};

/** @brief How a detector turns its scores into a decision and its map into regions; saved with the detector. */
struct CV_EXPORTS_W_SIMPLE DecisionRule
{
    /** @brief The defaults documented below. */
    CV_WRAP DecisionRule() : minRegionArea(1), maxRegions(0), regionsDecide(false) {}
    /** @brief Regions of fewer pixels are dropped (default 1: every region is reported). */
    CV_PROP_RW int minRegionArea;
    /** @brief At most this many regions are reported, the highest peak first (default 0: all of them). */
    CV_PROP_RW int maxRegions;
    /** @brief When true, an image is also rejected when it has a region of at least minRegionArea pixels; when
    false (default), the image score alone decides, as Detector::detect() always did. */
    CV_PROP_RW bool regionsDecide;

    /** @brief Throws cv::Exception naming the first invalid field. */
    void validate() const;
};

//! @}

} // namespace patchcore
} // namespace cv

#endif
