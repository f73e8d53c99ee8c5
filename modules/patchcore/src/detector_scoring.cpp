// DetectorImpl's scoring: hands an embedded image's windows to the scoring stage (scoring.cpp).
#include "detector_impl.hpp"

namespace cv {
namespace patchcore {
namespace detail {

DetectorImpl::Scores DetectorImpl::score(const ImageResult& image) const
{
    const Params& p = state_.params;
    std::vector<ScoringWindow> windows;
    for (const WindowResult& w : image.windows)
        windows.push_back(ScoringWindow{&w.embedding, w.grid, &w.care});
    return scoreImage(windows, *search_, state_.bank, p.k, p.metric, p.reweight ? p.reweightNeighbours : 0);
}

} // namespace detail
} // namespace patchcore
} // namespace cv
