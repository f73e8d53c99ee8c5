// The `patchcore` program's argument and path checks: unknown options, surplus arguments, missing inputs and
// unwritable outputs are errors reported before any work, and unreadable images are counted, not passed over.
// The --engine and --score-engines options choose the backbone engine and are checked the same way.
// Runs the program on small synthetic images and the project's tiny backbone; needs no ../shared data.
#include "cli_runner.hpp"

#include <opencv2/core/utils/filesystem.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

namespace opencv_test {
namespace {

#ifdef PATCHCORE_CLI

cv::Mat texture(int seed, bool defect)
{
    return texturedPart(seed, defect ? cv::Rect(20, 20, 16, 16) : cv::Rect());
}

/** A file with an image's name that no decoder can read. */
void writeGarbage(const std::string& path)
{
    std::ofstream(path) << "not an image";
}

/** `count` good images named 0.png, 1.png, ... in a new folder. */
std::string goodFolder(const std::string& dir, int count)
{
    cv::utils::fs::createDirectories(dir);
    for (int i = 0; i < count; ++i)
        cv::imwrite(dir + "/" + std::to_string(i) + ".png", texture(i, false));
    return dir;
}

/** An MVTec-layout category: three training images, one good and one defective test image. */
std::string makeCategory(const std::string& root)
{
    goodFolder(root + "/train/good", 3);
    goodFolder(root + "/test/good", 1);
    cv::utils::fs::createDirectories(root + "/test/broken");
    cv::imwrite(root + "/test/broken/0.png", texture(7, true));
    return root;
}

/** A detector trained once per process on the tiny backbone, saved as a file for `predict`. */
const std::string& savedDetector()
{
    static const std::string path = [] {
        const std::string file = tempDir() + "/det.pcb";
        auto det = cv::patchcore::Detector::create(tinyModelParams());
        std::vector<cv::Mat> good;
        for (int i = 10; i < 14; ++i)
            good.push_back(texture(i, false));
        det->train(good);
        det->save(file);
        return file;
    }();
    return path;
}

// "training on" is the program's first line once training starts: its absence shows that the check came first.
const char* const kTrainingStarted = "training on";

TEST(Patchcore_Cli, trainRejectsUnknownOptionBeforeTraining)
{
    const std::string dir = tempDir(), good = goodFolder(dir + "/good", 3), out = dir + "/x.pcb";
    const CliResult r = runCli("train " + good + " --rato=0.5 --out=" + out + " " + tinyOptions(), dir);
    EXPECT_EQ(2, r.status) << r.err;
    EXPECT_TRUE(contains(r.err, "unknown option --rato")) << r.err;
    EXPECT_FALSE(contains(r.err, kTrainingStarted)) << r.err;
    EXPECT_FALSE(cv::utils::fs::exists(out)) << "a detector was saved despite the unknown option";
}

TEST(Patchcore_Cli, predictRejectsUnknownOption)
{
    const std::string dir = tempDir(), good = goodFolder(dir + "/good", 1);
    const CliResult r = runCli("predict " + savedDetector() + " " + good + " --bogus=1 --out=" + dir + "/p", dir);
    EXPECT_EQ(2, r.status) << r.err;
    EXPECT_TRUE(contains(r.err, "unknown option --bogus")) << r.err;
    EXPECT_FALSE(contains(r.out, "scored")) << r.out;
    EXPECT_FALSE(cv::utils::fs::exists(dir + "/p")) << "the output folder was made despite the unknown option";
}

TEST(Patchcore_Cli, runRejectsUnknownOptionBeforeTraining)
{
    const std::string dir = tempDir(), category = makeCategory(dir + "/cat");
    const CliResult r = runCli("run " + category + " --bogus --out=" + dir + "/o " + tinyOptions(), dir);
    EXPECT_EQ(2, r.status) << r.err;
    EXPECT_TRUE(contains(r.err, "unknown option --bogus")) << r.err;
    EXPECT_FALSE(contains(r.err, kTrainingStarted)) << r.err;
    EXPECT_FALSE(cv::utils::fs::exists(dir + "/o"));
}

TEST(Patchcore_Cli, evalRejectsUnknownOptionBeforeTraining)
{
    const std::string dir = tempDir(), category = makeCategory(dir + "/cat");
    const CliResult r = runCli("eval " + category + " -shot=2 --out=" + dir + "/o " + tinyOptions(), dir);
    EXPECT_EQ(2, r.status) << r.err;
    EXPECT_TRUE(contains(r.err, "unknown option -shot")) << r.err;
    EXPECT_FALSE(contains(r.err, kTrainingStarted)) << r.err;
    EXPECT_FALSE(cv::utils::fs::exists(dir + "/o"));
}

TEST(Patchcore_Cli, surplusArgumentsAreRejected)
{
    const std::string dir = tempDir(), good = goodFolder(dir + "/good", 3), out = dir + "/x.pcb";
    const CliResult train = runCli("train " + good + " " + good + " --out=" + out + " " + tinyOptions(), dir);
    EXPECT_EQ(2, train.status) << train.err;
    EXPECT_TRUE(contains(train.err, "unexpected extra argument '" + good + "'")) << train.err;
    EXPECT_FALSE(contains(train.err, kTrainingStarted)) << train.err;
    EXPECT_FALSE(cv::utils::fs::exists(out));

    const CliResult predict =
        runCli("predict " + savedDetector() + " " + good + " surplus --out=" + dir + "/p", dir);
    EXPECT_EQ(2, predict.status) << predict.err;
    EXPECT_TRUE(contains(predict.err, "unexpected extra argument 'surplus'")) << predict.err;
    EXPECT_FALSE(contains(predict.out, "scored")) << predict.out;
}

TEST(Patchcore_Cli, predictMissingInputFails)
{
    const std::string dir = tempDir(), missing = dir + "/no_such_folder";
    const CliResult r = runCli("predict " + savedDetector() + " " + missing + " --out=" + dir + "/p", dir);
    EXPECT_NE(0, r.status) << r.out;
    EXPECT_TRUE(contains(r.err, missing)) << r.err;
    EXPECT_FALSE(contains(r.out, "scored 1")) << r.out;
}

TEST(Patchcore_Cli, predictCountsSkippedImages)
{
    const std::string dir = tempDir(), images = goodFolder(dir + "/images", 3);
    writeGarbage(images + "/broken_a.png");
    writeGarbage(images + "/broken_b.png");
    // The -o alias and the --vmax=<value> form must still be accepted by the argument check.
    const CliResult r = runCli("predict " + savedDetector() + " " + images + " -o=" + dir + "/p --vmax=0", dir);
    EXPECT_EQ(0, r.status) << r.err;
    EXPECT_TRUE(contains(r.out, "scored 3 of 5 images")) << r.out;
    EXPECT_TRUE(contains(r.out, "skipped 2 unreadable")) << r.out;
    EXPECT_TRUE(contains(r.err, "broken_a.png") && contains(r.err, "broken_b.png")) << r.err;
    std::ifstream csv(dir + "/p/scores.csv");
    int rows = 0;
    for (std::string line; std::getline(csv, line);)
        ++rows;
    EXPECT_EQ(4, rows) << "header and one row per readable image";
}

TEST(Patchcore_Cli, predictFailsWhenNoImageIsReadable)
{
    const std::string dir = tempDir(), images = dir + "/images";
    cv::utils::fs::createDirectories(images);
    writeGarbage(images + "/a.png");
    writeGarbage(images + "/b.png");
    const CliResult r = runCli("predict " + savedDetector() + " " + images + " --out=" + dir + "/p", dir);
    EXPECT_EQ(3, r.status) << r.out << r.err;
    EXPECT_TRUE(contains(r.out, "scored 0 of 2 images")) << r.out;
}

TEST(Patchcore_Cli, runReportsSkippedTestImages)
{
    const std::string dir = tempDir(), category = makeCategory(dir + "/cat");
    writeGarbage(category + "/test/good/unreadable.png");
    // A bare flag (--reweight) and the -o alias must pass the argument check.
    const CliResult r = runCli("run " + category + " --reweight -o=" + dir + "/o " + tinyOptions(), dir);
    EXPECT_EQ(0, r.status) << r.err;
    EXPECT_TRUE(contains(r.out, "scored 2 of 3 images; skipped 1 unreadable")) << r.out;
    EXPECT_TRUE(contains(r.err, "unreadable.png")) << r.err;
    EXPECT_TRUE(cv::utils::fs::exists(dir + "/o/detector.pcb"));
}

TEST(Patchcore_Cli, trainOutIntoMissingFolderFailsBeforeTraining)
{
    const std::string dir = tempDir(), good = goodFolder(dir + "/good", 3), out = dir + "/missing/x.pcb";
    const CliResult r = runCli("train " + good + " --out=" + out + " " + tinyOptions(), dir);
    EXPECT_EQ(2, r.status) << r.err;
    EXPECT_TRUE(contains(r.err, out) && contains(r.err, "does not exist")) << r.err;
    EXPECT_FALSE(contains(r.err, kTrainingStarted)) << r.err;
}

TEST(Patchcore_Cli, trainOutThatIsAFolderFailsBeforeTraining)
{
    const std::string dir = tempDir(), good = goodFolder(dir + "/good", 3), out = dir + "/existing_folder";
    cv::utils::fs::createDirectories(out);
    const CliResult r = runCli("train " + good + " --out=" + out + " " + tinyOptions(), dir);
    EXPECT_EQ(2, r.status) << r.err;
    EXPECT_TRUE(contains(r.err, out) && contains(r.err, "is a folder")) << r.err;
    EXPECT_FALSE(contains(r.err, kTrainingStarted)) << r.err;
}

TEST(Patchcore_Cli, trainOutUnderAFileFailsBeforeTraining)
{
    const std::string dir = tempDir(), good = goodFolder(dir + "/good", 3), file = dir + "/plain_file";
    std::ofstream(file) << "x";
    const CliResult r = runCli("train " + good + " --out=" + file + "/x.pcb " + tinyOptions(), dir);
    EXPECT_EQ(2, r.status) << r.err;
    EXPECT_TRUE(contains(r.err, file + "/x.pcb") && contains(r.err, "not a folder")) << r.err;
    EXPECT_FALSE(contains(r.err, kTrainingStarted)) << r.err;
}

TEST(Patchcore_Cli, trainOutIntoReadOnlyFolderFailsBeforeTraining)
{
    if (::geteuid() == 0)
        GTEST_SKIP() << "SKIPPED: running as root, for whom every folder is writable (the missing-folder and "
                        "file-as-folder tests cover the check)";
    const std::string dir = tempDir(), good = goodFolder(dir + "/good", 3), locked = dir + "/locked";
    cv::utils::fs::createDirectories(locked);
    ASSERT_EQ(0, ::chmod(locked.c_str(), 0555));
    const CliResult r = runCli("train " + good + " --out=" + locked + "/x.pcb " + tinyOptions(), dir);
    ::chmod(locked.c_str(), 0755);
    EXPECT_EQ(2, r.status) << r.err;
    EXPECT_TRUE(contains(r.err, locked) && contains(r.err, "not writable")) << r.err;
    EXPECT_FALSE(contains(r.err, kTrainingStarted)) << r.err;
}

/** Column `column` (0 = the first) of every row of a CSV file after its header. */
std::vector<double> csvColumn(const std::string& path, int column)
{
    std::ifstream in(path);
    std::vector<double> out;
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line))
    {
        std::stringstream cells(line);
        std::string cell;
        for (int c = 0; c <= column && std::getline(cells, cell, ','); ++c)
            ;
        out.push_back(std::stod(cell));
    }
    return out;
}

