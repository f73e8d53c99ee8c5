// `patchcore predict` on a video: a frame loop writing one CSV row and one overlay per frame, with the defect
// outline, the region boxes and regions.csv / regions.json when the detector has thresholds. The test writes its own
// small video; skips where no codec is available.
#include "test_precomp.hpp"

#include <opencv2/core/utils/filesystem.hpp>
#include <opencv2/videoio.hpp>

#include <algorithm>
#include <cstdlib>
#include <fstream>

namespace opencv_test {
namespace {

#ifdef PATCHCORE_CLI

cv::Mat frameAt(int i, bool defect)
{
    cv::Mat img(64, 64, CV_8UC3);
    for (int y = 0; y < img.rows; ++y)
        for (int x = 0; x < img.cols; ++x)
            img.at<cv::Vec3b>(y, x) = cv::Vec3b::all(static_cast<uchar>(90 + ((x * 7 + y * 13 + i * 5) % 29) +
                                                                         ((x / 8 + y / 8) % 2) * 40));
    if (defect)
        img(cv::Rect(20, 20, 16, 16)).setTo(cv::Scalar(250, 30, 250));
    return img;
}

std::vector<std::string> readLines(const std::string& path)
{
    std::ifstream in(path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    return lines;
}

TEST(Patchcore_CliVideo, predictVideoWritesFramesAndDefectOutlines)
{
    const std::string dir = tempDir() + "/cli_video", video = dir + "/clip.avi";
    cv::utils::fs::createDirectories(dir);
    const int frames = 6;
    {
        cv::VideoWriter writer(video, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 5.0, cv::Size(64, 64));
        if (!writer.isOpened())
            GTEST_SKIP() << "SKIPPED: this OpenCV build cannot write MJPG .avi files (no video backend)";
        for (int i = 0; i < frames; ++i)
            writer.write(frameAt(i, i >= frames - 2)); // the last two frames carry a defect
    }
    if (!cv::VideoCapture(video).isOpened())
        GTEST_SKIP() << "SKIPPED: this OpenCV build cannot read back the MJPG .avi it wrote";

    cv::patchcore::Params p;
    p.modelPath = std::string(PATCHCORE_TEST_DATA_DIR) + "/test_models/tiny_backbone.onnx";
    p.layers = {"tap_a", "tap_b"};
    p.resizeSize = p.cropSize = 64;
    p.pretrainEmbedDim = p.targetEmbedDim = 32;
    p.projectionDim = 16;
    auto det = cv::patchcore::Detector::create(p);
    std::vector<cv::Mat> good;
    for (int i = 10; i < 16; ++i)
        good.push_back(frameAt(i, false));
    det->train(good);
    // Thresholds between the good and the defective frames, so that the verdicts are known.
    cv::Mat goodMap, badMap;
    const double goodScore = det->predict(frameAt(0, false), goodMap), badScore = det->predict(frameAt(5, true), badMap);
    ASSERT_LT(goodScore, badScore);
    double goodMax = 0, badMax = 0;
    cv::minMaxLoc(goodMap, nullptr, &goodMax);
    cv::minMaxLoc(badMap, nullptr, &badMax);
    det->setThresholds((goodScore + badScore) / 2, (goodMax + badMax) / 2);
    det->save(dir + "/det.pcb");

    const std::string cmd = std::string(PATCHCORE_CLI) + " predict " + dir + "/det.pcb " + video + " --out=" + dir +
                            "/out > " + dir + "/log.txt 2>&1";
    ASSERT_EQ(0, std::system(cmd.c_str())) << cmd << "\n" << readLines(dir + "/log.txt").size() << " log lines";

    const std::vector<std::string> rows = readLines(dir + "/out/scores.csv");
    ASSERT_EQ(static_cast<size_t>(frames + 1), rows.size());
    EXPECT_EQ("frame,score,map_max,seconds,defect", rows[0]);
    for (int i = 0; i < frames; ++i)
    {
        const std::string& row = rows[i + 1];
        EXPECT_EQ(0u, row.find(cv::format("frame_%06d,", i))) << row;
        // MJPG is lossy, but the defect is large and bright: verdicts follow it.
        EXPECT_EQ(i >= frames - 2 ? '1' : '0', row.back()) << row;
        const cv::Mat overlay = cv::imread(cv::format("%s/out/overlays/frame_%06d.png", dir.c_str(), i));
        ASSERT_FALSE(overlay.empty()) << "overlay of frame " << i;
        EXPECT_EQ(cv::Size(64, 64), overlay.size());
        // The outline is drawn in pure white, a colour the JET heat map never produces.
        cv::Mat white;
        cv::inRange(overlay, cv::Scalar::all(250), cv::Scalar::all(255), white);
        if (i >= frames - 2)
            EXPECT_GT(cv::countNonZero(white), 0) << "no defect outline on frame " << i;
    }
    // The frames' defect regions, from the same pass as the scores (Detector::detectRegions()).
    const std::vector<std::string> regions = readLines(dir + "/out/regions.csv");
    ASSERT_FALSE(regions.empty());
    EXPECT_EQ("image,region,label,area,x,y,width,height,centroid_x,centroid_y,peak_score,mean_score,decision",
              regions[0]);
    bool lastFrameHasRegion = false;
    for (size_t i = 1; i < regions.size(); ++i)
        lastFrameHasRegion = lastFrameHasRegion || regions[i].find(cv::format("frame_%06d,1,", frames - 1)) == 0;
    EXPECT_TRUE(lastFrameHasRegion) << "no region listed for the last (defective) frame";
    const std::vector<std::string> json = readLines(dir + "/out/regions.json");
    ASSERT_FALSE(json.empty());
    EXPECT_EQ("[", json.front());
    EXPECT_EQ("]", json.back());
    EXPECT_EQ(frames, std::count_if(json.begin(), json.end(), [](const std::string& line) {
                  return line.find("  {\"name\": \"frame_") == 0;
              })) << "one object per frame";
}

#else

TEST(Patchcore_CliVideo, predictVideoWritesFramesAndDefectOutlines)
{
    GTEST_SKIP() << "SKIPPED: the patchcore program is not built (PATCHCORE_BUILD_SAMPLES=OFF)";
}

#endif

} // namespace
} // namespace opencv_test
