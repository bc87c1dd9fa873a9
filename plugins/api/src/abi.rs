//! The C ABI between the snnsim host and a plugin library. Only `#[repr(C)]` data and
//! `extern "C"` functions cross it: no Rust trait objects, `String`, `Vec` or `Box`, so a
//! plugin built with another compiler version still loads.
//!
//! Rules of the ABI:
//! - A library exports one symbol, [`ENTRY_SYMBOL`], returning a pointer to a static
//!   [`PluginHeader`], which is the first field of the plugin's vtable.
//! - The host reads the header first and checks `abi_major`, `kind` and `vtable_size` before
//!   it makes any other call.
//! - Within one major version, vtables only grow by appending fields (a minor bump); a host
//!   reads appended fields only when `vtable_size` says they are there.
//! - Every function returns a [`Status`]; on failure the plugin writes a UTF-8 message into
//!   the host-owned [`ErrBuf`]. Panics never cross the boundary.
//! - Memory is freed by whoever allocated it; libraries are never unloaded.

use std::ffi::c_void;

/// Incompatible changes bump the major version; the host refuses another major.
pub const ABI_MAJOR: u16 = 1;
/// Appending fields to a vtable bumps the minor version.
pub const ABI_MINOR: u16 = 7;
/// The one symbol a plugin library exports: `extern "C" fn() -> *const PluginHeader`.
pub const ENTRY_SYMBOL: &str = "snnsim_plugin_entry";
/// The entry function's type.
pub type EntryFn = unsafe extern "C" fn() -> *const PluginHeader;

/// `PluginHeader::kind` of a learning rule.
pub const KIND_RULE: u32 = 1;
/// `PluginHeader::kind` of an environment.
pub const KIND_ENV: u32 = 2;
/// `PluginHeader::kind` of a structural policy (ABI 1.3).
pub const KIND_STRUCTURE: u32 = 3;

/// Result of a call. A plain integer, not a Rust enum, so an unexpected value from a foreign
/// library is not undefined behaviour.
pub type Status = u32;
/// The call succeeded.
pub const STATUS_OK: Status = 0;
/// The call failed; the message is in the error buffer.
pub const STATUS_ERROR: Status = 1;
/// The plugin panicked; the message is in the error buffer and the instance is poisoned.
pub const STATUS_PANICKED: Status = 2;

/// A borrowed UTF-8 string.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct StrRef {
    /// First byte.
    pub ptr: *const u8,
    /// Length in bytes.
    pub len: usize,
}

impl StrRef {
    /// Borrows a `&'static str` (usable in constants).
    pub const fn from_static(s: &'static str) -> Self {
        StrRef {
            ptr: s.as_ptr(),
            len: s.len(),
        }
    }

    /// Borrows a string.
    pub fn new(s: &str) -> Self {
        StrRef {
            ptr: s.as_ptr(),
            len: s.len(),
        }
    }

    /// The bytes, lossily decoded.
    ///
    /// # Safety
    /// `ptr` must point at `len` readable bytes that live for `'a`.
    pub unsafe fn to_str<'a>(self) -> std::borrow::Cow<'a, str> {
        if self.ptr.is_null() || self.len == 0 {
            return "".into();
        }
        String::from_utf8_lossy(std::slice::from_raw_parts(self.ptr, self.len))
    }
}

/// A borrowed byte string.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct BytesRef {
    /// First byte.
    pub ptr: *const u8,
    /// Length.
    pub len: usize,
}

/// A host-owned buffer the plugin writes an error message into (truncated to `cap`).
#[repr(C)]
#[derive(Debug)]
pub struct ErrBuf {
    /// Buffer start.
    pub ptr: *mut u8,
    /// Capacity in bytes.
    pub cap: usize,
    /// Bytes written.
    pub len: usize,
}

/// A host-owned byte sink: the plugin calls `write` any number of times.
#[repr(C)]
pub struct ByteSink {
    /// Host context.
    pub ctx: *mut c_void,
    /// Appends `len` bytes.
    pub write: unsafe extern "C" fn(ctx: *mut c_void, ptr: *const u8, len: usize),
}

