// What the sub-commands share for inspection on the line: care masks, calibration and decision-rule options, the
// regions.csv / regions.json files of `predict`, and the marks drawn on overlays (don't-care area, region boxes).
#ifndef PATCHCORE_SAMPLES_INSPECTION_HPP
#define PATCHCORE_SAMPLES_INSPECTION_HPP

#include <opencv2/core.hpp>
#include <opencv2/patchcore.hpp>

#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace patchcore_samples {

/** --care-mask and --care-mask-scale, for the commands that train (cv::CommandLineParser syntax). */
extern const char* const kCareMaskOptions;

/** --calibrate, --far, --pixel-far and --label-far, for the commands that train. */
extern const char* const kCalibrationOptions;

/** --min-region-area, --max-regions and --regions-decide. Their defaults are empty: only the options given change
 *  the detector's cv::patchcore::DecisionRule (decisionRuleFrom()). */
extern const char* const kDecisionRuleOptions;

/** A care mask file as Detector::setCareMask() takes it: read unchanged, so that label values (1, 2, ...) survive,
 *  and required to be 8-bit with one channel (a grey image saved with three equal colour channels is accepted as
 *  that grey image). Throws cv::Exception naming the file and what to change otherwise. */
cv::Mat readCareMask(const std::string& path);

/** What kCareMaskOptions and --label-far ask for, read and checked before any work (a bad mask fails before
 *  training). */
struct CareOptions
{
    cv::Mat mask;                                // empty without --care-mask
    bool scale = false;                          // --care-mask-scale
    std::vector<std::pair<int, double>> labelRates; // --label-far: label, pixel false-alarm target
};

/** The options of kCareMaskOptions and --label-far: the mask read with readCareMask(); throws cv::Exception naming
 *  the option for a malformed or out-of-range value. */
CareOptions careOptionsFrom(const cv::CommandLineParser& parser);

/** Before training: Detector::setCareMask() when there is a mask, then Detector::setLabelFalseAlarmRate() for
 *  every label rate. */
void applyCareOptions(const CareOptions& care, cv::patchcore::Detector& det);

/** Sets calibrationFraction, imageFalseAlarmRate and pixelFalseAlarmRate from kCalibrationOptions. */
void applyCalibrationOptions(const cv::CommandLineParser& parser, cv::patchcore::Params& params);

/** Whether any option of kDecisionRuleOptions was given. */
bool hasDecisionRuleOptions(const cv::CommandLineParser& parser);

/** `rule` with the fields whose options (kDecisionRuleOptions) were given replaced; throws cv::Exception naming the
 *  option for an invalid value. */
cv::patchcore::DecisionRule decisionRuleFrom(const cv::CommandLineParser& parser, cv::patchcore::DecisionRule rule);

/** "label 1 0.52, label 2 0.61": the pixel threshold (Detector::getLabelThreshold()) of every label of the
 *  detector's care mask; empty without a care mask. */
std::string labelThresholdsText(const cv::patchcore::Detector& det);

/** The detector's care mask in the frame of an image of `size`: scaled (nearest neighbour) when the mask scales to
 *  each image, as it is when it has that size; empty when the detector has none (or it cannot apply to `size`). */
cv::Mat careMaskForFrame(const cv::patchcore::Detector& det, cv::Size size);

/** The defect mask Detector::detect() gives, from a map already computed: 255 where the map exceeds the pixel
 *  threshold of the pixel's care label (`care`: careMaskForFrame(); empty: the global pixel threshold). */
cv::Mat defectMaskOf(const cv::patchcore::Detector& det, const cv::Mat& map, const cv::Mat& care);

/** Darkens and hatches the don't-care area (where `care`, the overlay's size, is 0); nothing for an empty mask. */
void drawCareArea(cv::Mat& overlayImage, const cv::Mat& care);

/** Every region's bounding box with its id (1 = the first region, the highest peak), in white over a dark border. */
void drawRegions(cv::Mat& overlayImage, const std::vector<cv::patchcore::Region>& regions);

/** regions.csv (one row per region) and regions.json (one object per image, with its regions) in a folder, written
 *  as the images come so that a video or camera run has them up to its last frame. */
class RegionsWriter
{
public:
    explicit RegionsWriter(const std::string& outDir);
    ~RegionsWriter(); // closes the JSON list

    /** One image (`name` as in scores.csv), its score, decision and regions (ids 1, 2, ... in the order given). */
    void add(const std::string& name, double score, bool decision,
             const std::vector<cv::patchcore::Region>& regions);

    RegionsWriter(const RegionsWriter&) = delete;
    RegionsWriter& operator=(const RegionsWriter&) = delete;

private:
    std::ofstream csv_, json_;
    bool first_ = true;
};

} // namespace patchcore_samples

#endif
