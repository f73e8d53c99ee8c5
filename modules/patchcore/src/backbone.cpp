#include "backbone.hpp"
#include "onnx_check.hpp"
#include "onnx_graph.hpp"

#include <opencv2/dnn.hpp>

#include <cmath>
#include <cstring>

namespace cv {
namespace patchcore {
namespace detail {

namespace {

/** Largest feature magnitude accepted: squared distances over up to 65536 dimensions must stay finite in float. */
const float kMaxFeatureMagnitude = 1e15f;

/** "rank-2 tensor 1 x 1536 of type CV_32F": what the user needs to see to recognise the wrong tap. */
std::string describeTensor(const Mat& m)
{
    std::string shape;
    for (int d = 0; d < m.dims; ++d)
        shape += (d ? " x " : "") + std::to_string(m.size[d]);
    return "rank-" + std::to_string(m.dims) + " tensor " + shape + " of type " + typeToString(m.type());
}

/** The engine `engine` (a BackboneEngine) asks for; ENGINE_AUTO takes oneDNN when it can run the model. */
std::unique_ptr<NetworkEngine> makeEngine(const std::vector<uchar>& onnxBytes, const std::string& origin,
                                          const std::vector<String>& taps, int backend, int target, int engine)
{
    switch (engine)
    {
    case ENGINE_OPENCV: return makeOpenCvEngine(onnxBytes, origin, taps, backend, target);
    case ENGINE_ONEDNN_FP32:
    case ENGINE_ONEDNN_BF16:
        if (!oneDnnBuilt())
            return makeOneDnnEngine(BackbonePlan(), origin, false); // throws, saying the build lacks oneDNN
        return makeOneDnnEngine(lowerOnnxGraph(readOnnxGraph(onnxBytes, origin), taps, origin), origin,
                                engine == ENGINE_ONEDNN_BF16);
    case ENGINE_AUTO:
        // Another cv::dnn backend or target is an explicit request for cv::dnn.
        if (oneDnnBuilt() && (backend == dnn::DNN_BACKEND_DEFAULT || backend == dnn::DNN_BACKEND_OPENCV) &&
            target == dnn::DNN_TARGET_CPU)
        {
            try
            {
                return makeOneDnnEngine(lowerOnnxGraph(readOnnxGraph(onnxBytes, origin), taps, origin), origin,
                                        false);
            }
            catch (const cv::Exception&)
            {
                // An operator oneDNN does not run, or a missing tap: cv::dnn runs the model or reports the problem.
            }
        }
        return makeOpenCvEngine(onnxBytes, origin, taps, backend, target);
    default:
        PATCHCORE_ERROR(Error::StsOutOfRange, "unknown backbone engine " + std::to_string(engine) +
                                                  "; use ENGINE_AUTO (0), ENGINE_OPENCV (1), ENGINE_ONEDNN_FP32 (2) or "
                                                  "ENGINE_ONEDNN_BF16 (3)");
    }
}

} // namespace

Backbone::Backbone(const std::vector<uchar>& onnxBytes, const std::string& origin, const std::vector<String>& taps,
                   int backend, int target, int engine)
    : taps_(taps), origin_(origin)
{
    if (onnxBytes.empty())
        PATCHCORE_ERROR(Error::StsBadArg, "the backbone model '" + origin + "' is empty");
    if (taps.empty())
        PATCHCORE_ERROR(Error::StsBadArg, "Params::layers is empty; name at least one backbone output to tap");
    // OpenCV's importer trusts the file; a malformed one must become an error message, not a crash. The oneDNN
    // engine's reader relies on the same checks.
    checkOnnxModel(onnxBytes, origin);
    engine_ = makeEngine(onnxBytes, origin, taps, backend, target, engine);
    description_ = engine_->description();
}

Backbone::WindowCost Backbone::windowCost(Size window) const
{
    std::call_once(probed_, [this] {
        const int side = 224, shape[4] = {1, 3, side, side};
        try
        {
            const std::vector<Mat> taps = forward(Mat(4, shape, CV_32F, Scalar(0)));
            strideX_ = static_cast<double>(side) / taps[0].size[3];
            strideY_ = static_cast<double>(side) / taps[0].size[2];
            double bytes = 0;
            for (const Mat& t : taps)
                bytes += static_cast<double>(t.total()) * t.elemSize();
            tapBytesPerPixel_ = bytes / (side * side);
        }
        catch (const cv::Exception&)
        {
            // Kept at ResNet50's values; the real run will report what is wrong with this model.
        }
    });
    WindowCost cost;
    cost.grid = Size(static_cast<int>(std::ceil(window.width / strideX_)),
                     static_cast<int>(std::ceil(window.height / strideY_)));
    // ResNet50-v2 to layer3, measured peak resident memory of one run from 224 x 224 to 14336 x 224 pixels: 390 B per
    // input pixel above a fixed 33 MB, its taps 48 B per pixel: 10x the taps bounds it.
    cost.runBytes = 10 * tapBytesPerPixel_ * window.area() + 32.0 * 1024 * 1024;
    return cost;
}

std::vector<Mat> Backbone::forward(const Mat& blob) const
{
    CV_Assert(blob.dims == 4 && blob.type() == CV_32F && blob.isContinuous());
    const int n = blob.size[0];
    std::vector<Mat> outputs(taps_.size());
    // One image per run: cv::dnn's CPU kernels are no faster batched here, and an image's features must not depend
    // on which other images share its batch (predict() and predictBatch() give identical results; oneDNN may pick
    // other kernels for another batch size).
    for (int i = 0; i < n; ++i)
    {
        const int single[4] = {1, blob.size[1], blob.size[2], blob.size[3]};
        const Mat one(4, single, CV_32F, const_cast<float*>(blob.ptr<float>(i)));
        // The engine's outputs are the caller's own, so they are checked and copied without a lock.
        const std::vector<Mat> taps = engine_->run(one);
        CV_Assert(taps.size() == taps_.size());
        for (size_t t = 0; t < taps.size(); ++t)
        {
            const Mat& m = taps[t];
            if (m.dims != 4 || m.size[0] != 1 || m.type() != CV_32F)
                PATCHCORE_ERROR(Error::StsBadArg, "backbone output '" + taps_[t] + "' of '" + origin_ + "' is a " +
                                                      describeTensor(m) +
                                                      "; Params::layers must name "
                                                      "convolutional feature maps (float N x C x H x W, rank 4), "
                                                      "not flattened, pooled or classifier outputs");
            if (i == 0)
            {
                const int shape[4] = {n, m.size[1], m.size[2], m.size[3]};
                outputs[t].create(4, shape, CV_32F);
            }
            if (m.size[1] != outputs[t].size[1] || m.size[2] != outputs[t].size[2] || m.size[3] != outputs[t].size[3])
                PATCHCORE_ERROR(Error::StsInternal, "backbone output '" + taps_[t] + "' changed shape within a batch");
            const Mat contiguous = m.isContinuous() ? m : m.clone();
            // NaN, infinite or huge features (whose squares overflow float distances) would silently poison
            // the coreset and every distance (found by fuzzing: the greedy selection then indexed with -1).
            // Real CNN features are many orders of magnitude smaller; such values mean a broken model or input.
            const float* values = contiguous.ptr<float>();
            for (size_t v = 0, count = contiguous.total(); v < count; ++v)
                if (!(std::abs(values[v]) <= kMaxFeatureMagnitude)) // also true for NaN
                    PATCHCORE_ERROR(Error::StsError, "backbone output '" + taps_[t] + "' of '" + origin_ +
                                                         "' holds NaN, infinite or huge (beyond 1e15) values: either "
                                                         "the input image holds huge values (float images should be "
                                                         "in [0, 1]) or the model's weights are broken (check its "
                                                         "conversion to ONNX)");
            std::memcpy(outputs[t].ptr<float>(i), values, contiguous.total() * sizeof(float));
        }
    }
    return outputs;
}

} // namespace detail
} // namespace patchcore
} // namespace cv
