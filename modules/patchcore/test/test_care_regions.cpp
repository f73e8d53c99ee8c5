// Issue 16: care masks (bank, scores, maps), defect regions with measurements, per-label thresholds, saved rules.
#include "test_precomp.hpp"
#include "care_mask.hpp"
#include "regions.hpp"

namespace opencv_test {
namespace {

using cv::patchcore::DecisionRule;
using cv::patchcore::Detector;
using cv::patchcore::Params;
using cv::patchcore::Region;

class Patchcore_CareRegions : public SqueezenetHazelnut
{
protected:
    void SetUp() override
    {
        SqueezenetHazelnut::SetUp();
        if (IsSkipped())
            return;
        // One camera: every frame of one size (the toy set's sizes vary by a few pixels).
        const cv::Size frame(512, 512);
        for (size_t i = 0; i + 1 < trainFiles.size() && i < 12; ++i)
            train.push_back(resized(cv::imread(trainFiles[i]), frame));
        good = resized(cv::imread(trainFiles.back()), frame);
        size = good.size();
        leftHalf = cv::Mat::zeros(size, CV_8U);
        leftHalf(cv::Rect(0, 0, size.width / 2, size.height)).setTo(255);
    }
    static cv::Mat resized(const cv::Mat& img, cv::Size to)
    {
        cv::Mat out;
        cv::resize(img, out, to, 0, 0, cv::INTER_AREA);
        return out;
    }
    // A bright textured square: nothing like the training images' dark background.
    static cv::Mat withDefect(const cv::Mat& img, cv::Rect where)
    {
        cv::Mat out = img.clone(), patch(where.size(), CV_8UC3);
        cv::RNG rng(7);
        rng.fill(patch, cv::RNG::UNIFORM, 150, 256);
        patch.copyTo(out(where));
        return out;
    }
    std::vector<cv::Mat> train;
    cv::Mat good, leftHalf;
    cv::Size size;
};

TEST_F(Patchcore_CareRegions, DefectInDontCareIsIgnoredAndFoundInCare)
{
    auto plain = Detector::create(params);
    plain->train(train);
    auto masked = Detector::create(params);
    masked->setCareMask(leftHalf);
    masked->train(train);
    const cv::Rect right(size.width - 70, size.height / 2 - 30, 60, 60);
    const cv::Rect left(size.width / 4 - 30, size.height / 2 - 30, 60, 60);
    const double cleanPlain = plain->predict(good), cleanMasked = masked->predict(good);
    // The defect is plainly visible to a detector without a mask ...
    EXPECT_GT(plain->predict(withDefect(good, right)), 2 * cleanPlain);
    // ... but on the don't-care half it is not scored and the map is 0 there. Care patches within the backbone's
    // receptive field of it still see it, so the score moves a little, not to a defect's level.
    cv::Mat map;
    const double ignored = masked->predict(withDefect(good, right), map);
    EXPECT_LT(ignored, 1.2 * cleanMasked);
    ASSERT_EQ(map.size(), size);
    EXPECT_EQ(cv::countNonZero(map(cv::Rect(size.width / 2, 0, size.width - size.width / 2, size.height))), 0);
    // The same defect in the care half is found, and detectRegions() puts a region on it.
    EXPECT_GT(masked->predict(withDefect(good, left)), 2 * cleanMasked);
    masked->setThresholds(cleanMasked * 1.5, cleanMasked * 1.5);
    std::vector<Region> regions;
    double score = 0;
    EXPECT_TRUE(masked->detectRegions(withDefect(good, left), regions, score));
    ASSERT_FALSE(regions.empty());
    EXPECT_TRUE(regions[0].box.contains(cv::Point(left.x + left.width / 2, left.y + left.height / 2)));
    EXPECT_EQ(regions[0].label, 255);
    EXPECT_FALSE(masked->detectRegions(withDefect(good, right), regions, score));
    EXPECT_TRUE(regions.empty());
    // A per-frame mask hides the left defect in this frame only.
    cv::Mat frame = cv::Mat(size, CV_8U, cv::Scalar(255));
    const cv::Rect around = cv::Rect(left.x - 150, left.y - 150, left.width + 300, left.height + 300) &
                            cv::Rect(cv::Point(), size);
    frame(around).setTo(0);
    const double found = masked->predict(withDefect(good, left));
    cv::Mat frameMap;
    EXPECT_LT(masked->predictMasked(withDefect(good, left), frame, frameMap), found / 2);
    EXPECT_EQ(cv::countNonZero(frameMap(around)), 0);
    masked->detectRegions(withDefect(good, left), regions, score, frame);
    for (const Region& r : regions)
        EXPECT_TRUE((r.box & around).empty()) << r.box;
}

TEST_F(Patchcore_CareRegions, BankHoldsOnlyPatchesCentredInTheCareArea)
{
    params.coresetMethod = cv::patchcore::CORESET_NONE;
    const std::vector<cv::Mat> three(train.begin(), train.begin() + 3);
    auto plain = Detector::create(params);
    plain->train(three);
    const cv::Size grid = plain->getFeatureGridSize();
    const cv::Size working = plain->getParams().inputMode == cv::patchcore::INPUT_ASPECT
                                 ? cv::Size(plain->getParams().cropSize, plain->getParams().cropSize)
                                 : cv::Size();
    ASSERT_EQ(size.width, size.height) << "the count below assumes square images in INPUT_ASPECT";
    ASSERT_GT(working.width, 0);
    // Left half of the working frame: pixel columns u < W/2; a patch column x is centred at (x + 0.5) W / gw.
    int careColumns = 0;
    for (int x = 0; x < grid.width; ++x)
        careColumns += static_cast<int>((x + 0.5) * working.width / grid.width) < working.width / 2;
    auto masked = Detector::create(params);
    masked->setCareMask(leftHalf);
    masked->train(three);
    EXPECT_EQ(masked->getMemoryBankSize(), 3 * grid.height * careColumns);
    EXPECT_EQ(plain->getMemoryBankSize(), 3 * grid.area());
}

TEST(Patchcore_CareRegionsUnit, RegionMeasurementsOfAHandCheckedMap)
{
    cv::Mat map = cv::Mat::zeros(10, 12, CV_32F);
    // Region A: 2 x 3 block at x 1..3, y 1..2, values 2..7; peak 7 at (3, 2).
    float v = 2;
    for (int y = 1; y <= 2; ++y)
        for (int x = 1; x <= 3; ++x)
            map.at<float>(y, x) = v++;
    // Region B: one pixel at (9, 8) of value 9; it touches nothing (8-connectivity).
    map.at<float>(8, 9) = 9;
    // An L of 3 pixels at value 1.5, diagonal-connected to nothing else: (6,6), (7,6), (7,7)... as (x, y).
    map.at<float>(6, 6) = 1.5f;
    map.at<float>(6, 7) = 1.5f;
    map.at<float>(7, 7) = 1.5f;
    const cv::Mat defect = cv::patchcore::detail::defectPixels(map, cv::Mat(), 1.0, std::vector<double>(256, NAN));
    DecisionRule rule;
    std::vector<Region> r = cv::patchcore::detail::findRegions(map, defect, cv::Mat(), rule);
    ASSERT_EQ(r.size(), 3u);
    EXPECT_EQ(r[0].area, 1);
    EXPECT_EQ(r[0].box, cv::Rect(9, 8, 1, 1));
    EXPECT_DOUBLE_EQ(r[0].peakScore, 9);
    EXPECT_EQ(r[1].area, 6);
    EXPECT_EQ(r[1].box, cv::Rect(1, 1, 3, 2));
    EXPECT_DOUBLE_EQ(r[1].centroid.x, 2.0);
    EXPECT_DOUBLE_EQ(r[1].centroid.y, 1.5);
    EXPECT_DOUBLE_EQ(r[1].peakScore, 7);
    EXPECT_DOUBLE_EQ(r[1].meanScore, 4.5); // (2 + ... + 7) / 6
    EXPECT_EQ(r[2].area, 3);
    EXPECT_EQ(r[2].box, cv::Rect(6, 6, 2, 2));
    EXPECT_NEAR(r[2].centroid.x, 20.0 / 3, 1e-12);
    EXPECT_NEAR(r[2].centroid.y, 19.0 / 3, 1e-12);
    // Minimum area drops the single pixel and the L; at most one region keeps the highest peak.
    rule.minRegionArea = 4;
    r = cv::patchcore::detail::findRegions(map, defect, cv::Mat(), rule);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].area, 6);
    rule.minRegionArea = 1;
    rule.maxRegions = 1;
    r = cv::patchcore::detail::findRegions(map, defect, cv::Mat(), rule);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].area, 1);
    // Per-label thresholds: label 2 (the right half) needs more than 8, so only region B (9) survives there.
    cv::Mat care(map.size(), CV_8U, cv::Scalar(1));
    care(cv::Rect(6, 0, 6, 10)).setTo(2);
    std::vector<double> thresholds(256, NAN);
    thresholds[2] = 8;
    const cv::Mat labelled = cv::patchcore::detail::defectPixels(map, care, 1.0, thresholds);
    r = cv::patchcore::detail::findRegions(map, labelled, care, DecisionRule());
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[0].label, 2);
    EXPECT_EQ(r[1].label, 1);
    EXPECT_EQ(r[1].area, 6);
}