/// The header every plugin vtable starts with. Its layout is frozen for all of major 1.
#[repr(C)]
#[derive(Debug)]
pub struct PluginHeader {
    /// [`ABI_MAJOR`] the plugin was built with.
    pub abi_major: u16,
    /// [`ABI_MINOR`] the plugin was built with.
    pub abi_minor: u16,
    /// [`KIND_RULE`], [`KIND_ENV`] or [`KIND_STRUCTURE`].
    pub kind: u32,
    /// `size_of` the whole vtable the plugin was built with.
    pub vtable_size: u32,
    /// Reserved, zero.
    pub reserved: u32,
    /// Plugin name, as used in graph files.
    pub name: StrRef,
    /// Plugin version (its crate version).
    pub version: StrRef,
}

const _: () = assert!(std::mem::size_of::<PluginHeader>() == 48);

/// The shape of the projection a rule instance trains.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ProjShapeV1 {
    /// Presynaptic neurons.
    pub n_pre: u64,
    /// Postsynaptic neurons.
    pub n_post: u64,
    /// Synapses.
    pub nnz: u64,
    /// Time step (ms).
    pub dt_ms: f64,
}

/// What a rule sees of its projection at one step: raw slices, valid for the call only.
/// Weights are CSR by presynaptic neuron: the synapses of pre neuron `i` are
/// `indptr[i]..indptr[i+1]`, with post indices `indices[k]` and weights `weights[k]`.
#[repr(C)]
#[derive(Debug)]
pub struct RuleStepV1 {
    /// Step index.
    pub step: u64,
    /// Time step (ms).
    pub dt_ms: f64,
    /// Presynaptic neurons.
    pub n_pre: u64,
    /// Postsynaptic neurons.
    pub n_post: u64,
    /// Synapses.
    pub nnz: u64,
    /// `n_pre + 1` row offsets.
    pub indptr: *const usize,
    /// `nnz` post indices.
    pub indices: *const u32,
    /// `nnz` weights, writable.
    pub weights: *mut f64,
    /// Pre neurons that spiked this step, ascending.
    pub pre_spikes: *const u32,
    /// Their count.
    pub n_pre_spikes: u64,
    /// Post neurons that spiked this step, ascending.
    pub post_spikes: *const u32,
    /// Their count.
    pub n_post_spikes: u64,
    /// Presynaptic trace, `n_pre` values kept by the host (0 if the rule asked for none).
    pub pre_trace: *mut f64,
    /// Its length.
    pub pre_trace_len: u64,
    /// Postsynaptic trace, `n_post` values kept by the host.
    pub post_trace: *mut f64,
    /// Its length.
    pub post_trace_len: u64,
    /// Postsynaptic membrane potential after this step's update (`n_post` values, or 0 when
    /// the model has none).
    pub post_v: *const f64,
    /// Its length.
    pub post_v_len: u64,
}

/// Index maps after a structural edit: for each new index, the old index it came from, or
/// [`NEW`] for an element that did not exist before.
#[repr(C)]
#[derive(Debug)]
pub struct RemapV1 {
    /// New pre neuron → old pre neuron.
    pub pre_map: *const u64,
    /// New number of pre neurons.
    pub n_pre: u64,
    /// New post neuron → old post neuron.
    pub post_map: *const u64,
    /// New number of post neurons.
    pub n_post: u64,
    /// New synapse → old synapse.
    pub syn_map: *const u64,
    /// New number of synapses.
    pub nnz: u64,
}

/// A gradient step for one projection trained by a gradient rule (ABI 1.1).
#[repr(C)]
#[derive(Debug)]
pub struct GradStepV1 {
    /// Updates applied before this one.
    pub update: u64,
    /// Presynaptic neurons.
    pub n_pre: u64,
    /// Postsynaptic neurons.
    pub n_post: u64,
    /// Synapses.
    pub nnz: u64,
    /// `n_pre + 1` row offsets.
    pub indptr: *const usize,
    /// `nnz` post indices.
    pub indices: *const u32,
    /// `nnz` weights, writable.
    pub weights: *mut f64,
    /// `nnz` gradients of the loss with respect to the weights.
    pub grads: *const f64,
    /// L2 norm of the gradient over every projection this update covers (for global clipping).
    pub global_grad_norm: f64,
}

/// Marks a new element in a [`RemapV1`] map.
pub const NEW: u64 = u64::MAX;

