// The C ABI of snnsim's GPU kernels: the only thing the Rust host (kernels/src/ffi.rs, which
// mirrors every struct here field for field) sees. Plain C types only; every function returns a
// status: 0 on success, the runtime's own error code (hipError_t or cudaError_t, > 0) when a
// runtime call failed, or one of the negative SNNK_ERR_* codes below.
//
// State is double precision on the device, as on the host (snnsim::Real = f64), and the
// kernels are compiled without floating-point contraction (-ffp-contract=off, -fmad=false), so
// a neuron update is bit-for-bit the CPU's. See docs/gpu.md.
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SNNK_ERR_BAD_ARGUMENT (-1)

// Threads per block of the neuron-update kernels; the host lays populations out in blocks of
// this many neurons (SnnkPop::block_start). Reported by snnk_update_block_size().
#define SNNK_UPDATE_BLOCK 256
// Neurons per random stream of a Poisson population (snnsim::models::CHUNK).
#define SNNK_POISSON_CHUNK 4096

typedef struct SnnkCtx SnnkCtx;

// One population in a neuron-update launch. The populations of one model share concatenated
// state columns; population k covers [offset, offset + n) of them and the blocks
// [block_start, next population's block_start) of the launch.
typedef struct {
    uint32_t block_start;
    uint32_t n;
    uint32_t offset;
    // Index into the per-population spike counters and totals.
    uint32_t pop;
    // Slots per receptor of the input rings (max delay + 1); 0 for spike sources.
    uint32_t ring_len;
    // Network-wide id of neuron 0 in the spike log.
    uint32_t global_base;
    // 1: append this population's spikes to the spike log.
    uint32_t record;
    // Poisson: the first of this population's streams in the SnnkPoissonChunk table.
    uint32_t chunk_base;
    // Input rings, [receptor][slot][neuron]; receptor 0 excitatory, 1 inhibitory.
    double* ring;
    // This step's spikes (unordered), at most n.
    uint32_t* spikes;
    // Per neuron: 1 + the last step in which it spiked (read by dense projections), or NULL.
    uint32_t* last_spike;
} SnnkPop;

// Exact current-based LIF (snnsim::models::lif): propagators for one (parameters, dt).
typedef struct {
    double p22, p11_exc, p11_inh, p21_exc, p21_inh, r, v_rest, i_bias, v_th, v_reset;
    uint32_t hold_steps;
    uint32_t pad;
} SnnkLifParams;

// Conductance-based LIF, forward Euler (snnsim::models::coba_lif).
typedef struct {
    double h_over_tau_m, h_over_tau_exc, h_over_tau_inh, e_l, e_exc, e_inh, r, i_bias, v_th,
        v_reset;
    uint32_t hold_steps;
    uint32_t pad;
} SnnkCobaParams;

// One random stream of a Poisson population: the ChaCha8 key of the host's stream for the
// chunk, the position (in 64-bit draws) of its next draw when the run reached the device, and
// the neurons it covers.
typedef struct {
    uint32_t key[8];
    uint64_t base;
    uint32_t len;
    uint32_t pad;
} SnnkPoissonChunk;

// A spike source with a fixed list: SpikeTimes (events sorted by step) or Observation
// (steps == NULL: the same neurons on every step).
typedef struct {
    const uint64_t* steps;
    const uint32_t* neurons;
    uint64_t n_events;
} SnnkListSource;

// The spike log: (step mod 2^32, global neuron id) pairs appended by the update kernels for
// recorded populations. `count` may pass `cap` only if the host let it fill up (it never does:
// it drains the log before it can); entries past `cap` are dropped.
typedef struct {
    uint32_t* entries;
    uint32_t* count;
    uint32_t cap;
    uint32_t pad;
} SnnkLog;

// A sparse projection, CSR by presynaptic neuron (snnsim::graph::Projection).
typedef struct {
    const uint64_t* indptr;
    const uint32_t* indices;
    const double* weights;
    // Per-synapse delays in steps, or NULL for `uniform_delay`.
    const uint16_t* delays;
    uint32_t uniform_delay;
    uint32_t n_pre;
} SnnkCsr;

