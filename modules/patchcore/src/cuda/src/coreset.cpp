// Host side of the greedy coreset: argument checks, projection (cuBLAS) into the dimension-major layout the kernels
// read, then the selection loop in chunks of device iterations with a progress report between chunks.
#include "cuda_common.hpp"
#include "kernels.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>

namespace patchcore_cuda {

namespace {

using namespace detail;

const size_t kMiB = size_t(1) << 20;

void validate(const char* what, const float* data, int64_t n, int dim, const float* projection, int projDim,
              int count)
{
    const std::string name = std::string("patchcore_cuda::") + what;
    if (!data || n < 1 || n > INT_MAX || dim < 1)
        throw Error(name + ": data must be n x dim with 1 <= n <= INT_MAX and dim >= 1");
    if (projection && projDim < 0)
        throw Error(name + ": projDim must be >= 0");
    if (count < 1 || count > n)
        throw Error(name + ": count must be in [1, n], got " + std::to_string(count));
}

/** Copies `count` values from host or device memory to the device buffer `dst`. */
template <typename T>
void upload(DeviceBuffer<T>& dst, const T* src, size_t count, cudaStream_t stream)
{
    dst.allocate(count);
    check(cudaMemcpyAsync(dst.get(), src, count * sizeof(T), cudaMemcpyDefault, stream), "cudaMemcpyAsync (upload)");
}

/** The points projected (or transposed) into the dimension-major layout the kernels read, on the device. */
struct DevicePoints
{
    DeviceBuffer<float> y;
    int d = 0;
};

/** Projects `data` (n x dim, host or device) with `projection` (dim x projDim, or none) into y (d x n) after checking
 *  that y, the running minima and the staging fit in free device memory. */
DevicePoints projectPoints(const char* what, const float* data, int64_t n, int dim, const float* projection,
                           int projDim, const CoresetOptions& options, cudaStream_t stream)
{
    const bool project = projection && projDim > 0;
    DevicePoints points;
    points.d = project ? projDim : dim;
    const int d = points.d;
    const bool dataOnDevice = isDevicePointer(data);
    const int64_t rowBlock =
        std::min(options.rowBlock > 0 ? options.rowBlock
                                      : std::max<int64_t>(1, static_cast<int64_t>(256 * kMiB / (4 * dim))),
                 n);

    const size_t needed = (static_cast<size_t>(n) * (d + 1) + (dataOnDevice ? 0 : rowBlock * dim) +
                           static_cast<size_t>(dim) * d) * sizeof(float) + 16 * kMiB;
    const size_t available = freeDeviceMemory();
    if (needed > available)
        throw Error(std::string("patchcore_cuda::") + what + ": needs " + std::to_string(needed / kMiB) +
                    " MiB of device memory (" + std::to_string(n) + " x " + std::to_string(d) +
                    " projected points), " + std::to_string(available / kMiB) +
                    " MiB are free; use a smaller projection or the CPU");

    Blas blas;
    check(cublasSetStream(blas.get(), stream), "cublasSetStream");
    // FP32 arithmetic (the default math mode never uses TF32): the CPU projection is FP32 too, and TF32 would move
    // points by ~1e-3.
    check(cublasSetMathMode(blas.get(), CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
    DeviceBuffer<float> proj, staging;
    points.y.allocate(static_cast<size_t>(n) * d);
    if (project)
        upload(proj, projection, static_cast<size_t>(dim) * d, stream);
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
                                  cudaMemcpyHostToDevice, stream),
                  "cudaMemcpyAsync (points)");
            src = staging.get();
        }
        const float one = 1.f, zero = 0.f;
        float* dst = points.y.get() + r0;
        if (project)
            check(cublasSgemm(blas.get(), CUBLAS_OP_T, CUBLAS_OP_T, rows, d, dim, &one, src, dim, proj.get(), d,
                              &zero, dst, static_cast<int>(n)),
                  "cublasSgemm (projection)");
        else
            check(cublasSgeam(blas.get(), CUBLAS_OP_T, CUBLAS_OP_N, rows, d, &one, src, dim, &zero, dst,
                              static_cast<int>(n), dst, static_cast<int>(n)),
                  "cublasSgeam (transpose)");
    }
    // The staging buffer is freed on return: wait until the stream no longer reads it.
    check(cudaStreamSynchronize(stream), "projection");
    return points;
}

/** The selection loop from running minima already in `minSq` and their arg-max in state->slots[2]: up to `count`
 *  iterations in chunks, a progress report between chunks. `firstAlwaysTaken`: the first pick is made even at
 *  distance 0 (a fresh selection); otherwise the loop may stop before it (a continuation). */
