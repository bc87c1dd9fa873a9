//! Batches of independent samples (episodes, examples): each runs forward and backward with
//! its own [`Trace`], in parallel, and their gradients are summed in a fixed order. Samples are
//! cut into fixed chunks of [`CHUNK`]; a chunk sums its samples in order, and the chunks are
//! summed in order, so the result is the same bits on any number of threads (rayon decides who
//! computes a chunk, never what it holds), as in the engine.

use super::{Gradient, Grads, Net, Params, Seq, Trace};
use rayon::prelude::*;

/// Samples per chunk of a batch.
pub const CHUNK: usize = 8;

/// What one sample of a batch gives back: its loss, and the gradient of the loss with respect
/// to each readout's membrane (steps × size per readout), written into `g_mem`.
pub trait Sample: Sync {
    /// The inputs of sample `k` (one per [`Net::inputs`]).
    fn inputs(&self, k: usize) -> Vec<Seq<'_>>;
    /// The loss of sample `k` from its forward pass `tr`, and ∂loss/∂mem of each readout.
    fn loss(&self, k: usize, tr: &Trace, g_mem: &mut [Vec<f64>]) -> f64;
}

impl Net {
    /// Forward and backward passes of samples `0..n` of `batch`, `steps` steps each, with the
    /// parameters `p`: the sum of their losses and of their gradients.
    pub fn batch(&self, p: &Params, steps: usize, n: usize, batch: &impl Sample) -> (f64, Grads) {
        self.batch_by(p, steps, n, batch, Gradient::Bptt)
    }

    /// [`Net::batch`] with the gradient `gradient`: backpropagation through time
    /// ([`Net::backward`]) or e-prop ([`Net::eprop`]; the plan must pass
    /// [`Net::eprop_check`]).
    pub fn batch_by(
        &self,
        p: &Params,
        steps: usize,
        n: usize,
        batch: &impl Sample,
        gradient: Gradient,
    ) -> (f64, Grads) {
        let chunks: Vec<(f64, Grads)> = (0..n.div_ceil(CHUNK))
            .into_par_iter()
            .map(|c| {
                let mut g = Grads::zeros(p);
                let mut tr = Trace::default();
                let mut g_mem: Vec<Vec<f64>> = self
                    .readouts()
                    .iter()
                    .map(|&r| vec![0.0; steps * self.pops()[r].size])
                    .collect();
                let mut loss = 0.0;
                for k in c * CHUNK..((c + 1) * CHUNK).min(n) {
                    self.forward(p, steps, &batch.inputs(k), &mut tr);
                    g_mem
                        .iter_mut()
                        .for_each(|v| v.iter_mut().for_each(|x| *x = 0.0));
                    loss += batch.loss(k, &tr, &mut g_mem);
                    let views: Vec<&[f64]> = g_mem.iter().map(|v| v.as_slice()).collect();
                    match gradient {
                        Gradient::Bptt => self.backward(p, &mut tr, &views, &mut g),
                        Gradient::Eprop(e) => self.eprop(p, &mut tr, &views, e.feedback, &mut g),
                        Gradient::EventProp(_) => {
                            unreachable!(
                                "EventProp runs on its own event-time model (eventprop.rs)"
                            )
                        }
                    }
                }
                (loss, g)
            })
            .collect();
        let mut total = Grads::zeros(p);
        let mut loss = 0.0;
        for (l, g) in &chunks {
            loss += l;
            total.add(g);
        }
        (loss, total)
    }
}
