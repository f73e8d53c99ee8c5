#include "detector_impl.hpp"
#include "anomaly_map.hpp"
#include "coreset.hpp"
#include "embedding.hpp"
#include "serialization.hpp"

#include <tbb/parallel_for.h>

#include <cmath>
#include <limits>

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

/** The images of an InputArrayOfArrays, refusing a single Mat (which would otherwise be read as rows). */
std::vector<Mat> collectImages(InputArrayOfArrays images, const char* operation)
{
    const _InputArray::KindFlag kind = images.kind();
    if (kind != _InputArray::STD_VECTOR_MAT && kind != _InputArray::STD_ARRAY_MAT &&
        kind != _InputArray::STD_VECTOR_UMAT && kind != _InputArray::STD_VECTOR_CUDA_GPU_MAT)
        CV_Error(Error::StsBadArg, std::string("patchcore: ") + operation +
                                       " takes a list of images (std::vector<cv::Mat>), not a single image");
    const size_t n = images.total();
    if (n == 0)
        CV_Error(Error::StsBadArg, std::string("patchcore: ") + operation + " was given an empty list of images");
    std::vector<Mat> out(n);
    for (size_t i = 0; i < n; ++i)
    {
        out[i] = images.getMat(static_cast<int>(i));
        if (out[i].empty())
            CV_Error(Error::StsBadArg, std::string("patchcore: ") + operation + ": image " + std::to_string(i) +
                                           " of the list is empty (did cv::imread fail?)");
    }
    return out;
}

/** Settings that Params accepts but this build cannot honour yet fail loudly instead of being ignored. */
void checkSupported(const Params& p)
{
    if (p.inputMode != INPUT_CENTER_CROP)
        CV_Error(Error::StsNotImplemented, "patchcore: only inputMode = INPUT_CENTER_CROP is implemented");
    if (p.searchMethod != SEARCH_EXACT)
        CV_Error(Error::StsNotImplemented, "patchcore: only searchMethod = SEARCH_EXACT is implemented");
    if (p.bankFp16)
        CV_Error(Error::StsNotImplemented, "patchcore: bankFp16 is not implemented");
    if (p.coresetDevice == DEVICE_CUDA || p.searchDevice == DEVICE_CUDA)
        CV_Error(Error::StsNotImplemented, "patchcore: this build has no CUDA support; use DEVICE_CPU or DEVICE_AUTO");
}

} // namespace

DetectorImpl::DetectorImpl(const Params& params)
{
    params.validate();
    checkSupported(params);
    if (params.modelPath.empty())
        CV_Error(Error::StsBadArg, "patchcore: Params::modelPath is empty; set it to the backbone's .onnx file");
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
                                               state.params.backend, state.params.target);
    ExactSearch search;
    if (!state.bank.empty())
        search.setBank(state.bank);
    state_ = std::move(state);
    backbone_ = backbone;
    search_ = search;
}

void DetectorImpl::clear()
{
    state_.bank.release();
    state_.grid = Size();
    search_ = ExactSearch();
}

Size DetectorImpl::getFeatureGridSize() const
{
    requireTrained("getFeatureGridSize()");
    return state_.grid;
}

