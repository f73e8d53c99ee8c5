// Private header shared by the module's sources.
#ifndef OPENCV_PATCHCORE_PRECOMP_HPP
#define OPENCV_PATCHCORE_PRECOMP_HPP

#include "opencv2/patchcore.hpp"
#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/imgproc.hpp>
#include "errors.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#endif
