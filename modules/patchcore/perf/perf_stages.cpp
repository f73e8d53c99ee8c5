// Per-stage and end-to-end benchmarks of one image through the detector's pipeline.
#include "perf_common.hpp"

#include "anomaly_map.hpp"
#include "backbone.hpp"
#include "embedding.hpp"
#include "preprocess.hpp"

#include <opencv2/core/utility.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgcodecs.hpp>
#include <tbb/parallel_pipeline.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <iterator>
#include <thread>

namespace {

using namespace patchcore_perf;
using namespace cv::patchcore::detail;

const char* kModel = "models/resnet50v2_to_layer3.onnx";
const char* kHazelnutTest = "datasets/hazelnut_toy/test";
// The reference's predict time per image on hazelnut_toy (ACT taps, 10 % coreset) on a 2-core machine like ours.
const double kReferencePredictSeconds = 0.242;

void imagesPerSecond(benchmark::State& state)
{
    state.counters["images/s"] = benchmark::Counter(1, benchmark::Counter::kIsIterationInvariantRate);
}

// A hazelnut test image when the data is there (1024 x 1024), otherwise a synthetic one of the same size.
cv::Mat sampleImage()
{
    static cv::Mat img;
    if (img.empty())
    {
        const std::vector<std::string> files = dataExists(kHazelnutTest) ? listImages(dataPath(kHazelnutTest) + "/good")
                                                                         : std::vector<std::string>();
        if (!files.empty())
            img = cv::imread(files[0], cv::IMREAD_UNCHANGED);
        if (img.empty())
        {
            img.create(1024, 1024, CV_8UC3);
            cv::RNG(3).fill(img, cv::RNG::UNIFORM, 0, 256);
        }
    }
    return img;
}

void BM_Preprocess(benchmark::State& state)
{
    const cv::Mat img = sampleImage();
    const cv::patchcore::Params p = defaultParams();
    for (auto _ : state)
        benchmark::DoNotOptimize(preprocessImage(img, p).data);
    imagesPerSecond(state);
}
BENCHMARK(BM_Preprocess)->Unit(benchmark::kMillisecond)->UseRealTime();

std::vector<uchar> modelBytes()
{
    std::ifstream in(dataPath(kModel), std::ios::binary);
    return std::vector<uchar>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Argument: OpenCV threads (cv::dnn's parallel loops), to see how the backbone scales on this machine.
void BM_Backbone(benchmark::State& state)
{
    if (!requireData(state, kModel))
        return;
    const int previous = cv::getNumThreads();
    cv::setNumThreads(static_cast<int>(state.range(0)));
    const cv::patchcore::Params p = defaultParams();
    Backbone backbone(modelBytes(), kModel, p.layers, p.backend, p.target);
    const cv::Mat blob = packBlob({preprocessImage(sampleImage(), p)});
    backbone.forward(blob); // the first run allocates and picks kernels
    const double seconds = secondsInLoop(state, [&]() {
        benchmark::DoNotOptimize(backbone.forward(blob).size());
    });
    cv::dnn::Net net = cv::dnn::readNetFromONNX(dataPath(kModel));
    const double flops = static_cast<double>(net.getFLOPS(cv::dnn::MatShape{1, 3, p.cropSize, p.cropSize}));
    setFlopCounters(state, flops, seconds);
    imagesPerSecond(state);
    cv::setNumThreads(previous);
}
BENCHMARK(BM_Backbone)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

// OpenCV's int8 quantisation (Net::quantize, per-tensor, calibrated on 8 hazelnut training images through our own
// pre-processing), measured on the image of BM_Backbone: time per forward and how far the taps move
// (tap_rel_err: largest relative L2 difference of a tap against float32). The library does not use it; this
// benchmark is the measurement behind that choice (doc/PERFORMANCE.md).
void BM_BackboneInt8(benchmark::State& state)
{
    if (!requireData(state, kModel) || !requireData(state, "datasets/hazelnut_toy/train/good"))
        return;
    const cv::patchcore::Params p = defaultParams();
    std::vector<cv::Mat> calibration;
    for (const std::string& file : listImages(dataPath("datasets/hazelnut_toy/train/good")))
        if (calibration.size() < 8)
            calibration.push_back(preprocessImage(cv::imread(file, cv::IMREAD_COLOR), p));
    cv::dnn::Net net = cv::dnn::readNetFromONNX(dataPath(kModel));
    cv::dnn::Net quantized = net.quantize(std::vector<cv::Mat>{packBlob(calibration)}, CV_32F, CV_32F);
    // A quantised net returns int8 from inner layers; its "dequantize/<name>" layers give the taps in float.
    std::vector<cv::String> taps, dequantized;
    for (const std::string& tap : p.layers)
    {
        taps.push_back(tap);
        dequantized.push_back("dequantize/" + tap);
    }
    const cv::Mat blob = packBlob({preprocessImage(sampleImage(), p)});
    std::vector<cv::Mat> exact, approx;
    net.setInput(blob);
    net.forward(exact, taps);
    quantized.setInput(blob);
    quantized.forward(approx, dequantized);
    double worst = 0;
    for (size_t i = 0; i < taps.size(); ++i)
        worst = std::max(worst, cv::norm(approx[i], exact[i]) / cv::norm(exact[i]));
    const double seconds = secondsInLoop(state, [&]() {
        quantized.setInput(blob);
        quantized.forward(approx, dequantized);
    });
    state.counters["tap_rel_err"] = worst;
    state.counters["s/image"] = seconds / static_cast<double>(state.iterations());
    imagesPerSecond(state);
}
BENCHMARK(BM_BackboneInt8)->Unit(benchmark::kMillisecond)->UseRealTime();

// The backbone levers of issue 5, one at a time against the library's setting (batch 1 as predict() runs it, OpenCV's
// layer fusion on, only the two taps requested): ms per image, and how far the taps move from that setting
// (tap_rel_diff: largest relative L2 difference). Argument: 0 setting, 1 batch 4, 2 batch 8, 3 fusion off,
// 4 all five outputs of the model requested.
void BM_BackboneLevers(benchmark::State& state)
{
    if (!requireData(state, kModel) || !requireData(state, "datasets/hazelnut_toy/train/good"))
        return;
    const int lever = static_cast<int>(state.range(0));
    const cv::patchcore::Params p = defaultParams();
    std::vector<cv::Mat> images;
    for (const std::string& file : listImages(dataPath("datasets/hazelnut_toy/train/good")))
        if (images.size() < 8)
            images.push_back(preprocessImage(cv::imread(file, cv::IMREAD_COLOR), p));
    const int batch = lever == 1 ? 4 : lever == 2 ? 8 : 1;
    images.resize(batch);
    const cv::Mat blob = packBlob(images), first = packBlob({images[0]});
    const std::vector<cv::String> taps(p.layers.begin(), p.layers.end());
    std::vector<cv::String> outputs = taps;
    if (lever == 4)
        outputs = {"layer1", "layer2", "layer3", "layer2_act", "layer3_act"};

    cv::dnn::Net reference = cv::dnn::readNetFromONNX(dataPath(kModel));
    std::vector<cv::Mat> expected, got;
    reference.setInput(first);
    reference.forward(expected, taps);
    cv::dnn::Net net = cv::dnn::readNetFromONNX(dataPath(kModel));
    if (lever == 3)
        net.enableFusion(false);
    net.setInput(blob);
    net.forward(got, outputs); // the first run allocates and picks kernels
    double worst = 0;
    for (size_t t = 0; t < taps.size(); ++t)
    {
        const size_t at = std::find(outputs.begin(), outputs.end(), taps[t]) - outputs.begin();
        // Image 0 of the batch: the first slice along N.
        const cv::Range ranges[4] = {cv::Range(0, 1), cv::Range::all(), cv::Range::all(), cv::Range::all()};
        const cv::Mat slice = got[at](ranges).clone();
        worst = std::max(worst, cv::norm(slice, expected[t]) / cv::norm(expected[t]));
    }
    const double seconds = secondsInLoop(state, [&]() {
        net.setInput(blob);
        net.forward(got, outputs);
    });
    state.counters["ms/image"] = 1e3 * seconds / static_cast<double>(state.iterations()) / batch;
    state.counters["tap_rel_diff"] = worst;
    state.counters["images/s"] =
        benchmark::Counter(batch * static_cast<double>(state.iterations()) / seconds, benchmark::Counter::kDefaults);
}
BENCHMARK(BM_BackboneLevers)->DenseRange(0, 4)->Unit(benchmark::kMillisecond)->UseRealTime();

// The detector of BM_DecodeOverlap and BM_EndToEnd: trained once per process on hazelnut_toy's 28 good images
// (bank 2,195, as the reference's). Callers check the data first.
cv::Ptr<cv::patchcore::Detector> hazelnutDetector()
{
    static cv::Ptr<cv::patchcore::Detector> det;
    if (!det)
    {
        std::vector<cv::Mat> train;
        for (const std::string& f : listImages(dataPath("datasets/hazelnut_toy/train/good")))
            train.push_back(cv::imread(f, cv::IMREAD_UNCHANGED));
        det = cv::patchcore::Detector::create(defaultParams());
        det->train(train);
    }
    return det;
}

// hazelnut_toy's good and colour test images (paths).
std::vector<std::string> hazelnutTestFiles()
{
    std::vector<std::string> files;
    for (const char* sub : {"good", "colour"})
        for (const std::string& f : listImages(dataPath(kHazelnutTest) + "/" + sub))
            files.push_back(f);
    return files;
}

// Overlapping image decoding with inference: predict() on hazelnut_toy's test files read from disk, in turn
// (argument 0) or through a two-stage oneTBB pipeline whose decoding of the next file runs while the current one is
// scored (argument 1). Both produce the same scores; only the wall time differs.
void BM_DecodeOverlap(benchmark::State& state)
{
    if (!requireData(state, kModel) || !requireData(state, "datasets/hazelnut_toy/train/good"))
        return;
    const cv::Ptr<cv::patchcore::Detector> det = hazelnutDetector();
    const std::vector<std::string> files = hazelnutTestFiles();
    const bool overlap = state.range(0) == 1;
    std::vector<double> scores(files.size());
    const double seconds = secondsInLoop(state, [&]() {
        if (!overlap)
            for (size_t i = 0; i < files.size(); ++i)
                scores[i] = det->predict(cv::imread(files[i], cv::IMREAD_UNCHANGED), cv::noArray());
        else
        {
            size_t next = 0;
            tbb::parallel_pipeline(
                2, tbb::make_filter<void, std::pair<size_t, cv::Mat>>(
                       tbb::filter_mode::serial_in_order,
                       [&](tbb::flow_control& fc) -> std::pair<size_t, cv::Mat> {
                           if (next == files.size())
                           {
                               fc.stop();
                               return {};
                           }
                           const size_t i = next++;
                           return {i, cv::imread(files[i], cv::IMREAD_UNCHANGED)};
                       }) &
                       tbb::make_filter<std::pair<size_t, cv::Mat>, void>(
                           tbb::filter_mode::serial_in_order, [&](const std::pair<size_t, cv::Mat>& item) {
                               scores[item.first] = det->predict(item.second, cv::noArray());
                           }));
        }
    });
    state.counters["ms/image"] = 1e3 * seconds / static_cast<double>(state.iterations()) / files.size();
    benchmark::DoNotOptimize(scores.data());
}
BENCHMARK(BM_DecodeOverlap)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// The backbone's taps of one image as cv::dnn returns them: layer2 1 x 512 x g x g, layer3 1 x 1024 x g/2 x g/2, g = 28
// for the centre crop, 64 for the 512 px frame of the whole-frame default; random values, since embedding cost does
// not depend on them.
std::vector<cv::Mat> sampleTaps(int grid = 28)
{
    const int s2[4] = {1, 512, grid, grid}, s3[4] = {1, 1024, grid / 2, grid / 2};
    std::vector<cv::Mat> taps{cv::Mat(4, s2, CV_32F), cv::Mat(4, s3, CV_32F)};
    cv::RNG rng(5);
    for (cv::Mat& t : taps)
        rng.fill(t, cv::RNG::UNIFORM, 0, 1);
    return taps;
}

// Argument: the layer2 grid (28: centre crop, 64: the default's 512 px frame).
void BM_Embedding(benchmark::State& state)
{
    const std::vector<cv::Mat> taps = sampleTaps(static_cast<int>(state.range(0)));
    const cv::patchcore::Params p = defaultParams();
    for (auto _ : state)
        benchmark::DoNotOptimize(embedPatches(taps, 0, p.patchSize, p.pretrainEmbedDim, p.targetEmbedDim).data);
    imagesPerSecond(state);
}
BENCHMARK(BM_Embedding)->Arg(28)->Arg(64)->Unit(benchmark::kMillisecond)->UseRealTime();

// Arguments: patch grid, working map side (28 / 224: centre crop; 64 / 512: the default's 512 px frame).
void BM_AnomalyMap(benchmark::State& state)
{
    const int grid = static_cast<int>(state.range(0)), side = static_cast<int>(state.range(1));
    cv::Mat scores(grid, grid, CV_32F);
    cv::RNG(7).fill(scores, cv::RNG::UNIFORM, 0, 10);
    for (auto _ : state)
        benchmark::DoNotOptimize(computeAnomalyMap(scores, cv::Size(side, side), 4.0).data);
    imagesPerSecond(state);
}
BENCHMARK(BM_AnomalyMap)->Args({28, 224})->Args({64, 512})->Unit(benchmark::kMillisecond)->UseRealTime();

// hazelnut_toy's test images, read once.
const std::vector<cv::Mat>& hazelnutTestImages()
{
    static std::vector<cv::Mat> tests;
    if (tests.empty())
    {
        for (const std::string& f : hazelnutTestFiles())
            tests.push_back(cv::imread(f, cv::IMREAD_UNCHANGED));
        if (tests.empty())
            tests.push_back(sampleImage());
    }
    return tests;
}

// The shared hazelnut detector on the engine of a benchmark argument (0 cv::dnn, 1 oneDNN fp32, 2 oneDNN bf16) for
// the benchmark's lifetime, then on ENGINE_AUTO again, so that other benchmarks see the default. ok() is false, and
// the benchmark reports why, when the data is absent or this build or CPU lacks the engine.
class EngineScope
{
public:
    EngineScope(benchmark::State& state, int64_t arg)
    {
        if (!requireData(state, kModel) || !requireData(state, "datasets/hazelnut_toy/train/good"))
            return;
        det_ = hazelnutDetector();
        const int engines[] = {cv::patchcore::ENGINE_OPENCV, cv::patchcore::ENGINE_ONEDNN_FP32,
                               cv::patchcore::ENGINE_ONEDNN_BF16};
        try
        {
            det_->setBackboneEngine(engines[arg]);
            ok_ = true;
            state.SetLabel(det_->getBackboneEngine());
        }
        catch (const cv::Exception& e)
        {
            state.SkipWithError(e.err.c_str()); // a build without oneDNN, or bf16 on a CPU without it
        }
    }
    ~EngineScope()
    {
        if (det_)
            det_->setBackboneEngine(cv::patchcore::ENGINE_AUTO);
    }
    bool ok() const { return ok_; }
    const cv::Ptr<cv::patchcore::Detector>& detector() const { return det_; }

private:
    cv::Ptr<cv::patchcore::Detector> det_;
    bool ok_ = false;
};

// End to end: a detector trained on hazelnut_toy's 28 good images (bank 2,195, as the reference's), predict() with
// the anomaly map on each test image in turn, images read beforehand; the argument is the engine (EngineScope).
void BM_EndToEnd(benchmark::State& state)
{
    const EngineScope engine(state, state.range(0));
    if (!engine.ok())
        return;
    const cv::Ptr<cv::patchcore::Detector>& det = engine.detector();
    const std::vector<cv::Mat>& tests = hazelnutTestImages();
    size_t next = 0;
    const double seconds = secondsInLoop(state, [&]() {
        cv::Mat map;
        benchmark::DoNotOptimize(det->predict(tests[next++ % tests.size()], map));
    });
    const double perImage = seconds / static_cast<double>(state.iterations());
    state.counters["s/img"] = perImage;
    state.counters["ratio_to_ref"] = perImage / kReferencePredictSeconds;
    state.counters["bank"] = det->getMemoryBankSize();
    imagesPerSecond(state);
}
BENCHMARK(BM_EndToEnd)->DenseRange(0, 2)->Unit(benchmark::kMillisecond)->UseRealTime();

// Throughput of concurrent predict() calls on one detector: arguments (engine as in EngineScope, callers). The
// machine's cores are shared out either way: 1 caller with cv::setNumThreads(cores), or `callers` threads with
// cv::setNumThreads(cores / callers) -- the global setting that both engines' inner threads follow -- each taking
// the next test image until all are scored. Callers gain where a single call leaves cores idle (serial stages:
// pre-processing, the anomaly map's blur, small layers); cv::dnn serialises its backbone runs, oneDNN does not.
void BM_ConcurrentPredict(benchmark::State& state)
{
    const EngineScope engine(state, state.range(0));
    if (!engine.ok())
        return;
    const cv::Ptr<cv::patchcore::Detector>& det = engine.detector();
    const std::vector<cv::Mat>& tests = hazelnutTestImages();
    const int callers = static_cast<int>(state.range(1)), cores = static_cast<int>(std::thread::hardware_concurrency());
    const int threadsBefore = cv::getNumThreads();
    cv::setNumThreads(std::max(1, cores / callers));
    secondsInLoop(state, [&]() {
        std::atomic<size_t> next(0);
        const auto work = [&]() {
            for (size_t i; (i = next++) < tests.size();)
            {
                cv::Mat map;
                benchmark::DoNotOptimize(det->predict(tests[i], map));
            }
        };
        std::vector<std::thread> others;
        for (int c = 1; c < callers; ++c)
            others.emplace_back(work);
        work();
        for (std::thread& t : others)
            t.join();
    });
    cv::setNumThreads(threadsBefore);
    state.counters["threads/caller"] = std::max(1, cores / callers);
    state.counters["images/s"] =
        benchmark::Counter(static_cast<double>(tests.size()), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_ConcurrentPredict)
    ->ArgsProduct({{0, 1, 2}, {1, 2}})
    ->ArgNames({"engine", "callers"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

} // namespace
