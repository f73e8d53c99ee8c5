// The engines that can run a Backbone: cv::dnn (any model it reads) and oneDNN (the operators of backbone_plan.hpp,
// fp32 or bf16). Backbone picks one at construction and checks what it returns; engines only compute.
#ifndef OPENCV_PATCHCORE_BACKBONE_ENGINE_HPP
#define OPENCV_PATCHCORE_BACKBONE_ENGINE_HPP

#include "precomp.hpp"
#include "backbone_plan.hpp"

#include <memory>

namespace cv {
namespace patchcore {
namespace detail {

class NetworkEngine
{
public:
    virtual ~NetworkEngine() {}
    /** Runs one NCHW CV_32F blob; returns one Mat per tap, as the network produced it (Backbone checks rank, type
     *  and values). The Mats are the caller's own. Thread-safe. */
    virtual std::vector<Mat> run(const Mat& blob) const = 0;
    virtual std::string description() const = 0;
};

/** cv::dnn on `backend` / `target`; throws when cv::dnn cannot read the model or lacks a tap. */
std::unique_ptr<NetworkEngine> makeOpenCvEngine(const std::vector<uchar>& onnxBytes, const std::string& origin,
                                                 const std::vector<String>& taps, int backend, int target);

/** Whether this build has the oneDNN engine, and whether this CPU runs its bf16 kernels natively (AVX512_BF16 or
 *  AMX; elsewhere oneDNN would emulate bf16 slower than fp32). */
bool oneDnnBuilt();
bool oneDnnBf16Native();

/** oneDNN running `plan`, in bf16 (taps returned as fp32) or fp32. Throws when the build has no oneDNN. */
std::unique_ptr<NetworkEngine> makeOneDnnEngine(BackbonePlan plan, const std::string& origin, bool bf16);

} // namespace detail
} // namespace patchcore
} // namespace cv

#endif
