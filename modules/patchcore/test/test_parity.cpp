// Parity with the authors' implementation: the same data, backbone and settings must give the same per-image scores
// without subsampling, and a coreset of the same quality with it. The coreset's random projection and start points
// come from a different generator than torch's, so with a coreset only statistics can match; the tolerances below
// are calibrated on six seeds and explained in doc/PARITY.md. The reference's outputs are in <data>/reference.
#include "test_precomp.hpp"
#include "eval_harness.hpp"

#include <cstdlib>
#include <iostream>
#include <map>

namespace opencv_test {
namespace {

using cv::patchcore::Params;

struct ParityCase
{
    const char* dataset;  // folder under datasets/ and prefix of the reference CSV
    const char* taps;     // "RAW" or "ACT"
    int coresetPercent;   // 10 or 100 (= no subsampling)
    const char* trainList; // under reference/, empty for all of train/good
    bool slow;            // needs PATCHCORE_SLOW_TESTS=1
    // The reference's image AUROC, pixel AUROC, PRO (reference/README.md).
    double imageAUROC, pixelAUROC, pro;
    // How much worse than the reference's a metric may be. Exact runs: 0.005. Coreset runs: the spread of the metric
    // over seeds 0-5 of our own coreset (doc/PARITY.md), since the reference is a single draw of the same noise.
    double metricTolerance;
};

std::ostream& operator<<(std::ostream& os, const ParityCase& c)
{
    return os << c.dataset << "_" << c.taps << "_" << c.coresetPercent;
}

const double kScoreTolerance = 0.01; // relative, per image, without subsampling
// With a coreset. The reference's own 10 % scores rank hazelnut_toy RAW with Spearman 0.988 against its own
// unsubsampled scores, so 0.99 against another draw is not attainable by a correct implementation; ours gives
// 0.95-0.997 over seeds 0-5 (doc/PARITY.md).
const double kMinSpearman = 0.94;
// Coreset scores exceed unsubsampled ones (the bank is a subset); the mean excess measures coreset quality
// independently of the draw. Reference: +3.5 % (RAW), +3.9 % (ACT) on hazelnut_toy; ours +2.7 .. +4.2 % (seeds 0-5).
const double kExcessTolerance = 0.015;

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
    return p;
}

class Parity : public ::testing::TestWithParam<ParityCase>
{
};

TEST_P(Parity, MatchesReference)
{
    const ParityCase& c = GetParam();
    const std::string dataset = std::string("datasets/") + c.dataset;
    const std::string csv = std::string("reference/") + c.dataset + "_" + c.taps + "_" +
                            std::to_string(c.coresetPercent) + ".csv";
    PATCHCORE_REQUIRE_DATA("models/resnet50v2_to_layer3.onnx");
    PATCHCORE_REQUIRE_DATA(dataset);
    PATCHCORE_REQUIRE_DATA(csv);
    if (*c.trainList)
        PATCHCORE_REQUIRE_DATA(std::string("reference/") + c.trainList);
    if (c.slow)
    {
        const char* env = std::getenv("PATCHCORE_SLOW_TESTS");
        if (!env || std::string(env) != "1")
            GTEST_SKIP() << "SKIPPED: slow (magnetic_tile: 300 train and 592 test images, about 27 min on 2 busy "
                            "cores, 1.3 GB); set PATCHCORE_SLOW_TESTS=1 and run this binary with "
                            "--gtest_filter=*magnetic_tile* (ctest stops tests after 1200 s)";
    }

    const patchcore_eval::Split split = patchcore_eval::loadSplit(
        dataPath(dataset), *c.trainList ? dataPath(std::string("reference/") + c.trainList) : std::string());
    patchcore_eval::Evaluation ev;
    patchcore_eval::trainAndEvaluate(paramsFor(c), split, split.train, ev, false);
    const patchcore_eval::ReferenceComparison cmp =
        patchcore_eval::compareWithReference(split, ev, patchcore_eval::readReferenceScores(dataPath(csv)));

    std::cout << "[ figures  ] " << c << ": image AUROC " << ev.imageAUROC << " (ref " << c.imageAUROC
              << "), pixel AUROC " << ev.pixelAUROC << " (ref " << c.pixelAUROC << "), PRO " << ev.pro << " (ref "
              << c.pro << "); Spearman " << cmp.spearman << ", max relative score difference " << cmp.maxRelativeDiff
              << " (" << cmp.worstImage << "); bank " << ev.bankSize << ", train " << ev.trainSeconds << " s, "
              << ev.predictSeconds << " s/image" << std::endl;
    RecordProperty("spearman", std::to_string(cmp.spearman));
    RecordProperty("max_relative_diff", std::to_string(cmp.maxRelativeDiff));

    ASSERT_EQ(cmp.missing, 0) << "test images absent from " << csv;
    ASSERT_EQ(static_cast<size_t>(cmp.matched), split.test.size());
    if (c.coresetPercent == 100)
    {
        EXPECT_LE(cmp.maxRelativeDiff, kScoreTolerance) << "worst image: " << cmp.worstImage;
    }
    else
    {
        EXPECT_GE(cmp.spearman, kMinSpearman);
        const std::string fullCsv = std::string("reference/") + c.dataset + "_" + c.taps + "_100.csv";
        if (dataExists(fullCsv))
        {
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
    }
    // The reference keeps int(N * ratio) of N = images x 28 x 28 patch vectors (e.g. 21,952 -> 2,195).
    const int patches = static_cast<int>(split.train.size()) * 28 * 28;
    EXPECT_EQ(ev.bankSize, c.coresetPercent == 100 ? patches : patches * c.coresetPercent / 100);
    EXPECT_GE(ev.imageAUROC, c.imageAUROC - c.metricTolerance);
    EXPECT_GE(ev.pixelAUROC, c.pixelAUROC - c.metricTolerance);
    EXPECT_GE(ev.pro, c.pro - c.metricTolerance);
}

const ParityCase kCases[] = {
    {"hazelnut_toy", "RAW", 100, "", false, 1.000, 0.982, 0.893, 0.005},
    {"hazelnut_toy", "ACT", 100, "", false, 1.000, 0.985, 0.920, 0.005},
    {"hazelnut_toy", "RAW", 10, "", false, 1.000, 0.982, 0.893, 0.005},
    {"hazelnut_toy", "ACT", 10, "", false, 1.000, 0.985, 0.920, 0.005},
    // 14 test images: one swapped pair moves image AUROC by 0.03 and PRO spans 0.81-0.85 over seeds.
    {"mvtec_grid", "RAW", 10, "", false, 1.000, 0.966, 0.835, 0.03},
    {"mvtec_grid", "ACT", 10, "", false, 0.879, 0.964, 0.839, 0.03},
    {"magnetic_tile", "RAW", 10, "magnetic_tile_train300.txt", true, 0.936, 0.854, 0.635, 0.01},
    {"magnetic_tile", "ACT", 10, "magnetic_tile_train300.txt", true, 0.902, 0.860, 0.761, 0.01},
};

std::string caseName(const ::testing::TestParamInfo<ParityCase>& info)
{
    return std::string(info.param.dataset) + "_" + info.param.taps + "_" + std::to_string(info.param.coresetPercent);
}

INSTANTIATE_TEST_CASE_P(Reference, Parity, ::testing::ValuesIn(kCases), caseName);

} // namespace
} // namespace opencv_test
