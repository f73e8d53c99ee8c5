// The `patchcore` program's care masks, defect regions and decision rules: `train --care-mask` (labels kept, bad
// files refused before training), `--calibrate` with per-label targets, `predict` writing regions.csv and
// regions.json next to scores.csv, the decision rule saved by train and overridden for one predict run, and the
// overlays' hatched don't-care area and region boxes. Small synthetic images and the tiny backbone: no ../shared.
#include "cli_runner.hpp"

#include <opencv2/core/utils/filesystem.hpp>

#include <fstream>
#include <map>
#include <sstream>

namespace opencv_test {
namespace {

#ifdef PATCHCORE_CLI

size_t occurrences(const std::string& text, const std::string& part)
{
    size_t n = 0;
    for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + part.size()))
        ++n;
    return n;
}

const int kDontCareColumns = 24; // the care masks below leave x < 24 out (of 64)

/** 64 x 64 labels: 0 (don't care) for x < 24, 1 for 24 <= x < 44, 2 beyond. */
cv::Mat labelMask()
{
    cv::Mat mask(64, 64, CV_8U, cv::Scalar(2));
    mask.colRange(0, kDontCareColumns).setTo(0);
    mask.colRange(kDontCareColumns, 44).setTo(1);
    return mask;
}

std::string goodImages(const std::string& dir)
{
    cv::utils::fs::createDirectories(dir);
    for (int i = 0; i < 8; ++i)
        cv::imwrite(dir + "/" + std::to_string(i) + ".png", texturedPart(i));
    return dir;
}

/** good.png, care_defect.png (a defect in the care area) and dontcare_defect.png (one in the don't-care area). */
std::string testImages(const std::string& dir)
{
    cv::utils::fs::createDirectories(dir);
    cv::imwrite(dir + "/good.png", texturedPart(20));
    cv::imwrite(dir + "/care_defect.png", texturedPart(21, cv::Rect(30, 20, 16, 16)));
    cv::imwrite(dir + "/dontcare_defect.png", texturedPart(22, cv::Rect(2, 20, 14, 16)));
    return dir;
}

std::vector<std::vector<std::string>> csvRows(const std::string& path)
{
    std::ifstream in(path);
    std::vector<std::vector<std::string>> rows;
    for (std::string line; std::getline(in, line);)
    {
        std::vector<std::string> cells;
        std::stringstream s(line);
        for (std::string cell; std::getline(s, cell, ',');)
            cells.push_back(cell);
        rows.push_back(cells);
    }
    return rows;
}

std::string baseName(const std::string& path)
{
    return path.substr(path.find_last_of('/') + 1);
}

/** regions.csv rows (without the header) by image file name. */
std::map<std::string, std::vector<std::vector<std::string>>> regionsByImage(const std::string& outDir)
{
    std::map<std::string, std::vector<std::vector<std::string>>> out;
    const auto rows = csvRows(outDir + "/regions.csv");
    for (size_t i = 1; i < rows.size(); ++i)
        out[baseName(rows[i][0])].push_back(rows[i]);
    return out;
}

/** scores.csv's defect column by image file name. */
std::map<std::string, std::string> decisions(const std::string& outDir)
{
    std::map<std::string, std::string> out;
    const auto rows = csvRows(outDir + "/scores.csv");
    for (size_t i = 1; i < rows.size(); ++i)
        out[baseName(rows[i][0])] = rows[i].size() > 4 ? rows[i][4] : "";
    return out;
}

/** A calibrated detector trained once per process with labelMask() as its care mask. */
const std::string& maskedDetector()
{
    static const std::string path = [] {
        const std::string dir = tempDir(), mask = dir + "/mask.png";
        cv::imwrite(mask, labelMask());
        const CliResult r = runCli("train " + goodImages(dir + "/good") + " --care-mask=" + mask +
                                    " --calibrate=0.25 --label-far=2:0.0001 --out=" + dir + "/det.pcb " + tinyOptions(),
                                dir);
        EXPECT_EQ(0, r.status) << r.err;
        // Every label of the mask gets its own calibrated pixel threshold.
        EXPECT_TRUE(contains(r.out, "label 1 ") && contains(r.out, "label 2 ")) << r.out;
        return dir + "/det.pcb";
    }();
    return path;
}

