// The hostile probe of issue 19, kept as tests: a full disk in every save format, files cut before their bank,
// stale temporary files of killed saves, misleading messages, and costs that used to be found only after the work
// (an elongated image's memory, k above the bank, the memory budget's count). All on the project's tiny backbone
// unless a test says otherwise; doc/ROBUSTNESS.md lists each case with its expected outcome.
#include "test_precomp.hpp"

#include <opencv2/core/utils/filesystem.hpp>

#include <csignal>
#include <fstream>
#include <iterator>

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utime.h>

namespace opencv_test {
namespace {

using cv::patchcore::Detector;
using cv::patchcore::Params;

/** Noise images, the same on every call (a fresh generator each time). */
std::vector<cv::Mat> noiseImages(int n, cv::Size size = cv::Size(64, 64))
{
    cv::RNG rng(12345);
    return opencv_test::noiseImages(rng, n, size, 40, 200);
}

cv::Ptr<Detector> trainedDetector()
{
    auto det = Detector::create(tinyModelParams());
    det->train(noiseImages(4));
    return det;
}

std::string fileBytes(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void writeBytes(const std::string& path, const std::string& bytes)
{
    std::ofstream(path, std::ios::binary) << bytes;
}

template <typename Fn>
std::string errorOf(Fn fn)
{
    try
    {
        fn();
    }
    catch (const cv::Exception& e)
    {
        return e.err;
    }
    return "(no exception)";
}

#define EXPECT_ERROR_HAS(call, needle) EXPECT_NE(errorOf([&] { call; }).find(needle), std::string::npos) \
    << "expected '" << (needle) << "' in: " << errorOf([&] { call; })

/** A full disk for this process: files may not grow past `bytes` (what `ulimit -f` does); writes beyond fail with
 *  EFBIG instead of raising SIGXFSZ. Restored on destruction. */
class FileSizeLimit
{
public:
    explicit FileSizeLimit(rlim_t bytes)
    {
        previousHandler_ = std::signal(SIGXFSZ, SIG_IGN);
        ::getrlimit(RLIMIT_FSIZE, &previous_);
        struct rlimit limited = previous_;
        limited.rlim_cur = bytes;
        ::setrlimit(RLIMIT_FSIZE, &limited);
    }
    ~FileSizeLimit()
    {
        ::setrlimit(RLIMIT_FSIZE, &previous_);
        std::signal(SIGXFSZ, previousHandler_);
    }

private:
    struct rlimit previous_;
    void (*previousHandler_)(int);
};

std::vector<std::string> filesIn(const std::string& dir)
{
    std::vector<cv::String> found;
    cv::utils::fs::glob(dir, "*", found, false, false);
    return std::vector<std::string>(found.begin(), found.end());
}

// Defect 1: FileStorage formats reported success on a full disk and replaced the good file with a cut one.
TEST(Patchcore_Probe, full_disk_leaves_previous_file_in_every_format)
{
    auto det = trainedDetector();
    for (const std::string ext : {".pcb", ".yml", ".yml.gz", ".json", ".xml"})
    {
        const std::string dir = tempDir() + "/full_disk" + cv::format("%zu", std::hash<std::string>()(ext));
        cv::utils::fs::createDirectories(dir);
        const std::string path = dir + "/good" + ext;
        det->save(path);
        const std::string before = fileBytes(path);
        ASSERT_GT(before.size(), 2000u) << ext;
        {
            FileSizeLimit full(before.size() / 2);
            EXPECT_THROW(det->save(path), cv::Exception) << ext;
        }
        EXPECT_EQ(before, fileBytes(path)) << ext << ": the previous file changed";
        EXPECT_EQ(std::vector<std::string>{path}, filesIn(dir)) << ext << ": a temporary file was left";
        EXPECT_EQ(det->getMemoryBankSize(), Detector::load(path)->getMemoryBankSize()) << ext;
    }
}

// Defect 2: a YAML file cut before `memory_bank:` loaded as an untrained detector.
TEST(Patchcore_Probe, cut_text_files_never_load)
{
    auto det = trainedDetector();
    const std::string dir = tempDir() + "/cut_text";
    cv::utils::fs::createDirectories(dir);
    det->save(dir + "/full.yml");
    const std::string text = fileBytes(dir + "/full.yml");
    const size_t bank = text.find("memory_bank:");
    ASSERT_NE(bank, std::string::npos);
    writeBytes(dir + "/cut.yml", text.substr(0, bank));
    EXPECT_ERROR_HAS(Detector::load(dir + "/cut.yml"), "truncated");
    // Cut anywhere else: an error, or (cut only in the closing lines) the whole bank.
    for (size_t cut = 16; cut < text.size(); cut += text.size() / 23)
    {
        writeBytes(dir + "/cut.yml", text.substr(0, cut));
        try
        {
            EXPECT_EQ(det->getMemoryBankSize(), Detector::load(dir + "/cut.yml")->getMemoryBankSize()) << cut;
        }
        catch (const cv::Exception&)
        {
        }
    }
}

// Smaller: a save killed with kill -9 left its temporary file for ever.
TEST(Patchcore_Probe, stale_temporary_files_of_killed_saves_are_removed)
{
    const std::string dir = tempDir() + "/stale";
    cv::utils::fs::createDirectories(dir);
    const pid_t child = ::fork();
    if (child == 0)
        ::_exit(0);
    ::waitpid(child, nullptr, 0); // its pid now names no process
    const std::string dead = std::to_string(child);
    const std::string staleBinary = dir + "/det.tmp-" + dead + "-0.pcb", staleYaml = dir + "/other.tmp-" + dead + "-3.yml",
                      staleEmpty = dir + "/det.tmp-" + dead + "-1.pcb", live = dir + "/det.tmp-1-0.pcb",
                      foreign = dir + "/det.tmp-" + dead + "-2.pcb", fresh = dir + "/det.tmp-" + dead + "-4.pcb",
                      unrelated = dir + "/notes.tmp-" + dead + ".txt";
    writeBytes(staleBinary, std::string("PATCHCORE-BIN\0\0\0 half written", 30));
    writeBytes(staleYaml, "%YAML:1.0\n---\nopencv_patchcore_Detector:\n");
    writeBytes(staleEmpty, "");
    writeBytes(live, std::string("PATCHCORE-BIN\0\0\0", 16)); // pid 1 is alive: maybe a save in progress
    writeBytes(foreign, "not ours");
    writeBytes(unrelated, "PATCHCORE-BIN");
    struct utimbuf old;
    old.actime = old.modtime = std::time(nullptr) - 3600;
    for (const std::string& f : {staleBinary, staleYaml, staleEmpty, live, foreign, unrelated})
        ASSERT_EQ(0, ::utime(f.c_str(), &old)) << f;
    writeBytes(fresh, std::string("PATCHCORE-BIN\0\0\0", 16)); // written after this process started
    struct utimbuf future;
    future.actime = future.modtime = std::time(nullptr) + 3600;
    ASSERT_EQ(0, ::utime(fresh.c_str(), &future));

    trainedDetector()->save(dir + "/det.pcb");
    for (const std::string& gone : {staleBinary, staleYaml, staleEmpty})
        EXPECT_FALSE(cv::utils::fs::exists(gone)) << gone;
    for (const std::string& kept : {live, foreign, fresh, unrelated, dir + "/det.pcb"})
        EXPECT_TRUE(cv::utils::fs::exists(kept)) << kept;
}

// Defect 6: messages that named the wrong problem.
TEST(Patchcore_Probe, messages_name_the_actual_problem)
{
    const std::string dir = tempDir() + "/messages";
    cv::utils::fs::createDirectories(dir + "/folder.pcb");
    EXPECT_ERROR_HAS(Detector::load(dir + "/folder.pcb"), "is a folder");
    for (const std::string ext : {".pcb", ".yml"})
    {
        writeBytes(dir + "/empty" + ext, "");
        EXPECT_ERROR_HAS(Detector::load(dir + "/empty" + ext), "is empty (0 bytes)");
    }
    auto det = trainedDetector();
    Params textual = tinyModelParams();
    textual.embedModel = false;
    auto det2 = Detector::create(textual);
    det2->train(noiseImages(4));
    det2->save(dir + "/det.yml");
    writeBytes(dir + "/empty.onnx", "");
    EXPECT_ERROR_HAS(Detector::load(dir + "/det.yml", dir + "/empty.onnx"), "is empty (0 bytes)");
    EXPECT_ERROR_HAS(Detector::load(dir + "/det.yml", dir + "/folder.pcb"), "is a folder");
    // The saved path itself pointing at a folder or an empty file.
    std::string text = fileBytes(dir + "/det.yml");
    const size_t at = text.find(textual.modelPath);
    ASSERT_NE(at, std::string::npos);
    writeBytes(dir + "/moved.yml", text.replace(at, textual.modelPath.size(), dir + "/empty.onnx"));
    EXPECT_ERROR_HAS(Detector::load(dir + "/moved.yml"), "is empty (0 bytes)");

    const std::vector<cv::Mat> two = noiseImages(2);
    EXPECT_ERROR_HAS(det->predict(two), "predictBatch()");
    cv::Mat map;
    EXPECT_ERROR_HAS(det->predict(two, map), "takes one image");
}

// Smaller: "k: 2.5" was truncated to 2; save() before training wrote an untrained 34 MB file.
TEST(Patchcore_Probe, fractional_integers_and_untrained_saves_are_refused)
{
    const std::string dir = tempDir() + "/fractional";
    cv::utils::fs::createDirectories(dir);
    auto det = trainedDetector();
    det->save(dir + "/det.yml");
    std::string text = fileBytes(dir + "/det.yml");
    const size_t k = text.find("\n      k: 1\n");
    ASSERT_NE(k, std::string::npos) << text.substr(0, 600);
    writeBytes(dir + "/k.yml", text.replace(k, 12, "\n      k: 2.5\n"));
    EXPECT_ERROR_HAS(Detector::load(dir + "/k.yml"), "must be a whole number");

    auto untrained = Detector::create(tinyModelParams());
    EXPECT_ERROR_HAS(untrained->save(dir + "/untrained.pcb"), "needs a trained detector");
    EXPECT_FALSE(cv::utils::fs::exists(dir + "/untrained.pcb"));
}

/** Records the furthest backbone progress, to show that a refusal came before any image was processed. */
struct BackboneWatch
{
    int done = 0;
    cv::patchcore::ProgressCallback callback()
    {
        return [this](const cv::patchcore::Progress& p) {
            if (p.stage == "backbone")
                done = std::max(done, p.done);
            return true;
        };
    }
};

// Defect 5, on the tiny backbone: one rule for the memory an image implies, before it is processed, everywhere.
TEST(Patchcore_Probe, image_cost_is_checked_before_work_everywhere)
{
    Params p = tinyModelParams();
    p.inputMode = cv::patchcore::INPUT_ASPECT;
    auto det = Detector::create(p);
    det->train(noiseImages(3));
    const int bank = det->getMemoryBankSize();
    const cv::Mat thin = noiseImages(1, cv::Size(4000, 8))[0]; // becomes a 32000 x 64 working frame

    p.maxImageMB = 64;
    auto bounded = Detector::create(p);
    bounded->train(noiseImages(3));
    BackboneWatch watch;
    bounded->setProgressCallback(watch.callback());
    std::vector<cv::Mat> withThin = noiseImages(3);
    withThin.push_back(thin);
    const std::string trainError = errorOf([&] { bounded->train(withThin); });
    for (const std::string needle : {"image 3 of the list", "4000 x 8", "32000 x 64", "maxImageMB = 64", "INPUT_RESIZE"})
        EXPECT_NE(trainError.find(needle), std::string::npos) << needle << " not in: " << trainError;
    EXPECT_EQ(0, watch.done) << "images were processed before the refusal";
    EXPECT_EQ(bank, bounded->getMemoryBankSize()) << "the refused training changed the detector";
    cv::Mat out;
    std::vector<double> scores;
    EXPECT_ERROR_HAS(bounded->predict(thin), "maxImageMB");
    EXPECT_ERROR_HAS(bounded->predictBatch(withThin, scores), "image 3 of the list");
    EXPECT_ERROR_HAS(bounded->update(withThin), "update()");
    EXPECT_ERROR_HAS(bounded->calibrate(withThin), "calibrate()");
    EXPECT_ERROR_HAS(bounded->computeEmbedding(thin, out), "maxImageMB");
    EXPECT_EQ(0, watch.done);
    // A run setting: a loaded detector may be given another bound.
    EXPECT_ERROR_HAS(bounded->setMaxImageMB(-1), "maxImageMB must be >= 0");
    bounded->setMaxImageMB(0);
    EXPECT_NO_THROW(bounded->predict(thin));
    // 0 lifts the fixed bound: the same image is then processed (random coreset: greedy over 128,000 vectors is slow).
    p.maxImageMB = 0;
    p.coresetMethod = cv::patchcore::CORESET_RANDOM;
    EXPECT_NO_THROW(Detector::create(p)->train(std::vector<cv::Mat>{thin}));
}

// Defect 5 with the shared ResNet50 and the default settings: the probe's 5000 x 20 (39 s, 7 GB) and 2000 x 20
// (3 GB) images are refused at once.
TEST(Patchcore_Probe, default_settings_refuse_long_thin_images_at_once)
{
    PATCHCORE_REQUIRE_DATA("models/resnet50v2_to_layer3.onnx");
    Params p;
    p.modelPath = dataPath("models/resnet50v2_to_layer3.onnx");
    auto det = Detector::create(p);
    det->train(noiseImages(2, cv::Size(224, 224)));
    EXPECT_ERROR_HAS(det->predict(noiseImages(1, cv::Size(5000, 20))[0]), "maxImageMB = 2048");
    auto fresh = Detector::create(p);
    BackboneWatch watch;
    fresh->setProgressCallback(watch.callback());
    EXPECT_ERROR_HAS(fresh->train(noiseImages(1, cv::Size(2000, 20))), "image 0 of the list");
    EXPECT_EQ(0, watch.done) << "the refusal should come before the work";
}

// Smaller: the memory budget's estimate used the first image's grid for every image.
TEST(Patchcore_Probe, memory_budget_counts_every_images_own_patches)
{
    Params p = tinyModelParams();
    p.inputMode = cv::patchcore::INPUT_ASPECT;
    p.coresetMethod = cv::patchcore::CORESET_NONE;
    std::vector<cv::Mat> images = noiseImages(2, cv::Size(64, 64));
    for (const cv::Mat& wide : noiseImages(2, cv::Size(256, 64)))
        images.push_back(wide);
    auto all = Detector::create(p);
    all->train(images);
    const int vectors = all->getMemoryBankSize(); // no subsampling: every patch vector
    p.memoryBudgetMB = 0.01;
    const std::string error = errorOf([&] { Detector::create(p)->train(images); });
    EXPECT_NE(error.find("(" + std::to_string(vectors) + " patch vectors"), std::string::npos)
        << vectors << " vectors, message: " << error;
}

// Smaller: k above the bank was found only after the backbone and the coreset had run.
TEST(Patchcore_Probe, k_above_the_bank_is_refused_before_training)
{
    Params p = tinyModelParams();
    p.k = 100000;
    auto det = Detector::create(p);
    BackboneWatch watch;
    det->setProgressCallback(watch.callback());
    EXPECT_ERROR_HAS(det->train(noiseImages(2)), "k = 100000 exceeds the memory bank");
    EXPECT_EQ(0, watch.done);
}

#ifdef PATCHCORE_CLI
// Defect 1 through the program: `train --out=X.yml` on a full disk printed "saved" and exited 0.
TEST(Patchcore_Probe, cli_train_on_a_full_disk_fails_and_keeps_the_previous_file)
{
    const std::string dir = tempDir() + "/cli_full", images = dir + "/good";
    cv::utils::fs::createDirectories(images);
    int i = 0;
    for (const cv::Mat& img : noiseImages(4))
        cv::imwrite(cv::format("%s/%03d.png", images.c_str(), i++), img);
    trainedDetector()->save(dir + "/det.yml");
    const std::string before = fileBytes(dir + "/det.yml");
    const Params t = tinyModelParams();
    // ulimit -f counts 1024-byte blocks; with SIGXFSZ ignored, writes past it fail as on a full disk.
    const std::string cmd = cv::format("bash -c \"trap '' XFSZ; ulimit -f %zu; exec %s train %s --out=%s/det.yml "
                                       "--model=%s --layers=tap_a,tap_b --resize=64 --crop=64 --dims=32 --mode=crop\" "
                                       "> %s/log.txt 2>&1",
                                       before.size() / 2048, PATCHCORE_CLI, images.c_str(), dir.c_str(),
                                       t.modelPath.c_str(), dir.c_str());
    const int status = std::system(cmd.c_str());
    const std::string log = fileBytes(dir + "/log.txt");
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << log;
    EXPECT_EQ(std::string::npos, log.find("saved")) << log;
    EXPECT_EQ(before, fileBytes(dir + "/det.yml"));
}
#endif

} // namespace
} // namespace opencv_test
