// Tests of pre-processing: crop geometry, colour/depth conversion, PIL-exact resizing, normalisation, NCHW packing
// and the inverse map geometry.
#include "test_precomp.hpp"

#include "preprocess.hpp"

#include <cmath>
#include <iostream>
#include <limits>

namespace opencv_test {
namespace {

using namespace cv;
using namespace cv::patchcore;
using namespace cv::patchcore::detail;

double maxAbsDiff(const Mat& a, const Mat& b)
{
    return cv::norm(a, b, NORM_INF);
}

// A smooth but non-trivial RGB test pattern (no dependency on data files).
Mat patternImage(Size size)
{
    Mat img(size, CV_8UC3);
    for (int y = 0; y < size.height; ++y)
        for (int x = 0; x < size.width; ++x)
            img.at<Vec3b>(y, x) = Vec3b(saturate_cast<uchar>(128 + 100 * std::sin(x * 0.05 + y * 0.02)),
                                        saturate_cast<uchar>((x * 3 + y) % 256),
                                        saturate_cast<uchar>(255 * y / std::max(1, size.height - 1)));
    return img;
}

Mat randomImage(Size size, int type, uint64 seed)
{
    Mat img(size, type);
    RNG rng(seed);
    rng.fill(img, RNG::UNIFORM, 0, 256);
    return img;
}

// The deterministic 9x7 RGB image whose PIL resizes are hard-coded below.
Mat pilGoldenInput()
{
    Mat a(7, 9, CV_8UC3);
    for (int y = 0; y < 7; ++y)
        for (int x = 0; x < 9; ++x)
            for (int c = 0; c < 3; ++c)
                a.at<Vec3b>(y, x)[c] = static_cast<uchar>((x * x * 7 + y * 31 + c * 53 + x * y * 5) % 256);
    return a;
}

} // namespace

// ---------------------------------------------------------------------------------------------- geometry

TEST(Patchcore_Preprocess, geometry_square_and_non_square)
{
    CropGeometry g = computeCropGeometry(Size(512, 512), 256, 224);
    EXPECT_EQ(g.input, Size(512, 512));
    EXPECT_EQ(g.resized, Size(256, 256));
    EXPECT_EQ(g.crop, Rect(16, 16, 224, 224));

    // 640x480: long side int(256 * 640 / 480) = int(341.33) = 341; x offset (341 - 224) / 2 = 58.5 -> 58 (even).
    g = computeCropGeometry(Size(640, 480), 256, 224);
    EXPECT_EQ(g.resized, Size(341, 256));
    EXPECT_EQ(g.crop, Rect(58, 16, 224, 224));

    g = computeCropGeometry(Size(341, 256), 256, 224);
    EXPECT_EQ(g.resized, Size(341, 256));
    EXPECT_EQ(g.crop, Rect(58, 16, 224, 224));

    g = computeCropGeometry(Size(480, 640), 256, 224); // portrait
    EXPECT_EQ(g.resized, Size(256, 341));
    EXPECT_EQ(g.crop, Rect(16, 58, 224, 224));

    // Truncation, not rounding: int(10 * 7 / 3) = int(23.33) = 23, and int(10 * 5 / 3) = int(16.67) = 16.
    EXPECT_EQ(computeCropGeometry(Size(3, 7), 10, 4).resized, Size(10, 23));
    EXPECT_EQ(computeCropGeometry(Size(5, 3), 10, 4).resized, Size(16, 10));
}

TEST(Patchcore_Preprocess, geometry_half_to_even_offsets)
{
    // (227 - 224) / 2 = 1.5 -> 2; (225 - 224) / 2 = 0.5 -> 0; (229 - 224) / 2 = 2.5 -> 2; (231 - 224) / 2 = 3.5 -> 4.
    EXPECT_EQ(computeCropGeometry(Size(227, 227), 227, 224).crop.x, 2);
    EXPECT_EQ(computeCropGeometry(Size(225, 225), 225, 224).crop.x, 0);
    EXPECT_EQ(computeCropGeometry(Size(229, 229), 229, 224).crop.y, 2);
    EXPECT_EQ(computeCropGeometry(Size(231, 231), 231, 224).crop.y, 4);
    EXPECT_EQ(computeCropGeometry(Size(100, 100), 224, 224).crop, Rect(0, 0, 224, 224));
}

TEST(Patchcore_Preprocess, geometry_rejects_bad_sizes)
{
    EXPECT_THROW(computeCropGeometry(Size(0, 10), 256, 224), cv::Exception);
    EXPECT_THROW(computeCropGeometry(Size(10, -1), 256, 224), cv::Exception);
    EXPECT_THROW(computeCropGeometry(Size(512, 512), 0, 224), cv::Exception);
    EXPECT_THROW(computeCropGeometry(Size(512, 512), 256, 0), cv::Exception);
    EXPECT_THROW(computeCropGeometry(Size(512, 512), 256, 257), cv::Exception);
}

// ---------------------------------------------------------------------------------------------- toRGB

TEST(Patchcore_Preprocess, toRGB_converts_channels_and_depths)
{
    Mat bgr(2, 2, CV_8UC3, Scalar(10, 20, 30));
    Mat rgb = toRGB(bgr);
    EXPECT_EQ(rgb.type(), CV_8UC3);
    EXPECT_EQ(rgb.at<Vec3b>(1, 1), Vec3b(30, 20, 10));

    rgb = toRGB(Mat(2, 2, CV_8UC4, Scalar(10, 20, 30, 7)));
    EXPECT_EQ(rgb.type(), CV_8UC3);
    EXPECT_EQ(rgb.at<Vec3b>(0, 1), Vec3b(30, 20, 10));

    rgb = toRGB(Mat(2, 2, CV_8UC1, Scalar(42)));
    EXPECT_EQ(rgb.at<Vec3b>(0, 0), Vec3b(42, 42, 42));

    rgb = toRGB(Mat(2, 2, CV_16UC3, Scalar(0, 65535, 257 * 100)));
    EXPECT_EQ(rgb.type(), CV_32FC3);
    EXPECT_NEAR(rgb.at<Vec3f>(0, 0)[0], 100.0 / 255.0, 1e-6);
    EXPECT_NEAR(rgb.at<Vec3f>(0, 0)[1], 1.0, 1e-6);
    EXPECT_NEAR(rgb.at<Vec3f>(0, 0)[2], 0.0, 1e-6);

    rgb = toRGB(Mat(2, 2, CV_64FC1, Scalar(0.25)));
    EXPECT_EQ(rgb.type(), CV_32FC3);
    EXPECT_FLOAT_EQ(rgb.at<Vec3f>(1, 0)[2], 0.25f);

    rgb = toRGB(Mat(2, 2, CV_32FC4, Scalar(0.1, 0.2, 0.3, 1.0)));
    EXPECT_EQ(rgb.type(), CV_32FC3);
    EXPECT_FLOAT_EQ(rgb.at<Vec3f>(0, 0)[0], 0.3f);
}

TEST(Patchcore_Preprocess, toRGB_rejects_bad_input)
{
    EXPECT_THROW(toRGB(Mat()), cv::Exception);
    EXPECT_THROW(toRGB(Mat(4, 4, CV_8SC3, Scalar::all(1))), cv::Exception);
    EXPECT_THROW(toRGB(Mat(4, 4, CV_16SC3, Scalar::all(1))), cv::Exception);
    EXPECT_THROW(toRGB(Mat(4, 4, CV_32SC3, Scalar::all(1))), cv::Exception);
    EXPECT_THROW(toRGB(Mat(4, 4, CV_16FC3)), cv::Exception);
    EXPECT_THROW(toRGB(Mat(4, 4, CV_8UC2, Scalar::all(1))), cv::Exception);
    EXPECT_THROW(toRGB(Mat(4, 4, CV_8UC(5), Scalar::all(1))), cv::Exception);

    Mat nanImg(4, 4, CV_32FC3, Scalar::all(0.5));
    nanImg.at<Vec3f>(2, 1)[1] = std::numeric_limits<float>::quiet_NaN();
    EXPECT_THROW(toRGB(nanImg), cv::Exception);
    Mat infImg(4, 4, CV_64FC1, Scalar::all(0.5));
    infImg.at<double>(3, 3) = std::numeric_limits<double>::infinity();
    EXPECT_THROW(toRGB(infImg), cv::Exception);

    try
    {
        toRGB(Mat(4, 4, CV_8SC3, Scalar::all(1)));
        ADD_FAILURE() << "no exception";
    }
    catch (const cv::Exception& e)
    {
        // The message must say what was given and what is accepted.
        EXPECT_NE(e.err.find("CV_8S"), std::string::npos) << e.err;
        EXPECT_NE(e.err.find("CV_16U"), std::string::npos) << e.err;
    }
}

// ---------------------------------------------------------------------------------------------- PIL resize

TEST(Patchcore_Preprocess, pil_shrink_4_to_2_by_hand)
{
    // Shrinking by 2 widens the triangle to support 2: output 0 (centre 1) takes pixels 0..2 with weights
    // 0.75, 0.75, 0.25 (normalised 3/7, 3/7, 1/7), so PIL's result is not a plain pairwise average:
    // (10*3 + 20*3 + 30) / 7 = 17.14 -> 17 and (20*0.25 + 30*0.75 + 41*0.75) / 1.75 = 33.29 -> 33 (PIL 9.4 gives 17, 33).
    Mat src = (Mat_<uchar>(1, 4) << 10, 20, 30, 41);
    Mat dst = resizePilBilinear(src, Size(2, 1));
    ASSERT_EQ(dst.size(), Size(2, 1));
    EXPECT_EQ(dst.at<uchar>(0, 0), 17);
    EXPECT_EQ(dst.at<uchar>(0, 1), 33);

    // Equal pairs do average exactly.
    src = (Mat_<uchar>(1, 4) << 50, 50, 200, 200);
    dst = resizePilBilinear(src, Size(2, 1));
    EXPECT_EQ(dst.at<uchar>(0, 0), 71);  // (50*3 + 50*3 + 200) / 7 = 71.4
    EXPECT_EQ(dst.at<uchar>(0, 1), 179); // (50 + 200*3 + 200*3) / 7 = 178.6
}

TEST(Patchcore_Preprocess, pil_enlarge_2_to_4_by_hand)
{
    // Enlarging keeps support 1: centres 0.25, 0.75, 1.25, 1.75 -> weights (1), (0.75, 0.25), (0.25, 0.75), (1);
    // the outermost outputs see one pixel only because the window is clipped to the image.
    Mat src = (Mat_<uchar>(1, 2) << 0, 255);
    Mat dst = resizePilBilinear(src, Size(4, 1));
    EXPECT_EQ(dst.at<uchar>(0, 0), 0);
    EXPECT_EQ(dst.at<uchar>(0, 1), 64); // 63.75
    EXPECT_EQ(dst.at<uchar>(0, 2), 191);
    EXPECT_EQ(dst.at<uchar>(0, 3), 255);

    src = (Mat_<uchar>(1, 2) << 0, 100);
    dst = resizePilBilinear(src, Size(4, 1));
    EXPECT_EQ(dst.at<uchar>(0, 1), 25);
    EXPECT_EQ(dst.at<uchar>(0, 2), 75);

    Mat srcf = (Mat_<float>(2, 1) << 0.f, 1.f);
    Mat dstf = resizePilBilinear(srcf, Size(1, 4));
    EXPECT_FLOAT_EQ(dstf.at<float>(1, 0), 0.25f);
    EXPECT_FLOAT_EQ(dstf.at<float>(2, 0), 0.75f);
}

TEST(Patchcore_Preprocess, pil_matches_pillow_golden)
{
    // Expected values produced by Pillow 9.4.0: Image.fromarray(a, "RGB").resize((W, H), Image.BILINEAR).
    const Mat src = pilGoldenInput();
    const uchar exp4x3[] = {39, 92, 145, 100, 139, 143, 155, 121, 103, 122, 134, 106, 114, 164, 146, 147, 157, 88,
                            117, 128, 137, 127, 120, 139, 171, 163, 59, 125, 117, 121, 156, 148, 128, 132, 114, 120};
    const uchar exp5x7[] = {5, 58, 111, 35, 88, 141, 115, 168, 161, 197, 122, 95, 151, 186, 111, 39, 92, 145, 77, 130,
                            183, 166, 159, 77, 129, 102, 107, 73, 126, 69, 73, 126, 179, 118, 171, 144, 157, 75, 67,
                            110, 115, 168, 141, 85, 138, 107, 160, 194, 160, 213, 58, 73, 126, 118, 122, 175, 100, 100,
                            153, 187, 140, 193, 118, 202, 175, 52, 124, 116, 169, 183, 108, 161, 168, 75, 128, 174, 209,
                            24, 163, 88, 93, 114, 167, 160, 115, 168, 93, 90, 143, 86, 190, 133, 58, 77, 82, 135, 165,
                            158, 76, 175, 100, 153, 158, 101, 154};
    // First two rows of the 13x10 enlargement (both passes enlarge).
    const uchar exp13x10rows01[] = {
        0, 53, 106, 4, 57, 110, 12, 65, 118, 26, 79, 132, 50, 103, 156, 78, 131, 184, 112, 165, 218, 156, 209, 84,
        205, 159, 55, 239, 56, 109, 125, 119, 172, 135, 188, 123, 192, 245, 42, 17, 70, 123, 22, 75, 128, 32, 85, 138,
        49, 102, 155, 74, 127, 180, 104, 157, 167, 140, 193, 105, 186, 141, 71, 182, 105, 87, 143, 90, 132, 128, 155,
        99, 108, 161, 85, 90, 143, 81};

    Mat d = resizePilBilinear(src, Size(4, 3));
    ASSERT_EQ(d.type(), CV_8UC3);
    EXPECT_EQ(cv::norm(d.reshape(1, 1), Mat(1, 36, CV_8U, (void*)exp4x3), NORM_INF), 0.0) << d;

    d = resizePilBilinear(src, Size(5, 7)); // only the horizontal pass runs
    EXPECT_EQ(cv::norm(d.reshape(1, 1), Mat(1, 105, CV_8U, (void*)exp5x7), NORM_INF), 0.0) << d;

    d = resizePilBilinear(src, Size(13, 10));
    EXPECT_EQ(cv::norm(d.rowRange(0, 2).clone().reshape(1, 1), Mat(1, 78, CV_8U, (void*)exp13x10rows01), NORM_INF),
              0.0)
        << d.rowRange(0, 2);
}

TEST(Patchcore_Preprocess, pil_identity_views_and_errors)
{
    Mat src = randomImage(Size(13, 9), CV_8UC3, 1);
    Mat dst = resizePilBilinear(src, src.size());
    EXPECT_EQ(maxAbsDiff(src, dst), 0.0);
    EXPECT_NE(src.data, dst.data);
    EXPECT_THROW(resizePilBilinear(Mat(), Size(4, 4)), cv::Exception);
    EXPECT_THROW(resizePilBilinear(Mat(4, 4, CV_8UC3), Size(0, 4)), cv::Exception);
    EXPECT_THROW(resizePilBilinear(Mat(4, 4, CV_16UC3), Size(2, 2)), cv::Exception);

    // A non-continuous view resamples like its copy.
    Mat big = randomImage(Size(40, 30), CV_8UC3, 2);
    const Rect roi(3, 5, 29, 21);
    EXPECT_EQ(maxAbsDiff(resizePilBilinear(big(roi), Size(11, 8)), resizePilBilinear(big(roi).clone(), Size(11, 8))),
              0.0);
}

TEST(Patchcore_Preprocess, pil_constant_stays_constant)
{
    const Size sizes[] = {Size(7, 3), Size(256, 256), Size(31, 57), Size(100, 100), Size(1, 1)};
    for (const Size& s : sizes)
    {
        Mat c8(Size(100, 77), CV_8UC3, Scalar(0, 137, 255));
        Mat r8 = resizePilBilinear(c8, s);
        EXPECT_EQ(cv::norm(r8, Mat(s, CV_8UC3, Scalar(0, 137, 255)), NORM_INF), 0.0) << s;
        Mat cf(Size(100, 77), CV_32FC3, Scalar(0.f, 0.3f, 1.f));
        Mat rf = resizePilBilinear(cf, s);
        EXPECT_LE(cv::norm(rf, Mat(s, CV_32FC3, Scalar(0.f, 0.3f, 1.f)), NORM_INF), 1e-6) << s;
    }
}

TEST(Patchcore_Preprocess, pil_mirror_symmetry)
{
    Mat src = randomImage(Size(37, 29), CV_8UC3, 7);
    Mat srcf;
    src.convertTo(srcf, CV_32F, 1.0 / 255);
    const Size sizes[] = {Size(16, 11), Size(60, 50), Size(5, 70)};
    for (const Size& s : sizes)
        for (int flipCode = -1; flipCode <= 1; ++flipCode)
        {
            Mat a, b, fsrc;
            flip(src, fsrc, flipCode);
            flip(resizePilBilinear(src, s), a, flipCode);
            b = resizePilBilinear(fsrc, s);
            // Fixed-point rounding may break exact symmetry by at most one level.
            EXPECT_LE(maxAbsDiff(a, b), 1.0) << s << " flip " << flipCode;
            flip(srcf, fsrc, flipCode);
            flip(resizePilBilinear(srcf, s), a, flipCode);
            b = resizePilBilinear(fsrc, s);
            EXPECT_LE(maxAbsDiff(a, b), 1e-5) << s << " flip " << flipCode;
        }
}

TEST(Patchcore_Preprocess, pil_float_agrees_with_8bit)
{
    Mat src = randomImage(Size(123, 77), CV_8UC3, 3);
    Mat srcf;
    src.convertTo(srcf, CV_32F, 1.0 / 255);
    for (const Size& s : {Size(40, 30), Size(200, 100), Size(123, 20)})
    {
        Mat r8 = resizePilBilinear(src, s), rf = resizePilBilinear(srcf, s), r8f;
        r8.convertTo(r8f, CV_32F, 1.0 / 255);
        // Two 8-bit roundings (one per pass) at most.
        EXPECT_LE(maxAbsDiff(r8f, rf), 1.0 / 255 + 1e-5) << s;
    }
}

// ---------------------------------------------------------------------------------------------- resizeImage

TEST(Patchcore_Preprocess, resizeImage_dispatch)
{
    Mat src = patternImage(Size(120, 90));
    Mat ref;
    resize(src, ref, Size(60, 45), 0, 0, INTER_AREA);
    EXPECT_EQ(maxAbsDiff(resizeImage(src, Size(60, 45), RESIZE_AREA), ref), 0.0);
    resize(src, ref, Size(60, 120), 0, 0, INTER_AREA); // shrinking one axis is enough for INTER_AREA
    EXPECT_EQ(maxAbsDiff(resizeImage(src, Size(60, 120), RESIZE_AREA), ref), 0.0);
    resize(src, ref, Size(240, 180), 0, 0, INTER_LINEAR);
    EXPECT_EQ(maxAbsDiff(resizeImage(src, Size(240, 180), RESIZE_AREA), ref), 0.0);
    resize(src, ref, Size(60, 45), 0, 0, INTER_LINEAR);
    EXPECT_EQ(maxAbsDiff(resizeImage(src, Size(60, 45), RESIZE_LINEAR), ref), 0.0);
    EXPECT_EQ(maxAbsDiff(resizeImage(src, Size(60, 45), RESIZE_PIL_BILINEAR), resizePilBilinear(src, Size(60, 45))),
              0.0);
    EXPECT_THROW(resizeImage(src, Size(60, 45), 3), cv::Exception);
    EXPECT_THROW(resizeImage(src, Size(60, 45), -1), cv::Exception);
}

// ---------------------------------------------------------------------------------------------- preprocessImage

TEST(Patchcore_Preprocess, preprocess_normalises_in_rgb_order)
{
    Params p = referenceParams();
    Mat blue(300, 400, CV_8UC3, Scalar(255, 0, 0)); // BGR: pure blue
    CropGeometry g;
    Mat out = preprocessImage(blue, p, &g);
    ASSERT_EQ(out.type(), CV_32FC3);
    ASSERT_EQ(out.size(), Size(p.cropSize, p.cropSize));
    EXPECT_EQ(g.input, Size(400, 300));
    EXPECT_EQ(g.resized, Size(341, 256));
    EXPECT_EQ(g.crop, Rect(58, 16, 224, 224));
    const Vec3f v = out.at<Vec3f>(100, 100);
    EXPECT_NEAR(v[0], (0.0 - 0.485) / 0.229, 1e-5);
    EXPECT_NEAR(v[1], (0.0 - 0.456) / 0.224, 1e-5);
    EXPECT_NEAR(v[2], (1.0 - 0.406) / 0.225, 1e-5);

    Mat grey(256, 256, CV_8UC1, Scalar(128));
    for (int m = RESIZE_PIL_BILINEAR; m <= RESIZE_LINEAR; ++m)
    {
        p.resizeMethod = m;
        out = preprocessImage(grey, p);
        Scalar expected((128 / 255.0 - 0.485) / 0.229, (128 / 255.0 - 0.456) / 0.224, (128 / 255.0 - 0.406) / 0.225);
        EXPECT_LE(cv::norm(out, Mat(out.size(), CV_32FC3, expected), NORM_INF), 1e-5) << "method " << m;
    }

    p = referenceParams();
    p.stdev = Scalar(0.2, 0.0, 0.2);
    EXPECT_THROW(preprocessImage(grey, p), cv::Exception);
}

TEST(Patchcore_Preprocess, preprocess_accepts_16bit_4channel_and_grey)
{
    Params p = referenceParams();
    const Mat img8 = patternImage(Size(300, 260));
    Mat img16;
    img8.convertTo(img16, CV_16U, 257.0);
    Mat bgra;
    cvtColor(img8, bgra, COLOR_BGR2BGRA);
    randu(bgra.reshape(1, bgra.rows * bgra.cols).col(3), 0, 256); // alpha must not matter
    Mat grey, grey3;
    cvtColor(img8, grey, COLOR_BGR2GRAY);
    cvtColor(grey, grey3, COLOR_GRAY2BGR);
    Mat img8f;
    img8.convertTo(img8f, CV_32F, 1.0 / 255);

    for (int m = RESIZE_PIL_BILINEAR; m <= RESIZE_LINEAR; ++m)
    {
        p.resizeMethod = m;
        const Mat ref8 = preprocessImage(img8, p);
        EXPECT_EQ(maxAbsDiff(preprocessImage(bgra, p), ref8), 0.0) << "method " << m;
        EXPECT_EQ(maxAbsDiff(preprocessImage(grey, p), preprocessImage(grey3, p)), 0.0) << "method " << m;

        // 16-bit pixels v * 257 are exactly v / 255 after scaling, so they equal the float path of the 8-bit image...
        const Mat out16 = preprocessImage(img16, p);
        EXPECT_LE(maxAbsDiff(out16, preprocessImage(img8f, p)), 1e-4) << "method " << m;
        // ...and differ from the 8-bit path only by the 8-bit rounding of its resized image (at most one level,
        // 1/255/std; the mean is about a quarter level, ~0.005, so no 1e-3 bound holds once resizing happens).
        EXPECT_LE(maxAbsDiff(out16, ref8), 1.0 / 255 / 0.224 + 1e-4) << "method " << m;
    }

    // Without resizing, 16-bit and 8-bit agree to float precision.
    Mat sq8 = patternImage(Size(256, 256)), sq16;
    sq8.convertTo(sq16, CV_16U, 257.0);
    for (int m = RESIZE_PIL_BILINEAR; m <= RESIZE_LINEAR; ++m)
    {
        p.resizeMethod = m;
        EXPECT_LE(maxAbsDiff(preprocessImage(sq16, p), preprocessImage(sq8, p)), 1e-5) << "method " << m;
    }
}

TEST(Patchcore_Preprocess, preprocess_rejects_bad_input)
{
    Params p = referenceParams();
    EXPECT_THROW(preprocessImage(Mat(), p), cv::Exception);
    EXPECT_THROW(preprocessImage(Mat(300, 300, CV_8SC3, Scalar::all(1)), p), cv::Exception);
    EXPECT_THROW(preprocessImage(Mat(300, 300, CV_8UC2, Scalar::all(1)), p), cv::Exception);
    EXPECT_THROW(preprocessImage(Mat(300, 300, CV_8UC(5), Scalar::all(1)), p), cv::Exception);
    Mat nanImg(300, 300, CV_32FC3, Scalar::all(0.5));
    nanImg.at<Vec3f>(150, 150)[2] = std::numeric_limits<float>::quiet_NaN();
    EXPECT_THROW(preprocessImage(nanImg, p), cv::Exception);
    p.resizeSize = 200; // crop 224 larger than the 200-pixel resized image
    EXPECT_THROW(preprocessImage(Mat(300, 300, CV_8UC3, Scalar::all(1)), p), cv::Exception);
}

// ---------------------------------------------------------------------------------------------- packBlob

TEST(Patchcore_Preprocess, packBlob_is_nchw)
{
    std::vector<Mat> imgs;
    for (int n = 0; n < 3; ++n)
    {
        Mat m(5, 7, CV_32FC3);
        randu(m, -2, 2);
        imgs.push_back(m);
    }
    Mat blob = packBlob(imgs);
    ASSERT_EQ(blob.dims, 4);
    EXPECT_EQ(blob.size[0], 3);
    EXPECT_EQ(blob.size[1], 3);
    EXPECT_EQ(blob.size[2], 5);
    EXPECT_EQ(blob.size[3], 7);
    EXPECT_EQ(blob.type(), CV_32F);
    for (int n = 0; n < 3; ++n)
        for (int c = 0; c < 3; ++c)
            for (int y = 0; y < 5; ++y)
                for (int x = 0; x < 7; ++x)
                {
                    const int idx[4] = {n, c, y, x};
                    ASSERT_EQ(blob.at<float>(idx), imgs[n].at<Vec3f>(y, x)[c]);
                }

    EXPECT_THROW(packBlob({}), cv::Exception);
    EXPECT_THROW(packBlob({imgs[0], Mat(5, 6, CV_32FC3, Scalar::all(0))}), cv::Exception);
    EXPECT_THROW(packBlob({Mat(5, 7, CV_8UC3, Scalar::all(0))}), cv::Exception);
}

// ---------------------------------------------------------------------------------------------- mapToInputFrame

TEST(Patchcore_Preprocess, mapToInputFrame_round_trip)
{
    const float c = 5.f, outside = -1.f;
    {
        CropGeometry g = computeCropGeometry(Size(640, 480), 256, 224);
        Mat map = mapToInputFrame(Mat(224, 224, CV_32F, Scalar(c)), g, outside);
        ASSERT_EQ(map.type(), CV_32F);
        ASSERT_EQ(map.size(), Size(640, 480));
        // Crop x 58..282 of 341 -> input x 108.9..529.3; y 16..240 of 256 -> input y 30..450.
        const Rect interior(115, 37, 520 - 115, 443 - 37);
        EXPECT_LE(cv::norm(map(interior), Mat(interior.size(), CV_32F, Scalar(c)), NORM_INF), 1e-5);
        const Rect left(0, 0, 100, 480), top(0, 0, 640, 25), right(540, 0, 100, 480), bottom(0, 458, 640, 22);
        for (const Rect& r : {left, top, right, bottom})
            EXPECT_LE(cv::norm(map(r), Mat(r.size(), CV_32F, Scalar(outside)), NORM_INF), 1e-5) << r;
    }
    {
        // No resizing: the crop lands exactly, pixel for pixel.
        CropGeometry g = computeCropGeometry(Size(256, 256), 256, 224);
        Mat crop(224, 224, CV_32F);
        randu(crop, 0, 1);
        Mat map = mapToInputFrame(crop, g, 0.f);
        ASSERT_EQ(map.size(), Size(256, 256));
        EXPECT_EQ(cv::norm(map(g.crop), crop, NORM_INF), 0.0);
        EXPECT_LE(cv::countNonZero(map), 224 * 224);
        EXPECT_EQ(map.at<float>(15, 100), 0.f);
        EXPECT_EQ(map.at<float>(100, 240), 0.f);
    }
    CropGeometry g = computeCropGeometry(Size(640, 480), 256, 224);
    EXPECT_THROW(mapToInputFrame(Mat(200, 224, CV_32F, Scalar(0)), g, 0.f), cv::Exception);
    EXPECT_THROW(mapToInputFrame(Mat(224, 224, CV_32FC2, Scalar(0)), g, 0.f), cv::Exception);
}

// ---------------------------------------------------------------------------------------------- reference fidelity

// Measured against the authors' pipeline (PIL 512->256 resize + crop 224, torchvision normalisation), OpenCV 4.6
// JPEG decoding, max / mean abs difference of the normalised 224x224x3 input:
//   colour_00: RESIZE_PIL_BILINEAR 0 / 0 (bit exact), RESIZE_AREA 0.158 / 0.0086, RESIZE_LINEAR 0.158 / 0.0086
//   good_04:   RESIZE_PIL_BILINEAR 0 / 0 (bit exact), RESIZE_AREA 0.086 / 0.0086, RESIZE_LINEAR 0.086 / 0.0086
// (AREA and LINEAR coincide for an exact 2:1 shrink: both average 2x2 blocks, whereas PIL's triangle spans 4 pixels.)
TEST(Patchcore_Preprocess, fidelity_to_reference_pipeline)
{
    const char* names[2][2] = {{"datasets/hazelnut_toy/test/colour/00.jpg", "reference/fixtures/hazelnut_test_colour_00_RAW.yml.gz"},
                               {"datasets/hazelnut_toy/test/good/04.jpg", "reference/fixtures/hazelnut_test_good_04_RAW.yml.gz"}};
    for (int i = 0; i < 2; ++i)
    {
        const char* const* nm = names[i];
        PATCHCORE_REQUIRE_DATA(nm[0]);
        PATCHCORE_REQUIRE_DATA(nm[1]);
        Mat ref;
        {
            FileStorage fs(dataPath(nm[1]), FileStorage::READ);
            ASSERT_TRUE(fs.isOpened()) << nm[1];
            fs["input_hwc_rgb_normalized"] >> ref;
        }
        ASSERT_EQ(ref.type(), CV_32FC3);
        ASSERT_EQ(ref.size(), Size(224, 224));
        const Mat img = imread(dataPath(nm[0]), IMREAD_COLOR);
        ASSERT_FALSE(img.empty()) << nm[0];

        const char* methodNames[3] = {"PIL_BILINEAR", "AREA", "LINEAR"};
        for (int m = RESIZE_PIL_BILINEAR; m <= RESIZE_LINEAR; ++m)
        {
            Params p = referenceParams();
            p.resizeMethod = m;
            const Mat out = preprocessImage(img, p);
            const double maxDiff = cv::norm(out, ref, NORM_INF);
            const Scalar meanDiff3 = cv::mean(cv::abs(out - ref));
            const double meanDiff = (meanDiff3[0] + meanDiff3[1] + meanDiff3[2]) / 3;
            std::cout << "[ fidelity ] " << nm[0] << " RESIZE_" << methodNames[m] << ": max abs diff " << maxDiff
                      << ", mean abs diff " << meanDiff << std::endl;
            ::testing::Test::RecordProperty(std::string("maxdiff_") + methodNames[m] + "_" + std::to_string(i),
                                            std::to_string(maxDiff));
            if (m == RESIZE_PIL_BILINEAR)
            {
                // Any difference can only come from JPEG decoding (libjpeg versions): one 8-bit level at most.
                EXPECT_LE(maxDiff, 1.0 / 255 / 0.224 + 1e-4);
                EXPECT_LE(meanDiff, 1e-3);
            }
        }
    }
}

} // namespace opencv_test
