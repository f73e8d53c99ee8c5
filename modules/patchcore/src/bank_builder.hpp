// Training's memory bank from the stream of patch vectors: one selection over everything (the reference's), or
// composable greedy selection over chunks of whole images, whose cost and memory grow linearly with the stream.
#ifndef OPENCV_PATCHCORE_BANK_BUILDER_HPP
#define OPENCV_PATCHCORE_BANK_BUILDER_HPP

#include "coreset.hpp"
#include "patch_store.hpp"

#include <memory>

namespace cv {
namespace patchcore {
namespace detail {

/** Collects the training vectors image by image and returns the bank the coreset settings choose.
 *
 *  Composable greedy (Params::coresetChunkRows): the images are cut into consecutive chunks of about C vectors; a
 *  chunk of c vectors keeps the greedy selection of ceil(kChunkOverselect x K x c / N) of them, where K is the final
 *  bank size and N the whole stream; the bank is the greedy selection of K over everything the chunks kept. Only
 *  one chunk and the kept vectors are in memory at a time, and the selections cost at most kChunkOverselect x K x
 *  (C + K) distance evaluations, whatever N. */
class BankBuilder
{
public:
    /** `totalRows`: what the stream will hold (known from the images' geometry before they are embedded).
     *  `spill`: keep the full vectors on disk (one-selection path; see DetectorImpl::needsSpill). */
    BankBuilder(const Params& params, double totalRows, bool spill, const StepCallback& onStep);
    ~BankBuilder();

    /** Whether `params` select in chunks for a stream of `totalRows`: above Params::coresetChunkRows when the user
     *  set it; with the automatic setting only where that costs fewer distance evaluations than one selection
     *  (composableBreakEven()). Model settings alone decide, so that a run setting never changes the bank. */
    static bool chunked(const Params& params, double totalRows);
    /** The stream length above which composable selection with chunks of `chunkRows` and a bank of `bankRows`
     *  evaluates fewer distances than one selection. */
    static double composableBreakEven(double chunkRows, double bankRows);
    /** Peak bytes of the chunked path for `totalRows`, of which the largest image gives `imageRows`. */
    static double chunkedBytes(const Params& params, double totalRows, double imageRows);

    /** Rows of the current image (one window's embedding at a time). */
    void append(const Mat& rows);
    /** The current image is complete: a chunk may end here. */
    void endImage();
    /** The bank's vectors, in selection order. */
    Mat finish();
    /** Vectors appended so far. */
    double collected() const { return collected_; }

private:
    void openChunk();
    void closeChunk();
    bool chunkProgress(double done) const;
    /** `bank`: the bank's own selection (the coverage stop applies), not a chunk's. */
    std::vector<int> greedy(const PatchStore& store, int count, bool bank, const StepCallback& onStep) const;

    const Params params_;
    const double total_;
    const StepCallback onStep_;
    const Mat projection_;
    const bool chunked_;
    const int bankRows_;
    std::unique_ptr<PatchStore> current_; // everything (one selection) or the open chunk
    std::unique_ptr<PatchStore> kept_;    // chunked: what the closed chunks kept
    double collected_ = 0, closedRows_ = 0;
    int chunks_ = 0;
};

/** How many times its share of the final bank a chunk keeps (measured, doc/RESULTS.md "Bounded bank"). */
const int kChunkOverselect = 4;

} // namespace detail
} // namespace patchcore
} // namespace cv

#endif
