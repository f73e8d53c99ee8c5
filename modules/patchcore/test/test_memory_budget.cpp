// Training under Params::memoryBudgetMB: full vectors spilled to disk give the same detector; impossible budgets fail
// early with a message saying what is needed.
#include "test_precomp.hpp"
#include "patch_store.hpp"

#include <iostream>

namespace opencv_test {
namespace {

using cv::patchcore::Detector;
using cv::patchcore::Params;

std::vector<cv::Mat> hazelnutImages(int count)
{
    std::vector<cv::String> files;
    cv::glob(dataPath("datasets/hazelnut_toy/train/good/*.jpg"), files);
    std::vector<cv::Mat> images;
    for (int i = 0; i < count; ++i)
        images.push_back(cv::imread(files[i]));
    return images;
}

Params smallParams()
{
    Params p;
    p.modelPath = dataPath("models/squeezenet1.1.onnx");
    p.layers = {"fire4", "fire8"};
    p.pretrainEmbedDim = p.targetEmbedDim = 256;
    return p;
}

TEST(Patchcore_MemoryBudget, SpilledTrainingGivesTheSameDetector)
{
    PATCHCORE_REQUIRE_DATA("models/squeezenet1.1.onnx");
    PATCHCORE_REQUIRE_DATA("datasets/hazelnut_toy/train/good");
    const std::vector<cv::Mat> images = hazelnutImages(6);
    auto reference = Detector::create(smallParams());
    reference->train(images);

    // 6 x 729 vectors x 256 floats: ~10.5 MB held in memory, ~3.8 MB with the full vectors on disk.
    Params p = smallParams();
    p.memoryBudgetMB = 6;
    auto spilled = Detector::create(p);
    spilled->train(images);
    EXPECT_EQ(cv::norm(spilled->getMemoryBank(), reference->getMemoryBank(), cv::NORM_INF), 0.0);
    EXPECT_EQ(spilled->predict(images[0]), reference->predict(images[0]));

    p.coresetMethod = cv::patchcore::CORESET_RANDOM;
    Params r = smallParams();
    r.coresetMethod = cv::patchcore::CORESET_RANDOM;
    auto randomSpilled = Detector::create(p), randomReference = Detector::create(r);
    randomSpilled->train(images);
    randomReference->train(images);
    EXPECT_EQ(cv::norm(randomSpilled->getMemoryBank(), randomReference->getMemoryBank(), cv::NORM_INF), 0.0);
}

TEST(Patchcore_MemoryBudget, ImpossibleBudgetFailsEarlyWithWhatIsNeeded)
{
    PATCHCORE_REQUIRE_DATA("models/squeezenet1.1.onnx");
    PATCHCORE_REQUIRE_DATA("datasets/hazelnut_toy/train/good");
    Params p = smallParams();
    p.memoryBudgetMB = 1;
    auto det = Detector::create(p);
    int backboneCalls = 0;
    det->setProgressCallback([&](const cv::patchcore::Progress& pr) {
        backboneCalls += pr.stage == "backbone" ? 1 : 0;
        return true;
    });
    try
    {
        det->train(hazelnutImages(12));
        ADD_FAILURE() << "a 1 MiB budget was accepted";
    }
    catch (const cv::Exception& e)
    {
        EXPECT_NE(e.err.find("memoryBudgetMB"), std::string::npos) << e.err;
        EXPECT_NE(e.err.find("MiB"), std::string::npos) << e.err;
    }
    EXPECT_LE(backboneCalls, 2) << "the budget must be checked after the first batch, not at the end";
    EXPECT_TRUE(det->empty());

    // Without a projection the full vectors are read by the selection itself: no spilling, so more is needed.
    p.memoryBudgetMB = 6;
    p.projectionDim = 0;
    auto noProjection = Detector::create(p);
    EXPECT_THROW(noProjection->train(hazelnutImages(6)), cv::Exception);
}

TEST(Patchcore_MemoryBudget, Fp16BankScoresCloseToFp32AndRoundTrips)
{
    PATCHCORE_REQUIRE_DATA("models/squeezenet1.1.onnx");
    PATCHCORE_REQUIRE_DATA("datasets/hazelnut_toy/train/good");
    const std::vector<cv::Mat> images = hazelnutImages(7);
    const std::vector<cv::Mat> train(images.begin(), images.begin() + 6);
    Params p = smallParams();
    auto full = Detector::create(p);
    full->train(train);
    p.bankFp16 = true;
    auto half = Detector::create(p);
    half->train(train);
    const cv::Mat bank = half->getMemoryBank();
    cv::Mat roundTrip;
    bank.convertTo(roundTrip, CV_16F);
    roundTrip.convertTo(roundTrip, CV_32F);
    EXPECT_EQ(cv::norm(bank, roundTrip, cv::NORM_INF), 0.0) << "the bank holds fp16 values";
    const double a = full->predict(images[6]), b = half->predict(images[6]);
    std::cout << "[ figures  ] fp16 bank: image score " << b << " vs fp32 " << a << " (rel. diff "
              << std::abs(a - b) / a << ")" << std::endl;
    EXPECT_NEAR(a, b, 0.01 * a);
    const std::string path = tempDir() + "/half.pcb";
    half->save(path);
    EXPECT_EQ(Detector::load(path)->predict(images[6]), b);
}

TEST(Patchcore_MemoryBudget, PatchStoreGathersRowsInAnyOrder)
{
    for (bool spill : {false, true})
    {
        cv::patchcore::detail::PatchStore store(5, cv::Mat(), spill);
        cv::Mat rows(300, 5, CV_32F);
        cv::randu(rows, -1, 1);
        store.append(rows.rowRange(0, 100));
        store.append(rows.rowRange(100, 300));
        EXPECT_EQ(store.rows(), 300);
        EXPECT_EQ(store.spilled(), spill);
        const std::vector<int> pick{299, 0, 150, 150, 7};
        const cv::Mat got = store.gather(pick);
        for (size_t i = 0; i < pick.size(); ++i)
            EXPECT_EQ(cv::norm(got.row(static_cast<int>(i)), rows.row(pick[i]), cv::NORM_INF), 0.0);
    }
}

} // namespace
} // namespace opencv_test
