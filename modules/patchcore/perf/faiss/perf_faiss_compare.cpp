// Exact search, ours next to FAISS IndexFlatL2 on identical data in one run (784 queries x 1024 dims; banks of
// 2,195 / 16,384 / 163,840 vectors). Built only when CMake finds FAISS; the library never links it. FAISS computes
// its products with the system BLAS: run with OpenBLAS (Debian: libopenblas0-openmp), as the reference did.
#include "perf_common.hpp"

#include "search.hpp"

#include <faiss/IndexFlat.h>

#include <opencv2/core.hpp>

#include <chrono>
#include <map>
#include <vector>

namespace {

using namespace patchcore_perf;
typedef std::chrono::steady_clock Clock;
const int kQueries = kSearchQueries, kDim = kSearchDim;


void finish(benchmark::State& state, int n, double seconds)
{
    setFlopCounters(state, 2.0 * kQueries * static_cast<double>(n) * kDim, seconds);
    state.counters["queries/s"] = benchmark::Counter(kQueries, benchmark::Counter::kIsIterationInvariantRate);
}

// Indices of the last FAISS run per bank size, to check that both searches agree.
std::map<int, cv::Mat>& faissIndices()
{
    static std::map<int, cv::Mat> m;
    return m;
}

void BM_FaissFlatL2(benchmark::State& state)
{
    const int n = static_cast<int>(state.range(0));
    cv::Mat bank, queries;
    searchData(n, bank, queries);
    faiss::IndexFlatL2 index(kDim);
    index.add(n, bank.ptr<float>());
    std::vector<float> d(kQueries);
    std::vector<faiss::Index::idx_t> idx(kQueries);
    double seconds = 0;
    for (auto _ : state)
    {
        const auto t0 = Clock::now();
        index.search(kQueries, queries.ptr<float>(), 1, d.data(), idx.data());
        seconds += std::chrono::duration<double>(Clock::now() - t0).count();
    }
    cv::Mat ids(kQueries, 1, CV_32S);
    for (int i = 0; i < kQueries; ++i)
        ids.at<int>(i) = static_cast<int>(idx[i]);
    faissIndices()[n] = ids;
    finish(state, n, seconds);
}

void BM_OursExact(benchmark::State& state)
{
    const int n = static_cast<int>(state.range(0));
    cv::Mat bank, queries;
    searchData(n, bank, queries);
    cv::patchcore::detail::ExactSearch search;
    search.setBank(bank);
    cv::Mat d, idx;
    double seconds = 0, candidates = 0;
    for (auto _ : state)
    {
        const auto t0 = Clock::now();
        search.knn(queries, 1, d, idx, candidates);
        seconds += std::chrono::duration<double>(Clock::now() - t0).count();
    }
    finish(state, n, seconds);
    // bf16 screening: bank rows ranked in double per query (0 on the fp32 path).
    state.counters["ranked/query"] = candidates;
    state.SetLabel(search.screensInBf16() ? "bf16 screening" : "fp32");
    if (faissIndices().count(n))
        state.counters["same_as_faiss_%"] = 100.0 * cv::countNonZero(idx == faissIndices()[n]) / kQueries;
}

// Interleaved per size (FAISS, then ours) so that both see the same machine load.
BENCHMARK(BM_FaissFlatL2)->Arg(2195)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_OursExact)->Arg(2195)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_FaissFlatL2)->Arg(16384)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_OursExact)->Arg(16384)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_FaissFlatL2)->Name("BM_FaissFlatL2Large")->Arg(163840)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_OursExact)->Name("BM_OursExactLarge")->Arg(163840)->Unit(benchmark::kMillisecond)->UseRealTime();

} // namespace
