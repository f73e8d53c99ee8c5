// patchcore train: good images in a folder -> saved detector.
#include "common.hpp"
#include "dataset_folders.hpp"
#include "inspection.hpp"

#include <opencv2/imgcodecs.hpp>

#include <iostream>

namespace patchcore_samples {

int commandTrain(int argc, const char* const* argv)
{
    const std::string keys = std::string("{help h |   | print this help }"
                                         "{@images |   | folder of good images (e.g. <category>/train/good) }"
                                         "{out o   | detector.pcb | where to save: .pcb (binary) or .yml[.gz] }") +
                             kCareMaskOptions + kCalibrationOptions + kDecisionRuleOptions + kDetectorOptions;
    cv::CommandLineParser parser(argc, argv, keys);
    parser.about("patchcore train: build a detector from images of good parts; with --calibrate also its decision "
                 "thresholds, with --care-mask the area it inspects, with --min-region-area, --max-regions and "
                 "--regions-decide its decision rule (all saved with it). Unknown options, extra arguments, an "
                 "unreadable care mask and an --out that cannot be written are reported before training, with exit "
                 "status 2.");
    if (parser.has("help"))
    {
        parser.printMessage();
        return 0;
    }
    checkArguments(argc, argv, keys, "train");
    if (parser.get<std::string>("@images").empty())
    {
        parser.printMessage();
        return 1;
    }
    cv::patchcore::Params params = paramsFromOptions(parser);
    applyCalibrationOptions(parser, params);
    const int engine = engineFromOptions(parser);
    const std::string out = parser.get<std::string>("out");
    if (!parser.check())
    {
        parser.printErrors();
        return 1;
    }
    checkWritableFile(out);
    const CareOptions care = careOptionsFrom(parser);
    const cv::patchcore::DecisionRule rule = decisionRuleFrom(parser, cv::patchcore::DecisionRule());
    const std::vector<std::string> files = listImages(parser.get<std::string>("@images"));
    if (files.empty())
        CV_Error(cv::Error::StsObjectNotFound, "no images in '" + parser.get<std::string>("@images") + "'");
    std::cerr << "training on " << files.size() << " images\n";
    Stopwatch watch;
    auto det = cv::patchcore::Detector::create(params);
    applyEngine(*det, engine);
    applyCareOptions(care, *det);
    det->setDecisionRule(rule);
    det->setProgressCallback(consoleProgress());
    // Decoded a batch at a time by the detector: thousands of images need not be in memory together.
    det->trainFiles(std::vector<cv::String>(files.begin(), files.end()));
    const double seconds = watch.seconds();
    det->save(out);
    std::cout << "trained in " << seconds << " s; memory bank " << det->getMemoryBankSize() << " vectors; saved "
              << out << "\n";
    if (params.calibrationFraction > 0)
    {
        const std::string labels = labelThresholdsText(*det);
        std::cout << "thresholds: image " << det->getImageThreshold() << ", pixel " << det->getPixelThreshold()
                  << (labels.empty() ? "" : "; per care label: " + labels) << "\n";
    }
    return 0;
}

} // namespace patchcore_samples