/** Scores of two engines agree to 1e-4 (relative where a score exceeds 1): both run the same network in fp32. */
void expectSameScores(const std::vector<double>& a, const std::vector<double>& b, const std::string& what)
{
    ASSERT_EQ(a.size(), b.size()) << what;
    ASSERT_FALSE(a.empty()) << what;
    for (size_t i = 0; i < a.size(); ++i)
        EXPECT_NEAR(a[i], b[i], 1e-4 * std::max(1.0, std::abs(a[i]))) << what << ", row " << i;
}

TEST(Patchcore_Cli, predictWithOpencvEngineMatchesDefault)
{
    const std::string dir = tempDir(), images = goodFolder(dir + "/images", 3);
    cv::imwrite(images + "/defect.png", texture(7, true));
    const CliResult byDefault = runCli("predict " + savedDetector() + " " + images + " --out=" + dir + "/auto", dir);
    ASSERT_EQ(0, byDefault.status) << byDefault.err;
    const CliResult byOpencv =
        runCli("predict " + savedDetector() + " " + images + " --engine=opencv --out=" + dir + "/opencv", dir);
    ASSERT_EQ(0, byOpencv.status) << byOpencv.err;
    expectSameScores(csvColumn(dir + "/auto/scores.csv", 1), csvColumn(dir + "/opencv/scores.csv", 1),
                     "predict scores, default engine vs --engine=opencv");
}

