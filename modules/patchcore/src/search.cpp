#include "search.hpp"

#include <Eigen/Core>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

namespace cv {
namespace patchcore {
namespace detail {

namespace {

typedef Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> RowMatrix;
typedef Eigen::Map<const RowMatrix> ConstRowMap;

// Bank rows per GEMM tile and queries per task: a 64 x 2048 float tile of products stays in L2.
const int kBankTile = 2048;
const int kQueryTile = 64;
// Extra GEMM candidates re-ranked exactly: enough to absorb GEMM rounding between near-equal neighbours.
const int kExtraCandidates = 4;

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
    explicit BestList(int capacity) : capacity_(capacity) { items_.reserve(capacity + 1); }
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

double exactDistanceSq(const float* a, const float* b, int dim)
{
    double sum = 0;
    for (int j = 0; j < dim; ++j)
    {
        const double d = static_cast<double>(a[j]) - static_cast<double>(b[j]);
        sum += d * d;
    }
    return sum;
}

} // namespace

void ExactSearch::setBank(const Mat& bank)
{
    CV_Assert(!bank.empty() && bank.type() == CV_32F && bank.isContinuous());
    bank_ = bank;
    bankNormsSq_.resize(bank.rows);
    const ConstRowMap b(bank.ptr<float>(), bank.rows, bank.cols);
    tbb::parallel_for(0, bank.rows, [&](int i) { bankNormsSq_[i] = b.row(i).squaredNorm(); });
}

void ExactSearch::knn(const Mat& queries, int k, Mat& distSq, Mat& indices) const
{
    CV_Assert(!bank_.empty());
    CV_Assert(queries.type() == CV_32F && queries.isContinuous() && queries.cols == bank_.cols);
    CV_Assert(k >= 1 && k <= bank_.rows);
    const int m = queries.rows, n = bank_.rows, dim = bank_.cols;
    const int capacity = std::min(n, k + kExtraCandidates);
    distSq.create(m, k, CV_32F);
    indices.create(m, k, CV_32S);
    const ConstRowMap q(queries.ptr<float>(), m, dim);
    const ConstRowMap b(bank_.ptr<float>(), n, dim);

    tbb::parallel_for(tbb::blocked_range<int>(0, m, kQueryTile), [&](const tbb::blocked_range<int>& r) {
        const int rows = r.end() - r.begin();
        std::vector<BestList> best(rows, BestList(capacity));
        Eigen::VectorXf queryNormsSq = q.middleRows(r.begin(), rows).rowwise().squaredNorm();
        RowMatrix products;
        for (int start = 0; start < n; start += kBankTile)
        {
            const int cols = std::min(kBankTile, n - start);
            products.noalias() = q.middleRows(r.begin(), rows) * b.middleRows(start, cols).transpose();
            for (int i = 0; i < rows; ++i)
            {
                const float* dot = products.row(i).data();
                BestList& list = best[i];
                float worst = list.worst();
                for (int j = 0; j < cols; ++j)
                {
                    const float d = queryNormsSq[i] + bankNormsSq_[start + j] - 2.f * dot[j];
                    if (d < worst)
                    {
                        list.push(d, start + j);
                        worst = list.worst();
                    }
                }
            }
        }
        for (int i = 0; i < rows; ++i)
        {
            const int qi = r.begin() + i;
            std::vector<Candidate>& items = best[i].items();
            std::vector<std::pair<double, int>> exact;
            exact.reserve(items.size());
            for (const Candidate& c : items)
                exact.emplace_back(exactDistanceSq(queries.ptr<float>(qi), bank_.ptr<float>(c.index), dim), c.index);
            std::sort(exact.begin(), exact.end());
            if (static_cast<int>(exact.size()) < k)
                CV_Error(Error::StsError, "patchcore: a patch vector is not finite (NaN or Inf); check the backbone "
                                          "model and the input image");
            for (int j = 0; j < k; ++j)
            {
                distSq.at<float>(qi, j) = static_cast<float>(exact[j].first);
                indices.at<int>(qi, j) = exact[j].second;
            }
        }
    });
}

} // namespace detail
} // namespace patchcore
} // namespace cv
