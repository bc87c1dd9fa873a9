//! The RON schema of a graph file: the only place with serde types for files.
//!
//! Every struct denies unknown fields, so a misspelt key is an error with its line and column
//! instead of a silently ignored setting. Units are part of the field names (`tau_m_ms`,
//! `delay_ms`, `rate_hz`). Defaults are written on each field and documented in
//! docs/graph-format.md; a run writes the fully resolved file (every default made explicit) to
//! its run directory as `config.ron`.
//!
//! Conventions used throughout: times in ms, voltages in mV, currents in nA, resistances in MΩ
//! (so 1 nA × 1 MΩ = 1 mV), conductances of the conductance-based model in units of the leak
//! conductance, rates in Hz.
//!
//! With the `schema` feature every type here also derives `schemars::JsonSchema`, which
//! `file::json_schema` exports: the Python package generates its graph classes from that
//! schema, so these types stay the only list of the format's fields.

use crate::width::widest;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The graph-file format version this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// The backend a run computes its steps on (see docs/gpu.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Device {
    /// The CPU, the reference backend.
    #[default]
    Cpu,
    /// The GPU if one answers and the network is supported; otherwise the CPU, after one line
    /// on standard error saying why.
    Auto,
    /// The GPU; without a usable one the run fails (exit 1) saying why.
    Gpu,
}

/// A whole graph file: the network, its stimuli and recorders, and the run settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct GraphFile {
    /// Must equal [`FORMAT_VERSION`].
    pub format_version: u32,
    /// Simulation time step in ms (> 0).
    pub dt_ms: f64,
    /// Simulated time in ms (>= 0); `snnsim run --duration-ms` overrides it.
    pub duration_ms: f64,
    /// Root seed of every random stream (connectivity, initial values, Poisson sources).
    #[serde(default)]
    pub seed: u64,
    /// Where the steps are computed: `Cpu` (default), `Gpu` or `Auto`; `snnsim run
    /// --device` overrides it.
    #[serde(default)]
    pub device: Device,
    /// Neuron populations (the graph's nodes), at least one.
    pub populations: Vec<PopulationSpec>,
    /// Synaptic projections (the graph's edges).
    #[serde(default)]
    pub projections: Vec<ProjectionSpec>,
    /// External stimuli applied to populations.
    #[serde(default)]
    pub stimuli: Vec<StimulusSpec>,
    /// What is written to the run directory.
    #[serde(default)]
    pub recorders: Vec<RecorderSpec>,
    /// A task that trains the network (an agent in an environment); without one, a run
    /// simulates the network for `duration_ms`.
    #[serde(default)]
    pub task: Option<TaskSpec>,
    /// Write a full-state checkpoint to `<run dir>/checkpoints/` every this many steps (a
    /// simulation), episodes (a training task) or epochs (a classification task);
    /// `snnsim run --checkpoint-every` overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint_every: Option<u64>,
    /// Structural policies (plugins of kind `structure`) that edit the synapses of a
    /// simulation as it runs; an agent's policy goes in its task's `structure` instead.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub structure: Vec<SimStructureSpec>,
    /// The output population: with `snnsim run --input X.npy`, its spikes of every step are
    /// written as `output.npy` (steps × size, float32 0/1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
}

/// A structural policy in a simulation: every `every_ms` it sees the spikes of `populations`
/// since its last call and the projections from and to them, and answers with synapse edits
/// that are applied before the next step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SimStructureSpec {
    /// Structural-policy plugin (`homeostatic`, …; `snnsim plugins` lists them).
    pub plugin: String,
    /// Explicit library file, instead of searching for the name.
    #[serde(default)]
    pub path: Option<String>,
    /// The populations it watches (at least one, each once).
    pub populations: Vec<String>,
    /// Simulated time between calls (ms; a whole number of steps, at least one).
    pub every_ms: f64,
    /// The plugin's parameters, in its own RON schema.
    #[cfg_attr(
        feature = "schema",
        schemars(with = "Option<String>", extend("x-raw-ron" = true))
    )]
    #[serde(default)]
    pub params: Option<Box<ron::value::RawValue>>,
}

/// A training task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub enum TaskSpec {
    /// A spiking agent trained by reinforcement in an environment plugin.
    Agent(AgentSpec),
    /// A spiking policy on a control task (CartPole, Pendulum, ...): observations enter as
    /// currents, actions come from a categorical or Gaussian decoder, optionally with a critic
    /// readout; trained one update per batch of episodes.
    Control(AgentSpec),
    /// Reservoir computing: an input signal drives the network through a fed `Values`
    /// population, the filtered spikes of the reservoir populations are the features, and a
    /// linear readout is fitted to the signal's target in closed form (ridge regression).
    Reservoir(ReservoirSpec),
    /// Supervised classification (docs/classification.md): labelled samples of a dataset,
    /// spike-encoded onto a fed `Values` population, classified by the membrane of a readout
    /// population; trained by backpropagation through time with Adam over minibatches.
    Classify(ClassifySpec),
}

impl TaskSpec {
    /// The agent's settings, for the tasks that train an agent (not a reservoir's readout).
    pub fn agent(&self) -> Option<&AgentSpec> {
        match self {
            TaskSpec::Agent(a) | TaskSpec::Control(a) => Some(a),
            TaskSpec::Reservoir(_) | TaskSpec::Classify(_) => None,
        }
    }

    /// As [`TaskSpec::agent`], mutable.
    pub fn agent_mut(&mut self) -> Option<&mut AgentSpec> {
        match self {
            TaskSpec::Agent(a) | TaskSpec::Control(a) => Some(a),
            TaskSpec::Reservoir(_) | TaskSpec::Classify(_) => None,
        }
    }
}

/// A supervised classification task (docs/classification.md). The dataset is split once by
/// the file's seed into training and test samples; each epoch visits the training samples in
/// a new order, in minibatches of `batch`, one Adam step per minibatch on the mean loss.
/// Every population of the file is the input, a hidden population or the readout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ClassifySpec {
    /// The labelled samples.
    pub dataset: DatasetSpec,
    /// How a sample's features (scaled to [0, 1]) become spikes on the input population.
    pub encoder: SpikeEncoder,
    /// Steps simulated per sample, from a state reset to zero.
    pub steps: usize,
    /// The fed `Values` population: one neuron per feature of the dataset.
    pub input: String,
    /// The hidden populations (`Lif` with `integration: SnnTorch(...)`, `Synaptic` or
    /// `Alpha`), trained with the readout.
    pub hidden: Vec<String>,
    /// The readout population: one neuron per class, usually `Lif` with
    /// `integration: SnnTorch(reset: NoReset)` and an unreachable threshold.
    pub readout: String,
    /// The loss of a sample.
    #[serde(default)]
    pub loss: ClassLoss,
    /// A spike-count regulariser added to each sample's loss; none when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spike_regularizer: Option<SpikeRegularizer>,
    /// Surrogate derivative of the spike for backpropagation through time.
    #[serde(default)]
    pub surrogate: Surrogate,
    /// How the gradient is computed: backpropagation through time, or e-prop.
    // The default is left out of the text, so the schema states it itself.
    #[serde(default, skip_serializing_if = "Gradient::is_bptt")]
    #[cfg_attr(feature = "schema", schemars(extend("default" = "Bptt")))]
    pub gradient: Gradient,
    /// Passes over the training samples.
    pub epochs: usize,
    /// Samples per minibatch (one Adam step each); the last minibatch of an epoch may be
    /// smaller.
    #[serde(default = "default_class_batch")]
    pub batch: usize,
    /// Adam's learning rate (β₁ 0.9, β₂ 0.999, ε 1e-8), that of the first epoch.
    #[serde(default = "default_class_lr")]
    pub lr: f64,
    /// How the learning rate changes from one epoch to the next.
    // The default is left out of the text, so the schema states it itself.
    #[serde(default, skip_serializing_if = "LrSchedule::is_fixed")]
    #[cfg_attr(feature = "schema", schemars(extend("default" = "Fixed")))]
    pub lr_schedule: LrSchedule,
    /// A trained bias per neuron of the hidden and readout populations (snnTorch's
    /// `nn.Linear` has one), starting at zero.
    #[serde(default = "yes")]
    pub bias: bool,
    /// The fraction of the samples held out for testing.
    #[serde(default = "default_test_fraction")]
    pub test_fraction: f64,
    /// Use only this many samples of the (shuffled) dataset, for quick runs; all when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples: Option<usize>,
}

/// The labelled samples of a classification task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub enum DatasetSpec {
    /// scikit-learn's digits (8 × 8 images, pixels 0–16, 1 797 samples; the UCI optical
    /// digits test set, data/digits/README.md): 64 features, 10 classes. The copy built into
    /// snnsim, or a file of the same layout (CSV, optionally gzipped: 64 pixel columns and
    /// the label last) at `path`, relative to the working directory.
    Digits(DigitsParams),
    /// The Yin-Yang dataset (Kriener, Göltz & Petrovici 2022), generated by its published
    /// formula from the file's seed: points (x, y) of a yin-yang figure of radius `r_big`,
    /// features (x, y, 1 − x, 1 − y), 3 classes balanced by rejection sampling. The dataset
    /// fixes its own split — `train` and `test` samples from streams of their own — so
    /// `test_fraction` does not apply and `samples` is refused.
    YinYang(YinYangParams),
    /// N-MNIST (Orchard et al. 2015): the directory `path` holding `Train/<digit>/*.bin` and
    /// `Test/<digit>/*.bin`; 2 312 input channels (34 × 34 pixels × 2 polarities), 10 classes.
    /// Needs the `Events` encoder.
    NMnist(EventDataParams),
    /// The Spiking Heidelberg Digits (Cramer et al. 2020): the directory `path` holding
    /// `shd_train.h5` and `shd_test.h5`; 700 input channels, 20 classes. Needs the `Events`
    /// encoder.
    Shd(EventDataParams),
}

/// Where an event dataset lies, and how much of it to use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct EventDataParams {
    /// The dataset's directory, relative to the working directory.
    pub path: String,
    /// Use this many training samples, drawn from the seed; all when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train: Option<usize>,
    /// Use this many test samples, drawn from the seed; all when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<usize>,
}

/// Sizes and radii of the generated Yin-Yang dataset (defaults: the published ones).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct YinYangParams {
    /// Training samples (the published training set: 5 000).
    #[serde(default = "default_yinyang_train")]
    pub train: usize,
    /// Test samples (the published test set: 1 000).
    #[serde(default = "default_yinyang_test")]
    pub test: usize,
    /// Radius of the two dots.
    #[serde(default = "default_yinyang_r_small")]
    pub r_small: f64,
    /// Radius of the figure (at most 0.5, so that the features lie in [0, 1]).
    #[serde(default = "default_yinyang_r_big")]
    pub r_big: f64,
}

impl Default for YinYangParams {
    fn default() -> Self {
        YinYangParams {
            train: default_yinyang_train(),
            test: default_yinyang_test(),
            r_small: default_yinyang_r_small(),
            r_big: default_yinyang_r_big(),
        }
    }
}

