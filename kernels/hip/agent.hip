// The batched foraging agents' dense parts: one decision of a whole batch of agents in one
// launch. The reference is the executor (src/exec/) on the agents' network: inputs → one
// hidden population → one leaky readout; src/agent/train.rs drives both.
//
// One block per agent. Each thread owns hidden neurons j (strided by the block size) and
// runs, for its neuron and in the CPU's order and operations:
//   currents   x_j = sum over the agent's active inputs i, in list order, of w1[i, j];
//   forward    T steps of the hidden neuron (Leaky, Synaptic or Alpha; reset from the
//              previous membrane, detached), keeping each step's membrane and spike/reset;
//   backward   the factored surrogate-gradient pass of the decision (Layers::policy_factors):
//              q_j = sum_t kappa_t spk_t,j and nu_j = sum_t lambda_t,j.
// Then, after one barrier, each thread owns readout units c: the readout population over the
// T steps, as the executor steps a population: its input x_t = the rows of the dense readout
// matrix w2 of the neurons that spiked, summed in index order, then the model's step
// (Leaky, reset none: out_t = beta_out·out_{t-1} + x_t); the logit z_c = the mean membrane.
//
// The per-neuron and per-unit work are __host__ __device__ functions: snnk_agent_decide_host
// runs them in plain loops on the host, so a machine without a GPU checks the arithmetic
// against the CPU agent (tests/gpu.rs). Double precision, no contraction, no warp-size
// assumption (the only cooperation is one __syncthreads()).
#include "envs.h"

#include <math.h>

