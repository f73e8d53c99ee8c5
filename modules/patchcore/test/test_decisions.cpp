// Decisions without labelled anomalies: calibrated thresholds, detect(), update().
#include "test_precomp.hpp"

namespace opencv_test {
namespace {

using cv::patchcore::Detector;
using cv::patchcore::Params;

class Patchcore_Decisions : public SqueezenetHazelnut
{
protected:
    void SetUp() override
    {
        SqueezenetHazelnut::SetUp();
        if (IsSkipped())
            return;
        for (const auto& f : trainFiles)
            train.push_back(cv::imread(f));
        std::vector<cv::String> files;
        cv::glob(dataPath("datasets/hazelnut_toy/test/colour/*.jpg"), files);
        for (size_t i = 0; i < 4; ++i)
            defective.push_back(cv::imread(files[i]));
    }
    std::vector<cv::Mat> train, defective;
};

TEST_F(Patchcore_Decisions, CalibratedThresholdsFlagDefectsAndSpareGoodImages)
{
    params.calibrationFraction = 0.25;
    params.imageFalseAlarmRate = 0.01;
    auto det = Detector::create(params);
    det->train(train);
    // 7 of 28 images held out: the bank holds 21 images' vectors.
    EXPECT_EQ(det->getMemoryBankSize(), static_cast<int>(21 * 27 * 27 * 0.1));
    const double t = det->getImageThreshold();
    ASSERT_TRUE(std::isfinite(t));
    ASSERT_TRUE(std::isfinite(det->getPixelThreshold()));
    for (const cv::Mat& img : defective)
    {
        double score = 0;
        cv::Mat mask;
        EXPECT_TRUE(det->detect(img, score, mask)) << "score " << score << " threshold " << t;
        ASSERT_EQ(mask.size(), img.size());
        ASSERT_EQ(mask.type(), CV_8U);
        EXPECT_GT(cv::countNonZero(mask), 0);
    }
    // Thresholds travel with the saved file.
    const std::string path = tempDir() + "/calibrated.pcb";
    det->save(path);
    auto loaded = Detector::load(path);
    EXPECT_EQ(loaded->getImageThreshold(), t);
    EXPECT_EQ(loaded->getPixelThreshold(), det->getPixelThreshold());
}

TEST_F(Patchcore_Decisions, ThresholdIsTheUpperQuantileOfHeldOutScores)
{
    auto det = Detector::create(params);
    std::vector<cv::Mat> fit(train.begin(), train.begin() + 20), held(train.begin() + 20, train.end());
    det->train(fit);
    det->calibrate(held, 0.01, 0.001);
    double highest = 0;
    for (const cv::Mat& img : held)
        highest = std::max(highest, det->predict(img));
    // With 8 images the 99 % quantile is their largest score: no held-out image is flagged.
    EXPECT_FLOAT_EQ(static_cast<float>(det->getImageThreshold()), static_cast<float>(highest));
    det->calibrate(held, 0.5, 0.001);
    int above = 0;
    for (const cv::Mat& img : held)
        above += det->predict(img) > det->getImageThreshold() ? 1 : 0;
    EXPECT_EQ(above, 4) << "a 50 % false-alarm target flags half the held-out images";
}

TEST_F(Patchcore_Decisions, DetectNeedsThresholds)
{
    auto det = Detector::create(params);
    det->train(std::vector<cv::Mat>(train.begin(), train.begin() + 3));
    double score = 0;
    EXPECT_THROW(det->detect(defective[0], score), cv::Exception);
    det->setThresholds(1e9, 1e9);
    EXPECT_FALSE(det->detect(defective[0], score));
    EXPECT_GT(score, 0);
    EXPECT_THROW(det->setThresholds(std::nan(""), 1), cv::Exception);
    EXPECT_THROW(det->calibrate(train, 0, 0.1), cv::Exception);
    params.calibrationFraction = 0.99;
    auto bad = Detector::create(params);
    EXPECT_THROW(bad->train(std::vector<cv::Mat>(train.begin(), train.begin() + 3)), cv::Exception);
}

TEST_F(Patchcore_Decisions, UpdateAddsImagesWithoutStartingOver)
{
    auto det = Detector::create(params);
    std::vector<cv::Mat> first(train.begin(), train.begin() + 10), more(train.begin() + 10, train.begin() + 20);
    det->train(first);
    const cv::Mat before = det->getMemoryBank();
    const double scoreBefore = det->predict(train[25]);
    det->update(more);
    const cv::Mat after = det->getMemoryBank();
    ASSERT_GT(after.rows, before.rows);
    EXPECT_LE(after.rows - before.rows, static_cast<int>(10 * 27 * 27 * 0.1));
    EXPECT_EQ(cv::norm(after.rowRange(0, before.rows), before, cv::NORM_INF), 0.0) << "nothing is removed";
    EXPECT_LE(det->predict(train[25]), scoreBefore) << "a bigger bank can only bring neighbours closer";
    // The additions are the new vectors farthest from the old bank: greedy gives a better cover than random.
    params.coresetMethod = cv::patchcore::CORESET_RANDOM;
    auto random = Detector::create(params);
    random->train(first);
    random->update(more);
    EXPECT_EQ(random->getMemoryBankSize() - static_cast<int>(10 * 27 * 27 * 0.1), before.rows);
}

TEST_F(Patchcore_Decisions, RetrainingForgetsEveryThreshold)
{
    auto det = Detector::create(params);
    det->train(std::vector<cv::Mat>(train.begin(), train.begin() + 3));
    det->setThresholds(1.0, 2.0);
    det->setLabelThreshold(3, 1.5);
    ASSERT_EQ(det->getLabelThreshold(3), 1.5);
    det->train(std::vector<cv::Mat>(train.begin() + 3, train.begin() + 6));
    EXPECT_TRUE(std::isnan(det->getImageThreshold()));
    EXPECT_TRUE(std::isnan(det->getPixelThreshold()));
    EXPECT_TRUE(std::isnan(det->getLabelThreshold(3))) << "a label threshold of the previous bank survived";
}

TEST_F(Patchcore_Decisions, HeldOutImagesAreCheckedBeforeTheBackboneRuns)
{
    // One of four images does not fit the care mask; whether the split holds it out or trains on it, train() refuses
    // it before any image reaches the backbone.
    params.calibrationFraction = 0.5;
    std::vector<cv::Mat> images(train.begin(), train.begin() + 4);
    cv::resize(images[2], images[2], cv::Size(images[2].cols / 2, images[2].rows / 2));
    for (uint64_t seed = 0; seed < 4; ++seed)
    {
        params.seed = static_cast<int>(seed);
        auto det = Detector::create(params);
        det->setCareMask(cv::Mat(train[0].size(), CV_8U, cv::Scalar(255)));
        bool backboneRan = false;
        det->setProgressCallback([&](const cv::patchcore::Progress& p) {
            backboneRan = backboneRan || (p.stage == "backbone" && p.done > 0);
            return true;
        });
        EXPECT_THROW(det->train(images), cv::Exception) << "seed " << seed;
        EXPECT_FALSE(backboneRan) << "seed " << seed;
        EXPECT_EQ(det->getMemoryBankSize(), 0);
    }
}

} // namespace
} // namespace opencv_test
