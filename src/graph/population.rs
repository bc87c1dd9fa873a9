//! A population: one neuron model over `len` neurons, its state as columns, stable neuron
//! ids, this step's spikes, and the delay rings that hold synaptic input in flight.

use crate::file::Receptor;
use crate::models::{chunks, Dynamics};
use crate::Real;

/// Synaptic input in flight towards one population: per receptor a ring of `len` dense slots.
/// Input due at step `t` sits in slot `t % len`; delivery at step `t` takes that slot into the
/// model's synaptic variables and clears it (NEST's ring buffer). `len` is one more than the
/// longest delay in steps of any projection into the population.
#[derive(Debug, Clone, Default)]
pub struct InputRing {
    /// Slots per receptor.
    pub len: usize,
    /// Neurons per slot.
    pub n: usize,
    /// `slots[r * len + s]` is slot `s` of receptor `r`.
    pub slots: Vec<Vec<Real>>,
    /// Receptors, in slot order.
    pub receptors: Vec<Receptor>,
}

impl InputRing {
    /// Empty rings (every slot zero) for `n` neurons.
    pub fn new(receptors: &[Receptor], n: usize, len: usize) -> Self {
        InputRing {
            len,
            n,
            slots: vec![vec![0.0; n]; receptors.len() * len],
            receptors: receptors.to_vec(),
        }
    }

    /// Index of a receptor's rings.
    pub fn receptor_index(&self, r: Receptor) -> Option<usize> {
        self.receptors.iter().position(|&x| x == r)
    }

    /// The slot of receptor index `r` due at `step`.
    pub fn slot_mut(&mut self, r: usize, step: u64) -> &mut [Real] {
        let s = (step % self.len as u64) as usize;
        &mut self.slots[r * self.len + s]
    }

    /// Delivery: exchanges the slots due at `step` with `due` (whose buffers must be zero, as
    /// integration leaves them), so `due` holds this step's input and the ring slot is clear
    /// for input due `len` steps later.
    pub fn deliver(&mut self, step: u64, due: &mut [Vec<Real>]) {
        let s = (step % self.len as u64) as usize;
        for (r, d) in due.iter_mut().enumerate() {
            std::mem::swap(&mut self.slots[r * self.len + s], d);
        }
    }

    /// Lengthens the rings to `new_len` slots at time `now`, keeping every value due at
    /// `now .. now + len` due at the same step.
    pub fn lengthen(&mut self, new_len: usize, now: u64) {
        if new_len <= self.len || self.receptors.is_empty() {
            self.len = self.len.max(new_len);
            return;
        }
        let mut slots = vec![vec![0.0; self.n]; self.receptors.len() * new_len];
        for r in 0..self.receptors.len() {
            for k in 0..self.len as u64 {
                let old = ((now + k) % self.len as u64) as usize;
                let new = ((now + k) % new_len as u64) as usize;
                std::mem::swap(
                    &mut slots[r * new_len + new],
                    &mut self.slots[r * self.len + old],
                );
            }
        }
        self.slots = slots;
        self.len = new_len;
    }
}

/// A population of neurons of one model.
#[derive(Debug, Clone)]
pub struct Population {
    /// Unique name.
    pub name: String,
    /// Model, parameters and state columns.
    pub dynamics: Dynamics,
    /// Stable neuron ids: position `i` holds the id of the neuron now at index `i`. Ids are
    /// never reused, so they survive pruning of other neurons.
    pub neuron_ids: Vec<u64>,
    /// The next fresh neuron id.
    pub next_neuron_id: u64,
    /// Indices of the neurons that spiked in the last step, ascending.
    pub spikes: Vec<u32>,
    /// Spike buffers per update chunk (reused every step).
    pub(crate) chunk_spikes: Vec<Vec<u32>>,
    /// Synaptic input in flight.
    pub input: InputRing,
    /// Synaptic input due this step, one buffer per receptor: delivery swaps the due ring
    /// slot in here (O(1)); integration adds it to the synaptic state and zeroes it.
    pub due: Vec<Vec<Real>>,
    /// Spikes emitted since the start of the run.
    pub spike_count: u64,
}

impl Population {
    /// A population with `dynamics`, ids `0..n`, and rings of one slot.
    pub fn new(name: impl Into<String>, dynamics: Dynamics) -> Self {
        let n = dynamics.len();
        let receptors = dynamics.receptors();
        Population {
            name: name.into(),
            input: InputRing::new(receptors, n, 1),
            due: vec![vec![0.0; n]; receptors.len()],
            dynamics,
            neuron_ids: (0..n as u64).collect(),
            next_neuron_id: n as u64,
            spikes: Vec::new(),
            chunk_spikes: vec![Vec::new(); chunks(n)],
            spike_count: 0,
        }
    }

    /// Number of neurons.
    pub fn len(&self) -> usize {
        self.dynamics.len()
    }

    /// Whether the population has no neurons.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
