// The checksummed binary container, SHA-256 of files, whole-file reads.
#include "serialization.hpp"
#include "sha256.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include <sys/stat.h>
#include <sys/types.h>

namespace cv {
namespace patchcore {
namespace detail {

namespace {

// ---------------------------------------------------------------------------------------------------------------
// File-system helpers

/** Opens a regular file for binary reading and returns its size; errors name the path and the likely cause. */
uint64_t openForReading(std::ifstream& in, const std::string& path, const char* purpose)
{
    int err = 0;
    PathKind kind = pathKind(path, &err);
    if (kind == PathKind::Missing)
        PATCHCORE_ERROR(Error::StsError, cv::format("cannot %s '%s': %s; check the path", purpose, path.c_str(),
                                                    errnoText(err).c_str()));
    if (kind == PathKind::Folder)
        PATCHCORE_ERROR(Error::StsError,
                        cv::format("cannot %s '%s': it is a folder, not a file; pass the path of a file", purpose,
                                   path.c_str()));
    in.open(path, std::ios::binary);
    if (!in)
        PATCHCORE_ERROR(Error::StsError, cv::format("cannot %s '%s': %s; check the file permissions", purpose,
                                                    path.c_str(), errnoText(errno).c_str()));
    in.seekg(0, std::ios::end);
    std::streamoff size = in.tellg();
    in.seekg(0, std::ios::beg);
    if (size < 0 || !in)
        PATCHCORE_ERROR(Error::StsError,
                        cv::format("cannot %s '%s': cannot determine its size", purpose, path.c_str()));
    return static_cast<uint64_t>(size);
}


// ---------------------------------------------------------------------------------------------------------------
// Container encoding

const size_t kMagicSize = 16;
const char kMagic[kMagicSize] = {'P', 'A', 'T', 'C', 'H', 'C', 'O', 'R', 'E', '-', 'B', 'I', 'N', 0, 0, 0};
const size_t kDigestSize = 32;

// Byte by byte, so the file layout does not depend on the host's endianness or struct padding.
template <typename T> void putLE(uint8_t* out, T v)
{
    for (size_t i = 0; i < sizeof(T); i++)
        out[i] = static_cast<uint8_t>(v >> (8 * i));
}
template <typename T> T getLE(const uint8_t* in)
{
    T v = 0;
    for (size_t i = 0; i < sizeof(T); i++)
        v |= T(in[i]) << (8 * i);
    return v;
}

/** Writes and hashes at once, so a large memory bank is never copied into one more buffer: to a file, or to memory
 *  (an ensemble's members). */
class HashingWriter
{
public:
    HashingWriter(const std::string& tmpPath, const std::string& finalPath) : finalPath_(finalPath)
    {
        file_ = std::fopen(tmpPath.c_str(), "wb");
        if (!file_)
            PATCHCORE_ERROR(Error::StsError, cv::format("cannot save '%s': cannot open temporary file '%s': %s",
                                                        finalPath.c_str(), tmpPath.c_str(), errnoText(errno).c_str()));
    }
    explicit HashingWriter(std::vector<uchar>& buffer) : buffer_(&buffer) {}
    ~HashingWriter()
    {
        if (file_)
            std::fclose(file_);
    }
    void write(const void* data, size_t size, bool hashed = true)
    {
        if (buffer_)
            buffer_->insert(buffer_->end(), static_cast<const uchar*>(data), static_cast<const uchar*>(data) + size);
        else if (size > 0 && std::fwrite(data, 1, size, file_) != size)
            fail(errno);
        if (hashed)
            hash_.update(data, size);
    }
    template <typename T> void writeLE(T v)
    {
        uint8_t b[sizeof(T)];
        putLE(b, v);
        write(b, sizeof(T));
    }
    void finish()
    {
        std::array<uint8_t, 32> digest = hash_.finish();
        write(digest.data(), digest.size(), false);
        close();
    }
    /** Flushes and closes, reporting any write error the buffered writes held back. */
    void close()
    {
        if (buffer_)
            return;
        FILE* f = file_;
        file_ = nullptr;
        bool ok = std::fflush(f) == 0 && !std::ferror(f);
        int err = errno;
        if (std::fclose(f) != 0 || !ok)
            fail(ok ? errno : err);
    }

private:
    void fail(int err)
    {
        PATCHCORE_ERROR(Error::StsError, cv::format("cannot save '%s': write failed: %s; check free disk space",
                                                    finalPath_.c_str(), errnoText(err).c_str()));
    }

