//! The C ABI of `hip/snnk.h`, field for field. With neither GPU feature the functions are
//! stubs that report [`NO_GPU`], so the crate links without a GPU toolchain.

#![allow(missing_docs)] // mirrored from hip/snnk.h, where each item is documented

use std::ffi::{c_char, c_int, c_void};

/// The status the stubs return: this build has no GPU support.
pub const NO_GPU: c_int = -100;
/// `SNNK_ERR_BAD_ARGUMENT`.
pub const ERR_BAD_ARGUMENT: c_int = -1;
/// `SNNK_POISSON_CHUNK`.
pub const POISSON_CHUNK: usize = 4096;

/// Opaque context (`SnnkCtx`).
#[repr(C)]
pub struct SnnkCtx {
    _private: [u8; 0],
}

/// Opaque recorded sequence of launches (`SnnkGraph`).
#[repr(C)]
pub struct SnnkGraph {
    _private: [u8; 0],
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SnnkPop {
    pub block_start: u32,
    pub n: u32,
    pub offset: u32,
    pub pop: u32,
    pub ring_len: u32,
    pub global_base: u32,
    pub record: u32,
    pub chunk_base: u32,
    pub ring: *mut f64,
    pub spikes: *mut u32,
    pub last_spike: *mut u32,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct SnnkLifParams {
    pub p22: f64,
    pub p11_exc: f64,
    pub p11_inh: f64,
    pub p21_exc: f64,
    pub p21_inh: f64,
    pub r: f64,
    pub v_rest: f64,
    pub i_bias: f64,
    pub v_th: f64,
    pub v_reset: f64,
    pub hold_steps: u32,
    pub pad: u32,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct SnnkCobaParams {
    pub h_over_tau_m: f64,
    pub h_over_tau_exc: f64,
    pub h_over_tau_inh: f64,
    pub e_l: f64,
    pub e_exc: f64,
    pub e_inh: f64,
    pub r: f64,
    pub i_bias: f64,
    pub v_th: f64,
    pub v_reset: f64,
    pub hold_steps: u32,
    pub pad: u32,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct SnnkPoissonChunk {
    pub key: [u32; 8],
    pub base: u64,
    pub len: u32,
    pub pad: u32,
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SnnkListSource {
    pub steps: *const u64,
    pub neurons: *const u32,
    pub n_events: u64,
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SnnkLog {
    pub entries: *mut u32,
    pub count: *mut u32,
    pub cap: u32,
    pub pad: u32,
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SnnkCsr {
    pub indptr: *const u64,
    pub indices: *const u32,
    pub weights: *const f64,
    pub delays: *const u16,
    pub uniform_delay: u32,
    pub n_pre: u32,
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SnnkTarget {
    pub ring: *mut f64,
    pub ring_len: u32,
    pub n_post: u32,
    pub receptor: u32,
    pub pad: u32,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SnnkAgentLayers {
    pub hidden: u32,
    pub out: u32,
    pub steps: u32,
    pub neuron: u32,
    pub reset: u32,
    pub surrogate: u32,
    pub alpha: f64,
    pub beta: f64,
    pub tau: f64,
    pub threshold: f64,
    pub beta_out: f64,
    pub slope: f64,
}

pub const HIDDEN_LEAKY: u32 = 0;
pub const HIDDEN_SYNAPTIC: u32 = 1;
pub const HIDDEN_ALPHA: u32 = 2;
pub const RESET_ZERO: u32 = 0;
pub const RESET_SUBTRACT: u32 = 1;
pub const RESET_NONE: u32 = 2;
pub const SURROGATE_FAST_SIGMOID: u32 = 0;
pub const SURROGATE_SIGMOID: u32 = 1;
pub const SURROGATE_ATAN: u32 = 2;
/// `SNNK_AGENT_SPIKE`: bit of a flag byte.
pub const AGENT_SPIKE: u8 = 1;
/// `SNNK_AGENT_RESET`: bit of a flag byte.
pub const AGENT_RESET: u8 = 2;

pub const ENV_GRIDWORLD: u32 = 0;
pub const ENV_CARTPOLE: u32 = 1;
pub const ENV_PENDULUM: u32 = 2;
pub const ENV_MOUNTAINCAR: u32 = 3;
pub const ENV_ACROBOT: u32 = 4;
pub const ENV_NOT_STARTED: u32 = 0;
pub const ENV_RUNNING: u32 = 1;
pub const ENV_ENDED: u32 = 2;
pub const ENV_OK: i32 = 0;
pub const ENV_BAD_ACTION: i32 = 1;
pub const ENV_NOT_RUNNING: i32 = 2;
pub const ENCODER_IDENTITY: u32 = 0;
pub const ENCODER_EGOCENTRIC: u32 = 1;

#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SnnkEnvParams {
    pub kind: u32,
    pub max_steps: u32,
    pub size: u32,
    pub food: u32,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SnnkEnvState {
    pub s: [f64; 4],
    pub steps: u32,
    pub phase: u32,
    pub row: u32,
    pub col: u32,
    pub remaining: u32,
    pub eaten: u32,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SnnkEnvTransition {
    pub reward: f64,
    pub terminated: u32,
    pub truncated: u32,
    pub status: i32,
    pub pad: u32,
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SnnkAgentScratch {
    pub mem: *mut f64,
    pub flags: *mut u8,
    pub z: *mut f64,
    pub pi: *mut f64,
    pub counts: *mut u32,
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SnnkEpisodeData {
    pub active: *mut u32,
    pub n_active: *mut u32,
    pub q: *mut f64,
    pub nu: *mut f64,
    pub dlogp: *mut f64,
    pub dent: *mut f64,
    pub reward: *mut f64,
    pub spikes: *mut u32,
    pub spikes_per_neuron: *mut f64,
    pub record: *const u32,
    pub raster: *mut u8,
}

/// What a stub returns.
#[cfg(not(any(feature = "hip", feature = "cuda")))]
trait Stub {
    fn stub() -> Self;
}
#[cfg(not(any(feature = "hip", feature = "cuda")))]
impl Stub for c_int {
    fn stub() -> Self {
        NO_GPU
    }
}
#[cfg(not(any(feature = "hip", feature = "cuda")))]
impl Stub for u32 {
    fn stub() -> Self {
        0
    }
}
#[cfg(not(any(feature = "hip", feature = "cuda")))]
impl Stub for u64 {
    fn stub() -> Self {
        0
    }
}
#[cfg(not(any(feature = "hip", feature = "cuda")))]
impl Stub for () {
    fn stub() -> Self {}
}
#[cfg(not(any(feature = "hip", feature = "cuda")))]
impl Stub for *const c_char {
    fn stub() -> Self {
        c"built without GPU support".as_ptr()
    }
}

/// Declares the C functions, or stubs of them without a GPU feature.
macro_rules! c_abi {
    ($( pub fn $name:ident($($arg:ident: $t:ty),* $(,)?) -> $ret:ty; )*) => {
        #[cfg(any(feature = "hip", feature = "cuda"))]
        extern "C" {
            $( pub fn $name($($arg: $t),*) -> $ret; )*
        }
        $(
            #[cfg(not(any(feature = "hip", feature = "cuda")))]
            #[allow(clippy::missing_safety_doc, clippy::too_many_arguments)]
            pub unsafe fn $name($($arg: $t),*) -> $ret {
                let _ = ($($arg,)*);
                <$ret as Stub>::stub()
            }
        )*
    };
}

c_abi! {
    pub fn snnk_platform() -> *const c_char;
    pub fn snnk_update_block_size() -> u32;
    pub fn snnk_error_string(status: c_int) -> *const c_char;
    pub fn snnk_probe(
        count: *mut c_int,
        name: *mut c_char,
        name_len: usize,
        arch: *mut c_char,
        arch_len: usize,
        runtime_version: *mut c_int,
        driver_version: *mut c_int,
    ) -> c_int;
    pub fn snnk_create(device: c_int, out: *mut *mut SnnkCtx) -> c_int;
    pub fn snnk_destroy(ctx: *mut SnnkCtx) -> ();
    pub fn snnk_multiprocessors(ctx: *const SnnkCtx) -> u32;
    pub fn snnk_alloc(ctx: *mut SnnkCtx, bytes: usize, out: *mut *mut c_void) -> c_int;
    pub fn snnk_free(ctx: *mut SnnkCtx, ptr: *mut c_void) -> c_int;
    pub fn snnk_upload(ctx: *mut SnnkCtx, dst: *mut c_void, src: *const c_void, bytes: usize) -> c_int;
    pub fn snnk_download(ctx: *mut SnnkCtx, dst: *mut c_void, src: *const c_void, bytes: usize) -> c_int;
    pub fn snnk_zero(ctx: *mut SnnkCtx, dst: *mut c_void, bytes: usize) -> c_int;
    pub fn snnk_sync(ctx: *mut SnnkCtx) -> c_int;
    pub fn snnk_capture_begin(ctx: *mut SnnkCtx) -> c_int;
    pub fn snnk_capture_end(ctx: *mut SnnkCtx, out: *mut *mut SnnkGraph) -> c_int;
    pub fn snnk_graph_launch(ctx: *mut SnnkCtx, graph: *mut SnnkGraph) -> c_int;
    pub fn snnk_graph_destroy(graph: *mut SnnkGraph) -> ();
    pub fn snnk_end_step(
        ctx: *mut SnnkCtx,
        step: *mut u64,
        counts: *mut u32,
        last_counts: *mut u32,
        n_pops: u32,
    ) -> c_int;
    pub fn snnk_lif_update(
        ctx: *mut SnnkCtx,
        pops: *const SnnkPop,
        params: *const SnnkLifParams,
        n_pops: u32,
        n_blocks: u32,
        v: *mut f64,
        i_exc: *mut f64,
        i_inh: *mut f64,
        i_ext: *const f64,
        refractory: *mut u32,
        step: *const u64,
        counts: *mut u32,
        totals: *mut u64,
        log: SnnkLog,
    ) -> c_int;
    pub fn snnk_coba_update(
        ctx: *mut SnnkCtx,
        pops: *const SnnkPop,
        params: *const SnnkCobaParams,
        n_pops: u32,
        n_blocks: u32,
        v: *mut f64,
        g_exc: *mut f64,
        g_inh: *mut f64,
        i_ext: *const f64,
        refractory: *mut u32,
        step: *const u64,
        counts: *mut u32,
        totals: *mut u64,
        log: SnnkLog,
    ) -> c_int;
    pub fn snnk_poisson_update(
        ctx: *mut SnnkCtx,
        pops: *const SnnkPop,
        p: *const f64,
        n_pops: u32,
        n_blocks: u32,
        chunks: *const SnnkPoissonChunk,
        step: *const u64,
        step0: u64,
        counts: *mut u32,
        totals: *mut u64,
        log: SnnkLog,
    ) -> c_int;
    pub fn snnk_list_source_update(
        ctx: *mut SnnkCtx,
        pops: *const SnnkPop,
        sources: *const SnnkListSource,
        n_pops: u32,
        step: *const u64,
        counts: *mut u32,
        totals: *mut u64,
        log: SnnkLog,
    ) -> c_int;
    pub fn snnk_propagate_csr(
        ctx: *mut SnnkCtx,
        csr: SnnkCsr,
        spikes: *const u32,
        count: *const u32,
        target: SnnkTarget,
        step: *const u64,
        grid: u32,
        block: u32,
        events: *mut u64,
    ) -> c_int;
    pub fn snnk_propagate_dense(
        ctx: *mut SnnkCtx,
        weights: *const f64,
        row_nnz: *const u32,
        n_pre: u32,
        last_spike: *const u32,
        count: *const u32,
        target: SnnkTarget,
        delay: u32,
        step: *const u64,
        events: *mut u64,
    ) -> c_int;
    pub fn snnk_agent_decide(
        ctx: *mut SnnkCtx,
        layers: SnnkAgentLayers,
        w1: *const f64,
        w2: *const f64,
        n_agents: u32,
        active: *const u32,
        active_start: *const u32,
        mem: *mut f64,
        flags: *mut u8,
        z: *mut f64,
        q: *mut f64,
        nu: *mut f64,
        counts: *mut u32,
    ) -> c_int;
    pub fn snnk_chacha8_u64(key: *const u32, index: u64) -> u64;
    pub fn snnk_agent_decide_host(
        layers: SnnkAgentLayers,
        w1: *const f64,
        w2: *const f64,
        n_agents: u32,
        active: *const u32,
        active_start: *const u32,
        mem: *mut f64,
        flags: *mut u8,
        z: *mut f64,
        q: *mut f64,
        nu: *mut f64,
        counts: *mut u32,
    ) -> c_int;
    pub fn snnk_agent_sample(
        ctx: *mut SnnkCtx,
        o: u32,
        n: u32,
        z: *const f64,
        keys: *const u32,
        draws: *const u64,
        actions: *mut u32,
        pi: *mut f64,
        dlogp: *mut f64,
        dent: *mut f64,
    ) -> c_int;
    pub fn snnk_agent_round(
        ctx: *mut SnnkCtx,
        layers: SnnkAgentLayers,
        env: SnnkEnvParams,
        encoder: u32,
        n: u32,
        max_decisions: u32,
        w1: *const f64,
        w2: *const f64,
        keys: *const u32,
        states: *mut SnnkEnvState,
        cells: *mut u8,
        scratch: SnnkAgentScratch,
        data: SnnkEpisodeData,
        live: *mut u32,
    ) -> c_int;
    pub fn snnk_env_reset(
        ctx: *mut SnnkCtx,
        params: SnnkEnvParams,
        n: u32,
        seeds: *const u64,
        states: *mut SnnkEnvState,
        cells: *mut u8,
        scratch: *mut u32,
        obs: *mut f64,
    ) -> c_int;
    pub fn snnk_env_step(
        ctx: *mut SnnkCtx,
        params: SnnkEnvParams,
        n: u32,
        actions: *const f64,
        states: *mut SnnkEnvState,
        cells: *mut u8,
        obs: *mut f64,
        out: *mut SnnkEnvTransition,
    ) -> c_int;
    pub fn snnk_grid_active(
        ctx: *mut SnnkCtx,
        params: SnnkEnvParams,
        encoder: u32,
        n: u32,
        states: *const SnnkEnvState,
        cells: *const u8,
        active: *mut u32,
        n_active: *mut u32,
    ) -> c_int;
}
