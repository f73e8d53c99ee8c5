// Device side of the greedy coreset: initial running minima, and the selection loop as a persistent cooperative
// kernel (one grid-wide barrier per iteration) with a one-launch-per-iteration fallback running the same body.
//
// Why a persistent cooperative kernel: each iteration is one streaming pass over the projected points (memory-bound,
// ~0.1 ms at 1M x 128) followed by a global arg-max that the next iteration needs. A launch per iteration costs a few
// microseconds of launch gap on top; a grid barrier costs about as much but keeps the running minima ownership fixed
// per thread and needs no host involvement at all. The arg-max is fused into the update pass: every block reduces
// its points to one 64-bit key and publishes it with a single atomicMax, so one barrier per iteration suffices.
#include "cuda_common.hpp"
#include "kernels.hpp"

#include <cooperative_groups.h>

namespace patchcore_cuda {
namespace detail {

namespace {

namespace cg = cooperative_groups;

const int kThreads = 512;

__device__ __forceinline__ unsigned long long packKey(float value, int index)
{
    return (static_cast<unsigned long long>(__float_as_uint(value)) << 32) | static_cast<unsigned int>(~index);
}
__device__ __forceinline__ int keyIndex(unsigned long long key)
{
    return static_cast<int>(~static_cast<unsigned int>(key & 0xffffffffull));
}
__device__ __forceinline__ float keyValue(unsigned long long key)
{
    return __uint_as_float(static_cast<unsigned int>(key >> 32));
}

/** Block-wide maximum of `key`; the result is valid in thread 0. `scratch` holds one entry per warp. */
__device__ __forceinline__ unsigned long long blockMaxKey(unsigned long long key, unsigned long long* scratch)
{
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    for (int offset = 16; offset > 0; offset >>= 1)
        key = max(key, __shfl_xor_sync(0xffffffffu, key, offset));
    if (lane == 0)
        scratch[warp] = key;
    __syncthreads();
    if (warp == 0)
    {
        key = lane < static_cast<int>(blockDim.x >> 5) ? scratch[lane] : 0ull;
        for (int offset = 16; offset > 0; offset >>= 1)
            key = max(key, __shfl_xor_sync(0xffffffffu, key, offset));
    }
    return key;
}

/** sum_j fmaf(x_j - c_j, x_j - c_j, acc), j ascending: the order the tests' CPU reference uses. */
__device__ __forceinline__ float squaredDistance(const float* __restrict__ point, int64_t n, int d,
                                                 const float* centre)
{
    float acc = 0.f;
#pragma unroll 8
    for (int j = 0; j < d; ++j)
    {
        const float diff = __ldg(point + j * n) - centre[j];
        acc = fmaf(diff, diff, acc);
    }
    return acc;
}

__global__ void __launch_bounds__(kThreads) coresetInitKernel(const float* __restrict__ y, int64_t n, int d,
                                                              const int* __restrict__ starts, int numStarts,
                                                              bool startsShared, float* __restrict__ minSq,
                                                              CoresetDeviceState* state)
{
    extern __shared__ float startVectors[]; // numStarts x d when it fits
    __shared__ unsigned long long scratch[kThreads / 32];
    if (startsShared)
    {
        for (int t = threadIdx.x; t < numStarts * d; t += blockDim.x)
            startVectors[t] = __ldg(y + static_cast<int64_t>(t % d) * n + starts[t / d]);
        __syncthreads();
    }
    unsigned long long best = 0;
    const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    {
        // As the CPU: float squared distances, their square roots summed in double in start order, the mean squared.
        double sum = 0;
        for (int s = 0; s < numStarts; ++s)
        {
            float acc = 0.f;
            for (int j = 0; j < d; ++j)
            {
                const float c = startsShared ? startVectors[s * d + j] : __ldg(y + j * n + starts[s]);
                const float diff = __ldg(y + j * n + i) - c;
                acc = fmaf(diff, diff, acc);
            }
            sum = __dadd_rn(sum, sqrt(static_cast<double>(acc)));
        }
        const double mean = __ddiv_rn(sum, static_cast<double>(numStarts));
        const float value = static_cast<float>(__dmul_rn(mean, mean));
        minSq[i] = value;
        best = max(best, packKey(value, static_cast<int>(i)));
    }
    best = blockMaxKey(best, scratch);
    if (threadIdx.x == 0)
        atomicMax(&state->slots[2], best);
}

__global__ void __launch_bounds__(kThreads) coresetStepsKernel(const float* __restrict__ y, int64_t n, int d,
                                                               float* __restrict__ minSq, CoresetDeviceState* state,
                                                               int* __restrict__ selected, int itBegin, int itEnd,
                                                               int checkFrom, bool cooperative)
{
    extern __shared__ float centre[];
    __shared__ unsigned long long scratch[kThreads / 32];
    const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
    const int64_t first = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    const int64_t rounds = first < n ? (n - first + stride - 1) / stride : 0;
    if (__ldcg(&state->stoppedAt) >= 0)
        return; // an earlier launch found nothing left to select
    for (int it = itBegin; it < itEnd; ++it)
    {
        // __ldcg: the slot was written through L2 by other multiprocessors; L1 may hold an older copy.
        const unsigned long long previous = __ldcg(&state->slots[(it + 2) % 3]);
        const int next = keyIndex(previous);
        if (it >= checkFrom && !(keyValue(previous) > 0.f))
        {
            // Every block reads the same key, so all leave here together and no barrier is left waiting.
            if (blockIdx.x == 0 && threadIdx.x == 0)
                state->stoppedAt = it;
            return;
        }
        if (blockIdx.x == 0 && threadIdx.x == 0)
        {
            selected[it] = next;
            // Slot it + 1 was last read before the previous barrier and is next written after this one.
            state->slots[(it + 1) % 3] = 0ull;
        }
        for (int j = threadIdx.x; j < d; j += blockDim.x)
            centre[j] = __ldg(y + j * n + next);
        __syncthreads();

        // Alternate the sweep direction so that the rows the previous iteration touched last, still in L2, come
        // first. The result does not depend on the order: the reduction is a maximum of unique keys.
        const bool reverse = (it & 1) != 0;
        unsigned long long best = 0;
        for (int64_t r = 0; r < rounds; ++r)
        {
            const int64_t i = first + (reverse ? rounds - 1 - r : r) * stride;
            const float dist = squaredDistance(y + i, n, d, centre);
            float m = minSq[i];
            if (dist < m)
            {
                m = dist;
                minSq[i] = m;
            }
            best = max(best, packKey(m, static_cast<int>(i)));
        }
        best = blockMaxKey(best, scratch);
        if (threadIdx.x == 0)
            atomicMax(&state->slots[it % 3], best);
        if (cooperative)
            cg::this_grid().sync();
    }
}

int maxUsefulBlocks(int64_t n)
{
    return static_cast<int>(std::min<int64_t>((n + kThreads - 1) / kThreads, 1 << 20));
}

size_t centreBytes(int d)
{
    return static_cast<size_t>(d) * sizeof(float);
}

void allowSharedMemory(const void* kernel, size_t bytes)
{
    if (bytes <= 48 * 1024)
        return;
    check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)),
          "cudaFuncSetAttribute (shared memory for the projected dimension)");
}

