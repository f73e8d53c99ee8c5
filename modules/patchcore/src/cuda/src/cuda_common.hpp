// Host-side helpers shared by the library's sources: error checks that throw, owning device buffers, pointer kinds.
#ifndef PATCHCORE_CUDA_COMMON_HPP
#define PATCHCORE_CUDA_COMMON_HPP

#include "patchcore_cuda.hpp"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <string>
#include <utility>

namespace patchcore_cuda {
namespace detail {

inline void check(cudaError_t status, const char* what)
{
    if (status != cudaSuccess)
    {
        // Clear a non-sticky error so that the next call on this thread does not report it again.
        cudaGetLastError();
        throw Error(std::string("patchcore_cuda: ") + what + " failed: " + cudaGetErrorName(status) + " (" +
                    cudaGetErrorString(status) + ")");
    }
}

inline void check(cublasStatus_t status, const char* what)
{
    if (status != CUBLAS_STATUS_SUCCESS)
        throw Error(std::string("patchcore_cuda: ") + what + " failed: " + cublasGetStatusName(status) + " (" +
                    cublasGetStatusString(status) + ")");
}

/** After a kernel launch: launch-configuration errors surface here, execution errors at the next synchronisation. */
inline void checkLaunch(const char* kernel) { check(cudaGetLastError(), kernel); }

/** True if `p` is device (or managed) memory that kernels may read directly. */
inline bool isDevicePointer(const void* p)
{
    cudaPointerAttributes attr{};
    if (cudaPointerGetAttributes(&attr, p) != cudaSuccess)
    {
        cudaGetLastError(); // older runtimes report plain host memory as an error
        return false;
    }
    return attr.type == cudaMemoryTypeDevice || attr.type == cudaMemoryTypeManaged;
}

/** Owning device allocation; moves, never copies. */
template <typename T>
class DeviceBuffer
{
public:
    DeviceBuffer() = default;
    explicit DeviceBuffer(size_t count) { allocate(count); }
    ~DeviceBuffer() { release(); }
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;
    DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(o.ptr_), count_(o.count_) { o.ptr_ = nullptr; o.count_ = 0; }
    DeviceBuffer& operator=(DeviceBuffer&& o) noexcept
    {
        std::swap(ptr_, o.ptr_);
        std::swap(count_, o.count_);
        return *this;
    }

    void allocate(size_t count)
    {
        release();
        if (count == 0)
            return;
        void* p = nullptr;
        const cudaError_t status = cudaMalloc(&p, count * sizeof(T));
        if (status != cudaSuccess)
        {
            cudaGetLastError();
            throw Error("patchcore_cuda: cudaMalloc of " + std::to_string(count * sizeof(T) >> 20) +
                        " MiB failed: " + cudaGetErrorString(status));
        }
        ptr_ = static_cast<T*>(p);
        count_ = count;
    }
    /** Reallocates only when more is needed, so that repeated calls reuse one allocation. */
    void reserve(size_t count)
    {
        if (count > count_)
            allocate(count);
    }
    void release()
    {
        if (ptr_)
            cudaFree(ptr_);
        ptr_ = nullptr;
        count_ = 0;
    }
    T* get() const { return ptr_; }
    size_t size() const { return count_; }

private:
    T* ptr_ = nullptr;
    size_t count_ = 0;
};

/** A cuBLAS handle bound to one stream. */
class Blas
{
public:
    Blas() { check(cublasCreate(&handle_), "cublasCreate"); }
    ~Blas() { cublasDestroy(handle_); }
    Blas(const Blas&) = delete;
    Blas& operator=(const Blas&) = delete;
    cublasHandle_t get() const { return handle_; }

private:
    cublasHandle_t handle_ = nullptr;
};

/** A non-blocking stream, destroyed with its owner. */
class Stream
{
public:
    Stream() { check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate"); }
    ~Stream() { cudaStreamDestroy(stream_); }
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;
    cudaStream_t get() const { return stream_; }

private:
    cudaStream_t stream_ = nullptr;
};

/** Throws a clear message when there is no device, before any allocation fails obscurely. */
inline void requireDevice()
{
    std::string why;
    if (!deviceAvailable(&why))
        throw Error("patchcore_cuda: no CUDA device available (" + why + ")");
}

inline size_t freeDeviceMemory()
{
    size_t freeBytes = 0, totalBytes = 0;
    check(cudaMemGetInfo(&freeBytes, &totalBytes), "cudaMemGetInfo");
    return freeBytes;
}

} // namespace detail
} // namespace patchcore_cuda

#endif