/// The vtable of a learning rule, major version 1.
#[repr(C)]
#[derive(Debug)]
pub struct RuleVTableV1 {
    /// Header (kind [`KIND_RULE`]).
    pub header: PluginHeader,
    /// Parses `config` (RON text) and creates an instance for a projection of `shape`.
    pub create: unsafe extern "C" fn(
        config: StrRef,
        shape: *const ProjShapeV1,
        out: *mut *mut c_void,
        err: *mut ErrBuf,
    ) -> Status,
    /// One step: traces and weights may change.
    pub on_step:
        unsafe extern "C" fn(this: *mut c_void, ctx: *mut RuleStepV1, err: *mut ErrBuf) -> Status,
    /// A reward arrives.
    pub on_reward: unsafe extern "C" fn(
        this: *mut c_void,
        reward: f64,
        ctx: *mut RuleStepV1,
        err: *mut ErrBuf,
    ) -> Status,
    /// An episode ended.
    pub on_episode_end: unsafe extern "C" fn(this: *mut c_void, err: *mut ErrBuf) -> Status,
    /// The projection's shape changed (growth, pruning).
    pub resize:
        unsafe extern "C" fn(this: *mut c_void, remap: *const RemapV1, err: *mut ErrBuf) -> Status,
    /// Writes the instance's state.
    pub save:
        unsafe extern "C" fn(this: *mut c_void, sink: *mut ByteSink, err: *mut ErrBuf) -> Status,
    /// Restores the instance's state.
    pub load: unsafe extern "C" fn(this: *mut c_void, bytes: BytesRef, err: *mut ErrBuf) -> Status,
    /// Frees the instance.
    pub destroy: unsafe extern "C" fn(this: *mut c_void),
    // ---- ABI 1.1: gradient rules. Read only when `vtable_size` covers them. ----
    /// Advantages of a batch of episodes: `rewards` holds the episodes one after the other,
    /// `lengths[e]` steps each; writes one advantage per step into `out`.
    pub advantages: unsafe extern "C" fn(
        this: *mut c_void,
        rewards: *const f64,
        lengths: *const u64,
        n_episodes: u64,
        out: *mut f64,
        err: *mut ErrBuf,
    ) -> Status,
    /// Applies a gradient to the projection's weights.
    pub on_gradient:
        unsafe extern "C" fn(this: *mut c_void, ctx: *mut GradStepV1, err: *mut ErrBuf) -> Status,
    // ---- ABI 1.2: actor-critic rules. Read only when `vtable_size` covers them. ----
    /// Advantages and critic targets of a batch of episodes: `rewards` holds the episodes one
    /// after the other, `lengths[e]` steps each; `values` holds, per episode, the critic's
    /// V(s_t) for its `lengths[e]` states and one more for the state after the last step (0
    /// when the episode terminated). Writes one advantage and one target per step.
    pub critic_advantages: unsafe extern "C" fn(
        this: *mut c_void,
        rewards: *const f64,
        values: *const f64,
        lengths: *const u64,
        n_episodes: u64,
        advantages: *mut f64,
        targets: *mut f64,
        err: *mut ErrBuf,
    ) -> Status,
    // ---- ABI 1.5: value rules (off-policy). Read only when `vtable_size` covers them. ----
    /// The loss of a minibatch of transitions and its gradient with respect to the online
    /// network's outputs (see [`TdBatchV1`]).
    pub td_loss:
        unsafe extern "C" fn(this: *mut c_void, batch: *mut TdBatchV1, err: *mut ErrBuf) -> Status,
    // ---- ABI 1.6: distributional value rules (C51). Read only when `vtable_size` covers them.
    /// The loss of a minibatch of transitions for a network whose outputs are, per action,
    /// the logits of a categorical return distribution, and its gradient with respect to
    /// them (see [`DistBatchV1`]).
    pub dist_loss: unsafe extern "C" fn(
        this: *mut c_void,
        batch: *mut DistBatchV1,
        err: *mut ErrBuf,
    ) -> Status,
    // ---- ABI 1.7: rules on a block of a split projection. Read only when `vtable_size`
    // covers them; null when the rule does not train blocks. ----
    /// Writes the state in [`StatePartsSinkV1`]'s four parts. A rule that has this call (and
    /// `load_parts`) declares that it trains a **block** of its projection — the synapses
    /// into a contiguous range of postsynaptic neurons, which `resize` cut out of the whole
    /// (`pre_map` the identity, `post_map` the range, `syn_map` the block's synapses in CSR
    /// order) — exactly as the whole instance trains those synapses: each step, reward and
    /// episode end changes a synapse only from its own weight and state, its pre and post
    /// neurons' traces and state, the spikes, and the shared part, which evolves alike on
    /// every block. Then a projection split across ranks by its postsynaptic neurons
    /// (docs/distributed.md) trains as one process does, and its state merges into one
    /// process's.
    pub save_parts: Option<
        unsafe extern "C" fn(
            this: *mut c_void,
            sinks: *mut StatePartsSinkV1,
            err: *mut ErrBuf,
        ) -> Status,
    >,
    /// Restores state written by `save_parts` (of the block this instance trains: the host
    /// merges or cuts the parts of other blocks into it).
    pub load_parts: Option<
        unsafe extern "C" fn(
            this: *mut c_void,
            parts: *const StatePartsV1,
            err: *mut ErrBuf,
        ) -> Status,
    >,
}

