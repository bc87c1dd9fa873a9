// Neuron-update kernels: one kernel per model, one launch per model and step over all the
// populations of that model (their columns concatenated; each population owns whole blocks).
//
// Each thread owns one neuron and does, in the CPU's order and with the CPU's operations
// (src/models/lif.rs, coba_lif.rs; no contraction into fused multiply-adds):
//   deliver    take the ring slot due this step into the synaptic variables, zero the slot;
//   integrate  update v (held while refractory) and the synaptic variables;
//   threshold  count refractoriness down, or spike: reset, hold, emit.
#include "device.h"

namespace {

__global__ void lif_update_kernel(const SnnkPop* __restrict__ pops,
                                  const SnnkLifParams* __restrict__ params, uint32_t n_pops,
                                  double* __restrict__ v, double* __restrict__ ie,
                                  double* __restrict__ ii, const double* __restrict__ iext,
                                  uint32_t* __restrict__ refr, const uint64_t* step_ptr,
                                  uint32_t* counts, unsigned long long* totals, SnnkLog log) {
    const uint64_t step = *step_ptr;
    const uint32_t k = snnk_block_pop(pops, n_pops);
    const SnnkPop pop = pops[k];
    const SnnkLifParams p = params[k];
    const uint32_t j = (blockIdx.x - pop.block_start) * blockDim.x + threadIdx.x;
    bool spiked = false;
    if (j < pop.n) {
        const uint32_t g = pop.offset + j;
        const size_t slot = (size_t)(step % pop.ring_len) * pop.n;
        double* de = pop.ring + slot + j;
        double* di = pop.ring + (size_t)pop.ring_len * pop.n + slot + j;
        const double i_e = ie[g] + *de;
        const double i_i = ii[g] + *di;
        *de = 0.0;
        *di = 0.0;
        const double v_inf = p.v_rest + p.r * (p.i_bias + iext[g]);
        const double v_new =
            (v_inf - v_inf * p.p22) + ((p.p21_exc * i_e + p.p21_inh * i_i) + p.p22 * v[g]);
        uint32_t r = refr[g];
        double vv = r > 0 ? v[g] : v_new;
        ie[g] = i_e * p.p11_exc;
        ii[g] = i_i * p.p11_inh;
        if (r > 0) {
            r -= 1;
        } else if (vv > p.v_th) {
            vv = p.v_reset;
            r = p.hold_steps;
            spiked = true;
        }
        v[g] = vv;
        refr[g] = r;
    }
    snnk_emit(pop, spiked, j, step, counts, totals, log);
}

__global__ void coba_update_kernel(const SnnkPop* __restrict__ pops,
                                   const SnnkCobaParams* __restrict__ params, uint32_t n_pops,
                                   double* __restrict__ v, double* __restrict__ ge,
                                   double* __restrict__ gi, const double* __restrict__ iext,
                                   uint32_t* __restrict__ refr, const uint64_t* step_ptr,
                                   uint32_t* counts, unsigned long long* totals, SnnkLog log) {
    const uint64_t step = *step_ptr;
    const uint32_t k = snnk_block_pop(pops, n_pops);
    const SnnkPop pop = pops[k];
    const SnnkCobaParams c = params[k];
    const uint32_t j = (blockIdx.x - pop.block_start) * blockDim.x + threadIdx.x;
    bool spiked = false;
    if (j < pop.n) {
        const uint32_t g = pop.offset + j;
        const size_t slot = (size_t)(step % pop.ring_len) * pop.n;
        double* de = pop.ring + slot + j;
        double* di = pop.ring + (size_t)pop.ring_len * pop.n + slot + j;
        const double g_e = ge[g] + *de;
        const double g_i = gi[g] + *di;
        *de = 0.0;
        *di = 0.0;
        const double v0 = v[g];
        const double dv = g_e * (c.e_exc - v0) + g_i * (c.e_inh - v0) - (v0 - c.e_l) +
                          c.r * (c.i_bias + iext[g]);
        const double v_new = v0 + c.h_over_tau_m * dv;
        uint32_t r = refr[g];
        double vv = r > 0 ? v0 : v_new;
        ge[g] = g_e - c.h_over_tau_exc * g_e;
        gi[g] = g_i - c.h_over_tau_inh * g_i;
        if (r > 0) {
            r -= 1;
        } else if (vv > c.v_th) {
            vv = c.v_reset;
            r = c.hold_steps;
            spiked = true;
        }
        v[g] = vv;
        refr[g] = r;
    }
    snnk_emit(pop, spiked, j, step, counts, totals, log);
}

__global__ void poisson_update_kernel(const SnnkPop* __restrict__ pops,
                                      const double* __restrict__ prob, uint32_t n_pops,
                                      const SnnkPoissonChunk* __restrict__ chunks,
                                      const uint64_t* step_ptr, uint64_t step0,
                                      uint32_t* counts, unsigned long long* totals,
                                      SnnkLog log) {
    const uint64_t step = *step_ptr;
    const uint32_t k = snnk_block_pop(pops, n_pops);
    const SnnkPop pop = pops[k];
    const uint32_t j = (blockIdx.x - pop.block_start) * blockDim.x + threadIdx.x;
    bool spiked = false;
    if (j < pop.n) {
        const SnnkPoissonChunk& c = chunks[pop.chunk_base + j / SNNK_POISSON_CHUNK];
        const uint64_t index = c.base + (step - step0) * c.len + j % SNNK_POISSON_CHUNK;
        spiked = snnk_unit_f64(snnk_chacha8_draw(c.key, index)) < prob[k];
    }
    snnk_emit(pop, spiked, j, step, counts, totals, log);
}

// One block per population; thread 0 finds the step's events by binary search.
__global__ void list_source_kernel(const SnnkPop* __restrict__ pops,
                                   const SnnkListSource* __restrict__ sources,
                                   const uint64_t* step_ptr, uint32_t* counts,
                                   unsigned long long* totals, SnnkLog log) {
    const uint64_t step = *step_ptr;
    const SnnkPop pop = pops[blockIdx.x];
    const SnnkListSource src = sources[blockIdx.x];
    __shared__ uint64_t s_lo, s_hi;
    __shared__ uint32_t s_log_base;
    if (threadIdx.x == 0) {
        uint64_t lo = 0, hi = src.n_events;
        if (src.steps) {
            uint64_t a = 0, b = src.n_events;  // first event at or after step
            while (a < b) {
                const uint64_t m = (a + b) / 2;
                if (src.steps[m] < step) a = m + 1; else b = m;
            }
            lo = a;
            b = src.n_events;  // first event after step
            while (a < b) {
                const uint64_t m = (a + b) / 2;
                if (src.steps[m] <= step) a = m + 1; else b = m;
            }
            hi = a;
        }
        s_lo = lo;
        s_hi = hi;
        const uint32_t n = (uint32_t)(hi - lo);
        counts[pop.pop] = n;
        if (n > 0) {
            atomicAdd(&totals[pop.pop], (unsigned long long)n);
            if (pop.record) s_log_base = atomicAdd(log.count, n);
        }
    }
    __syncthreads();
    const uint32_t n = (uint32_t)(s_hi - s_lo);
    for (uint32_t t = threadIdx.x; t < n; t += blockDim.x) {
        const uint32_t j = src.neurons[s_lo + t];
        pop.spikes[t] = j;
        if (pop.last_spike) pop.last_spike[j] = (uint32_t)step + 1u;
        if (pop.record && s_log_base + t < log.cap) {
            log.entries[2 * (size_t)(s_log_base + t)] = (uint32_t)step;
            log.entries[2 * (size_t)(s_log_base + t) + 1] = pop.global_base + j;
        }
    }
}

// The last launch of a step: keeps this step's spike counts for the host, clears the counters
// for the next step, and advances the device's step counter. With the step on the device,
// a step's launches have fixed arguments and can be recorded once and replayed (graphs).
__global__ void end_step_kernel(uint64_t* step, uint32_t* counts, uint32_t* last_counts,
                                uint32_t n_pops) {
    for (uint32_t i = threadIdx.x; i < n_pops; i += blockDim.x) {
        last_counts[i] = counts[i];
        counts[i] = 0;
    }
    if (threadIdx.x == 0) *step += 1;
}

}  // namespace

