//! The SDK for snnsim plugins: the only crate a plugin author depends on.
//!
//! A plugin is a `cdylib` crate that implements [`LearningRule`], [`Environment`] or
//! [`StructurePolicy`] and exports it with [`export_rule!`], [`export_env!`] or
//! [`export_structure!`]. The macros generate the C vtable of
//! [`abi`], catch every panic at the boundary, and parse the plugin's parameters (RON text)
//! into its own serde type, so a plugin never writes `unsafe` code.
//!
//! ```ignore
//! use snnsim_plugin_api::{export_rule, LearningRule, RuleContext, Shape};
//! #[derive(serde::Deserialize)]
//! struct Config { rate: f64 }
//! struct Decay { rate: f64 }
//! impl LearningRule for Decay {
//!     type Config = Config;
//!     fn new(c: Config, _shape: &Shape) -> Result<Self, String> { Ok(Decay { rate: c.rate }) }
//!     fn on_step(&mut self, ctx: &mut RuleContext<'_>) -> Result<(), String> {
//!         ctx.weights.iter_mut().for_each(|w| *w *= 1.0 - self.rate);
//!         Ok(())
//!     }
//! }
//! export_rule!(Decay, "decay");
//! ```
//!
//! [`optim`] holds the gradient rules' optimiser (Adam, gradient-norm clipping); [`pair_traces`] the trace machinery of pair-based STDP rules; [`state`] encodes a plugin's saved state; [`testing`] drives a rule or an environment without the engine, for unit tests.

pub mod abi;
#[doc(hidden)]
pub mod glue;
pub mod optim;
pub mod pair_traces;
pub mod state;
pub mod testing;

pub use serde;

use serde::de::DeserializeOwned;

/// The shape of the projection a rule instance trains.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    /// Presynaptic neurons.
    pub n_pre: usize,
    /// Postsynaptic neurons.
    pub n_post: usize,
    /// Synapses.
    pub nnz: usize,
    /// Time step (ms).
    pub dt_ms: f64,
}

/// What a rule sees of its projection at one step.
///
/// Weights are CSR by presynaptic neuron: the synapses of pre neuron `i` are
/// `indptr[i]..indptr[i + 1]`, with post indices `indices[k]` and weights `weights[k]`.
#[derive(Debug)]
pub struct RuleContext<'a> {
    /// Step index.
    pub step: u64,
    /// Time step (ms).
    pub dt_ms: f64,
    /// Presynaptic neurons.
    pub n_pre: usize,
    /// Postsynaptic neurons.
    pub n_post: usize,
    /// Row offsets (`n_pre + 1`).
    pub indptr: &'a [usize],
    /// Post index of each synapse.
    pub indices: &'a [u32],
    /// Weight of each synapse.
    pub weights: &'a mut [f64],
    /// Pre neurons that spiked this step, ascending.
    pub pre_spikes: &'a [u32],
    /// Post neurons that spiked this step, ascending.
    pub post_spikes: &'a [u32],
    /// Presynaptic trace (`n_pre` values), kept by the host between steps and across
    /// structural edits; the rule decides what it means and updates it.
    pub pre_trace: &'a mut [f64],
    /// Postsynaptic trace (`n_post` values), kept by the host.
    pub post_trace: &'a mut [f64],
    /// Postsynaptic membrane potential after this step's update (empty if the model has none).
    pub post_v: &'a [f64],
}

impl RuleContext<'_> {
    /// The synapse indices of pre neuron `i`.
    pub fn row(&self, i: usize) -> std::ops::Range<usize> {
        self.indptr[i]..self.indptr[i + 1]
    }
}

/// Index maps after a structural edit: for each new index, `Some(old index)` or `None` for a
/// new element.
#[derive(Debug, Clone, Copy)]
pub struct Remap<'a> {
    /// New pre neuron → old.
    pub pre: &'a [u64],
    /// New post neuron → old.
    pub post: &'a [u64],
    /// New synapse → old.
    pub synapses: &'a [u64],
}

impl Remap<'_> {
    /// Applies a map to per-element state: new element `k` takes `old[map[k]]`, or `fresh` for a
    /// new element.
    pub fn apply<T: Clone>(map: &[u64], old: &[T], fresh: T) -> Vec<T> {
        map.iter()
            .map(|&m| {
                if m == abi::NEW {
                    fresh.clone()
                } else {
                    old[m as usize].clone()
                }
            })
            .collect()
    }
}

