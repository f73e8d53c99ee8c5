// Field numbers from onnx.proto: ModelProto.graph 7; GraphProto node 1, initializer 5, input 11, output 12;
// NodeProto input 1, output 2, name 3, op_type 4, attribute 5; AttributeProto name 1, f 2, i 3, s 4, t 5, floats 7,
// ints 8; TensorProto dims 1, data_type 2, float_data 4, int32_data 5, int64_data 7, name 8, raw_data 9.
#include "onnx_graph.hpp"
#include "onnx_wire.hpp"

#include <cstring>

namespace cv {
namespace patchcore {
namespace detail {

namespace {

using namespace onnx_wire;

float fixed32ToFloat(const uint8_t* p)
{
    uint32_t bits = static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
                    static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24; // little-endian on disk
    float v;
    std::memcpy(&v, &bits, sizeof(v));
    return v;
}

/** Appends the values of a repeated varint field, packed or not (negative int64 values wrap as two's complement). */
void appendVarints(const Field& f, const Context& ctx, std::vector<int64_t>& out)
{
    if (f.wire == WIRE_VARINT)
    {
        out.push_back(static_cast<int64_t>(f.value));
        return;
    }
    Walker packed(f, ctx);
    while (!packed.done())
        out.push_back(static_cast<int64_t>(packed.varint()));
}

/** Appends the values of a repeated float field, packed or not. */
void appendFloats(const Field& f, std::vector<float>& out)
{
    for (size_t at = 0; at + 4 <= f.size; at += 4)
        out.push_back(fixed32ToFloat(f.data + at));
}

std::pair<std::string, OnnxTensor> readTensor(const Field& tensorField, const Context& ctx)
{
    std::string name;
    OnnxTensor t;
    const uint8_t* raw = nullptr;
    size_t rawSize = 0;
    Walker w(tensorField, ctx);
    while (!w.done())
    {
        const Field f = w.next();
        switch (f.number)
        {
        case 1: appendVarints(f, ctx, t.dims); break;
        case 2: t.type = static_cast<int>(f.value); break;
        case 4: appendFloats(f, t.floats); break;
        case 5: case 7: appendVarints(f, ctx, t.ints); break;
        case 8: name = text(f); break;
        case 9: raw = f.data, rawSize = f.size; break;
        default: break;
        }
    }
    if (raw && t.type == 1)
        for (size_t at = 0; at + 4 <= rawSize; at += 4)
            t.floats.push_back(fixed32ToFloat(raw + at));
    else if (raw && (t.type == 6 || t.type == 7))
    {
        const size_t width = t.type == 6 ? 4 : 8;
        for (size_t at = 0; at + width <= rawSize; at += width)
        {
            uint64_t v = 0;
            for (size_t b = 0; b < width; ++b)
                v |= static_cast<uint64_t>(raw[at + b]) << (8 * b);
            t.ints.push_back(width == 4 ? static_cast<int64_t>(static_cast<int32_t>(v)) : static_cast<int64_t>(v));
        }
    }
    return std::make_pair(name, t);
}

std::pair<std::string, OnnxAttribute> readAttribute(const Field& attrField, const Context& ctx)
{
    std::string name;
    OnnxAttribute a;
    Walker w(attrField, ctx);
    while (!w.done())
    {
        const Field f = w.next();
        switch (f.number)
        {
        case 1: name = text(f); break;
        case 2: if (f.size == 4) a.floats.push_back(fixed32ToFloat(f.data)); break;
        case 3: case 8: appendVarints(f, ctx, a.ints); break;
        case 4: a.text = text(f); break;
        case 5: a.hasTensor = true, a.tensor = readTensor(f, ctx).second; break;
        case 7: appendFloats(f, a.floats); break;
        default: break;
        }
    }
    return std::make_pair(name, a);
}

OnnxNode readNode(const Field& nodeField, const Context& ctx)
{
    OnnxNode node;
    NodeNames names;
    readNodeNames(nodeField, ctx, names, [&](const Field& a) { node.attributes.insert(readAttribute(a, ctx)); });
    node.name = names.name;
    node.op = names.op;
    node.inputs = names.inputs;
    node.outputs = names.outputs;
    return node;
}

} // namespace

int64_t OnnxNode::getInt(const std::string& attr, int64_t fallback) const
{
    const auto it = attributes.find(attr);
    return it == attributes.end() || it->second.ints.empty() ? fallback : it->second.ints[0];
}

float OnnxNode::getFloat(const std::string& attr, float fallback) const
{
    const auto it = attributes.find(attr);
    return it == attributes.end() || it->second.floats.empty() ? fallback : it->second.floats[0];
}

std::vector<int64_t> OnnxNode::getInts(const std::string& attr, const std::vector<int64_t>& fallback) const
{
    const auto it = attributes.find(attr);
    return it == attributes.end() ? fallback : it->second.ints;
}

std::string OnnxNode::getText(const std::string& attr, const std::string& fallback) const
{
    const auto it = attributes.find(attr);
    return it == attributes.end() ? fallback : it->second.text;
}

std::string OnnxNode::label() const
{
    return "node '" + name + "' (" + op + ")";
}

OnnxGraph readOnnxGraph(const std::vector<uchar>& bytes, const std::string& origin)
{
    const Context ctx{origin};
    OnnxGraph graph;
    std::vector<std::string> declaredInputs;
    Walker model(bytes.data(), bytes.size(), ctx);
    while (!model.done())
    {
        const Field m = model.next();
        if (m.number != 7 || m.wire != WIRE_BYTES)
            continue;
        Walker w(m, ctx);
        while (!w.done())
        {
            const Field f = w.next();
            if (f.wire != WIRE_BYTES)
                continue;
            if (f.number == 1)
                graph.nodes.push_back(readNode(f, ctx));
            else if (f.number == 5)
                graph.initializers.insert(readTensor(f, ctx));
            else if (f.number == 11)
                declaredInputs.push_back(valueInfoName(f, ctx));
            else if (f.number == 12)
                graph.outputs.push_back(valueInfoName(f, ctx));
        }
    }
    // Older exporters list the weights among the graph inputs too.
    for (const std::string& in : declaredInputs)
        if (!graph.initializers.count(in))
            graph.inputs.push_back(in);
    return graph;
}

} // namespace detail
} // namespace patchcore
} // namespace cv
