// patchcore_cuda::NearestNeighbors against brute force in double.
#include "harness.hpp"
#include "reference.hpp"

#include <cuda_runtime.h> // the typed cudaMalloc overloads

#include <cmath>

namespace {

struct Case
{
    int64_t m, n;
    int dim, k;
};

/** Compares GPU results with the reference: indices equal, distances equal (both are the same double sum rounded
 *  to float). Where two neighbours are at the same exact distance either order is a tie the reference also breaks by
 *  index, so no tolerance is needed. */
int mismatches(const std::vector<float>& d, const std::vector<int>& i, const std::vector<float>& rd,
               const std::vector<int>& ri)
{
    int bad = 0;
    for (size_t t = 0; t < d.size(); ++t)
        bad += (i[t] != ri[t] || d[t] != rd[t]) ? 1 : 0;
    return bad;
}

void run(patchcore_cuda::NearestNeighbors& nn, const std::vector<float>& q, int64_t m, int k, std::vector<float>& d,
         std::vector<int>& i)
{
    d.assign(static_cast<size_t>(m) * k, -1.f);
    i.assign(static_cast<size_t>(m) * k, -7); // poison: every entry must be written
    nn.knn(q.data(), m, k, d.data(), i.data());
}

} // namespace

PCC_TEST(CudaKnn, ReportsMissingDeviceAsError)
{
    if (patchcore_cuda::deviceAvailable())
        PCC_SKIP("a CUDA device is present; this test covers the no-device path");
    const std::vector<float> bank(8, 1.f);
    patchcore_cuda::NearestNeighbors nn; // constructing needs no device
    PCC_CHECK(PCC_THROWS(nn.setBank(bank.data(), 4, 2), patchcore_cuda::Error));
}

// Sizes include 1 x 1, dimensions and bank sizes that are not multiples of 32 / the 2048-column segment, and k > 1.
PCC_TEST(CudaKnn, MatchesBruteForce)
{
    PCC_REQUIRE_DEVICE();
    const Case cases[] = {{1, 1, 1, 1},      {5, 100, 3, 1},     {100, 3001, 257, 5}, {33, 70001, 64, 9},
                          {200, 10007, 512, 3}, {4100, 2049, 16, 2}, {17, 4096, 1024, 1}};
    unsigned seed = 1;
    for (const Case& c : cases)
    {
        const auto bank = reference::uniform(static_cast<size_t>(c.n) * c.dim, -1.f, 1.f, seed++);
        const auto q = reference::uniform(static_cast<size_t>(c.m) * c.dim, -1.f, 1.f, seed++);
        std::vector<float> rd, d;
        std::vector<int> ri, i;
        reference::knn(q, c.m, bank, c.n, c.dim, c.k, rd, ri);
        patchcore_cuda::NearestNeighbors nn;
        nn.setBank(bank.data(), c.n, c.dim);
        PCC_CHECK(nn.resident() && nn.size() == c.n && nn.dim() == c.dim);
        run(nn, q, c.m, c.k, d, i);
        PCC_CHECK_MSG(mismatches(d, i, rd, ri) == 0, "m=" << c.m << " n=" << c.n << " dim=" << c.dim << " k=" << c.k
                                                          << ": " << mismatches(d, i, rd, ri) << " mismatches");
        run(nn, q, c.m, c.k, d, i); // workspace reuse gives the same answer
        PCC_CHECK(mismatches(d, i, rd, ri) == 0);
    }
}

// Duplicated bank rows: equal distances list the lower index first, as the CPU.
PCC_TEST(CudaKnn, TiesGoToTheLowerIndex)
{
    PCC_REQUIRE_DEVICE();
    const int dim = 8, distinct = 50, n = 500, k = 4;
    const auto base = reference::integers(static_cast<size_t>(distinct) * dim, -3, 3, 5);
    std::vector<float> bank;
    for (int r = 0; r < n; ++r)
        bank.insert(bank.end(), base.begin() + (r % distinct) * dim, base.begin() + (r % distinct + 1) * dim);
    const auto q = reference::integers(static_cast<size_t>(64) * dim, -3, 3, 6);
    std::vector<float> rd, d;
    std::vector<int> ri, i;
    reference::knn(q, 64, bank, n, dim, k, rd, ri);
    patchcore_cuda::NearestNeighbors nn;
    nn.setBank(bank.data(), n, dim);
    run(nn, q, 64, k, d, i);
    PCC_CHECK(mismatches(d, i, rd, ri) == 0);
}

