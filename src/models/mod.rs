//! The neuron models: a closed set, one file each. Each file states the equations and their
//! source in its doc comment, holds the parameters, the state as one column per variable
//! (struct of arrays) and the propagators, computed once per dt and parameter set.
//!
//! A population's update runs over fixed chunks of [`CHUNK`] neurons. Chunks are processed in
//! parallel (rayon's work stealing decides only *who* computes a chunk, never what it
//! contains), every value has one writer, and each chunk writes its spikes to its own buffer,
//! concatenated in chunk order afterwards. Results therefore do not depend on the thread count.
//!
//! Each model also checks its own parameters (`check` in its file). [`Rules`] is the list
//! through which the file layer's validation reaches them, and [`load`], [`load_source`] and
//! [`validate_parsed`] are the entry points that read a graph file with them: the file layer
//! knows no model, so loading with the checks starts here.
//!
//! The discrete (snnTorch) models also give the step of one neuron and its backward recursion
//! as [`step::SnnTorchStep`], so that training (the executor, `exec`) runs the engine's dynamics rather
//! than a copy of them.

pub mod adex;
pub mod alif;
pub mod alpha;
pub mod coba_lif;
pub(crate) mod fused;
pub mod hodgkin_huxley;
pub mod izhikevich;
pub mod lif;
pub mod lif_alpha;
mod marked;
pub mod observation;
pub mod poisson;
pub mod qif;
pub mod relu;
pub mod remap;
pub mod resonate_fire;
pub mod sigma_delta;
pub mod spike_times;
pub mod step;
pub mod synaptic;
pub mod values;

use crate::error::Result;
use crate::file::rules::{ModelRules, ParamResult};
use crate::file::{Checked, GraphFile, ModelSpec, Receptor, Source};
use crate::Real;
use std::path::Path;

pub use adex::AdEx;
pub use alif::Alif;
pub use alpha::Alpha;
pub use coba_lif::CobaLif;
pub use hodgkin_huxley::HodgkinHuxley;
pub use izhikevich::Izhikevich;
pub use lif::Lif;
pub use lif_alpha::LifAlpha;
pub use observation::Observation;
pub use poisson::Poisson;
pub use qif::Qif;
pub use resonate_fire::ResonateFire;
pub use sigma_delta::SigmaDelta;
pub use spike_times::SpikeTimes;
pub use synaptic::Synaptic;
pub use values::Values;

/// The models' checks, state variables and receptors, as validation asks for them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rules;

impl ModelRules for Rules {
    fn check(&self, model: &ModelSpec, size: usize, dt_ms: f64) -> ParamResult {
        let (name, r) = match model {
            ModelSpec::Lif(p) => ("Lif", lif::check(p, dt_ms)),
            ModelSpec::LifAlpha(p) => ("LifAlpha", lif_alpha::check(p, dt_ms)),
            ModelSpec::CobaLif(p) => ("CobaLif", coba_lif::check(p, dt_ms)),
            ModelSpec::Synaptic(p) => ("Synaptic", synaptic::check(p)),
            ModelSpec::Alpha(p) => ("Alpha", alpha::check(p, dt_ms)),
            ModelSpec::Alif(p) => ("Alif", alif::check(p)),
            ModelSpec::Izhikevich(p) => ("Izhikevich", izhikevich::check(p)),
            ModelSpec::AdEx(p) => ("AdEx", adex::check(p, dt_ms)),
            ModelSpec::Qif(p) => ("Qif", qif::check(p, dt_ms)),
            ModelSpec::ResonateFire(p) => ("ResonateFire", resonate_fire::check(p)),
            ModelSpec::HodgkinHuxley(p) => ("HodgkinHuxley", hodgkin_huxley::check(p, dt_ms)),
            ModelSpec::TraubMiles(p) => ("TraubMiles", hodgkin_huxley::check(p, dt_ms)),
            ModelSpec::SigmaDelta(p) => ("SigmaDelta", sigma_delta::check(p)),
            ModelSpec::Poisson(p) => ("Poisson", poisson::check(p, dt_ms)),
            ModelSpec::SpikeTimes(p) => ("SpikeTimes", spike_times::check(p, size, dt_ms)),
            ModelSpec::Observation(p) => ("Observation", observation::check(p, size)),
            ModelSpec::Values(p) => ("Values", values::check(p, size)),
        };
        r.map_err(|e| e.under(name))
    }

    fn state_variables(&self, model: &ModelSpec) -> &'static [&'static str] {
        state_variables(model)
    }

    fn has_receptors(&self, model: &ModelSpec) -> bool {
        !matches!(
            model,
            ModelSpec::Poisson(_)
                | ModelSpec::SpikeTimes(_)
                | ModelSpec::Observation(_)
                | ModelSpec::Values(_)
        )
    }

    fn per_neuron(&self, model: &ModelSpec) -> &'static [&'static str] {
        match model {
            ModelSpec::Lif(p) if p.integration != crate::file::LifIntegration::Exact => {
                Lif::PER_NEURON
            }
            ModelSpec::Synaptic(_) => Synaptic::PER_NEURON,
            _ => &[],
        }
    }

    fn check_per_neuron(&self, model: &ModelSpec, name: &str, x: f64) -> ParamResult {
        use crate::file::rules::{finite, positive, unit_interval};
        match (model, name) {
            (ModelSpec::Lif(_) | ModelSpec::Synaptic(_), "beta")
            | (ModelSpec::Synaptic(_), "alpha") => unit_interval("", x),
            (ModelSpec::Lif(_), "r_mohm") => positive("", x),
            _ => finite("", x),
        }
    }
}

