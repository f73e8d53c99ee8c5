#include "embedding.hpp"
#include "interpolation.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <memory>

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

/** Adaptive average pooling of one row: sequential float sums divided by the count, the same rounding as torch's
 *  adaptive_avg_pool1d kernel. */
class RowPool
{
public:
    RowPool(int inputLength, int outputLength)
        : out_(outputLength), equalWidth_(inputLength % outputLength == 0 ? inputLength / outputLength : 0)
    {
        if (!equalWidth_)
            bins_ = adaptivePoolBins(inputLength, outputLength);
    }

    void operator()(const float* in, float* o) const
    {
        if (equalWidth_)
        {
            // Equal bins of w consecutive elements: the same sequential sums, vectorised across bins.
            const int w = equalWidth_;
            for (int i = 0; i < out_; ++i)
                o[i] = 0.f;
            for (int j = 0; j < w; ++j)
                for (int i = 0; i < out_; ++i)
                    o[i] += in[i * w + j];
            for (int i = 0; i < out_; ++i)
                o[i] /= static_cast<float>(w);
            return;
        }
        for (int i = 0; i < out_; ++i)
        {
            float sum = 0.f;
            for (int j = bins_.begin[i]; j < bins_.end[i]; ++j)
                sum += in[j];
            o[i] = sum / static_cast<float>(bins_.end[i] - bins_.begin[i]);
        }
    }

private:
    int out_, equalWidth_;
    PoolingBins bins_;
};

/** aggregateNeighbourhoods one grid row at a time (see the header). */
class NeighbourhoodPool
{
public:
    NeighbourhoodPool(const float* planes, int channels, Size grid, int patchSize, int pooledDim)
        : channels_(channels), grid_(grid), patchSize_(patchSize), pooledDim_(pooledDim),
          bins_(adaptivePoolBins(channels * patchSize * patchSize, pooledDim)), zeros_(channels, 0.f)
    {
        CV_Assert(planes && channels > 0 && grid.area() > 0 && patchSize > 0 && patchSize % 2 == 1 && pooledDim > 0);
        // Positions x channels (HWC): a neighbourhood then lives in p x p contiguous rows of C floats instead of C
        // planes far apart, so that gathering it stays in L1/L2 rather than touching every plane per position.
        transpose(Mat(channels, grid.area(), CV_32F, const_cast<float*>(planes)), hwc_);
        const int p2 = patchSize * patchSize, L = channels * p2;
        // Element l of the flattened (c, ky, kx) neighbourhood is channel l / p2 of neighbour l % p2.
        channelOf_.resize(L);
        neighbourOf_.resize(L);
        for (int l = 0; l < L; ++l)
        {
            channelOf_[l] = l / p2;
            neighbourOf_[l] = l % p2;
        }
        // When every bin holds neighbours of one channel only, and the same neighbours for every channel (pooledDim a
        // multiple m of channels: m = 1 for layer3's 1024 -> 1024, m = 2 for layer2's 512 x 9 -> 1024), bin j of
        // channel c is a sum over rows[k][c], k in the range of bin j: the same sequential sums, run across channels
        // in SIMD lanes.
        perChannel_ = pooledDim % channels == 0 ? pooledDim / channels : 0;
        bool within = perChannel_ > 0;
        for (int i = 0; within && i < pooledDim; ++i)
        {
            const int c = i / perChannel_, j = i % perChannel_;
            within = bins_.begin[i] - c * p2 == bins_.begin[j] && bins_.end[i] - c * p2 == bins_.end[j] &&
                     bins_.end[j] <= p2;
        }
        if (!within)
            perChannel_ = 0;
    }

