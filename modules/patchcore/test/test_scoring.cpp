// The scoring stage against float64 brute force: patch scores (k nearest, both metrics, care mask), the image score
// as the worst patch's, and the paper's Eq. 7 reweighting computed by hand.
#include "test_precomp.hpp"
#include "scoring.hpp"
#include "search.hpp"

#include <algorithm>
#include <cmath>

namespace opencv_test {
namespace {

using namespace cv::patchcore::detail;

double distSq(const cv::Mat& a, int i, const cv::Mat& b, int j)
{
    double s = 0;
    for (int c = 0; c < a.cols; ++c)
    {
        const double d = static_cast<double>(a.at<float>(i, c)) - b.at<float>(j, c);
        s += d * d;
    }
    return s;
}

/** Bank rows by increasing squared distance to row i of `q`. */
std::vector<std::pair<double, int>> ranked(const cv::Mat& q, int i, const cv::Mat& bank)
{
    std::vector<std::pair<double, int>> all;
    for (int j = 0; j < bank.rows; ++j)
        all.emplace_back(distSq(q, i, bank, j), j);
    std::sort(all.begin(), all.end());
    return all;
}

double bruteScore(const cv::Mat& q, int i, const cv::Mat& bank, int k, int metric)
{
    const auto r = ranked(q, i, bank);
    double sum = 0;
    for (int j = 0; j < k; ++j)
        sum += metric == cv::patchcore::DISTANCE_L2 ? std::sqrt(r[j].first) : r[j].first;
    return sum / k;
}

cv::Mat randomRows(int n, int d, uint64 seed)
{
    cv::Mat m(n, d, CV_32F);
    cv::RNG rng(seed);
    rng.fill(m, cv::RNG::NORMAL, 0, 1);
    return m;
}

TEST(Patchcore_Scoring, patch_and_image_scores_match_brute_force)
{
    const cv::Mat bank = randomRows(80, 12, 1), embedding = randomRows(20, 12, 2); // a 5 x 4 grid
    ExactSearch index;
    index.setBank(bank);
    cv::Mat care(4, 5, CV_8U, cv::Scalar(1));
    care.at<uchar>(1, 2) = care.at<uchar>(3, 0) = 0;
    for (int metric : {cv::patchcore::DISTANCE_L2_SQUARED, cv::patchcore::DISTANCE_L2})
        for (int k : {1, 3})
            for (bool masked : {false, true})
            {
                SCOPED_TRACE(cv::format("metric %d, k %d, care mask %d", metric, k, masked));
                const cv::Mat noCare, &useCare = masked ? care : noCare;
                const ImageScores s =
                    scoreImage({ScoringWindow{&embedding, cv::Size(5, 4), &useCare}}, index, bank, k, metric, 0);
                ASSERT_EQ(1u, s.patchScores.size());
                ASSERT_EQ(cv::Size(5, 4), s.patchScores[0].size());
                double worst = 0;
                for (int r = 0; r < embedding.rows; ++r)
                {
                    const bool counted = !masked || care.ptr<uchar>()[r] != 0;
                    const double expected = counted ? bruteScore(embedding, r, bank, k, metric) : 0.0;
                    EXPECT_NEAR(expected, s.patchScores[0].ptr<float>()[r], 1e-5 * std::max(1.0, expected)) << r;
                    worst = std::max(worst, expected);
                }
                EXPECT_NEAR(worst, s.image, 1e-5 * worst);
            }
    // No care patch at all is an error that says so, not a score of 0.
    const cv::Mat none(4, 5, CV_8U, cv::Scalar(0));
    expectErrorContaining([&] { scoreImage({ScoringWindow{&embedding, cv::Size(5, 4), &none}}, index, bank, 1, 0, 0); },
                          {"care area"});
}

// Eq. 7 as anomalib computes it: w = 1 - exp(d_0) / sum_j exp(d_j), with d_j the Euclidean distances from the worst
// test patch to its nearest bank row m* and m*'s b nearest bank rows (m* itself first).
TEST(Patchcore_Scoring, eq7_reweighting_matches_hand_computation)
{
    const cv::Mat bank = randomRows(60, 10, 3), embedding = randomRows(9, 10, 4); // a 3 x 3 grid
    embedding.row(4) *= 3.0; // one clearly worst patch
    ExactSearch index;
    index.setBank(bank);
    const cv::Mat noCare;
    for (int b : {1, 4, 9})
    {
        SCOPED_TRACE(b);
        const ImageScores plain = scoreImage({ScoringWindow{&embedding, cv::Size(3, 3), &noCare}}, index, bank, 1,
                                             cv::patchcore::DISTANCE_L2_SQUARED, 0);
        const ImageScores weighted = scoreImage({ScoringWindow{&embedding, cv::Size(3, 3), &noCare}}, index, bank, 1,
                                                cv::patchcore::DISTANCE_L2_SQUARED, b);
        const double worstScore = bruteScore(embedding, 4, bank, 1, cv::patchcore::DISTANCE_L2_SQUARED);
        ASSERT_NEAR(worstScore, plain.image, 1e-5 * worstScore) << "patch 4 must be the worst";
        const int nearest = ranked(embedding, 4, bank)[0].second;
        const auto support = ranked(bank, nearest, bank); // m* first, at distance 0
        ASSERT_EQ(nearest, support[0].second);
        double denominator = 0;
        std::vector<double> d(b);
        for (int j = 0; j < b; ++j)
        {
            d[j] = std::sqrt(distSq(embedding, 4, bank, support[j].second));
            denominator += std::exp(d[j]);
        }
        const double weight = 1.0 - std::exp(d[0]) / denominator;
        EXPECT_NEAR(plain.image * weight, weighted.image, 1e-5 * plain.image);
        EXPECT_EQ(0, cv::norm(plain.patchScores[0], weighted.patchScores[0], cv::NORM_INF)) << "only the image score";
        if (b == 1)
            EXPECT_EQ(0.0, weighted.image) << "one neighbour: the softmax is 1";
    }
}

} // namespace
} // namespace opencv_test
