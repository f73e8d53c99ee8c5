// A bounded memory bank: the cap on its size, composable (chunked) greedy selection and the default memory budget.
#include "test_precomp.hpp"
#include "bank_builder.hpp"

#include <cmath>
#include <iostream>
#include <limits>

namespace opencv_test {
namespace {

using namespace cv::patchcore;
using namespace cv::patchcore::detail;

/** Max over `rows` of the Euclidean distance to the nearest row of `bank`, in double precision (brute force). */
double coverageRadius(const cv::Mat& rows, const cv::Mat& bank)
{
    double radius = 0;
    for (int i = 0; i < rows.rows; ++i)
    {
        double best = std::numeric_limits<double>::infinity();
        for (int j = 0; j < bank.rows; ++j)
        {
            double d = 0;
            for (int c = 0; c < rows.cols; ++c)
            {
                const double t = static_cast<double>(rows.at<float>(i, c)) - bank.at<float>(j, c);
                d += t * t;
            }
            best = std::min(best, d);
        }
        radius = std::max(radius, std::sqrt(best));
    }
    return radius;
}

/** `images` blocks of `perImage` rows: points around a few shared centres, as patches of similar images are. */
std::vector<cv::Mat> clusteredImages(int images, int perImage, int dim, uint64 seed)
{
    cv::RNG rng(seed);
    cv::Mat centres(24, dim, CV_32F);
    rng.fill(centres, cv::RNG::UNIFORM, -4.0, 4.0);
    std::vector<cv::Mat> out;
    for (int i = 0; i < images; ++i)
    {
        cv::Mat rows(perImage, dim, CV_32F);
        rng.fill(rows, cv::RNG::NORMAL, 0.0, 0.5);
        for (int r = 0; r < perImage; ++r)
            rows.row(r) += centres.row(static_cast<int>(rng.uniform(0, centres.rows)));
        out.push_back(rows);
    }
    return out;
}

Params vectorParams(int dim)
{
    Params p;
    p.inputMode = INPUT_ASPECT;
    p.targetEmbedDim = p.pretrainEmbedDim = dim;
    p.projectionDim = 0; // greedy in the vectors' own space, so that coverage is measured where it is selected
    p.coresetRatio = 0.05;
    return p;
}

cv::Mat build(const Params& p, const std::vector<cv::Mat>& images, std::vector<int>* progress = nullptr)
{
    double total = 0;
    for (const cv::Mat& m : images)
        total += m.rows;
    BankBuilder builder(p, total, false, [&](int done, int) {
        if (progress)
            progress->push_back(done);
        return true;
    });
    for (const cv::Mat& m : images)
    {
        builder.append(m);
        builder.endImage();
    }
    EXPECT_EQ(total, builder.collected());
    return builder.finish();
}

TEST(Patchcore_BoundedBank, CapAndChunksFollowTheInputMode)
{
    Params p;
    p.inputMode = INPUT_CENTER_CROP;
    EXPECT_EQ(0, effectiveBankCap(p)) << "the reference's bank is not capped";
    EXPECT_EQ(0, effectiveChunkRows(p)) << "the reference's selection is one greedy pass";
    EXPECT_EQ(coresetSize(1000000, 0.1), bankSize(1e6, p));
    p.inputMode = INPUT_FRAME;
    EXPECT_GT(effectiveBankCap(p), 0);
    EXPECT_GT(effectiveChunkRows(p), 0);
    EXPECT_EQ(effectiveBankCap(p), bankSize(1e7, p));
    EXPECT_EQ(coresetSize(5000, 0.1), bankSize(5000, p)) << "below the cap the ratio decides";
    p.coresetMaxSize = 0;
    p.coresetChunkRows = 0;
    EXPECT_EQ(coresetSize(1000000, 0.1), bankSize(1e6, p));
    EXPECT_FALSE(BankBuilder::chunked(p, 1e7));
    p.coresetMaxSize = 123;
    EXPECT_EQ(123, bankSize(1e6, p));
    EXPECT_EQ(2048, Params().memoryBudgetMB) << "training memory is bounded by default";

    p.coresetChunkRows = 5;
    EXPECT_THROW(p.validate(), cv::Exception) << "a chunk must hold a real share of the stream";
    p.coresetChunkRows = 4096;
    // Memory of the chunked path does not grow with the stream once the bank is capped.
    EXPECT_EQ(BankBuilder::chunkedBytes(p, 1e6, 1000), BankBuilder::chunkedBytes(p, 1e8, 1000));
}

// The automatic chunk setting chunks a stream only where composable selection evaluates fewer distances than one
// selection; a chunk size the user sets is obeyed.
TEST(Patchcore_BoundedBank, AutomaticChunksOnlyWhereTheyPay)
{
    Params p;
    p.inputMode = INPUT_FRAME;
    const double c = effectiveChunkRows(p);
    ASSERT_GT(c, 0);
    // Hand count: chunks keep kChunkOverselect x K; one selection costs N x K evaluations, composable about
    // kChunkOverselect x K x C for the chunks and kChunkOverselect x K x K for the final selection.
    const double k = bankSize(1e7, p);
    const double breakEven = BankBuilder::composableBreakEven(c, k);
    EXPECT_EQ(kChunkOverselect * (c + k), breakEven);
    EXPECT_GT(breakEven, 4 * c) << "a stream of a few chunks is cheaper in one selection";
    EXPECT_FALSE(BankBuilder::chunked(p, 102400)) << "mvtec_grid's default stream: one exact selection";
    EXPECT_FALSE(BankBuilder::chunked(p, std::floor(breakEven)));
    EXPECT_TRUE(BankBuilder::chunked(p, std::floor(breakEven) + 1));
    EXPECT_TRUE(BankBuilder::chunked(p, 4.1e6)) << "deeppcb's 1,000 images";

    // The memory budget, a run setting, never changes the bank: below the break-even one selection spills.
    const double rows = 102400;
    p.memoryBudgetMB = 64;
    EXPECT_FALSE(BankBuilder::chunked(p, rows));

    // An explicit chunk size chunks every stream above it.
    p.coresetChunkRows = 65536;
    EXPECT_TRUE(BankBuilder::chunked(p, rows));
    EXPECT_FALSE(BankBuilder::chunked(p, 65536));
    p.coresetChunkRows = 0;
    EXPECT_FALSE(BankBuilder::chunked(p, 1e8));
}

TEST(Patchcore_BoundedBank, ComposableGreedyCoversLikeOneSelectionAndBetterThanRandom)
{
    const int dim = 4; // low enough that the tails do not dominate the max: greedy covers them, random does not
    const std::vector<cv::Mat> images = clusteredImages(12, 700, dim, 7); // 8,400 vectors
    cv::Mat all;
    cv::vconcat(images, all);
    Params one = vectorParams(dim);
    one.coresetChunkRows = 0;
    Params chunked = one;
    chunked.coresetChunkRows = 2048; // about 3 images per chunk: 4 chunks

    ASSERT_FALSE(BankBuilder::chunked(one, all.rows));
    ASSERT_TRUE(BankBuilder::chunked(chunked, all.rows));
    const cv::Mat exact = build(one, images);
    std::vector<int> progress;
    const cv::Mat composed = build(chunked, images, &progress);
    const int k = coresetSize(all.rows, one.coresetRatio);
    ASSERT_EQ(k, exact.rows);
    ASSERT_EQ(k, composed.rows);
    // The one-selection path is selectCoreset() itself.
    const std::vector<int> direct = selectCoreset(all, one);
    ASSERT_EQ(static_cast<int>(direct.size()), exact.rows);
    for (int i = 0; i < exact.rows; ++i)
        ASSERT_EQ(0, cv::norm(exact.row(i), all.row(direct[i]), cv::NORM_INF)) << i;
    // Every composed bank row is a training vector, none twice.
    for (int i = 0; i < composed.rows; ++i)
    {
        int matches = 0;
        for (int r = 0; r < all.rows; ++r)
            matches += cv::norm(composed.row(i), all.row(r), cv::NORM_INF) == 0;
        ASSERT_EQ(1, matches) << "bank row " << i;
    }

    const double exactRadius = coverageRadius(all, exact), composedRadius = coverageRadius(all, composed);
    Params random = one;
    random.coresetMethod = CORESET_RANDOM;
    const double randomRadius = coverageRadius(all, build(random, images));
    std::cout << "coverage radius: one greedy " << exactRadius << ", composable " << composedRadius << ", random "
              << randomRadius << std::endl;
    EXPECT_LE(composedRadius, 1.25 * exactRadius);
    EXPECT_LT(composedRadius, 0.85 * randomRadius);

    // Deterministic, and progress rises to the end of the stage.
    EXPECT_EQ(0, cv::norm(composed, build(chunked, images), cv::NORM_INF));
    ASSERT_GE(progress.size(), 4u);
    for (size_t i = 1; i < progress.size(); ++i)
        EXPECT_GE(progress[i], progress[i - 1]);
    EXPECT_EQ(all.rows + k, progress.back());
}

TEST(Patchcore_BoundedBank, CoverageStopShrinksTheBankOfARedundantStream)
{
    // 48-d noise, 9,600 vectors: the bank's radius shrinks by a few per cent per doubling from 1,024 vectors on.
    std::vector<cv::Mat> images;
    for (int i = 0; i < 12; ++i)
    {
        images.push_back(cv::Mat(800, 48, CV_32F));
        cv::RNG(100 + i).fill(images.back(), cv::RNG::NORMAL, 0.0, 1.0);
    }
    for (int chunk : {0, 2048})
    {
        Params p = vectorParams(48);
        p.coresetRatio = 0.4;
        p.coresetChunkRows = chunk;
        const cv::Mat fixed = build(p, images);
        ASSERT_EQ(coresetSize(9600, 0.4), fixed.rows) << "chunk " << chunk;
        p.coresetCoverageStop = 0.10;
        const cv::Mat stopped = build(p, images);
        ASSERT_EQ(kCoverageMinBank, stopped.rows) << "chunk " << chunk;
        EXPECT_EQ(0, cv::norm(stopped, fixed.rowRange(0, stopped.rows), cv::NORM_INF))
            << "the bank is the fixed-size bank's first rows, chunk " << chunk;
    }
    Params bad;
    bad.coresetCoverageStop = 1;
    EXPECT_THROW(bad.validate(), cv::Exception);
    bad.coresetCoverageStop = -0.1;
    EXPECT_THROW(bad.validate(), cv::Exception);
}

TEST(Patchcore_BoundedBank, CancelledChunkedSelectionThrows)
{
    const std::vector<cv::Mat> images = clusteredImages(6, 500, 8, 3);
    Params p = vectorParams(8);
    p.coresetChunkRows = 1024;
    BankBuilder builder(p, 3000, false, [](int, int) { return false; });
    expectErrorContaining(
        [&] {
            for (const cv::Mat& m : images)
            {
                builder.append(m);
                builder.endImage();
            }
            builder.finish();
        },
        {"cancelled"});
}

TEST(Patchcore_BoundedBank, DetectorTrainsWithACappedChunkedBank)
{
    Params p = tinyModelParams();
    p.inputMode = INPUT_ASPECT;
    p.coresetRatio = 0.5;
    p.coresetMaxSize = 300;
    p.coresetChunkRows = 1024;
    cv::RNG rng(5);
    const std::vector<cv::Mat> images = noiseImages(rng, 8, cv::Size(128, 96), 40, 220); // 8 x 16 x 12 = 1,536 vectors
    auto det = Detector::create(p);
    det->train(images);
    EXPECT_EQ(300, det->getMemoryBankSize());
    auto again = Detector::create(p);
    again->train(images);
    EXPECT_EQ(0, cv::norm(det->getMemoryBank(), again->getMemoryBank(), cv::NORM_INF)) << "deterministic";
    const double score = det->predict(noiseImages(rng, 1, cv::Size(128, 96), 40, 220)[0]);
    EXPECT_TRUE(std::isfinite(score));
    EXPECT_GT(score, 0);

    p.coresetMethod = CORESET_RANDOM;
    auto random = Detector::create(p);
    random->train(images);
    EXPECT_EQ(300, random->getMemoryBankSize()) << "the cap bounds random coresets too";

    // A budget the chunks cannot meet fails before the backbone runs, naming what to change.
    p.coresetMethod = CORESET_GREEDY;
    p.memoryBudgetMB = 0.05;
    auto tight = Detector::create(p);
    expectErrorContaining([&] { tight->train(images); }, {"memoryBudgetMB", "coresetChunkRows"});
    EXPECT_TRUE(tight->empty());
}

} // namespace
} // namespace opencv_test
