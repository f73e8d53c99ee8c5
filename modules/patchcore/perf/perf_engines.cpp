// The backbone's engines side by side (doc/PERFORMANCE.md, "Backbone engines"): cv::dnn fp32, oneDNN fp32 and
// oneDNN bf16 on the shared ResNet50 to layer3, at the reference's 224 x 224 crop and whole 512 x 683 and 512 x 512
// frames, on 1 and 2 threads. Arguments: engine (a cv::patchcore::BackboneEngine), input height, input width, threads.
#include "perf_common.hpp"

#include "backbone.hpp"

#include <opencv2/core/utility.hpp>

#include <array>
#include <fstream>
#include <iterator>

namespace {

using namespace patchcore_perf;
using namespace cv::patchcore;

const char* kEngineModel = "models/resnet50v2_to_layer3.onnx";

/** FLOPs (2 per multiply-add) of the convolutions that compute `taps` of an ONNX model on a 1 x 3 x h x w input,
 *  counted on the oneDNN engine's plan: 6.55 GFLOP for ResNet50 to layer3 at 224 x 224, where cv::dnn 4.6's
 *  Net::getFLOPS() reports 3.9x that. Other layers add under 1 %. */
double convolutionFlops(const std::vector<uchar>& onnxBytes, const std::vector<cv::String>& taps, int h, int w)
{
    const detail::BackbonePlan plan =
        detail::lowerOnnxGraph(detail::readOnnxGraph(onnxBytes, "model"), taps, "model");
    std::vector<std::array<int64_t, 3>> dims(plan.valueNames.size()); // C, H, W of every value
    dims[plan.input] = {3, h, w};
    double flops = 0;
    for (const detail::PlanStep& s : plan.steps)
    {
        std::array<int64_t, 3> d = dims[s.inputs[0]];
        if (s.kind == detail::PlanStep::CONV || s.kind == detail::PlanStep::MAX_POOL ||
            s.kind == detail::PlanStep::AVG_POOL)
            for (int i = 0; i < 2; ++i)
            {
                const int64_t span = d[1 + i] + s.padBegin[i] + s.padEnd[i] - ((s.kernel[i] - 1) * s.dilations[i] + 1);
                d[1 + i] = (s.ceilMode ? (span + s.strides[i] - 1) / s.strides[i] : span / s.strides[i]) + 1;
            }
        if (s.kind == detail::PlanStep::CONV)
        {
            const int64_t in = dims[s.inputs[0]][0];
            d[0] = s.weights.size[0];
            flops += 2.0 * d[0] * (in / s.groups) * s.kernel[0] * s.kernel[1] * d[1] * d[2];
        }
        else if (s.kind == detail::PlanStep::CONCAT)
            for (size_t i = 1; i < s.inputs.size(); ++i)
                d[0] += dims[s.inputs[i]][0];
        dims[s.output] = d;
    }
    return flops;
}

void BM_BackboneEngine(benchmark::State& state)
{
    if (!requireData(state, kEngineModel))
        return;
    const int engine = static_cast<int>(state.range(0)), h = static_cast<int>(state.range(1));
    const int w = static_cast<int>(state.range(2)), threads = static_cast<int>(state.range(3));
    if (engine != ENGINE_OPENCV && !detail::oneDnnBuilt())
        return state.SkipWithError("this build has no oneDNN engine");
    if (engine == ENGINE_ONEDNN_BF16 && !detail::oneDnnBf16Native())
        return state.SkipWithError("this CPU has neither AVX512_BF16 nor AMX");
    const int previous = cv::getNumThreads();
    cv::setNumThreads(threads); // both engines follow it (oneDNN's OpenMP threads too)
    std::ifstream in(dataPath(kEngineModel), std::ios::binary);
    const std::vector<uchar> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const Params p = defaultParams();
    const detail::Backbone backbone(bytes, kEngineModel, p.layers, p.backend, p.target, engine);
    const int shape[4] = {1, 3, h, w};
    cv::Mat blob(4, shape, CV_32F);
    cv::RNG(1).fill(blob, cv::RNG::NORMAL, 0, 1);
    backbone.forward(blob); // the first run compiles (oneDNN) or allocates (cv::dnn)
    const double seconds = secondsInLoop(state, [&]() { benchmark::DoNotOptimize(backbone.forward(blob).size()); });
    setFlopCounters(state, convolutionFlops(bytes, p.layers, h, w), seconds);
    state.counters["ms"] = 1e3 * seconds / static_cast<double>(state.iterations());
    state.SetLabel(backbone.description());
    cv::setNumThreads(previous);
}
BENCHMARK(BM_BackboneEngine)
    ->ArgNames({"engine", "h", "w", "threads"})
    ->ArgsProduct({{ENGINE_OPENCV, ENGINE_ONEDNN_FP32, ENGINE_ONEDNN_BF16}, {224}, {224}, {1, 2}})
    ->Args({ENGINE_OPENCV, 512, 683, 1})->Args({ENGINE_OPENCV, 512, 683, 2})
    ->Args({ENGINE_ONEDNN_FP32, 512, 683, 1})->Args({ENGINE_ONEDNN_FP32, 512, 683, 2})
    ->Args({ENGINE_ONEDNN_BF16, 512, 683, 1})->Args({ENGINE_ONEDNN_BF16, 512, 683, 2})
    // The frame INPUT_AUTO makes of any image whose shorter side is over 512 px (scripts/cost_by_size.sh).
    ->Args({ENGINE_ONEDNN_FP32, 512, 512, 2})
    ->Unit(benchmark::kMillisecond)->UseRealTime();

} // namespace