/// A rule's state by what it describes (ABI 1.7, [`LearningRule::save_parts`]): `per_pre`,
/// `per_post` and `per_synapse` hold one record of a fixed size (which may be zero) per
/// presynaptic neuron, postsynaptic neuron and synapse (CSR order), one after the other;
/// `shared` the rest. The host cuts and concatenates them when a projection is split across
/// ranks by its postsynaptic neurons.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateParts {
    /// Neither per neuron nor per synapse: the same on every block.
    pub shared: Vec<u8>,
    /// One record per presynaptic neuron: the same on every block.
    pub per_pre: Vec<u8>,
    /// One record per postsynaptic neuron.
    pub per_post: Vec<u8>,
    /// One record per synapse, in CSR order.
    pub per_synapse: Vec<u8>,
}

/// A learning rule: one instance per projection it trains.
pub trait LearningRule: Send + Sized + 'static {
    /// Parameters, parsed from the RON `params` of the graph file.
    type Config: DeserializeOwned;
    /// ABI 1.7: true when the rule trains a block of its projection — the synapses into a
    /// contiguous range of postsynaptic neurons, cut out of the whole by
    /// [`LearningRule::resize`] — exactly as the whole instance trains those synapses: every
    /// call changes a synapse only from its own weight and state, its pre and post neurons'
    /// traces and state, the spikes, and shared state that evolves alike on every block (the
    /// step, a reward). Such a rule also implements [`LearningRule::save_parts`] and
    /// [`LearningRule::load_parts`], and then runs in simulations split across ranks
    /// (docs/distributed.md). A rule that normalises over a neuron's outgoing synapses, or
    /// reads other synapses, keeps the default, false, and is refused there.
    const BLOCKWISE: bool = false;
    /// ABI 1.7 (with [`LearningRule::BLOCKWISE`]): the state, as [`StateParts`].
    fn save_parts(&self) -> Result<StateParts, String> {
        Err("this rule does not train blocks of a split projection".into())
    }
    /// ABI 1.7: restores state written by [`LearningRule::save_parts`] (of a block of the
    /// instance's shape, merged or cut by the host).
    fn load_parts(&mut self, _parts: &StateParts) -> Result<(), String> {
        Err("this rule does not train blocks of a split projection".into())
    }
    /// Creates an instance for a projection of `shape`.
    fn new(config: Self::Config, shape: &Shape) -> Result<Self, String>;
    /// Called once per step, after propagation, with the spikes of the step.
    fn on_step(&mut self, ctx: &mut RuleContext<'_>) -> Result<(), String>;
    /// Called when a reward arrives.
    fn on_reward(&mut self, _reward: f64, _ctx: &mut RuleContext<'_>) -> Result<(), String> {
        Ok(())
    }
    /// Called at the end of an episode.
    fn on_episode_end(&mut self) -> Result<(), String> {
        Ok(())
    }
    /// The projection's shape changed; per-neuron and per-synapse state must follow `remap`.
    fn resize(&mut self, _remap: &Remap<'_>) -> Result<(), String> {
        Ok(())
    }
    /// The instance's state, for checkpoints.
    fn save(&self) -> Result<Vec<u8>, String> {
        Ok(Vec::new())
    }
    /// Restores state written by [`LearningRule::save`].
    fn load(&mut self, _bytes: &[u8]) -> Result<(), String> {
        Ok(())
    }
    /// Gradient rules (REINFORCE, A2C): the advantage of every step of a batch of episodes.
    /// `rewards` holds the episodes one after the other, `lengths[e]` steps each; one
    /// advantage per step goes into `out`. Rules that do not learn from returns keep the
    /// default, an error.
    fn advantages(
        &mut self,
        _rewards: &[f64],
        _lengths: &[usize],
        _out: &mut [f64],
    ) -> Result<(), String> {
        Err("this rule does not compute advantages".into())
    }
    /// Gradient rules: apply the gradient of the loss to the projection's weights (an
    /// optimiser step). Rules that are not gradient rules keep the default, an error.
    fn on_gradient(&mut self, _ctx: &mut GradContext<'_>) -> Result<(), String> {
        Err("this rule does not learn from gradients".into())
    }
    /// Actor-critic rules (A2C, ABI 1.2): the advantage and the critic's target of every step
    /// of a batch of episodes. `rewards` holds the episodes one after the other, `lengths[e]`
    /// steps each; `values` holds, per episode, V(s_t) of its `lengths[e]` states and then the
    /// value of the state after its last step (0 when it terminated, V(s_T) when a time limit
    /// cut it). Rules without a critic keep the default, an error.
    fn critic_advantages(
        &mut self,
        _rewards: &[f64],
        _values: &[f64],
        _lengths: &[usize],
        _advantages: &mut [f64],
        _targets: &mut [f64],
    ) -> Result<(), String> {
        Err("this rule does not learn a critic".into())
    }
    /// Value rules (DQN, ABI 1.5): the loss of a minibatch of n-step transitions, its
    /// gradient with respect to the online network's Q(s_i, ·) into `dq` (n × actions), and
    /// each transition's TD error into `td` (the trainer's priorities). Rules that do not
    /// learn values keep the default, an error.
    fn td_loss(
        &mut self,
        _batch: &TdBatch<'_>,
        _dq: &mut [f64],
        _td: &mut [f64],
    ) -> Result<f64, String> {
        Err("this rule does not learn values".into())
    }
    /// Distributional value rules (C51, ABI 1.6): the loss of a minibatch whose outputs are
    /// per action the logits of a categorical return distribution on `n_atoms` atoms, its
    /// gradient with respect to the online logits at s_i into `dlogits` (n × actions × atoms),
    /// and each transition's loss into `td` (the trainer's priorities). Rules that do not
    /// learn distributions keep the default, an error.
    fn dist_loss(
        &mut self,
        _batch: &DistBatch<'_>,
        _dlogits: &mut [f64],
        _td: &mut [f64],
    ) -> Result<f64, String> {
        Err("this rule does not learn return distributions".into())
    }
}