int deviceMultiprocessors()
{
    int device = 0, sms = 0;
    check(cudaGetDevice(&device), "cudaGetDevice");
    check(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device), "cudaDeviceGetAttribute");
    return sms;
}

} // namespace

void launchCoresetInit(const float* y, int64_t n, int d, const int* starts, int numStarts, float* minSq,
                       CoresetDeviceState* state, cudaStream_t stream)
{
    const size_t startBytes = static_cast<size_t>(numStarts) * d * sizeof(float);
    const bool startsShared = startBytes <= 32 * 1024;
    const int blocks = std::max(1, std::min(maxUsefulBlocks(n), deviceMultiprocessors() * 4));
    coresetInitKernel<<<blocks, kThreads, startsShared ? startBytes : 0, stream>>>(y, n, d, starts, numStarts,
                                                                                   startsShared, minSq, state);
    checkLaunch("coresetInitKernel launch");
}

int coresetCooperativeBlocks(int d)
{
    int device = 0, cooperative = 0, perSm = 0;
    check(cudaGetDevice(&device), "cudaGetDevice");
    check(cudaDeviceGetAttribute(&cooperative, cudaDevAttrCooperativeLaunch, device), "cudaDeviceGetAttribute");
    if (!cooperative)
        return 0;
    allowSharedMemory(reinterpret_cast<const void*>(coresetStepsKernel), centreBytes(d));
    check(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&perSm, coresetStepsKernel, kThreads, centreBytes(d)),
          "cudaOccupancyMaxActiveBlocksPerMultiprocessor");
    return perSm * deviceMultiprocessors();
}

void launchCoresetSteps(const float* y, int64_t n, int d, float* minSq, CoresetDeviceState* state, int* selected,
                        int itBegin, int itEnd, int checkFrom, int cooperativeBlocks, cudaStream_t stream)
{
    const size_t smem = centreBytes(d);
    allowSharedMemory(reinterpret_cast<const void*>(coresetStepsKernel), smem);
    if (cooperativeBlocks > 0)
    {
        // Fewer blocks than fit when there are few points: every block pays for each grid barrier.
        const int blocks = std::max(1, std::min(cooperativeBlocks, maxUsefulBlocks(n)));
        bool cooperative = true;
        void* args[] = {(void*)&y, &n, &d, &minSq, &state, &selected, &itBegin, &itEnd, &checkFrom, &cooperative};
        check(cudaLaunchCooperativeKernel(reinterpret_cast<const void*>(coresetStepsKernel), dim3(blocks),
                                          dim3(kThreads), args, smem, stream),
              "cudaLaunchCooperativeKernel (coreset selection)");
        return;
    }
    const int blocks = std::max(1, std::min(maxUsefulBlocks(n), deviceMultiprocessors() * 4));
    for (int it = itBegin; it < itEnd; ++it)
    {
        coresetStepsKernel<<<blocks, kThreads, smem, stream>>>(y, n, d, minSq, state, selected, it, it + 1, checkFrom,
                                                               false);
        checkLaunch("coresetStepsKernel launch");
    }
}

} // namespace detail
} // namespace patchcore_cuda
