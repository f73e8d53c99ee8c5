// Backbone: an ONNX CNN run through cv::dnn or oneDNN (backbone_engine.hpp), returning the requested intermediate
// outputs (taps), checked the same way whichever engine ran.
#ifndef OPENCV_PATCHCORE_BACKBONE_HPP
#define OPENCV_PATCHCORE_BACKBONE_HPP

#include "precomp.hpp"
#include "backbone_engine.hpp"
#include <opencv2/dnn.hpp> // callers pass cv::dnn backend and target ids

#include <memory>
#include <mutex>

namespace cv {
namespace patchcore {
namespace detail {

class Backbone
{
public:
    /** Loads the network from ONNX bytes (so a saved detector can carry its own model) and checks that every tap
     *  exists. `origin` names the bytes' source in error messages. `engine` is a BackboneEngine (the public enum). */
    Backbone(const std::vector<uchar>& onnxBytes, const std::string& origin, const std::vector<String>& taps,
             int backend, int target, int engine = ENGINE_AUTO);

    /** Runs an NCHW CV_32F blob and returns one 4-D blob (N x C x h x w) per tap, in tap order. Thread-safe: the
     *  cv::dnn engine serialises runs, the oneDNN engine runs them concurrently. */
    std::vector<Mat> forward(const Mat& blob) const;

    /** What one run on a `window` (width x height) input produces and needs, estimated without running it: the
     *  first tap's feature grid, and the memory of the run (an upper bound measured on ResNet50). Both scale from one
     *  probe run on a 224 x 224 input, made at the first call (cv::dnn's own shape inference and memory estimate
     *  were wrong by 2x and 16x on the shared ResNet50). Thread-safe. */
    struct WindowCost
    {
        Size grid;
        double runBytes = 0;
    };
    WindowCost windowCost(Size window) const;

    /** Human-readable description of the engine, backend and target actually used (for the progress log). */
    const std::string& description() const { return description_; }

private:
    std::unique_ptr<NetworkEngine> engine_;
    mutable std::once_flag probed_;
    mutable double strideX_ = 8, strideY_ = 8; // input pixels per first-tap cell
    mutable double tapBytesPerPixel_ = 48;     // all taps' output bytes per input pixel
    std::vector<String> taps_;
    std::string origin_;
    std::string description_;
};

} // namespace detail
} // namespace patchcore
} // namespace cv

#endif
