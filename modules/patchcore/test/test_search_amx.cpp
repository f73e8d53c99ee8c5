// The AMX screening kernel: its tile layout against double-precision dot products, and the search through it against
// brute force and the AVX-512 BF16 kernel. Runs where the CPU and OS allow AMX; elsewhere it says so and skips.
#include "test_precomp.hpp"
#include "distance_kernels.hpp"
#include "search_amx.hpp"
#include "search_bf16.hpp"

#include <cmath>
#include <cstring>

#include <tbb/global_control.h>

namespace opencv_test {
namespace {

using namespace cv::patchcore::detail;

bool amxRuns()
{
    if (simdLevel() >= SIMD_AMX_BF16 && AmxTiles::built())
        return true;
    std::cout << "[   INFO   ] no AMX in this build, CPU or OS (or PATCHCORE_SIMD caps it): simd level "
              << simdLevelName(simdLevel()) << "\n";
    return false;
}

float bf16Value(uint16_t h)
{
    const uint32_t u = static_cast<uint32_t>(h) << 16;
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
}

// A random bf16 with a normal exponent: value in +-[2^-4, 2^4).
uint16_t randomBf16(cv::RNG& rng)
{
    const uint32_t sign = rng.uniform(0, 2), exponent = 123 + rng.uniform(0, 8), mantissa = rng.uniform(0, 128);
    return static_cast<uint16_t>((sign << 15) | (exponent << 7) | mantissa);
}

TEST(Patchcore_SearchAmx, TileDotsMatchDoublePrecisionForEveryShape)
{
    if (!amxRuns())
        GTEST_SKIP() << "needs AMX";
    const int pairs = 48, groups = 2, queries = 32;
    cv::RNG rng(3);
    std::vector<uint16_t> q(static_cast<size_t>(queries) * pairs * 2), b(static_cast<size_t>(groups) * pairs * 32);
    for (uint16_t& v : q)
        v = randomBf16(rng);
    for (uint16_t& v : b)
        v = randomBf16(rng);
    // Bank packing: group g, pair p, lane l, element e at g * pairs * 32 + p * 32 + l * 2 + e.
    auto bank = [&](int g, int lane, int t) { return bf16Value(b[g * pairs * 32 + (t / 2) * 32 + lane * 2 + t % 2]); };
    auto query = [&](int i, int t) { return bf16Value(q[static_cast<size_t>(i) * pairs * 2 + t]); };
    const AmxTiles tiles;
    for (int queryTiles = 1; queryTiles <= 2; ++queryTiles)
        for (int numGroups = 1; numGroups <= groups; ++numGroups)
        {
            SCOPED_TRACE(cv::format("%d query tile(s), %d group(s)", queryTiles, numGroups));
            std::vector<float> out(static_cast<size_t>(queryTiles) * 16 * numGroups * 16, NAN);
            tiles.dots(reinterpret_cast<const uint32_t*>(q.data()), pairs, queryTiles, b.data(), pairs * 32, numGroups,
                       pairs, out.data());
            for (int i = 0; i < queryTiles * 16; ++i)
                for (int g = 0; g < numGroups; ++g)
                    for (int lane = 0; lane < 16; ++lane)
                    {
                        double exact = 0, magnitude = 0;
                        for (int t = 0; t < pairs * 2; ++t)
                        {
                            exact += static_cast<double>(query(i, t)) * bank(g, lane, t);
                            magnitude += std::abs(static_cast<double>(query(i, t)) * bank(g, lane, t));
                        }
                        // One fp32 rounding per accumulated product at most.
                        const double bound = (pairs * 2 + 1) * std::ldexp(1.0, -24) * magnitude;
                        ASSERT_NEAR(out[(static_cast<size_t>(i) * numGroups + g) * 16 + lane], exact, bound)
                            << "query " << i << " group " << g << " lane " << lane;
                    }
        }
}

void bruteForce(const cv::Mat& q, const cv::Mat& b, int k, cv::Mat& distSq, cv::Mat& indices)
{
    distSq.create(q.rows, k, CV_64F);
    indices.create(q.rows, k, CV_32S);
    for (int i = 0; i < q.rows; ++i)
    {
        std::vector<std::pair<double, int>> all;
        for (int j = 0; j < b.rows; ++j)
            all.emplace_back(cv::norm(q.row(i), b.row(j), cv::NORM_L2SQR), j);
        std::partial_sort(all.begin(), all.begin() + k, all.end());
        for (int j = 0; j < k; ++j)
        {
            distSq.at<double>(i, j) = all[j].first;
            indices.at<int>(i, j) = all[j].second;
        }
    }
}

// Query counts around the 16-query tiles and 128-query blocks, bank sizes around the 32-row tile pairs, and
// dimensions that do (64, 1024) and do not (100: 50 pairs) fill whole tile rows.
TEST(Patchcore_SearchAmx, ScreeningFindsTheBruteForceNeighboursLikeTheAvx512Kernel)
{
    if (!Bf16Screen::available())
        GTEST_SKIP() << "needs AVX-512 BF16";
    const bool amx = amxRuns();
    cv::RNG rng(11);
    for (const int dim : {64, 100, 1024})
        for (const int n : {17, 48, 1001})
            for (const int m : {1, 15, 17, 33, 131})
            {
                SCOPED_TRACE(cv::format("dim %d, bank %d, queries %d", dim, n, m));
                cv::Mat bank(n, dim, CV_32F), queries(m, dim, CV_32F);
                rng.fill(bank, cv::RNG::NORMAL, 0, 1);
                rng.fill(queries, cv::RNG::NORMAL, 0, 1);
                // Half the queries next to a bank row, so that neighbours are close and margins matter.
                for (int i = 0; i < m; i += 2)
                    queries.row(i) = bank.row(rng.uniform(0, n)) + queries.row(i) * 1e-3;
                const int k = std::min(3, n);
                cv::Mat refD, refI;
                bruteForce(queries, bank, k, refD, refI);
                Bf16Screen tiles, vectors;
                ASSERT_TRUE(tiles.build(bank));
                ASSERT_TRUE(vectors.build(bank, false));
                EXPECT_EQ(tiles.usesAmx(), amx && dim % 32 == 0);
                EXPECT_FALSE(vectors.usesAmx());
                cv::Mat d1, i1, d2, i2;
                tiles.knn(queries, bank, k, d1, i1);
                vectors.knn(queries, bank, k, d2, i2);
                ASSERT_EQ(cv::norm(i1, refI, cv::NORM_INF), 0);
                ASSERT_EQ(cv::norm(i2, refI, cv::NORM_INF), 0);
                // Both rank the same candidates in double: the same distances bit for bit.
                ASSERT_EQ(cv::norm(d1, d2, cv::NORM_INF), 0);
                for (int i = 0; i < m; ++i)
                    for (int j = 0; j < k; ++j)
                        ASSERT_NEAR(d1.at<float>(i, j), refD.at<double>(i, j), 1e-6 * std::max(1.0, refD.at<double>(i, j)));
            }
}

// The screened distances the inverted file ranks its cells by: every value against double precision within the bf16
// rounding bound (a wrong tile layout or row offset is off by about |q| |x|), on both kernels, for partial tiles of
// queries and rows, and the same values whatever the number of threads.
TEST(Patchcore_SearchAmx, PartialDistancesMatchDoublePrecisionOnBothKernels)
{
    if (!Bf16Screen::available())
        GTEST_SKIP() << "needs AVX-512 BF16";
    const bool amx = amxRuns();
    cv::RNG rng(5);
    for (const int dim : {64, 1024})
        for (const int n : {17, 101})
            for (const int m : {1, 7, 33, 70})
                for (const bool allowAmx : {true, false})
                {
                    SCOPED_TRACE(cv::format("dim %d, rows %d, queries %d, AMX allowed %d", dim, n, m, allowAmx));
                    cv::Mat rows(n, dim, CV_32F), queries(m, dim, CV_32F);
                    rng.fill(rows, cv::RNG::NORMAL, 0, 1);
                    rng.fill(queries, cv::RNG::NORMAL, 0, 1);
                    Bf16Screen screen;
                    ASSERT_TRUE(screen.build(rows, allowAmx));
                    EXPECT_EQ(screen.usesAmx(), allowAmx && amx);
                    cv::Mat got[2];
                    for (int run = 0; run < 2; ++run)
                    {
                        tbb::global_control limit(tbb::global_control::max_allowed_parallelism, run == 0 ? 2 : 1);
                        got[run] = cv::Mat(m, n, CV_32F, cv::Scalar(NAN));
                        screen.partialDistances(queries, [&](int i, const float* d) {
                            std::copy(d, d + n, got[run].ptr<float>(i));
                        });
                    }
                    ASSERT_EQ(cv::norm(got[0], got[1], cv::NORM_INF), 0) << "depends on the number of threads";
                    for (int i = 0; i < m; ++i)
                        for (int r = 0; r < n; ++r)
                        {
                            double dot = 0, qq = 0, xx = 0;
                            for (int t = 0; t < dim; ++t)
                            {
                                const double q = queries.at<float>(i, t), x = rows.at<float>(r, t);
                                dot += q * x;
                                qq += q * q;
                                xx += x * x;
                            }
                            // bf16 keeps 8 significant bits: each product is off by at most 2^-8 of |q_t x_t|.
                            const double bound = 2 * std::ldexp(1.0, -7) * std::sqrt(qq * xx) + 1e-5 * xx;
                            ASSERT_NEAR(got[0].at<float>(i, r), xx - 2 * dot, bound) << "query " << i << ", row " << r;
                        }
                }
}

} // namespace
} // namespace opencv_test
