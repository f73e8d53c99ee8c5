// Launchers of the library's kernels (defined in the .cu files), so that the orchestration stays in plain C++.
#ifndef PATCHCORE_CUDA_KERNELS_HPP
#define PATCHCORE_CUDA_KERNELS_HPP

#include <cuda_runtime_api.h>

#include <cstdint>

namespace patchcore_cuda {
namespace detail {

// ---- greedy coreset (coreset_kernels.cu) ----
// Points are stored dimension-major ("columns"): coordinate j of point i at y[j * n + i], so that a warp reading
// one coordinate of 32 consecutive points makes one coalesced 128-byte access.
//
// The arg-max of an iteration is a 64-bit key (float bits of the running minimum << 32 | ~index): non-negative
// floats order as their bits, and ~index makes the lowest index win among equal distances, so one atomicMax per
// block finds it. Iteration `it` publishes its key in slots[it % 3] and reads the previous one from
// slots[(it + 2) % 3]; three slots let a block reset the slot of iteration it + 1 without a second grid barrier.

struct CoresetDeviceState
{
    unsigned long long slots[3];
    int stoppedAt; // -1 while running; the number of selected points once every point coincides with one
};

/** Running minima from the starts (mean Euclidean distance, squared) and their arg-max into slots[2]. */
void launchCoresetInit(const float* y, int64_t n, int d, const int* starts, int numStarts, float* minSq,
                       CoresetDeviceState* state, cudaStream_t stream);

/** Blocks of the persistent kernel that fit on the device at once for dimension d; 0 if cooperative launch is not
 *  supported. */
int coresetCooperativeBlocks(int d);

/** Runs iterations [itBegin, itEnd): one cooperative launch (cooperativeBlocks > 0) or one launch per iteration.
 *  From iteration `checkFrom` on, the selection stops when the farthest point's running minimum is 0 (1: the
 *  first pick of a fresh selection is always made; 0: a continuation may select nothing). */
void launchCoresetSteps(const float* y, int64_t n, int d, float* minSq, CoresetDeviceState* state, int* selected,
                        int itBegin, int itEnd, int checkFrom, int cooperativeBlocks, cudaStream_t stream);

// ---- nearest neighbours (knn_kernels.cu) ----
/** Most GEMM candidates per query the selection kernels keep (their lists live in shared memory). */
const int kMaxCandidates = 512;

/** out[i] = squared norm of row i (rows: n x dim row-major). */
void launchRowNormsSq(const float* rows, int64_t n, int dim, float* out, cudaStream_t stream);

/** For each query row r of the products tile (rows x cols, row-major, products = q . b for bank rows
 *  [colStart, colStart + cols)), splits the row into segments of `segment` columns and writes each segment's
 *  `capacity` best (distance, index) candidates, distance = qn + bn - 2 product, ascending, to
 *  cand[(r * totalSegments + colStart / segment + s) * capacity]; missing entries get index -1. */
void launchSelectSegments(const float* products, int rows, int cols, int64_t colStart, const float* queryNormsSq,
                          const float* bankNormsSq, int segment, int totalSegments, int capacity, float* candDist,
                          int* candIndex, cudaStream_t stream);

/** Merges each query's totalSegments lists into its `capacity` best candidates (best[r * capacity + j]). */
void launchMergeCandidates(const float* candDist, const int* candIndex, int rows, int totalSegments, int capacity,
                           float* bestDist, int* bestIndex, cudaStream_t stream);

/** Re-ranks each query's candidates by distances summed in double in dimension order (no FMA, as the CPU), sorts
 *  by (distance, index) and writes the first k (out rows have stride k). Candidate rows come from `bank` by index,
 *  or, when `gathered`, from gathered[(r * capacity + j) * dim]. Sets *invalid when a query has fewer than k
 *  finite candidates. */
void launchRerank(const float* queries, const float* bank, bool gathered, int rows, int dim, int capacity, int k,
                  const int* bestIndex, float* outDist, int* outIndex, int* invalid, cudaStream_t stream);

} // namespace detail
} // namespace patchcore_cuda

#endif