fn default_yinyang_train() -> usize {
    5000
}
fn default_yinyang_test() -> usize {
    1000
}
fn default_yinyang_r_small() -> f64 {
    0.1
}
fn default_yinyang_r_big() -> f64 {
    0.5
}

/// Where the digits come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct DigitsParams {
    /// A file in scikit-learn's `digits.csv.gz` layout instead of the built-in copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// How a feature x in [0, 1] becomes a spike train over a sample's steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub enum SpikeEncoder {
    /// One spike per feature above `threshold`, the brighter the earlier: at step
    /// round((1 − x)·(window − 1)).
    Latency {
        /// Steps over which the spikes are spread (at most the task's `steps`).
        window: usize,
        /// Features at or below it give no spike.
        #[serde(default)]
        threshold: f64,
    },
    /// Independent spikes on every step with probability `max_probability`·x, drawn from a
    /// stream keyed by the seed, the epoch and the sample (test samples: one fixed draw).
    Rate {
        /// The spike probability per step of a feature of 1.
        max_probability: f64,
    },
    /// For event datasets (`NMnist`, `Shd`), whose samples are spike trains: the events are
    /// binned into steps of `bin_ms` (default: the file's `dt_ms`), an input's value in a
    /// step being its number of events in that bin; events after the last step are dropped.
    Events {
        /// Width of a bin (ms).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bin_ms: Option<f64>,
    },
}

/// The loss of a classified sample: the cross-entropy of the softmax over the readout
/// neurons' logits, each its membrane's maximum or mean over the sample's steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub enum ClassLoss {
    /// Logit = max over steps of the membrane.
    #[default]
    MaxMembrane,
    /// Logit = mean over steps of the membrane.
    MeanMembrane,
}

/// A penalty on the hidden neurons' spike counts, added to a classification sample's loss
/// (the "sparsity in the cost function" of sparse training): with n_i neuron i's spikes in
/// the sample and N the hidden neurons of all `hidden` populations,
/// `strength`/N · Σ_i max(0, n_i − `target`)². With `target` 0 it penalises every spike, the
/// more the busier the neuron; above 0 it is a per-neuron upper bound (Zenke & Vogels 2021).
/// Its gradient reaches the weights through the surrogate as the loss's other terms do.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SpikeRegularizer {
    /// The penalty's weight against the cross-entropy.
    pub strength: f64,
    /// Spikes per sample a neuron may fire unpenalised.
    #[serde(default)]
    pub target: f64,
}

/// A classification task's learning rate by epoch: epoch e (0-based) of `epochs` trains with
/// the rate this gives from `lr` (docs/classification.md).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub enum LrSchedule {
    /// `lr` throughout. (Not `Constant`, which names a weight's initialiser in the Python
    /// package.)
    #[default]
    Fixed,
    /// Cosine annealing (Loshchilov & Hutter 2017, without restarts): epoch e trains with
    /// final_lr + (lr − final_lr)·(1 + cos(π·e/epochs))/2.
    Cosine {
        /// The rate approached in the last epoch, at most `lr`.
        #[serde(default)]
        final_lr: f64,
    },
    /// Step decay: epoch e trains with lr·factor^⌊e/every⌋.
    Step {
        /// Epochs between two steps.
        every: usize,
        /// What a step multiplies the rate by, in (0, 1].
        factor: f64,
    },
}

impl LrSchedule {
    /// True for the default, a fixed rate.
    pub fn is_fixed(&self) -> bool {
        *self == LrSchedule::Fixed
    }

    /// The learning rate of epoch `e` (0-based) of `epochs`, from the first epoch's `lr`.
    pub fn lr(&self, lr: f64, e: usize, epochs: usize) -> f64 {
        match *self {
            LrSchedule::Fixed => lr,
            LrSchedule::Cosine { final_lr } => {
                let x = std::f64::consts::PI * e as f64 / epochs.max(1) as f64;
                final_lr + (lr - final_lr) * 0.5 * (1.0 + x.cos())
            }
            LrSchedule::Step { every, factor } => {
                lr * factor.powi(i32::try_from(e / every.max(1)).unwrap_or(i32::MAX))
            }
        }
    }
}

/// How a classification task's gradient is computed (docs/classification.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub enum Gradient {
    /// Backpropagation through time (the executor's backward pass).
    #[default]
    Bptt,
    /// e-prop (Bellec et al. 2020): eligibility traces forward in time, each neuron's
    /// learning signal fed back from the readout's error (the executor's `eprop.rs`).
    Eprop(EpropParams),
    /// EventProp (Wunderlich & Pehle 2021): exact gradients from an adjoint pass backwards in
    /// time over an exact event-time simulation (the executor's `eventprop.rs`).
    EventProp(EventPropParams),
}

impl Gradient {
    /// The default, backpropagation through time.
    pub fn is_bptt(&self) -> bool {
        *self == Gradient::Bptt
    }
}

/// e-prop's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct EpropParams {
    /// The feedback weights B that turn the readout's error into learning signals.
    #[serde(default)]
    pub feedback: Feedback,
}

/// EventProp's settings (none yet: `EventProp()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct EventPropParams {}

/// e-prop's feedback weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub enum Feedback {
    /// B = W_outᵀ, the readout's current weights ("symmetric e-prop").
    #[default]
    Symmetric,
}

fn default_class_batch() -> usize {
    32
}
fn default_class_lr() -> f64 {
    1e-3
}
fn default_test_fraction() -> f64 {
    0.2
}

/// A reservoir-computing task (docs/reservoir.md). The signal is cut into samples: each
/// sample's input value is held on the `input` population for `steps_per_sample` steps, after
/// which every neuron of the `reservoir` populations contributes one feature, its spike train
/// filtered by an exponential of `feature_tau_ms`. The first `develop` samples drive the
/// network while the file's structural policies grow and prune it (they stop after them);
/// the next `washout` samples are dropped, the next `train` fit the readout, the last `test`
/// measure it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ReservoirSpec {
    /// The input signal and the target to predict from it.
    pub signal: SignalSpec,
    /// The fed `Values` population whose every neuron carries the input.
    pub input: String,
    /// The populations whose filtered spikes are the readout's features.
    pub reservoir: Vec<String>,
    /// Steps each sample's input is held for (at least one).
    #[serde(default = "default_steps_per_sample")]
    pub steps_per_sample: u32,
    /// Time constants of the exponential filters of the spikes (ms): each reservoir neuron
    /// gives one feature per time constant (several give the readout memory of several
    /// lengths, as a bank of synaptic filters would).
    #[serde(default = "default_feature_tau")]
    pub feature_tau_ms: Vec<f64>,
    /// The value fed is `input_scale · u + input_offset` for a signal value `u`.
    #[serde(default = "one")]
    pub input_scale: f64,
    /// See `input_scale`.
    #[serde(default)]
    pub input_offset: f64,
    /// Whether the input value itself is a feature besides the reservoir's (the delay-line
    /// baseline never sees the reservoir).
    #[serde(default)]
    pub include_input: bool,
    /// Samples during which the file's top-level `structure` policies edit the network (a
    /// grown reservoir develops under its input); the policies stop after them. 0: none.
    #[serde(default, skip_serializing_if = "is_zero_usize")]
    pub develop: usize,
    /// Samples run before any is used (the reservoir forgets its initial state).
    #[serde(default = "default_washout")]
    pub washout: usize,
    /// Samples the readout is fitted on.
    #[serde(default = "default_train")]
    pub train: usize,
    /// Samples the readout is tested on, after the training samples.
    #[serde(default = "default_test")]
    pub test: usize,
    /// Ridge penalties tried; the one with the least error on the last fifth of the training
    /// samples (fitted on the rest) is refitted on all of them.
    #[serde(default = "default_ridge")]
    pub ridge: Vec<f64>,
    /// Length of the delay-line baseline: a ridge readout of the last this many inputs alone
    /// (`nrmse_delay_line` in the summary).
    #[serde(default = "default_delay_line")]
    pub delay_line: usize,
}

/// The signal of a reservoir task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub enum SignalSpec {
    /// NARMA-10 (Atiya & Parlos 2000): inputs uniform in [low, high], target
    /// y(k+1) = 0.3 y(k) + 0.05 y(k) Σ_{i=0}^{9} y(k−i) + 1.5 u(k−9) u(k) + 0.1.
    Narma10(NarmaParams),
    /// Mackey–Glass prediction: the series dx/dt = β x(t−τ)/(1 + x(t−τ)^n) − γ x sampled every
    /// `sample_every` time units; the input is x(k), the target x(k + horizon).
    MackeyGlass(MackeyGlassParams),
}

/// NARMA-10's inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct NarmaParams {
    /// Lower end of the uniform inputs.
    #[serde(default)]
    pub low: f64,
    /// Upper end of the uniform inputs.
    #[serde(default = "default_narma_high")]
    pub high: f64,
}

/// The Mackey–Glass series and how far ahead it is predicted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct MackeyGlassParams {
    /// Delay τ (17: mildly chaotic).
    #[serde(default = "default_mg_tau")]
    pub tau: f64,
    /// β.
    #[serde(default = "default_mg_beta")]
    pub beta: f64,
    /// γ.
    #[serde(default = "default_mg_gamma")]
    pub gamma: f64,
    /// The exponent n.
    #[serde(default = "default_mg_n")]
    pub n: f64,
    /// Time units between samples.
    #[serde(default = "one")]
    pub sample_every: f64,
    /// Samples ahead to predict (at least one).
    #[serde(default = "default_horizon")]
    pub horizon: usize,
}

fn default_steps_per_sample() -> u32 {
    10
}
fn default_feature_tau() -> Vec<f64> {
    vec![20.0]
}
fn default_washout() -> usize {
    200
}
fn default_train() -> usize {
    4000
}
fn default_test() -> usize {
    2000
}
fn default_ridge() -> Vec<f64> {
    vec![1e-8, 1e-6, 1e-4, 1e-2, 1.0]
}
fn default_delay_line() -> usize {
    20
}
fn default_narma_high() -> f64 {
    0.5
}
fn default_mg_tau() -> f64 {
    17.0
}
fn default_mg_beta() -> f64 {
    0.2
}
fn default_mg_gamma() -> f64 {
    0.1
}
fn default_mg_n() -> f64 {
    10.0
}
fn default_horizon() -> usize {
    1
}

