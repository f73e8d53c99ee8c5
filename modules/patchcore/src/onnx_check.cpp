// Structural checks of ONNX models (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto;
// field numbers from onnx.proto) over the wire walker of onnx_wire.hpp.
#include "onnx_check.hpp"
#include "onnx_wire.hpp"

#include <set>

namespace cv {
namespace patchcore {
namespace detail {

namespace {

using namespace onnx_wire;

const uint64_t kMaxElements = 1u << 31; // values per tensor; cv::Mat cannot hold more anyway

/** Bytes per element of an ONNX TensorProto data type, and which typed field may hold its values. */
bool elementInfo(uint64_t type, size_t& bytes, uint32_t& typedField)
{
    switch (type)
    {
    case 1: bytes = 4; typedField = 4; return true;   // FLOAT: float_data
    case 2: case 3: case 9: bytes = 1; typedField = 5; return true; // UINT8, INT8, BOOL: int32_data
    case 4: case 5: case 10: case 16: bytes = 2; typedField = 5; return true; // UINT16, INT16, FLOAT16, BFLOAT16
    case 6: bytes = 4; typedField = 5; return true;   // INT32
    case 7: bytes = 8; typedField = 7; return true;   // INT64: int64_data
    case 11: bytes = 8; typedField = 10; return true; // DOUBLE: double_data
    case 12: case 13: bytes = type == 12 ? 4 : 8; typedField = 11; return true; // UINT32, UINT64: uint64_data
    default: return false;                            // strings, complex and unknown types
    }
}

/** Number of values a typed data field holds: packed (length-delimited) or one per occurrence. */
uint64_t valueCount(const Field& f, const Context& ctx)
{
    if (f.wire != WIRE_BYTES)
        return 1;
    if (f.number == 4 || f.number == 10) // float_data (fixed32), double_data (fixed64)
    {
        const size_t width = f.number == 4 ? 4 : 8;
        if (f.size % width)
            ctx.fail("packed tensor values have a length that is not a whole number of values");
        return f.size / width;
    }
    Walker packed(f, ctx);
    uint64_t n = 0;
    for (; !packed.done(); ++n)
        packed.varint();
    return n;
}

/** Checks one TensorProto and returns its name. */
std::string checkTensor(const Field& tensorField, const Context& ctx, const std::string& where)
{
    Walker w(tensorField, ctx);
    std::string name;
    uint64_t type = 0, elements = 1, rawSize = 0, typedCount = 0;
    bool hasRaw = false;
    std::vector<std::pair<uint32_t, uint64_t>> typed; // (field, number of values)
    auto addDim = [&](uint64_t d) {
        if (d >> 62) // a negative int64, or absurd
            ctx.fail(where + " has a negative or absurd dimension");
        elements = d == 0 ? 0 : (elements > kMaxElements / d ? kMaxElements + 1 : elements * d);
    };
    while (!w.done())
    {
        const Field f = w.next();
        if (f.number == 1 && f.wire == WIRE_BYTES) // dims, packed
        {
            Walker packed(f, ctx);
            while (!packed.done())
                addDim(packed.varint());
        }
        else if (f.number == 1)
            addDim(f.value);
        else if (f.number == 2)
            type = f.value;
        else if (f.number == 8 && f.wire == WIRE_BYTES)
            name = text(f);
        else if (f.number == 9 && f.wire == WIRE_BYTES)
            hasRaw = true, rawSize = f.size;
        else if (f.number == 13 || (f.number == 14 && f.value == 1))
            ctx.fail(where + " keeps its data in an external file, which is not supported");
        else if (f.number == 4 || f.number == 5 || f.number == 7 || f.number == 10 || f.number == 11)
            typed.push_back(std::make_pair(f.number, valueCount(f, ctx)));
        else if (f.number == 6)
            ctx.fail(where + " holds strings, which a backbone never needs");
    }
    const std::string label = where + (name.empty() ? std::string() : " '" + name + "'");
    if (elements > kMaxElements)
        ctx.fail(label + " declares more than 2^31 values");
    size_t bytes = 0;
    uint32_t typedField = 0;
    if (!elementInfo(type, bytes, typedField))
        ctx.fail(label + " has data type " + std::to_string(type) + ", which a backbone cannot use");
    for (const auto& t : typed)
    {
        if (t.first != typedField)
            ctx.fail(label + " stores its values in a field that does not match its data type");
        typedCount += t.second;
    }
    if (hasRaw && !typed.empty())
        ctx.fail(label + " has both raw and typed data");
    const uint64_t held = hasRaw ? rawSize / bytes : typedCount;
    if (hasRaw ? rawSize != elements * bytes : typedCount != elements)
        ctx.fail(label + " declares " + std::to_string(elements) + " values but holds " + std::to_string(held));
    return name;
}

void checkAttribute(const Field& attrField, const Context& ctx, const std::string& where)
{
    Walker w(attrField, ctx);
    while (!w.done())
    {
        const Field f = w.next();
        if ((f.number == 5 || f.number == 10) && f.wire == WIRE_BYTES) // t, tensors
            checkTensor(f, ctx, where + "'s attribute tensor");
        else if ((f.number == 6 || f.number == 11) && f.wire == WIRE_BYTES) // g, graphs
            ctx.fail(where + " has a subgraph attribute, which a backbone never needs");
    }
}

typedef NodeNames Node;

Node readNode(const Field& f, const Context& ctx)
{
    Node node;
    std::vector<Field> attributes;
    readNodeNames(f, ctx, node, [&](const Field& a) { attributes.push_back(a); });
    for (const Field& a : attributes)
        checkAttribute(a, ctx, "node '" + node.name + "' (" + node.op + ")");
    return node;
}

void checkGraph(const Field& graphField, const Context& ctx)
{
    std::vector<Node> nodes;
    std::vector<std::string> outputs;
    std::set<std::string> defined; // graph inputs and initializers, then every node's outputs in order
    Walker w(graphField, ctx);
    while (!w.done())
    {
        const Field f = w.next();
        if (f.wire != WIRE_BYTES)
            continue;
        if (f.number == 1)
            nodes.push_back(readNode(f, ctx));
        else if (f.number == 5)
        {
            defined.insert(checkTensor(f, ctx, "an initializer"));
        }
        else if (f.number == 15)
            ctx.fail("it has sparse initializers, which cv::dnn does not read");
        else if (f.number == 11)
            defined.insert(valueInfoName(f, ctx));
        else if (f.number == 12)
            outputs.push_back(valueInfoName(f, ctx));
    }
    if (nodes.empty())
        ctx.fail("its graph has no nodes");
    if (outputs.empty())
        ctx.fail("its graph declares no outputs");
    for (const Node& node : nodes)
    {
        const std::string label = "node '" + node.name + "' (" + node.op + ")";
        if (node.op.empty())
            ctx.fail(label + " has no operator type");
        if (node.outputs.empty())
            ctx.fail(label + " has no output");
        for (const std::string& in : node.inputs)
            if (!in.empty() && !defined.count(in))
                ctx.fail(label + " reads '" + in + "', which no graph input, initializer or earlier node defines");
        defined.insert(node.outputs.begin(), node.outputs.end());
    }
    for (const std::string& out : outputs)
        if (!defined.count(out))
            ctx.fail("graph output '" + out + "' is produced by no node");
}

} // namespace

void checkOnnxModel(const std::vector<uchar>& bytes, const std::string& origin)
{
    const Context ctx{origin};
    Walker w(bytes.data(), bytes.size(), ctx);
    int graphs = 0;
    while (!w.done())
    {
        const Field f = w.next();
        if (f.number == 7 && f.wire == WIRE_BYTES)
        {
            ++graphs;
            checkGraph(f, ctx);
        }
    }
    if (graphs != 1)
        ctx.fail(graphs ? "it has several graphs" : "it has no graph");
}

} // namespace detail
} // namespace patchcore
} // namespace cv
