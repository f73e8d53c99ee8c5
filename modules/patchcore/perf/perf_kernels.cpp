// Coreset selection and exact search: ours next to a straightforward baseline in the same run.
// Names containing "Large" take minutes (magnetic_tile's 235,200 vectors, a 163,840-vector bank); the smoke run
// leaves them out.
#include "perf_common.hpp"

#include "coreset.hpp"
#include "coreset_update.hpp"
#include "search.hpp"

#include <Eigen/Core>
#include <tbb/blocked_range.h>
#include <tbb/parallel_reduce.h>

#include <map>

namespace {

using namespace patchcore_perf;
using namespace cv::patchcore::detail;

enum Source
{
    SYNTHETIC = 0, // 20,000 x 1024 Gaussian vectors: no data needed, and the hardest case for pruning
    HAZELNUT = 1,  // hazelnut_toy's 28 training images: 21,952 x 1024 (reference: 6.0 s for its selection)
    MAGNETIC = 2   // magnetic_tile's 300 listed training images: 235,200 x 1024 (reference: 617 s)
};

const double kReferenceCoresetSeconds[] = {0, 6.0, 617.0};

// The training vectors of a source, loaded once per process.
const cv::Mat* bankFor(benchmark::State& state, Source source)
{
    static std::map<int, cv::Mat> cache;
    if (cache.count(source))
        return &cache[source];
    if (source == SYNTHETIC)
    {
        cv::Mat m(20000, 1024, CV_32F);
        cv::RNG(1).fill(m, cv::RNG::NORMAL, 0, 1);
        return &(cache[source] = m);
    }
    if (!requireData(state, "models/resnet50v2_to_layer3.onnx"))
        return nullptr;
    if (source == HAZELNUT)
    {
        if (!requireData(state, "datasets/hazelnut_toy/train/good"))
            return nullptr;
        return &(cache[source] = trainingEmbeddings("hazelnut_toy_train", "datasets/hazelnut_toy/train/good"));
    }
    if (!requireData(state, "datasets/magnetic_tile") || !requireData(state, "reference/magnetic_tile_train300.txt"))
        return nullptr;
    return &(cache[source] = trainingEmbeddings("magnetic_tile_train300", "datasets/magnetic_tile",
                                                "reference/magnetic_tile_train300.txt"));
}

typedef Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> RowMatrix;

// The straightforward greedy loop (what the reference runs, as one fused pass over all points per selection), used
// as the side-by-side baseline and as the identity check of the optimised selection: from running minima `minSq`,
// `count` times the farthest point (lowest index on ties), stopping when all coincide with a selected one (a fresh
// selection takes its first point regardless).
std::vector<int> naiveSelect(const cv::Mat& projected, std::vector<float> minSq, int count, bool firstAlwaysTaken)
{
    const Eigen::Map<const RowMatrix> x(projected.ptr<float>(), projected.rows, projected.cols);
    const int n = static_cast<int>(minSq.size());
    typedef std::pair<float, int> Best; // (distance, -index): max picks the lowest index among equals
    std::vector<int> selected;
    int next = static_cast<int>(std::max_element(minSq.begin(), minSq.end()) - minSq.begin());
    for (int it = 0; it < count; ++it)
    {
        if ((it > 0 || !firstAlwaysTaken) && minSq[next] <= 0.f)
            break;
        selected.push_back(next);
        const Eigen::RowVectorXf centre = x.row(next);
        const Best best = tbb::parallel_reduce(
            tbb::blocked_range<int>(0, n, 1024), Best(-1.f, 0),
            [&](const tbb::blocked_range<int>& r, Best b) {
                for (int i = r.begin(); i < r.end(); ++i)
                {
                    minSq[i] = std::min(minSq[i], (x.row(i) - centre).squaredNorm());
                    b = std::max(b, Best(minSq[i], -i));
                }
                return b;
            },
            [](const Best& a, const Best& b) { return std::max(a, b); });
        next = -best.second;
    }
    return selected;
}

std::vector<int> naiveGreedy(const cv::Mat& projected, const std::vector<int>& starts, int count)
{
    const Eigen::Map<const RowMatrix> x(projected.ptr<float>(), projected.rows, projected.cols);
    std::vector<float> minSq(projected.rows);
    for (int i = 0; i < projected.rows; ++i)
    {
        double sum = 0;
        for (int s : starts)
            sum += std::sqrt(static_cast<double>((x.row(i) - x.row(s)).squaredNorm()));
        const double mean = sum / static_cast<double>(starts.size());
        minSq[i] = static_cast<float>(mean * mean);
    }
    return naiveSelect(projected, minSq, count, true);
}

std::map<int, std::vector<int>>& lastSelection()
{
    static std::map<int, std::vector<int>> m;
    return m;
}

void reportCoreset(benchmark::State& state, Source source, double seconds, int n, int count, int dim)
{
    const double perRun = seconds / static_cast<double>(state.iterations());
    state.counters["s/selection"] = perRun;
    if (kReferenceCoresetSeconds[source] > 0)
        state.counters["x_faster_than_ref"] = kReferenceCoresetSeconds[source] / perRun;
    // What the plain loop computes (3 flops per coordinate per point per selection), to compare with the peak.
    setFlopCounters(state, 3.0 * n * static_cast<double>(count) * dim, seconds);
}

void BM_Coreset(benchmark::State& state, Source source)
{
    const cv::Mat* bank = bankFor(state, source);
    if (!bank)
        return;
    const cv::patchcore::Params p = defaultParams();
    std::vector<int> selected;
    const double seconds = secondsInLoop(state, [&]() {
        selected = selectCoreset(*bank, p);
    });
    reportCoreset(state, source, seconds, bank->rows, static_cast<int>(selected.size()), p.projectionDim);
    lastSelection()[source] = selected;
}

void BM_CoresetNaive(benchmark::State& state, Source source)
{
    const cv::Mat* bank = bankFor(state, source);
    if (!bank)
        return;
    const cv::patchcore::Params p = defaultParams();
    const int n = bank->rows, count = coresetSize(n, p.coresetRatio);
    std::vector<int> selected;
    const double seconds = secondsInLoop(state, [&]() {
        const cv::Mat projected = projectRows(*bank, coresetProjection(bank->cols, p));
        selected = naiveGreedy(projected, coresetStarts(n, p), count);
    });
    reportCoreset(state, source, seconds, n, count, p.projectionDim);
    // 1 = the optimised selection (run just before, same source) gave exactly these indices.
    if (lastSelection().count(source))
        state.counters["same_selection"] = lastSelection()[source] == selected ? 1 : 0;
}

// The projection to projectionDim that starts every greedy selection (part of BM_Coreset's time).
void BM_CoresetProjection(benchmark::State& state, Source source)
{
    const cv::Mat* bank = bankFor(state, source);
    if (!bank)
        return;
    const cv::patchcore::Params p = defaultParams();
    const cv::Mat projection = coresetProjection(bank->cols, p);
    const double seconds = secondsInLoop(state, [&]() {
        benchmark::DoNotOptimize(projectRows(*bank, projection).data);
    });
    setFlopCounters(state, 2.0 * bank->rows * static_cast<double>(bank->cols) * p.projectionDim, seconds);
}

// update(): continuing a selection from a bank. The bank is every 10th vector of the source's first half, the
// candidates are its second half (hazelnut: 1,098 bank rows, 10,976 candidates, 1,097 additions).
struct UpdateCase
{
    cv::Mat bank, candidates;
};

/** The update case of a source, built once per process; null (the benchmark skipped) without its data. */
const UpdateCase* updateCaseFor(benchmark::State& state, Source source)
{
    static std::map<int, UpdateCase> cache;
    if (cache.count(source))
        return &cache[source];
    const cv::Mat* all = bankFor(state, source);
    if (!all)
        return nullptr;
    UpdateCase& c = cache[source];
    const int half = all->rows / 2;
    for (int r = 0; r < half; r += 10)
        c.bank.push_back(all->row(r));
    c.candidates = all->rowRange(half, all->rows).clone();
    return &c;
}

std::map<int, std::vector<int>>& lastUpdate()
{
    static std::map<int, std::vector<int>> m;
    return m;
}

void BM_UpdateSelection(benchmark::State& state, Source source)
{
    const UpdateCase* c = updateCaseFor(state, source);
    if (!c)
        return;
    const cv::patchcore::Params p = defaultParams();
    std::vector<int> selected;
    const double seconds = secondsInLoop(state, [&]() { selected = selectAdditions(c->bank, c->candidates, p); });
    state.counters["s/selection"] = seconds / static_cast<double>(state.iterations());
    lastUpdate()[source] = selected;
}

// The per-step loop update() ran before it shared training's selection (every candidate's running minimum updated at
// every step; same projection and starting distances), written as the fused Eigen pass of naiveSelect() rather than
// its former cv::norm per row, so the baseline is the fastest form of that loop.
void BM_UpdateSelectionNaive(benchmark::State& state, Source source)
{
    const UpdateCase* c = updateCaseFor(state, source);
    if (!c)
        return;
    const cv::patchcore::Params p = defaultParams();
    const int n = c->candidates.rows, count = coresetSize(n, p.coresetRatio);
    std::vector<int> selected;
    const double seconds = secondsInLoop(state, [&]() {
        const cv::Mat projection = coresetProjection(c->bank.cols, p);
        const cv::Mat x = projectRows(c->candidates, projection), centres = projectRows(c->bank, projection);
        ExactSearch nearest;
        nearest.setBank(centres);
        cv::Mat distSq, index;
        nearest.knn(x, 1, distSq, index);
        selected = naiveSelect(x, std::vector<float>(distSq.ptr<float>(), distSq.ptr<float>() + n), count, false);
    });
    state.counters["s/selection"] = seconds / static_cast<double>(state.iterations());
    // 1 = BM_UpdateSelection (run just before, same source) gave exactly these indices.
    if (lastUpdate().count(source))
        state.counters["same_selection"] = lastUpdate()[source] == selected ? 1 : 0;
}

BENCHMARK_CAPTURE(BM_UpdateSelection, synthetic, SYNTHETIC)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_UpdateSelectionNaive, synthetic, SYNTHETIC)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_UpdateSelection, hazelnut, HAZELNUT)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_UpdateSelectionNaive, hazelnut, HAZELNUT)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_CAPTURE(BM_Coreset, synthetic, SYNTHETIC)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_CoresetNaive, synthetic, SYNTHETIC)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_CoresetProjection, hazelnut, HAZELNUT)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Coreset, hazelnut, HAZELNUT)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_CoresetNaive, hazelnut, HAZELNUT)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Coreset, Large_magnetic_tile, MAGNETIC)->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1);
BENCHMARK_CAPTURE(BM_CoresetNaive, Large_magnetic_tile, MAGNETIC)->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1);