/// A spiking policy network (input → hidden → readout populations of this file) acting in an
/// environment, trained from its rewards by a gradient rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct AgentSpec {
    /// The environment plugin and its parameters.
    pub environment: RuleSpec,
    /// The gradient rule (for example `reinforce`) that trains both projections.
    pub rule: RuleSpec,
    /// Input population: an `Observation` source, one neuron per observation value; a value
    /// above 0.5 makes its neuron spike on every step of the decision.
    pub input: String,
    /// Hidden population: `Synaptic`, or `Lif` with `integration: SnnTorch(...)`.
    pub hidden: String,
    /// Readout population: `Lif` with `integration: SnnTorch(reset: NoReset)`, one neuron per
    /// action; the action logits are its membrane averaged over the decision.
    pub readout: String,
    /// Simulation steps per decision, from a state reset to zero.
    #[serde(default = "default_decision_steps")]
    pub decision_steps: usize,
    /// Episodes simulated in parallel per update, each with its own environment and random
    /// stream.
    #[serde(default = "default_batch")]
    pub batch: usize,
    /// Episodes to train; `snnsim run --episodes` overrides it.
    #[serde(default = "default_episodes")]
    pub episodes: u64,
    /// Surrogate derivative of the spike for backpropagation through time.
    #[serde(default)]
    pub surrogate: Surrogate,
    /// Entropy bonus coefficient: the loss gains −c·H(π) per decision.
    #[serde(default)]
    pub entropy_coef: f64,
    /// How the environment's observation becomes the input population's on/off pattern.
    #[serde(default)]
    pub encoder: Encoder,
    /// Growth and pruning of the hidden population; none when absent.
    #[serde(default)]
    pub structure: Option<StructureSpec>,
    /// Print a progress line every this many episodes (0: never).
    #[serde(default = "default_progress")]
    pub progress_every: u64,
    /// How the readout becomes an action (`Control` tasks).
    #[serde(default)]
    pub decoder: Decoder,
    /// A critic readout (`Control` tasks): the last readout neuron's mean membrane, times
    /// `value_scale`, is the value V(s) that an actor-critic rule (`a2c`) learns.
    #[serde(default)]
    pub critic: bool,
    /// The critic's loss is `value_coef`·½(V − target)² per decision.
    #[serde(default = "default_value_coef")]
    pub value_coef: f64,
    /// V(s) = `value_scale` × the critic neuron's mean membrane.
    #[serde(default = "one")]
    pub value_scale: f64,
    /// The task's bar (`Control` tasks): `episodes_to_solve` in summary.json is the first
    /// episode at which the mean return over the last 100 episodes reaches it.
    #[serde(default)]
    pub solved_at: Option<f64>,
    /// Off-policy training (`Control` tasks; docs/rainbow.md): a replay buffer, a target
    /// network and ε-greedy exploration around a value rule such as `dqn`. The readout's mean
    /// membrane is Q(s, ·); `batch` is not used, `episodes` caps the training episodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub off_policy: Option<OffPolicySpec>,
}

/// The trainer's side of off-policy learning (docs/rainbow.md): what is stored, how it is
/// sampled, when updates happen and how the agent explores. The loss is the rule's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct OffPolicySpec {
    /// Environment steps to train (the budget); `snnsim run --episodes` does not apply.
    pub env_steps: u64,
    /// Transitions kept (the oldest is overwritten).
    #[serde(default = "default_buffer")]
    pub buffer: usize,
    /// Transitions per update.
    #[serde(default = "default_minibatch")]
    pub batch: usize,
    /// Environment steps before the first update (actions uniformly random until then).
    #[serde(default = "default_warmup")]
    pub warmup: u64,
    /// One update every this many environment steps.
    #[serde(default = "one_u64")]
    pub train_every: u64,
    /// Copy the online weights into the target network every this many updates.
    #[serde(default = "default_target_every")]
    pub target_every: u64,
    /// Polyak averaging instead: after every update θ⁻ ← τθ + (1 − τ)θ⁻.
    #[serde(default)]
    pub tau: Option<f64>,
    /// n of the n-step returns (1: one-step TD).
    #[serde(default = "one_usize")]
    pub n_step: usize,
    /// ε-greedy exploration: ε falls linearly from `start` to `end` over `steps` env steps.
    #[serde(default)]
    pub epsilon: Epsilon,
    /// Prioritized replay (Schaul et al. 2016); uniform sampling when absent.
    #[serde(default)]
    pub prioritized: Option<Prioritized>,
    /// Greedy episodes evaluated after the budget.
    #[serde(default = "default_eval")]
    pub eval_episodes: u64,
    /// Dueling streams (Wang et al. 2016): the value stream's readout population (one
    /// non-spiking neuron); the task's `readout` is then the advantage stream's, and
    /// Q(s, a) = V(s) + A(s, a) − mean_a A(s, a).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dueling: Option<String>,
    /// How actions are explored after the warm-up: ε-greedy (`epsilon`), or Noisy-net
    /// readouts (Fortunato et al. 2018) acting greedily on a noisy Q.
    #[serde(default, skip_serializing_if = "Exploration::is_epsilon_greedy")]
    #[cfg_attr(feature = "schema", schemars(extend("default" = "EpsilonGreedy")))]
    pub exploration: Exploration,
    /// C51 (Bellemare et al. 2017): the readout holds `atoms` neurons per action, the logits
    /// of a categorical return distribution on `atoms` evenly spaced returns from `v_min` to
    /// `v_max`; Q is its mean. The rule's distributional loss (plugin ABI 1.6) trains it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distributional: Option<Distributional>,
}

/// The support of a categorical return distribution (C51).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Distributional {
    /// Atoms per action (51 in the paper).
    #[serde(default = "default_atoms")]
    pub atoms: usize,
    /// The least return of the support.
    pub v_min: f64,
    /// The greatest return of the support.
    pub v_max: f64,
}

fn default_atoms() -> usize {
    51
}

/// Exploration after the warm-up (docs/rainbow.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub enum Exploration {
    /// Random actions with probability ε (the `epsilon` schedule).
    #[default]
    EpsilonGreedy,
    /// Noisy nets: every projection into a readout has weights μ + σ ⊙ ε with factorised
    /// Gaussian ε, σ initialised to `sigma0`/√fan_in and learned; actions are greedy on the
    /// noisy Q, `epsilon` is not used.
    Noisy {
        /// σ₀ (0.5 in the paper).
        #[serde(default = "default_sigma0")]
        sigma0: f64,
    },
}

impl Exploration {
    /// True for the default, a fixed rate.
    pub fn is_epsilon_greedy(&self) -> bool {
        *self == Exploration::EpsilonGreedy
    }
}

fn default_sigma0() -> f64 {
    0.5
}

/// ε's linear schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Epsilon {
    /// ε at step 0.
    pub start: f64,
    /// ε from `steps` on.
    pub end: f64,
    /// Environment steps of the fall.
    pub steps: u64,
}

impl Default for Epsilon {
    /// 1 → 0.05 over 10 000 steps.
    fn default() -> Self {
        Epsilon {
            start: 1.0,
            end: 0.05,
            steps: 10_000,
        }
    }
}

/// Proportional prioritized replay: P(i) ∝ p_i^α with p_i = |δ_i| + `eps`, importance weights
/// (N·P(i))^−β / max, β annealed linearly from `beta_start` to 1 over the budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Prioritized {
    /// α (0: uniform).
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// β at step 0.
    #[serde(default = "default_beta")]
    pub beta_start: f64,
    /// Added to |δ|.
    #[serde(default = "default_prio_eps")]
    pub eps: f64,
}

fn default_buffer() -> usize {
    50_000
}
fn default_minibatch() -> usize {
    64
}
fn default_warmup() -> u64 {
    1_000
}
fn one_u64() -> u64 {
    1
}
fn one_usize() -> usize {
    1
}
fn default_target_every() -> u64 {
    500
}
fn default_eval() -> u64 {
    100
}
fn default_alpha() -> f64 {
    0.6
}
fn default_beta() -> f64 {
    0.4
}
fn default_prio_eps() -> f64 {
    1e-6
}

/// The surrogate derivative of the spike, dspk/dmem at u = mem − θ, used by backpropagation
/// through time. The format names it; the trainer's backward pass evaluates it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub enum Surrogate {
    /// 1 / (slope·|u| + 1)² (snnTorch `fast_sigmoid`; Zenke & Ganguli 2018).
    FastSigmoid {
        /// Slope (25 in snnTorch).
        slope: f64,
    },
    /// slope·e^(−slope·u) / (e^(−slope·u) + 1)² (snnTorch `sigmoid`).
    Sigmoid {
        /// Slope (25 in snnTorch).
        slope: f64,
    },
    /// (α/2) / (1 + (π/2·α·u)²) (snnTorch `atan`; Fang et al. 2021).
    Atan {
        /// α (2 in snnTorch).
        alpha: f64,
    },
}

impl Default for Surrogate {
    fn default() -> Self {
        Surrogate::FastSigmoid { slope: 25.0 }
    }
}

/// How the readout of a `Control` task becomes an action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub enum Decoder {
    /// One readout neuron per discrete action; π = softmax(mean membranes).
    #[default]
    Categorical,
    /// A Gaussian policy for a one-dimensional continuous action: readout neuron 0 gives the
    /// mean μ = `scale`·z₀, neuron 1 the log standard deviation log σ = `log_std` + z₁,
    /// clamped to [`min_log_std`, `max_log_std`]; the action sent to the environment is the
    /// sample clipped to [`low`, `high`].
    Gaussian {
        /// Scale of the mean.
        scale: f64,
        /// Offset of the log standard deviation.
        log_std: f64,
        /// Lower clamp of log σ.
        min_log_std: f64,
        /// Upper clamp of log σ.
        max_log_std: f64,
        /// Lowest action.
        low: f64,
        /// Highest action.
        high: f64,
    },
}

impl Decoder {
    /// Readout neurons the decoder reads for an environment with `discrete` actions (`None`
    /// for a continuous action of `dims` values), if it can drive it.
    pub fn readout_len(&self, discrete: Option<usize>, dims: usize) -> Option<usize> {
        match (self, discrete) {
            (Decoder::Categorical, Some(n)) => Some(n),
            (Decoder::Gaussian { .. }, None) if dims == 1 => Some(2),
            _ => None,
        }
    }
}

fn default_value_coef() -> f64 {
    0.5
}
fn one() -> f64 {
    1.0
}

/// How an agent's observation is presented to its input population.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub enum Encoder {
    /// Input neuron i is on when observation value i exceeds 0.5.
    #[default]
    Identity,
    /// For a two-channel grid observation (agent one-hot, then food, `size`² cells each): the
    /// agent channel as it is, then the food channel re-centred on the agent, a
    /// (2·size − 1)² window in which cell (dr, dc) holds the food at row + dr, column + dc.
    /// The input population has size² + (2·size − 1)² neurons.
    Egocentric {
        /// Side of the grid.
        size: usize,
    },
    /// Continuous observations as currents (`Control` tasks): value x_i drives an on/off pair
    /// of input neurons, 2i with max(0, x_i/scale_i) and 2i + 1 with max(0, −x_i/scale_i).
    OnOff {
        /// One scale per observation value.
        scale: Vec<f64>,
    },
    /// Continuous observations as currents by population coding (`Control` tasks): value x_i
    /// drives `per_value` input neurons with Gaussian receptive fields, centres c_k evenly
    /// spaced over [low_i, high_i] and current exp(−(x_i − c_k)²/(2σ_i²)), σ_i = `width` ×
    /// the spacing of the centres.
    Population {
        /// Neurons per observation value (at least 2).
        per_value: usize,
        /// Lowest centre, per observation value.
        low: Vec<f64>,
        /// Highest centre, per observation value.
        high: Vec<f64>,
        /// Receptive-field width in units of the centre spacing.
        width: f64,
    },
}