/// A minibatch of n-step transitions as a distributional value rule sees it: as [`TdBatch`],
/// with per action `n_atoms` logits of the probabilities of the returns
/// z_j = v_min + j·(v_max − v_min)/(n_atoms − 1) instead of one Q-value (rows n × actions ×
/// atoms, row-major).
#[derive(Debug, Clone, Copy)]
pub struct DistBatch<'a> {
    /// Actions.
    pub n_actions: usize,
    /// Atoms of the support.
    pub n_atoms: usize,
    /// Reward columns per transition.
    pub n_step: usize,
    /// The support's least value.
    pub v_min: f64,
    /// The support's greatest value.
    pub v_max: f64,
    /// Logits at s_i of the online network.
    pub logits: &'a [f64],
    /// Logits at s'_i of the online network.
    pub logits_next_online: &'a [f64],
    /// Logits at s'_i of the target network.
    pub logits_next_target: &'a [f64],
    /// a_i.
    pub actions: &'a [u32],
    /// The rewards after s_i, `steps[i]` of them, then zeros (n × `n_step`).
    pub rewards: &'a [f64],
    /// Rewards until s'_i.
    pub steps: &'a [u32],
    /// 1 when s'_i is terminal.
    pub terminal: &'a [u8],
    /// Importance weights.
    pub weights: &'a [f64],
}

impl DistBatch<'_> {
    /// Transitions.
    pub fn len(&self) -> usize {
        self.actions.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }
}

/// A minibatch of n-step transitions as a value rule sees it (rows are transitions,
/// row-major): for transition i, s_i → a_i → r_i … (`steps[i]` rewards) → s'_i.
#[derive(Debug, Clone, Copy)]
pub struct TdBatch<'a> {
    /// Actions.
    pub n_actions: usize,
    /// Reward columns per transition.
    pub n_step: usize,
    /// Q(s_i, ·) of the online network.
    pub q: &'a [f64],
    /// Q(s'_i, ·) of the online network.
    pub q_next_online: &'a [f64],
    /// Q(s'_i, ·) of the target network.
    pub q_next_target: &'a [f64],
    /// a_i.
    pub actions: &'a [u32],
    /// The rewards after s_i, `steps[i]` of them, then zeros (n × `n_step`).
    pub rewards: &'a [f64],
    /// Rewards until s'_i.
    pub steps: &'a [u32],
    /// 1 when s'_i is terminal.
    pub terminal: &'a [u8],
    /// Importance weights (all 1 without prioritized replay).
    pub weights: &'a [f64],
}

impl TdBatch<'_> {
    /// Transitions.
    pub fn len(&self) -> usize {
        self.actions.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }
}

