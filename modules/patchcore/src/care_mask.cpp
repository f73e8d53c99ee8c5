#include "care_mask.hpp"

#include <opencv2/imgproc.hpp>

namespace cv {
namespace patchcore {
namespace detail {

Mat checkCareMask(InputArray maskArg, const std::string& what)
{
    if (maskArg.kind() == _InputArray::STD_VECTOR_MAT || maskArg.kind() == _InputArray::STD_VECTOR_VECTOR)
        PATCHCORE_ERROR(Error::StsBadArg, "" + what + " takes one mask image, not a list");
    const Mat mask = maskArg.getMat();
    if (mask.empty())
        PATCHCORE_ERROR(Error::StsBadArg, "" + what +
                                              " was given an empty mask; pass a single-channel 8-bit "
                                              "image (0 = don't care), or clearCareMask() to inspect everything");
    if (mask.dims != 2 || mask.channels() != 1 || mask.depth() != CV_8U)
        PATCHCORE_ERROR(Error::StsBadArg, cv::format("%s needs a single-channel 8-bit mask (CV_8UC1: 0 = don't "
                                                     "care, 1..255 = the label of a care region); got %d channel(s) of "
                                                     "depth %d (read it with cv::IMREAD_GRAYSCALE, or convert it)",
                                                     what.c_str(), mask.channels(), mask.depth()));
    if (countNonZero(mask) == 0)
        PATCHCORE_ERROR(Error::StsBadArg, "" + what +
                                              " marks nothing as care (every pixel is 0): nothing would "
                                              "be inspected; non-zero pixels are the ones to inspect");
    return mask;
}

void checkCareSize(const CareMask& mask, Size size, const std::string& name, const char* operation)
{
    if (mask.empty() || mask.scales || mask.labels.size() == size)
        return;
    PATCHCORE_ERROR(Error::StsBadSize,
                    cv::format("%s: %s is %dx%d but the care mask is %dx%d; pass images of "
                               "the mask's size, or set the mask with scaleToImage = true to scale it to "
                               "every image",
                               operation, name.c_str(), size.width, size.height, mask.labels.cols, mask.labels.rows));
}

Mat careLabelsOf(const CareMask& mask, Size size, const Mat& frameMask)
{
    if (mask.empty() && frameMask.empty())
        return Mat();
    Mat labels;
    if (mask.empty())
        labels = Mat(size, CV_8U, Scalar(kDefaultCareLabel));
    else if (mask.labels.size() == size)
        labels = mask.labels.clone();
    else
    {
        CV_Assert(mask.scales);
        // Pixel centres map to pixel centres, so that a scaled mask keeps its border widths in proportion.
        resize(mask.labels, labels, size, 0, 0, INTER_NEAREST_EXACT);
    }
    if (!frameMask.empty())
    {
        CV_Assert(frameMask.size() == size && frameMask.type() == CV_8UC1);
        labels.setTo(0, frameMask == 0);
    }
    return labels;
}

Mat careInWorkingFrame(const Mat& imageLabels, const CropGeometry& g)
{
    if (imageLabels.empty())
        return Mat();
    CV_Assert(imageLabels.size() == g.input);
    Mat resized = imageLabels;
    if (g.resized != g.input)
        resize(imageLabels, resized, g.resized, 0, 0, INTER_NEAREST_EXACT);
    return resized(g.crop).clone();
}

Mat patchCareOf(const Mat& workingLabels, const Rect& window, Size grid)
{
    if (workingLabels.empty())
        return Mat();
    CV_Assert((window & Rect(Point(), workingLabels.size())) == window && grid.width > 0 && grid.height > 0);
    Mat out(grid, CV_8U);
    for (int y = 0; y < grid.height; ++y)
    {
        const int py = window.y + std::min(window.height - 1, static_cast<int>((y + 0.5) * window.height / grid.height));
        const uchar* row = workingLabels.ptr<uchar>(py);
        for (int x = 0; x < grid.width; ++x)
        {
            const int px = window.x + std::min(window.width - 1, static_cast<int>((x + 0.5) * window.width / grid.width));
            out.at<uchar>(y, x) = row[px];
        }
    }
    return out;
}

std::vector<int> careRows(const Mat& patchLabels)
{
    CV_Assert(patchLabels.type() == CV_8UC1 && patchLabels.isContinuous());
    std::vector<int> rows;
    const uchar* p = patchLabels.ptr<uchar>();
    for (int i = 0; i < static_cast<int>(patchLabels.total()); ++i)
        if (p[i] != 0)
            rows.push_back(i);
    return rows;
}

std::vector<int> encodeRuns(const Mat& labels)
{
    CV_Assert(labels.type() == CV_8UC1);
    std::vector<int> runs;
    int value = -1, count = 0;
    for (int y = 0; y < labels.rows; ++y)
    {
        const uchar* row = labels.ptr<uchar>(y);
        for (int x = 0; x < labels.cols; ++x)
        {
            if (row[x] == value)
            {
                ++count;
                continue;
            }
            if (count > 0)
                runs.insert(runs.end(), {value, count});
            value = row[x];
            count = 1;
        }
    }
    if (count > 0)
        runs.insert(runs.end(), {value, count});
    return runs;
}

Mat decodeRuns(const std::vector<int>& runs, Size size)
{
    const auto bad = [](const std::string& what) {
        PATCHCORE_ERROR(Error::StsParseError, "invalid detector file: the care mask " + what);
    };
    if (size.width <= 0 || size.height <= 0 || static_cast<double>(size.width) * size.height > kMaxWorkingPixels)
        bad("has an impossible size");
    if (runs.size() % 2 != 0)
        bad("runs must come as value, count pairs");
    const size_t total = size.area();
    Mat out(size, CV_8U);
    uchar* p = out.ptr<uchar>();
    size_t at = 0;
    for (size_t i = 0; i < runs.size(); i += 2)
    {
        if (runs[i] < 0 || runs[i] > 255 || runs[i + 1] <= 0 || static_cast<size_t>(runs[i + 1]) > total - at)
            bad("has a run out of range (values 0..255, counts > 0, at most the mask's pixels in all)");
        std::fill(p + at, p + at + runs[i + 1], static_cast<uchar>(runs[i]));
        at += runs[i + 1];
    }
    if (at != total)
        bad("runs cover " + std::to_string(at) + " of its " + std::to_string(total) + " pixels");
    if (countNonZero(out) == 0)
        bad("marks nothing as care");
    return out;
}

Mat careEmbedding(const Mat& embedding, const Mat& patchCare)
{
    if (patchCare.empty())
        return embedding;
    const std::vector<int> rows = careRows(patchCare);
    Mat out(static_cast<int>(rows.size()), embedding.cols, CV_32F);
    for (size_t i = 0; i < rows.size(); ++i)
        embedding.row(rows[i]).copyTo(out.row(static_cast<int>(i)));
    return out;
}

} // namespace detail
} // namespace patchcore
} // namespace cv
