// The public Detector API: training, prediction, saving and loading, progress, and every kind of bad input.
#include "test_precomp.hpp"

#include <opencv2/core/utils/filesystem.hpp>

#include <fstream>
#include <iterator>

namespace opencv_test {
namespace {

using cv::patchcore::Detector;
using cv::patchcore::Params;

const char* const kSqueezeNet = "models/squeezenet1.1.onnx";
const char* const kHazelnutTrain = "datasets/hazelnut_toy/train/good";

std::vector<cv::Mat> readImages(const std::string& pattern, int limit = 1 << 30, int flags = cv::IMREAD_COLOR)
{
    std::vector<cv::String> files;
    cv::glob(pattern, files);
    std::vector<cv::Mat> images;
    for (const auto& f : files)
        if (static_cast<int>(images.size()) < limit)
            images.push_back(cv::imread(f, flags));
    return images;
}

// SqueezeNet taps make a small, fast detector for API tests.
Params squeezeParams()
{
    Params p = referenceParams();
    p.modelPath = dataPath(kSqueezeNet);
    p.layers = {"fire4", "fire8"};
    p.pretrainEmbedDim = 256;
    p.targetEmbedDim = 256;
    return p;
}

class Patchcore_Detector : public ::testing::Test
{
protected:
    void SetUp() override
    {
        PATCHCORE_REQUIRE_DATA(kSqueezeNet);
        PATCHCORE_REQUIRE_DATA(kHazelnutTrain);
        train = readImages(dataPath(kHazelnutTrain) + "/*.jpg", 6);
        test = readImages(dataPath("datasets/hazelnut_toy/test/colour/*.jpg"), 2);
        ASSERT_EQ(train.size(), 6u);
        det = Detector::create(squeezeParams());
        det->train(train);
    }
    std::vector<cv::Mat> train, test;
    cv::Ptr<Detector> det;
};

void expectSamePredictions(const Detector& a, const Detector& b, const std::vector<cv::Mat>& images)
{
    for (const cv::Mat& img : images)
    {
        cv::Mat mapA, mapB;
        const double sa = a.predict(img, mapA), sb = b.predict(img, mapB);
        EXPECT_EQ(sa, sb);
        ASSERT_EQ(mapA.size(), mapB.size());
        EXPECT_EQ(cv::norm(mapA, mapB, cv::NORM_INF), 0.0);
    }
}

TEST_F(Patchcore_Detector, TrainsAndPredictsInTheImageFrame)
{
    EXPECT_FALSE(det->empty());
    EXPECT_EQ(det->getFeatureGridSize(), cv::Size(27, 27));
    EXPECT_EQ(det->getMemoryBankSize(), static_cast<int>(6 * 27 * 27 * 0.1));
    cv::Mat map;
    const double score = det->predict(test[0], map);
    EXPECT_GT(score, 0);
    ASSERT_EQ(map.size(), test[0].size());
    EXPECT_EQ(map.type(), CV_32F);
    double lo, hi;
    cv::minMaxLoc(map, &lo, &hi);
    EXPECT_GE(lo, 0);
    EXPECT_LE(hi, score * 1.0001);
    // 512 -> 256 -> crop 224 keeps input pixels [32, 480): the border outside it holds 0.
    EXPECT_EQ(map.at<float>(5, 5), 0.f);
    EXPECT_GT(map.at<float>(256, 256), 0.f);
}

TEST_F(Patchcore_Detector, WorkingFrameMapsAndMasks)
{
    cv::Mat working, image;
    const double s1 = det->predictMap(test[0], working, cv::patchcore::FRAME_WORKING);
    const double s2 = det->predict(test[0], image);
    EXPECT_EQ(s1, s2);
    ASSERT_EQ(working.size(), cv::Size(224, 224));
    // 512 -> 256 is an exact halving, so the working map's pixel (y, x) sits at input pixel 2 (y + 16) + 0.5.
    EXPECT_NEAR(image.at<float>(2 * (100 + 16), 2 * (60 + 16)), working.at<float>(100, 60),
                0.05 * working.at<float>(100, 60));
    EXPECT_THROW(det->predictMap(test[0], working, 5), cv::Exception);

    cv::Mat mask = cv::Mat::zeros(512, 512, CV_8U), out;
    mask(cv::Rect(200, 100, 100, 60)).setTo(255);
    det->toWorkingFrame(mask, out);
    ASSERT_EQ(out.size(), cv::Size(224, 224));
    ASSERT_EQ(out.type(), CV_32F);
    // Rect x in [200, 300) -> resized [100, 150) -> crop [84, 134); y in [100, 160) -> [50, 80) -> [34, 64).
    EXPECT_EQ(cv::countNonZero(out > 0.5), 50 * 30);
    EXPECT_GT(out.at<float>(40, 100), 0.99f);
    EXPECT_EQ(out.at<float>(10, 10), 0.f);
    EXPECT_THROW(det->toWorkingFrame(test[0], out), cv::Exception) << "3 channels is not a mask";
}

TEST_F(Patchcore_Detector, BatchPredictionEqualsSinglePrediction)
{
    std::vector<double> scores;
    std::vector<cv::Mat> maps;
    det->predictBatch(test, scores, maps);
    ASSERT_EQ(scores.size(), test.size());
    ASSERT_EQ(maps.size(), test.size());
    for (size_t i = 0; i < test.size(); ++i)
    {
        cv::Mat map;
        EXPECT_EQ(det->predict(test[i], map), scores[i]);
        EXPECT_EQ(cv::norm(map, maps[i], cv::NORM_INF), 0.0);
    }
    std::vector<double> scoresOnly;
    det->predictBatch(test, scoresOnly);
    EXPECT_EQ(scoresOnly, scores);
}

TEST_F(Patchcore_Detector, TrainingIsDeterministic)
{
    auto again = Detector::create(squeezeParams());
    again->train(train);
    EXPECT_EQ(cv::norm(det->getMemoryBank(), again->getMemoryBank(), cv::NORM_INF), 0.0);
    expectSamePredictions(*det, *again, test);
}

// trainFiles() decodes a batch at a time; the detector must be the one train() builds from the decoded images,
// including the held-out calibration split and the automatic input mode, which both look at the whole list.
TEST_F(Patchcore_Detector, TrainFilesEqualsTrainOnDecodedImages)
{
    std::vector<cv::String> files;
    cv::glob(dataPath(kHazelnutTrain) + "/*.jpg", files);
    files.resize(6);
    auto fromFiles = Detector::create(squeezeParams());
    fromFiles->trainFiles(files);
    EXPECT_EQ(cv::norm(det->getMemoryBank(), fromFiles->getMemoryBank(), cv::NORM_INF), 0.0);
    expectSamePredictions(*det, *fromFiles, test);

    Params p = squeezeParams();
    p.inputMode = cv::patchcore::INPUT_AUTO;
    p.calibrationFraction = 0.34;
    auto decoded = Detector::create(p), streamed = Detector::create(p);
    decoded->train(train);
    streamed->trainFiles(files);
    EXPECT_EQ(streamed->getParams().inputMode, decoded->getParams().inputMode);
    EXPECT_EQ(cv::norm(decoded->getMemoryBank(), streamed->getMemoryBank(), cv::NORM_INF), 0.0);
    EXPECT_EQ(decoded->getImageThreshold(), streamed->getImageThreshold());
    EXPECT_EQ(decoded->getPixelThreshold(), streamed->getPixelThreshold());
    expectSamePredictions(*decoded, *streamed, test);
}

TEST_F(Patchcore_Detector, TrainFilesNamesTheFileItCannotReadAndKeepsTheDetector)
{
    std::vector<cv::String> files;
    cv::glob(dataPath(kHazelnutTrain) + "/*.jpg", files);
    files.resize(5);
    const std::string dir = tempDir();
    const std::string notAnImage = dir + "/notes.png";
    std::ofstream(notAnImage) << "not an image";
    const cv::Mat bankBefore = det->getMemoryBank();
    for (const std::string& bad : {notAnImage, dir + "/missing.jpg"})
    {
        std::vector<cv::String> list = files;
        list.insert(list.begin() + 3, bad);
        try
        {
            det->trainFiles(list);
            ADD_FAILURE() << "trainFiles() accepted " << bad;
        }
        catch (const cv::Exception& e)
        {
            EXPECT_NE(e.msg.find(bad), std::string::npos) << e.msg;
        }
        EXPECT_EQ(cv::norm(det->getMemoryBank(), bankBefore, cv::NORM_INF), 0.0);
    }
    EXPECT_THROW(det->trainFiles(std::vector<cv::String>()), cv::Exception);
    EXPECT_EQ(cv::norm(det->getMemoryBank(), bankBefore, cv::NORM_INF), 0.0);
}

TEST_F(Patchcore_Detector, SaveLoadRoundTripIsBitIdentical)
{
    const std::string dir = tempDir();
    for (const std::string name : {"det.pcb", "det.yml", "det.yml.gz", "det.xml"})
    {
        const std::string path = dir + "/" + name;
        det->save(path);
        auto loaded = Detector::load(path);
        ASSERT_FALSE(loaded->empty()) << name;
        EXPECT_EQ(loaded->getMemoryBankSize(), det->getMemoryBankSize());
        EXPECT_EQ(loaded->getParams().layers, det->getParams().layers);
        EXPECT_EQ(cv::norm(loaded->getMemoryBank(), det->getMemoryBank(), cv::NORM_INF), 0.0) << name;
        expectSamePredictions(*det, *loaded, test);
    }
    std::vector<cv::String> left;
    cv::glob(dir + "/*tmp*", left);
    EXPECT_TRUE(left.empty()) << "temporary files left behind";
}

TEST_F(Patchcore_Detector, ReadWriteThroughFileStorage)
{
    cv::FileStorage out(".yml", cv::FileStorage::WRITE | cv::FileStorage::MEMORY);
    out << "mine" << "{";
    det->write(out);
    out << "}";
    const std::string text = out.releaseAndGetString();
    EXPECT_NE(text.find("model_sha256"), std::string::npos);
    cv::FileStorage in(text, cv::FileStorage::READ | cv::FileStorage::MEMORY);
    auto other = Detector::create(squeezeParams());
    EXPECT_TRUE(other->empty());
    other->read(in["mine"]);
    expectSamePredictions(*det, *other, test);
}

TEST_F(Patchcore_Detector, ClearForgetsTheBank)
{
    det->clear();
    EXPECT_TRUE(det->empty());
    EXPECT_EQ(det->getMemoryBankSize(), 0);
    EXPECT_THROW(det->predict(test[0]), cv::Exception);
    det->train(train);
    EXPECT_FALSE(det->empty());
}

TEST_F(Patchcore_Detector, ProgressIsReportedAndCancelKeepsTheDetector)
{
    auto fresh = Detector::create(squeezeParams());
    std::vector<std::string> stages;
    int lastDone = -1;
    fresh->setProgressCallback([&](const cv::patchcore::Progress& p) {
        stages.push_back(p.stage);
        EXPECT_LE(p.done, p.total);
        if (p.stage == "backbone")
            lastDone = p.done;
        return true;
    });
    fresh->train(train);
    EXPECT_EQ(lastDone, 6);
    EXPECT_NE(std::find(stages.begin(), stages.end(), "coreset"), stages.end());

    const cv::Mat before = det->getMemoryBank();
    det->setProgressCallback([](const cv::patchcore::Progress& p) { return p.stage != "coreset"; });
    try
    {
        det->train(train);
        ADD_FAILURE() << "cancel did not throw";
    }
    catch (const cv::Exception& e)
    {
        EXPECT_NE(e.err.find("cancelled"), std::string::npos) << e.err;
    }
    EXPECT_EQ(cv::norm(before, det->getMemoryBank(), cv::NORM_INF), 0.0);

    // Every long operation shares the batch loop but names itself when cancelled, and changes nothing.
    det->setProgressCallback([](const cv::patchcore::Progress& p) { return p.stage != "backbone" || p.done == 0; });
    const std::vector<cv::Mat> more(train.begin(), train.begin() + 2);
    expectErrorContaining([&] { det->update(more); }, {"update() cancelled by the progress callback"});
    EXPECT_EQ(cv::norm(before, det->getMemoryBank(), cv::NORM_INF), 0.0);
    det->setProgressCallback([](const cv::patchcore::Progress& p) { return p.stage != "predict"; });
    std::vector<double> scores;
    expectErrorContaining([&] { det->predictBatch(more, scores); }, {"prediction cancelled by the progress callback"});
    det->setProgressCallback(cv::patchcore::ProgressCallback());
}

TEST_F(Patchcore_Detector, AcceptsEveryImageFormat)
{
    const cv::Mat bgr = test[0];
    const double ref = det->predict(bgr);
    cv::Mat bgra, grey, u16, f32;
    cv::cvtColor(bgr, bgra, cv::COLOR_BGR2BGRA);
    EXPECT_EQ(det->predict(bgra), ref) << "alpha must be ignored";
    cv::cvtColor(bgr, grey, cv::COLOR_BGR2GRAY);
    EXPECT_GT(det->predict(grey), 0);
    bgr.convertTo(u16, CV_16U, 257);
    EXPECT_NEAR(det->predict(u16), ref, 0.05 * ref);
    bgr.convertTo(f32, CV_32F, 1.0 / 255);
    EXPECT_NEAR(det->predict(f32), ref, 0.05 * ref);
    // Non-square and small images work as long as they can be resized; the map keeps their size.
    cv::Mat wide;
    cv::resize(bgr, wide, cv::Size(300, 120));
    cv::Mat map;
    det->predict(wide, map);
    EXPECT_EQ(map.size(), wide.size());
    // A view into a larger image (non-continuous) gives the same result as its copy.
    const cv::Mat roi = bgr(cv::Rect(10, 20, 400, 300));
    EXPECT_EQ(det->predict(roi), det->predict(roi.clone()));
}

TEST_F(Patchcore_Detector, BadImagesGiveClearErrors)
{
    EXPECT_THROW(det->predict(cv::Mat()), cv::Exception);
    EXPECT_THROW(det->predict(cv::Mat(100, 100, CV_8SC3, cv::Scalar(1))), cv::Exception);
    EXPECT_THROW(det->predict(cv::Mat(100, 100, CV_8UC2, cv::Scalar(1))), cv::Exception);
    cv::Mat nan(64, 64, CV_32FC3, cv::Scalar(0.5, 0.5, 0.5));
    nan.at<cv::Vec3f>(3, 3)[1] = std::numeric_limits<float>::quiet_NaN();
    EXPECT_THROW(det->predict(nan), cv::Exception);
    std::vector<cv::Mat> none;
    EXPECT_THROW(det->train(none), cv::Exception);
    std::vector<cv::Mat> withEmpty{train[0], cv::Mat()};
    try
    {
        det->train(withEmpty);
        ADD_FAILURE() << "empty image accepted";
    }
    catch (const cv::Exception& e)
    {
        EXPECT_NE(e.err.find("image 1"), std::string::npos) << "the message should say which image: " << e.err;
    }
    EXPECT_THROW(det->train(train[0]), cv::Exception) << "a single Mat is not a list of images";
    std::vector<double> scores;
    EXPECT_THROW(det->predictBatch(none, scores), cv::Exception);
    EXPECT_FALSE(det->empty()) << "failed calls must not damage a trained detector";
}

TEST(Patchcore_DetectorErrors, PredictBeforeTrain)
{
    PATCHCORE_REQUIRE_DATA(kSqueezeNet);
    auto det = Detector::create(squeezeParams());
    EXPECT_TRUE(det->empty());
    try
    {
        det->predict(cv::Mat(64, 64, CV_8UC3, cv::Scalar(1, 2, 3)));
        ADD_FAILURE() << "no exception";
    }
    catch (const cv::Exception& e)
    {
        EXPECT_NE(e.err.find("train"), std::string::npos) << e.err;
    }
    EXPECT_THROW(det->getFeatureGridSize(), cv::Exception);
}

TEST(Patchcore_DetectorErrors, MissingInvalidModelAndUnknownTap)
{
    Params p;
    EXPECT_THROW(Detector::create(p), cv::Exception) << "empty model path";
    p.modelPath = "/nonexistent/model.onnx";
    try
    {
        Detector::create(p);
        ADD_FAILURE();
    }
    catch (const cv::Exception& e)
    {
        EXPECT_NE(e.err.find("/nonexistent/model.onnx"), std::string::npos) << e.err;
    }
    const std::string dir = tempDir();
    p.modelPath = dir + "/garbage.onnx";
    std::ofstream(p.modelPath) << "this is not a protobuf";
    EXPECT_THROW(Detector::create(p), cv::Exception);
    p.modelPath = dir;
    EXPECT_THROW(Detector::create(p), cv::Exception) << "a folder is not a model";

    PATCHCORE_REQUIRE_DATA(kSqueezeNet);
    p = squeezeParams();
    p.layers = {"fire4", "no_such_layer"};
    try
    {
        Detector::create(p);
        ADD_FAILURE();
    }
    catch (const cv::Exception& e)
    {
        EXPECT_NE(e.err.find("no_such_layer"), std::string::npos) << e.err;
        EXPECT_NE(e.err.find("fire8"), std::string::npos) << "the message should list the available outputs";
    }
}

TEST(Patchcore_DetectorErrors, InvalidParams)
{
    PATCHCORE_REQUIRE_DATA(kSqueezeNet);
    auto expectBad = [](const std::function<void(Params&)>& edit) {
        Params p = squeezeParams();
        edit(p);
        EXPECT_THROW(Detector::create(p), cv::Exception);
    };
    expectBad([](Params& p) { p.layers.clear(); });
    expectBad([](Params& p) { p.cropSize = 0; });
    expectBad([](Params& p) { p.resizeSize = 100; });
    expectBad([](Params& p) { p.patchSize = 2; });
    expectBad([](Params& p) { p.coresetRatio = 0; });
    expectBad([](Params& p) { p.coresetRatio = 1.5; });
    expectBad([](Params& p) { p.coresetMethod = 7; });
    expectBad([](Params& p) { p.k = 0; });
    expectBad([](Params& p) { p.metric = 3; });
    expectBad([](Params& p) { p.sigma = -1; });
    expectBad([](Params& p) { p.stdev = cv::Scalar(0.2, 0, 0.2); });
    expectBad([](Params& p) { p.batchSize = 0; });
}

TEST(Patchcore_DetectorErrors, KLargerThanTheBank)
{
    PATCHCORE_REQUIRE_DATA(kSqueezeNet);
    PATCHCORE_REQUIRE_DATA(kHazelnutTrain);
    Params p = squeezeParams();
    p.coresetRatio = 0.001;
    p.k = 50;
    auto det = Detector::create(p);
    EXPECT_THROW(det->train(readImages(dataPath(kHazelnutTrain) + "/*.jpg", 1)), cv::Exception);
}

TEST_F(Patchcore_Detector, DamagedSavedFilesAreRejected)
{
    const std::string dir = tempDir();
    const std::string pcb = dir + "/det.pcb";
    det->save(pcb);
    std::ifstream in(pcb, std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_GT(bytes.size(), 1000u);
    auto writeBytes = [](const std::string& path, const std::vector<char>& b) {
        std::ofstream(path, std::ios::binary).write(b.data(), static_cast<std::streamsize>(b.size()));
    };
    for (size_t cut : {size_t(0), size_t(10), bytes.size() / 2, bytes.size() - 1})
    {
        writeBytes(dir + "/cut.pcb", std::vector<char>(bytes.begin(), bytes.begin() + cut));
        EXPECT_THROW(Detector::load(dir + "/cut.pcb"), cv::Exception) << "cut at " << cut;
    }
    for (size_t pos : {size_t(20), bytes.size() / 3, bytes.size() - 40})
    {
        std::vector<char> flipped = bytes;
        flipped[pos] ^= 0x10;
        writeBytes(dir + "/flip.pcb", flipped);
        EXPECT_THROW(Detector::load(dir + "/flip.pcb"), cv::Exception) << "flip at " << pos;
    }

    const std::string yml = dir + "/det.yml";
    det->save(yml);
    std::ifstream yin(yml);
    std::string text((std::istreambuf_iterator<char>(yin)), std::istreambuf_iterator<char>());
    writeBytes(dir + "/cut.yml", std::vector<char>(text.begin(), text.begin() + text.size() / 2));
    EXPECT_THROW(Detector::load(dir + "/cut.yml"), cv::Exception);
    std::string edited = text;
    const size_t at = edited.find("bank_cols: ");
    ASSERT_NE(at, std::string::npos);
    edited.replace(at, 11, "bank_cols: 1");
    writeBytes(dir + "/edited.yml", std::vector<char>(edited.begin(), edited.end()));
    EXPECT_THROW(Detector::load(dir + "/edited.yml"), cv::Exception);
    std::string version = text;
    version.replace(version.find("format_version: 2"), 17, "format_version: 9");
    writeBytes(dir + "/future.yml", std::vector<char>(version.begin(), version.end()));
    EXPECT_THROW(Detector::load(dir + "/future.yml"), cv::Exception);
    EXPECT_THROW(Detector::load(dir + "/does_not_exist.pcb"), cv::Exception);
}

// Run settings (devices, backend, batch size, memory bounds) are how a process runs a detector, not part of the
// model: they are not saved, a file that carries them (format 1, or edited; e.g. DEVICE_CUDA from a GPU machine)
// loads and predicts the same on a machine without CUDA with the defaults, and read() keeps the detector's own.
TEST_F(Patchcore_Detector, RunSettingsAreNotPartOfTheModel)
{
    const std::string dir = tempDir(), yml = dir + "/det.yml";
    det->save(yml);
    std::ifstream in(yml);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (const char* key : {"batchSize", "backend", "target", "coresetDevice", "searchDevice", "memoryBudgetMB",
                            "maxImageMB"})
        EXPECT_EQ(text.find(std::string(" ") + key + ":"), std::string::npos) << key << " was saved";
    const size_t at = text.find("      k: ");
    ASSERT_NE(at, std::string::npos);
    text.insert(at, "      coresetDevice: 2\n      searchDevice: 2\n      batchSize: 7\n      maxImageMB: 1.\n");
    std::ofstream(dir + "/gpu.yml", std::ios::binary) << text;
    cv::Ptr<Detector> loaded;
    ASSERT_NO_THROW(loaded = Detector::load(dir + "/gpu.yml"));
    const Params defaults;
    EXPECT_EQ(defaults.searchDevice, loaded->getParams().searchDevice);
    EXPECT_EQ(defaults.coresetDevice, loaded->getParams().coresetDevice);
    EXPECT_EQ(defaults.batchSize, loaded->getParams().batchSize);
    EXPECT_EQ(defaults.maxImageMB, loaded->getParams().maxImageMB);
    expectSamePredictions(*det, *loaded, test);

    // read() into a detector keeps the run settings it has.
    Params run = loaded->getParams();
    run.batchSize = 3;
    run.maxImageMB = 4096;
    run.searchDevice = cv::patchcore::DEVICE_CPU;
    run.k = 5; // a model setting: ignored by setRunSettings()
    loaded->setRunSettings(run);
    EXPECT_EQ(3, loaded->getParams().batchSize);
    EXPECT_EQ(cv::patchcore::DEVICE_CPU, loaded->getParams().searchDevice);
    EXPECT_EQ(det->getParams().k, loaded->getParams().k);
    cv::FileStorage fs(dir + "/gpu.yml", cv::FileStorage::READ);
    loaded->read(fs["opencv_patchcore_Detector"]);
    EXPECT_EQ(3, loaded->getParams().batchSize);
    EXPECT_EQ(4096, loaded->getParams().maxImageMB);
    EXPECT_EQ(cv::patchcore::DEVICE_CPU, loaded->getParams().searchDevice);
    expectSamePredictions(*det, *loaded, test);

    // The binary container does not keep them either.
    loaded->save(dir + "/run.pcb");
    cv::Ptr<Detector> fromPcb = Detector::load(dir + "/run.pcb");
    EXPECT_EQ(defaults.batchSize, fromPcb->getParams().batchSize);
    EXPECT_EQ(defaults.maxImageMB, fromPcb->getParams().maxImageMB);
    EXPECT_EQ(defaults.searchDevice, fromPcb->getParams().searchDevice);
    expectSamePredictions(*det, *fromPcb, test);

    // An invalid run setting is refused and changes nothing.
    run.batchSize = 0;
    expectErrorContaining([&] { loaded->setRunSettings(run); }, {"batchSize must be in [1, 1024]"});
    EXPECT_EQ(3, loaded->getParams().batchSize);
}

TEST_F(Patchcore_Detector, ChangedBackboneIsDetectedOnLoad)
{
    const std::string dir = tempDir();
    // A YAML file references its backbone by path: point it at a copy, then change the copy.
    std::ifstream src(dataPath(kSqueezeNet), std::ios::binary);
    std::vector<char> model((std::istreambuf_iterator<char>(src)), std::istreambuf_iterator<char>());
    const std::string modelCopy = dir + "/squeezenet1.1.onnx";
    std::ofstream(modelCopy, std::ios::binary).write(model.data(), static_cast<std::streamsize>(model.size()));
    Params p = squeezeParams();
    p.modelPath = modelCopy;
    auto d = Detector::create(p);
    d->train(train);
    d->save(dir + "/det.yml");
    EXPECT_NO_THROW(Detector::load(dir + "/det.yml"));
    model[model.size() / 2] ^= 1;
    std::ofstream(modelCopy, std::ios::binary).write(model.data(), static_cast<std::streamsize>(model.size()));
    try
    {
        Detector::load(dir + "/det.yml");
        ADD_FAILURE() << "a changed backbone was accepted";
    }
    catch (const cv::Exception& e)
    {
        EXPECT_NE(e.err.find("SHA-256"), std::string::npos) << e.err;
    }
}

} // namespace
} // namespace opencv_test
