#include "bank_builder.hpp"
#include "cuda_dispatch.hpp"

#include <cmath>

namespace cv {
namespace patchcore {
namespace detail {

bool BankBuilder::chunked(const Params& params, double totalRows)
{
    const int chunk = effectiveChunkRows(params);
    if (params.coresetMethod != CORESET_GREEDY || chunk <= 0 || totalRows <= chunk)
        return false;
    if (params.coresetChunkRows > 0)
        return true; // chunks of the user's own size, as asked
    // The automatic setting chunks only where chunks pay: one selection is exact, and below the break-even it is
    // also the faster one (mvtec_grid's 102 k vectors: 8.6 s instead of 22 s, doc/PERFORMANCE.md). Memory does not
    // enter: the bank must not depend on a run setting, and one selection spills its full vectors to disk
    // (DetectorImpl::needsSpill) where they exceed memoryBudgetMB.
    return totalRows > composableBreakEven(chunk, bankSize(totalRows, params));
}

double BankBuilder::composableBreakEven(double chunkRows, double bankRows)
{
    // One selection: N x K distance evaluations. Composable: a chunk of c keeps kChunkOverselect x K x c / N, so the
    // chunks cost at most kChunkOverselect x K x C together, and the final selection of K among the
    // kChunkOverselect x K kept costs kChunkOverselect x K x K: kChunkOverselect x K x (C + K) in all.
    return kChunkOverselect * (chunkRows + bankRows);
}

double BankBuilder::chunkedBytes(const Params& params, double totalRows, double imageRows)
{
    const bool project = params.projectionDim > 0 && params.projectionDim < params.targetEmbedDim;
    const double rowBytes = (params.targetEmbedDim + (project ? params.projectionDim : 0)) * sizeof(float);
    const double bank = bankSize(totalRows, params);
    // The open chunk may pass its size by one image; buffers grow by 1.5x; the bank is gathered from what was kept.
    const double chunk = effectiveChunkRows(params) + imageRows;
    const double kept = std::min(totalRows, kChunkOverselect * bank + chunk);
    return (chunk + kept) * rowBytes * 1.5 + bank * params.targetEmbedDim * sizeof(float);
}

BankBuilder::BankBuilder(const Params& params, double totalRows, bool spill, const StepCallback& onStep)
    : params_(params), total_(totalRows), onStep_(onStep),
      projection_(params.coresetMethod == CORESET_GREEDY ? coresetProjection(params.targetEmbedDim, params) : Mat()),
      chunked_(chunked(params, totalRows)), bankRows_(bankSize(totalRows, params))
{
    CV_Assert(!(chunked_ && spill));
    if (chunked_)
    {
        kept_.reset(new PatchStore(params.targetEmbedDim, projection_, false));
        kept_->reserve(std::min(totalRows, kChunkOverselect * static_cast<double>(bankRows_)));
        openChunk();
    }
    else
    {
        current_.reset(new PatchStore(params.targetEmbedDim, projection_, spill));
        current_->reserve(totalRows);
    }
}

void BankBuilder::openChunk()
{
    current_.reset(new PatchStore(params_.targetEmbedDim, projection_, false));
    current_->reserve(effectiveChunkRows(params_));
}

BankBuilder::~BankBuilder() = default;

void BankBuilder::append(const Mat& rows)
{
    current_->append(rows);
    collected_ += rows.rows;
}

void BankBuilder::endImage()
{
    if (chunked_ && current_->rows() >= effectiveChunkRows(params_))
        closeChunk();
}

std::vector<int> BankBuilder::greedy(const PatchStore& store, int count, bool bank, const StepCallback& onStep) const
{
    const Mat space = store.projected().empty() ? store.all() : store.projected();
    // A chunk keeps its fixed share; only the bank's own selection stops by coverage.
    return selectCoresetProjected(space, params_, onStep, greedyKernelFor(params_.coresetDevice), count,
                                  bank ? params_.coresetCoverageStop : 0);
}

bool BankBuilder::chunkProgress(double done) const
{
    // One scale for the whole stage: the chunks' vectors, then the final selection's steps. In thousands, so that
    // streams beyond 2^31 vectors still count in an int.
    const double scale = total_ + bankRows_ > 2e9 ? 1e-3 : 1;
    return !onStep_ || onStep_(static_cast<int>(done * scale), static_cast<int>((total_ + bankRows_) * scale));
}

void BankBuilder::closeChunk()
{
    const int rows = current_->rows();
    if (rows == 0)
        return;
    const double share = std::ceil(kChunkOverselect * static_cast<double>(bankRows_) * rows / total_);
    const int keep = static_cast<int>(std::min<double>(rows, std::max(1.0, share)));
    kept_->append(current_->gather(greedy(*current_, keep, false, StepCallback())));
    closedRows_ += rows;
    ++chunks_;
    if (!chunkProgress(closedRows_))
        PATCHCORE_ERROR(Error::StsError, "coreset selection cancelled by the progress callback");
    openChunk();
}

Mat BankBuilder::finish()
{
    CV_Assert(collected_ > 0);
    if (!chunked_)
    {
        const PatchStore& store = *current_;
        return store.gather(params_.coresetMethod != CORESET_GREEDY ? selectWithoutVectors(store.rows(), params_)
                                                                    : greedy(store, 0, true, onStep_));
    }
    closeChunk();
    current_.reset();
    if (kept_->rows() <= bankRows_ && params_.coresetCoverageStop <= 0)
        return kept_->all().clone();
    const StepCallback finalSteps = [this](int done, int) { return chunkProgress(total_ + done); };
    const int count = std::min(bankRows_, kept_->rows());
    return kept_->gather(greedy(*kept_, count, true, onStep_ ? finalSteps : StepCallback()));
}

} // namespace detail
} // namespace patchcore
} // namespace cv