TEST(Patchcore_CareRegionsUnit, RunLengthCodeRoundTripsAndRefusesInconsistentRuns)
{
    cv::Mat labels(7, 9, CV_8U, cv::Scalar(0));
    labels(cv::Rect(1, 1, 5, 4)).setTo(3);
    labels.at<uchar>(6, 8) = 200;
    const std::vector<int> runs = cv::patchcore::detail::encodeRuns(labels);
    EXPECT_EQ(cv::norm(cv::patchcore::detail::decodeRuns(runs, labels.size()), labels, cv::NORM_INF), 0);
    std::vector<int> shortRuns(runs.begin(), runs.end() - 2);
    expectErrorWith([&] { cv::patchcore::detail::decodeRuns(shortRuns, labels.size()); }, "runs cover");
    std::vector<int> badValue = runs;
    badValue[0] = 300;
    expectErrorWith([&] { cv::patchcore::detail::decodeRuns(badValue, labels.size()); }, "out of range");
}

TEST_F(Patchcore_CareRegions, MaskLabelsThresholdsAndRuleSurviveSaveAndLoad)
{
    cv::Mat labels(size, CV_8U, cv::Scalar(1));
    labels(cv::Rect(size.width / 2, 0, size.width - size.width / 2, size.height)).setTo(2);
    labels(cv::Rect(0, 0, size.width, 20)).setTo(0);
    auto det = Detector::create(params);
    det->setCareMask(labels);
    det->setLabelFalseAlarmRate(2, 0.2);
    det->train(std::vector<cv::Mat>(train.begin(), train.begin() + 8));
    det->calibrate(std::vector<cv::Mat>(train.begin() + 8, train.end()), 0.01, 0.001);
    // Label 2's target is 200x label 1's, so its quantile is lower.
    EXPECT_LT(det->getLabelThreshold(2), det->getLabelThreshold(1));
    DecisionRule rule;
    rule.minRegionArea = 25;
    rule.maxRegions = 3;
    rule.regionsDecide = true;
    det->setDecisionRule(rule);
    cv::Mat before;
    const double s = det->predict(withDefect(good, cv::Rect(40, 200, 50, 50)), before);
    for (const char* ext : {".pcb", ".yml"})
    {
        const std::string path = tempDir() + "/care_regions" + ext;
        det->save(path);
        auto back = Detector::load(path);
        EXPECT_EQ(cv::norm(back->getCareMask(), labels, cv::NORM_INF), 0) << ext;
        EXPECT_FALSE(back->getCareMaskScales());
        EXPECT_EQ(back->getLabelThreshold(1), det->getLabelThreshold(1)) << ext;
        EXPECT_EQ(back->getLabelThreshold(2), det->getLabelThreshold(2)) << ext;
        EXPECT_EQ(back->getDecisionRule().minRegionArea, 25) << ext;
        EXPECT_EQ(back->getDecisionRule().maxRegions, 3) << ext;
        EXPECT_TRUE(back->getDecisionRule().regionsDecide) << ext;
        cv::Mat after;
        EXPECT_EQ(back->predict(withDefect(good, cv::Rect(40, 200, 50, 50)), after), s) << ext;
        EXPECT_EQ(cv::norm(before, after, cv::NORM_INF), 0) << ext;
    }
}

