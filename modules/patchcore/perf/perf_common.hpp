// Shared helpers of the Google Benchmark programs: data location, cached training embeddings, the machine's peak.
#ifndef OPENCV_PATCHCORE_PERF_COMMON_HPP
#define OPENCV_PATCHCORE_PERF_COMMON_HPP

#include <benchmark/benchmark.h>

#include "opencv2/patchcore.hpp"
#include <opencv2/core.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace patchcore_perf {

/** $PATCHCORE_DATA_ROOT, else the CMake-time default. */
std::string dataRoot();
std::string dataPath(const std::string& relative);
bool dataExists(const std::string& relative);

/** Skips the running benchmark (state.SkipWithError, which the smoke run reports but does not fail on) when a
 *  shared file is absent; returns false then. */
bool requireData(benchmark::State& state, const std::string& relative);

/** Sorted image files of a folder (jpg/png/bmp/tif). */
std::vector<std::string> listImages(const std::string& folder);

/** Default detector parameters with the shared ResNet50-v2 backbone (the reference's settings). */
cv::patchcore::Params defaultParams();

/** Patch vectors of all training images of a data set (rows stacked image by image), computed once with the
 *  detector's own pipeline and cached as a raw file under $PATCHCORE_PERF_CACHE (default /tmp/patchcore_perf_cache)
 *  so that repeated benchmark runs skip the backbone. `listFile` (relative to the data root) restricts the images,
 *  as the reference did for magnetic_tile; `folder` is relative to the data root. */
cv::Mat trainingEmbeddings(const std::string& cacheName, const std::string& folder, const std::string& listFile = "");

/** Search benchmark data, identical in every program that compares searches: kSearchQueries queries (one 28 x 28
 *  image) and `bankRows` bank vectors of kSearchDim uniform values, seeded by the bank size, cached per size. */
const int kSearchQueries = 784, kSearchDim = 1024;
void searchData(int bankRows, cv::Mat& bank, cv::Mat& queries);

/** Peak single-precision GFLOP/s of this machine with all cores: measured with independent FMA chains in the widest
 *  vector unit the CPU has (AVX-512, else AVX2+FMA, else SSE). Measured once per process. */
double peakGflops();
/** Name of the vector unit peakGflops() used. */
std::string peakIsa();

/** Adds the "GFLOP/s" and "%peak" counters from a FLOP count per iteration and the measured seconds. */
void setFlopCounters(benchmark::State& state, double flopsPerIteration, double seconds);

/** Runs `body` once per benchmark iteration and returns the seconds spent inside it, so that what a benchmark prepares
 *  or checks around the loop is never part of its time. */
template <typename Body>
double secondsInLoop(benchmark::State& state, Body&& body)
{
    double seconds = 0;
    for (auto _ : state)
    {
        const auto t0 = std::chrono::steady_clock::now();
        body();
        seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    return seconds;
}

} // namespace patchcore_perf

#endif
