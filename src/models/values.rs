//! Graded inputs: a population whose output each step is one real number per neuron instead of
//! a spike. A projection from it adds weight × value into its targets (`engine::propagate`),
//! which is how a NIR graph's `Input` node (the rows of `snnsim run --input X.npy`) and the
//! bias of a dense layer (a `constant` source of ones) enter a network.
//!
//! The values are written from outside, before the step that reads them
//! ([`Values::set`]), as an environment writes an observation; a `constant` source keeps its
//! values. The population never spikes, so spike recorders and counts see nothing of it, and
//! it has no state variables (the values are input, not state: `state_hash` does not see them).

use crate::file::rules::{finite, ParamError, ParamResult};
use crate::file::ValuesParams;
use crate::Real;

/// A population of graded inputs.
#[derive(Debug, Clone)]
pub struct Values {
    /// This step's value of every neuron.
    pub values: Vec<Real>,
    /// Whether the values come from outside each step (no `constant`).
    pub fed: bool,
}

impl Values {
    /// `n` neurons at zero, or at `p.constant`.
    pub fn new(p: &ValuesParams, n: usize) -> Self {
        match &p.constant {
            Some(c) => Values {
                values: c.iter().map(|&x| x as Real).collect(),
                fed: false,
            },
            None => Values {
                values: vec![0.0; n],
                fed: true,
            },
        }
    }

    /// Number of neurons.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there are no neurons.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Writes the values of the next step (`row.len()` must be the population's size, a
    /// caller's check).
    pub fn set(&mut self, row: &[f64]) {
        assert_eq!(row.len(), self.values.len(), "one value per neuron");
        for (v, &x) in self.values.iter_mut().zip(row) {
            *v = x as Real;
        }
    }
}

/// Checks a `Values` population of `size` neurons; the error's field is relative to the
/// parameters (`constant[2]`).
pub fn check(p: &ValuesParams, size: usize) -> ParamResult {
    if let Some(c) = &p.constant {
        if c.len() != size {
            return Err(ParamError::new(
                "constant",
                format!(
                    "{} values given, the population has {size} neurons",
                    c.len()
                ),
            ));
        }
        for (i, &x) in c.iter().enumerate() {
            finite(&format!("constant[{i}]"), x)?;
        }
    }
    Ok(())
}
