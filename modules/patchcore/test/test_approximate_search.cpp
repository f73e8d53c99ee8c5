// A detector with Params::searchMethod = SEARCH_APPROXIMATE (the inverted file, IvfIndex) against an exact one; the
// index itself is tested against brute force in test_ivf_index.cpp and test_bank_index.cpp.
#include "test_precomp.hpp"

#include <iostream>

namespace opencv_test {
namespace {

// The inverted file's image scores are exact (its worst patches are searched again exactly), and every patch it
// did not re-search can only score higher than exactly, so its maps lie on or above the exact ones.
TEST(Patchcore_ApproximateSearch, ExactImageScoresAndMapsBoundedBelowByExact)
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
    p.searchMethod = cv::patchcore::SEARCH_EXACT;
    auto exactDet = cv::patchcore::Detector::create(p);
    exactDet->train(train);
    p.searchMethod = cv::patchcore::SEARCH_APPROXIMATE;
    auto approxDet = cv::patchcore::Detector::create(p);
    approxDet->train(train);
    ASSERT_EQ(exactDet->getMemoryBankSize(), approxDet->getMemoryBankSize());
    double worstScore = 0, worstMap = 0;
    int raisedMaps = 0;
    for (const auto& f : tests)
    {
        const cv::Mat img = cv::imread(f);
        cv::Mat exactMap, approxMap;
        const double a = exactDet->predict(img, exactMap);
        const double b = approxDet->predict(img, approxMap);
        worstScore = std::max(worstScore, std::abs(b - a) / a);
        ASSERT_EQ(exactMap.size(), approxMap.size());
        cv::Mat below;
        cv::compare(approxMap, exactMap - 1e-5 * a, below, cv::CMP_LT);
        EXPECT_EQ(0, cv::countNonZero(below)) << f << ": an approximate map value below the exact one";
        double excess = 0;
        cv::minMaxLoc(approxMap - exactMap, nullptr, &excess);
        worstMap = std::max(worstMap, excess / a);
        raisedMaps += excess > 1e-5 * a;
    }
    std::cout << "[ figures  ] approximate vs exact, bank " << exactDet->getMemoryBankSize() << ": worst image-score "
              << "difference " << worstScore << ", maps raised somewhere " << raisedMaps << " of " << tests.size()
              << ", by at most " << worstMap << " of the image score" << std::endl;
    EXPECT_LT(worstScore, 1e-6);
}

} // namespace
} // namespace opencv_test
