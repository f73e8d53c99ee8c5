// patchcore predict: saved detector + image, folder, video or camera -> scores CSV and heat-map overlays; with a
// calibrated detector also the decision, the defect regions (regions.csv, regions.json) and, on the overlays, the
// outline of the defect mask and the regions' boxes.
#include "common.hpp"
#include "dataset_folders.hpp"
#include "inspection.hpp"

#include <opencv2/core/utils/filesystem.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>

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

/** One scored frame. With thresholds (`decide`), `defect` and `regions` are Detector::detectRegions()'s. */
struct FrameResult
{
    double score = 0, mapMax = 0, seconds = 0;
    bool defect = false;
    std::vector<cv::patchcore::Region> regions;
    cv::Mat map;
};

/** Scores one frame; with thresholds, also decides and lists its defect regions, from one backbone pass. */
FrameResult scoreFrame(const cv::patchcore::Detector& det, const cv::Mat& frame, bool decide)
{
    Stopwatch watch;
    FrameResult r;
    if (decide)
        r.defect = det.detectRegions(frame, r.regions, r.score, cv::noArray(), r.map);
    else
        r.score = det.predict(frame, r.map);
    cv::minMaxLoc(r.map, nullptr, &r.mapMax);
    r.seconds = watch.seconds();
    return r;
}

/** The CSV fields after the frame's name: score, map_max, seconds, defect (1/0; empty without thresholds). */
std::string csvFields(const FrameResult& r, bool decide)
{
    return std::to_string(r.score) + "," + std::to_string(r.mapMax) + "," + std::to_string(r.seconds) + "," +
           (decide ? (r.defect ? "1" : "0") : "");
}

/** The heat map on the frame, the don't-care area hatched; with thresholds, the defect mask's outline and the
 *  regions' boxes. */
cv::Mat drawFrame(const cv::patchcore::Detector& det, const cv::Mat& frame, const FrameResult& r, double vmax,
                  bool decide)
{
    cv::Mat out = overlay(frame, r.map, vmax);
    const cv::Mat care = careMaskForFrame(det, frame.size());
    drawCareArea(out, care);
    if (decide)
    {
        drawDefectOutline(out, defectMaskOf(det, r.map, care));
        drawRegions(out, r.regions);
    }
    return out;
}

/** What a run wrote, for its last line. */
std::string written(const std::string& outDir, bool decide)
{
    return outDir + "/scores.csv" + (decide ? ", " + outDir + "/regions.csv, " + outDir + "/regions.json" : "") +
           " and " + outDir + "/overlays/";
}

/** Frames of a video file or a camera: overlays written as they come (a stream cannot be held in memory).
 *  `regions` (with thresholds only) receives every frame's regions. */
int predictStream(const cv::patchcore::Detector& det, cv::VideoCapture& cap, const std::string& name,
                  const std::string& outDir, double vmaxOption, int maxFrames, RegionsWriter* regions)
{
    const bool decide = regions != nullptr;
    std::ofstream csv(outDir + "/scores.csv");
    csv << "frame,score,map_max,seconds,defect\n";
    double vmax = vmaxOption;
    int count = 0;
    cv::Mat frame;
    while ((maxFrames <= 0 || count < maxFrames) && cap.read(frame) && !frame.empty())
    {
        const FrameResult r = scoreFrame(det, frame, decide);
        // Without a fixed scale, colours follow the largest value seen so far: early frames may look hotter.
        if (vmaxOption <= 0)
            vmax = std::max(vmax, r.mapMax);
        char stem[32];
        std::snprintf(stem, sizeof(stem), "frame_%06d", count);
        csv << stem << "," << csvFields(r, decide) << "\n";
        if (regions)
            regions->add(stem, r.score, r.defect, r.regions);
        cv::imwrite(outDir + "/overlays/" + stem + ".png", drawFrame(det, frame, r, vmax, decide));
        ++count;
        std::cerr << "\r  predict: frame " << count << std::flush;
    }
    std::cerr << "\n";
    if (count == 0)
        CV_Error(cv::Error::StsError, "no frame could be read from " + name +
                                          " (is the codec supported by this OpenCV build? try another file format)");
    std::cout << "scored " << count << " frames of " << name << "; " << written(outDir, decide) << "\n";
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
                             "{out o    | predictions | output folder for scores.csv, regions.csv, regions.json and overlays }"
                             "{vmax     | 0   | score shown as the hottest colour (0: the largest map value seen) }"
                             "{max-image-mb | -1 | largest memory one image may take, in MiB (0: what the machine "
                             "has; -1: as saved with the detector) }") +
                             kDecisionRuleOptions + kEngineOption;
    cv::CommandLineParser parser(argc, argv, keys);
    parser.about("patchcore predict: score images or video frames with a saved detector. With a calibrated detector "
                 "(trained with --calibrate, or calibrated), scores.csv says which are defective, regions.csv and "
                 "regions.json list every defect region (id, care label, area, box, centroid, peak and mean score) "
                 "with the image's decision, and the overlays outline the defect mask and box the regions; "
                 "--min-region-area, --max-regions and --regions-decide change the saved decision rule for this run "
                 "(the detector file is not rewritten). The overlays hatch a care mask's don't-care area. Unreadable images are skipped and named on stderr; the exit "
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
    if (hasDecisionRuleOptions(parser))
    {
        if (!decide)
            CV_Error(cv::Error::StsBadArg, "--min-region-area, --max-regions and --regions-decide need a detector "
                                           "with thresholds (train it with --calibrate, or calibrate it)");
        det->setDecisionRule(decisionRuleFrom(parser, det->getDecisionRule())); // this run only: not saved
    }
    std::unique_ptr<RegionsWriter> regions(decide ? new RegionsWriter(outDir) : nullptr);

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
        return predictStream(*det, cap, name, outDir, vmaxOption, parser.get<int>("frames"), regions.get());
    }

    const std::vector<std::string> files =
        cv::utils::fs::isDirectory(input) ? listImages(input) : std::vector<std::string>{input};
    if (files.empty())
        CV_Error(cv::Error::StsObjectNotFound, "no images in '" + input + "'");
    std::ofstream csv(outDir + "/scores.csv");
    csv << "image,score,map_max,seconds,defect\n";
    std::vector<FrameResult> results(files.size());
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
        results[i] = scoreFrame(*det, img, decide);
        vmax = vmaxOption > 0 ? vmax : std::max(vmax, results[i].mapMax);
        csv << files[i] << "," << csvFields(results[i], decide) << "\n";
        if (regions)
            regions->add(files[i], results[i].score, results[i].defect, results[i].regions);
        std::cerr << "\r  predict: " << i + 1 << " / " << files.size() << std::flush;
        midLine = true;
    }
    if (midLine)
        std::cerr << "\n";
    regions.reset(); // regions.json complete
    // Overlays after all images, so that every one uses the same colour scale.
    for (size_t i = 0; i < files.size(); ++i)
        if (!results[i].map.empty())
            cv::imwrite(outDir + "/overlays/" + stemOf(files[i]) + ".png",
                        drawFrame(*det, cv::imread(files[i]), results[i], vmax, decide));
    std::cout << scoredSummary(scored, files.size(), "images") << "; " << written(outDir, decide) << "\n";
    return scored ? 0 : kExitNothingScored;
}

} // namespace patchcore_samples
