//! A projection: the synapses from one population to another, stored as a CSR matrix by
//! presynaptic neuron (row i = the synapses of pre neuron i), so that propagating a spike is
//! one contiguous row walk. Delays are one shared value or one per synapse, aligned with the
//! matrix's data.

use crate::file::Receptor;
use crate::Real;
use sprs::CsMatI;

/// Sparse weights: rows = presynaptic neurons, columns = postsynaptic neurons, CSR.
pub type Weights = CsMatI<Real, u32, usize>;

/// Transmission delays in steps (each at least 1).
#[derive(Debug, Clone, PartialEq)]
pub enum Delays {
    /// One delay for every synapse.
    Uniform(u16),
    /// One delay per synapse, aligned with `weights.data()`.
    PerSynapse(Vec<u16>),
}

impl Delays {
    /// The longest delay (steps).
    pub fn max(&self) -> u16 {
        match self {
            Delays::Uniform(d) => *d,
            Delays::PerSynapse(v) => v.iter().copied().max().unwrap_or(1),
        }
    }

    /// The shortest delay (steps).
    pub fn min(&self) -> u16 {
        match self {
            Delays::Uniform(d) => *d,
            Delays::PerSynapse(v) => v.iter().copied().min().unwrap_or(1),
        }
    }
}

/// Synaptic traces for plasticity rules: one value per presynaptic and per postsynaptic
/// neuron. Empty until a rule asks for them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Traces {
    /// Presynaptic trace, one per pre neuron.
    pub pre: Vec<Real>,
    /// Postsynaptic trace, one per post neuron.
    pub post: Vec<Real>,
}

/// The synapses from one population to another.
#[derive(Debug, Clone)]
pub struct Projection {
    /// Unique name.
    pub name: String,
    /// Receptor of the postsynaptic neurons that spikes increment.
    pub receptor: Receptor,
    /// Weights, CSR by presynaptic neuron.
    pub weights: Weights,
    /// Delays in steps.
    pub delays: Delays,
    /// Traces for plasticity.
    pub traces: Traces,
}

impl Projection {
    /// Number of synapses.
    pub fn nnz(&self) -> usize {
        self.weights.nnz()
    }
}