impl Encoder {
    /// Input neurons needed for an observation of `obs_len` values, if the encoder accepts it.
    pub fn input_len(&self, obs_len: usize) -> Option<usize> {
        match self {
            Encoder::Identity => Some(obs_len),
            &Encoder::Egocentric { size } => {
                (obs_len == 2 * size * size).then(|| size * size + (2 * size - 1) * (2 * size - 1))
            }
            Encoder::OnOff { scale } => (scale.len() == obs_len).then_some(2 * obs_len),
            Encoder::Population {
                per_value,
                low,
                high,
                ..
            } => (low.len() == obs_len && high.len() == obs_len).then_some(per_value * obs_len),
        }
    }

    /// Whether the encoder presents values as currents rather than on/off inputs.
    pub fn is_continuous(&self) -> bool {
        matches!(self, Encoder::OnOff { .. } | Encoder::Population { .. })
    }

    /// Writes the input neurons driven by `obs` with their currents (non-zero only); an
    /// on/off encoder's inputs carry 1.
    pub fn currents(&self, obs: &[f64], out: &mut Vec<(u32, f64)>) {
        match self {
            Encoder::OnOff { scale } => {
                for (i, (&x, &s)) in obs.iter().zip(scale).enumerate() {
                    let v = x / s;
                    if v > 0.0 {
                        out.push((2 * i as u32, v));
                    } else if v < 0.0 {
                        out.push((2 * i as u32 + 1, -v));
                    }
                }
            }
            Encoder::Population {
                per_value,
                low,
                high,
                width,
            } => {
                let k = *per_value;
                for (i, &x) in obs.iter().enumerate() {
                    let spacing = (high[i] - low[i]) / (k - 1) as f64;
                    let sigma = width * spacing;
                    for c in 0..k {
                        let d = (x - (low[i] + spacing * c as f64)) / sigma;
                        let v = (-0.5 * d * d).exp();
                        if v > 1e-12 {
                            out.push(((i * k + c) as u32, v));
                        }
                    }
                }
            }
            _ => {
                let mut on = Vec::new();
                self.active(obs, &mut on);
                out.extend(on.into_iter().map(|i| (i, 1.0)));
            }
        }
    }

    /// Writes the indices of the input neurons that are on for observation `obs`.
    pub fn active(&self, obs: &[f64], out: &mut Vec<u32>) {
        match *self {
            Encoder::Identity => on_cells(obs, out),
            Encoder::OnOff { .. } | Encoder::Population { .. } => {
                let mut cur = Vec::new();
                self.currents(obs, &mut cur);
                out.extend(cur.into_iter().filter(|c| c.1 > 0.5).map(|c| c.0));
            }
            Encoder::Egocentric { size } => {
                let s2 = size * size;
                let Some(agent) = (0..s2).find(|&i| obs[i] > 0.5) else {
                    return;
                };
                out.push(agent as u32);
                let (ar, ac) = ((agent / size) as isize, (agent % size) as isize);
                let w = 2 * size - 1;
                let mut food: Vec<u32> = (0..s2)
                    .filter(|&i| obs[s2 + i] > 0.5)
                    .map(|i| {
                        let dr = (i / size) as isize - ar + size as isize - 1;
                        let dc = (i % size) as isize - ac + size as isize - 1;
                        (s2 + dr as usize * w + dc as usize) as u32
                    })
                    .collect();
                food.sort_unstable();
                out.extend(food);
            }
        }
    }
}

/// The indices of the values of `obs` above 0.5, in order, compiled per CPU vector width.
fn on_cells(obs: &[f64], out: &mut Vec<u32>) {
    widest!(fn on_cells_body::<>(obs: &[f64], out: &mut Vec<u32>))
}

/// The work of [`on_cells`]. Observations are mostly off (the foraging grid: 6 of 450): each
/// block of 64 values becomes a bit mask (a vectorised compare), and only its set bits are
/// visited, so the branches taken are one per value that is on.
#[inline(always)]
fn on_cells_body(obs: &[f64], out: &mut Vec<u32>) {
    for (k, block) in obs.chunks(64).enumerate() {
        let mut on = block
            .iter()
            .enumerate()
            .fold(0u64, |m, (i, &x)| m | (u64::from(x > 0.5) << i));
        while on != 0 {
            out.push((64 * k) as u32 + on.trailing_zeros());
            on &= on - 1;
        }
    }
}

fn default_decision_steps() -> usize {
    10
}
fn default_batch() -> usize {
    16
}
fn default_episodes() -> u64 {
    20_000
}
fn default_progress() -> u64 {
    1000
}

/// The structural policy of the hidden population (docs/results.md, "Structure"): a plugin of
/// kind `structure` (`plugin`, `path`, `params`, as for rules), or, without `plugin`, the
/// `rate_threshold` policy with the fields below as its parameters (the format before
/// structure plugins). Rates are spikes per neuron per simulation step, over the episodes since
/// the last check of that kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct StructureSpec {
    /// Structural-policy plugin (`rate_threshold`, `plateau`, `deep_r`, …; `snnsim plugins` lists
    /// them); without it, `rate_threshold` with the fields below.
    pub plugin: Option<String>,
    /// Explicit library file, instead of searching for the name.
    pub path: Option<String>,
    /// The plugin's parameters, in its own RON schema (with `plugin` only).
    #[cfg_attr(
        feature = "schema",
        schemars(with = "Option<String>", extend("x-raw-ron" = true))
    )]
    pub params: Option<Box<ron::value::RawValue>>,
    /// Episodes between growth checks.
    pub grow_interval: u64,
    /// Grow when the mean hidden rate is below this.
    pub grow_threshold: f64,
    /// Never grow beyond this many hidden neurons.
    pub max_hidden: usize,
    /// Neurons added per growth.
    pub neurons_per_grow: usize,
    /// Standard deviation of the noise added to new neurons' input weights.
    pub new_input_noise_std: f64,
    /// Episodes between pruning checks.
    pub prune_interval: u64,
    /// A neuron whose rate is below this is silent.
    pub prune_threshold: f64,
    /// Prune when more than this fraction of the population is silent.
    pub prune_fraction: f64,
    /// Never prune below this many hidden neurons.
    pub min_hidden: usize,
}

impl Default for StructureSpec {
    /// SPEC §1.4.
    fn default() -> Self {
        StructureSpec {
            plugin: None,
            path: None,
            params: None,
            grow_interval: 100,
            grow_threshold: 0.05,
            max_hidden: 512,
            neurons_per_grow: 32,
            new_input_noise_std: 0.01,
            prune_interval: 50,
            prune_threshold: 0.005,
            prune_fraction: 0.3,
            min_hidden: 32,
        }
    }
}

impl StructureSpec {
    /// The policy's plugin name: `plugin`, or `rate_threshold`.
    pub fn plugin_name(&self) -> &str {
        self.plugin.as_deref().unwrap_or("rate_threshold")
    }

    /// The policy's parameters as RON text: `params`, or the `rate_threshold` fields.
    pub fn params_text(&self) -> String {
        match (&self.plugin, &self.params) {
            (Some(_), Some(p)) => p.get_ron().to_string(),
            (Some(_), None) => String::new(),
            (None, _) => format!(
                "(grow_interval: {}, grow_threshold: {:?}, max_hidden: {}, neurons_per_grow: {}, \
                 new_input_noise_std: {:?}, prune_interval: {}, prune_threshold: {:?}, \
                 prune_fraction: {:?}, min_hidden: {})",
                self.grow_interval,
                self.grow_threshold,
                self.max_hidden,
                self.neurons_per_grow,
                self.new_input_noise_std,
                self.prune_interval,
                self.prune_threshold,
                self.prune_fraction,
                self.min_hidden
            ),
        }
    }

    /// Whether the `rate_threshold` fields all have their default values.
    pub fn rate_fields_are_default(&self) -> bool {
        let d = StructureSpec::default();
        StructureSpec {
            plugin: None,
            path: None,
            params: None,
            ..self.clone()
        } == d
    }
}

/// One population of identical neurons (or spike sources).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PopulationSpec {
    /// Unique name, used by projections, stimuli and recorders.
    pub name: String,
    /// Number of neurons (>= 1).
    pub size: usize,
    /// Neuron model and its parameters.
    pub model: ModelSpec,
    /// Initial values of state variables, by variable name (for example `"v"`). Variables not
    /// named here start at the model's resting value.
    #[serde(default)]
    pub init: BTreeMap<String, Init>,
    /// Per-neuron values of model parameters, by parameter name, one value per neuron; each
    /// replaces the model's single value of that parameter (docs/graph-format.md lists which
    /// models and parameters take them).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, Vec<f64>>,
    /// Train this population's decays, one per neuron, with the weights (a trained `Lif` with
    /// `integration: SnnTorch(...)`: β; `Synaptic`: β and α), starting from the model's values
    /// and kept in [0, 1] (docs/graph-format.md, "Learned decays").
    // Left out of the text when false, so the schema states the default itself.
    #[serde(default, skip_serializing_if = "is_false")]
    #[cfg_attr(feature = "schema", schemars(extend("default" = false)))]
    pub learn_decay: bool,
}

/// The neuron model of a population, with its parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum ModelSpec {
    /// Current-based LIF with exponential synaptic currents, exact integration
    /// (NEST `iaf_psc_exp`, Brian2 `method='exact'`).
    Lif(LifParams),
    /// Current-based LIF with alpha-shaped synaptic currents, exact integration, in NEST's
    /// order and timing (NEST `iaf_psc_alpha`).
    LifAlpha(LifAlphaParams),
    /// Conductance-based LIF with exponential conductances, forward Euler (COBA benchmark).
    CobaLif(CobaLifParams),
    /// Independent Poisson spike trains.
    Poisson(PoissonParams),
    /// Spikes at given times.
    SpikeTimes(SpikeTimesParams),
    /// Constant-on inputs: a neuron whose observation value is on spikes on every step.
    Observation(ObservationParams),
    /// snnTorch's `Synaptic`: a two-state LIF (synaptic current and membrane), discrete time.
    Synaptic(SynapticParams),
    /// snnTorch's `Alpha`: excitatory and inhibitory synaptic states, discrete time.
    Alpha(AlphaParams),
    /// Adaptive-threshold LIF of LSNN / e-prop (Bellec et al. 2018, 2020), discrete time.
    Alif(AlifParams),
    /// Izhikevich (2003) simple model.
    Izhikevich(IzhikevichParams),
    /// Adaptive exponential integrate-and-fire (Brette & Gerstner 2005), forward Euler.
    AdEx(AdExParams),
    /// Quadratic integrate-and-fire with exponential synaptic currents, forward Euler.
    Qif(QifParams),
    /// Resonate-and-fire (Izhikevich 2001): a damped oscillator with complex state, exact.
    ResonateFire(ResonateFireParams),
    /// Hodgkin–Huxley, the classic squid-axon kinetics (Hodgkin & Huxley 1952), with
    /// exponential conductances, exponential Euler.
    HodgkinHuxley(HodgkinHuxleyParams),
    /// Hodgkin–Huxley with the Traub & Miles (1991) kinetics of Brian2's COBAHH example,
    /// exponential conductances, exponential Euler.
    TraubMiles(HodgkinHuxleyParams),
    /// Sigma-delta neuron of Lava-dl's SDNN: accumulates its input, sends a graded spike (the
    /// change of its activation) when the change reaches a threshold; projections from it add
    /// weight × value.
    SigmaDelta(SigmaDeltaParams),
    /// Graded values rather than spikes: each step every neuron outputs a real number (a row
    /// of `snnsim run --input X.npy`, or `constant`), and a projection from it adds
    /// weight × value.
    Values(ValuesParams),
}

