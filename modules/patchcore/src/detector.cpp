#include "detector_impl.hpp"
#include "params_fields.hpp"
#include "anomaly_map.hpp"
#include "cuda_dispatch.hpp"
#include "embedding.hpp"
#include "serialization.hpp"
#include "stitching.hpp"

#include <tbb/parallel_for.h>

#include <cmath>
#include <limits>
#include <memory>

namespace cv {
namespace patchcore {

String Detector::getDefaultName() const
{
    return detail::kNodeName;
}

Ptr<Detector> Detector::create(const Params& params)
{
    return makePtr<detail::DetectorImpl>(params);
}

namespace detail {

namespace {

/** Settings that Params accepts but this build cannot honour yet fail loudly instead of being ignored. */
void checkSupported(const Params& p)
{
    // DEVICE_CUDA without a usable device fails here, with the reason, rather than at the first use.
    useCuda(p.coresetDevice, "coreset");
    useCuda(p.searchDevice, "search");
}

} // namespace

std::vector<Mat> collectImages(InputArrayOfArrays images, const char* operation)
{
    const _InputArray::KindFlag kind = images.kind();
    if (kind != _InputArray::STD_VECTOR_MAT && kind != _InputArray::STD_ARRAY_MAT &&
        kind != _InputArray::STD_VECTOR_UMAT && kind != _InputArray::STD_VECTOR_CUDA_GPU_MAT)
        PATCHCORE_ERROR(Error::StsBadArg,
                        std::string(operation) + " takes a list of images (std::vector<cv::Mat>), not a single image");
    const size_t n = images.total();
    if (n == 0)
        PATCHCORE_ERROR(Error::StsBadArg, std::string(operation) + " was given an empty list of images");
    std::vector<Mat> out(n);
    for (size_t i = 0; i < n; ++i)
    {
        out[i] = images.getMat(static_cast<int>(i));
        if (out[i].empty())
            PATCHCORE_ERROR(Error::StsBadArg, std::string(operation) + ": image " + std::to_string(i) +
                                                  " of the list is empty (did cv::imread fail?)");
    }
    return out;
}

Mat singleImage(InputArray image, const char* operation)
{
    const _InputArray::KindFlag kind = image.kind();
    if (kind == _InputArray::STD_VECTOR_MAT || kind == _InputArray::STD_ARRAY_MAT ||
        kind == _InputArray::STD_VECTOR_UMAT || kind == _InputArray::STD_VECTOR_VECTOR ||
        kind == _InputArray::STD_VECTOR_CUDA_GPU_MAT)
        PATCHCORE_ERROR(Error::StsBadArg, std::string(operation) + " takes one image (a cv::Mat), not a "
                                                                   "list; for several images use predictBatch()");
    const Mat img = image.getMat();
    if (img.empty())
        PATCHCORE_ERROR(Error::StsBadArg, std::string(operation) + " was given an empty image (did cv::imread fail?)");
    return img;
}

Mat roundToFp16(const Mat& bank)
{
    Mat half, back;
    bank.convertTo(half, CV_16F);
    half.convertTo(back, CV_32F);
    return back;
}

DetectorImpl::DetectorImpl(const Params& params)
{
    params.validate();
    checkSupported(params);
    if (params.modelPath.empty())
        PATCHCORE_ERROR(Error::StsBadArg, "Params::modelPath is empty; set it to the backbone's .onnx file");
    DetectorState state;
    state.params = params;
    state.modelBytes = readFileBytes(params.modelPath);
    state.modelSha256 = sha256Hex(state.modelBytes.data(), state.modelBytes.size());
    adopt(std::move(state));
}

DetectorImpl::DetectorImpl(DetectorState state)
{
    checkSupported(state.params);
    adopt(std::move(state));
}

void DetectorImpl::adopt(DetectorState state)
{
    // Build everything that can fail first, so that a failure leaves *this untouched.
    Ptr<Backbone> backbone = makePtr<Backbone>(state.modelBytes, state.params.modelPath, state.params.layers,
                                               state.params.backend, state.params.target, engine_);
    std::shared_ptr<BankIndex> search;
    if (!state.bank.empty())
    {
        search = createBankIndex(state.params, state.bank.rows);
        search->setBank(state.bank);
    }
    requestedInputMode_ = state.params.inputMode;
    requestedTileScale_ = state.params.tileScale;
    state_ = std::move(state);
    backbone_ = backbone;
    search_ = search;
}

void DetectorImpl::setBackboneEngine(int engine)
{
    // Built before anything changes: an engine that cannot run this model leaves the detector as it was.
    backbone_ = makePtr<Backbone>(state_.modelBytes, state_.params.modelPath, state_.params.layers,
                                  state_.params.backend, state_.params.target, engine);
    engine_ = engine;
}

void DetectorImpl::setRunSettings(const Params& run)
{
    Params p = state_.params;
    copyRunSettings(run, p);
    p.validate();
    checkSupported(p);
    // Built before anything changes, like setBackboneEngine().
    Ptr<Backbone> backbone = backbone_;
    if (p.backend != state_.params.backend || p.target != state_.params.target)
        backbone = makePtr<Backbone>(state_.modelBytes, p.modelPath, p.layers, p.backend, p.target, engine_);
    std::shared_ptr<BankIndex> search = search_;
    if (!state_.bank.empty() && p.searchDevice != state_.params.searchDevice)
    {
        search = createBankIndex(p, state_.bank.rows);
        search->setBank(state_.bank);
    }
    state_.params = p;
    backbone_ = backbone;
    search_ = search;
}

void DetectorImpl::clear()
{
    state_.bank.release();
    state_.grid = Size();
    forgetThresholds();
    search_.reset();
}

void DetectorImpl::forgetThresholds()
{
    state_.imageThreshold = state_.pixelThreshold = std::numeric_limits<double>::quiet_NaN();
    std::fill(state_.labelThresholds.begin(), state_.labelThresholds.end(), std::numeric_limits<double>::quiet_NaN());
}

Size DetectorImpl::getFeatureGridSize() const
{
    requireTrained("getFeatureGridSize()");
    return state_.grid;
}

void DetectorImpl::requireTrained(const char* operation) const
{
    if (empty())
        PATCHCORE_ERROR(Error::StsError,
                        std::string(operation) + " needs a trained detector; call train() or load a saved one first");
}

bool DetectorImpl::report(const char* stage, int done, int total, const std::string& message) const
{
    if (!progress_)
        return true;
    Progress p;
    p.stage = stage;
    p.done = done;
    p.total = total;
    p.message = message;
    return progress_(p);
}

ImageCost DetectorImpl::costOf(Size size, const Params& p) const
{
    return estimateImageCost(computeGeometry(size, p), p, *backbone_);
}

std::vector<ImageCost> DetectorImpl::checkCosts(const ImageSource& images, const Params& p,
                                                const char* operation) const
{
    const std::vector<Size> sizes = images.sizes();
    std::vector<ImageCost> costs(sizes.size());
    for (size_t i = 0; i < sizes.size(); ++i)
        costs[i] = checkImage(sizes[i], p, images.name(i), operation);
    return costs;
}

ImageCost DetectorImpl::checkImage(Size size, const Params& p, const std::string& name, const char* operation) const
{
    checkCareSize(state_.care, size, name, operation);
    const ImageCost cost = costOf(size, p);
    checkImageCost(cost, p, name, operation);
    return cost;
}

double DetectorImpl::carePatches(Size size, const Params& p) const
{
    const CropGeometry g = computeGeometry(size, p);
    const Mat working = careInWorkingFrame(careLabelsOf(state_.care, size, Mat()), g);
    double count = 0;
    for (const Rect& w : g.windows)
    {
        const Size grid = backbone_->windowCost(w.size()).grid;
        count += working.empty() ? grid.area() : countNonZero(patchCareOf(working, w, grid));
    }
    return count;
}

std::vector<DetectorImpl::ImageResult> DetectorImpl::extract(const std::vector<Mat>& images, size_t begin,
                                                             size_t end, const Params& p,
                                                             const std::vector<Mat>& frameMasks) const
{
    const size_t n = end - begin;
    CV_Assert(frameMasks.empty() || frameMasks.size() == n);
    std::vector<ImageResult> results(n);
    std::vector<Mat> inputs(n);
    tbb::parallel_for(size_t(0), n, [&](size_t i) {
        ImageResult& r = results[i];
        inputs[i] = preprocessImage(images[begin + i], p, &r.geometry);
        r.care = careLabelsOf(state_.care, r.geometry.input, frameMasks.empty() ? Mat() : frameMasks[i]);
        r.workingCare = careInWorkingFrame(r.care, r.geometry);
    });
    for (size_t i = 0; i < n; ++i)
    {
        const std::vector<Rect>& windows = results[i].geometry.windows;
        results[i].windows.resize(windows.size());
        tbb::parallel_for(size_t(0), windows.size(), [&](size_t w) {
            // The backbone serialises its runs; embedding one window overlaps with running the next.
            const std::vector<Mat> taps = backbone_->forward(packBlob({inputs[i](windows[w])}));
            WindowResult& r = results[i].windows[w];
            r.grid = featureGridSize(taps);
            r.embedding = embedPatches(taps, 0, p.patchSize, p.pretrainEmbedDim, p.targetEmbedDim);
            r.care = patchCareOf(results[i].workingCare, windows[w], r.grid);
        });
    }
    return results;
}

namespace {

/** A growing matrix of patch vectors: amortised doubling, so that training needs no count known in advance. */
class RowCollector
{
public:
    explicit RowCollector(int cols) : cols_(cols) {}
    void append(const Mat& rows)
    {
        CV_Assert(rows.cols == cols_ && rows.type() == CV_32F);
        const double needed = static_cast<double>(used_) + rows.rows;
        if (needed > static_cast<double>(std::numeric_limits<int>::max()))
            PATCHCORE_ERROR(Error::StsNoMem, "the training images give more than 2^31 patch vectors, more than "
                                             "one bank can index; train on fewer images or a smaller working frame");
        if (needed > storage_.rows)
        {
            Mat bigger(static_cast<int>(std::min<double>(std::numeric_limits<int>::max(),
                                                         std::max(needed, storage_.rows * 1.5))),
                       cols_, CV_32F);
            if (used_ > 0)
                storage_.rowRange(0, used_).copyTo(bigger.rowRange(0, used_));
            storage_ = bigger;
        }
        rows.copyTo(storage_.rowRange(used_, used_ + rows.rows));
        used_ += rows.rows;
    }
    void reserve(double rows)
    {
        if (used_ == 0 && rows > storage_.rows && rows < std::numeric_limits<int>::max())
            storage_.create(static_cast<int>(rows), cols_, CV_32F);
    }
    Mat rows() const { return used_ == 0 ? Mat() : storage_.rowRange(0, used_); }

private:
    int cols_;
    int used_ = 0;
    Mat storage_;
};

} // namespace

void DetectorImpl::forEachBatch(const ImageSource& images, const Params& p, const char* stage, const char* activity,
                                const std::string& startMessage,
                                const std::function<void(size_t, const std::vector<ImageResult>&)>& body) const
{
    const int total = static_cast<int>(images.size());
    const std::string cancelled = std::string(activity) + " cancelled by the progress callback";
    if (!startMessage.empty() && !report(stage, 0, total, startMessage))
        PATCHCORE_ERROR(Error::StsError, cancelled);
    const size_t step = static_cast<size_t>(p.batchSize);
    for (size_t begin = 0; begin < images.size(); begin += step)
    {
        const size_t end = std::min(images.size(), begin + step);
        const std::vector<Mat> batch = images.batch(begin, end);
        body(begin, extract(batch, 0, batch.size(), p));
        if (!report(stage, static_cast<int>(end), total))
            PATCHCORE_ERROR(Error::StsError, cancelled);
    }
}

void DetectorImpl::embedInto(const ImageSource& images, const Params& p, const char* activity,
                             const std::function<void(const ImageResult&)>& sink) const
{
    forEachBatch(images, p, "backbone", activity, "backbone: " + backbone_->description(),
                 [&](size_t, const std::vector<ImageResult>& batch) {
                     for (const ImageResult& r : batch)
                         sink(r);
                 });
}

Mat DetectorImpl::embedAll(const ImageSource& images, const char* operation) const
{
    checkCosts(images, state_.params, operation);
    RowCollector collector(state_.params.targetEmbedDim);
    embedInto(images, state_.params, operation, [&](const ImageResult& r) {
        for (const WindowResult& w : r.windows)
        {
            const Mat rows = careEmbedding(w.embedding, w.care);
            if (!rows.empty())
                collector.append(rows);
        }
    });
    if (collector.rows().empty())
        PATCHCORE_ERROR(Error::StsBadArg, std::string(operation) +
                                              ": no patch of these images lies in the "
                                              "care area (setCareMask()); enlarge the mask's non-zero area");
    return collector.rows();
}

Mat DetectorImpl::workingMap(const ImageResult& image, const Scores& scores) const
{
    const CropGeometry& g = image.geometry;
    const double sigma = state_.params.sigma;
    if (image.workingCare.empty())
        return stitchAnomalyMap(scores.patchScores, g.windows, g.crop.size(), sigma);
    // Normalised convolution: upsampling and smoothing are linear, so smoothing the scores of care patches (0
    // elsewhere) and dividing by the smoothed care indicator averages care patches only. A harmless bright area
    // outside the mask then neither leaks into the care area nor dims its edge.
    std::vector<Mat> weights;
    for (const WindowResult& w : image.windows)
    {
        Mat indicator;
        Mat(w.care != 0).convertTo(indicator, CV_32F, 1.0 / 255);
        weights.push_back(indicator);
    }
    const Mat sum = stitchAnomalyMap(scores.patchScores, g.windows, g.crop.size(), sigma);
    const Mat weight = stitchAnomalyMap(weights, g.windows, g.crop.size(), sigma);
    Mat map;
    divide(sum, max(weight, 1e-12), map);
    map.setTo(0, (weight < 1e-6) | (image.workingCare == 0));
    return map;
}

Mat DetectorImpl::imageMap(const ImageResult& image, const Scores& scores) const
{
    Mat map = mapToInputFrame(workingMap(image, scores), image.geometry, 0.f);
    if (!image.care.empty())
        map.setTo(0, image.care == 0);
    return map;
}

void DetectorImpl::predictBatch(InputArrayOfArrays imagesArg, std::vector<double>& scores,
                                OutputArrayOfArrays anomalyMaps) const
{
    requireTrained("predictBatch()");
    const std::vector<Mat> images = collectImages(imagesArg, "predictBatch()");
    const bool wantMaps = anomalyMaps.needed();
    if (wantMaps && anomalyMaps.kind() != _InputArray::STD_VECTOR_MAT)
        PATCHCORE_ERROR(Error::StsBadArg, "predictBatch() returns maps in a std::vector<cv::Mat>");
    const Params& p = state_.params;
    const int total = static_cast<int>(images.size());
    checkCosts(ImageSource::fromMats(images), p, "predictBatch()");
    std::vector<double> outScores(images.size());
    std::vector<Mat> maps(wantMaps ? images.size() : 0);
    forEachBatch(ImageSource::fromMats(images), p, "predict", "prediction", std::string(),
                 [&](size_t first, const std::vector<ImageResult>& batch) {
                     for (size_t i = 0; i < batch.size(); ++i)
                     {
                         const Scores s = score(batch[i]);
                         outScores[first + i] = s.image;
                         if (wantMaps)
                             maps[first + i] = imageMap(batch[i], s);
                     }
                 });
    scores = outScores;
    if (wantMaps)
    {
        anomalyMaps.create(total, 1, CV_32F, -1, true);
        for (int i = 0; i < total; ++i)
            anomalyMaps.getMatRef(i) = maps[i];
    }
}

double DetectorImpl::predict(InputArray image, OutputArray anomalyMap) const
{
    return predictMap(image, anomalyMap, FRAME_IMAGE);
}

double DetectorImpl::predictMap(InputArray image, OutputArray anomalyMap, int frame) const
{
    if (frame != FRAME_IMAGE && frame != FRAME_WORKING)
        PATCHCORE_ERROR(Error::StsBadArg, "frame must be FRAME_IMAGE or FRAME_WORKING");
    Mat map;
    const double s = scoreOne(singleImage(image, "predict()"), Mat(), anomalyMap.needed() ? &map : nullptr, frame,
                              "predict()");
    if (anomalyMap.needed())
        map.copyTo(anomalyMap);
    return s;
}

double DetectorImpl::scoreOne(const Mat& img, const Mat& frameMask, Mat* map, int frame, const char* operation,
                              Mat* care) const
{
    requireTrained(operation);
    checkImage(img.size(), state_.params, "the image", operation);
    if (!frameMask.empty() && frameMask.size() != img.size())
        PATCHCORE_ERROR(Error::StsBadSize, cv::format("%s: the frame's care mask is %dx%d but the image is %dx%d; "
                                                      "they must have one size",
                                                      operation, frameMask.cols, frameMask.rows, img.cols, img.rows));
    const std::vector<Mat> one{img};
    const std::vector<ImageResult> result =
        extract(one, 0, 1, state_.params, frameMask.empty() ? std::vector<Mat>() : std::vector<Mat>{frameMask});
    const Scores s = score(result[0]);
    if (map)
        *map = frame == FRAME_WORKING ? workingMap(result[0], s) : imageMap(result[0], s);
    if (care)
        *care = result[0].care;
    return s.image;
}

void DetectorImpl::toWorkingFrame(InputArray image, OutputArray out) const
{
    const Mat src = singleImage(image, "toWorkingFrame()");
    if (src.channels() != 1)
        PATCHCORE_ERROR(Error::StsBadArg, "toWorkingFrame() takes a non-empty single-channel image (a mask)");
    const Params& p = state_.params;
    const CropGeometry g = computeGeometry(src.size(), p);
    // 8-bit masks are resized in 8 bits, as the reference resizes its PIL masks, then scaled to [0, 1].
    Mat resized;
    double scale = 1.0;
    if (src.depth() == CV_8U)
    {
        resized = resizeImage(src, g.resized, p.resizeMethod);
        scale = 1.0 / 255;
    }
    else
    {
        Mat f;
        src.convertTo(f, CV_32F, src.depth() == CV_16U ? 1.0 / 65535 : 1.0);
        resized = resizeImage(f, g.resized, p.resizeMethod);
    }
    resized(g.crop).convertTo(out, CV_32F, scale);
}

void DetectorImpl::computePatchScores(InputArray image, OutputArray patchScores) const
{
    requireTrained("computePatchScores()");
    const Mat img = singleImage(image, "computePatchScores()");
    checkImage(img.size(), state_.params, "the image", "computePatchScores()");
    const std::vector<Mat> one{img};
    const std::vector<ImageResult> result = extract(one, 0, 1, state_.params);
    if (result[0].windows.size() != 1)
        PATCHCORE_ERROR(Error::StsNotImplemented, "computePatchScores() gives one grid; with INPUT_TILES use "
                                                  "predictMap()");
    score(result[0]).patchScores[0].copyTo(patchScores);
}

void DetectorImpl::computeEmbedding(InputArray image, OutputArray embedding) const
{
    const Mat img = singleImage(image, "computeEmbedding()");
    checkImage(img.size(), state_.params, "the image", "computeEmbedding()");
    const std::vector<Mat> one{img};
    const std::vector<ImageResult> result = extract(one, 0, 1, state_.params);
    std::vector<Mat> rows;
    for (const WindowResult& w : result[0].windows)
        rows.push_back(w.embedding);
    Mat all;
    vconcat(rows, all);
    all.copyTo(embedding);
}

} // namespace detail
} // namespace patchcore
} // namespace cv
