#include "backbone_plan.hpp"

#include <cmath>
#include <set>

namespace cv {
namespace patchcore {
namespace detail {

namespace {

const char* const kSupportedOps =
    "Conv, BatchNormalization, Relu, Add, MaxPool, AveragePool, Concat (channels), Pad (constant zero, before a "
    "Conv), Identity, Dropout, Constant";

class Lowering
{
public:
    Lowering(const OnnxGraph& graph, const std::string& origin) : graph_(graph), origin_(origin) {}

    BackbonePlan run(const std::vector<String>& taps);

private:
    [[noreturn]] void unsupported(const std::string& what) const
    {
        PATCHCORE_ERROR(Error::StsNotImplemented, "the oneDNN backbone engine cannot run '" + origin_ + "': " + what +
                                                      "; run this model with ENGINE_OPENCV "
                                                      "(Detector::setBackboneEngine)");
    }

    /** The name a tensor stands for once Identity-like nodes are skipped. */
    std::string resolve(std::string name) const
    {
        for (auto it = producer_.find(name); it != producer_.end(); it = producer_.find(name))
        {
            const OnnxNode& n = graph_.nodes[it->second];
            if (n.op != "Identity" && n.op != "Dropout")
                break;
            name = n.inputs.at(0);
        }
        return name;
    }

    const OnnxTensor* constant(const std::string& name) const
    {
        auto it = graph_.initializers.find(name);
        if (it != graph_.initializers.end())
            return &it->second;
        auto c = constants_.find(name);
        return c == constants_.end() ? nullptr : &c->second;
    }

    Mat floatTensor(const OnnxNode& node, size_t input, bool required) const
    {
        if (input >= node.inputs.size() || node.inputs[input].empty())
        {
            if (required)
                unsupported(node.label() + " lacks input " + std::to_string(input));
            return Mat();
        }
        const OnnxTensor* t = constant(node.inputs[input]);
        if (!t || t->type != 1)
            unsupported(node.label() + " reads '" + node.inputs[input] + "' as a computed or non-float tensor; the "
                        "engine needs constant float weights");
        return Mat(1, static_cast<int>(t->floats.size()), CV_32F, const_cast<float*>(t->floats.data())).clone();
    }

    int valueOf(const std::string& name)
    {
        const std::string r = resolve(name);
        auto it = ids_.find(r);
        if (it != ids_.end())
            return it->second;
        const int id = static_cast<int>(plan_.valueNames.size());
        plan_.valueNames.push_back(r);
        producerStep_.push_back(-1);
        uses_.push_back(uses(r));
        isTap_.push_back(tapNames_.count(r) != 0);
        ids_[r] = id;
        return id;
    }

    int uses(const std::string& resolved) const
    {
        auto it = useCount_.find(resolved);
        return it == useCount_.end() ? 0 : it->second;
    }

    /** Makes `name` another name of value `id` (the fused result), taking over its uses and tap status. */
    void alias(const std::string& name, int id)
    {
        const std::string r = resolve(name);
        ids_[r] = id;
        uses_[id] = uses(r);
        isTap_[id] = tapNames_.count(r) != 0;
    }

    /** The step producing `value` when its result may be changed in place (nobody else reads it). */
    PlanStep* fusable(int value)
    {
        const int s = producerStep_[value];
        if (s < 0 || uses_[value] != 1 || isTap_[value])
            return nullptr;
        return &plan_.steps[s];
    }

    int emit(PlanStep step, const std::string& outputName)
    {
        const int out = valueOf(outputName);
        step.output = out;
        producerStep_[out] = static_cast<int>(plan_.steps.size());
        plan_.steps.push_back(step);
        return out;
    }

    void spatial(const OnnxNode& node, PlanStep& s, const std::vector<int64_t>& kernel);
    void lowerConv(const OnnxNode& node);
    void lowerBatchNorm(const OnnxNode& node);
    void lowerRelu(const OnnxNode& node);
    void lowerAdd(const OnnxNode& node);
    void lowerPad(const OnnxNode& node);
    void lowerNode(const OnnxNode& node);

