// Files written so that a failure never leaves a half-written file in place: a temporary file next to the target,
// checked, flushed and renamed over it; and the clean-up of temporary files that killed saves left behind.
#include "atomic_file.hpp"

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

namespace cv {
namespace patchcore {
namespace detail {

std::string errnoText(int err) { return std::strerror(err); }

PathKind pathKind(const std::string& path, int* err)
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

std::string parentFolder(const std::string& path)
{
    size_t slash = path.find_last_of("/\\");
    if (slash == std::string::npos)
        return ".";
    if (slash == 0)
        return path.substr(0, 1);
    return path.substr(0, slash);
}

namespace {

void removeQuietly(const std::string& path) { std::remove(path.c_str()); }

// POSIX only: the library relies on stat(), fsync() and rename() semantics throughout.
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

bool processAlive(long pid) { return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM; }

/** Removes temporary files that saves killed earlier (kill -9, power loss) left in `folder`: only names of our
 *  pattern, only with our savers' openings, only last written before this process loaded the library, and only when
 *  the process that wrote them is gone (or is this one under a recycled pid). Failures are ignored: this is
 *  housekeeping, not part of the save. */
void removeStaleTemporaries(const std::string& folder)
{
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
}

std::atomic<unsigned long long> tempCounter(0);

} // namespace

void writeFileAtomically(const std::string& path, const std::function<void(const std::string& tmpPath)>& writer,
                         const std::function<void(const std::string& tmpPath)>& verify)
{
    if (path.empty())
        PATCHCORE_ERROR(Error::StsBadArg, "cannot save: the file path is empty");
    if (!writer)
        PATCHCORE_ERROR(Error::StsBadArg, cv::format("cannot save '%s': no writer function given", path.c_str()));
    if (pathKind(path) == PathKind::Folder || path.back() == '/' || path.back() == '\\')
        PATCHCORE_ERROR(Error::StsBadArg,
                        cv::format("cannot save '%s': it is a folder; pass the path of a file", path.c_str()));
    const std::string folder = parentFolder(path);
    int err = 0;
    PathKind folderKind = pathKind(folder, &err);
    if (folderKind == PathKind::Missing)
        PATCHCORE_ERROR(Error::StsError,
                        cv::format("cannot save '%s': folder '%s' does not exist (%s); create it first", path.c_str(),
                                   folder.c_str(), errnoText(err).c_str()));
    if (folderKind != PathKind::Folder)
        PATCHCORE_ERROR(Error::StsError,
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
            PATCHCORE_ERROR(Error::StsError,
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
        PATCHCORE_ERROR(Error::StsError, cv::format("cannot save '%s': %s", path.c_str(), e.what()));
    }
    catch (...)
    {
        removeQuietly(tmpPath);
        PATCHCORE_ERROR(Error::StsError, cv::format("cannot save '%s': unknown error while writing", path.c_str()));
    }

    // Flushing before the rename is what makes a crash leave either the old or the new file, never a mix.
    if (!flushFileToDisk(tmpPath))
    {
        int e = errno;
        removeQuietly(tmpPath);
        PATCHCORE_ERROR(Error::StsError, cv::format("cannot save '%s': flushing temporary file '%s' failed: %s",
                                                    path.c_str(), tmpPath.c_str(), errnoText(e).c_str()));
    }
    copyPermissions(path, tmpPath);
    if (!replaceFile(tmpPath, path))
    {
        int e = errno;
        removeQuietly(tmpPath);
        PATCHCORE_ERROR(Error::StsError, cv::format("cannot save '%s': renaming the temporary file over it failed: %s",
                                                    path.c_str(), errnoText(e).c_str()));
    }
    flushFolderToDisk(folder);
}

void writeBytesAtomically(const std::string& path, const void* data, size_t size)
{
    writeFileAtomically(path, [&](const std::string& tmpPath) {
        FILE* f = std::fopen(tmpPath.c_str(), "wb");
        if (!f)
            PATCHCORE_ERROR(Error::StsError, cv::format("cannot save '%s': cannot open temporary file '%s': %s",
                                                        path.c_str(), tmpPath.c_str(), errnoText(errno).c_str()));
        const bool written = size == 0 || std::fwrite(data, 1, size, f) == size;
        const bool flushed = std::fflush(f) == 0 && !std::ferror(f);
        const int err = errno;
        const bool closed = std::fclose(f) == 0;
        if (!written || !flushed || !closed)
            PATCHCORE_ERROR(Error::StsError, cv::format("cannot save '%s': write failed: %s; check free disk space",
                                                        path.c_str(), errnoText(closed ? err : errno).c_str()));
        // A short write that the C library did not report (seen on full network file systems) shows here.
        struct stat st;
        if (::stat(tmpPath.c_str(), &st) != 0 || static_cast<uint64_t>(st.st_size) != size)
            PATCHCORE_ERROR(Error::StsError, cv::format("cannot save '%s': the temporary file holds %lld of %llu bytes "
                                                        "after writing; check free disk space",
                                                        path.c_str(), static_cast<long long>(st.st_size),
                                                        static_cast<unsigned long long>(size)));
    });
}

} // namespace detail
} // namespace patchcore
} // namespace cv
