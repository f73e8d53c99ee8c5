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

void ExactSearch::setBank(const Mat& bank)
{
    CV_Assert(!bank.empty() && bank.type() == CV_32F && bank.isContinuous());
    screen_.release();
    projected_.release();
    bank_ = bank;
    bankNormsSq_.clear();
    if (screening_ != SCREEN_FP32 && Bf16Screen::available())
    {
        const bool projected = screening_ == SCREEN_PROJECTED && ProjectedScreen::available(bank.cols);
        if (projected ? projected_.build(bank) : screen_.build(bank))
            return; // the screens keep their own norms
    }
    bankNormsSq_.resize(bank.rows);
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
    if (!projected_.empty()) // checks the queries and k itself
        return projected_.knn(queries, bank_, k, nullptr, distSq, indices, &candidatesPerQuery);
    if (!screen_.empty())
        return screen_.knn(queries, bank_, k, distSq, indices, &candidatesPerQuery);
    const int n = size(), dim = bank_.cols;
    CV_Assert(queries.type() == CV_32F && queries.isContinuous() && queries.cols == dim);
    CV_Assert(k >= 1 && k <= n);
    const int m = queries.rows;
    const int capacity = std::min(n, k + kExtraCandidates);
    const float* q = queries.ptr<float>();
    const float* b = bank_.ptr<float>();

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
                dotProducts(q + static_cast<size_t>(i0) * dim, rows, dim, b + offset, cols, dim, dim, products.data(),
                            kBankBlock);
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
            exact.emplace_back(exactDistanceSq(q + static_cast<size_t>(qi) * dim, b + off, dim), c.index);
        }
        keepNearest(exact, k, qi, distSq, indices);
    });
}

} // namespace detail
} // namespace patchcore
} // namespace cv
