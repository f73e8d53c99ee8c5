#include "approximate_search.hpp"
#include "distance_kernels.hpp"

#include <nanoflann.hpp>
#include <tbb/parallel_for.h>

namespace cv {
namespace patchcore {
namespace detail {

namespace {

/** nanoflann's view of a row-major float matrix. */
struct RowCloud
{
    Mat rows;
    size_t kdtree_get_point_count() const { return static_cast<size_t>(rows.rows); }
    float kdtree_get_pt(size_t idx, size_t dim) const { return rows.ptr<float>(static_cast<int>(idx))[dim]; }
    template <class Box>
    bool kdtree_get_bbox(Box&) const
    {
        return false;
    }
};

typedef nanoflann::KDTreeSingleIndexAdaptor<nanoflann::L2_Simple_Adaptor<float, RowCloud>, RowCloud, -1, uint32_t> Tree;

const int kPcaSample = 20000;

} // namespace

struct ApproximateSearch::Index
{
    PCA pca;
    RowCloud cloud;
    std::unique_ptr<Tree> tree;
};

ApproximateSearch::ApproximateSearch(int projectionDim, int candidates)
    : projectionDim_(projectionDim), candidates_(candidates)
{
    CV_Assert(projectionDim > 0 && candidates > 0);
}

void ApproximateSearch::setBank(const Mat& bank)
{
    CV_Assert(!bank.empty() && bank.type() == CV_32F && bank.isContinuous());
    auto index = std::make_shared<Index>();
    const int dims = std::min(projectionDim_, std::min(bank.cols, bank.rows));
    // A deterministic, evenly strided sample is enough to find the leading directions of patch features.
    Mat sample = bank;
    if (bank.rows > kPcaSample)
    {
        sample.create(kPcaSample, bank.cols, CV_32F);
        for (int i = 0; i < kPcaSample; ++i)
            bank.row(static_cast<int>(static_cast<int64_t>(i) * bank.rows / kPcaSample)).copyTo(sample.row(i));
    }
    index->pca = PCA(sample, noArray(), PCA::DATA_AS_ROW, dims);
    index->cloud.rows = index->pca.project(bank);
    index->tree.reset(new Tree(dims, index->cloud, nanoflann::KDTreeSingleIndexAdaptorParams(16)));
    index->tree->buildIndex();
    bank_ = bank;
    index_ = index;
}

void ApproximateSearch::knn(const Mat& queries, int k, Mat& distSq, Mat& indices) const
{
    CV_Assert(index_ && queries.type() == CV_32F && queries.cols == bank_.cols && k >= 1 && k <= bank_.rows);
    const int m = queries.rows, dim = bank_.cols;
    const int wanted = std::min(bank_.rows, std::max(k, candidates_));
    const Mat projected = index_->pca.project(queries);
    distSq.create(m, k, CV_32F);
    indices.create(m, k, CV_32S);
    tbb::parallel_for(0, m, [&](int q) {
        std::vector<uint32_t> ids(wanted);
        std::vector<float> approx(wanted);
        nanoflann::KNNResultSet<float, uint32_t> result(static_cast<uint32_t>(wanted));
        result.init(ids.data(), approx.data());
        index_->tree->findNeighbors(result, projected.ptr<float>(q), nanoflann::SearchParams());
        std::vector<std::pair<double, int>> exact;
        exact.reserve(result.size());
        const float* query = queries.ptr<float>(q);
        for (size_t c = 0; c < result.size(); ++c)
            exact.emplace_back(exactDistanceSq(query, bank_.ptr<float>(static_cast<int>(ids[c])), dim),
                               static_cast<int>(ids[c]));
        keepNearest(exact, k, q, distSq, indices);
    });
}

} // namespace detail
} // namespace patchcore
} // namespace cv
