#include "bank_index.hpp"
#include "cuda_dispatch.hpp"
#include "ivf_index.hpp"
#include "search.hpp"

namespace cv {
namespace patchcore {
namespace detail {

namespace {

// SEARCH_AUTO's switch to the inverted file: the bank size from which it is measured faster than the exact search
// with every metric unchanged (doc/PERFORMANCE.md, "Inverted-file index"). The centre crop stays exact, so that its
// maps reproduce the reference as well as its scores.
const int kAutoIvfMinRows = 8192;
// Bank rows from which the projected screen beats the full-width bf16 one (doc/PERFORMANCE.md, "Projected
// screening"): it adds a fixed cost per query (the projection) and saves a share of every row's screening.
const int kProjectedExactMinRows = 16384;
const int kProjectedIvfMinRows = 32768;

Screening screeningFor(int bankRows, int projectedMinRows)
{
    return bankRows >= projectedMinRows ? SCREEN_PROJECTED : SCREEN_BF16;
}

} // namespace

bool autoSearchIsIvf(const Params& params, int bankRows)
{
    return params.searchMethod == SEARCH_APPROXIMATE ||
           (params.searchMethod == SEARCH_AUTO && bankRows >= kAutoIvfMinRows && params.inputMode != INPUT_CENTER_CROP);
}

std::shared_ptr<BankIndex> createBankIndex(const Params& params, int bankRows)
{
    const auto ivf = [&] {
        return std::make_shared<IvfIndex>(0, 0, static_cast<uint64>(params.seed),
                                          screeningFor(bankRows, kProjectedIvfMinRows));
    };
    if (params.searchMethod == SEARCH_APPROXIMATE)
        return ivf();
    if (useCuda(params.searchDevice, "search"))
        return std::make_shared<CudaSearch>();
    if (autoSearchIsIvf(params, bankRows))
        return ivf();
    return std::make_shared<ExactSearch>(screeningFor(bankRows, kProjectedExactMinRows));
}

} // namespace detail
} // namespace patchcore
} // namespace cv
