// Small helpers shared by the samples: MVTec-layout category folders and file listing.
#ifndef PATCHCORE_SAMPLES_DATASET_FOLDERS_HPP
#define PATCHCORE_SAMPLES_DATASET_FOLDERS_HPP

#include <opencv2/core.hpp>
#include <opencv2/core/utils/filesystem.hpp>

#include <algorithm>
#include <string>
#include <vector>

namespace patchcore_samples {

/** One test image of an MVTec-layout category: test/<type>/<stem>.<ext>, mask ground_truth/<type>/<stem>_mask.png. */
struct TestImage
{
    std::string path;     // absolute or as given
    std::string relative; // relative to the category root, e.g. "test/colour/00.jpg"
    std::string type;     // "good" or the defect type
    int label = 0;        // 1 = defective
    std::string maskPath; // empty for good images or when the mask is missing
};

inline bool isImageFile(const std::string& name)
{
    std::string ext = name.substr(name.find_last_of('.') + 1);
    std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
    return ext == "png" || ext == "jpg" || ext == "jpeg" || ext == "bmp" || ext == "tif" || ext == "tiff";
}

/** Image files directly in `folder`, sorted by name. */
inline std::vector<std::string> listImages(const std::string& folder)
{
    std::vector<cv::String> all;
    cv::utils::fs::glob(folder, "*", all, false, false);
    std::vector<std::string> out;
    for (const auto& f : all)
        if (isImageFile(f))
            out.push_back(f);
    std::sort(out.begin(), out.end());
    return out;
}

inline std::string stemOf(const std::string& path)
{
    const size_t slash = path.find_last_of('/');
    const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
    return name.substr(0, name.find_last_of('.'));
}

/** Every test image of a category, types sorted by name, "good" labelled 0. */
inline std::vector<TestImage> listTestImages(const std::string& root)
{
    std::vector<TestImage> out;
    std::vector<cv::String> entries;
    cv::utils::fs::glob(root + "/test", "*", entries, false, true);
    std::sort(entries.begin(), entries.end());
    for (const auto& dir : entries)
    {
        if (!cv::utils::fs::isDirectory(dir))
            continue;
        const std::string type = dir.substr(dir.find_last_of('/') + 1);
        for (const std::string& f : listImages(dir))
        {
            TestImage t;
            t.path = f;
            t.type = type;
            t.relative = "test/" + type + "/" + f.substr(f.find_last_of('/') + 1);
            t.label = type == "good" ? 0 : 1;
            if (t.label)
            {
                const std::string mask = root + "/ground_truth/" + type + "/" + stemOf(f) + "_mask.png";
                if (cv::utils::fs::exists(mask))
                    t.maskPath = mask;
            }
            out.push_back(t);
        }
    }
    return out;
}

} // namespace patchcore_samples

#endif
