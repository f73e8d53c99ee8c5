#include "image_cost.hpp"

#include <tbb/task_arena.h>

#include <algorithm>
#include <fstream>
#include <limits>

#include <sys/resource.h>
#include <unistd.h>

namespace cv {
namespace patchcore {
namespace detail {

namespace {

const double kMiB = 1024.0 * 1024.0;

/** cgroup v2's memory.max (or v1's limit_in_bytes) of this process's group; infinity when there is none. */
double cgroupMemoryLimit()
{
    for (const char* path : {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"})
    {
        std::ifstream in(path);
        std::string value;
        if (in >> value && !value.empty() && value != "max" &&
            value.find_first_not_of("0123456789") == std::string::npos)
            return std::stod(value);
    }
    return std::numeric_limits<double>::infinity();
}

std::string gib(double bytes)
{
    return bytes >= 1024 * kMiB ? cv::format("%.1f GiB", bytes / (1024 * kMiB)) : cv::format("%.0f MiB", bytes / kMiB);
}

} // namespace

double processMemoryLimit()
{
    double limit = std::numeric_limits<double>::infinity();
    const long pages = ::sysconf(_SC_PHYS_PAGES), pageSize = ::sysconf(_SC_PAGE_SIZE);
    if (pages > 0 && pageSize > 0)
        limit = static_cast<double>(pages) * pageSize;
    limit = std::min(limit, cgroupMemoryLimit());
    struct rlimit rl;
    if (::getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        limit = std::min(limit, static_cast<double>(rl.rlim_cur));
    return limit;
}

ImageCost estimateImageCost(const CropGeometry& g, const Params& p, const Backbone& backbone)
{
    ImageCost c;
    c.input = g.input;
    c.working = g.crop.size();
    c.windows = static_cast<int>(g.windows.size());
    double largestBlobs = 0, largestWindowPatches = 0;
    for (const Rect& w : g.windows)
    {
        const Backbone::WindowCost wc = backbone.windowCost(w.size());
        c.backbonePixels += w.area();
        c.patches += wc.grid.area();
        largestBlobs = std::max(largestBlobs, wc.runBytes);
        largestWindowPatches = std::max(largestWindowPatches, static_cast<double>(wc.grid.area()));
    }
    const double f = sizeof(float);
    const double inputPixels = g.input.area(), workingPixels = g.crop.area();
    const double taps = static_cast<double>(p.layers.size());
    // Windows are embedded on every core at once, each holding its concatenated and pooled features.
    const double concurrent = std::min<double>(c.windows, tbb::this_task_arena::max_concurrency());
    // Measured on ResNet50 (2 taps, 1024 + 1024): 10 KB per patch while embedding, about what this gives.
    const double perPatchTransient = (taps * p.pretrainEmbedDim + p.targetEmbedDim) * f * 1.25;
    c.bytes = inputPixels * 3 * f                               // conversion to RGB (float for non-8-bit input)
              + workingPixels * 3 * f * 2                       // the resized and the normalised frame
              + largestBlobs                                    // the backbone's blobs (runs are serialised)
              + concurrent * largestWindowPatches * perPatchTransient
              + c.patches * (p.targetEmbedDim * f + p.k * 8.0)  // embeddings kept for scoring, nearest neighbours
              + workingPixels * f * 3 + inputPixels * f;        // stitched and smoothed maps, the map returned
    return c;
}

bool imageCostFits(const ImageCost& c, const Params& p)
{
    const double setting = p.maxImageMB > 0 ? p.maxImageMB * kMiB : std::numeric_limits<double>::infinity();
    return c.bytes <= std::min(setting, processMemoryLimit());
}

void checkImageCost(const ImageCost& c, const Params& p, const std::string& name, const char* operation)
{
    if (imageCostFits(c, p))
        return;
    const double machine = processMemoryLimit();
    const double setting = p.maxImageMB > 0 ? p.maxImageMB * kMiB : std::numeric_limits<double>::infinity();
    const std::string what =
        cv::format("%s: %s (%d x %d) would be processed as a %d x %d working frame in %d backbone run%s: %.1f M "
                   "pixels through the backbone, %.0f patch vectors and about %s of memory, ",
                   operation, name.c_str(), c.input.width, c.input.height, c.working.width, c.working.height, c.windows,
                   c.windows == 1 ? "" : "s", c.backbonePixels / 1e6, c.patches, gib(c.bytes).c_str());
    const std::string limit =
        setting <= machine ? cv::format("more than Params::maxImageMB = %.0f allows", p.maxImageMB)
                           : "more than this process may use (" + gib(machine) + ")";
    const std::string advice =
        c.windows == 1
            ? (p.inputMode == INPUT_FRAME
                   ? "; lower tileScale, use inputMode INPUT_TILES (the same scale in cropSize tiles, one at a time), "
                     "or raise maxImageMB if the machine has the memory"
                   : "; a whole-frame mode scales the shorter side to cropSize, so an elongated image becomes a long "
                     "frame: crop or split the image, use inputMode INPUT_RESIZE, or raise maxImageMB if the machine "
                     "has the memory")
            : "; downscale the image, lower tileScale (INPUT_TILES), use inputMode INPUT_RESIZE, or raise maxImageMB "
              "if the machine has the memory";
    PATCHCORE_ERROR(Error::StsNoMem, what + limit + advice);
}

} // namespace detail
} // namespace patchcore
} // namespace cv
