// patchcore_cuda::greedyCoreset against the CPU algorithm.
#include "harness.hpp"
#include "reference.hpp"

#include <cuda_runtime.h> // the typed cudaMalloc overloads

using reference::distinctIndices;

namespace {

struct Case
{
    int64_t n;
    int dim;
    int projDim; // 0: select on the data itself
    int count;
};

std::vector<int> gpu(const std::vector<float>& data, const Case& c, const std::vector<float>& projection,
                     const std::vector<int>& starts, bool cooperative, int chunk = 0)
{
    patchcore_cuda::CoresetOptions options;
    options.cooperative = cooperative;
    options.chunkIterations = chunk;
    options.rowBlock = 1000; // several projection blocks even for small cases
    return patchcore_cuda::greedyCoreset(data.data(), c.n, c.dim, c.projDim ? projection.data() : nullptr, c.projDim,
                                         starts.data(), static_cast<int>(starts.size()), c.count, {}, options);
}

} // namespace

PCC_TEST(CudaCoreset, ReportsMissingDeviceAsError)
{
    if (patchcore_cuda::deviceAvailable())
        PCC_SKIP("a CUDA device is present; this test covers the no-device path");
    const std::vector<float> data(8, 1.f);
    const int start = 0;
    PCC_CHECK(PCC_THROWS(patchcore_cuda::greedyCoreset(data.data(), 4, 2, nullptr, 0, &start, 1, 2),
                         patchcore_cuda::Error));
    const std::vector<float> minSq(4, 1.f);
    PCC_CHECK(PCC_THROWS(patchcore_cuda::greedyContinue(data.data(), 4, 2, nullptr, 0, minSq.data(), 2),
                         patchcore_cuda::Error));
}

// Integer data and a {-1, 0, 1} projection make every float sum exact in any order, so the GPU must return the CPU's
// indices exactly, ties (frequent with integers) included. Sizes cover 1 point, tiny dimensions, and counts that
// are not multiples of the block (512) or grid sizes.
PCC_TEST(CudaCoreset, ExactOnIntegerData)
{
    PCC_REQUIRE_DEVICE();
    const Case cases[] = {{1, 1, 0, 1},        {7, 3, 0, 7},        {7, 3, 2, 5},        {1000, 16, 0, 200},
                          {4099, 33, 8, 300},  {4099, 33, 0, 150},  {70001, 128, 16, 120}, {10007, 1024, 128, 60}};
    unsigned seed = 1;
    for (const Case& c : cases)
    {
        const auto data = reference::integers(static_cast<size_t>(c.n) * c.dim, -8, 8, seed++);
        const auto projection = reference::integers(static_cast<size_t>(c.dim) * std::max(c.projDim, 1), -1, 1, seed++);
        const auto starts = distinctIndices(c.n, 10, seed++);
        const auto x = c.projDim ? reference::project(data, c.n, c.dim, projection, c.projDim) : data;
        const auto expected = reference::greedy(x, c.n, c.projDim ? c.projDim : c.dim, starts, c.count);
        for (bool cooperative : {true, false})
        {
            if (!cooperative && c.count > 200)
                continue; // one launch per iteration: keep it short
            const auto got = gpu(data, c, projection, starts, cooperative, 7);
            PCC_CHECK_MSG(got == expected, "n=" << c.n << " dim=" << c.dim << " projDim=" << c.projDim
                                                << " cooperative=" << cooperative << ": " << got.size() << " vs "
                                                << expected.size() << " indices");
        }
    }
}

// Without a projection the GPU's float arithmetic is the reference's (fmaf in dimension order), so random floats
// give identical indices too.
PCC_TEST(CudaCoreset, ExactOnFloatDataWithoutProjection)
{
    PCC_REQUIRE_DEVICE();
    const Case cases[] = {{513, 5, 0, 100}, {30007, 64, 0, 250}};
    unsigned seed = 100;
    for (const Case& c : cases)
    {
        const auto data = reference::uniform(static_cast<size_t>(c.n) * c.dim, -1.f, 1.f, seed++);
        const auto starts = distinctIndices(c.n, 10, seed++);
        const auto expected = reference::greedy(data, c.n, c.dim, starts, c.count);
        const auto got = gpu(data, c, {}, starts, true);
        PCC_CHECK_MSG(got == expected, "n=" << c.n << " dim=" << c.dim);
    }
}

