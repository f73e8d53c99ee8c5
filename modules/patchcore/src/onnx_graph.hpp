// The main graph of an ONNX model as plain data (nodes, numeric attributes, float and integer initializers): what
// the oneDNN backbone engine builds its network from, read with the same wire walker as the model checks.
#ifndef OPENCV_PATCHCORE_ONNX_GRAPH_HPP
#define OPENCV_PATCHCORE_ONNX_GRAPH_HPP

#include "precomp.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace cv {
namespace patchcore {
namespace detail {

/** A tensor's shape and values; floats for FLOAT tensors, ints for the integer types (INT32, INT64). */
struct OnnxTensor
{
    std::vector<int64_t> dims;
    int type = 0; // TensorProto.DataType: 1 FLOAT, 6 INT32, 7 INT64, ...
    std::vector<float> floats;
    std::vector<int64_t> ints;
};

struct OnnxAttribute
{
    std::vector<int64_t> ints; // `i` or `ints`
    std::vector<float> floats; // `f` or `floats`
    std::string text;          // `s`
    bool hasTensor = false;
    OnnxTensor tensor;         // `t`
};

struct OnnxNode
{
    std::string name, op;
    std::vector<std::string> inputs, outputs;
    std::map<std::string, OnnxAttribute> attributes;

    int64_t getInt(const std::string& attr, int64_t fallback) const;
    float getFloat(const std::string& attr, float fallback) const;
    std::vector<int64_t> getInts(const std::string& attr, const std::vector<int64_t>& fallback) const;
    std::string getText(const std::string& attr, const std::string& fallback) const;
    /** "node 'name' (Op)", for error messages. */
    std::string label() const;
};

struct OnnxGraph
{
    std::vector<OnnxNode> nodes; // in the file's (topological) order
    std::map<std::string, OnnxTensor> initializers;
    std::vector<std::string> inputs;  // graph inputs that are not initializers
    std::vector<std::string> outputs; // graph outputs
};

/** Reads the main graph of `bytes`, which must have passed checkOnnxModel() (the reader relies on its checks of
 *  tensor sizes). `origin` names the bytes in error messages. */
OnnxGraph readOnnxGraph(const std::vector<uchar>& bytes, const std::string& origin);

} // namespace detail
} // namespace patchcore
} // namespace cv

#endif
