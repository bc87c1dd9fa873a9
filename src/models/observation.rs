//! Constant-on observation inputs: a neuron whose observation value is on spikes on every
//! step, a neuron whose value is off never spikes. This is how a grid-world observation of
//! 0/1 values enters a spiking network (the foraging agent's input layer); an environment
//! writes a new observation with [`Observation::set_active`].

use crate::file::rules::{index, ParamResult};
use crate::file::ObservationParams;

/// A population of observation inputs.
#[derive(Debug, Clone)]
pub struct Observation {
    n: usize,
    /// Indices of the neurons that are on, sorted and unique.
    pub active: Vec<u32>,
}

impl Observation {
    /// `n` inputs, with the ones in `p.active` on.
    pub fn new(p: &ObservationParams, n: usize) -> Self {
        let mut o = Observation {
            n,
            active: Vec::new(),
        };
        o.set_active(p.active.iter().copied());
        o
    }

    /// Number of inputs.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether there are no inputs.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Turns on exactly the given inputs (indices out of range are a caller bug).
    pub fn set_active(&mut self, on: impl IntoIterator<Item = usize>) {
        self.active.clear();
        for i in on {
            assert!(i < self.n, "observation index {i} out of range {}", self.n);
            self.active.push(i as u32);
        }
        self.active.sort_unstable();
        self.active.dedup();
    }

    /// Emits this step's spikes.
    pub fn update(&mut self, out: &mut Vec<u32>) {
        out.extend_from_slice(&self.active);
    }
}

/// Checks the active inputs of an `Observation` source of `size` neurons; the error's field
/// is relative to the parameters (`active[0]`).
pub fn check(p: &ObservationParams, size: usize) -> ParamResult {
    for (n, &j) in p.active.iter().enumerate() {
        index(&format!("active[{n}]"), j, size, "the population")?;
    }
    Ok(())
}
