// Decisions without labelled anomalies: thresholds calibrated on good images, detect(), and update().
#include "detector_impl.hpp"
#include "coreset_update.hpp"
#include "preprocess.hpp"

#include <cmath>

namespace cv {
namespace patchcore {
namespace detail {

namespace {

/** The q-quantile of `values` (q in (0, 1)) as the smallest value with at least q of the values at or below it:
 *  a threshold that flags at most a (1 - q) fraction of these values as above it. Reorders `values`. */
double upperQuantile(std::vector<float>& values, double q)
{
    CV_Assert(!values.empty());
    const size_t n = values.size();
    size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(n)));
    rank = std::min(n, std::max<size_t>(rank, 1)) - 1;
    std::nth_element(values.begin(), values.begin() + rank, values.end());
    return values[rank];
}

} // namespace

void DetectorImpl::calibrate(InputArrayOfArrays goodImagesArg, double imageFalseAlarmRate, double pixelFalseAlarmRate)
{
    requireTrained("calibrate()");
    if (!(imageFalseAlarmRate > 0 && imageFalseAlarmRate < 1) || !(pixelFalseAlarmRate > 0 && pixelFalseAlarmRate < 1))
        CV_Error(Error::StsBadArg, "patchcore: calibrate() needs false-alarm rates in (0, 1)");
    const std::vector<Mat> images = collectImages(goodImagesArg, "calibrate()");
    std::vector<float> imageScores, pixels;
    for (size_t begin = 0; begin < images.size(); begin += state_.params.batchSize)
    {
        const size_t end = std::min(images.size(), begin + static_cast<size_t>(state_.params.batchSize));
        for (const ImageResult& r : extract(images, begin, end))
        {
            const Scores s = score(r);
            imageScores.push_back(static_cast<float>(s.image));
            const Mat map = workingMap(r, s);
            CV_Assert(map.isContinuous());
            pixels.insert(pixels.end(), map.ptr<float>(), map.ptr<float>() + map.total());
        }
        if (!report("calibrate", static_cast<int>(end), static_cast<int>(images.size())))
            CV_Error(Error::StsError, "patchcore: calibration cancelled by the progress callback");
    }
    // Scores equal to the threshold count as normal (detect() flags scores strictly above it).
    const double imageThreshold = upperQuantile(imageScores, 1.0 - imageFalseAlarmRate);
    const double pixelThreshold = upperQuantile(pixels, 1.0 - pixelFalseAlarmRate);
    state_.imageThreshold = imageThreshold;
    state_.pixelThreshold = pixelThreshold;
}

void DetectorImpl::setThresholds(double imageThreshold, double pixelThreshold)
{
    if (!std::isfinite(imageThreshold) || !std::isfinite(pixelThreshold))
        CV_Error(Error::StsBadArg, "patchcore: setThresholds() needs finite thresholds");
    state_.imageThreshold = imageThreshold;
    state_.pixelThreshold = pixelThreshold;
}

bool DetectorImpl::detect(InputArray image, double& score, OutputArray defectMask) const
{
    if (std::isnan(state_.imageThreshold) || std::isnan(state_.pixelThreshold))
        CV_Error(Error::StsError, "patchcore: detect() needs thresholds; call calibrate() with good images, train "
                                  "with Params::calibrationFraction > 0, or setThresholds()");
    Mat map;
    score = predictMap(image, defectMask.needed() ? _OutputArray(map) : _OutputArray(noArray()), FRAME_IMAGE);
    if (defectMask.needed())
    {
        Mat mask = map > state_.pixelThreshold;
        mask.copyTo(defectMask);
    }
    return score > state_.imageThreshold;
}

void DetectorImpl::update(InputArrayOfArrays imagesArg)
{
    requireTrained("update()");
    const std::vector<Mat> images = collectImages(imagesArg, "update()");
    Size grid;
    const Mat added = embedAll(images, &grid);
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
