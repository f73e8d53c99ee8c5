#include "search_bf16.hpp"

#include "distance_kernels.hpp"
#include "search_amx.hpp"
#include "search_bf16_rounding.hpp"

#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <numeric>

// vdpbf16ps needs GCC 10 / clang 9; older compilers build the fp32 path only.
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__)) &&                                                 \
    (defined(__clang__) ? __clang_major__ >= 9 : __GNUC__ >= 10)
#include <immintrin.h>
#define PATCHCORE_BF16_KERNELS 1
#pragma GCC diagnostic ignored "-Wuninitialized"
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#define PATCHCORE_TARGET_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,avx2,fma")))
#else
#define PATCHCORE_BF16_KERNELS 0
#endif

namespace cv {
namespace patchcore {
namespace detail {

namespace {

const int kLanes = 16;           // bank rows per group: one 512-bit vector of fp32 results
const int kTileQueries = 6;      // queries per kernel call: 6 x 4 accumulators + 4 bank vectors fit 32 registers
const int kTileGroups = 4;       // groups of 16 bank rows per kernel call
const int kBlockGroups = 8;      // groups per parallel task (128 rows, 256 KB of bf16 at dim 1024: L2-resident)

// The k smallest screened distances seen so far by one thread for one query, and every row that could still be
// among the k nearest: screened distance within `window` (2 x margin) of the current k-th smallest.
struct QueryState
{
    std::vector<float> smallest; // ascending, at most k
    std::vector<std::pair<float, int>> candidates;
    float threshold = std::numeric_limits<float>::infinity();
    size_t prunedSize = 0;