    FILE* file_ = nullptr;
    std::vector<uchar>* buffer_ = nullptr;
    std::string finalPath_;
    Sha256 hash_;
};

/** Bounds-checked reading: every length is compared with what is left of the file before anything is allocated. */
class ContainerReader
{
public:
    explicit ContainerReader(const std::string& path) : path_(path) { remaining_ = openForReading(in_, path, "read"); }
    /** Reads bytes in memory; `name` stands for the path in messages. */
    ContainerReader(const std::vector<uchar>& bytes, const std::string& name)
        : path_(name), memory_(bytes.data()), remaining_(bytes.size())
    {
    }

    uint64_t remaining() const { return remaining_; }
    const std::string& name() const { return path_; }
    /** Bytes still available for section data: the trailing checksum is not part of it. */
    uint64_t remainingBeforeDigest() const { return remaining_ > kDigestSize ? remaining_ - kDigestSize : 0; }

    void read(void* dst, size_t size, bool hashed = true)
    {
        if (size > remaining_)
            truncated("the file ends early");
        if (size > 0 && memory_)
        {
            std::memcpy(dst, memory_, size);
            memory_ += size;
        }
        else if (size > 0)
        {
            in_.read(static_cast<char*>(dst), static_cast<std::streamsize>(size));
            if (static_cast<size_t>(in_.gcount()) != size)
                PATCHCORE_ERROR(Error::StsError, cv::format("cannot read '%s': read error after %llu bytes",
                                                            path_.c_str(), (unsigned long long)in_.tellg()));
        }
        remaining_ -= size;
        if (hashed)
            hash_.update(dst, size);
    }
    template <typename T> T readLE()
    {
        uint8_t b[sizeof(T)];
        read(b, sizeof(T));
        return getLE<T>(b);
    }
    std::array<uint8_t, 32> digest() { return hash_.finish(); }

