// Coreset selection (fresh, and continuing from a bank) against a naive float64 greedy k-centre written from the spec.
#include "test_precomp.hpp"
#include "coreset.hpp"
#include "coreset_update.hpp"
#include "cuda_dispatch.hpp"

#include <cmath>
#include <set>

namespace opencv_test {
namespace {

using namespace cv::patchcore::detail;

cv::Mat randomRows(int n, int d, uint64 seed)
{
    cv::Mat m(n, d, CV_32F);
    cv::RNG rng(seed);
    rng.fill(m, cv::RNG::NORMAL, 0, 1);
    return m;
}

double dist(const cv::Mat& m, int a, int b)
{
    double s = 0;
    for (int j = 0; j < m.cols; ++j)
    {
        const double d = static_cast<double>(m.at<float>(a, j)) - m.at<float>(b, j);
        s += d * d;
    }
    return std::sqrt(s);
}

// Spec section 4, steps 2-3, literally: Euclidean distances, argmax with first index on ties.
std::vector<int> naiveGreedy(const cv::Mat& x, const std::vector<int>& starts, int count)
{
    std::vector<double> running(x.rows);
    for (int i = 0; i < x.rows; ++i)
    {
        double s = 0;
        for (int st : starts)
            s += dist(x, i, st);
        running[i] = s / starts.size();
    }
    std::vector<int> out;
    for (int it = 0; it < count; ++it)
    {
        const int sel = static_cast<int>(std::max_element(running.begin(), running.end()) - running.begin());
        out.push_back(sel);
        for (int i = 0; i < x.rows; ++i)
            running[i] = std::min(running[i], dist(x, i, sel));
    }
    return out;
}

TEST(Patchcore_Coreset, GreedyMatchesNaiveImplementation)
{
    for (int n : {50, 777, 3001})
    {
        const cv::Mat x = randomRows(n, 16, n);
        const std::vector<int> starts = randomIndices(n, 10, 7);
        const int count = coresetSize(n, 0.1);
        EXPECT_EQ(greedyCoreset(x, starts, count), naiveGreedy(x, starts, count)) << "n = " << n;
    }
}

TEST(Patchcore_Coreset, GreedyMatchesNaiveOnClusteredData)
{
    // Clustered points with a long tail of selections: the regime where the selection skips most points by the
    // triangle inequality, so any unsafe skip would change an index here.
    const int n = 6000, d = 24;
    cv::Mat x(n, d, CV_32F);
    cv::RNG rng(11);
    cv::Mat centres(40, d, CV_32F);
    rng.fill(centres, cv::RNG::NORMAL, 0, 4);
    for (int i = 0; i < n; ++i)
    {
        cv::Mat row = x.row(i);
        rng.fill(row, cv::RNG::NORMAL, 0, 0.5 + (i % 3));
        row += centres.row(i % 40);
    }
    const std::vector<int> starts = randomIndices(n, 10, 3);
    EXPECT_EQ(greedyCoreset(x, starts, 900), naiveGreedy(x, starts, 900));
}

TEST(Patchcore_Coreset, ProjectionIsTheMatrixProduct)
{
    const cv::Mat x = randomRows(2500, 40, 1);
    const cv::Mat w = randomProjection(40, 8, 9);
    const float bound = 1.f / std::sqrt(40.f);
    double lo = 1, hi = -1;
    cv::minMaxLoc(w, &lo, &hi);
    EXPECT_GE(lo, -bound);
    EXPECT_LE(hi, bound);
    EXPECT_GT(hi - lo, bound); // really spread over the interval
    const cv::Mat y = projectRows(x, w);
    cv::Mat x64, w64;
    x.convertTo(x64, CV_64F);
    w.convertTo(w64, CV_64F);
    cv::Mat ref = x64 * w64;
    cv::Mat y64;
    y.convertTo(y64, CV_64F);
    EXPECT_LT(cv::norm(y64, ref, cv::NORM_INF), 1e-4);
}

TEST(Patchcore_Coreset, FullPipelineWithProjectionMatchesNaive)
{
    const cv::Mat bank = randomRows(1200, 64, 3);
    cv::patchcore::Params p;
    p.coresetRatio = 0.05;
    p.projectionDim = 16;
    p.seed = 42;
    const std::vector<int> got = selectCoreset(bank, p);
    const cv::Mat projected = projectRows(bank, randomProjection(64, 16, 42));
    const std::vector<int> starts = randomIndices(1200, 10, 43);
    EXPECT_EQ(got, naiveGreedy(projected, starts, 60));
    EXPECT_EQ(got, selectCoreset(bank, p)) << "same seed must give the same selection";
    p.seed = 43;
    EXPECT_NE(got, selectCoreset(bank, p)) << "another seed should change the start points";
}

TEST(Patchcore_Coreset, RandomAndNoneMethods)
{
    const cv::Mat bank = randomRows(1000, 8, 4);
    cv::patchcore::Params p;
    p.coresetMethod = cv::patchcore::CORESET_RANDOM;
    p.coresetRatio = 0.25;
    const std::vector<int> r = selectCoreset(bank, p);
    ASSERT_EQ(r.size(), 250u);
    EXPECT_EQ(std::set<int>(r.begin(), r.end()).size(), 250u);
    for (int i : r)
        EXPECT_TRUE(i >= 0 && i < 1000);
    EXPECT_EQ(r, selectCoreset(bank, p));
    p.coresetMethod = cv::patchcore::CORESET_NONE;
    const std::vector<int> all = selectCoreset(bank, p);
    ASSERT_EQ(all.size(), 1000u);
    for (int i = 0; i < 1000; ++i)
        EXPECT_EQ(all[i], i);
}

TEST(Patchcore_Coreset, DuplicatesStopTheSelectionEarly)
{
    // Three distinct points, each repeated: at most three selections are meaningful.
    cv::Mat x(30, 2, CV_32F);
    for (int i = 0; i < 30; ++i)
    {
        x.at<float>(i, 0) = static_cast<float>(i % 3);
        x.at<float>(i, 1) = static_cast<float>((i % 3) * 2);
    }
    const std::vector<int> sel = greedyCoreset(x, {0, 1}, 10);
    EXPECT_EQ(sel.size(), 3u);
    std::set<int> classes;
    for (int i : sel)
        classes.insert(i % 3);
    EXPECT_EQ(classes.size(), 3u);
}

TEST(Patchcore_Coreset, CancelledThroughCallback)
{
    const cv::Mat x = randomRows(500, 4, 8);
    int calls = 0;
    EXPECT_THROW(greedyCoreset(x, {1}, 100, [&](int, int) { return ++calls < 3; }), cv::Exception);
    EXPECT_EQ(calls, 3);
}

// update(): the bank counts as already selected. Naive: every candidate's running minimum starts at its distance to
// the nearest bank vector; then the farthest candidate is taken, lowest index on ties, until all coincide.
std::vector<int> naiveContinue(const cv::Mat& bank, const cv::Mat& candidates, int count)
{
    cv::Mat all;
    cv::vconcat(candidates, bank, all);
    const int n = candidates.rows;
    std::vector<double> running(n, std::numeric_limits<double>::infinity());
    for (int i = 0; i < n; ++i)
        for (int b = 0; b < bank.rows; ++b)
            running[i] = std::min(running[i], dist(all, i, n + b));
    std::vector<int> selected;
    for (int it = 0; it < count; ++it)
    {
        int best = 0;
        for (int i = 1; i < n; ++i)
            if (running[i] > running[best])
                best = i;
        if (running[best] <= 0)
            break;
        selected.push_back(best);
        for (int i = 0; i < n; ++i)
            running[i] = std::min(running[i], dist(all, i, best));
    }
    return selected;
}

// Small whole-number coordinates: every float distance is exact, so ties are real and must go to the lowest index,
// and candidates equal to bank vectors must never be added.
TEST(Patchcore_Coreset, ContinuingFromABankMatchesNaive)
{
    cv::RNG rng(11);
    cv::Mat bank(60, 8, CV_32F), candidates(400, 8, CV_32F);
    rng.fill(bank, cv::RNG::UNIFORM, -4, 5);
    rng.fill(candidates, cv::RNG::UNIFORM, -6, 7);
    bank.convertTo(bank, CV_32S);
    bank.convertTo(bank, CV_32F);
    candidates.convertTo(candidates, CV_32S);
    candidates.convertTo(candidates, CV_32F);
    for (int i = 0; i < 40; ++i) // some candidates repeat bank vectors
        bank.row(i).copyTo(candidates.row(i * 7));
    cv::patchcore::Params p;
    p.projectionDim = 0; // the selection itself, in the vectors' own space
    p.coresetDevice = cv::patchcore::DEVICE_CPU;
    for (double ratio : {0.05, 0.25, 1.0})
    {
        SCOPED_TRACE(ratio);
        p.coresetRatio = ratio;
        const std::vector<int> got = selectAdditions(bank, candidates, p);
        EXPECT_EQ(got, naiveContinue(bank, candidates, coresetSize(candidates.rows, ratio)));
        for (int i = 0; i < 40; ++i)
            EXPECT_EQ(std::count(got.begin(), got.end(), i * 7), 0) << "candidate " << i * 7 << " is in the bank";
    }
    // Real-valued data through the projection: the same as the naive loop in the projected space.
    const cv::Mat realBank = randomRows(300, 64, 5), realCandidates = randomRows(900, 64, 6);
    p.projectionDim = 16;
    p.coresetRatio = 0.1;
    const cv::Mat projection = coresetProjection(64, p);
    ASSERT_FALSE(projection.empty());
    EXPECT_EQ(selectAdditions(realBank, realCandidates, p),
              naiveContinue(projectRows(realBank, projection), projectRows(realCandidates, projection), 90));
}

// update() runs its selection's search on the coreset's device: DEVICE_CUDA without one fails as train() does, and
// with one selects what the CPU selects.
TEST(Patchcore_Coreset, ContinuingHonoursTheCoresetDevice)
{
    const cv::Mat bank = randomRows(50, 16, 1), candidates = randomRows(100, 16, 2);
    cv::patchcore::Params p;
    p.projectionDim = 0;
    p.coresetDevice = cv::patchcore::DEVICE_CPU;
    const std::vector<int> cpu = selectAdditions(bank, candidates, p);
    ASSERT_FALSE(cpu.empty());
    p.coresetDevice = cv::patchcore::DEVICE_CUDA;
    if (cudaAvailable())
    {
        EXPECT_EQ(selectAdditions(bank, candidates, p), cpu);
        return;
    }
    try
    {
        selectAdditions(bank, candidates, p);
        ADD_FAILURE() << "DEVICE_CUDA ran without a CUDA device";
    }
    catch (const cv::Exception& e)
    {
        EXPECT_NE(e.err.find("coresetDevice = DEVICE_CUDA"), std::string::npos) << e.err;
    }
}

TEST(Patchcore_Coreset, SizeRule)
{
    EXPECT_EQ(coresetSize(21952, 0.1), 2195);
    EXPECT_EQ(coresetSize(235200, 0.1), 23520);
    EXPECT_EQ(coresetSize(5, 0.01), 1);
    EXPECT_EQ(coresetSize(19600, 0.1), 1960);
}

} // namespace
} // namespace opencv_test
