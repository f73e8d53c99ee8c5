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
    const PoolingBins bins = adaptivePoolBins(rows.cols, outputLength);
    Mat out(rows.rows, outputLength, CV_32F);
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
    const size_t planeSize = static_cast<size_t>(grid.area());
    Mat out(grid.area(), pooledDim, CV_32F);

    tbb::parallel_for(0, grid.height, [&](int y) {
        std::vector<float> neighbourhood(L);
        for (int x = 0; x < grid.width; ++x)
        {
            for (int ky = 0; ky < patchSize; ++ky)
            {
                const int sy = y + ky - radius;
                for (int kx = 0; kx < patchSize; ++kx)
                {
                    const int sx = x + kx - radius;
                    const int k = ky * patchSize + kx;
                    float* dst = neighbourhood.data() + k;
                    if (sy < 0 || sy >= grid.height || sx < 0 || sx >= grid.width)
                    {
                        for (int c = 0; c < channels; ++c)
                            dst[static_cast<size_t>(c) * p2] = 0.f;
                    }
                    else
                    {
                        const float* src = planes + static_cast<size_t>(sy) * grid.width + sx;
                        for (int c = 0; c < channels; ++c)
                            dst[static_cast<size_t>(c) * p2] = src[c * planeSize];
                    }
                }
            }
            poolInto(neighbourhood.data(), bins, out.ptr<float>(y * grid.width + x));
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
