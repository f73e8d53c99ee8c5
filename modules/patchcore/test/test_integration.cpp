// End to end on real data: train on hazelnut_toy's good images, score its test split.
#include "test_precomp.hpp"
#include "opencv2/patchcore/metrics.hpp"

#include <iostream>

namespace opencv_test {
namespace {

using cv::patchcore::Detector;
using cv::patchcore::Params;

struct Outcome
{
    double auroc = 0;
    int peaksInMask = 0, anomalous = 0;
};

Outcome runHazelnut(const Params& params)
{
    std::vector<cv::String> trainFiles, testFiles;
    cv::glob(dataPath("datasets/hazelnut_toy/train/good/*.jpg"), trainFiles);
    cv::glob(dataPath("datasets/hazelnut_toy/test/*.jpg"), testFiles, true);
    std::vector<cv::Mat> train;
    for (const auto& f : trainFiles)
        train.push_back(cv::imread(f));
    auto det = Detector::create(params);
    det->train(train);

    Outcome out;
    std::vector<double> scores;
    std::vector<int> labels;
    for (const auto& f : testFiles)
    {
        cv::Mat map;
        scores.push_back(det->predict(cv::imread(f), map));
        const bool good = f.find("/good/") != std::string::npos;
        labels.push_back(good ? 0 : 1);
        if (good)
            continue;
        // ground_truth/<type>/<stem>_mask.png beside test/<type>/<stem>.jpg
        std::string mask = f;
        mask.replace(mask.find("/test/"), 6, "/ground_truth/");
        mask.replace(mask.rfind(".jpg"), 4, "_mask.png");
        const cv::Mat gt = cv::imread(mask, cv::IMREAD_GRAYSCALE);
        EXPECT_EQ(gt.size(), map.size()) << mask;
        cv::Point peak;
        cv::minMaxLoc(map, nullptr, nullptr, nullptr, &peak);
        ++out.anomalous;
        out.peaksInMask += gt.at<uchar>(peak) > 0 ? 1 : 0;
    }
    out.auroc = cv::patchcore::imageAUROC(scores, labels);
    return out;
}

TEST(Patchcore_Integration, HazelnutResNet50)
{
    PATCHCORE_REQUIRE_DATA("models/resnet50v2_to_layer3.onnx");
    PATCHCORE_REQUIRE_DATA("datasets/hazelnut_toy");
    Params p;
    p.modelPath = dataPath("models/resnet50v2_to_layer3.onnx");
    const Outcome o = runHazelnut(p);
    std::cout << "[ figures  ] hazelnut_toy resnet50v2 layer2+layer3, coreset 10 %: image AUROC " << o.auroc
              << ", map peak inside the mask for " << o.peaksInMask << " / " << o.anomalous << " defective images"
              << std::endl;
    RecordProperty("image_auroc", std::to_string(o.auroc));
    EXPECT_EQ(o.auroc, 1.0); // as the authors' implementation on the same data
    EXPECT_GE(o.peaksInMask, o.anomalous * 3 / 4);
}

TEST(Patchcore_Integration, HazelnutSqueezeNetQuick)
{
    PATCHCORE_REQUIRE_DATA("models/squeezenet1.1.onnx");
    PATCHCORE_REQUIRE_DATA("datasets/hazelnut_toy");
    Params p;
    p.modelPath = dataPath("models/squeezenet1.1.onnx");
    p.layers = {"fire4", "fire8"};
    p.pretrainEmbedDim = p.targetEmbedDim = 512;
    const Outcome o = runHazelnut(p);
    std::cout << "[ figures  ] hazelnut_toy squeezenet1.1 fire4+fire8: image AUROC " << o.auroc
              << ", map peak inside the mask for " << o.peaksInMask << " / " << o.anomalous << std::endl;
    RecordProperty("image_auroc", std::to_string(o.auroc));
    EXPECT_GE(o.auroc, 0.95);
    EXPECT_GE(o.peaksInMask, o.anomalous / 2);
}

} // namespace
} // namespace opencv_test