// Where a projection delivers: the target's rings.
typedef struct {
    double* ring;
    uint32_t ring_len;
    uint32_t n_post;
    uint32_t receptor;
    uint32_t pad;
} SnnkTarget;

// --- runtime -------------------------------------------------------------------------------

// "HIP" or "CUDA": what these kernels were compiled for.
const char* snnk_platform(void);
// SNNK_UPDATE_BLOCK, for the host's layout.
uint32_t snnk_update_block_size(void);
// Text of a status code.
const char* snnk_error_string(int status);
// Devices present, and the name and architecture of device 0 (NUL-terminated, truncated).
int snnk_probe(int* count, char* name, size_t name_len, char* arch, size_t arch_len,
               int* runtime_version, int* driver_version);
// A context on `device`: one stream that every call below is ordered on.
int snnk_create(int device, SnnkCtx** out);
void snnk_destroy(SnnkCtx* ctx);
// Streaming multiprocessors (compute units) of the context's device.
uint32_t snnk_multiprocessors(const SnnkCtx* ctx);
// Device memory, zero-filled.
int snnk_alloc(SnnkCtx* ctx, size_t bytes, void** out);
int snnk_free(SnnkCtx* ctx, void* ptr);
// Copies that return when the host buffer may be reused (upload) or holds the data (download).
int snnk_upload(SnnkCtx* ctx, void* dst, const void* src, size_t bytes);
int snnk_download(SnnkCtx* ctx, void* dst, const void* src, size_t bytes);
// Asynchronous zero fill.
int snnk_zero(SnnkCtx* ctx, void* dst, size_t bytes);
// Waits for the stream; reports an error of any earlier asynchronous call.
int snnk_sync(SnnkCtx* ctx);

// --- a step's launches: recorded once, replayed (graphs) ------------------------------------
// Everything below takes the step number as a device address, so a step's launches have fixed
// arguments: the host records one step (or k) between snnk_capture_begin and snnk_capture_end
// and replays it with snnk_graph_launch, one call per k steps instead of one per launch.
typedef struct SnnkGraph SnnkGraph;
int snnk_capture_begin(SnnkCtx* ctx);
int snnk_capture_end(SnnkCtx* ctx, SnnkGraph** out);
int snnk_graph_launch(SnnkCtx* ctx, SnnkGraph* graph);
void snnk_graph_destroy(SnnkGraph* graph);

// The last launch of a step: last_counts <- counts, counts <- 0, *step += 1.
int snnk_end_step(SnnkCtx* ctx, uint64_t* step, uint32_t* counts, uint32_t* last_counts,
                  uint32_t n_pops);

// --- neuron updates (asynchronous; one launch per model over all its populations) ---------

// Deliver (the ring slot due at *step, zeroed), integrate, threshold, reset, refractoriness;
// spikes to each population's list, counts[pop] (zero at the start of a step) and
// totals[pop], and to the log.
int snnk_lif_update(SnnkCtx* ctx, const SnnkPop* pops, const SnnkLifParams* params,
                    uint32_t n_pops, uint32_t n_blocks, double* v, double* i_exc, double* i_inh,
                    const double* i_ext, uint32_t* refractory, const uint64_t* step,
                    uint32_t* counts, unsigned long long* totals, SnnkLog log);
int snnk_coba_update(SnnkCtx* ctx, const SnnkPop* pops, const SnnkCobaParams* params,
                     uint32_t n_pops, uint32_t n_blocks, double* v, double* g_exc, double* g_inh,
                     const double* i_ext, uint32_t* refractory, const uint64_t* step,
                     uint32_t* counts, unsigned long long* totals, SnnkLog log);
