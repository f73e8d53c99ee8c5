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

TEST(Patchcore_Coreset, CoverageStopEndsWhereTheRadiusStopsShrinking)
{
    // 48-d noise: doubling a selection of 1,024 shrinks its radius by a few per cent, so a stop at 10 % ends there.
    const cv::Mat noise = randomRows(6000, 48, 21);
    const std::vector<int> starts = randomIndices(noise.rows, 10, 4);
    const std::vector<int> full = greedyCoreset(noise, starts, 3000);
    std::vector<int> progress;
    const std::vector<int> stopped = greedyCoreset(noise, starts, 3000, [&](int done, int total) {
        EXPECT_EQ(3000, total);
        progress.push_back(done);
        return true;
    }, 0.10);
    ASSERT_EQ(static_cast<size_t>(kCoverageMinBank), stopped.size()) << "checked from kCoverageMinBank points on";
    EXPECT_TRUE(std::equal(stopped.begin(), stopped.end(), full.begin())) << "the stopped selection is a prefix";
    ASSERT_FALSE(progress.empty());
    EXPECT_EQ(3000, progress.back()) << "a stage that stopped early still reports its end";
    // The cut a kernel without the stop gets afterwards (the CUDA path) is the loop's own.
    EXPECT_EQ(stopped.size(), coveragePrefix(noise, starts, full, 0.10));
    EXPECT_EQ(full.size(), coveragePrefix(noise, starts, full, 0)) << "0 = off";
    EXPECT_EQ(full, greedyCoreset(noise, starts, 3000, StepCallback(), 0));

    // Uniform points on a line: doubling the selection about halves its radius, so the same stop never ends it.
    cv::Mat line(6000, 4, CV_32F, cv::Scalar(0));
    cv::RNG rng(8);
    for (int i = 0; i < line.rows; ++i)
        line.at<float>(i, 0) = rng.uniform(0.f, 100.f);
    const std::vector<int> lineStarts = randomIndices(line.rows, 10, 4);
    const std::vector<int> lineAll = greedyCoreset(line, lineStarts, 3000, StepCallback(), 0.10);
    EXPECT_EQ(3000u, lineAll.size());
    EXPECT_EQ(lineAll.size(), coveragePrefix(line, lineStarts, lineAll, 0.10));
    // A line seen through fine 48-d noise: the radius halves per doubling until it reaches the noise, then flattens.
    // Where the stop cuts is where the radius test first holds, by the naive float64 greedy radii.
    cv::Mat fuzzy = randomRows(6000, 48, 5) * 0.004;
    for (int i = 0; i < fuzzy.rows; ++i)
        fuzzy.at<float>(i, 0) += rng.uniform(0.f, 100.f);
    const double gain = 0.30;
    const std::vector<int> fuzzyAll = greedyCoreset(fuzzy, starts, 3000);
    const std::vector<int> fuzzyStopped = greedyCoreset(fuzzy, starts, 3000, StepCallback(), gain);
    std::vector<double> radius(fuzzyAll.size());
    for (size_t t = 0; t < fuzzyAll.size(); ++t)
    {
        double s = 0;
        for (int st : starts)
            s += dist(fuzzy, fuzzyAll[t], st);
        radius[t] = s / starts.size();
        for (size_t u = 0; u < t; ++u)
            radius[t] = std::min(radius[t], dist(fuzzy, fuzzyAll[t], fuzzyAll[u]));
    }
    size_t cut = fuzzyAll.size();
    for (size_t t = kCoverageMinBank; t < fuzzyAll.size() && cut == fuzzyAll.size(); ++t)
        if (radius[t] > (1 - gain) * radius[t / 2])
            cut = t;
    EXPECT_GT(cut, static_cast<size_t>(kCoverageMinBank)) << "the case must cut between the floor and the count";
    EXPECT_LT(cut, fuzzyAll.size());
    EXPECT_EQ(cut, fuzzyStopped.size());
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
    // Small integers: every distance is exact on either device in any summation order, so the GPU's search and
    // selection loop must give the CPU's indices, ties included.
    cv::Mat bank, candidates;
    cv::Mat(randomRows(50, 16, 1) * 3).convertTo(bank, CV_32S);
    cv::Mat(randomRows(100, 16, 2) * 3).convertTo(candidates, CV_32S);
    bank.convertTo(bank, CV_32F);
    candidates.convertTo(candidates, CV_32F);
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