    const OnnxGraph& graph_;
    std::string origin_;
    BackbonePlan plan_;
    std::map<std::string, int> producer_; // tensor name -> node index
    std::map<std::string, int> useCount_; // resolved name -> readers among the needed nodes (+1 per tap)
    std::set<std::string> tapNames_;      // resolved tap names
    std::map<std::string, int> ids_;      // resolved name -> value id
    std::map<std::string, OnnxTensor> constants_;
    std::map<int, std::pair<int, std::vector<int64_t>>> pads_; // Pad output -> (its input, ONNX pads)
    std::vector<int> producerStep_, uses_;
    std::vector<bool> isTap_;
};

void Lowering::spatial(const OnnxNode& node, PlanStep& s, const std::vector<int64_t>& kernel)
{
    if (node.getText("auto_pad", "NOTSET") != "NOTSET")
        unsupported(node.label() + " uses auto_pad=" + node.getText("auto_pad", "") + " (only explicit pads)");
    const std::vector<int64_t> strides = node.getInts("strides", {1, 1}), dilations = node.getInts("dilations", {1, 1});
    const std::vector<int64_t> pads = node.getInts("pads", {0, 0, 0, 0});
    if (kernel.size() != 2 || strides.size() != 2 || dilations.size() != 2 || pads.size() != 4)
        unsupported(node.label() + " is not two-dimensional");
    for (int i = 0; i < 2; ++i)
    {
        s.kernel[i] = static_cast<int>(kernel[i]);
        s.strides[i] = static_cast<int>(strides[i]);
        s.dilations[i] = static_cast<int>(dilations[i]);
        s.padBegin[i] = static_cast<int>(pads[i]);
        s.padEnd[i] = static_cast<int>(pads[i + 2]);
    }
}

void Lowering::lowerConv(const OnnxNode& node)
{
    PlanStep s;
    s.kind = PlanStep::CONV;
    s.node = node.name;
    const OnnxTensor* w = constant(node.inputs.at(1));
    if (!w || w->type != 1 || w->dims.size() != 4)
        unsupported(node.label() + " has weights that are not a constant 4-D float tensor");
    const int dims[4] = {static_cast<int>(w->dims[0]), static_cast<int>(w->dims[1]), static_cast<int>(w->dims[2]),
                         static_cast<int>(w->dims[3])};
    s.weights = Mat(4, dims, CV_32F, const_cast<float*>(w->floats.data())).clone();
    s.bias = floatTensor(node, 2, false);
    if (s.bias.empty())
        s.bias = Mat::zeros(1, dims[0], CV_32F);
    s.groups = static_cast<int>(node.getInt("group", 1));
    spatial(node, s, node.getInts("kernel_shape", {w->dims[2], w->dims[3]}));
    int in = valueOf(node.inputs[0]);
    auto pad = pads_.find(in);
    if (pad != pads_.end())
    {
        const std::vector<int64_t>& p = pad->second.second;
        s.padBegin[0] += static_cast<int>(p[2]), s.padBegin[1] += static_cast<int>(p[3]);
        s.padEnd[0] += static_cast<int>(p[6]), s.padEnd[1] += static_cast<int>(p[7]);
        in = pad->second.first;
    }
    s.inputs.push_back(in);
    emit(s, node.outputs.at(0));
}

void Lowering::lowerBatchNorm(const OnnxNode& node)
{
    const Mat gamma = floatTensor(node, 1, true), beta = floatTensor(node, 2, true);
    const Mat mean = floatTensor(node, 3, true), var = floatTensor(node, 4, true);
    const float eps = node.getFloat("epsilon", 1e-5f);
    Mat scale(1, gamma.cols, CV_32F), shift(1, gamma.cols, CV_32F);
    for (int c = 0; c < gamma.cols; ++c)
    {
        scale.at<float>(c) = gamma.at<float>(c) / std::sqrt(var.at<float>(c) + eps);
        shift.at<float>(c) = beta.at<float>(c) - mean.at<float>(c) * scale.at<float>(c);
    }
    const int in = valueOf(node.inputs.at(0));
    PlanStep* conv = fusable(in);
    if (conv && conv->kind == PlanStep::CONV && conv->residual < 0 && !conv->relu && conv->weights.size[0] == scale.cols)
    {
        // Folded into the weights: the convolution's output channel o is scaled by scale[o].
        Mat w = conv->weights.reshape(1, conv->weights.size[0]);
        for (int o = 0; o < scale.cols; ++o)
        {
            w.row(o) *= scale.at<float>(o);
            conv->bias.at<float>(o) = conv->bias.at<float>(o) * scale.at<float>(o) + shift.at<float>(o);
        }
        alias(node.outputs.at(0), in);
        return;
    }
    PlanStep s;
    s.kind = PlanStep::BATCH_NORM;
    s.node = node.name;
    s.scale = scale;
    s.shift = shift;
    s.inputs.push_back(in);
    emit(s, node.outputs.at(0));
}

void Lowering::lowerRelu(const OnnxNode& node)
{
    const int in = valueOf(node.inputs.at(0));
    PlanStep* p = fusable(in);
    if (p && (p->kind == PlanStep::CONV || p->kind == PlanStep::BATCH_NORM || p->kind == PlanStep::ADD))
    {
        p->relu = true; // ReLU of a ReLU is the same ReLU
        alias(node.outputs.at(0), in);
        return;
    }
    PlanStep s;
    s.kind = PlanStep::RELU;
    s.node = node.name;
    s.inputs.push_back(in);
    emit(s, node.outputs.at(0));
}

void Lowering::lowerAdd(const OnnxNode& node)
{
    if (node.inputs.size() != 2 || constant(node.inputs[0]) || constant(node.inputs[1]))
        unsupported(node.label() + " adds a constant; the engine adds two computed tensors of the same shape");
    const int a = valueOf(node.inputs[0]), b = valueOf(node.inputs[1]);
    for (int k = 0; k < 2; ++k)
    {
        const int into = k ? b : a, other = k ? a : b;
        PlanStep* conv = fusable(into);
        // The sum post-op reads the residual from the convolution's output buffer, so it must exist before.
        if (conv && conv->kind == PlanStep::CONV && conv->residual < 0 && other != into &&
            (producerStep_[other] < producerStep_[into]))
        {
            conv->residual = other;
            conv->reluBeforeSum = conv->relu;
            conv->relu = false;
            alias(node.outputs.at(0), into);
            return;
        }
    }
    PlanStep s;
    s.kind = PlanStep::ADD;
    s.node = node.name;
    s.inputs = {a, b};
    emit(s, node.outputs.at(0));
}

void Lowering::lowerPad(const OnnxNode& node)
{
    if (node.getText("mode", "constant") != "constant")
        unsupported(node.label() + " pads in mode '" + node.getText("mode", "") + "' (only constant zero)");
    std::vector<int64_t> pads = node.getInts("pads", {});
    float value = node.getFloat("value", 0.f);
    if (node.inputs.size() > 1 && !node.inputs[1].empty())
    {
        const OnnxTensor* t = constant(node.inputs[1]);
        if (!t)
            unsupported(node.label() + " has computed pads");
        pads = t->ints;
    }
    if (node.inputs.size() > 2 && !node.inputs[2].empty())
    {
        const OnnxTensor* t = constant(node.inputs[2]);
        if (!t || t->floats.size() != 1)
            unsupported(node.label() + " has a computed or non-float pad value");
        value = t->floats[0];
    }
    if (pads.size() != 8 || pads[0] || pads[1] || pads[4] || pads[5] || value != 0.f)
        unsupported(node.label() + " is not a zero padding of the two spatial dimensions");
    for (int64_t v : pads)
        if (v < 0)
            unsupported(node.label() + " crops (negative pads)");
    const int in = valueOf(node.inputs.at(0)), out = valueOf(node.outputs.at(0));
    pads_[out] = std::make_pair(in, pads);
}

void Lowering::lowerNode(const OnnxNode& node)
{
    for (const std::string& in : node.inputs)
        if (!in.empty() && !constant(in) && pads_.count(valueOf(in)) && node.op != "Conv")
            unsupported(node.label() + " reads the output of a Pad; the engine folds Pad only into a following Conv");
    const std::string& op = node.op;
    if (op == "Identity" || op == "Dropout")
        return; // resolve() skips them
    if (op == "Conv")
        lowerConv(node);
    else if (op == "BatchNormalization")
        lowerBatchNorm(node);
    else if (op == "Relu")
        lowerRelu(node);
    else if (op == "Add")
        lowerAdd(node);
    else if (op == "Pad")
        lowerPad(node);
    else if (op == "MaxPool" || op == "AveragePool")
    {
        PlanStep s;
        s.kind = op == "MaxPool" ? PlanStep::MAX_POOL : PlanStep::AVG_POOL;
        s.node = node.name;
        spatial(node, s, node.getInts("kernel_shape", {}));
        if (s.dilations[0] != 1 || s.dilations[1] != 1)
            unsupported(node.label() + " is a dilated pooling");
        if (node.outputs.size() > 1 && !node.outputs[1].empty())
            unsupported(node.label() + " returns indices");
        s.ceilMode = node.getInt("ceil_mode", 0) != 0;
        s.countIncludePad = node.getInt("count_include_pad", 0) != 0;
        s.inputs.push_back(valueOf(node.inputs.at(0)));
        emit(s, node.outputs.at(0));
    }
    else if (op == "Concat")
    {
        if (node.getInt("axis", -1) != 1)
            unsupported(node.label() + " concatenates along axis " + std::to_string(node.getInt("axis", -1)) +
                        " (only channels, axis 1)");
        PlanStep s;
        s.kind = PlanStep::CONCAT;
        s.node = node.name;
        for (const std::string& in : node.inputs)
            s.inputs.push_back(valueOf(in));
        emit(s, node.outputs.at(0));
    }
    else
        unsupported(node.label() + " uses operator '" + op + "', which the engine does not support (it runs " +
                    kSupportedOps + ")");
}

BackbonePlan Lowering::run(const std::vector<String>& taps)
{
    if (graph_.inputs.size() != 1)
        unsupported("the model has " + std::to_string(graph_.inputs.size()) + " inputs (one image input expected)");
    for (size_t i = 0; i < graph_.nodes.size(); ++i)
        for (const std::string& out : graph_.nodes[i].outputs)
            producer_[out] = static_cast<int>(i);
    // The nodes the taps need, found backwards from them.
    std::vector<bool> needed(graph_.nodes.size(), false);
    std::vector<std::string> pending;
    for (const String& tap : taps)
    {
        if (!producer_.count(tap))
        {
            std::string outputs;
            for (const std::string& o : graph_.outputs)
                outputs += (outputs.empty() ? "" : ", ") + o;
            PATCHCORE_ERROR(Error::StsBadArg, "the backbone '" + origin_ + "' has no layer named '" + tap +
                                                  "'; its outputs are: " + outputs);
        }
        pending.push_back(tap);
        tapNames_.insert(resolve(tap));
        ++useCount_[resolve(tap)];
    }
    while (!pending.empty())
    {
        const std::string name = pending.back();
        pending.pop_back();
        auto it = producer_.find(name);
        if (it == producer_.end() || needed[it->second])
            continue;
        needed[it->second] = true;
        const OnnxNode& n = graph_.nodes[it->second];
        for (const std::string& in : n.inputs)
            if (!in.empty() && !graph_.initializers.count(in))
                pending.push_back(in);
    }
    for (size_t i = 0; i < graph_.nodes.size(); ++i)
    {
        const OnnxNode& n = graph_.nodes[i];
        if (n.op == "Constant")
        {
            const auto v = n.attributes.find("value");
            if (v == n.attributes.end() || !v->second.hasTensor)
                unsupported(n.label() + " is a Constant without a tensor value");
            constants_[n.outputs.at(0)] = v->second.tensor;
        }
        else if (needed[i] && n.op != "Identity" && n.op != "Dropout")
            for (const std::string& in : n.inputs)
                if (!in.empty() && !constant(in))
                    ++useCount_[resolve(in)];
    }
    plan_.input = valueOf(graph_.inputs[0]);
    for (size_t i = 0; i < graph_.nodes.size(); ++i)
        if (needed[i] && graph_.nodes[i].op != "Constant")
            lowerNode(graph_.nodes[i]);
    for (const String& tap : taps)
    {
        const int id = valueOf(tap);
        if (producerStep_[id] < 0)
            unsupported("tap '" + tap + "' is the model's input or a Pad output, not a computed feature map");
        plan_.taps.push_back(id);
    }
    return plan_;
}

} // namespace

BackbonePlan lowerOnnxGraph(const OnnxGraph& graph, const std::vector<String>& taps, const std::string& origin)
{
    return Lowering(graph, origin).run(taps);
}

} // namespace detail
} // namespace patchcore
} // namespace cv
