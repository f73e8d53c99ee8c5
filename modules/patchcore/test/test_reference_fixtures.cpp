// Stage-by-stage parity with the authors' implementation (../shared/reference/fixtures, see its README).
#include "test_precomp.hpp"
#include "anomaly_map.hpp"
#include "backbone.hpp"
#include "embedding.hpp"
#include "preprocess.hpp"
#include "serialization.hpp"

#include <opencv2/core/utils/filesystem.hpp>

#include <iostream>

namespace opencv_test {
namespace {

using namespace cv::patchcore::detail;

struct Fixture
{
    std::string image;
    cv::Mat input, embedding, patchScores, anomalyMap;
    double imageScore = 0;
};

Fixture readFixture(const std::string& name)
{
    cv::FileStorage fs(dataPath("reference/fixtures/" + name), cv::FileStorage::READ);
    Fixture f;
    fs["image"] >> f.image;
    fs["input_hwc_rgb_normalized"] >> f.input;
    fs["embedding"] >> f.embedding;
    fs["patch_scores"] >> f.patchScores;
    fs["anomaly_map"] >> f.anomalyMap;
    fs["image_score"] >> f.imageScore;
    return f;
}

std::vector<cv::String> tapsOf(const std::string& variant)
{
    return variant == "ACT" ? std::vector<cv::String>{"layer2_act", "layer3_act"}
                            : std::vector<cv::String>{"layer2", "layer3"};
}

double relativeMaxDiff(const cv::Mat& a, const cv::Mat& b)
{
    return cv::norm(a, b, cv::NORM_INF) / cv::norm(b, cv::NORM_INF);
}

class Patchcore_ReferenceFixture : public ::testing::TestWithParam<std::tuple<std::string, std::string>>
{
protected:
    std::string fixtureName() const
    {
        return "hazelnut_test_" + std::get<0>(GetParam()) + "_" + std::get<1>(GetParam()) + ".yml.gz";
    }
};

TEST_P(Patchcore_ReferenceFixture, EmbeddingFromReferenceInputTensor)
{
    PATCHCORE_REQUIRE_DATA("reference/fixtures/" + fixtureName());
    PATCHCORE_REQUIRE_DATA("models/resnet50v2_to_layer3.onnx");
    const Fixture f = readFixture(fixtureName());
    ASSERT_EQ(f.embedding.size(), cv::Size(1024, 784));
    const std::string model = dataPath("models/resnet50v2_to_layer3.onnx");
    Backbone backbone(readFileBytes(model), model, tapsOf(std::get<1>(GetParam())), cv::dnn::DNN_BACKEND_OPENCV,
                      cv::dnn::DNN_TARGET_CPU);
    const std::vector<cv::Mat> taps = backbone.forward(packBlob({f.input}));
    const cv::Mat embedding = embedPatches(taps, 0, 3, 1024, 1024);
    const double diff = relativeMaxDiff(embedding, f.embedding);
    std::cout << "[ figures  ] " << fixtureName() << ": embedding max|diff|/max|ref| = " << diff << std::endl;
    RecordProperty("embedding_rel_max_diff", std::to_string(diff));
    EXPECT_LT(diff, 1e-4);
}

TEST_P(Patchcore_ReferenceFixture, AnomalyMapFromReferencePatchScores)
{
    PATCHCORE_REQUIRE_DATA("reference/fixtures/" + fixtureName());
    const Fixture f = readFixture(fixtureName());
    ASSERT_EQ(f.patchScores.size(), cv::Size(28, 28));
    const cv::Mat map = computeAnomalyMap(f.patchScores, cv::Size(224, 224), 4.0);
    const double diff = relativeMaxDiff(map, f.anomalyMap);
    std::cout << "[ figures  ] " << fixtureName() << ": map max|diff|/max|ref| = " << diff << std::endl;
    RecordProperty("map_rel_max_diff", std::to_string(diff));
    EXPECT_LT(diff, 1e-4);
}

TEST_P(Patchcore_ReferenceFixture, PreprocessingReproducesReferenceInput)
{
    PATCHCORE_REQUIRE_DATA("reference/fixtures/" + fixtureName());
    const Fixture f = readFixture(fixtureName());
    PATCHCORE_REQUIRE_DATA("datasets/hazelnut_toy/" + f.image);
    const cv::Mat img = cv::imread(dataPath("datasets/hazelnut_toy/" + f.image), cv::IMREAD_COLOR);
    ASSERT_FALSE(img.empty());
    const cv::Mat input = preprocessImage(img, referenceParams());
    // One 8-bit level after normalisation: only a different JPEG decoder could cause that much.
    EXPECT_LE(cv::norm(input, f.input, cv::NORM_INF), 1.0 / 255 / 0.224 + 1e-6);
}

// The whole pipeline from the image files: bank from all 28 training images, no subsampling.
TEST_P(Patchcore_ReferenceFixture, FullPipelineScoresWithinOnePercent)
{
    PATCHCORE_REQUIRE_DATA("reference/fixtures/" + fixtureName());
    PATCHCORE_REQUIRE_DATA("models/resnet50v2_to_layer3.onnx");
    PATCHCORE_REQUIRE_DATA("datasets/hazelnut_toy/train/good");
    const Fixture f = readFixture(fixtureName());
    std::vector<cv::String> files;
    cv::glob(dataPath("datasets/hazelnut_toy/train/good/*.jpg"), files);
    ASSERT_EQ(files.size(), 28u);
    std::vector<cv::Mat> train;
    for (const auto& file : files)
        train.push_back(cv::imread(file, cv::IMREAD_COLOR));

    cv::patchcore::Params p = referenceParams();
    p.modelPath = dataPath("models/resnet50v2_to_layer3.onnx");
    p.layers = tapsOf(std::get<1>(GetParam()));
    p.coresetMethod = cv::patchcore::CORESET_NONE;
    auto det = cv::patchcore::Detector::create(p);
    det->train(train);
    ASSERT_EQ(det->getMemoryBankSize(), 28 * 784);

    const cv::Mat img = cv::imread(dataPath("datasets/hazelnut_toy/" + f.image), cv::IMREAD_COLOR);
    cv::Mat patchScores, map;
    det->computePatchScores(img, patchScores);
    const double score = det->predict(img, map);
    cv::Mat relative;
    cv::absdiff(patchScores, f.patchScores, relative);
    cv::divide(relative, f.patchScores, relative);
    double worstPatch = 0;
    cv::minMaxLoc(relative, nullptr, &worstPatch);
    const double scoreDiff = std::abs(score - f.imageScore) / f.imageScore;
    std::cout << "[ figures  ] " << fixtureName() << ": image score " << score << " vs reference " << f.imageScore
              << " (rel. diff " << scoreDiff << "), worst patch rel. diff " << worstPatch << std::endl;
    RecordProperty("image_score_rel_diff", std::to_string(scoreDiff));
    RecordProperty("patch_score_worst_rel_diff", std::to_string(worstPatch));
    EXPECT_LT(scoreDiff, 0.01);
    EXPECT_LT(worstPatch, 0.01);
    // The map is returned on the 512 x 512 input; its centre crop is the reference's 224 x 224 map scaled by 2.
    ASSERT_EQ(map.size(), img.size());
}

INSTANTIATE_TEST_CASE_P(Hazelnut, Patchcore_ReferenceFixture,
                        ::testing::Combine(::testing::Values("colour_00", "good_04"), ::testing::Values("RAW", "ACT")),
                        [](const ::testing::TestParamInfo<Patchcore_ReferenceFixture::ParamType>& info) {
                            return std::get<0>(info.param) + "_" + std::get<1>(info.param);
                        });

} // namespace
} // namespace opencv_test
