// One face for every nearest-neighbour index over the memory bank (in the manner of faiss's Index): set the bank,
// ask for the k nearest rows of a block of queries. Backends: exact (fp32, or screened with bf16 dot products and
// re-ranked exactly), an inverted file over k-means cells for large banks, and CUDA; createBankIndex() picks one.
#ifndef OPENCV_PATCHCORE_BANK_INDEX_HPP
#define OPENCV_PATCHCORE_BANK_INDEX_HPP

#include "precomp.hpp"

#include <memory>

namespace cv {
namespace patchcore {
namespace detail {

/** How a CPU index screens the bank before it ranks the candidates in double precision; each falls back to the next
 *  where the CPU or the vectors' width do not allow it, with the same results. */
enum Screening
{
    SCREEN_PROJECTED, //!< ProjectedScreen: bf16 dot products in a 128-d principal projection (a lower bound)
    SCREEN_BF16,      //!< Bf16Screen: bf16 dot products at full width, an error bound
    SCREEN_FP32       //!< fp32 dot products in GEMM form
};

class BankIndex
{
public:
    virtual ~BankIndex() {}
    /** Keeps `bank` (N x D CV_32F, continuous; shared, not copied) and builds whatever the backend needs. */
    virtual void setBank(const Mat& bank) = 0;
    /** For each row of `queries` (M x D CV_32F, continuous): the k nearest bank rows by squared Euclidean distance,
     *  ascending, ties broken by the lower index; `distSq` gets M x k CV_32F, `indices` M x k CV_32S; 1 <= k <= N.
     *  Distances are exact for the rows returned (double precision), whatever the backend screens with.
     *  Thread-safe: any number of concurrent calls on one index. */
    virtual void knn(const Mat& queries, int k, Mat& distSq, Mat& indices) const = 0;
    /** True when knn() always returns the true nearest rows; false for an index that may miss some (IVF). */
    virtual bool exact() const { return true; }
    /** As knn(), but always the true nearest rows: what an approximate index does for the few queries whose result
     *  must be exact (an image's worst patches). */
    virtual void knnExact(const Mat& queries, int k, Mat& distSq, Mat& indices) const
    {
        knn(queries, k, distSq, indices);
    }
    /** Rows in the bank. */
    virtual int size() const = 0;
    /** For progress messages and benchmarks: e.g. "exact, bf16-screened", "IVF: 1024 cells, 24 probed". */
    virtual std::string describe() const = 0;
};

/** True when Params ask for the inverted file on a bank of `bankRows` rows: SEARCH_APPROXIMATE, or SEARCH_AUTO on a
 *  large bank outside the centre-crop mode. */
bool autoSearchIsIvf(const Params& params, int bankRows);

/** The index Params ask for, for a bank of `bankRows` rows: SEARCH_APPROXIMATE (the inverted file, also on a CUDA
 *  build), Params::searchDevice (CUDA), then for SEARCH_AUTO the bank's size and the input mode (autoSearchIsIvf).
 *  The index is empty until setBank(). */
std::shared_ptr<BankIndex> createBankIndex(const Params& params, int bankRows);

} // namespace detail
} // namespace patchcore
} // namespace cv

#endif
