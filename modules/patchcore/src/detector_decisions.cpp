// Decisions without labelled anomalies: thresholds calibrated on good images, detect(), and update().
#include "detector_impl.hpp"
#include "coreset_update.hpp"
#include "preprocess.hpp"
#include "quantile.hpp"

#include <cmath>
#include <limits>

namespace cv {
namespace patchcore {
namespace detail {

void checkFalseAlarmRates(double imageFalseAlarmRate, double pixelFalseAlarmRate, const char* caller)
{
    if (!(imageFalseAlarmRate > 0 && imageFalseAlarmRate < 1) || !(pixelFalseAlarmRate > 0 && pixelFalseAlarmRate < 1))
        PATCHCORE_ERROR(Error::StsBadArg, std::string(caller) + " needs false-alarm rates in (0, 1), got " +
                                              std::to_string(imageFalseAlarmRate) + " and " +
                                              std::to_string(pixelFalseAlarmRate));
}

void DetectorImpl::calibrate(InputArrayOfArrays goodImagesArg, double imageFalseAlarmRate, double pixelFalseAlarmRate)
{
    requireTrained("calibrate()");
    checkFalseAlarmRates(imageFalseAlarmRate, pixelFalseAlarmRate, "calibrate()");
    calibrateFrom(ImageSource::fromMats(collectImages(goodImagesArg, "calibrate()")), imageFalseAlarmRate,
                  pixelFalseAlarmRate);
}

void DetectorImpl::calibrateFrom(const ImageSource& images, double imageFalseAlarmRate, double pixelFalseAlarmRate)
{
    checkCosts(images, state_.params, "calibrate()");
    std::vector<double> imageScores;
    std::vector<float> pixels;                         // care pixels (all of them without a care mask)
    std::vector<std::vector<float>> byLabel(state_.care.empty() ? 0 : 256); // the same, per care label
    forEachBatch(images, state_.params, "calibrate", "calibration", std::string(),
                 [&](size_t, const std::vector<ImageResult>& batch) {
        for (const ImageResult& r : batch)
        {
            const Scores s = score(r);
            imageScores.push_back(s.image);
            const Mat map = workingMap(r, s);
            CV_Assert(map.isContinuous());
            if (r.workingCare.empty())
            {
                pixels.insert(pixels.end(), map.ptr<float>(), map.ptr<float>() + map.total());
                continue;
            }
            CV_Assert(r.workingCare.isContinuous());
            const uchar* care = r.workingCare.ptr<uchar>();
            const float* value = map.ptr<float>();
            for (size_t i = 0; i < map.total(); ++i)
                if (care[i] != 0)
                {
                    pixels.push_back(value[i]);
                    if (!byLabel.empty())
                        byLabel[care[i]].push_back(value[i]);
                }
        }
    });
    // Scores equal to the threshold count as normal (detect() flags scores strictly above it).
    const double imageThreshold = upperQuantile(imageScores, 1.0 - imageFalseAlarmRate);
    const double pixelThreshold = upperQuantile(pixels, 1.0 - pixelFalseAlarmRate);
    // A label whose pixels the working frame never saw (outside the centre crop) keeps the global threshold.
    std::vector<double> labelThresholds(256, std::numeric_limits<double>::quiet_NaN());
    for (size_t label = 1; label < byLabel.size(); ++label)
        if (!byLabel[label].empty())
        {
            const double target = state_.labelFalseAlarmRates[label];
            labelThresholds[label] = upperQuantile(byLabel[label], 1.0 - (std::isnan(target) ? pixelFalseAlarmRate : target));
        }
    state_.imageThreshold = imageThreshold;
    state_.pixelThreshold = pixelThreshold;
    state_.labelThresholds = labelThresholds;
}

void DetectorImpl::setThresholds(double imageThreshold, double pixelThreshold)
{
    if (!std::isfinite(imageThreshold) || !std::isfinite(pixelThreshold))
        PATCHCORE_ERROR(Error::StsBadArg, "setThresholds() needs finite thresholds");
    state_.imageThreshold = imageThreshold;
    state_.pixelThreshold = pixelThreshold;
    std::fill(state_.labelThresholds.begin(), state_.labelThresholds.end(), std::numeric_limits<double>::quiet_NaN());
}

void DetectorImpl::setMaxImageMB(double maxImageMB)
{
    Params run = state_.params;
    run.maxImageMB = maxImageMB;
    setRunSettings(run);
}

void DetectorImpl::update(InputArrayOfArrays imagesArg)
{
    requireTrained("update()");
    const Mat added = embedAll(ImageSource::fromMats(collectImages(imagesArg, "update()")), "update()");
    const std::vector<int> selected = selectAdditions(state_.bank, added, state_.params, [this](int done, int count) {
        return report("coreset", done, count);
    });
    Mat bank(state_.bank.rows + static_cast<int>(selected.size()), state_.bank.cols, CV_32F);
    state_.bank.copyTo(bank.rowRange(0, state_.bank.rows));
    for (size_t i = 0; i < selected.size(); ++i)
        added.row(selected[i]).copyTo(bank.row(state_.bank.rows + static_cast<int>(i)));
    commitBank(state_.params.bankFp16 ? roundToFp16(bank) : bank, state_.grid);
    report("done", 1, 1, "memory bank: " + std::to_string(state_.bank.rows) + " patch vectors (" +
                             std::to_string(selected.size()) + " added)");
}

} // namespace detail
} // namespace patchcore
} // namespace cv
