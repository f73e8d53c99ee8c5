#include "image_source.hpp"

#include <opencv2/opencv_modules.hpp>
#ifdef HAVE_OPENCV_IMGCODECS
#include <opencv2/imgcodecs.hpp>
#endif

#include <tbb/parallel_for.h>

#include <numeric>

namespace cv {
namespace patchcore {
namespace detail {

ImageSource ImageSource::fromMats(std::vector<Mat> images)
{
    ImageSource s;
    s.order_.resize(images.size());
    std::iota(s.order_.begin(), s.order_.end(), size_t(0));
    s.mats_ = std::make_shared<const std::vector<Mat>>(std::move(images));
    return s;
}

ImageSource ImageSource::fromFiles(std::vector<String> files, const char* operation)
{
#ifndef HAVE_OPENCV_IMGCODECS
    PATCHCORE_ERROR(Error::StsNotImplemented,
                    std::string(operation) + " reads image files with OpenCV's imgcodecs module, which this OpenCV "
                                             "lacks; decode the images yourself and call train()");
#endif
    if (files.empty())
        PATCHCORE_ERROR(Error::StsBadArg, std::string(operation) + " was given an empty list of files");
    ImageSource s;
    s.order_.resize(files.size());
    std::iota(s.order_.begin(), s.order_.end(), size_t(0));
    s.fileSizes_ = std::make_shared<std::vector<Size>>(files.size());
    s.files_ = std::make_shared<const std::vector<String>>(std::move(files));
    s.operation_ = operation;
    return s;
}

Mat ImageSource::load(size_t position) const
{
    if (mats_)
        return (*mats_)[position];
    Mat image;
#ifdef HAVE_OPENCV_IMGCODECS
    image = imread((*files_)[position], IMREAD_UNCHANGED);
#endif
    if (image.empty())
        PATCHCORE_ERROR(Error::StsError, "" + operation_ + ": cannot read image file '" + (*files_)[position] +
                                             "' (missing, unreadable or not an image format OpenCV decodes)");
    return image;
}

std::vector<Mat> ImageSource::batch(size_t begin, size_t end) const
{
    CV_Assert(begin <= end && end <= order_.size());
    std::vector<Mat> out(end - begin);
    if (mats_)
        for (size_t i = begin; i < end; ++i)
            out[i - begin] = load(order_[i]);
    else // decoding is the slow part of reading a file, and imread is thread-safe
        tbb::parallel_for(begin, end, [&](size_t i) { out[i - begin] = load(order_[i]); });
    return out;
}

std::vector<Size> ImageSource::sizes() const
{
    std::vector<Size> out(order_.size());
    if (mats_)
    {
        for (size_t i = 0; i < order_.size(); ++i)
            out[i] = (*mats_)[order_[i]].size();
        return out;
    }
    std::vector<Size>& known = *fileSizes_;
    tbb::parallel_for(size_t(0), order_.size(), [&](size_t i) {
        if (known[order_[i]].area() == 0)
            known[order_[i]] = load(order_[i]).size(); // distinct positions: no two threads write one element
        out[i] = known[order_[i]];
    });
    return out;
}

std::string ImageSource::name(size_t i) const
{
    CV_Assert(i < order_.size());
    return files_ ? "'" + (*files_)[order_[i]] + "'" : "image " + std::to_string(order_[i]) + " of the list";
}

ImageSource ImageSource::subset(const std::vector<int>& order, size_t from, size_t to) const
{
    CV_Assert(from <= to && to <= order.size());
    ImageSource s = *this;
    s.order_.clear();
    for (size_t i = from; i < to; ++i)
        s.order_.push_back(order_[static_cast<size_t>(order[i])]);
    return s;
}

} // namespace detail
} // namespace patchcore
} // namespace cv
