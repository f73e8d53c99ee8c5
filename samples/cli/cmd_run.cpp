// patchcore run: the whole job on one MVTec-layout category (train, save, score the test split, heat maps).
#include "common.hpp"
#include "dataset_folders.hpp"

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
                                         "{out o    | out | output folder }"
                                         "{calibrate | 0  | hold out this fraction of the good images to calibrate "
                                         "decision thresholds; prints the false-alarm and miss rates on the test split }"
                                         "{far      | 0.01 | target image false-alarm rate of the calibration }") +
                             kDetectorOptions;
    cv::CommandLineParser parser(argc, argv, keys);
    parser.about("patchcore run: train on <category>/train/good, score <category>/test, write heat maps");
    if (parser.has("help") || parser.get<std::string>("@category").empty())
    {
        parser.printMessage();
        return parser.has("help") ? 0 : 1;
    }
    const std::string root = parser.get<std::string>("@category"), outDir = parser.get<std::string>("out");
    cv::patchcore::Params params = paramsFromOptions(parser);
    params.calibrationFraction = parser.get<double>("calibrate");
    params.imageFalseAlarmRate = parser.get<double>("far");

    const std::vector<std::string> trainFiles = listImages(root + "/train/good");
    const std::vector<TestImage> tests = listTestImages(root);
    if (trainFiles.empty() || tests.empty())
        CV_Error(cv::Error::StsObjectNotFound, "'" + root + "' has no train/good or test images");
    makeFolders(outDir + "/overlays");

    std::vector<cv::Mat> train;
    for (const std::string& f : trainFiles)
        train.push_back(cv::imread(f, cv::IMREAD_UNCHANGED));
    std::cerr << "training on " << train.size() << " images of " << root << "\n";
    Stopwatch trainWatch;
    auto det = cv::patchcore::Detector::create(params);
    det->setProgressCallback(consoleProgress());
    det->train(train);
    const double trainSeconds = trainWatch.seconds();
    det->save(outDir + "/detector.pcb");

    std::vector<double> scores(tests.size());
    std::vector<int> labels(tests.size());
    std::vector<cv::Mat> maps(tests.size());
    det->setProgressCallback(cv::patchcore::ProgressCallback());
    Stopwatch predictWatch;
    double vmax = 0;
    for (size_t i = 0; i < tests.size(); ++i)
    {
        scores[i] = det->predict(cv::imread(tests[i].path, cv::IMREAD_UNCHANGED), maps[i]);
        labels[i] = tests[i].label;
        vmax = std::max(vmax, scores[i]);
        std::cerr << "\r  predict: " << i + 1 << " / " << tests.size() << std::flush;
    }
    const double predictSeconds = predictWatch.seconds() / tests.size();
    std::cerr << "\n";

    std::ofstream csv(outDir + "/scores.csv");
    csv << "image,anomaly_type,label,score,map_max\n" << std::setprecision(9);
    for (size_t i = 0; i < tests.size(); ++i)
    {
        double mapMax = 0;
        cv::minMaxLoc(maps[i], nullptr, &mapMax);
        csv << tests[i].relative << "," << tests[i].type << "," << tests[i].label << "," << scores[i] << ","
            << mapMax << "\n";
        cv::imwrite(outDir + "/overlays/" + tests[i].type + "_" + stemOf(tests[i].path) + ".png",
                    overlay(cv::imread(tests[i].path), maps[i], vmax));
    }
    std::cout << "category        " << root << "\n"
              << "memory bank     " << det->getMemoryBankSize() << " vectors\n"
              << "training        " << std::fixed << std::setprecision(2) << trainSeconds << " s for "
              << train.size() << " images\n"
              << "predict         " << std::setprecision(3) << predictSeconds << " s per image (end to end)\n";
    if (params.calibrationFraction > 0)
    {
        int goods = 0, alarms = 0, defects = 0, misses = 0;
        for (size_t i = 0; i < tests.size(); ++i)
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
                  << " (from " << params.calibrationFraction * 100 << " % of the good images held out)\n"
                  << "false alarms    " << alarms << " / " << goods << " good test images\n"
                  << "misses          " << misses << " / " << defects << " defective test images\n";
    }
    const bool bothClasses = std::count(labels.begin(), labels.end(), 1) > 0 &&
                             std::count(labels.begin(), labels.end(), 0) > 0;
    if (bothClasses)
        std::cout << "image AUROC     " << cv::patchcore::imageAUROC(scores, labels) << "\n";
    std::cout << "wrote           " << outDir << "/detector.pcb, " << outDir << "/scores.csv, " << outDir
              << "/overlays/ (" << tests.size() << " heat maps)\n";
    return 0;
}

} // namespace patchcore_samples
