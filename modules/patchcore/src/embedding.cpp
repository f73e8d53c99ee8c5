#include "embedding.hpp"
#include "interpolation.hpp"

#include <tbb/parallel_for.h>

namespace cv {
namespace patchcore {
namespace detail {

PoolingBins adaptivePoolBins(int inputLength, int outputLength)
{
    CV_Assert(inputLength > 0 && outputLength > 0);
    PoolingBins bins;
    bins.begin.resize(outputLength);
    bins.end.resize(outputLength);
    const int64_t L = inputLength, D = outputLength;
    for (int64_t i = 0; i < D; ++i)
    {
        bins.begin[i] = static_cast<int>((i * L) / D);
        bins.end[i] = static_cast<int>(((i + 1) * L + D - 1) / D);
    }
    return bins;
}

namespace {

// Sequential float sum divided by the count: the same rounding as torch's adaptive_avg_pool1d kernel.
inline void poolInto(const float* in, const PoolingBins& bins, float* out)
{
    const int D = static_cast<int>(bins.begin.size());
    for (int i = 0; i < D; ++i)
    {
        float sum = 0.f;
        for (int j = bins.begin[i]; j < bins.end[i]; ++j)
            sum += in[j];
        out[i] = sum / static_cast<float>(bins.end[i] - bins.begin[i]);
    }
}

} // namespace

Mat adaptivePoolRows(const Mat& rows, int outputLength)
{
    CV_Assert(rows.type() == CV_32F && rows.isContinuous());
    if (rows.cols == outputLength)
        return rows.clone();
    Mat out(rows.rows, outputLength, CV_32F);
    if (rows.cols % outputLength == 0)
    {
        // Equal bins of w consecutive elements: the same sequential sums, vectorised across bins.
        const int w = rows.cols / outputLength;
        tbb::parallel_for(0, rows.rows, [&](int r) {
            const float* in = rows.ptr<float>(r);
            float* o = out.ptr<float>(r);
            for (int i = 0; i < outputLength; ++i)
                o[i] = 0.f;
            for (int j = 0; j < w; ++j)
                for (int i = 0; i < outputLength; ++i)
                    o[i] += in[i * w + j];
            for (int i = 0; i < outputLength; ++i)
                o[i] /= static_cast<float>(w);
        });
        return out;
    }
    const PoolingBins bins = adaptivePoolBins(rows.cols, outputLength);
    tbb::parallel_for(0, rows.rows, [&](int r) { poolInto(rows.ptr<float>(r), bins, out.ptr<float>(r)); });
    return out;
}

Mat aggregateNeighbourhoods(const float* planes, int channels, Size grid, int patchSize, int pooledDim)
{
    CV_Assert(planes && channels > 0 && grid.area() > 0 && patchSize > 0 && patchSize % 2 == 1 && pooledDim > 0);
    const int p2 = patchSize * patchSize;
    const int radius = patchSize / 2;
    const int L = channels * p2;
    const PoolingBins bins = adaptivePoolBins(L, pooledDim);
    Mat out(grid.area(), pooledDim, CV_32F);

    // Positions x channels (HWC): a neighbourhood then lives in p x p contiguous rows of C floats instead of C planes
    // far apart, so that gathering it stays in L1/L2 rather than touching every plane per position.
    Mat hwc;
    transpose(Mat(channels, grid.area(), CV_32F, const_cast<float*>(planes)), hwc);
    const std::vector<float> zeros(channels, 0.f);
    // Element l of the flattened (c, ky, kx) neighbourhood is channel l / p2 of neighbour l % p2.
    std::vector<int> channelOf(L), neighbourOf(L);
    for (int l = 0; l < L; ++l)
    {
        channelOf[l] = l / p2;
        neighbourOf[l] = l % p2;
    }

    // When every bin holds neighbours of one channel only, and the same neighbours for every channel (pooledDim a
    // multiple m of channels: m = 1 for layer3's 1024 -> 1024, m = 2 for layer2's 512 x 9 -> 1024), bin j of channel c
    // is a sum over rows[k][c], k in the range of bin j: the same sequential sums, run across channels in SIMD lanes.
    const int perChannel = pooledDim % channels == 0 ? pooledDim / channels : 0;
    bool withinChannels = perChannel > 0;
    for (int i = 0; withinChannels && i < pooledDim; ++i)
    {
        const int c = i / perChannel, j = i % perChannel;
        withinChannels = bins.begin[i] - c * p2 == bins.begin[j] && bins.end[i] - c * p2 == bins.end[j] &&
                         bins.end[j] <= p2;
    }
    tbb::parallel_for(0, grid.height, [&](int y) {
        std::vector<const float*> rows(p2);
        std::vector<float> sums(withinChannels ? channels : 0);
        for (int x = 0; x < grid.width; ++x)
        {
            for (int ky = 0; ky < patchSize; ++ky)
                for (int kx = 0; kx < patchSize; ++kx)
                {
                    const int sy = y + ky - radius, sx = x + kx - radius;
                    const bool inside = sy >= 0 && sy < grid.height && sx >= 0 && sx < grid.width;
                    rows[ky * patchSize + kx] = inside ? hwc.ptr<float>(sy * grid.width + sx) : zeros.data();
                }
            // Sequential float sums in flattened order, as torch's adaptive_avg_pool1d adds them.
            float* dst = out.ptr<float>(y * grid.width + x);
            if (withinChannels)
            {
                for (int j = 0; j < perChannel; ++j)
                {
                    float* acc = sums.data();
                    std::fill(acc, acc + channels, 0.f);
                    for (int k = bins.begin[j]; k < bins.end[j]; ++k)
                    {
                        const float* src = rows[k];
                        for (int c = 0; c < channels; ++c)
                            acc[c] += src[c];
                    }
                    const float count = static_cast<float>(bins.end[j] - bins.begin[j]);
                    for (int c = 0; c < channels; ++c)
                        dst[c * perChannel + j] = acc[c] / count;
                }
                continue;
            }
            for (int i = 0; i < pooledDim; ++i)
            {
                float sum = 0.f;
                for (int l = bins.begin[i]; l < bins.end[i]; ++l)
                    sum += rows[neighbourOf[l]][channelOf[l]];
                dst[i] = sum / static_cast<float>(bins.end[i] - bins.begin[i]);
            }
        }
    });
    return out;
}

Size featureGridSize(const std::vector<Mat>& tapBlobs)
{
    CV_Assert(!tapBlobs.empty() && tapBlobs[0].dims == 4);
    return Size(tapBlobs[0].size[3], tapBlobs[0].size[2]);
}

Mat embedPatches(const std::vector<Mat>& tapBlobs, int index, int patchSize, int pretrainDim, int targetDim)
{
    const Size grid = featureGridSize(tapBlobs);
    const int numTaps = static_cast<int>(tapBlobs.size());
    Mat concatenated(grid.area(), numTaps * pretrainDim, CV_32F);
    for (int t = 0; t < numTaps; ++t)
    {
        const Mat& blob = tapBlobs[t];
        CV_Assert(blob.dims == 4 && blob.type() == CV_32F && blob.isContinuous() && index < blob.size[0]);
        const int channels = blob.size[1];
        const Size tapGrid(blob.size[3], blob.size[2]);
        const float* planes = blob.ptr<float>(index);
        Mat pooled = aggregateNeighbourhoods(planes, channels, tapGrid, patchSize, pretrainDim);
        if (tapGrid != grid)
            pooled = resizeGridBilinear(pooled, tapGrid, grid);
        pooled.copyTo(concatenated.colRange(t * pretrainDim, (t + 1) * pretrainDim));
    }
    return adaptivePoolRows(concatenated, targetDim);
}

} // namespace detail
} // namespace patchcore
} // namespace cv
