// The inverted-file index against brute force (bank_index_check.hpp): exact when every cell is probed, high recall on
// clustered data with its automatic settings, and the awkward shapes (duplicates, tiny cells, tiny banks).
#include "test_precomp.hpp"
#include "bank_index_check.hpp"
#include "ivf_index.hpp"

#include <tbb/global_control.h>

#include <limits>
#include <thread>

namespace opencv_test {
namespace {

using cv::patchcore::detail::IvfIndex;
using cv::patchcore::detail::Screening;
using cv::patchcore::detail::SCREEN_BF16;
using cv::patchcore::detail::SCREEN_FP32;

cv::Mat normalRows(int rows, int dim, uint64 seed, double mean = 3)
{
    cv::Mat m(rows, dim, CV_32F);
    cv::RNG(seed).fill(m, cv::RNG::NORMAL, mean, 1); // an offset makes the GEMM form's cancellation real
    return m;
}

// Rows drawn around `centres` random centres (spread 4, noise 1), as patch vectors cluster by texture. The centres
// follow `seed`, the rows around them `noiseSeed` (default: `seed`).
cv::Mat mixture(int rows, int dim, int centres, uint64 seed, uint64 noiseSeed = 0)
{
    cv::RNG rng(seed);
    cv::Mat means(centres, dim, CV_32F), out(rows, dim, CV_32F);
    rng.fill(means, cv::RNG::NORMAL, 0, 4);
    if (noiseSeed)
        rng = cv::RNG(noiseSeed);
    rng.fill(out, cv::RNG::NORMAL, 0, 1);
    for (int i = 0; i < rows; ++i)
        out.row(i) += means.row(rng.uniform(0, centres));
    return out;
}

void expectExact(const IndexComparison& c)
{
    EXPECT_TRUE(c.sortedAndValid);
    EXPECT_EQ(c.recall, 1.0);
    EXPECT_EQ(c.exactAgreement, 1.0);
    EXPECT_LT(c.maxDistanceError, 1e-6);
}

// Both scans of the probed cells: bf16-screened (where the CPU has AVX-512 BF16) and fp32.
TEST(Patchcore_IvfIndex, ExactWhenEveryCellIsProbed)
{
    const cv::Mat bank = normalRows(3000, 48, 1), queries = normalRows(100, 48, 2);
    for (Screening screening : {SCREEN_BF16, SCREEN_FP32})
    {
        IvfIndex index(20, 2, 0, screening);
        index.setBank(bank);
        const std::string screened =
            screening == SCREEN_BF16 && cv::patchcore::detail::Bf16Screen::available() ? ", bf16-screened" : "";
        SCOPED_TRACE(index.describe());
        EXPECT_EQ(index.describe(), "IVF: 20 cells, 2 probed" + screened);
        EXPECT_FALSE(index.exact());
        index.setProbes(100); // clamped to the cells
        EXPECT_EQ(index.describe(), "IVF: 20 cells, 20 probed" + screened);
        EXPECT_TRUE(index.exact());
        for (int k : {1, 5, 17})
            expectExact(compareWithBruteForce(index, bank, queries, k));
    }
}

// knnExact() probes every cell, whatever knn() probes: what the detector's exact image score relies on. Queries far
// from the data, and queries next to bank rows, which sit near cell boundaries as often as the rows do.
TEST(Patchcore_IvfIndex, KnnExactIsExactWithFewProbes)
{
    const cv::Mat bank = mixture(6000, 48, 60, 11);
    cv::Mat queries = normalRows(80, 48, 12, 0);
    cv::RNG rng(5);
    for (int i = 40; i < queries.rows; ++i)
        queries.row(i) = bank.row(rng.uniform(0, bank.rows)) + queries.row(i) * 0.02;
    for (Screening screening : {SCREEN_BF16, SCREEN_FP32})
    {
        IvfIndex index(40, 1, 0, screening);
        index.setBank(bank);
        SCOPED_TRACE(index.describe());
        for (int k : {1, 3, 17})
            expectExact(compareWithBruteForce(ExactPathOf(index), bank, queries, k));
        // Whatever one probe finds is a true distance to a real row, so it bounds the exact one from above.
        cv::Mat approxD, approxI, exactD, exactI;
        index.knn(queries, 3, approxD, approxI);
        index.knnExact(queries, 3, exactD, exactI);
        int below = 0;
        for (int i = 0; i < queries.rows; ++i)
            for (int j = 0; j < 3; ++j)
                below += approxD.at<float>(i, j) < exactD.at<float>(i, j);
        EXPECT_EQ(0, below);
        EXPECT_GT(cv::norm(approxD, exactD, cv::NORM_INF), 0) << "one probe of 40 cells should miss some rows";
    }
}

TEST(Patchcore_IvfIndex, HighRecallOnClusteredDataWithAutoSettings)
{
    // Queries from the bank's clusters, as test patches of good parts come from the training patches' textures.
    const cv::Mat bank = mixture(20000, 64, 200, 3), queries = mixture(300, 64, 200, 3, 4);
    IvfIndex index;
    index.setBank(bank);
    EXPECT_EQ(index.cells(), IvfIndex::autoCells(bank.rows));
    EXPECT_EQ(index.probes(), IvfIndex::autoProbes(index.cells()));
    EXPECT_LT(index.probes(), index.cells() / 4); // otherwise the test would not test an approximation
    for (int k : {1, 5})
    {
        const IndexComparison c = compareWithBruteForce(index, bank, queries, k);
        EXPECT_TRUE(c.sortedAndValid);
        EXPECT_GE(c.recall, 0.99) << "k = " << k;
        EXPECT_LT(c.maxDistanceError, 1e-6);
    }
}

TEST(Patchcore_IvfIndex, DuplicatesAndTiesGoToTheLowerRow)
{
    // 12 distinct vectors, each repeated 25 times in scattered rows; queries sit on them, so 25 rows tie at distance
    // 0 and the k lowest rows must come back.
    const cv::Mat distinct = normalRows(12, 16, 5);
    cv::Mat bank(300, 16, CV_32F);
    for (int i = 0; i < bank.rows; ++i)
        distinct.row((i * 7) % 12).copyTo(bank.row(i));
    const cv::Mat queries = distinct.clone();
    for (int probes : {2, 6})
    {
        IvfIndex index(6, probes);
        index.setBank(bank);
        for (int k : {1, 7, 25})
            expectExact(compareWithBruteForce(index, bank, queries, k));
    }
}

TEST(Patchcore_IvfIndex, ProbesMoreCellsWhenTheyHoldFewerThanKRows)
{
    const cv::Mat bank = normalRows(1000, 24, 6), queries = normalRows(40, 24, 7);
    IvfIndex index(200, 1); // about 5 rows a cell, one probe
    index.setBank(bank);
    for (int k : {30, 200})
    {
        const IndexComparison c = compareWithBruteForce(index, bank, queries, k);
        EXPECT_TRUE(c.sortedAndValid) << "k = " << k;
        EXPECT_GT(c.recall, 0.3) << "k = " << k;
    }
    expectExact(compareWithBruteForce(index, bank, queries, bank.rows)); // k = N: every row, in order
}

TEST(Patchcore_IvfIndex, BankSmallerThanTheCells)
{
    const cv::Mat bank = normalRows(10, 8, 8), queries = normalRows(20, 8, 9);
    IvfIndex index(64, 4);
    index.setBank(bank);
    EXPECT_EQ(index.cells(), 10);
    EXPECT_EQ(index.probes(), 4);
    EXPECT_EQ(index.size(), 10);
    for (int k : {1, 10})
    {
        const IndexComparison c = compareWithBruteForce(index, bank, queries, k);
        EXPECT_TRUE(c.sortedAndValid);
        if (k == 10)
            EXPECT_EQ(c.recall, 1.0);
    }
    IvfIndex single(1, 1);
    single.setBank(bank.row(3).clone());
    expectExact(compareWithBruteForce(single, bank.row(3).clone(), queries, 1));
}

void expectSame(const cv::Mat& d1, const cv::Mat& i1, const cv::Mat& d2, const cv::Mat& i2)
{
    ASSERT_EQ(d1.size(), d2.size());
    EXPECT_EQ(cv::norm(i1, i2, cv::NORM_INF), 0);
    EXPECT_EQ(cv::norm(d1, d2, cv::NORM_INF), 0);
}

TEST(Patchcore_IvfIndex, DeterministicForASeedWhateverTheThreads)
{
    const cv::Mat bank = mixture(6000, 32, 50, 10), queries = mixture(200, 32, 50, 11);
    cv::Mat d[3], idx[3];
    for (int run = 0; run < 3; ++run)
    {
        // Runs 0 and 1: the machine's threads; run 2: one thread.
        tbb::global_control limit(tbb::global_control::max_allowed_parallelism, run == 2 ? 1 : 2);
        IvfIndex index(0, 3, 42);
        index.setBank(bank);
        index.knn(queries, 4, d[run], idx[run]);
    }
    expectSame(d[0], idx[0], d[1], idx[1]);
    expectSame(d[0], idx[0], d[2], idx[2]);
}

TEST(Patchcore_IvfIndex, ConcurrentSearchesEqualASequentialOne)
{
    const cv::Mat bank = mixture(5000, 32, 40, 12), queries = mixture(150, 32, 40, 13);
    IvfIndex index(50, 4);
    index.setBank(bank);
    cv::Mat d, idx;
    index.knn(queries, 3, d, idx);
    std::vector<cv::Mat> ds(4), idxs(4);
    std::vector<std::thread> pool;
    for (int t = 0; t < 4; ++t)
        pool.emplace_back([&, t] { index.knn(queries, 3, ds[t], idxs[t]); });
    for (std::thread& th : pool)
        th.join();
    for (int t = 0; t < 4; ++t)
        expectSame(d, idx, ds[t], idxs[t]);
}

TEST(Patchcore_IvfIndex, BadInputIsRejected)
{
    const cv::Mat bank = normalRows(100, 8, 14), queries = normalRows(5, 8, 15);
    IvfIndex index(4, 2);
    cv::Mat d, idx;
    EXPECT_THROW(index.knn(queries, 1, d, idx), cv::Exception); // no bank yet
    EXPECT_THROW(index.setBank(cv::Mat()), cv::Exception);
    EXPECT_THROW(index.setBank(cv::Mat(10, 8, CV_64F, cv::Scalar(0))), cv::Exception);
    cv::Mat withNan = bank.clone();
    withNan.at<float>(3, 2) = std::numeric_limits<float>::quiet_NaN();
    EXPECT_THROW(index.setBank(withNan), cv::Exception);
    EXPECT_THROW(IvfIndex(-1, 0), cv::Exception);
    index.setBank(bank);
    EXPECT_THROW(index.knn(queries, 0, d, idx), cv::Exception);
    EXPECT_THROW(index.knn(queries, 101, d, idx), cv::Exception);
    EXPECT_THROW(index.knn(normalRows(5, 9, 16), 1, d, idx), cv::Exception);
    cv::Mat wrongType;
    queries.convertTo(wrongType, CV_64F);
    EXPECT_THROW(index.knn(wrongType, 1, d, idx), cv::Exception);
    EXPECT_NO_THROW(index.knn(queries, 100, d, idx));
}

} // namespace
} // namespace opencv_test