/// The state of a rule instance by what it describes (ABI 1.7). `per_pre`, `per_post` and
/// `per_synapse` hold one record of a fixed size per presynaptic neuron, postsynaptic neuron
/// and synapse (CSR order) of the instance's projection, one after the other (the host finds
/// the record size by dividing; it may be zero); `shared` holds the rest, which must be the
/// same on every block of a projection, as must `per_pre`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct StatePartsV1 {
    /// State that is neither per neuron nor per synapse.
    pub shared: BytesRef,
    /// One record per presynaptic neuron.
    pub per_pre: BytesRef,
    /// One record per postsynaptic neuron.
    pub per_post: BytesRef,
    /// One record per synapse, in CSR order.
    pub per_synapse: BytesRef,
}

/// Where `save_parts` writes the four parts of [`StatePartsV1`].
#[repr(C)]
pub struct StatePartsSinkV1 {
    /// The shared part.
    pub shared: ByteSink,
    /// The part per presynaptic neuron.
    pub per_pre: ByteSink,
    /// The part per postsynaptic neuron.
    pub per_post: ByteSink,
    /// The part per synapse.
    pub per_synapse: ByteSink,
}

/// A minibatch of n-step transitions for a distributional value rule (ABI 1.6): as
/// [`TdBatchV1`], but the network's outputs are, per action, `n_atoms` logits of the
/// probabilities of the returns z_j = v_min + j·(v_max − v_min)/(n_atoms − 1). Output
/// matrices are n × n_actions × n_atoms, row-major. The rule writes `dlogits`, `td` and `loss`.
#[repr(C)]
#[derive(Debug)]
pub struct DistBatchV1 {
    /// Transitions.
    pub n: u64,
    /// Actions.
    pub n_actions: u64,
    /// Atoms of the support (≥ 2).
    pub n_atoms: u64,
    /// Reward columns per transition.
    pub n_step: u64,
    /// The support's least value.
    pub v_min: f64,
    /// The support's greatest value.
    pub v_max: f64,
    /// Logits at s_i of the online network.
    pub logits: *const f64,
    /// Logits at s'_i of the online network (Double DQN's argmax).
    pub logits_next_online: *const f64,
    /// Logits at s'_i of the target network.
    pub logits_next_target: *const f64,
    /// The action taken in s_i, n.
    pub actions: *const u32,
    /// r_i, r_{i+1}, …: `steps[i]` rewards then zeros, n × n_step.
    pub rewards: *const f64,
    /// Rewards until s'_i (1..=n_step), n.
    pub steps: *const u32,
    /// 1 when s'_i is terminal, n.
    pub terminal: *const u8,
    /// Importance weights, n.
    pub weights: *const f64,
    /// Out: ∂L/∂logits, n × n_actions × n_atoms.
    pub dlogits: *mut f64,
    /// Out: each transition's loss (the cross-entropy), n: the trainer's priorities.
    pub td: *mut f64,
    /// Out: the loss.
    pub loss: f64,
}

/// A minibatch of n-step transitions for a value rule (ABI 1.5). Rows are transitions; every
/// matrix is row-major. The host fills the inputs; the rule writes `dq`, `td` and `loss`.
#[repr(C)]
#[derive(Debug)]
pub struct TdBatchV1 {
    /// Transitions.
    pub n: u64,
    /// Actions (outputs per row of `q`).
    pub n_actions: u64,
    /// Reward columns per transition (the trainer's n of n-step returns).
    pub n_step: u64,
    /// Q(s_i, ·) of the online network, n × n_actions.
    pub q: *const f64,
    /// Q(s'_i, ·) of the online network, n × n_actions (Double DQN's argmax).
    pub q_next_online: *const f64,
    /// Q(s'_i, ·) of the target network, n × n_actions.
    pub q_next_target: *const f64,
    /// The action taken in s_i, n.
    pub actions: *const u32,
    /// r_i, r_{i+1}, …: `steps[i]` rewards then zeros, n × n_step.
    pub rewards: *const f64,
    /// Rewards until s'_i (1..=n_step), n.
    pub steps: *const u32,
    /// 1 when s'_i is terminal (no bootstrap), n.
    pub terminal: *const u8,
    /// Importance weights, n.
    pub weights: *const f64,
    /// Out: ∂L/∂Q(s_i, ·), n × n_actions.
    pub dq: *mut f64,
    /// Out: the TD error δ_i, n.
    pub td: *mut f64,
    /// Out: the loss.
    pub loss: f64,
}

