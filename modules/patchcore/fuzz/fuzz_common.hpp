// Shared helpers of the libFuzzer targets: a scratch folder, file writing, and a quick use of a loaded detector.
#ifndef OPENCV_PATCHCORE_FUZZ_COMMON_HPP
#define OPENCV_PATCHCORE_FUZZ_COMMON_HPP

#include "opencv2/patchcore.hpp"

#include <opencv2/core/utils/logger.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <unistd.h>

namespace patchcore_fuzz {

/** One scratch folder per process (libFuzzer -jobs/-fork run several), holding a copy of the tiny backbone so that
 *  a FileStorage detector that names it by file name finds it beside itself, as load() looks there. */
inline const std::string& scratchDir()
{
    static const std::string dir = [] {
        const char* base = std::getenv("TMPDIR");
        std::string pattern = std::string(base && *base ? base : "/tmp") + "/patchcore_fuzz_XXXXXX";
        if (!::mkdtemp(&pattern[0]))
            std::abort();
        std::ifstream in(PATCHCORE_FUZZ_MODEL, std::ios::binary);
        std::ofstream(pattern + "/tiny_backbone.onnx", std::ios::binary) << in.rdbuf();
        // cv::dnn logs warnings for odd models; they only slow the fuzzer down.
        cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
        return pattern;
    }();
    return dir;
}

inline std::string writeInput(const std::string& name, const uint8_t* data, size_t size)
{
    const std::string path = scratchDir() + "/" + name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    return path;
}

/** Whether predicting with `det` stays within milliseconds and libFuzzer's memory limit. */
inline bool small(const cv::patchcore::Detector& det)
{
    const cv::patchcore::Params p = det.getParams();
    return p.cropSize <= 128 && p.resizeSize <= 256 && p.pretrainEmbedDim <= 256 && p.targetEmbedDim <= 256;
}

/** Whatever a file claims must not break the calls a user makes next on what it produced (a detector, or an
 *  ensemble of small members). */
inline void exercise(const cv::patchcore::Inspector& inspector)
{
    if (inspector.empty())
        return;
    const cv::patchcore::Detector* det = dynamic_cast<const cv::patchcore::Detector*>(&inspector);
    if (det && !small(*det))
        return;
    cv::Mat image(40, 48, CV_8UC3, cv::Scalar(40, 120, 200)), map;
    image(cv::Rect(5, 5, 10, 10)).setTo(cv::Scalar(255, 0, 0));
    inspector.predict(image, map);
}

} // namespace patchcore_fuzz

#endif
