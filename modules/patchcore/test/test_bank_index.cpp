// Every BankIndex backend the factory can return, through the one brute-force comparison (bank_index_check.hpp).
#include "test_precomp.hpp"
#include "bank_index_check.hpp"

#include "cuda_dispatch.hpp"
#include "ivf_index.hpp"
#include "search.hpp"

namespace opencv_test {
namespace {

using namespace cv::patchcore::detail;

/** Clustered data, as patch features are: a few hundred centres with small spread, queries near them. */
void clusteredData(int rows, int dim, cv::Mat& bank, cv::Mat& queries)
{
    cv::RNG rng(77);
    cv::Mat centres(300, dim, CV_32F);
    rng.fill(centres, cv::RNG::NORMAL, 0, 3);
    bank.create(rows, dim, CV_32F);
    queries.create(60, dim, CV_32F);
    for (cv::Mat* m : {&bank, &queries})
        for (int r = 0; r < m->rows; ++r)
        {
            cv::Mat noise(1, dim, CV_32F);
            rng.fill(noise, cv::RNG::NORMAL, 0, 0.5);
            m->row(r) = centres.row(rng.uniform(0, centres.rows)) + noise;
        }
}

TEST(Patchcore_BankIndex, every_backend_against_brute_force)
{
    cv::Mat bank, queries;
    clusteredData(6000, 48, bank, queries);
    std::vector<std::pair<std::shared_ptr<BankIndex>, double>> backends{
        {std::make_shared<ExactSearch>(cv::patchcore::detail::SCREEN_BF16), 1.0}, // bf16-screened where available
        {std::make_shared<ExactSearch>(cv::patchcore::detail::SCREEN_FP32), 1.0}, // fp32 GEMM form
        {std::make_shared<IvfIndex>(), 0.95},                 // bf16-screened cells where the CPU has it
        {std::make_shared<IvfIndex>(0, 0, 0, cv::patchcore::detail::SCREEN_FP32), 0.95}}; // fp32 cells
    if (cudaAvailable())
        backends.push_back({std::make_shared<CudaSearch>(), 1.0});
    for (const auto& b : backends)
    {
        SCOPED_TRACE(b.first->describe());
        b.first->setBank(bank);
        EXPECT_EQ(bank.rows, b.first->size());
        for (int k : {1, 5})
        {
            const IndexComparison c = compareWithBruteForce(*b.first, bank, queries, k);
            EXPECT_TRUE(c.sortedAndValid);
            EXPECT_GE(c.recall, b.second) << "k = " << k;
            EXPECT_LE(c.maxDistanceError, 1e-6) << "returned distances are exact for the rows returned";
            if (b.second == 1.0)
                EXPECT_EQ(1.0, c.exactAgreement) << "k = " << k;
        }
    }
}

TEST(Patchcore_BankIndex, factory_follows_the_settings)
{
    cv::patchcore::Params p;
    p.searchDevice = cv::patchcore::DEVICE_CPU;
    EXPECT_EQ(cv::patchcore::SEARCH_AUTO, p.searchMethod);
    // SEARCH_AUTO: exact below 8,192 rows and in the centre crop (whose maps reproduce the reference), else IVF.
    EXPECT_NE(std::string::npos, createBankIndex(p, 8191)->describe().find("exact"));
    EXPECT_NE(std::string::npos, createBankIndex(p, 8192)->describe().find("IVF"));
    p.inputMode = cv::patchcore::INPUT_CENTER_CROP;
    EXPECT_NE(std::string::npos, createBankIndex(p, 100000)->describe().find("exact"));
    p.inputMode = cv::patchcore::INPUT_FRAME;
    EXPECT_NE(std::string::npos, createBankIndex(p, 100000)->describe().find("IVF"));
    p.searchMethod = cv::patchcore::SEARCH_EXACT;
    EXPECT_NE(std::string::npos, createBankIndex(p, 100000)->describe().find("exact"));
    p.searchDevice = cv::patchcore::DEVICE_AUTO;
    EXPECT_NE(std::string::npos, createBankIndex(p, 1000)->describe().find("exact"));
    p.searchMethod = cv::patchcore::SEARCH_APPROXIMATE;
    EXPECT_NE(std::string::npos, createBankIndex(p, 1000)->describe().find("IVF"));
    p.searchMethod = cv::patchcore::SEARCH_EXACT;
    p.searchDevice = cv::patchcore::DEVICE_CPU;
    EXPECT_EQ(std::string::npos, createBankIndex(p, 1000)->describe().find("CUDA"));
}

// The projected screen from 16,384 rows (exact) and 32,768 (IVF) where the CPU and the width allow it, not below.
TEST(Patchcore_BankIndex, factory_projects_large_banks_only)
{
    if (!cv::patchcore::detail::ProjectedScreen::available(512))
        GTEST_SKIP() << "SKIPPED: the projected screen needs AVX-512 BF16 (this CPU or PATCHCORE_SIMD has none)";
    cv::patchcore::Params p;
    p.searchDevice = cv::patchcore::DEVICE_CPU;
    const auto describe = [&](int rows) {
        cv::Mat bank(rows, 512, CV_32F);
        cv::RNG(rows).fill(bank, cv::RNG::NORMAL, 0, 1);
        const std::shared_ptr<BankIndex> index = createBankIndex(p, rows);
        index->setBank(bank);
        return index->describe();
    };
    p.searchMethod = cv::patchcore::SEARCH_EXACT;
    EXPECT_EQ("exact, bf16-screened", describe(16383));
    EXPECT_EQ("exact, projected-screened", describe(16384));
    p.searchMethod = cv::patchcore::SEARCH_APPROXIMATE;
    EXPECT_NE(std::string::npos, describe(32767).find(", bf16-screened"));
    EXPECT_NE(std::string::npos, describe(32768).find(", projected-screened"));
}

} // namespace
} // namespace opencv_test
