// SHA-256 (FIPS 180-4), atomic file replacement and the checksummed binary container.
#include "serialization.hpp"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include <sys/stat.h>
#include <sys/types.h>

#ifdef _WIN32
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
#include <fcntl.h>
#include <io.h>
#include <process.h>
#else
#include <fcntl.h>
#include <unistd.h>
#endif

namespace cv {
namespace patchcore {
namespace detail {

namespace {

// ---------------------------------------------------------------------------------------------------------------
// SHA-256

const uint32_t kRoundConstants[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

inline uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

/** Incremental hasher, so files and containers can be hashed while streaming instead of buffered whole. */
class Sha256
{
public:
    Sha256()
    {
        static const uint32_t init[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                         0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
        std::memcpy(h_, init, sizeof(h_));
    }

    void update(const void* data, size_t size)
    {
        const uint8_t* p = static_cast<const uint8_t*>(data); // may be null when size is 0
        totalBytes_ += size;
        while (size > 0)
        {
            if (bufferUsed_ == 0 && size >= 64) // whole blocks skip the copy into the buffer
            {
                compress(p);
                p += 64, size -= 64;
                continue;
            }
            size_t take = std::min(size, 64 - bufferUsed_);
            std::memcpy(buffer_ + bufferUsed_, p, take);
            bufferUsed_ += take, p += take, size -= take;
            if (bufferUsed_ == 64)
                compress(buffer_), bufferUsed_ = 0;
        }
    }

    std::array<uint8_t, 32> finish()
    {
        const uint64_t bitLength = totalBytes_ * 8;
        // Padding: a single 1 bit, zeros up to 56 mod 64, then the message length in bits, big endian.
        uint8_t pad[72] = {0x80};
        size_t padLength = (bufferUsed_ < 56 ? 56 : 120) - bufferUsed_;
        for (int i = 0; i < 8; i++)
            pad[padLength + i] = static_cast<uint8_t>(bitLength >> (56 - 8 * i));
        update(pad, padLength + 8);
        CV_DbgAssert(bufferUsed_ == 0);

        std::array<uint8_t, 32> digest;
        for (int i = 0; i < 8; i++)
            for (int j = 0; j < 4; j++)
                digest[4 * i + j] = static_cast<uint8_t>(h_[i] >> (24 - 8 * j));
        return digest;
    }

private:
    void compress(const uint8_t* block)
    {
        uint32_t w[64];
        for (int t = 0; t < 16; t++)
            w[t] = (uint32_t(block[4 * t]) << 24) | (uint32_t(block[4 * t + 1]) << 16) |
                   (uint32_t(block[4 * t + 2]) << 8) | uint32_t(block[4 * t + 3]);
        for (int t = 16; t < 64; t++)
        {
            uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
            uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
            w[t] = w[t - 16] + s0 + w[t - 7] + s1;
        }
        uint32_t a = h_[0], b = h_[1], c = h_[2], d = h_[3], e = h_[4], f = h_[5], g = h_[6], h = h_[7];
        for (int t = 0; t < 64; t++)
        {
            uint32_t bigSigma1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
            uint32_t choose = (e & f) ^ (~e & g);
            uint32_t t1 = h + bigSigma1 + choose + kRoundConstants[t] + w[t];
            uint32_t bigSigma0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
            uint32_t majority = (a & b) ^ (a & c) ^ (b & c);
            uint32_t t2 = bigSigma0 + majority;
            h = g; g = f; f = e; e = d + t1;
            d = c; c = b; b = a; a = t1 + t2;
        }
        h_[0] += a; h_[1] += b; h_[2] += c; h_[3] += d;
        h_[4] += e; h_[5] += f; h_[6] += g; h_[7] += h;
    }

    uint32_t h_[8];
    uint8_t buffer_[64];
    size_t bufferUsed_ = 0;
    uint64_t totalBytes_ = 0;
};

std::string toHex(const std::array<uint8_t, 32>& digest)
{
    static const char digits[] = "0123456789abcdef";
    std::string out(64, '0');
    for (size_t i = 0; i < digest.size(); i++)
    {
        out[2 * i] = digits[digest[i] >> 4];
        out[2 * i + 1] = digits[digest[i] & 15];
    }
    return out;
}

// ---------------------------------------------------------------------------------------------------------------
// File-system helpers

std::string errnoText(int err) { return std::strerror(err); }

enum class PathKind { Missing, File, Folder, Other };

PathKind pathKind(const std::string& path, int* err = nullptr)
{
    struct stat st;
    if (::stat(path.c_str(), &st) != 0)
    {
        if (err)
            *err = errno;
        return PathKind::Missing;
    }
    if ((st.st_mode & S_IFMT) == S_IFDIR)
        return PathKind::Folder;
    if ((st.st_mode & S_IFMT) == S_IFREG)
        return PathKind::File;
    return PathKind::Other;
}

/** Opens a regular file for binary reading and returns its size; errors name the path and the likely cause. */
uint64_t openForReading(std::ifstream& in, const std::string& path, const char* purpose)
{
    int err = 0;
    PathKind kind = pathKind(path, &err);
    if (kind == PathKind::Missing)
        CV_Error(Error::StsError, cv::format("cannot %s '%s': %s; check the path", purpose, path.c_str(),
                                             errnoText(err).c_str()));
    if (kind == PathKind::Folder)
        CV_Error(Error::StsError, cv::format("cannot %s '%s': it is a folder, not a file; pass the path of a file",
                                             purpose, path.c_str()));
    in.open(path, std::ios::binary);
    if (!in)
        CV_Error(Error::StsError, cv::format("cannot %s '%s': %s; check the file permissions", purpose,
                                             path.c_str(), errnoText(errno).c_str()));
    in.seekg(0, std::ios::end);
    std::streamoff size = in.tellg();
    in.seekg(0, std::ios::beg);
    if (size < 0 || !in)
        CV_Error(Error::StsError, cv::format("cannot %s '%s': cannot determine its size", purpose, path.c_str()));
    return static_cast<uint64_t>(size);
}

std::string parentFolder(const std::string& path)
{
    size_t slash = path.find_last_of("/\\");
    if (slash == std::string::npos)
        return ".";
    if (slash == 0)
        return path.substr(0, 1);
    return path.substr(0, slash);
}

void removeQuietly(const std::string& path) { std::remove(path.c_str()); }

#ifdef _WIN32 // untested: same steps with the Windows equivalents; folders cannot be flushed there
int currentProcessId() { return _getpid(); }
int createExclusive(const std::string& p) { return _open(p.c_str(), _O_WRONLY | _O_CREAT | _O_EXCL | _O_BINARY, 0600); }
void closeFd(int fd) { _close(fd); }
bool flushFileToDisk(const std::string& path)
{
    int fd = _open(path.c_str(), _O_RDWR | _O_BINARY);
    bool ok = fd >= 0 && _commit(fd) == 0;
    return fd >= 0 && _close(fd) == 0 && ok;
}
void copyPermissions(const std::string&, const std::string&) {}
bool replaceFile(const std::string& from, const std::string& to)
{
    return MoveFileExA(from.c_str(), to.c_str(), MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH) != 0;
}
void flushFolderToDisk(const std::string&) {}
#else
int currentProcessId() { return static_cast<int>(::getpid()); }
int createExclusive(const std::string& path)
{
    return ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
}
void closeFd(int fd) { ::close(fd); }
bool flushFileToDisk(const std::string& path)
{
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    bool ok = fd >= 0 && ::fsync(fd) == 0;
    return fd >= 0 && ::close(fd) == 0 && ok;
}
// Replacing a file should not silently change who may read it.
void copyPermissions(const std::string& from, const std::string& to)
{
    struct stat st;
    if (::stat(from.c_str(), &st) == 0)
        (void)::chmod(to.c_str(), st.st_mode & 07777);
}
bool replaceFile(const std::string& from, const std::string& to) { return ::rename(from.c_str(), to.c_str()) == 0; }
// Makes the rename itself durable; some file systems refuse fsync on folders, which is harmless here.
void flushFolderToDisk(const std::string& folder)
{
    int fd = ::open(folder.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    (void)::fsync(fd);
    ::close(fd);
}
#endif

std::atomic<unsigned long long> tempCounter(0);

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

/** Writes and hashes at once, so a large memory bank is never copied into one more buffer. */
class HashingWriter
{
public:
    HashingWriter(const std::string& tmpPath, const std::string& finalPath) : finalPath_(finalPath)
    {
        file_ = std::fopen(tmpPath.c_str(), "wb");
        if (!file_)
            CV_Error(Error::StsError, cv::format("cannot save '%s': cannot open temporary file '%s': %s",
                                                 finalPath.c_str(), tmpPath.c_str(), errnoText(errno).c_str()));
    }
    ~HashingWriter()
    {
        if (file_)
            std::fclose(file_);
    }
    void write(const void* data, size_t size, bool hashed = true)
    {
        if (size > 0 && std::fwrite(data, 1, size, file_) != size)
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
        CV_Error(Error::StsError, cv::format("cannot save '%s': write failed: %s; check free disk space",
                                             finalPath_.c_str(), errnoText(err).c_str()));
    }

    FILE* file_ = nullptr;
    std::string finalPath_;
    Sha256 hash_;
};

/** Bounds-checked reading: every length is compared with what is left of the file before anything is allocated. */
class ContainerReader
{
public:
    explicit ContainerReader(const std::string& path) : path_(path) { remaining_ = openForReading(in_, path, "read"); }

    uint64_t remaining() const { return remaining_; }
    /** Bytes still available for section data: the trailing checksum is not part of it. */
    uint64_t remainingBeforeDigest() const { return remaining_ > kDigestSize ? remaining_ - kDigestSize : 0; }

    void read(void* dst, size_t size, bool hashed = true)
    {
        if (size > remaining_)
            truncated("the file ends early");
        if (size > 0)
        {
            in_.read(static_cast<char*>(dst), static_cast<std::streamsize>(size));
            if (static_cast<size_t>(in_.gcount()) != size)
                CV_Error(Error::StsError, cv::format("cannot read '%s': read error after %llu bytes",
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
        CV_Error(Error::StsParseError,
                 cv::format("'%s' is truncated or corrupted (%s); the save was probably interrupted, "
                            "save the model again or restore it from a backup",
                            path_.c_str(), detail.c_str()));
    }
    CV_NORETURN void corrupted(const std::string& detail)
    {
        CV_Error(Error::StsParseError,
                 cv::format("'%s' is corrupted: %s; save the model again or restore it from a backup",
                            path_.c_str(), detail.c_str()));
    }

private:
    std::string path_;
    std::ifstream in_;
    uint64_t remaining_ = 0;
    Sha256 hash_;
};

} // namespace

// -------------------------------------------------------------------------------------------------------------------

std::array<uint8_t, 32> sha256(const void* data, size_t size)
{
    Sha256 hash;
    hash.update(data, size);
    return hash.finish();
}

std::string sha256Hex(const void* data, size_t size) { return toHex(sha256(data, size)); }

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
        CV_Error(Error::StsError, cv::format("cannot hash '%s': read error", path.c_str()));
    return toHex(hash.finish());
}

std::vector<uchar> readFileBytes(const std::string& path)
{
    std::ifstream in;
    std::vector<uchar> bytes(static_cast<size_t>(openForReading(in, path, "read")));
    if (!bytes.empty() &&
        !in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size())))
        CV_Error(Error::StsError, cv::format("cannot read '%s': read error after %lld of %llu bytes", path.c_str(),
                                             (long long)in.gcount(), (unsigned long long)bytes.size()));
    return bytes;
}

void writeFileAtomically(const std::string& path, const std::function<void(const std::string& tmpPath)>& writer)
{
    if (path.empty())
        CV_Error(Error::StsBadArg, "cannot save: the file path is empty");
    if (!writer)
        CV_Error(Error::StsBadArg, cv::format("cannot save '%s': no writer function given", path.c_str()));
    if (pathKind(path) == PathKind::Folder || path.back() == '/' || path.back() == '\\')
        CV_Error(Error::StsBadArg,
                 cv::format("cannot save '%s': it is a folder; pass the path of a file", path.c_str()));
    const std::string folder = parentFolder(path);
    int err = 0;
    PathKind folderKind = pathKind(folder, &err);
    if (folderKind == PathKind::Missing)
        CV_Error(Error::StsError, cv::format("cannot save '%s': folder '%s' does not exist (%s); create it first",
                                             path.c_str(), folder.c_str(), errnoText(err).c_str()));
    if (folderKind != PathKind::Folder)
        CV_Error(Error::StsError,
                 cv::format("cannot save '%s': '%s' is not a folder", path.c_str(), folder.c_str()));

    // O_EXCL guarantees no other writer (thread or process) shares the temporary file; a stale name left by a
    // killed process with a recycled pid is simply skipped.
    std::string tmpPath;
    for (int attempt = 0;; attempt++)
    {
        // The tag goes before the extensions so that writers which choose a format by name (FileStorage's
        // ".yml.gz") see the same name ending as the final file.
        const size_t nameStart = path.find_last_of("/\\") == std::string::npos ? 0 : path.find_last_of("/\\") + 1;
        size_t dot = path.find('.', nameStart + 1);
        if (dot == std::string::npos)
            dot = path.size();
        tmpPath = path.substr(0, dot) +
                  cv::format(".tmp-%d-%llu", currentProcessId(),
                             static_cast<unsigned long long>(tempCounter.fetch_add(1))) +
                  path.substr(dot);
        int fd = createExclusive(tmpPath);
        if (fd >= 0)
        {
            closeFd(fd);
            break;
        }
        int e = errno;
        if (e != EEXIST || attempt >= 100)
            CV_Error(Error::StsError,
                     cv::format("cannot save '%s': cannot create a temporary file in folder '%s': %s; "
                                "check that the folder is writable and the disk is not full",
                                path.c_str(), folder.c_str(), errnoText(e).c_str()));
    }

    try
    {
        writer(tmpPath);
    }
    catch (const cv::Exception&)
    {
        removeQuietly(tmpPath);
        throw; // it already says what went wrong; keep its error code too
    }
    catch (const std::exception& e)
    {
        removeQuietly(tmpPath);
        CV_Error(Error::StsError, cv::format("cannot save '%s': %s", path.c_str(), e.what()));
    }
    catch (...)
    {
        removeQuietly(tmpPath);
        CV_Error(Error::StsError, cv::format("cannot save '%s': unknown error while writing", path.c_str()));
    }

    // Flushing before the rename is what makes a crash leave either the old or the new file, never a mix.
    if (!flushFileToDisk(tmpPath))
    {
        int e = errno;
        removeQuietly(tmpPath);
        CV_Error(Error::StsError, cv::format("cannot save '%s': flushing temporary file '%s' failed: %s",
                                             path.c_str(), tmpPath.c_str(), errnoText(e).c_str()));
    }
    copyPermissions(path, tmpPath);
    if (!replaceFile(tmpPath, path))
    {
        int e = errno;
        removeQuietly(tmpPath);
        CV_Error(Error::StsError, cv::format("cannot save '%s': renaming the temporary file over it failed: %s",
                                             path.c_str(), errnoText(e).c_str()));
    }
    flushFolderToDisk(folder);
}

void writeContainer(const std::string& path, uint32_t formatVersion, const Sections& sections)
{
    if (formatVersion == 0)
        CV_Error(Error::StsBadArg, "writeContainer: format version 0 is reserved as invalid; use 1 or more");
    if (sections.size() > 0xffffffffu)
        CV_Error(Error::StsBadArg, "writeContainer: too many sections");
    for (const auto& s : sections)
        if (s.first.size() > 0xffffffffu)
            CV_Error(Error::StsBadArg, "writeContainer: section name too long");

    writeFileAtomically(path, [&](const std::string& tmpPath) {
        HashingWriter out(tmpPath, path);
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
    });
}

Sections readContainer(const std::string& path, uint32_t maxSupportedVersion, uint32_t* formatVersion)
{
    ContainerReader in(path);

    // The magic is checked on whatever prefix exists, so a short foreign file is called foreign, not truncated.
    char magic[kMagicSize] = {0};
    size_t magicAvailable = static_cast<size_t>(std::min<uint64_t>(in.remaining(), kMagicSize));
    in.read(magic, magicAvailable);
    if (std::memcmp(magic, kMagic, magicAvailable) != 0)
        CV_Error(Error::StsParseError,
                 cv::format("'%s' is not a PatchCore binary file (wrong magic bytes); pass a file written by "
                            "cv::patchcore", path.c_str()));
    if (magicAvailable == 0)
        in.truncated("the file is empty");
    if (magicAvailable < kMagicSize)
        in.truncated("the file ends inside the header");

    const uint32_t version = in.readLE<uint32_t>();
    if (version == 0)
        in.corrupted("format version 0 is invalid");
    // Checked before anything else is parsed: a newer format may have a different layout.
    if (version > maxSupportedVersion)
        CV_Error(Error::StsParseError,
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
