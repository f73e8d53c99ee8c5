// Exact nearest-neighbour search against float64 brute force.
#include "test_precomp.hpp"
#include "search.hpp"

#include <algorithm>

namespace opencv_test {
namespace {

using namespace cv::patchcore::detail;

void bruteForce(const cv::Mat& q, const cv::Mat& b, int k, std::vector<std::vector<std::pair<double, int>>>& out)
{
    out.assign(q.rows, {});
    for (int i = 0; i < q.rows; ++i)
    {
        std::vector<std::pair<double, int>> all;
        for (int j = 0; j < b.rows; ++j)
        {
            double s = 0;
            for (int c = 0; c < q.cols; ++c)
            {
                const double d = static_cast<double>(q.at<float>(i, c)) - b.at<float>(j, c);
                s += d * d;
            }
            all.emplace_back(s, j);
        }
        std::sort(all.begin(), all.end());
        all.resize(k);
        out[i] = all;
    }
}

class Patchcore_SearchSizes : public ::testing::TestWithParam<std::tuple<int, int, int, int>> {};

TEST_P(Patchcore_SearchSizes, ExactMatchWithBruteForce)
{
    const int nq = std::get<0>(GetParam()), nb = std::get<1>(GetParam()), dim = std::get<2>(GetParam()),
              k = std::get<3>(GetParam());
    cv::RNG rng(nq * 31 + nb);
    cv::Mat bank(nb, dim, CV_32F), queries(nq, dim, CV_32F);
    rng.fill(bank, cv::RNG::NORMAL, 3, 1); // an offset makes the GEMM form's cancellation real
    rng.fill(queries, cv::RNG::NORMAL, 3, 1);
    // Some queries sit exactly on bank vectors: distance 0 must come out as 0.
    for (int i = 0; i < std::min(nq, 5); ++i)
        bank.row(i * 7 % nb).copyTo(queries.row(i));
    std::vector<std::vector<std::pair<double, int>>> ref;
    bruteForce(queries, bank, k, ref);
    for (const Screening screening : {SCREEN_PROJECTED, SCREEN_BF16, SCREEN_FP32})
    {
        SCOPED_TRACE(screening == SCREEN_FP32 ? "fp32 path" : "bf16 screening where available");
        ExactSearch s(screening);
        s.setBank(bank);
        cv::Mat d, idx;
        s.knn(queries, k, d, idx);
        ASSERT_EQ(d.rows, nq);
        ASSERT_EQ(d.cols, k);
        for (int i = 0; i < nq; ++i)
            for (int j = 0; j < k; ++j)
            {
                EXPECT_EQ(idx.at<int>(i, j), ref[i][j].second) << "query " << i << " neighbour " << j;
                EXPECT_NEAR(d.at<float>(i, j), ref[i][j].first, 1e-6 * std::max(1.0, ref[i][j].first));
            }
        for (int i = 0; i < std::min(nq, 5); ++i)
            EXPECT_EQ(d.at<float>(i, 0), 0.f);
    }
}

INSTANTIATE_TEST_CASE_P(Shapes, Patchcore_SearchSizes,
                        ::testing::Values(std::make_tuple(1, 1, 3, 1), std::make_tuple(7, 13, 5, 3),
                                          std::make_tuple(100, 2049, 64, 1), std::make_tuple(65, 4100, 33, 5),
                                          std::make_tuple(200, 300, 1024, 9), std::make_tuple(3, 5, 8, 5)));

TEST(Patchcore_Search, TiesResolveToTheLowerIndex)
{
    cv::Mat bank = (cv::Mat_<float>(4, 2) << 1, 0, -1, 0, 0, 1, 1, 0);
    cv::Mat q = (cv::Mat_<float>(1, 2) << 0, 0);
    ExactSearch s;
    s.setBank(bank);
    cv::Mat d, idx;
    s.knn(q, 4, d, idx);
    EXPECT_EQ(idx.at<int>(0, 0), 0);
    EXPECT_EQ(idx.at<int>(0, 1), 1);
    EXPECT_EQ(idx.at<int>(0, 2), 2);
    EXPECT_EQ(idx.at<int>(0, 3), 3);
    for (int j = 0; j < 4; ++j)
        EXPECT_FLOAT_EQ(d.at<float>(0, j), 1.f);
}

TEST(Patchcore_Search, Fp16BankIsExactForTheStoredVectors)
{
    cv::RNG rng(21);
    cv::Mat bank(3000, 96, CV_32F), queries(50, 96, CV_32F);
    rng.fill(bank, cv::RNG::NORMAL, 2, 1);
    rng.fill(queries, cv::RNG::NORMAL, 2, 1);
    cv::Mat half, rounded;
    bank.convertTo(half, CV_16F);
    half.convertTo(rounded, CV_32F);
    std::vector<std::vector<std::pair<double, int>>> ref;
    bruteForce(queries, rounded, 3, ref);
    for (const Screening screening : {SCREEN_PROJECTED, SCREEN_BF16, SCREEN_FP32})
    {
        SCOPED_TRACE(screening == SCREEN_FP32 ? "fp32 path" : "bf16 screening where available");
        ExactSearch s(screening);
        s.setBank(rounded); // what a detector with Params::bankFp16 searches
        if (screening != SCREEN_FP32 && Bf16Screen::available())
            ASSERT_TRUE(s.screensInBf16());
        EXPECT_EQ(s.size(), 3000);
        cv::Mat d, idx;
        s.knn(queries, 3, d, idx);
        for (int i = 0; i < queries.rows; ++i)
            for (int j = 0; j < 3; ++j)
            {
                EXPECT_EQ(idx.at<int>(i, j), ref[i][j].second) << "query " << i;
                EXPECT_NEAR(d.at<float>(i, j), ref[i][j].first, 1e-6 * std::max(1.0, ref[i][j].first));
            }
    }
}

// Whether this CPU runs the bf16 screening; the exactness tests below pass either way, this only says which path ran.
bool screeningRuns(const ExactSearch& s)
{
    if (!Bf16Screen::available())
        std::cout << "[   INFO   ] no AVX-512 BF16 on this CPU (or PATCHCORE_SIMD caps it): the fp32 path is tested\n";
    else
        EXPECT_TRUE(s.screensInBf16());
    return s.screensInBf16();
}

// Bank rows that differ by far less than bf16's resolution (2^-8 relative) look alike to the screening kernel; the
// error bound must still hand all of them to the double-precision ranking, which alone tells them apart.
TEST(Patchcore_Search, Bf16ScreeningSeparatesNeighboursBelowBf16Resolution)
{
    const int dim = 255, copies = 40, far = 1000; // odd dim: the last bf16 pair is half padding
    cv::RNG rng(5);
    cv::Mat centre(1, dim, CV_32F), bank(copies + far, dim, CV_32F), queries(37, dim, CV_32F);
    rng.fill(centre, cv::RNG::NORMAL, 3, 1);
    for (int j = 0; j < copies; ++j)
    {
        cv::Mat noise(1, dim, CV_32F);
        rng.fill(noise, cv::RNG::NORMAL, 0, 1e-4 * (1 + j % 7));
        bank.row(j) = centre + noise;
    }
    cv::Mat farRows = bank.rowRange(copies, copies + far);
    rng.fill(farRows, cv::RNG::NORMAL, 3, 1);
    for (int i = 0; i < queries.rows; ++i)
    {
        cv::Mat noise(1, dim, CV_32F);
        rng.fill(noise, cv::RNG::NORMAL, 0, i < 20 ? 1e-4 : 0.3);
        queries.row(i) = centre + noise;
    }
    const int k = 4;
    std::vector<std::vector<std::pair<double, int>>> ref;
    bruteForce(queries, bank, k, ref);
    ExactSearch s;
    s.setBank(bank);
    screeningRuns(s);
    cv::Mat d, idx;
    double ranked = 0;
    s.knn(queries, k, d, idx, ranked);
    for (int i = 0; i < queries.rows; ++i)
        for (int j = 0; j < k; ++j)
        {
            EXPECT_EQ(idx.at<int>(i, j), ref[i][j].second) << "query " << i << " neighbour " << j;
            EXPECT_NEAR(d.at<float>(i, j), ref[i][j].first, 1e-6 * std::max(1e-3, ref[i][j].first));
        }
    // The near-copies are indistinguishable in bf16, so all of them must have been ranked in double; the far rows,
    // at a distance of about sqrt(2 dim), never.
    if (s.screensInBf16())
    {
        EXPECT_GE(ranked, copies);
        EXPECT_LE(ranked, copies + 5);
    }
}

// Rows of very different norms (1e-3 .. 1e3) stress a bound that scales with the norms: both paths must return the
// same neighbours and, since both rank in double with the same code, the same distances bit for bit.
TEST(Patchcore_Search, Bf16ScreeningMatchesTheFp32Path)
{
    const int dim = 1024, n = 3001, m = 131;
    cv::RNG rng(9);
    cv::Mat bank(n, dim, CV_32F), queries(m, dim, CV_32F);
    rng.fill(bank, cv::RNG::NORMAL, 0, 1);
    rng.fill(queries, cv::RNG::NORMAL, 0, 1);
    for (int j = 0; j < n; ++j)
        bank.row(j) *= std::pow(10.0, rng.uniform(-3.0, 3.0));
    for (int i = 0; i < m; ++i)
    {
        // Half the queries start from a bank row, so that the nearest rows are close, not all at the same radius.
        const double scale = std::pow(10.0, rng.uniform(-3.0, 3.0));
        if (i % 2)
            queries.row(i) = bank.row(rng.uniform(0, n)) + queries.row(i) * (scale * 1e-2);
        else
            queries.row(i) *= scale;
    }
    ExactSearch screened, plain(SCREEN_FP32);
    screened.setBank(bank);
    plain.setBank(bank);
    ASSERT_FALSE(plain.screensInBf16());
    screeningRuns(screened);
    cv::Mat d1, i1, d2, i2;
    screened.knn(queries, 5, d1, i1);
    plain.knn(queries, 5, d2, i2);
    EXPECT_EQ(cv::countNonZero(i1 != i2), 0);
    EXPECT_EQ(cv::norm(d1, d2, cv::NORM_INF), 0.0);
    std::vector<std::vector<std::pair<double, int>>> ref;
    bruteForce(queries.rowRange(0, 20), bank, 5, ref);
    for (int i = 0; i < 20; ++i)
        for (int j = 0; j < 5; ++j)
            EXPECT_EQ(i1.at<int>(i, j), ref[i][j].second) << "query " << i << " neighbour " << j;
}

TEST(Patchcore_Search, NonFiniteBankRowsFallBackToTheFp32Path)
{
    cv::Mat bank = cv::Mat::ones(40, 8, CV_32F);
    bank.at<float>(3, 5) = std::numeric_limits<float>::infinity();
    ExactSearch s;
    s.setBank(bank);
    EXPECT_FALSE(s.screensInBf16());
    cv::Mat q = cv::Mat::zeros(1, 8, CV_32F), d, idx;
    s.knn(q, 1, d, idx);
    EXPECT_EQ(idx.at<int>(0, 0), 0);
}

TEST(Patchcore_Search, NonFiniteQueryIsAnError)
{
    cv::Mat bank = cv::Mat::ones(10, 4, CV_32F);
    cv::Mat q = cv::Mat::zeros(2, 4, CV_32F);
    q.at<float>(1, 2) = std::numeric_limits<float>::quiet_NaN();
    for (const Screening screening : {SCREEN_PROJECTED, SCREEN_BF16, SCREEN_FP32})
    {
        ExactSearch s(screening);
        s.setBank(bank);
        cv::Mat d, idx;
        EXPECT_THROW(s.knn(q, 1, d, idx), cv::Exception);
        q.at<float>(1, 2) = std::numeric_limits<float>::infinity();
        EXPECT_THROW(s.knn(q, 1, d, idx), cv::Exception);
        q.at<float>(1, 2) = std::numeric_limits<float>::quiet_NaN();
    }
}

} // namespace
} // namespace opencv_test
