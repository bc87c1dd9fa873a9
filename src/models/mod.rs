//! The neuron models: a closed set, one file each. Each file states the equations and their
//! source in its doc comment, holds the parameters, the state as one column per variable
//! (struct of arrays) and the propagators, computed once per dt and parameter set.
//!
//! A population's update runs over fixed chunks of [`CHUNK`] neurons. Chunks are processed in
//! parallel (rayon's work stealing decides only *who* computes a chunk, never what it
//! contains), every value has one writer, and each chunk writes its spikes to its own buffer,
//! concatenated in chunk order afterwards. Results therefore do not depend on the thread count.

pub mod coba_lif;
pub mod lif;
pub mod observation;
pub mod poisson;
pub mod spike_times;

use crate::file::{ModelSpec, Receptor};
use crate::Real;

pub use coba_lif::CobaLif;
pub use lif::Lif;
pub use observation::Observation;
pub use poisson::Poisson;
pub use spike_times::SpikeTimes;

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
    /// Conductance-based LIF, forward Euler.
    CobaLif(CobaLif),
    /// Poisson spike source.
    Poisson(Poisson),
    /// Spike source with given times.
    SpikeTimes(SpikeTimes),
    /// Constant-on observation inputs.
    Observation(Observation),
}

/// Per-step context handed to a model update.
#[derive(Debug, Clone, Copy)]
pub struct StepCtx {
    /// Index of the step being computed (time t_n = n·dt at its start).
    pub step: u64,
    /// Time step (ms).
    pub dt_ms: f64,
}

impl Dynamics {
    /// New dynamics for `n` neurons, state at rest.
    pub fn new(spec: &ModelSpec, n: usize, dt_ms: f64, seed: u64, pop_name: &str) -> Self {
        match spec {
            ModelSpec::Lif(p) => Dynamics::Lif(Lif::new(p.clone(), n, dt_ms)),
            ModelSpec::CobaLif(p) => Dynamics::CobaLif(CobaLif::new(p.clone(), n, dt_ms)),
            ModelSpec::Poisson(p) => {
                Dynamics::Poisson(Poisson::new(p.clone(), n, dt_ms, seed, pop_name))
            }
            ModelSpec::SpikeTimes(p) => Dynamics::SpikeTimes(SpikeTimes::new(p, dt_ms)),
            ModelSpec::Observation(p) => Dynamics::Observation(Observation::new(p, n)),
        }
    }

    /// Short model name, as in the graph file.
    pub fn kind(&self) -> &'static str {
        match self {
            Dynamics::Lif(_) => "Lif",
            Dynamics::CobaLif(_) => "CobaLif",
            Dynamics::Poisson(_) => "Poisson",
            Dynamics::SpikeTimes(_) => "SpikeTimes",
            Dynamics::Observation(_) => "Observation",
        }
    }

    /// Receptors this model accepts input on (empty for spike sources).
    pub fn receptors(&self) -> &'static [Receptor] {
        match self {
            Dynamics::Lif(_) | Dynamics::CobaLif(_) => &[Receptor::Exc, Receptor::Inh],
            _ => &[],
        }
    }

    /// State columns by name (real-valued).
    pub fn columns(&self) -> Vec<(&'static str, &[Real])> {
        match self {
            Dynamics::Lif(m) => vec![("v", &m.v), ("i_exc", &m.i_exc), ("i_inh", &m.i_inh)],
            Dynamics::CobaLif(m) => vec![("v", &m.v), ("g_exc", &m.g_exc), ("g_inh", &m.g_inh)],
            _ => vec![],
        }
    }

    /// A state column by name, mutable.
    pub fn column_mut(&mut self, name: &str) -> Option<&mut [Real]> {
        let col = match (self, name) {
            (Dynamics::Lif(m), "v") => &mut m.v,
            (Dynamics::Lif(m), "i_exc") => &mut m.i_exc,
            (Dynamics::Lif(m), "i_inh") => &mut m.i_inh,
            (Dynamics::CobaLif(m), "v") => &mut m.v,
            (Dynamics::CobaLif(m), "g_exc") => &mut m.g_exc,
            (Dynamics::CobaLif(m), "g_inh") => &mut m.g_inh,
            _ => return None,
        };
        Some(col)
    }

    /// Integer state: refractory counters (steps left), where the model has them.
    pub fn refractory(&self) -> &[u32] {
        match self {
            Dynamics::Lif(m) => &m.refractory,
            Dynamics::CobaLif(m) => &m.refractory,
            _ => &[],
        }
    }

    /// The external current column (nA), where the model takes one.
    pub fn external_current_mut(&mut self) -> Option<&mut [Real]> {
        match self {
            Dynamics::Lif(m) => Some(&mut m.i_ext),
            Dynamics::CobaLif(m) => Some(&mut m.i_ext),
            _ => None,
        }
    }

    /// Integrates one step: adds the synaptic input due this step (`due`, one buffer per
    /// receptor in the order of [`Dynamics::receptors`], zeroed on the way), updates the state,
    /// applies threshold, reset and refractoriness, and writes the indices of the neurons that
    /// spiked into `outs` (one buffer per chunk, cleared first).
    pub fn update(&mut self, ctx: StepCtx, due: &mut [Vec<Real>], outs: &mut [Vec<u32>]) {
        for o in outs.iter_mut() {
            o.clear();
        }
        match self {
            Dynamics::Lif(m) => {
                let [e, i] = due else {
                    unreachable!("two receptors")
                };
                m.update(e, i, outs)
            }
            Dynamics::CobaLif(m) => {
                let [e, i] = due else {
                    unreachable!("two receptors")
                };
                m.update(e, i, outs)
            }
            Dynamics::Poisson(m) => m.update(outs),
            Dynamics::SpikeTimes(m) => m.update(ctx, &mut outs[0]),
            Dynamics::Observation(m) => m.update(&mut outs[0]),
        }
    }

    /// Number of neurons.
    pub fn len(&self) -> usize {
        match self {
            Dynamics::Lif(m) => m.v.len(),
            Dynamics::CobaLif(m) => m.v.len(),
            Dynamics::Poisson(m) => m.len(),
            Dynamics::SpikeTimes(m) => m.len(),
            Dynamics::Observation(m) => m.len(),
        }
    }

    /// Whether the population is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Refractory period in whole steps, as Brian2's `timestep(refractory, dt)`.
pub(crate) fn refractory_steps(refractory_ms: f64, dt_ms: f64) -> u32 {
    (refractory_ms / dt_ms + 1e-9).round() as u32
}