    /** Grid row y: position x's pooledDim values at dst + x * dstStride. */
    void row(int y, float* dst, size_t dstStride) const
    {
        const int p = patchSize_, p2 = p * p, radius = p / 2, C = channels_;
        std::vector<const float*> rows(p2);
        thread_local std::vector<float> sums;
        sums.resize(std::max(sums.size(), static_cast<size_t>(C)));
        for (int x = 0; x < grid_.width; ++x, dst += dstStride)
        {
            for (int ky = 0; ky < p; ++ky)
                for (int kx = 0; kx < p; ++kx)
                {
                    const int sy = y + ky - radius, sx = x + kx - radius;
                    const bool inside = sy >= 0 && sy < grid_.height && sx >= 0 && sx < grid_.width;
                    rows[ky * p + kx] = inside ? hwc_.ptr<float>(sy * grid_.width + sx) : zeros_.data();
                }
            // Sequential float sums in flattened order, as torch's adaptive_avg_pool1d adds them.
            if (perChannel_)
            {
                for (int j = 0; j < perChannel_; ++j)
                {
                    float* acc = sums.data();
                    std::fill(acc, acc + C, 0.f);
                    for (int k = bins_.begin[j]; k < bins_.end[j]; ++k)
                    {
                        const float* src = rows[k];
                        for (int c = 0; c < C; ++c)
                            acc[c] += src[c];
                    }
                    const float count = static_cast<float>(bins_.end[j] - bins_.begin[j]);
                    for (int c = 0; c < C; ++c)
                        dst[c * perChannel_ + j] = acc[c] / count;
                }
                continue;
            }
            for (int i = 0; i < pooledDim_; ++i)
            {
                float sum = 0.f;
                for (int l = bins_.begin[i]; l < bins_.end[i]; ++l)
                    sum += rows[neighbourOf_[l]][channelOf_[l]];
                dst[i] = sum / static_cast<float>(bins_.end[i] - bins_.begin[i]);
            }
        }
    }

private:
    int channels_;
    Size grid_;
    int patchSize_, pooledDim_, perChannel_ = 0;
    PoolingBins bins_;
    Mat hwc_;
    std::vector<float> zeros_;
    std::vector<int> channelOf_, neighbourOf_;
};

} // namespace

Mat adaptivePoolRows(const Mat& rows, int outputLength)
{
    CV_Assert(rows.type() == CV_32F && rows.isContinuous());
    if (rows.cols == outputLength)
        return rows.clone();
    Mat out(rows.rows, outputLength, CV_32F);
    const RowPool pool(rows.cols, outputLength);
    tbb::parallel_for(0, rows.rows, [&](int r) { pool(rows.ptr<float>(r), out.ptr<float>(r)); });
    return out;
}

Mat aggregateNeighbourhoods(const float* planes, int channels, Size grid, int patchSize, int pooledDim)
{
    const NeighbourhoodPool pool(planes, channels, grid, patchSize, pooledDim);
    Mat out(grid.area(), pooledDim, CV_32F);
    tbb::parallel_for(0, grid.height,
                      [&](int y) { pool.row(y, out.ptr<float>(y * grid.width), static_cast<size_t>(pooledDim)); });
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
    const int width = numTaps * pretrainDim;
    // Taps at the first tap's grid are pooled row by row below; deeper (coarser) taps are pooled whole at their own
    // resolution, a fraction of the grid, and resampled row by row.
    std::vector<std::unique_ptr<NeighbourhoodPool>> direct(numTaps);
    std::vector<Mat> coarse(numTaps);
    std::vector<std::unique_ptr<GridResampler>> resamplers(numTaps);
    for (int t = 0; t < numTaps; ++t)
    {
        const Mat& blob = tapBlobs[t];
        CV_Assert(blob.dims == 4 && blob.type() == CV_32F && blob.isContinuous() && index < blob.size[0]);
        const Size tapGrid(blob.size[3], blob.size[2]);
        const float* planes = blob.ptr<float>(index);
        if (tapGrid == grid)
            direct[t].reset(new NeighbourhoodPool(planes, blob.size[1], tapGrid, patchSize, pretrainDim));
        else
        {
            coarse[t] = aggregateNeighbourhoods(planes, blob.size[1], tapGrid, patchSize, pretrainDim);
            resamplers[t].reset(new GridResampler(tapGrid, grid));
        }
    }
    // One grid row of the concatenation at a time (W x width floats, in L2) instead of the whole concatenation
    // (32 MB at a 64 x 64 grid, freshly mapped and faulted in on every image): the same values, in the same order.
    Mat out(grid.area(), targetDim, CV_32F);
    const RowPool pool(width, targetDim);
    tbb::parallel_for(tbb::blocked_range<int>(0, grid.height, 1), [&](const tbb::blocked_range<int>& range) {
        // Kept per thread across calls: a fresh buffer per task would be mapped and faulted in every time.
        thread_local std::vector<float> scratch;
        scratch.resize(std::max(scratch.size(), static_cast<size_t>(grid.width) * width));
        float* concatenated = scratch.data();
        for (int y = range.begin(); y < range.end(); ++y)
        {
            for (int t = 0; t < numTaps; ++t)
            {
                float* dst = concatenated + static_cast<size_t>(t) * pretrainDim;
                if (direct[t])
                    direct[t]->row(y, dst, width);
                else
                    resamplers[t]->row(coarse[t], y, dst, width);
            }
            for (int x = 0; x < grid.width; ++x)
            {
                float* o = out.ptr<float>(y * grid.width + x);
                const float* in = concatenated + static_cast<size_t>(x) * width;
                if (width == targetDim)
                    std::copy(in, in + width, o);
                else
                    pool(in, o);
            }
        }
    });
    return out;
}

} // namespace detail
} // namespace patchcore
} // namespace cv
