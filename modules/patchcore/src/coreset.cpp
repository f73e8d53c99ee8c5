#include "coreset.hpp"
#include "distance_kernels.hpp"
#include "reference_rng.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/parallel_reduce.h>
#include <tbb/enumerable_thread_specific.h>

#include <algorithm>
#include <cmath>

namespace cv {
namespace patchcore {
namespace detail {

namespace {

struct Farthest
{
    float distance = -1.f;
    int index = -1;

    void consider(float d, int i)
    {
        // Strictly greater keeps the lowest index among equals within a range; join() does the same across ranges.
        if (d > distance || (d == distance && i < index))
        {
            distance = d;
            index = i;
        }
    }
};

const int kRowGrain = 1024;
// Above these sizes a selection step runs in parallel; below, TBB's overhead would exceed the work. Measured on
// hazelnut (BM_Coreset): a scan threshold of 4,096 points took 0.227 s against 0.32 s at 16,384 and 65,536.
const int kParallelPivots = 4096;
const int kParallelWork = 4096;
// Pruning decisions keep this relative margin, far above float rounding (~1e-5 for 128-d sums), so that a skipped
// point is one whose computed distance could not have lowered its running minimum: the selection stays that of the
// plain loop, bit for bit, while most points are never visited once the cells have shrunk.
const float kPruneMargin = 1.f + 1e-4f;

/** Buffers a cell scan reuses: a scan runs thousands of times per selection. One per thread, fetched once per task
 *  (a thread_local in a shared library costs a __tls_get_addr call per use, measured at 3-6 % of the selection). */
struct ScanScratch
{
    std::vector<int> positions; // candidates' positions in the cell
    std::vector<int> rows;      // their rows in the projected matrix
    std::vector<float> minSq;   // their running minimum: only a distance below it matters
    std::vector<float> d2;
};

/** Points with their running minimum (squared) and reach, stored side by side so that a scan reads them in order. */
struct PointList
{
    std::vector<int> row;
    std::vector<float> minSq, reach;

    size_t size() const { return row.size(); }
    bool empty() const { return row.empty(); }
    void push(int r, float m, float re)
    {
        row.push_back(r);
        minSq.push_back(m);
        reach.push_back(re);
    }
    void append(const PointList& other)
    {
        row.insert(row.end(), other.row.begin(), other.row.end());
        minSq.insert(minSq.end(), other.minSq.begin(), other.minSq.end());
        reach.insert(reach.end(), other.reach.begin(), other.reach.end());
    }
    void clear()
    {
        row.clear();
        minSq.clear();
        reach.clear();
    }
};

/** The points whose running minimum was last set by one selected point (or, before any selection, that are nearest
 *  to one start point): the pivot. Every member i knows reach_i = r_i + d(i, pivot), with r_i its running minimum
 *  distance; by the triangle inequality a new centre c farther than reach_i from the pivot cannot come closer to i
 *  than r_i, and one farther than the largest reach in the cell cannot change the cell at all. */
struct Cell
{
    int pivot = -1;
    PointList members;
    PointList moved; // members that the last scan handed to the new centre
    float maxReach = 0;
    Farthest farthest;

    void refresh()
    {
        maxReach = 0;
        farthest = Farthest();
        for (size_t m = 0; m < members.size(); ++m)
        {
            maxReach = std::max(maxReach, members.reach[m]);
            farthest.consider(members.minSq[m], members.row[m]);
        }
    }

    bool prunable(float pivotDistSq) const
    {
        const float d = std::sqrt(pivotDistSq);
        return d >= maxReach * kPruneMargin;
    }

