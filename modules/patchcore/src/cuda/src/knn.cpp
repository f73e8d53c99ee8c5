// Host side of the exact k-nearest-neighbour search: bank placement (resident, or streamed in blocks when it does
// not fit), workspace sizing, and per query tile the sequence GEMM -> segment top-k -> merge -> exact re-rank.
#include "cuda_common.hpp"
#include "kernels.hpp"

#include <algorithm>
#include <climits>
#include <mutex>

namespace patchcore_cuda {

using namespace detail;

namespace {

const size_t kMiB = size_t(1) << 20;
const int kMaxQueryTile = 4096; // the segment kernel puts query rows on grid.y (<= 65535)
const int kMinSegment = 2048;   // columns per selection warp: long enough that insertions become rare
const int kMaxSegments = 256;   // per query, so that the merge reads a bounded candidate list
const size_t kMaxProductsBytes = size_t(2) << 30;

int64_t roundUp(int64_t v, int64_t m)
{
    return (v + m - 1) / m * m;
}

} // namespace

struct NearestNeighbors::Impl
{
    KnnOptions options;
    int64_t n = 0;
    int dim = 0;
    bool resident = false;
    size_t budget = 0; // bytes this object may hold on the device
    std::unique_ptr<Stream> stream;
    std::unique_ptr<Blas> blas;
    DeviceBuffer<float> bank, bankNorms;
    std::vector<float> hostBank; // only when the bank is streamed

    // Workspace, reused across calls (knn() is serialised by `mutex`).
    mutable std::mutex mutex;
    mutable DeviceBuffer<float> queries, queryNorms, products, candDist, bestDist, outDist, gathered, bankStage;
    mutable DeviceBuffer<int> candIndex, bestIndex, outIndex, invalid;

