#include "common.hpp"

#include <opencv2/core/utils/filesystem.hpp>
#include <opencv2/imgproc.hpp>

#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <set>
#include <sstream>

namespace patchcore_samples {

// One text for kEngineOption and kDetectorOptions: predict takes the engine but none of the training options.
#define PATCHCORE_ENGINE_OPTION                                                                                     \
    "{engine   | auto  | what runs the backbone: auto (oneDNN fp32 where the library has it, else cv::dnn), opencv "  \
    "(cv::dnn), onednn (oneDNN fp32) or onednn-bf16 (oneDNN bf16: faster, approximate; needs AVX512_BF16 or AMX); "  \
    "not saved with a detector }"

const char* const kEngineOption = PATCHCORE_ENGINE_OPTION;

const char* const kDetectorOptions =
    "{model    | <data>/models/resnet50v2_to_layer3.onnx | backbone ONNX file }"
    "{layers   | layer2,layer3 | comma-separated backbone outputs to tap, shallowest first }"
    "{resize   | 256   | shorter image side after resizing }"
    "{crop     | 224   | side of the centre crop fed to the backbone }"
    "{coreset  | greedy | memory-bank subsampling: greedy, random or none }"
    "{ratio    | 0.1   | fraction of patch vectors the coreset keeps }"
    "{k        | 1     | nearest neighbours averaged into a patch score }"
    "{metric   | l2sq  | patch distance: l2sq (reference) or l2 }"
    "{reweight | false | apply the paper's Eq. 7 image-score reweighting }"
    "{sigma    | 4     | Gaussian sigma of the anomaly map, in crop pixels }"
    "{seed     | 0     | seed of every random choice }"
    "{random   | opencv | generator of the greedy coreset's projection and start points: opencv (cv::RNG), or "
    "reference (the authors' implementation's torch and numpy draws, which select its very coreset) }"
    "{reference-draws | 0 | with --random=reference: draws the reference's process took from torch's generator "
    "before the projection (8512706 for the runs in <data>/reference; doc/PARITY.md) }"
    "{dims     | 1024  | pretrain and target embedding dimension }"
    "{mode     | auto  | input mode: auto (the default: frame scaled to a 2 x --resize shorter side when the images' "
    "shorter side exceeds that, else aspect), crop (the reference's centre crop), resize (whole frame squashed), "
    "aspect (whole frame, aspect kept), tiles (overlapping crops of the scaled image) or frame (the scaled image in "
    "one pass) }"
    "{tile-scale   | 1    | tiles and frame modes: image scale before the backbone }"
    "{tile-overlap | 0.25 | tiles mode: overlap of neighbouring tiles, fraction of the crop }"
    "{budget   | 2048  | training memory budget in MiB (0: none); beyond it, patch vectors spill to a temporary file }"
    "{max-bank | -1    | largest memory bank (-1: automatic, 16384 in whole-frame modes and no cap with --mode=crop; "
    "0: no cap) }"
    "{chunk-rows | -1  | composable greedy: select within chunks of this many patch vectors, then over their union "
    "(-1: automatic: in whole-frame modes chunks of 65536 where they cost less than one selection, one selection "
    "with --mode=crop; 0: always one selection) }"
    "{coverage-stop | 0 | stop the coreset once doubling it shrinks its coverage radius by less than this fraction "
    "(0: off) }"
    "{max-image-mb | 2048 | largest memory one image may take, in MiB (0: what the machine has); larger images are "
    "refused before they are processed }"
    "{fp16     | false | round the memory bank to 16-bit floats (Params::bankFp16) }"
    "{search   | auto | nearest-neighbour search: auto (approximate for banks of 8,192 rows or more, except with "
    "--mode=crop), exact, or approximate (inverted file over k-means cells, exact image scores; "
    "doc/PERFORMANCE.md) }" PATCHCORE_ENGINE_OPTION;

namespace {

// Same order as cv::patchcore::BackboneEngine.
const char* const kEngineNames[] = {"auto", "opencv", "onednn", "onednn-bf16"};

} // namespace

int parseEngine(const std::string& name, const std::string& option)
{
    for (int e = 0; e < 4; ++e)
        if (name == kEngineNames[e])
            return e;
    CV_Error(cv::Error::StsBadArg, "--" + option + " takes auto, opencv, onednn or onednn-bf16, not '" + name + "'");
}

std::string engineName(int engine)
{
    return engine >= 0 && engine < 4 ? kEngineNames[engine] : "?";
}

int engineFromOptions(const cv::CommandLineParser& parser)
{
    return parseEngine(parser.get<std::string>("engine"), "engine");
}

void applyEngine(cv::patchcore::Detector& det, int engine)
{
    if (engine != cv::patchcore::ENGINE_AUTO)
        det.setBackboneEngine(engine);
}

std::string dataRoot()
{
    const char* env = std::getenv("PATCHCORE_DATA_ROOT");
    if (env && *env)
        return env;
    return PATCHCORE_DEFAULT_DATA_ROOT;
}

namespace {

std::string withDataRoot(std::string value)
{
    const std::string tag = "<data>";
    if (value.compare(0, tag.size(), tag) == 0)
        value = dataRoot() + value.substr(tag.size());
    return value;
}

} // namespace

std::vector<cv::String> splitList(const std::string& s)
{
    std::vector<cv::String> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ','))
        if (!item.empty())
            out.push_back(item);
    return out;
}

