// Running the `patchcore` program from tests (PATCHCORE_CLI is its path, set by samples/CMakeLists.txt), and the
// synthetic inputs its tests train on.
#ifndef OPENCV_PATCHCORE_TEST_CLI_RUNNER_HPP
#define OPENCV_PATCHCORE_TEST_CLI_RUNNER_HPP

#include "test_precomp.hpp"

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace opencv_test {

#ifdef PATCHCORE_CLI

struct CliResult
{
    int status = -1; // the program's exit status; -1 when it did not exit normally
    std::string out, err;
};

inline std::string readAll(const std::string& path)
{
    std::ifstream in(path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

inline bool contains(const std::string& text, const std::string& part)
{
    return text.find(part) != std::string::npos;
}

/** Runs `patchcore <args>`, stdout and stderr captured apart in files of `dir`. */
inline CliResult runCli(const std::string& args, const std::string& dir)
{
    const std::string outFile = dir + "/stdout.txt", errFile = dir + "/stderr.txt";
    const std::string cmd = std::string(PATCHCORE_CLI) + " " + args + " > " + outFile + " 2> " + errFile;
    const int raw = std::system(cmd.c_str());
    CliResult r;
    r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    r.out = readAll(outFile);
    r.err = readAll(errFile);
    return r;
}

/** The detector options that make the program use the tiny backbone (the geometry tinyModelParams() has). */
inline std::string tinyOptions()
{
    return "--model=" + testDataPath("test_models/tiny_backbone.onnx") +
           " --layers=tap_a,tap_b --resize=64 --crop=64 --dims=32";
}

/** A grey texture of `size`, with a saturated magenta square at `defect` when it is not empty. */
inline cv::Mat texturedPart(int seed, cv::Rect defect = cv::Rect(), cv::Size size = cv::Size(64, 64))
{
    cv::Mat img(size, CV_8UC3);
    for (int y = 0; y < img.rows; ++y)
        for (int x = 0; x < img.cols; ++x)
            img.at<cv::Vec3b>(y, x) = cv::Vec3b::all(static_cast<uchar>(90 + ((x * 7 + y * 13 + seed * 5) % 29) +
                                                                         ((x / 8 + y / 8) % 2) * 40));
    if (!defect.empty())
        img(defect).setTo(cv::Scalar(250, 30, 250));
    return img;
}

#endif

} // namespace opencv_test

#endif
