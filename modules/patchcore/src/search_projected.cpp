#include "search_projected.hpp"

#include "distance_kernels.hpp"

#include <Eigen/Dense>
#include <opencv2/core/eigen.hpp>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <numeric>

namespace cv {
namespace patchcore {
namespace detail {

namespace {

// The projection's width, and the narrowest vectors projected (4x narrower at least, or the screen's saving does not
// pay for the second step). doc/PERFORMANCE.md ("Projected screening") measures the choice.
const int kDims = 128;
const int kMinDim = 512;
// The basis: principal directions of an evenly spaced sample of the bank, by subspace iteration (power steps on
// kDims + kOversample directions, then Rayleigh-Ritz). Any orthonormal basis keeps the search exact; a better one
// only leaves fewer rows to rank in full.
const int kBasisRows = 4096;
const int kOversample = 32;
const int kPowerSteps = 4;
// Projected rows listed per query beyond k in the first round, and the factor of each further round.
const int kExtraRows = 15;
const int kGrowth = 4;
// Rows projected per block: 64 rows of 1024 floats (256 KB) stay in L2 with the basis.
const int kRowBlock = 64;
const double kUnit = 1.0 / (1 << 24); // fp32 unit roundoff

Eigen::MatrixXd toEigen(const Mat& m)
{
    Eigen::MatrixXd out;
    cv2eigen(m, out);
    return out;
}

Mat toMat(const Eigen::MatrixXd& m)
{
    Mat wide, out;
    eigen2cv(m, wide);
    wide.convertTo(out, CV_32F);
    return out;
}

// The bank's mean (1 x D) and `dims` leading principal directions as rows (dims x D), both CV_32F.
void principalBasis(const Mat& bank, int dims, Mat& mean, Mat& basisT)
{
    const int n = bank.rows, dim = bank.cols, samples = std::min(n, kBasisRows);
    const int width = std::min(dim, dims + kOversample);
    std::vector<int> rows(samples);
    for (int i = 0; i < samples; ++i)
        rows[i] = static_cast<int>(static_cast<int64>(i) * n / samples);
    std::vector<double> sum(dim, 0.0);
    for (int r : rows)
        for (int t = 0; t < dim; ++t)
            sum[t] += bank.at<float>(r, t);
    mean.create(1, dim, CV_32F);
    for (int t = 0; t < dim; ++t)
        mean.at<float>(t) = static_cast<float>(sum[t] / samples);
    Mat sample(samples, dim, CV_32F);
    for (int i = 0; i < samples; ++i)
        subtract(bank.row(rows[i]), mean, sample.row(i));
    const Mat cov = projectRows(Mat(sample.t()), sample); // unnormalised covariance, D x D

    Mat start(width, dim, CV_32F);
    RNG(0x70c2a5e1).fill(start, RNG::NORMAL, 0, 1);
    Eigen::MatrixXd q = toEigen(start).transpose(); // D x width
    for (int step = 0; step <= kPowerSteps; ++step)
    {
        Eigen::HouseholderQR<Eigen::MatrixXd> qr(q);
        q = qr.householderQ() * Eigen::MatrixXd::Identity(dim, width);
        if (step < kPowerSteps)
            q = toEigen(projectRows(cov, toMat(q)));
    }
    const Eigen::MatrixXd covQ = toEigen(projectRows(cov, toMat(q)));
    Eigen::MatrixXd small = q.transpose() * covQ;
    small = 0.5 * (small + small.transpose());
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(small); // ascending eigenvalues
    basisT = toMat(q * eig.eigenvectors().rightCols(dims).rowwise().reverse()).t();
}

} // namespace

bool ProjectedScreen::available(int dim)
{
    return Bf16Screen::available() && dim >= kMinDim;
}

int ProjectedScreen::dimsFor(int dim)
{
    return available(dim) ? kDims : 0;
}

int ProjectedScreen::extraRows()
{
    return kExtraRows;
}

void ProjectedScreen::release()
{
    mean_.release();
    basisT_.release();
    projected_.release();
    screen_.release();
    basisGainSq_ = 1;
    errorPerNorm_ = maxRowError_ = 0;
}

bool ProjectedScreen::build(const Mat& bank)
{
    release();
    CV_Assert(!bank.empty() && bank.type() == CV_32F && bank.isContinuous() && available(bank.cols));
    if (!checkRange(bank))
        return false;
    const int dim = bank.cols, dims = dimsFor(dim);
    principalBasis(bank, dims, mean_, basisT_);
    // |P^T v| <= sqrt(gain) |v| for the float basis P; each projected coordinate is an fp32 dot product of length D,
    // off by at most gamma_D sum |p_t v_t| <= gamma_D |p| |v|, after v = x - mean was rounded once (u |v|).
    const Eigen::MatrixXd b = toEigen(basisT_);
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> gain(b * b.transpose(), Eigen::EigenvaluesOnly);
    basisGainSq_ = gain.eigenvalues().maxCoeff() * (1 + 1e-9);
    const double gammaD = dim * kUnit / (1 - dim * kUnit);
    errorPerNorm_ = std::sqrt(basisGainSq_) * (gammaD * std::sqrt(static_cast<double>(dims)) + 2 * kUnit) * (1 + 1e-6);
    std::vector<double> errors;
    project(bank, projected_, &errors);
    maxRowError_ = *std::max_element(errors.begin(), errors.end());
    if (!screen_.build(projected_))
    {
        release();
        return false;
    }
    return true;
}

void ProjectedScreen::project(const Mat& rows, Mat& projected, std::vector<double>* errors) const
{
    const int m = rows.rows, dim = rows.cols, dims = basisT_.rows;
    projected.create(m, dims, CV_32F);
    if (errors)
        errors->assign(m, 0.0);
    tbb::parallel_for(0, (m + kRowBlock - 1) / kRowBlock, [&](int b) {
        const int r0 = b * kRowBlock, count = std::min(kRowBlock, m - r0);
        std::vector<float> centred(static_cast<size_t>(count) * dim);
        const Eigen::Map<const Eigen::VectorXf> mu(mean_.ptr<float>(), dim);
        for (int i = 0; i < count; ++i)
        {
            Eigen::Map<Eigen::VectorXf> v(centred.data() + static_cast<size_t>(i) * dim, dim);
            v = Eigen::Map<const Eigen::VectorXf>(rows.ptr<float>(r0 + i), dim) - mu;
            // A float sum of D squares is within gamma_D of the true one: inflated so that the bound stays above.
            if (errors)
                (*errors)[r0 + i] = errorPerNorm_ * std::sqrt(v.squaredNorm() * (1 + 2 * dim * kUnit));
        }
        dotProducts(centred.data(), count, dim, basisT_.ptr<float>(), dims, dim, dim, projected.ptr<float>(r0), dims);
    });
}

template <typename Screen>
void ProjectedScreen::search(const Mat& queries, const Mat& bank, int k, const std::vector<int>& reach,
                             const int* rowIds, Screen&& screen, Mat& distSq, Mat& indices,
                             double* fullDistancesPerQuery) const
{
    const int m = queries.rows, dim = bank.cols;
    Mat z;
    std::vector<double> zError;
    project(queries, z, &zError);
    distSq.create(m, k, CV_32F);
    indices.create(m, k, CV_32S);
    // A row whose projected distance (returned as float, rounded to nearest) is pd lies at least this far away.
    auto lowerBound = [&](float pd, int query) {
        const double lb = std::sqrt(std::max(0.0, pd * (1 - 2 * kUnit))) - zError[query] - maxRowError_;
        return lb > 0 ? lb * lb / basisGainSq_ : 0.0;
    };
    std::vector<int> pending(m), ranked(m, 0);
    std::iota(pending.begin(), pending.end(), 0);
    for (int listed = k + kExtraRows; !pending.empty(); listed = std::min(INT_MAX / kGrowth, listed) * kGrowth)
    {
        int t = listed;
        for (int qi : pending)
            t = std::min(t, reach[qi]);
        Mat zs = z;
        if (static_cast<int>(pending.size()) < m)
        {
            zs.create(static_cast<int>(pending.size()), z.cols, CV_32F);
            for (size_t p = 0; p < pending.size(); ++p)
                z.row(pending[p]).copyTo(zs.row(static_cast<int>(p)));
        }
        Mat pd, rows;
        screen(zs, pending, t, pd, rows);
        std::vector<char> settled(pending.size(), 0);
        tbb::parallel_for(0, static_cast<int>(pending.size()), [&](int p) {
            const int qi = pending[p];
            const float* q = queries.ptr<float>(qi);
            std::vector<std::pair<double, int>> exact;
            std::vector<double> best; // the k smallest full distances so far, ascending
            bool done = false;
            for (int j = 0; j < t && !done; ++j)
            {
                // Every row not yet ranked, listed or not, lies at least lowerBound(pd[j]) away.
                if (static_cast<int>(best.size()) == k && lowerBound(pd.at<float>(p, j), qi) > best.back())
                {
                    done = true;
                    break;
                }
                const int row = rows.at<int>(p, j);
                const double d = exactDistanceSq(q, bank.ptr<float>(row), dim);
                exact.emplace_back(d, rowIds ? rowIds[row] : row);
                best.insert(std::upper_bound(best.begin(), best.end(), d), d);
                if (static_cast<int>(best.size()) > k)
                    best.pop_back();
            }
            done = done || t >= reach[qi] ||
                   (static_cast<int>(best.size()) == k && lowerBound(pd.at<float>(p, t - 1), qi) > best.back());
            ranked[qi] += static_cast<int>(exact.size());
            if (done)
            {
                keepNearest(exact, k, qi, distSq, indices);
                settled[p] = 1;
            }
        });
        std::vector<int> left;
        for (size_t p = 0; p < pending.size(); ++p)
            if (!settled[p])
                left.push_back(pending[p]);
        pending.swap(left);
    }
    if (fullDistancesPerQuery)
        *fullDistancesPerQuery = m ? std::accumulate(ranked.begin(), ranked.end(), 0.0) / m : 0;
}

void ProjectedScreen::knn(const Mat& queries, const Mat& bank, int k, const int* rowIds, Mat& distSq, Mat& indices,
                          double* fullDistancesPerQuery) const
{
    CV_Assert(!empty() && bank.rows == projected_.rows && bank.cols == mean_.cols && bank.type() == CV_32F);
    CV_Assert(queries.type() == CV_32F && queries.isContinuous() && queries.cols == bank.cols);
    CV_Assert(k >= 1 && k <= bank.rows);
    const std::vector<int> reach(queries.rows, bank.rows);
    search(queries, bank, k, reach, rowIds,
           [&](const Mat& z, const std::vector<int>&, int t, Mat& pd, Mat& rows) {
               screen_.knn(z, projected_, t, pd, rows);
           },
           distSq, indices, fullDistancesPerQuery);
}

void ProjectedScreen::knnInCells(const Mat& queries, const Mat& bank, int k,
                                 const std::vector<std::vector<int>>& probed, const std::vector<int>& cellRows,
                                 const int* rowIds, Mat& distSq, Mat& indices) const
{
    CV_Assert(!empty() && bank.rows == projected_.rows && bank.cols == mean_.cols && bank.type() == CV_32F);
    CV_Assert(queries.type() == CV_32F && queries.isContinuous() && queries.cols == bank.cols);
    CV_Assert(static_cast<int>(probed.size()) == queries.rows && !cellRows.empty() && cellRows.back() == bank.rows);
    std::vector<int> reach(queries.rows, 0);
    for (int i = 0; i < queries.rows; ++i)
    {
        for (int c : probed[i])
            reach[i] += cellRows[c + 1] - cellRows[c];
        CV_Assert(reach[i] >= k);
    }
    search(queries, bank, k, reach, rowIds,
           [&](const Mat& z, const std::vector<int>& subset, int t, Mat& pd, Mat& rows) {
               const Bf16Screen::CellProbes lists = Bf16Screen::CellProbes::of(probed, subset, cellRows);
               screen_.knnInCells(z, projected_, t, lists, nullptr, pd, rows);
           },
           distSq, indices, nullptr);
}

} // namespace detail
} // namespace patchcore
} // namespace cv
