// Compiling a plan into oneDNN primitives: each step becomes one primitive with its ReLU and residual sum fused as
// post-ops, in the memory formats oneDNN prefers (format_tag::any); data are reordered from the NCHW input, to the
// NCHW taps, and wherever a primitive asks for another format than its producer gave (counted in `reorders`).
// Activation buffers are shared between values whose lifetimes do not overlap.
#ifdef PATCHCORE_HAVE_ONEDNN

#include "onednn_network.hpp"

#include <climits>
#include <cstring>

namespace cv {
namespace patchcore {
namespace detail {
namespace onednn {

namespace {

using Tag = memory::format_tag;
using Dt = memory::data_type;

class Compiler
{
public:
    Compiler(const BackbonePlan& plan, const dnnl::engine& eng, Dt dt, const std::array<int, 4>& shape,
             WeightCache& weights)
        : plan_(plan), eng_(eng), dt_(dt), shape_(shape), weights_(weights), values_(plan.valueNames.size()), lastUse_(values_.size(), -1)
    {
        for (size_t s = 0; s < plan.steps.size(); ++s)
        {
            for (int in : plan.steps[s].inputs)
                lastUse_[in] = static_cast<int>(s);
            if (plan.steps[s].residual >= 0)
                lastUse_[plan.steps[s].residual] = static_cast<int>(s);
        }
        for (int t : plan.taps)
            lastUse_[t] = INT_MAX;
    }

    std::shared_ptr<Compiled> build();

private:
    /** A value's data: which virtual buffer (-1: the caller's input) in which format. */
    struct Value
    {
        int buffer = -2; // -2: not computed yet
        memory::desc desc;
    };

    memory::desc plain(const memory::dims& dims, Dt dt) const { return memory::desc(dims, dt, Tag::nchw); }

    int newBuffer(const memory::desc& d)
    {
        bufferBytes_.push_back(d.get_size());
        bufferDef_.push_back(static_cast<int>(out_->execs.size()));
        bufferLast_.push_back(static_cast<int>(out_->execs.size()));
        return static_cast<int>(bufferBytes_.size()) - 1;
    }

    BufRef ref(int buffer) { return buffer < 0 ? BufRef{BufRef::INPUT, 0} : BufRef{BufRef::SLOT, buffer}; }

    void use(int buffer)
    {
        if (buffer >= 0)
            bufferLast_[buffer] = std::max(bufferLast_[buffer], static_cast<int>(out_->execs.size()));
    }

    int constant(const memory::desc& d, const void* data)
    {
        memory m(d, eng_);
        std::memcpy(m.get_data_handle(), data, d.get_size());
        out_->constants.push_back(m);
        return static_cast<int>(out_->constants.size()) - 1;
    }

    void addExec(const dnnl::primitive& p, const dnnl::primitive_desc_base& pd,
                 std::vector<std::pair<int, std::pair<BufRef, memory::desc>>> args)
    {
        const memory::desc scratch = pd.scratchpad_desc();
        if (scratch.get_size())
            args.push_back({DNNL_ARG_SCRATCHPAD, {BufRef{BufRef::SCRATCH, 0}, scratch}});
        out_->scratchBytes = std::max(out_->scratchBytes, scratch.get_size());
        out_->execs.push_back(Exec{p, args});
    }

    /** Copies or converts buffer `from` (format `src`) into buffer `to` (format `dst`). */
    void reorder(BufRef from, const memory::desc& src, BufRef to, const memory::desc& dst)
    {
        dnnl::reorder::primitive_desc pd(eng_, src, eng_, dst, attr());
        addExec(dnnl::reorder(pd), pd, {{DNNL_ARG_FROM, {from, src}}, {DNNL_ARG_TO, {to, dst}}});
    }

