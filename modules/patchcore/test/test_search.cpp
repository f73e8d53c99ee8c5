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

class SearchSizes : public ::testing::TestWithParam<std::tuple<int, int, int, int>> {};

TEST_P(SearchSizes, ExactMatchWithBruteForce)
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
    ExactSearch s;
    s.setBank(bank);
    cv::Mat d, idx;
    s.knn(queries, k, d, idx);
    ASSERT_EQ(d.rows, nq);
    ASSERT_EQ(d.cols, k);
    std::vector<std::vector<std::pair<double, int>>> ref;
    bruteForce(queries, bank, k, ref);
    for (int i = 0; i < nq; ++i)
        for (int j = 0; j < k; ++j)
        {
            EXPECT_EQ(idx.at<int>(i, j), ref[i][j].second) << "query " << i << " neighbour " << j;
            EXPECT_NEAR(d.at<float>(i, j), ref[i][j].first, 1e-6 * std::max(1.0, ref[i][j].first));
        }
    for (int i = 0; i < std::min(nq, 5); ++i)
        EXPECT_EQ(d.at<float>(i, 0), 0.f);
}

INSTANTIATE_TEST_CASE_P(Shapes, SearchSizes,
                        ::testing::Values(std::make_tuple(1, 1, 3, 1), std::make_tuple(7, 13, 5, 3),
                                          std::make_tuple(100, 2049, 64, 1), std::make_tuple(65, 4100, 33, 5),
                                          std::make_tuple(200, 300, 1024, 9), std::make_tuple(3, 5, 8, 5)));

TEST(Search, TiesResolveToTheLowerIndex)
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

TEST(Search, Fp16BankIsExactForTheStoredVectors)
{
    cv::RNG rng(21);
    cv::Mat bank(3000, 96, CV_32F), queries(50, 96, CV_32F);
    rng.fill(bank, cv::RNG::NORMAL, 2, 1);
    rng.fill(queries, cv::RNG::NORMAL, 2, 1);
    ExactSearch s;
    s.setBank(bank, true);
    ASSERT_TRUE(s.isFp16());
    EXPECT_EQ(s.size(), 3000);
    cv::Mat half, rounded;
    bank.convertTo(half, CV_16F);
    half.convertTo(rounded, CV_32F);
    cv::Mat d, idx;
    s.knn(queries, 3, d, idx);
    std::vector<std::vector<std::pair<double, int>>> ref;
    bruteForce(queries, rounded, 3, ref);
    for (int i = 0; i < queries.rows; ++i)
        for (int j = 0; j < 3; ++j)
        {
            EXPECT_EQ(idx.at<int>(i, j), ref[i][j].second) << "query " << i;
            EXPECT_NEAR(d.at<float>(i, j), ref[i][j].first, 1e-6 * std::max(1.0, ref[i][j].first));
        }
}

TEST(Search, NonFiniteQueryIsAnError)
{
    cv::Mat bank = cv::Mat::ones(10, 4, CV_32F);
    cv::Mat q = cv::Mat::zeros(2, 4, CV_32F);
    q.at<float>(1, 2) = std::numeric_limits<float>::quiet_NaN();
    ExactSearch s;
    s.setBank(bank);
    cv::Mat d, idx;
    EXPECT_THROW(s.knn(q, 1, d, idx), cv::Exception);
}

} // namespace
} // namespace opencv_test
