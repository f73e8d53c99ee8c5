// CUDA coreset and search against the CPU stages. GPU comparisons report SKIPPED without CUDA built or a device.
#include "test_precomp.hpp"
#include "coreset.hpp"
#include "cuda_dispatch.hpp"
#include "search.hpp"

#include <cmath>

namespace opencv_test {
namespace {

using namespace cv::patchcore;
using namespace cv::patchcore::detail;

#define PATCHCORE_REQUIRE_CUDA()                                                                                      \
    do {                                                                                                             \
        if (!cudaAvailable())                                                                                        \
            GTEST_SKIP() << "SKIPPED: needs CUDA (" << cudaStatus() << ")";                                          \
    } while (0)

cv::Mat randomIntegers(int rows, int cols, int lo, int hi, uint64 seed)
{
    cv::Mat m(rows, cols, CV_32F);
    cv::RNG rng(seed);
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c)
            m.at<float>(r, c) = static_cast<float>(rng.uniform(lo, hi + 1));
    return m;
}

cv::Mat randomFloats(int rows, int cols, uint64 seed)
{
    cv::Mat m(rows, cols, CV_32F);
    cv::RNG rng(seed);
    rng.fill(m, cv::RNG::UNIFORM, -1.f, 1.f);
    return m;
}

TEST(Patchcore_CudaDispatch, DeviceSettingsResolve)
{
    EXPECT_FALSE(useCuda(DEVICE_CPU, "coreset"));
    EXPECT_EQ(useCuda(DEVICE_AUTO, "search"), cudaAvailable());
    if (cudaAvailable())
        EXPECT_TRUE(useCuda(DEVICE_CUDA, "coreset"));
    else
        EXPECT_THROW(useCuda(DEVICE_CUDA, "coreset"), cv::Exception);
    EXPECT_FALSE(cudaStatus().empty());
    // The selection kernel follows the same resolution: the CPU loop (empty) unless the setting resolves to CUDA.
    EXPECT_FALSE(greedyKernelFor(DEVICE_CPU));
    EXPECT_EQ(static_cast<bool>(greedyKernelFor(DEVICE_AUTO)), cudaAvailable());
    if (!cudaAvailable())
        EXPECT_THROW(greedyKernelFor(DEVICE_CUDA), cv::Exception);
    if (!cudaBuilt())
    {
        EXPECT_FALSE(cudaAvailable());
        const cv::Mat x = randomFloats(10, 4, 1);
        try
        {
            greedyCoresetCuda(x, {0}, 2);
            ADD_FAILURE() << "greedyCoresetCuda must throw without CUDA";
        }
        catch (const cv::Exception& e)
        {
            EXPECT_EQ(e.code, cv::Error::StsNotImplemented);
            EXPECT_NE(std::string(e.what()).find("not built with CUDA"), std::string::npos);
        }
        CudaSearch search;
        EXPECT_THROW(search.setBank(x), cv::Exception);
    }
}

// Integer data: every float sum is exact in any order, so Eigen's and the GPU's arithmetic agree bit for bit and
// the indices must be identical, ties and the early stop included.
TEST(Patchcore_CudaDispatch, GreedyCoresetMatchesCpuOnExactData)
{
    PATCHCORE_REQUIRE_CUDA();
    const int sizes[][3] = {{1, 1, 1}, {300, 7, 120}, {5003, 16, 400}, {20000, 128, 150}};
    for (const auto& s : sizes)
    {
        const cv::Mat x = randomIntegers(s[0], s[1], -6, 6, s[0]);
        const std::vector<int> starts = randomIndices(s[0], std::min(s[0], 10), 7);
        EXPECT_EQ(greedyCoresetCuda(x, starts, s[2]), greedyCoreset(x, starts, s[2])) << "n=" << s[0];
    }
    // 30 distinct points repeated: both stop once every point coincides with a selected one.
    cv::Mat base = randomIntegers(30, 5, -4, 4, 3), dup;
    for (int r = 0; r < 10; ++r)
        dup.push_back(base);
    const std::vector<int> starts = randomIndices(dup.rows, 10, 4);
    EXPECT_EQ(greedyCoresetCuda(dup, starts, 200), greedyCoreset(dup, starts, 200));
}

// The whole stage with a float projection, through the one selection path with the GPU kernel: both kernels see the
// host's projection, but the GPU's distances may differ from Eigen's in the last bit, so the two may part at a
// near-tie; every GPU pick must be the farthest point of the projected data up to rounding.
TEST(Patchcore_CudaDispatch, SelectCoresetIsGreedyOnCpuProjection)
{
    PATCHCORE_REQUIRE_CUDA();
    const cv::Mat bank = randomFloats(6000, 256, 11);
    Params p;
    p.coresetRatio = 0.05;
    p.projectionDim = 32;
    const std::vector<int> gpu = selectCoreset(bank, p, StepCallback(), greedyKernelFor(DEVICE_CUDA));
    const std::vector<int> cpu = selectCoreset(bank, p);
    ASSERT_EQ(gpu.size(), cpu.size());
    const cv::Mat x = projectRows(bank, coresetProjection(bank.cols, p));
    const std::vector<int> starts = coresetStarts(bank.rows, p);
    std::vector<double> minSq(bank.rows);
    for (int i = 0; i < bank.rows; ++i)
    {
        double sum = 0;
        for (int s : starts)
            sum += cv::norm(x.row(i), x.row(s), cv::NORM_L2);
        minSq[i] = (sum / starts.size()) * (sum / starts.size());
    }
    double worst = 0;
    size_t samePrefix = 0;
    while (samePrefix < gpu.size() && gpu[samePrefix] == cpu[samePrefix])
        ++samePrefix;
    for (int pick : gpu)
    {
        const double best = *std::max_element(minSq.begin(), minSq.end());
        worst = std::max(worst, (best - minSq[pick]) / best);
        for (int i = 0; i < bank.rows; ++i)
            minSq[i] = std::min(minSq[i], std::pow(cv::norm(x.row(i), x.row(pick), cv::NORM_L2), 2));
    }
    EXPECT_LT(worst, 1e-4) << "identical prefix: " << samePrefix << " of " << gpu.size();
}

// The search re-ranks exactly like ExactSearch (double, dimension order), so distances and indices are identical.
TEST(Patchcore_CudaDispatch, SearchMatchesExactSearch)
{
    PATCHCORE_REQUIRE_CUDA();
    const int sizes[][4] = {{1, 1, 1, 1}, {784, 3001, 1024, 1}, {100, 20011, 64, 3}, {37, 4099, 255, 9}};
    for (const auto& s : sizes)
    {
        const cv::Mat bank = randomFloats(s[1], s[2], s[1]), queries = randomFloats(s[0], s[2], s[0] + 1);
        ExactSearch cpu;
        cpu.setBank(bank);
        CudaSearch gpu;
        gpu.setBank(bank);
        cv::Mat d0, i0, d1, i1;
        cpu.knn(queries, s[3], d0, i0);
        gpu.knn(queries, s[3], d1, i1);
        EXPECT_EQ(cv::norm(i0, i1, cv::NORM_INF), 0) << "m=" << s[0] << " n=" << s[1] << " dim=" << s[2];
        EXPECT_EQ(cv::norm(d0, d1, cv::NORM_INF), 0) << "m=" << s[0] << " n=" << s[1] << " dim=" << s[2];
    }
    // Eq. 7 re-weighting queries one bank row for its neighbours.
    const cv::Mat bank = randomFloats(500, 32, 5);
    ExactSearch cpu;
    cpu.setBank(bank);
    CudaSearch gpu;
    gpu.setBank(bank);
    cv::Mat d0, i0, d1, i1;
    cpu.knn(bank.row(17), 9, d0, i0);
    gpu.knn(bank.row(17), 9, d1, i1);
    EXPECT_EQ(cv::norm(i0, i1, cv::NORM_INF), 0);
    EXPECT_EQ(i1.at<int>(0, 0), 17);
}

TEST(Patchcore_CudaDispatch, CancellationMatchesCpuMessage)
{
    PATCHCORE_REQUIRE_CUDA();
    const cv::Mat x = randomFloats(4000, 8, 9);
    try
    {
        greedyCoresetCuda(x, {0, 1}, 1000, [](int done, int) { return done < 100; });
        ADD_FAILURE() << "expected cancellation";
    }
    catch (const cv::Exception& e)
    {
        EXPECT_NE(std::string(e.what()).find("cancelled"), std::string::npos);
    }
}

} // namespace
} // namespace opencv_test