/// Parameters of [`ModelSpec::Lif`].
///
/// dv/dt = (−(v − v_rest) + R·(I_exc + I_inh + I_bias + I_ext)) / τ_m,
/// dI_x/dt = −I_x / τ_x.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct LifParams {
    /// Membrane time constant τ_m (ms).
    pub tau_m_ms: f64,
    /// Resting potential v_rest (mV).
    pub v_rest_mv: f64,
    /// Reset potential (mV).
    pub v_reset_mv: f64,
    /// Threshold (mV); a spike is emitted when v > v_th after the update.
    pub v_th_mv: f64,
    /// Absolute refractory period (ms), during which v is held at the reset value.
    pub refractory_ms: f64,
    /// Time constant of the excitatory synaptic current (ms).
    pub tau_syn_exc_ms: f64,
    /// Time constant of the inhibitory synaptic current (ms).
    pub tau_syn_inh_ms: f64,
    /// Membrane resistance R (MΩ).
    pub r_mohm: f64,
    /// Constant bias current (nA).
    pub i_bias_na: f64,
    /// How v is advanced: the exact solution of the ODE (default) or snnTorch's discrete
    /// `Leaky` update.
    pub integration: LifIntegration,
}

impl Default for LifParams {
    /// NEST `iaf_psc_exp` defaults for voltages and times; R = 1 MΩ so currents read as mV.
    fn default() -> Self {
        LifParams {
            tau_m_ms: 10.0,
            v_rest_mv: -70.0,
            v_reset_mv: -70.0,
            v_th_mv: -55.0,
            refractory_ms: 2.0,
            tau_syn_exc_ms: 2.0,
            tau_syn_inh_ms: 2.0,
            r_mohm: 1.0,
            i_bias_na: 0.0,
            integration: LifIntegration::Exact,
        }
    }
}

/// Parameters of [`ModelSpec::LifAlpha`] (NEST `iaf_psc_alpha`). Units: mV, ms, pF, nA.
///
/// C·dv/dt = −C·(v − v_rest)/τ_m + I_exc + I_inh + I_bias + I_ext, each synaptic current a sum
/// of alpha functions w·(t/τ_syn)·e^(1 − t/τ_syn), whose peak (at t = τ_syn) is the weight w.
/// The defaults are NEST's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct LifAlphaParams {
    /// Membrane time constant τ_m (ms); NEST `tau_m`.
    pub tau_m_ms: f64,
    /// Membrane capacitance C (pF); NEST `C_m`.
    pub c_pf: f64,
    /// Resting potential (mV), also the initial v; NEST `E_L`.
    pub v_rest_mv: f64,
    /// Reset potential (mV), below `v_th_mv`; NEST `V_reset`.
    pub v_reset_mv: f64,
    /// Threshold (mV); a spike is emitted when v >= v_th after the update (NEST's test);
    /// NEST `V_th`.
    pub v_th_mv: f64,
    /// Absolute refractory period (ms), rounded up to whole steps as NEST does; v is held at
    /// the reset value for that many steps after the step of the spike; NEST `t_ref`.
    pub refractory_ms: f64,
    /// Rise time τ_syn of the excitatory alpha current (ms); NEST `tau_syn_ex`.
    pub tau_syn_exc_ms: f64,
    /// Rise time τ_syn of the inhibitory alpha current (ms); NEST `tau_syn_in`.
    pub tau_syn_inh_ms: f64,
    /// Constant bias current (nA); NEST `I_e` (in pA there).
    pub i_bias_na: f64,
}

impl Default for LifAlphaParams {
    /// NEST `iaf_psc_alpha`'s defaults: τ_m = 10 ms, C = 250 pF, E_L = V_reset = −70 mV,
    /// V_th = −55 mV, t_ref = 2 ms, τ_syn = 2 ms, I_e = 0.
    fn default() -> Self {
        LifAlphaParams {
            tau_m_ms: 10.0,
            c_pf: 250.0,
            v_rest_mv: -70.0,
            v_reset_mv: -70.0,
            v_th_mv: -55.0,
            refractory_ms: 2.0,
            tau_syn_exc_ms: 2.0,
            tau_syn_inh_ms: 2.0,
            i_bias_na: 0.0,
        }
    }
}

/// The integration scheme of [`ModelSpec::Lif`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub enum LifIntegration {
    /// The exact solution over a step (NEST `iaf_psc_exp`, Brian2 `method='exact'`).
    #[default]
    Exact,
    /// snnTorch's `Leaky`: v − v_rest = β·(v − v_rest) + x − reset·(v_th − v_rest), with the
    /// reset taken from the previous step's membrane; x is R times the delivered weights and
    /// currents of the step. `refractory_ms` and `tau_syn_*` are not used.
    SnnTorch {
        /// Membrane decay per step β in [0, 1]; exp(−dt/τ_m) from `tau_m_ms` when absent.
        #[serde(default)]
        beta: Option<f64>,
        /// Reset mechanism (snnTorch's default: `Subtract`).
        #[serde(default)]
        reset: Reset,
        /// Whether the reset acts in the step after the spike, from the previous membrane
        /// (snnTorch's default `reset_delay=True`), or in the step of the spike (false:
        /// snnTorch's `reset_delay=False`, what its NIR importer builds).
        // The default is left out of the text (files written before the field read and
        // write as they did), so the schema states it itself.
        #[serde(default = "yes", skip_serializing_if = "is_true")]
        #[cfg_attr(feature = "schema", schemars(extend("default" = true)))]
        reset_delay: bool,
    },
}

/// How a discrete-time (snnTorch-style) neuron resets after a spike: snnTorch's
/// `reset_mechanism`. The reset is applied in the step after the spike, from the previous
/// membrane, as snnTorch does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Reset {
    /// Subtract the threshold from the membrane.
    #[default]
    Subtract,
    /// Set the membrane to zero (to the reset potential, for `Lif`).
    Zero,
    /// No reset (snnTorch's `reset_mechanism="none"`; named so that it is not read as an
    /// absent option).
    NoReset,
}

/// Parameters of [`ModelSpec::Synaptic`] (snnTorch `Synaptic`). Dimensionless: the membrane,
/// the threshold and the weights are in the same arbitrary unit. Each decay is given either
/// per step (`alpha`, `beta`) or as a time constant (`tau_syn_ms`, `tau_mem_ms`, mapped by
/// decay = exp(−dt/τ)), not both; with neither, α = 0.8 and β = 0.9.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct SynapticParams {
    /// Decay of the synaptic current per step α, in [0, 1].
    pub alpha: Option<f64>,
    /// Synaptic time constant (ms), instead of `alpha`.
    pub tau_syn_ms: Option<f64>,
    /// Decay of the membrane per step β, in [0, 1].
    pub beta: Option<f64>,
    /// Membrane time constant (ms), instead of `beta`.
    pub tau_mem_ms: Option<f64>,
    /// Threshold: a spike when the membrane exceeds it (strictly); default 1.
    pub threshold: f64,
    /// Reset mechanism; `Subtract` (snnTorch's default) when absent.
    pub reset: Reset,
    /// Whether the reset acts in the step after the spike (snnTorch's default
    /// `reset_delay=True`) or, when false, in the step of the spike (`reset_delay=False`,
    /// what snnTorch's NIR importer builds). The synaptic current is never reset.
    #[serde(skip_serializing_if = "is_true")]
    #[cfg_attr(feature = "schema", schemars(extend("default" = true)))]
    pub reset_delay: bool,
}

impl Default for SynapticParams {
    fn default() -> Self {
        SynapticParams {
            alpha: None,
            tau_syn_ms: None,
            beta: None,
            tau_mem_ms: None,
            threshold: 1.0,
            reset: Reset::Subtract,
            reset_delay: true,
        }
    }
}

/// Parameters of [`ModelSpec::Values`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct ValuesParams {
    /// The value of every neuron at every step (one per neuron): a constant source, such as
    /// the bias of a dense layer. When absent, the values are fed each step from `snnsim run
    /// --input X.npy` (one row per step).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub constant: Option<Vec<f64>>,
}

/// Parameters of [`ModelSpec::Alpha`] (snnTorch `Alpha`). Dimensionless. Each decay is given
/// either per step (`alpha`, `beta`) or as a time constant (`tau_exc_ms`, `tau_inh_ms`), not
/// both; with neither, α = 0.9 and β = 0.8. Requires 0 < β < α < 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct AlphaParams {
    /// Decay of the excitatory synaptic state per step α.
    pub alpha: Option<f64>,
    /// Excitatory time constant (ms), instead of `alpha`.
    pub tau_exc_ms: Option<f64>,
    /// Decay of the inhibitory synaptic state per step β.
    pub beta: Option<f64>,
    /// Inhibitory time constant (ms), instead of `beta`.
    pub tau_inh_ms: Option<f64>,
    /// Threshold: a spike when the membrane exceeds it (strictly); default 1.
    pub threshold: f64,
    /// Reset mechanism; `Zero` (snnTorch's default for `Alpha`) when absent.
    pub reset: Reset,
}

impl Default for AlphaParams {
    fn default() -> Self {
        AlphaParams {
            alpha: None,
            tau_exc_ms: None,
            beta: None,
            tau_inh_ms: None,
            threshold: 1.0,
            reset: Reset::Zero,
        }
    }
}

/// Parameters of [`ModelSpec::Alif`]: the adaptive LIF of e-prop (Bellec et al. 2020),
/// dimensionless, with α = exp(−dt/τ_m) and ρ = exp(−dt/τ_a).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct AlifParams {
    /// Membrane time constant τ_m (ms); default 20.
    pub tau_m_ms: f64,
    /// Adaptation time constant τ_a (ms); default 200.
    pub tau_a_ms: f64,
    /// Baseline threshold v_th (> 0); default 1. The reset subtracts it.
    pub threshold: f64,
    /// Adaptation strength β: the threshold is v_th + β·a; default 0.07.
    pub beta_a: f64,
}

