// Device presence and description.
#include "cuda_common.hpp"

#include <cstdio>

namespace patchcore_cuda {

bool deviceAvailable(std::string* why)
{
    int count = 0;
    const cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess)
    {
        cudaGetLastError();
        if (why)
            *why = std::string(cudaGetErrorName(status)) + ": " + cudaGetErrorString(status);
        return false;
    }
    if (count == 0)
    {
        if (why)
            *why = "the CUDA runtime reports 0 devices";
        return false;
    }
    if (why)
        why->clear();
    return true;
}

std::string deviceDescription()
{
    detail::requireDevice();
    int device = 0;
    detail::check(cudaGetDevice(&device), "cudaGetDevice");
    cudaDeviceProp prop{};
    detail::check(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties");
    char details[96];
    std::snprintf(details, sizeof(details), ", compute %d.%d, %d SMs, %.1f GiB", prop.major, prop.minor,
                  prop.multiProcessorCount, static_cast<double>(prop.totalGlobalMem) / (1u << 30));
    return std::string(prop.name) + details;
}

} // namespace patchcore_cuda
