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

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The graph-file format version this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// A whole graph file: the network, its stimuli and recorders, and the run settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
}

/// One population of identical neurons (or spike sources).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
}

/// The neuron model of a population, with its parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ModelSpec {
    /// Current-based LIF with exponential synaptic currents, exact integration
    /// (NEST `iaf_psc_exp`, Brian2 `method='exact'`).
    Lif(LifParams),
    /// Conductance-based LIF with exponential conductances, forward Euler (COBA benchmark).
    CobaLif(CobaLifParams),
    /// Independent Poisson spike trains.
    Poisson(PoissonParams),
    /// Spikes at given times.
    SpikeTimes(SpikeTimesParams),
    /// Constant-on inputs: a neuron whose observation value is on spikes on every step.
    Observation(ObservationParams),
}

/// Parameters of [`ModelSpec::Lif`].
///
/// dv/dt = (−(v − v_rest) + R·(I_exc + I_inh + I_bias + I_ext)) / τ_m,
/// dI_x/dt = −I_x / τ_x.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
        }
    }
}

/// Parameters of [`ModelSpec::CobaLif`].
///
/// dv/dt = (g_exc·(E_exc − v) + g_inh·(E_inh − v) − (v − E_L) + R·(I_bias + I_ext)) / τ_m,
/// dg_x/dt = −g_x / τ_x, conductances in units of the leak conductance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[serde(deny_unknown_fields)]
pub struct PoissonParams {
    /// Rate of every neuron (Hz); a neuron spikes in a step with probability rate·dt.
    pub rate_hz: f64,
}

/// Parameters of [`ModelSpec::SpikeTimes`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpikeTimesParams {
    /// One list of spike times (ms) per neuron; its length must equal the population size.
    /// Each time is rounded to the nearest step.
    pub times_ms: Vec<Vec<f64>>,
}

/// Parameters of [`ModelSpec::Observation`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ObservationParams {
    /// Indices of the neurons that are on (spike on every step) until an environment writes a
    /// new observation.
    pub active: Vec<usize>,
}

/// A distribution of initial values (state variables, weights or delays).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
pub enum Receptor {
    /// Excitatory synaptic current or conductance.
    #[default]
    Exc,
    /// Inhibitory synaptic current or conductance.
    Inh,
}

/// One projection: synapses from every neuron of `pre` to neurons of `post`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// n + round(delay / dt). At least one step; one step when absent.
    #[serde(default)]
    pub delay_ms: Option<Init>,
}

fn yes() -> bool {
    true
}

/// How the synapses of a projection are chosen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
}

/// An external stimulus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
}

/// What a run records into its run directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
}