void DetectorImpl::requireTrained(const char* operation) const
{
    if (empty())
        CV_Error(Error::StsError, std::string("patchcore: ") + operation +
                                      " needs a trained detector; call train() or load a saved one first");
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

std::vector<DetectorImpl::ImageResult> DetectorImpl::extract(const std::vector<Mat>& images, size_t begin,
                                                             size_t end) const
{
    const Params& p = state_.params;
    const size_t n = end - begin;
    std::vector<ImageResult> results(n);
    std::vector<Mat> inputs(n);
    tbb::parallel_for(size_t(0), n, [&](size_t i) {
        inputs[i] = preprocessImage(images[begin + i], p, &results[i].geometry);
    });
    const std::vector<Mat> taps = backbone_->forward(packBlob(inputs));
    const Size grid = featureGridSize(taps);
    tbb::parallel_for(size_t(0), n, [&](size_t i) {
        results[i].grid = grid;
        results[i].embedding = embedPatches(taps, static_cast<int>(i), p.patchSize, p.pretrainEmbedDim,
                                            p.targetEmbedDim);
    });
    return results;
}

void DetectorImpl::train(InputArrayOfArrays imagesArg)
{
    const std::vector<Mat> images = collectImages(imagesArg, "train()");
    const Params& p = state_.params;
    const int total = static_cast<int>(images.size());
    if (!report("backbone", 0, total, "backbone: " + backbone_->description()))
        CV_Error(Error::StsError, "patchcore: training cancelled by the progress callback");

    Mat all;
    Size grid;
    for (size_t begin = 0; begin < images.size(); begin += p.batchSize)
    {
        const size_t end = std::min(images.size(), begin + static_cast<size_t>(p.batchSize));
        std::vector<ImageResult> batch = extract(images, begin, end);
        if (all.empty())
        {
            grid = batch[0].grid;
            const double rows = static_cast<double>(grid.area()) * total;
            if (rows > static_cast<double>(std::numeric_limits<int>::max()))
                CV_Error(Error::StsNoMem, "patchcore: " + std::to_string(total) + " training images give " +
                                              std::to_string(rows) + " patch vectors, more than one bank can index; "
                                              "train on fewer images or a smaller cropSize");
            all.create(grid.area() * total, p.targetEmbedDim, CV_32F);
        }
        for (size_t i = 0; i < batch.size(); ++i)
        {
            const Mat& e = batch[i].embedding;
            const int rows = e.rows;
            e.copyTo(all.rowRange(static_cast<int>(begin + i) * rows, static_cast<int>(begin + i + 1) * rows));
        }
        if (!report("backbone", static_cast<int>(end), total))
            CV_Error(Error::StsError, "patchcore: training cancelled by the progress callback");
    }

    const std::vector<int> selected = selectCoreset(all, p, [this](int done, int count) {
        return report("coreset", done, count);
    });
    Mat bank(static_cast<int>(selected.size()), all.cols, CV_32F);
    for (size_t i = 0; i < selected.size(); ++i)
        all.row(selected[i]).copyTo(bank.row(static_cast<int>(i)));
    if (p.k > bank.rows)
        CV_Error(Error::StsBadArg, "patchcore: k = " + std::to_string(p.k) + " exceeds the memory bank size (" +
                                       std::to_string(bank.rows) + "); lower k or keep more of the coreset");

    ExactSearch search;
    search.setBank(bank);
    state_.bank = bank;
    state_.grid = grid;
    search_ = search;
    report("done", 1, 1, "memory bank: " + std::to_string(bank.rows) + " of " + std::to_string(all.rows) +
                             " patch vectors");
}

double DetectorImpl::score(const Mat& embedding, Mat& patchScores) const
{
    const Params& p = state_.params;
    Mat distSq, indices;
    search_.knn(embedding, p.k, distSq, indices);
    patchScores.create(state_.grid, CV_32F);
    float* out = patchScores.ptr<float>();
    int worst = 0;
    for (int r = 0; r < distSq.rows; ++r)
    {
        double sum = 0;
        for (int j = 0; j < p.k; ++j)
        {
            const double d = distSq.at<float>(r, j);
            sum += p.metric == DISTANCE_L2 ? std::sqrt(d) : d;
        }
        out[r] = static_cast<float>(sum / p.k);
        if (out[r] > out[worst])
            worst = r;
    }
    double imageScore = out[worst];
    if (p.reweight)
    {
        // Paper Eq. 7, in anomalib's form: 1 - softmax over the Euclidean distances from the worst test patch to
        // its nearest bank vector m* and m*'s neighbours in the bank, taken at m*.
        const int nearest = indices.at<int>(worst, 0);
        const int b = std::min(p.reweightNeighbours, state_.bank.rows);
        Mat support, supportIdx;
        search_.knn(state_.bank.row(nearest), b, support, supportIdx);
        std::vector<double> dist(b);
        double maxDist = 0;
        for (int j = 0; j < b; ++j)
        {
            const Mat diff = embedding.row(worst) - state_.bank.row(supportIdx.at<int>(0, j));
            dist[j] = norm(diff, NORM_L2);
            maxDist = std::max(maxDist, dist[j]);
        }
        double denominator = 0;
        for (double d : dist)
            denominator += std::exp(d - maxDist);
        imageScore *= 1.0 - std::exp(dist[0] - maxDist) / denominator;
    }
    return imageScore;
}

void DetectorImpl::predictBatch(InputArrayOfArrays imagesArg, std::vector<double>& scores,
                                OutputArrayOfArrays anomalyMaps) const
{
    requireTrained("predictBatch()");
    const std::vector<Mat> images = collectImages(imagesArg, "predictBatch()");
    const bool wantMaps = anomalyMaps.needed();
    if (wantMaps && anomalyMaps.kind() != _InputArray::STD_VECTOR_MAT)
        CV_Error(Error::StsBadArg, "patchcore: predictBatch() returns maps in a std::vector<cv::Mat>");
    const Params& p = state_.params;
    const int total = static_cast<int>(images.size());
    std::vector<double> outScores(images.size());
    std::vector<Mat> maps(wantMaps ? images.size() : 0);
    for (size_t begin = 0; begin < images.size(); begin += p.batchSize)
    {
        const size_t end = std::min(images.size(), begin + static_cast<size_t>(p.batchSize));
        std::vector<ImageResult> batch = extract(images, begin, end);
        for (size_t i = 0; i < batch.size(); ++i)
        {
            Mat patchScores;
            outScores[begin + i] = score(batch[i].embedding, patchScores);
            if (wantMaps)
            {
                const CropGeometry& g = batch[i].geometry;
                const Mat cropMap = computeAnomalyMap(patchScores, g.crop.size(), p.sigma);
                maps[begin + i] = mapToInputFrame(cropMap, g, 0.f);
            }
        }
        if (!report("predict", static_cast<int>(end), total))
            CV_Error(Error::StsError, "patchcore: prediction cancelled by the progress callback");
    }
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
    requireTrained("predict()");
    if (frame != FRAME_IMAGE && frame != FRAME_WORKING)
        CV_Error(Error::StsBadArg, "patchcore: frame must be FRAME_IMAGE or FRAME_WORKING");
    const Mat img = image.getMat();
    if (img.empty())
        CV_Error(Error::StsBadArg, "patchcore: predict() was given an empty image (did cv::imread fail?)");
    const std::vector<Mat> one{img};
    std::vector<ImageResult> result = extract(one, 0, 1);
    Mat patchScores;
    const double s = score(result[0].embedding, patchScores);
    if (anomalyMap.needed())
    {
        const CropGeometry& g = result[0].geometry;
        const Mat working = computeAnomalyMap(patchScores, g.crop.size(), state_.params.sigma);
        if (frame == FRAME_WORKING)
            working.copyTo(anomalyMap);
        else
            mapToInputFrame(working, g, 0.f).copyTo(anomalyMap);
    }
    return s;
}

void DetectorImpl::toWorkingFrame(InputArray image, OutputArray out) const
{
    const Mat src = image.getMat();
    if (src.empty() || src.channels() != 1)
        CV_Error(Error::StsBadArg, "patchcore: toWorkingFrame() takes a non-empty single-channel image (a mask)");
    const Params& p = state_.params;
    const CropGeometry g = computeCropGeometry(src.size(), p.resizeSize, p.cropSize);
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
    Mat embedding;
    computeEmbedding(image, embedding);
    Mat scores;
    score(embedding, scores);
    scores.copyTo(patchScores);
}

void DetectorImpl::computeEmbedding(InputArray image, OutputArray embedding) const
{
    const Mat img = image.getMat();
    if (img.empty())
        CV_Error(Error::StsBadArg, "patchcore: computeEmbedding() was given an empty image");
    const std::vector<Mat> one{img};
    extract(one, 0, 1)[0].embedding.copyTo(embedding);
}

} // namespace detail
} // namespace patchcore
} // namespace cv