/// The state variables of a model, in the order `snnsim inspect` prints them; these are the
/// names accepted by `init` and by `State` recorders.
pub fn state_variables(model: &ModelSpec) -> &'static [&'static str] {
    match model {
        ModelSpec::Lif(_) => &["v", "i_exc", "i_inh"],
        ModelSpec::LifAlpha(_) => &["v", "i_exc", "i_inh", "di_exc", "di_inh"],
        ModelSpec::CobaLif(_) => &["v", "g_exc", "g_inh"],
        ModelSpec::Synaptic(_) => &["v", "syn"],
        ModelSpec::Alpha(_) => &["v", "syn_exc", "syn_inh"],
        ModelSpec::Alif(_) => &["v", "a"],
        ModelSpec::Izhikevich(_) => &["v", "u"],
        ModelSpec::AdEx(_) => &["v", "w", "i_exc", "i_inh"],
        ModelSpec::Qif(_) => &["v", "i_exc", "i_inh"],
        ModelSpec::ResonateFire(_) => &["x", "y"],
        ModelSpec::SigmaDelta(_) => &["sigma", "ref"],
        ModelSpec::HodgkinHuxley(_) | ModelSpec::TraubMiles(_) => {
            &["v", "m", "h", "n", "g_exc", "g_inh"]
        }
        ModelSpec::Poisson(_)
        | ModelSpec::SpikeTimes(_)
        | ModelSpec::Observation(_)
        | ModelSpec::Values(_) => &[],
    }
}

/// Reads, parses and validates a graph file.
pub fn load(path: &Path) -> Result<Checked> {
    load_source(&Source::read(path)?)
}

/// Parses and validates a graph file's text.
pub fn load_source(source: &Source) -> Result<Checked> {
    source.load_with(&Rules)
}

/// Validates a parsed file (possibly changed after parsing, as `run` does with its
/// overrides); error positions are looked up in `source`.
pub fn validate_parsed(file: GraphFile, source: &Source) -> Result<Checked> {
    crate::file::validate(file, source, &Rules)
}

/// Neurons per chunk of the parallel update. Fixed, so that the chunking (and the random
/// stream of each chunk) does not depend on the number of threads.
pub const CHUNK: usize = 4096;

/// Number of chunks of a population of `n` neurons.
pub fn chunks(n: usize) -> usize {
    n.div_ceil(CHUNK).max(1)
}

/// A set of column slices that can be cut in two at a neuron index.
pub trait Split: Sized + Send {
    /// Number of neurons covered.
    fn neurons(&self) -> usize;
    /// Cuts at `mid`: neurons `[0, mid)` and `[mid, len)`.
    fn split_at(self, mid: usize) -> (Self, Self);
}

/// The columns of a population as one [`Split`] value: `M` writable real columns (state and
/// the delivered input), `K` read-only ones (external current), and the refractory counters
/// (an empty slice for models without refractoriness). Models written after `Lif` and
/// `CobaLif` use it instead of a struct of their own.
pub struct Columns<'a, const M: usize, const K: usize> {
    /// Writable columns, all of the same length.
    pub rw: [&'a mut [Real]; M],
    /// Read-only columns, of the same length.
    pub ro: [&'a [Real]; K],
    /// Refractory counters: the same length, or empty.
    pub refr: &'a mut [u32],
}

impl<const M: usize, const K: usize> Split for Columns<'_, M, K> {
    fn neurons(&self) -> usize {
        self.rw.first().map_or(0, |c| c.len())
    }
    fn split_at(self, mid: usize) -> (Self, Self) {
        let mut rw0: [&mut [Real]; M] = std::array::from_fn(|_| Default::default());
        let mut rw1: [&mut [Real]; M] = std::array::from_fn(|_| Default::default());
        for (i, c) in self.rw.into_iter().enumerate() {
            (rw0[i], rw1[i]) = c.split_at_mut(mid);
        }
        let ro0 = self.ro.map(|c| &c[..mid]);
        let ro1 = self.ro.map(|c| &c[mid..]);
        let (r0, r1) = if self.refr.is_empty() {
            (Default::default(), Default::default())
        } else {
            self.refr.split_at_mut(mid)
        };
        (
            Columns {
                rw: rw0,
                ro: ro0,
                refr: r0,
            },
            Columns {
                rw: rw1,
                ro: ro1,
                refr: r1,
            },
        )
    }
}

