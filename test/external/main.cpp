// Uses the installed cv::patchcore through its public headers only: create, train, predict, save, load, metrics.
// Usage: consumer <tiny_backbone.onnx> <scratch folder>
#include <opencv2/patchcore.hpp>
#include <opencv2/patchcore/metrics.hpp>

#include <iostream>
#include <vector>

namespace {

// Smooth deterministic texture; `defect` adds a bright square that a trained detector must score higher.
cv::Mat texture(int seed, bool defect)
{
    cv::Mat img(64, 64, CV_8UC3);
    for (int y = 0; y < img.rows; ++y)
        for (int x = 0; x < img.cols; ++x)
        {
            const int v = 100 + ((x * 7 + y * 13 + seed * 5) % 23) + ((x / 8 + y / 8) % 2) * 30;
            img.at<cv::Vec3b>(y, x) = cv::Vec3b(cv::saturate_cast<uchar>(v), cv::saturate_cast<uchar>(v + 10),
                                                cv::saturate_cast<uchar>(v - 10));
        }
    if (defect)
        img(cv::Rect(24, 24, 16, 16)).setTo(cv::Scalar(255, 255, 255));
    return img;
}

int fail(const std::string& what)
{
    std::cerr << "consumer: FAILED: " << what << "\n";
    return 1;
}

} // namespace

int main(int argc, char** argv)
{
    if (argc != 3)
        return fail("usage: consumer <tiny_backbone.onnx> <scratch folder>");
    cv::patchcore::Params params;
    params.modelPath = argv[1];
    params.layers = {"tap_a", "tap_b"};
    params.resizeSize = params.cropSize = 64;
    params.pretrainEmbedDim = params.targetEmbedDim = 32;
    params.projectionDim = 16;
    auto det = cv::patchcore::Detector::create(params);

    std::vector<cv::Mat> good;
    for (int i = 0; i < 6; ++i)
        good.push_back(texture(i, false));
    det->train(good);

    std::vector<double> scores;
    std::vector<int> labels;
    for (int i = 0; i < 4; ++i)
        for (int defect = 0; defect < 2; ++defect)
        {
            scores.push_back(det->predict(texture(10 + i, defect != 0)));
            labels.push_back(defect);
        }
    const double auroc = cv::patchcore::imageAUROC(scores, labels);
    if (auroc < 1.0)
        return fail("image AUROC " + std::to_string(auroc) + " on obvious defects, expected 1");

    const std::string file = std::string(argv[2]) + "/consumer.pcb";
    det->save(file);
    auto again = cv::patchcore::Detector::load(file);
    if (again->predict(texture(10, true)) != scores[1])
        return fail("a loaded detector scores differently from the saved one");
    std::cout << "consumer: OK (bank " << det->getMemoryBankSize() << " vectors, image AUROC " << auroc << ")\n";
    return 0;
}