/// What a gradient rule sees of its projection at an update.
#[derive(Debug)]
pub struct GradContext<'a> {
    /// Updates applied before this one.
    pub update: u64,
    /// Presynaptic neurons.
    pub n_pre: usize,
    /// Postsynaptic neurons.
    pub n_post: usize,
    /// Row offsets (`n_pre + 1`).
    pub indptr: &'a [usize],
    /// Post index of each synapse.
    pub indices: &'a [u32],
    /// Weight of each synapse.
    pub weights: &'a mut [f64],
    /// Gradient of the loss for each synapse.
    pub grads: &'a [f64],
    /// L2 norm of the gradient over every projection of this update (for global clipping).
    pub global_grad_norm: f64,
}

/// The action space of an environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionSpace {
    /// One of `n` actions, passed as a single value (the index).
    Discrete(usize),
    /// A vector of `n` real values.
    Continuous(usize),
}

/// Observation and action sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spaces {
    /// Number of observation values.
    pub observation_len: usize,
    /// Actions.
    pub action: ActionSpace,
}

/// The outcome of one environment step.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Transition {
    /// Reward.
    pub reward: f64,
    /// The episode reached a terminal state.
    pub terminated: bool,
    /// The episode was cut short (time limit).
    pub truncated: bool,
}

/// An environment: one instance per episode stream.
pub trait Environment: Send + Sized + 'static {
    /// Parameters, parsed from RON.
    type Config: DeserializeOwned;
    /// Creates an instance.
    fn new(config: Self::Config) -> Result<Self, String>;
    /// Observation and action sizes (fixed for the instance's life).
    fn spaces(&self) -> Spaces;
    /// Starts an episode from `seed`; writes the first observation.
    fn reset(&mut self, seed: u64, obs: &mut [f64]) -> Result<(), String>;
    /// Applies `action`; writes the next observation.
    fn step(&mut self, action: &[f64], obs: &mut [f64]) -> Result<Transition, String>;
    /// The instance's state, for checkpoints.
    fn save(&self) -> Result<Vec<u8>, String> {
        Ok(Vec::new())
    }
    /// Restores state written by [`Environment::save`].
    fn load(&mut self, _bytes: &[u8]) -> Result<(), String> {
        Ok(())
    }
}

/// The activity of the edited population over one batch of episodes.
#[derive(Debug, Clone, Copy)]
pub struct Activity<'a> {
    /// Episodes completed, this batch included.
    pub episodes_done: u64,
    /// Spikes of each neuron over the batch.
    pub spikes: &'a [f64],
    /// Simulation steps each neuron ran over the batch.
    pub steps: f64,
    /// Return of each episode of the batch.
    pub returns: &'a [f64],
    /// Food eaten in each episode of the batch.
    pub food: &'a [f64],
}

/// How a projection meets the edited population.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// It enters the population.
    Incoming,
    /// It leaves the population.
    Outgoing,
    /// It joins the population to itself.
    Recurrent,
}

/// One projection incident to the edited population, read-only, CSR by presynaptic neuron.
#[derive(Debug, Clone, Copy)]
pub struct ProjView<'a> {
    /// Projection name.
    pub name: &'a str,
    /// How it meets the population.
    pub role: Role,
    /// Presynaptic neurons.
    pub n_pre: usize,
    /// Postsynaptic neurons.
    pub n_post: usize,
    /// Row offsets (`n_pre + 1`).
    pub indptr: &'a [usize],
    /// Post index of each synapse (ascending within a row).
    pub indices: &'a [u32],
    /// Weight of each synapse.
    pub weights: &'a [f64],
}

/// The edited population as it is now.
#[derive(Debug, Clone)]
pub struct Population<'a> {
    /// Episodes completed.
    pub episodes_done: u64,
    /// 0 at the first call of a check, then one more after each round of applied edits.
    pub round: u32,
    /// Stable ids (never reused).
    pub ids: &'a [u64],
    /// Episodes since each neuron was added.
    pub age: &'a [u64],
    /// L2 norm of each neuron's incoming weights.
    pub w_in_norm: &'a [f64],
    /// L2 norm of each neuron's outgoing weights.
    pub w_out_norm: &'a [f64],
    /// L2 norm of the last update's gradient of each neuron's incoming weights.
    pub grad_in_norm: &'a [f64],
    /// L2 norm of the last update's gradient of each neuron's outgoing weights.
    pub grad_out_norm: &'a [f64],
    /// The incident projections, in name order.
    pub projections: Vec<ProjView<'a>>,
}