TEST(Patchcore_Cli, evalScoreEnginesRescoresTheTrainedDetector)
{
    const std::string dir = tempDir(), category = makeCategory(dir + "/cat");
    const CliResult r = runCli("eval " + category + " --engine=opencv --score-engines=auto --overlays=0 --out=" + dir +
                                   "/o " + tinyOptions(),
                               dir);
    ASSERT_EQ(0, r.status) << r.err;
    EXPECT_TRUE(contains(r.out, "cat@auto")) << r.out;
    expectSameScores(csvColumn(dir + "/o/cat/images.csv", 3), csvColumn(dir + "/o/cat@auto/images.csv", 3),
                     "eval scores, --engine=opencv vs --score-engines=auto");
    EXPECT_TRUE(contains(readAll(dir + "/o/results.json"), "\"vs_training_engine\"")) << "results.json";
}

TEST(Patchcore_Cli, badEngineNamesAreRejectedBeforeAnyWork)
{
    const std::string dir = tempDir(), good = goodFolder(dir + "/good", 3), out = dir + "/x.pcb";
    const CliResult train = runCli("train " + good + " --engine=onednn-fp16 --out=" + out + " " + tinyOptions(), dir);
    EXPECT_EQ(2, train.status) << train.err;
    EXPECT_TRUE(contains(train.err, "--engine takes auto, opencv, onednn or onednn-bf16, not 'onednn-fp16'"))
        << train.err;
    EXPECT_FALSE(contains(train.err, kTrainingStarted)) << train.err;
    EXPECT_FALSE(cv::utils::fs::exists(out));

    const CliResult predict =
        runCli("predict " + savedDetector() + " " + good + " --engine=dnn --out=" + dir + "/p", dir);
    EXPECT_EQ(2, predict.status) << predict.err;
    EXPECT_TRUE(contains(predict.err, "not 'dnn'")) << predict.err;
    EXPECT_FALSE(cv::utils::fs::exists(dir + "/p")) << "the output folder was made despite the bad engine";

    const std::string category = makeCategory(dir + "/cat");
    const CliResult eval =
        runCli("eval " + category + " --score-engines=onednn,bf16 --out=" + dir + "/o " + tinyOptions(), dir);
    EXPECT_EQ(2, eval.status) << eval.err;
    EXPECT_TRUE(contains(eval.err, "--score-engines takes auto, opencv, onednn or onednn-bf16, not 'bf16'"))
        << eval.err;
    EXPECT_FALSE(contains(eval.err, kTrainingStarted)) << eval.err;
}

#else

TEST(Patchcore_Cli, checks)
{
    GTEST_SKIP() << "SKIPPED: the patchcore program is not built (PATCHCORE_BUILD_SAMPLES=OFF)";
}

#endif

} // namespace
} // namespace opencv_test
