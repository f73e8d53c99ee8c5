// Training: the input mode, embedding into a (possibly spilled) patch store, coreset selection and the new bank.
#include "detector_impl.hpp"
#include "bank_builder.hpp"
#include "coreset.hpp"
#include "preprocess.hpp"

#include <algorithm>

#include <cmath>
#include <limits>
#include <map>
#include <memory>

namespace cv {
namespace patchcore {
namespace detail {

bool DetectorImpl::needsSpill(double rows, double imageRows, const Params& p) const
{
    if (p.memoryBudgetMB <= 0)
        return false;
    const double budget = p.memoryBudgetMB * 1024 * 1024;
    const double mib = 1024.0 * 1024.0;
    if (BankBuilder::chunked(p, rows))
    {
        const double need = BankBuilder::chunkedBytes(p, rows, imageRows);
        if (need > budget)
            PATCHCORE_ERROR(
                Error::StsNoMem,
                cv::format("composable coreset selection over %.0f patch vectors needs about %.0f MiB "
                           "(chunks of %d vectors and a bank of %d), more than memoryBudgetMB = %.0f; raise the "
                           "budget, or lower coresetChunkRows or coresetMaxSize",
                           rows, need / mib, effectiveChunkRows(p), bankSize(rows, p), p.memoryBudgetMB));
        return false;
    }
    const bool greedy = p.coresetMethod == CORESET_GREEDY;
    const bool project = greedy && p.projectionDim > 0 && p.projectionDim < p.targetEmbedDim;
    const double bankRows = p.coresetMethod == CORESET_NONE ? rows : bankSize(rows, p);
    const TrainingMemory need = estimateTrainingMemory(rows, p.targetEmbedDim, project ? p.projectionDim : 0, bankRows);
    if (need.inMemory <= budget)
        return false;
    const bool canSpill = project || p.coresetMethod == CORESET_RANDOM;
    if (canSpill && need.spilled <= budget)
        return true;
    PATCHCORE_ERROR(
        Error::StsNoMem,
        cv::format("training on these images needs about %.0f MiB (%.0f patch vectors%s), more than "
                   "memoryBudgetMB = %.0f; raise the budget, train on fewer images, or lower coresetRatio%s",
                   (canSpill ? need.spilled : need.inMemory) / mib, rows, canSpill ? ", full vectors kept on disk" : "",
                   p.memoryBudgetMB,
                   canSpill ? "" : " (greedy selection with a projection keeps the full vectors on disk)"));
}

void DetectorImpl::commitBank(const Mat& bank, Size grid)
{
    if (state_.params.k > bank.rows)
        PATCHCORE_ERROR(Error::StsBadArg, "k = " + std::to_string(state_.params.k) + " exceeds the memory bank size (" +
                                              std::to_string(bank.rows) + "); lower k or keep more of the coreset");
    std::shared_ptr<BankIndex> search = createBankIndex(state_.params, bank.rows);
    search->setBank(bank);
    state_.bank = bank;
    state_.grid = grid;
    search_ = search;
}

void DetectorImpl::train(InputArrayOfArrays imagesArg)
{
    trainFrom(ImageSource::fromMats(collectImages(imagesArg, "train()")));
}

void DetectorImpl::trainFiles(const std::vector<String>& files)
{
    trainFrom(ImageSource::fromFiles(files, "trainFiles()"));
}

void DetectorImpl::trainFrom(const ImageSource& images)
{
    // The run works with its own resolved Params; they become the detector's only when everything has succeeded.
    Params requested = state_.params;
    requested.inputMode = requestedInputMode_;
    requested.tileScale = requestedTileScale_;
    // Every image's size is needed before any work: for INPUT_AUTO, the cost check, the memory budget and k. For
    // files that means decoding each one an extra time (once; the sizes are kept).
    const std::vector<Size> sizes = images.sizes();
    Params p = resolveInputMode(requested, sizes);
    if (requested.inputMode == INPUT_AUTO && p.inputMode == INPUT_FRAME)
    {
        // One pass over the largest frame must fit where tiles at the same scale would: otherwise tiles, which run
        // one window at a time.
        const auto largest = std::max_element(sizes.begin(), sizes.end(), [](Size a, Size b) { return a.area() < b.area(); });
        if (!imageCostFits(costOf(*largest, p), p))
            p.inputMode = INPUT_TILES;
    }
    if (requested.inputMode == INPUT_AUTO)
        report("input", 1, 1,
               p.inputMode == INPUT_TILES   ? cv::format("input mode: tiles of the images scaled by %.3f", p.tileScale)
               : p.inputMode == INPUT_FRAME ? cv::format("input mode: whole frame scaled by %.3f", p.tileScale)
                                            : std::string("input mode: whole frame, aspect ratio kept"));
    ImageSource fit = images, holdout = images.subset({}, 0, 0);
    if (p.calibrationFraction > 0)
    {
        const int n = static_cast<int>(images.size());
        const int held = std::max(1, static_cast<int>(std::lround(n * p.calibrationFraction)));
        if (held >= n)
            PATCHCORE_ERROR(Error::StsBadArg, "calibrationFraction " + std::to_string(p.calibrationFraction) +
                                                  " leaves no image of " + std::to_string(n) +
                                                  " to train on; give more "
                                                  "images or a smaller fraction");
        const std::vector<int> order = randomIndices(n, n, static_cast<uint64>(p.seed) + 2);
        holdout = images.subset(order, 0, held);
        fit = images.subset(order, held, n);
    }

    // What the whole run will collect, from each image's own geometry, so that an impossible budget or k fails
    // before the backbone runs.
    double rows = 0, imageRows = 0;
    const std::vector<ImageCost> costs = checkCosts(fit, p, "train()");
    if (holdout.size() > 0)
        checkCosts(holdout, p, "train()"); // calibration runs them after the coreset: refuse them now
    std::map<std::pair<int, int>, double> careBySize; // images of one size have the same care patches
    for (const ImageCost& c : costs)
    {
        double patches = c.patches;
        if (!state_.care.empty())
        {
            const auto key = std::make_pair(c.input.width, c.input.height);
            if (!careBySize.count(key))
                careBySize[key] = carePatches(c.input, p);
            patches = careBySize[key];
        }
        rows += patches;
        imageRows = std::max(imageRows, patches);
    }
    if (rows == 0)
        PATCHCORE_ERROR(Error::StsBadArg, "train(): no patch of the training images lies in the care area "
                                          "(setCareMask()); a patch counts when its centre falls on a non-zero pixel: "
                                          "enlarge the mask's non-zero area");
    const double bankRows = p.coresetMethod == CORESET_NONE ? rows : bankSize(rows, p);
    if (p.k > bankRows)
        PATCHCORE_ERROR(Error::StsBadArg,
                        cv::format("k = %d exceeds the memory bank these images give (%.0f of "
                                   "%.0f patch vectors); lower k, raise coresetRatio or train on more "
                                   "images",
                                   p.k, bankRows, rows));
    // Greedy selection reads only the projected vectors: they are projected while embedding, so that the full
    // vectors can be spilled to disk when the memory budget asks for it, or dropped chunk by chunk.
    const bool spill = needsSpill(rows, imageRows, p);
    Mat bank;
    double collected = 0;
    Size grid;
    {
        BankBuilder builder(p, rows, spill, [this](int done, int count) { return report("coreset", done, count); });
        embedInto(fit, p, "training", [&](const ImageResult& r) {
            if (grid.area() == 0)
                grid = r.windows[0].grid;
            for (const WindowResult& w : r.windows)
            {
                const Mat rows = careEmbedding(w.embedding, w.care);
                if (!rows.empty())
                    builder.append(rows);
            }
            builder.endImage();
        });
        bank = builder.finish();
        collected = builder.collected();
    } // the collected vectors go before calibration runs
    if (p.bankFp16)
        bank = roundToFp16(bank);

    // Nothing of *this changes before every step that can fail has succeeded.
    DetectorState previous = state_;
    std::shared_ptr<BankIndex> previousSearch = search_;
    try
    {
        state_.params = p; // the resolved input mode is part of the model from here on
        commitBank(bank, grid);
        forgetThresholds(); // also the per-label ones: a new bank's scores owe nothing to the old thresholds
        if (holdout.size() > 0)
            calibrateFrom(holdout, p.imageFalseAlarmRate, p.pixelFalseAlarmRate);
    }
    catch (...)
    {
        state_ = previous;
        search_ = previousSearch;
        throw;
    }
    report("done", 1, 1, cv::format("memory bank: %d of %.0f patch vectors", bank.rows, collected));
}

} // namespace detail
} // namespace patchcore
} // namespace cv
