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
        PATCHCORE_ERROR(Error::StsParseError,
                        "invalid detector file: " + what +
                            " contains NUL bytes, so it is not YAML, XML or JSON text (damaged?)");
    static const char kXml[] = "<?xml";
    const size_t prefix = sizeof(kXml) - 1;
    if (size < prefix || std::memcmp(text, kXml, prefix) != 0)
        return;
    const std::string bad = "invalid detector file: " + what + " is malformed XML: ";
    bool declared = false;
    for (size_t i = prefix; i + 1 < size && text[i] != '\n'; ++i)
    {
        const unsigned char c = static_cast<unsigned char>(text[i]);
        if (c == '?' && text[i + 1] == '>')
        {
            declared = true;
            break;
        }
        if (c != '\t' && c != '\r' && (c < 0x20 || c > 0x7e))
            break;
    }
    if (!declared)
        PATCHCORE_ERROR(Error::StsParseError, bad + "its XML declaration is not closed by \"?>\" on its first line");
    // OpenCV 4.6's XML parser dereferences a null pointer when an attribute's '=' is not followed directly by its
    // quoted value (fuzzing), so every attribute in every tag must be name="value" (comments are skipped).
    bool inTag = false;
    char quote = 0;
    for (size_t i = 0; i < size; ++i)
    {
        const char c = text[i];
        if (quote)
        {
            if (c == quote)
                quote = 0;
        }
        else if (!inTag)
        {
            if (c == '<' && size - i >= 4 && std::memcmp(text + i, "<!--", 4) == 0)
            {
                const char* end = nullptr;
                for (size_t j = i + 4; j + 2 < size && !end; ++j)
                    if (std::memcmp(text + j, "-->", 3) == 0)
                        end = text + j + 2;
                if (!end)
                    PATCHCORE_ERROR(Error::StsParseError, bad + "a comment is not closed");
                i = static_cast<size_t>(end - text);
            }
            else if (c == '<')
                inTag = true;
        }
        else if (c == '>')
            inTag = false;
        else if (c == '"' || c == '\'')
            quote = c;
        else if (c == '=' && (i + 1 >= size || (text[i + 1] != '"' && text[i + 1] != '\'')))
            PATCHCORE_ERROR(Error::StsParseError, bad + "an attribute's '=' is not followed by a quoted value");
    }
}

} // namespace detail
} // namespace patchcore
} // namespace cv
