// Pre-processing: user image -> normalised backbone input, and the inverse geometry for anomaly maps.
#include "preprocess.hpp"

#include <algorithm>
#include <climits>
#include <cmath>

namespace cv {
namespace patchcore {
namespace detail {

namespace {

const char* depthName(int depth)
{
    switch (depth)
    {
    case CV_8U: return "CV_8U";
    case CV_8S: return "CV_8S";
    case CV_16U: return "CV_16U";
    case CV_16S: return "CV_16S";
    case CV_32S: return "CV_32S";
    case CV_32F: return "CV_32F";
    case CV_64F: return "CV_64F";
    case CV_16F: return "CV_16F";
    default: return "unknown";
    }
}

// Python's round() of d / 2 for an integer d: halves go to the even neighbour, as torchvision's CenterCrop
// computes int(round((H - crop) / 2.0)).
int halfRoundEven(int d)
{
    const int q = d >= 0 ? d / 2 : -((-d + 1) / 2); // floor(d / 2)
    if (d % 2 == 0)
        return q;
    return (q % 2 == 0) ? q : q + 1;
}

/** PIL's per-axis filter (Resample.c, precompute_coeffs) for the bilinear (triangle) kernel. */
struct AxisFilter
{
    int ksize = 0;
    std::vector<int> first;     // first input index used by each output index
    std::vector<int> count;     // number of input samples used
    std::vector<double> coeffs; // outSize x ksize, normalised to sum 1
};

AxisFilter makeAxisFilter(int inSize, int outSize)
{
    AxisFilter f;
    const double scale = static_cast<double>(inSize) / outSize;
    const double filterscale = std::max(scale, 1.0);
    const double support = 1.0 * filterscale;
    // PIL multiplies by the reciprocal rather than dividing; keep that so coefficients round identically.
    const double ss = 1.0 / filterscale;
    f.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
    f.first.resize(outSize);
    f.count.resize(outSize);
    f.coeffs.assign(static_cast<size_t>(outSize) * f.ksize, 0.0);
    for (int xx = 0; xx < outSize; ++xx)
    {
        const double center = (xx + 0.5) * scale;
        const int xmin = std::max(static_cast<int>(center - support + 0.5), 0);
        const int xmax = std::min(static_cast<int>(center + support + 0.5), inSize);
        const int n = xmax - xmin;
        double* k = &f.coeffs[static_cast<size_t>(xx) * f.ksize];
        double ww = 0.0;
        for (int x = 0; x < n; ++x)
        {
            const double t = std::abs((x + xmin - center + 0.5) * ss);
            k[x] = t < 1.0 ? 1.0 - t : 0.0;
            ww += k[x];
        }
        if (ww != 0.0)
            for (int x = 0; x < n; ++x)
                k[x] /= ww;
        f.first[xx] = xmin;
        f.count[xx] = n;
    }
    return f;
}

// PIL keeps 8-bit results in 32-bit accumulators: 8 bits of result, 2 of headroom for filters with negative lobes.
const int kPrecisionBits = 32 - 8 - 2;

std::vector<int> fixedPointCoeffs(const AxisFilter& f)
{
    std::vector<int> out(f.coeffs.size());
    for (size_t i = 0; i < f.coeffs.size(); ++i)
    {
        const double k = f.coeffs[i];
        out[i] = static_cast<int>(k * (1 << kPrecisionBits) + (k < 0 ? -0.5 : 0.5));
    }
    return out;
}

inline uchar clip8(int ss)
{
    const int v = ss >> kPrecisionBits;
    return static_cast<uchar>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

void resampleHorizontal8u(const Mat& src, Mat& dst, const AxisFilter& f)
{
    const std::vector<int> kk = fixedPointCoeffs(f);
    const int cn = src.channels();
    parallel_for_(Range(0, dst.rows), [&](const Range& r) {
        for (int y = r.start; y < r.end; ++y)
        {
            const uchar* s = src.ptr<uchar>(y);
            uchar* d = dst.ptr<uchar>(y);
            for (int xx = 0; xx < dst.cols; ++xx)
            {
                const int* k = &kk[static_cast<size_t>(xx) * f.ksize];
                const uchar* p = s + static_cast<size_t>(f.first[xx]) * cn;
                for (int c = 0; c < cn; ++c)
                {
                    int ss = 1 << (kPrecisionBits - 1);
                    for (int x = 0; x < f.count[xx]; ++x)
                        ss += p[x * cn + c] * k[x];
                    d[xx * cn + c] = clip8(ss);
                }
            }
        }
    });
}

void resampleVertical8u(const Mat& src, Mat& dst, const AxisFilter& f)
{
    const std::vector<int> kk = fixedPointCoeffs(f);
    const int width = dst.cols * dst.channels();
    parallel_for_(Range(0, dst.rows), [&](const Range& r) {
        std::vector<int> acc(width);
        for (int yy = r.start; yy < r.end; ++yy)
        {
            const int* k = &kk[static_cast<size_t>(yy) * f.ksize];
            std::fill(acc.begin(), acc.end(), 1 << (kPrecisionBits - 1));
            for (int y = 0; y < f.count[yy]; ++y)
            {
                const uchar* s = src.ptr<uchar>(f.first[yy] + y);
                const int w = k[y];
                for (int i = 0; i < width; ++i)
                    acc[i] += s[i] * w;
            }
            uchar* d = dst.ptr<uchar>(yy);
            for (int i = 0; i < width; ++i)
                d[i] = clip8(acc[i]);
        }
    });
}

void resampleHorizontal32f(const Mat& src, Mat& dst, const AxisFilter& f)
{
    const int cn = src.channels();
    parallel_for_(Range(0, dst.rows), [&](const Range& r) {
        for (int y = r.start; y < r.end; ++y)
        {
            const float* s = src.ptr<float>(y);
            float* d = dst.ptr<float>(y);
            for (int xx = 0; xx < dst.cols; ++xx)
            {
                const double* k = &f.coeffs[static_cast<size_t>(xx) * f.ksize];
                const float* p = s + static_cast<size_t>(f.first[xx]) * cn;
                for (int c = 0; c < cn; ++c)
                {
                    double ss = 0.0;
                    for (int x = 0; x < f.count[xx]; ++x)
                        ss += p[x * cn + c] * k[x];
                    d[xx * cn + c] = static_cast<float>(ss);
                }
            }
        }
    });
}

void resampleVertical32f(const Mat& src, Mat& dst, const AxisFilter& f)
{
    const int width = dst.cols * dst.channels();
    parallel_for_(Range(0, dst.rows), [&](const Range& r) {
        std::vector<double> acc(width);
        for (int yy = r.start; yy < r.end; ++yy)
        {
            const double* k = &f.coeffs[static_cast<size_t>(yy) * f.ksize];
            std::fill(acc.begin(), acc.end(), 0.0);
            for (int y = 0; y < f.count[yy]; ++y)
            {
                const float* s = src.ptr<float>(f.first[yy] + y);
                const double w = k[y];
                for (int i = 0; i < width; ++i)
                    acc[i] += s[i] * w;
            }
            float* d = dst.ptr<float>(yy);
            for (int i = 0; i < width; ++i)
                d[i] = static_cast<float>(acc[i]);
        }
    });
}

} // namespace

CropGeometry computeCropGeometry(Size input, int resizeSize, int cropSize)
{
    if (input.width <= 0 || input.height <= 0)
        PATCHCORE_ERROR(Error::StsBadSize,
                        cv::format("image size %dx%d is empty; pass a non-empty image", input.width, input.height));
    if (resizeSize <= 0 || cropSize <= 0)
        PATCHCORE_ERROR(Error::StsBadArg,
                        cv::format("resizeSize (%d) and cropSize (%d) must be positive", resizeSize, cropSize));
    CropGeometry g;
    g.input = input;
    const int shortSide = std::min(input.width, input.height);
    const int longSide = std::max(input.width, input.height);
    // torchvision: new_long = int(size * long / short), a true division then truncation.
    const double longExact = static_cast<double>(static_cast<int64_t>(resizeSize) * longSide) / shortSide;
    if (longExact > static_cast<double>(INT_MAX / 4))
        PATCHCORE_ERROR(Error::StsBadSize, cv::format("image %dx%d is too elongated to resize its shorter "
                                                      "side to %d",
                                                      input.width, input.height, resizeSize));
    const int newLong = static_cast<int>(longExact);
    if (static_cast<double>(newLong) * resizeSize > kMaxWorkingPixels)
        PATCHCORE_ERROR(Error::StsBadSize, cv::format("image %dx%d is too elongated: resizing its shorter side to %d "
                                                      "would make a %dx%d image; crop it first or use INPUT_RESIZE",
                                                      input.width, input.height, resizeSize,
                                                      input.width <= input.height ? resizeSize : newLong,
                                                      input.width <= input.height ? newLong : resizeSize));
    g.resized = input.width <= input.height ? Size(resizeSize, newLong) : Size(newLong, resizeSize);
    if (cropSize > g.resized.width || cropSize > g.resized.height)
        PATCHCORE_ERROR(Error::StsBadArg, cv::format("cropSize %d does not fit the resized image %dx%d; "
                                                     "choose cropSize <= resizeSize (%d)",
                                                     cropSize, g.resized.width, g.resized.height, resizeSize));
    g.crop = Rect(halfRoundEven(g.resized.width - cropSize), halfRoundEven(g.resized.height - cropSize),
                  cropSize, cropSize);
    return g;
}

std::vector<int> tileOffsets(int length, int window, double overlap)
{
    CV_Assert(length >= window && window > 0 && overlap >= 0 && overlap < 1);
    const int stride = std::max(1, static_cast<int>(std::lround(window * (1.0 - overlap))));
    const int count = length == window ? 1 : (length - window + stride - 1) / stride + 1;
    std::vector<int> offsets(count);
    for (int i = 0; i < count; ++i)
        offsets[i] = std::min(i * stride, length - window);
    return offsets;
}

Params resolveInputMode(const Params& params, const std::vector<Size>& imageSizes)
{
    if (params.inputMode != INPUT_AUTO)
        return params;
    CV_Assert(!imageSizes.empty());
    std::vector<int> shorter;
    for (const Size& s : imageSizes)
        shorter.push_back(std::min(s.width, s.height));
    std::nth_element(shorter.begin(), shorter.begin() + shorter.size() / 2, shorter.end());
    const double median = shorter[shorter.size() / 2];
    // Measured (doc/RESULTS.md): 1024 px textures lose their detail when squashed to 224 px but keep it in tiles at
    // half resolution, as well as at native resolution for a third of the cost; small images gain nothing from
    // tiles and pay up to 8x the time. A shorter side of twice the resize size is where downscaling starts to
    // erase patches the backbone could still resolve.
    const double tileSide = 2.0 * params.resizeSize;
    Params p = params;
    // One pass over the scaled frame sees what its tiles see for less: tiles recompute their overlap (up to 1.8x the
    // pixels) and cut the receptive field at every tile border (doc/RESULTS.md, "One pass per frame").
    if (median > tileSide)
    {
        p.inputMode = INPUT_FRAME;
        p.tileScale = tileSide / median;
    }
    else
    {
        p.inputMode = INPUT_ASPECT;
    }
    return p;
}

CropGeometry computeGeometry(Size input, const Params& requested)
{
    if (requested.inputMode == INPUT_AUTO)
        return computeGeometry(input, resolveInputMode(requested, {input}));
    const Params& params = requested;
    if (params.inputMode == INPUT_CENTER_CROP)
    {
        CropGeometry g = computeCropGeometry(input, params.resizeSize, params.cropSize);
        g.windows = {Rect(Point(), g.crop.size())};
        return g;
    }
    if (input.width <= 0 || input.height <= 0)
        PATCHCORE_ERROR(Error::StsBadSize,
                        cv::format("image size %dx%d is empty; pass a non-empty image", input.width, input.height));
    const int crop = params.cropSize;
    CropGeometry g;
    g.input = input;
    if (params.inputMode == INPUT_RESIZE)
    {
        g.resized = Size(crop, crop);
    }
    else if (params.inputMode == INPUT_ASPECT)
    {
        // The shorter side becomes cropSize; the longer one keeps the aspect ratio, rounded to a multiple of 16 so
        // that the deepest usual stride divides it and feature cells stay aligned with pixels.
        const double ratio = static_cast<double>(std::max(input.width, input.height)) / std::min(input.width, input.height);
        const int longSide = std::max(crop, static_cast<int>(std::lround(crop * ratio / 16.0)) * 16);
        g.resized = input.width >= input.height ? Size(longSide, crop) : Size(crop, longSide);
    }
    else if (params.inputMode == INPUT_FRAME)
    {
        // As in INPUT_ASPECT, sides are multiples of 16 so that feature cells stay aligned with pixels.
        const double scale = std::max(params.tileScale, static_cast<double>(crop) / std::min(input.width, input.height));
        auto side = [&](int length) {
            return std::max(crop, static_cast<int>(std::lround(length * scale / 16.0)) * 16);
        };
        g.resized = Size(side(input.width), side(input.height));
    }
    else if (params.inputMode == INPUT_TILES)
    {
        double scale = params.tileScale;
        // Too small to hold one tile at this scale: enlarge just enough.
        scale = std::max(scale, static_cast<double>(crop) / std::min(input.width, input.height));
        g.resized = Size(std::max(crop, static_cast<int>(std::lround(input.width * scale))),
                         std::max(crop, static_cast<int>(std::lround(input.height * scale))));
    }
    else
    {
        PATCHCORE_ERROR(Error::StsBadArg, cv::format("inputMode %d is unknown", params.inputMode));
    }
    if (static_cast<double>(g.resized.width) * g.resized.height > kMaxWorkingPixels)
        PATCHCORE_ERROR(Error::StsBadSize,
                        cv::format("image %dx%d would be processed at %dx%d pixels, more than "
                                   "this library agrees to allocate; lower tileScale or downscale it",
                                   input.width, input.height, g.resized.width, g.resized.height));
    g.crop = Rect(Point(), g.resized);
    if (params.inputMode == INPUT_TILES)
    {
        for (int y : tileOffsets(g.resized.height, crop, params.tileOverlap))
            for (int x : tileOffsets(g.resized.width, crop, params.tileOverlap))
                g.windows.push_back(Rect(x, y, crop, crop));
    }
    else
    {
        g.windows = {g.crop};
    }
    return g;
}

Mat toRGB(InputArray image)
{
    if (image.empty())
        PATCHCORE_ERROR(Error::StsBadArg, "the image is empty (was it loaded?)");
    Mat src = image.getMat();
    if (src.dims > 2)
        PATCHCORE_ERROR(Error::StsBadArg, cv::format("the image has %d dimensions; pass a 2-D image (rows x cols "
                                                     "with 1, 3 or 4 channels), not a blob",
                                                     src.dims));
    const int depth = src.depth(), cn = src.channels();
    if (depth != CV_8U && depth != CV_16U && depth != CV_32F && depth != CV_64F)
        PATCHCORE_ERROR(Error::StsUnsupportedFormat,
                        cv::format("image depth %s is not supported; accepted depths are CV_8U, CV_16U "
                                   "(scaled by 1/65535), CV_32F and CV_64F (values in [0,1])",
                                   depthName(depth)));
    if (cn != 1 && cn != 3 && cn != 4)
        PATCHCORE_ERROR(Error::StsUnsupportedFormat,
                        cv::format("image has %d channels; accepted are 1 (grey), 3 (BGR) or 4 (BGRA)", cn));

    Mat work = src;
    if (depth == CV_16U)
        src.convertTo(work, CV_32F, 1.0 / 65535.0);
    else if (depth == CV_64F)
        src.convertTo(work, CV_32F);
    if (work.depth() == CV_32F && !checkRange(work, true))
        PATCHCORE_ERROR(Error::StsBadArg, "the floating-point image holds NaN or infinite values "
                                          "(or values beyond the float range); pass finite pixels in [0,1]");

    Mat rgb;
    const int code = cn == 1 ? COLOR_GRAY2RGB : (cn == 3 ? COLOR_BGR2RGB : COLOR_BGRA2RGB);
    cvtColor(work, rgb, code);
    return rgb;
}

Mat resizePilBilinear(const Mat& src, Size dsize)
{
    CV_Assert(!src.empty());
    if (src.depth() != CV_8U && src.depth() != CV_32F)
        PATCHCORE_ERROR(Error::StsUnsupportedFormat, cv::format("resizePilBilinear: depth %s is not supported; pass "
                                                                "CV_8U or CV_32F",
                                                                depthName(src.depth())));
    if (dsize.width <= 0 || dsize.height <= 0)
        PATCHCORE_ERROR(Error::StsBadSize,
                        cv::format("resizePilBilinear: target size %dx%d must be positive", dsize.width, dsize.height));
    if (dsize == src.size())
        return src.clone();

    const bool is8u = src.depth() == CV_8U;
    Mat cur = src;
    if (dsize.width != src.cols)
    {
        const AxisFilter f = makeAxisFilter(src.cols, dsize.width);
        Mat tmp(src.rows, dsize.width, src.type());
        if (is8u)
            resampleHorizontal8u(cur, tmp, f);
        else
            resampleHorizontal32f(cur, tmp, f);
        cur = tmp;
    }
    if (dsize.height != src.rows)
    {
        const AxisFilter f = makeAxisFilter(src.rows, dsize.height);
        Mat tmp(dsize.height, cur.cols, src.type());
        if (is8u)
            resampleVertical8u(cur, tmp, f);
        else
            resampleVertical32f(cur, tmp, f);
        cur = tmp;
    }
    return cur;
}

Mat resizeImage(const Mat& src, Size dsize, int resizeMethod)
{
    CV_Assert(!src.empty());
    if (resizeMethod == RESIZE_PIL_BILINEAR)
        return resizePilBilinear(src, dsize);
    if (resizeMethod != RESIZE_AREA && resizeMethod != RESIZE_LINEAR)
        PATCHCORE_ERROR(Error::StsBadArg, cv::format("resizeMethod %d is unknown; use RESIZE_PIL_BILINEAR (0), "
                                                     "RESIZE_AREA (1) or RESIZE_LINEAR (2)",
                                                     resizeMethod));
    if (dsize == src.size())
        return src.clone();
    const bool shrinking = dsize.width < src.cols || dsize.height < src.rows;
    const int interp = (resizeMethod == RESIZE_AREA && shrinking) ? INTER_AREA : INTER_LINEAR;
    Mat dst;
    resize(src, dst, dsize, 0, 0, interp);
    return dst;
}

Mat preprocessImage(InputArray image, const Params& params, CropGeometry* geometry)
{
    for (int c = 0; c < 3; ++c)
        if (params.stdev[c] == 0.0 || !std::isfinite(params.stdev[c]) || !std::isfinite(params.mean[c]))
            PATCHCORE_ERROR(Error::StsBadArg, cv::format("Params.mean and Params.stdev must be finite and stdev "
                                                         "non-zero (channel %d: mean %g, stdev %g)",
                                                         c, params.mean[c], params.stdev[c]));
    const Mat rgb = toRGB(image);
    const CropGeometry g = computeGeometry(rgb.size(), params);
    const Mat resized = resizeImage(rgb, g.resized, params.resizeMethod);
    const Mat crop = resized(g.crop);

    // Same float32 arithmetic as torchvision's ToTensor (x / 255) followed by Normalize ((x - mean) / std).
    const float mean[3] = {(float)params.mean[0], (float)params.mean[1], (float)params.mean[2]};
    const float stdev[3] = {(float)params.stdev[0], (float)params.stdev[1], (float)params.stdev[2]};
    Mat out(crop.size(), CV_32FC3);
    for (int y = 0; y < crop.rows; ++y)
    {
        float* d = out.ptr<float>(y);
        if (crop.depth() == CV_8U)
        {
            const uchar* s = crop.ptr<uchar>(y);
            for (int i = 0; i < crop.cols * 3; ++i)
                d[i] = (static_cast<float>(s[i]) / 255.f - mean[i % 3]) / stdev[i % 3];
        }
        else
        {
            const float* s = crop.ptr<float>(y);
            for (int i = 0; i < crop.cols * 3; ++i)
                d[i] = (s[i] - mean[i % 3]) / stdev[i % 3];
        }
    }
    if (geometry)
        *geometry = g;
    return out;
}

Mat packBlob(const std::vector<Mat>& hwcImages)
{
    if (hwcImages.empty())
        PATCHCORE_ERROR(Error::StsBadArg, "packBlob: no images given");
    const Size sz = hwcImages[0].size();
    for (size_t n = 0; n < hwcImages.size(); ++n)
    {
        const Mat& im = hwcImages[n];
        if (im.type() != CV_32FC3 || im.size() != sz)
            PATCHCORE_ERROR(Error::StsBadArg, cv::format("packBlob: image %d is %dx%d of type %d; every image must be "
                                                         "CV_32FC3 of the first image's size %dx%d",
                                                         (int)n, im.cols, im.rows, im.type(), sz.width, sz.height));
    }
    const int dims[4] = {(int)hwcImages.size(), 3, sz.height, sz.width};
    Mat blob(4, dims, CV_32F);
    for (int n = 0; n < dims[0]; ++n)
    {
        const Mat& im = hwcImages[n];
        float* planes[3] = {blob.ptr<float>(n, 0), blob.ptr<float>(n, 1), blob.ptr<float>(n, 2)};
        for (int y = 0; y < sz.height; ++y)
        {
            const float* s = im.ptr<float>(y);
            const size_t row = static_cast<size_t>(y) * sz.width;
            for (int x = 0; x < sz.width; ++x)
                for (int c = 0; c < 3; ++c)
                    planes[c][row + x] = s[x * 3 + c];
        }
    }
    return blob;
}

Mat mapToInputFrame(const Mat& cropMap, const CropGeometry& geometry, float outsideValue)
{
    if (cropMap.channels() != 1 || cropMap.size() != geometry.crop.size())
        PATCHCORE_ERROR(Error::StsBadSize, cv::format("mapToInputFrame: the map is %dx%d with %d channels; it must be "
                                                      "single-channel and of the crop size %dx%d",
                                                      cropMap.cols, cropMap.rows, cropMap.channels(),
                                                      geometry.crop.width, geometry.crop.height));
    CV_Assert((geometry.crop & Rect(Point(), geometry.resized)) == geometry.crop);
    CV_Assert(geometry.input.width > 0 && geometry.input.height > 0);
    Mat canvas(geometry.resized, CV_32F, Scalar::all(outsideValue));
    Mat inside = canvas(geometry.crop);
    cropMap.convertTo(inside, CV_32F);
    if (geometry.resized == geometry.input)
        return canvas;
    Mat out;
    resize(canvas, out, geometry.input, 0, 0, INTER_LINEAR);
    return out;
}

} // namespace detail
} // namespace patchcore
} // namespace cv
