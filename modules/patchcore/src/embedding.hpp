// Locally aware patch features: backbone taps -> one pooled vector per feature-grid position.
#ifndef OPENCV_PATCHCORE_EMBEDDING_HPP
#define OPENCV_PATCHCORE_EMBEDDING_HPP

#include "precomp.hpp"

namespace cv {
namespace patchcore {
namespace detail {

/** Bins of 1-D adaptive average pooling (torch adaptive_avg_pool1d): output i averages input elements
 *  [begin[i], end[i]) with begin = floor(i * L / D) and end = ceil((i + 1) * L / D). */
struct PoolingBins
{
    std::vector<int> begin, end;
};
PoolingBins adaptivePoolBins(int inputLength, int outputLength);

/** Pools each row of a CV_32F matrix to `outputLength` columns. */
Mat adaptivePoolRows(const Mat& rows, int outputLength);

/** One tap of one image (C planes of h x w floats, contiguous) -> (h * w) x `pooledDim` matrix: each position's
 *  zero-padded p x p neighbourhood, flattened channel-major (c, ky, kx), pooled to `pooledDim`. */
Mat aggregateNeighbourhoods(const float* planes, int channels, Size grid, int patchSize, int pooledDim);

/** Full embedding of image `index` of a batch of tap blobs (each N x C x h x w): every tap aggregated at its own
 *  resolution, deeper taps resized bilinearly to the first tap's grid, concatenated in tap order and pooled to
 *  `targetDim`. Returns (H0 * W0) x targetDim CV_32F, row = y * W0 + x. */
Mat embedPatches(const std::vector<Mat>& tapBlobs, int index, int patchSize, int pretrainDim, int targetDim);

/** The feature grid (H0, W0) of a batch of taps: the first tap's spatial size. */
Size featureGridSize(const std::vector<Mat>& tapBlobs);

} // namespace detail
} // namespace patchcore
} // namespace cv

#endif