cv::patchcore::Params paramsFromOptions(const cv::CommandLineParser& parser)
{
    cv::patchcore::Params p;
    p.modelPath = withDataRoot(parser.get<std::string>("model"));
    p.layers = splitList(parser.get<std::string>("layers"));
    p.resizeSize = parser.get<int>("resize");
    p.cropSize = parser.get<int>("crop");
    const std::string coreset = parser.get<std::string>("coreset");
    if (coreset == "greedy")
        p.coresetMethod = cv::patchcore::CORESET_GREEDY;
    else if (coreset == "random")
        p.coresetMethod = cv::patchcore::CORESET_RANDOM;
    else if (coreset == "none")
        p.coresetMethod = cv::patchcore::CORESET_NONE;
    else
        CV_Error(cv::Error::StsBadArg, "--coreset must be greedy, random or none, not '" + coreset + "'");
    p.coresetRatio = parser.get<double>("ratio");
    p.k = parser.get<int>("k");
    const std::string metric = parser.get<std::string>("metric");
    if (metric != "l2sq" && metric != "l2")
        CV_Error(cv::Error::StsBadArg, "--metric must be l2sq or l2, not '" + metric + "'");
    p.metric = metric == "l2" ? cv::patchcore::DISTANCE_L2 : cv::patchcore::DISTANCE_L2_SQUARED;
    p.reweight = parser.get<bool>("reweight");
    p.sigma = parser.get<double>("sigma");
    p.seed = parser.get<int>("seed");
    const std::string random = parser.get<std::string>("random");
    if (random != "opencv" && random != "reference")
        CV_Error(cv::Error::StsBadArg, "--random must be opencv or reference, not '" + random + "'");
    p.coresetRandom = random == "reference" ? cv::patchcore::RANDOM_REFERENCE : cv::patchcore::RANDOM_OPENCV;
    p.referenceDrawsBefore = parser.get<int>("reference-draws");
    p.pretrainEmbedDim = p.targetEmbedDim = parser.get<int>("dims");
    const std::string mode = parser.get<std::string>("mode");
    const char* const modes[] = {"crop", "resize", "aspect", "tiles", "auto", "frame"};
    p.inputMode = -1;
    for (int m = 0; m < 6; ++m)
        if (mode == modes[m])
            p.inputMode = m; // same order as cv::patchcore::InputMode
    if (p.inputMode < 0)
        CV_Error(cv::Error::StsBadArg, "--mode must be auto, crop, resize, aspect, tiles or frame, not '" + mode + "'");
    p.tileScale = parser.get<double>("tile-scale");
    p.tileOverlap = parser.get<double>("tile-overlap");
    p.memoryBudgetMB = parser.get<double>("budget");
    p.coresetMaxSize = parser.get<int>("max-bank");
    p.coresetChunkRows = parser.get<int>("chunk-rows");
    p.coresetCoverageStop = parser.get<double>("coverage-stop");
    p.maxImageMB = parser.get<double>("max-image-mb");
    p.bankFp16 = parser.get<bool>("fp16");
    const std::string search = parser.get<std::string>("search");
    if (search != "auto" && search != "exact" && search != "approximate")
        CV_Error(cv::Error::StsBadArg, "--search must be auto, exact or approximate, not '" + search + "'");
    p.searchMethod = search == "exact"         ? cv::patchcore::SEARCH_EXACT
                     : search == "approximate" ? cv::patchcore::SEARCH_APPROXIMATE
                                               : cv::patchcore::SEARCH_AUTO;
    return p;
}

