// The one check every BankIndex backend goes through: its k nearest rows against brute force in double precision.
#ifndef OPENCV_PATCHCORE_TEST_BANK_INDEX_CHECK_HPP
#define OPENCV_PATCHCORE_TEST_BANK_INDEX_CHECK_HPP

#include "bank_index.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>
#include <vector>

namespace opencv_test {

/** What a backend's answer is worth against brute force. */
struct IndexComparison
{
    double recall = 0;            // fraction of the true k nearest rows found (1 for an exact backend)
    double exactAgreement = 0;    // fraction of queries whose k indices equal brute force's, in order
    double maxDistanceError = 0;  // largest |returned distance - exact distance of the returned row| / exact
    bool sortedAndValid = true;   // ascending distances, indices in range and distinct per query
};

inline double exactSquaredDistance(const cv::Mat& a, int i, const cv::Mat& b, int j)
{
    const float* x = a.ptr<float>(i);
    const float* y = b.ptr<float>(j);
    double s = 0;
    for (int d = 0; d < a.cols; ++d)
    {
        const double diff = static_cast<double>(x[d]) - y[d];
        s += diff * diff;
    }
    return s;
}

/** Compares `index` (its bank set to `bank`) with brute force on `queries`. */
inline IndexComparison compareWithBruteForce(const cv::patchcore::detail::BankIndex& index, const cv::Mat& bank,
                                             const cv::Mat& queries, int k)
{
    cv::Mat distSq, indices;
    index.knn(queries, k, distSq, indices);
    IndexComparison c;
    double found = 0, agreed = 0;
    for (int q = 0; q < queries.rows; ++q)
    {
        std::vector<std::pair<double, int>> all(bank.rows);
        for (int j = 0; j < bank.rows; ++j)
            all[j] = {exactSquaredDistance(queries, q, bank, j), j};
        std::partial_sort(all.begin(), all.begin() + k, all.end());
        std::set<int> truth, returned;
        bool same = true;
        for (int j = 0; j < k; ++j)
        {
            truth.insert(all[j].second);
            const int idx = indices.at<int>(q, j);
            if (idx < 0 || idx >= bank.rows || !returned.insert(idx).second ||
                (j > 0 && distSq.at<float>(q, j) < distSq.at<float>(q, j - 1)))
            {
                c.sortedAndValid = false;
                continue;
            }
            same = same && idx == all[j].second;
            const double exact = exactSquaredDistance(queries, q, bank, idx);
            c.maxDistanceError = std::max(c.maxDistanceError,
                                          std::abs(distSq.at<float>(q, j) - exact) / std::max(exact, 1e-30));
        }
        for (int idx : returned)
            found += truth.count(idx);
        agreed += same;
    }
    c.recall = found / (static_cast<double>(queries.rows) * k);
    c.exactAgreement = agreed / queries.rows;
    return c;
}

// An index whose knn() is another index's knnExact(), to put that path through the brute-force check.
class ExactPathOf : public cv::patchcore::detail::BankIndex
{
public:
    explicit ExactPathOf(const BankIndex& index) : index_(index) {}
    void setBank(const cv::Mat&) CV_OVERRIDE {}
    void knn(const cv::Mat& queries, int k, cv::Mat& distSq, cv::Mat& indices) const CV_OVERRIDE
    {
        index_.knnExact(queries, k, distSq, indices);
    }
    int size() const CV_OVERRIDE { return index_.size(); }
    std::string describe() const CV_OVERRIDE { return index_.describe() + ", exact path"; }

private:
    const BankIndex& index_;
};

} // namespace opencv_test

#endif