// With a float projection cuBLAS and the CPU round differently, so indices may part at a near-tie; every pick must
// still be the farthest point up to rounding.
PCC_TEST(CudaCoreset, GreedyWithFloatProjection)
{
    PCC_REQUIRE_DEVICE();
    const Case c{12345, 256, 32, 300};
    const auto data = reference::uniform(static_cast<size_t>(c.n) * c.dim, -1.f, 1.f, 7);
    const auto projection = reference::uniform(static_cast<size_t>(c.dim) * c.projDim, -0.0625f, 0.0625f, 8);
    const auto starts = distinctIndices(c.n, 10, 9);
    const auto got = gpu(data, c, projection, starts, true);
    PCC_CHECK(static_cast<int>(got.size()) == c.count);
    std::vector<double> x(static_cast<size_t>(c.n) * c.projDim);
    for (int64_t i = 0; i < c.n; ++i)
        for (int p = 0; p < c.projDim; ++p)
        {
            double acc = 0;
            for (int j = 0; j < c.dim; ++j)
                acc += static_cast<double>(data[i * c.dim + j]) * projection[static_cast<size_t>(j) * c.projDim + p];
            x[i * c.projDim + p] = acc;
        }
    const double shortfall = reference::greedyShortfall(x, c.n, c.projDim, starts, got);
    PCC_CHECK_MSG(shortfall < 1e-4, "relative shortfall " << shortfall);
}

// Duplicated points: selection stops once every point coincides with a selected one, as the CPU's does.
PCC_TEST(CudaCoreset, StopsWhenEveryPointIsSelected)
{
    PCC_REQUIRE_DEVICE();
    const int distinct = 40, dim = 6;
    const auto base = reference::integers(static_cast<size_t>(distinct) * dim, -5, 5, 21);
    std::vector<float> data;
    for (int r = 0; r < 300; ++r)
        data.insert(data.end(), base.begin() + (r * 7 % distinct) * dim, base.begin() + (r * 7 % distinct + 1) * dim);
    const Case c{300, dim, 0, 200};
    const auto starts = distinctIndices(c.n, 10, 22);
    const auto expected = reference::greedy(data, c.n, dim, starts, c.count);
    PCC_CHECK(expected.size() <= static_cast<size_t>(distinct));
    for (bool cooperative : {true, false})
        PCC_CHECK_MSG(gpu(data, c, {}, starts, cooperative) == expected, "cooperative=" << cooperative);
}

// Continuing from existing centres (Detector::update()): integer data and projection keep every sum exact, so the
// GPU must return the reference's indices, including a continuation with nothing left to select (every candidate
// is a copy of a centre) and one where the farthest candidates tie.
PCC_TEST(CudaCoreset, ContinuesFromExistingCentres)
{
    PCC_REQUIRE_DEVICE();
    const Case cases[] = {{1, 3, 0, 1}, {517, 9, 0, 517}, {4099, 33, 8, 300}, {20011, 128, 16, 150}};
    unsigned seed = 300;
    for (const Case& c : cases)
    {
        const int64_t m = 1 + c.n / 7;
        const int d = c.projDim ? c.projDim : c.dim;
        const auto data = reference::integers(static_cast<size_t>(c.n) * c.dim, -8, 8, seed++);
        const auto centres = reference::integers(static_cast<size_t>(m) * c.dim, -8, 8, seed++);
        const auto projection = reference::integers(static_cast<size_t>(c.dim) * std::max(c.projDim, 1), -1, 1, seed++);
        const auto x = c.projDim ? reference::project(data, c.n, c.dim, projection, c.projDim) : data;
        const auto y = c.projDim ? reference::project(centres, m, c.dim, projection, c.projDim) : centres;
        const auto minSq = reference::nearestCentreSq(x, c.n, y, m, d);
        const auto expected = reference::greedyFrom(x, c.n, d, minSq, c.count, false);
        for (bool cooperative : {true, false})
        {
            patchcore_cuda::CoresetOptions options;
            options.cooperative = cooperative;
            options.chunkIterations = 7;
            const auto got = patchcore_cuda::greedyContinue(data.data(), c.n, c.dim,
                                                            c.projDim ? projection.data() : nullptr, c.projDim,
                                                            minSq.data(), c.count, {}, options);
            PCC_CHECK_MSG(got == expected, "n=" << c.n << " projDim=" << c.projDim << " cooperative=" << cooperative
                                                << ": " << got.size() << " vs " << expected.size() << " indices");
        }
    }
    // Every candidate a copy of a centre: nothing is selected, not even a first pick.
    const std::vector<float> copies = reference::integers(50 * 4, -3, 3, 399);
    const std::vector<float> zeros(50, 0.f);
    PCC_CHECK(patchcore_cuda::greedyContinue(copies.data(), 50, 4, nullptr, 0, zeros.data(), 10).empty());
}