impl Default for AlifParams {
    fn default() -> Self {
        AlifParams {
            tau_m_ms: 20.0,
            tau_a_ms: 200.0,
            threshold: 1.0,
            beta_a: 0.07,
        }
    }
}

/// The integration scheme of [`ModelSpec::Izhikevich`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum IzhikevichIntegration {
    /// Forward Euler, both variables from the old values, in Brian2's operation order.
    #[default]
    Euler,
    /// Izhikevich's published scheme: two half-steps of dt/2 for v, then u over dt with the
    /// new v (his code uses dt = 1 ms).
    HalfStep,
}

/// Parameters of [`ModelSpec::Izhikevich`] (Izhikevich 2003). v is in mV and t in ms; as in
/// the paper, a, b, d (and u) are dimensionless in that scaling, and currents read as mV/ms
/// (1 nA through the model's unit capacitance of 1 nF). Defaults: regular spiking (RS).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct IzhikevichParams {
    /// Time scale of u (1/ms).
    pub a: f64,
    /// Sensitivity of u to v.
    pub b: f64,
    /// Reset value of v (mV).
    pub c: f64,
    /// Increment of u at a spike.
    pub d: f64,
    /// Spike cut-off: a spike when v >= v_peak (mV).
    pub v_peak_mv: f64,
    /// Constant bias current (nA, i.e. mV/ms).
    pub i_bias_na: f64,
    /// Integration scheme.
    pub integration: IzhikevichIntegration,
}

impl Default for IzhikevichParams {
    /// Regular spiking (RS): a = 0.02, b = 0.2, c = −65, d = 8.
    fn default() -> Self {
        IzhikevichParams {
            a: 0.02,
            b: 0.2,
            c: -65.0,
            d: 8.0,
            v_peak_mv: 30.0,
            i_bias_na: 0.0,
            integration: IzhikevichIntegration::Euler,
        }
    }
}

impl IzhikevichParams {
    /// Regular spiking (Izhikevich 2003, Fig. 2).
    pub fn rs() -> Self {
        Self::default()
    }
    /// Intrinsically bursting: c = −55, d = 4.
    pub fn ib() -> Self {
        IzhikevichParams {
            c: -55.0,
            d: 4.0,
            ..Self::default()
        }
    }
    /// Chattering: c = −50, d = 2.
    pub fn ch() -> Self {
        IzhikevichParams {
            c: -50.0,
            d: 2.0,
            ..Self::default()
        }
    }
    /// Fast spiking: a = 0.1, d = 2.
    pub fn fs() -> Self {
        IzhikevichParams {
            a: 0.1,
            d: 2.0,
            ..Self::default()
        }
    }
}

/// Parameters of [`ModelSpec::AdEx`] (Brette & Gerstner 2005). Units: mV, ms, pF, nS, nA.
/// Defaults: the paper's regular-spiking set as in Brian2's example.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct AdExParams {
    /// Membrane capacitance C (pF).
    pub c_pf: f64,
    /// Leak conductance g_L (nS).
    pub g_l_ns: f64,
    /// Leak reversal potential E_L (mV); also the initial v.
    pub e_l_mv: f64,
    /// Threshold slope factor's centre V_T (mV).
    pub v_t_mv: f64,
    /// Slope factor Δ_T (mV), > 0.
    pub delta_t_mv: f64,
    /// Adaptation time constant τ_w (ms).
    pub tau_w_ms: f64,
    /// Subthreshold adaptation a (nS).
    pub a_ns: f64,
    /// Spike-triggered adaptation b (nA).
    pub b_na: f64,
    /// Reset potential V_r (mV).
    pub v_reset_mv: f64,
    /// Spike cut-off V_cut (mV): a spike when v > V_cut; V_T + 5·Δ_T when absent.
    pub v_cut_mv: Option<f64>,
    /// Absolute refractory period (ms); v is held at V_r while w evolves.
    pub refractory_ms: f64,
    /// Time constant of the excitatory synaptic current (ms).
    pub tau_syn_exc_ms: f64,
    /// Time constant of the inhibitory synaptic current (ms).
    pub tau_syn_inh_ms: f64,
    /// Constant bias current (nA).
    pub i_bias_na: f64,
}

impl Default for AdExParams {
    /// Brette & Gerstner (2005), regular spiking: C = 281 pF, g_L = 30 nS, E_L = −70.6 mV,
    /// V_T = −50.4 mV, Δ_T = 2 mV, τ_w = 144 ms, a = 4 nS, b = 0.0805 nA, V_r = E_L.
    fn default() -> Self {
        AdExParams {
            c_pf: 281.0,
            g_l_ns: 30.0,
            e_l_mv: -70.6,
            v_t_mv: -50.4,
            delta_t_mv: 2.0,
            tau_w_ms: 144.0,
            a_ns: 4.0,
            b_na: 0.0805,
            v_reset_mv: -70.6,
            v_cut_mv: None,
            refractory_ms: 0.0,
            tau_syn_exc_ms: 5.0,
            tau_syn_inh_ms: 5.0,
            i_bias_na: 0.0,
        }
    }
}

impl AdExParams {
    /// The tonic-spiking set of Naud et al. (2008): C = 200 pF, g_L = 10 nS, E_L = −70 mV,
    /// V_T = −50 mV, Δ_T = 2 mV, τ_w = 30 ms, a = 2 nS, b = 0, V_r = −58 mV.
    pub fn naud_2008_tonic() -> Self {
        AdExParams {
            c_pf: 200.0,
            g_l_ns: 10.0,
            e_l_mv: -70.0,
            v_t_mv: -50.0,
            delta_t_mv: 2.0,
            tau_w_ms: 30.0,
            a_ns: 2.0,
            b_na: 0.0,
            v_reset_mv: -58.0,
            ..Self::default()
        }
    }

    /// V_cut: as given, or V_T + 5·Δ_T.
    pub fn v_cut(&self) -> f64 {
        self.v_cut_mv.unwrap_or(self.v_t_mv + 5.0 * self.delta_t_mv)
    }
}

/// Parameters of [`ModelSpec::Qif`] (Latham et al. 2000; Ermentrout & Kopell 1986).
///
/// τ_m·dv/dt = k·(v − v_rest)·(v − v_c) + R·(I_exc + I_inh + I_bias + I_ext),
/// dI_x/dt = −I_x / τ_x; a spike when v > v_peak, then v ← v_reset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct QifParams {
    /// Membrane time constant τ_m (ms).
    pub tau_m_ms: f64,
    /// Resting potential v_rest (mV), the stable fixed point without input; also the initial v.
    pub v_rest_mv: f64,
    /// Critical potential v_c (mV), the unstable fixed point: above it v runs away. > v_rest.
    pub v_c_mv: f64,
    /// Sharpness k of the quadratic term (1/mV), > 0.
    pub k_per_mv: f64,
    /// Spike cut-off v_peak (mV): a spike when v > v_peak. > v_c.
    pub v_peak_mv: f64,
    /// Reset potential (mV), below v_peak.
    pub v_reset_mv: f64,
    /// Absolute refractory period (ms); v is held at v_reset while the currents decay.
    pub refractory_ms: f64,
    /// Time constant of the excitatory synaptic current (ms).
    pub tau_syn_exc_ms: f64,
    /// Time constant of the inhibitory synaptic current (ms).
    pub tau_syn_inh_ms: f64,
    /// Membrane resistance R (MΩ).
    pub r_mohm: f64,
    /// Constant bias current (nA).
    pub i_bias_na: f64,
}

impl Default for QifParams {
    /// τ_m = 10 ms, v_rest = −65 mV, v_c = −50 mV, k = 0.04/mV, v_peak = 0 mV, v_reset =
    /// −70 mV, no refractoriness, τ_exc = 5 ms, τ_inh = 10 ms, R = 1 MΩ.
    fn default() -> Self {
        QifParams {
            tau_m_ms: 10.0,
            v_rest_mv: -65.0,
            v_c_mv: -50.0,
            k_per_mv: 0.04,
            v_peak_mv: 0.0,
            v_reset_mv: -70.0,
            refractory_ms: 0.0,
            tau_syn_exc_ms: 5.0,
            tau_syn_inh_ms: 10.0,
            r_mohm: 1.0,
            i_bias_na: 0.0,
        }
    }
}

/// Parameters of [`ModelSpec::ResonateFire`] (Izhikevich 2001).
///
/// dz/dt = (b + iω)·z + I_bias + I_ext, z = x + iy; a delivered weight w adds w to x; a spike
/// when y > a_th, then z ← x_reset + i·y_reset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct ResonateFireParams {
    /// Damping b (1/ms), < 0 for a stable focus.
    pub b_per_ms: f64,
    /// Angular frequency ω of the eigen-oscillation (rad/ms), > 0.
    pub omega_rad_per_ms: f64,
    /// Threshold a_th on the imaginary part y.
    pub a_th: f64,
    /// x after a spike.
    pub x_reset: f64,
    /// y after a spike, below a_th.
    pub y_reset: f64,
    /// Constant bias current (added to dx/dt, per ms).
    pub i_bias: f64,
}

impl Default for ResonateFireParams {
    /// b = −0.1/ms (a 10-ms decay), ω = 2π·0.04 rad/ms (40 Hz), a_th = 1, reset to 0.
    fn default() -> Self {
        ResonateFireParams {
            b_per_ms: -0.1,
            omega_rad_per_ms: 2.0 * std::f64::consts::PI * 0.04,
            a_th: 1.0,
            x_reset: 0.0,
            y_reset: 0.0,
            i_bias: 0.0,
        }
    }
}

