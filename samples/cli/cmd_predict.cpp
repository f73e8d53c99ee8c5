// patchcore predict: saved detector + image, folder, video or camera -> scores CSV and heat-map overlays; with a
// calibrated detector also the decision and the outline of the defect mask.
#include "common.hpp"
#include "dataset_folders.hpp"

#include <opencv2/core/utils/filesystem.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>

namespace patchcore_samples {

namespace {

bool isVideoFile(const std::string& path)
{
    static const char* const extensions[] = {".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg"};
    std::string lower = path;
    for (char& c : lower)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (const char* ext : extensions)
    {
        const std::string e(ext);
        if (lower.size() >= e.size() && lower.compare(lower.size() - e.size(), e.size(), e) == 0)
            return true;
    }
    return false;
}

/** Scores one frame; with thresholds, also decides and outlines the defect mask. Returns the CSV fields after the
 *  frame's name: score, map_max, seconds, defect (1/0; empty without thresholds). */
std::string scoreFrame(const cv::patchcore::Detector& det, const cv::Mat& frame, bool decide, cv::Mat& map,
                       cv::Mat& mask, double& mapMax)
{
    Stopwatch watch;
    const double score = det.predict(frame, map);
    bool defect = false;
    if (decide)
    {
        // Detector::detect()'s documented rule, applied to the map already computed: one backbone pass per frame.
        defect = score > det.getImageThreshold();
        mask = map > det.getPixelThreshold();
    }
    cv::minMaxLoc(map, nullptr, &mapMax);
    return std::to_string(score) + "," + std::to_string(mapMax) + "," + std::to_string(watch.seconds()) + "," +
           (decide ? (defect ? "1" : "0") : "");
}

/** Frames of a video file or a camera: overlays written as they come (a stream cannot be held in memory). */
int predictStream(const cv::patchcore::Detector& det, cv::VideoCapture& cap, const std::string& name,
                  const std::string& outDir, double vmaxOption, int maxFrames, bool decide)
{
    std::ofstream csv(outDir + "/scores.csv");
    csv << "frame,score,map_max,seconds,defect\n";
    double vmax = vmaxOption;
    int count = 0;
    cv::Mat frame;
    while ((maxFrames <= 0 || count < maxFrames) && cap.read(frame) && !frame.empty())
    {
        cv::Mat map, mask;
        double mapMax = 0;
        const std::string fields = scoreFrame(det, frame, decide, map, mask, mapMax);
        // Without a fixed scale, colours follow the largest value seen so far: early frames may look hotter.
        if (vmaxOption <= 0)
            vmax = std::max(vmax, mapMax);
        char stem[32];
        std::snprintf(stem, sizeof(stem), "frame_%06d", count);
        csv << stem << "," << fields << "\n";
        cv::Mat out = overlay(frame, map, vmax);
        if (decide)
            drawDefectOutline(out, mask);
        cv::imwrite(outDir + "/overlays/" + stem + ".png", out);
        ++count;
        std::cerr << "\r  predict: frame " << count << std::flush;
    }
    std::cerr << "\n";
    if (count == 0)
        CV_Error(cv::Error::StsError, "no frame could be read from " + name +
                                          " (is the codec supported by this OpenCV build? try another file format)");
    std::cout << "scored " << count << " frames of " << name << "; " << outDir << "/scores.csv and " << outDir
              << "/overlays/\n";
    return 0;
}

} // namespace

int commandPredict(int argc, const char* const* argv)
{
    const std::string keys = std::string("{help h   |     | print this help }"
                             "{@detector |    | saved detector (.pcb or .yml[.gz]) }"
                             "{@input   |     | an image file, a folder of images, or a video file (.mp4, .avi, ...) }"
                             "{input i  |     | the same as the second argument }"
                             "{camera   | -1  | read frames from this camera index instead of an input (stop with "
                             "--frames or Ctrl-C) }"
                             "{frames   | 0   | video or camera: stop after this many frames (0: until the end) }"
                             "{out o    | predictions | output folder for scores.csv and overlays }"
                             "{vmax     | 0   | score shown as the hottest colour (0: the largest map value seen) }"
                             "{max-image-mb | -1 | largest memory one image may take, in MiB (0: what the machine "
                             "has; -1: as saved with the detector) }") +
                             kEngineOption;
    cv::CommandLineParser parser(argc, argv, keys);
    parser.about("patchcore predict: score images or video frames with a saved detector. With a calibrated detector "
                 "(trained with calibrationFraction > 0, or calibrated), scores.csv says which are defective and the "
                 "overlays outline the defect mask. Unreadable images are skipped and named on stderr; the exit "
                 "status is 3 when none could be read, 2 for unknown options, extra arguments, a missing input or an "
                 "output folder that cannot be written.");
    if (parser.has("help"))
    {
        parser.printMessage();
        return 0;
    }
    checkArguments(argc, argv, keys, "predict");
    std::string input = parser.get<std::string>("@input");
    if (input.empty())
        input = parser.get<std::string>("input");
    const int camera = parser.get<int>("camera");
    if (parser.get<std::string>("@detector").empty() || (input.empty() && camera < 0))
    {
        parser.printMessage();
        return 1;
    }
    // Otherwise a mistyped path reads as one unreadable image, which looks like a decoding problem.
    if (camera < 0 && !cv::utils::fs::exists(input))
        CV_Error(cv::Error::StsObjectNotFound, "input '" + input + "' does not exist (give an image, a folder of "
                                               "images or a video file)");
    const int engine = engineFromOptions(parser);
    const std::string outDir = parser.get<std::string>("out");
    const double vmaxOption = parser.get<double>("vmax");
    double vmax = vmaxOption;
    makeWritableFolder(outDir + "/overlays");
    auto det = cv::patchcore::Detector::load(parser.get<std::string>("@detector"));
    applyEngine(*det, engine);
    if (parser.get<double>("max-image-mb") >= 0)
        det->setMaxImageMB(parser.get<double>("max-image-mb"));
    const bool decide = !std::isnan(det->getImageThreshold()) && !std::isnan(det->getPixelThreshold());

    if (camera >= 0 || isVideoFile(input))
    {
        cv::VideoCapture cap;
        if (camera >= 0)
            cap.open(camera);
        else
            cap.open(input);
        const std::string name = camera >= 0 ? "camera " + std::to_string(camera) : "'" + input + "'";
        if (!cap.isOpened())
            CV_Error(cv::Error::StsError, "cannot open " + name + " (check the path or camera index, and that this "
                                          "OpenCV build has a video backend for it)");
        return predictStream(*det, cap, name, outDir, vmaxOption, parser.get<int>("frames"), decide);
    }

    const std::vector<std::string> files =
        cv::utils::fs::isDirectory(input) ? listImages(input) : std::vector<std::string>{input};
    if (files.empty())
        CV_Error(cv::Error::StsObjectNotFound, "no images in '" + input + "'");
    std::ofstream csv(outDir + "/scores.csv");
    csv << "image,score,map_max,seconds,defect\n";
    std::vector<cv::Mat> maps(files.size()), masks(files.size());
    size_t scored = 0;
    bool midLine = false; // the progress line has no newline yet
    for (size_t i = 0; i < files.size(); ++i)
    {
        const cv::Mat img = cv::imread(files[i], cv::IMREAD_UNCHANGED);
        if (img.empty())
        {
            std::cerr << (midLine ? "\n" : "") << "skipping unreadable image " << files[i] << "\n";
            midLine = false;
            continue;
        }
        ++scored;
        double mapMax = 0;
        const std::string fields = scoreFrame(*det, img, decide, maps[i], masks[i], mapMax);
        vmax = vmaxOption > 0 ? vmax : std::max(vmax, mapMax);
        csv << files[i] << "," << fields << "\n";
        std::cerr << "\r  predict: " << i + 1 << " / " << files.size() << std::flush;
        midLine = true;
    }
    if (midLine)
        std::cerr << "\n";
    // Overlays after all images, so that every one uses the same colour scale.
    for (size_t i = 0; i < files.size(); ++i)
    {
        if (maps[i].empty())
            continue;
        cv::Mat out = overlay(cv::imread(files[i]), maps[i], vmax);
        if (decide)
            drawDefectOutline(out, masks[i]);
        cv::imwrite(outDir + "/overlays/" + stemOf(files[i]) + ".png", out);
    }
    std::cout << scoredSummary(scored, files.size(), "images") << "; " << outDir << "/scores.csv and " << outDir
              << "/overlays/\n";
    return scored ? 0 : kExitNothingScored;
}

} // namespace patchcore_samples
