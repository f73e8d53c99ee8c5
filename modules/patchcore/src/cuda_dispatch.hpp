// CPU/GPU dispatch glue: the CUDA coreset and search (src/cuda, library patchcore_cuda) behind the module's own types.
// Compiled in every build; without CUDA every entry point reports "not built with CUDA".
#ifndef OPENCV_PATCHCORE_CUDA_DISPATCH_HPP
#define OPENCV_PATCHCORE_CUDA_DISPATCH_HPP

#include "precomp.hpp"
#include "bank_index.hpp"
#include "coreset.hpp"

#include <memory>

namespace cv {
namespace patchcore {
namespace detail {

/** True if this build contains the CUDA code (PATCHCORE_WITH_CUDA resolved to ON). */
bool cudaBuilt();

/** True if built with CUDA and the runtime sees a device. Probed once per process. */
bool cudaAvailable();

/** One line for logs and errors: the device ("NVIDIA H200, compute 9.0, ...") or why CUDA is unavailable. */
std::string cudaStatus();

/** Resolves a ComputeDevice setting of `stage` ("coreset", "search"): DEVICE_CPU gives false, DEVICE_AUTO gives
 *  cudaAvailable(), DEVICE_CUDA gives true or throws cv::Exception (StsNotImplemented when not built with CUDA,
 *  StsError when no device is present). */
bool useCuda(int computeDevice, const char* stage);

/** GPU greedyCoreset(): same arguments and semantics (starts, count, lowest index on ties, early stop, progress and
 *  cancellation with the same message). Identical indices whenever the float sums are exact; otherwise the
 *  distances may differ from Eigen's in the last bit, so a near-tie can be broken the other way. */
std::vector<int> greedyCoresetCuda(const Mat& projected, const std::vector<int>& starts, int count,
                                   const StepCallback& onStep = StepCallback());

/** GPU greedyContinue() on the candidates alone (`projected`: candidates x d, already projected; `minSq`: each one's
 *  squared distance to its nearest centre): same semantics and tie rule; the centres are not needed on the device,
 *  since only the running minima carry them. */
std::vector<int> greedyContinueCuda(const Mat& projected, const std::vector<float>& minSq, int count,
                                    const StepCallback& onStep = StepCallback());

/** The greedy selection kernel for a coreset device setting (Params::coresetDevice), for selectCoreset() and
 *  selectCoresetProjected(): greedyCoresetCuda() where useCuda() resolves the setting to the GPU, else the CPU loop
 *  (an empty kernel). The projection and the draws stay on the host, so a seed selects the same points on either. */
GreedyKernel greedyKernelFor(int coresetDevice);

/** GPU counterpart of ExactSearch with the same interface and results: the bank is copied to the device once in
 *  setBank() and stays there (streamed in blocks if it does not fit); candidates come from a cuBLAS GEMM and are
 *  re-ranked in double exactly like ExactSearch. Copies share the device bank. knn() may be called from several
 *  threads; calls on one bank are serialised on its stream. */
class CudaSearch : public BankIndex
{
public:
    /** Keeps `bank` (N x D CV_32F, continuous; shared, not copied on the host) and uploads it. */
    void setBank(const Mat& bank) CV_OVERRIDE;
    const Mat& bank() const { return bank_; }
    bool empty() const { return bank_.empty(); }
    int size() const CV_OVERRIDE { return bank_.rows; }
    std::string describe() const CV_OVERRIDE { return "exact on CUDA"; }

    /** As ExactSearch::knn: M x k CV_32F squared distances ascending (ties: lower index), M x k CV_32S indices. */
    void knn(const Mat& queries, int k, Mat& distSq, Mat& indices) const CV_OVERRIDE;

private:
    struct Impl;
    Mat bank_;
    std::shared_ptr<Impl> impl_;
};

} // namespace detail
} // namespace patchcore
} // namespace cv

#endif