/// Parameters of [`ModelSpec::HodgkinHuxley`] and [`ModelSpec::TraubMiles`]. Units: mV, ms,
/// pF, nS, nA. The defaults differ by model (each field states both): the squid axon of
/// Hodgkin & Huxley (1952) in today's convention (rest near −65 mV), and the COBAHH cell of
/// Brian2's example (Traub & Miles 1991 as in Brette et al. 2007), both on a 20 000 µm² patch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct HodgkinHuxleyParams {
    /// Membrane capacitance C (pF): 200 (1 µF/cm²) in both.
    #[serde(default = "hh::c_pf")]
    pub c_pf: f64,
    /// Sodium conductance ḡ_Na (nS): squid 24 000 (120 mS/cm²), Traub–Miles 20 000.
    #[serde(default)]
    pub g_na_ns: Option<f64>,
    /// Potassium conductance ḡ_K (nS): squid 7 200 (36 mS/cm²), Traub–Miles 6 000.
    #[serde(default)]
    pub g_k_ns: Option<f64>,
    /// Leak conductance g_L (nS): squid 60 (0.3 mS/cm²), Traub–Miles 10.
    #[serde(default)]
    pub g_l_ns: Option<f64>,
    /// Sodium reversal E_Na (mV): 50 in both.
    #[serde(default = "hh::e_na_mv")]
    pub e_na_mv: f64,
    /// Potassium reversal E_K (mV): squid −77, Traub–Miles −90.
    #[serde(default)]
    pub e_k_mv: Option<f64>,
    /// Leak reversal E_L (mV), also the initial v: squid −54.387, Traub–Miles −60.
    #[serde(default)]
    pub e_l_mv: Option<f64>,
    /// Traub–Miles only: the offset V_T of the rate functions (mV), −63.
    #[serde(default = "hh::v_t_mv")]
    pub v_t_mv: f64,
    /// Excitatory synaptic reversal (mV): 0.
    #[serde(default)]
    pub e_exc_mv: f64,
    /// Inhibitory synaptic reversal (mV): −80.
    #[serde(default = "hh::e_inh_mv")]
    pub e_inh_mv: f64,
    /// Decay of the excitatory conductance (ms): 5.
    #[serde(default = "hh::tau_exc_ms")]
    pub tau_syn_exc_ms: f64,
    /// Decay of the inhibitory conductance (ms): 10.
    #[serde(default = "hh::tau_inh_ms")]
    pub tau_syn_inh_ms: f64,
    /// Spike detection (mV): −20. Without `refractory_ms`, a spike when v rises above it (v
    /// was not above it after the previous step).
    #[serde(default = "hh::v_th_mv")]
    pub v_th_mv: f64,
    /// Brian2's `threshold='v > v_th', refractory=...` rule instead of the upward crossing
    /// (ms): a spike whenever v is above `v_th_mv` and at least this long has passed since the
    /// last spike (a v that stays above the threshold fires again when the period ends).
    /// Brian2's COBAHH example uses 3 ms. None: the upward crossing.
    #[serde(default)]
    pub refractory_ms: Option<f64>,
    /// Constant bias current (nA): 0.
    #[serde(default)]
    pub i_bias_na: f64,
}

/// Defaults of [`HodgkinHuxleyParams`] shared by both kinetics.
mod hh {
    pub fn c_pf() -> f64 {
        200.0
    }
    pub fn e_na_mv() -> f64 {
        50.0
    }
    pub fn v_t_mv() -> f64 {
        -63.0
    }
    pub fn e_inh_mv() -> f64 {
        -80.0
    }
    pub fn tau_exc_ms() -> f64 {
        5.0
    }
    pub fn tau_inh_ms() -> f64 {
        10.0
    }
    pub fn v_th_mv() -> f64 {
        -20.0
    }
}

impl Default for HodgkinHuxleyParams {
    fn default() -> Self {
        HodgkinHuxleyParams {
            c_pf: hh::c_pf(),
            g_na_ns: None,
            g_k_ns: None,
            g_l_ns: None,
            e_na_mv: hh::e_na_mv(),
            e_k_mv: None,
            e_l_mv: None,
            v_t_mv: hh::v_t_mv(),
            e_exc_mv: 0.0,
            e_inh_mv: hh::e_inh_mv(),
            tau_syn_exc_ms: hh::tau_exc_ms(),
            tau_syn_inh_ms: hh::tau_inh_ms(),
            v_th_mv: hh::v_th_mv(),
            refractory_ms: None,
            i_bias_na: 0.0,
        }
    }
}

/// The activation of a [`ModelSpec::SigmaDelta`] neuron.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum SigmaDeltaActivation {
    /// max(0, sigma + bias).
    #[default]
    Relu,
    /// sigma + bias.
    Identity,
}

/// Parameters of [`ModelSpec::SigmaDelta`] (Lava's `SigmaDelta`).
///
/// sigma_t = sigma_{t−1} + x_t, y_t = f(sigma_t + bias); an event of value y_t − ref when
/// |y_t − ref| ≥ threshold (then ref ← y_t).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct SigmaDeltaParams {
    /// Delta threshold θ (≥ 0; 0 sends every change).
    pub threshold: f64,
    /// Added to sigma before the activation.
    pub bias: f64,
    /// The activation f.
    pub activation: SigmaDeltaActivation,
}

/// Parameters of [`ModelSpec::CobaLif`].
///
/// dv/dt = (g_exc·(E_exc − v) + g_inh·(E_inh − v) − (v − E_L) + R·(I_bias + I_ext)) / τ_m,
/// dg_x/dt = −g_x / τ_x, conductances in units of the leak conductance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct CobaLifParams {
    /// Membrane time constant τ_m (ms).
    pub tau_m_ms: f64,
    /// Leak reversal potential E_L (mV).
    pub e_l_mv: f64,
    /// Excitatory reversal potential (mV).
    pub e_exc_mv: f64,
    /// Inhibitory reversal potential (mV).
    pub e_inh_mv: f64,
    /// Reset potential (mV).
    pub v_reset_mv: f64,
    /// Threshold (mV); a spike is emitted when v > v_th after the update.
    pub v_th_mv: f64,
    /// Absolute refractory period (ms).
    pub refractory_ms: f64,
    /// Excitatory conductance time constant (ms).
    pub tau_syn_exc_ms: f64,
    /// Inhibitory conductance time constant (ms).
    pub tau_syn_inh_ms: f64,
    /// Membrane resistance R (MΩ), scaling the bias and external currents.
    pub r_mohm: f64,
    /// Constant bias current (nA).
    pub i_bias_na: f64,
}

impl Default for CobaLifParams {
    /// The COBA benchmark of Brette et al. (2007), as in Brian2's benchmark scripts.
    fn default() -> Self {
        CobaLifParams {
            tau_m_ms: 20.0,
            e_l_mv: -60.0,
            e_exc_mv: 0.0,
            e_inh_mv: -80.0,
            v_reset_mv: -60.0,
            v_th_mv: -50.0,
            refractory_ms: 5.0,
            tau_syn_exc_ms: 5.0,
            tau_syn_inh_ms: 10.0,
            r_mohm: 1.0,
            i_bias_na: 20.0,
        }
    }
}

/// Parameters of [`ModelSpec::Poisson`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PoissonParams {
    /// Rate of every neuron (Hz); a neuron spikes in a step with probability rate·dt.
    pub rate_hz: f64,
}

/// Parameters of [`ModelSpec::SpikeTimes`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SpikeTimesParams {
    /// One list of spike times (ms) per neuron; its length must equal the population size.
    /// Each time is rounded to the nearest step.
    pub times_ms: Vec<Vec<f64>>,
}

/// Parameters of [`ModelSpec::Observation`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct ObservationParams {
    /// Indices of the neurons that are on (spike on every step) until an environment writes a
    /// new observation.
    pub active: Vec<usize>,
}

/// A distribution of initial values (state variables, weights or delays).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub enum Init {
    /// Every value the same.
    Constant(f64),
    /// Uniform on [low, high).
    Uniform {
        /// Lower bound (inclusive).
        low: f64,
        /// Upper bound (exclusive).
        high: f64,
    },
    /// Normal with the given mean and standard deviation.
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation (>= 0).
        std: f64,
    },
    /// Kaiming (He) normal: N(0, (gain / sqrt(fan_in))²), fan-in = expected in-degree.
    KaimingNormal {
        /// Gain; sqrt(2) (ReLU) when absent, as PyTorch's default.
        #[serde(default)]
        gain: Option<f64>,
    },
    /// Kaiming uniform: U(−b, b), b = gain·sqrt(3 / fan_in).
    KaimingUniform {
        /// Gain; sqrt(2) when absent.
        #[serde(default)]
        gain: Option<f64>,
    },
    /// Xavier (Glorot) normal: N(0, gain²·2 / (fan_in + fan_out)).
    XavierNormal {
        /// Gain; 1 when absent.
        #[serde(default)]
        gain: Option<f64>,
    },
    /// Xavier uniform: U(−b, b), b = gain·sqrt(6 / (fan_in + fan_out)).
    XavierUniform {
        /// Gain; 1 when absent.
        #[serde(default)]
        gain: Option<f64>,
    },
}

/// The receptor of the postsynaptic neuron that a projection targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Receptor {
    /// Excitatory synaptic current or conductance.
    #[default]
    Exc,
    /// Inhibitory synaptic current or conductance.
    Inh,
}

/// One projection: synapses from every neuron of `pre` to neurons of `post`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ProjectionSpec {
    /// Unique name; `"<pre>-><post>"` when absent.
    #[serde(default)]
    pub name: Option<String>,
    /// Presynaptic population.
    pub pre: String,
    /// Postsynaptic population (a neuron model with receptors, not a spike source).
    pub post: String,
    /// Which synaptic variable a spike increments.
    #[serde(default)]
    pub receptor: Receptor,
    /// Which pairs are connected.
    pub connectivity: Connectivity,
    /// Whether a neuron may connect to itself when `pre == post` (default true, as Brian2 and
    /// NEST).
    #[serde(default = "yes")]
    pub allow_autapses: bool,
    /// Weights (nA onto current receptors, leak-conductance units onto conductance receptors).
    /// Required, except with `Dense` connectivity, which carries its own weights.
    #[serde(default)]
    pub weight: Option<Init>,
    /// Transmission delay in ms: a spike emitted in step n is felt in the update of step
    /// n + round(delay / dt). At least one step; one step when absent. `Constant(0.0)` is a
    /// zero-delay projection: felt in the same step, its post population updated after its
    /// pre population (no cycle of zero-delay projections).
    #[serde(default)]
    pub delay_ms: Option<Init>,
    /// A learning rule (a plugin) that trains this projection.
    #[serde(default)]
    pub rule: Option<RuleSpec>,
}