std::vector<int> selectLoop(const DevicePoints& points, int64_t n, DeviceBuffer<float>& minSq,
                            DeviceBuffer<CoresetDeviceState>& state, int count, bool firstAlwaysTaken,
                            const StepCallback& onStep, const CoresetOptions& options, cudaStream_t stream)
{
    DeviceBuffer<int> selected(static_cast<size_t>(count));
    const int cooperativeBlocks = options.cooperative ? coresetCooperativeBlocks(points.d) : 0;
    const int chunk = options.chunkIterations > 0 ? options.chunkIterations : std::max(1, count / 100);
    int selectedCount = count;
    for (int it = 0; it < count; it += chunk)
    {
        const int end = std::min(count, it + chunk);
        launchCoresetSteps(points.y.get(), n, points.d, minSq.get(), state.get(), selected.get(), it, end,
                           firstAlwaysTaken ? 1 : 0, cooperativeBlocks, stream);
        int stoppedAt = -1;
        check(cudaMemcpyAsync(&stoppedAt, &state.get()->stoppedAt, sizeof(int), cudaMemcpyDeviceToHost, stream),
              "cudaMemcpyAsync (state)");
        check(cudaStreamSynchronize(stream), "coreset selection");
        if (stoppedAt >= 0)
        {
            selectedCount = stoppedAt; // every remaining point coincides with a selected one
            break;
        }
        if (onStep && !onStep(end, count))
            throw Cancelled("patchcore_cuda: coreset selection cancelled by the progress callback");
    }
    std::vector<int> result(static_cast<size_t>(selectedCount));
    if (selectedCount > 0)
        check(cudaMemcpy(result.data(), selected.get(), result.size() * sizeof(int), cudaMemcpyDeviceToHost),
              "cudaMemcpy (selected indices)");
    return result;
}

/** The arg-max key the kernels use (coreset_kernels.cu): float bits << 32 | ~index. */
unsigned long long hostKey(float value, int index)
{
    unsigned int bits = 0;
    std::memcpy(&bits, &value, sizeof(bits));
    return (static_cast<unsigned long long>(bits) << 32) | static_cast<unsigned int>(~index);
}

} // namespace

std::vector<int> greedyCoreset(const float* data, int64_t n, int dim, const float* projection, int projDim,
                               const int* starts, int numStarts, int count, const StepCallback& onStep,
                               const CoresetOptions& options)
{
    validate("greedyCoreset", data, n, dim, projection, projDim, count);
    if (!starts || numStarts < 1)
        throw Error("patchcore_cuda::greedyCoreset: at least one start index is needed");
    requireDevice();
    std::vector<int> hostStarts(static_cast<size_t>(numStarts));
    check(cudaMemcpy(hostStarts.data(), starts, numStarts * sizeof(int), cudaMemcpyDefault), "cudaMemcpy (starts)");
    for (int s : hostStarts)
        if (s < 0 || s >= n)
            throw Error("patchcore_cuda::greedyCoreset: start index " + std::to_string(s) + " is outside [0, n)");

    Stream stream;
    const DevicePoints points = projectPoints("greedyCoreset", data, n, dim, projection, projDim, options, stream.get());
    DeviceBuffer<float> minSq(static_cast<size_t>(n));
    DeviceBuffer<int> deviceStarts;
    upload(deviceStarts, hostStarts.data(), hostStarts.size(), stream.get());
    DeviceBuffer<CoresetDeviceState> state(1);
    const CoresetDeviceState initial = {{0ull, 0ull, 0ull}, -1};
    check(cudaMemcpyAsync(state.get(), &initial, sizeof(initial), cudaMemcpyHostToDevice, stream.get()),
          "cudaMemcpyAsync (state)");
    launchCoresetInit(points.y.get(), n, points.d, deviceStarts.get(), numStarts, minSq.get(), state.get(),
                      stream.get());
    return selectLoop(points, n, minSq, state, count, true, onStep, options, stream.get());
}

std::vector<int> greedyContinue(const float* data, int64_t n, int dim, const float* projection, int projDim,
                                const float* initialMinSq, int count, const StepCallback& onStep,
                                const CoresetOptions& options)
{
    validate("greedyContinue", data, n, dim, projection, projDim, count);
    if (!initialMinSq)
        throw Error("patchcore_cuda::greedyContinue: initialMinSq (n squared distances) is needed");
    unsigned long long best = 0;
    for (int64_t i = 0; i < n; ++i)
    {
        if (!(initialMinSq[i] >= 0.f) || std::isinf(initialMinSq[i]))
            throw Error("patchcore_cuda::greedyContinue: initialMinSq[" + std::to_string(i) +
                        "] must be a finite distance >= 0");
        best = std::max(best, hostKey(initialMinSq[i], static_cast<int>(i)));
    }
    requireDevice();

    Stream stream;
    const DevicePoints points = projectPoints("greedyContinue", data, n, dim, projection, projDim, options, stream.get());
    DeviceBuffer<float> minSq;
    upload(minSq, initialMinSq, static_cast<size_t>(n), stream.get());
    DeviceBuffer<CoresetDeviceState> state(1);
    const CoresetDeviceState initial = {{0ull, 0ull, best}, -1};
    check(cudaMemcpyAsync(state.get(), &initial, sizeof(initial), cudaMemcpyHostToDevice, stream.get()),
          "cudaMemcpyAsync (state)");
    return selectLoop(points, n, minSq, state, count, false, onStep, options, stream.get());
}

} // namespace patchcore_cuda