/// Size of a rule vtable of ABI 1.0, the least a major-1 host accepts.
pub const RULE_VTABLE_V1_0_SIZE: usize = std::mem::offset_of!(RuleVTableV1, advantages);
/// Size of a rule vtable of ABI 1.1 (gradient rules without the actor-critic call).
pub const RULE_VTABLE_V1_1_SIZE: usize = std::mem::offset_of!(RuleVTableV1, critic_advantages);
/// Size of a rule vtable of ABI 1.2–1.4 (actor-critic rules, before value rules).
pub const RULE_VTABLE_V1_2_SIZE: usize = std::mem::offset_of!(RuleVTableV1, td_loss);
/// Size of a rule vtable of ABI 1.5 (value rules, before distributional ones).
pub const RULE_VTABLE_V1_5_SIZE: usize = std::mem::offset_of!(RuleVTableV1, dist_loss);
/// Size of a rule vtable of ABI 1.6 (distributional value rules, before blocks).
pub const RULE_VTABLE_V1_6_SIZE: usize = std::mem::offset_of!(RuleVTableV1, save_parts);

/// Observation and action sizes of an environment.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct SpacesV1 {
    /// Observation values.
    pub obs_len: u64,
    /// 0: discrete (`action_len` choices, passed as one value, the index); 1: continuous
    /// (`action_len` values).
    pub action_kind: u32,
    /// Number of discrete actions or continuous dimensions.
    pub action_len: u64,
}

/// What a step returns besides the observation.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct TransitionV1 {
    /// Reward of the step.
    pub reward: f64,
    /// 1 if the episode ended in a terminal state.
    pub terminated: u8,
    /// 1 if the episode was cut (time limit).
    pub truncated: u8,
}

/// The vtable of an environment, major version 1.
#[repr(C)]
#[derive(Debug)]
pub struct EnvVTableV1 {
    /// Header (kind [`KIND_ENV`]).
    pub header: PluginHeader,
    /// Parses `config` (RON text) and creates an instance.
    pub create:
        unsafe extern "C" fn(config: StrRef, out: *mut *mut c_void, err: *mut ErrBuf) -> Status,
    /// Observation and action sizes.
    pub spaces:
        unsafe extern "C" fn(this: *mut c_void, out: *mut SpacesV1, err: *mut ErrBuf) -> Status,
    /// Starts an episode from `seed`; writes the first observation.
    pub reset: unsafe extern "C" fn(
        this: *mut c_void,
        seed: u64,
        obs: *mut f64,
        obs_len: u64,
        err: *mut ErrBuf,
    ) -> Status,
    /// Applies an action; writes the observation and the transition.
    pub step: unsafe extern "C" fn(
        this: *mut c_void,
        action: *const f64,
        action_len: u64,
        obs: *mut f64,
        obs_len: u64,
        out: *mut TransitionV1,
        err: *mut ErrBuf,
    ) -> Status,
    /// Writes the instance's state.
    pub save:
        unsafe extern "C" fn(this: *mut c_void, sink: *mut ByteSink, err: *mut ErrBuf) -> Status,
    /// Restores the instance's state.
    pub load: unsafe extern "C" fn(this: *mut c_void, bytes: BytesRef, err: *mut ErrBuf) -> Status,
    /// Frees the instance.
    pub destroy: unsafe extern "C" fn(this: *mut c_void),
}

