#include "cuda_dispatch.hpp"

#ifdef PATCHCORE_HAVE_CUDA
#include "patchcore_cuda.hpp"
#endif

#include <mutex>

namespace cv {
namespace patchcore {
namespace detail {

namespace {

const char* const kNotBuilt = "not built with CUDA (reconfigure with the CUDA toolkit installed and "
                              "PATCHCORE_WITH_CUDA=AUTO or ON), or use DEVICE_CPU";

} // namespace

#ifdef PATCHCORE_HAVE_CUDA

namespace {

struct Probe
{
    bool available = false;
    std::string status;
};

const Probe& probe()
{
    static Probe result;
    static std::once_flag once;
    std::call_once(once, []() {
        std::string why;
        result.available = patchcore_cuda::deviceAvailable(&why);
        if (!result.available)
            result.status = "no CUDA device: " + why;
        else
        {
            try
            {
                result.status = patchcore_cuda::deviceDescription();
            }
            catch (const std::exception& e)
            {
                result.available = false;
                result.status = e.what();
            }
        }
    });
    return result;
}

/** Runs `f`, turning the CUDA library's exceptions into cv::Exception with the module's messages. */
template <typename F>
auto translate(const char* what, F f) -> decltype(f())
{
    try
    {
        return f();
    }
    catch (const patchcore_cuda::Cancelled&)
    {
        PATCHCORE_ERROR(Error::StsError, std::string(what) + " cancelled by the progress callback");
    }
    catch (const patchcore_cuda::Error& e)
    {
        PATCHCORE_ERROR(Error::StsError, std::string("CUDA ") + what + " failed: " + e.what());
    }
}

Mat continuousFloat(const Mat& m, const char* name)
{
    if (m.empty() || m.type() != CV_32F)
        PATCHCORE_ERROR(Error::StsBadArg, std::string(name) + " must be a non-empty CV_32F matrix");
    return m.isContinuous() ? m : m.clone();
}

} // namespace

bool cudaBuilt()
{
    return true;
}

bool cudaAvailable()
{
    return probe().available;
}

std::string cudaStatus()
{
    return probe().status;
}

std::vector<int> greedyCoresetCuda(const Mat& projected, const std::vector<int>& starts, int count,
                                   const StepCallback& onStep)
{
    const Mat x = continuousFloat(projected, "projected points");
    CV_Assert(count > 0 && count <= x.rows && !starts.empty());
    if (!cudaAvailable())
        PATCHCORE_ERROR(Error::StsError, "coreset on CUDA: " + cudaStatus());
    return translate("coreset selection", [&]() {
        return patchcore_cuda::greedyCoreset(x.ptr<float>(), x.rows, x.cols, nullptr, 0, starts.data(),
                                             static_cast<int>(starts.size()), count, onStep);
    });
}

std::vector<int> greedyContinueCuda(const Mat& projected, const std::vector<float>& minSq, int count,
                                    const StepCallback& onStep)
{
    const Mat x = continuousFloat(projected, "projected candidates");
    CV_Assert(count > 0 && count <= x.rows && minSq.size() == static_cast<size_t>(x.rows));
    if (!cudaAvailable())
        PATCHCORE_ERROR(Error::StsError, "coreset on CUDA: " + cudaStatus());
    return translate("coreset selection", [&]() {
        return patchcore_cuda::greedyContinue(x.ptr<float>(), x.rows, x.cols, nullptr, 0, minSq.data(), count,
                                              onStep);
    });
}

struct CudaSearch::Impl
{
    // TF32 stays off: it would need its own exactness argument, and nothing has been measured on a GPU yet.
    Impl() { nn.reset(new patchcore_cuda::NearestNeighbors(patchcore_cuda::KnnOptions())); }
    std::unique_ptr<patchcore_cuda::NearestNeighbors> nn;
};

void CudaSearch::setBank(const Mat& bank)
{
    CV_Assert(!bank.empty() && bank.type() == CV_32F && bank.isContinuous());
    if (!cudaAvailable())
        PATCHCORE_ERROR(Error::StsError, "search on CUDA: " + cudaStatus());
    // A fresh device object: copies of this CudaSearch made earlier keep the bank they were given.
    std::shared_ptr<Impl> impl = std::make_shared<Impl>();
    translate("search (setBank)", [&]() { impl->nn->setBank(bank.ptr<float>(), bank.rows, bank.cols); });
    bank_ = bank;
    impl_ = impl;
}

void CudaSearch::knn(const Mat& queries, int k, Mat& distSq, Mat& indices) const
{
    CV_Assert(!bank_.empty() && impl_);
    CV_Assert(queries.type() == CV_32F && queries.isContinuous() && queries.cols == bank_.cols);
    CV_Assert(k >= 1 && k <= bank_.rows);
    distSq.create(queries.rows, k, CV_32F);
    indices.create(queries.rows, k, CV_32S);
    CV_Assert(distSq.isContinuous() && indices.isContinuous());
    translate("search", [&]() {
        impl_->nn->knn(queries.ptr<float>(), queries.rows, k, distSq.ptr<float>(), indices.ptr<int>());
    });
}

#else // !PATCHCORE_HAVE_CUDA

bool cudaBuilt()
{
    return false;
}

bool cudaAvailable()
{
    return false;
}

std::string cudaStatus()
{
    return kNotBuilt;
}

std::vector<int> greedyCoresetCuda(const Mat&, const std::vector<int>&, int, const StepCallback&)
{
    PATCHCORE_ERROR(Error::StsNotImplemented, kNotBuilt);
}

std::vector<int> greedyContinueCuda(const Mat&, const std::vector<float>&, int, const StepCallback&)
{
    PATCHCORE_ERROR(Error::StsNotImplemented, kNotBuilt);
}

struct CudaSearch::Impl
{
};

void CudaSearch::setBank(const Mat&) { PATCHCORE_ERROR(Error::StsNotImplemented, kNotBuilt); }

void CudaSearch::knn(const Mat&, int, Mat&, Mat&) const { PATCHCORE_ERROR(Error::StsNotImplemented, kNotBuilt); }

#endif

bool useCuda(int computeDevice, const char* stage)
{
    if (computeDevice == DEVICE_CPU)
        return false;
    if (computeDevice == DEVICE_AUTO)
        return cudaAvailable();
    CV_Assert(computeDevice == DEVICE_CUDA);
    if (!cudaBuilt())
        PATCHCORE_ERROR(Error::StsNotImplemented, std::string(kNotBuilt) + " (" + stage + "Device = DEVICE_CUDA)");
    if (!cudaAvailable())
        PATCHCORE_ERROR(Error::StsError, std::string(stage) + "Device = DEVICE_CUDA but " + cudaStatus());
    return true;
}

GreedyKernel greedyKernelFor(int coresetDevice)
{
    return useCuda(coresetDevice, "coreset") ? GreedyKernel(greedyCoresetCuda) : GreedyKernel();
}

} // namespace detail
} // namespace patchcore
} // namespace cv