TEST(Patchcore_CliRegions, trainWithCareMaskThenPredictWritesRegions)
{
    const std::string dir = tempDir(), images = testImages(dir + "/images"), out = dir + "/p";
    const CliResult r = runCli("predict " + maskedDetector() + " " + images + " --out=" + out, dir);
    ASSERT_EQ(0, r.status) << r.err;
    EXPECT_TRUE(contains(r.out, out + "/regions.csv") && contains(r.out, out + "/regions.json")) << r.out;

    const std::string csv = readAll(out + "/regions.csv");
    EXPECT_EQ("image,region,label,area,x,y,width,height,centroid_x,centroid_y,peak_score,mean_score,decision\n",
              csv.substr(0, csv.find('\n') + 1));
    const auto rows = csvRows(out + "/regions.csv");
    ASSERT_FALSE(rows.empty());
    const auto byImage = regionsByImage(out);
    const auto decided = decisions(out);
    ASSERT_EQ(3u, decided.size());
    ASSERT_TRUE(byImage.count("care_defect.png")) << "the defect in the care area was not found";
    EXPECT_EQ("1", decided.at("care_defect.png"));
    for (const auto& image : byImage)
        for (size_t i = 0; i < image.second.size(); ++i)
        {
            const std::vector<std::string>& row = image.second[i];
            ASSERT_EQ(13u, row.size()) << image.first;
            EXPECT_EQ(std::to_string(i + 1), row[1]) << "region ids count from 1 in each image";
            EXPECT_TRUE(row[2] == "1" || row[2] == "2") << "label " << row[2] << " is none of the mask's";
            const int area = std::stoi(row[3]), x = std::stoi(row[4]), w = std::stoi(row[6]), h = std::stoi(row[7]);
            EXPECT_GE(x, kDontCareColumns) << "a region reaches into the don't-care area";
            EXPECT_GE(w * h, area);
            EXPECT_GE(std::stod(row[10]), std::stod(row[11])) << "peak below mean";
            EXPECT_EQ(decided.at(image.first), row[12]) << "regions.csv and scores.csv disagree on " << image.first;
        }
    // The same defect outside the care area neither enters the bank nor scores like the one inside it.
    const auto scores = csvRows(out + "/scores.csv");
    std::map<std::string, double> score;
    for (size_t i = 1; i < scores.size(); ++i)
        score[baseName(scores[i][0])] = std::stod(scores[i][1]);
    EXPECT_LT(score.at("dontcare_defect.png"), score.at("care_defect.png"));

    // regions.json: one object per image with its regions, the same count as regions.csv's rows.
    const std::string json = readAll(out + "/regions.json");
    ASSERT_FALSE(json.empty());
    EXPECT_EQ('[', json.front());
    EXPECT_EQ("]\n", json.substr(json.size() - 2));
    EXPECT_EQ(3u, occurrences(json, "{\"name\": "));
    EXPECT_EQ(rows.size() - 1, occurrences(json, "{\"region\": "));
    EXPECT_TRUE(contains(json, "care_defect.png\", \"score\": ") && contains(json, "\"decision\": 1")) << json;
    for (const char* key : {"\"label\": ", "\"area\": ", "\"box\": [", "\"centroid\": [", "\"peak_score\": ",
                            "\"mean_score\": "})
        EXPECT_TRUE(contains(json, key)) << key;

    // The overlay: the don't-care area hatched in grey (150, a colour the heat map never blends to), the care area
    // not; the region boxed in white.
    const cv::Mat overlay = cv::imread(out + "/overlays/care_defect.png");
    ASSERT_EQ(cv::Size(64, 64), overlay.size());
    cv::Mat hatch, white;
    cv::inRange(overlay, cv::Scalar::all(150), cv::Scalar::all(150), hatch);
    EXPECT_GT(cv::countNonZero(hatch.colRange(0, kDontCareColumns)), 20);
    cv::inRange(overlay, cv::Scalar::all(250), cv::Scalar::all(255), white);
    EXPECT_GT(cv::countNonZero(white.colRange(kDontCareColumns, 64)), 0) << "no region box";
}

