#include "backbone.hpp"

namespace cv {
namespace patchcore {
namespace detail {

namespace {

std::string joinNames(const std::vector<String>& names)
{
    std::string out;
    for (size_t i = 0; i < names.size(); ++i)
        out += (i ? ", " : "") + names[i];
    return out;
}

} // namespace

Backbone::Backbone(const std::vector<uchar>& onnxBytes, const std::string& origin, const std::vector<String>& taps,
                   int backend, int target)
    : taps_(taps), origin_(origin)
{
    if (onnxBytes.empty())
        CV_Error(Error::StsBadArg, "patchcore: the backbone model '" + origin + "' is empty");
    if (taps.empty())
        CV_Error(Error::StsBadArg, "patchcore: Params::layers is empty; name at least one backbone output to tap");
    try
    {
        net_ = dnn::readNetFromONNX(onnxBytes);
    }
    catch (const cv::Exception& e)
    {
        CV_Error(Error::StsParseError, "patchcore: cannot read the backbone '" + origin +
                                           "' as an ONNX model (is it a valid .onnx file?): " + e.err);
    }
    if (net_.empty())
        CV_Error(Error::StsParseError, "patchcore: the backbone '" + origin + "' holds no network");

    for (const String& tap : taps)
    {
        if (net_.getLayerId(tap) < 0)
        {
            std::vector<String> outputs = net_.getUnconnectedOutLayersNames();
            CV_Error(Error::StsBadArg, "patchcore: the backbone '" + origin + "' has no layer named '" + tap +
                                           "'; its outputs are: " + joinNames(outputs));
        }
    }
    net_.setPreferableBackend(backend);
    net_.setPreferableTarget(target);
    description_ = "cv::dnn backend " + std::to_string(backend) + ", target " + std::to_string(target) +
                   (backend == dnn::DNN_BACKEND_OPENCV && target == dnn::DNN_TARGET_CPU ? " (OpenCV CPU)" : "");
}

std::vector<Mat> Backbone::forward(const Mat& blob) const
{
    CV_Assert(blob.dims == 4 && blob.type() == CV_32F);
    std::vector<Mat> outputs;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        net_.setInput(blob);
        try
        {
            net_.forward(outputs, taps_);
        }
        catch (const cv::Exception& e)
        {
            CV_Error(Error::StsError, "patchcore: the backbone '" + origin_ + "' failed on an input of " +
                                          std::to_string(blob.size[2]) + " x " + std::to_string(blob.size[3]) +
                                          " pixels: " + e.err);
        }
        // The network reuses its output buffers on the next run.
        for (Mat& m : outputs)
            m = m.clone();
    }
    for (size_t i = 0; i < outputs.size(); ++i)
    {
        const Mat& m = outputs[i];
        if (m.dims != 4 || m.size[0] != blob.size[0] || m.type() != CV_32F)
            CV_Error(Error::StsBadArg, "patchcore: backbone output '" + taps_[i] +
                                           "' is not an N x C x H x W float tensor; tap convolutional feature maps");
    }
    return outputs;
}

} // namespace detail
} // namespace patchcore
} // namespace cv
