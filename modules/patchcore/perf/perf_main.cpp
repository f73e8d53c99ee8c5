// Entry point of opencv_perf_patchcore: Google Benchmark's main, plus the machine context every ratio needs.
#include "perf_common.hpp"
#include "search.hpp"

#include <opencv2/core/utility.hpp>

#include <tbb/task_arena.h>

#include <cstdio>

int main(int argc, char** argv)
{
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 1;
    using namespace patchcore_perf;
    char peak[64];
    std::snprintf(peak, sizeof(peak), "%.1f", peakGflops());
    benchmark::AddCustomContext("peak_GFLOP/s (measured FMA, " + peakIsa() + ", all cores)", peak);
    benchmark::AddCustomContext("patchcore_kernels", cv::patchcore::detail::simdLevelName(cv::patchcore::detail::simdLevel()));
    benchmark::AddCustomContext("tbb_threads", std::to_string(tbb::this_task_arena::max_concurrency()));
    benchmark::AddCustomContext("opencv_threads", std::to_string(cv::getNumThreads()));
    benchmark::AddCustomContext("data_root", dataRoot());
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
