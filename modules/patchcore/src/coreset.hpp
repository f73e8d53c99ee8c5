// Memory-bank subsampling: approximate greedy k-centre coreset, random subset, or everything.
#ifndef OPENCV_PATCHCORE_CORESET_HPP
#define OPENCV_PATCHCORE_CORESET_HPP

#include "precomp.hpp"
#include "distance_kernels.hpp" // projectRows

#include <functional>

namespace cv {
namespace patchcore {
namespace detail {

/** Reports (done, total); returns false to cancel. */
typedef std::function<bool(int done, int total)> StepCallback;

/** Number of vectors the coreset keeps: int(n * ratio) as the reference computes it, at least 1. */
int coresetSize(int n, double ratio);

/** The bank cap Params::coresetMaxSize stands for (its -1 resolved by the input mode); 0 = none. */
int effectiveBankCap(const Params& params);

/** The chunk size Params::coresetChunkRows stands for (its -1 resolved by the input mode); 0 = one selection. */
int effectiveChunkRows(const Params& params);

/** Vectors a greedy or random coreset keeps of n: coresetSize(n, coresetRatio), at most the bank cap. */
int bankSize(double n, const Params& params);

/** inDim x outDim CV_32F matrix with entries uniform in [-1/sqrt(inDim), 1/sqrt(inDim)), from cv::RNG(seed). */
Mat randomProjection(int inDim, int outDim, uint64 seed);

/** `count` distinct indices in [0, n) drawn from cv::RNG(seed). */
std::vector<int> randomIndices(int n, int count, uint64 seed);

/** The greedy selection's projection of inDim-dimensional vectors (inDim x projectionDim) from the generator
 *  Params::coresetRandom names; empty when params ask for no projection (projectionDim 0 or >= inDim). Every greedy
 *  selection (CPU, CUDA, training's projection while embedding, update()) takes it from here. */
Mat coresetProjection(int inDim, const Params& params);

/** The greedy selection's start points among n vectors, from the generator Params::coresetRandom names. */
std::vector<int> coresetStarts(int n, const Params& params);

/** Greedy k-centre selection on already projected vectors (N x d CV_32F): each point starts at the mean Euclidean
 *  distance to the `starts` (which are not selected themselves); then `count` times the point farthest from
 *  everything selected so far is selected (lowest index on ties). Selection stops early when every remaining point
 *  coincides with a selected one, so indices are distinct. */
std::vector<int> greedyCoreset(const Mat& projected, const std::vector<int>& starts, int count,
                               const StepCallback& onStep = StepCallback(), double coverageStop = 0);

/** Point i of `x` (dim columns) before any selection: (mean Euclidean distance to the starts)^2, optionally its
 *  nearest start and the squared distance to it. The selection and coveragePrefix() take it from here, so that
 *  their radii agree bit for bit. `d2`: scratch. */
float startDistanceSq(const float* x, int dim, const std::vector<int>& starts, size_t i, std::vector<float>& d2,
                      int* nearest = nullptr, float* nearestDistSq = nullptr);

/** Selected points before the coverage stop (Params::coresetCoverageStop) is checked. */
const int kCoverageMinBank = 1024;

/** The coverage stop: `radiusSq[t]` is greedy's running maximum (squared) of the distance from a point to the t
 *  points selected so far; with `gain` > 0 the selection stops before its step t >= kCoverageMinBank when
 *  r_t > (1 - gain) r_{t/2}, i.e. when doubling the selection has shrunk its coverage radius by less than `gain`. */
bool coverageFlattened(const std::vector<float>& radiusSq, int t, double gain);

/** How many of a fresh greedy selection's points (`selected`, in order, from `starts` on `projected`) the coverage
 *  stop keeps: what greedyCoreset() with `gain` returns, for selections made without it (the CUDA kernel). Costs
 *  selected^2 / 2 distances. */
size_t coveragePrefix(const Mat& projected, const std::vector<int>& starts, const std::vector<int>& selected,
                      double gain);

/** greedyCoreset() continuing from centres already selected (Detector::update(): the bank). `projected` holds the
 *  candidates in rows [0, candidates) and the centres after them; minSq[i] and nearest[i] are candidate i's squared
 *  distance to its nearest centre and that centre's row. Selects up to `count` candidates, each the farthest from
 *  everything selected so far (lowest index on ties), and stops when every remaining candidate coincides with a
 *  selected point or a centre. Candidate indices in selection order. */
std::vector<int> greedyContinue(const Mat& projected, int candidates, const std::vector<float>& minSq,
                                const std::vector<int>& nearest, int count,
                                const StepCallback& onStep = StepCallback());


/** CORESET_NONE (every index) and CORESET_RANDOM selections, which depend only on the number of vectors. */
std::vector<int> selectWithoutVectors(int n, const Params& params);

/** What a greedy selection among n vectors draws besides the projection: its start points (coresetStarts()) and
 *  how many to select (`count` > 0: at most n of them; 0: bankSize() of n). The CPU and the CUDA selections take
 *  both from here and the projection from coresetProjection(), so that a seed selects the same points on either. */
struct GreedyDraws
{
    std::vector<int> starts;
    int count = 0;
};
GreedyDraws greedyDraws(int n, const Params& params, int count = 0);

/** A greedy selection kernel with greedyCoreset()'s contract (the CPU one, or the CUDA one). */
typedef std::function<std::vector<int>(const Mat& projected, const std::vector<int>& starts, int count,
                                       const StepCallback& onStep)>
    GreedyKernel;
/** The whole subsampling stage as configured by `params` (method, ratio, cap, coverage stop, projection, starts,
 *  seed), its greedy steps run by `kernel` (empty: the CPU loop; greedyKernelFor() picks one by device).
 *  Returns the selected row indices of `bank` in selection order. */
std::vector<int> selectCoreset(const Mat& bank, const Params& params, const StepCallback& onStep = StepCallback(),
                               const GreedyKernel& kernel = GreedyKernel());
/** Greedy selection (the CORESET_GREEDY branch of selectCoreset) from vectors already projected with
 *  coresetProjection(): training projects while it embeds, so the full vectors may stay on disk. `count`: how many
 *  to select, 0 = bankSize() of the rows; `coverageStop`: the coverage stop's gain (0 = off). */
std::vector<int> selectCoresetProjected(const Mat& projected, const Params& params,
                                        const StepCallback& onStep = StepCallback(),
                                        const GreedyKernel& kernel = GreedyKernel(), int count = 0,
                                        double coverageStop = 0);

} // namespace detail
} // namespace patchcore
} // namespace cv

#endif
