// Pre-processing: user image -> normalised backbone input, and the inverse geometry for anomaly maps.
#ifndef OPENCV_PATCHCORE_PREPROCESS_HPP
#define OPENCV_PATCHCORE_PREPROCESS_HPP

#include "precomp.hpp"

namespace cv {
namespace patchcore {
namespace detail {

/** Where the backbone input sits in the user's image: the image is resized to `resized`, then `crop` is cut out.
 *  `crop` is the working frame (the whole resized image in every mode but INPUT_CENTER_CROP); `windows` are the
 *  backbone inputs in working-frame coordinates: one covering it all, or the tiles of INPUT_TILES. */
struct CropGeometry
{
    Size input;   // the user's image size
    Size resized; // after resizing
    Rect crop;    // working frame in resized coordinates
    std::vector<Rect> windows;
};

/** `params` with INPUT_AUTO replaced by the whole-frame mode it stands for, given the sizes of the images it will
 *  process (see InputMode::INPUT_AUTO); any other mode is returned unchanged. */
Params resolveInputMode(const Params& params, const std::vector<Size>& imageSizes);

/** Geometry of any InputMode (INPUT_AUTO is resolved for this one image) (see Params::inputMode). Throws if the image is empty, the crop does not fit, or the
 *  working frame would exceed a sane size (kMaxWorkingPixels). */
CropGeometry computeGeometry(Size input, const Params& params);

/** Largest working frame, in pixels, that pre-processing agrees to build (a 12000 x 12000 RGB float image). */
const double kMaxWorkingPixels = 144e6;

/** Start offsets of windows of `window` samples covering `length` samples with the given overlap fraction: evenly
 *  strided, the last one flush with the end. */
std::vector<int> tileOffsets(int length, int window, double overlap);

/** Shorter side -> resizeSize (longer side truncated as torchvision does), centre crop of cropSize with
 *  Python's round-half-to-even offsets. Throws if the image is empty or the crop does not fit. */
CropGeometry computeCropGeometry(Size input, int resizeSize, int cropSize);

/** Any accepted user image -> 3-channel RGB. 8U images stay CV_8UC3 (so that PIL-exact resizing applies);
 *  16U becomes CV_32FC3 scaled to [0,1]; 32F/64F become CV_32FC3 taken as already in [0,1].
 *  Accepts 1, 3 (BGR) or 4 (BGRA, alpha ignored) channels; throws cv::Exception naming the problem otherwise,
 *  and for empty images or non-finite float pixels. */
Mat toRGB(InputArray image);

/** Antialiased bilinear resampling with PIL's arithmetic (Image.resize(..., BILINEAR)): a triangle filter whose
 *  support grows with the shrink factor, separable, horizontal pass first. For CV_8UC3 it reproduces PIL's
 *  fixed-point rounding bit for bit; for CV_32FC3 the same filter in float. */
Mat resizePilBilinear(const Mat& src, Size dsize);

/** Resize with the chosen ResizeMethod. */
Mat resizeImage(const Mat& src, Size dsize, int resizeMethod);

/** Full pre-processing of one image: toRGB, resize, crop, scale to [0,1], (x - mean) / stdev.
 *  Returns the working frame (cropSize x cropSize in INPUT_CENTER_CROP mode) as a CV_32FC3 image in RGB order. */
Mat preprocessImage(InputArray image, const Params& params, CropGeometry* geometry = nullptr);

/** Packs HWC CV_32FC3 images (all the same size) into one NCHW CV_32F blob. */
Mat packBlob(const std::vector<Mat>& hwcImages);

/** Inverse geometry: a map on the crop (CV_32F, crop size) -> a map of the user's image size. Pixels outside
 *  the crop get `outsideValue`; the resized frame is brought back to the input size by bilinear interpolation. */
Mat mapToInputFrame(const Mat& cropMap, const CropGeometry& geometry, float outsideValue);

} // namespace detail
} // namespace patchcore
} // namespace cv

#endif
