// Concurrency and interruption: const calls on one trained detector from many threads give exactly the sequential
// results, independent detectors in parallel threads do not disturb each other, and a process killed while saving
// leaves the previous file loadable. Uses the tiny backbone (data/test_models)
// so it runs anywhere and quickly enough for ThreadSanitizer (scripts/run_sanitizers.sh).
#include "test_precomp.hpp"

#include <atomic>
#include <cstring>
#include <mutex>
#include <sstream>
#include <thread>

#ifdef __linux__
#include <csignal>
#include <sys/wait.h>
#include <unistd.h>
#endif

namespace opencv_test {
namespace {

using cv::patchcore::Detector;
using cv::patchcore::Params;

/** Deterministic texture; `anomaly` adds a bright square. Integer arithmetic only. */
cv::Mat texture(cv::Size size, int seed, bool anomaly = false)
{
    cv::Mat img(size, CV_8UC3);
    for (int y = 0; y < size.height; ++y)
        for (int x = 0; x < size.width; ++x)
            for (int c = 0; c < 3; ++c)
                img.at<cv::Vec3b>(y, x)[c] = static_cast<uchar>((x * 5 + y * 11 + c * 70 + seed * 3) % 200);
    if (anomaly)
        img(cv::Rect(size.width / 3, size.height / 3, size.width / 4, size.height / 4)).setTo(cv::Scalar(0, 255, 255));
    return img;
}

std::vector<cv::Mat> trainingImages()
{
    std::vector<cv::Mat> images;
    for (int i = 0; i < 4; ++i)
        images.push_back(texture(cv::Size(72, 64), i));
    return images;
}

/** Mixed sizes, aspect ratios, depths and channel counts: every pre-processing path runs concurrently. */
std::vector<cv::Mat> probeImages()
{
    std::vector<cv::Mat> images;
    const cv::Size sizes[] = {{64, 64}, {120, 80}, {47, 33}, {200, 90}, {65, 300}, {1, 1}};
    for (int i = 0; i < 6; ++i)
        images.push_back(texture(sizes[i], i + 10, i % 2 == 1));
    cv::Mat grey, u16, f32;
    cv::cvtColor(images[1], grey, cv::COLOR_BGR2GRAY);
    images[2].convertTo(u16, CV_16U, 257);
    images[3].convertTo(f32, CV_32F, 1.0 / 255);
    images.push_back(grey);
    images.push_back(u16);
    images.push_back(f32);
    return images;
}

bool bitIdentical(const cv::Mat& a, const cv::Mat& b)
{
    if (a.size() != b.size() || a.type() != b.type())
        return false;
    for (int y = 0; y < a.rows; ++y)
        if (std::memcmp(a.ptr(y), b.ptr(y), a.cols * a.elemSize()) != 0)
            return false;
    return true;
}

TEST(Patchcore_Threading, concurrent_predictions_equal_sequential_ones_bit_for_bit)
{
    auto det = Detector::create(tinyModelParams());
    det->train(trainingImages());
    const std::vector<cv::Mat> images = probeImages();
    const Detector& shared = *det; // only const calls from here on

    std::vector<double> refScores(images.size());
    std::vector<cv::Mat> refMaps(images.size()), refWorking(images.size());
    for (size_t i = 0; i < images.size(); ++i)
    {
        refScores[i] = shared.predict(images[i], refMaps[i]);
        shared.predictMap(images[i], refWorking[i], cv::patchcore::FRAME_WORKING);
    }

    const int numThreads = 8, perThread = 200;
    std::atomic<int> mismatches(0), errors(0), done(0);
    std::mutex firstMutex;
    std::string first; // the first failure, for the report
    auto fail = [&](const std::string& what) {
        std::lock_guard<std::mutex> lock(firstMutex);
        if (first.empty())
            first = what;
    };
    std::vector<std::thread> pool;
    for (int t = 0; t < numThreads; ++t)
    {
        pool.emplace_back([&, t] {
            for (int n = 0; n < perThread; ++n)
            {
                // Threads walk the images in different orders, so different images are in flight at once.
                const size_t i = static_cast<size_t>(t * 5 + n * (t + 1)) % images.size();
                try
                {
                    cv::Mat map;
                    double s;
                    if (n % 10 == 9) // some calls take the batch and working-frame paths
                    {
                        std::vector<double> scores;
                        std::vector<cv::Mat> maps;
                        shared.predictBatch(std::vector<cv::Mat>{images[i]}, scores, maps);
                        s = scores.at(0);
                        map = maps.at(0);
                    }
                    else if (n % 10 == 4)
                    {
                        s = shared.predictMap(images[i], map, cv::patchcore::FRAME_WORKING);
                        if (!bitIdentical(map, refWorking[i]))
                        {
                            mismatches++;
                            fail(cv::format("thread %d call %d image %zu: working-frame map differs", t, n, i));
                        }
                        map = refMaps[i]; // compared below against itself; the score is what is checked
                    }
                    else
                    {
                        s = shared.predict(images[i], map);
                    }
                    if (s != refScores[i] || !bitIdentical(map, refMaps[i]))
                    {
                        mismatches++;
                        fail(cv::format("thread %d call %d image %zu: score %.17g vs %.17g or map differs", t, n, i,
                                        s, refScores[i]));
                    }
                }
                catch (const std::exception& e)
                {
                    errors++;
                    fail(cv::format("thread %d call %d image %zu threw: %s", t, n, i, e.what()));
                }
                done++;
            }
        });
    }
    for (auto& th : pool)
        th.join();
    EXPECT_EQ(done.load(), numThreads * perThread);
    EXPECT_EQ(mismatches.load(), 0) << first;
    EXPECT_EQ(errors.load(), 0) << first;
}

// Other const calls (embedding, patch scores, save) concurrently with predictions on the same detector.
TEST(Patchcore_Threading, mixed_const_calls_and_saves_run_concurrently)
{
    auto det = Detector::create(tinyModelParams());
    det->train(trainingImages());
    const std::vector<cv::Mat> images = probeImages();
    const Detector& shared = *det;
    cv::Mat refEmbedding, refPatch;
    shared.computeEmbedding(images[0], refEmbedding);
    shared.computePatchScores(images[0], refPatch);
    const double refScore = shared.predict(images[1]);
    const std::string dir = tempDir();

    std::atomic<int> bad(0);
    std::vector<std::thread> pool;
    for (int t = 0; t < 4; ++t)
    {
        pool.emplace_back([&, t] {
            for (int n = 0; n < 25; ++n)
            {
                try
                {
                    cv::Mat e, p;
                    if (t == 0)
                    {
                        shared.computeEmbedding(images[0], e);
                        bad += !bitIdentical(e, refEmbedding);
                    }
                    else if (t == 1)
                    {
                        shared.computePatchScores(images[0], p);
                        bad += !bitIdentical(p, refPatch);
                    }
                    else if (t == 2)
                    {
                        bad += shared.predict(images[1]) != refScore;
                    }
                    else
                    {
                        shared.save(dir + (n % 2 ? "/d.pcb" : "/d.yml")); // one target, many writes: atomic
                    }
                }
                catch (const std::exception&)
                {
                    bad++;
                }
            }
        });
    }
    for (auto& th : pool)
        th.join();
    EXPECT_EQ(bad.load(), 0);
    EXPECT_EQ(Detector::load(dir + "/d.pcb")->predict(images[1]), refScore);
    EXPECT_EQ(Detector::load(dir + "/d.yml")->predict(images[1]), refScore);
}

// Separate detectors trained in parallel threads match one trained alone: no hidden shared state.
TEST(Patchcore_Threading, independent_detectors_in_parallel_threads)
{
    auto ref = Detector::create(tinyModelParams());
    ref->train(trainingImages());
    const cv::Mat probe = texture(cv::Size(90, 70), 3, true);
    const double refScore = ref->predict(probe);
    const cv::Mat refBank = ref->getMemoryBank();

    const int numThreads = 4;
    std::vector<double> scores(numThreads, -1);
    std::vector<int> sameBank(numThreads, 0);
    std::vector<std::thread> pool;
    for (int t = 0; t < numThreads; ++t)
    {
        pool.emplace_back([&, t] {
            try
            {
                auto det = Detector::create(tinyModelParams());
                det->train(trainingImages());
                sameBank[t] = bitIdentical(det->getMemoryBank(), refBank);
                scores[t] = det->predict(probe);
            }
            catch (const std::exception&)
            {
            }
        });
    }
    for (auto& th : pool)
        th.join();
    for (int t = 0; t < numThreads; ++t)
    {
        EXPECT_TRUE(sameBank[t]) << "thread " << t;
        EXPECT_EQ(scores[t], refScore) << "thread " << t;
    }
}

#ifdef __linux__
// A process killed (SIGKILL, power loss) while saving leaves the previous file loadable: the new file is written
// under a temporary name and renamed only when complete. The child saves over and over; it is killed at staggered
// moments, which land inside the write, the flush and the rename.
TEST(Patchcore_Threading, killed_save_leaves_previous_detector_loadable)
{
    Params p = tinyModelParams();
    p.resizeSize = p.cropSize = 256; // 64 x 64 grid
    p.pretrainEmbedDim = p.targetEmbedDim = 128;
    p.coresetMethod = cv::patchcore::CORESET_NONE;
    auto det = Detector::create(p);
    std::vector<cv::Mat> train;
    for (int i = 0; i < 4; ++i)
        train.push_back(texture(cv::Size(256, 256), i));
    det->train(train); // 16384 x 128 floats: an 8 MB bank
    const std::string dir = tempDir();
    for (const std::string name : {"big.pcb", "big.yml"})
    {
        const std::string path = dir + "/" + name;
        det->save(path);
        for (int round = 0; round < 4; ++round)
        {
            fflush(nullptr); // the child must not flush the parent's buffered output again
            const pid_t child = ::fork();
            ASSERT_GE(child, 0);
            if (child == 0)
            {
                try
                {
                    for (;;)
                        det->save(path);
                }
                catch (...)
                {
                }
                ::_exit(2);
            }
            ::usleep(static_cast<useconds_t>(20000 + 45000 * round));
            ::kill(child, SIGKILL);
            int status = 0;
            ASSERT_EQ(::waitpid(child, &status, 0), child);
            ASSERT_TRUE(WIFSIGNALED(status)) << "the saving child ended on its own (status " << status << ")";
            cv::Ptr<Detector> loaded;
            ASSERT_NO_THROW(loaded = Detector::load(path)) << name << " round " << round;
            EXPECT_EQ(cv::norm(loaded->getMemoryBank(), det->getMemoryBank(), cv::NORM_INF), 0.0) << name;
        }
        // Temporary files of killed saves may stay behind; they never replace the file and never block a save.
        EXPECT_NO_THROW(det->save(path));
    }
}
#endif

} // namespace
} // namespace opencv_test
