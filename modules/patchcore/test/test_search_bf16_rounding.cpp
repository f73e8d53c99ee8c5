// The vectorised bf16 rounding of search queries against the scalar rounding it replaces, on the values where
// rounding is delicate: ties, carries into the exponent, denormals, infinities and NaN.
#include "test_precomp.hpp"
#include "search_bf16.hpp"
#include "search_bf16_rounding.hpp"

#include <cstring>
#include <limits>

namespace opencv_test {
namespace {

using namespace cv::patchcore::detail;

float fromBits(uint32_t u)
{
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
}

TEST(Patchcore_SearchBf16Rounding, RoundRowMatchesTheScalarRounding)
{
    if (!Bf16Screen::available())
        GTEST_SKIP() << "needs AVX-512 BF16";
    cv::RNG rng(17);
    std::vector<float> row;
    // Halfway cases (even and odd bf16 below), a carry into the exponent, bf16's smallest normal and the values
    // just below it (denormal once rounded), float denormals, zero of both signs, a large float that bf16 holds exactly.
    for (uint32_t bits : {0x3f808000u, 0x3f818000u, 0x3f7fffffu, 0x00800000u, 0x007fffffu, 0x00000001u, 0x80000000u,
                          0x00000000u, 0x7f7f0000u, 0x807fff00u})
        row.push_back(fromBits(bits));
    while (row.size() < 16 * 7 + 5) // whole vectors and a tail
        row.push_back(static_cast<float>(rng.gaussian(1.0) * std::pow(10.0, rng.uniform(-30, 30))));
    for (const int dim : {1, 15, 16, 17, static_cast<int>(row.size())})
    {
        SCOPED_TRACE(cv::format("dim %d", dim));
        std::vector<uint16_t> fast(dim), slow(dim);
        const RoundingStats a = roundRow(row.data(), dim, fast.data());
        RoundingStats b;
        for (int t = 0; t < dim; ++t)
        {
            slow[t] = toBf16(row[t]);
            b.add(row[t], slow[t]);
        }
        for (int t = 0; t < dim; ++t)
            ASSERT_EQ(fast[t], slow[t]) << "element " << t << " = " << row[t];
        EXPECT_NEAR(a.normSq, b.normSq, 1e-12 * b.normSq);
        EXPECT_NEAR(a.roundedNormSq, b.roundedNormSq, 1e-12 * b.roundedNormSq);
        EXPECT_NEAR(a.errorSq, b.errorSq, 1e-12 * b.errorSq);
    }
    // Non-finite values: the same bits, and statistics that are not finite either (the search then rejects them).
    std::vector<float> bad(20, 1.f);
    bad[3] = std::numeric_limits<float>::infinity();
    bad[18] = std::numeric_limits<float>::quiet_NaN();
    std::vector<uint16_t> fast(bad.size());
    const RoundingStats st = roundRow(bad.data(), static_cast<int>(bad.size()), fast.data());
    for (size_t t = 0; t < bad.size(); ++t)
        EXPECT_EQ(fast[t], toBf16(bad[t])) << "element " << t;
    EXPECT_FALSE(std::isfinite(st.normSq));
}

} // namespace
} // namespace opencv_test