cv::patchcore::ProgressCallback consoleProgress()
{
    return [](const cv::patchcore::Progress& p) {
        if (!p.message.empty())
            std::cerr << "  " << p.message << "\n";
        else if (p.total > 0)
            std::cerr << "\r  " << p.stage << ": " << p.done << " / " << p.total << (p.done == p.total ? "\n" : "")
                      << std::flush;
        return true;
    };
}

cv::Mat overlay(const cv::Mat& image, const cv::Mat& anomalyMap, double vmax)
{
    cv::Mat bgr;
    if (image.channels() == 1)
        cv::cvtColor(image, bgr, cv::COLOR_GRAY2BGR);
    else if (image.channels() == 4)
        cv::cvtColor(image, bgr, cv::COLOR_BGRA2BGR);
    else
        bgr = image;
    if (bgr.depth() != CV_8U)
    {
        double lo, hi;
        cv::minMaxLoc(bgr.reshape(1), &lo, &hi);
        bgr.convertTo(bgr, CV_8U, hi > lo ? 255.0 / (hi - lo) : 1.0, hi > lo ? -lo * 255.0 / (hi - lo) : 0.0);
    }
    cv::Mat scaled, heat, out;
    anomalyMap.convertTo(scaled, CV_8U, vmax > 0 ? 255.0 / vmax : 0.0);
    cv::applyColorMap(scaled, heat, cv::COLORMAP_JET);
    cv::addWeighted(bgr, 0.55, heat, 0.45, 0, out);
    return out;
}

