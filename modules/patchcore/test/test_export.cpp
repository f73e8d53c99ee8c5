// tools/export_backbone.py: torchvision models (random weights, no download) exported, loaded by cv::dnn, taps
// checked for shape, dynamic input size and agreement with torch, then used by a Detector.
// Skips visibly where Debian's python3-torch / python3-torchvision / python3-onnx are not installed.
#include "test_precomp.hpp"

#include <opencv2/dnn.hpp>

#include <cstdlib>
#include <fstream>
#include <iterator>

namespace opencv_test {
namespace {

std::string python()
{
    const char* env = std::getenv("PATCHCORE_PYTHON");
    return env && *env ? env : "/usr/bin/python3"; // Debian's interpreter, the one python3-torch installs into
}

std::string exportScript() { return std::string(PATCHCORE_TEST_DATA_DIR) + "/../tools/export_backbone.py"; }

bool torchAvailable()
{
    const std::string cmd = python() + " -c 'import torch, torchvision, onnx' >/dev/null 2>&1";
    return std::system(cmd.c_str()) == 0;
}

#define PATCHCORE_REQUIRE_TORCH()                                                                            \
    do {                                                                                                     \
        if (!torchAvailable())                                                                               \
            GTEST_SKIP() << "SKIPPED: needs " << python() << " with torch, torchvision and onnx (Debian: "   \
                         << "apt-get install python3-torch python3-torchvision python3-onnx; or set "        \
                         << "PATCHCORE_PYTHON)";                                                             \
    } while (0)

/** Reads <dir>/<name>.bin and .shape written by export_backbone.py --reference. */
cv::Mat readReference(const std::string& dir, const std::string& name)
{
    std::ifstream shapeFile(dir + "/" + name + ".shape");
    std::vector<int> shape;
    for (int d; shapeFile >> d;)
        shape.push_back(d);
    EXPECT_FALSE(shape.empty()) << "no shape for " << name;
    cv::Mat m(static_cast<int>(shape.size()), shape.data(), CV_32F);
    std::ifstream bin(dir + "/" + name + ".bin", std::ios::binary);
    bin.read(reinterpret_cast<char*>(m.ptr<float>()), static_cast<std::streamsize>(m.total() * sizeof(float)));
    EXPECT_TRUE(static_cast<bool>(bin)) << "short file " << name << ".bin";
    return m;
}

std::string readText(const std::string& path)
{
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

struct Tap
{
    std::string name;
    int channels, stride;
};

void exportAndCheck(const std::string& arch, const std::vector<Tap>& taps)
{
    PATCHCORE_REQUIRE_TORCH();
    const std::string base = tempDir(), dir = base + "/export_" + arch, onnxPath = dir + "/" + arch + ".onnx";
    const std::string log = base + "/export_" + arch + ".log";
    const std::string cmd = python() + " " + exportScript() + " " + arch + " " + onnxPath +
                            " --weights none --reference " + dir + " > " + log + " 2>&1";
    ASSERT_EQ(0, std::system(cmd.c_str())) << cmd << "\n" << readText(log);

    cv::dnn::Net net = cv::dnn::readNetFromONNX(onnxPath);
    ASSERT_FALSE(net.empty());
    std::vector<cv::String> names;
    for (const Tap& t : taps)
        names.push_back(t.name);

    // Dynamic H and W: a non-square input other than the tracing size gives the taps' strides.
    for (const cv::Size size : {cv::Size(224, 224), cv::Size(320, 256)})
    {
        net.setInput(cv::dnn::blobFromImage(cv::Mat(size, CV_32FC3, cv::Scalar::all(0.1))));
        std::vector<cv::Mat> outs;
        net.forward(outs, names);
        ASSERT_EQ(taps.size(), outs.size());
        for (size_t i = 0; i < taps.size(); ++i)
        {
            ASSERT_EQ(4, outs[i].dims) << taps[i].name;
            EXPECT_EQ(1, outs[i].size[0]);
            EXPECT_EQ(taps[i].channels, outs[i].size[1]) << taps[i].name;
            EXPECT_EQ(size.height / taps[i].stride, outs[i].size[2]) << taps[i].name << " at " << size;
            EXPECT_EQ(size.width / taps[i].stride, outs[i].size[3]) << taps[i].name << " at " << size;
        }
    }

    // Same numbers as torch on the same input: the graph was not changed by the Identity rewrite.
    net.setInput(readReference(dir, "input"));
    std::vector<cv::Mat> outs;
    net.forward(outs, names);
    for (size_t i = 0; i < taps.size(); ++i)
    {
        const cv::Mat ref = readReference(dir, taps[i].name);
        ASSERT_EQ(ref.total(), outs[i].total()) << taps[i].name;
        double refMax = cv::norm(ref, cv::NORM_INF);
        EXPECT_LE(cv::norm(outs[i].reshape(1, 1), ref.reshape(1, 1), cv::NORM_INF), 1e-3 * std::max(1.0, refMax))
            << taps[i].name;
    }

    // And a Detector trains and predicts with it.
    cv::patchcore::Params p;
    p.modelPath = onnxPath;
    p.layers = names;
    p.resizeSize = p.cropSize = 64;
    p.pretrainEmbedDim = p.targetEmbedDim = 64;
    p.projectionDim = 16;
    auto det = cv::patchcore::Detector::create(p);
    std::vector<cv::Mat> good;
    for (int i = 0; i < 2; ++i)
    {
        cv::Mat img(64, 64, CV_8UC3);
        cv::randu(img, cv::Scalar::all(80 + 10 * i), cv::Scalar::all(120 + 10 * i));
        good.push_back(img);
    }
    det->train(good);
    EXPECT_EQ(cv::Size(64 / taps[0].stride, 64 / taps[0].stride), det->getFeatureGridSize());
    EXPECT_TRUE(std::isfinite(det->predict(good[0])));
}

TEST(Patchcore_Export, resnet18)
{
    exportAndCheck("resnet18", {{"layer2", 128, 8}, {"layer3", 256, 16}});
}

TEST(Patchcore_Export, wide_resnet50_2)
{
    exportAndCheck("wide_resnet50_2", {{"layer2", 512, 8}, {"layer3", 1024, 16}});
}

TEST(Patchcore_Export, densenet201)
{
    exportAndCheck("densenet201", {{"denseblock2", 512, 8}, {"denseblock3", 1792, 16}});
}

} // namespace
} // namespace opencv_test