    size_t bankBytes() const { return static_cast<size_t>(n) * (resident ? dim + 1 : 1) * sizeof(float); }
};

NearestNeighbors::NearestNeighbors(const KnnOptions& options) : impl_(new Impl)
{
    impl_->options = options;
}

NearestNeighbors::~NearestNeighbors() = default;

int64_t NearestNeighbors::size() const { return impl_->n; }
int NearestNeighbors::dim() const { return impl_->dim; }
bool NearestNeighbors::resident() const { return impl_->resident; }

void NearestNeighbors::setBank(const float* bank, int64_t n, int dim)
{
    if (!bank || n < 1 || n > INT_MAX || dim < 1)
        throw Error("patchcore_cuda::NearestNeighbors::setBank: bank must be n x dim with 1 <= n <= INT_MAX, dim >= 1");
    requireDevice();
    Impl& s = *impl_;
    std::lock_guard<std::mutex> lock(s.mutex);
    if (!s.stream)
    {
        s.stream.reset(new Stream);
        s.blas.reset(new Blas);
        check(cublasSetStream(s.blas->get(), s.stream->get()), "cublasSetStream");
        check(cublasSetMathMode(s.blas->get(), s.options.tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH),
              "cublasSetMathMode");
    }
    // Forget the previous bank and workspace first, so that their memory counts as free.
    s.n = 0;
    s.bank.release();
    s.bankNorms.release();
    s.hostBank.clear();
    s.hostBank.shrink_to_fit();
    for (DeviceBuffer<float>* b : {&s.queries, &s.queryNorms, &s.products, &s.candDist, &s.bestDist, &s.outDist,
                                   &s.gathered, &s.bankStage})
        b->release();
    for (DeviceBuffer<int>* b : {&s.candIndex, &s.bestIndex, &s.outIndex, &s.invalid})
        b->release();

    s.budget = s.options.deviceMemoryLimit > 0 ? s.options.deviceMemoryLimit : freeDeviceMemory() / 10 * 9;
    const size_t bytes = static_cast<size_t>(n) * (dim + 1) * sizeof(float);
    const size_t minWorkspace = std::min<size_t>(256 * kMiB, s.budget / 4);
    s.resident = bytes + minWorkspace <= s.budget;
    s.n = n;
    s.dim = dim;
    cudaStream_t st = s.stream->get();
    s.bankNorms.allocate(static_cast<size_t>(n));
    if (s.resident)
    {
        s.bank.allocate(static_cast<size_t>(n) * dim);
        check(cudaMemcpyAsync(s.bank.get(), bank, static_cast<size_t>(n) * dim * sizeof(float), cudaMemcpyDefault, st),
              "cudaMemcpyAsync (bank)");
        launchRowNormsSq(s.bank.get(), n, dim, s.bankNorms.get(), st);
    }
    else
    {
        s.hostBank.resize(static_cast<size_t>(n) * dim);
        check(cudaMemcpy(s.hostBank.data(), bank, s.hostBank.size() * sizeof(float), cudaMemcpyDefault),
              "cudaMemcpy (bank to host)");
        const size_t room = s.budget > s.bankBytes() ? s.budget - s.bankBytes() : 0;
        const int64_t rows = std::max<int64_t>(1, std::min<int64_t>(n, static_cast<int64_t>(room / 2 / (dim * 4))));
        DeviceBuffer<float> stage(static_cast<size_t>(rows) * dim);
        for (int64_t r0 = 0; r0 < n; r0 += rows)
        {
            const int64_t count = std::min(rows, n - r0);
            check(cudaMemcpyAsync(stage.get(), s.hostBank.data() + r0 * dim, count * dim * sizeof(float),
                                  cudaMemcpyHostToDevice, st),
                  "cudaMemcpyAsync (bank block)");
            launchRowNormsSq(stage.get(), count, dim, s.bankNorms.get() + r0, st);
        }
        check(cudaStreamSynchronize(st), "bank norms");
    }
    check(cudaStreamSynchronize(st), "setBank");
}

void NearestNeighbors::knn(const float* queries, int64_t m, int k, float* distSq, int* indices) const
{
    const Impl& s = *impl_;
    std::lock_guard<std::mutex> lock(s.mutex);
    if (s.n == 0)
        throw Error("patchcore_cuda::NearestNeighbors::knn: no bank; call setBank() first");
    if (!queries || m < 0 || !distSq || !indices)
        throw Error("patchcore_cuda::NearestNeighbors::knn: null queries or outputs");
    if (k < 1 || k > s.n)
        throw Error("patchcore_cuda::NearestNeighbors::knn: k must be in [1, bank size], got " + std::to_string(k));
    const int extra = s.options.extraCandidates >= 0 ? s.options.extraCandidates : (s.options.tf32 ? 16 : 4);
    const int capacity = static_cast<int>(std::min<int64_t>(s.n, static_cast<int64_t>(k) + extra));
    if (capacity > kMaxCandidates)
        throw Error("patchcore_cuda::NearestNeighbors::knn: k + extra candidates must be <= " +
                    std::to_string(kMaxCandidates) + ", got " + std::to_string(capacity));
    if (m == 0)
        return;
    const int dim = s.dim;
    cudaStream_t st = s.stream->get();

    const int segment = static_cast<int>(std::max<int64_t>(kMinSegment, roundUp((s.n + kMaxSegments - 1) / kMaxSegments, 32)));
    const int totalSegments = static_cast<int>((s.n + segment - 1) / segment);
    const bool queriesOnDevice = isDevicePointer(queries);
    const bool outOnDevice = isDevicePointer(distSq) && isDevicePointer(indices);

    // Tile sizes: as many query rows (up to kMaxQueryTile) and bank columns as the budget allows; the products tile
    // is the big term. Columns come in whole segments so that a segment never straddles two tiles.
    const size_t room = s.budget > s.bankBytes() ? s.budget - s.bankBytes() : 0;
    int queryTile = static_cast<int>(std::min<int64_t>(m, kMaxQueryTile));
    int64_t bankTile = 0;
    for (;;)
    {
        const size_t perQuery = (static_cast<size_t>(dim) + 1 + static_cast<size_t>(totalSegments) * capacity * 2 +
                                 static_cast<size_t>(capacity) * 2 + static_cast<size_t>(k) * 2 +
                                 (s.resident ? 0 : static_cast<size_t>(capacity) * dim)) * sizeof(float);
        const size_t fixed = perQuery * queryTile + 4 * kMiB;
        const size_t perColumn = static_cast<size_t>(queryTile) * sizeof(float) + (s.resident ? 0 : dim * sizeof(float));
        int64_t cols = room > fixed ? static_cast<int64_t>((room - fixed) / perColumn) : 0;
        cols = std::min<int64_t>(cols, static_cast<int64_t>(kMaxProductsBytes / (static_cast<size_t>(queryTile) * 4)));
        cols = std::min<int64_t>(cols / segment * segment, roundUp(s.n, segment));
        if (cols >= segment)
        {
            bankTile = cols;
            break;
        }
        if (queryTile == 1)
            throw Error("patchcore_cuda::NearestNeighbors::knn: the device memory budget (" +
                        std::to_string(s.budget / kMiB) + " MiB) is too small for one query against one segment");
        queryTile = (queryTile + 1) / 2;
    }

    if (!queriesOnDevice)
        s.queries.reserve(static_cast<size_t>(queryTile) * dim);
    s.queryNorms.reserve(queryTile);
    s.products.reserve(static_cast<size_t>(queryTile) * bankTile);
    s.candDist.reserve(static_cast<size_t>(queryTile) * totalSegments * capacity);
    s.candIndex.reserve(static_cast<size_t>(queryTile) * totalSegments * capacity);
    s.bestDist.reserve(static_cast<size_t>(queryTile) * capacity);
    s.bestIndex.reserve(static_cast<size_t>(queryTile) * capacity);
    if (!outOnDevice)
    {
        s.outDist.reserve(static_cast<size_t>(queryTile) * k);
        s.outIndex.reserve(static_cast<size_t>(queryTile) * k);
    }
    if (!s.resident)
    {
        s.bankStage.reserve(static_cast<size_t>(bankTile) * dim);
        s.gathered.reserve(static_cast<size_t>(queryTile) * capacity * dim);
    }
    s.invalid.reserve(1);
    check(cudaMemsetAsync(s.invalid.get(), 0, sizeof(int), st), "cudaMemsetAsync");

    std::vector<int> hostBest;
    std::vector<float> hostGathered;
    for (int64_t q0 = 0; q0 < m; q0 += queryTile)
    {
        const int rows = static_cast<int>(std::min<int64_t>(queryTile, m - q0));
        const float* q = queries + q0 * dim;
        if (!queriesOnDevice)
        {
            check(cudaMemcpyAsync(s.queries.get(), q, static_cast<size_t>(rows) * dim * sizeof(float),
                                  cudaMemcpyHostToDevice, st),
                  "cudaMemcpyAsync (queries)");
            q = s.queries.get();
        }
        launchRowNormsSq(q, rows, dim, s.queryNorms.get(), st);
        for (int64_t b0 = 0; b0 < s.n; b0 += bankTile)
        {
            const int cols = static_cast<int>(std::min<int64_t>(bankTile, s.n - b0));
            const float* b = s.resident ? s.bank.get() + b0 * dim : s.bankStage.get();
            if (!s.resident)
                check(cudaMemcpyAsync(s.bankStage.get(), s.hostBank.data() + b0 * dim,
                                      static_cast<size_t>(cols) * dim * sizeof(float), cudaMemcpyHostToDevice, st),
                      "cudaMemcpyAsync (bank block)");
            // products (rows x cols, row-major) = q . b^T, i.e. column-major cols x rows = b * q^T.
            const float one = 1.f, zero = 0.f;
            check(cublasSgemm(s.blas->get(), CUBLAS_OP_T, CUBLAS_OP_N, cols, rows, dim, &one, b, dim, q, dim, &zero,
                              s.products.get(), cols),
                  "cublasSgemm (products)");
            launchSelectSegments(s.products.get(), rows, cols, b0, s.queryNorms.get(), s.bankNorms.get() + b0,
                                 segment, totalSegments, capacity, s.candDist.get(), s.candIndex.get(), st);
        }
        launchMergeCandidates(s.candDist.get(), s.candIndex.get(), rows, totalSegments, capacity, s.bestDist.get(),
                              s.bestIndex.get(), st);
        float* outD = outOnDevice ? distSq + q0 * k : s.outDist.get();
        int* outI = outOnDevice ? indices + q0 * k : s.outIndex.get();
        if (s.resident)
            launchRerank(q, s.bank.get(), false, rows, dim, capacity, k, s.bestIndex.get(), outD, outI,
                         s.invalid.get(), st);
        else
        {
            // The candidates' rows live on the host: gather them there, send them once, re-rank on the device.
            hostBest.resize(static_cast<size_t>(rows) * capacity);
            check(cudaMemcpyAsync(hostBest.data(), s.bestIndex.get(), hostBest.size() * sizeof(int),
                                  cudaMemcpyDeviceToHost, st),
                  "cudaMemcpyAsync (candidates)");
            check(cudaStreamSynchronize(st), "candidate selection");
            hostGathered.assign(hostBest.size() * dim, 0.f);
            for (size_t c = 0; c < hostBest.size(); ++c)
                if (hostBest[c] >= 0)
                    std::copy_n(s.hostBank.data() + static_cast<size_t>(hostBest[c]) * dim, dim,
                                hostGathered.data() + c * dim);
            check(cudaMemcpyAsync(s.gathered.get(), hostGathered.data(), hostGathered.size() * sizeof(float),
                                  cudaMemcpyHostToDevice, st),
                  "cudaMemcpyAsync (gathered rows)");
            launchRerank(q, s.gathered.get(), true, rows, dim, capacity, k, s.bestIndex.get(), outD, outI,
                         s.invalid.get(), st);
        }
        if (!outOnDevice)
        {
            // Default direction: one output may be device memory while the other is not.
            check(cudaMemcpyAsync(distSq + q0 * k, outD, static_cast<size_t>(rows) * k * sizeof(float),
                                  cudaMemcpyDefault, st),
                  "cudaMemcpyAsync (distances)");
            check(cudaMemcpyAsync(indices + q0 * k, outI, static_cast<size_t>(rows) * k * sizeof(int),
                                  cudaMemcpyDefault, st),
                  "cudaMemcpyAsync (indices)");
        }
    }
    int invalid = 0;
    check(cudaMemcpyAsync(&invalid, s.invalid.get(), sizeof(int), cudaMemcpyDeviceToHost, st),
          "cudaMemcpyAsync (status)");
    check(cudaStreamSynchronize(st), "knn");
    if (invalid)
        throw Error("patchcore_cuda::NearestNeighbors::knn: a query or bank vector is not finite (NaN or Inf)");
}

} // namespace patchcore_cuda
