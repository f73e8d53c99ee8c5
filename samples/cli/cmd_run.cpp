// patchcore run: the whole job on one MVTec-layout category (train, save, score the test split, heat maps).
#include "common.hpp"
#include "dataset_folders.hpp"
#include "inspection.hpp"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/patchcore/metrics.hpp>

#include <fstream>
#include <iomanip>
#include <iostream>

namespace patchcore_samples {

int commandRun(int argc, const char* const* argv)
{
    const std::string keys = std::string("{help h  |   | print this help }"
                                         "{@category |  | MVTec-layout folder: train/good, test/<type>, ground_truth }"
                                         "{out o    | out | output folder }") +
                             kCareMaskOptions + kCalibrationOptions + kDetectorOptions;
    cv::CommandLineParser parser(argc, argv, keys);
    parser.about("patchcore run: train on <category>/train/good, score <category>/test, write heat maps. With "
                 "--calibrate, prints the false-alarm and miss rates on the test split. Unreadable test images are skipped and named on stderr; the exit status is 3 when none could be "
                 "read, 2 for unknown options, extra arguments or an output folder that cannot be written.");
    if (parser.has("help"))
    {
        parser.printMessage();
        return 0;
    }
    checkArguments(argc, argv, keys, "run");
    if (parser.get<std::string>("@category").empty())
    {
        parser.printMessage();
        return 1;
    }
    const std::string root = parser.get<std::string>("@category"), outDir = parser.get<std::string>("out");
    cv::patchcore::Params params = paramsFromOptions(parser);
    const int engine = engineFromOptions(parser);
    applyCalibrationOptions(parser, params);

    const std::vector<std::string> trainFiles = listImages(root + "/train/good");
    const std::vector<TestImage> tests = listTestImages(root);
    if (trainFiles.empty() || tests.empty())
        CV_Error(cv::Error::StsObjectNotFound, "'" + root + "' has no train/good or test images");
    makeWritableFolder(outDir + "/overlays");
    checkWritableFile(outDir + "/detector.pcb");
    const CareOptions care = careOptionsFrom(parser);

    std::vector<cv::Mat> train;
    for (const std::string& f : trainFiles)
    {
        train.push_back(cv::imread(f, cv::IMREAD_UNCHANGED));
        if (train.back().empty())
            CV_Error(cv::Error::StsObjectNotFound, "cannot read training image '" + f + "'");
    }
    std::cerr << "training on " << train.size() << " images of " << root << "\n";
    Stopwatch trainWatch;
    auto det = cv::patchcore::Detector::create(params);
    applyEngine(*det, engine);
    applyCareOptions(care, *det);
    det->setProgressCallback(consoleProgress());
    det->train(train);
    const double trainSeconds = trainWatch.seconds();
    det->save(outDir + "/detector.pcb");

    // Only the test images that could be read: an unreadable one is named and left out of every figure below.
    std::vector<TestImage> scored;
    std::vector<double> scores;
    std::vector<int> labels;
    std::vector<cv::Mat> maps;
    det->setProgressCallback(cv::patchcore::ProgressCallback());
    Stopwatch predictWatch;
    double vmax = 0;
    bool midLine = false; // the progress line has no newline yet
    for (size_t i = 0; i < tests.size(); ++i)
    {
        const cv::Mat img = cv::imread(tests[i].path, cv::IMREAD_UNCHANGED);
        if (img.empty())
        {
            std::cerr << (midLine ? "\n" : "") << "skipping unreadable image " << tests[i].path << "\n";
            midLine = false;
            continue;
        }
        maps.emplace_back();
        scores.push_back(det->predict(img, maps.back()));
        labels.push_back(tests[i].label);
        scored.push_back(tests[i]);
        vmax = std::max(vmax, scores.back());
        std::cerr << "\r  predict: " << i + 1 << " / " << tests.size() << std::flush;
        midLine = true;
    }
    const double predictSeconds = predictWatch.seconds() / std::max<size_t>(scored.size(), 1);
    if (midLine)
        std::cerr << "\n";

    std::ofstream csv(outDir + "/scores.csv");
    csv << "image,anomaly_type,label,score,map_max\n" << std::setprecision(9);
    for (size_t i = 0; i < scored.size(); ++i)
    {
        double mapMax = 0;
        cv::minMaxLoc(maps[i], nullptr, &mapMax);
        csv << scored[i].relative << "," << scored[i].type << "," << scored[i].label << "," << scores[i] << ","
            << mapMax << "\n";
        cv::Mat out = overlay(cv::imread(scored[i].path), maps[i], vmax);
        drawCareArea(out, careMaskForFrame(*det, out.size()));
        cv::imwrite(outDir + "/overlays/" + scored[i].type + "_" + stemOf(scored[i].path) + ".png", out);
    }
    std::cout << "category        " << root << "\n"
              << "memory bank     " << det->getMemoryBankSize() << " vectors\n"
              << "training        " << std::fixed << std::setprecision(2) << trainSeconds << " s for "
              << train.size() << " images\n"
              << "predict         " << std::setprecision(3) << predictSeconds << " s per image (end to end)\n"
              << "test images     " << scoredSummary(scored.size(), tests.size(), "images") << "\n";
    if (params.calibrationFraction > 0)
    {
        int goods = 0, alarms = 0, defects = 0, misses = 0;
        for (size_t i = 0; i < scored.size(); ++i)
        {
            const bool flagged = scores[i] > det->getImageThreshold();
            if (labels[i])
            {
                ++defects;
                misses += flagged ? 0 : 1;
            }
            else
            {
                ++goods;
                alarms += flagged ? 1 : 0;
            }
        }
        std::cout << "thresholds      image " << det->getImageThreshold() << ", pixel " << det->getPixelThreshold()
                  << " (from " << params.calibrationFraction * 100 << " % of the good images held out)\n";
        const std::string labels = labelThresholdsText(*det);
        if (!labels.empty())
            std::cout << "care labels     pixel threshold " << labels << "\n";
        std::cout << "false alarms    " << alarms << " / " << goods << " good test images\n"
                  << "misses          " << misses << " / " << defects << " defective test images\n";
    }
    const bool bothClasses = std::count(labels.begin(), labels.end(), 1) > 0 &&
                             std::count(labels.begin(), labels.end(), 0) > 0;
    if (bothClasses)
        std::cout << "image AUROC     " << cv::patchcore::imageAUROC(scores, labels) << "\n";
    std::cout << "wrote           " << outDir << "/detector.pcb, " << outDir << "/scores.csv, " << outDir
              << "/overlays/ (" << scored.size() << " heat maps)\n";
    return scored.empty() ? kExitNothingScored : 0;
}

} // namespace patchcore_samples
