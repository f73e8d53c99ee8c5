// Enforces the C++ threading contract for Python callers: const calls may overlap one another, a non-const call
// (train, update, calibrate, set_*, clear) must run alone on its object. Python threads make overlapping calls easy
// to write by mistake; without this they would be undefined behaviour in C++ instead of an exception.
#ifndef PATCHCORE_PYTHON_GUARD_HPP
#define PATCHCORE_PYTHON_GUARD_HPP

#include "errors.hpp"

#include <atomic>
#include <memory>
#include <string>

namespace patchcore_python {

/** Readers count up from 0, a writer holds -1. Never blocks: a call that cannot enter raises at once, because
 *  waiting could deadlock (a progress callback that calls back into the object it reports on). */
class CallGuard
{
public:
    class Scope
    {
    public:
        Scope(std::atomic<int>& state, bool exclusive) : state_(state), exclusive_(exclusive) {}
        Scope(const Scope&) = delete;
        Scope& operator=(const Scope&) = delete;
        ~Scope()
        {
            if (exclusive_)
                state_.store(0);
            else
                state_.fetch_sub(1);
        }

    private:
        std::atomic<int>& state_;
        bool exclusive_;
    };

    /** For const calls (predict, save, getters): fails only while a non-const call runs. */
    Scope shared(const char* type, const char* method)
    {
        int s = state_.load();
        do
        {
            if (s < 0)
                throw Busy{std::string("patchcore: ") + type + "." + method + "() was called while a non-const call "
                           "(train, update, calibrate, set_..., clear) runs on the same " + type + " in another "
                           "thread; wait for it to return"};
        } while (!state_.compare_exchange_weak(s, s + 1));
        return Scope(state_, false);
    }

    /** For non-const calls: fails while any other call runs on the object. */
    Scope exclusive(const char* type, const char* method)
    {
        int expected = 0;
        if (!state_.compare_exchange_strong(expected, -1))
            throw Busy{std::string("patchcore: ") + type + "." + method + "() modifies the " + type +
                       " and cannot run while another call on it runs in another thread (concurrent predict-like "
                       "calls are fine, but not with this one); wait for them to return"};
        return Scope(state_, true);
    }

private:
    std::atomic<int> state_{0};
};

/** A library object as Python holds it: the object, its guard, and (for detectors) whether a Python progress
 *  callback is set. */
template <class T>
struct Handle
{
    std::shared_ptr<T> object;
    std::shared_ptr<CallGuard> guard = std::make_shared<CallGuard>();
};

} // namespace patchcore_python

#endif
