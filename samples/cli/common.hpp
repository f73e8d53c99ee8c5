// What the sub-commands of the `patchcore` program share: options, progress printing, overlays, timing.
#ifndef PATCHCORE_SAMPLES_COMMON_HPP
#define PATCHCORE_SAMPLES_COMMON_HPP

#include <opencv2/core.hpp>
#include <opencv2/patchcore.hpp>

#include <chrono>
#include <string>

namespace patchcore_samples {

/** Options every command that builds a detector accepts, in cv::CommandLineParser syntax. */
extern const char* const kDetectorOptions;

/** The --engine option alone (kDetectorOptions has it too), for commands that load rather than build a detector. */
extern const char* const kEngineOption;

/** The cv::patchcore::BackboneEngine that `name` (auto, opencv, onednn, onednn-bf16) stands for; throws
 *  cv::Exception naming --`option` and the accepted names otherwise. */
int parseEngine(const std::string& name, const std::string& option);

/** The name parseEngine() takes for a BackboneEngine. */
std::string engineName(int engine);

/** The engine of the --engine option, checked by parseEngine(). Not part of Params: apply it with
 *  Detector::setBackboneEngine() after create() or load(). */
int engineFromOptions(const cv::CommandLineParser& parser);

/** Detector::setBackboneEngine(engine) unless it is ENGINE_AUTO, which create() and load() have built already. */
void applyEngine(cv::patchcore::Detector& det, int engine);

/** Data root: $PATCHCORE_DATA_ROOT, else the build-time default (../shared beside the project). */
std::string dataRoot();

/** The non-empty items of a comma-separated list. */
std::vector<cv::String> splitList(const std::string& s);

/** Params from the options of kDetectorOptions (defaults are the library's). */
cv::patchcore::Params paramsFromOptions(const cv::CommandLineParser& parser);

/** A progress callback that prints one updating line per stage to stderr. */
cv::patchcore::ProgressCallback consoleProgress();

/** Colour-mapped heat map blended on the image; `vmax` maps to the hottest colour. */
cv::Mat overlay(const cv::Mat& image, const cv::Mat& anomalyMap, double vmax);

/** Outlines the regions of a defect mask (CV_8U, 255 = defect, the overlay's size) on an overlay, in white over a
 *  dark border so that the line shows on every heat-map colour. */
void drawDefectOutline(cv::Mat& overlayImage, const cv::Mat& defectMask);

/** Creates a folder and its parents; throws cv::Exception if that fails. */
void makeFolders(const std::string& path);

/** Throws cv::Exception naming the offending arguments when argv (a sub-command's, argv[0] being its name) holds
 *  an option that `keys` (cv::CommandLineParser syntax) does not declare, or more positional arguments than its
 *  `@` keys: cv::CommandLineParser ignores both, so a mistyped option would silently run with the default. */
void checkArguments(int argc, const char* const* argv, const std::string& keys, const char* command);

/** Throws cv::Exception saying what to do unless a file can be written at `path`: its folder exists and is
 *  writable and `path` is not a folder. For checking --out before hours of training rather than after. */
void checkWritableFile(const std::string& path);

/** makeFolders(path), then throws cv::Exception unless files can be created in it. */
void makeWritableFolder(const std::string& path);

/** Exit status when a command was given images but could read none of them (argument errors exit with 2). */
const int kExitNothingScored = 3;

/** "scored 5 images", or "scored 3 of 5 images; skipped 2 unreadable (listed above)": `what` is the plural noun. */
std::string scoredSummary(size_t scored, size_t total, const std::string& what);

/** Seconds since construction. */
class Stopwatch
{
public:
    Stopwatch() : start_(std::chrono::steady_clock::now()) {}
    double seconds() const
    {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    }

private:
    std::chrono::steady_clock::time_point start_;
};

int commandTrain(int argc, const char* const* argv);
int commandPredict(int argc, const char* const* argv);
int commandRun(int argc, const char* const* argv);
int commandEval(int argc, const char* const* argv);

} // namespace patchcore_samples

#endif
