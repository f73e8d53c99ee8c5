#include "storage_text.hpp"

#include <cstring>

namespace cv {
namespace patchcore {
namespace detail {

void checkStorageText(const char* text, size_t size, const std::string& what)
{
    if (size == 0)
        return; // nothing to scan (and memchr must not see a null pointer); the parser reports an empty file
    if (std::memchr(text, '\0', size))
        CV_Error(Error::StsParseError, "patchcore: invalid detector file: " + what +
                                           " contains NUL bytes, so it is not YAML, XML or JSON text (damaged?)");
    static const char kXml[] = "<?xml";
    const size_t prefix = sizeof(kXml) - 1;
    if (size < prefix || std::memcmp(text, kXml, prefix) != 0)
        return;
    for (size_t i = prefix; i + 1 < size && text[i] != '\n'; ++i)
    {
        const unsigned char c = static_cast<unsigned char>(text[i]);
        if (c == '?' && text[i + 1] == '>')
            return;
        if (c != '\t' && c != '\r' && (c < 0x20 || c > 0x7e))
            break;
    }
    CV_Error(Error::StsParseError, "patchcore: invalid detector file: " + what +
                                       " starts with a malformed XML declaration (expected <?xml version=\"1.0\"?>)");
}

} // namespace detail
} // namespace patchcore
} // namespace cv
