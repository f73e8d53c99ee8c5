// The protobuf wire format as ONNX files use it: one walker shared by the model checks (onnx_check.cpp) and the
// graph reader (onnx_graph.cpp), so that both read the bytes the same way.
#ifndef OPENCV_PATCHCORE_ONNX_WIRE_HPP
#define OPENCV_PATCHCORE_ONNX_WIRE_HPP

#include "precomp.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace cv {
namespace patchcore {
namespace detail {
namespace onnx_wire {

enum WireType
{
    WIRE_VARINT = 0,
    WIRE_FIXED64 = 1,
    WIRE_BYTES = 2,
    WIRE_FIXED32 = 5
};

/** One field of a message: its number, wire type, and its value (varints, fixed) or bytes (length-delimited). */
struct Field
{
    uint32_t number = 0;
    int wire = 0;
    uint64_t value = 0;
    const uint8_t* data = nullptr;
    size_t size = 0;
};

/** Where errors go: one message naming the model file. */
struct Context
{
    std::string origin;

    [[noreturn]] void fail(const std::string& what) const
    {
        PATCHCORE_ERROR(Error::StsParseError, "the backbone '" + origin + "' is not a valid ONNX model: " + what);
    }
};

/** Reads the fields of one message (or of a packed array) in order. */
class Walker
{
public:
    Walker(const uint8_t* data, size_t size, const Context& ctx) : p_(data), end_(data + size), ctx_(ctx) {}
    Walker(const Field& f, const Context& ctx) : Walker(f.data, f.size, ctx) {}

    bool done() const { return p_ >= end_; }

    Field next()
    {
        Field f;
        const uint64_t key = varint();
        f.number = static_cast<uint32_t>(key >> 3);
        f.wire = static_cast<int>(key & 7);
        if (f.number == 0 || key >> 32)
            fail("a field number is invalid");
        switch (f.wire)
        {
        case WIRE_VARINT: f.value = varint(); break;
        case WIRE_FIXED64: f.data = take(8); f.size = 8; break;
        case WIRE_FIXED32: f.data = take(4); f.size = 4; break;
        case WIRE_BYTES:
            f.size = static_cast<size_t>(varint());
            f.data = take(f.size);
            break;
        default: fail("it uses a protobuf wire type (" + std::to_string(f.wire) + ") that ONNX never writes");
        }
        return f;
    }

    uint64_t varint()
    {
        uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (p_ >= end_)
                fail("it ends inside a number");
            const uint8_t b = *p_++;
            v |= static_cast<uint64_t>(b & 0x7f) << shift;
            if (!(b & 0x80))
                return v;
        }
        fail("a number is longer than 10 bytes");
    }

    [[noreturn]] void fail(const std::string& what) const { ctx_.fail(what); }

private:
    const uint8_t* take(size_t n)
    {
        if (n > static_cast<size_t>(end_ - p_))
            fail("a field runs past the end of the file (truncated or damaged)");
        const uint8_t* at = p_;
        p_ += n;
        return at;
    }

    const uint8_t* p_;
    const uint8_t* end_;
    const Context& ctx_;
};

inline std::string text(const Field& f) { return std::string(reinterpret_cast<const char*>(f.data), f.size); }

/** The name of a ValueInfoProto (a graph input or output). */
inline std::string valueInfoName(const Field& f, const Context& ctx)
{
    Walker w(f, ctx);
    while (!w.done())
    {
        const Field g = w.next();
        if (g.number == 1 && g.wire == WIRE_BYTES)
            return text(g);
    }
    return std::string();
}

/** The names of a NodeProto: its inputs (field 1), outputs (2), name (3) and op_type (4). */
struct NodeNames
{
    std::string name, op;
    std::vector<std::string> inputs, outputs;
};

/** Reads a NodeProto's names into `node` and hands each AttributeProto (field 5) to `onAttribute`: the model checks
 *  and the graph reader both walk nodes this way. */
template <typename OnAttribute>
void readNodeNames(const Field& nodeField, const Context& ctx, NodeNames& node, OnAttribute onAttribute)
{
    Walker w(nodeField, ctx);
    while (!w.done())
    {
        const Field f = w.next();
        if (f.wire != WIRE_BYTES)
            continue;
        switch (f.number)
        {
        case 1: node.inputs.push_back(text(f)); break;
        case 2: node.outputs.push_back(text(f)); break;
        case 3: node.name = text(f); break;
        case 4: node.op = text(f); break;
        case 5: onAttribute(f); break;
        default: break;
        }
    }
}

} // namespace onnx_wire
} // namespace detail
} // namespace patchcore
} // namespace cv

#endif
