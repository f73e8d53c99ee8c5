// Parity with the authors' implementation: the same data, backbone and settings must give the same per-image scores.
// Without subsampling every score must match. With the 10 % coreset the detector draws its projection and start
// points as the reference did (RANDOM_REFERENCE), so it selects the reference's coreset and the scores match too;
// with its own generator (the default) only the coreset's quality can be compared (doc/PARITY.md). The reference's
// outputs are in <data>/reference.
#include "test_precomp.hpp"
#include "eval_harness.hpp"

#include <cstdlib>
#include <iostream>
#include <map>

namespace opencv_test {
namespace {

using cv::patchcore::Params;

// The draws the reference's process took from torch's generator before the coreset's projection: its backbone's
// convolution weights at construction (8,512,704) and the training DataLoader's iterator (2).
const int kReferenceDrawsBefore = 8512706;

struct ParityCase
{
    const char* dataset;  // folder under datasets/ and prefix of the reference CSV
    const char* taps;     // "RAW" or "ACT"
    int coresetPercent;   // 10 or 100 (= no subsampling)
    bool referenceDraws;  // coreset drawn as the reference draws it (else cv::RNG, the default)
    const char* trainList; // under reference/, empty for all of train/good
    bool slow;            // needs PATCHCORE_SLOW_TESTS=1
    // The reference's image AUROC, pixel AUROC, PRO (reference/README.md).
    double imageAUROC, pixelAUROC, pro;
};

std::string label(const ParityCase& c)
{
    const bool otherDraw = c.coresetPercent < 100 && !c.referenceDraws;
    return std::string(c.dataset) + "_" + c.taps + "_" + std::to_string(c.coresetPercent) +
           (otherDraw ? "_opencv_rng" : "");
}

std::ostream& operator<<(std::ostream& os, const ParityCase& c)
{
    return os << label(c);
}

const double kScoreTolerance = 0.01;   // relative, per image, without subsampling
const double kMetricTolerance = 0.005; // how much worse than the reference's a metric may be
// With the reference's draws: rank correlation of the per-image scores, and the median relative difference, which
// shows that the banks are the same (a different coreset moves most scores by percents).
const double kMinSpearman = 0.99;
const double kMaxMedianRelativeDiff = 1e-4;
// With cv::RNG draws the coreset is another draw of the same process: the reference's own 10 % scores rank
// hazelnut_toy RAW with Spearman 0.988 against its unsubsampled ones, and ours give 0.95-0.997 over seeds 0-5.
const double kMinSpearmanOtherDraw = 0.94;
// Coreset scores exceed unsubsampled ones (the bank is a subset); the mean excess measures coreset quality
// independently of the draw. Reference: +3.5 % (RAW), +3.9 % (ACT) on hazelnut_toy; ours +2.7 .. +4.2 % (seeds 0-5).
const double kExcessTolerance = 0.015;
// Metrics of another draw on 23 test images: within the seed spread (doc/PARITY.md).
const double kMetricToleranceOtherDraw = 0.01;

Params paramsFor(const ParityCase& c)
{
    Params p = referenceParams();
    p.modelPath = dataPath("models/resnet50v2_to_layer3.onnx");
    if (std::string(c.taps) == "ACT")
        p.layers = {"layer2_act", "layer3_act"};
    else
        p.layers = {"layer2", "layer3"};
    if (c.coresetPercent == 100)
        p.coresetMethod = cv::patchcore::CORESET_NONE;
    else
        p.coresetRatio = c.coresetPercent / 100.0;
    if (c.referenceDraws)
    {
        p.coresetRandom = cv::patchcore::RANDOM_REFERENCE;
        p.referenceDrawsBefore = kReferenceDrawsBefore;
    }
    return p;
}

class Patchcore_Parity : public ::testing::TestWithParam<ParityCase>
{
};

TEST_P(Patchcore_Parity, MatchesReference)
{
    const ParityCase& c = GetParam();
    const std::string dataset = std::string("datasets/") + c.dataset;
    const std::string csv = std::string("reference/") + c.dataset + "_" + c.taps + "_" +
                            std::to_string(c.coresetPercent) + ".csv";
    const bool sameDraw = c.coresetPercent == 100 || c.referenceDraws;
    const std::string fullCsv = std::string("reference/") + c.dataset + "_" + c.taps + "_100.csv";
    PATCHCORE_REQUIRE_DATA("models/resnet50v2_to_layer3.onnx");
    PATCHCORE_REQUIRE_DATA(dataset);
    PATCHCORE_REQUIRE_DATA(csv);
    if (!sameDraw)
        PATCHCORE_REQUIRE_DATA(fullCsv); // the other draw is judged by its excess over the unsubsampled scores
    if (*c.trainList)
        PATCHCORE_REQUIRE_DATA(std::string("reference/") + c.trainList);
    if (c.slow)
    {
        const char* env = std::getenv("PATCHCORE_SLOW_TESTS");
        if (!env || std::string(env) != "1")
            GTEST_SKIP() << "SKIPPED: slow (magnetic_tile: 300 train and 592 test images, 4-5 min on 2 idle cores, "
                            "1.6 GB); scripts/run_tests.sh (the CI command) sets PATCHCORE_SLOW_TESTS=1 to run it";
    }

    const patchcore_eval::Split split = patchcore_eval::loadSplit(
        dataPath(dataset), *c.trainList ? dataPath(std::string("reference/") + c.trainList) : std::string());
    patchcore_eval::Evaluation ev;
    patchcore_eval::trainAndEvaluate(paramsFor(c), split, split.train, ev, false);
    const patchcore_eval::ReferenceComparison cmp =
        patchcore_eval::compareWithReference(split, ev, patchcore_eval::readReferenceScores(dataPath(csv)));

    std::cout << "[ figures  ] " << c << ": image AUROC " << ev.imageAUROC << " (ref " << c.imageAUROC
              << "), pixel AUROC " << ev.pixelAUROC << " (ref " << c.pixelAUROC << "), PRO " << ev.pro << " (ref "
              << c.pro << "); Spearman " << cmp.spearman << ", relative score difference: median "
              << cmp.medianRelativeDiff << ", max " << cmp.maxRelativeDiff << " (" << cmp.worstImage << "); bank " << ev.bankSize << ", train " << ev.trainSeconds << " s, "
              << ev.predictSeconds << " s/image" << std::endl;
    RecordProperty("spearman", std::to_string(cmp.spearman));
    RecordProperty("max_relative_diff", std::to_string(cmp.maxRelativeDiff));

    ASSERT_EQ(cmp.missing, 0) << "test images absent from " << csv;
    ASSERT_EQ(static_cast<size_t>(cmp.matched), split.test.size());
    if (c.coresetPercent == 100)
    {
        EXPECT_LE(cmp.maxRelativeDiff, kScoreTolerance) << "worst image: " << cmp.worstImage;
    }
    else if (c.referenceDraws)
    {
        EXPECT_GE(cmp.spearman, kMinSpearman);
        EXPECT_LE(cmp.medianRelativeDiff, kMaxMedianRelativeDiff) << "the coreset is not the reference's";
    }
    else
    {
        EXPECT_GE(cmp.spearman, kMinSpearmanOtherDraw);
        const std::map<std::string, double> full = patchcore_eval::readReferenceScores(dataPath(fullCsv));
        const std::map<std::string, double> theirs = patchcore_eval::readReferenceScores(dataPath(csv));
        double ourExcess = 0, theirExcess = 0;
        for (size_t i = 0; i < split.test.size(); ++i)
        {
            const double f = full.at(split.test[i].relative);
            ourExcess += ev.scores[i] / f - 1;
            theirExcess += theirs.at(split.test[i].relative) / f - 1;
        }
        ourExcess /= split.test.size();
        theirExcess /= split.test.size();
        std::cout << "[ figures  ] mean score excess of the coreset over no subsampling: ours " << ourExcess
                  << ", reference " << theirExcess << std::endl;
        EXPECT_NEAR(ourExcess, theirExcess, kExcessTolerance);
    }
    // The reference keeps int(N * ratio) of N = images x 28 x 28 patch vectors (e.g. 21,952 -> 2,195).
    const int patches = static_cast<int>(split.train.size()) * 28 * 28;
    EXPECT_EQ(ev.bankSize, c.coresetPercent == 100 ? patches : patches * c.coresetPercent / 100);
    const double tolerance = sameDraw ? kMetricTolerance : kMetricToleranceOtherDraw;
    EXPECT_GE(ev.imageAUROC, c.imageAUROC - tolerance);
    EXPECT_GE(ev.pixelAUROC, c.pixelAUROC - tolerance);
    EXPECT_GE(ev.pro, c.pro - tolerance);
}

const ParityCase kCases[] = {
    {"hazelnut_toy", "RAW", 100, false, "", false, 1.000, 0.982, 0.893},
    {"hazelnut_toy", "ACT", 100, false, "", false, 1.000, 0.985, 0.920},
    {"hazelnut_toy", "RAW", 10, true, "", false, 1.000, 0.982, 0.893},
    {"hazelnut_toy", "ACT", 10, true, "", false, 1.000, 0.985, 0.920},
    {"mvtec_grid", "RAW", 10, true, "", false, 1.000, 0.966, 0.835},
    {"mvtec_grid", "ACT", 10, true, "", false, 0.879, 0.964, 0.839},
    {"magnetic_tile", "RAW", 10, true, "magnetic_tile_train300.txt", true, 0.936, 0.854, 0.635},
    {"magnetic_tile", "ACT", 10, true, "magnetic_tile_train300.txt", true, 0.902, 0.860, 0.761},
    // The default generator: another draw of the same coreset process, compared by its quality.
    {"hazelnut_toy", "RAW", 10, false, "", false, 1.000, 0.982, 0.893},
    {"hazelnut_toy", "ACT", 10, false, "", false, 1.000, 0.985, 0.920},
};

std::string caseName(const ::testing::TestParamInfo<ParityCase>& info)
{
    return label(info.param);
}

INSTANTIATE_TEST_CASE_P(Reference, Patchcore_Parity, ::testing::ValuesIn(kCases), caseName);

} // namespace
} // namespace opencv_test