// A memory limit smaller than the bank forces the streamed path (bank kept on the host, sent in blocks).
PCC_TEST(CudaKnn, StreamedBankMatchesResident)
{
    PCC_REQUIRE_DEVICE();
    const Case c{300, 40000, 96, 3};
    const auto bank = reference::uniform(static_cast<size_t>(c.n) * c.dim, -1.f, 1.f, 11);
    const auto q = reference::uniform(static_cast<size_t>(c.m) * c.dim, -1.f, 1.f, 12);
    std::vector<float> rd, d;
    std::vector<int> ri, i;
    reference::knn(q, c.m, bank, c.n, c.dim, c.k, rd, ri);
    patchcore_cuda::KnnOptions options;
    options.deviceMemoryLimit = size_t(8) << 20; // the bank alone is 15 MB
    patchcore_cuda::NearestNeighbors nn(options);
    nn.setBank(bank.data(), c.n, c.dim);
    PCC_CHECK(!nn.resident());
    run(nn, q, c.m, c.k, d, i);
    PCC_CHECK_MSG(mismatches(d, i, rd, ri) == 0, mismatches(d, i, rd, ri) << " mismatches");
}

PCC_TEST(CudaKnn, DevicePointers)
{
    PCC_REQUIRE_DEVICE();
    const Case c{50, 5000, 128, 2};
    const auto bank = reference::uniform(static_cast<size_t>(c.n) * c.dim, -1.f, 1.f, 13);
    const auto q = reference::uniform(static_cast<size_t>(c.m) * c.dim, -1.f, 1.f, 14);
    std::vector<float> rd;
    std::vector<int> ri;
    reference::knn(q, c.m, bank, c.n, c.dim, c.k, rd, ri);
    float *dBank = nullptr, *dQ = nullptr, *dDist = nullptr;
    int* dIdx = nullptr;
    cudaMalloc(&dBank, bank.size() * 4);
    cudaMalloc(&dQ, q.size() * 4);
    cudaMalloc(&dDist, rd.size() * 4);
    cudaMalloc(&dIdx, ri.size() * 4);
    cudaMemcpy(dBank, bank.data(), bank.size() * 4, cudaMemcpyHostToDevice);
    cudaMemcpy(dQ, q.data(), q.size() * 4, cudaMemcpyHostToDevice);
    patchcore_cuda::NearestNeighbors nn;
    nn.setBank(dBank, c.n, c.dim);
    nn.knn(dQ, c.m, c.k, dDist, dIdx);
    std::vector<float> d(rd.size());
    std::vector<int> i(ri.size());
    cudaMemcpy(d.data(), dDist, d.size() * 4, cudaMemcpyDeviceToHost);
    cudaMemcpy(i.data(), dIdx, i.size() * 4, cudaMemcpyDeviceToHost);
    PCC_CHECK(mismatches(d, i, rd, ri) == 0);
    cudaFree(dBank);
    cudaFree(dQ);
    cudaFree(dDist);
    cudaFree(dIdx);
}

// TF32 candidates: reported distances are still exact for the rows reported, and the neighbours found are the true
// ones up to TF32's rounding (the reported k-th distance is within 1e-3 of the true one).
PCC_TEST(CudaKnn, Tf32IsCloseAndExactlyReRanked)
{
    PCC_REQUIRE_DEVICE();
    const Case c{256, 20000, 1024, 1};
    const auto bank = reference::uniform(static_cast<size_t>(c.n) * c.dim, -1.f, 1.f, 15);
    const auto q = reference::uniform(static_cast<size_t>(c.m) * c.dim, -1.f, 1.f, 16);
    std::vector<float> rd, d;
    std::vector<int> ri, i;
    reference::knn(q, c.m, bank, c.n, c.dim, c.k, rd, ri);
    patchcore_cuda::KnnOptions options;
    options.tf32 = true;
    patchcore_cuda::NearestNeighbors nn(options);
    nn.setBank(bank.data(), c.n, c.dim);
    run(nn, q, c.m, c.k, d, i);
    int far = 0;
    for (size_t t = 0; t < d.size(); ++t)
        far += d[t] <= rd[t] * (1 + 1e-3f) && d[t] >= rd[t] ? 0 : 1;
    PCC_CHECK_MSG(far == 0, far << " queries off by more than 1e-3");
}

PCC_TEST(CudaKnn, RejectsNonFiniteAndBadK)
{
    PCC_REQUIRE_DEVICE();
    const auto bank = reference::uniform(100 * 4, -1.f, 1.f, 17);
    auto q = reference::uniform(3 * 4, -1.f, 1.f, 18);
    patchcore_cuda::NearestNeighbors nn;
    PCC_CHECK(PCC_THROWS(nn.knn(q.data(), 3, 1, nullptr, nullptr), patchcore_cuda::Error)); // no bank yet
    nn.setBank(bank.data(), 100, 4);
    std::vector<float> d(3 * 200);
    std::vector<int> i(3 * 200);
    PCC_CHECK(PCC_THROWS(nn.knn(q.data(), 3, 0, d.data(), i.data()), patchcore_cuda::Error));
    PCC_CHECK(PCC_THROWS(nn.knn(q.data(), 3, 101, d.data(), i.data()), patchcore_cuda::Error));
    q[5] = NAN;
    PCC_CHECK(PCC_THROWS(nn.knn(q.data(), 3, 1, d.data(), i.data()), patchcore_cuda::Error));
    q[5] = 0.f;
    nn.knn(q.data(), 3, 100, d.data(), i.data()); // k = bank size works
    PCC_CHECK(i[0] >= 0 && i[99] >= 0);
}