/// Calls `f(cols, offset, spikes_out)` on every chunk of [`CHUNK`] neurons, in parallel, with
/// `outs[c]` the spike buffer of chunk `c`. A population of one chunk runs inline.
pub fn for_chunks<S, F>(cols: S, outs: &mut [Vec<u32>], f: &F)
where
    S: Split,
    F: Fn(S, u32, &mut Vec<u32>) + Sync,
{
    fn go<S: Split, F: Fn(S, u32, &mut Vec<u32>) + Sync>(
        cols: S,
        outs: &mut [Vec<u32>],
        first_chunk: usize,
        f: &F,
    ) {
        if outs.len() <= 1 {
            f(cols, (first_chunk * CHUNK) as u32, &mut outs[0]);
            return;
        }
        let half = outs.len() / 2;
        let (a, b) = cols.split_at(half * CHUNK);
        let (oa, ob) = outs.split_at_mut(half);
        rayon::join(
            || go(a, oa, first_chunk, f),
            || go(b, ob, first_chunk + half, f),
        );
    }
    go(cols, outs, 0, f)
}

/// The dynamics of one population: model parameters, state columns and propagators.
#[derive(Debug, Clone)]
pub enum Dynamics {
    /// Current-based LIF, exact integration.
    Lif(Lif),
    /// Current-based LIF with alpha currents, exact integration (NEST `iaf_psc_alpha`).
    LifAlpha(LifAlpha),
    /// Conductance-based LIF, forward Euler.
    CobaLif(CobaLif),
    /// Poisson spike source.
    Poisson(Poisson),
    /// Spike source with given times.
    SpikeTimes(SpikeTimes),
    /// Constant-on observation inputs.
    Observation(Observation),
    /// snnTorch `Synaptic`, discrete time.
    Synaptic(Synaptic),
    /// snnTorch `Alpha`, discrete time.
    Alpha(Alpha),
    /// Adaptive-threshold LIF (LSNN / e-prop), discrete time.
    Alif(Alif),
    /// Izhikevich (2003), Euler or half-step.
    Izhikevich(Izhikevich),
    /// Adaptive exponential integrate-and-fire, forward Euler.
    AdEx(AdEx),
    /// Quadratic integrate-and-fire, forward Euler.
    Qif(Qif),
    /// Resonate-and-fire (Izhikevich 2001), exact.
    ResonateFire(ResonateFire),
    /// Hodgkin–Huxley (squid or Traub–Miles kinetics), exponential Euler.
    HodgkinHuxley(HodgkinHuxley),
    /// Sigma-delta (Lava-dl SDNN), graded events.
    SigmaDelta(SigmaDelta),
    /// Graded values (inputs, biases), no spikes.
    Values(Values),
}

/// The membrane potential of a spiking model and the threshold it is tested against, for
/// code that needs both (surrogate gradients, plasticity rules): neuron j spikes in a step
/// when `v[j] > threshold(j)` after the update (`v[j] >= threshold(j)` where `inclusive`).
#[derive(Debug, Clone, Copy)]
pub struct Membrane<'a> {
    /// Name of the membrane column (`"v"` in every model).
    pub name: &'static str,
    /// Membrane potential after the last update (before the delayed reset of the
    /// discrete-time models).
    pub v: &'a [Real],
    /// Fixed threshold (or its baseline, for `Alif`).
    pub threshold: Real,
    /// Adaptive part, `(a, β)`: the threshold of neuron j is `threshold + β·a[j]` (`Alif`).
    pub adaptation: Option<(&'a [Real], Real)>,
    /// Whether the test is `v >= threshold` (Izhikevich's cut-off, NEST's test of `LifAlpha`)
    /// instead of `v > threshold`.
    pub inclusive: bool,
}

impl Membrane<'_> {
    /// The threshold of neuron `j`.
    pub fn threshold(&self, j: usize) -> Real {
        match self.adaptation {
            Some((a, beta)) => self.threshold + beta * a[j],
            None => self.threshold,
        }
    }
}

/// Per-step context handed to a model update.
#[derive(Debug, Clone, Copy)]
pub struct StepCtx {
    /// Index of the step being computed (time t_n = n·dt at its start).
    pub step: u64,
    /// Time step (ms).
    pub dt_ms: f64,
}

/// Which optional columns a model's update reads (the exact-LIF and COBA updates skip a
/// column known to be zero).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reads {
    /// The due buffers may hold input.
    pub due: bool,
    /// The external current may be non-zero.
    pub ext: bool,
}

