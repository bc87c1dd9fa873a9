// Device helpers shared by the kernels: the ChaCha8 stream of the Poisson sources and the
// block-wide reservation of spike-list and log space. No warp-size assumption anywhere:
// cooperation is through __shared__ memory and __syncthreads() only.
#pragma once

#include "compat.h"
#include "snnk.h"

// ChaCha with 8 rounds, djb layout (64-bit block counter in words 12-13, 64-bit stream in
// words 14-15, stream 0), as rand_chacha's ChaCha8Rng. Returns 64-bit draw number `index`:
// words 2·index (low half) and 2·index + 1 (high half) of the key stream.
__host__ __device__ inline uint32_t snnk_rotl(uint32_t x, int k) {
    return (x << k) | (x >> (32 - k));
}

#define SNNK_QR(a, b, c, d)              \
    a += b; d ^= a; d = snnk_rotl(d, 16); \
    c += d; b ^= c; b = snnk_rotl(b, 12); \
    a += b; d ^= a; d = snnk_rotl(d, 8);  \
    c += d; b ^= c; b = snnk_rotl(b, 7);

__host__ __device__ inline uint64_t snnk_chacha8_draw(const uint32_t key[8], uint64_t index) {
    const uint64_t block = index >> 3;        // 8 draws of 64 bits per 64-byte block
    const uint32_t word = (uint32_t)(index & 7) * 2;
    uint32_t in[16] = {0x61707865u, 0x3320646eu, 0x79622d32u, 0x6b206574u,
                       key[0], key[1], key[2], key[3], key[4], key[5], key[6], key[7],
                       (uint32_t)block, (uint32_t)(block >> 32), 0u, 0u};
    uint32_t x[16];
    for (int i = 0; i < 16; ++i) x[i] = in[i];
    for (int r = 0; r < 4; ++r) {  // 4 double rounds = 8 rounds
        SNNK_QR(x[0], x[4], x[8], x[12]);
        SNNK_QR(x[1], x[5], x[9], x[13]);
        SNNK_QR(x[2], x[6], x[10], x[14]);
        SNNK_QR(x[3], x[7], x[11], x[15]);
        SNNK_QR(x[0], x[5], x[10], x[15]);
        SNNK_QR(x[1], x[6], x[11], x[12]);
        SNNK_QR(x[2], x[7], x[8], x[13]);
        SNNK_QR(x[3], x[4], x[9], x[14]);
    }
    // Only two words are needed; select them without indexing x by a run-time value (which
    // would move the array to local memory).
    uint32_t lo = 0, hi = 0;
    for (int i = 0; i < 16; ++i) {
        const uint32_t w = x[i] + in[i];
        lo = (uint32_t)i == word ? w : lo;
        hi = (uint32_t)i == word + 1 ? w : hi;
    }
    return ((uint64_t)hi << 32) | lo;
}

// rand's StandardUniform for f64: 53 high bits times 2^-53, in [0, 1).
__host__ __device__ inline double snnk_unit_f64(uint64_t x) {
    return (double)(x >> 11) * (1.0 / 9007199254740992.0);
}

// The population of this block: the last one whose first block is at or before blockIdx.x.
__device__ inline uint32_t snnk_block_pop(const SnnkPop* pops, uint32_t n_pops) {
    uint32_t lo = 0, hi = n_pops;  // invariant: pops[lo].block_start <= blockIdx.x
    while (hi - lo > 1) {
        const uint32_t mid = (lo + hi) / 2;
        if (pops[mid].block_start <= blockIdx.x) lo = mid; else hi = mid;
    }
    return lo;
}

// Block-wide spike output: every thread of the block calls it (spiked or not); a spiking
// thread's neuron `j` goes to the population's list, its last_spike, its counters and, if
// recorded, the log. One global atomic per block for the list, one for the log, one for the
// total.
__device__ inline void snnk_emit(const SnnkPop& p, bool spiked, uint32_t j, uint64_t step,
                                 uint32_t* counts, unsigned long long* totals,
                                 const SnnkLog& log) {
    __shared__ uint32_t s_count, s_base, s_log_base;
    if (threadIdx.x == 0) s_count = 0;
    __syncthreads();
    uint32_t mine = 0;
    if (spiked) mine = atomicAdd(&s_count, 1u);
    __syncthreads();
    if (threadIdx.x == 0 && s_count > 0) {
        s_base = atomicAdd(&counts[p.pop], s_count);
        atomicAdd(&totals[p.pop], (unsigned long long)s_count);
        if (p.record) s_log_base = atomicAdd(log.count, s_count);
    }
    __syncthreads();
    if (spiked) {
        p.spikes[s_base + mine] = j;
        if (p.last_spike) p.last_spike[j] = (uint32_t)step + 1u;
        if (p.record) {
            const uint32_t at = s_log_base + mine;
            if (at < log.cap) {
                log.entries[2 * (size_t)at] = (uint32_t)step;
                log.entries[2 * (size_t)at + 1] = p.global_base + j;
            }
        }
    }
}

// The stream of a context (runtime.hip).
hipStream_t snnk_stream(SnnkCtx* ctx);

// Kernel-launch status: the launch's own error, if any.
inline int snnk_launch_status() {
    return (int)hipGetLastError();
}
