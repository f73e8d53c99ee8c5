// Device side of the exact k-nearest-neighbour search: squared norms, per-segment top-k selection fused with the
// distance formula over a GEMM products tile, per-query merge, and the exact double-precision re-rank.
//
// Top-k selection: one warp owns one segment of one query's products row and keeps its best `capacity` candidates
// sorted in shared memory. Each step the 32 lanes compute 32 distances; a ballot picks the lanes that beat the
// current worst entry and lane 0 inserts them one by one. After the first few hundred columns insertions are rare
// (about capacity * ln(segment / capacity) per segment on random data), so the pass runs at the speed of reading
// the products tile once, and the list never leaves shared memory.
#include "cuda_common.hpp"
#include "kernels.hpp"

#include <cmath>

namespace patchcore_cuda {
namespace detail {

namespace {

const unsigned kFull = 0xffffffffu;
const int kSelectWarps = 4; // warps per block of the segment kernel (one segment each)
const int kMergeWarps = 4;  // warps per block of the merge kernel (one query each)

__device__ __forceinline__ bool better(float da, int ia, float db, int ib)
{
    return da < db || (da == db && ia < ib);
}

/** Offers each lane's (d, idx) to the warp's sorted list; as the CPU's BestList, only d < +inf enters and a full
 *  list keeps the better of its last entry and the newcomer by (distance, index). `count` is warp-uniform. */
__device__ __forceinline__ void warpOffer(float d, int idx, float* listD, int* listI, int& count, int capacity)
{
    const int lane = threadIdx.x & 31;
    const bool want = d < INFINITY && (count < capacity || better(d, idx, listD[capacity - 1], listI[capacity - 1]));
    unsigned mask = __ballot_sync(kFull, want);
    while (mask)
    {
        const int src = __ffs(mask) - 1;
        mask &= mask - 1;
        const float cd = __shfl_sync(kFull, d, src);
        const int ci = __shfl_sync(kFull, idx, src);
        if (lane == 0)
        {
            int pos = -1;
            if (count < capacity)
                pos = count++;
            else if (better(cd, ci, listD[capacity - 1], listI[capacity - 1]))
                pos = capacity - 1;
            if (pos >= 0)
            {
                while (pos > 0 && better(cd, ci, listD[pos - 1], listI[pos - 1]))
                {
                    listD[pos] = listD[pos - 1];
                    listI[pos] = listI[pos - 1];
                    --pos;
                }
                listD[pos] = cd;
                listI[pos] = ci;
            }
        }
        count = __shfl_sync(kFull, count, 0);
        __syncwarp();
    }
}

__global__ void rowNormsKernel(const float* __restrict__ rows, int64_t n, int dim, float* __restrict__ out)
{
    const int64_t row = static_cast<int64_t>(blockIdx.x) * (blockDim.x >> 5) + (threadIdx.x >> 5);
    const int lane = threadIdx.x & 31;
    if (row >= n)
        return;
    const float* r = rows + row * dim;
    float acc = 0.f;
    for (int j = lane; j < dim; j += 32)
        acc = fmaf(r[j], r[j], acc);
    for (int offset = 16; offset > 0; offset >>= 1)
        acc += __shfl_xor_sync(kFull, acc, offset);
    if (lane == 0)
        out[row] = acc;
}

__global__ void selectSegmentsKernel(const float* __restrict__ products, int cols, int64_t colStart,
                                     const float* __restrict__ queryNormsSq, const float* __restrict__ bankNormsSq,
                                     int segment, int totalSegments, int capacity, float* __restrict__ candDist,
                                     int* __restrict__ candIndex)
{
    extern __shared__ unsigned char shared[];
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    float* listD = reinterpret_cast<float*>(shared) + static_cast<size_t>(warp) * capacity * 2;
    int* listI = reinterpret_cast<int*>(listD + capacity);
    const int r = blockIdx.y;
    const int s = blockIdx.x * kSelectWarps + warp;
    const int segmentsInTile = (cols + segment - 1) / segment;
    if (s >= segmentsInTile)
        return; // whole warps only: no block-wide barrier follows
    const int c0 = s * segment, c1 = min(cols, c0 + segment);
    const float* row = products + static_cast<int64_t>(r) * cols;
    const float qn = queryNormsSq[r];
    int count = 0;
    const int kUnroll = 4;
    for (int base = c0; base < c1; base += 32 * kUnroll)
    {
        // All loads of the step first, so that several are in flight before the first ballot waits on one.
        float dot[kUnroll], bn[kUnroll];
#pragma unroll
        for (int u = 0; u < kUnroll; ++u)
        {
            const int c = base + u * 32 + lane;
            dot[u] = c < c1 ? __ldcs(row + c) : 0.f; // products are read once: stream them past L1/L2
            bn[u] = c < c1 ? __ldg(bankNormsSq + c) : 0.f;
        }
#pragma unroll
        for (int u = 0; u < kUnroll; ++u)
        {
            const int c = base + u * 32 + lane;
            // The CPU's expression: (||q||^2 + ||b||^2) - 2 q.b, in float.
            const float d = c < c1 ? (qn + bn[u]) - 2.f * dot[u] : INFINITY;
            warpOffer(d, static_cast<int>(colStart + c), listD, listI, count, capacity);
        }
    }
    const int64_t out =
        (static_cast<int64_t>(r) * totalSegments + colStart / segment + s) * static_cast<int64_t>(capacity);
    for (int j = lane; j < capacity; j += 32)
    {
        candDist[out + j] = j < count ? listD[j] : INFINITY;
        candIndex[out + j] = j < count ? listI[j] : -1;
    }
}

__global__ void mergeKernel(const float* __restrict__ candDist, const int* __restrict__ candIndex, int rows,
                            int totalSegments, int capacity, float* __restrict__ bestDist, int* __restrict__ bestIndex)
{
    extern __shared__ unsigned char shared[];
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int r = blockIdx.x * kMergeWarps + warp;
    if (r >= rows)
        return;
    float* listD = reinterpret_cast<float*>(shared) + static_cast<size_t>(warp) * capacity * 2;
    int* listI = reinterpret_cast<int*>(listD + capacity);
    const int64_t base = static_cast<int64_t>(r) * totalSegments * capacity;
    const int total = totalSegments * capacity;
    int count = 0;
    for (int t0 = 0; t0 < total; t0 += 32)
    {
        const int t = t0 + lane;
        const float d = t < total ? candDist[base + t] : INFINITY;
        const int idx = t < total ? candIndex[base + t] : -1;
        warpOffer(idx >= 0 ? d : INFINITY, idx, listD, listI, count, capacity);
    }
    for (int j = lane; j < capacity; j += 32)
    {
        bestDist[static_cast<int64_t>(r) * capacity + j] = j < count ? listD[j] : INFINITY;
        bestIndex[static_cast<int64_t>(r) * capacity + j] = j < count ? listI[j] : -1;
    }
}

__global__ void rerankKernel(const float* __restrict__ queries, const float* __restrict__ bank, bool gathered,
                             int dim, int capacity, int k, const int* __restrict__ bestIndex,
                             float* __restrict__ outDist, int* __restrict__ outIndex, int* invalid)
{
    extern __shared__ unsigned char shared[];
    double* exact = reinterpret_cast<double*>(shared);
    int* index = reinterpret_cast<int*>(exact + capacity);
    const int r = blockIdx.x;
    const float* q = queries + static_cast<int64_t>(r) * dim;
    for (int j = threadIdx.x; j < capacity; j += blockDim.x)
    {
        const int idx = bestIndex[static_cast<int64_t>(r) * capacity + j];
        double sum = INFINITY;
        if (idx >= 0)
        {
            const float* b = gathered ? bank + (static_cast<int64_t>(r) * capacity + j) * dim
                                      : bank + static_cast<int64_t>(idx) * dim;
            // Dimension order and explicit rounding (no FMA contraction): the CPU's exactDistanceSq, bit for bit.
            sum = 0;
            for (int c = 0; c < dim; ++c)
            {
                const double diff = __dsub_rn(static_cast<double>(q[c]), static_cast<double>(b[c]));
                sum = __dadd_rn(sum, __dmul_rn(diff, diff));
            }
        }
        exact[j] = sum;
        index[j] = idx;
    }
    __syncthreads();
    if (threadIdx.x != 0)
        return;
    int valid = 0;
    for (int j = 0; j < capacity; ++j)
    {
        if (index[j] < 0)
            continue;
        // Insertion sort by (distance, index), as std::sort of std::pair<double, int> on the CPU.
        const double d = exact[j];
        const int idx = index[j];
        int pos = valid++;
        while (pos > 0 && (d < exact[pos - 1] || (d == exact[pos - 1] && idx < index[pos - 1])))
        {
            exact[pos] = exact[pos - 1];
            index[pos] = index[pos - 1];
            --pos;
        }
        exact[pos] = d;
        index[pos] = idx;
    }
    if (valid < k)
        atomicExch(invalid, 1);
    for (int j = 0; j < k; ++j)
    {
        outDist[static_cast<int64_t>(r) * k + j] = j < valid ? static_cast<float>(exact[j]) : INFINITY;
        outIndex[static_cast<int64_t>(r) * k + j] = j < valid ? index[j] : -1;
    }
}

size_t listBytes(int capacity)
{
    return static_cast<size_t>(capacity) * (sizeof(float) + sizeof(int));
}

} // namespace

void launchRowNormsSq(const float* rows, int64_t n, int dim, float* out, cudaStream_t stream)
{
    const int warps = 8;
    const int64_t blocks = (n + warps - 1) / warps;
    rowNormsKernel<<<static_cast<unsigned>(blocks), warps * 32, 0, stream>>>(rows, n, dim, out);
    checkLaunch("rowNormsKernel launch");
}

void launchSelectSegments(const float* products, int rows, int cols, int64_t colStart, const float* queryNormsSq,
                          const float* bankNormsSq, int segment, int totalSegments, int capacity, float* candDist,
                          int* candIndex, cudaStream_t stream)
{
    const int segmentsInTile = (cols + segment - 1) / segment;
    const dim3 grid((segmentsInTile + kSelectWarps - 1) / kSelectWarps, rows);
    selectSegmentsKernel<<<grid, kSelectWarps * 32, kSelectWarps * listBytes(capacity), stream>>>(
        products, cols, colStart, queryNormsSq, bankNormsSq, segment, totalSegments, capacity, candDist, candIndex);
    checkLaunch("selectSegmentsKernel launch");
}

void launchMergeCandidates(const float* candDist, const int* candIndex, int rows, int totalSegments, int capacity,
                           float* bestDist, int* bestIndex, cudaStream_t stream)
{
    const int blocks = (rows + kMergeWarps - 1) / kMergeWarps;
    mergeKernel<<<blocks, kMergeWarps * 32, kMergeWarps * listBytes(capacity), stream>>>(
        candDist, candIndex, rows, totalSegments, capacity, bestDist, bestIndex);
    checkLaunch("mergeKernel launch");
}

void launchRerank(const float* queries, const float* bank, bool gathered, int rows, int dim, int capacity, int k,
                  const int* bestIndex, float* outDist, int* outIndex, int* invalid, cudaStream_t stream)
{
    const size_t smem = static_cast<size_t>(capacity) * (sizeof(double) + sizeof(int));
    rerankKernel<<<rows, 32, smem, stream>>>(queries, bank, gathered, dim, capacity, k, bestIndex, outDist, outIndex,
                                             invalid);
    checkLaunch("rerankKernel launch");
}

} // namespace detail
} // namespace patchcore_cuda
