// Fuzzes the FileStorage loader: Detector::load() of a .yml file and Detector::read() of in-memory YAML, then a
// prediction with what loaded.
#include "fuzz_common.hpp"
#include "storage_text.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const std::string path = patchcore_fuzz::writeInput("input.yml", data, size);
    try
    {
        cv::Ptr<cv::patchcore::Detector> det = cv::patchcore::Detector::load(path);
        patchcore_fuzz::exercise(*det);
    }
    catch (const cv::Exception&)
    {
    }
    // read() on an existing detector: the path users take with their own FileStorage. It must either replace the
    // state completely or leave the detector as it was.
    static cv::Ptr<cv::patchcore::Detector> reader = [] {
        cv::patchcore::Params p;
        p.modelPath = patchcore_fuzz::scratchDir() + "/tiny_backbone.onnx";
        p.layers = {"tap_a", "tap_b"};
        return cv::patchcore::Detector::create(p);
    }();
    // A careful caller checks untrusted text first, as load() does: OpenCV 4.6's parser crashes or hangs on some
    // malformed inputs (NUL bytes, a broken XML declaration), which is not what this target looks for.
    try
    {
        cv::patchcore::detail::checkStorageText(reinterpret_cast<const char*>(data), size, "the input");
    }
    catch (const cv::Exception&)
    {
        return 0;
    }
    cv::FileStorage fs;
    try
    {
        fs.open(std::string(reinterpret_cast<const char*>(data), size),
                cv::FileStorage::READ | cv::FileStorage::MEMORY | cv::FileStorage::FORMAT_YAML);
    }
    catch (...) // the caller's own parsing: OpenCV's parser may throw std:: exceptions, not our concern here
    {
        return 0;
    }
    try
    {
        reader->read(fs[reader->getDefaultName()]);
        patchcore_fuzz::exercise(*reader);
    }
    catch (const cv::Exception&)
    {
    }
    return 0;
}
