// Whole-frame inspection: input-mode geometry, tile stitching, and defects outside the reference's centre crop.
#include "test_precomp.hpp"
#include "preprocess.hpp"
#include "stitching.hpp"

namespace opencv_test {
namespace {

using namespace cv::patchcore;
using namespace cv::patchcore::detail;

Params modeParams(int mode)
{
    Params p;
    p.inputMode = mode;
    return p;
}

TEST(Patchcore_InputModes, GeometryOfEachMode)
{
    const cv::Size input(1600, 800);
    const CropGeometry crop = computeGeometry(input, modeParams(INPUT_CENTER_CROP));
    EXPECT_EQ(crop.resized, cv::Size(512, 256));
    EXPECT_EQ(crop.crop, cv::Rect(144, 16, 224, 224));
    ASSERT_EQ(crop.windows.size(), 1u);

    const CropGeometry squash = computeGeometry(input, modeParams(INPUT_RESIZE));
    EXPECT_EQ(squash.resized, cv::Size(224, 224));
    EXPECT_EQ(squash.crop, cv::Rect(0, 0, 224, 224));

    const CropGeometry aspect = computeGeometry(input, modeParams(INPUT_ASPECT));
    EXPECT_EQ(aspect.resized, cv::Size(448, 224));
    EXPECT_EQ(aspect.crop, cv::Rect(0, 0, 448, 224));
    ASSERT_EQ(aspect.windows.size(), 1u);
    EXPECT_EQ(aspect.windows[0], aspect.crop);
    // Portrait, and a ratio that needs rounding to a multiple of 16: 224 * 1.3 = 291.2 -> 288.
    EXPECT_EQ(computeGeometry(cv::Size(300, 390), modeParams(INPUT_ASPECT)).resized, cv::Size(224, 288));
}

TEST(Patchcore_InputModes, TilesCoverTheFrameWithTheRequestedOverlap)
{
    Params p = modeParams(INPUT_TILES);
    p.tileScale = 1.0;
    p.tileOverlap = 0.25;
    const CropGeometry g = computeGeometry(cv::Size(1024, 600), p);
    EXPECT_EQ(g.resized, cv::Size(1024, 600));
    cv::Mat covered = cv::Mat::zeros(g.resized, CV_8U);
    for (const cv::Rect& w : g.windows)
    {
        EXPECT_EQ(w.size(), cv::Size(224, 224));
        EXPECT_EQ(w & cv::Rect(cv::Point(), g.resized), w) << "tile outside the frame";
        covered(w).setTo(1);
    }
    EXPECT_EQ(cv::countNonZero(covered), 1024 * 600) << "every pixel is in some tile";
    const std::vector<int> xs = tileOffsets(1024, 224, 0.25);
    ASSERT_GE(xs.size(), 2u);
    EXPECT_EQ(xs.front(), 0);
    EXPECT_EQ(xs.back(), 1024 - 224);
    for (size_t i = 1; i + 1 < xs.size(); ++i)
        EXPECT_EQ(xs[i] - xs[i - 1], 168); // 224 * (1 - 0.25)
    EXPECT_EQ(g.windows.size(), xs.size() * tileOffsets(600, 224, 0.25).size());

    // Smaller than one tile at the requested scale: enlarged to hold exactly one.
    p.tileScale = 0.1;
    const CropGeometry small = computeGeometry(cv::Size(1000, 500), p);
    EXPECT_EQ(small.resized.height, 224);
    EXPECT_EQ(tileOffsets(224, 224, 0.5), std::vector<int>{0});
}

TEST(Patchcore_InputModes, FrameIsTheTilesScaledImageInOnePass)
{
    Params p = modeParams(INPUT_FRAME);
    p.tileScale = 0.5;
    const CropGeometry g = computeGeometry(cv::Size(1024, 600), p);
    // 1024 x 0.5 = 512; 600 x 0.5 = 300 -> 304, the nearest multiple of 16.
    EXPECT_EQ(g.resized, cv::Size(512, 304));
    EXPECT_EQ(g.crop, cv::Rect(0, 0, 512, 304));
    ASSERT_EQ(g.windows.size(), 1u);
    EXPECT_EQ(g.windows[0], g.crop);
    Params tiles = p;
    tiles.inputMode = INPUT_TILES;
    EXPECT_GT(computeGeometry(cv::Size(1024, 600), tiles).windows.size(), 1u);
    // Too small for cropSize at this scale: the shorter side is enlarged to cropSize, the aspect ratio kept.
    p.tileScale = 0.1;
    EXPECT_EQ(computeGeometry(cv::Size(1000, 500), p).resized, cv::Size(448, 224));
}

TEST(Patchcore_InputModes, HugeWorkingFrameIsRefused)
{
    Params p = modeParams(INPUT_TILES);
    p.tileScale = 4;
    EXPECT_THROW(computeGeometry(cv::Size(8000, 8000), p), cv::Exception);
    EXPECT_NO_THROW(computeGeometry(cv::Size(20000, 20000), modeParams(INPUT_CENTER_CROP)));
}

TEST(Patchcore_InputModes, MapRoundTripOnNonSquareImages)
{
    for (int mode : {INPUT_CENTER_CROP, INPUT_RESIZE, INPUT_ASPECT, INPUT_TILES, INPUT_FRAME})
    {
        const CropGeometry g = computeGeometry(cv::Size(700, 350), modeParams(mode));
        // A working-frame map holding each pixel's x coordinate in input pixels must come back as (about) x.
        cv::Mat working(g.crop.size(), CV_32F);
        const double sx = static_cast<double>(g.input.width) / g.resized.width;
        for (int y = 0; y < working.rows; ++y)
            for (int x = 0; x < working.cols; ++x)
                working.at<float>(y, x) = static_cast<float>((x + g.crop.x + 0.5) * sx - 0.5);
        const cv::Mat back = mapToInputFrame(working, g, -1.f);
        ASSERT_EQ(back.size(), cv::Size(700, 350)) << "mode " << mode;
        for (int x = 60; x < 640; x += 37)
        {
            const float v = back.at<float>(175, x);
            if (mode == INPUT_CENTER_CROP && v < 0)
                continue; // outside the crop
            EXPECT_NEAR(v, x, 1.5) << "mode " << mode << " x " << x;
        }
    }
}

TEST(Patchcore_InputModes, StitchingConstantAndLinearFieldsHasNoSeams)
{
    const cv::Size frame(500, 300);
    const std::vector<int> xs = tileOffsets(500, 224, 0.25), ys = tileOffsets(300, 224, 0.25);
    std::vector<cv::Rect> windows;
    std::vector<cv::Mat> constant, linear;
    for (int y : ys)
        for (int x : xs)
        {
            windows.emplace_back(x, y, 224, 224);
            constant.push_back(cv::Mat(28, 28, CV_32F, cv::Scalar(3.0)));
            // Each tile samples the same global field f = 0.01 * x at its patch centres.
            cv::Mat lin(28, 28, CV_32F);
            for (int gy = 0; gy < 28; ++gy)
                for (int gx = 0; gx < 28; ++gx)
                    lin.at<float>(gy, gx) = 0.01f * (x + gx * 8 + 3.5f);
            linear.push_back(lin);
        }
    const cv::Mat c = stitchAnomalyMap(constant, windows, frame, 4.0);
    double lo, hi;
    cv::minMaxLoc(c, &lo, &hi);
    EXPECT_NEAR(lo, 3.0, 1e-5);
    EXPECT_NEAR(hi, 3.0, 1e-5);

    const cv::Mat l = stitchAnomalyMap(linear, windows, frame, 0.0);
    double worst = 0;
    for (int y = 0; y < frame.height; ++y)
        for (int x = 8; x < frame.width - 8; ++x) // interpolation clamps within 4 px of the frame edge
            worst = std::max(worst, std::abs(l.at<float>(y, x) - 0.01 * x));
    EXPECT_LT(worst, 1e-3) << "tiles must agree where they overlap";
}

TEST(Patchcore_InputModes, StitchingBlendsDisagreeingTilesSmoothly)
{
    // Two overlapping tiles that disagree (1 vs 2): the blend must ramp, not jump.
    const std::vector<cv::Rect> windows{cv::Rect(0, 0, 224, 224), cv::Rect(112, 0, 224, 224)};
    const std::vector<cv::Mat> scores{cv::Mat(28, 28, CV_32F, cv::Scalar(1.0)), cv::Mat(28, 28, CV_32F, cv::Scalar(2.0))};
    const cv::Mat m = stitchAnomalyMap(scores, windows, cv::Size(336, 224), 0.0);
    double maxStep = 0;
    for (int x = 1; x < m.cols; ++x)
        maxStep = std::max(maxStep, static_cast<double>(std::abs(m.at<float>(112, x) - m.at<float>(112, x - 1))));
    EXPECT_LT(maxStep, 0.1);
    EXPECT_NEAR(m.at<float>(112, 20), 1.0, 1e-6);
    EXPECT_NEAR(m.at<float>(112, 320), 2.0, 1e-6);
}

// A defect near the border of a wide image: the reference's centre crop never sees it, the whole-frame modes do.
TEST(Patchcore_InputModes, DefectOutsideTheCentreCropIsFoundByWholeFrameModes)
{
    PATCHCORE_REQUIRE_DATA("models/squeezenet1.1.onnx");
    cv::RNG rng(1);
    auto texture = [&](cv::Size size) {
        cv::Mat small(size.height / 16, size.width / 16, CV_8UC3), img;
        rng.fill(small, cv::RNG::UNIFORM, 90, 160);
        cv::resize(small, img, size, 0, 0, cv::INTER_CUBIC);
        return img;
    };
    std::vector<cv::Mat> train;
    for (int i = 0; i < 6; ++i)
        train.push_back(texture(cv::Size(640, 320)));
    cv::Mat test = texture(cv::Size(640, 320));
    const cv::Rect defect(560, 130, 50, 50); // x > 480: right of the 320-px centre crop of the 640 x 320 image
    cv::rectangle(test, defect, cv::Scalar(255, 0, 255), cv::FILLED);

    for (int mode : {INPUT_CENTER_CROP, INPUT_ASPECT, INPUT_TILES, INPUT_FRAME})
    {
        Params p;
        p.modelPath = dataPath("models/squeezenet1.1.onnx");
        p.layers = {"fire4", "fire8"};
        p.pretrainEmbedDim = p.targetEmbedDim = 256;
        p.inputMode = mode;
        p.tileScale = 0.75;
        auto det = Detector::create(p);
        det->train(train);
        cv::Mat map;
        const double defective = det->predict(test, map);
        const double good = det->predict(texture(cv::Size(640, 320)));
        ASSERT_EQ(map.size(), test.size());
        cv::Point peak;
        cv::minMaxLoc(map, nullptr, nullptr, nullptr, &peak);
        if (mode == INPUT_CENTER_CROP)
        {
            EXPECT_EQ(map.at<float>(155, 585), 0.f) << "outside the crop the map holds 0";
        }
        else
        {
            EXPECT_GT(defective, 1.5 * good) << "mode " << mode;
            EXPECT_TRUE(cv::Rect(defect.x - 20, defect.y - 20, defect.width + 40, defect.height + 40).contains(peak))
                << "mode " << mode << " peak " << peak;
        }
    }
}

} // namespace
} // namespace opencv_test