// Each source spikes with probability p[k] (per population), drawing draw number
// base + (*step - step0)·len + j of its chunk's ChaCha8 stream, exactly as the CPU does.
int snnk_poisson_update(SnnkCtx* ctx, const SnnkPop* pops, const double* p, uint32_t n_pops,
                        uint32_t n_blocks, const SnnkPoissonChunk* chunks, const uint64_t* step,
                        uint64_t step0, uint32_t* counts, unsigned long long* totals,
                        SnnkLog log);
// One block per population.
int snnk_list_source_update(SnnkCtx* ctx, const SnnkPop* pops, const SnnkListSource* sources,
                            uint32_t n_pops, const uint64_t* step, uint32_t* counts,
                            unsigned long long* totals, SnnkLog log);

// --- propagation (asynchronous) ------------------------------------------------------------

// Event-driven: each spike of the presynaptic list walks its CSR row and adds its weights to
// the target ring slot step + delay (atomically: the order of the sums is not fixed). `grid`
// blocks stride over the spikes, `block` threads along a row (any sizes are correct; the host
// picks about one thread per synapse of a mean row).
int snnk_propagate_csr(SnnkCtx* ctx, SnnkCsr csr, const uint32_t* spikes, const uint32_t* count,
                       SnnkTarget target, const uint64_t* step, uint32_t grid, uint32_t block,
                       unsigned long long* events);
// Dense: weights[i·n_post + j]; every target neuron adds the weights of the presynaptic
// neurons that spiked this step (last_spike[i] == step + 1) in index order, as the CPU does,
// so the result does not depend on scheduling. row_nnz[i] counts the synapses of row i.
int snnk_propagate_dense(SnnkCtx* ctx, const double* weights, const uint32_t* row_nnz,
                         uint32_t n_pre, const uint32_t* last_spike, const uint32_t* count,
                         SnnkTarget target, uint32_t delay, const uint64_t* step,
                         unsigned long long* events);

// --- batched foraging agents ---------------------------------------------------------------
// One decision of a batch of agents (the executor, src/exec/; docs/gpu.md): input currents from the
// active inputs' rows of w1, T steps of the hidden layer and the leaky readout, the logits
// (mean readout membrane) and the factored surrogate-gradient backward pass (q, nu).

#define SNNK_HIDDEN_LEAKY 0u
#define SNNK_HIDDEN_SYNAPTIC 1u
#define SNNK_HIDDEN_ALPHA 2u
#define SNNK_RESET_ZERO 0u
#define SNNK_RESET_SUBTRACT 1u
#define SNNK_RESET_NONE 2u
#define SNNK_SURROGATE_FAST_SIGMOID 0u
#define SNNK_SURROGATE_SIGMOID 1u
#define SNNK_SURROGATE_ATAN 2u
// Bits of the per-step flags.
#define SNNK_AGENT_SPIKE 1u
#define SNNK_AGENT_RESET 2u

// The agent's fixed parts (from snnsim::exec::Net and its Shallow shape).
typedef struct {
    uint32_t hidden;     // hidden neurons h
    uint32_t out;        // readout units o
    uint32_t steps;      // simulation steps per decision T
    uint32_t neuron;     // SNNK_HIDDEN_*
    uint32_t reset;      // SNNK_RESET_*
    uint32_t surrogate;  // SNNK_SURROGATE_*
    // Hidden decays (alpha unused by Leaky), Alpha's tau, threshold, readout decay, and the
    // surrogate's parameter (slope, or atan's alpha).
    double alpha, beta, tau, threshold, beta_out, slope;
} SnnkAgentLayers;

// Agent a's active inputs are active[active_start[a] .. active_start[a + 1]] (indices into the
// rows of w1, n_in x h row-major); w2 is h x o row-major. Scratch: mem (n_agents x T x h) and
// flags (n_agents x T x h; SNNK_AGENT_SPIKE, SNNK_AGENT_RESET), which the host may read back
// for a spike raster. Out: z (n_agents x o), q and nu (n_agents x h), counts (n_agents x h,
// the spikes of each neuron in the decision). Asynchronous.
int snnk_agent_decide(SnnkCtx* ctx, SnnkAgentLayers layers, const double* w1, const double* w2,
                      uint32_t n_agents, const uint32_t* active, const uint32_t* active_start,
                      double* mem, uint8_t* flags, double* z, double* q, double* nu,
                      uint32_t* counts);