    void push(float d, int row, int k, float window)
    {
        candidates.emplace_back(d, row);
        if (static_cast<int>(smallest.size()) < k || d < smallest.back())
        {
            smallest.insert(std::upper_bound(smallest.begin(), smallest.end(), d), d);
            if (static_cast<int>(smallest.size()) > k)
                smallest.pop_back();
            if (static_cast<int>(smallest.size()) == k)
                threshold = std::nextafter(smallest.back() + window, std::numeric_limits<float>::infinity());
        }
        // Early rows pass a loose threshold; drop the ones a later, tighter threshold rules out.
        if (candidates.size() > 2 * prunedSize + 64)
        {
            const float t = threshold;
            candidates.erase(std::remove_if(candidates.begin(), candidates.end(),
                                            [t](const std::pair<float, int>& c) { return c.first > t; }),
                             candidates.end());
            prunedSize = candidates.size();
        }
    }
};

struct Screening
{
    const uint32_t* queryPairs; // m x pairs, bf16 pairs as 32-bit words
    const float* queryNormsSq;
    const float* windows; // per query: 2 x margin, as float rounded up
    const uint16_t* packed;
    size_t groupStride; // uint16 per group
    const float* bankNormsSq;
    int pairs, rows, k;
    const int* stateOf; // query -> its QueryState, when the queries are a gathered subset (null: the identity)
    int rowBegin, rowEnd; // the rows screened: a cell's, whose first and last groups it may share with others
    const float* bounds;  // per query: no row above it can be a candidate (null: none known yet)
    bool amx;             // the dot products on AMX tiles (queries padded to whole tiles)
};

#if PATCHCORE_BF16_KERNELS

// R queries x C groups of 16 bank rows: out[r * C * 16 + c * 16 + lane] = bf16 dot product. The bank is packed so that
// one 512-bit load holds element pair p of 16 rows; each query pair is broadcast, so no horizontal sums are needed.
template <int R, int C>
PATCHCORE_TARGET_BF16 void bf16Tile(const uint32_t* q, size_t qStride, const uint16_t* b, size_t groupStride, int pairs,
                                    float* out)
{
    __m512 acc[R][C];
    for (int r = 0; r < R; ++r)
        for (int c = 0; c < C; ++c)
            acc[r][c] = _mm512_setzero_ps();
    for (int p = 0; p < pairs; ++p)
    {
        __m512bh bv[C];
        for (int c = 0; c < C; ++c)
            bv[c] = (__m512bh)_mm512_loadu_si512(b + c * groupStride + static_cast<size_t>(p) * 32);
        for (int r = 0; r < R; ++r)
        {
            const __m512bh qv = (__m512bh)_mm512_set1_epi32(static_cast<int>(q[r * qStride + p]));
            for (int c = 0; c < C; ++c)
                acc[r][c] = _mm512_dpbf16_ps(acc[r][c], qv, bv[c]);
        }
    }
    for (int r = 0; r < R; ++r)
        for (int c = 0; c < C; ++c)
            _mm512_storeu_ps(out + (r * C + c) * kLanes, acc[r][c]);
}

typedef void (*Bf16TileFn)(const uint32_t*, size_t, const uint16_t*, size_t, int, float*);

struct Bf16TileTable
{
    template <int R>
    struct Row
    {
        Bf16TileFn fn[kTileGroups] = {&bf16Tile<R, 1>, &bf16Tile<R, 2>, &bf16Tile<R, 3>, &bf16Tile<R, 4>};
    };
    Row<1> r1;
    Row<2> r2;
    Row<3> r3;
    Row<4> r4;
    Row<5> r5;
    Row<6> r6;
    Bf16TileFn get(int r, int c) const
    {
        const Bf16TileFn* rowFns[kTileQueries] = {r1.fn, r2.fn, r3.fn, r4.fn, r5.fn, r6.fn};
        return rowFns[r - 1][c - 1];
    }
};

// Screened distances |q|^2 + |x|^2 - 2 dot of one tile; rows under a query's threshold go to its state. Almost every
// vector compares above it, so the scalar path runs for a handful of rows per query.
PATCHCORE_TARGET_BF16 void collect(const Screening& s, const float* dots, int q0, int r, int g0, int c,
                                   QueryState* states)
{
    for (int i = 0; i < r; ++i)
    {
        QueryState& state = states[s.stateOf ? s.stateOf[q0 + i] : q0 + i];
        const float bound = s.bounds ? s.bounds[q0 + i] : std::numeric_limits<float>::infinity();
        const __m512 qn = _mm512_set1_ps(s.queryNormsSq[q0 + i]);
        for (int j = 0; j < c; ++j)
        {
            const int row0 = (g0 + j) * kLanes;
            const __m512 dot = _mm512_loadu_ps(dots + (i * c + j) * kLanes);
            const __m512 sum = _mm512_add_ps(qn, _mm512_loadu_ps(s.bankNormsSq + row0));
            const __m512 d = _mm512_fnmadd_ps(_mm512_set1_ps(2.f), dot, sum);
            const int lo = std::max(0, s.rowBegin - row0), hi = std::min(kLanes, s.rowEnd - row0);
            __mmask16 mask = _mm512_cmp_ps_mask(d, _mm512_set1_ps(std::min(state.threshold, bound)), _CMP_LE_OQ) &
                             static_cast<__mmask16>(((1u << hi) - 1u) & ~((1u << lo) - 1u));
            if (!mask)
                continue;
            alignas(64) float lanes[kLanes];
            _mm512_store_ps(lanes, d);
            while (mask)
            {
                const int lane = __builtin_ctz(mask);
                mask = static_cast<__mmask16>(mask & (mask - 1));
                if (lanes[lane] <= state.threshold && lanes[lane] <= bound)
                    state.push(lanes[lane], row0 + lane, s.k, s.windows[q0 + i]);
            }
        }
    }
}

// AMX: tiles of 32 queries x 32 bank rows, the queries in blocks of kAmxQueryBlock so that they stay in L2 with the
// task's groups (all the queries per pair of groups would stream megabytes from memory at the tiles' rate).
const int kAmxQueryBlock = 128;

void screenBlockAmx(const Screening& s, int group0, int groupEnd, int m, QueryState* states)
{
    const AmxTiles tiles;
    alignas(64) float dots[2 * kAmxQueries * 2 * kLanes];
    for (int qb = 0; qb < m; qb += kAmxQueryBlock)
    {
        const int qEnd = std::min(m, qb + kAmxQueryBlock);
        for (int g = group0; g < groupEnd; g += 2)
        {
            const int c = std::min(2, groupEnd - g);
            const uint16_t* b = s.packed + static_cast<size_t>(g) * s.groupStride;
            for (int q0 = qb; q0 < qEnd; q0 += 2 * kAmxQueries)
            {
                const int r = std::min(2 * kAmxQueries, qEnd - q0);
                tiles.dots(s.queryPairs + static_cast<size_t>(q0) * s.pairs, s.pairs, r > kAmxQueries ? 2 : 1, b,
                           s.groupStride, c, s.pairs, dots);
                collect(s, dots, q0, r, g, c, states);
            }
        }
    }
}

void screenBlock(const Screening& s, int group0, int groupEnd, int m, QueryState* states)
{
    if (s.amx)
        return screenBlockAmx(s, group0, groupEnd, m, states);
    static const Bf16TileTable table;
    alignas(64) float dots[kTileQueries * kTileGroups * kLanes];
    for (int g = group0; g < groupEnd; g += kTileGroups)
    {
        const int c = std::min(kTileGroups, groupEnd - g);
        const uint16_t* b = s.packed + static_cast<size_t>(g) * s.groupStride;
        for (int q0 = 0; q0 < m; q0 += kTileQueries)
        {
            const int r = std::min(kTileQueries, m - q0);
            table.get(r, c)(s.queryPairs + static_cast<size_t>(q0) * s.pairs, s.pairs, b, s.groupStride, s.pairs, dots);
            collect(s, dots, q0, r, g, c, states);
        }
    }
}

#endif // PATCHCORE_BF16_KERNELS

} // namespace

bool Bf16Screen::available()
{
#if PATCHCORE_BF16_KERNELS
    return simdLevel() >= SIMD_AVX512_BF16;
#else
    return false;
#endif
}

void Bf16Screen::release()
{
    packed_.release();
    normsSq_.clear();
    rows_ = dim_ = pairs_ = 0;
    amx_ = false;
}

bool Bf16Screen::build(const Mat& bank, bool allowAmx)
{
    release();
    CV_Assert(bank.type() == CV_32F && bank.isContinuous() && !bank.empty());
    if (!checkRange(bank))
        return false;
    const int n = bank.rows, dim = bank.cols, pairs = (dim + 1) / 2, groups = (n + kLanes - 1) / kLanes;
    Mat packed(groups, pairs * 2 * kLanes, CV_16U, Scalar(0));
    std::vector<float> normsSq(static_cast<size_t>(groups) * kLanes, 0.f);
    std::vector<RoundingStats> stats(n);
    tbb::parallel_for(0, n, [&](int i) {
        const float* x = bank.ptr<float>(i);
        uint16_t* group = packed.ptr<uint16_t>(i / kLanes);
        const int lane = i % kLanes;
        for (int t = 0; t < dim; ++t)
        {
            const uint16_t h = toBf16(x[t]);
            group[(t / 2) * 2 * kLanes + lane * 2 + t % 2] = h;
            stats[i].add(x[t], h);
        }
        normsSq[i] = static_cast<float>(stats[i].normSq);
    });
    double maxError = 0, maxRounded = 0, maxNormSq = 0;
    for (const RoundingStats& st : stats)
    {
        maxError = std::max(maxError, st.errorSq);
        maxRounded = std::max(maxRounded, st.roundedNormSq);
        maxNormSq = std::max(maxNormSq, st.normSq);
    }
    packed_ = packed;
    normsSq_.swap(normsSq);
    rows_ = n;
    dim_ = dim;
    pairs_ = pairs;
    amx_ = allowAmx && AmxTiles::built() && simdLevel() >= SIMD_AMX_BF16 && pairs % kAmxPairs == 0;
    maxRoundingError_ = std::sqrt(maxError);
    maxRoundedNorm_ = std::sqrt(maxRounded);
    maxNormSq_ = maxNormSq;
    return true;
}

#if PATCHCORE_BF16_KERNELS
namespace {

// Query rows allocated: whole AMX tiles, whose rows past the last query are read (and their results ignored).
inline int paddedQueries(int m)
{
    return (m + kAmxQueries - 1) / kAmxQueries * kAmxQueries;
}

// Queries rounded to bf16 pairs, their norms and screening windows (2 x margin, rounded up).
struct PackedQueries
{
    std::vector<uint32_t> pairs;
    std::vector<float> normsSq, windows;
};

PackedQueries packQueries(const Mat& queries, int pairs, const Margin& margin)
{
    const int m = queries.rows, dim = queries.cols;
    PackedQueries out;
    out.pairs.assign(static_cast<size_t>(paddedQueries(m)) * pairs, 0u);
    out.normsSq.resize(m);
    out.windows.resize(m);
    tbb::parallel_for(0, m, [&](int i) {
        const float* q = queries.ptr<float>(i);
        uint16_t* h = reinterpret_cast<uint16_t*>(out.pairs.data() + static_cast<size_t>(i) * pairs);
        const RoundingStats st = roundRow(q, dim, h);
        out.normsSq[i] = static_cast<float>(st.normSq);
        // Non-finite queries get an infinite window and NaN distances, so they collect no candidate and fail below.
        out.windows[i] = std::nextafter(static_cast<float>(2 * margin(st)), std::numeric_limits<float>::infinity());
    });
    return out;
}

typedef tbb::enumerable_thread_specific<std::vector<QueryState>> ThreadStates;

// The final step of both searches: per query, the candidates of every thread within the window of the k-th smallest
// screened distance, ranked in double precision; `rowIds` (or the identity) names the rows in the output.
void rankCandidates(const Mat& queries, const Mat& bank, int k, const PackedQueries& packed, ThreadStates& perThread,
                    const int* rowIds, Mat& distSq, Mat& indices, double* candidatesPerQuery)
{
    const int m = queries.rows, dim = queries.cols;
    distSq.create(m, k, CV_32F);
    indices.create(m, k, CV_32S);
    std::vector<int> ranked(m);
    tbb::parallel_for(0, m, [&](int qi) {
        // The k-th smallest screened distance over all threads sets the final window.
        std::vector<float> smallest;
        for (const std::vector<QueryState>& states : perThread)
            smallest.insert(smallest.end(), states[qi].smallest.begin(), states[qi].smallest.end());
        std::vector<std::pair<double, int>> exact;
        if (static_cast<int>(smallest.size()) >= k)
        {
            std::nth_element(smallest.begin(), smallest.begin() + (k - 1), smallest.end());
            const float limit =
                std::nextafter(smallest[k - 1] + packed.windows[qi], std::numeric_limits<float>::infinity());
            const float* q = queries.ptr<float>(qi);
            for (const std::vector<QueryState>& states : perThread)
                for (const std::pair<float, int>& c : states[qi].candidates)
                    if (c.first <= limit)
                        exact.emplace_back(exactDistanceSq(q, bank.ptr<float>(c.second), dim),
                                           rowIds ? rowIds[c.second] : c.second);
        }
        ranked[qi] = static_cast<int>(exact.size());
        keepNearest(exact, k, qi, distSq, indices);
    });
    if (candidatesPerQuery)
    {
        double total = 0;
        for (int r : ranked)
            total += r;
        *candidatesPerQuery = m ? total / m : 0;
    }
}

} // namespace
#endif // PATCHCORE_BF16_KERNELS

void Bf16Screen::knn(const Mat& queries, const Mat& bank, int k, Mat& distSq, Mat& indices,
                     double* candidatesPerQuery) const
{
    CV_Assert(!empty() && bank.rows == rows_ && bank.cols == dim_ && bank.type() == CV_32F);
    CV_Assert(queries.type() == CV_32F && queries.isContinuous() && queries.cols == dim_);
    CV_Assert(k >= 1 && k <= rows_);
#if PATCHCORE_BF16_KERNELS
    const int m = queries.rows;
    const PackedQueries packed =
        packQueries(queries, pairs_, Margin{static_cast<double>(dim_), maxRoundingError_, maxRoundedNorm_, maxNormSq_});
    const Screening s{packed.pairs.data(), packed.normsSq.data(), packed.windows.data(), packed_.ptr<uint16_t>(),
                      packed_.step1(), normsSq_.data(), pairs_, rows_, k, nullptr, 0, rows_, nullptr, amx_};
    ThreadStates perThread([m] { return std::vector<QueryState>(m); });
    tbb::parallel_for(tbb::blocked_range<int>(0, packed_.rows, kBlockGroups), [&](const tbb::blocked_range<int>& range) {
        screenBlock(s, range.begin(), range.end(), m, perThread.local().data());
    });
    rankCandidates(queries, bank, k, packed, perThread, nullptr, distSq, indices, candidatesPerQuery);
#else
    (void)bank;
    (void)distSq;
    (void)indices;
    (void)candidatesPerQuery;
    PATCHCORE_ERROR(Error::StsNotImplemented, "this build has no AVX-512 BF16 kernels");
#endif
}

void Bf16Screen::partialDistances(const Mat& queries, const std::function<void(int, const float*)>& visit) const
{
    CV_Assert(!empty() && queries.type() == CV_32F && queries.isContinuous() && queries.cols == dim_);
#if PATCHCORE_BF16_KERNELS
    static const Bf16TileTable table;
    const int m = queries.rows, groups = packed_.rows, width = groups * kLanes;
    const int block = 2 * kAmxQueries, groupStep = amx_ ? 2 : kTileGroups, callRows = amx_ ? block : kTileQueries;
    tbb::parallel_for(0, (m + block - 1) / block, [&](int b) {
        const int q0 = b * block, count = std::min(block, m - q0);
        std::vector<uint32_t> pairs(static_cast<size_t>(block) * pairs_, 0u); // whole tiles are read
        for (int i = 0; i < count; ++i)
            roundRow(queries.ptr<float>(q0 + i), dim_,
                     reinterpret_cast<uint16_t*>(pairs.data() + static_cast<size_t>(i) * pairs_));
        std::vector<float> d(static_cast<size_t>(count) * width);
        alignas(64) float dots[2 * kAmxQueries * 2 * kLanes]; // the larger of the two kernels' outputs
        std::unique_ptr<AmxTiles> tiles(amx_ ? new AmxTiles : nullptr);
        for (int g = 0; g < groups; g += groupStep)
        {
            const int c = std::min(groupStep, groups - g);
            for (int r0 = 0; r0 < count; r0 += callRows)
            {
                const int r = std::min(callRows, count - r0);
                const uint32_t* q = pairs.data() + static_cast<size_t>(r0) * pairs_;
                if (tiles)
                    tiles->dots(q, pairs_, r > kAmxQueries ? 2 : 1, packed_.ptr<uint16_t>(g), packed_.step1(), c,
                                pairs_, dots);
                else
                    table.get(r, c)(q, pairs_, packed_.ptr<uint16_t>(g), packed_.step1(), pairs_, dots);
                for (int i = 0; i < r; ++i)
                    for (int j = 0; j < c * kLanes; ++j)
                        d[static_cast<size_t>(r0 + i) * width + g * kLanes + j] =
                            normsSq_[g * kLanes + j] - 2.f * dots[i * c * kLanes + j];
            }
        }
        for (int i = 0; i < count; ++i)
            visit(q0 + i, d.data() + static_cast<size_t>(i) * width);
    });
#else
    (void)visit;
    PATCHCORE_ERROR(Error::StsNotImplemented, "this build has no AVX-512 BF16 kernels");
#endif
}

Bf16Screen::CellProbes Bf16Screen::CellProbes::of(const std::vector<std::vector<int>>& probed,
                                                  const std::vector<int>& subset, const std::vector<int>& cellRows)
{
    const int cells = static_cast<int>(cellRows.size()) - 1;
    const int m = static_cast<int>(subset.empty() ? probed.size() : subset.size());
    auto cellsOf = [&](int i) -> const std::vector<int>& { return probed[subset.empty() ? i : subset[i]]; };
    CellProbes lists;
    lists.cellRows = cellRows;
    lists.firstCell.resize(m);
    lists.byCellStart.assign(cells + 1, 0);
    for (int i = 0; i < m; ++i)
    {
        lists.firstCell[i] = cellsOf(i)[0];
        for (size_t j = 1; j < cellsOf(i).size(); ++j)
            ++lists.byCellStart[cellsOf(i)[j] + 1];
    }
    std::partial_sum(lists.byCellStart.begin(), lists.byCellStart.end(), lists.byCellStart.begin());
    lists.queries.resize(lists.byCellStart.back());
    std::vector<int> at(lists.byCellStart.begin(), lists.byCellStart.end() - 1);
    for (int i = 0; i < m; ++i)
        for (size_t j = 1; j < cellsOf(i).size(); ++j)
            lists.queries[at[cellsOf(i)[j]]++] = i;
    return lists;
}

void Bf16Screen::knnInCells(const Mat& queries, const Mat& bank, int k, const CellProbes& probes, const int* rowIds,
                            Mat& distSq, Mat& indices) const
{
    CV_Assert(!empty() && bank.rows == rows_ && bank.cols == dim_ && bank.type() == CV_32F);
    CV_Assert(queries.type() == CV_32F && queries.isContinuous() && queries.cols == dim_);
    CV_Assert(k >= 1 && k <= rows_);
    const int cells = static_cast<int>(probes.cellRows.size()) - 1, m = queries.rows;
    CV_Assert(cells >= 1 && static_cast<int>(probes.byCellStart.size()) == cells + 1 &&
              probes.cellRows.back() == rows_ && static_cast<int>(probes.queries.size()) == probes.byCellStart.back() &&
              static_cast<int>(probes.firstCell.size()) == m);
#if PATCHCORE_BF16_KERNELS
    const PackedQueries packed =
        packQueries(queries, pairs_, Margin{static_cast<double>(dim_), maxRoundingError_, maxRoundedNorm_, maxNormSq_});
    ThreadStates perThread([m] { return std::vector<QueryState>(m); });
    // One task per cell: its probing queries gathered into one contiguous block, screened against the groups that
    // hold its rows (the rows of a neighbouring cell that share its first or last group are masked out, so that no
    // row is counted twice).
    auto screenCells = [&](const std::vector<int>& byCellStart, const std::vector<int>& ids, const float* bounds) {
        tbb::parallel_for(0, cells, [&](int c) {
            const int first = byCellStart[c], count = byCellStart[c + 1] - first;
            const int rowBegin = probes.cellRows[c], rowEnd = probes.cellRows[c + 1];
            if (count == 0 || rowBegin == rowEnd)
                return;
            const int* cellIds = ids.data() + first;
            std::vector<uint32_t> pairs(static_cast<size_t>(paddedQueries(count)) * pairs_);
            std::vector<float> normsSq(count), windows(count), cellBounds(bounds ? count : 0);
            for (int i = 0; i < count; ++i)
            {
                std::copy_n(packed.pairs.data() + static_cast<size_t>(cellIds[i]) * pairs_, pairs_,
                            pairs.data() + static_cast<size_t>(i) * pairs_);
                normsSq[i] = packed.normsSq[cellIds[i]];
                windows[i] = packed.windows[cellIds[i]];
                if (bounds)
                    cellBounds[i] = bounds[cellIds[i]];
            }
            const Screening s{pairs.data(), normsSq.data(), windows.data(), packed_.ptr<uint16_t>(), packed_.step1(),
                              normsSq_.data(), pairs_, rows_, k, cellIds, rowBegin, rowEnd,
                              bounds ? cellBounds.data() : nullptr, amx_};
            screenBlock(s, rowBegin / kLanes, (rowEnd + kLanes - 1) / kLanes, count, perThread.local().data());
        });
    };
    // Each query's first cell alone, then the rest under the bound it sets: a state that starts without one takes
    // every row of its first cell as a candidate, which costs more than the screening itself once cells are small.
    std::vector<int> firstStart(cells + 1, 0), firstIds(m);
    for (int c : probes.firstCell)
        ++firstStart[c + 1];
    std::partial_sum(firstStart.begin(), firstStart.end(), firstStart.begin());
    {
        std::vector<int> next(firstStart.begin(), firstStart.end() - 1);
        for (int i = 0; i < m; ++i)
            firstIds[next[probes.firstCell[i]]++] = i;
    }
    screenCells(firstStart, firstIds, nullptr);
    std::vector<float> bounds(m, std::numeric_limits<float>::infinity());
    tbb::parallel_for(0, m, [&](int qi) {
        // A row above the k-th smallest screened distance so far plus the window is above the final limit too.
        std::vector<float> smallest;
        for (const std::vector<QueryState>& states : perThread)
            smallest.insert(smallest.end(), states[qi].smallest.begin(), states[qi].smallest.end());
        if (static_cast<int>(smallest.size()) >= k)
        {
            std::nth_element(smallest.begin(), smallest.begin() + (k - 1), smallest.end());
            bounds[qi] = std::nextafter(smallest[k - 1] + packed.windows[qi], std::numeric_limits<float>::infinity());
        }
    });
    screenCells(probes.byCellStart, probes.queries, bounds.data());
    rankCandidates(queries, bank, k, packed, perThread, rowIds, distSq, indices, nullptr);
#else
    (void)rowIds;
    (void)distSq;
    (void)indices;
    PATCHCORE_ERROR(Error::StsNotImplemented, "this build has no AVX-512 BF16 kernels");
#endif
}

} // namespace detail
} // namespace patchcore
} // namespace cv
