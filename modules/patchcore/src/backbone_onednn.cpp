// The oneDNN engine: networks compiled per input shape (onednn_network.cpp), cached; each run takes a context
// (buffers, scratchpad, stream) from its network's pool, so runs from several threads share no lock while they
// compute. oneDNN primitives are immutable and may execute concurrently.
#include "backbone_engine.hpp"

#ifdef PATCHCORE_HAVE_ONEDNN

#include "onednn_network.hpp"

#include <omp.h>

#include <map>

namespace cv {
namespace patchcore {
namespace detail {

namespace {

using namespace onednn;

/** Networks kept per input shape (each with its idle buffers); a caller cycling through more shapes recompiles. */
const size_t kMaxCachedShapes = 8;

std::unique_ptr<Context> makeContext(const Compiled& net, const dnnl::engine& eng)
{
    std::unique_ptr<Context> ctx(new Context);
    ctx->stream = dnnl::stream(eng);
    for (size_t bytes : net.slotBytes)
        ctx->slots.push_back(Mat(1, static_cast<int>(std::max<size_t>(bytes, 1)), CV_8U));
    ctx->scratch.create(1, static_cast<int>(std::max<size_t>(net.scratchBytes, 1)), CV_8U);
    for (const Exec& ex : net.execs)
    {
        std::unordered_map<int, memory> args;
        for (const auto& a : ex.args)
        {
            const BufRef& r = a.second.first;
            void* data = nullptr;
            switch (r.kind)
            {
            case BufRef::SLOT: data = ctx->slots[r.index].data; break;
            case BufRef::CONSTANT: data = net.constants[r.index].get_data_handle(); break;
            case BufRef::SCRATCH: data = ctx->scratch.data; break;
            case BufRef::INPUT: case BufRef::TAP: data = nullptr; break; // the caller's, set at each run
            }
            memory m(a.second.second, eng, data);
            if (r.kind == BufRef::INPUT)
                ctx->inputMems.push_back(m);
            else if (r.kind == BufRef::TAP)
            {
                ctx->tapMems.push_back(m);
                ctx->tapIndex.push_back(r.index);
            }
            args[a.first] = m;
        }
        ctx->args.push_back(args);
    }
    return ctx;
}

class OneDnnEngine : public NetworkEngine
{
public:
    OneDnnEngine(BackbonePlan plan, const std::string& origin, bool bf16)
        : plan_(std::move(plan)), origin_(origin), bf16_(bf16), eng_(dnnl::engine::kind::cpu, 0)
    {
        if (bf16 && !oneDnnBf16Native())
            PATCHCORE_ERROR(Error::StsNotImplemented, "ENGINE_ONEDNN_BF16 needs a CPU with AVX512_BF16 or AMX, "
                                                      "which this one lacks; use ENGINE_ONEDNN_FP32");
        const dnnl::version_t* v = dnnl::version();
        description_ = "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
                       std::to_string(v->patch) + (bf16 ? " bf16" : " fp32") + ", " +
                       std::to_string(plan_.steps.size()) + " fused primitives";
    }

    std::vector<Mat> run(const Mat& blob) const CV_OVERRIDE
    {
        CV_Assert(blob.dims == 4 && blob.type() == CV_32F && blob.isContinuous());
        const std::array<int, 4> shape = {blob.size[0], blob.size[1], blob.size[2], blob.size[3]};
        const std::shared_ptr<Compiled> net = compiled(shape);
        std::unique_ptr<Context> ctx;
        {
            std::lock_guard<std::mutex> lock(net->poolMutex);
            if (!net->pool.empty())
            {
                ctx = std::move(net->pool.back());
                net->pool.pop_back();
            }
        }
        if (!ctx)
            ctx = makeContext(*net, eng_);
        std::vector<Mat> taps(net->tapShapes.size());
        for (size_t t = 0; t < taps.size(); ++t)
            taps[t].create(4, net->tapShapes[t].data(), CV_32F);
        for (memory& m : ctx->inputMems)
            m.set_data_handle(const_cast<float*>(blob.ptr<float>()));
        for (size_t i = 0; i < ctx->tapMems.size(); ++i)
            ctx->tapMems[i].set_data_handle(taps[ctx->tapIndex[i]].data);
        // oneDNN's OpenMP threads follow cv::setNumThreads(), as cv::dnn's do.
        omp_set_num_threads(std::max(1, cv::getNumThreads()));
        try
        {
            for (size_t e = 0; e < net->execs.size(); ++e)
                net->execs[e].primitive.execute(ctx->stream, ctx->args[e]);
            ctx->stream.wait();
        }
        catch (const dnnl::error& e)
        {
            PATCHCORE_ERROR(Error::StsError, "the oneDNN engine failed on the backbone '" + origin_ + "': " + e.what());
        }
        std::lock_guard<std::mutex> lock(net->poolMutex);
        net->pool.push_back(std::move(ctx));
        return taps;
    }

    std::string description() const CV_OVERRIDE { return description_; }

private:
    std::shared_ptr<Compiled> compiled(const std::array<int, 4>& shape) const
    {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            auto it = cache_.find(shape);
            if (it != cache_.end())
                return it->second;
        }
        // Compiled outside the lock: runs on shapes already cached go on meanwhile.
        std::shared_ptr<Compiled> net;
        try
        {
            net = compileNetwork(plan_, eng_, bf16_ ? memory::data_type::bf16 : memory::data_type::f32, shape,
                                 weights_);
        }
        catch (const dnnl::error& e)
        {
            PATCHCORE_ERROR(Error::StsError, "the oneDNN engine cannot run the backbone '" + origin_ + "' on a " +
                                                 std::to_string(shape[0]) + " x " + std::to_string(shape[1]) + " x " +
                                                 std::to_string(shape[2]) + " x " + std::to_string(shape[3]) +
                                                 " input (" + e.what() +
                                                 "); check the model's input channels, or use "
                                                 "ENGINE_OPENCV");
        }
        std::lock_guard<std::mutex> lock(mutex_);
        if (cache_.size() >= kMaxCachedShapes && !cache_.count(shape))
            cache_.erase(cache_.begin()); // runs still holding it keep it alive
        return cache_.insert(std::make_pair(shape, net)).first->second;
    }

    BackbonePlan plan_;
    std::string origin_, description_;
    bool bf16_;
    dnnl::engine eng_;
    mutable std::mutex mutex_;
    mutable std::map<std::array<int, 4>, std::shared_ptr<Compiled>> cache_;
    mutable WeightCache weights_;
};

} // namespace

bool oneDnnBuilt()
{
    return true;
}

bool oneDnnBf16Native()
{
    const unsigned isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
    const unsigned bf16 = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_bf16);
    return (isa & bf16) == bf16;
}

std::unique_ptr<NetworkEngine> makeOneDnnEngine(BackbonePlan plan, const std::string& origin, bool bf16)
{
    return std::unique_ptr<NetworkEngine>(new OneDnnEngine(std::move(plan), origin, bf16));
}

} // namespace detail
} // namespace patchcore
} // namespace cv

#else // no oneDNN in this build

namespace cv {
namespace patchcore {
namespace detail {

bool oneDnnBuilt()
{
    return false;
}

bool oneDnnBf16Native()
{
    return false;
}

std::unique_ptr<NetworkEngine> makeOneDnnEngine(BackbonePlan, const std::string&, bool)
{
    PATCHCORE_ERROR(Error::StsNotImplemented, "this build has no oneDNN engine (rebuild with libdnnl-dev "
                                              "installed); use ENGINE_OPENCV or ENGINE_AUTO");
}

} // namespace detail
} // namespace patchcore
} // namespace cv

#endif
