// oneDNN engine internals: a plan compiled for one input shape (primitives, constants, buffer layout) and the
// per-run context that executes it. Only built with PATCHCORE_HAVE_ONEDNN.
#ifndef OPENCV_PATCHCORE_ONEDNN_NETWORK_HPP
#define OPENCV_PATCHCORE_ONEDNN_NETWORK_HPP

#include "backbone_plan.hpp"

#include <oneapi/dnnl/dnnl.hpp>

#include <array>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace cv {
namespace patchcore {
namespace detail {
namespace onednn {

using dnnl::memory;

/** Where an argument's data live: a context's activation slot, a compiled constant, the caller's input or tap, or
 *  the context's scratchpad. */
struct BufRef
{
    enum Kind { SLOT, CONSTANT, INPUT, TAP, SCRATCH } kind;
    int index;
};

struct Exec
{
    dnnl::primitive primitive;
    std::vector<std::pair<int, std::pair<BufRef, memory::desc>>> args; // DNNL_ARG_* -> data
};

/** What one run needs of its own: activation slots, scratchpad, a stream, and memory objects bound to them. */
struct Context
{
    std::vector<Mat> slots;
    Mat scratch;
    dnnl::stream stream;
    std::vector<std::unordered_map<int, memory>> args; // per exec
    std::vector<memory> inputMems, tapMems;             // the memory objects that take the caller's pointers
    std::vector<int> tapIndex;                          // tap of each tapMems entry
};

/** One network compiled for one input shape. Immutable once built, except for the pool of contexts. */
struct Compiled
{
    std::vector<Exec> execs;
    std::vector<memory> constants; // weights in the primitives' formats, biases, normalisation parameters
    std::vector<size_t> slotBytes;
    size_t scratchBytes = 0;
    std::vector<std::array<int, 4>> tapShapes; // N x C x h x w
    int reorders = 0;                           // reorders inside the network (not counting input and taps)

    mutable std::mutex poolMutex;
    mutable std::vector<std::unique_ptr<Context>> pool;
};

/** Convolution weights converted to the formats the compiled networks read, shared between input shapes (most
 *  shapes pick the same formats, and the weights are most of a network's constant memory). Thread-safe. */
class WeightCache
{
public:
    /** The weights of plan step `step` in `desc`, made by `convert` at the first request. */
    memory get(int step, const memory::desc& desc, const std::function<memory()>& convert);

private:
    std::mutex mutex_;
    std::vector<std::pair<std::pair<int, memory::desc>, memory>> entries_;
};

/** Compiles `plan` for an N x C x H x W fp32 input, computing in `dt` (f32 or bf16). Throws dnnl::error or
 *  cv::Exception (a node the input is too small for). */
std::shared_ptr<Compiled> compileNetwork(const BackbonePlan& plan, const dnnl::engine& eng, memory::data_type dt,
                                         const std::array<int, 4>& shape, WeightCache& weights);

} // namespace onednn
} // namespace detail
} // namespace patchcore
} // namespace cv

#endif
