// The ONNX graph lowered to a list of fused steps for the oneDNN engine: batch normalisations folded into the
// convolution before them, ReLU and residual additions fused into the step that produces their input, zero Pad
// folded into the next convolution, and only the nodes the taps need. Plain data, independent of oneDNN, so that
// whether a model is supported is known in every build.
#ifndef OPENCV_PATCHCORE_BACKBONE_PLAN_HPP
#define OPENCV_PATCHCORE_BACKBONE_PLAN_HPP

#include "onnx_graph.hpp"

namespace cv {
namespace patchcore {
namespace detail {

struct PlanStep
{
    enum Kind
    {
        CONV,       // weights O x I/group x kh x kw, bias O; then ReLU and/or the sum of `residual`
        BATCH_NORM, // y = x * scale + shift per channel (folded from mean, variance, gamma, beta)
        MAX_POOL,
        AVG_POOL,   // count_include_pad from the node
        RELU,
        ADD,        // inputs[0] + inputs[1], same shape
        CONCAT      // along channels
    };
    Kind kind = CONV;
    std::vector<int> inputs; // value ids
    int output = -1;
    std::string node;        // the ONNX node it came from, for error messages

    Mat weights, bias, scale, shift; // CV_32F; weights is 4-D
    int groups = 1;
    int kernel[2] = {1, 1}, strides[2] = {1, 1}, dilations[2] = {1, 1};
    int padBegin[2] = {0, 0}, padEnd[2] = {0, 0}; // (top, left), (bottom, right)
    bool ceilMode = false, countIncludePad = false;
    int residual = -1;          // CONV: value added to the result (oneDNN sum post-op)
    bool reluBeforeSum = false; // CONV with a residual: ReLU on the convolution, then the sum
    bool relu = false;          // ReLU on the step's result (after the sum, if any)
};

struct BackbonePlan
{
    std::vector<PlanStep> steps;
    std::vector<std::string> valueNames; // value id -> tensor name
    int input = -1;                      // value id of the image
    std::vector<int> taps;               // value id of each tap, in tap order
};

/** Lowers `graph` to the steps that compute `taps`. Throws cv::Exception naming the first unsupported operator or
 *  attribute, or a tap the graph does not define. */
BackbonePlan lowerOnnxGraph(const OnnxGraph& graph, const std::vector<String>& taps, const std::string& origin);

} // namespace detail
} // namespace patchcore
} // namespace cv

#endif
