// Structural checks of an ONNX model before cv::dnn sees it: OpenCV 4.6's importer trusts the file and crashes on
// some malformed ones (fuzzing found null-pointer reads, heap overflows and 32 GB allocations).
#ifndef OPENCV_PATCHCORE_ONNX_CHECK_HPP
#define OPENCV_PATCHCORE_ONNX_CHECK_HPP

#include "precomp.hpp"

namespace cv {
namespace patchcore {
namespace detail {

/** Throws cv::Exception (Error::StsParseError) naming `origin` and the first problem found unless `bytes` is a
 *  well-formed ONNX ModelProto whose main graph:
 *  - has at least one node and one output, and every node an operator type and an output;
 *  - reads, in every node, only names defined before it (graph inputs, initializers, earlier nodes' outputs), as
 *    ONNX's topological order requires;
 *  - holds tensors (initializers and attribute tensors) whose data matches their declared shape and type exactly,
 *    with no external data.
 *  This is not ONNX's full checker (operator semantics are cv::dnn's business); it rules out the inputs that made
 *  OpenCV's importer crash, so that a bad file becomes an error message. */
void checkOnnxModel(const std::vector<uchar>& bytes, const std::string& origin);

} // namespace detail
} // namespace patchcore
} // namespace cv

#endif
