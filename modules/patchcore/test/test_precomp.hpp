// Shared helpers of the module's tests.
#ifndef OPENCV_PATCHCORE_TEST_PRECOMP_HPP
#define OPENCV_PATCHCORE_TEST_PRECOMP_HPP

#include <gtest/gtest.h>

#include "opencv2/patchcore.hpp"
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <string>
#include <vector>

namespace opencv_test {

/** The data root: $PATCHCORE_DATA_ROOT, else the CMake-time default (../shared beside the project). */
std::string dataRoot();
/** dataRoot() + "/" + relative. */
std::string dataPath(const std::string& relative);
/** True if dataPath(relative) exists (file or folder). */
bool dataExists(const std::string& relative);
/** The project's own test files (data/ in the repository: tiny ONNX models, compatibility files). */
std::string testDataPath(const std::string& relative);
/** A detector on the project's tiny backbone (data/test_models/tiny_backbone.onnx): 64 x 64 crop, 16 x 16 grid
 *  from tap_a (stride 4), 32-dimensional patches; runs anywhere, no ../shared needed. */
cv::patchcore::Params tinyModelParams();
/** SqueezeNet 1.1 from the shared data (models/squeezenet1.1.onnx), taps fire4 and fire8, 256-dimensional patches:
 *  a real ImageNet backbone, small enough for tests on real images. The caller checks the model is there. */
cv::patchcore::Params squeezenetParams();
/** Default parameters with the reference's centre crop (INPUT_CENTER_CROP) instead of the INPUT_AUTO default: for
 *  tests of the reference pipeline and of crop geometry. */
cv::patchcore::Params referenceParams();
/** `n` 8-bit BGR images of `size` whose pixels `rng` draws uniformly from [lo, hi): textured enough for a
 *  non-degenerate bank, deterministic for the generator's state. */
std::vector<cv::Mat> noiseImages(cv::RNG& rng, int n, cv::Size size, int lo, int hi);
/** A fresh empty folder under the system temp dir, unique per test process. */
std::string tempDir();

/** Runs fn and expects a cv::Exception whose message contains every one of `needles`. */
template <typename Fn>
void expectErrorContaining(Fn fn, const std::vector<std::string>& needles)
{
    try
    {
        fn();
        ADD_FAILURE() << "expected cv::Exception, nothing was thrown";
    }
    catch (const cv::Exception& e)
    {
        for (const std::string& needle : needles)
            EXPECT_NE(e.err.find(needle), std::string::npos) << "'" << needle << "' missing from: " << e.err;
    }
}

/** The same for one needle. */
template <typename Fn>
void expectErrorWith(Fn fn, const std::string& needle)
{
    expectErrorContaining(fn, std::vector<std::string>{needle});
}

} // namespace opencv_test

/** Skips the current test, with a message naming what is missing, when shared data is absent. */
#define PATCHCORE_REQUIRE_DATA(relative)                                                                 \
    do {                                                                                                 \
        if (!::opencv_test::dataExists(relative))                                                        \
            GTEST_SKIP() << "SKIPPED: needs " << ::opencv_test::dataPath(relative)                       \
                         << " (set PATCHCORE_DATA_ROOT to the folder holding models/ and datasets/)";    \
    } while (0)

namespace opencv_test {

/** Base of fixtures on the shared hazelnut_toy training images with squeezenetParams(): skips the test, naming
 *  what is missing, when the model or the images are absent (a derived SetUp() returns when IsSkipped()). */
class SqueezenetHazelnut : public ::testing::Test
{
protected:
    void SetUp() override
    {
        PATCHCORE_REQUIRE_DATA("models/squeezenet1.1.onnx");
        PATCHCORE_REQUIRE_DATA("datasets/hazelnut_toy/train/good");
        cv::glob(dataPath("datasets/hazelnut_toy/train/good/*.jpg"), trainFiles);
        params = squeezenetParams();
    }
    std::vector<cv::String> trainFiles; // sorted paths
    cv::patchcore::Params params;
};

} // namespace opencv_test

#endif
