// What processing one image will cost (pixels through the backbone, patch vectors, memory), known from its size
// alone, so that an image too large for this process is refused before anything is allocated for it.
#ifndef OPENCV_PATCHCORE_IMAGE_COST_HPP
#define OPENCV_PATCHCORE_IMAGE_COST_HPP

#include "precomp.hpp"
#include "backbone.hpp"
#include "preprocess.hpp"

namespace cv {
namespace patchcore {
namespace detail {

struct ImageCost
{
    Size input;            // the user's image
    Size working;          // the working frame it becomes
    int windows = 0;       // backbone runs
    double backbonePixels = 0;
    double patches = 0;    // patch vectors over all windows (what training adds to its store)
    double bytes = 0;      // peak memory of processing it, an upper-bound estimate
};

/** The cost of an image whose geometry is `g` under `p`, on `backbone` (its shape inference gives the grids). */
ImageCost estimateImageCost(const CropGeometry& g, const Params& p, const Backbone& backbone);

/** Memory this process may use at most: physical memory, bounded by a cgroup limit and RLIMIT_AS when set. */
double processMemoryLimit();

/** Whether `cost` stays within Params::maxImageMB and the memory this process may use. */
bool imageCostFits(const ImageCost& cost, const Params& p);

/** Throws cv::Exception, naming the image (`name`, e.g. "image 3 of the list" or a file path), what it would cost and
 *  the setting to change, when `cost` exceeds Params::maxImageMB or the memory this process may use. */
void checkImageCost(const ImageCost& cost, const Params& p, const std::string& name, const char* operation);

} // namespace detail
} // namespace patchcore
} // namespace cv

#endif