// ---- exact search: 784 queries (one 28 x 28 image) against banks of 2,195 (hazelnut's), 16,384 and 163,840 vectors.
// Both paths side by side: fp32 with bf16 screening (the default where the CPU has AVX-512 BF16), fp32 GEMM form
// only. (An fp16 detector's bank is its rounded values searched the same way.) "Real" banks are hazelnut_toy patch vectors (every 10th of images 2-28, as a 10 % bank) searched
// by image 1's: real features are far from uniform, which is what the screening's error bound depends on.

const int kQueries = kSearchQueries, kDim = kSearchDim;

enum BankKind
{
    BANK_BF16_SCREENED = 0,
    BANK_FP32 = 1
};

bool realSearchData(benchmark::State& state, cv::Mat& bank, cv::Mat& queries)
{
    const cv::Mat* all = bankFor(state, HAZELNUT);
    if (!all)
        return false;
    queries = all->rowRange(0, kQueries);
    bank.create(0, all->cols, CV_32F);
    for (int i = kQueries; i < all->rows; i += 10)
        bank.push_back(all->row(i));
    return true;
}

void runSearch(benchmark::State& state, BankKind kind, bool real)
{
    cv::Mat bank, queries;
    if (real)
    {
        if (!realSearchData(state, bank, queries))
            return;
    }
    else
        searchData(static_cast<int>(state.range(0)), bank, queries);
    ExactSearch search(kind == BANK_BF16_SCREENED ? cv::patchcore::detail::SCREEN_BF16 : cv::patchcore::detail::SCREEN_FP32);
    search.setBank(bank);
    if (kind == BANK_BF16_SCREENED && !search.screensInBf16())
    {
        state.SkipWithError("SKIPPED: needs AVX-512 BF16 (this CPU or PATCHCORE_SIMD has none)");
        return;
    }
    cv::Mat d, idx;
    double ranked = 0;
    const double seconds = secondsInLoop(state, [&]() {
        search.knn(queries, 1, d, idx, ranked);
    });
    setFlopCounters(state, 2.0 * queries.rows * static_cast<double>(bank.rows) * kDim, seconds);
    state.counters["queries/s"] = benchmark::Counter(queries.rows, benchmark::Counter::kIsIterationInvariantRate);
    state.counters["bank"] = bank.rows;
    if (kind == BANK_BF16_SCREENED)
        state.counters["ranked/query"] = ranked;
}

void BM_Search(benchmark::State& state) { runSearch(state, BANK_BF16_SCREENED, false); }
void BM_SearchFp32(benchmark::State& state) { runSearch(state, BANK_FP32, false); }
void BM_SearchReal(benchmark::State& state) { runSearch(state, BANK_BF16_SCREENED, true); }
void BM_SearchRealFp32(benchmark::State& state) { runSearch(state, BANK_FP32, true); }

BENCHMARK(BM_Search)->Arg(2195)->Arg(16384)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_SearchFp32)->Arg(2195)->Arg(16384)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Search)->Name("BM_SearchLarge")->Arg(163840)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_SearchFp32)->Name("BM_SearchFp32Large")->Arg(163840)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_SearchReal)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_SearchRealFp32)->Unit(benchmark::kMillisecond)->UseRealTime();

} // namespace
