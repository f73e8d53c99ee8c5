// Benchmark of patchcore_cuda on the current device, with the two ceilings it is judged against measured first:
// device copy bandwidth and the cuBLAS SGEMM rate at the search's own GEMM shape. Prints a short table.
//   targets: coreset 1,000,000 x 1024 -> 1 % (10,000 picks, projection 128, 10 starts) in < 2 s;
//            knn 784 queries vs 100,000 x 1024 at >= 50 % of the measured SGEMM rate (FLOPs of the GEMM form).
// Usage: bench_patchcore_cuda [--quick]   (--quick: sizes / 10, for a smoke run)
#include "patchcore_cuda.hpp"

#include <cublas_v2.h>
#include <cuda_runtime.h> // the typed cudaMalloc overloads

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

#define CHECK_CUDA(x)                                                                                                  \
    do {                                                                                                               \
        cudaError_t e_ = (x);                                                                                          \
        if (e_ != cudaSuccess)                                                                                         \
        {                                                                                                              \
            std::fprintf(stderr, "%s failed: %s\n", #x, cudaGetErrorString(e_));                                        \
            std::exit(2);                                                                                              \
        }                                                                                                              \
    } while (0)

double now()
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

/** Fills v with uniform values in [lo, hi) using all cores (xorshift per block: fast, reproducible). */
void fillUniform(std::vector<float>& v, float lo, float hi, uint64_t seed)
{
    const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
    std::vector<std::thread> pool;
    const size_t per = (v.size() + threads - 1) / threads;
    for (unsigned t = 0; t < threads; ++t)
        pool.emplace_back([&, t]() {
            uint64_t s = seed * 0x9E3779B97F4A7C15ull + t + 1;
            const size_t end = std::min(v.size(), (t + 1) * per);
            for (size_t i = t * per; i < end; ++i)
            {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                v[i] = lo + (hi - lo) * static_cast<float>((s >> 40) * (1.0 / 16777216.0));
            }
        });
    for (auto& th : pool)
        th.join();
}

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

/** Median milliseconds of `reps` runs of f, timed with events after one warm-up. */
template <typename F>
double timeDevice(F f, int reps)
{
    cudaEvent_t a, b;
    cudaEventCreate(&a);
    cudaEventCreate(&b);
    f();
    std::vector<double> ms;
    for (int r = 0; r < reps; ++r)
    {
        cudaEventRecord(a);
        f();
        cudaEventRecord(b);
        CHECK_CUDA(cudaEventSynchronize(b));
        float t = 0;
        cudaEventElapsedTime(&t, a, b);
        ms.push_back(t);
    }
    cudaEventDestroy(a);
    cudaEventDestroy(b);
    return median(ms);
}

template <typename F>
double timeOnce(F f)
{
    const double t0 = now();
    f();
    return (now() - t0) * 1e3;
}

template <typename F>
double timeHost(F f, int reps)
{
    f();
    std::vector<double> ms;
    for (int r = 0; r < reps; ++r)
    {
        const double t0 = now();
        f();
        ms.push_back((now() - t0) * 1e3);
    }
    return median(ms);
}

struct Row
{
    std::string what, value, target, verdict;
};

} // namespace