extern "C" int snnk_end_step(SnnkCtx* ctx, uint64_t* step, uint32_t* counts,
                             uint32_t* last_counts, uint32_t n_pops) {
    if (!ctx || !step) return SNNK_ERR_BAD_ARGUMENT;
    end_step_kernel<<<1, 128, 0, snnk_stream(ctx)>>>(step, counts, last_counts, n_pops);
    return snnk_launch_status();
}

extern "C" int snnk_lif_update(SnnkCtx* ctx, const SnnkPop* pops, const SnnkLifParams* params,
                               uint32_t n_pops, uint32_t n_blocks, double* v, double* i_exc,
                               double* i_inh, const double* i_ext, uint32_t* refractory,
                               const uint64_t* step, uint32_t* counts, unsigned long long* totals,
                               SnnkLog log) {
    if (!ctx || n_pops == 0 || n_blocks == 0 || !step) return SNNK_ERR_BAD_ARGUMENT;
    lif_update_kernel<<<n_blocks, SNNK_UPDATE_BLOCK, 0, snnk_stream(ctx)>>>(
        pops, params, n_pops, v, i_exc, i_inh, i_ext, refractory, step, counts, totals, log);
    return snnk_launch_status();
}

extern "C" int snnk_coba_update(SnnkCtx* ctx, const SnnkPop* pops, const SnnkCobaParams* params,
                                uint32_t n_pops, uint32_t n_blocks, double* v, double* g_exc,
                                double* g_inh, const double* i_ext, uint32_t* refractory,
                                const uint64_t* step, uint32_t* counts, unsigned long long* totals,
                                SnnkLog log) {
    if (!ctx || n_pops == 0 || n_blocks == 0 || !step) return SNNK_ERR_BAD_ARGUMENT;
    coba_update_kernel<<<n_blocks, SNNK_UPDATE_BLOCK, 0, snnk_stream(ctx)>>>(
        pops, params, n_pops, v, g_exc, g_inh, i_ext, refractory, step, counts, totals, log);
    return snnk_launch_status();
}