void drawDefectOutline(cv::Mat& overlayImage, const cv::Mat& defectMask)
{
    if (defectMask.empty() || cv::countNonZero(defectMask) == 0)
        return;
    std::vector<std::vector<cv::Point>> contours;
    cv::findContours(defectMask.clone(), contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
    const int thickness = std::max(1, std::min(overlayImage.cols, overlayImage.rows) / 200);
    cv::drawContours(overlayImage, contours, -1, cv::Scalar(0, 0, 0), thickness + 2, cv::LINE_AA);
    cv::drawContours(overlayImage, contours, -1, cv::Scalar(255, 255, 255), thickness, cv::LINE_AA);
}

void makeFolders(const std::string& path)
{
    if (!cv::utils::fs::createDirectories(path))
        CV_Error(cv::Error::StsError, "cannot create folder '" + path + "'");
}

void checkArguments(int argc, const char* const* argv, const std::string& keys, const char* command)
{
    // Every name of every key: "{out o | default | help}" declares "out" and "o"; "{@images | ...}" is positional.
    std::set<std::string> names;
    int positionals = 0;
    for (size_t open = keys.find('{'); open != std::string::npos; open = keys.find('{', open + 1))
    {
        std::istringstream declared(keys.substr(open + 1, keys.find('|', open) - open - 1));
        std::string name;
        for (bool first = true; declared >> name; first = false)
        {
            if (first && name[0] == '@')
                ++positionals;
            names.insert(name);
        }
    }
    // The same split as cv::CommandLineParser's: "-x", "--x", "-x=v" and "--x=v" are options, anything else
    // (a lone "-" too) is the next positional argument.
    std::vector<std::string> unknown, extra;
    int seen = 0;
    for (int i = 1; i < argc; ++i)
    {
        const std::string arg = argv[i];
        if (arg.size() > 1 && arg[0] == '-')
        {
            const size_t dashes = arg.size() > 2 && arg[1] == '-' ? 2 : 1, equals = arg.find('=');
            const std::string name = arg.substr(dashes, equals == std::string::npos ? equals : equals - dashes);
            if (!names.count(name))
                unknown.push_back(arg.substr(0, equals));
        }
        else if (++seen > positionals)
            extra.push_back("'" + arg + "'");
    }
    if (unknown.empty() && extra.empty())
        return;
    const auto list = [](const std::vector<std::string>& items) {
        std::string out;
        for (const std::string& item : items)
            out += (out.empty() ? "" : ", ") + item;
        return out;
    };
    std::string message;
    if (!unknown.empty())
        message = (unknown.size() > 1 ? "unknown options " : "unknown option ") + list(unknown);
    if (!extra.empty())
        message += std::string(message.empty() ? "" : "; ") +
                   (extra.size() > 1 ? "unexpected extra arguments " : "unexpected extra argument ") + list(extra);
    CV_Error(cv::Error::StsBadArg, message + " (see patchcore " + command + " --help)");
}

void checkWritableFile(const std::string& path)
{
    if (path.empty() || path.back() == '/' || cv::utils::fs::isDirectory(path))
        CV_Error(cv::Error::StsBadArg, "cannot save to '" + path + "': it is a folder; give a file name such as '" +
                                           (path.empty() || path.back() == '/' ? path : path + "/") +
                                           "detector.pcb'");
    const size_t slash = path.find_last_of('/');
    const std::string folder = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    if (!cv::utils::fs::exists(folder))
        CV_Error(cv::Error::StsObjectNotFound, "cannot save to '" + path + "': folder '" + folder +
                                                   "' does not exist (create it, or choose another --out)");
    if (!cv::utils::fs::isDirectory(folder))
        CV_Error(cv::Error::StsBadArg,
                 "cannot save to '" + path + "': '" + folder + "' is a file, not a folder (choose another --out)");
    if (::access(folder.c_str(), W_OK | X_OK) != 0)
        CV_Error(cv::Error::StsError, "cannot save to '" + path + "': folder '" + folder +
                                          "' is not writable (check its permissions, or choose another --out)");
}

void makeWritableFolder(const std::string& path)
{
    if (cv::utils::fs::exists(path) && !cv::utils::fs::isDirectory(path))
        CV_Error(cv::Error::StsBadArg, "cannot write to '" + path + "': it is a file, not a folder (choose another "
                                       "--out)");
    if (!cv::utils::fs::createDirectories(path))
        CV_Error(cv::Error::StsError, "cannot create folder '" + path + "' (is a part of it a file, or is its "
                                      "parent not writable? choose another --out)");
    if (::access(path.c_str(), W_OK | X_OK) != 0)
        CV_Error(cv::Error::StsError, "folder '" + path + "' is not writable (check its permissions, or choose "
                                      "another --out)");
}

std::string scoredSummary(size_t scored, size_t total, const std::string& what)
{
    if (scored == total)
        return "scored " + std::to_string(total) + " " + what;
    return "scored " + std::to_string(scored) + " of " + std::to_string(total) + " " + what + "; skipped " +
           std::to_string(total - scored) + " unreadable (listed above)";
}

} // namespace patchcore_samples
