#include "bank_index.hpp"
#include "cuda_dispatch.hpp"
#include "ivf_index.hpp"
#include "search.hpp"

namespace cv {
namespace patchcore {
namespace detail {

std::shared_ptr<BankIndex> createBankIndex(const Params& params, int bankRows)
{
    CV_UNUSED(bankRows);
    if (params.searchMethod == SEARCH_APPROXIMATE)
        return std::make_shared<IvfIndex>(0, 0, static_cast<uint64>(params.seed));
    if (useCuda(params.searchDevice, "search"))
        return std::make_shared<CudaSearch>();
    return std::make_shared<ExactSearch>();
}

} // namespace detail
} // namespace patchcore
} // namespace cv
