// Fuzzes the backbone path: Detector::create() with fuzzed bytes as the ONNX file, then one training image and
// one prediction, so that odd-but-loadable networks (wrong ranks, tiny or empty outputs) reach the pipeline.
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const std::string path = patchcore_fuzz::writeInput("model.onnx", data, size);
    cv::patchcore::Params p;
    p.modelPath = path;
    p.layers = {"tap_a", "tap_b"};
    p.resizeSize = 32;
    p.cropSize = 32;
    p.pretrainEmbedDim = 16;
    p.targetEmbedDim = 16;
    p.coresetRatio = 0.5;
    try
    {
        cv::Ptr<cv::patchcore::Detector> det = cv::patchcore::Detector::create(p);
        std::vector<cv::Mat> train{cv::Mat(32, 32, CV_8UC3, cv::Scalar(10, 200, 90))};
        det->train(train);
        patchcore_fuzz::exercise(*det);
    }
    catch (const cv::Exception&)
    {
    }
    return 0;
}
