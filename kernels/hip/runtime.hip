// The host half of the C-ABI shim: device discovery, a context (one stream), memory and
// copies. Written against the HIP runtime; compat.h maps it to CUDA's under nvcc.
#include <stdio.h>
#include <string.h>

#include "device.h"

struct SnnkCtx {
    int device;
    hipStream_t stream;
    uint32_t multiprocessors;
};

hipStream_t snnk_stream(SnnkCtx* ctx) { return ctx->stream; }

extern "C" const char* snnk_platform(void) { return SNNK_PLATFORM; }

extern "C" uint32_t snnk_update_block_size(void) { return SNNK_UPDATE_BLOCK; }

extern "C" const char* snnk_error_string(int status) {
    if (status == SNNK_ERR_BAD_ARGUMENT) return "snnsim kernels: bad argument";
    if (status < 0) return "snnsim kernels: unknown error";
    return hipGetErrorString((hipError_t)status);
}

static void snnk_copy_str(char* dst, size_t len, const char* src) {
    if (!dst || len == 0) return;
    snprintf(dst, len, "%s", src);
}

extern "C" int snnk_probe(int* count, char* name, size_t name_len, char* arch, size_t arch_len,
                          int* runtime_version, int* driver_version) {
    int n = 0, rv = 0, dv = 0;
    snnk_copy_str(name, name_len, "");
    snnk_copy_str(arch, arch_len, "");
    (void)hipRuntimeGetVersion(&rv);
    (void)hipDriverGetVersion(&dv);
    if (runtime_version) *runtime_version = rv;
    if (driver_version) *driver_version = dv;
    const hipError_t e = hipGetDeviceCount(&n);
    if (count) *count = e == hipSuccess ? n : 0;
    if (e != hipSuccess) return (int)e;
    if (n == 0) return (int)hipErrorNoDevice;
    hipDeviceProp_t prop;
    const hipError_t pe = hipGetDeviceProperties(&prop, 0);
    if (pe != hipSuccess) return (int)pe;
    snnk_copy_str(name, name_len, prop.name);
    if (arch && arch_len) SNNK_ARCH_NAME(prop, arch, arch_len);
    return 0;
}

extern "C" int snnk_create(int device, SnnkCtx** out) {
    if (!out) return SNNK_ERR_BAD_ARGUMENT;
    *out = nullptr;
    hipError_t e = hipSetDevice(device);
    if (e != hipSuccess) return (int)e;
    hipDeviceProp_t prop;
    e = hipGetDeviceProperties(&prop, device);
    if (e != hipSuccess) return (int)e;
    hipStream_t stream;
    e = hipStreamCreate(&stream);
    if (e != hipSuccess) return (int)e;
    SnnkCtx* ctx = new SnnkCtx;
    ctx->device = device;
    ctx->stream = stream;
    ctx->multiprocessors = (uint32_t)prop.multiProcessorCount;
    *out = ctx;
    return 0;
}

extern "C" void snnk_destroy(SnnkCtx* ctx) {
    if (!ctx) return;
    (void)hipStreamSynchronize(ctx->stream);
    (void)hipStreamDestroy(ctx->stream);
    delete ctx;
}

extern "C" uint32_t snnk_multiprocessors(const SnnkCtx* ctx) {
    return ctx ? ctx->multiprocessors : 0;
}

extern "C" int snnk_alloc(SnnkCtx* ctx, size_t bytes, void** out) {
    if (!ctx || !out) return SNNK_ERR_BAD_ARGUMENT;
    *out = nullptr;
    if (bytes == 0) bytes = 8;  // a valid, distinct pointer for empty buffers
    hipError_t e = hipMalloc(out, bytes);
    if (e != hipSuccess) return (int)e;
    e = hipMemsetAsync(*out, 0, bytes, ctx->stream);
    if (e != hipSuccess) return (int)e;
    return (int)hipStreamSynchronize(ctx->stream);
}

extern "C" int snnk_free(SnnkCtx* ctx, void* ptr) {
    if (!ctx) return SNNK_ERR_BAD_ARGUMENT;
    if (!ptr) return 0;
    (void)hipStreamSynchronize(ctx->stream);
    return (int)hipFree(ptr);
}

extern "C" int snnk_upload(SnnkCtx* ctx, void* dst, const void* src, size_t bytes) {
    if (!ctx) return SNNK_ERR_BAD_ARGUMENT;
    if (bytes == 0) return 0;
    const hipError_t e = hipMemcpyAsync(dst, src, bytes, hipMemcpyHostToDevice, ctx->stream);
    if (e != hipSuccess) return (int)e;
    return (int)hipStreamSynchronize(ctx->stream);
}

extern "C" int snnk_download(SnnkCtx* ctx, void* dst, const void* src, size_t bytes) {
    if (!ctx) return SNNK_ERR_BAD_ARGUMENT;
    if (bytes == 0) return 0;
    const hipError_t e = hipMemcpyAsync(dst, src, bytes, hipMemcpyDeviceToHost, ctx->stream);
    if (e != hipSuccess) return (int)e;
    return (int)hipStreamSynchronize(ctx->stream);
}

extern "C" int snnk_zero(SnnkCtx* ctx, void* dst, size_t bytes) {
    if (!ctx) return SNNK_ERR_BAD_ARGUMENT;
    if (bytes == 0) return 0;
    return (int)hipMemsetAsync(dst, 0, bytes, ctx->stream);
}

struct SnnkGraph {
    hipGraph_t graph;
    hipGraphExec_t exec;
};

extern "C" int snnk_capture_begin(SnnkCtx* ctx) {
    if (!ctx) return SNNK_ERR_BAD_ARGUMENT;
    return (int)hipStreamBeginCapture(ctx->stream, hipStreamCaptureModeGlobal);
}

extern "C" int snnk_capture_end(SnnkCtx* ctx, SnnkGraph** out) {
    if (!ctx || !out) return SNNK_ERR_BAD_ARGUMENT;
    *out = nullptr;
    hipGraph_t graph;
    hipError_t e = hipStreamEndCapture(ctx->stream, &graph);
    if (e != hipSuccess) return (int)e;
    hipGraphExec_t exec;
    e = hipGraphInstantiateWithFlags(&exec, graph, 0);
    if (e != hipSuccess) {
        (void)hipGraphDestroy(graph);
        return (int)e;
    }
    *out = new SnnkGraph{graph, exec};
    return 0;
}

extern "C" int snnk_graph_launch(SnnkCtx* ctx, SnnkGraph* graph) {
    if (!ctx || !graph) return SNNK_ERR_BAD_ARGUMENT;
    return (int)hipGraphLaunch(graph->exec, ctx->stream);
}

extern "C" void snnk_graph_destroy(SnnkGraph* graph) {
    if (!graph) return;
    (void)hipGraphExecDestroy(graph->exec);
    (void)hipGraphDestroy(graph->graph);
    delete graph;
}

extern "C" int snnk_sync(SnnkCtx* ctx) {
    if (!ctx) return SNNK_ERR_BAD_ARGUMENT;
    const hipError_t e = hipStreamSynchronize(ctx->stream);
    if (e != hipSuccess) return (int)e;
    return (int)hipGetLastError();
}