/// A learning rule attached to a projection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Plugin name (`snnsim plugins` lists those found).
    pub plugin: String,
    /// Explicit library file, instead of searching for the name.
    #[serde(default)]
    pub path: Option<String>,
    /// Parameters, in the plugin's own RON schema; passed to the plugin as written.
    #[serde(default)]
    #[cfg_attr(
        feature = "schema",
        schemars(with = "Option<String>", extend("x-raw-ron" = true))
    )]
    pub params: Option<Box<ron::value::RawValue>>,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// How the synapses of a projection are chosen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub enum Connectivity {
    /// Every pre neuron to every post neuron.
    AllToAll,
    /// Neuron i to neuron i (sizes must be equal).
    OneToOne,
    /// Each pair independently with probability `p`.
    FixedProbability {
        /// Connection probability in [0, 1].
        p: f64,
    },
    /// Each post neuron receives exactly `k` synapses from distinct pre neurons.
    FixedInDegree {
        /// In-degree, at most the number of candidate pre neurons.
        k: usize,
    },
    /// Exactly the given (pre, post) pairs; no pair twice.
    List {
        /// (pre index, post index) pairs.
        pairs: Vec<(usize, usize)>,
    },
    /// A dense weight matrix, one row per pre neuron and one column per post neuron; zero
    /// entries are absent synapses. Replaces `weight`.
    Dense {
        /// `weights[i][j]` is the weight from pre neuron i to post neuron j.
        weights: Vec<Vec<f64>>,
    },
    /// A 2-d convolution (PyTorch's `Conv2d` without batch): the pre population is a
    /// (C, H, W) map and the post population the (C_out, OH, OW) map it gives, both numbered
    /// row-major (neuron (c, y, x) is (c·H + y)·W + x). The kernel's weights are stored once
    /// and shared by every position. Replaces `weight`.
    Conv2d {
        /// Shape of the pre population: [C, H, W] (C·H·W must be its size).
        input: Vec<usize>,
        /// Output channels C_out.
        out_channels: usize,
        /// Kernel size [kh, kw].
        kernel: Vec<usize>,
        /// Stride [y, x].
        #[serde(default = "ones2", skip_serializing_if = "is_ones2")]
        stride: Vec<usize>,
        /// Zero padding [y, x].
        #[serde(default = "zeros2", skip_serializing_if = "is_zeros2")]
        padding: Vec<usize>,
        /// Dilation [y, x].
        #[serde(default = "ones2", skip_serializing_if = "is_ones2")]
        dilation: Vec<usize>,
        /// Groups (dividing C and C_out).
        #[serde(default = "one_usize", skip_serializing_if = "is_one")]
        groups: usize,
        /// C_out·(C/groups)·kh·kw weights in PyTorch's order (C_out, C/groups, kh, kw),
        /// row-major.
        weights: Vec<f64>,
    },
    /// A 1-d convolution (PyTorch's `Conv1d` without batch) over a [C, L] pre population,
    /// numbered row-major; a `Conv2d` of height 1. Replaces `weight`.
    Conv1d {
        /// Shape of the pre population: [C, L].
        input: Vec<usize>,
        /// Output channels C_out.
        out_channels: usize,
        /// Kernel size.
        kernel: usize,
        /// Stride.
        #[serde(default = "one_usize", skip_serializing_if = "is_one")]
        stride: usize,
        /// Zero padding.
        #[serde(default, skip_serializing_if = "is_zero")]
        padding: usize,
        /// Dilation.
        #[serde(default = "one_usize", skip_serializing_if = "is_one")]
        dilation: usize,
        /// Groups (dividing C and C_out).
        #[serde(default = "one_usize", skip_serializing_if = "is_one")]
        groups: usize,
        /// C_out·(C/groups)·k weights in the order (C_out, C/groups, k), row-major.
        weights: Vec<f64>,
    },
    /// Sum pooling over each channel's windows: every pre neuron in a window adds 1 to the
    /// window's post neuron. Replaces `weight`.
    SumPool2d {
        /// Shape of the pre population: [C, H, W].
        input: Vec<usize>,
        /// Window size [kh, kw].
        kernel: Vec<usize>,
        /// Stride [y, x]; the window size when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stride: Option<Vec<usize>>,
        /// Zero padding [y, x].
        #[serde(default = "zeros2", skip_serializing_if = "is_zeros2")]
        padding: Vec<usize>,
    },
    /// Average pooling: sum pooling with weight 1/(kh·kw) (the padding counts, as PyTorch's
    /// default `count_include_pad`). Replaces `weight`.
    AvgPool2d {
        /// Shape of the pre population: [C, H, W].
        input: Vec<usize>,
        /// Window size [kh, kw].
        kernel: Vec<usize>,
        /// Stride [y, x]; the window size when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stride: Option<Vec<usize>>,
        /// Zero padding [y, x].
        #[serde(default = "zeros2", skip_serializing_if = "is_zeros2")]
        padding: Vec<usize>,
    },
    /// Linear maps applied one after the other, each to the output of the one before (the
    /// first to the pre population's neurons, the last giving the post population's input):
    /// `Dense`, convolutions and pools, as a NIR path `AvgPool2d → Flatten → Affine` (a
    /// flatten is the identity on the row-major order). Built as one dense projection of the
    /// composed map; the file keeps the steps, so that writing it to NIR gives the nodes back.
    /// Replaces `weight`.
    Chain {
        /// The maps, at least two, in the order they are applied.
        steps: Vec<Connectivity>,
    },
}

impl Connectivity {
    /// Whether the connectivity is a shared kernel (convolution or pooling) that carries its
    /// own weights, rather than a set of synapses.
    pub fn is_kernel(&self) -> bool {
        matches!(
            self,
            Connectivity::Conv2d { .. }
                | Connectivity::Conv1d { .. }
                | Connectivity::SumPool2d { .. }
                | Connectivity::AvgPool2d { .. }
        )
    }
}

fn ones2() -> Vec<usize> {
    vec![1, 1]
}

fn zeros2() -> Vec<usize> {
    vec![0, 0]
}

fn is_ones2(v: &[usize]) -> bool {
    v == [1, 1]
}

fn is_zeros2(v: &[usize]) -> bool {
    v == [0, 0]
}

fn is_zero_usize(x: &usize) -> bool {
    *x == 0
}

fn is_one(x: &usize) -> bool {
    *x == 1
}

fn is_zero(x: &usize) -> bool {
    *x == 0
}

/// An external stimulus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub enum StimulusSpec {
    /// A constant current injected into neurons of a population between two times.
    Dc {
        /// Target population (LIF or COBA LIF).
        target: String,
        /// Current (nA).
        amplitude_na: f64,
        /// Onset (ms), inclusive.
        #[serde(default)]
        start_ms: f64,
        /// Offset (ms), exclusive; the end of the run when absent.
        #[serde(default)]
        stop_ms: Option<f64>,
        /// Neuron indices; all neurons when absent.
        #[serde(default)]
        neurons: Option<Vec<usize>>,
    },
    /// Independent Poisson spike trains, one per target neuron, each arriving as synaptic
    /// input of `weight` on `receptor` (NEST's `poisson_generator` connected to every target,
    /// Brian2's `PoissonInput`): in each step a neuron receives k·weight with k drawn from a
    /// Poisson distribution of mean rate·dt, so rates above 1/dt are allowed.
    PoissonInput {
        /// Target population (a model with receptors).
        target: String,
        /// Rate of each train (Hz).
        rate_hz: f64,
        /// Weight of each spike, in the receptor's units (as a projection's weight).
        weight: f64,
        /// Which synaptic variable a spike increments.
        #[serde(default)]
        receptor: Receptor,
        /// Onset (ms), inclusive.
        #[serde(default)]
        start_ms: f64,
        /// Offset (ms), exclusive; the end of the run when absent.
        #[serde(default)]
        stop_ms: Option<f64>,
        /// Neuron indices; all neurons when absent.
        #[serde(default)]
        neurons: Option<Vec<usize>>,
    },
}

/// What a run records into its run directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub enum RecorderSpec {
    /// Every spike of a population, into `spikes.csv`.
    Spikes {
        /// Population to record.
        population: String,
    },
    /// State variables of some neurons, into `state_<population>.csv`, sampled before each
    /// step's update (Brian2's `start` slot).
    State {
        /// Population to record.
        population: String,
        /// Variable names (see `snnsim inspect` or docs/graph-format.md).
        variables: Vec<String>,
        /// Neuron indices.
        neurons: Vec<usize>,
        /// Sampling interval (ms); every step when absent.
        #[serde(default)]
        every_ms: Option<f64>,
    },
    /// The weights of a projection at the end of the run, into `weights.csv`
    /// (`projection,pre,post,weight`, one row per synapse).
    Weights {
        /// Projection name.
        projection: String,
    },
}

/// An experiment: several graph files × several seeds, trained in parallel, summarised as a
/// table of four measures per configuration (`snnsim experiment`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ExperimentFile {
    /// Must equal [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The configurations compared.
    pub configurations: Vec<ExperimentConfig>,
    /// Seeds run for every configuration.
    pub seeds: Vec<u64>,
    /// Training episodes per run (overrides the graph files' `episodes`).
    #[serde(default)]
    pub episodes: Option<u64>,
    /// The adaptation measure: after training, the environment's parameters change and
    /// training goes on; the measure is the mean food over those episodes.
    #[serde(default)]
    pub adaptation: Option<AdaptationSpec>,
    /// The food level whose first crossing by the 100-episode moving average measures sample
    /// efficiency.
    #[serde(default = "default_food_bar")]
    pub food_bar: f64,
}

fn default_food_bar() -> f64 {
    3.0
}

/// One configuration of an experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ExperimentConfig {
    /// Name in the table.
    pub name: String,
    /// Graph file with an agent task, relative to the experiment file.
    pub graph: String,
}

/// The adaptation phase of an experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct AdaptationSpec {
    /// The environment's new parameters (in its own RON schema), e.g. `(food: 3)`.
    #[cfg_attr(
        feature = "schema",
        schemars(with = "String", extend("x-raw-ron" = true))
    )]
    pub environment_params: Box<ron::value::RawValue>,
    /// Episodes trained after the change.
    pub episodes: u64,
}

#[cfg(test)]
mod tests {
    use super::{Encoder, LrSchedule};

    /// The identity encoder's on-cells are the values above 0.5, in order, across and at the
    /// edges of its 64-value masks (0.5 itself, NaN and negative values are off).
    #[test]
    fn identity_encoder_finds_every_on_cell_in_order() {
        for n in [0, 1, 63, 64, 65, 128, 450] {
            let obs: Vec<f64> = (0..n)
                .map(|i| match (i * 7 + 3) % 11 {
                    0 | 5 => 1.0,
                    1 => 0.5,
                    2 => f64::NAN,
                    3 => 0.51,
                    4 => -2.0,
                    _ => 0.0,
                })
                .collect();
            let mut on = vec![];
            Encoder::Identity.active(&obs, &mut on);
            let want: Vec<u32> = (0..n as u32).filter(|&i| obs[i as usize] > 0.5).collect();
            assert_eq!(on, want, "{n} values");
            assert!(n < 11 || !on.is_empty());
        }
    }

    /// The schedules' rates against their formulas written out: cosine starts at `lr`, is
    /// halfway at the middle epoch and reaches `final_lr` one epoch past the last; a step
    /// schedule holds for `every` epochs.
    #[test]
    fn lr_schedules_follow_their_formulas() {
        let c = LrSchedule::Cosine { final_lr: 0.001 };
        assert_eq!(c.lr(0.005, 0, 10), 0.005);
        assert!((c.lr(0.005, 5, 10) - 0.003).abs() < 1e-15);
        let quarter = 0.001 + 0.004 * (1.0 + (std::f64::consts::PI / 4.0).cos()) / 2.0;
        assert!((c.lr(0.005, 5, 20) - quarter).abs() < 1e-15);
        assert!((c.lr(0.005, 10, 10) - 0.001).abs() < 1e-15);
        let s = LrSchedule::Step {
            every: 3,
            factor: 0.5,
        };
        let got: Vec<f64> = (0..7).map(|e| s.lr(0.004, e, 7)).collect();
        assert_eq!(got, [0.004, 0.004, 0.004, 0.002, 0.002, 0.002, 0.001]);
        assert_eq!(LrSchedule::Fixed.lr(0.004, 6, 7), 0.004);
    }
}