int main(int argc, char** argv)
{
    const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
    std::string why;
    if (!patchcore_cuda::deviceAvailable(&why))
    {
        std::printf("SKIPPED: no CUDA device (%s)\n", why.c_str());
        return 0;
    }
    std::printf("device: %s\n", patchcore_cuda::deviceDescription().c_str());
    std::vector<Row> rows;
    char buf[256];

    // ---- ceiling 1: device-to-device copy bandwidth (bytes read + written) ----
    {
        const size_t bytes = size_t(1) << 31;
        void *a = nullptr, *b = nullptr;
        CHECK_CUDA(cudaMalloc(&a, bytes));
        CHECK_CUDA(cudaMalloc(&b, bytes));
        CHECK_CUDA(cudaMemset(a, 1, bytes));
        const double ms = timeDevice([&]() { cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice); }, 10);
        std::snprintf(buf, sizeof(buf), "%.0f GB/s", 2.0 * bytes / ms / 1e6);
        rows.push_back({"copy bandwidth (D2D, r+w)", buf, "ceiling", ""});
        cudaFree(a);
        cudaFree(b);
    }

    // ---- knn: 784 queries vs 100,000 x 1024 ----
    const int dim = 1024, m = 784;
    const int64_t nBank = quick ? 10000 : 100000;
    std::vector<float> bank(static_cast<size_t>(nBank) * dim), queries(static_cast<size_t>(m) * dim);
    fillUniform(bank, -1.f, 1.f, 1);
    fillUniform(queries, -1.f, 1.f, 2);
    const double flops = 2.0 * m * static_cast<double>(nBank) * dim;
    double sgemmTflops = 0;
    {
        cublasHandle_t h;
        cublasCreate(&h);
        float *dB = nullptr, *dQ = nullptr, *dC = nullptr;
        CHECK_CUDA(cudaMalloc(&dB, bank.size() * 4));
        CHECK_CUDA(cudaMalloc(&dQ, queries.size() * 4));
        CHECK_CUDA(cudaMalloc(&dC, static_cast<size_t>(nBank) * m * 4));
        CHECK_CUDA(cudaMemcpy(dB, bank.data(), bank.size() * 4, cudaMemcpyHostToDevice));
        CHECK_CUDA(cudaMemcpy(dQ, queries.data(), queries.size() * 4, cudaMemcpyHostToDevice));
        const float one = 1.f, zero = 0.f;
        for (bool tf32 : {false, true})
        {
            cublasSetMathMode(h, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH);
            const double ms = timeDevice([&]() {
                cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(nBank), m, dim, &one, dB, dim, dQ, dim,
                            &zero, dC, static_cast<int>(nBank));
            }, 20);
            const double tflops = flops / ms / 1e9;
            if (!tf32)
                sgemmTflops = tflops;
            std::snprintf(buf, sizeof(buf), "%.1f TFLOP/s (%.2f ms)", tflops, ms);
            rows.push_back({tf32 ? "cuBLAS GEMM TF32, knn shape" : "cuBLAS SGEMM FP32, knn shape", buf, "ceiling", ""});
        }
        cudaFree(dB);
        cudaFree(dQ);
        cudaFree(dC);
        cublasDestroy(h);
    }
    for (bool tf32 : {false, true})
    {
        patchcore_cuda::KnnOptions options;
        options.tf32 = tf32;
        patchcore_cuda::NearestNeighbors nn(options);
        const double setMs = timeHost([&]() { nn.setBank(bank.data(), nBank, dim); }, 2);
        std::vector<float> dist(m);
        std::vector<int> idx(m);
        const double ms = timeHost([&]() { nn.knn(queries.data(), m, 1, dist.data(), idx.data()); }, 20);
        const double tflops = flops / ms / 1e9;
        // Spot check against brute force in double for a few queries.
        int wrong = 0;
        for (int q = 0; q < 8; ++q)
        {
            double best = INFINITY;
            int bestIdx = -1;
            for (int64_t j = 0; j < nBank; ++j)
            {
                double s = 0;
                for (int c = 0; c < dim; ++c)
                {
                    const double t = static_cast<double>(queries[q * dim + c]) - bank[j * dim + c];
                    s += t * t;
                }
                if (s < best)
                {
                    best = s;
                    bestIdx = static_cast<int>(j);
                }
            }
            wrong += bestIdx == idx[q] ? 0 : 1;
        }
        const double ratio = tflops / sgemmTflops;
        std::snprintf(buf, sizeof(buf), "%.2f ms, %.1f TFLOP/s = %.0f %% of SGEMM; setBank %.0f ms; %d/8 wrong", ms,
                      tflops, 100 * ratio, setMs, wrong);
        rows.push_back({tf32 ? "knn 784 x 100k x 1024, TF32" : "knn 784 x 100k x 1024, FP32", buf,
                        tf32 ? "(option)" : ">= 50 % SGEMM", tf32 ? (wrong ? "CHECK" : "ok")
                                                                    : (ratio >= 0.5 && !wrong ? "PASS" : "FAIL")});
    }
    bank.clear();
    bank.shrink_to_fit();

    // ---- coreset ----
    struct CoresetCase
    {
        const char* name;
        int64_t n;
        double ratio;
        double targetSeconds;
    };
    const CoresetCase coresetCases[] = {{"coreset 156,800 x 1024 -> 10 %", quick ? 15680 : 156800, 0.10, 0},
                                        {"coreset 1,000,000 x 1024 -> 1 %", quick ? 100000 : 1000000, 0.01, 2.0}};
    std::vector<float> projection(static_cast<size_t>(dim) * 128);
    fillUniform(projection, -1.f / 32, 1.f / 32, 3);
    for (const CoresetCase& c : coresetCases)
    {
        std::vector<float> data(static_cast<size_t>(c.n) * dim);
        fillUniform(data, -1.f, 1.f, 4);
        float* dData = nullptr;
        CHECK_CUDA(cudaMalloc(&dData, data.size() * 4));
        CHECK_CUDA(cudaMemcpy(dData, data.data(), data.size() * 4, cudaMemcpyHostToDevice));
        std::vector<int> starts(10);
        for (int s = 0; s < 10; ++s)
            starts[s] = static_cast<int>((s * 7919ll * 104729ll) % c.n);
        const int count = static_cast<int>(c.n * c.ratio);
        std::vector<int> sel;
        timeOnce([&]() { // warm-up: module load, cuBLAS handle
            sel = patchcore_cuda::greedyCoreset(dData, c.n, dim, projection.data(), 128, starts.data(), 10, 1);
        });
        const double setup = timeOnce([&]() {
            sel = patchcore_cuda::greedyCoreset(dData, c.n, dim, projection.data(), 128, starts.data(), 10, 1);
        });
        const double deviceMs = timeOnce([&]() {
            sel = patchcore_cuda::greedyCoreset(dData, c.n, dim, projection.data(), 128, starts.data(), 10, count);
        });
        patchcore_cuda::CoresetOptions perLaunch;
        perLaunch.cooperative = false;
        std::vector<int> sel2;
        const double launchMs = timeOnce([&]() {
            sel2 = patchcore_cuda::greedyCoreset(dData, c.n, dim, projection.data(), 128, starts.data(), 10, count, {},
                                                 perLaunch);
        });
        const bool pathsAgree = sel == sel2;
        const double hostMs = timeOnce([&]() {
            sel2 = patchcore_cuda::greedyCoreset(data.data(), c.n, dim, projection.data(), 128, starts.data(), 10,
                                                 count);
        });
        const double bytesPerPick = static_cast<double>(c.n) * 128 * 4;
        std::snprintf(buf, sizeof(buf),
                      "%.3f s device input (setup %.0f ms, %.0f GB/s/pick), %.3f s per-launch, %.3f s host input; "
                      "%zu picks%s",
                      deviceMs / 1e3, setup, bytesPerPick * count / ((deviceMs - setup) * 1e6), launchMs / 1e3,
                      hostMs / 1e3, sel.size(), pathsAgree && sel == sel2 ? "" : ", PATHS DIFFER");
        const bool ok = pathsAgree && sel == sel2 && static_cast<int>(sel.size()) == count &&
                        (c.targetSeconds <= 0 || deviceMs / 1e3 < c.targetSeconds);
        rows.push_back({c.name, buf, c.targetSeconds > 0 ? "< 2 s" : "-", ok ? "PASS" : "FAIL"});
        cudaFree(dData);
    }

    std::printf("\n%-34s | %-12s | %-7s | %s\n", "benchmark", "target", "verdict", "result");
    std::printf("%s\n", std::string(110, '-').c_str());
    for (const Row& r : rows)
        std::printf("%-34s | %-12s | %-7s | %s\n", r.what.c_str(), r.target.c_str(), r.verdict.c_str(), r.value.c_str());
    return 0;
}
