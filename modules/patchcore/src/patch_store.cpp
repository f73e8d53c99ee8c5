#include "patch_store.hpp"
#include "coreset.hpp"

#include <limits>

namespace cv {
namespace patchcore {
namespace detail {

PatchStore::PatchStore(int dim, const Mat& projection, bool spill) : dim_(dim), projection_(projection)
{
    CV_Assert(dim > 0 && (projection.empty() || projection.rows == dim));
    if (spill)
    {
        // tmpfile() is unlinked at creation: nothing is left behind, whatever happens to the process.
        file_ = std::tmpfile();
        if (!file_)
            PATCHCORE_ERROR(Error::StsError, "cannot create a temporary file to hold the training patch vectors "
                                             "under the memory budget; check the free space of the temporary folder");
    }
}

PatchStore::~PatchStore()
{
    if (file_)
        std::fclose(file_);
}

void PatchStore::grow(Mat& m, int needed, int cols)
{
    if (needed <= m.rows)
        return;
    const double want = std::max<double>(needed, m.rows * 1.5);
    Mat bigger(static_cast<int>(std::min<double>(want, std::numeric_limits<int>::max())), cols, CV_32F);
    if (count_ > 0)
        m.rowRange(0, count_).copyTo(bigger.rowRange(0, count_));
    m = bigger;
}

void PatchStore::reserve(double rows)
{
    const int n = static_cast<int>(std::min<double>(rows, std::numeric_limits<int>::max()));
    if (!projection_.empty())
        grow(projected_, n, projection_.cols);
    if (!file_)
        grow(full_, n, dim_);
}

void PatchStore::append(const Mat& rows)
{
    CV_Assert(rows.type() == CV_32F && rows.cols == dim_ && rows.isContinuous());
    const double needed = static_cast<double>(count_) + rows.rows;
    if (needed > std::numeric_limits<int>::max())
        PATCHCORE_ERROR(Error::StsNoMem, "the training images give more than 2^31 patch vectors, more than one "
                                         "bank can index; train on fewer images or a smaller working frame");
    if (!projection_.empty())
    {
        grow(projected_, static_cast<int>(needed), projection_.cols);
        projectRows(rows, projection_).copyTo(projected_.rowRange(count_, count_ + rows.rows));
    }
    if (file_)
    {
        const size_t n = rows.total();
        if (std::fwrite(rows.ptr<float>(), sizeof(float), n, file_) != n)
            PATCHCORE_ERROR(Error::StsError, "writing training patch vectors to a temporary file failed "
                                             "(disk full?)");
    }
    else
    {
        grow(full_, static_cast<int>(needed), dim_);
        rows.copyTo(full_.rowRange(count_, count_ + rows.rows));
    }
    count_ += rows.rows;
}

Mat PatchStore::all() const
{
    CV_Assert(!file_);
    return full_.rowRange(0, count_);
}

Mat PatchStore::gather(const std::vector<int>& indices) const
{
    Mat out(static_cast<int>(indices.size()), dim_, CV_32F);
    if (!file_)
    {
        for (size_t i = 0; i < indices.size(); ++i)
            full_.row(indices[i]).copyTo(out.row(static_cast<int>(i)));
        return out;
    }
    // Read in file order so that the disk sees one forward sweep.
    std::vector<std::pair<int, int>> order(indices.size());
    for (size_t i = 0; i < indices.size(); ++i)
        order[i] = {indices[i], static_cast<int>(i)};
    std::sort(order.begin(), order.end());
    std::fflush(file_);
    for (const auto& o : order)
    {
        CV_Assert(o.first >= 0 && o.first < count_);
        const long long offset = static_cast<long long>(o.first) * dim_ * static_cast<long long>(sizeof(float));
        if (fseeko(file_, static_cast<off_t>(offset), SEEK_SET) != 0 ||
            std::fread(out.ptr<float>(o.second), sizeof(float), dim_, file_) != static_cast<size_t>(dim_))
            PATCHCORE_ERROR(Error::StsError, "reading training patch vectors back from the temporary file failed");
    }
    std::fseek(file_, 0, SEEK_END);
    return out;
}

TrainingMemory estimateTrainingMemory(double rows, int dim, int projDim, double bankRows)
{
    const double f = sizeof(float);
    TrainingMemory m;
    // Growth by 1.5x may briefly hold the old and the new buffer.
    m.inMemory = rows * (dim + projDim) * f * 1.5 + bankRows * dim * f;
    m.spilled = rows * projDim * f * 1.5 + bankRows * dim * f;
    return m;
}

} // namespace detail
} // namespace patchcore
} // namespace cv