impl Dynamics {
    /// New dynamics for `n` neurons, state at rest.
    pub fn new(spec: &ModelSpec, n: usize, dt_ms: f64, seed: u64, pop_name: &str) -> Self {
        match spec {
            ModelSpec::Lif(p) => Dynamics::Lif(Lif::new(p.clone(), n, dt_ms)),
            ModelSpec::LifAlpha(p) => Dynamics::LifAlpha(LifAlpha::new(p.clone(), n, dt_ms)),
            ModelSpec::CobaLif(p) => Dynamics::CobaLif(CobaLif::new(p.clone(), n, dt_ms)),
            ModelSpec::Poisson(p) => {
                Dynamics::Poisson(Poisson::new(p.clone(), n, dt_ms, seed, pop_name))
            }
            ModelSpec::SpikeTimes(p) => Dynamics::SpikeTimes(SpikeTimes::new(p, dt_ms)),
            ModelSpec::Observation(p) => Dynamics::Observation(Observation::new(p, n)),
            ModelSpec::Synaptic(p) => Dynamics::Synaptic(Synaptic::new(p.clone(), n, dt_ms)),
            ModelSpec::Alpha(p) => Dynamics::Alpha(Alpha::new(p.clone(), n, dt_ms)),
            ModelSpec::Alif(p) => Dynamics::Alif(Alif::new(p.clone(), n, dt_ms)),
            ModelSpec::Izhikevich(p) => Dynamics::Izhikevich(Izhikevich::new(p.clone(), n, dt_ms)),
            ModelSpec::AdEx(p) => Dynamics::AdEx(AdEx::new(p.clone(), n, dt_ms)),
            ModelSpec::Qif(p) => Dynamics::Qif(Qif::new(p.clone(), n, dt_ms)),
            ModelSpec::ResonateFire(p) => {
                Dynamics::ResonateFire(ResonateFire::new(p.clone(), n, dt_ms))
            }
            ModelSpec::HodgkinHuxley(p) => Dynamics::HodgkinHuxley(HodgkinHuxley::new(
                p.clone(),
                hodgkin_huxley::Kinetics::Squid,
                n,
                dt_ms,
            )),
            ModelSpec::TraubMiles(p) => Dynamics::HodgkinHuxley(HodgkinHuxley::new(
                p.clone(),
                hodgkin_huxley::Kinetics::TraubMiles,
                n,
                dt_ms,
            )),
            ModelSpec::SigmaDelta(p) => Dynamics::SigmaDelta(SigmaDelta::new(p.clone(), n)),
            ModelSpec::Values(p) => Dynamics::Values(Values::new(p, n)),
        }
    }

    /// Gives parameter `name` one value per neuron (validated: a name of the model's
    /// `ModelRules::per_neuron` list, one value per neuron).
    pub fn set_per_neuron(&mut self, name: &str, values: &[f64]) {
        match self {
            Dynamics::Lif(m) => m.set_per_neuron(name, values),
            Dynamics::Synaptic(m) => m.set_per_neuron(name, values),
            other => unreachable!("{} takes no per-neuron parameters", other.kind()),
        }
    }

    /// Whether some parameter is given per neuron.
    pub fn has_per_neuron_params(&self) -> bool {
        match self {
            Dynamics::Lif(m) => m.each.is_some(),
            Dynamics::Synaptic(m) => m.each.is_some(),
            _ => false,
        }
    }

    /// Whether a discrete model resets in the step of the spike (`reset_delay: false`).
    pub fn resets_now(&self) -> bool {
        match self {
            Dynamics::Lif(m) => m.prop.leaky.is_some() && m.prop.reset_now,
            Dynamics::Synaptic(m) => !m.params.reset_delay,
            _ => false,
        }
    }

    /// This step's values of a graded population (`Values`): what its projections carry
    /// instead of spikes.
    pub fn graded(&self) -> Option<&[Real]> {
        match self {
            Dynamics::Values(m) => Some(&m.values),
            Dynamics::SigmaDelta(m) => Some(&m.out),
            _ => None,
        }
    }

