// The oneDNN backbone engine against cv::dnn: taps, scores, concurrency, and the errors of unsupported models.
#include "test_precomp.hpp"

#include "backbone.hpp"
#include "eval_harness.hpp"
#include "opencv2/patchcore/metrics.hpp"

#include <opencv2/dnn.hpp>

#include <atomic>
#include <fstream>
#include <iterator>
#include <thread>

namespace opencv_test {
namespace {

using namespace cv::patchcore;
using cv::patchcore::detail::Backbone;

const char* const kResNet = "models/resnet50v2_to_layer3.onnx";
const char* const kSqueezeNet = "models/squeezenet1.1.onnx";

#define PATCHCORE_REQUIRE_ONEDNN()                                                                          \
    do {                                                                                                    \
        if (!::cv::patchcore::detail::oneDnnBuilt())                                                        \
            GTEST_SKIP() << "SKIPPED: this build has no oneDNN engine (install libdnnl-dev and reconfigure)"; \
    } while (0)

std::vector<uchar> fileBytes(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    return std::vector<uchar>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/** An N x 3 x H x W blob of normalised-image-like values (about N(0, 1)), reproducible from `seed`. */
cv::Mat randomBlob(int n, int h, int w, int seed)
{
    const int shape[4] = {n, 3, h, w};
    cv::Mat blob(4, shape, CV_32F);
    cv::RNG(seed).fill(blob, cv::RNG::NORMAL, 0, 1);
    return blob;
}

/** max |a - b| / max |b|: the error of a tap relative to its scale. */
double relativeError(const cv::Mat& a, const cv::Mat& b)
{
    EXPECT_EQ(a.dims, b.dims);
    for (int d = 0; d < std::min(a.dims, b.dims); ++d)
        EXPECT_EQ(a.size[d], b.size[d]) << "dimension " << d;
    if (a.total() != b.total())
        return 1e9;
    return cv::norm(a, b, cv::NORM_INF) / std::max(cv::norm(b, cv::NORM_INF), 1e-30);
}

/** Runs `blob` through the model on cv::dnn and on oneDNN (`engine`); returns the worst tap's relative error. */
double engineError(const std::vector<uchar>& bytes, const std::vector<cv::String>& taps, const cv::Mat& blob,
                   int engine)
{
    const Backbone reference(bytes, "model", taps, cv::dnn::DNN_BACKEND_OPENCV, cv::dnn::DNN_TARGET_CPU,
                             ENGINE_OPENCV);
    const Backbone onednn(bytes, "model", taps, cv::dnn::DNN_BACKEND_OPENCV, cv::dnn::DNN_TARGET_CPU, engine);
    EXPECT_NE(onednn.description().find("oneDNN"), std::string::npos) << onednn.description();
    const std::vector<cv::Mat> expected = reference.forward(blob), actual = onednn.forward(blob);
    EXPECT_EQ(expected.size(), actual.size());
    double worst = 0;
    for (size_t t = 0; t < std::min(expected.size(), actual.size()); ++t)
        worst = std::max(worst, relativeError(actual[t], expected[t]));
    return worst;
}

TEST(Patchcore_OneDnn, tiny_model_fp32_taps_match_cv_dnn)
{
    PATCHCORE_REQUIRE_ONEDNN();
    const std::vector<uchar> bytes = fileBytes(testDataPath("test_models/tiny_backbone.onnx"));
    const int sizes[][3] = {{1, 64, 64}, {1, 37, 53}, {2, 64, 64}, {1, 8, 200}};
    for (const auto& s : sizes)
        EXPECT_LT(engineError(bytes, {"tap_a", "tap_b"}, randomBlob(s[0], s[1], s[2], s[1]), ENGINE_ONEDNN_FP32),
                  1e-4)
            << s[0] << " x " << s[1] << " x " << s[2];
}

TEST(Patchcore_OneDnn, resnet50_fp32_taps_match_cv_dnn_at_several_sizes)
{
    PATCHCORE_REQUIRE_ONEDNN();
    PATCHCORE_REQUIRE_DATA(kResNet);
    const std::vector<uchar> bytes = fileBytes(dataPath(kResNet));
    const int sizes[][3] = {{1, 224, 224}, {1, 320, 224}, {1, 65, 481}, {2, 224, 224}};
    for (const auto& s : sizes)
    {
        const double err = engineError(bytes, {"layer2", "layer3"}, randomBlob(s[0], s[1], s[2], 7), ENGINE_ONEDNN_FP32);
        std::cout << "[ INFO     ] ResNet50 fp32 " << s[0] << " x " << s[1] << " x " << s[2]
                  << ": relative error " << err << std::endl;
        EXPECT_LT(err, 1e-4);
    }
}

TEST(Patchcore_OneDnn, resnet50_bf16_taps_are_close)
{
    PATCHCORE_REQUIRE_ONEDNN();
    PATCHCORE_REQUIRE_DATA(kResNet);
    if (!detail::oneDnnBf16Native())
        GTEST_SKIP() << "SKIPPED: this CPU has neither AVX512_BF16 nor AMX";
    const std::vector<uchar> bytes = fileBytes(dataPath(kResNet));
    const double err = engineError(bytes, {"layer2", "layer3"}, randomBlob(1, 224, 224, 3), ENGINE_ONEDNN_BF16);
    std::cout << "[ INFO     ] ResNet50 bf16 224 x 224: relative error " << err << std::endl;
    RecordProperty("bf16_relative_error", std::to_string(err));
    EXPECT_LT(err, 3e-2);
}

TEST(Patchcore_OneDnn, squeezenet_concat_and_ceil_pooling_match_cv_dnn)
{
    PATCHCORE_REQUIRE_ONEDNN();
    PATCHCORE_REQUIRE_DATA(kSqueezeNet);
    const std::vector<uchar> bytes = fileBytes(dataPath(kSqueezeNet));
    for (int side : {224, 113})
        EXPECT_LT(engineError(bytes, {"fire2", "fire4", "fire8"}, randomBlob(1, side, side, side), ENGINE_ONEDNN_FP32),
                  1e-4)
            << side;
}

TEST(Patchcore_OneDnn, native_batch_matches_single_images)
{
    PATCHCORE_REQUIRE_ONEDNN();
    const std::vector<uchar> bytes = fileBytes(testDataPath("test_models/tiny_backbone.onnx"));
    const std::vector<cv::String> taps = {"tap_a", "tap_b"};
    const auto engine = detail::makeOneDnnEngine(
        detail::lowerOnnxGraph(detail::readOnnxGraph(bytes, "tiny"), taps, "tiny"), "tiny", false);
    cv::Mat blob = randomBlob(3, 40, 48, 5);
    std::vector<cv::Mat> batch = engine->run(blob);
    for (int i = 0; i < 3; ++i)
    {
        const int one[4] = {1, 3, 40, 48};
        const std::vector<cv::Mat> single = engine->run(cv::Mat(4, one, CV_32F, blob.ptr<float>(i)));
        for (size_t t = 0; t < taps.size(); ++t)
        {
            const int shape[4] = {1, batch[t].size[1], batch[t].size[2], batch[t].size[3]};
            EXPECT_LT(relativeError(cv::Mat(4, shape, CV_32F, batch[t].ptr<float>(i)), single[t]), 1e-5);
        }
    }
}

TEST(Patchcore_OneDnn, concurrent_runs_equal_sequential_ones)
{
    PATCHCORE_REQUIRE_ONEDNN();
    const bool resnet = dataExists(kResNet);
    const std::vector<uchar> bytes = fileBytes(resnet ? dataPath(kResNet) : testDataPath("test_models/tiny_backbone.onnx"));
    const std::vector<cv::String> taps = resnet ? std::vector<cv::String>{"layer2", "layer3"}
                                                : std::vector<cv::String>{"tap_a", "tap_b"};
    const Backbone backbone(bytes, "model", taps, cv::dnn::DNN_BACKEND_OPENCV, cv::dnn::DNN_TARGET_CPU,
                            ENGINE_ONEDNN_FP32);
    const int threads = 4, runs = 3;
    std::vector<cv::Mat> inputs;
    std::vector<std::vector<cv::Mat>> expected;
    for (int i = 0; i < threads; ++i)
    {
        // Two shapes, so that threads also compile and share networks at the same time.
        inputs.push_back(randomBlob(1, i % 2 ? 96 : 128, 128, 20 + i));
        expected.push_back(backbone.forward(inputs.back()));
    }
    std::atomic<int> mismatches(0);
    std::vector<std::thread> pool;
    for (int i = 0; i < threads; ++i)
        pool.emplace_back([&, i]() {
            for (int r = 0; r < runs; ++r)
            {
                const std::vector<cv::Mat> got = backbone.forward(inputs[i]);
                for (size_t t = 0; t < got.size(); ++t)
                    if (cv::norm(got[t], expected[i][t], cv::NORM_INF) != 0)
                        ++mismatches;
            }
        });
    for (std::thread& t : pool)
        t.join();
    EXPECT_EQ(mismatches.load(), 0);
}

TEST(Patchcore_OneDnn, unsupported_operator_is_named_and_auto_falls_back)
{
    PATCHCORE_REQUIRE_ONEDNN();
    Params p = tinyModelParams();
    p.modelPath = testDataPath("test_models/tiny_rank2.onnx");
    p.layers = {"flat"};
    cv::Ptr<Detector> det = Detector::create(p); // ENGINE_AUTO: cv::dnn runs the Flatten
    EXPECT_NE(det->getBackboneEngine().find("cv::dnn"), std::string::npos) << det->getBackboneEngine();
    try
    {
        det->setBackboneEngine(ENGINE_ONEDNN_FP32);
        ADD_FAILURE() << "an unsupported operator was accepted";
    }
    catch (const cv::Exception& e)
    {
        EXPECT_NE(e.err.find("patchcore: "), std::string::npos) << e.err;
        EXPECT_NE(e.err.find("'Flatten'"), std::string::npos) << e.err;
        EXPECT_NE(e.err.find("ENGINE_OPENCV"), std::string::npos) << e.err;
    }
    EXPECT_NE(det->getBackboneEngine().find("cv::dnn"), std::string::npos) << "a failed switch changed the engine";
    EXPECT_THROW(det->setBackboneEngine(42), cv::Exception);
}

TEST(Patchcore_OneDnn, detector_scores_match_between_engines)
{
    PATCHCORE_REQUIRE_ONEDNN();
    const bool resnet = dataExists(kResNet) && dataExists("datasets/hazelnut_toy/train/good");
    Params p = resnet ? referenceParams() : tinyModelParams();
    if (resnet)
        p.modelPath = dataPath(kResNet);
    std::vector<cv::Mat> train, test;
    cv::RNG rng(11);
    for (int i = 0; i < 6; ++i)
    {
        cv::Mat img(resnet ? 256 : 64, resnet ? 256 : 64, CV_8UC3);
        rng.fill(img, cv::RNG::UNIFORM, 0, 256);
        cv::GaussianBlur(img, img, cv::Size(5, 5), 0);
        (i < 4 ? train : test).push_back(img);
    }
    cv::Ptr<Detector> det = Detector::create(p);
    det->setBackboneEngine(ENGINE_OPENCV);
    std::vector<std::string> messages;
    det->setProgressCallback([&](const Progress& pr) {
        messages.push_back(pr.message);
        return true;
    });
    det->train(train);
    std::vector<double> cvScores, oneScores;
    det->predictBatch(test, cvScores);
    det->setBackboneEngine(ENGINE_ONEDNN_FP32);
    EXPECT_NE(det->getBackboneEngine().find("oneDNN"), std::string::npos);
    det->predictBatch(test, oneScores);
    bool named = false;
    for (const std::string& m : messages)
        named = named || m.find("backbone: cv::dnn") != std::string::npos;
    EXPECT_TRUE(named) << "the progress message does not name the engine";
    for (size_t i = 0; i < test.size(); ++i)
        EXPECT_NEAR(oneScores[i], cvScores[i], 1e-4 * std::abs(cvScores[i])) << "image " << i;
}

/** A float initializer of `graph`. */
void addTensor(detail::OnnxGraph& graph, const std::string& name, const std::vector<int64_t>& dims, float scale, int seed)
{
    detail::OnnxTensor t;
    t.dims = dims;
    t.type = 1;
    size_t n = 1;
    for (int64_t d : dims)
        n *= static_cast<size_t>(d);
    t.floats.resize(n);
    cv::RNG rng(seed);
    for (float& v : t.floats)
        v = static_cast<float>(rng.uniform(0.2, 1.0) * scale);
    graph.initializers[name] = t;
}

detail::OnnxNode makeNode(const std::string& op, const std::vector<std::string>& inputs, const std::string& output)
{
    detail::OnnxNode n;
    n.name = output;
    n.op = op;
    n.inputs = inputs;
    n.outputs = {output};
    return n;
}

/** Conv (8 -> 8 channels, 3 x 3) reading `input`, with weights `w` and bias `b`; `pads` as ONNX orders them. */
detail::OnnxNode conv3x3(const std::string& input, const std::string& w, const std::string& b, const std::string& out,
                         int pad)
{
    detail::OnnxNode n = makeNode("Conv", {input, w, b}, out);
    n.attributes["pads"].ints = {pad, pad, pad, pad};
    return n;
}

std::vector<cv::Mat> runGraph(const detail::OnnxGraph& g, const cv::Mat& blob)
{
    return detail::makeOneDnnEngine(detail::lowerOnnxGraph(g, {"out"}, "synthetic"), "synthetic", false)->run(blob);
}

// The foldings that the shared models do not exercise (their exporter folded BatchNormalization already and they
// have no Pad), checked against the same network written without them: Conv -> BN -> Relu equals a Conv with
// folded weights plus ReLU, and Pad -> Conv equals a Conv with those pads.
TEST(Patchcore_OneDnn, batch_norm_and_pad_folding_match_the_unfolded_network)
{
    PATCHCORE_REQUIRE_ONEDNN();
    detail::OnnxGraph folded;
    folded.inputs = {"input"};
    addTensor(folded, "w1", {8, 3, 3, 3}, 0.3f, 1);
    addTensor(folded, "b1", {8}, 0.1f, 2);
    addTensor(folded, "gamma", {8}, 1.f, 3);
    addTensor(folded, "beta", {8}, 0.5f, 4);
    addTensor(folded, "mean", {8}, 0.2f, 5);
    addTensor(folded, "var", {8}, 2.f, 6);
    addTensor(folded, "w2", {8, 8, 3, 3}, 0.2f, 7);
    addTensor(folded, "b2", {8}, 0.1f, 8);
    detail::OnnxTensor pads;
    pads.type = 7;
    pads.dims = {8};
    pads.ints = {0, 0, 1, 2, 0, 0, 1, 2};
    folded.initializers["pads"] = pads;
    folded.nodes.push_back(conv3x3("input", "w1", "b1", "c1", 1));
    folded.nodes.push_back(makeNode("BatchNormalization", {"c1", "gamma", "beta", "mean", "var"}, "bn"));
    folded.nodes.push_back(makeNode("Relu", {"bn"}, "r1"));
    folded.nodes.push_back(makeNode("Pad", {"r1", "pads"}, "padded"));
    folded.nodes.push_back(conv3x3("padded", "w2", "b2", "out", 0));
    folded.outputs = {"out"};

    // The same network by hand: BN's scale and shift in the first convolution, the pads in the second's attribute.
    detail::OnnxGraph plain = folded;
    const auto& t = folded.initializers;
    detail::OnnxTensor& w1 = plain.initializers["w1"];
    detail::OnnxTensor& b1 = plain.initializers["b1"];
    for (int o = 0; o < 8; ++o)
    {
        const float scale = t.at("gamma").floats[o] / std::sqrt(t.at("var").floats[o] + 1e-5f);
        for (int k = 0; k < 27; ++k)
            w1.floats[o * 27 + k] *= scale;
        b1.floats[o] = (b1.floats[o] - t.at("mean").floats[o]) * scale + t.at("beta").floats[o];
    }
    plain.nodes = {conv3x3("input", "w1", "b1", "c1", 1), makeNode("Relu", {"c1"}, "r1"),
                   conv3x3("r1", "w2", "b2", "out", 0)};
    plain.nodes[2].attributes["pads"].ints = {1, 2, 1, 2};

    const cv::Mat blob = randomBlob(1, 19, 23, 9);
    const std::vector<cv::Mat> a = runGraph(folded, blob), b = runGraph(plain, blob);
    EXPECT_EQ(b[0].size[2], 19);
    EXPECT_EQ(b[0].size[3], 25);
    EXPECT_LT(relativeError(a[0], b[0]), 1e-5);
}

/** Ranks with ties averaged, for Spearman's coefficient. */
std::vector<double> ranks(const std::vector<double>& v)
{
    std::vector<size_t> order(v.size());
    for (size_t i = 0; i < order.size(); ++i)
        order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
    std::vector<double> r(v.size());
    for (size_t i = 0; i < order.size();)
    {
        size_t j = i;
        while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]])
            ++j;
        for (size_t k = i; k <= j; ++k)
            r[order[k]] = 0.5 * (i + j);
        i = j + 1;
    }
    return r;
}