TEST_F(Patchcore_CareRegions, BadMasksAndRulesGiveClearErrors)
{
    auto det = Detector::create(params);
    expectErrorWith([&] { det->setCareMask(cv::Mat()); }, "empty mask");
    expectErrorWith([&] { det->setCareMask(cv::Mat(size, CV_8UC3, cv::Scalar::all(255))); }, "single-channel 8-bit");
    expectErrorWith([&] { det->setCareMask(cv::Mat(size, CV_16U, cv::Scalar(255))); }, "single-channel 8-bit");
    expectErrorWith([&] { det->setCareMask(cv::Mat::zeros(size, CV_8U)); }, "marks nothing as care");
    det->setCareMask(cv::Mat(100, 80, CV_8U, cv::Scalar(255)));
    expectErrorContaining([&] { det->train(train); }, {"care mask is 80x100", "scaleToImage"});
    // Scaled, the same mask fits every image; a sliver that covers no patch centre is refused before training.
    cv::Mat sliver = cv::Mat::zeros(size, CV_8U);
    sliver.at<uchar>(0, 0) = 255;
    det->setCareMask(sliver);
    expectErrorWith([&] { det->train(train); }, "no patch of the training images lies in the care area");
    det->setCareMask(cv::Mat(100, 80, CV_8U, cv::Scalar(255)), true);
    det->train(std::vector<cv::Mat>(train.begin(), train.begin() + 2));
    expectErrorWith([&] { det->predictMasked(good, cv::Mat(10, 10, CV_8U, cv::Scalar(255))); }, "one size");
    expectErrorWith([&] { det->predictMasked(good, cv::Mat()); }, "empty mask");
    expectErrorWith([&] { det->setLabelFalseAlarmRate(0, 0.1); }, "labels are 1..255");
    expectErrorWith([&] { det->setLabelFalseAlarmRate(3, 1.5); }, "rate in (0, 1)");
    DecisionRule rule;
    rule.minRegionArea = 0;
    expectErrorWith([&] { det->setDecisionRule(rule); }, "minRegionArea");
    std::vector<Region> regions;
    double score;
    expectErrorWith([&] { det->detectRegions(good, regions, score); }, "needs thresholds");
}

} // namespace
} // namespace opencv_test