    /// Short model name, as in the graph file.
    pub fn kind(&self) -> &'static str {
        match self {
            Dynamics::Lif(_) => "Lif",
            Dynamics::LifAlpha(_) => "LifAlpha",
            Dynamics::CobaLif(_) => "CobaLif",
            Dynamics::Poisson(_) => "Poisson",
            Dynamics::SpikeTimes(_) => "SpikeTimes",
            Dynamics::Observation(_) => "Observation",
            Dynamics::Synaptic(_) => "Synaptic",
            Dynamics::Alpha(_) => "Alpha",
            Dynamics::Alif(_) => "Alif",
            Dynamics::Izhikevich(_) => "Izhikevich",
            Dynamics::AdEx(_) => "AdEx",
            Dynamics::Qif(_) => "Qif",
            Dynamics::ResonateFire(_) => "ResonateFire",
            Dynamics::SigmaDelta(_) => "SigmaDelta",
            Dynamics::HodgkinHuxley(m) => match m.kinetics {
                hodgkin_huxley::Kinetics::Squid => "HodgkinHuxley",
                hodgkin_huxley::Kinetics::TraubMiles => "TraubMiles",
            },
            Dynamics::Values(_) => "Values",
        }
    }

    /// Receptors this model accepts input on (empty for spike sources).
    pub fn receptors(&self) -> &'static [Receptor] {
        match self {
            Dynamics::Lif(_)
            | Dynamics::LifAlpha(_)
            | Dynamics::CobaLif(_)
            | Dynamics::Synaptic(_)
            | Dynamics::Alpha(_)
            | Dynamics::Alif(_)
            | Dynamics::Izhikevich(_)
            | Dynamics::AdEx(_)
            | Dynamics::Qif(_)
            | Dynamics::ResonateFire(_)
            | Dynamics::HodgkinHuxley(_)
            | Dynamics::SigmaDelta(_) => &[Receptor::Exc, Receptor::Inh],
            Dynamics::Poisson(_)
            | Dynamics::SpikeTimes(_)
            | Dynamics::Observation(_)
            | Dynamics::Values(_) => &[],
        }
    }

    /// State columns by name (real-valued).
    pub fn columns(&self) -> Vec<(&'static str, &[Real])> {
        match self {
            Dynamics::Lif(m) => vec![("v", &m.v), ("i_exc", &m.i_exc), ("i_inh", &m.i_inh)],
            Dynamics::LifAlpha(m) => vec![
                ("v", &m.v),
                ("i_exc", &m.i_exc),
                ("i_inh", &m.i_inh),
                ("di_exc", &m.di_exc),
                ("di_inh", &m.di_inh),
            ],
            Dynamics::CobaLif(m) => vec![("v", &m.v), ("g_exc", &m.g_exc), ("g_inh", &m.g_inh)],
            Dynamics::Synaptic(m) => vec![("v", &m.v), ("syn", &m.syn)],
            Dynamics::Alpha(m) => vec![
                ("v", &m.v),
                ("syn_exc", &m.syn_exc),
                ("syn_inh", &m.syn_inh),
            ],
            Dynamics::Alif(m) => vec![("v", &m.v), ("a", &m.a)],
            Dynamics::Izhikevich(m) => vec![("v", &m.v), ("u", &m.u)],
            Dynamics::AdEx(m) => vec![
                ("v", &m.v),
                ("w", &m.w),
                ("i_exc", &m.i_exc),
                ("i_inh", &m.i_inh),
            ],
            Dynamics::Qif(m) => vec![("v", &m.v), ("i_exc", &m.i_exc), ("i_inh", &m.i_inh)],
            Dynamics::ResonateFire(m) => vec![("x", &m.x), ("y", &m.y)],
            Dynamics::SigmaDelta(m) => vec![("sigma", &m.sigma), ("ref", &m.reference)],
            Dynamics::HodgkinHuxley(m) => vec![
                ("v", &m.v),
                ("m", &m.m),
                ("h", &m.h),
                ("n", &m.n),
                ("g_exc", &m.g_exc),
                ("g_inh", &m.g_inh),
            ],
            Dynamics::Poisson(_)
            | Dynamics::SpikeTimes(_)
            | Dynamics::Observation(_)
            | Dynamics::Values(_) => vec![],
        }
    }

    /// The receptor (index into [`Dynamics::receptors`]) whose delivered input the update adds
    /// to the state column `name` before integrating (`i_exc`/`i_inh` of `Lif` and `AdEx`,
    /// `g_exc`/`g_inh` of `CobaLif`); `None` for every other column, including the inputs of
    /// the discrete-time models and Izhikevich's one-step current, which enter no state
    /// variable as such (nor `Lif`'s currents with the snnTorch option, which stay zero, nor
    /// `LifAlpha`'s dI, which takes the delivered input after the step's update of v). A
    /// sample taken after delivery adds it, as Brian2's `start` slot shows.
    pub fn receptor_of_column(&self, name: &str) -> Option<usize> {
        if let Dynamics::Lif(m) = self {
            if m.params.integration != crate::file::LifIntegration::Exact {
                return None;
            }
        }
        match (self, name) {
            (Dynamics::Lif(_) | Dynamics::AdEx(_) | Dynamics::Qif(_), "i_exc")
            | (Dynamics::CobaLif(_) | Dynamics::HodgkinHuxley(_), "g_exc") => Some(0),
            (Dynamics::Lif(_) | Dynamics::AdEx(_) | Dynamics::Qif(_), "i_inh")
            | (Dynamics::CobaLif(_) | Dynamics::HodgkinHuxley(_), "g_inh") => Some(1),
            _ => None,
        }
    }

    /// A state column by name, mutable.
    pub fn column_mut(&mut self, name: &str) -> Option<&mut [Real]> {
        let col = match (self, name) {
            (Dynamics::Lif(m), "v") => &mut m.v,
            (Dynamics::Lif(m), "i_exc") => &mut m.i_exc,
            (Dynamics::Lif(m), "i_inh") => &mut m.i_inh,
            (Dynamics::LifAlpha(m), "v") => &mut m.v,
            (Dynamics::LifAlpha(m), "i_exc") => &mut m.i_exc,
            (Dynamics::LifAlpha(m), "i_inh") => &mut m.i_inh,
            (Dynamics::LifAlpha(m), "di_exc") => &mut m.di_exc,
            (Dynamics::LifAlpha(m), "di_inh") => &mut m.di_inh,
            (Dynamics::CobaLif(m), "v") => &mut m.v,
            (Dynamics::CobaLif(m), "g_exc") => &mut m.g_exc,
            (Dynamics::CobaLif(m), "g_inh") => &mut m.g_inh,
            (Dynamics::Synaptic(m), "v") => &mut m.v,
            (Dynamics::Synaptic(m), "syn") => &mut m.syn,
            (Dynamics::Alpha(m), "v") => &mut m.v,
            (Dynamics::Alpha(m), "syn_exc") => &mut m.syn_exc,
            (Dynamics::Alpha(m), "syn_inh") => &mut m.syn_inh,
            (Dynamics::Alif(m), "v") => &mut m.v,
            (Dynamics::Alif(m), "a") => &mut m.a,
            (Dynamics::Izhikevich(m), "v") => &mut m.v,
            (Dynamics::Izhikevich(m), "u") => &mut m.u,
            (Dynamics::AdEx(m), "v") => &mut m.v,
            (Dynamics::AdEx(m), "w") => &mut m.w,
            (Dynamics::AdEx(m), "i_exc") => &mut m.i_exc,
            (Dynamics::AdEx(m), "i_inh") => &mut m.i_inh,
            (Dynamics::Qif(m), "v") => &mut m.v,
            (Dynamics::Qif(m), "i_exc") => &mut m.i_exc,
            (Dynamics::Qif(m), "i_inh") => &mut m.i_inh,
            (Dynamics::ResonateFire(m), "x") => &mut m.x,
            (Dynamics::ResonateFire(m), "y") => &mut m.y,
            (Dynamics::SigmaDelta(m), "sigma") => &mut m.sigma,
            (Dynamics::SigmaDelta(m), "ref") => &mut m.reference,
            (Dynamics::HodgkinHuxley(m), "v") => &mut m.v,
            (Dynamics::HodgkinHuxley(m), "m") => &mut m.m,
            (Dynamics::HodgkinHuxley(m), "h") => &mut m.h,
            (Dynamics::HodgkinHuxley(m), "n") => &mut m.n,
            (Dynamics::HodgkinHuxley(m), "g_exc") => &mut m.g_exc,
            (Dynamics::HodgkinHuxley(m), "g_inh") => &mut m.g_inh,
            _ => return None,
        };
        Some(col)
    }

    /// Integer state: refractory counters (steps left), where the model has them.
    pub fn refractory(&self) -> &[u32] {
        match self {
            Dynamics::Lif(m) => &m.refractory,
            Dynamics::LifAlpha(m) => &m.refractory,
            Dynamics::CobaLif(m) => &m.refractory,
            Dynamics::AdEx(m) => &m.refractory,
            Dynamics::Qif(m) => &m.refractory,
            Dynamics::HodgkinHuxley(m) => &m.refractory,
            _ => &[],
        }
    }

    /// The external current column (nA), where the model takes one.
    pub fn external_current_mut(&mut self) -> Option<&mut [Real]> {
        match self {
            Dynamics::Lif(m) => Some(m.external_current_mut()),
            Dynamics::LifAlpha(m) => Some(&mut m.i_ext),
            Dynamics::CobaLif(m) => Some(m.external_current_mut()),
            Dynamics::Synaptic(m) => Some(&mut m.i_ext),
            Dynamics::Alpha(m) => Some(&mut m.i_ext),
            Dynamics::Alif(m) => Some(&mut m.i_ext),
            Dynamics::Izhikevich(m) => Some(&mut m.i_ext),
            Dynamics::AdEx(m) => Some(&mut m.i_ext),
            Dynamics::Qif(m) => Some(m.external_current_mut()),
            Dynamics::ResonateFire(m) => Some(&mut m.i_ext),
            Dynamics::SigmaDelta(m) => Some(&mut m.i_ext),
            Dynamics::HodgkinHuxley(m) => Some(&mut m.i_ext),
            _ => None,
        }
    }

    /// Whether synaptic input due at the next step may be added straight into the synaptic
    /// variables ([`Dynamics::take_direct_inputs`]) instead of a delay-ring slot: true for
    /// models whose update adds the due input to those variables before anything else reads
    /// them (exact LIF, COBA LIF), so both ways give the same sums.
    pub fn direct_inputs(&self) -> bool {
        match self {
            Dynamics::Lif(m) => m.direct_inputs(),
            Dynamics::CobaLif(_) => true,
            _ => false,
        }
    }

    /// The synaptic variables that take direct input, one per receptor in the order of
    /// [`Dynamics::receptors`], moved out (the model holds empty columns until
    /// [`Dynamics::put_direct_inputs`] gives them back).
    pub fn take_direct_inputs(&mut self) -> Option<[Vec<Real>; 2]> {
        let take = std::mem::take::<Vec<Real>>;
        match self {
            Dynamics::Lif(m) if m.direct_inputs() => Some([take(&mut m.i_exc), take(&mut m.i_inh)]),
            Dynamics::CobaLif(m) => Some([take(&mut m.g_exc), take(&mut m.g_inh)]),
            _ => None,
        }
    }

    /// Puts back the columns of [`Dynamics::take_direct_inputs`].
    pub fn put_direct_inputs(&mut self, [e, i]: [Vec<Real>; 2]) {
        match self {
            Dynamics::Lif(m) => (m.i_exc, m.i_inh) = (e, i),
            Dynamics::CobaLif(m) => (m.g_exc, m.g_inh) = (e, i),
            _ => unreachable!("only models with direct inputs lend them"),
        }
    }

    /// Integrates one step: adds the synaptic input due this step (`due`, one buffer per
    /// receptor in the order of [`Dynamics::receptors`], zeroed on the way), updates the state,
    /// applies threshold, reset and refractoriness, and writes the indices of the neurons that
    /// spiked into `outs` (one buffer per chunk, cleared first).
    pub fn update(&mut self, ctx: StepCtx, due: &mut [Vec<Real>], outs: &mut [Vec<u32>]) {
        self.update_with(ctx, due, true, outs)
    }

    /// [`Dynamics::update`]; with `due_live` false the caller promises that the due buffers
    /// are zero (the input went straight into the synaptic variables), and models that take
    /// direct input ([`Dynamics::direct_inputs`]) do not read them. Same result either way.
    pub fn update_with(
        &mut self,
        ctx: StepCtx,
        due: &mut [Vec<Real>],
        due_live: bool,
        outs: &mut [Vec<u32>],
    ) {
        for o in outs.iter_mut() {
            o.clear();
        }
        match self {
            Dynamics::Lif(m) => {
                let [e, i] = due else {
                    unreachable!("two receptors")
                };
                m.update_with(e, i, due_live, outs)
            }
            Dynamics::CobaLif(m) => {
                let [e, i] = due else {
                    unreachable!("two receptors")
                };
                m.update_with(e, i, due_live, outs)
            }
            Dynamics::LifAlpha(m) => {
                let [e, i] = due else {
                    unreachable!("two receptors")
                };
                m.update(e, i, outs)
            }
            Dynamics::Synaptic(m) => {
                let [e, i] = due else {
                    unreachable!("two receptors")
                };
                m.update(e, i, outs)
            }
            Dynamics::Alpha(m) => {
                let [e, i] = due else {
                    unreachable!("two receptors")
                };
                m.update(e, i, outs)
            }
            Dynamics::Alif(m) => {
                let [e, i] = due else {
                    unreachable!("two receptors")
                };
                m.update(e, i, outs)
            }
            Dynamics::Izhikevich(m) => {
                let [e, i] = due else {
                    unreachable!("two receptors")
                };
                m.update(e, i, outs)
            }
            Dynamics::AdEx(m) => {
                let [e, i] = due else {
                    unreachable!("two receptors")
                };
                m.update(e, i, outs)
            }
            Dynamics::Qif(m) => {
                let [e, i] = due else {
                    unreachable!("two receptors")
                };
                m.update(e, i, outs)
            }
            Dynamics::ResonateFire(m) => {
                let [e, i] = due else {
                    unreachable!("two receptors")
                };
                m.update(e, i, outs)
            }
            Dynamics::HodgkinHuxley(m) => {
                let [e, i] = due else {
                    unreachable!("two receptors")
                };
                m.update(e, i, outs)
            }
            Dynamics::SigmaDelta(m) => {
                let [e, i] = due else {
                    unreachable!("two receptors")
                };
                m.update(e, i, outs)
            }
            Dynamics::Poisson(m) => m.update(outs),
            Dynamics::SpikeTimes(m) => m.update(ctx, &mut outs[0]),
            Dynamics::Observation(m) => m.update(&mut outs[0]),
            Dynamics::Values(_) => {}
        }
    }

    /// Number of neurons.
    pub fn len(&self) -> usize {
        match self {
            Dynamics::Lif(m) => m.v.len(),
            Dynamics::LifAlpha(m) => m.v.len(),
            Dynamics::CobaLif(m) => m.v.len(),
            Dynamics::Poisson(m) => m.len(),
            Dynamics::SpikeTimes(m) => m.len(),
            Dynamics::Observation(m) => m.len(),
            Dynamics::Synaptic(m) => m.v.len(),
            Dynamics::Alpha(m) => m.v.len(),
            Dynamics::Alif(m) => m.v.len(),
            Dynamics::Izhikevich(m) => m.v.len(),
            Dynamics::AdEx(m) => m.v.len(),
            Dynamics::Qif(m) => m.v.len(),
            Dynamics::ResonateFire(m) => m.x.len(),
            Dynamics::SigmaDelta(m) => m.sigma.len(),
            Dynamics::HodgkinHuxley(m) => m.v.len(),
            Dynamics::Values(m) => m.len(),
        }
    }

    /// The membrane potential and the spike threshold, for every model that has them (not
    /// the spike sources).
    pub fn membrane(&self) -> Option<Membrane<'_>> {
        fn fixed(v: &[Real], threshold: Real) -> Membrane<'_> {
            Membrane {
                name: "v",
                v,
                threshold,
                adaptation: None,
                inclusive: false,
            }
        }
        Some(match self {
            Dynamics::Lif(m) => fixed(&m.v, m.params.v_th_mv as Real),
            Dynamics::LifAlpha(m) => Membrane {
                inclusive: true,
                ..fixed(&m.v, m.params.v_th_mv as Real)
            },
            Dynamics::CobaLif(m) => fixed(&m.v, m.params.v_th_mv as Real),
            Dynamics::Synaptic(m) => fixed(&m.v, m.params.threshold as Real),
            Dynamics::Alpha(m) => fixed(&m.v, m.params.threshold as Real),
            Dynamics::Alif(m) => Membrane {
                adaptation: Some((&m.a, m.params.beta_a as Real)),
                ..fixed(&m.v, m.params.threshold as Real)
            },
            Dynamics::Izhikevich(m) => Membrane {
                inclusive: true,
                ..fixed(&m.v, m.params.v_peak_mv as Real)
            },
            Dynamics::AdEx(m) => fixed(&m.v, m.params.v_cut() as Real),
            Dynamics::Qif(m) => fixed(&m.v, m.params.v_peak_mv as Real),
            Dynamics::ResonateFire(m) => Membrane {
                name: "y",
                ..fixed(&m.y, m.params.a_th as Real)
            },
            Dynamics::HodgkinHuxley(m) => fixed(&m.v, m.params.v_th_mv as Real),
            Dynamics::SigmaDelta(_)
            | Dynamics::Poisson(_)
            | Dynamics::SpikeTimes(_)
            | Dynamics::Observation(_)
            | Dynamics::Values(_) => return None,
        })
    }

    /// Whether the population is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Bytes a population of `n` neurons of a model holds for its state: its real columns (the