namespace {

// dspk/dmem at u = mem - threshold (src/exec/neuron.rs, Surrogate::grad).
__host__ __device__ inline double snnk_surrogate(const SnnkAgentLayers& L, double u) {
    switch (L.surrogate) {
        case SNNK_SURROGATE_SIGMOID: {
            const double e = exp(-L.slope * u);
            return L.slope * e / ((e + 1.0) * (e + 1.0));
        }
        case SNNK_SURROGATE_ATAN: {
            const double z = 1.5707963267948966 * L.slope * u;  // (pi/2) * alpha * u
            return L.slope / 2.0 / (1.0 + z * z);
        }
        default: {  // fast sigmoid
            const double d = L.slope * fabs(u) + 1.0;
            return 1.0 / (d * d);
        }
    }
}

// Everything of hidden neuron j of one agent; `a` indexes the agent's rows of the outputs.
__host__ __device__ inline void snnk_agent_neuron(const SnnkAgentLayers& L, const double* w1,
                                                  const uint32_t* active, uint32_t n_active,
                                                  uint32_t a, uint32_t j, double* mem,
                                                  uint8_t* flags, double* q, double* nu,
                                                  uint32_t* counts) {
    const uint32_t h = L.hidden, T = L.steps;
    const double theta = L.threshold;
    double x = 0.0;
    for (uint32_t k = 0; k < n_active; ++k) x += w1[(size_t)active[k] * h + j];

    // Forward.
    const size_t base = (size_t)a * T * h + j;  // element (a, t, j) at base + t·h
    double prev = 0.0, syn = 0.0, syn_inh = 0.0;
    uint32_t count = 0;
    for (uint32_t t = 0; t < T; ++t) {
        const double r = prev > theta ? 1.0 : 0.0;
        double k = 1.0, s = 0.0;
        if (L.reset == SNNK_RESET_ZERO) k = 1.0 - r;
        else if (L.reset == SNNK_RESET_SUBTRACT) s = theta * r;
        double m;
        if (L.neuron == SNNK_HIDDEN_SYNAPTIC) {
            syn = L.alpha * syn + x;
            m = k * (L.beta * prev + syn) - s;
        } else if (L.neuron == SNNK_HIDDEN_ALPHA) {
            const double e = L.alpha * syn + x;
            const double n = L.beta * syn_inh - x;
            syn = k * e;
            syn_inh = k * n;
            m = k * (L.tau * (e + n));
        } else {  // Leaky
            m = k * L.beta * prev + x - s;
        }
        prev = m;
        const bool spk = m > theta;
        count += spk ? 1u : 0u;
        mem[base + (size_t)t * h] = m;
        flags[base + (size_t)t * h] =
            (uint8_t)((spk ? SNNK_AGENT_SPIKE : 0u) | (r != 0.0 ? SNNK_AGENT_RESET : 0u));
    }
    counts[(size_t)a * h + j] = count;

    // Backward, factored (kappa_t = 1/T + beta_out·kappa_{t+1}).
    const bool zero = L.reset == SNNK_RESET_ZERO;
    double kappa = 0.0, qj = 0.0, nuj = 0.0;
    double mu = 0.0, lam = 0.0, eta = 0.0, k_next = 0.0;  // lam is epsilon for Alpha
    for (uint32_t t = T; t-- > 0;) {
        kappa = 1.0 / (double)T + L.beta_out * kappa;
        const size_t at = base + (size_t)t * h;
        const uint8_t f = flags[at];
        qj += kappa * ((f & SNNK_AGENT_SPIKE) ? 1.0 : 0.0);
        const double k_t = zero ? 1.0 - ((f & SNNK_AGENT_RESET) ? 1.0 : 0.0) : 1.0;
        const double g = snnk_surrogate(L, mem[at] - theta);
        if (L.neuron == SNNK_HIDDEN_ALPHA) {
            const double e = k_next * L.alpha * (lam + L.tau * mu);
            const double n = k_next * L.beta * (eta + L.tau * mu);
            mu = kappa * g;
            lam = e;
            eta = n;
            k_next = k_t;
            nuj += k_t * (e - n);
        } else {
            const double m = kappa * g + k_next * L.beta * mu;
            const double l = L.neuron == SNNK_HIDDEN_SYNAPTIC ? k_t * m + L.alpha * lam : m;
            mu = m;
            lam = l;
            k_next = k_t;
            nuj += l;
        }
    }
    q[(size_t)a * h + j] = qj;
    nu[(size_t)a * h + j] = nuj;
}

// Readout unit c of one agent: x_t = the w2 rows of the neurons that spiked at t (index
// order), out_t = beta_out·out_{t-1} + x_t; z_c = sum_t out_t / T.
__host__ __device__ inline void snnk_agent_readout(const SnnkAgentLayers& L, const double* w2,
                                                   uint32_t a, uint32_t c, const uint8_t* flags,
                                                   double* z) {
    const uint32_t h = L.hidden, o = L.out, T = L.steps;
    double out = 0.0, zc = 0.0;
    for (uint32_t t = 0; t < T; ++t) {
        const uint8_t* f = flags + ((size_t)a * T + t) * h;
        double x = 0.0;
        for (uint32_t j = 0; j < h; ++j) {
            if (f[j] & SNNK_AGENT_SPIKE) x += w2[(size_t)j * o + c];
        }
        out = L.beta_out * out + x;
        zc += out / (double)T;
    }
    z[(size_t)a * o + c] = zc;
}

__global__ void agent_decide_kernel(SnnkAgentLayers L, const double* __restrict__ w1,
                                    const double* __restrict__ w2,
                                    const uint32_t* __restrict__ active,
                                    const uint32_t* __restrict__ active_start, double* mem,
                                    uint8_t* flags, double* __restrict__ z,
                                    double* __restrict__ q, double* __restrict__ nu,
                                    uint32_t* __restrict__ counts) {
    const uint32_t a = blockIdx.x;
    const uint32_t first = active_start[a];
    const uint32_t n_active = active_start[a + 1] - first;
    for (uint32_t j = threadIdx.x; j < L.hidden; j += blockDim.x) {
        snnk_agent_neuron(L, w1, active + first, n_active, a, j, mem, flags, q, nu, counts);
    }
    __syncthreads();  // the readout reads every neuron's spikes
    for (uint32_t c = threadIdx.x; c < L.out; c += blockDim.x) {
        snnk_agent_readout(L, w2, a, c, flags, z);
    }
}

// The action of one decision (src/agent/train.rs, sample_categorical): pi = softmax(z),
// shifted by the maximum; a uniform u from draw number `draw` of the episode's ChaCha8
// stream, as rand makes an f64 of it (the top 53 bits); the first action whose cumulative
// probability exceeds u (the last one when rounding leaves u past the sum); and the
// gradients d log pi(a)/dz = onehot(a) - pi and dH/dz_c = -pi_c (log pi_c + H).
__host__ __device__ inline uint32_t snnk_agent_sample_one(uint32_t o, const double* z,
                                                          const uint32_t* key, uint64_t draw,
                                                          double* pi, double* dlogp,
                                                          double* dent) {
    double m = -INFINITY;
    for (uint32_t c = 0; c < o; ++c) m = fmax(m, z[c]);
    double s = 0.0;
    for (uint32_t c = 0; c < o; ++c) {
        pi[c] = exp(z[c] - m);
        s += pi[c];
    }
    for (uint32_t c = 0; c < o; ++c) pi[c] /= s;
    const double u = (double)(snnk_chacha8_draw(key, draw) >> 11) * (1.0 / 9007199254740992.0);
    uint32_t a = o - 1;
    double acc = 0.0;
    for (uint32_t c = 0; c < o; ++c) {
        acc += pi[c];
        if (u < acc) {
            a = c;
            break;
        }
    }
    double sum = 0.0;
    for (uint32_t c = 0; c < o; ++c) sum += pi[c] > 0.0 ? pi[c] * log(pi[c]) : 0.0;
    const double ent = -sum;
    for (uint32_t c = 0; c < o; ++c) {
        dlogp[c] = (c == a ? 1.0 : 0.0) - pi[c];
        dent[c] = pi[c] > 0.0 ? -pi[c] * (log(pi[c]) + ent) : 0.0;
    }
    return a;
}

__global__ void agent_sample_kernel(uint32_t o, uint32_t n, const double* __restrict__ z,
                                    const uint32_t* __restrict__ keys,
                                    const uint64_t* __restrict__ draws,
                                    uint32_t* __restrict__ actions, double* pi, double* dlogp,
                                    double* dent) {
    const uint32_t a = blockIdx.x * blockDim.x + threadIdx.x;
    if (a >= n) return;
    const size_t at = (size_t)a * o;
    actions[a] = snnk_agent_sample_one(o, z + at, keys + (size_t)a * 8, draws[a], pi + at,
                                       dlogp + at, dent + at);
}

// Where episode a's records of decision k start, in units of one record.
__host__ __device__ inline size_t snnk_record(uint32_t a, uint32_t k, uint32_t K) {
    return (size_t)a * K + k;
}

// The parts of a round: (1) the active inputs, by one thread; (2) hidden neuron j; (3)
// readout unit c; (4) the action and the world's step, by one thread. Between them the
// block waits for all (on the host they run in this order). Scratch is the episode's own.
__host__ __device__ inline void snnk_round_observe(const SnnkEnvParams& E, uint32_t encoder,
                                                   uint32_t a, uint32_t K,
                                                   const SnnkEnvState* states,
                                                   const uint8_t* cells,
                                                   const SnnkEpisodeData& D) {
    const size_t at = snnk_record(a, states[a].steps, K);
    D.n_active[at] = snnk_env::grid_active(E, encoder, states[a], cells + (size_t)a * E.size * E.size,
                                           D.active + at * (1 + E.food));
}

__host__ __device__ inline uint32_t snnk_round_neuron(const SnnkAgentLayers& L,
                                                      const SnnkEnvParams& E, uint32_t a,
                                                      uint32_t j, uint32_t K, const double* w1,
                                                      const SnnkEnvState* states,
                                                      const SnnkAgentScratch& S,
                                                      const SnnkEpisodeData& D) {
    const uint32_t h = L.hidden, T = L.steps;
    const size_t at = snnk_record(a, states[a].steps, K);
    const size_t th = (size_t)T * h;
    snnk_agent_neuron(L, w1, D.active + at * (1 + E.food), D.n_active[at], 0, j,
                      S.mem + a * th, S.flags + a * th, D.q + at * h, D.nu + at * h,
                      S.counts + (size_t)a * h);
    const uint32_t c = S.counts[(size_t)a * h + j];
    D.spikes_per_neuron[(size_t)a * h + j] += (double)c;
    const uint32_t r = D.record[a];
    if (r != UINT32_MAX) {
        const uint8_t* f = S.flags + a * th;
        uint8_t* keep = D.raster + snnk_record(r, states[a].steps, K) * th;
        for (uint32_t t = 0; t < T; ++t) keep[(size_t)t * h + j] = f[(size_t)t * h + j];
    }
    return c;
}

__host__ __device__ inline void snnk_round_act(const SnnkAgentLayers& L, const SnnkEnvParams& E,
                                               uint32_t a, uint32_t K, const uint32_t* keys,
                                               SnnkEnvState* states, uint8_t* cells,
                                               const SnnkAgentScratch& S,
                                               const SnnkEpisodeData& D, uint32_t spikes,
                                               uint32_t* live) {
    const uint32_t o = L.out;
    SnnkEnvState& st = states[a];
    const uint32_t k = st.steps;
    const size_t at = snnk_record(a, k, K);
    const uint32_t action =
        snnk_agent_sample_one(o, S.z + (size_t)a * o, keys + (size_t)a * 8, k,
                              S.pi + (size_t)a * o, D.dlogp + at * o, D.dent + at * o);
    SnnkEnvTransition tr = {0.0, 0u, 0u, SNNK_ENV_OK, 0u};
    snnk_env::grid_step(E, (double)action, st, cells + (size_t)a * E.size * E.size, tr);
    D.reward[at] = tr.reward;
    D.spikes[at] = spikes;
    if (st.phase == SNNK_ENV_RUNNING) {
#ifdef SNNK_DEVICE_PASS
        atomicAdd(live, 1u);
#else
        *live += 1;
#endif
    }
}

// One block per episode; threads own hidden neurons, then readout units.
__global__ void agent_round_kernel(SnnkAgentLayers L, SnnkEnvParams E, uint32_t encoder,
                                   uint32_t K, const double* __restrict__ w1,
                                   const double* __restrict__ w2,
                                   const uint32_t* __restrict__ keys, SnnkEnvState* states,
                                   uint8_t* cells, SnnkAgentScratch S, SnnkEpisodeData D,
                                   uint32_t* live) {
    const uint32_t a = blockIdx.x;
    // Every thread reads the phase before anything writes it (the step is after the last
    // barrier), so the whole block returns or none of it.
    if (states[a].phase != SNNK_ENV_RUNNING || states[a].steps >= K) return;
    __shared__ uint32_t spikes;
    if (threadIdx.x == 0) {
        spikes = 0;
        snnk_round_observe(E, encoder, a, K, states, cells, D);
    }
    __syncthreads();
    uint32_t mine = 0;
    for (uint32_t j = threadIdx.x; j < L.hidden; j += blockDim.x) {
        mine += snnk_round_neuron(L, E, a, j, K, w1, states, S, D);
    }
    atomicAdd(&spikes, mine);  // whole numbers: the order does not matter
    __syncthreads();
    const uint32_t th = L.steps * L.hidden;
    for (uint32_t c = threadIdx.x; c < L.out; c += blockDim.x) {
        snnk_agent_readout(L, w2, 0, c, S.flags + (size_t)a * th, S.z + (size_t)a * L.out);
    }
    __syncthreads();
    if (threadIdx.x == 0) snnk_round_act(L, E, a, K, keys, states, cells, S, D, spikes, live);
}

bool valid_round(const SnnkAgentLayers& L, const SnnkEnvParams& E, uint32_t encoder,
                 uint32_t n, uint32_t K) {
    return L.hidden > 0 && L.out > 0 && L.steps > 0 && n > 0 && K > 0 &&
           L.neuron <= SNNK_HIDDEN_ALPHA && L.reset <= SNNK_RESET_NONE &&
           L.surrogate <= SNNK_SURROGATE_ATAN && E.kind == SNNK_ENV_GRIDWORLD && E.size >= 2 &&
           E.food >= 1 && encoder <= SNNK_ENCODER_EGOCENTRIC;
}

bool valid(const SnnkAgentLayers& L, uint32_t n_agents) {
    return L.hidden > 0 && L.out > 0 && L.steps > 0 && n_agents > 0 &&
           L.neuron <= SNNK_HIDDEN_ALPHA && L.reset <= SNNK_RESET_NONE &&
           L.surrogate <= SNNK_SURROGATE_ATAN;
}

}  // namespace

