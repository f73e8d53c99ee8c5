// Tests of SHA-256, atomic file replacement and the checksummed binary container.
#include "test_precomp.hpp"

#include "serialization.hpp"

#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <thread>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef __linux__
#include <csignal>
#include <sys/wait.h>
#endif

namespace opencv_test {
namespace {

using namespace cv::patchcore::detail;

void writeBytes(const std::string& path, const std::vector<uchar>& bytes)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    ASSERT_TRUE(out.good()) << path;
}

std::vector<std::string> listFolder(const std::string& dir)
{
    std::vector<std::string> names;
    DIR* d = ::opendir(dir.c_str());
    if (!d)
        return names;
    while (dirent* e = ::readdir(d))
    {
        std::string name = e->d_name;
        if (name != "." && name != "..")
            names.push_back(name);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    return names;
}

void removeFlatFolder(const std::string& dir)
{
    for (const std::string& name : listFolder(dir))
        std::remove((dir + "/" + name).c_str());
    ::rmdir(dir.c_str());
}

void appendU32(std::vector<uchar>& out, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        out.push_back(static_cast<uchar>(v >> (8 * i)));
}
void appendU64(std::vector<uchar>& out, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        out.push_back(static_cast<uchar>(v >> (8 * i)));
}
void appendChecksum(std::vector<uchar>& out)
{
    std::array<uint8_t, 32> digest = sha256(out.data(), out.size());
    out.insert(out.end(), digest.begin(), digest.end());
}

/** Builds container bytes by hand, independently of writeContainer, so malformed-but-checksummed files can be made. */
typedef std::vector<std::pair<std::string, std::vector<uchar>>> SectionList; // unlike Sections, allows duplicates
std::vector<uchar> handmadeContainer(uint32_t version, const SectionList& sections, uint64_t overridePayloadLength = 0)
{
    std::vector<uchar> out(16, 0); // "PATCHCORE-BIN" padded with NULs
    std::memcpy(out.data(), "PATCHCORE-BIN", 13);
    appendU32(out, version);
    appendU32(out, static_cast<uint32_t>(sections.size()));
    for (const auto& s : sections)
    {
        appendU32(out, static_cast<uint32_t>(s.first.size()));
        out.insert(out.end(), s.first.begin(), s.first.end());
        appendU64(out, overridePayloadLength ? overridePayloadLength : s.second.size());
        out.insert(out.end(), s.second.begin(), s.second.end());
    }
    appendChecksum(out);
    return out;
}

Sections smallSections()
{
    Sections s;
    s["params"] = std::vector<uchar>{'k', '=', '1'};
    s["empty"] = std::vector<uchar>();
    s["bank"] = std::vector<uchar>{0, 1, 2, 250, 255};
    return s;
}

} // namespace

// ---------------------------------------------------------------------------------------------------------------
// SHA-256

TEST(Patchcore_Serialization, sha256_standard_vectors)
{
    EXPECT_EQ(sha256Hex("", 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(sha256Hex(nullptr, 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(sha256Hex("abc", 3), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const std::string m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    EXPECT_EQ(sha256Hex(m448.data(), m448.size()),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    const std::string million(1000000, 'a');
    EXPECT_EQ(sha256Hex(million.data(), million.size()),
              "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");

    std::array<uint8_t, 32> raw = sha256("abc", 3);
    EXPECT_EQ(raw[0], 0xba);
    EXPECT_EQ(raw[31], 0xad);
}

// Lengths around the 55/56/64-byte padding boundaries; expected values from coreutils sha256sum.
TEST(Patchcore_Serialization, sha256_padding_boundaries)
{
    const std::pair<size_t, const char*> cases[] = {
        {55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
        {56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
        {63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
        {64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
        {65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"},
        {119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"},
        {120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c"},
        {127, "c57e9278af78fa3cab38667bef4ce29d783787a2f731d4e12200270f0c32320a"},
        {128, "6836cf13bac400e9105071cd6af47084dfacad4e5e302c94bfed24e013afb73e"},
        {129, "c12cb024a2e5551cca0e08fce8f1c5e314555cc3fef6329ee994a3db752166ae"},
    };
    for (const auto& c : cases)
    {
        const std::string msg(c.first, 'a');
        EXPECT_EQ(sha256Hex(msg.data(), msg.size()), c.second) << "length " << c.first;
    }
}

TEST(Patchcore_Serialization, sha256File_matches_in_memory_hash)
{
    const std::string dir = tempDir();
    const size_t sizes[] = {0, 1, 65535, 65536, 65537, 300001};
    for (size_t size : sizes)
    {
        std::vector<uchar> data(size);
        cv::RNG rng(static_cast<uint64>(size) + 1);
        for (auto& b : data)
            b = static_cast<uchar>(rng.uniform(0, 256));
        const std::string path = dir + "/data.bin";
        writeBytes(path, data);
        EXPECT_EQ(sha256File(path), sha256Hex(data.data(), data.size())) << "size " << size;
    }
    expectErrorWith([&] { sha256File(dir + "/missing.bin"); }, dir + "/missing.bin");
    expectErrorWith([&] { sha256File(dir); }, "folder");
    removeFlatFolder(dir);
}

// ---------------------------------------------------------------------------------------------------------------
// readFileBytes

TEST(Patchcore_Serialization, readFileBytes_reads_and_names_bad_paths)
{
    const std::string dir = tempDir();
    const std::vector<uchar> data = {0, 'x', 0, 255, 10, 13};
    writeBytes(dir + "/a.bin", data);
    EXPECT_EQ(readFileBytes(dir + "/a.bin"), data);
    writeBytes(dir + "/empty.bin", {});
    EXPECT_TRUE(readFileBytes(dir + "/empty.bin").empty());

    expectErrorWith([&] { readFileBytes(dir + "/nope.bin"); }, dir + "/nope.bin");
    expectErrorWith([&] { readFileBytes(dir); }, "is a folder");
    expectErrorWith([&] { readFileBytes(dir); }, dir);
    if (::geteuid() != 0)
    {
        ::chmod((dir + "/a.bin").c_str(), 0);
        expectErrorWith([&] { readFileBytes(dir + "/a.bin"); }, dir + "/a.bin");
    }
    removeFlatFolder(dir);
}

// ---------------------------------------------------------------------------------------------------------------
// Container

TEST(Patchcore_Serialization, container_round_trip)
{
    const std::string dir = tempDir();
    Sections sections;
    sections["empty"] = std::vector<uchar>();
    std::vector<uchar> big(1 << 20);
    for (size_t i = 0; i < big.size(); i++)
        big[i] = static_cast<uchar>((i * 2654435761u) >> 13);
    sections["bank"] = big;
    sections["zeros"] = std::vector<uchar>(4097, 0);
    sections[""] = std::vector<uchar>{1};
    sections[std::string("bin\0name", 8)] = std::vector<uchar>{0, 0, 0};

    const std::string path = dir + "/model.bin";
    writeContainer(path, 3, sections);
    EXPECT_TRUE(isContainerFile(path));
    uint32_t version = 0;
    Sections back = readContainer(path, 5, &version);
    EXPECT_EQ(version, 3u);
    EXPECT_EQ(back, sections);
    EXPECT_NO_THROW(readContainer(path, 3, nullptr));

    writeContainer(path, 1, Sections());
    EXPECT_TRUE(readContainer(path, 1, &version).empty());
    EXPECT_EQ(version, 1u);
    EXPECT_EQ(listFolder(dir), std::vector<std::string>{"model.bin"});
    removeFlatFolder(dir);
}

TEST(Patchcore_Serialization, container_layout_matches_documentation)
{
    const std::string dir = tempDir();
    Sections sections;
    sections["ab"] = std::vector<uchar>{7, 8, 9};
    writeContainer(dir + "/c.bin", 0x01020304, sections);
    const std::vector<uchar> expected = handmadeContainer(0x01020304, {{"ab", {7, 8, 9}}});
    EXPECT_EQ(readFileBytes(dir + "/c.bin"), expected);
    ASSERT_EQ(expected.size(), 16u + 4 + 4 + 4 + 2 + 8 + 3 + 32);
    EXPECT_EQ(expected[16], 0x04); // little endian
    removeFlatFolder(dir);
}

TEST(Patchcore_Serialization, container_every_truncation_throws)
{
    const std::string dir = tempDir();
    const std::string path = dir + "/full.bin";
    writeContainer(path, 2, smallSections());
    const std::vector<uchar> full = readFileBytes(path);
    const std::string cut = dir + "/cut.bin";
    for (size_t len = 0; len < full.size(); len++)
    {
        writeBytes(cut, std::vector<uchar>(full.begin(), full.begin() + len));
        try
        {
            readContainer(cut, 2, nullptr);
            ADD_FAILURE() << "prefix of " << len << " bytes was accepted";
        }
        catch (const cv::Exception& e)
        {
            // Past the magic every short file must say it is truncated, not something misleading.
            if (len >= 16 && len < full.size() - 32)
            {
                EXPECT_NE(e.err.find("truncated"), std::string::npos) << "length " << len << ": " << e.err;
            }
        }
    }
    removeFlatFolder(dir);
}

TEST(Patchcore_Serialization, container_every_byte_flip_throws)
{
    const std::string dir = tempDir();
    const std::string path = dir + "/full.bin";
    writeContainer(path, 2, smallSections());
    const std::vector<uchar> full = readFileBytes(path);
    const std::string bad = dir + "/bad.bin";
    const uchar masks[] = {0x01, 0x10, 0x80, 0xff};
    for (size_t pos = 0; pos < full.size(); pos++)
    {
        for (uchar mask : masks)
        {
            std::vector<uchar> bytes = full;
            bytes[pos] ^= mask;
            writeBytes(bad, bytes);
            EXPECT_THROW(readContainer(bad, 2, nullptr), cv::Exception) << "byte " << pos << " mask " << int(mask);
        }
    }
    std::vector<uchar> bytes = full;
    bytes[full.size() - 33] ^= 1; // inside the last payload: only the checksum can catch it
    writeBytes(bad, bytes);
    expectErrorWith([&] { readContainer(bad, 2, nullptr); }, "corrupted: checksum mismatch");
    removeFlatFolder(dir);
}

TEST(Patchcore_Serialization, container_rejects_newer_and_zero_versions)
{
    const std::string dir = tempDir();
    const std::string path = dir + "/v.bin";
    writeContainer(path, 7, smallSections());
    expectErrorWith([&] { readContainer(path, 6, nullptr); }, "newer");
    expectErrorWith([&] { readContainer(path, 6, nullptr); }, "(format 7), this library reads up to 6");
    EXPECT_NO_THROW(readContainer(path, 7, nullptr));

    writeBytes(path, handmadeContainer(0, {{"a", {1}}}));
    expectErrorWith([&] { readContainer(path, 5, nullptr); }, "version 0");
    EXPECT_THROW(writeContainer(dir + "/zero.bin", 0, smallSections()), cv::Exception);
    removeFlatFolder(dir);
}

TEST(Patchcore_Serialization, container_rejects_foreign_files)
{
    const std::string dir = tempDir();
    const std::string path = dir + "/f.bin";
    writeBytes(path, std::vector<uchar>{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
                                        0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0});
    expectErrorWith([&] { readContainer(path, 1, nullptr); }, "not a PatchCore binary file");
    EXPECT_FALSE(isContainerFile(path));
    writeBytes(path, std::vector<uchar>{'{', '}'});
    expectErrorWith([&] { readContainer(path, 1, nullptr); }, "not a PatchCore binary file");
    writeBytes(path, std::vector<uchar>{'P', 'A', 'T'});
    expectErrorWith([&] { readContainer(path, 1, nullptr); }, "truncated");
    EXPECT_FALSE(isContainerFile(path));
    writeBytes(path, {});
    expectErrorWith([&] { readContainer(path, 1, nullptr); }, "empty");

    expectErrorWith([&] { readContainer(dir + "/missing.bin", 1, nullptr); }, dir + "/missing.bin");
    expectErrorWith([&] { readContainer(dir, 1, nullptr); }, "folder");
    EXPECT_FALSE(isContainerFile(dir + "/missing.bin"));
    EXPECT_FALSE(isContainerFile(dir));
    removeFlatFolder(dir);
}

TEST(Patchcore_Serialization, container_rejects_duplicates_and_trailing_garbage)
{
    const std::string dir = tempDir();
    const std::string path = dir + "/d.bin";
    writeBytes(path, handmadeContainer(1, {{"bank", {1, 2}}, {"bank", {3}}}));
    expectErrorWith([&] { readContainer(path, 1, nullptr); }, "'bank' appears twice");

    std::vector<uchar> bytes = handmadeContainer(1, {{"bank", {1, 2}}});
    EXPECT_NO_THROW(writeBytes(path, bytes); readContainer(path, 1, nullptr));
    bytes.push_back(0);
    writeBytes(path, bytes);
    expectErrorWith([&] { readContainer(path, 1, nullptr); }, "trailing garbage");
    removeFlatFolder(dir);
}

// A corrupted length must be rejected by comparing with the file size, never by trying to allocate it.
TEST(Patchcore_Serialization, container_huge_lengths_do_not_allocate)
{
    const std::string dir = tempDir();
    const std::string path = dir + "/h.bin";
    writeBytes(path, handmadeContainer(1, {{"bank", {1, 2}}}, 0x7fffffffffffffffull));
    expectErrorWith([&] { readContainer(path, 1, nullptr); }, "truncated");
    writeBytes(path, handmadeContainer(1, {{"bank", {1, 2}}}, 0xffffffffffffffffull));
    expectErrorWith([&] { readContainer(path, 1, nullptr); }, "truncated");

    std::vector<uchar> bytes = handmadeContainer(1, {{"bank", {1, 2}}});
    bytes[20] = bytes[21] = bytes[22] = bytes[23] = 0xff; // section count
    writeBytes(path, bytes);
    expectErrorWith([&] { readContainer(path, 1, nullptr); }, "truncated");
    bytes = handmadeContainer(1, {{"bank", {1, 2}}});
    bytes[24] = bytes[25] = bytes[26] = bytes[27] = 0xff; // name length
    writeBytes(path, bytes);
    expectErrorWith([&] { readContainer(path, 1, nullptr); }, "truncated");
    removeFlatFolder(dir);
}

// ---------------------------------------------------------------------------------------------------------------
// writeFileAtomically

TEST(Patchcore_Serialization, atomic_write_failure_keeps_previous_file)
{
    const std::string dir = tempDir();
    const std::string path = dir + "/model.bin";
    writeContainer(path, 1, smallSections());
    const std::vector<uchar> before = readFileBytes(path);

    auto halfThenThrow = [&](int kind) {
        return [kind](const std::string& tmp) {
            std::ofstream out(tmp, std::ios::binary);
            out << "partial data";
            out.close();
            if (kind == 0)
                CV_Error(cv::Error::StsError, "writer failed on purpose");
            if (kind == 1)
                throw std::runtime_error("writer failed on purpose");
            throw 42;
        };
    };
    expectErrorWith([&] { writeFileAtomically(path, halfThenThrow(0)); }, "writer failed on purpose");
    expectErrorWith([&] { writeFileAtomically(path, halfThenThrow(1)); }, "writer failed on purpose");
    expectErrorWith([&] { writeFileAtomically(path, halfThenThrow(1)); }, path);
    expectErrorWith([&] { writeFileAtomically(path, halfThenThrow(2)); }, path);

    EXPECT_EQ(readFileBytes(path), before);
    EXPECT_EQ(listFolder(dir), std::vector<std::string>{"model.bin"});

    // A writer that deletes its temporary file is a failure too, not a silent success.
    EXPECT_THROW(writeFileAtomically(path, [](const std::string& tmp) { std::remove(tmp.c_str()); }),
                 cv::Exception);
    EXPECT_EQ(readFileBytes(path), before);
    EXPECT_EQ(listFolder(dir), std::vector<std::string>{"model.bin"});
    removeFlatFolder(dir);
}

TEST(Patchcore_Serialization, atomic_write_replaces_and_keeps_permissions)
{
    const std::string dir = tempDir();
    const std::string path = dir + "/f.txt";
    writeFileAtomically(path, [](const std::string& tmp) { std::ofstream(tmp) << "one"; });
    ::chmod(path.c_str(), 0640);
    writeFileAtomically(path, [](const std::string& tmp) { std::ofstream(tmp) << "two"; });
    EXPECT_EQ(readFileBytes(path), (std::vector<uchar>{'t', 'w', 'o'}));
    struct stat st;
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0640u);
    EXPECT_EQ(listFolder(dir), std::vector<std::string>{"f.txt"});
    removeFlatFolder(dir);
}

TEST(Patchcore_Serialization, atomic_write_bad_destinations_throw)
{
    const std::string dir = tempDir();
    const std::string missing = dir + "/no/such/folder/model.bin";
    expectErrorWith([&] { writeContainer(missing, 1, smallSections()); }, "does not exist");
    expectErrorWith([&] { writeContainer(missing, 1, smallSections()); }, missing);
    expectErrorWith([&] { writeContainer(dir, 1, smallSections()); }, "folder");
    expectErrorWith([&] { writeContainer("", 1, smallSections()); }, "empty");
    writeBytes(dir + "/file", {1});
    EXPECT_THROW(writeContainer(dir + "/file/model.bin", 1, smallSections()), cv::Exception);

    if (::geteuid() != 0) // root ignores folder permissions
    {
        const std::string locked = dir + "/locked";
        ASSERT_EQ(::mkdir(locked.c_str(), 0500), 0);
        expectErrorWith([&] { writeContainer(locked + "/model.bin", 1, smallSections()); }, "writable");
        EXPECT_TRUE(listFolder(locked).empty());
        ::rmdir(locked.c_str());
    }
    removeFlatFolder(dir);
}

TEST(Patchcore_Serialization, atomic_write_concurrent_writers)
{
    const std::string dir = tempDir();
    const int threads = 4, rounds = 20;
    std::atomic<int> failures(0);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; t++)
    {
        pool.emplace_back([&, t] {
            for (int r = 0; r < rounds; r++)
            {
                Sections s;
                s["thread"] = std::vector<uchar>(1000 + r, static_cast<uchar>(t));
                try
                {
                    writeContainer(cv::format("%s/model_%d.bin", dir.c_str(), t), 1, s);
                    writeContainer(dir + "/shared.bin", 1, s); // same target from every thread
                }
                catch (const cv::Exception&)
                {
                    failures++;
                }
            }
        });
    }
    for (auto& th : pool)
        th.join();
    EXPECT_EQ(failures.load(), 0);
    for (int t = 0; t < threads; t++)
    {
        Sections back = readContainer(cv::format("%s/model_%d.bin", dir.c_str(), t), 1, nullptr);
        EXPECT_EQ(back["thread"], std::vector<uchar>(1000 + rounds - 1, static_cast<uchar>(t)));
    }
    // Whoever renamed last won, but the shared file is one complete container, never a mix.
    EXPECT_NO_THROW(readContainer(dir + "/shared.bin", 1, nullptr));
    EXPECT_EQ(listFolder(dir).size(), static_cast<size_t>(threads + 1));
    removeFlatFolder(dir);
}

#ifdef __linux__
TEST(Patchcore_Serialization, killed_save_never_damages_previous_file)
{
    const std::string dir = tempDir();
    const std::string path = dir + "/model.bin";
    writeContainer(path, 1, smallSections());
    const std::vector<uchar> before = readFileBytes(path);

    Sections bigger;
    bigger["bank"] = std::vector<uchar>(1 << 16, 0xab);
    const std::string newPath = dir + "/new.bin";
    writeContainer(newPath, 1, bigger);
    const std::vector<uchar> newBytes = readFileBytes(newPath);
    std::remove(newPath.c_str());

    int ready[2];
    ASSERT_EQ(::pipe(ready), 0);
    fflush(nullptr); // so the child does not flush the parent's buffered output a second time
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0)
    {
        ::close(ready[0]);
        try
        {
            writeFileAtomically(path, [&](const std::string& tmp) {
                FILE* f = std::fopen(tmp.c_str(), "wb");
                if (f)
                {
                    std::fwrite(newBytes.data(), 1, newBytes.size() / 2, f);
                    std::fflush(f);
                }
                if (::write(ready[1], "x", 1) != 1)
                    ::_exit(3);
                for (;;)
                    ::pause(); // wait for SIGKILL in the middle of the save
            });
        }
        catch (...)
        {
        }
        ::_exit(2);
    }
    ::close(ready[1]);
    char c = 0;
    ssize_t got = ::read(ready[0], &c, 1);
    ::close(ready[0]);
    ::kill(child, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_EQ(got, 1) << "the child did not reach the middle of the save";
    ASSERT_TRUE(WIFSIGNALED(status));
    EXPECT_EQ(WTERMSIG(status), SIGKILL);

    EXPECT_EQ(readFileBytes(path), before);
    EXPECT_EQ(readContainer(path, 1, nullptr), smallSections());
    // The half-written temporary file is left behind after SIGKILL; it must not get in the way of the next save.
    EXPECT_EQ(listFolder(dir).size(), 2u);
    writeContainer(path, 1, bigger);
    EXPECT_EQ(readContainer(path, 1, nullptr), bigger);
    removeFlatFolder(dir);
}
#endif

} // namespace opencv_test
