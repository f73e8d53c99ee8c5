#include "test_precomp.hpp"

#include <cstdlib>
#include <sys/stat.h>
#include <unistd.h>

namespace opencv_test {

std::string dataRoot()
{
    const char* env = std::getenv("PATCHCORE_DATA_ROOT");
    if (env && *env)
        return env;
#ifdef PATCHCORE_DEFAULT_DATA_ROOT
    return PATCHCORE_DEFAULT_DATA_ROOT;
#else
    return "../shared";
#endif
}

std::string dataPath(const std::string& relative)
{
    return dataRoot() + "/" + relative;
}

bool dataExists(const std::string& relative)
{
    struct stat st;
    return ::stat(dataPath(relative).c_str(), &st) == 0;
}

std::string testDataPath(const std::string& relative)
{
#ifdef PATCHCORE_TEST_DATA_DIR
    return std::string(PATCHCORE_TEST_DATA_DIR) + "/" + relative;
#else
    return "data/" + relative;
#endif
}

cv::patchcore::Params referenceParams()
{
    cv::patchcore::Params p;
    p.inputMode = cv::patchcore::INPUT_CENTER_CROP;
    return p;
}

cv::patchcore::Params squeezenetParams()
{
    cv::patchcore::Params p;
    p.modelPath = dataPath("models/squeezenet1.1.onnx");
    p.layers = {"fire4", "fire8"};
    p.pretrainEmbedDim = p.targetEmbedDim = 256;
    return p;
}

cv::patchcore::Params tinyModelParams()
{
    cv::patchcore::Params p;
    p.modelPath = testDataPath("test_models/tiny_backbone.onnx");
    p.layers = {"tap_a", "tap_b"};
    p.resizeSize = 64;
    p.cropSize = 64;
    p.pretrainEmbedDim = 32;
    p.targetEmbedDim = 32;
    // The geometry these tests were written for (a 64 px centre crop); InputModes tests cover INPUT_AUTO.
    p.inputMode = cv::patchcore::INPUT_CENTER_CROP;
    return p;
}

std::vector<cv::Mat> noiseImages(cv::RNG& rng, int n, cv::Size size, int lo, int hi)
{
    std::vector<cv::Mat> out;
    for (int i = 0; i < n; ++i)
    {
        cv::Mat img(size, CV_8UC3);
        rng.fill(img, cv::RNG::UNIFORM, lo, hi);
        out.push_back(img);
    }
    return out;
}

std::string tempDir()
{
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/patchcore_test_XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (!::mkdtemp(buf.data()))
        throw std::runtime_error("cannot create a temporary folder from " + pattern);
    return std::string(buf.data());
}

} // namespace opencv_test

int main(int argc, char** argv)
{
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
