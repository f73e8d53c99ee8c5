// CPU references for the tests: the greedy coreset with the arithmetic the GPU uses (so that results are
// bit-identical without a projection), and brute-force k-nearest neighbours in double.
#ifndef PATCHCORE_CUDA_TEST_REFERENCE_HPP
#define PATCHCORE_CUDA_TEST_REFERENCE_HPP

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace reference {

/** rows (n x dim) * projection (dim x pd), float, fma in dimension order. */
inline std::vector<float> project(const std::vector<float>& rows, int64_t n, int dim, const std::vector<float>& p,
                                  int pd)
{
    std::vector<float> out(static_cast<size_t>(n) * pd);
    for (int64_t i = 0; i < n; ++i)
        for (int c = 0; c < pd; ++c)
        {
            float acc = 0.f;
            for (int j = 0; j < dim; ++j)
                acc = std::fma(rows[i * dim + j], p[static_cast<size_t>(j) * pd + c], acc);
            out[i * pd + c] = acc;
        }
    return out;
}

inline float squaredDistance(const float* a, const float* b, int dim)
{
    float acc = 0.f;
    for (int j = 0; j < dim; ++j)
    {
        const float diff = a[j] - b[j];
        acc = std::fma(diff, diff, acc);
    }
    return acc;
}

/** The greedy loop from running minima `minSq`: each pick the farthest point (lowest index on ties); stops when the
 *  farthest is at distance 0, from the second pick on when `firstAlwaysTaken`, else from the first. */
inline std::vector<int> greedyFrom(const std::vector<float>& x, int64_t n, int d, std::vector<float> minSq, int count,
                                   bool firstAlwaysTaken)
{
    auto farthest = [&]() {
        int best = 0;
        for (int64_t i = 1; i < n; ++i)
            if (minSq[i] > minSq[best])
                best = static_cast<int>(i);
        return best;
    };
    std::vector<int> selected;
    int next = farthest();
    for (int it = 0; it < count; ++it)
    {
        if ((it > 0 || !firstAlwaysTaken) && minSq[next] <= 0.f)
            break;
        selected.push_back(next);
        for (int64_t i = 0; i < n; ++i)
            minSq[i] = std::min(minSq[i], squaredDistance(&x[i * d], &x[static_cast<size_t>(next) * d], d));
        next = farthest();
    }
    return selected;
}

/** The CPU greedy coreset (cv::patchcore::detail::greedyCoreset) on already projected points. */
inline std::vector<int> greedy(const std::vector<float>& x, int64_t n, int d, const std::vector<int>& starts, int count)
{
    std::vector<float> minSq(n);
    for (int64_t i = 0; i < n; ++i)
    {
        double sum = 0;
        for (int s : starts)
            sum += std::sqrt(static_cast<double>(squaredDistance(&x[i * d], &x[static_cast<size_t>(s) * d], d)));
        const double mean = sum / static_cast<double>(starts.size());
        minSq[i] = static_cast<float>(mean * mean);
    }
    return greedyFrom(x, n, d, std::move(minSq), count, true);
}

/** Each of the n points' squared distance to the nearest of the m centres (both already projected, d columns). */
inline std::vector<float> nearestCentreSq(const std::vector<float>& x, int64_t n, const std::vector<float>& centres,
                                          int64_t m, int d)
{
    std::vector<float> minSq(n);
    for (int64_t i = 0; i < n; ++i)
    {
        float best = squaredDistance(&x[i * d], &centres[0], d);
        for (int64_t c = 1; c < m; ++c)
            best = std::min(best, squaredDistance(&x[i * d], &centres[c * d], d));
        minSq[i] = best;
    }
    return minSq;
}

/** Largest relative shortfall of each pick against the best available pick, replaying `picks` in double:
 *  0 for an exact greedy sequence; small (rounding) for a valid one. */
inline double greedyShortfall(const std::vector<double>& x, int64_t n, int d, const std::vector<int>& starts,
                              const std::vector<int>& picks)
{
    auto dist2 = [&](int64_t a, int64_t b) {
        double s = 0;
        for (int j = 0; j < d; ++j)
        {
            const double t = x[a * d + j] - x[b * d + j];
            s += t * t;
        }
        return s;
    };
    std::vector<double> minSq(n);
    for (int64_t i = 0; i < n; ++i)
    {
        double sum = 0;
        for (int s : starts)
            sum += std::sqrt(dist2(i, s));
        minSq[i] = (sum / starts.size()) * (sum / starts.size());
    }
    double worst = 0;
    for (int p : picks)
    {
        const double best = *std::max_element(minSq.begin(), minSq.end());
        if (best > 0)
            worst = std::max(worst, (best - minSq[p]) / best);
        for (int64_t i = 0; i < n; ++i)
            minSq[i] = std::min(minSq[i], dist2(i, p));
    }
    return worst;
}

/** Brute-force k nearest (exact squared distance summed in double in dimension order, then index). */
inline void knn(const std::vector<float>& q, int64_t m, const std::vector<float>& b, int64_t n, int dim, int k,
                std::vector<float>& dist, std::vector<int>& index)
{
    dist.assign(static_cast<size_t>(m) * k, 0.f);
    index.assign(static_cast<size_t>(m) * k, -1);
    std::vector<std::pair<double, int>> all(n);
    for (int64_t i = 0; i < m; ++i)
    {
        for (int64_t j = 0; j < n; ++j)
        {
            double s = 0;
            for (int c = 0; c < dim; ++c)
            {
                const double t = static_cast<double>(q[i * dim + c]) - static_cast<double>(b[j * dim + c]);
                s += t * t;
            }
            all[j] = {s, static_cast<int>(j)};
        }
        std::partial_sort(all.begin(), all.begin() + k, all.end());
        for (int j = 0; j < k; ++j)
        {
            dist[i * k + j] = static_cast<float>(all[j].first);
            index[i * k + j] = all[j].second;
        }
    }
}

inline std::vector<float> uniform(size_t count, float lo, float hi, unsigned seed)
{
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(lo, hi);
    std::vector<float> v(count);
    for (float& x : v)
        x = u(rng);
    return v;
}

/** Small integers: every float sum of their products is exact, whatever the order. */
inline std::vector<float> integers(size_t count, int lo, int hi, unsigned seed)
{
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> u(lo, hi);
    std::vector<float> v(count);
    for (float& x : v)
        x = static_cast<float>(u(rng));
    return v;
}

inline std::vector<int> distinctIndices(int64_t n, int count, unsigned seed)
{
    std::vector<int> all(n);
    for (int64_t i = 0; i < n; ++i)
        all[i] = static_cast<int>(i);
    std::mt19937 rng(seed);
    std::shuffle(all.begin(), all.end(), rng);
    all.resize(std::min<int64_t>(n, count));
    return all;
}

} // namespace reference

#endif
