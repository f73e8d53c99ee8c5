// The projected screen (search_projected.hpp) against brute force in double precision: exact on data that has a few
// principal directions (patch vectors) and on data that has none (every query then needs further rounds), with ties,
// large offsets, k beyond the first round's rows and banks smaller than it; the same results as the full-width bf16
// screen inside the inverted file, and whatever the number of threads.
#include "test_precomp.hpp"
#include "bank_index_check.hpp"
#include "ivf_index.hpp"
#include "search.hpp"

#include <tbb/global_control.h>

namespace opencv_test {
namespace {

using namespace cv::patchcore::detail;

const int kDim = 512; // the narrowest width projected

// Rows around `centres` centres whose spread decays by direction (variance 1 / (1 + t / 8)^2 along axis t), as patch
// vectors concentrate in a few principal directions; `offset` is added to every value.
cv::Mat decaying(int rows, int centres, uint64 seed, double offset = 0)
{
    cv::RNG rng(seed);
    cv::Mat means(centres, kDim, CV_32F), out(rows, kDim, CV_32F);
    rng.fill(means, cv::RNG::NORMAL, 0, 3);
    rng.fill(out, cv::RNG::NORMAL, 0, 1);
    for (int i = 0; i < rows; ++i)
    {
        float* x = out.ptr<float>(i);
        const float* c = means.ptr<float>(rng.uniform(0, centres));
        for (int t = 0; t < kDim; ++t)
            x[t] = static_cast<float>(offset + (c[t] + x[t]) / (1.0 + t / 8.0));
    }
    return out;
}

// Queries: half near bank rows (true neighbours close, many rows at similar distances), half drawn like the bank.
cv::Mat queriesFor(const cv::Mat& bank, const cv::Mat& fresh, uint64 seed)
{
    cv::Mat q = fresh.clone();
    cv::RNG rng(seed);
    for (int i = 0; i < q.rows; i += 2)
        q.row(i) = bank.row(rng.uniform(0, bank.rows)) * 0.98 + q.row(i) * 0.02;
    return q;
}

void expectExact(const BankIndex& index, const cv::Mat& bank, const cv::Mat& queries, int k)
{
    SCOPED_TRACE(index.describe() + ", k = " + std::to_string(k));
    const IndexComparison c = compareWithBruteForce(index, bank, queries, k);
    EXPECT_TRUE(c.sortedAndValid);
    EXPECT_EQ(1.0, c.recall);
    EXPECT_EQ(1.0, c.exactAgreement);
    EXPECT_LT(c.maxDistanceError, 1e-6);
}

bool projectedAvailable()
{
    return ProjectedScreen::available(kDim);
}

TEST(Patchcore_ProjectedScreen, ExactOnConcentratedData)
{
    if (!projectedAvailable())
        GTEST_SKIP() << "SKIPPED: the projected screen needs AVX-512 BF16 (this CPU or PATCHCORE_SIMD has none)";
    const cv::Mat bank = decaying(3000, 40, 1), queries = queriesFor(bank, decaying(120, 40, 2), 3);
    ExactSearch search(SCREEN_PROJECTED);
    search.setBank(bank);
    EXPECT_EQ("exact, projected-screened", search.describe());
    for (int k : {1, 5, 40}) // 40: beyond the first round's k + extraRows()
        expectExact(search, bank, queries, k);
    cv::Mat d, idx;
    double fullPerQuery = 0;
    search.knn(queries, 1, d, idx, fullPerQuery);
    EXPECT_GE(fullPerQuery, 1.0);
    EXPECT_LT(fullPerQuery, 1 + ProjectedScreen::extraRows()) << "the bound should settle most queries early";
}

// Isotropic rows: the projection keeps a quarter of each distance, the bound settles little in the first round and
// the queries go through further rounds, up to the whole bank.
TEST(Patchcore_ProjectedScreen, ExactOnIsotropicData)
{
    if (!projectedAvailable())
        GTEST_SKIP() << "SKIPPED: the projected screen needs AVX-512 BF16 (this CPU or PATCHCORE_SIMD has none)";
    cv::Mat bank(2000, kDim, CV_32F), fresh(60, kDim, CV_32F);
    cv::RNG(4).fill(bank, cv::RNG::NORMAL, 0, 1);
    cv::RNG(5).fill(fresh, cv::RNG::NORMAL, 0, 1);
    const cv::Mat queries = queriesFor(bank, fresh, 6);
    ExactSearch search(SCREEN_PROJECTED);
    search.setBank(bank);
    for (int k : {1, 3})
        expectExact(search, bank, queries, k);
    cv::Mat d, idx;
    double fullPerQuery = 0;
    search.knn(queries, 1, d, idx, fullPerQuery);
    EXPECT_GT(fullPerQuery, 1 + ProjectedScreen::extraRows()) << "isotropic data should need further rounds";
}

// A large common offset (the rounding of the float projection grows with |x - mean|, the bound must allow for it),
// repeated rows (ties broken by the lower row) and queries equal to bank rows (distance 0).
TEST(Patchcore_ProjectedScreen, ExactWithOffsetsTiesAndZeroDistances)
{
    if (!projectedAvailable())
        GTEST_SKIP() << "SKIPPED: the projected screen needs AVX-512 BF16 (this CPU or PATCHCORE_SIMD has none)";
    cv::Mat bank = decaying(1500, 20, 7, 200.0);
    for (int i = 0; i < 100; ++i)
        bank.row(i).copyTo(bank.row(bank.rows - 1 - i));
    cv::Mat queries = queriesFor(bank, decaying(80, 20, 8, 200.0), 9);
    for (int i = 0; i < 10; ++i)
        bank.row(i * 3).copyTo(queries.row(i));
    ExactSearch search(SCREEN_PROJECTED);
    search.setBank(bank);
    for (int k : {1, 4})
        expectExact(search, bank, queries, k);
    cv::Mat d, idx;
    search.knn(queries, 2, d, idx);
    for (int i = 0; i < 10; ++i)
    {
        EXPECT_EQ(0.f, d.at<float>(i, 0));
        EXPECT_EQ(i * 3, idx.at<int>(i, 0)); // its copy at the end of the bank has the higher row
    }
}

// Fewer rows than the first round lists: the rounds stop at the bank's size.
TEST(Patchcore_ProjectedScreen, ExactOnBanksSmallerThanARound)
{
    if (!projectedAvailable())
        GTEST_SKIP() << "SKIPPED: the projected screen needs AVX-512 BF16 (this CPU or PATCHCORE_SIMD has none)";
    for (int rows : {1, 7, 20})
    {
        const cv::Mat bank = decaying(rows, 3, 10 + rows), queries = decaying(15, 3, 30 + rows);
        ExactSearch search(SCREEN_PROJECTED);
        search.setBank(bank);
        expectExact(search, bank, queries, 1);
        expectExact(search, bank, queries, rows);
    }
}

// Inside the inverted file both screens are exact over the probed cells, which are chosen the same way: same rows.
TEST(Patchcore_ProjectedScreen, InvertedFileMatchesTheFullWidthScreen)
{
    if (!projectedAvailable())
        GTEST_SKIP() << "SKIPPED: the projected screen needs AVX-512 BF16 (this CPU or PATCHCORE_SIMD has none)";
    const cv::Mat bank = decaying(4000, 60, 11), queries = queriesFor(bank, decaying(150, 60, 12), 13);
    IvfIndex projected(30, 3, 0, SCREEN_PROJECTED), full(30, 3, 0, SCREEN_BF16);
    projected.setBank(bank);
    full.setBank(bank);
    EXPECT_EQ("IVF: 30 cells, 3 probed, projected-screened", projected.describe());
    for (int k : {1, 6})
    {
        cv::Mat d1, i1, d2, i2;
        projected.knn(queries, k, d1, i1);
        full.knn(queries, k, d2, i2);
        EXPECT_EQ(0, cv::norm(i1, i2, cv::NORM_INF)) << "k = " << k;
        EXPECT_EQ(0, cv::norm(d1, d2, cv::NORM_INF)) << "k = " << k;
    }
    projected.setProbes(30);
    expectExact(projected, bank, queries, 3);
    IvfIndex few(30, 1, 0, SCREEN_PROJECTED);
    few.setBank(bank);
    expectExact(ExactPathOf(few), bank, queries, 2);
}

TEST(Patchcore_ProjectedScreen, IndependentOfTheThreadCount)
{
    if (!projectedAvailable())
        GTEST_SKIP() << "SKIPPED: the projected screen needs AVX-512 BF16 (this CPU or PATCHCORE_SIMD has none)";
    const cv::Mat bank = decaying(2500, 30, 14), queries = queriesFor(bank, decaying(100, 30, 15), 16);
    cv::Mat d[2], idx[2];
    for (int run = 0; run < 2; ++run)
    {
        tbb::global_control threads(tbb::global_control::max_allowed_parallelism, run == 0 ? 1 : 4);
        IvfIndex index(25, 4, 0, SCREEN_PROJECTED);
        index.setBank(bank);
        index.knn(queries, 3, d[run], idx[run]);
    }
    EXPECT_EQ(0, cv::norm(d[0], d[1], cv::NORM_INF));
    EXPECT_EQ(0, cv::norm(idx[0], idx[1], cv::NORM_INF));
}

TEST(Patchcore_ProjectedScreen, NarrowRowsFallBackToTheFullWidthScreen)
{
    cv::Mat bank(500, 64, CV_32F);
    cv::RNG(17).fill(bank, cv::RNG::NORMAL, 0, 1);
    ExactSearch search(SCREEN_PROJECTED);
    search.setBank(bank);
    EXPECT_FALSE(ProjectedScreen::available(64));
    EXPECT_EQ(Bf16Screen::available() ? "exact, bf16-screened" : "exact", search.describe());
    expectExact(search, bank, bank.rowRange(0, 20), 2);
}

} // namespace
} // namespace opencv_test
