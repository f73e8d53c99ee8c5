// Approximate search (KD-tree over principal components + exact re-ranking) against exact search.
#include "test_precomp.hpp"
#include "approximate_search.hpp"
#include "search.hpp"

#include <chrono>
#include <iostream>

namespace opencv_test {
namespace {

using namespace cv::patchcore::detail;

// Vectors with a low intrinsic dimension, like patch features: 8 latent factors mapped to 256 dims, plus noise.
cv::Mat lowRankRows(int n, uint64 seed, const cv::Mat& mixing)
{
    cv::RNG rng(seed);
    cv::Mat latent(n, mixing.rows, CV_32F), noise(n, mixing.cols, CV_32F);
    rng.fill(latent, cv::RNG::NORMAL, 0, 1);
    rng.fill(noise, cv::RNG::NORMAL, 0, 0.05);
    cv::Mat rows = latent * mixing + noise;
    return rows;
}

TEST(ApproximateSearch, HighRecallAndExactDistancesOnLowRankData)
{
    cv::Mat mixing(8, 256, CV_32F);
    cv::RNG(1).fill(mixing, cv::RNG::NORMAL, 0, 1);
    const cv::Mat bank = lowRankRows(20000, 2, mixing), queries = lowRankRows(500, 3, mixing);
    ExactSearch exact;
    exact.setBank(bank);
    ApproximateSearch approx;
    approx.setBank(bank);
    cv::Mat d0, i0, d1, i1;
    exact.knn(queries, 3, d0, i0);
    approx.knn(queries, 3, d1, i1);
    int hits = 0;
    for (int q = 0; q < queries.rows; ++q)
    {
        hits += i0.at<int>(q, 0) == i1.at<int>(q, 0) ? 1 : 0;
        for (int j = 0; j < 3; ++j)
        {
            // Whatever it finds, the distance it reports is the true one and never below the exact k-th neighbour.
            const double truth = cv::norm(queries.row(q), bank.row(i1.at<int>(q, j)), cv::NORM_L2SQR);
            EXPECT_NEAR(d1.at<float>(q, j), truth, 1e-4 * std::max(1.0, truth));
            EXPECT_GE(d1.at<float>(q, j), d0.at<float>(q, j) * (1 - 1e-6));
        }
    }
    const double recall = hits / static_cast<double>(queries.rows);
    std::cout << "[ figures  ] approximate search recall@1 on 20,000 low-rank vectors: " << recall << std::endl;
    EXPECT_GE(recall, 0.95);
}

TEST(ApproximateSearch, SmallBanksAndLargeK)
{
    cv::Mat bank(5, 4, CV_32F), q(2, 4, CV_32F);
    cv::randu(bank, -1, 1);
    cv::randu(q, -1, 1);
    ApproximateSearch approx(16, 2);
    approx.setBank(bank);
    ExactSearch exact;
    exact.setBank(bank);
    cv::Mat d0, i0, d1, i1;
    exact.knn(q, 5, d0, i0);
    approx.knn(q, 5, d1, i1); // k above the candidate count: every bank vector is a candidate
    EXPECT_EQ(cv::norm(i0, i1, cv::NORM_INF), 0.0);
}

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
