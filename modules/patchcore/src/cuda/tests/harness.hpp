// Minimal test layer: GoogleTest when PATCHCORE_CUDA_GTEST is defined, otherwise a small runner with the same
// macros, so that the tests build on a GPU machine that has only the CUDA toolkit and CMake.
#ifndef PATCHCORE_CUDA_TEST_HARNESS_HPP
#define PATCHCORE_CUDA_TEST_HARNESS_HPP

#include "patchcore_cuda.hpp"

#include <cstdio>
#include <string>

#ifdef PATCHCORE_CUDA_GTEST
#include <gtest/gtest.h>
#define PCC_TEST(suite, name) TEST(suite, name)
#define PCC_CHECK(cond) EXPECT_TRUE(cond)
#define PCC_CHECK_MSG(cond, msg) EXPECT_TRUE(cond) << msg
#define PCC_SKIP(msg)                                                                                                  \
    do {                                                                                                               \
        std::printf("SKIPPED: %s\n", std::string(msg).c_str());                                                        \
        GTEST_SKIP() << msg;                                                                                           \
    } while (0)
#else
#include <exception>
#include <functional>
#include <iostream>
#include <sstream>
#include <vector>

namespace pcc_test {
struct Case
{
    const char* name;
    std::function<void()> run;
};
inline std::vector<Case>& cases()
{
    static std::vector<Case> all;
    return all;
}
inline int& failures()
{
    static int count = 0;
    return count;
}
struct Register
{
    Register(const char* name, std::function<void()> run) { cases().push_back({name, run}); }
};
} // namespace pcc_test

#define PCC_TEST(suite, name)                                                                                          \
    static void pcc_##suite##_##name();                                                                                \
    static ::pcc_test::Register pcc_register_##suite##_##name(#suite "." #name, pcc_##suite##_##name);                 \
    static void pcc_##suite##_##name()
#define PCC_CHECK_MSG(cond, msg)                                                                                       \
    do {                                                                                                               \
        if (!(cond))                                                                                                   \
        {                                                                                                              \
            std::ostringstream pcc_os;                                                                                 \
            pcc_os << msg;                                                                                             \
            std::printf("%s:%d: check failed: %s %s\n", __FILE__, __LINE__, #cond, pcc_os.str().c_str());             \
            ++::pcc_test::failures();                                                                                  \
        }                                                                                                              \
    } while (0)
#define PCC_CHECK(cond) PCC_CHECK_MSG(cond, "")
#define PCC_SKIP(msg)                                                                                                  \
    do {                                                                                                               \
        std::printf("SKIPPED: %s\n", std::string(msg).c_str());                                                        \
        return;                                                                                                        \
    } while (0)

int main()
{
    int failedCases = 0;
    for (const auto& c : ::pcc_test::cases())
    {
        const int before = ::pcc_test::failures();
        std::printf("[ RUN      ] %s\n", c.name);
        std::fflush(stdout);
        try
        {
            c.run();
        }
        catch (const std::exception& e)
        {
            std::printf("unexpected exception: %s\n", e.what());
            ++::pcc_test::failures();
        }
        const bool ok = ::pcc_test::failures() == before;
        failedCases += ok ? 0 : 1;
        std::printf("[ %s ] %s\n", ok ? "      OK" : " FAILED ", c.name);
    }
    std::printf("%d of %zu tests failed\n", failedCases, ::pcc_test::cases().size());
    return failedCases ? 1 : 0;
}
#endif

/** Skips the calling test when there is no device. */
#define PCC_REQUIRE_DEVICE()                                                                                           \
    do {                                                                                                               \
        std::string pcc_why;                                                                                           \
        if (!patchcore_cuda::deviceAvailable(&pcc_why))                                                                \
            PCC_SKIP("no CUDA device (" + pcc_why + ")");                                                              \
    } while (0)

/** True if `expr` throws an exception of type `E`. */
#define PCC_THROWS(expr, E)                                                                                            \
    [&]() {                                                                                                            \
        try                                                                                                            \
        {                                                                                                              \
            expr;                                                                                                      \
        }                                                                                                              \
        catch (const E&)                                                                                               \
        {                                                                                                              \
            return true;                                                                                               \
        }                                                                                                              \
        catch (...)                                                                                                    \
        {                                                                                                              \
            return false;                                                                                              \
        }                                                                                                              \
        return false;                                                                                                  \
    }()

#endif
