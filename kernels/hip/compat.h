// The one place that knows whether these sources are built by hipcc (ROCm) or by nvcc (CUDA).
//
// The kernels and the host shim are written in HIP. hipcc compiles them as they are; nvcc
// compiles them as CUDA (`-x cu`) with this header mapping the handful of hip* host names they
// use to their CUDA twins. Device code needs no mapping: __global__, __shared__,
// __syncthreads(), threadIdx/blockIdx/blockDim/gridDim and atomicAdd are spelt the same in both.
//
// Nothing here, nor in any kernel, assumes a warp (wavefront) size: gfx1030 runs wave32,
// gfx90a wave64, NVIDIA warps are 32. Block-level cooperation goes through __shared__ memory
// and __syncthreads() only.
#pragma once

#if defined(__CUDACC__) && !defined(__HIP__) && !defined(__HIPCC__)

#include <cuda_runtime.h>

#define SNNK_PLATFORM "CUDA"

typedef cudaError_t hipError_t;
typedef cudaStream_t hipStream_t;
typedef cudaDeviceProp hipDeviceProp_t;

#define hipSuccess cudaSuccess
#define hipErrorNoDevice cudaErrorNoDevice
#define hipErrorInvalidValue cudaErrorInvalidValue
#define hipMemcpyHostToDevice cudaMemcpyHostToDevice
#define hipMemcpyDeviceToHost cudaMemcpyDeviceToHost
#define hipMemcpyDeviceToDevice cudaMemcpyDeviceToDevice

#define hipGetDeviceCount cudaGetDeviceCount
#define hipSetDevice cudaSetDevice
#define hipGetDeviceProperties cudaGetDeviceProperties
#define hipRuntimeGetVersion cudaRuntimeGetVersion
#define hipDriverGetVersion cudaDriverGetVersion
#define hipGetErrorString cudaGetErrorString
#define hipGetErrorName cudaGetErrorName
#define hipGetLastError cudaGetLastError
#define hipMalloc cudaMalloc
#define hipFree cudaFree
#define hipMemcpyAsync cudaMemcpyAsync
#define hipMemsetAsync cudaMemsetAsync
#define hipStreamCreate cudaStreamCreate
#define hipStreamDestroy cudaStreamDestroy
#define hipStreamSynchronize cudaStreamSynchronize

typedef cudaGraph_t hipGraph_t;
typedef cudaGraphExec_t hipGraphExec_t;
#define hipStreamCaptureModeGlobal cudaStreamCaptureModeGlobal
#define hipStreamBeginCapture cudaStreamBeginCapture
#define hipStreamEndCapture cudaStreamEndCapture
#define hipGraphInstantiateWithFlags cudaGraphInstantiateWithFlags
#define hipGraphLaunch cudaGraphLaunch
#define hipGraphExecDestroy cudaGraphExecDestroy
#define hipGraphDestroy cudaGraphDestroy

// The architecture a device reports: sm_XY on CUDA, gfxNNNN on ROCm.
#define SNNK_ARCH_NAME(prop, buf, len) \
    snprintf((buf), (len), "sm_%d%d", (prop).major, (prop).minor)

#else

#include <hip/hip_runtime.h>

#define SNNK_PLATFORM "HIP"
#define SNNK_ARCH_NAME(prop, buf, len) snprintf((buf), (len), "%s", (prop).gcnArchName)

#endif
