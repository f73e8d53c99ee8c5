// The random draws of the authors' implementation (patchcore-inspection): torch's CPU generator for the greedy
// coreset's projection and numpy's legacy RandomState for its start points. With them a Detector selects the
// reference's coreset for the same seed, which no other generator can (doc/PARITY.md).
#ifndef OPENCV_PATCHCORE_REFERENCE_RNG_HPP
#define OPENCV_PATCHCORE_REFERENCE_RNG_HPP

#include "precomp.hpp"

namespace cv {
namespace patchcore {
namespace detail {

/** The weight of torch.nn.Linear(inDim, outDim, bias=False) created after torch.manual_seed(seed) and `drawsBefore`
 *  32-bit draws by other code (e.g. the backbone's own initialisation), transposed to inDim x outDim CV_32F: the
 *  layout of a projection applied as rows * projection. Bit-identical to torch 1.13's CPU generator. */
Mat torchLinearProjection(int inDim, int outDim, uint32_t seed, int64 drawsBefore);

/** numpy.random.seed(seed); numpy.random.choice(n, count, replace=False): numpy's legacy permutation of range(n),
 *  first `count` entries. Bit-identical to numpy's RandomState (unchanged since numpy 1.0). */
std::vector<int> numpyChoiceWithoutReplacement(int n, int count, uint32_t seed);

} // namespace detail
} // namespace patchcore
} // namespace cv

#endif
