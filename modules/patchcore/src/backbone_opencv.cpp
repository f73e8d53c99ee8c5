// The cv::dnn engine: OpenCV's ONNX importer and CPU (or other backend) kernels.
#include "backbone_engine.hpp"

#include <opencv2/dnn.hpp>

#include <mutex>

namespace cv {
namespace patchcore {
namespace detail {

namespace {

class OpenCvEngine : public NetworkEngine
{
public:
    OpenCvEngine(const std::vector<uchar>& onnxBytes, const std::string& origin, const std::vector<String>& taps,
                 int backend, int target)
        : taps_(taps), origin_(origin)
    {
        try
        {
            net_ = dnn::readNetFromONNX(onnxBytes);
        }
        catch (const cv::Exception& e)
        {
            PATCHCORE_ERROR(Error::StsParseError, "cannot read the backbone '" + origin +
                                                      "' as an ONNX model (is it a valid .onnx file?): " + e.err);
        }
        if (net_.empty())
            PATCHCORE_ERROR(Error::StsParseError, "the backbone '" + origin + "' holds no network");
        for (const String& tap : taps)
        {
            if (net_.getLayerId(tap) < 0)
            {
                std::string outputs;
                for (const String& o : net_.getUnconnectedOutLayersNames())
                    outputs += (outputs.empty() ? "" : ", ") + o;
                PATCHCORE_ERROR(Error::StsBadArg, "the backbone '" + origin + "' has no layer named '" + tap +
                                                      "'; its outputs are: " + outputs);
            }
        }
        net_.setPreferableBackend(backend);
        net_.setPreferableTarget(target);
        description_ = "cv::dnn backend " + std::to_string(backend) + ", target " + std::to_string(target) +
                       (backend == dnn::DNN_BACKEND_OPENCV && target == dnn::DNN_TARGET_CPU ? " (OpenCV CPU)" : "");
    }

    std::vector<Mat> run(const Mat& blob) const CV_OVERRIDE
    {
        std::vector<Mat> taps;
        // cv::dnn::Net keeps per-run state, so runs on one network are serialised.
        std::lock_guard<std::mutex> lock(mutex_);
        net_.setInput(blob);
        try
        {
            net_.forward(taps, taps_);
        }
        catch (const cv::Exception& e)
        {
            PATCHCORE_ERROR(Error::StsError, "the backbone '" + origin_ + "' failed on an input of " +
                                                 std::to_string(blob.size[2]) + " x " + std::to_string(blob.size[3]) +
                                                 " pixels: " + e.err);
        }
        // Copied under the lock: the network reuses its output buffers on the next run.
        for (Mat& t : taps)
            t = t.clone();
        return taps;
    }

    std::string description() const CV_OVERRIDE { return description_; }

private:
    mutable dnn::Net net_;
    mutable std::mutex mutex_;
    std::vector<String> taps_;
    std::string origin_, description_;
};

} // namespace

std::unique_ptr<NetworkEngine> makeOpenCvEngine(const std::vector<uchar>& onnxBytes, const std::string& origin,
                                                 const std::vector<String>& taps, int backend, int target)
{
    return std::unique_ptr<NetworkEngine>(new OpenCvEngine(onnxBytes, origin, taps, backend, target));
}

} // namespace detail
} // namespace patchcore
} // namespace cv
