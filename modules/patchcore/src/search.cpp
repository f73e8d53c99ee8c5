#include "search.hpp"

#include <Eigen/Core>
#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>

namespace cv {
namespace patchcore {
namespace detail {

namespace {

struct Candidate
{
    float distance;
    int index;
    bool operator<(const Candidate& o) const { return distance < o.distance || (distance == o.distance && index < o.index); }
};

// Keeps the `capacity` best candidates, sorted ascending; insertion is cheap because capacity is small.
class BestList
{
public:
    explicit BestList(int capacity = 1) : capacity_(capacity) { items_.reserve(capacity + 1); }
    float worst() const { return static_cast<int>(items_.size()) < capacity_ ? INFINITY : items_.back().distance; }
    void push(float d, int i)
    {
        Candidate c{d, i};
        if (static_cast<int>(items_.size()) == capacity_ && !(c < items_.back()))
            return;
        items_.insert(std::upper_bound(items_.begin(), items_.end(), c), c);
        if (static_cast<int>(items_.size()) > capacity_)
            items_.pop_back();
    }
    std::vector<Candidate>& items() { return items_; }

private:
    int capacity_;
    std::vector<Candidate> items_;
};

// Bank rows per task: 128 rows of 1024 floats (512 KB) stay in a core's L2 while every query passes over them.
const int kBankBlock = 128;
// Queries per product buffer: 64 x 128 floats (32 KB).
const int kQueryBlock = 64;
// Extra GEMM candidates re-ranked exactly: enough to absorb GEMM rounding between near-equal neighbours.
const int kExtraCandidates = 4;

} // namespace

void ExactSearch::setBank(const Mat& bank, bool fp16, bool bf16Screening)
{
    CV_Assert(!bank.empty() && bank.type() == CV_32F && bank.isContinuous());
    screen_.release();
    bankNormsSq_.resize(bank.rows);
    if (fp16 && bf16Screening && Bf16Screen::available())
    {
        // Screening needs the values in fp32 for its ranking, so the fp16 copy would only add memory: search the
        // rounded values in fp32 form (shared when the caller already rounded them, as the detector does).
        Mat half, rounded;
        bank.convertTo(half, CV_16F);
        half.convertTo(rounded, CV_32F);
        if (norm(rounded, bank, NORM_INF) == 0)
            rounded = bank;
        if (screen_.build(rounded))
        {
            bank_ = rounded;
            bankHalf_.release();
            bankNormsSq_.clear();
            return;
        }
    }
    if (fp16)
    {
        bank.convertTo(bankHalf_, CV_16F);
        bank_.release();
        // Norms of the stored (rounded) vectors, so that the GEMM-form distances estimate the stored ones.
        tbb::parallel_for(0, bank.rows, [&](int i) {
            Mat row;
            bankHalf_.row(i).convertTo(row, CV_32F);
            bankNormsSq_[i] = static_cast<float>(row.dot(row));
        });
        return;
    }
    bank_ = bank;
    bankHalf_.release();
    if (bf16Screening && Bf16Screen::available() && screen_.build(bank))
    {
        bankNormsSq_.clear(); // the screen keeps its own
        return;
    }
    tbb::parallel_for(0, bank.rows, [&](int i) {
        bankNormsSq_[i] = Eigen::Map<const Eigen::VectorXf>(bank.ptr<float>(i), bank.cols).squaredNorm();
    });
}

void ExactSearch::knn(const Mat& queries, int k, Mat& distSq, Mat& indices) const
{
    double unused = 0;
    knn(queries, k, distSq, indices, unused);
}

void ExactSearch::knn(const Mat& queries, int k, Mat& distSq, Mat& indices, double& candidatesPerQuery) const
{
    CV_Assert(!empty());
    candidatesPerQuery = 0;
    if (!screen_.empty()) // checks the queries and k itself
        return screen_.knn(queries, bank_, k, distSq, indices, &candidatesPerQuery);
    const bool half = isFp16();
    const int n = size(), dim = half ? bankHalf_.cols : bank_.cols;
    CV_Assert(queries.type() == CV_32F && queries.isContinuous() && queries.cols == dim);
    CV_Assert(k >= 1 && k <= n);
    const int m = queries.rows;
    const int capacity = std::min(n, k + kExtraCandidates);
    const float* q = queries.ptr<float>();
    const float* b = half ? nullptr : bank_.ptr<float>();
    const ushort* bh = half ? bankHalf_.ptr<ushort>() : nullptr;

    std::vector<float> queryNormsSq(m);
    for (int i = 0; i < m; ++i)
        queryNormsSq[i] = Eigen::Map<const Eigen::VectorXf>(q + static_cast<size_t>(i) * dim, dim).squaredNorm();

    // Parallel over blocks of the bank: each block is read from memory once and reused by every query from L2, which
    // matters when the bank (up to hundreds of MB) is far larger than the caches; the queries (3 MB) stay in L3.
    tbb::enumerable_thread_specific<std::vector<BestList>> perThread(
        [&] { return std::vector<BestList>(m, BestList(capacity)); });
    const int blocks = (n + kBankBlock - 1) / kBankBlock;
    tbb::parallel_for(tbb::blocked_range<int>(0, blocks, 1), [&](const tbb::blocked_range<int>& range) {
        std::vector<BestList>& best = perThread.local();
        std::vector<float> products(static_cast<size_t>(kQueryBlock) * kBankBlock);
        for (int blk = range.begin(); blk < range.end(); ++blk)
        {
            const int j0 = blk * kBankBlock, cols = std::min(kBankBlock, n - j0);
            const size_t offset = static_cast<size_t>(j0) * dim;
            for (int i0 = 0; i0 < m; i0 += kQueryBlock)
            {
                const int rows = std::min(kQueryBlock, m - i0);
                dotProducts(q + static_cast<size_t>(i0) * dim, rows, dim, half ? nullptr : b + offset,
                            half ? bh + offset : nullptr, cols, dim, dim, products.data(), kBankBlock);
                for (int i = 0; i < rows; ++i)
                {
                    const float* dot = products.data() + static_cast<size_t>(i) * kBankBlock;
                    const float qn = queryNormsSq[i0 + i];
                    BestList& list = best[i0 + i];
                    float worst = list.worst();
                    for (int j = 0; j < cols; ++j)
                    {
                        const float d = qn + bankNormsSq_[j0 + j] - 2.f * dot[j];
                        if (d < worst)
                        {
                            list.push(d, j0 + j);
                            worst = list.worst();
                        }
                    }
                }
            }
        }
    });

    distSq.create(m, k, CV_32F);
    indices.create(m, k, CV_32S);
    tbb::parallel_for(0, m, [&](int qi) {
        BestList merged(capacity);
        for (std::vector<BestList>& lists : perThread)
            for (const Candidate& c : lists[qi].items())
                merged.push(c.distance, c.index);
        std::vector<std::pair<double, int>> exact;
        exact.reserve(merged.items().size());
        for (const Candidate& c : merged.items())
        {
            const size_t off = static_cast<size_t>(c.index) * dim;
            exact.emplace_back(exactDistanceSq(q + static_cast<size_t>(qi) * dim, half ? nullptr : b + off,
                                               half ? bh + off : nullptr, dim),
                               c.index);
        }
        keepNearest(exact, k, qi, distSq, indices);
    });
}

} // namespace detail
} // namespace patchcore
} // namespace cv
