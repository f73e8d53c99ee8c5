// A detector with Params::searchMethod = SEARCH_APPROXIMATE (the inverted file, IvfIndex) against an exact one; the
// index itself is tested against brute force in test_ivf_index.cpp and test_bank_index.cpp.
#include "test_precomp.hpp"

#include <chrono>
#include <iostream>

namespace opencv_test {
namespace {

TEST(ApproximateSearch, DetectorScoresCloseToExactWithoutSubsampling)
{
    PATCHCORE_REQUIRE_DATA("models/squeezenet1.1.onnx");
    PATCHCORE_REQUIRE_DATA("datasets/hazelnut_toy/train/good");
    std::vector<cv::String> files, tests;
    cv::glob(dataPath("datasets/hazelnut_toy/train/good/*.jpg"), files);
    cv::glob(dataPath("datasets/hazelnut_toy/test/*.jpg"), tests, true);
    std::vector<cv::Mat> train;
    for (const auto& f : files)
        train.push_back(cv::imread(f));
    cv::patchcore::Params p;
    p.modelPath = dataPath("models/squeezenet1.1.onnx");
    p.layers = {"fire4", "fire8"};
    p.pretrainEmbedDim = p.targetEmbedDim = 256;
    p.coresetMethod = cv::patchcore::CORESET_NONE;
    auto exactDet = cv::patchcore::Detector::create(p);
    exactDet->train(train);
    p.searchMethod = cv::patchcore::SEARCH_APPROXIMATE;
    auto approxDet = cv::patchcore::Detector::create(p);
    approxDet->train(train);
    double worst = 0, tExact = 0, tApprox = 0;
    for (const auto& f : tests)
    {
        const cv::Mat img = cv::imread(f);
        auto t0 = std::chrono::steady_clock::now();
        const double a = exactDet->predict(img);
        auto t1 = std::chrono::steady_clock::now();
        const double b = approxDet->predict(img);
        auto t2 = std::chrono::steady_clock::now();
        tExact += std::chrono::duration<double>(t1 - t0).count();
        tApprox += std::chrono::duration<double>(t2 - t1).count();
        EXPECT_GE(b, a * (1 - 1e-6)) << "an approximate neighbour is never closer than the exact one";
        worst = std::max(worst, (b - a) / a);
    }
    std::cout << "[ figures  ] approximate vs exact, bank " << exactDet->getMemoryBankSize()
              << ": worst image-score excess " << worst << ", predict " << tApprox / tests.size() << " s vs "
              << tExact / tests.size() << " s per image" << std::endl;
    EXPECT_LT(worst, 0.05);
}

} // namespace
} // namespace opencv_test
