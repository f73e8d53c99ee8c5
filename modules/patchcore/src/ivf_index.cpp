#include "ivf_index.hpp"

#include "distance_kernels.hpp"

#include <Eigen/Core>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace cv {
namespace patchcore {
namespace detail {

namespace {

// Rows per block of a distance matrix: 64 rows of 1024 floats (256 KB) stay in L2 while the centroids stream past.
const int kRowBlock = 64;
// Bank rows per screening tile of a cell, as in ExactSearch: the tile and the probing queries stay in L2.
const int kCellBlock = 128;
// GEMM-form candidates re-ranked exactly beyond k: enough to absorb the rounding between near-equal neighbours.
const int kExtraCandidates = 4;
// k-means: training rows per cell (faiss warns below 39), rows per cell seeded by k-means++, Lloyd iterations.
// Measured on real patch vectors: more rows or iterations barely move recall, and training dominates setBank().
const int kTrainRowsPerCell = 32;
const int kSeedRowsPerCell = 4;
const int kLloydIterations = 8;
// Automatic probes: a sixteenth of the cells, at least 8 (doc/PERFORMANCE.md, "Inverted-file index").
const double kProbedFraction = 1.0 / 16;
const int kMinProbes = 8;

std::vector<float> squaredNorms(const float* rows, int n, int dim)
{
    std::vector<float> out(n);
    tbb::parallel_for(0, n, [&](int i) {
        out[i] = Eigen::Map<const Eigen::VectorXf>(rows + static_cast<size_t>(i) * dim, dim).squaredNorm();
    });
    return out;
}

/** Calls visit(i, partial) for every row i < n of `rows`, where partial[c] = |centroid c|^2 - 2 row.centroid c (the
 *  squared distance less |row|^2, which does not change a row's ranking of the centroids). Parallel over fixed
 *  blocks of rows, so that each value is computed the same way whatever the number of threads. */
template <typename Visit>
void centroidDistances(const float* rows, int n, const Mat& centroids, const std::vector<float>& centroidNormsSq,
                       Visit&& visit)
{
    const int dim = centroids.cols, cells = centroids.rows;
    const int blocks = (n + kRowBlock - 1) / kRowBlock;
    tbb::parallel_for(tbb::blocked_range<int>(0, blocks, 1), [&](const tbb::blocked_range<int>& range) {
        std::vector<float> products(static_cast<size_t>(kRowBlock) * cells);
        for (int blk = range.begin(); blk < range.end(); ++blk)
        {
            const int i0 = blk * kRowBlock, count = std::min(kRowBlock, n - i0);
            dotProducts(rows + static_cast<size_t>(i0) * dim, count, dim, centroids.ptr<float>(), cells, dim, dim,
                        products.data(), cells);
            for (int i = 0; i < count; ++i)
            {
                float* d = products.data() + static_cast<size_t>(i) * cells;
                for (int c = 0; c < cells; ++c)
                    d[c] = centroidNormsSq[c] - 2.f * d[c];
                visit(i0 + i, static_cast<const float*>(d));
            }
        }
    });
}

/** Nearest centroid of every row (ties: the lower cell), and the partial distance to it. */
void assignRows(const float* rows, int n, const Mat& centroids, const std::vector<float>& centroidNormsSq,
                std::vector<int>& cell, std::vector<float>* partial = nullptr)
{
    cell.resize(n);
    if (partial)
        partial->resize(n);
    centroidDistances(rows, n, centroids, centroidNormsSq, [&](int i, const float* d) {
        const int best = static_cast<int>(std::min_element(d, d + centroids.rows) - d);
        cell[i] = best;
        if (partial)
            (*partial)[i] = d[best];
    });
}

/** Rows grouped by cell, in row order within a cell: cell c holds order[start[c] .. start[c + 1]). */
void groupByCell(const std::vector<int>& cell, int cells, std::vector<int>& start, std::vector<int>& order)
{
    start.assign(cells + 1, 0);
    for (int c : cell)
        ++start[c + 1];
    std::partial_sum(start.begin(), start.end(), start.begin());
    std::vector<int> next(start.begin(), start.end() - 1);
    order.resize(cell.size());
    for (size_t i = 0; i < cell.size(); ++i)
        order[next[cell[i]]++] = static_cast<int>(i);
}

/** k-means++ seeding (each next centre drawn with probability proportional to the squared distance to the nearest
 *  centre so far) over the first `seedRows` rows of `train`. With fewer distinct rows than cells, the remaining
 *  centres repeat rows (their cells stay empty). */
Mat seedCentroids(const Mat& train, int seedRows, int cells, RNG& rng)
{
    const int dim = train.cols;
    Mat centroids(cells, dim, CV_32F);
    std::vector<float> nearest(seedRows, INFINITY), toNew(seedRows);
    std::vector<int> all(seedRows);
    std::iota(all.begin(), all.end(), 0);
    int chosen = rng.uniform(0, seedRows);
    for (int c = 0; c < cells; ++c)
    {
        train.row(chosen).copyTo(centroids.row(c));
        if (c + 1 == cells)
            break;
        // Fixed chunks: the kernel's grouping of rows, hence every value, does not depend on the threads.
        tbb::parallel_for(0, (seedRows + 255) / 256, [&](int chunk) {
            const int from = chunk * 256, count = std::min(256, seedRows - from);
            distancesSqToRows(train.ptr<float>(), dim, all.data() + from, count, centroids.ptr<float>(c),
                              toNew.data() + from);
            for (int i = from; i < from + count; ++i)
                nearest[i] = std::min(nearest[i], toNew[i]);
        });
        const double total = std::accumulate(nearest.begin(), nearest.end(), 0.0);
        if (!(total > 0))
        {
            chosen = (chosen + 1) % seedRows;
            continue;
        }
        double target = rng.uniform(0., total), sum = 0;
        chosen = seedRows - 1;
        for (int i = 0; i < seedRows; ++i)
            if ((sum += nearest[i]) > target && nearest[i] > 0)
            {
                chosen = i;
                break;
            }
    }
    return centroids;
}

/** Lloyd iterations over `train`. An emptied cell takes the training row farthest from its centre (one per cell), so
 *  that every cell keeps a share of the data. */
void refineCentroids(const Mat& train, Mat& centroids, std::vector<float>& centroidNormsSq)
{
    const int dim = train.cols, cells = centroids.rows;
    const std::vector<float> trainNormsSq = squaredNorms(train.ptr<float>(), train.rows, dim);
    std::vector<int> cell, start, order;
    std::vector<float> partial;
    for (int it = 0; it < kLloydIterations; ++it)
    {
        assignRows(train.ptr<float>(), train.rows, centroids, centroidNormsSq, cell, &partial);
        groupByCell(cell, cells, start, order);
        tbb::parallel_for(0, cells, [&](int c) {
            if (start[c] == start[c + 1])
                return;
            std::vector<double> sum(dim, 0.0);
            for (int j = start[c]; j < start[c + 1]; ++j)
            {
                const float* x = train.ptr<float>(order[j]);
                for (int d = 0; d < dim; ++d)
                    sum[d] += x[d];
            }
            float* out = centroids.ptr<float>(c);
            for (int d = 0; d < dim; ++d)
                out[d] = static_cast<float>(sum[d] / (start[c + 1] - start[c]));
        });
        std::vector<int> farthest(train.rows);
        std::iota(farthest.begin(), farthest.end(), 0);
        auto farther = [&](int a, int b) {
            const float da = trainNormsSq[a] + partial[a], db = trainNormsSq[b] + partial[b];
            return da > db || (da == db && a < b);
        };
        int next = 0;
        for (int c = 0; c < cells; ++c)
            if (start[c] == start[c + 1] && next < train.rows)
            {
                std::nth_element(farthest.begin() + next, farthest.begin() + next, farthest.end(), farther);
                train.row(farthest[next++]).copyTo(centroids.row(c));
            }
        centroidNormsSq = squaredNorms(centroids.ptr<float>(), cells, dim);
    }
}

// A screened candidate: GEMM-form distance and row of the permuted bank.
struct Candidate
{
    float distance;
    int row;
};

} // namespace

IvfIndex::IvfIndex(int cells, int probes, uint64 seed, Screening screening)
    : cellsWanted_(cells), probesWanted_(probes), seed_(seed), screening_(screening)
{
    if (cells < 0 || probes < 0)
        PATCHCORE_ERROR(Error::StsBadArg, "IvfIndex cells and probes must be >= 0 (0 chooses them from the bank)");
}

int IvfIndex::autoCells(int bankRows)
{
    return std::max(1, std::min(bankRows, cvRound(std::sqrt(static_cast<double>(bankRows)))));
}

int IvfIndex::autoProbes(int cells)
{
    return std::min(cells, std::max(kMinProbes, cvRound(cells * kProbedFraction)));
}

void IvfIndex::setProbes(int probes)
{
    if (probes < 1)
        PATCHCORE_ERROR(Error::StsBadArg, "IvfIndex::setProbes() needs at least 1 probe");
    probesWanted_ = probes;
    probesUsed_ = std::min(std::max(1, cells()), probes);
}

std::string IvfIndex::describe() const
{
    return "IVF: " + std::to_string(cells()) + " cells, " + std::to_string(probes()) + " probed" +
           (!projected_.empty() ? ", projected-screened" : screen_.empty() ? "" : ", bf16-screened");
}

void IvfIndex::setBank(const Mat& bank)
{
    if (bank.empty() || bank.type() != CV_32F || !bank.isContinuous())
        PATCHCORE_ERROR(Error::StsBadArg, "the IVF index needs a non-empty, continuous CV_32F bank (N x D)");
    if (!checkRange(bank))
        PATCHCORE_ERROR(Error::StsBadArg, "the bank holds NaN or Inf values; check the backbone model and the "
                                          "training images");
    const int n = bank.rows, dim = bank.cols;
    const int cells = std::min(n, cellsWanted_ > 0 ? cellsWanted_ : autoCells(n));
    probesUsed_ = std::min(cells, probesWanted_ > 0 ? probesWanted_ : autoProbes(cells));

    // Training rows: a random sample (a partial Fisher-Yates shuffle, so the seeding rows are random too).
    RNG rng(seed_ ? seed_ : 0x1f0dbe7ULL);
    const int trainRows = std::min(n, kTrainRowsPerCell * cells);
    std::vector<int> rows(n);
    std::iota(rows.begin(), rows.end(), 0);
    for (int i = 0; i < trainRows; ++i)
        std::swap(rows[i], rows[i + rng.uniform(0, n - i)]);
    Mat train(trainRows, dim, CV_32F);
    tbb::parallel_for(0, trainRows, [&](int i) { bank.row(rows[i]).copyTo(train.row(i)); });

    centroids_ = seedCentroids(train, std::min(trainRows, kSeedRowsPerCell * cells), cells, rng);
    centroidNormsSq_ = squaredNorms(centroids_.ptr<float>(), cells, dim);
    refineCentroids(train, centroids_, centroidNormsSq_);

    std::vector<int> cell;
    assignRows(bank.ptr<float>(), n, centroids_, centroidNormsSq_, cell);
    groupByCell(cell, cells, cellStart_, rowIds_);
    permuted_.create(n, dim, CV_32F);
    tbb::parallel_for(0, n, [&](int i) { bank.row(rowIds_[i]).copyTo(permuted_.row(i)); });
    screen_.release();
    projected_.release();
    centroidScreen_.release();
    normsSq_.clear();
    if (screening_ != SCREEN_FP32 && Bf16Screen::available())
    {
        const bool projected = screening_ == SCREEN_PROJECTED && ProjectedScreen::available(dim);
        if (projected ? projected_.build(permuted_) : screen_.build(permuted_))
        {
            centroidScreen_.build(centroids_);
            return; // the screens keep their own norms
        }
    }
    normsSq_ = squaredNorms(permuted_.ptr<float>(), n, dim);
}

std::vector<int> IvfIndex::cellsToProbe(const float* centroidDistance, int probesWanted, int capacity) const
{
    std::vector<std::pair<float, int>> order;
    order.reserve(cells());
    for (int c = 0; c < cells(); ++c)
        if (cellSize(c) > 0)
            order.emplace_back(centroidDistance[c], c);
    const size_t probes = std::min(order.size(), static_cast<size_t>(probesWanted));
    std::partial_sort(order.begin(), order.begin() + probes, order.end());
    std::vector<int> out;
    int rows = 0;
    for (size_t i = 0; i < order.size(); ++i)
    {
        // The probed cells must hold at least `capacity` rows for k results: beyond `probes`, take the next nearest
        // cells until they do (small cells, or k close to the bank's size).
        if (i >= probes && rows >= capacity)
            break;
        if (i == probes)
            std::sort(order.begin() + i, order.end());
        out.push_back(order[i].second);
        rows += cellSize(order[i].second);
    }
    return out;
}

void IvfIndex::knn(const Mat& queries, int k, Mat& distSq, Mat& indices) const
{
    search(queries, k, probesUsed_, distSq, indices);
}

void IvfIndex::knnExact(const Mat& queries, int k, Mat& distSq, Mat& indices) const
{
    search(queries, k, cells(), distSq, indices);
}

void IvfIndex::search(const Mat& queries, int k, int probes, Mat& distSq, Mat& indices) const
{
    if (permuted_.empty())
        PATCHCORE_ERROR(Error::StsError, "the IVF index has no bank; call setBank() before knn()");
    const int n = permuted_.rows, dim = permuted_.cols;
    if (queries.type() != CV_32F || !queries.isContinuous() || queries.cols != dim)
        PATCHCORE_ERROR(Error::StsBadArg, "IVF queries must be continuous CV_32F rows of the bank's dimension (" +
                                              std::to_string(dim) + ")");
    if (k < 1 || k > n)
        PATCHCORE_ERROR(Error::StsBadArg,
                        "k must be in [1, bank rows = " + std::to_string(n) + "], got " + std::to_string(k));
    const int m = queries.rows, capacity = std::min(n, k + kExtraCandidates);
    const float* q = queries.ptr<float>();

    // The cells come from bf16 dot products where the rows are screened in bf16 anyway: a near tie between two
    // cells may go the other way than in fp32, which changes which rows are probed, never a reported distance.
    std::vector<std::vector<int>> probed(m);
    const auto choose = [&](int i, const float* d) { probed[i] = cellsToProbe(d, probes, capacity); };
    if (!centroidScreen_.empty())
        centroidScreen_.partialDistances(queries, choose);
    else
        centroidDistances(q, m, centroids_, centroidNormsSq_, choose);

    if (!projected_.empty())
        return projected_.knnInCells(queries, permuted_, k, probed, cellStart_, rowIds_.data(), distSq, indices);
    if (!screen_.empty())
    {
        // Each query's nearest cell goes first (it sets the query's screening bound), the others by cell.
        const Bf16Screen::CellProbes lists = Bf16Screen::CellProbes::of(probed, {}, cellStart_);
        screen_.knnInCells(queries, permuted_, k, lists, rowIds_.data(), distSq, indices);
        return;
    }

    const std::vector<float> queryNormsSq = squaredNorms(q, m, dim);
    // One slot per (query, probed cell) holds that cell's best candidates for the query; the slots of a cell are
    // listed by cell so that each probed cell is read once, for all the queries that probe it.
    std::vector<int> slotStart(m + 1, 0), byCellStart(cells() + 1, 0);
    for (int i = 0; i < m; ++i)
    {
        slotStart[i + 1] = slotStart[i] + static_cast<int>(probed[i].size());
        for (int c : probed[i])
            ++byCellStart[c + 1];
    }
    std::partial_sum(byCellStart.begin(), byCellStart.end(), byCellStart.begin());
    std::vector<int> bySlot(slotStart[m]), slotQuery(slotStart[m]), next(byCellStart.begin(), byCellStart.end() - 1);
    for (int i = 0; i < m; ++i)
        for (size_t j = 0; j < probed[i].size(); ++j)
        {
            bySlot[next[probed[i][j]]++] = slotStart[i] + static_cast<int>(j);
            slotQuery[slotStart[i] + j] = i;
        }

    // Ties by the caller's row, as the exact search breaks them.
    auto less = [&](const Candidate& a, const Candidate& b) {
        return a.distance < b.distance || (a.distance == b.distance && rowIds_[a.row] < rowIds_[b.row]);
    };
    std::vector<Candidate> slots(static_cast<size_t>(slotStart[m]) * capacity);
    std::vector<int> filled(slotStart[m], 0);
    tbb::parallel_for(0, cells(), [&](int c) {
        const int first = byCellStart[c], count = byCellStart[c + 1] - first;
        if (count == 0)
            return;
        std::vector<float> gathered(static_cast<size_t>(count) * dim);
        std::vector<float> products(static_cast<size_t>(kRowBlock) * kCellBlock);
        for (int s = 0; s < count; ++s)
            std::copy(q + static_cast<size_t>(slotQuery[bySlot[first + s]]) * dim,
                      q + static_cast<size_t>(slotQuery[bySlot[first + s]] + 1) * dim,
                      gathered.begin() + static_cast<size_t>(s) * dim);
        for (int j0 = cellStart_[c]; j0 < cellStart_[c + 1]; j0 += kCellBlock)
        {
            const int cols = std::min(kCellBlock, cellStart_[c + 1] - j0);
            for (int s0 = 0; s0 < count; s0 += kRowBlock)
            {
                const int rows = std::min(kRowBlock, count - s0);
                dotProducts(gathered.data() + static_cast<size_t>(s0) * dim, rows, dim, permuted_.ptr<float>(j0), cols,
                            dim, dim, products.data(), kCellBlock);
                for (int s = 0; s < rows; ++s)
                {
                    const int slot = bySlot[first + s0 + s];
                    Candidate* list = slots.data() + static_cast<size_t>(slot) * capacity;
                    int& size = filled[slot];
                    const float qn = queryNormsSq[slotQuery[slot]];
                    const float* dot = products.data() + static_cast<size_t>(s) * kCellBlock;
                    for (int j = 0; j < cols; ++j)
                    {
                        const Candidate cand{qn + normsSq_[j0 + j] - 2.f * dot[j], j0 + j};
                        if (size == capacity && !less(cand, list[size - 1]))
                            continue;
                        // Sorted insertion: the list is short (k + a few).
                        const int at = static_cast<int>(std::upper_bound(list, list + size, cand, less) - list);
                        const int last = std::min(size, capacity - 1);
                        std::copy_backward(list + at, list + last, list + last + 1);
                        list[at] = cand;
                        size = std::min(size + 1, capacity);
                    }
                }
            }
        }
    });

    distSq.create(m, k, CV_32F);
    indices.create(m, k, CV_32S);
    tbb::parallel_for(0, m, [&](int i) {
        std::vector<Candidate> all;
        for (int slot = slotStart[i]; slot < slotStart[i + 1]; ++slot)
            all.insert(all.end(), slots.begin() + static_cast<size_t>(slot) * capacity,
                       slots.begin() + static_cast<size_t>(slot) * capacity + filled[slot]);
        const size_t keep = std::min(all.size(), static_cast<size_t>(capacity));
        std::partial_sort(all.begin(), all.begin() + keep, all.end(), less);
        std::vector<std::pair<double, int>> exact;
        exact.reserve(keep);
        for (size_t j = 0; j < keep; ++j)
            exact.emplace_back(exactDistanceSq(q + static_cast<size_t>(i) * dim, permuted_.ptr<float>(all[j].row), dim),
                               rowIds_[all[j].row]);
        keepNearest(exact, k, i, distSq, indices);
    });
}

} // namespace detail
} // namespace patchcore
} // namespace cv
