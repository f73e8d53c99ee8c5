// The images a training or calibration pass reads: decoded ones given by the caller, or files decoded a batch at a
// time, so that thousands of training images need not be in memory together (Detector::trainFiles).
#ifndef OPENCV_PATCHCORE_IMAGE_SOURCE_HPP
#define OPENCV_PATCHCORE_IMAGE_SOURCE_HPP

#include "precomp.hpp"

#include <memory>

namespace cv {
namespace patchcore {
namespace detail {

class ImageSource
{
public:
    /** Images the caller decoded (each checked non-empty by collectImages()). */
    static ImageSource fromMats(std::vector<Mat> images);
    /** Image files, read with cv::imread(IMREAD_UNCHANGED) when a batch needs them. `operation` names the caller in
     *  error messages. Throws when the list is empty or this OpenCV has no imgcodecs module. */
    static ImageSource fromFiles(std::vector<String> files, const char* operation);

    size_t size() const { return order_.size(); }
    /** Images [begin, end), decoded; an unreadable file is an error naming it. */
    std::vector<Mat> batch(size_t begin, size_t end) const;
    /** The pixel size of every image (files are decoded for it once, in parallel, one at a time per thread; later
     *  calls, also on subsets, reuse what was found). */
    std::vector<Size> sizes() const;
    /** How messages name image `i`: its file path, or "image N of the list" (N counted from 0, as passed). */
    std::string name(size_t i) const;
    /** The images at positions order[from..to) of this source. */
    ImageSource subset(const std::vector<int>& order, size_t from, size_t to) const;

private:
    std::shared_ptr<const std::vector<Mat>> mats_;
    std::shared_ptr<const std::vector<String>> files_;
    std::vector<size_t> order_; // positions in mats_ or files_
    std::string operation_;
    std::shared_ptr<std::vector<Size>> fileSizes_; // by position in files_; empty Size = not decoded yet

    Mat load(size_t position) const;
};

} // namespace detail
} // namespace patchcore
} // namespace cv

#endif