extern "C" int snnk_agent_decide(SnnkCtx* ctx, SnnkAgentLayers layers, const double* w1,
                                 const double* w2, uint32_t n_agents, const uint32_t* active,
                                 const uint32_t* active_start, double* mem, uint8_t* flags,
                                 double* z, double* q, double* nu, uint32_t* counts) {
    if (!ctx || !valid(layers, n_agents)) return SNNK_ERR_BAD_ARGUMENT;
    // A block of whole multiples of 64 threads covering the hidden layer, at most 256: every
    // thread then owns one or a few neurons; nothing depends on the warp size.
    uint32_t block = (layers.hidden + 63) / 64 * 64;
    if (block > 256) block = 256;
    agent_decide_kernel<<<n_agents, block, 0, snnk_stream(ctx)>>>(
        layers, w1, w2, active, active_start, mem, flags, z, q, nu, counts);
    return snnk_launch_status();
}

extern "C" int snnk_agent_decide_host(SnnkAgentLayers layers, const double* w1, const double* w2,
                                      uint32_t n_agents, const uint32_t* active,
                                      const uint32_t* active_start, double* mem, uint8_t* flags,
                                      double* z, double* q, double* nu, uint32_t* counts) {
    if (!valid(layers, n_agents)) return SNNK_ERR_BAD_ARGUMENT;
    for (uint32_t a = 0; a < n_agents; ++a) {
        const uint32_t first = active_start[a];
        for (uint32_t j = 0; j < layers.hidden; ++j) {
            snnk_agent_neuron(layers, w1, active + first, active_start[a + 1] - first, a, j, mem,
                              flags, q, nu, counts);
        }
        for (uint32_t c = 0; c < layers.out; ++c) snnk_agent_readout(layers, w2, a, c, flags, z);
    }
    return 0;
}

