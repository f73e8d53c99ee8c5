// Care masks: which image areas a detector learns from and scores (Detector::setCareMask), carried through the
// pre-processing geometry to the working frame and to every patch of every backbone window.
#ifndef OPENCV_PATCHCORE_CARE_MASK_HPP
#define OPENCV_PATCHCORE_CARE_MASK_HPP

#include "precomp.hpp"
#include "preprocess.hpp"

#include <string>
#include <vector>

namespace cv {
namespace patchcore {
namespace detail {

/** Label given to care pixels where the detector has no care mask (a per-frame mask alone, or a 0/255 mask). */
const int kDefaultCareLabel = 255;

/** The detector's care mask as set by setCareMask(): CV_8UC1 labels, 0 = don't care; empty = everything counts. */
struct CareMask
{
    Mat labels;
    bool scales = false; // scaled to each image (nearest neighbour) instead of requiring the mask's size

    bool empty() const { return labels.empty(); }
};

/** A user's mask as a CV_8UC1 Mat, or a cv::Exception saying what to change: empty, several channels, not 8-bit,
 *  or nothing marked as care (all zero). `what` names it in messages ("setCareMask()", "the frame's care mask"). */
Mat checkCareMask(InputArray mask, const std::string& what);

/** Throws, naming the image (`name`) and `operation`, when an image of `size` does not fit `mask` (different size
 *  and the mask does not scale). */
void checkCareSize(const CareMask& mask, Size size, const std::string& name, const char* operation);

/** Care labels of an image of `size` (CV_8UC1, that size): the detector's mask, scaled when it scales, kept only
 *  where `frameMask` (optional, the image's size) is non-zero; kDefaultCareLabel where the detector has no mask.
 *  Empty when neither mask is set. */
Mat careLabelsOf(const CareMask& mask, Size size, const Mat& frameMask);

/** Labels of an image's care mask in the working frame: through the resize (nearest neighbour), then the crop. */
Mat careInWorkingFrame(const Mat& imageLabels, const CropGeometry& geometry);

/** Labels at the centres of a window's patches (CV_8UC1 of the grid's size): the patch (x, y) of a `grid` over
 *  `window` (working-frame coordinates) is centred at window.tl() + ((x + 0.5) w / gw, (y + 0.5) h / gh). */
Mat patchCareOf(const Mat& workingLabels, const Rect& window, Size grid);

/** Indices of the rows (patches, row-major) whose label is non-zero. */
std::vector<int> careRows(const Mat& patchLabels);
/** The care rows of a window's embedding (all of it without a care mask). */
Mat careEmbedding(const Mat& embedding, const Mat& patchCare);

/** Run-length form of a label image, row-major: value, count, value, count, ... (masks are mostly large areas). */
std::vector<int> encodeRuns(const Mat& labels);
/** The inverse of encodeRuns(); throws cv::Exception (StsParseError) naming what is inconsistent. */
Mat decodeRuns(const std::vector<int>& runs, Size size);

} // namespace detail
} // namespace patchcore
} // namespace cv

#endif
