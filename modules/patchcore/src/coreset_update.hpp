// Continuing a greedy coreset: selecting new vectors farthest from an existing bank (Detector::update()).
#ifndef OPENCV_PATCHCORE_CORESET_UPDATE_HPP
#define OPENCV_PATCHCORE_CORESET_UPDATE_HPP

#include "coreset.hpp"

namespace cv {
namespace patchcore {
namespace detail {

/** Rows of `candidates` to add to `bank` (both N x D CV_32F), chosen as Params configures the coreset: all of
 *  them (CORESET_NONE), a random coresetSize(N, ratio) subset, or greedy k-centre selection in the same random
 *  projection as selectCoreset() whose running distances start at each candidate's distance to the nearest bank
 *  vector, so that the existing bank acts as already-selected centres. Indices in selection order. */
std::vector<int> selectAdditions(const Mat& bank, const Mat& candidates, const Params& params,
                                 const StepCallback& onStep = StepCallback());

} // namespace detail
} // namespace patchcore
} // namespace cv

#endif
