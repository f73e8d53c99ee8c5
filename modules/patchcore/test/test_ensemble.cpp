// Ensemble: normalisation from held-out good images, averaging, one-file round trip, errors.
#include "test_precomp.hpp"
#include "opencv2/patchcore/ensemble.hpp"
#include "opencv2/patchcore/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>

namespace opencv_test {
namespace {

using cv::patchcore::Detector;
using cv::patchcore::Ensemble;
using cv::patchcore::Params;

Params tinyParams(int seed)
{
    Params p = tinyModelParams();
    p.seed = seed;
    return p;
}

cv::Mat texture(int seed, bool defect)
{
    cv::Mat img(64, 64, CV_8UC3);
    for (int y = 0; y < img.rows; ++y)
        for (int x = 0; x < img.cols; ++x)
        {
            const int v = 90 + ((x * 7 + y * 13 + seed * 5) % 29) + ((x / 8 + y / 8) % 2) * 40;
            img.at<cv::Vec3b>(y, x) = cv::Vec3b::all(static_cast<uchar>(v));
        }
    if (defect)
        img(cv::Rect(20, 20, 16, 16)).setTo(cv::Scalar(250, 30, 250));
    return img;
}

std::vector<cv::Mat> goodTextures(int n)
{
    std::vector<cv::Mat> out;
    for (int i = 0; i < n; ++i)
        out.push_back(texture(i, false));
    return out;
}

/** Ensemble score must be the mean over members of (member score - mean) / stdev. */
void expectMeanOfNormalized(const Ensemble& ens, const cv::Mat& img)
{
    double expected = 0;
    for (int i = 0; i < ens.getMemberCount(); ++i)
    {
        double mean = 0, stdev = 0;
        ens.getNormalization(i, mean, stdev);
        EXPECT_GT(stdev, 0);
        expected += (ens.getMember(i)->predict(img) - mean) / stdev;
    }
    expected /= ens.getMemberCount();
    cv::Mat map;
    const double score = ens.predict(img, map);
    EXPECT_NEAR(expected, score, 1e-9 * std::max(1.0, std::abs(expected)));
    EXPECT_EQ(img.size(), map.size());
    EXPECT_EQ(CV_32F, map.type());
    std::vector<double> members;
    EXPECT_DOUBLE_EQ(score, ens.predictMembers(img, members));
    EXPECT_EQ(static_cast<size_t>(ens.getMemberCount()), members.size());
}

TEST(Patchcore_Ensemble, tinyMembersRoundTripAndAverage)
{
    auto ens = Ensemble::create(0.25);
    ens->addMember(tinyParams(0));
    Params second = tinyParams(1);
    second.layers = {"tap_b"}; // a different view of the image: different score scale
    ens->addMember(second);
    EXPECT_TRUE(ens->empty());
    const std::vector<cv::Mat> good = goodTextures(8);
    ens->train(good);
    ASSERT_FALSE(ens->empty());
    ASSERT_EQ(2, ens->getMemberCount());
    // The held-out images end up in the banks: training on 6 and updating with 2 gives more than training on 6.
    auto six = Detector::create(tinyParams(0));
    six->train(std::vector<cv::Mat>(good.begin(), good.begin() + 6));
    EXPECT_GT(ens->getMember(0)->getMemoryBankSize(), six->getMemoryBankSize());

    expectMeanOfNormalized(*ens, texture(20, false));
    expectMeanOfNormalized(*ens, texture(21, true));
    EXPECT_GT(ens->predict(texture(21, true)), ens->predict(texture(21, false)));

    const std::string file = tempDir() + "/tiny.pce";
    ens->save(file);
    auto again = Ensemble::load(file);
    ASSERT_EQ(ens->getMemberCount(), again->getMemberCount());
    EXPECT_EQ(ens->getHoldoutFraction(), again->getHoldoutFraction());
    for (int i = 0; i < ens->getMemberCount(); ++i)
    {
        double m0, s0, m1, s1;
        ens->getNormalization(i, m0, s0);
        again->getNormalization(i, m1, s1);
        EXPECT_EQ(m0, m1);
        EXPECT_EQ(s0, s1);
    }
    for (int seed : {30, 31})
    {
        cv::Mat a, b;
        EXPECT_EQ(ens->predict(texture(seed, seed == 31), a), again->predict(texture(seed, seed == 31), b));
        EXPECT_EQ(0, cv::norm(a, b, cv::NORM_INF));
    }
}

TEST(Patchcore_Ensemble, calibratedDecisions)
{
    auto ens = Ensemble::create(0.25);
    ens->addMember(tinyParams(0));
    Params second = tinyParams(1);
    second.layers = {"tap_b"};
    ens->addMember(second);
    ens->train(goodTextures(8));
    // train() calibrated on its two held-out images: the image threshold is the higher of their scores as the
    // members saw them before update(), so it is finite and no larger than any defective score.
    ASSERT_TRUE(std::isfinite(ens->getImageThreshold()));
    ASSERT_TRUE(std::isfinite(ens->getPixelThreshold()));

    // An explicit calibration on unseen good images: at most the requested fraction of them is flagged.
    std::vector<cv::Mat> calibration;
    for (int i = 40; i < 60; ++i)
        calibration.push_back(texture(i, false));
    const double rate = 0.1;
    ens->calibrate(calibration, rate, 0.01);
    int flagged = 0;
    for (const cv::Mat& img : calibration)
    {
        double score = 0;
        flagged += ens->detect(img, score) ? 1 : 0;
        EXPECT_EQ(score > ens->getImageThreshold(), ens->predict(img) > ens->getImageThreshold());
    }
    EXPECT_LE(flagged, static_cast<int>(rate * calibration.size()));
    EXPECT_GE(flagged, 0);

    // A defect is flagged, and its mask marks pixels of the defect and is the thresholded map.
    double score = 0;
    cv::Mat mask, map;
    const cv::Mat defective = texture(61, true);
    EXPECT_TRUE(ens->detect(defective, score, mask));
    ens->predict(defective, map);
    ASSERT_EQ(CV_8U, mask.type());
    ASSERT_EQ(defective.size(), mask.size());
    EXPECT_EQ(0, cv::norm(mask, map > ens->getPixelThreshold(), cv::NORM_INF));
    EXPECT_GT(cv::countNonZero(mask(cv::Rect(20, 20, 16, 16))), 0);

    // Thresholds survive save/load.
    const std::string file = tempDir() + "/calibrated.pce";
    ens->save(file);
    auto again = Ensemble::load(file);
    EXPECT_EQ(ens->getImageThreshold(), again->getImageThreshold());
    EXPECT_EQ(ens->getPixelThreshold(), again->getPixelThreshold());

    ens->setThresholds(1e9, 1e9);
    EXPECT_FALSE(ens->detect(defective, score, mask));
    EXPECT_EQ(0, cv::countNonZero(mask));
    EXPECT_THROW(ens->setThresholds(std::nan(""), 0), cv::Exception);
    EXPECT_THROW(ens->calibrate(calibration, 0.0, 0.01), cv::Exception);
    EXPECT_THROW(ens->calibrate(std::vector<cv::Mat>(), 0.01, 0.01), cv::Exception);
    ens->clear();
    EXPECT_TRUE(std::isnan(ens->getImageThreshold()));
    EXPECT_THROW(ens->detect(defective, score), cv::Exception);
}

/** The pixel threshold comes from pixels a member saw: a centre-crop member's map holds 0 outside the crop, and
 *  counting those zeros would pull the quantile down. */
TEST(Patchcore_Ensemble, calibrationIgnoresPixelsOutsideTheCrop)
{
    Params crop = tinyParams(0);
    crop.resizeSize = 80; // 80 px shorter side, 64 px centre crop: a 16 px unseen border on a 96 x 80 image
    auto ens = Ensemble::create(0.25);
    ens->addMember(crop);
    std::vector<cv::Mat> good;
    for (int i = 0; i < 8; ++i)
    {
        cv::Mat img;
        cv::resize(texture(i, false), img, cv::Size(96, 80), 0, 0, cv::INTER_NEAREST);
        good.push_back(img);
    }
    ens->train(good);
    std::vector<cv::Mat> calibration(good.begin(), good.begin() + 4);
    const double pixelRate = 0.05;
    ens->calibrate(calibration, 0.5, pixelRate);
    // Expected: the quantile over the pixels inside the crop only, computed here from the maps.
    std::vector<float> inside;
    for (const cv::Mat& img : calibration)
    {
        cv::Mat map;
        ens->predict(img, map);
        cv::Mat seen(map.size(), CV_8U, cv::Scalar(0));
        seen(cv::Rect(16, 8, 64, 64)).setTo(255); // resize 96x80 -> 96x80 (shorter side 80), crop 64 at (16, 8)
        for (int y = 0; y < map.rows; ++y)
            for (int x = 0; x < map.cols; ++x)
                if (seen.at<uchar>(y, x))
                    inside.push_back(map.at<float>(y, x));
    }
    std::sort(inside.begin(), inside.end());
    const size_t rank = static_cast<size_t>(std::ceil((1.0 - pixelRate) * inside.size())) - 1;
    EXPECT_FLOAT_EQ(inside[rank], static_cast<float>(ens->getPixelThreshold()));
}

TEST(Patchcore_Ensemble, errorsSayWhatToDo)
{
    EXPECT_THROW(Ensemble::create(0.0), cv::Exception);
    EXPECT_THROW(Ensemble::create(1.0), cv::Exception);
    auto ens = Ensemble::create();
    EXPECT_THROW(ens->train(goodTextures(4)), cv::Exception); // no members
    ens->addMember(tinyParams(0));
    try
    {
        ens->train(goodTextures(1));
        ADD_FAILURE() << "training on one image must fail";
    }
    catch (const cv::Exception& e)
    {
        EXPECT_NE(std::string::npos, e.err.find("at least 2")) << e.err;
    }
    EXPECT_TRUE(ens->empty());
    EXPECT_THROW(ens->predict(texture(0, false)), cv::Exception);
    EXPECT_THROW(ens->save(tempDir() + "/untrained.pce"), cv::Exception);
    EXPECT_THROW(ens->getMember(1), cv::Exception);

    ens->train(goodTextures(4));
    EXPECT_THROW(ens->addMember(tinyParams(1)), cv::Exception); // trained: clear() first
    ens->clear();
    EXPECT_TRUE(ens->empty());
    ens->addMember(tinyParams(1));
    EXPECT_EQ(2, ens->getMemberCount());

    // A single detector's file is recognised and the user is pointed to Detector::load().
    auto det = Detector::create(tinyParams(0));
    det->train(goodTextures(3));
    const std::string detFile = tempDir() + "/single.pcb";
    det->save(detFile);
    try
    {
        Ensemble::load(detFile);
        ADD_FAILURE() << "loading a detector file as an ensemble must fail";
    }
    catch (const cv::Exception& e)
    {
        EXPECT_NE(std::string::npos, e.err.find("Detector::load")) << e.err;
    }
}

// Detector and Ensemble are peers behind Inspector: Inspector::load() returns whichever a file holds, and both
// decide through the same calls. Members are serialised in memory: saving and loading an ensemble needs no
// temporary folder (OpenCV's, pointed at a missing one here, is never used).
TEST(Patchcore_Ensemble, inspectorLoadsEitherKindWithoutTemporaryFiles)
{
    auto ens = Ensemble::create(0.25);
    ens->addMember(tinyParams(0));
    ens->addMember(tinyParams(1));
    ens->train(goodTextures(8));
    auto det = Detector::create(tinyParams(0));
    det->train(goodTextures(6));
    const std::string dir = tempDir();
    const char* previous = std::getenv("OPENCV_TEMP_PATH");
    const std::string saved = previous ? previous : "";
    ASSERT_EQ(0, ::setenv("OPENCV_TEMP_PATH", (dir + "/missing/folder").c_str(), 1));
    ens->save(dir + "/e.pce");
    det->save(dir + "/d.pcb");
    det->save(dir + "/d.yml");
    const cv::Ptr<cv::patchcore::Inspector> loadedEns = cv::patchcore::Inspector::load(dir + "/e.pce");
    const cv::Ptr<cv::patchcore::Inspector> loadedPcb = cv::patchcore::Inspector::load(dir + "/d.pcb");
    const cv::Ptr<cv::patchcore::Inspector> loadedYml = cv::patchcore::Inspector::load(dir + "/d.yml");
    if (previous)
        ::setenv("OPENCV_TEMP_PATH", saved.c_str(), 1);
    else
        ::unsetenv("OPENCV_TEMP_PATH");
    ASSERT_TRUE(loadedEns.dynamicCast<Ensemble>());
    ASSERT_TRUE(loadedPcb.dynamicCast<Detector>());
    ASSERT_TRUE(loadedYml.dynamicCast<Detector>());
    EXPECT_EQ("PatchCore.Ensemble", loadedEns->getDefaultName());
    const cv::Mat bad = texture(40, true), good = texture(41, false);
    EXPECT_EQ(ens->predict(bad), loadedEns->predict(bad));
    EXPECT_EQ(det->predict(bad), loadedPcb->predict(bad));
    EXPECT_EQ(det->predict(bad), loadedYml->predict(bad));

    // The same decision calls on either kind, through the base.
    for (const cv::Ptr<cv::patchcore::Inspector>& inspector : {loadedEns, loadedPcb})
    {
        const double threshold = (inspector->predict(good) + inspector->predict(bad)) / 2;
        cv::Mat map;
        inspector->predict(bad, map);
        double lo = 0, hi = 0;
        cv::minMaxLoc(map, &lo, &hi);
        inspector->setThresholds(threshold, (lo + hi) / 2);
        double score = 0;
        cv::Mat mask;
        EXPECT_TRUE(inspector->detect(bad, score, mask));
        EXPECT_GT(cv::countNonZero(mask), 0);
        EXPECT_FALSE(inspector->detect(good, score));
    }
    // Both take lists of images the same way: a single Mat is refused with the same words.
    expectErrorContaining([&] { ens->train(texture(0, false)); }, {"Ensemble::train()", "list of images"});
    expectErrorContaining([&] { Ensemble::create()->calibrate(goodTextures(2)); }, {"needs a trained ensemble"});
}

TEST(Patchcore_Ensemble, hazelnutSqueezeNetAndResNet50)
{
    PATCHCORE_REQUIRE_DATA("models/squeezenet1.1.onnx");
    PATCHCORE_REQUIRE_DATA("models/resnet50v2_to_layer3.onnx");
    PATCHCORE_REQUIRE_DATA("datasets/hazelnut_toy");
    std::vector<cv::String> trainFiles, testFiles;
    cv::glob(dataPath("datasets/hazelnut_toy/train/good/*.jpg"), trainFiles);
    cv::glob(dataPath("datasets/hazelnut_toy/test/*.jpg"), testFiles, true);
    std::vector<cv::Mat> train;
    for (const auto& f : trainFiles)
        train.push_back(cv::imread(f));

    auto ens = Ensemble::create();
    Params squeeze;
    squeeze.modelPath = dataPath("models/squeezenet1.1.onnx");
    squeeze.layers = {"fire4", "fire8"};
    squeeze.pretrainEmbedDim = squeeze.targetEmbedDim = 512;
    ens->addMember(squeeze);
    Params resnet;
    resnet.modelPath = dataPath("models/resnet50v2_to_layer3.onnx");
    ens->addMember(resnet);
    ens->train(train);

    const std::string file = tempDir() + "/hazelnut.pce";
    ens->save(file);
    auto again = Ensemble::load(file);

    std::vector<double> scores;
    std::vector<int> labels;
    for (size_t i = 0; i < testFiles.size(); ++i)
    {
        const cv::Mat img = cv::imread(testFiles[i]);
        cv::Mat map, mapAgain;
        scores.push_back(ens->predict(img, map));
        labels.push_back(testFiles[i].find("/good/") != std::string::npos ? 0 : 1);
        EXPECT_EQ(scores.back(), again->predict(img, mapAgain)) << testFiles[i];
        EXPECT_EQ(0, cv::norm(map, mapAgain, cv::NORM_INF)) << testFiles[i];
        if (i < 2)
            expectMeanOfNormalized(*again, img);
    }
    const double auroc = cv::patchcore::imageAUROC(scores, labels);
    std::cout << "[ figures  ] hazelnut_toy ensemble squeezenet1.1 + resnet50v2: image AUROC " << auroc << std::endl;
    RecordProperty("image_auroc", std::to_string(auroc));
    EXPECT_EQ(1.0, auroc);
}

} // namespace
} // namespace opencv_test
