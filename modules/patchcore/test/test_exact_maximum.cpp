// makeMaximumExact: the exact maximum of values known as upper bounds, against the maximum of the exact values.
#include "test_precomp.hpp"
#include "exact_maximum.hpp"

namespace opencv_test {
namespace {

using cv::patchcore::detail::makeMaximumExact;

// Re-scores from a table of exact values and records what was asked.
struct Table
{
    std::vector<float> exact;
    std::vector<int> asked;
    void operator()(const std::vector<int>& which, std::vector<float>& out)
    {
        for (size_t i = 0; i < which.size(); ++i)
        {
            out[i] = exact[which[i]];
            asked.push_back(which[i]);
        }
    }
};

TEST(Patchcore_ExactMaximum, HandCheckedCase)
{
    // Bounds 9, 8, 7, 3; exact 5, 6, 7, 3: after 9 -> 5 and 8 -> 6 the next bound 7 is not below 6, so 7 is
    // re-scored too (exact 7, the maximum); then 3 < 7 stops the search.
    std::vector<float> bounds{9, 3, 8, 7};
    Table t{{5, 3, 6, 7}, {}};
    EXPECT_EQ(3u, makeMaximumExact(bounds, 1, std::ref(t)));
    EXPECT_EQ((std::vector<int>{0, 2, 3}), t.asked);
    EXPECT_EQ((std::vector<float>{5, 3, 6, 7}), bounds);
}

TEST(Patchcore_ExactMaximum, TieAtTheMaximumGoesToTheFirstIndex)
{
    // Entry 2 is exact at 4 and entry 0's bound is 4 too: it must be re-scored, because its exact value may also be 4
    // at a lower index, which is the patch the exact search reports.
    std::vector<float> bounds{4, 1, 5};
    Table t{{4, 1, 4}, {}};
    makeMaximumExact(bounds, 1, std::ref(t));
    EXPECT_EQ((std::vector<int>{2, 0}), t.asked);
    EXPECT_EQ(0, std::max_element(bounds.begin(), bounds.end()) - bounds.begin());
}

TEST(Patchcore_ExactMaximum, RandomBoundsGiveTheExactMaximum)
{
    cv::RNG rng(5);
    for (int trial = 0; trial < 200; ++trial)
    {
        const int n = rng.uniform(1, 300);
        Table t;
        std::vector<float> bounds(n);
        for (int i = 0; i < n; ++i)
        {
            t.exact.push_back(static_cast<float>(rng.uniform(0, 20))); // integers: ties are common
            // Most bounds are tight, as most patches' neighbours are found; some are loose.
            bounds[i] = t.exact[i] + (rng.uniform(0., 1.) < 0.2 ? static_cast<float>(rng.uniform(0, 10)) : 0.f);
        }
        const size_t done = makeMaximumExact(bounds, rng.uniform(1, 9), std::ref(t));
        const auto trueMax = std::max_element(t.exact.begin(), t.exact.end());
        const auto gotMax = std::max_element(bounds.begin(), bounds.end());
        ASSERT_EQ(*trueMax, *gotMax) << "trial " << trial;
        ASSERT_EQ(trueMax - t.exact.begin(), gotMax - bounds.begin()) << "trial " << trial << ": first index";
        ASSERT_LE(done, static_cast<size_t>(n));
        for (int i = 0; i < n; ++i)
            ASSERT_GE(bounds[i], t.exact[i]); // re-scored entries exact, the others still bounds
    }
}

} // namespace
} // namespace opencv_test
