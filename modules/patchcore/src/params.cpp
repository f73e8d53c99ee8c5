#include "precomp.hpp"
#include <opencv2/dnn.hpp>

#include <cmath>
#include <limits>
#include <type_traits>

namespace cv {
namespace patchcore {

Params::Params()
    : layers{"layer2", "layer3"},
      resizeSize(256),
      cropSize(224),
      resizeMethod(RESIZE_PIL_BILINEAR),
      mean(0.485, 0.456, 0.406),
      stdev(0.229, 0.224, 0.225),
      patchSize(3),
      pretrainEmbedDim(1024),
      targetEmbedDim(1024),
      coresetMethod(CORESET_GREEDY),
      coresetRatio(0.1),
      projectionDim(128),
      numStarts(10),
      k(1),
      metric(DISTANCE_L2_SQUARED),
      reweight(false),
      reweightNeighbours(9),
      sigma(4.0),
      seed(0),
      coresetRandom(RANDOM_OPENCV),
      referenceDrawsBefore(0),
      batchSize(4),
      backend(dnn::DNN_BACKEND_OPENCV),
      target(dnn::DNN_TARGET_CPU),
      embedModel(true),
      inputMode(INPUT_AUTO),
      tileScale(1.0),
      tileOverlap(0.25),
      coresetDevice(DEVICE_AUTO),
      searchDevice(DEVICE_AUTO),
      searchMethod(SEARCH_AUTO),
      bankFp16(false),
      calibrationFraction(0),
      imageFalseAlarmRate(0.01),
      pixelFalseAlarmRate(0.001),
      memoryBudgetMB(2048),
      maxImageMB(2048),
      coresetMaxSize(-1),
      coresetChunkRows(-1)
{
}

void Params::write(FileStorage& fs) const
{
    fs << "modelPath" << modelPath;
    fs << "layers" << layers;
    fs << "resizeSize" << resizeSize;
    fs << "cropSize" << cropSize;
    fs << "resizeMethod" << resizeMethod;
    fs << "mean" << std::vector<double>{mean[0], mean[1], mean[2]};
    fs << "stdev" << std::vector<double>{stdev[0], stdev[1], stdev[2]};
    fs << "patchSize" << patchSize;
    fs << "pretrainEmbedDim" << pretrainEmbedDim;
    fs << "targetEmbedDim" << targetEmbedDim;
    fs << "coresetMethod" << coresetMethod;
    fs << "coresetRatio" << coresetRatio;
    fs << "projectionDim" << projectionDim;
    fs << "numStarts" << numStarts;
    fs << "k" << k;
    fs << "metric" << metric;
    fs << "reweight" << static_cast<int>(reweight);
    fs << "reweightNeighbours" << reweightNeighbours;
    fs << "sigma" << sigma;
    fs << "seed" << seed;
    fs << "coresetRandom" << coresetRandom;
    fs << "referenceDrawsBefore" << referenceDrawsBefore;
    fs << "batchSize" << batchSize;
    fs << "backend" << backend;
    fs << "target" << target;
    fs << "embedModel" << static_cast<int>(embedModel);
    fs << "inputMode" << inputMode;
    fs << "tileScale" << tileScale;
    fs << "tileOverlap" << tileOverlap;
    fs << "coresetDevice" << coresetDevice;
    fs << "searchDevice" << searchDevice;
    fs << "searchMethod" << searchMethod;
    fs << "bankFp16" << static_cast<int>(bankFp16);
    fs << "memoryBudgetMB" << memoryBudgetMB;
    fs << "maxImageMB" << maxImageMB;
    fs << "coresetMaxSize" << coresetMaxSize;
    fs << "coresetChunkRows" << coresetChunkRows;
    fs << "calibrationFraction" << calibrationFraction;
    fs << "imageFalseAlarmRate" << imageFalseAlarmRate;
    fs << "pixelFalseAlarmRate" << pixelFalseAlarmRate;
}

namespace {

template <typename T>
void readIfPresent(const FileNode& node, const char* name, T& value)
{
    const FileNode n = node[name];
    if (n.empty())
        return;
    if (!n.isInt() && !n.isReal())
        CV_Error(Error::StsParseError, std::string("patchcore: parameter '") + name + "' must be a number");
    const double v = static_cast<double>(n);
    if (!std::isfinite(v))
        CV_Error(Error::StsParseError, std::string("patchcore: parameter '") + name + "' is not finite");
    // Converting a double outside T's range is undefined behaviour (found by fuzzing: "k: 3e12").
    if (std::is_integral<T>::value &&
        !(v >= static_cast<double>(std::numeric_limits<T>::lowest()) && v <= static_cast<double>(std::numeric_limits<T>::max())))
        CV_Error(Error::StsParseError, std::string("patchcore: parameter '") + name + "' = " + std::to_string(v) +
                                           " is out of range");
    // Truncating "k: 2.5" to 2 would run a detector other than the one the file describes.
    if (std::is_integral<T>::value && v != std::floor(v))
        CV_Error(Error::StsParseError, std::string("patchcore: parameter '") + name + "' = " + std::to_string(v) +
                                           " must be a whole number");
    value = static_cast<T>(v);
}

void readBool(const FileNode& node, const char* name, bool& value)
{
    int v = value ? 1 : 0;
    readIfPresent(node, name, v);
    value = v != 0;
}

void readTriple(const FileNode& node, const char* name, Scalar& value)
{
    const FileNode n = node[name];
    if (n.empty())
        return;
    std::vector<double> v;
    n >> v;
    if (v.size() != 3)
        CV_Error(Error::StsParseError, std::string("patchcore: parameter '") + name + "' must hold 3 numbers (R, G, B)");
    value = Scalar(v[0], v[1], v[2]);
}

void require(bool ok, const std::string& what)
{
    if (!ok)
        CV_Error(Error::StsBadArg, "patchcore: invalid Params: " + what);
}

} // namespace

void Params::read(const FileNode& node)
{
    if (node.empty() || !node.isMap())
        CV_Error(Error::StsParseError, "patchcore: expected a map of Params fields");
    Params p = *this;
    if (!node["modelPath"].empty())
    {
        if (!node["modelPath"].isString())
            CV_Error(Error::StsParseError, "patchcore: parameter 'modelPath' must be a string");
        p.modelPath = static_cast<std::string>(node["modelPath"]);
    }
    if (!node["layers"].empty())
    {
        p.layers.clear();
        node["layers"] >> p.layers;
    }
    readIfPresent(node, "resizeSize", p.resizeSize);
    readIfPresent(node, "cropSize", p.cropSize);
    readIfPresent(node, "resizeMethod", p.resizeMethod);
    readTriple(node, "mean", p.mean);
    readTriple(node, "stdev", p.stdev);
    readIfPresent(node, "patchSize", p.patchSize);
    readIfPresent(node, "pretrainEmbedDim", p.pretrainEmbedDim);
    readIfPresent(node, "targetEmbedDim", p.targetEmbedDim);
    readIfPresent(node, "coresetMethod", p.coresetMethod);
    readIfPresent(node, "coresetRatio", p.coresetRatio);
    readIfPresent(node, "projectionDim", p.projectionDim);
    readIfPresent(node, "numStarts", p.numStarts);
    readIfPresent(node, "k", p.k);
    readIfPresent(node, "metric", p.metric);
    readBool(node, "reweight", p.reweight);
    readIfPresent(node, "reweightNeighbours", p.reweightNeighbours);
    readIfPresent(node, "sigma", p.sigma);
    readIfPresent(node, "seed", p.seed);
    readIfPresent(node, "coresetRandom", p.coresetRandom);
    readIfPresent(node, "referenceDrawsBefore", p.referenceDrawsBefore);
    readIfPresent(node, "batchSize", p.batchSize);
    readIfPresent(node, "backend", p.backend);
    readIfPresent(node, "target", p.target);
    readBool(node, "embedModel", p.embedModel);
    readIfPresent(node, "inputMode", p.inputMode);
    readIfPresent(node, "tileScale", p.tileScale);
    readIfPresent(node, "tileOverlap", p.tileOverlap);
    readIfPresent(node, "coresetDevice", p.coresetDevice);
    readIfPresent(node, "searchDevice", p.searchDevice);
    readIfPresent(node, "searchMethod", p.searchMethod);
    readBool(node, "bankFp16", p.bankFp16);
    readIfPresent(node, "memoryBudgetMB", p.memoryBudgetMB);
    readIfPresent(node, "maxImageMB", p.maxImageMB);
    readIfPresent(node, "coresetMaxSize", p.coresetMaxSize);
    readIfPresent(node, "coresetChunkRows", p.coresetChunkRows);
    readIfPresent(node, "calibrationFraction", p.calibrationFraction);
    readIfPresent(node, "imageFalseAlarmRate", p.imageFalseAlarmRate);
    readIfPresent(node, "pixelFalseAlarmRate", p.pixelFalseAlarmRate);
    p.validate();
    *this = p;
}

void Params::validate() const
{
    require(!layers.empty(), "layers is empty; name at least one backbone output (e.g. layer2, layer3)");
    for (const String& l : layers)
        require(!l.empty(), "layers holds an empty name");
    require(cropSize > 0 && cropSize <= 8192, "cropSize must be in [1, 8192], got " + std::to_string(cropSize));
    require(resizeSize >= cropSize && resizeSize <= 16384,
            "resizeSize must be >= cropSize (" + std::to_string(cropSize) + ") and <= 16384, got " +
                std::to_string(resizeSize));
    require(resizeMethod >= RESIZE_PIL_BILINEAR && resizeMethod <= RESIZE_LINEAR,
            "resizeMethod must be a cv::patchcore::ResizeMethod");
    for (int c = 0; c < 3; ++c)
    {
        require(std::isfinite(mean[c]), "mean must be finite");
        require(std::isfinite(stdev[c]) && stdev[c] > 0, "stdev must be positive in every channel");
    }
    require(patchSize >= 1 && patchSize <= 15 && patchSize % 2 == 1,
            "patchSize must be odd and in [1, 15], got " + std::to_string(patchSize));
    require(pretrainEmbedDim >= 1 && pretrainEmbedDim <= 65536, "pretrainEmbedDim must be in [1, 65536]");
    require(targetEmbedDim >= 1 && targetEmbedDim <= 65536, "targetEmbedDim must be in [1, 65536]");
    require(coresetMethod >= CORESET_GREEDY && coresetMethod <= CORESET_NONE,
            "coresetMethod must be a cv::patchcore::CoresetMethod");
    require(coresetRatio > 0 && coresetRatio <= 1, "coresetRatio must be in (0, 1], got " + std::to_string(coresetRatio));
    require(projectionDim >= 0, "projectionDim must be >= 0 (0 = no projection)");
    require(numStarts >= 1, "numStarts must be >= 1");
    require(coresetRandom == RANDOM_OPENCV || coresetRandom == RANDOM_REFERENCE,
            "coresetRandom must be a cv::patchcore::CoresetRandom");
    require(coresetRandom != RANDOM_REFERENCE || seed >= 0,
            "coresetRandom RANDOM_REFERENCE draws like numpy, whose seeds are >= 0; got seed " + std::to_string(seed));
    require(referenceDrawsBefore >= 0, "referenceDrawsBefore must be >= 0, got " + std::to_string(referenceDrawsBefore));
    require(k >= 1, "k must be >= 1");
    require(metric == DISTANCE_L2_SQUARED || metric == DISTANCE_L2, "metric must be a cv::patchcore::DistanceMetric");
    require(reweightNeighbours >= 1, "reweightNeighbours must be >= 1");
    require(std::isfinite(sigma) && sigma >= 0 && sigma <= 1000, "sigma must be in [0, 1000]");
    require(batchSize >= 1 && batchSize <= 1024, "batchSize must be in [1, 1024]");
    require(inputMode >= INPUT_CENTER_CROP && inputMode <= INPUT_FRAME, "inputMode must be a cv::patchcore::InputMode");
    require(std::isfinite(tileScale) && tileScale > 0 && tileScale <= 16, "tileScale must be in (0, 16]");
    require(std::isfinite(tileOverlap) && tileOverlap >= 0 && tileOverlap <= 0.9, "tileOverlap must be in [0, 0.9]");
    require(coresetDevice >= DEVICE_AUTO && coresetDevice <= DEVICE_CUDA,
            "coresetDevice must be a cv::patchcore::ComputeDevice");
    require(searchDevice >= DEVICE_AUTO && searchDevice <= DEVICE_CUDA,
            "searchDevice must be a cv::patchcore::ComputeDevice");
    require(searchMethod == SEARCH_EXACT || searchMethod == SEARCH_APPROXIMATE || searchMethod == SEARCH_AUTO,
            "searchMethod must be a cv::patchcore::SearchMethod (SEARCH_EXACT, SEARCH_APPROXIMATE or SEARCH_AUTO)");
    require(std::isfinite(memoryBudgetMB) && memoryBudgetMB >= 0, "memoryBudgetMB must be >= 0 (0 = no bound)");
    require(std::isfinite(maxImageMB) && maxImageMB >= 0,
            "maxImageMB must be >= 0 (0 = only the memory this process may use)");
    require(coresetMaxSize >= -1, "coresetMaxSize must be -1 (automatic), 0 (no cap) or a positive bank size");
    require(coresetChunkRows == -1 || coresetChunkRows == 0 || coresetChunkRows >= 1024,
            "coresetChunkRows must be -1 (automatic), 0 (one selection over all vectors) or at least 1024");
    require(calibrationFraction >= 0 && calibrationFraction < 1, "calibrationFraction must be in [0, 1)");
    require(imageFalseAlarmRate > 0 && imageFalseAlarmRate < 1, "imageFalseAlarmRate must be in (0, 1)");
    require(pixelFalseAlarmRate > 0 && pixelFalseAlarmRate < 1, "pixelFalseAlarmRate must be in (0, 1)");
}

} // namespace patchcore
} // namespace cv