/// state variables and the external current), its refractory counters, and what does not
/// scale with `n` (the spike trains of `SpikeTimes`, the active list of `Observation`, the
/// per-chunk random streams of `Poisson`). The resource estimate (`graph::estimate`) adds these
/// up from the file before anything is allocated, so this list must follow the model structs
/// (a test compares it with the columns of built dynamics).
pub fn state_bytes(spec: &ModelSpec, n: u64) -> f64 {
    let r = std::mem::size_of::<Real>() as f64;
    let refr = std::mem::size_of::<u32>() as f64;
    let n = n as f64;
    match spec {
        // v, two synaptic variables, the external current; refractory counters.
        ModelSpec::Lif(_) | ModelSpec::CobaLif(_) => n * (4.0 * r + refr),
        // v, w, two currents, the external current; refractory counters.
        ModelSpec::AdEx(_) => n * (5.0 * r + refr),
        // v, two currents and their derivatives, the external current; refractory counters.
        ModelSpec::LifAlpha(_) => n * (6.0 * r + refr),
        // v, two currents, the external current; refractory counters.
        ModelSpec::Qif(_) => n * (4.0 * r + refr),
        // x, y, the external current.
        ModelSpec::ResonateFire(_) => n * 3.0 * r,
        // v, m, h, n, two conductances, the external current; the above-threshold flags.
        ModelSpec::HodgkinHuxley(_) | ModelSpec::TraubMiles(_) => n * (7.0 * r + refr),
        // sigma, ref, the output, the external current.
        ModelSpec::SigmaDelta(_) => n * 4.0 * r,
        // v, one or two state variables, the external current.
        ModelSpec::Synaptic(_) | ModelSpec::Alif(_) | ModelSpec::Izhikevich(_) => n * 3.0 * r,
        ModelSpec::Alpha(_) => n * 4.0 * r,
        ModelSpec::Poisson(_) => {
            (n / CHUNK as f64).ceil().max(1.0) * std::mem::size_of::<crate::rng::Rng>() as f64
        }
        // (step, neuron) per spike time.
        ModelSpec::SpikeTimes(p) => {
            p.times_ms.iter().map(|t| t.len() as f64).sum::<f64>()
                * std::mem::size_of::<(u64, u32)>() as f64
        }
        ModelSpec::Observation(p) => p.active.len() as f64 * 4.0,
        // The values of the step.
        ModelSpec::Values(_) => n * r,
    }
}