TEST(Patchcore_CliRegions, badCareMasksAndRuleOptionsFailBeforeTraining)
{
    const std::string dir = tempDir(), good = goodImages(dir + "/good"), out = dir + "/x.pcb";
    std::ofstream(dir + "/garbage.png") << "not an image";
    cv::imwrite(dir + "/deep.png", cv::Mat(64, 64, CV_16U, cv::Scalar(1000)));
    cv::imwrite(dir + "/zero.png", cv::Mat::zeros(64, 64, CV_8U));
    cv::Mat colour(64, 64, CV_8UC3, cv::Scalar(255, 0, 0));
    cv::imwrite(dir + "/colour.png", colour);
    cv::imwrite(dir + "/grey_as_rgb.png", cv::Mat(64, 64, CV_8UC3, cv::Scalar::all(255)));
    const struct
    {
        std::string options, message;
    } cases[] = {
        {"--care-mask=" + dir + "/no_such_mask.png", "care mask '" + dir + "/no_such_mask.png' does not exist"},
        {"--care-mask=" + dir + "/garbage.png", "cannot read care mask '" + dir + "/garbage.png'"},
        {"--care-mask=" + dir + "/deep.png", "is 16-bit"},
        {"--care-mask=" + dir + "/zero.png", "is 0 everywhere"},
        {"--care-mask=" + dir + "/colour.png", "has colours"},
        {"--care-mask-scale", "--care-mask-scale needs a --care-mask"},
        {"--label-far=1=0.01", "--label-far takes label:rate pairs"},
        {"--label-far=0:0.01", "labels are 1..255"},
        {"--label-far=3:1.5", "rates in (0, 1)"},
        {"--min-region-area=0", "--min-region-area must be at least 1"},
        {"--max-regions=many", "--max-regions takes a whole number"},
        {"--regions-decide=maybe", "--regions-decide takes true or false"},
    };
    for (const auto& c : cases)
    {
        const CliResult r = runCli("train " + good + " " + c.options + " --out=" + out + " " + tinyOptions(), dir);
        EXPECT_EQ(2, r.status) << c.options << "\n" << r.err;
        EXPECT_TRUE(contains(r.err, c.message)) << c.options << ": '" << c.message << "' not in\n" << r.err;
        EXPECT_FALSE(contains(r.err, "training on")) << c.options << ": reported after training started";
        EXPECT_FALSE(cv::utils::fs::exists(out)) << c.options;
    }
    // A grey mask saved with three equal colour channels is that grey mask.
    const CliResult grey = runCli("train " + good + " --care-mask=" + dir + "/grey_as_rgb.png --out=" + out + " " +
                                   tinyOptions(), dir);
    EXPECT_EQ(0, grey.status) << grey.err;

    // A mask of another size than the images, without --care-mask-scale: the library's size check, named.
    cv::imwrite(dir + "/small.png", cv::Mat(32, 32, CV_8U, cv::Scalar(255)));
    const CliResult small = runCli("train " + good + " --care-mask=" + dir + "/small.png --out=" + dir + "/s.pcb " +
                                    tinyOptions(), dir);
    EXPECT_EQ(2, small.status) << small.err;
    EXPECT_TRUE(contains(small.err, "care mask") && contains(small.err, "32x32")) << small.err;
    EXPECT_FALSE(cv::utils::fs::exists(dir + "/s.pcb"));
}

TEST(Patchcore_CliRegions, decisionRuleIsSavedByTrainAndOverriddenForOnePredictRun)
{
    const std::string dir = tempDir(), images = testImages(dir + "/images"), mask = dir + "/mask.png";
    cv::imwrite(mask, labelMask());
    const std::string det = dir + "/strict.pcb";
    // No region is this large: the saved rule reports none.
    const CliResult train = runCli("train " + goodImages(dir + "/good") + " --care-mask=" + mask +
                                    " --calibrate=0.25 --min-region-area=100000 --out=" + det + " " + tinyOptions(), dir);
    ASSERT_EQ(0, train.status) << train.err;
    const std::string saved = readAll(det);

    const CliResult strict = runCli("predict " + det + " " + images + " --out=" + dir + "/strict", dir);
    ASSERT_EQ(0, strict.status) << strict.err;
    EXPECT_EQ(1u, csvRows(dir + "/strict/regions.csv").size()) << "only the header";
    EXPECT_EQ(3u, occurrences(readAll(dir + "/strict/regions.json"), "\"regions\": []"));

    // For this run only: every region of one pixel or more, at most one per image, and regions decide.
    const CliResult loose = runCli("predict " + det + " " + images + " --min-region-area=1 --max-regions=1 "
                                "--regions-decide --out=" + dir + "/loose", dir);
    ASSERT_EQ(0, loose.status) << loose.err;
    const auto byImage = regionsByImage(dir + "/loose");
    const auto decided = decisions(dir + "/loose");
    ASSERT_TRUE(byImage.count("care_defect.png"));
    for (const auto& image : byImage)
    {
        EXPECT_EQ(1u, image.second.size()) << image.first << ": --max-regions=1";
        EXPECT_EQ("1", decided.at(image.first)) << image.first << " has a region; with --regions-decide it is rejected";
    }
    EXPECT_EQ(saved, readAll(det)) << "predict rewrote the detector file";

    const CliResult again = runCli("predict " + det + " " + images + " --out=" + dir + "/again", dir);
    ASSERT_EQ(0, again.status) << again.err;
    EXPECT_EQ(1u, csvRows(dir + "/again/regions.csv").size()) << "the saved rule is back";

    const CliResult bad = runCli("predict " + det + " " + images + " --max-regions=-1 --out=" + dir + "/bad", dir);
    EXPECT_EQ(2, bad.status) << bad.err;
    EXPECT_TRUE(contains(bad.err, "--max-regions takes a whole number >= 0, not '-1'")) << bad.err;
}

