// patchcore predict: saved detector + image or folder -> scores CSV and heat-map overlays.
#include "common.hpp"
#include "dataset_folders.hpp"

#include <opencv2/core/utils/filesystem.hpp>
#include <opencv2/imgcodecs.hpp>

#include <fstream>
#include <iostream>

namespace patchcore_samples {

int commandPredict(int argc, const char* const* argv)
{
    const std::string keys = "{help h   |     | print this help }"
                             "{@detector |    | saved detector (.pcb or .yml[.gz]) }"
                             "{@input   |     | an image file or a folder of images }"
                             "{out o    | predictions | output folder for scores.csv and overlays }"
                             "{vmax     | 0   | score shown as the hottest colour (0: the largest map value seen) }";
    cv::CommandLineParser parser(argc, argv, keys);
    parser.about("patchcore predict: score images with a saved detector");
    if (parser.has("help") || parser.get<std::string>("@input").empty())
    {
        parser.printMessage();
        return parser.has("help") ? 0 : 1;
    }
    const std::string input = parser.get<std::string>("@input"), outDir = parser.get<std::string>("out");
    double vmax = parser.get<double>("vmax");
    auto det = cv::patchcore::Detector::load(parser.get<std::string>("@detector"));
    const std::vector<std::string> files =
        cv::utils::fs::isDirectory(input) ? listImages(input) : std::vector<std::string>{input};
    if (files.empty())
        CV_Error(cv::Error::StsObjectNotFound, "no images in '" + input + "'");
    makeFolders(outDir + "/overlays");

    std::ofstream csv(outDir + "/scores.csv");
    csv << "image,score,map_max,seconds\n";
    std::vector<cv::Mat> maps(files.size());
    std::vector<double> scores(files.size());
    for (size_t i = 0; i < files.size(); ++i)
    {
        const cv::Mat img = cv::imread(files[i], cv::IMREAD_UNCHANGED);
        if (img.empty())
        {
            std::cerr << "skipping unreadable image " << files[i] << "\n";
            continue;
        }
        Stopwatch watch;
        scores[i] = det->predict(img, maps[i]);
        double mapMax = 0;
        cv::minMaxLoc(maps[i], nullptr, &mapMax);
        vmax = parser.get<double>("vmax") > 0 ? vmax : std::max(vmax, mapMax);
        csv << files[i] << "," << scores[i] << "," << mapMax << "," << watch.seconds() << "\n";
        std::cerr << "\r  predict: " << i + 1 << " / " << files.size() << std::flush;
    }
    std::cerr << "\n";
    for (size_t i = 0; i < files.size(); ++i)
        if (!maps[i].empty())
            cv::imwrite(outDir + "/overlays/" + stemOf(files[i]) + ".png", overlay(cv::imread(files[i]), maps[i], vmax));
    std::cout << "scored " << files.size() << " images; " << outDir << "/scores.csv and " << outDir << "/overlays/\n";
    return 0;
}

} // namespace patchcore_samples
