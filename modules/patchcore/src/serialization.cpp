// Atomic file replacement and the checksummed binary container.
#include "serialization.hpp"
#include "sha256.hpp"

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
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
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#endif

namespace cv {
namespace patchcore {
namespace detail {

namespace {

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

// When this library was loaded: a temporary file last written before it cannot belong to a save of this process.
const std::time_t kLoadTime = std::time(nullptr);

/** The writer's process id if `name` is a temporary name of ours (`<stem>.tmp-<pid>-<counter><extensions>`),
 *  else -1. */
long temporaryOwner(const std::string& name)
{
    const size_t tag = name.find(".tmp-");
    if (tag == std::string::npos || tag == 0)
        return -1;
    size_t i = tag + 5, pidStart = i;
    while (i < name.size() && std::isdigit(static_cast<unsigned char>(name[i])))
        ++i;
    if (i == pidStart || i >= name.size() || name[i] != '-' || i - pidStart > 9)
        return -1;
    const long pid = std::stol(name.substr(pidStart, i - pidStart));
    const size_t counterStart = ++i;
    while (i < name.size() && std::isdigit(static_cast<unsigned char>(name[i])))
        ++i;
    if (i == counterStart || (i < name.size() && name[i] != '.'))
        return -1;
    return pid;
}

/** Whether a file's first bytes are what one of our savers writes first: the container magic, FileStorage's
 *  YAML/XML/JSON openings, gzip; an empty file is a save killed right after creating its temporary file. */
bool looksLikeOurOutput(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    char head[16] = {0};
    in.read(head, sizeof(head));
    const std::streamsize n = in.gcount();
    if (n == 0)
        return true;
    static const char* const openings[] = {"PATCHCORE-BIN", "%YAML", "<?xml", "{", "\x1f\x8b"};
    for (const char* o : openings)
    {
        const size_t len = std::strlen(o);
        if (static_cast<size_t>(n) >= len && std::memcmp(head, o, len) == 0)
            return true;
    }
    return false;
}

bool processAlive(long pid)
{
#ifdef _WIN32
    (void)pid;
    return true; // not checked there: nothing is removed
#else
    return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
#endif
}

/** Removes temporary files that saves killed earlier (kill -9, power loss) left in `folder`: only names of our
 *  pattern, only with our savers' openings, only last written before this process loaded the library, and only when
 *  the process that wrote them is gone (or is this one under a recycled pid). Failures are ignored: this is
 *  housekeeping, not part of the save. */
void removeStaleTemporaries(const std::string& folder)
{
#ifndef _WIN32
    DIR* dir = ::opendir(folder.c_str());
    if (!dir)
        return;
    std::vector<std::string> stale;
    while (const dirent* entry = ::readdir(dir))
    {
        const std::string name = entry->d_name;
        const long pid = temporaryOwner(name);
        if (pid < 0)
            continue;
        const std::string path = folder + "/" + name;
        struct stat st;
        if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_mtime >= kLoadTime)
            continue;
        if (pid != currentProcessId() && processAlive(pid))
            continue;
        if (looksLikeOurOutput(path))
            stale.push_back(path);
    }
    ::closedir(dir);
    for (const std::string& path : stale)
        removeQuietly(path);
#else
    (void)folder;
#endif
}

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
        close();
    }
    /** Flushes and closes, reporting any write error the buffered writes held back. */
    void close()
    {
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

void writeFileAtomically(const std::string& path, const std::function<void(const std::string& tmpPath)>& writer,
                         const std::function<void(const std::string& tmpPath)>& verify)
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
    removeStaleTemporaries(folder);

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
        // Writers that cannot report their own write errors (FileStorage's gzip output) are checked by reading
        // back what they wrote, before it may replace anything.
        if (verify)
            verify(tmpPath);
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

void writeBytesAtomically(const std::string& path, const void* data, size_t size)
{
    writeFileAtomically(path, [&](const std::string& tmpPath) {
        HashingWriter out(tmpPath, path);
        out.write(data, size, false);
        out.close();
        // A short write that the C library did not report (seen on full network file systems) shows here.
        struct stat st;
        if (::stat(tmpPath.c_str(), &st) != 0 || static_cast<uint64_t>(st.st_size) != size)
            CV_Error(Error::StsError, cv::format("cannot save '%s': the temporary file holds %lld of %llu bytes "
                                                 "after writing; check free disk space",
                                                 path.c_str(), static_cast<long long>(st.st_size),
                                                 static_cast<unsigned long long>(size)));
    });
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