TEST(Patchcore_CliRegions, uncalibratedDetectorWritesNoRegionsAndRefusesRuleOptions)
{
    const std::string dir = tempDir(), images = testImages(dir + "/images"), det = dir + "/plain.pcb";
    ASSERT_EQ(0, runCli("train " + goodImages(dir + "/good") + " --out=" + det + " " + tinyOptions(), dir).status);
    const CliResult plain = runCli("predict " + det + " " + images + " --out=" + dir + "/p", dir);
    ASSERT_EQ(0, plain.status) << plain.err;
    EXPECT_TRUE(cv::utils::fs::exists(dir + "/p/scores.csv"));
    EXPECT_FALSE(cv::utils::fs::exists(dir + "/p/regions.csv")) << "regions without thresholds";
    EXPECT_FALSE(contains(plain.out, "regions.csv")) << plain.out;

    const CliResult rule = runCli("predict " + det + " " + images + " --regions-decide --out=" + dir + "/q", dir);
    EXPECT_EQ(2, rule.status) << rule.err;
    EXPECT_TRUE(contains(rule.err, "need a detector with thresholds")) << rule.err;
    EXPECT_FALSE(cv::utils::fs::exists(dir + "/q/scores.csv"));
}

TEST(Patchcore_CliRegions, scaledCareMaskFollowsEveryFrameSize)
{
    const std::string dir = tempDir(), mask = dir + "/mask.png", det = dir + "/scaled.pcb";
    // 16 x 16, left 6 columns don't care: 24 of 64 px on the training images, 36 of 96 on the test image.
    cv::Mat small(16, 16, CV_8U, cv::Scalar(255));
    small.colRange(0, 6).setTo(0);
    cv::imwrite(mask, small);
    const CliResult train = runCli("train " + goodImages(dir + "/good") + " --care-mask=" + mask +
                                    " --care-mask-scale --calibrate=0.25 --out=" + det + " " + tinyOptions(), dir);
    ASSERT_EQ(0, train.status) << train.err;
    const std::string images = dir + "/images";
    cv::utils::fs::createDirectories(images);
    cv::imwrite(images + "/large.png", texturedPart(23, cv::Rect(50, 30, 24, 24), cv::Size(96, 96)));
    const CliResult r = runCli("predict " + det + " " + images + " --out=" + dir + "/p", dir);
    ASSERT_EQ(0, r.status) << r.err;
    for (const auto& image : regionsByImage(dir + "/p"))
        for (const auto& row : image.second)
        {
            EXPECT_EQ("255", row[2]) << "a 0/255 mask's care label";
            EXPECT_GE(std::stoi(row[4]), 36) << "a region reaches into the scaled don't-care area";
        }
    const cv::Mat overlay = cv::imread(dir + "/p/overlays/large.png");
    ASSERT_EQ(cv::Size(96, 96), overlay.size());
    cv::Mat hatch;
    cv::inRange(overlay, cv::Scalar::all(150), cv::Scalar::all(150), hatch);
    EXPECT_GT(cv::countNonZero(hatch.colRange(0, 36)), 20) << "the scaled don't-care area is not hatched";
}

#else

TEST(Patchcore_CliRegions, checks)
{
    GTEST_SKIP() << "SKIPPED: the patchcore program is not built (PATCHCORE_BUILD_SAMPLES=OFF)";
}

#endif

} // namespace
} // namespace opencv_test
