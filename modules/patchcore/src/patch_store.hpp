// Where training keeps its patch vectors until the coreset is known: in memory, or on disk under a memory budget.
#ifndef OPENCV_PATCHCORE_PATCH_STORE_HPP
#define OPENCV_PATCHCORE_PATCH_STORE_HPP

#include "precomp.hpp"

#include <cstdio>
#include <memory>

namespace cv {
namespace patchcore {
namespace detail {

/** Collects training patch vectors (rows of `dim` floats). When a random projection is given, each appended row is
 *  also projected on the fly, which is all that greedy selection reads; the full vectors are then only needed for
 *  the selected rows and may live in an anonymous temporary file instead of memory (spill mode). */
class PatchStore
{
public:
    /** `projection`: D x d CV_32F or empty. `spill`: keep full vectors on disk (requires a projection or a
     *  selection that does not read them). */
    PatchStore(int dim, const Mat& projection, bool spill);
    ~PatchStore();
    PatchStore(const PatchStore&) = delete;
    PatchStore& operator=(const PatchStore&) = delete;

    /** Allocates room for `rows` rows at once (the expected total), so that appending them never holds an old and a
     *  grown copy of the buffers at the same time; more rows than that still grow the buffers. */
    void reserve(double rows);
    void append(const Mat& rows);
    int rows() const { return count_; }
    bool spilled() const { return file_ != nullptr; }
    /** Projected rows (N x d), empty without a projection. */
    Mat projected() const { return projection_.empty() ? Mat() : projected_.rowRange(0, count_); }
    /** All full rows; only without spill. */
    Mat all() const;
    /** Full rows `indices` in that order. */
    Mat gather(const std::vector<int>& indices) const;

private:
    void grow(Mat& m, int needed, int cols);

    int dim_;
    Mat projection_;
    Mat full_, projected_;
    int count_ = 0;
    std::FILE* file_ = nullptr;
};

/** Memory (bytes) training needs for `rows` patch vectors of `dim` floats: in memory, and in spill mode with a
 *  projection of `projDim`, both including the final bank of `bankRows`. */
struct TrainingMemory
{
    double inMemory;
    double spilled;
};
TrainingMemory estimateTrainingMemory(double rows, int dim, int projDim, double bankRows);

} // namespace detail
} // namespace patchcore
} // namespace cv

#endif