extern "C" int snnk_poisson_update(SnnkCtx* ctx, const SnnkPop* pops, const double* p,
                                   uint32_t n_pops, uint32_t n_blocks,
                                   const SnnkPoissonChunk* chunks, const uint64_t* step,
                                   uint64_t step0, uint32_t* counts, unsigned long long* totals,
                                   SnnkLog log) {
    if (!ctx || n_pops == 0 || n_blocks == 0 || !step) return SNNK_ERR_BAD_ARGUMENT;
    poisson_update_kernel<<<n_blocks, SNNK_UPDATE_BLOCK, 0, snnk_stream(ctx)>>>(
        pops, p, n_pops, chunks, step, step0, counts, totals, log);
    return snnk_launch_status();
}

extern "C" int snnk_list_source_update(SnnkCtx* ctx, const SnnkPop* pops,
                                       const SnnkListSource* sources, uint32_t n_pops,
                                       const uint64_t* step, uint32_t* counts,
                                       unsigned long long* totals, SnnkLog log) {
    if (!ctx || n_pops == 0 || !step) return SNNK_ERR_BAD_ARGUMENT;
    list_source_kernel<<<n_pops, 128, 0, snnk_stream(ctx)>>>(pops, sources, step, counts,
                                                             totals, log);
    return snnk_launch_status();
}

extern "C" uint64_t snnk_chacha8_u64(const uint32_t key[8], uint64_t index) {
    return snnk_chacha8_draw(key, index);
}