    /** Value `v` in format `want` (when `want` is not given: in the engine's data type, in its present format). */
    std::pair<BufRef, memory::desc> need(int v, const memory::desc* want = nullptr)
    {
        const Value& value = values_.at(v);
        CV_Assert(value.buffer != -2);
        memory::desc wanted = want ? *want : value.desc;
        if (!want && value.desc.data_type() != dt_)
            wanted = plain(value.desc.dims(), dt_); // only the caller's NCHW fp32 input has another type
        if (wanted == value.desc)
        {
            use(value.buffer);
            return {ref(value.buffer), value.desc};
        }
        auto key = std::make_pair(v, wanted);
        for (const auto& c : converted_)
            if (c.first.first == v && c.first.second == wanted)
            {
                use(c.second);
                return {ref(c.second), wanted};
            }
        if (value.buffer >= 0)
            ++out_->reorders;
        use(value.buffer);
        const int buf = newBuffer(wanted);
        reorder(ref(value.buffer), value.desc, ref(buf), wanted);
        // Later readers of `v` in this format take the same copy (its lifetime follows their reads).
        converted_.push_back(std::make_pair(key, buf));
        use(buf);
        return {ref(buf), wanted};
    }

    dnnl::primitive_attr attr(const dnnl::post_ops& ops = dnnl::post_ops()) const
    {
        dnnl::primitive_attr a;
        a.set_scratchpad_mode(dnnl::scratchpad_mode::user);
        a.set_post_ops(ops);
        return a;
    }

    void define(int v, int buffer, const memory::desc& d)
    {
        values_[v].buffer = buffer;
        values_[v].desc = d;
    }

    memory::dims spatialOut(const PlanStep& s, const memory::dims& in, int channels, memory::dims& padEnd) const;
    void conv(const PlanStep& s);
    void batchNorm(const PlanStep& s);
    void pool(const PlanStep& s);
    void eltwiseOrAdd(const PlanStep& s);
    void concat(const PlanStep& s);
    void assignSlots();