    /** Updates the members' running minimum with the new centre (at distance `pivotDist` from the pivot), moving the
     *  members it now owns to `moved`. */
    void scan(const float* x, int dim, const float* centre, float pivotDist, ScanScratch& scratch)
    {
        std::vector<int>& positions = scratch.positions;
        positions.clear();
        const size_t count = members.size();
        const float* reach = members.reach.data();
        for (size_t m = 0; m < count; ++m)
            if (pivotDist < reach[m] * kPruneMargin)
                positions.push_back(static_cast<int>(m));
        if (positions.empty())
            return;
        scratch.rows.resize(positions.size());
        scratch.minSq.resize(positions.size());
        for (size_t c = 0; c < positions.size(); ++c)
        {
            scratch.rows[c] = members.row[positions[c]];
            scratch.minSq[c] = members.minSq[positions[c]];
        }
        scratch.d2.resize(positions.size());
        distancesSqToRows(x, dim, scratch.rows.data(), static_cast<int>(positions.size()), centre, scratch.d2.data(),
                          scratch.minSq.data());
        // Most scans change nothing: then the members, their bound and the farthest one stay as they are.
        bool anyCloser = false;
        for (size_t c = 0; c < positions.size() && !anyCloser; ++c)
            anyCloser = scratch.d2[c] < scratch.minSq[c];
        if (!anyCloser)
            return;
        // One pass compacts the members that stay and recomputes the cell's bound and farthest point.
        size_t kept = 0, c = 0;
        maxReach = 0;
        farthest = Farthest();
        for (size_t m = 0; m < count; ++m)
        {
            const int row = members.row[m];
            if (c < positions.size() && positions[c] == static_cast<int>(m))
            {
                const float d = scratch.d2[c++];
                if (d < members.minSq[m])
                {
                    moved.push(row, d, 2.f * std::sqrt(d));
                    continue;
                }
            }
            members.row[kept] = row;
            members.minSq[kept] = members.minSq[m];
            members.reach[kept] = members.reach[m];
            ++kept;
            maxReach = std::max(maxReach, members.reach[m]);
            farthest.consider(members.minSq[m], row);
        }
        members.row.resize(kept);
        members.minSq.resize(kept);
        members.reach.resize(kept);
    }
};

Farthest farthestOf(const std::vector<Cell>& cells)
{
    Farthest f;
    for (const Cell& c : cells)
        f.consider(c.farthest.distance, c.farthest.index);
    return f;
}

} // namespace

int coresetSize(int n, double ratio)
{
    CV_Assert(n > 0 && ratio > 0 && ratio <= 1);
    return std::max(1, static_cast<int>(n * ratio));
}

int effectiveBankCap(const Params& params)
{
    if (params.coresetMaxSize >= 0)
        return params.coresetMaxSize;
    // Measured on every shared set in the default mode (doc/RESULTS.md, "Bounded bank").
    return params.inputMode == INPUT_CENTER_CROP ? 0 : 16384;
}

int effectiveChunkRows(const Params& params)
{
    if (params.coresetChunkRows >= 0)
        return params.coresetChunkRows;
    // A chunk's projected vectors (32 MB at 128 dims) stay near the cores while its selection scans them.
    return params.inputMode == INPUT_CENTER_CROP ? 0 : 65536;
}

int bankSize(double n, const Params& params)
{
    const int count = coresetSize(static_cast<int>(std::min(n, 2e9)), params.coresetRatio);
    const int cap = effectiveBankCap(params);
    return cap > 0 ? std::min(count, cap) : count;
}

Mat randomProjection(int inDim, int outDim, uint64 seed)
{
    CV_Assert(inDim > 0 && outDim > 0);
    RNG rng(seed);
    const float bound = 1.f / std::sqrt(static_cast<float>(inDim));
    Mat projection(inDim, outDim, CV_32F);
    for (int r = 0; r < inDim; ++r)
        for (int c = 0; c < outDim; ++c)
            projection.at<float>(r, c) = rng.uniform(-bound, bound);
    return projection;
}

std::vector<int> randomIndices(int n, int count, uint64 seed)
{
    CV_Assert(n > 0 && count >= 0 && count <= n);
    RNG rng(seed);
    std::vector<int> all(n);
    for (int i = 0; i < n; ++i)
        all[i] = i;
    // Partial Fisher-Yates: the first `count` entries become a uniform random subset.
    for (int i = 0; i < count; ++i)
        std::swap(all[i], all[i + static_cast<int>(rng.uniform(0, n - i))]);
    all.resize(count);
    return all;
}

Mat coresetProjection(int inDim, const Params& params)
{
    CV_Assert(inDim > 0);
    if (params.projectionDim <= 0 || params.projectionDim >= inDim)
        return Mat();
    if (params.coresetRandom == RANDOM_REFERENCE)
        return torchLinearProjection(inDim, params.projectionDim, static_cast<uint32_t>(params.seed),
                                     params.referenceDrawsBefore);
    return randomProjection(inDim, params.projectionDim, static_cast<uint64>(params.seed));
}

std::vector<int> coresetStarts(int n, const Params& params)
{
    const int count = std::min(n, params.numStarts);
    if (params.coresetRandom == RANDOM_REFERENCE)
        return numpyChoiceWithoutReplacement(n, count, static_cast<uint32_t>(params.seed));
    // seed + 1: the start points must not reuse the projection's draws.
    return randomIndices(n, count, static_cast<uint64>(params.seed) + 1);
}

float startDistanceSq(const float* x, int dim, const std::vector<int>& starts, size_t i, std::vector<float>& d2,
                      int* nearest, float* nearestDistSq)
{
    d2.resize(starts.size());
    // All start points in one call; (a - b)^2 and (b - a)^2 are the same floats, so the roles can swap.
    distancesSqToRows(x, dim, starts.data(), static_cast<int>(starts.size()), x + i * dim, d2.data());
    double sum = 0;
    int best = 0;
    for (size_t s = 0; s < starts.size(); ++s)
    {
        sum += std::sqrt(static_cast<double>(d2[s]));
        if (d2[s] < d2[best])
            best = static_cast<int>(s);
    }
    if (nearest)
        *nearest = best;
    if (nearestDistSq)
        *nearestDistSq = d2[best];
    const double mean = sum / static_cast<double>(starts.size());
    return static_cast<float>(mean * mean);
}

namespace {

/** The greedy loop shared by a fresh selection and one that continues from a bank: `cells` hold every candidate
 *  with its running minimum; `firstAlwaysTaken`: a fresh selection takes its first point even at distance 0. */
std::vector<int> selectFromCells(const float* x, int dim, std::vector<Cell> cells, int count, bool firstAlwaysTaken,
                                 const StepCallback& onStep, double coverageStop = 0)
{
    for (Cell& c : cells)
        c.refresh();
    cells.erase(std::remove_if(cells.begin(), cells.end(), [](const Cell& c) { return c.members.empty(); }),
                cells.end());
    std::vector<int> selected;
    selected.reserve(count);
    Farthest best = farthestOf(cells);
    const int reportEvery = std::max(1, count / 100);
    std::vector<int> pivots;
    std::vector<float> pivotDistSq, pruneAt;
    std::vector<int> toScan;
    tbb::enumerable_thread_specific<ScanScratch> scratch;
    std::vector<float> radiusSq; // radiusSq[t]: the farthest point's distance with t points selected
    for (int it = 0; it < count; ++it)
    {
        // No farthest point means every distance is NaN: non-finite vectors must not reach the selection.
        const int next = best.index;
        if (next < 0)
            PATCHCORE_ERROR(Error::StsError, "coreset selection met non-finite patch vectors; check the backbone "
                                             "model and the training images");
        if ((it > 0 || !firstAlwaysTaken) && best.distance <= 0.f)
            break; // every point coincides with a selected one
        radiusSq.push_back(best.distance);
        if (coverageFlattened(radiusSq, it, coverageStop))
            break;
        selected.push_back(next);
        const float* centre = x + static_cast<size_t>(next) * dim;

        // Distance from the new centre to every cell's pivot decides which cells can hold a point that comes closer.
        pivots.resize(cells.size());
        pivotDistSq.resize(cells.size());
        pruneAt.resize(cells.size());
        for (size_t j = 0; j < cells.size(); ++j)
        {
            pivots[j] = cells[j].pivot;
            // A pivot distance that reaches this bound prunes the cell, so its exact value is not needed. A partial
            // (smaller) distance that does not reach it only makes the scan test more candidates: still exact.
            const float limit = cells[j].maxReach * kPruneMargin;
            pruneAt[j] = limit * limit;
        }
        const int numCells = static_cast<int>(cells.size());
        if (numCells > kParallelPivots)
            tbb::parallel_for(tbb::blocked_range<int>(0, numCells, kParallelPivots), [&](const tbb::blocked_range<int>& r) {
                distancesSqToRows(x, dim, pivots.data() + r.begin(), r.end() - r.begin(), centre,
                                  pivotDistSq.data() + r.begin(), pruneAt.data() + r.begin());
            });
        else
            distancesSqToRows(x, dim, pivots.data(), numCells, centre, pivotDistSq.data(), pruneAt.data());
        toScan.clear();
        size_t work = 0;
        for (int j = 0; j < numCells; ++j)
            if (!cells[j].prunable(pivotDistSq[j]))
            {
                toScan.push_back(j);
                work += cells[j].members.size();
            }

        auto scanRange = [&](const tbb::blocked_range<int>& r) {
            ScanScratch& own = scratch.local();
            for (int t = r.begin(); t < r.end(); ++t)
                cells[toScan[t]].scan(x, dim, centre, std::sqrt(pivotDistSq[toScan[t]]), own);
        };
        const tbb::blocked_range<int> all(0, static_cast<int>(toScan.size()));
        if (work > static_cast<size_t>(kParallelWork))
            tbb::parallel_for(all, scanRange);
        else
            scanRange(all);

        // The points that came closer to the new centre than to anything before form its cell.
        Cell fresh;
        fresh.pivot = next;
        for (int j : toScan)
        {
            fresh.members.append(cells[j].moved);
            cells[j].moved.clear();
        }
        fresh.refresh();
        cells.push_back(std::move(fresh));
        cells.erase(std::remove_if(cells.begin(), cells.end(), [](const Cell& c) { return c.members.empty(); }),
                    cells.end());
        best = farthestOf(cells);
        if (onStep && ((it + 1) % reportEvery == 0 || it + 1 == count) && !onStep(it + 1, count))
            PATCHCORE_ERROR(Error::StsError, "coreset selection cancelled by the progress callback");
    }
    // A selection that stopped early is complete all the same: progress says so.
    if (onStep && static_cast<int>(selected.size()) < count)
        onStep(count, count);
    return selected;
}

} // namespace

std::vector<int> greedyCoreset(const Mat& projected, const std::vector<int>& starts, int count,
                               const StepCallback& onStep, double coverageStop)
{
    const int n = projected.rows, dim = projected.cols;
    CV_Assert(n > 0 && count > 0 && count <= n && !starts.empty());
    CV_Assert(projected.type() == CV_32F && projected.isContinuous());
    const float* x = projected.ptr<float>();

    // Squared distances throughout: the order of sqrt(a) and sqrt(b) is that of a and b, so the selection is the
    // reference's while the loop saves a square root per point and iteration.
    std::vector<float> minSq(n), reach(n);
    std::vector<int> nearestStart(n);
    tbb::parallel_for(tbb::blocked_range<int>(0, n, kRowGrain), [&](const tbb::blocked_range<int>& r) {
        std::vector<float> d2;
        for (int i = r.begin(); i < r.end(); ++i)
        {
            float nearestSq = 0;
            minSq[i] = startDistanceSq(x, dim, starts, i, d2, &nearestStart[i], &nearestSq);
            reach[i] = std::sqrt(minSq[i]) + std::sqrt(nearestSq);
        }
    });
    // Before any selection the cells are those of the start points (their pivots), which bound distances as well.
    std::vector<Cell> cells(starts.size());
    for (size_t s = 0; s < starts.size(); ++s)
        cells[s].pivot = starts[s];
    for (int i = 0; i < n; ++i)
        cells[nearestStart[i]].members.push(i, minSq[i], reach[i]);
    return selectFromCells(x, dim, std::move(cells), count, true, onStep, coverageStop);
}

std::vector<int> greedyContinue(const Mat& projected, int candidates, const std::vector<float>& minSq,
                                const std::vector<int>& nearest, int count, const StepCallback& onStep)
{
    CV_Assert(candidates > 0 && candidates < projected.rows && count > 0 && count <= candidates);
    CV_Assert(minSq.size() == static_cast<size_t>(candidates) && nearest.size() == static_cast<size_t>(candidates));
    CV_Assert(projected.type() == CV_32F && projected.isContinuous());
    // One cell per centre that is some candidate's nearest: a member's running minimum is its distance to that
    // pivot, so its reach is twice the distance.
    std::vector<int> cellOf(projected.rows, -1);
    std::vector<Cell> cells;
    for (int i = 0; i < candidates; ++i)
    {
        const int c = nearest[i];
        CV_Assert(c >= candidates && c < projected.rows);
        if (cellOf[c] < 0)
        {
            cellOf[c] = static_cast<int>(cells.size());
            cells.emplace_back();
            cells.back().pivot = c;
        }
        cells[cellOf[c]].members.push(i, minSq[i], 2.f * std::sqrt(minSq[i]));
    }
    return selectFromCells(projected.ptr<float>(), projected.cols, std::move(cells), count, false, onStep);
}

std::vector<int> selectWithoutVectors(int n, const Params& params)
{
    CV_Assert(n > 0 && params.coresetMethod != CORESET_GREEDY);
    if (params.coresetMethod == CORESET_RANDOM)
        return randomIndices(n, bankSize(n, params), static_cast<uint64>(params.seed));
    std::vector<int> all(n);
    for (int i = 0; i < n; ++i)
        all[i] = i;
    return all;
}

std::vector<int> selectCoreset(const Mat& bank, const Params& params, const StepCallback& onStep,
                               const GreedyKernel& kernel)
{
    CV_Assert(!bank.empty() && bank.type() == CV_32F);
    if (params.coresetMethod != CORESET_GREEDY)
        return selectWithoutVectors(bank.rows, params);

    const Mat projection = coresetProjection(bank.cols, params);
    return selectCoresetProjected(projection.empty() ? bank : projectRows(bank, projection), params, onStep, kernel,
                                  0, params.coresetCoverageStop);
}

GreedyDraws greedyDraws(int n, const Params& params, int count)
{
    CV_Assert(params.coresetMethod == CORESET_GREEDY && n > 0);
    GreedyDraws d;
    d.starts = coresetStarts(n, params);
    d.count = count > 0 ? std::min(count, n) : bankSize(n, params);
    return d;
}

std::vector<int> selectCoresetProjected(const Mat& projected, const Params& params, const StepCallback& onStep,
                                        const GreedyKernel& kernel, int count, double coverageStop)
{
    CV_Assert(!projected.empty());
    const GreedyDraws d = greedyDraws(projected.rows, params, count);
    if (!kernel)
        return greedyCoreset(projected, d.starts, d.count, onStep, coverageStop);
    // A kernel that does not stop by coverage selects up to the count; greedy's first t points do not depend on how
    // many follow, so cutting its result where the loop would have stopped gives the same bank.
    std::vector<int> selected = kernel(projected, d.starts, d.count, onStep);
    selected.resize(coveragePrefix(projected, d.starts, selected, coverageStop));
    return selected;
}

} // namespace detail
} // namespace patchcore
} // namespace cv
