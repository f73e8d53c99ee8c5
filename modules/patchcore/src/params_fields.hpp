// What params.cpp's field table offers the rest of the library.
#ifndef OPENCV_PATCHCORE_PARAMS_FIELDS_HPP
#define OPENCV_PATCHCORE_PARAMS_FIELDS_HPP

#include "opencv2/patchcore.hpp"

namespace cv {
namespace patchcore {
namespace detail {

/** Copies the run settings of `from` (how one process runs a detector: backbone backend and target, coreset and
 *  search devices, batch size, memory bounds) into `to`, leaving every model setting of `to` as it is. */
void copyRunSettings(const Params& from, Params& to);

} // namespace detail
} // namespace patchcore
} // namespace cv

#endif
