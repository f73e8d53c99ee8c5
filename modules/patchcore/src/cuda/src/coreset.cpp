// Host side of the greedy coreset: argument checks, projection (cuBLAS) into the dimension-major layout the kernels
// read, then the selection loop in chunks of device iterations with a progress report between chunks.
#include "cuda_common.hpp"
#include "kernels.hpp"

#include <algorithm>
#include <climits>

namespace patchcore_cuda {

namespace {

using namespace detail;

const size_t kMiB = size_t(1) << 20;

void validate(const float* data, int64_t n, int dim, const float* projection, int projDim, const int* starts,
              int numStarts, int count)
{
    if (!data || n < 1 || n > INT_MAX || dim < 1)
        throw Error("patchcore_cuda::greedyCoreset: data must be n x dim with 1 <= n <= INT_MAX and dim >= 1");
    if (projection && projDim < 0)
        throw Error("patchcore_cuda::greedyCoreset: projDim must be >= 0");
    if (!starts || numStarts < 1)
        throw Error("patchcore_cuda::greedyCoreset: at least one start index is needed");
    if (count < 1 || count > n)
        throw Error("patchcore_cuda::greedyCoreset: count must be in [1, n], got " + std::to_string(count));
}

/** Copies `count` values from host or device memory to the device buffer `dst`. */
template <typename T>
void upload(DeviceBuffer<T>& dst, const T* src, size_t count, cudaStream_t stream)
{
    dst.allocate(count);
    check(cudaMemcpyAsync(dst.get(), src, count * sizeof(T), cudaMemcpyDefault, stream), "cudaMemcpyAsync (upload)");
}

} // namespace

std::vector<int> greedyCoreset(const float* data, int64_t n, int dim, const float* projection, int projDim,
                               const int* starts, int numStarts, int count, const StepCallback& onStep,
                               const CoresetOptions& options)
{
    validate(data, n, dim, projection, projDim, starts, numStarts, count);
    requireDevice();
    std::vector<int> hostStarts(static_cast<size_t>(numStarts));
    check(cudaMemcpy(hostStarts.data(), starts, numStarts * sizeof(int), cudaMemcpyDefault), "cudaMemcpy (starts)");
    for (int s : hostStarts)
        if (s < 0 || s >= n)
            throw Error("patchcore_cuda::greedyCoreset: start index " + std::to_string(s) + " is outside [0, n)");

    const bool project = projection && projDim > 0;
    const int d = project ? projDim : dim;
    const bool dataOnDevice = isDevicePointer(data);
    int64_t rowBlock = options.rowBlock > 0 ? options.rowBlock
                                            : std::max<int64_t>(1, static_cast<int64_t>(256 * kMiB / (4 * dim)));
    rowBlock = std::min(rowBlock, n);

    const size_t needed = (static_cast<size_t>(n) * (d + 1) + (dataOnDevice ? 0 : rowBlock * dim) +
                           static_cast<size_t>(dim) * d) * sizeof(float) + 16 * kMiB;
    const size_t available = freeDeviceMemory();
    if (needed > available)
        throw Error("patchcore_cuda::greedyCoreset: needs " + std::to_string(needed / kMiB) + " MiB of device memory (" +
                    std::to_string(n) + " x " + std::to_string(d) + " projected points), " +
                    std::to_string(available / kMiB) + " MiB are free; use a smaller projection or the CPU");

    Stream stream;
    Blas blas;
    check(cublasSetStream(blas.get(), stream.get()), "cublasSetStream");
    // FP32 arithmetic (the default math mode never uses TF32): the CPU projection is FP32 too, and TF32 would move
    // points by ~1e-3.
    check(cublasSetMathMode(blas.get(), CUBLAS_DEFAULT_MATH), "cublasSetMathMode");

    DeviceBuffer<float> y(static_cast<size_t>(n) * d), minSq(static_cast<size_t>(n)), proj, staging;
    if (project)
        upload(proj, projection, static_cast<size_t>(dim) * d, stream.get());
    if (!dataOnDevice)
        staging.allocate(static_cast<size_t>(rowBlock) * dim);

    // y (dimension-major, d x n) = (data * projection)^T, i.e. column-major n x d with leading dimension n.
    for (int64_t r0 = 0; r0 < n; r0 += rowBlock)
    {
        const int rows = static_cast<int>(std::min(rowBlock, n - r0));
        const float* src = data + r0 * dim;
        if (!dataOnDevice)
        {
            check(cudaMemcpyAsync(staging.get(), src, static_cast<size_t>(rows) * dim * sizeof(float),
                                  cudaMemcpyHostToDevice, stream.get()),
                  "cudaMemcpyAsync (points)");
            src = staging.get();
        }
        const float one = 1.f, zero = 0.f;
        if (project)
            check(cublasSgemm(blas.get(), CUBLAS_OP_T, CUBLAS_OP_T, rows, d, dim, &one, src, dim, proj.get(), d,
                              &zero, y.get() + r0, static_cast<int>(n)),
                  "cublasSgemm (projection)");
        else
            check(cublasSgeam(blas.get(), CUBLAS_OP_T, CUBLAS_OP_N, rows, d, &one, src, dim, &zero, y.get() + r0,
                              static_cast<int>(n), y.get() + r0, static_cast<int>(n)),
                  "cublasSgeam (transpose)");
    }
    staging.release();

    DeviceBuffer<int> deviceStarts;
    upload(deviceStarts, hostStarts.data(), hostStarts.size(), stream.get());
    DeviceBuffer<CoresetDeviceState> state(1);
    const CoresetDeviceState initial = {{0ull, 0ull, 0ull}, -1};
    check(cudaMemcpyAsync(state.get(), &initial, sizeof(initial), cudaMemcpyHostToDevice, stream.get()),
          "cudaMemcpyAsync (state)");
    launchCoresetInit(y.get(), n, d, deviceStarts.get(), numStarts, minSq.get(), state.get(), stream.get());

    DeviceBuffer<int> selected(static_cast<size_t>(count));
    const int cooperativeBlocks = options.cooperative ? coresetCooperativeBlocks(d) : 0;
    const int chunk = options.chunkIterations > 0 ? options.chunkIterations : std::max(1, count / 100);
    int selectedCount = count;
    for (int it = 0; it < count; it += chunk)
    {
        const int end = std::min(count, it + chunk);
        launchCoresetSteps(y.get(), n, d, minSq.get(), state.get(), selected.get(), it, end, cooperativeBlocks,
                           stream.get());
        int stoppedAt = -1;
        check(cudaMemcpyAsync(&stoppedAt, &state.get()->stoppedAt, sizeof(int), cudaMemcpyDeviceToHost,
                              stream.get()),
              "cudaMemcpyAsync (state)");
        check(cudaStreamSynchronize(stream.get()), "coreset selection");
        if (stoppedAt >= 0)
        {
            selectedCount = stoppedAt; // every remaining point coincides with a selected one
            break;
        }
        if (onStep && !onStep(end, count))
            throw Cancelled("patchcore_cuda: coreset selection cancelled by the progress callback");
    }
    std::vector<int> result(static_cast<size_t>(selectedCount));
    check(cudaMemcpy(result.data(), selected.get(), result.size() * sizeof(int), cudaMemcpyDeviceToHost),
          "cudaMemcpy (selected indices)");
    return result;
}

} // namespace patchcore_cuda