double spearman(const std::vector<double>& a, const std::vector<double>& b)
{
    const std::vector<double> ra = ranks(a), rb = ranks(b);
    cv::Mat ma(ra, true), mb(rb, true), mean, dev;
    cv::Scalar meanA, sdA, meanB, sdB;
    cv::meanStdDev(ma, meanA, sdA);
    cv::meanStdDev(mb, meanB, sdB);
    return (ma - meanA[0]).dot(mb - meanB[0]) / (ra.size() * sdA[0] * sdB[0]);
}

// The bank comes from fp32 training; only prediction runs in bf16, as a deployment that switches engines would.
TEST(Patchcore_OneDnn, bf16_scores_agree_with_fp32_on_hazelnut_toy)
{
    PATCHCORE_REQUIRE_ONEDNN();
    PATCHCORE_REQUIRE_DATA(kResNet);
    PATCHCORE_REQUIRE_DATA("datasets/hazelnut_toy/test");
    if (!detail::oneDnnBf16Native())
        GTEST_SKIP() << "SKIPPED: this CPU has neither AVX512_BF16 nor AMX";
    const patchcore_eval::Split split = patchcore_eval::loadSplit(dataPath("datasets/hazelnut_toy"));
    Params p = referenceParams();
    p.modelPath = dataPath(kResNet);
    cv::Ptr<Detector> det = Detector::create(p);
    det->setBackboneEngine(ENGINE_ONEDNN_FP32);
    det->train(patchcore_eval::readImages(split.train));
    std::vector<std::string> paths;
    std::vector<int> labels;
    for (const patchcore_eval::Sample& s : split.test)
    {
        paths.push_back(s.path);
        labels.push_back(s.label);
    }
    const std::vector<cv::Mat> images = patchcore_eval::readImages(paths);
    std::vector<double> fp32, bf16;
    det->predictBatch(images, fp32);
    det->setBackboneEngine(ENGINE_ONEDNN_BF16);
    det->predictBatch(images, bf16);
    double worst = 0;
    for (size_t i = 0; i < fp32.size(); ++i)
        worst = std::max(worst, std::abs(bf16[i] - fp32[i]) / fp32[i]);
    const double rho = spearman(fp32, bf16), aurocFp32 = imageAUROC(fp32, labels), aurocBf16 = imageAUROC(bf16, labels);
    std::cout << "[ INFO     ] hazelnut_toy, " << fp32.size() << " test images, bank from fp32 training: Spearman "
              << rho << ", image AUROC fp32 " << aurocFp32 << " bf16 " << aurocBf16 << ", largest relative score "
              << "difference " << worst << std::endl;
    RecordProperty("spearman", std::to_string(rho));
    RecordProperty("auroc_difference", std::to_string(aurocBf16 - aurocFp32));
    EXPECT_GT(rho, 0.95);
    EXPECT_LT(std::abs(aurocBf16 - aurocFp32), 0.02);
}

} // namespace
} // namespace opencv_test
