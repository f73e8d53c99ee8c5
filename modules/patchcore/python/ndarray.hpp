// numpy <-> cv::Mat: images in as cv2 gives them (no copy when the array is C-contiguous), results out as arrays.
#ifndef PATCHCORE_PYTHON_NDARRAY_HPP
#define PATCHCORE_PYTHON_NDARRAY_HPP

#include <opencv2/core.hpp>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <vector>

namespace patchcore_python {

namespace py = pybind11;

/** A cv::Mat viewing a numpy array's memory; `array` keeps that memory alive (and must outlive the Mat's use). */
struct MatView
{
    py::array array;
    cv::Mat mat;
};

/** An image as the detector takes it: an H x W or H x W x C numpy array, C in {1, 3, 4} (BGR(A), as cv2), dtype
 *  uint8, uint16 or float32. Anything else raises TypeError (not an array, wrong dtype) or ValueError (shape, empty)
 *  saying what to change; `what` names the argument in the message. Non-contiguous arrays are copied. */
MatView imageFromPython(py::handle obj, const std::string& what);

/** A list or tuple of images, each as imageFromPython takes it (a single array is refused: a 3-d array is one
 *  image, and guessing would be wrong for someone who meant a stack). */
std::vector<MatView> imagesFromPython(py::handle obj, const std::string& what);

/** Single-channel arrays for the metrics: anomaly maps (float32) or ground-truth masks (uint8, bool or float32).
 *  Takes one H x W array or a sequence of them. */
std::vector<MatView> planesFromPython(py::handle obj, const std::string& what, bool masks);

/** A care mask (Detector.set_care_mask, predict_masked, detect_regions): an H x W (or H x W x 1) uint8 array, 0 =
 *  don't care, 1..255 = the label of a care region. Other dtypes raise TypeError, other shapes or an empty array
 *  ValueError, naming `what` and what to change. Non-contiguous arrays are copied. */
MatView careMaskFromPython(py::handle obj, const std::string& what);

/** The Mats of `views`, for the library calls that take a list of images (still viewing the arrays' memory). */
std::vector<cv::Mat> toMats(const std::vector<MatView>& views);

/** A numpy array owning `m`'s data (no copy for a continuous Mat): H x W for one channel, H x W x C otherwise. */
py::array matToPython(cv::Mat m);

/** A path argument: str or os.PathLike. */
std::string pathFromPython(py::handle obj, const std::string& what);

/** A list of path arguments. */
std::vector<cv::String> pathsFromPython(py::handle obj, const std::string& what);

/** The type name of a Python object, for messages ("list", "numpy.ndarray"). */
std::string typeName(py::handle obj);

} // namespace patchcore_python

#endif
