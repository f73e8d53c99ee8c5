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

/** Data root: $PATCHCORE_DATA_ROOT, else the build-time default (../shared beside the project). */
std::string dataRoot();

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
