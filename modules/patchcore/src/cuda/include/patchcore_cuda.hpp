// patchcore_cuda: the GPU stages of cv::patchcore (greedy coreset, exact k-nearest-neighbour search) behind a plain
// pointer/size interface, so that the library builds and tests with the CUDA toolkit alone (no OpenCV).
//
// Pointers: every input may be host memory (pageable or pinned) or device memory of the current device; the library
// asks the runtime which one it is. Outputs of knn() may be either too. Errors are thrown as patchcore_cuda::Error;
// the library never prints.
#ifndef PATCHCORE_CUDA_HPP
#define PATCHCORE_CUDA_HPP

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace patchcore_cuda {

/** Any failure: a CUDA or cuBLAS error, too little device memory, or invalid arguments. */
class Error : public std::runtime_error
{
public:
    explicit Error(const std::string& what) : std::runtime_error(what) {}
};

/** Thrown when a progress callback returned false. */
class Cancelled : public Error
{
public:
    explicit Cancelled(const std::string& what) : Error(what) {}
};

/** True when the CUDA runtime sees at least one device. Otherwise false, and `why` (if given) says what the runtime
 *  answered (no driver, no device, ...). Never throws. */
bool deviceAvailable(std::string* why = nullptr);

/** "NVIDIA H200, compute 9.0, 132 SMs, 139.8 GiB" for the current device; throws if there is none. */
std::string deviceDescription();

/** Reports (done, total); returns false to cancel. Called from the calling thread between device chunks. */
typedef std::function<bool(int done, int total)> StepCallback;

struct CoresetOptions
{
    /** Use one persistent cooperative kernel per chunk of iterations (grid-wide barrier between iterations).
     *  false, or a device without cooperative launch, runs one kernel launch per iteration instead; both give the
     *  same indices. */
    bool cooperative = true;
    /** Iterations per launch of the persistent kernel; 0 = about 1 % of `count` (the progress granularity). */
    int chunkIterations = 0;
    /** Rows of the input copied/projected per cuBLAS call (bounds the staging buffer); 0 = automatic. */
    int64_t rowBlock = 0;
};

/** Approximate greedy k-centre selection, the same algorithm as cv::patchcore::detail::greedyCoreset.
 *
 *  data:       n x dim row-major floats (host or device).
 *  projection: dim x projDim row-major floats (host or device), e.g. detail::coresetProjection(); nullptr or
 *              projDim == 0 selects on `data` itself (then the distances are bit-identical to a CPU loop that sums
 *              fmaf((x - c), (x - c), acc) over the dimensions in order).
 *  starts:     numStarts row indices; each point starts at (mean Euclidean distance to the starts)^2, computed in
 *              double from float squared distances, as the CPU does.
 *  count:      points to select, 1 <= count <= n.
 *  Returns the selected indices in selection order (lowest index among equal maxima); fewer than `count` when every
 *  remaining point coincides with a selected one. The projection runs through cuBLAS SGEMM (FP32, no TF32), the
 *  selection loop fully on the device. */
std::vector<int> greedyCoreset(const float* data, int64_t n, int dim, const float* projection, int projDim,
                               const int* starts, int numStarts, int count,
                               const StepCallback& onStep = StepCallback(),
                               const CoresetOptions& options = CoresetOptions());

/** greedyCoreset() continuing from centres already selected (cv::patchcore's Detector::update()): point i starts at
 *  initialMinSq[i] (host memory: its squared distance to the nearest existing centre, finite and >= 0) instead of
 *  the starts' mean distance. Selects up to `count` points, each the farthest from everything selected so far and
 *  the centres (lowest index on ties); stops, possibly before the first, when every remaining point coincides with
 *  a selected point or a centre. Distances in the projected space as greedyCoreset(). */
std::vector<int> greedyContinue(const float* data, int64_t n, int dim, const float* projection, int projDim,
                                const float* initialMinSq, int count, const StepCallback& onStep = StepCallback(),
                                const CoresetOptions& options = CoresetOptions());

struct KnnOptions
{
    /** Let cuBLAS use TF32 tensor cores for the candidate GEMM (about 8x its FP32 rate; candidates are still
     *  re-ranked exactly, but a true neighbour may be missed when TF32 rounding exceeds the candidate margin). */
    bool tf32 = false;
    /** Extra GEMM candidates re-ranked exactly; < 0 = automatic (4 in FP32 as the CPU, 16 with TF32). */
    int extraCandidates = -1;
    /** Device memory this object may use, in bytes; 0 = 90 % of what is free when setBank() runs. A bank that does
     *  not fit stays on the host and is streamed through the device in blocks on every knn() call. */
    size_t deviceMemoryLimit = 0;
};

/** Exact k-nearest-neighbour search with the memory bank resident on the device between calls.
 *  Candidates come from cuBLAS GEMM distances ||q||^2 + ||b||^2 - 2 q.b and a fused per-row top-k selection; the
 *  k + extra best candidates are re-ranked with direct differences in double precision, as the CPU's search.cpp.
 *  Concurrent knn() calls on one object are serialised. */
class NearestNeighbors
{
public:
    explicit NearestNeighbors(const KnnOptions& options = KnnOptions());
    ~NearestNeighbors();
    NearestNeighbors(const NearestNeighbors&) = delete;
    NearestNeighbors& operator=(const NearestNeighbors&) = delete;

    /** Copies the bank (n x dim row-major floats, host or device) to the device, or keeps a host copy when it does
     *  not fit, and precomputes its squared norms. Replaces any previous bank. */
    void setBank(const float* bank, int64_t n, int dim);
    int64_t size() const;
    int dim() const;
    /** True when the whole bank lives on the device (false: streamed per call). */
    bool resident() const;

    /** For each of the m query rows (m x dim, host or device): the k nearest bank rows by squared Euclidean
     *  distance, ascending, ties by lower index. distSq: m x k floats, indices: m x k ints (host or device).
     *  1 <= k <= size() and k + extra candidates <= 512. Throws if a distance is not finite. */
    void knn(const float* queries, int64_t m, int k, float* distSq, int* indices) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace patchcore_cuda

#endif