/// Refractory period in whole steps, as Brian2's `timestep(refractory, dt)`.
pub(crate) fn refractory_steps(refractory_ms: f64, dt_ms: f64) -> u32 {
    (refractory_ms / dt_ms + 1e-9).round() as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file::{
        AdExParams, AlifParams, AlphaParams, CobaLifParams, HodgkinHuxleyParams, IzhikevichParams,
        LifAlphaParams, LifParams, QifParams, ResonateFireParams, SigmaDeltaParams, SynapticParams,
    };

    #[test]
    fn state_bytes_follow_the_columns_of_built_dynamics() {
        let n = 100;
        let specs = [
            ModelSpec::Lif(LifParams::default()),
            ModelSpec::LifAlpha(LifAlphaParams::default()),
            ModelSpec::CobaLif(CobaLifParams::default()),
            ModelSpec::AdEx(AdExParams::default()),
            ModelSpec::Synaptic(SynapticParams::default()),
            ModelSpec::Alif(AlifParams::default()),
            ModelSpec::Izhikevich(IzhikevichParams::default()),
            ModelSpec::Alpha(AlphaParams::default()),
            ModelSpec::Qif(QifParams::default()),
            ModelSpec::ResonateFire(ResonateFireParams::default()),
            ModelSpec::HodgkinHuxley(HodgkinHuxleyParams::default()),
            ModelSpec::TraubMiles(HodgkinHuxleyParams::default()),
            ModelSpec::SigmaDelta(SigmaDeltaParams::default()),
        ];
        for spec in &specs {
            let mut d = Dynamics::new(spec, n, 0.1, 1, "p");
            let real = std::mem::size_of::<Real>();
            let columns = d.columns().len() * n * real;
            let refractory = d.refractory().len() * 4;
            let ext = d
                .external_current_mut()
                .map_or(0, |c| std::mem::size_of_val(&*c));
            // The graded output of SigmaDelta, not state.
            let graded = d.graded().map_or(0, std::mem::size_of_val);
            assert_eq!(
                state_bytes(spec, n as u64),
                (columns + refractory + ext + graded) as f64,
                "{}",
                d.kind()
            );
        }
    }
}
