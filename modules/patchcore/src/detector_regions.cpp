// Inspection on the line: the care mask, per-label thresholds, the decision rule, detect() and detectRegions().
#include "detector_impl.hpp"
#include "regions.hpp"

#include <cmath>
#include <limits>

namespace cv {
namespace patchcore {
namespace detail {

namespace {

void requireThresholds(const DetectorState& state, const char* operation)
{
    if (std::isnan(state.imageThreshold) || std::isnan(state.pixelThreshold))
        PATCHCORE_ERROR(Error::StsError,
                        std::string(operation) +
                            " needs thresholds; call calibrate() with "
                            "good images, train with Params::calibrationFraction > 0, or setThresholds()");
}

void checkLabel(int label, const char* operation)
{
    if (label < 1 || label > 255)
        PATCHCORE_ERROR(Error::StsOutOfRange, std::string(operation) +
                                                  ": care-mask labels are 1..255 (0 "
                                                  "is don't care), got " +
                                                  std::to_string(label));
}

} // namespace

void DetectorImpl::setCareMask(InputArray mask, bool scaleToImage)
{
    const Mat labels = checkCareMask(mask, "setCareMask()");
    state_.care.labels = labels.clone();
    state_.care.scales = scaleToImage;
}

void DetectorImpl::clearCareMask()
{
    state_.care = CareMask();
    const double nan = std::numeric_limits<double>::quiet_NaN();
    std::fill(state_.labelThresholds.begin(), state_.labelThresholds.end(), nan);
    std::fill(state_.labelFalseAlarmRates.begin(), state_.labelFalseAlarmRates.end(), nan);
}

void DetectorImpl::setLabelFalseAlarmRate(int label, double rate)
{
    checkLabel(label, "setLabelFalseAlarmRate()");
    if (!(rate > 0 && rate < 1))
        PATCHCORE_ERROR(Error::StsOutOfRange,
                        "setLabelFalseAlarmRate() needs a rate in (0, 1), got " + std::to_string(rate));
    state_.labelFalseAlarmRates[label] = rate;
}

double DetectorImpl::getLabelThreshold(int label) const
{
    checkLabel(label, "getLabelThreshold()");
    return thresholdOf(label, state_.pixelThreshold, state_.labelThresholds);
}

void DetectorImpl::setLabelThreshold(int label, double threshold)
{
    checkLabel(label, "setLabelThreshold()");
    if (!std::isfinite(threshold))
        PATCHCORE_ERROR(Error::StsBadArg, "setLabelThreshold() needs a finite threshold");
    state_.labelThresholds[label] = threshold;
}

void DetectorImpl::setDecisionRule(const DecisionRule& rule)
{
    rule.validate();
    state_.rule = rule;
}

double DetectorImpl::predictMasked(InputArray image, InputArray careMask, OutputArray anomalyMap) const
{
    const Mat frame = checkCareMask(careMask, "predictMasked()");
    Mat map;
    const double s = scoreOne(singleImage(image, "predictMasked()"), frame, anomalyMap.needed() ? &map : nullptr,
                              FRAME_IMAGE, "predictMasked()");
    if (anomalyMap.needed())
        map.copyTo(anomalyMap);
    return s;
}

bool DetectorImpl::detectRegions(InputArray image, std::vector<Region>& regions, double& score, InputArray careMask,
                                 OutputArray anomalyMap) const
{
    requireThresholds(state_, "detectRegions()");
    const Mat img = singleImage(image, "detectRegions()");
    const Mat frame = careMask.empty() ? Mat() : checkCareMask(careMask, "detectRegions()");
    Mat map, care;
    const double s = scoreOne(img, frame, &map, FRAME_IMAGE, "detectRegions()", &care);
    regions = findRegions(map, defectPixels(map, care, state_.pixelThreshold, state_.labelThresholds), care,
                          state_.rule);
    score = s;
    if (anomalyMap.needed())
        map.copyTo(anomalyMap);
    return s > state_.imageThreshold || (state_.rule.regionsDecide && !regions.empty());
}

bool DetectorImpl::detect(InputArray image, double& score, OutputArray defectMask) const
{
    requireThresholds(state_, "detect()");
    const Mat img = singleImage(image, "detect()");
    const bool needMap = defectMask.needed() || state_.rule.regionsDecide;
    Mat map, care;
    score = scoreOne(img, Mat(), needMap ? &map : nullptr, FRAME_IMAGE, "detect()", &care);
    bool reject = score > state_.imageThreshold;
    if (!needMap)
        return reject;
    const Mat defect = defectPixels(map, care, state_.pixelThreshold, state_.labelThresholds);
    if (state_.rule.regionsDecide)
        reject = reject || !findRegions(map, defect, care, state_.rule).empty();
    if (defectMask.needed())
        defect.copyTo(defectMask);
    return reject;
}

} // namespace detail
} // namespace patchcore
} // namespace cv