namespace opencv_test {
namespace {

TEST(Patchcore_InputModes, BlobsAndExtremeAspectRatiosAreRefusedClearly)
{
    const int dims[3] = {3, 32, 32};
    const cv::Mat blob(3, dims, CV_8U, cv::Scalar(1));
    try
    {
        cv::patchcore::detail::toRGB(blob);
        ADD_FAILURE() << "a 3-D blob was read as an image";
    }
    catch (const cv::Exception& e)
    {
        EXPECT_NE(e.err.find("dimensions"), std::string::npos) << e.err;
    }
    // 1 x 20000 at resize 256 would be 256 x 5,120,000 pixels before the crop.
    EXPECT_THROW(computeGeometry(cv::Size(20000, 1), cv::patchcore::Params()), cv::Exception);
    cv::patchcore::Params squash;
    squash.inputMode = cv::patchcore::INPUT_RESIZE;
    EXPECT_NO_THROW(computeGeometry(cv::Size(20000, 1), squash)) << "the whole-frame resize handles any aspect ratio";
    EXPECT_NO_THROW(computeGeometry(cv::Size(4000, 300), cv::patchcore::Params()));
}

} // namespace
} // namespace opencv_test

namespace opencv_test {
namespace {

TEST(Patchcore_InputModes, AutoPicksTheScaledFrameForLargeImagesAndAspectOtherwise)
{
    using namespace cv::patchcore;
    using namespace cv::patchcore::detail;
    Params p; // default: INPUT_AUTO, resizeSize 256 -> the scaled frame above a 512 px shorter side
    ASSERT_EQ(INPUT_AUTO, p.inputMode);
    const Params grid = resolveInputMode(p, {cv::Size(1024, 1024)});
    EXPECT_EQ(INPUT_FRAME, grid.inputMode);
    EXPECT_DOUBLE_EQ(0.5, grid.tileScale);
    EXPECT_EQ(INPUT_ASPECT, resolveInputMode(p, {cv::Size(512, 900)}).inputMode) << "512 is not above 2 x 256";
    EXPECT_EQ(INPUT_FRAME, resolveInputMode(p, {cv::Size(900, 513)}).inputMode);
    // The median shorter side decides: one large image among small ones does not switch modes.
    EXPECT_EQ(INPUT_ASPECT,
              resolveInputMode(p, {cv::Size(300, 200), cv::Size(2000, 2000), cv::Size(250, 400)}).inputMode);
    const Params mostlyLarge = resolveInputMode(p, {cv::Size(300, 200), cv::Size(2000, 2000), cv::Size(1280, 1024)});
    EXPECT_EQ(INPUT_FRAME, mostlyLarge.inputMode);
    EXPECT_DOUBLE_EQ(512.0 / 1024.0, mostlyLarge.tileScale);
    p.resizeSize = 128; // the threshold follows the resize size
    EXPECT_EQ(INPUT_FRAME, resolveInputMode(p, {cv::Size(300, 300)}).inputMode);
    // An explicit mode is never changed.
    p.inputMode = INPUT_CENTER_CROP;
    EXPECT_EQ(INPUT_CENTER_CROP, resolveInputMode(p, {cv::Size(4000, 4000)}).inputMode);

    // Geometry of an unresolved AUTO is that of the mode it resolves to for that image.
    Params autoParams;
    const CropGeometry a = computeGeometry(cv::Size(1024, 1024), autoParams);
    const CropGeometry t = computeGeometry(cv::Size(1024, 1024), grid);
    EXPECT_EQ(t.resized, a.resized);
    EXPECT_EQ(t.windows, a.windows);
    EXPECT_EQ(cv::Size(512, 512), a.resized);
}

TEST(Patchcore_InputModes, TrainResolvesAutoAndChoosesAgainWhenRetrained)
{
    using namespace cv::patchcore;
    Params p = tinyModelParams(); // resizeSize 64: tiles above a 128 px shorter side
    p.inputMode = INPUT_AUTO;
    cv::RNG rng(3);
    auto images = [&](cv::Size size, int n) { return noiseImages(rng, n, size, 60, 200); };
    auto det = Detector::create(p);
    det->train(images(cv::Size(96, 64), 3));
    EXPECT_EQ(INPUT_ASPECT, det->getParams().inputMode);

    det->clear();
    det->train(images(cv::Size(320, 256), 3));
    EXPECT_EQ(INPUT_FRAME, det->getParams().inputMode);
    EXPECT_DOUBLE_EQ(128.0 / 256.0, det->getParams().tileScale);
    cv::Mat map;
    det->predict(images(cv::Size(320, 256), 1)[0], map);
    EXPECT_EQ(cv::Size(320, 256), map.size());

    // The choice is saved: a loaded detector works in the mode it was trained in.
    const std::string file = tempDir() + "/auto.pcb";
    det->save(file);
    EXPECT_EQ(INPUT_FRAME, Detector::load(file)->getParams().inputMode);

    // A training that fails (cancelled here) leaves the caller's parameters as they were.
    auto fresh = Detector::create(p);
    fresh->setProgressCallback([](const Progress& pr) { return std::string(pr.stage) != "backbone"; });
    EXPECT_THROW(fresh->train(images(cv::Size(320, 256), 2)), cv::Exception);
    EXPECT_EQ(INPUT_AUTO, fresh->getParams().inputMode);
    EXPECT_TRUE(fresh->empty());
}

} // namespace
} // namespace opencv_test