PCC_TEST(CudaCoreset, DevicePointersGiveTheSameIndices)
{
    PCC_REQUIRE_DEVICE();
    const Case c{5003, 48, 12, 100};
    const auto data = reference::integers(static_cast<size_t>(c.n) * c.dim, -8, 8, 31);
    const auto projection = reference::integers(static_cast<size_t>(c.dim) * c.projDim, -1, 1, 32);
    const auto starts = distinctIndices(c.n, 10, 33);
    const auto expected = gpu(data, c, projection, starts, true);
    float *dData = nullptr, *dProj = nullptr;
    int* dStarts = nullptr;
    PCC_CHECK(cudaMalloc(&dData, data.size() * 4) == cudaSuccess);
    PCC_CHECK(cudaMalloc(&dProj, projection.size() * 4) == cudaSuccess);
    PCC_CHECK(cudaMalloc(&dStarts, starts.size() * 4) == cudaSuccess);
    cudaMemcpy(dData, data.data(), data.size() * 4, cudaMemcpyHostToDevice);
    cudaMemcpy(dProj, projection.data(), projection.size() * 4, cudaMemcpyHostToDevice);
    cudaMemcpy(dStarts, starts.data(), starts.size() * 4, cudaMemcpyHostToDevice);
    const auto got = patchcore_cuda::greedyCoreset(dData, c.n, c.dim, dProj, c.projDim, dStarts,
                                                   static_cast<int>(starts.size()), c.count);
    PCC_CHECK(got == expected);
    cudaFree(dData);
    cudaFree(dProj);
    cudaFree(dStarts);
}

PCC_TEST(CudaCoreset, ProgressAndCancellation)
{
    PCC_REQUIRE_DEVICE();
    const Case c{2000, 8, 0, 500};
    const auto data = reference::uniform(static_cast<size_t>(c.n) * c.dim, -1.f, 1.f, 41);
    const auto starts = distinctIndices(c.n, 10, 42);
    int calls = 0, last = 0;
    const auto all = patchcore_cuda::greedyCoreset(data.data(), c.n, c.dim, nullptr, 0, starts.data(), 10, c.count,
                                                   [&](int done, int total) {
                                                       ++calls;
                                                       last = done;
                                                       return total == c.count;
                                                   });
    PCC_CHECK(static_cast<int>(all.size()) == c.count);
    PCC_CHECK(calls >= 10 && last == c.count);
    PCC_CHECK(PCC_THROWS(patchcore_cuda::greedyCoreset(data.data(), c.n, c.dim, nullptr, 0, starts.data(), 10, c.count,
                                                       [](int done, int) { return done < 100; }),
                         patchcore_cuda::Cancelled));
}

PCC_TEST(CudaCoreset, RejectsInvalidArguments)
{
    PCC_REQUIRE_DEVICE();
    const std::vector<float> data(20, 1.f);
    const int good = 0, bad = 10;
    PCC_CHECK(PCC_THROWS(patchcore_cuda::greedyCoreset(data.data(), 10, 2, nullptr, 0, &bad, 1, 3), patchcore_cuda::Error));
    PCC_CHECK(PCC_THROWS(patchcore_cuda::greedyCoreset(data.data(), 10, 2, nullptr, 0, &good, 1, 11), patchcore_cuda::Error));
    PCC_CHECK(PCC_THROWS(patchcore_cuda::greedyCoreset(nullptr, 10, 2, nullptr, 0, &good, 1, 3), patchcore_cuda::Error));
    std::vector<float> minSq(10, 1.f);
    PCC_CHECK(PCC_THROWS(patchcore_cuda::greedyContinue(data.data(), 10, 2, nullptr, 0, nullptr, 3), patchcore_cuda::Error));
    minSq[4] = -1.f;
    PCC_CHECK(PCC_THROWS(patchcore_cuda::greedyContinue(data.data(), 10, 2, nullptr, 0, minSq.data(), 3), patchcore_cuda::Error));
    minSq[4] = std::nanf("");
    PCC_CHECK(PCC_THROWS(patchcore_cuda::greedyContinue(data.data(), 10, 2, nullptr, 0, minSq.data(), 3), patchcore_cuda::Error));
}
