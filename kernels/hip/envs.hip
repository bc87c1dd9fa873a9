// The environment kernels: a batch of episodes of one shipped environment, one thread per
// episode, by the per-episode code of envs.h. Called without a context they run the same code
// in loops on the host, in host memory: how a machine without a GPU checks it against the
// plugins.
//
// The plugins stay the reference and the CPU's environments: a device version is an extra,
// for the loop that keeps whole batches of episodes on the device (docs/gpu.md says how
// another environment gets one). An episode is refused a step exactly where its plugin
// would return an error (an action outside the space, a step outside a running episode); the
// refused step changes nothing and says why in its transition's status.
#include "envs.h"

using namespace snnk_env;

namespace {

// The parameters the plugins accept (their `validate`), and the buffers each kind needs.
bool valid(const SnnkEnvParams& P, bool cells, bool scratch) {
    if (P.max_steps == 0) return false;
    if (P.kind == SNNK_ENV_GRIDWORLD) {
        return P.size >= 2 && P.size <= 1024 && P.food >= 1 && P.food < P.size * P.size && cells &&
               scratch;
    }
    return P.kind <= SNNK_ENV_ACROBOT;
}

constexpr uint32_t kEnvBlock = 128;

__global__ void env_reset_kernel(SnnkEnvParams P, uint32_t n, const uint64_t* __restrict__ seeds,
                                 SnnkEnvState* states, uint8_t* cells, uint32_t* scratch,
                                 double* obs) {
    const uint32_t a = blockIdx.x * blockDim.x + threadIdx.x;
    if (a < n) env_reset(P, a, seeds[a], states, cells, scratch, obs);
}

__global__ void env_step_kernel(SnnkEnvParams P, uint32_t n, const double* __restrict__ actions,
                                SnnkEnvState* states, uint8_t* cells, double* obs,
                                SnnkEnvTransition* out) {
    const uint32_t a = blockIdx.x * blockDim.x + threadIdx.x;
    if (a < n) env_step(P, a, actions[a], states, cells, obs, out);
}

__global__ void grid_active_kernel(SnnkEnvParams P, uint32_t encoder, uint32_t n,
                                   const SnnkEnvState* __restrict__ states,
                                   const uint8_t* __restrict__ cells, uint32_t* active,
                                   uint32_t* n_active) {
    const uint32_t a = blockIdx.x * blockDim.x + threadIdx.x;
    if (a < n) {
        n_active[a] = grid_active(P, encoder, states[a], cells + a * cells_of(P),
                                  active + (size_t)a * (1 + P.food));
    }
}

uint32_t blocks(uint32_t n) { return (n + kEnvBlock - 1) / kEnvBlock; }

}  // namespace

extern "C" int snnk_env_reset(SnnkCtx* ctx, SnnkEnvParams params, uint32_t n,
                              const uint64_t* seeds, SnnkEnvState* states, uint8_t* cells,
                              uint32_t* scratch, double* obs) {
    if (!valid(params, cells, scratch) || n == 0) return SNNK_ERR_BAD_ARGUMENT;
    if (!ctx) {
        for (uint32_t a = 0; a < n; ++a) env_reset(params, a, seeds[a], states, cells, scratch, obs);
        return 0;
    }
    env_reset_kernel<<<blocks(n), kEnvBlock, 0, snnk_stream(ctx)>>>(params, n, seeds, states,
                                                                     cells, scratch, obs);
    return snnk_launch_status();
}

extern "C" int snnk_env_step(SnnkCtx* ctx, SnnkEnvParams params, uint32_t n,
                             const double* actions, SnnkEnvState* states, uint8_t* cells,
                             double* obs, SnnkEnvTransition* out) {
    if (!valid(params, cells, true) || n == 0) return SNNK_ERR_BAD_ARGUMENT;
    if (!ctx) {
        for (uint32_t a = 0; a < n; ++a) env_step(params, a, actions[a], states, cells, obs, out);
        return 0;
    }
    env_step_kernel<<<blocks(n), kEnvBlock, 0, snnk_stream(ctx)>>>(params, n, actions, states,
                                                                    cells, obs, out);
    return snnk_launch_status();
}

extern "C" int snnk_grid_active(SnnkCtx* ctx, SnnkEnvParams params, uint32_t encoder,
                                uint32_t n, const SnnkEnvState* states, const uint8_t* cells,
                                uint32_t* active, uint32_t* n_active) {
    if (params.kind != SNNK_ENV_GRIDWORLD || !valid(params, cells, true) || n == 0 ||
        encoder > SNNK_ENCODER_EGOCENTRIC) {
        return SNNK_ERR_BAD_ARGUMENT;
    }
    if (!ctx) {
        for (uint32_t a = 0; a < n; ++a) {
            n_active[a] = grid_active(params, encoder, states[a], cells + a * cells_of(params),
                                      active + (size_t)a * (1 + params.food));
        }
        return 0;
    }
    grid_active_kernel<<<blocks(n), kEnvBlock, 0, snnk_stream(ctx)>>>(params, encoder, n, states,
                                                                       cells, active, n_active);
    return snnk_launch_status();
}
