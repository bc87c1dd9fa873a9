//! Sigma-delta neuron: the neuron of Lava-dl's sigma-delta networks (SDNN; Lava's
//! `SigmaDelta` process, `lava.proc.sdn`), after O'Connor & Welling (2016), "Sigma delta
//! quantized networks", arXiv:1611.02024, and Shrestha et al. (2023) for Loihi 2. A neuron sends
//! a graded spike — an event that carries a value — only when its activation has moved by at
//! least a threshold since the value it last sent, so a slowly changing signal costs few events.
//!
//! ```text
//! sigma_t = sigma_{t−1} + x_t                   x_t = Σ delivered (w or w·value) + I_ext
//! y_t     = f(sigma_t + bias)                   f = ReLU or identity
//! δ_t     = y_t − ref_{t−1}
//! |δ_t| ≥ θ and δ_t ≠ 0:  out_t = δ_t, ref_t = y_t     (an event carrying δ_t)
//! otherwise:              out_t = 0,   ref_t = ref_{t−1}
//! ```
//! Sigma decoding accumulates the input (the deltas of the neurons upstream), so a receiver's
//! sigma equals the sum of the values it was sent: through a weight of 1 it tracks the sender's
//! `ref`, which stays within θ of the sender's activation (the delta encoding's error bound).
//! Parameters (`SigmaDelta(...)`): `threshold` (θ ≥ 0, default 0: every change is sent),
//! `bias` (0), `activation` (`Relu`, default, or `Identity`).
//!
//! **Graded spikes.** The population's outputs are graded, as those of `Values`
//! ([`super::Dynamics::graded`]): a projection from it adds weight × out into its targets, in
//! the engine's graded pass (`engine::propagate::propagate_graded`, which skips the neurons that
//! sent nothing), and the binary-spike propagation never sees it, so its speed does not change.
//! The neurons that sent an event are the population's spikes of the step (recorders, counts).
//! Projections from it take one delay for all synapses, as those from `Values`.
//!
//! State columns: `sigma`, `ref` (the activation last sent); `out` is the step's output, not
//! state (it is rewritten by every update). Everything starts at 0.

use super::{chunks, for_chunks, Columns};
use crate::file::rules::{finite, ParamError, ParamResult};
use crate::file::{SigmaDeltaActivation, SigmaDeltaParams};
use crate::Real;

#[derive(Debug, Clone, Copy)]
struct Consts {
    threshold: Real,
    bias: Real,
    relu: bool,
}

/// A population of sigma-delta neurons.
#[derive(Debug, Clone)]
pub struct SigmaDelta {
    /// Parameters as given.
    pub params: SigmaDeltaParams,
    /// Accumulated input.
    pub sigma: Vec<Real>,
    /// The activation last sent.
    pub reference: Vec<Real>,
    /// This step's graded output: the delta sent, or 0.
    pub out: Vec<Real>,
    /// External input (added to sigma every step).
    pub i_ext: Vec<Real>,
    k: Consts,
}

impl SigmaDelta {
    /// `n` neurons with everything at 0.
    pub fn new(params: SigmaDeltaParams, n: usize) -> Self {
        let k = Consts {
            threshold: params.threshold as Real,
            bias: params.bias as Real,
            relu: params.activation == SigmaDeltaActivation::Relu,
        };
        SigmaDelta {
            sigma: vec![0.0; n],
            reference: vec![0.0; n],
            out: vec![0.0; n],
            i_ext: vec![0.0; n],
            params,
            k,
        }
    }

    /// One step for every neuron: the input due this step (both receptors) is accumulated into
    /// sigma and zeroed; the neurons that send an event go to `outs`, one buffer per chunk, and
    /// their values to `out`.
    pub fn update(&mut self, due_exc: &mut [Real], due_inh: &mut [Real], outs: &mut [Vec<u32>]) {
        debug_assert_eq!(outs.len(), chunks(self.sigma.len()));
        let cols = Columns {
            rw: [
                &mut self.sigma,
                &mut self.reference,
                &mut self.out,
                due_exc,
                due_inh,
            ],
            ro: [&self.i_ext],
            refr: &mut [],
        };
        let k = self.k;
        for_chunks(
            cols,
            outs,
            &|c: Columns<5, 1>, offset, out: &mut Vec<u32>| update_chunk(&k, c, offset, out),
        );
    }
}

fn update_chunk(k: &Consts, c: Columns<5, 1>, offset: u32, events: &mut Vec<u32>) {
    let [sigma, reference, out, de, di] = c.rw;
    let [iext] = c.ro;
    for j in 0..sigma.len() {
        sigma[j] += (de[j] + di[j]) + iext[j];
        de[j] = 0.0;
        di[j] = 0.0;
        let a = sigma[j] + k.bias;
        let y = if k.relu { a.max(0.0) } else { a };
        let delta = y - reference[j];
        if delta != 0.0 && delta.abs() >= k.threshold {
            out[j] = delta;
            reference[j] = y;
            events.push(offset + j as u32);
        } else {
            out[j] = 0.0;
        }
    }
}

/// Checks the parameters of a `SigmaDelta` population; the error's field is relative to the
/// parameters (`threshold`).
pub fn check(p: &SigmaDeltaParams) -> ParamResult {
    finite("threshold", p.threshold)?;
    finite("bias", p.bias)?;
    if p.threshold < 0.0 {
        return Err(ParamError::new("threshold", "must be ≥ 0"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Driven by a ramp, a neuron sends an event each time its activation has moved by the
    /// threshold; the sum of what it sent is its `ref`, within θ of the activation; a constant
    /// input (after the first step) sends nothing.
    #[test]
    fn events_track_the_activation_within_the_threshold() {
        let p = SigmaDeltaParams {
            threshold: 0.5,
            ..SigmaDeltaParams::default()
        };
        let mut m = SigmaDelta::new(p, 1);
        let mut outs = vec![Vec::new()];
        let (mut sent, mut events) = (0.0, 0);
        // x = 0.125 per step (exact in binary): y = t/8, an event every fourth step.
        for t in 1..=100 {
            outs[0].clear();
            m.update(&mut [0.125], &mut [0.0], &mut outs);
            sent += m.out[0];
            events += outs[0].len();
            assert_eq!(outs[0].is_empty(), m.out[0] == 0.0, "t={t}");
            let y = m.sigma[0];
            assert!((y - m.reference[0]).abs() < 0.5, "t={t}");
            assert!((sent - m.reference[0]).abs() < 1e-9, "t={t}");
        }
        assert_eq!(events, 25);
        // Held input: x = 0 keeps y, nothing is sent.
        for _ in 0..10 {
            outs[0].clear();
            m.update(&mut [0.0], &mut [0.0], &mut outs);
            assert!(outs[0].is_empty());
        }
        // ReLU: a negative sigma is sent as a fall to 0, and then nothing.
        let mut n = SigmaDelta::new(SigmaDeltaParams::default(), 1);
        n.update(&mut [2.0], &mut [0.0], &mut outs);
        assert_eq!(n.out[0], 2.0);
        n.update(&mut [0.0], &mut [-5.0], &mut outs);
        assert_eq!(n.out[0], -2.0);
        n.update(&mut [0.0], &mut [-1.0], &mut outs);
        assert_eq!(n.out[0], 0.0);
    }
}