    CV_NORETURN void truncated(const std::string& detail)
    {
        PATCHCORE_ERROR(Error::StsParseError,
                        cv::format("'%s' is truncated or corrupted (%s); the save was probably interrupted, "
                                   "save the model again or restore it from a backup",
                                   path_.c_str(), detail.c_str()));
    }
    CV_NORETURN void corrupted(const std::string& detail)
    {
        PATCHCORE_ERROR(Error::StsParseError,
                        cv::format("'%s' is corrupted: %s; save the model again or restore it from a backup",
                                   path_.c_str(), detail.c_str()));
    }

private:
    std::string path_;
    std::ifstream in_;
    const uchar* memory_ = nullptr;
    uint64_t remaining_ = 0;
    Sha256 hash_;
};

} // namespace

// -------------------------------------------------------------------------------------------------------------------

std::string sha256File(const std::string& path)
{
    std::ifstream in;
    openForReading(in, path, "hash");
    Sha256 hash;
    std::vector<char> chunk(1 << 16);
    while (in)
    {
        in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
        hash.update(chunk.data(), static_cast<size_t>(in.gcount()));
    }
    if (!in.eof())
        PATCHCORE_ERROR(Error::StsError, cv::format("cannot hash '%s': read error", path.c_str()));
    return toHex(hash.finish());
}

std::vector<uchar> readFileBytes(const std::string& path)
{
    std::ifstream in;
    std::vector<uchar> bytes(static_cast<size_t>(openForReading(in, path, "read")));
    if (!bytes.empty() &&
        !in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size())))
        PATCHCORE_ERROR(Error::StsError,
                        cv::format("cannot read '%s': read error after %lld of %llu bytes", path.c_str(),
                                   (long long)in.gcount(), (unsigned long long)bytes.size()));
    return bytes;
}

namespace {

void checkContainer(uint32_t formatVersion, const Sections& sections)
{
    if (formatVersion == 0)
        PATCHCORE_ERROR(Error::StsBadArg, "writeContainer: format version 0 is reserved as invalid; use 1 or more");
    if (sections.size() > 0xffffffffu)
        PATCHCORE_ERROR(Error::StsBadArg, "writeContainer: too many sections");
    for (const auto& s : sections)
        if (s.first.size() > 0xffffffffu)
            PATCHCORE_ERROR(Error::StsBadArg, "writeContainer: section name too long");
}

void encodeContainer(HashingWriter& out, uint32_t formatVersion, const Sections& sections)
{
    out.write(kMagic, kMagicSize);
    out.writeLE<uint32_t>(formatVersion);
    out.writeLE<uint32_t>(static_cast<uint32_t>(sections.size()));
    for (const auto& s : sections)
    {
        out.writeLE<uint32_t>(static_cast<uint32_t>(s.first.size()));
        out.write(s.first.data(), s.first.size());
        out.writeLE<uint64_t>(static_cast<uint64_t>(s.second.size()));
        out.write(s.second.data(), s.second.size());
    }
    out.finish();
}

Sections decodeContainer(ContainerReader& in, uint32_t maxSupportedVersion, uint32_t* formatVersion);

} // namespace

void writeContainer(const std::string& path, uint32_t formatVersion, const Sections& sections)
{
    checkContainer(formatVersion, sections);

    writeFileAtomically(path, [&](const std::string& tmpPath) {
        HashingWriter out(tmpPath, path);
        encodeContainer(out, formatVersion, sections);
    });
}

std::vector<uchar> containerBytes(uint32_t formatVersion, const Sections& sections)
{
    checkContainer(formatVersion, sections);
    std::vector<uchar> bytes;
    HashingWriter out(bytes);
    encodeContainer(out, formatVersion, sections);
    return bytes;
}

Sections readContainer(const std::string& path, uint32_t maxSupportedVersion, uint32_t* formatVersion)
{
    ContainerReader in(path);
    return decodeContainer(in, maxSupportedVersion, formatVersion);
}

Sections parseContainer(const std::vector<uchar>& bytes, const std::string& name, uint32_t maxSupportedVersion,
                        uint32_t* formatVersion)
{
    ContainerReader in(bytes, name);
    return decodeContainer(in, maxSupportedVersion, formatVersion);
}

namespace {

Sections decodeContainer(ContainerReader& in, uint32_t maxSupportedVersion, uint32_t* formatVersion)
{
    const std::string& path = in.name();

    // The magic is checked on whatever prefix exists, so a short foreign file is called foreign, not truncated.
    char magic[kMagicSize] = {0};
    size_t magicAvailable = static_cast<size_t>(std::min<uint64_t>(in.remaining(), kMagicSize));
    in.read(magic, magicAvailable);
    if (std::memcmp(magic, kMagic, magicAvailable) != 0)
        PATCHCORE_ERROR(Error::StsParseError,
                        cv::format("'%s' is not a PatchCore binary file (wrong magic bytes); pass a file written by "
                                   "cv::patchcore",
                                   path.c_str()));
    if (magicAvailable == 0)
        in.truncated("the file is empty");
    if (magicAvailable < kMagicSize)
        in.truncated("the file ends inside the header");

    const uint32_t version = in.readLE<uint32_t>();
    if (version == 0)
        in.corrupted("format version 0 is invalid");
    // Checked before anything else is parsed: a newer format may have a different layout.
    if (version > maxSupportedVersion)
        PATCHCORE_ERROR(Error::StsParseError,
                        cv::format("'%s' was saved by a newer version (format %u), this library reads up to %u; "
                                   "upgrade the library or save the model again with this version",
                                   path.c_str(), version, maxSupportedVersion));

    const uint32_t count = in.readLE<uint32_t>();
    // Each section needs at least its two length fields; rejects absurd counts before looping over them.
    if (uint64_t(count) * 12 > in.remainingBeforeDigest())
        in.truncated(cv::format("it declares %u sections but only %llu bytes remain", count,
                                (unsigned long long)in.remainingBeforeDigest()));

    Sections sections;
    for (uint32_t i = 0; i < count; i++)
    {
        const uint32_t nameLength = in.readLE<uint32_t>();
        if (nameLength > in.remainingBeforeDigest())
            in.truncated(cv::format("section %u declares a %u-byte name but only %llu bytes remain", i,
                                    nameLength, (unsigned long long)in.remainingBeforeDigest()));
        std::string name(nameLength, '\0');
        in.read(&name[0], nameLength);
        if (sections.count(name))
            in.corrupted(cv::format("section '%s' appears twice", name.c_str()));

        const uint64_t payloadLength = in.readLE<uint64_t>();
        if (payloadLength > in.remainingBeforeDigest())
            in.truncated(cv::format("section '%s' declares %llu bytes but only %llu remain", name.c_str(),
                                    (unsigned long long)payloadLength,
                                    (unsigned long long)in.remainingBeforeDigest()));
        std::vector<uchar>& payload = sections[name];
        payload.resize(static_cast<size_t>(payloadLength));
        in.read(payload.data(), payload.size());
    }

    if (in.remaining() < kDigestSize)
        in.truncated("the checksum at the end is missing");
    const std::array<uint8_t, 32> expected = in.digest();
    std::array<uint8_t, 32> stored;
    in.read(stored.data(), stored.size(), false);
    if (stored != expected)
        in.corrupted("checksum mismatch");
    if (in.remaining() != 0)
        in.corrupted(cv::format("%llu bytes of trailing garbage after the checksum",
                                (unsigned long long)in.remaining()));

    if (formatVersion)
        *formatVersion = version;
    return sections;
}

} // namespace

bool isContainerFile(const std::string& path)
{
    if (pathKind(path) != PathKind::File)
        return false;
    std::ifstream in(path, std::ios::binary);
    char magic[kMagicSize];
    if (!in.read(magic, kMagicSize))
        return false;
    return std::memcmp(magic, kMagic, kMagicSize) == 0;
}

} // namespace detail
} // namespace patchcore
} // namespace cv
