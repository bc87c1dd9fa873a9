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
    /// A term of the loss on spike counts (a regulariser): its value for sample `k`, with
    /// ∂term/∂n_i written into `g_count[q][i]` for the populations it names (`g_count` has
    /// one empty vector per population; fill those that count). None by default.
    fn count_loss(&self, _k: usize, _tr: &Trace, _g_count: &mut [Vec<f64>]) -> f64 {
        0.0
    }
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
        // One transposition serves every sample's backward pass.
        let wt = self.transpose(p);
        let p = &p.clone().with_transposed(&wt);
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
                let mut g_count: Vec<Vec<f64>> = vec![Vec::new(); self.pops().len()];
                let mut loss = 0.0;
                for k in c * CHUNK..((c + 1) * CHUNK).min(n) {
                    self.forward(p, steps, &batch.inputs(k), &mut tr);
                    g_mem
                        .iter_mut()
                        .for_each(|v| v.iter_mut().for_each(|x| *x = 0.0));
                    loss += batch.loss(k, &tr, &mut g_mem);
                    g_count.iter_mut().for_each(Vec::clear);
                    loss += batch.count_loss(k, &tr, &mut g_count);
                    let views: Vec<&[f64]> = g_mem.iter().map(|v| v.as_slice()).collect();
                    let counts: Vec<&[f64]> = g_count.iter().map(|v| v.as_slice()).collect();
                    match gradient {
                        Gradient::Bptt => self.backward_counts(p, &mut tr, &views, &counts, &mut g),
                        Gradient::Eprop(e) => {
                            self.eprop_counts(p, &mut tr, &views, &counts, e.feedback, &mut g)
                        }
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
