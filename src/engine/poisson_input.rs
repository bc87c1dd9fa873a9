//! Poisson input stimuli: an independent Poisson spike train per target neuron, added to the
//! neuron's synaptic input as k·w per step (NEST's `poisson_generator` connected to each target,
//! Brian2's `PoissonInput`).
//!
//! A train's spikes are never materialised as a population and a projection: a source
//! population of one neuron per target would cost a spike list, a CSR walk and a ring slot per
//! spike, and could not exceed one spike per step. Instead, each step draws k ~ Poisson(λ),
//! λ = rate·dt, per target neuron and adds k·w to the receptor's input of that step, after
//! the delay rings were delivered; a target population therefore always reads its rings
//! (never the direct-input shortcut). Each chunk of CHUNK target neurons draws from its own
//! stream keyed by (seed, stimulus, chunk), so the draws do not depend on the thread count.

use crate::checkpoint::codec::{Dec, DecResult, Enc};
use crate::graph::PopId;
use crate::models::CHUNK;
use crate::rng::{stream, Rng};
use crate::Real;
use rand_distr::{Distribution, Poisson};
use rayon::prelude::*;

/// One `PoissonInput` stimulus of a graph file.
#[derive(Debug, Clone)]
pub(super) struct PoissonInput {
    pub pop: PopId,
    /// Index of the receptor in the population's receptor list.
    pub receptor: usize,
    pub weight: Real,
    /// Mean spikes per step.
    pub lambda: f64,
    pub start: u64,
    pub stop: Option<u64>,
    /// Target neurons, ascending; all when absent.
    pub neurons: Option<Vec<usize>>,
    /// One stream per chunk of targets.
    rngs: Vec<Rng>,
    /// On one rank of a distributed run: the global indices of this rank's block (the rank
    /// draws for every listed neuron, or every neuron of the chunks that overlap its block, as
    /// one process does, and adds the draws of its own); `None`: every neuron is here.
    owned: Option<std::ops::Range<usize>>,
    /// Neurons of the whole population (the extent of the chunks over all neurons).
    n: usize,
    /// Over all neurons and split: the global index of the first chunk whose stream is held.
    first_chunk: usize,
}

impl PoissonInput {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        index: usize,
        seed: u64,
        pop: PopId,
        receptor: usize,
        weight: Real,
        lambda: f64,
        start: u64,
        stop: Option<u64>,
        mut neurons: Option<Vec<usize>>,
        n: usize,
    ) -> Self {
        if let Some(js) = &mut neurons {
            js.sort_unstable();
        }
        let targets = neurons.as_ref().map_or(n, Vec::len);
        let rngs = (0..targets.div_ceil(CHUNK).max(1))
            .map(|c| stream(seed, "poisson-input", &index.to_string(), c as u64))
            .collect();
        PoissonInput {
            pop,
            receptor,
            weight,
            lambda,
            start,
            stop,
            neurons,
            rngs,
            owned: None,
            n,
            first_chunk: 0,
        }
    }

    /// Keeps what the rank owning the neurons `owned` of the population needs: over all
    /// neurons, the streams of every chunk that overlaps the block (a chunk cut by the block's
    /// border is drawn whole by each rank that holds part of it, the other neurons' draws
    /// discarded, so blocks need no chunk alignment and every stream advances as in one
    /// process); with a neuron list, every stream (all listed neurons are drawn).
    pub fn restrict(&mut self, owned: std::ops::Range<usize>) {
        if self.neurons.is_none() {
            let c0 = (owned.start / CHUNK).min(self.rngs.len() - 1);
            let c1 = owned.end.div_ceil(CHUNK).clamp(c0 + 1, self.rngs.len());
            self.rngs = self.rngs[c0..c1].to_vec();
            self.first_chunk = c0;
        }
        self.owned = Some(owned);
    }

    /// The global index of the first chunk whose stream this input holds (0 unless split
    /// over all neurons).
    pub fn first_chunk(&self) -> usize {
        self.first_chunk
    }

    /// Adds this step's draws to `due` (the receptor's input column) if the stimulus is on.
    pub fn apply(&mut self, step: u64, due: &mut [Real]) {
        let on = self.start <= step && self.stop.is_none_or(|s| step < s);
        if !on || self.lambda <= 0.0 {
            return;
        }
        let dist = Poisson::new(self.lambda).expect("validated rate");
        let w = self.weight;
        match &self.neurons {
            None => match self.owned.clone() {
                None => due
                    .par_chunks_mut(CHUNK)
                    .zip(self.rngs.par_iter_mut())
                    .for_each(|(col, rng)| {
                        for x in col {
                            let k: f64 = dist.sample(rng);
                            *x += k as Real * w;
                        }
                    }),
                Some(owned) => {
                    for (c, rng) in (self.first_chunk..).zip(self.rngs.iter_mut()) {
                        for j in c * CHUNK..((c + 1) * CHUNK).min(self.n) {
                            let k: f64 = dist.sample(rng);
                            if owned.contains(&j) {
                                due[j - owned.start] += k as Real * w;
                            }
                        }
                    }
                }
            },
            Some(js) => {
                let owned = self.owned.clone().unwrap_or(0..usize::MAX);
                for (c, rng) in js.chunks(CHUNK).zip(self.rngs.iter_mut()) {
                    for &j in c {
                        let k: f64 = dist.sample(rng);
                        if owned.contains(&j) {
                            due[j - owned.start] += k as Real * w;
                        }
                    }
                }
            }
        }
    }

    /// The random streams, for checkpoints.
    pub fn encode(&self, e: &mut Enc) {
        e.u64(self.rngs.len() as u64);
        for r in &self.rngs {
            e.rng(r);
        }
    }

    /// Restores the streams written by [`PoissonInput::encode`].
    pub fn restore(&mut self, d: &mut Dec) -> DecResult<()> {
        let n = d.u64()? as usize;
        if n != self.rngs.len() {
            return Err(format!(
                "{n} Poisson-input streams, the file has {}",
                self.rngs.len()
            ));
        }
        for r in &mut self.rngs {
            *r = d.rng()?;
        }
        Ok(())
    }
}