extern "C" int snnk_agent_sample(SnnkCtx* ctx, uint32_t o, uint32_t n, const double* z,
                                 const uint32_t* keys, const uint64_t* draws, uint32_t* actions,
                                 double* pi, double* dlogp, double* dent) {
    if (o == 0 || n == 0) return SNNK_ERR_BAD_ARGUMENT;
    if (!ctx) {
        for (uint32_t a = 0; a < n; ++a) {
            const size_t at = (size_t)a * o;
            actions[a] = snnk_agent_sample_one(o, z + at, keys + (size_t)a * 8, draws[a],
                                               pi + at, dlogp + at, dent + at);
        }
        return 0;
    }
    const uint32_t block = 128;
    agent_sample_kernel<<<(n + block - 1) / block, block, 0, snnk_stream(ctx)>>>(
        o, n, z, keys, draws, actions, pi, dlogp, dent);
    return snnk_launch_status();
}

extern "C" int snnk_agent_round(SnnkCtx* ctx, SnnkAgentLayers layers, SnnkEnvParams env,
                                uint32_t encoder, uint32_t n, uint32_t max_decisions,
                                const double* w1, const double* w2, const uint32_t* keys,
                                SnnkEnvState* states, uint8_t* cells, SnnkAgentScratch scratch,
                                SnnkEpisodeData data, uint32_t* live) {
    if (!valid_round(layers, env, encoder, n, max_decisions)) return SNNK_ERR_BAD_ARGUMENT;
    const uint32_t K = max_decisions;
    if (!ctx) {  // the block's parts in their order, episode after episode
        const uint32_t th = layers.steps * layers.hidden;
        for (uint32_t a = 0; a < n; ++a) {
            if (states[a].phase != SNNK_ENV_RUNNING || states[a].steps >= K) continue;
            snnk_round_observe(env, encoder, a, K, states, cells, data);
            uint32_t spikes = 0;
            for (uint32_t j = 0; j < layers.hidden; ++j) {
                spikes += snnk_round_neuron(layers, env, a, j, K, w1, states, scratch, data);
            }
            for (uint32_t c = 0; c < layers.out; ++c) {
                snnk_agent_readout(layers, w2, 0, c, scratch.flags + (size_t)a * th,
                                   scratch.z + (size_t)a * layers.out);
            }
            snnk_round_act(layers, env, a, K, keys, states, cells, scratch, data, spikes, live);
        }
        return 0;
    }
    uint32_t block = (layers.hidden + 63) / 64 * 64;
    if (block > 256) block = 256;
    agent_round_kernel<<<n, block, 0, snnk_stream(ctx)>>>(layers, env, encoder, K, w1, w2, keys,
                                                          states, cells, scratch, data, live);
    return snnk_launch_status();
}
