#include "perf_common.hpp"

#include <map>

#include <opencv2/core/utils/filesystem.hpp>
#include <opencv2/imgcodecs.hpp>

#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define PERF_X86 1
#else
#define PERF_X86 0
#endif

namespace patchcore_perf {

std::string dataRoot()
{
    if (const char* env = std::getenv("PATCHCORE_DATA_ROOT"))
        return env;
    return PATCHCORE_DEFAULT_DATA_ROOT;
}

std::string dataPath(const std::string& relative)
{
    return dataRoot() + "/" + relative;
}

bool dataExists(const std::string& relative)
{
    return cv::utils::fs::exists(dataPath(relative));
}

bool requireData(benchmark::State& state, const std::string& relative)
{
    if (dataExists(relative))
        return true;
    state.SkipWithError(("SKIPPED: needs " + dataPath(relative)).c_str());
    return false;
}

std::vector<std::string> listImages(const std::string& folder)
{
    std::vector<cv::String> all;
    cv::utils::fs::glob(folder, "*", all);
    std::vector<std::string> out;
    for (const cv::String& f : all)
    {
        std::string lower = f;
        std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
        for (const char* ext : {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"})
            if (lower.size() > std::strlen(ext) && lower.compare(lower.size() - std::strlen(ext), std::string::npos, ext) == 0)
                out.push_back(f);
    }
    std::sort(out.begin(), out.end());
    return out;
}

cv::patchcore::Params defaultParams()
{
    cv::patchcore::Params p;
    p.modelPath = dataPath("models/resnet50v2_to_layer3.onnx");
    return p;
}

cv::Mat trainingEmbeddings(const std::string& cacheName, const std::string& folder, const std::string& listFile)
{
    const char* env = std::getenv("PATCHCORE_PERF_CACHE");
    const std::string dir = env ? env : "/tmp/patchcore_perf_cache";
    cv::utils::fs::createDirectories(dir);
    const std::string file = dir + "/" + cacheName + "_crop.f32";
    {
        std::ifstream in(file, std::ios::binary);
        int header[2] = {0, 0};
        if (in.read(reinterpret_cast<char*>(header), sizeof(header)) && header[0] > 0 && header[1] > 0)
        {
            cv::Mat m(header[0], header[1], CV_32F);
            if (in.read(reinterpret_cast<char*>(m.ptr<float>()), static_cast<std::streamsize>(m.total() * sizeof(float))))
                return m;
        }
    }
    std::vector<std::string> files;
    if (listFile.empty())
        files = listImages(dataPath(folder));
    else
    {
        std::ifstream list(dataPath(listFile));
        std::string line;
        while (std::getline(list, line))
            if (!line.empty())
                files.push_back(dataPath(folder) + "/" + line);
    }
    CV_Assert(!files.empty());
    // The reference's pre-processing: one 28 x 28 grid per image, so that the sets (and the selection times) are
    // the ones the reference's fixtures and timings describe, whatever size each image has.
    cv::patchcore::Params p = defaultParams();
    p.inputMode = cv::patchcore::INPUT_CENTER_CROP;
    cv::Ptr<cv::patchcore::Detector> det = cv::patchcore::Detector::create(p);
    cv::Mat all;
    for (size_t i = 0; i < files.size(); ++i)
    {
        const cv::Mat img = cv::imread(files[i], cv::IMREAD_UNCHANGED);
        CV_Assert(!img.empty());
        cv::Mat e;
        det->computeEmbedding(img, e);
        if (all.empty())
            all.create(static_cast<int>(files.size()) * e.rows, e.cols, CV_32F);
        e.copyTo(all.rowRange(static_cast<int>(i) * e.rows, static_cast<int>(i + 1) * e.rows));
    }
    std::ofstream out(file, std::ios::binary);
    const int header[2] = {all.rows, all.cols};
    out.write(reinterpret_cast<const char*>(header), sizeof(header));
    out.write(reinterpret_cast<const char*>(all.ptr<float>()), static_cast<std::streamsize>(all.total() * sizeof(float)));
    return all;
}

namespace {

const long kPeakIterations = 20000000;

// Twelve independent FMA chains cover the FMA latency (4 cycles) times the two FMA pipes of current x86 cores.
#if PERF_X86
__attribute__((target("avx512f"))) double fmaLoopAvx512(long iterations)
{
    __m512 acc[12];
    for (int i = 0; i < 12; ++i)
        acc[i] = _mm512_set1_ps(static_cast<float>(i));
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    for (long it = 0; it < iterations; ++it)
        for (int i = 0; i < 12; ++i)
            acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    float sink = 0;
    for (int i = 0; i < 12; ++i)
        sink += _mm512_cvtss_f32(acc[i]);
    benchmark::DoNotOptimize(sink);
    return 2.0 * 16 * 12 * iterations;
}

__attribute__((target("avx2,fma"))) double fmaLoopAvx2(long iterations)
{
    __m256 acc[12];
    for (int i = 0; i < 12; ++i)
        acc[i] = _mm256_set1_ps(static_cast<float>(i));
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    for (long it = 0; it < iterations; ++it)
        for (int i = 0; i < 12; ++i)
            acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    float sink = 0;
    for (int i = 0; i < 12; ++i)
        sink += _mm256_cvtss_f32(acc[i]);
    benchmark::DoNotOptimize(sink);
    return 2.0 * 8 * 12 * iterations;
}
#endif

double fmaLoopSse(long iterations)
{
    float acc[12][4];
    for (int i = 0; i < 12; ++i)
        for (int l = 0; l < 4; ++l)
            acc[i][l] = static_cast<float>(i);
    for (long it = 0; it < iterations; ++it)
        for (int i = 0; i < 12; ++i)
            for (int l = 0; l < 4; ++l)
                acc[i][l] = acc[i][l] * 0.999999f + 1e-7f;
    benchmark::DoNotOptimize(acc);
    return 2.0 * 4 * 12 * iterations;
}

struct Peak
{
    double gflops = 0;
    std::string isa;
};

Peak measurePeak()
{
    Peak peak;
    double (*loop)(long) = fmaLoopSse;
    peak.isa = "sse";
#if PERF_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
    {
        loop = fmaLoopAvx512;
        peak.isa = "avx512";
    }
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    {
        loop = fmaLoopAvx2;
        peak.isa = "avx2+fma";
    }
#endif
    const int threads = tbb::this_task_arena::max_concurrency();
    // Best of three: other processes on a shared machine only ever make a run slower.
    for (int rep = 0; rep < 3; ++rep)
    {
        std::vector<double> flops(threads, 0);
        const auto t0 = std::chrono::steady_clock::now();
        tbb::parallel_for(0, threads, [&](int t) { flops[t] = loop(kPeakIterations / 4); }, tbb::static_partitioner());
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        double total = 0;
        for (double f : flops)
            total += f;
        peak.gflops = std::max(peak.gflops, total / s * 1e-9);
    }
    return peak;
}

const Peak& peak()
{
    static const Peak p = measurePeak();
    return p;
}

} // namespace

double peakGflops()
{
    return peak().gflops;
}

std::string peakIsa()
{
    return peak().isa;
}

void setFlopCounters(benchmark::State& state, double flopsPerIteration, double seconds)
{
    const double gflops = flopsPerIteration * static_cast<double>(state.iterations()) / seconds * 1e-9;
    state.counters["GFLOP/s"] = gflops;
    state.counters["%peak"] = 100.0 * gflops / peakGflops();
}

void searchData(int bankRows, cv::Mat& bank, cv::Mat& queries)
{
    static std::map<int, std::pair<cv::Mat, cv::Mat>> cache;
    if (!cache.count(bankRows))
    {
        cv::Mat b(bankRows, kSearchDim, CV_32F), q(kSearchQueries, kSearchDim, CV_32F);
        cv::RNG rng(bankRows);
        rng.fill(b, cv::RNG::UNIFORM, 0, 1);
        rng.fill(q, cv::RNG::UNIFORM, 0, 1);
        cache[bankRows] = std::make_pair(b, q);
    }
    bank = cache[bankRows].first;
    queries = cache[bankRows].second;
}

} // namespace patchcore_perf
