// Bad inputs of every kind, with the project's own tiny backbone (data/test_models), so these tests run anywhere:
// odd images, broken or unsuitable models, damaged or edited saved files, and files of earlier formats
// (data/compat) that must keep loading. doc/ROBUSTNESS.md lists what each test shows; a save killed half-way is
// in test_threading.cpp.
#include "test_precomp.hpp"
#include "opencv2/patchcore/ensemble.hpp"

#include "serialization.hpp"

#include <opencv2/core/utils/filesystem.hpp>

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>

#include <unistd.h>

namespace opencv_test {
namespace {

using cv::patchcore::Detector;
using cv::patchcore::Params;


const std::string kTinyModel = "test_models/tiny_backbone.onnx";

/** Deterministic textured image from integer arithmetic only (identical on every platform); `anomaly` adds a
 *  bright square in the middle. */
cv::Mat syntheticImage(cv::Size size, int seed, bool anomaly = false)
{
    cv::Mat img(size, CV_8UC3);
    for (int y = 0; y < size.height; ++y)
        for (int x = 0; x < size.width; ++x)
            for (int c = 0; c < 3; ++c)
                img.at<cv::Vec3b>(y, x)[c] =
                    static_cast<uchar>((((x + seed) / 4 + (y / 4)) % 2) * 120 + ((x * 7 + y * 13 + c * 50 + seed) % 40));
    if (anomaly)
        img(cv::Rect(size.width * 2 / 5, size.height * 2 / 5, size.width / 5, size.height / 5)).setTo(cv::Scalar(250, 30, 250));
    return img;
}

std::vector<cv::Mat> goodImages(int n = 4)
{
    std::vector<cv::Mat> images;
    for (int i = 0; i < n; ++i)
        images.push_back(syntheticImage(cv::Size(80, 64), i));
    return images;
}

cv::Ptr<Detector> trainedTiny()
{
    auto det = Detector::create(tinyModelParams());
    det->train(goodImages());
    return det;
}

std::vector<char> readAll(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    return std::vector<char>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void writeAll(const std::string& path, const std::vector<char>& bytes)
{
    std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// ---------------------------------------------------------------------------------------------------------------
// The tiny model works end to end

TEST(Patchcore_Robustness, tiny_model_trains_predicts_saves_and_loads)
{
    auto det = trainedTiny();
    EXPECT_EQ(det->getFeatureGridSize(), cv::Size(16, 16));
    EXPECT_EQ(det->getMemoryBank().cols, 32);
    cv::Mat map;
    const double good = det->predict(syntheticImage(cv::Size(80, 64), 1));
    const cv::Mat anomalous = syntheticImage(cv::Size(80, 64), 1, true);
    const double bad = det->predict(anomalous, map);
    EXPECT_GT(bad, 2 * good + 1e-6) << "the bright square must stand out";
    ASSERT_EQ(map.size(), anomalous.size());
    cv::Point worst;
    cv::minMaxLoc(map, nullptr, nullptr, nullptr, &worst);
    EXPECT_TRUE(cv::Rect(24, 18, 32, 28).contains(worst)) << "map peak at " << worst;

    const std::string dir = tempDir();
    for (const std::string name : {"d.pcb", "d.yml", "d.yml.gz", "d.json"})
    {
        det->save(dir + "/" + name);
        cv::Mat loadedMap;
        EXPECT_EQ(Detector::load(dir + "/" + name)->predict(anomalous, loadedMap), bad) << name;
        EXPECT_EQ(cv::norm(loadedMap, map, cv::NORM_INF), 0.0) << name;
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Images

TEST(Patchcore_Robustness, non_finite_pixels_are_rejected)
{
    auto det = trainedTiny();
    for (const float bad : {std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::quiet_NaN()})
    {
        cv::Mat f32(64, 64, CV_32FC3, cv::Scalar(0.5, 0.5, 0.5));
        f32.at<cv::Vec3f>(10, 20)[2] = bad;
        expectErrorContaining([&] { det->predict(f32); }, {"NaN or infinite"});
        cv::Mat f64;
        f32.convertTo(f64, CV_64F);
        expectErrorContaining([&] { det->predict(f64); }, {"NaN or infinite"});
        std::vector<cv::Mat> train = goodImages(2);
        train.push_back(f32);
        EXPECT_THROW(det->train(train), cv::Exception);
    }
    // Floats in 0..255 instead of [0, 1] (a common slip) are accepted: large, but finite, features.
    EXPECT_TRUE(std::isfinite(det->predict(cv::Mat(64, 64, CV_32FC3, cv::Scalar(255, 0, 128)))));
    // Finite but absurd values make features whose squared distances overflow float: refused with a message.
    expectErrorContaining([&] { det->predict(cv::Mat(64, 64, CV_32FC3, cv::Scalar(1e30, 0, 1))); },
                          {"huge", "input"});
    EXPECT_FALSE(det->empty()) << "failed calls must leave the detector trained";
}

TEST(Patchcore_Robustness, unsupported_depths_and_channel_counts_are_named)
{
    auto det = trainedTiny();
    expectErrorContaining([&] { det->predict(cv::Mat(32, 32, CV_16SC3, cv::Scalar(1))); }, {"depth", "CV_16S"});
    expectErrorContaining([&] { det->predict(cv::Mat(32, 32, CV_32SC3, cv::Scalar(1))); }, {"depth", "CV_32S"});
    expectErrorContaining([&] { det->predict(cv::Mat(32, 32, CV_16FC3, cv::Scalar(1))); }, {"depth"});
    expectErrorContaining([&] { det->predict(cv::Mat(32, 32, CV_8UC2, cv::Scalar(1))); }, {"2 channels"});
    cv::Mat five(32, 32, CV_8UC(5));
    std::memset(five.data, 7, five.total() * five.elemSize()); // Scalar-based fills stop at 4 channels
    expectErrorContaining([&] { det->predict(five); }, {"5 channels"});
    // Accepted formats all give a finite score.
    for (int type : {CV_8UC1, CV_8UC3, CV_8UC4, CV_16UC1, CV_16UC3, CV_32FC1, CV_32FC4, CV_64FC3})
        EXPECT_TRUE(std::isfinite(det->predict(cv::Mat(40, 50, type, cv::Scalar::all(0.25))))) << type;
}

// The shorter side is always resized to resizeSize first, so an image smaller than the crop is enlarged and works;
// its map keeps its own size.
TEST(Patchcore_Robustness, tiny_images_work_and_keep_their_size)
{
    auto det = trainedTiny();
    for (const cv::Size size : {cv::Size(1, 1), cv::Size(1, 3), cv::Size(5, 2), cv::Size(63, 17)})
    {
        cv::Mat img(size, CV_8UC3, cv::Scalar(90, 40, 200)), map;
        const double s = det->predict(img, map);
        EXPECT_TRUE(std::isfinite(s)) << size;
        EXPECT_EQ(map.size(), size);
        EXPECT_EQ(map.type(), CV_32F);
    }
    EXPECT_THROW(det->predict(cv::Mat(0, 5, CV_8UC3)), cv::Exception);
}

// The same bad and odd inputs under the default input mode (INPUT_AUTO), in both modes it resolves to: the
// aspect-kept whole frame (small training images) and tiles (large ones).
TEST(Patchcore_Robustness, default_input_mode_handles_odd_sizes_and_bad_images)
{
    for (const cv::Size trainSize : {cv::Size(64, 64), cv::Size(320, 256)})
    {
        cv::patchcore::Params p = tinyModelParams();
        p.inputMode = cv::patchcore::INPUT_AUTO;
        auto det = Detector::create(p);
        std::vector<cv::Mat> train;
        for (const cv::Mat& img : goodImages(3))
        {
            cv::Mat resized;
            cv::resize(img, resized, trainSize);
            train.push_back(resized);
        }
        det->train(train);
        SCOPED_TRACE("trained in mode " + std::to_string(det->getParams().inputMode));
        for (const cv::Size size : {cv::Size(1, 1), cv::Size(5, 2), cv::Size(63, 17), cv::Size(900, 300)})
        {
            cv::Mat img(size, CV_8UC3, cv::Scalar(90, 40, 200)), map;
            EXPECT_TRUE(std::isfinite(det->predict(img, map))) << size;
            EXPECT_EQ(map.size(), size);
        }
        cv::Mat nan(64, 64, CV_32FC3, cv::Scalar(0.5, 0.5, 0.5));
        nan.at<cv::Vec3f>(3, 3)[0] = std::numeric_limits<float>::quiet_NaN();
        expectErrorContaining([&] { det->predict(nan); }, {"NaN or infinite"});
        expectErrorContaining([&] { det->predict(cv::Mat(32, 32, CV_8UC2, cv::Scalar(1))); }, {"2 channels"});
        EXPECT_THROW(det->predict(cv::Mat()), cv::Exception);
    }
}

// 20000 x 20000 pixels (400 MB grey, 1.2 GB after conversion to RGB inside pre-processing): must work or fail with
// a cv::Exception, never crash. Skipped where the machine cannot even hold the input.
TEST(Patchcore_Robustness, huge_image_does_not_crash)
{
    auto det = trainedTiny();
    cv::Mat huge;
    try
    {
        huge.create(20000, 20000, CV_8UC1);
    }
    catch (const std::exception& e)
    {
        GTEST_SKIP() << "SKIPPED: cannot allocate a 20000 x 20000 image here: " << e.what();
    }
    for (int y = 0; y < huge.rows; ++y) // stripes, so that the image looks alike at every scale
        huge.row(y).setTo((y / 1000) % 2 ? 60 : 190);
    huge(cv::Rect(9000, 9000, 2000, 2000)).setTo(255);
    try
    {
        cv::Mat map;
        const double s = det->predict(huge, map);
        EXPECT_TRUE(std::isfinite(s));
        EXPECT_EQ(map.size(), huge.size());
        // Pre-processing brings it to 64 x 64 anyway: the score is that of a 200 x 200 version of the same image.
        cv::Mat small;
        cv::resize(huge, small, cv::Size(200, 200), 0, 0, cv::INTER_AREA);
        huge.release();
        const double ref = det->predict(small);
        EXPECT_NEAR(s, ref, 0.1 * ref);
    }
    catch (const cv::Exception& e)
    {
        EXPECT_NE(e.code, cv::Error::StsAssert) << "only a clear error is acceptable: " << e.what();
    }
}

// A training set that cannot fit Params::memoryBudgetMB fails with what it needs, and leaves the detector as it was.
TEST(Patchcore_Robustness, training_beyond_memory_budget_fails_with_what_it_needs)
{
    Params p = tinyModelParams();
    p.memoryBudgetMB = 0.01; // 4 images x 256 patches x 32 floats need about 0.13 MiB
    auto det = Detector::create(p);
    expectErrorContaining([&] { det->train(goodImages()); }, {"memoryBudgetMB", "MiB"});
    EXPECT_TRUE(det->empty());
    p.memoryBudgetMB = 64;
    auto roomy = Detector::create(p);
    roomy->train(goodImages());
    EXPECT_EQ(cv::norm(roomy->getMemoryBank(), trainedTiny()->getMemoryBank(), cv::NORM_INF), 0.0);
}

// ---------------------------------------------------------------------------------------------------------------
// Models

TEST(Patchcore_Robustness, tap_of_wrong_rank_gives_clear_error)
{
    Params p = tinyModelParams();
    p.modelPath = testDataPath("test_models/tiny_rank2.onnx");
    p.layers = {"tap_a", "flat"};
    // The network loads; the rank is only known once it runs, so the first training call reports it.
    auto det = Detector::create(p);
    expectErrorContaining([&] { det->train(goodImages(2)); }, {"'flat'", "rank-2", "N x C x H x W"});
    EXPECT_TRUE(det->empty());
    p.layers = {"tap_a", "tap_b"}; // the same file with proper taps works
    EXPECT_NO_THROW(Detector::create(p)->train(goodImages(2)));
}

// A network whose weights overflow (here an infinite bias) would poison the coreset and every distance.
TEST(Patchcore_Robustness, non_finite_backbone_output_is_refused)
{
    Params p = tinyModelParams();
    p.modelPath = testDataPath("test_models/tiny_nonfinite.onnx");
    auto det = Detector::create(p);
    expectErrorContaining([&] { det->train(goodImages(2)); }, {"'tap_b'", "NaN, infinite or huge", "weights"});
    EXPECT_TRUE(det->empty());
}

TEST(Patchcore_Robustness, missing_tap_and_broken_model_files)
{
    Params p = tinyModelParams();
    p.layers = {"tap_a", "layer3"};
    expectErrorContaining([&] { Detector::create(p); }, {"'layer3'", "tap_a", "tap_b"});
    p = tinyModelParams();
    p.modelPath = testDataPath("test_models/tiny_truncated.onnx");
    expectErrorContaining([&] { Detector::create(p); }, {"tiny_truncated.onnx", "ONNX"});
    const std::string dir = tempDir();
    p.modelPath = dir + "/empty.onnx";
    writeAll(p.modelPath, {});
    expectErrorContaining([&] { Detector::create(p); }, {"empty"});
}

// ---------------------------------------------------------------------------------------------------------------
// Saved files

TEST(Patchcore_Robustness, changed_backbone_is_detected_by_checksum)
{
    const std::string dir = tempDir();
    std::vector<char> model = readAll(testDataPath(kTinyModel));
    Params p = tinyModelParams();
    p.modelPath = dir + "/tiny_backbone.onnx";
    writeAll(p.modelPath, model);
    auto det = Detector::create(p);
    det->train(goodImages(2));
    det->save(dir + "/det.yml");
    det->save(dir + "/det.pcb");
    EXPECT_NO_THROW(Detector::load(dir + "/det.yml"));
    model[model.size() - 100] ^= 0x40; // a weight changes: the network still loads, its results would not match
    writeAll(p.modelPath, model);
    expectErrorContaining([&] { Detector::load(dir + "/det.yml"); }, {"SHA-256", "tiny_backbone.onnx"});
    expectErrorContaining([&] { Detector::load(dir + "/det.yml", p.modelPath); }, {"SHA-256"});
    EXPECT_NO_THROW(Detector::load(dir + "/det.pcb")) << "the binary file embeds its own copy of the model";
    std::remove(p.modelPath.c_str());
    expectErrorContaining([&] { Detector::load(dir + "/det.yml"); }, {"not found", "tiny_backbone.onnx", ".pcb"});
}

TEST(Patchcore_Robustness, truncated_and_bit_flipped_binary_files_never_load)
{
    auto det = trainedTiny();
    const std::string dir = tempDir();
    det->save(dir + "/det.pcb");
    const std::vector<char> bytes = readAll(dir + "/det.pcb");
    ASSERT_GT(bytes.size(), 5000u);
    // Every 97th length and every 89th byte position (all regions: header, sections, bank, model, checksum).
    for (size_t cut = 0; cut < bytes.size(); cut += 97)
    {
        writeAll(dir + "/cut.pcb", std::vector<char>(bytes.begin(), bytes.begin() + cut));
        EXPECT_THROW(Detector::load(dir + "/cut.pcb"), cv::Exception) << "cut at " << cut;
    }
    for (size_t pos = 0; pos < bytes.size(); pos += 89)
    {
        std::vector<char> flipped = bytes;
        flipped[pos] ^= static_cast<char>(1 << (pos % 8));
        writeAll(dir + "/flip.pcb", flipped);
        EXPECT_THROW(Detector::load(dir + "/flip.pcb"), cv::Exception) << "flip at " << pos;
    }
}

/** Rewrites the version field of a .pcb file and its checksum, as a newer library would have written it. */
void setBinaryVersion(const std::string& path, uint32_t version)
{
    std::vector<char> bytes = readAll(path);
    for (int i = 0; i < 4; ++i)
        bytes[16 + i] = static_cast<char>(version >> (8 * i));
    const auto digest = cv::patchcore::detail::sha256(bytes.data(), bytes.size() - 32);
    std::memcpy(bytes.data() + bytes.size() - 32, digest.data(), 32);
    writeAll(path, bytes);
}

TEST(Patchcore_Robustness, unknown_format_versions_are_named)
{
    auto det = trainedTiny();
    const std::string dir = tempDir();
    det->save(dir + "/det.pcb");
    setBinaryVersion(dir + "/det.pcb", 3);
    expectErrorContaining([&] { Detector::load(dir + "/det.pcb"); }, {"newer", "format 3"});
    setBinaryVersion(dir + "/det.pcb", 0);
    expectErrorContaining([&] { Detector::load(dir + "/det.pcb"); }, {"version 0"});

    // A checksummed file whose header OpenCV's YAML parser cannot read (it threw std::length_error, not
    // cv::Exception, until the loader caught it; found by fuzz_binary_loader).
    det->save(dir + "/det.pcb");
    cv::patchcore::detail::Sections sections = cv::patchcore::detail::readContainer(dir + "/det.pcb", 2, nullptr);
    std::string header(sections["header"].begin(), sections["header"].end());
    header.replace(header.find("      k: 1\n"), 11, "      :  1  k\n");
    sections["header"].assign(header.begin(), header.end());
    cv::patchcore::detail::writeContainer(dir + "/det.pcb", 2, sections);
    expectErrorContaining([&] { Detector::load(dir + "/det.pcb"); }, {"the header of", "cannot be parsed"});

    det->save(dir + "/det.yml");
    const std::vector<char> text = readAll(dir + "/det.yml");
    std::string s(text.begin(), text.end());
    const size_t at = s.find("format_version: 2");
    ASSERT_NE(at, std::string::npos);
    for (const std::string v : {"3", "0", "-1", "1.5", "\"1\""})
    {
        std::string edited = s;
        edited.replace(at, 17, "format_version: " + v);
        writeAll(dir + "/v.yml", std::vector<char>(edited.begin(), edited.end()));
        expectErrorContaining([&] { Detector::load(dir + "/v.yml"); }, {"format"});
    }
}

// A FileStorage file has no checksum of its own (it is meant to be readable and editable); edits that make it
// inconsistent must be refused with a message or, where harmless, give a sane prediction; never a crash (the
// sanitizer build runs this test too) or a map of the wrong size.
TEST(Patchcore_Robustness, inconsistent_edits_of_yaml_files_are_refused)
{
    auto det = trainedTiny();
    const std::string dir = tempDir();
    det->save(dir + "/det.yml");
    const std::vector<char> text = readAll(dir + "/det.yml");
    const std::string s(text.begin(), text.end());
    const cv::Mat probe = syntheticImage(cv::Size(80, 64), 3, true);
    struct Edit { std::string from, to; bool mustThrow; };
    const Edit edits[] = {
        {"feature_grid: [ 16, 16 ]", "feature_grid: [ 4, 4 ]", false},   // grid smaller than the backbone gives
        {"feature_grid: [ 16, 16 ]", "feature_grid: [ 64, 64 ]", false}, // and larger
        {"cropSize: 64", "cropSize: 32", false},                         // params that change the grid
        {"targetEmbedDim: 32", "targetEmbedDim: 16", true},              // bank width no longer matches
        {"k: 1\n", "k: 100000\n", true},                                 // more neighbours than bank rows
        {"- tap_a", "- tap_z", true},                                    // a tap the backbone lacks
        {"bank_rows: ", "bank_rows: 1", true},                           // bank size fields disagree
        {"model_sha256: ", "model_sha256: a", true},                     // checksum of another model
        {"      k: 1\n", "      :  1  k\n", true}, // FileStorage threw std::length_error here (found by fuzzing)
        {"      k: 1\n", "      k: 3e12\n", true},  // beyond int: was an undefined conversion (fuzzing)
        {"      cols: 32\n", "      cols: x\n", true}, // the bank's own shape: made cv::read() ask for 64 GB (fuzzing)
        {"      cols: 32\n", "      cols: 33\n", true},
    };
    for (const Edit& e : edits)
    {
        SCOPED_TRACE(e.to);
        const size_t at = s.find(e.from);
        ASSERT_NE(at, std::string::npos) << "not in the file:\n" << s.substr(0, 1500);
        std::string edited = s;
        edited.replace(at, e.from.size(), e.to);
        writeAll(dir + "/e.yml", std::vector<char>(edited.begin(), edited.end()));
        try
        {
            auto loaded = Detector::load(dir + "/e.yml");
            cv::Mat map;
            const double score = loaded->predict(probe, map);
            EXPECT_FALSE(e.mustThrow) << "the edit was accepted";
            EXPECT_TRUE(std::isfinite(score));
            EXPECT_EQ(map.size(), probe.size());
        }
        catch (const cv::Exception& ex)
        {
            EXPECT_NE(ex.code, cv::Error::StsAssert) << "an assertion is not a message for users: " << ex.what();
        }
    }
}


// ---------------------------------------------------------------------------------------------------------------
// Files written by earlier versions (data/compat) keep loading and predicting the same scores.

// Format 1 saved run settings (devices, backend, batch size, memory bounds) with the model; format 2 does not.
TEST(Patchcore_Compat, files_of_every_format_keep_loading_and_predicting)
{
    const cv::Mat normal = syntheticImage(cv::Size(80, 64), 7), anomalous = syntheticImage(cv::Size(80, 64), 7, true);
    for (const std::string format : {"tiny_format1", "tiny_format2"})
    {
        const std::string expectedPath = testDataPath("compat/" + format + ".expected.yml");
        cv::FileStorage expected(expectedPath, cv::FileStorage::READ);
        ASSERT_TRUE(expected.isOpened()) << expectedPath;
        for (const std::string extension : {".pcb", ".yml"})
        {
            SCOPED_TRACE(format + extension);
            // The YAML file references its backbone by the path it was trained with; the committed tiny model
            // stands in.
            auto det = Detector::load(testDataPath("compat/" + format + extension), testDataPath(kTinyModel));
            EXPECT_EQ(det->getMemoryBankSize(), static_cast<int>(expected["bank_rows"]));
            EXPECT_EQ(det->getFeatureGridSize(), cv::Size(16, 16));
            EXPECT_EQ(Params().batchSize, det->getParams().batchSize) << "a file's run settings must not apply";
            cv::Mat map;
            const double sNormal = det->predict(normal), sAnomalous = det->predict(anomalous, map);
            // Relative 1e-4: cv::dnn may pick other SIMD kernels on another CPU; a misread file is off by far more.
            const double eNormal = expected["score_normal"], eAnomalous = expected["score_anomalous"];
            EXPECT_NEAR(sNormal, eNormal, 1e-4 * std::abs(eNormal));
            EXPECT_NEAR(sAnomalous, eAnomalous, 1e-4 * std::abs(eAnomalous));
            EXPECT_NEAR(cv::sum(map)[0], static_cast<double>(expected["map_sum_anomalous"]),
                        1e-4 * static_cast<double>(expected["map_sum_anomalous"]));
        }
    }
}

// Writes data/compat/ and the fuzz seed corpus. Run by hand only:
//   opencv_test_patchcore --gtest_also_run_disabled_tests --gtest_filter='*DISABLED_write_compat_files*'
// Never overwrite a committed format-N file: when the format changes, write tiny_format<N+1>.* beside the old ones
// (kCurrentFormat) and add it to the test above.
TEST(Patchcore_Compat, DISABLED_write_compat_files_and_fuzz_seeds)
{
    const std::string kCurrentFormat = "compat/tiny_format2";
    Params p = tinyModelParams();
    p.modelPath = testDataPath(kTinyModel);
    auto det = Detector::create(p);
    det->train(goodImages());
    det->save(testDataPath(kCurrentFormat + ".pcb"));
    det->save(testDataPath(kCurrentFormat + ".yml"));
    cv::Mat map;
    const double sNormal = det->predict(syntheticImage(cv::Size(80, 64), 7));
    const double sAnomalous = det->predict(syntheticImage(cv::Size(80, 64), 7, true), map);
    cv::FileStorage out(testDataPath(kCurrentFormat + ".expected.yml"), cv::FileStorage::WRITE);
    out << "bank_rows" << det->getMemoryBankSize() << "score_normal" << sNormal << "score_anomalous" << sAnomalous
        << "map_sum_anomalous" << cv::sum(map)[0];
    out.release();

    // Fuzz seeds: small valid files and a few variants, so that the fuzzers start deep inside the formats.
    const std::string corpus = testDataPath("../modules/patchcore/fuzz/corpus");
    Params small = tinyModelParams();
    small.resizeSize = small.cropSize = 16; // 4 x 4 grid
    small.pretrainEmbedDim = small.targetEmbedDim = 8;
    small.coresetRatio = 0.25;
    small.modelPath = "tiny_backbone.onnx"; // the fuzzers keep a copy beside their input
    const std::string cwd = cv::utils::fs::getcwd();
    const std::string scratch = tempDir();
    writeAll(scratch + "/tiny_backbone.onnx", readAll(testDataPath(kTinyModel)));
    ASSERT_EQ(::chdir(scratch.c_str()), 0);
    auto seedDet = Detector::create(small);
    seedDet->train(goodImages(2));
    // An ensemble of two such members: the binary fuzzer loads ensembles too (they share the container).
    auto seedEns = cv::patchcore::Ensemble::create(0.5);
    seedEns->addMember(small);
    small.seed = 1;
    seedEns->addMember(small);
    seedEns->train(goodImages(2));
    ASSERT_EQ(::chdir(cwd.c_str()), 0);
    // The binary fuzzer's first byte picks its mode (odd: checksum recomputed after mutation).
    seedDet->save(scratch + "/seed.pcb");
    seedEns->save(scratch + "/seed.pce");
    for (const std::string kind : {"valid", "ensemble"})
    {
        const std::vector<char> file = readAll(scratch + (kind == "valid" ? "/seed.pcb" : "/seed.pce"));
        for (const char mode : {'\0', '\1'})
        {
            std::vector<char> seed{mode};
            seed.insert(seed.end(), file.begin(), file.end());
            writeAll(corpus + "/binary/" + kind + "_mode" + std::to_string(int(mode)) + ".bin", seed);
        }
    }
    seedDet->save(corpus + "/yaml/valid.yml");
    seedDet->save(corpus + "/yaml/valid.xml"); // FileStorage picks the parser from the content, not the name
    seedDet->save(corpus + "/yaml/valid.json");
    cv::FileStorage untrained(corpus + "/yaml/untrained.yml", cv::FileStorage::WRITE);
    untrained << "opencv_patchcore_Detector" << "{";
    Detector::create(tinyModelParams())->write(untrained);
    untrained << "}";
    untrained.release();
    for (const std::string m : {"tiny_backbone.onnx", "tiny_rank2.onnx", "tiny_truncated.onnx", "tiny_nonfinite.onnx"})
        writeAll(corpus + "/onnx/" + m, readAll(testDataPath("test_models/" + m)));
}

} // namespace
} // namespace opencv_test