impl Population<'_> {
    /// Neurons.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the population is empty.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// The edits a structural policy asks for in one call. The host applies them in this order:
/// removals, synapse edits, growth; then calls the policy again.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Edits {
    /// Stable ids of neurons to remove.
    pub remove: Vec<u64>,
    /// Neurons to add, and the standard deviation of the noise on their input weights.
    pub grow: Option<(usize, f64)>,
    /// Synapses to add: (projection, pre, post, weight).
    pub add_synapses: Vec<(String, u32, u32, f64)>,
    /// Synapses to remove: (projection, pre, post).
    pub remove_synapses: Vec<(String, u32, u32)>,
}

impl Edits {
    /// Whether nothing is asked for.
    pub fn is_empty(&self) -> bool {
        self.remove.is_empty()
            && self.grow.is_none()
            && self.add_synapses.is_empty()
            && self.remove_synapses.is_empty()
    }
}

/// A population a policy watches in a simulation.
#[derive(Debug, Clone, Copy)]
pub struct Group<'a> {
    /// Population name.
    pub name: &'a str,
    /// Stable ids of its neurons.
    pub ids: &'a [u64],
    /// Spikes of each neuron since the last call.
    pub spikes: &'a [f64],
}

/// A projection from or to a watched population, read-only, CSR by presynaptic neuron.
#[derive(Debug, Clone, Copy)]
pub struct SimProj<'a> {
    /// Projection name.
    pub name: &'a str,
    /// Index of the presynaptic population in [`SimView::groups`], if watched.
    pub pre: Option<usize>,
    /// Index of the postsynaptic population in [`SimView::groups`], if watched.
    pub post: Option<usize>,
    /// Presynaptic neurons.
    pub n_pre: usize,
    /// Postsynaptic neurons.
    pub n_post: usize,
    /// Row offsets (`n_pre + 1`).
    pub indptr: &'a [usize],
    /// Post index of each synapse (ascending within a row).
    pub indices: &'a [u32],
    /// Weight of each synapse.
    pub weights: &'a [f64],
}

/// What a policy sees of a running simulation at each call.
#[derive(Debug, Clone)]
pub struct SimView<'a> {
    /// Simulated time at the end of the interval (ms).
    pub time_ms: f64,
    /// Time step (ms).
    pub dt_ms: f64,
    /// Steps simulated.
    pub step: u64,
    /// Steps since the last call.
    pub interval_steps: u64,
    /// The run's root seed (the graph file's `seed`, or `snnsim run --seed`), for a policy
    /// that draws random numbers.
    pub seed: u64,
    /// The watched populations, in the order the graph file lists them.
    pub groups: Vec<Group<'a>>,
    /// Every projection from or to a watched population, in name order.
    pub projections: Vec<SimProj<'a>>,
}