    const BackbonePlan& plan_;
    dnnl::engine eng_;
    Dt dt_;
    std::array<int, 4> shape_;
    WeightCache& weights_;
    std::vector<Value> values_;
    std::vector<int> lastUse_; // step index of each value's last reader (INT_MAX: a tap)
    std::vector<size_t> bufferBytes_;
    std::vector<int> bufferDef_, bufferLast_; // exec indices
    std::vector<std::pair<std::pair<int, memory::desc>, int>> converted_;
    std::shared_ptr<Compiled> out_;
    int step_ = 0;
};

memory::dims Compiler::spatialOut(const PlanStep& s, const memory::dims& in, int channels, memory::dims& padEnd) const
{
    memory::dims out = {in[0], channels, 0, 0};
    padEnd = {s.padEnd[0], s.padEnd[1]};
    for (int i = 0; i < 2; ++i)
    {
        const int64_t span = in[2 + i] + s.padBegin[i] + s.padEnd[i] - ((s.kernel[i] - 1) * s.dilations[i] + 1);
        int64_t n = (s.ceilMode ? (span + s.strides[i] - 1) / s.strides[i] : span / s.strides[i]) + 1;
        // ONNX's ceil mode drops a last window that would start in the right padding.
        if (s.ceilMode && (n - 1) * s.strides[i] >= in[2 + i] + s.padBegin[i])
            --n;
        if (span < 0 || n < 1)
            PATCHCORE_ERROR(Error::StsBadArg, "the input is too small for node '" + s.node + "' of the backbone");
        out[2 + i] = n;
        // oneDNN wants the padding that the last window actually reaches.
        padEnd[i] = std::max<int64_t>(0, (n - 1) * s.strides[i] + (s.kernel[i] - 1) * s.dilations[i] + 1 - in[2 + i] -
                                             s.padBegin[i]);
    }
    return out;
}

void Compiler::conv(const PlanStep& s)
{
    const memory::dims in = values_.at(s.inputs[0]).desc.dims();
    const int oc = s.weights.size[0];
    memory::dims padEnd;
    const memory::dims outDims = spatialOut(s, in, oc, padEnd);
    memory::dims wDims = {oc, s.weights.size[1], s.weights.size[2], s.weights.size[3]};
    Tag wTag = Tag::oihw;
    if (s.groups > 1)
        wDims = {s.groups, oc / s.groups, s.weights.size[1], s.weights.size[2], s.weights.size[3]}, wTag = Tag::goihw;
    const memory::desc srcAny({in[0], in[1], in[2], in[3]}, dt_, Tag::any), dstAny(outDims, dt_, Tag::any);
    const memory::desc wAny(wDims, dt_, Tag::any), bias({oc}, Dt::f32, Tag::x);
    dnnl::post_ops ops;
    if (s.reluBeforeSum)
        ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
    if (s.residual >= 0)
        ops.append_sum(1.f);
    if (s.relu)
        ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
    const dnnl::convolution_forward::desc d(
        dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, srcAny, wAny, bias, dstAny,
        {s.strides[0], s.strides[1]}, {s.dilations[0] - 1, s.dilations[1] - 1}, {s.padBegin[0], s.padBegin[1]}, padEnd);
    const dnnl::convolution_forward::primitive_desc pd(d, attr(ops), eng_);
    const memory::desc srcDesc = pd.src_desc(), dstDesc = pd.dst_desc();
    const auto src = need(s.inputs[0], &srcDesc);
    // Weights: converted once to the format and type the kernel reads, and shared by the shapes that read the same.
    out_->constants.push_back(weights_.get(step_, pd.weights_desc(), [&]() {
        memory user(memory::desc(wDims, Dt::f32, wTag), eng_, const_cast<float*>(s.weights.ptr<float>()));
        memory converted(pd.weights_desc(), eng_);
        dnnl::stream strm(eng_);
        dnnl::reorder(user, converted).execute(strm, user, converted);
        strm.wait();
        return converted;
    }));
    const int w = static_cast<int>(out_->constants.size()) - 1;
    const int b = constant(bias, s.bias.ptr<float>());
    int dst = -1;
    if (s.residual >= 0)
    {
        const Value& r = values_.at(s.residual);
        // In place when nobody reads the residual after this step: the sum post-op accumulates into it.
        if (r.buffer >= 0 && lastUse_[s.residual] == step_ && r.desc == dstDesc)
            dst = r.buffer, use(dst);
        else
        {
            const auto res = need(s.residual);
            dst = newBuffer(dstDesc);
            reorder(res.first, res.second, ref(dst), dstDesc);
        }
    }
    else
        dst = newBuffer(dstDesc);
    addExec(dnnl::convolution_forward(pd), pd,
            {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, {BufRef{BufRef::CONSTANT, w}, pd.weights_desc()}},
             {DNNL_ARG_BIAS, {BufRef{BufRef::CONSTANT, b}, bias}}, {DNNL_ARG_DST, {ref(dst), dstDesc}}});
    use(dst);
    define(s.output, dst, dstDesc);
}

void Compiler::batchNorm(const PlanStep& s)
{
    const auto src = need(s.inputs[0]);
    const int c = static_cast<int>(src.second.dims()[1]);
    // The step holds y = x * scale + shift; oneDNN's (x - 0) / sqrt(1 + 0) * scale + shift is that exactly.
    const std::vector<float> zeros(c, 0.f), ones(c, 1.f);
    const memory::desc stat({c}, Dt::f32, Tag::x);
    auto flags = dnnl::normalization_flags::use_global_stats | dnnl::normalization_flags::use_scale |
                 dnnl::normalization_flags::use_shift;
    if (s.relu)
        flags = flags | dnnl::normalization_flags::fuse_norm_relu;
    const dnnl::batch_normalization_forward::desc d(dnnl::prop_kind::forward_inference, src.second, 0.f, flags);
    const dnnl::batch_normalization_forward::primitive_desc pd(d, attr(), eng_);
    const int dst = newBuffer(pd.dst_desc());
    addExec(dnnl::batch_normalization_forward(pd), pd,
            {{DNNL_ARG_SRC, src},
             {DNNL_ARG_MEAN, {BufRef{BufRef::CONSTANT, constant(stat, zeros.data())}, stat}},
             {DNNL_ARG_VARIANCE, {BufRef{BufRef::CONSTANT, constant(stat, ones.data())}, stat}},
             {DNNL_ARG_SCALE, {BufRef{BufRef::CONSTANT, constant(stat, s.scale.ptr<float>())}, stat}},
             {DNNL_ARG_SHIFT, {BufRef{BufRef::CONSTANT, constant(stat, s.shift.ptr<float>())}, stat}},
             {DNNL_ARG_DST, {ref(dst), pd.dst_desc()}}});
    use(dst);
    define(s.output, dst, pd.dst_desc());
}

void Compiler::pool(const PlanStep& s)
{
    const auto src = need(s.inputs[0]);
    const memory::dims in = src.second.dims();
    memory::dims padEnd;
    const memory::dims outDims = spatialOut(s, in, static_cast<int>(in[1]), padEnd);
    const dnnl::algorithm algo = s.kind == PlanStep::MAX_POOL ? dnnl::algorithm::pooling_max
                                 : s.countIncludePad          ? dnnl::algorithm::pooling_avg_include_padding
                                                              : dnnl::algorithm::pooling_avg_exclude_padding;
    const dnnl::pooling_forward::desc d(dnnl::prop_kind::forward_inference, algo, src.second,
                                        memory::desc(outDims, dt_, Tag::any), {s.strides[0], s.strides[1]},
                                        {s.kernel[0], s.kernel[1]}, {s.padBegin[0], s.padBegin[1]}, padEnd);
    const dnnl::pooling_forward::primitive_desc pd(d, attr(), eng_);
    const int dst = newBuffer(pd.dst_desc());
    addExec(dnnl::pooling_forward(pd), pd, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, {ref(dst), pd.dst_desc()}}});
    use(dst);
    define(s.output, dst, pd.dst_desc());
}

void Compiler::eltwiseOrAdd(const PlanStep& s)
{
    const auto a = need(s.inputs[0]);
    const int dst = newBuffer(a.second);
    if (s.kind == PlanStep::RELU)
    {
        const dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::eltwise_relu,
                                            a.second, 0.f, 0.f);
        const dnnl::eltwise_forward::primitive_desc pd(d, attr(), eng_);
        addExec(dnnl::eltwise_forward(pd), pd, {{DNNL_ARG_SRC, a}, {DNNL_ARG_DST, {ref(dst), a.second}}});
    }
    else
    {
        if (values_.at(s.inputs[1]).desc.dims() != a.second.dims())
            PATCHCORE_ERROR(Error::StsNotImplemented, "node '" + s.node +
                                                          "' of the backbone adds tensors of "
                                                          "different shapes; the oneDNN engine does not broadcast");
        const auto b = need(s.inputs[1], &a.second);
        dnnl::post_ops ops;
        if (s.relu)
            ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
        const dnnl::binary::desc d(dnnl::algorithm::binary_add, a.second, b.second, a.second);
        const dnnl::binary::primitive_desc pd(d, attr(ops), eng_);
        addExec(dnnl::binary(pd), pd,
                {{DNNL_ARG_SRC_0, a}, {DNNL_ARG_SRC_1, b}, {DNNL_ARG_DST, {ref(dst), a.second}}});
    }
    use(dst);
    define(s.output, dst, a.second);
}

void Compiler::concat(const PlanStep& s)
{
    std::vector<std::pair<BufRef, memory::desc>> srcs;
    std::vector<memory::desc> descs;
    for (int in : s.inputs)
    {
        srcs.push_back(need(in));
        descs.push_back(srcs.back().second);
    }
    const dnnl::concat::primitive_desc pd(1, descs, eng_, attr());
    const int dst = newBuffer(pd.dst_desc());
    std::vector<std::pair<int, std::pair<BufRef, memory::desc>>> args;
    for (size_t i = 0; i < srcs.size(); ++i)
        args.push_back({DNNL_ARG_MULTIPLE_SRC + static_cast<int>(i), srcs[i]});
    args.push_back({DNNL_ARG_DST, {ref(dst), pd.dst_desc()}});
    addExec(dnnl::concat(pd), pd, args);
    use(dst);
    define(s.output, dst, pd.dst_desc());
}

/** Gives every virtual buffer a slot, reusing the slots of buffers whose last reader has run. */
void Compiler::assignSlots()
{
    std::vector<int> slotOf(bufferBytes_.size(), -1), free;
    std::vector<std::vector<int>> endingAt(out_->execs.size() + 1);
    for (size_t b = 0; b < bufferBytes_.size(); ++b)
        if (bufferLast_[b] != INT_MAX)
            endingAt[std::min<size_t>(bufferLast_[b], out_->execs.size())].push_back(static_cast<int>(b));
    std::vector<std::vector<int>> definedAt(out_->execs.size() + 1);
    for (size_t b = 0; b < bufferBytes_.size(); ++b)
        definedAt[bufferDef_[b]].push_back(static_cast<int>(b));
    for (size_t e = 0; e <= out_->execs.size(); ++e)
    {
        for (int b : definedAt[e])
        {
            int best = -1;
            for (size_t i = 0; i < free.size(); ++i)
                if (best < 0 || (out_->slotBytes[free[i]] >= bufferBytes_[b]) !=
                                    (out_->slotBytes[free[best]] >= bufferBytes_[b])
                        ? out_->slotBytes[free[i]] >= bufferBytes_[b]
                        : out_->slotBytes[free[i]] < out_->slotBytes[free[best]])
                    best = static_cast<int>(i);
            if (best < 0)
            {
                slotOf[b] = static_cast<int>(out_->slotBytes.size());
                out_->slotBytes.push_back(0);
            }
            else
            {
                slotOf[b] = free[best];
                free.erase(free.begin() + best);
            }
            out_->slotBytes[slotOf[b]] = std::max(out_->slotBytes[slotOf[b]], bufferBytes_[b]);
        }
        for (int b : endingAt[e])
            free.push_back(slotOf[b]);
    }
    for (Exec& ex : out_->execs)
        for (auto& a : ex.args)
            if (a.second.first.kind == BufRef::SLOT)
                a.second.first.index = slotOf[a.second.first.index];
}

std::shared_ptr<Compiled> Compiler::build()
{
    out_ = std::make_shared<Compiled>();
    define(plan_.input, -1, plain({shape_[0], shape_[1], shape_[2], shape_[3]}, Dt::f32));
    for (step_ = 0; step_ < static_cast<int>(plan_.steps.size()); ++step_)
    {
        const PlanStep& s = plan_.steps[step_];
        switch (s.kind)
        {
        case PlanStep::CONV: conv(s); break;
        case PlanStep::BATCH_NORM: batchNorm(s); break;
        case PlanStep::MAX_POOL: case PlanStep::AVG_POOL: pool(s); break;
        case PlanStep::RELU: case PlanStep::ADD: eltwiseOrAdd(s); break;
        case PlanStep::CONCAT: concat(s); break;
        }
    }
    const int inner = out_->reorders;
    for (size_t t = 0; t < plan_.taps.size(); ++t)
    {
        const Value& v = values_.at(plan_.taps[t]);
        const memory::dims d = v.desc.dims();
        out_->tapShapes.push_back({static_cast<int>(d[0]), static_cast<int>(d[1]), static_cast<int>(d[2]),
                                   static_cast<int>(d[3])});
        use(v.buffer);
        reorder(ref(v.buffer), v.desc, BufRef{BufRef::TAP, static_cast<int>(t)}, plain(d, Dt::f32));
    }
    out_->reorders = inner;
    assignSlots();
    return out_;
}

} // namespace

memory WeightCache::get(int step, const memory::desc& desc, const std::function<memory()>& convert)
{
    {
        std::lock_guard<std::mutex> lock(mutex_);
        for (const auto& e : entries_)
            if (e.first.first == step && e.first.second == desc)
                return e.second;
    }
    const memory m = convert();
    std::lock_guard<std::mutex> lock(mutex_);
    entries_.push_back(std::make_pair(std::make_pair(step, desc), m));
    return m;
}

std::shared_ptr<Compiled> compileNetwork(const BackbonePlan& plan, const dnnl::engine& eng, memory::data_type dt,
                                         const std::array<int, 4>& shape, WeightCache& weights)
{
    return Compiler(plan, eng, dt, shape, weights).build();
}

} // namespace onednn
} // namespace detail
} // namespace patchcore
} // namespace cv
#endif