// The actions of a decision of n agents with o logits each (z, n x o): agent a samples from
// softmax(z[a]) with draw number draws[a] of the ChaCha8 stream keyed by keys[8a .. 8a + 8]
// (the episode's stream, src/rng.rs); out: actions[n], and pi, d log pi(a)/dz and dH/dz
// (n x o each). Asynchronous.
int snnk_agent_sample(SnnkCtx* ctx, uint32_t o, uint32_t n, const double* z, const uint32_t* keys,
                      const uint64_t* draws, uint32_t* actions, double* pi, double* dlogp,
                      double* dent);

// --- environments on the device -------------------------------------------------------------
// Device versions of the shipped environment plugins (kernels/hip/envs.h; docs/gpu.md): a
// batch of episodes of one environment, one thread per episode. Each is the plugin's own
// arithmetic in the plugin's order, so on the host it agrees with the plugin bit for bit; on
// a device, sin/cos/pow are the device library's and may differ in the last bit.
//
// These calls, snnk_agent_sample and snnk_agent_round take a context that may be NULL: they
// then run the same per-episode code on the host, in loops, over host memory (the host twin,
// which checks the code without a device), and return when done.

#define SNNK_ENV_GRIDWORLD 0u
#define SNNK_ENV_CARTPOLE 1u
#define SNNK_ENV_PENDULUM 2u
#define SNNK_ENV_MOUNTAINCAR 3u
#define SNNK_ENV_ACROBOT 4u
// Episode phases.
#define SNNK_ENV_NOT_STARTED 0u
#define SNNK_ENV_RUNNING 1u
#define SNNK_ENV_ENDED 2u
// Transition status: a step that was refused leaves its episode as it was.
#define SNNK_ENV_OK 0
#define SNNK_ENV_BAD_ACTION 1
#define SNNK_ENV_NOT_RUNNING 2
// Gridworld encoders of snnsim::file::Encoder: the cells that are on, or egocentric.
#define SNNK_ENCODER_IDENTITY 0u
#define SNNK_ENCODER_EGOCENTRIC 1u

// Which environment, with its parameters (the plugin's `params`).
typedef struct {
    uint32_t kind;       // SNNK_ENV_*
    uint32_t max_steps;  // the time limit (truncation)
    uint32_t size;       // gridworld: cells per side (else 0)
    uint32_t food;       // gridworld: food items (else 0)
} SnnkEnvParams;

// One episode. Classic control keeps its internal state in s (the plugin's `state`);
// the gridworld keeps the agent's cell and its counters here and its food in a byte per cell.
typedef struct {
    double s[4];
    uint32_t steps;
    uint32_t phase;      // SNNK_ENV_NOT_STARTED, _RUNNING, _ENDED
    uint32_t row, col;   // gridworld: the agent's cell
    uint32_t remaining;  // gridworld: food left
    uint32_t eaten;      // gridworld: food eaten
} SnnkEnvState;

// What one step gave (the plugins' Transition, and whether the step was taken).
typedef struct {
    double reward;
    uint32_t terminated;
    uint32_t truncated;
    int32_t status;  // SNNK_ENV_OK, SNNK_ENV_BAD_ACTION, SNNK_ENV_NOT_RUNNING
    uint32_t pad;
} SnnkEnvTransition;