/// The activity of the edited population since the last call of a structural policy (ABI 1.3):
/// one batch of episodes.
#[repr(C)]
#[derive(Debug)]
pub struct ActivityV1 {
    /// Episodes completed, this batch included.
    pub episodes_done: u64,
    /// Neurons.
    pub n: u64,
    /// Spikes of each neuron over the batch (`n` values).
    pub spikes: *const f64,
    /// Simulation steps each neuron ran over the batch.
    pub steps: f64,
    /// Episodes in the batch.
    pub n_episodes: u64,
    /// Return of each episode of the batch (`n_episodes` values).
    pub returns: *const f64,
    /// Food (rewards above 0.5) of each episode of the batch.
    pub food: *const f64,
}

/// [`ProjViewV1::role`]: the projection enters the edited population.
pub const ROLE_INCOMING: u32 = 0;
/// [`ProjViewV1::role`]: the projection leaves the edited population.
pub const ROLE_OUTGOING: u32 = 1;
/// [`ProjViewV1::role`]: the projection joins the edited population to itself.
pub const ROLE_RECURRENT: u32 = 2;

/// One projection incident to the edited population, read-only, CSR by presynaptic neuron.
#[repr(C)]
#[derive(Debug)]
pub struct ProjViewV1 {
    /// Projection name.
    pub name: StrRef,
    /// [`ROLE_INCOMING`], [`ROLE_OUTGOING`] or [`ROLE_RECURRENT`].
    pub role: u32,
    /// Reserved, zero.
    pub reserved: u32,
    /// Presynaptic neurons.
    pub n_pre: u64,
    /// Postsynaptic neurons.
    pub n_post: u64,
    /// Synapses.
    pub nnz: u64,
    /// `n_pre + 1` row offsets.
    pub indptr: *const usize,
    /// `nnz` post indices (ascending within a row).
    pub indices: *const u32,
    /// `nnz` weights.
    pub weights: *const f64,
}

/// The edited population as it is now (ABI 1.3); per-neuron arrays have `n` values.
#[repr(C)]
#[derive(Debug)]
pub struct PopulationV1 {
    /// Episodes completed.
    pub episodes_done: u64,
    /// 0 at the first call of a check, then one more after each round of applied edits.
    pub round: u32,
    /// Reserved, zero.
    pub reserved: u32,
    /// Neurons.
    pub n: u64,
    /// Stable ids (never reused).
    pub ids: *const u64,
    /// Episodes since each neuron was added (since the start for the first ones).
    pub age: *const u64,
    /// L2 norm of each neuron's incoming weights (all incoming projections).
    pub w_in_norm: *const f64,
    /// L2 norm of each neuron's outgoing weights.
    pub w_out_norm: *const f64,
    /// L2 norm of the last update's gradient of each neuron's incoming weights (0 before the
    /// first update).
    pub grad_in_norm: *const f64,
    /// L2 norm of the last update's gradient of each neuron's outgoing weights.
    pub grad_out_norm: *const f64,
    /// The incident projections, in name order.
    pub projections: *const ProjViewV1,
    /// Their count.
    pub n_projections: u64,
}

/// Where a structural policy puts its edits: host functions the plugin calls during `decide`.
/// The host applies them after the call, in this order: removals, synapse edits, growth.
#[repr(C)]
pub struct EditSinkV1 {
    /// Host context.
    pub ctx: *mut c_void,
    /// Adds `n` neurons; their incoming weights from the input projection's initialiser plus
    /// Gaussian noise of standard deviation `input_noise_std`.
    pub grow: unsafe extern "C" fn(ctx: *mut c_void, n: u64, input_noise_std: f64),
    /// Removes the neuron with stable id `id`.
    pub remove: unsafe extern "C" fn(ctx: *mut c_void, id: u64),
    /// Adds a synapse (`pre`, `post`) of weight `weight` to projection `proj`.
    pub add_synapse:
        unsafe extern "C" fn(ctx: *mut c_void, proj: StrRef, pre: u64, post: u64, weight: f64),
    /// Removes the synapse (`pre`, `post`) of projection `proj`.
    pub remove_synapse: unsafe extern "C" fn(ctx: *mut c_void, proj: StrRef, pre: u64, post: u64),
}

