// The inverted-file index (IvfIndex) against the exact search on real patch vectors: banks of 50k / 200k / 400k rows
// drawn from a data set's embedded training images, queries = every patch of the set's test images. One benchmark
// run per (set, bank, probes) prints both searches' time per image and what the approximation costs: recall@1 over
// patches, the largest relative error of a patch score and of an image score, the Spearman correlation of the image
// scores and the image AUROC of both. doc/PERFORMANCE.md ("Inverted-file index") has the table and the commands.
#include "perf_common.hpp"

#include "exact_maximum.hpp"
#include "ivf_index.hpp"
#include "search.hpp"
#include "../test/eval_harness.hpp" // spearman()

#include "opencv2/patchcore/metrics.hpp"
#include <opencv2/core/utils/filesystem.hpp>
#include <opencv2/imgcodecs.hpp>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <numeric>

namespace {

using namespace patchcore_perf;
using cv::patchcore::detail::ExactSearch;
using cv::patchcore::detail::IvfIndex;
using cv::patchcore::detail::makeMaximumExact;
using cv::patchcore::detail::kExactBatch;

// Test images scored per set at most (spread over every category, so that AUROC sees all defect kinds): the exact
// search of a 400k bank costs about 1.5 s per 784-patch image on 2 cores.
const int kMaxTestImages = 120;
// Training vectors embedded per set at most: the largest bank plus some room for the random subsets to differ.
const int kMaxTrainRows = 420000;

struct DataSet
{
    const char* name;
    int inputMode; // INPUT_ASPECT keeps 784 to ~1,500 patches an image; mvtec_grid gets the default's 512 px frame
};
const DataSet kSets[] = {{"deeppcb", cv::patchcore::INPUT_ASPECT},
                         {"magnetic_tile", cv::patchcore::INPUT_ASPECT},
                         {"mvtec_grid", cv::patchcore::INPUT_AUTO}};

// Patch vectors of a list of images, image by image, with a label per image.
struct Embedded
{
    cv::Mat rows;
    std::vector<int> start; // image i holds rows start[i] .. start[i + 1]
    std::vector<int> labels;
    int images() const { return static_cast<int>(labels.size()); }
};

std::string cacheFile(const std::string& name)
{
    const char* env = std::getenv("PATCHCORE_PERF_CACHE");
    return std::string(env ? env : "/tmp/patchcore_perf_cache") + "/ivf_" + name + ".bin";
}

bool loadEmbedded(const std::string& file, int images, Embedded& e)
{
    std::ifstream in(file, std::ios::binary);
    int header[3] = {0, 0, 0}; // images, rows, dim
    if (!in.read(reinterpret_cast<char*>(header), sizeof(header)) || header[0] != images)
        return false;
    e.start.resize(images + 1);
    e.labels.resize(images);
    e.rows.create(header[1], header[2], CV_32F);
    in.read(reinterpret_cast<char*>(e.start.data()), e.start.size() * sizeof(int));
    in.read(reinterpret_cast<char*>(e.labels.data()), e.labels.size() * sizeof(int));
    in.read(reinterpret_cast<char*>(e.rows.ptr<float>()), static_cast<std::streamsize>(e.rows.total() * sizeof(float)));
    return static_cast<bool>(in);
}

// Embeds `files` (path, label) with the detector's own pipeline until `maxRows` rows, cached under
// $PATCHCORE_PERF_CACHE so that repeated runs skip the backbone.
Embedded embed(const std::string& cacheName, const std::vector<std::pair<std::string, int>>& files, int inputMode,
               int maxRows)
{
    Embedded e;
    const std::string file = cacheFile(cacheName);
    if (loadEmbedded(file, static_cast<int>(files.size()), e))
        return e;
    cv::patchcore::Params p = defaultParams();
    p.inputMode = inputMode;
    cv::Ptr<cv::patchcore::Detector> det = cv::patchcore::Detector::create(p);
    std::vector<cv::Mat> parts;
    e.start.push_back(0);
    for (const auto& f : files)
    {
        if (e.start.back() >= maxRows)
            break;
        cv::Mat rows;
        det->computeEmbedding(cv::imread(f.first, cv::IMREAD_UNCHANGED), rows);
        parts.push_back(rows);
        e.start.push_back(e.start.back() + rows.rows);
        e.labels.push_back(f.second);
    }
    cv::vconcat(parts, e.rows);
    std::ofstream out(file, std::ios::binary);
    const int header[3] = {e.images(), e.rows.rows, e.rows.cols};
    out.write(reinterpret_cast<const char*>(header), sizeof(header));
    out.write(reinterpret_cast<const char*>(e.start.data()), e.start.size() * sizeof(int));
    out.write(reinterpret_cast<const char*>(e.labels.data()), e.labels.size() * sizeof(int));
    out.write(reinterpret_cast<const char*>(e.rows.ptr<float>()),
              static_cast<std::streamsize>(e.rows.total() * sizeof(float)));
    return e;
}

// Training images in a fixed random order (so that a prefix samples the whole set); test images, every n-th of each
// category, labelled 0 for "good".
std::vector<std::pair<std::string, int>> trainFiles(const DataSet& set)
{
    std::vector<std::pair<std::string, int>> out;
    for (const std::string& f : listImages(dataPath(std::string("datasets/") + set.name + "/train/good")))
        out.emplace_back(f, 0);
    cv::RNG rng(7);
    for (size_t i = out.size(); i > 1; --i)
        std::swap(out[i - 1], out[rng.uniform(0, static_cast<int>(i))]);
    return out;
}

std::vector<std::pair<std::string, int>> testFiles(const DataSet& set)
{
    std::vector<std::pair<std::string, int>> all;
    for (const std::string& folder : listImages(dataPath(std::string("datasets/") + set.name + "/test/good")))
        all.emplace_back(folder, 0);
    const std::string testRoot = dataPath(std::string("datasets/") + set.name + "/test");
    std::vector<cv::String> entries;
    cv::utils::fs::glob(testRoot, "*", entries, false, true);
    std::sort(entries.begin(), entries.end());
    for (const std::string& dir : entries)
        if (cv::utils::fs::isDirectory(dir) && dir.substr(dir.find_last_of('/') + 1) != "good")
            for (const std::string& f : listImages(dir))
                all.emplace_back(f, 1);
    const size_t stride = (all.size() + kMaxTestImages - 1) / kMaxTestImages;
    std::vector<std::pair<std::string, int>> out;
    for (size_t i = 0; i < all.size(); i += stride)
        out.push_back(all[i]);
    return out;
}

const Embedded& embedded(int setIndex, bool test)
{
    static std::map<std::pair<int, bool>, Embedded> cache;
    auto it = cache.find({setIndex, test});
    if (it != cache.end())
        return it->second;
    const DataSet& set = kSets[setIndex];
    const std::string name = std::string(set.name) + (test ? "_test" : "_train");
    return cache[{setIndex, test}] = test ? embed(name, testFiles(set), set.inputMode, INT32_MAX)
                                          : embed(name, trainFiles(set), set.inputMode, kMaxTrainRows);
}

// The exact search's answer for one bank, computed once and shared by every probe setting.
struct Reference
{
    cv::Mat bank;
    cv::Mat nearest;        // CV_32F squared distance of every test patch to its nearest bank row
    cv::Mat nearestIndex;   // CV_32S
    double secondsPerImage = 0, projectedSecondsPerImage = 0; // the exact search screened at full width, projected
    bool projectedAgrees = false;                             // both exact searches found the same rows
    std::map<int, std::shared_ptr<IvfIndex>> ivf; // by Screening
    std::map<int, double> buildSeconds;
};

double since(std::chrono::steady_clock::time_point t0)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Nearest squared distance of every test patch, one image per call as the detector searches. With an approximate
// index the image's worst patches are then searched again exactly, as the detector does (makeMaximumExact), so that
// the time includes what exact image scores cost; `rescored` counts those patches.
void searchImages(const cv::patchcore::detail::BankIndex& index, const Embedded& test, cv::Mat& dist, cv::Mat& idx,
                  size_t* rescored = nullptr, double* rescoreSeconds = nullptr)
{
    dist.create(test.rows.rows, 1, CV_32F);
    idx.create(test.rows.rows, 1, CV_32S);
    if (rescored)
        *rescored = 0;
    if (rescoreSeconds)
        *rescoreSeconds = 0;
    for (int i = 0; i < test.images(); ++i)
    {
        const cv::Range r(test.start[i], test.start[i + 1]);
        cv::Mat d, j;
        index.knn(test.rows.rowRange(r), 1, d, j);
        if (!index.exact())
        {
            std::vector<float> scores(d.ptr<float>(), d.ptr<float>() + d.rows);
            const size_t n = makeMaximumExact(scores, kExactBatch, [&](const std::vector<int>& which,
                                                                         std::vector<float>& exact) {
                const auto t0 = std::chrono::steady_clock::now();
                cv::Mat rows(static_cast<int>(which.size()), test.rows.cols, CV_32F), ed, ej;
                for (size_t q = 0; q < which.size(); ++q)
                    test.rows.row(r.start + which[q]).copyTo(rows.row(static_cast<int>(q)));
                index.knnExact(rows, 1, ed, ej);
                for (size_t q = 0; q < which.size(); ++q)
                {
                    exact[q] = ed.at<float>(static_cast<int>(q));
                    j.at<int>(which[q]) = ej.at<int>(static_cast<int>(q));
                }
                if (rescoreSeconds)
                    *rescoreSeconds += since(t0);
            });
            std::copy(scores.begin(), scores.end(), d.ptr<float>());
            if (rescored)
                *rescored += n;
        }
        d.copyTo(dist.rowRange(r));
        j.copyTo(idx.rowRange(r));
    }
}

Reference& reference(int setIndex, int bankRows)
{
    static std::map<std::pair<int, int>, Reference> cache;
    auto it = cache.find({setIndex, bankRows});
    if (it != cache.end())
        return it->second;
    const Embedded& train = embedded(setIndex, false);
    const Embedded& test = embedded(setIndex, true);
    Reference& ref = cache[{setIndex, bankRows}];
    // A random subset of the training vectors, seeded by its size, in training order.
    std::vector<int> rows(train.rows.rows);
    std::iota(rows.begin(), rows.end(), 0);
    cv::RNG rng(bankRows);
    for (int i = 0; i < bankRows; ++i)
        std::swap(rows[i], rows[i + rng.uniform(0, train.rows.rows - i)]);
    std::sort(rows.begin(), rows.begin() + bankRows);
    ref.bank.create(bankRows, train.rows.cols, CV_32F);
    for (int i = 0; i < bankRows; ++i)
        train.rows.row(rows[i]).copyTo(ref.bank.row(i));
    ExactSearch exact(cv::patchcore::detail::SCREEN_BF16);
    exact.setBank(ref.bank); // bf16 screening where the CPU has it, as the detector searches
    auto t0 = std::chrono::steady_clock::now();
    searchImages(exact, test, ref.nearest, ref.nearestIndex);
    ref.secondsPerImage = since(t0) / test.images();
    {
        ExactSearch projected(cv::patchcore::detail::SCREEN_PROJECTED);
        projected.setBank(ref.bank);
        cv::Mat d, j;
        t0 = std::chrono::steady_clock::now();
        searchImages(projected, test, d, j);
        ref.projectedSecondsPerImage = since(t0) / test.images();
        ref.projectedAgrees = cv::norm(j, ref.nearestIndex, cv::NORM_INF) == 0;
    }
    return ref;
}

// Image score as PatchCore defines it: the largest nearest-neighbour distance over the image's patches.
std::vector<double> imageScores(const Embedded& test, const cv::Mat& nearestSq)
{
    std::vector<double> out(test.images());
    for (int i = 0; i < test.images(); ++i)
    {
        double m = 0;
        cv::minMaxLoc(nearestSq.rowRange(test.start[i], test.start[i + 1]), nullptr, &m);
        out[i] = std::sqrt(m);
    }
    return out;
}

// Arguments: set (index into kSets), bank rows, probes (0: the automatic setting), screening (Screening: 0 projected,
// 1 bf16 at full width).
void BM_IvfVsExactLarge(benchmark::State& state)
{
    const int setIndex = static_cast<int>(state.range(0)), bankRows = static_cast<int>(state.range(1));
    if (!requireData(state, "models/resnet50v2_to_layer3.onnx") ||
        !requireData(state, std::string("datasets/") + kSets[setIndex].name + "/test"))
        return;
    if (embedded(setIndex, false).rows.rows < bankRows)
    {
        state.SkipWithError("SKIPPED: the set's training images give fewer patch vectors than the bank");
        return;
    }
    Reference& ref = reference(setIndex, bankRows);
    const Embedded& test = embedded(setIndex, true);
    const auto screening = static_cast<cv::patchcore::detail::Screening>(state.range(3));
    if (!ref.ivf.count(screening))
    {
        ref.ivf[screening] = std::make_shared<IvfIndex>(0, 0, 0, screening);
        const auto t0 = std::chrono::steady_clock::now();
        ref.ivf[screening]->setBank(ref.bank);
        ref.buildSeconds[screening] = since(t0);
    }
    IvfIndex& ivf = *ref.ivf[screening];
    ivf.setProbes(state.range(2) > 0 ? static_cast<int>(state.range(2)) : IvfIndex::autoProbes(ivf.cells()));
    cv::Mat dist, idx;
    size_t rescored = 0;
    double rescoreSeconds = 0;
    const double seconds =
        secondsInLoop(state, [&]() { searchImages(ivf, test, dist, idx, &rescored, &rescoreSeconds); });
    const double ivfPerImage = seconds / state.iterations() / test.images();

    int same = 0;
    double patchErr = 0;
    for (int i = 0; i < dist.rows; ++i)
    {
        same += idx.at<int>(i) == ref.nearestIndex.at<int>(i);
        const double e = ref.nearest.at<float>(i);
        patchErr = std::max(patchErr, std::sqrt(dist.at<float>(i)) / std::sqrt(std::max(e, 1e-30)) - 1);
    }
    const std::vector<double> exactScores = imageScores(test, ref.nearest), ivfScores = imageScores(test, dist);
    double imageErr = 0;
    for (int i = 0; i < test.images(); ++i)
        imageErr = std::max(imageErr, std::abs(ivfScores[i] / exactScores[i] - 1));
    state.SetLabel(std::string(kSets[setIndex].name) + ", " + ivf.describe() + ", " + std::to_string(test.images()) +
                   " images, " + std::to_string(test.rows.rows) + " patches");
    state.counters["exact_ms/img"] = 1e3 * ref.secondsPerImage;
    state.counters["exact_projected_ms/img"] = 1e3 * ref.projectedSecondsPerImage;
    state.counters["exact_agree"] = ref.projectedAgrees;
    state.counters["ivf_ms/img"] = 1e3 * ivfPerImage;
    state.counters["speedup"] = ref.secondsPerImage / ivfPerImage;
    state.counters["build_s"] = ref.buildSeconds[screening];
    state.counters["recall@1"] = static_cast<double>(same) / dist.rows;
    state.counters["rescored/img"] = static_cast<double>(rescored) / test.images();
    state.counters["rescore_ms/img"] = 1e3 * rescoreSeconds / test.images();
    state.counters["patch_err"] = patchErr;
    state.counters["image_err"] = imageErr;
    state.counters["spearman"] = patchcore_eval::spearman(exactScores, ivfScores);
    state.counters["auroc_exact"] = cv::patchcore::imageAUROC(exactScores, test.labels);
    state.counters["auroc_diff"] = cv::patchcore::imageAUROC(ivfScores, test.labels) - state.counters["auroc_exact"];
}

void ivfArguments(benchmark::internal::Benchmark* b)
{
    // mvtec_grid's 25 training images give 102,400 vectors (one 512 px frame of 4,096 patches each): its largest
    // bank is 100k. 16,384 is the default bank cap of the whole-frame modes.
    for (int set = 0; set < 3; ++set)
        for (int bank : {16384, 50000, set == 2 ? 100000 : 200000, 400000})
            for (int probes : {0, 8, 32})
                for (int screening : {cv::patchcore::detail::SCREEN_PROJECTED, cv::patchcore::detail::SCREEN_BF16})
                    b->Args({set, bank, probes, screening});
}
BENCHMARK(BM_IvfVsExactLarge)->Apply(ivfArguments)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

} // namespace