// Layout of a batch of n episodes: states[n]; cells: n x size^2 bytes (gridworld; else NULL);
// scratch: n x 2·food words used by the gridworld's reset (else NULL); obs: n x obs_len
// values (the plugin's observation: 2·size^2, 4, 3, 2, 6), or NULL to skip writing it;
// actions: one value per episode, as the plugins take them (an index, or a torque).
// Reset starts every episode from its seed (the plugin's reset(seed)); step advances every
// episode whose phase is running and reports the others as SNNK_ENV_NOT_RUNNING.
int snnk_env_reset(SnnkCtx* ctx, SnnkEnvParams params, uint32_t n, const uint64_t* seeds,
                   SnnkEnvState* states, uint8_t* cells, uint32_t* scratch, double* obs);
int snnk_env_step(SnnkCtx* ctx, SnnkEnvParams params, uint32_t n, const double* actions,
                  SnnkEnvState* states, uint8_t* cells, double* obs, SnnkEnvTransition* out);
// The gridworld's active inputs under an encoder (SNNK_ENCODER_*), as
// snnsim::file::Encoder::active lists them: episode a's at active[a·(1 + food) ..], their
// number in n_active[a].
int snnk_grid_active(SnnkCtx* ctx, SnnkEnvParams params, uint32_t encoder, uint32_t n,
                     const SnnkEnvState* states, const uint8_t* cells, uint32_t* active,
                     uint32_t* n_active);

// --- a round of the foraging agents, whole on the device -------------------------------------
// One decision of every running episode of a batch in one launch (agent.hip; docs/gpu.md): per
// episode, the grid world's active inputs under the encoder, the decision of
// snnk_agent_decide, the action drawn as snnk_agent_sample draws it, and the grid world's step;
// what the update needs is appended to the episode's records on the device, which the host
// reads once the batch has ended.

// Per-episode scratch of one decision: mem and flags (T x h), z and pi (o), counts (h).
typedef struct {
    double* mem;
    uint8_t* flags;
    double* z;
    double* pi;
    uint32_t* counts;
} SnnkAgentScratch;

// Episode a's records of decision k (k < K, the episodes' time limit), at (a·K + k) times the
// size of one: active inputs (stride 1 + food; their number in n_active), q and nu (h each),
// d log pi(a)/dz and dH/dz (o each), the reward and the decision's hidden spikes. Over the
// episode: spikes_per_neuron (h, summed in decision order). Episodes with record[a] = r (not
// UINT32_MAX) also keep each decision's flags at raster[(r·K + k)·T·h ..].
typedef struct {
    uint32_t* active;
    uint32_t* n_active;
    double* q;
    double* nu;
    double* dlogp;
    double* dent;
    double* reward;
    uint32_t* spikes;
    double* spikes_per_neuron;
    const uint32_t* record;
    uint8_t* raster;
} SnnkEpisodeData;

// One round: every episode whose phase is running takes its decision number states[a].steps
// (keys: 8 words per episode, its sampling stream) and steps its world; each one still
// running afterwards adds 1 to *live (zero it first). Asynchronous.
int snnk_agent_round(SnnkCtx* ctx, SnnkAgentLayers layers, SnnkEnvParams env, uint32_t encoder,
                     uint32_t n, uint32_t max_decisions, const double* w1, const double* w2,
                     const uint32_t* keys, SnnkEnvState* states, uint8_t* cells,
                     SnnkAgentScratch scratch, SnnkEpisodeData data, uint32_t* live);

// --- host helpers (no device needed; used by the tests) -----------------------------------

// Draw number `index` (64-bit) of the ChaCha8 stream with `key`, as rand_chacha's
// ChaCha8Rng::from_seed(key) gives it, computed by the same code the Poisson kernel runs.
uint64_t snnk_chacha8_u64(const uint32_t key[8], uint64_t index);
// snnk_agent_decide on the host, in host memory: the kernel's per-neuron and per-unit code run
// in loops (so the arithmetic can be checked against the CPU agent without a device).
int snnk_agent_decide_host(SnnkAgentLayers layers, const double* w1, const double* w2,
                           uint32_t n_agents, const uint32_t* active, const uint32_t* active_start,
                           double* mem, uint8_t* flags, double* z, double* q, double* nu,
                           uint32_t* counts);

#ifdef __cplusplus
}
#endif
