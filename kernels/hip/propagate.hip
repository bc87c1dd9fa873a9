// Propagation kernels: the spikes of a step into the input rings of their targets.
//
// CSR (event-driven, for sparse projections): only the rows of neurons that spiked are walked,
// one block per spike (grid-stride over the spike list, whose length only the device knows),
// the block's threads striding along the row. Targets are added with atomicAdd, so the order
// of the sums into one target is not fixed: results agree with the CPU's to rounding.
//
// Dense (for projections that connect most pairs): one thread per target neuron adds, in
// presynaptic index order, the weights of the neurons that spiked this step, exactly the CPU's
// order of sums, so the result is the CPU's bit for bit. Each block compacts the spike flags
// of a tile of presynaptic neurons into an ordered list in shared memory (a block-wide scan
// built on __syncthreads(), no warp-size assumption) and every thread walks that list.
#include "device.h"

namespace {

__device__ inline double* snnk_slot(const SnnkTarget& t, uint64_t due_step) {
    return t.ring + ((size_t)t.receptor * t.ring_len + (size_t)(due_step % t.ring_len)) * t.n_post;
}

__global__ void csr_kernel(SnnkCsr csr, const uint32_t* __restrict__ spikes,
                           const uint32_t* __restrict__ count_ptr, SnnkTarget t,
                           const uint64_t* step_ptr, unsigned long long* events) {
    const uint32_t count = *count_ptr;
    const uint64_t step = *step_ptr;
    unsigned long long ev = 0;
    for (uint32_t s = blockIdx.x; s < count; s += gridDim.x) {
        const uint32_t i = spikes[s];
        const uint64_t a = csr.indptr[i], b = csr.indptr[i + 1];
        ev += b - a;
        if (!csr.delays) {
            double* slot = snnk_slot(t, step + csr.uniform_delay);
            for (uint64_t k = a + threadIdx.x; k < b; k += blockDim.x) {
                atomicAdd(&slot[csr.indices[k]], csr.weights[k]);
            }
        } else {
            for (uint64_t k = a + threadIdx.x; k < b; k += blockDim.x) {
                double* slot = snnk_slot(t, step + csr.delays[k]);
                atomicAdd(&slot[csr.indices[k]], csr.weights[k]);
            }
        }
    }
    if (threadIdx.x == 0 && ev > 0) atomicAdd(events, ev);
}

#define SNNK_DENSE_BLOCK 256

__global__ void dense_kernel(const double* __restrict__ w, const uint32_t* __restrict__ row_nnz,
                             uint32_t n_pre, const uint32_t* __restrict__ last_spike,
                             const uint32_t* __restrict__ count_ptr, SnnkTarget t,
                             uint32_t delay, const uint64_t* step_ptr,
                             unsigned long long* events) {
    if (*count_ptr == 0) return;  // the same value for every thread: the block leaves as one
    const uint64_t step = *step_ptr;
    __shared__ uint32_t s_scan[SNNK_DENSE_BLOCK];
    __shared__ uint32_t s_idx[SNNK_DENSE_BLOCK];
    const uint32_t tid = threadIdx.x;
    const uint32_t j = blockIdx.x * SNNK_DENSE_BLOCK + tid;
    const uint32_t mark = (uint32_t)step + 1u;
    double* slot = snnk_slot(t, step + delay);
    double acc = j < t.n_post ? slot[j] : 0.0;
    unsigned long long ev = 0;
    for (uint32_t base = 0; base < n_pre; base += SNNK_DENSE_BLOCK) {
        const uint32_t i = base + tid;
        const uint32_t f = (i < n_pre && last_spike[i] == mark) ? 1u : 0u;
        s_scan[tid] = f;
        __syncthreads();
        for (uint32_t off = 1; off < SNNK_DENSE_BLOCK; off <<= 1) {  // inclusive scan
            const uint32_t x = tid >= off ? s_scan[tid - off] : 0u;
            __syncthreads();
            s_scan[tid] += x;
            __syncthreads();
        }
        const uint32_t total = s_scan[SNNK_DENSE_BLOCK - 1];
        if (f) s_idx[s_scan[tid] - 1] = i;
        __syncthreads();
        if (j < t.n_post) {
            for (uint32_t q = 0; q < total; ++q) acc += w[(size_t)s_idx[q] * t.n_post + j];
        }
        if (blockIdx.x == 0 && tid == 0) {
            for (uint32_t q = 0; q < total; ++q) ev += row_nnz[s_idx[q]];
        }
        __syncthreads();  // s_scan and s_idx are rewritten by the next tile
    }
    if (j < t.n_post) slot[j] = acc;
    if (blockIdx.x == 0 && tid == 0 && ev > 0) atomicAdd(events, ev);
}

}  // namespace

extern "C" int snnk_propagate_csr(SnnkCtx* ctx, SnnkCsr csr, const uint32_t* spikes,
                                  const uint32_t* count, SnnkTarget target, const uint64_t* step,
                                  uint32_t grid, uint32_t block, unsigned long long* events) {
    if (!ctx || !step || target.ring_len == 0 || grid == 0 || block == 0 || block > 1024) {
        return SNNK_ERR_BAD_ARGUMENT;
    }
    csr_kernel<<<grid, block, 0, snnk_stream(ctx)>>>(csr, spikes, count, target, step, events);
    return snnk_launch_status();
}

extern "C" int snnk_propagate_dense(SnnkCtx* ctx, const double* weights, const uint32_t* row_nnz,
                                    uint32_t n_pre, const uint32_t* last_spike,
                                    const uint32_t* count, SnnkTarget target, uint32_t delay,
                                    const uint64_t* step, unsigned long long* events) {
    if (!ctx || !step || target.ring_len == 0 || target.n_post == 0) return SNNK_ERR_BAD_ARGUMENT;
    const uint32_t grid = (target.n_post + SNNK_DENSE_BLOCK - 1) / SNNK_DENSE_BLOCK;
    dense_kernel<<<grid, SNNK_DENSE_BLOCK, 0, snnk_stream(ctx)>>>(
        weights, row_nnz, n_pre, last_spike, count, target, delay, step, events);
    return snnk_launch_status();
}