/// A structural policy: it watches one population's activity, batch by batch, and answers
/// with edits (neurons added or removed, synapses added or removed) that the host applies as
/// graph edits, keeping every other weight and state exactly.
pub trait StructurePolicy: Send + Sized + 'static {
    /// Parameters, parsed from the RON `params` of the graph file.
    type Config: DeserializeOwned;
    /// Creates an instance.
    fn new(config: Self::Config) -> Result<Self, String>;
    /// The activity of one batch (called once per batch, before [`StructurePolicy::decide`]).
    fn observe(&mut self, activity: &Activity<'_>) -> Result<(), String>;
    /// Writes the edits wanted now into `edits`. After the host applied them (and called
    /// [`StructurePolicy::resize`]) it calls again with `population.round` one higher, until a
    /// call leaves `edits` empty (at most 8 rounds).
    fn decide(&mut self, population: &Population<'_>, edits: &mut Edits) -> Result<(), String>;
    /// The population's neurons changed: `map[k]` is the old index of new neuron k, or
    /// [`abi::NEW`] (see [`Remap::apply`]).
    fn resize(&mut self, _map: &[u64]) -> Result<(), String> {
        Ok(())
    }
    /// The instance's state, for checkpoints.
    fn save(&self) -> Result<Vec<u8>, String> {
        Ok(Vec::new())
    }
    /// Restores state written by [`StructurePolicy::save`].
    fn load(&mut self, _bytes: &[u8]) -> Result<(), String> {
        Ok(())
    }
    /// A simulation's interval ended (every `every_ms` of the graph file's `structure`
    /// entry): the watched populations' spikes since the last call and their projections.
    /// Edits are applied before the next step: synapse edits first (with the indices the
    /// policy saw), then neuron removals (`remove`, stable ids of any watched population),
    /// then growth (`grow`: bare neurons appended to the first watched population, wired by
    /// the policy at a later call). The default refuses to run in simulations.
    fn simulate(&mut self, _view: &SimView<'_>, _edits: &mut Edits) -> Result<(), String> {
        Err("this policy works between training batches, not in simulations".into())
    }
}

/// Parses RON parameters into `T`; an error names the field path and its position in the
/// parameter text.
pub fn parse_config<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    let text = if text.trim().is_empty() { "()" } else { text };
    let opts = ron::Options::default().with_default_extension(
        ron::extensions::Extensions::UNWRAP_VARIANT_NEWTYPES
            | ron::extensions::Extensions::IMPLICIT_SOME,
    );
    let mut de = ron::Deserializer::from_str_with_options(text, &opts)
        .map_err(|e| format!("params: {e}"))?;
    match serde_path_to_error::deserialize(&mut de) {
        Ok(v) => Ok(v),
        Err(e) => {
            let path = e.path().to_string();
            let spanned = de.span_error(e.into_inner());
            let field = match path.as_str() {
                "." => "params".to_string(),
                p if p.ends_with('?') => format!("params.{}", p.trim_end_matches(".?")),
                p => format!("params.{p}"),
            };
            Err(format!(
                "{field}: {} (line {}, column {} of the params)",
                spanned.code, spanned.span.start.line, spanned.span.start.col
            ))
        }
    }
}

/// Exports a [`LearningRule`] type as a plugin named `$name`.
#[macro_export]
macro_rules! export_rule {
    ($ty:ty, $name:expr) => {
        /// The plugin's entry symbol (generated by `export_rule!`).
        #[doc(hidden)]
        #[unsafe(no_mangle)]
        pub extern "C" fn snnsim_plugin_entry() -> *const $crate::abi::PluginHeader {
            static VTABLE: $crate::abi::RuleVTableV1 =
                $crate::glue::rule_vtable::<$ty>($name, env!("CARGO_PKG_VERSION"));
            &VTABLE.header
        }
    };
}

/// Exports an [`Environment`] type as a plugin named `$name`.
#[macro_export]
macro_rules! export_env {
    ($ty:ty, $name:expr) => {
        /// The plugin's entry symbol (generated by `export_env!`).
        #[doc(hidden)]
        #[unsafe(no_mangle)]
        pub extern "C" fn snnsim_plugin_entry() -> *const $crate::abi::PluginHeader {
            static VTABLE: $crate::abi::EnvVTableV1 =
                $crate::glue::env_vtable::<$ty>($name, env!("CARGO_PKG_VERSION"));
            &VTABLE.header
        }
    };
}

/// Exports a [`StructurePolicy`] type as a plugin named `$name`.
#[macro_export]
macro_rules! export_structure {
    ($ty:ty, $name:expr) => {
        /// The plugin's entry symbol (generated by `export_structure!`).
        #[doc(hidden)]
        #[unsafe(no_mangle)]
        pub extern "C" fn snnsim_plugin_entry() -> *const $crate::abi::PluginHeader {
            static VTABLE: $crate::abi::StructureVTableV1 =
                $crate::glue::structure_vtable::<$ty>($name, env!("CARGO_PKG_VERSION"));
            &VTABLE.header
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct P {
        a: f64,
        n: u32,
    }

    #[test]
    fn config_errors_name_the_field_and_the_position() {
        let e = parse_config::<P>("(a: 1.0, n: \"x\")").unwrap_err();
        assert!(e.starts_with("params.n:"), "{e}");
        let e = parse_config::<P>("(a: 1.0, b: 2)").unwrap_err();
        assert!(e.contains("`b`") && e.contains("column"), "{e}");
        let e = parse_config::<P>("(a: 1.0,\n n: 1.5)").unwrap_err();
        assert!(e.contains("line 2"), "{e}");
        assert_eq!(parse_config::<P>("(a: 2.5, n: 3)").unwrap().n, 3);
    }
}