/// The vtable of a structural policy (ABI 1.3): it watches one population's activity and
/// answers with edits between batches.
#[repr(C)]
#[derive(Debug)]
pub struct StructureVTableV1 {
    /// Header (kind [`KIND_STRUCTURE`]).
    pub header: PluginHeader,
    /// Parses `config` (RON text) and creates an instance.
    pub create:
        unsafe extern "C" fn(config: StrRef, out: *mut *mut c_void, err: *mut ErrBuf) -> Status,
    /// The activity of one batch.
    pub observe: unsafe extern "C" fn(
        this: *mut c_void,
        activity: *const ActivityV1,
        err: *mut ErrBuf,
    ) -> Status,
    /// Asks for edits (through `sink`); called again, with `round` one higher, after edits
    /// were applied, until a call asks for none.
    pub decide: unsafe extern "C" fn(
        this: *mut c_void,
        population: *const PopulationV1,
        sink: *mut EditSinkV1,
        err: *mut ErrBuf,
    ) -> Status,
    /// The population's neurons changed: `map[k]` is the old index of new neuron k, or
    /// [`NEW`].
    pub resize: unsafe extern "C" fn(
        this: *mut c_void,
        map: *const u64,
        n: u64,
        err: *mut ErrBuf,
    ) -> Status,
    /// Writes the instance's state.
    pub save:
        unsafe extern "C" fn(this: *mut c_void, sink: *mut ByteSink, err: *mut ErrBuf) -> Status,
    /// Restores the instance's state.
    pub load: unsafe extern "C" fn(this: *mut c_void, bytes: BytesRef, err: *mut ErrBuf) -> Status,
    /// Frees the instance.
    pub destroy: unsafe extern "C" fn(this: *mut c_void),
    // ---- ABI 1.4: policies in simulations. Read only when `vtable_size` covers it. ----
    /// Called every `every_ms` of a simulation with the watched populations' spikes since
    /// the last call and their projections; asks for synapse edits through `sink` (one call
    /// per interval, no rounds).
    pub simulate: unsafe extern "C" fn(
        this: *mut c_void,
        view: *const SimViewV1,
        sink: *mut EditSinkV1,
        err: *mut ErrBuf,
    ) -> Status,
}

// The vtables are immutable statics of plain data and function pointers.
unsafe impl Sync for StructureVTableV1 {}

/// Size of a structural policy's vtable before ABI 1.4 (without `simulate`).
pub const STRUCTURE_VTABLE_V1_3_SIZE: usize =
    std::mem::size_of::<StructureVTableV1>() - std::mem::size_of::<usize>();

/// `pre` or `post` of a [`SimProjV1`] whose population is not one the policy watches.
pub const NOT_WATCHED: u64 = u64::MAX;

/// One population a policy watches in a simulation (ABI 1.4); arrays have `n` values.
#[repr(C)]
#[derive(Debug)]
pub struct SimGroupV1 {
    /// Population name.
    pub name: StrRef,
    /// Neurons.
    pub n: u64,
    /// Stable ids.
    pub ids: *const u64,
    /// Spikes of each neuron since the last call.
    pub spikes: *const f64,
}

/// A projection from or to a watched population (ABI 1.4), CSR by presynaptic neuron.
#[repr(C)]
#[derive(Debug)]
pub struct SimProjV1 {
    /// Projection name.
    pub name: StrRef,
    /// Index of the presynaptic population among the groups, or [`NOT_WATCHED`].
    pub pre: u64,
    /// Index of the postsynaptic population among the groups, or [`NOT_WATCHED`].
    pub post: u64,
    /// Presynaptic neurons.
    pub n_pre: u64,
    /// Postsynaptic neurons.
    pub n_post: u64,
    /// Synapses.
    pub nnz: u64,
    /// `n_pre + 1` row offsets.
    pub indptr: *const usize,
    /// `nnz` post indices (ascending within a row).
    pub indices: *const u32,
    /// `nnz` weights.
    pub weights: *const f64,
}

/// What a policy sees of a simulation at a call (ABI 1.4).
#[repr(C)]
#[derive(Debug)]
pub struct SimViewV1 {
    /// Simulated time at the end of the interval (ms).
    pub time_ms: f64,
    /// Time step (ms).
    pub dt_ms: f64,
    /// Steps simulated.
    pub step: u64,
    /// Steps since the last call.
    pub interval_steps: u64,
    /// The run's root seed (the graph file's `seed`, or `snnsim run --seed`).
    pub seed: u64,
    /// The watched populations, in the order the graph file lists them.
    pub groups: *const SimGroupV1,
    /// Their count.
    pub n_groups: u64,
    /// Every projection from or to a watched population, in name order.
    pub projections: *const SimProjV1,
    /// Their count.
    pub n_projections: u64,
}
unsafe impl Sync for RuleVTableV1 {}
unsafe impl Sync for EnvVTableV1 {}
unsafe impl Sync for PluginHeader {}
