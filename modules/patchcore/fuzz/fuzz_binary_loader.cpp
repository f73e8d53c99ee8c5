// Fuzzes the binary loaders (.pcb detectors and ensembles share the container): readContainer(), Detector::load(),
// Ensemble::load() and Inspector::load(), then a prediction with what loaded.
#include "fuzz_common.hpp"
#include "serialization.hpp"
#include "opencv2/patchcore/ensemble.hpp"

#include <cstring>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (size < 1)
        return 0;
    // Byte 0 selects a mode. Odd: the trailing SHA-256 is recomputed, so that mutations get past the checksum into
    // the header, the section table and the memory bank; even: the bytes are loaded as they are (checksum path).
    std::vector<uint8_t> bytes(data + 1, data + size);
    if ((data[0] & 1) && bytes.size() >= 32)
    {
        const std::array<uint8_t, 32> digest = cv::patchcore::detail::sha256(bytes.data(), bytes.size() - 32);
        std::memcpy(bytes.data() + bytes.size() - 32, digest.data(), 32);
    }
    const std::string path = patchcore_fuzz::writeInput("input.pcb", bytes.data(), bytes.size());
    try
    {
        uint32_t version = 0;
        cv::patchcore::detail::readContainer(path, 16, &version);
    }
    catch (const cv::Exception&)
    {
    }
    try
    {
        cv::Ptr<cv::patchcore::Detector> det = cv::patchcore::Detector::load(path);
        patchcore_fuzz::exercise(*det);
    }
    catch (const cv::Exception&)
    {
    }
    try
    {
        cv::Ptr<cv::patchcore::Ensemble> ens = cv::patchcore::Ensemble::load(path);
        for (int i = 0; i < ens->getMemberCount(); ++i)
            if (!patchcore_fuzz::small(*ens->getMember(i)))
                return 0;
        patchcore_fuzz::exercise(*ens);
    }
    catch (const cv::Exception&)
    {
    }
    try
    {
        cv::Ptr<cv::patchcore::Inspector> any = cv::patchcore::Inspector::load(path);
        cv::Ptr<cv::patchcore::Detector> det = any.dynamicCast<cv::patchcore::Detector>();
        if (det && patchcore_fuzz::small(*det))
            patchcore_fuzz::exercise(*det);
    }
    catch (const cv::Exception&)
    {
    }
    return 0;
}
