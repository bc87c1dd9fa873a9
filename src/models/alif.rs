//! Adaptive leaky integrate-and-fire neuron (ALIF) with an adaptive threshold, in discrete
//! time, as in LSNNs and e-prop: Bellec et al. 2018, "Long short-term memory and
//! learning-to-learn in networks of spiking neurons" (NeurIPS), and Bellec et al. 2020, "A
//! solution to the learning dilemma for recurrent networks of spiking neurons" (Nat. Commun.
//! 11:3625), Methods, ALIF equations:
//!
//! ```text
//! A_t     = v_th + β·a_t                                  adaptive threshold
//! z_t     = H(v_t − A_t)                                  strict H; the spike of step t
//! v_{t+1} = α·v_t + x_{t+1} − z_t·v_th                    reset by subtraction of v_th
//! a_{t+1} = ρ·a_t + z_t                                   a jumps by 1 per spike, decays with τ_a
//! α = exp(−dt/τ_m),  ρ = exp(−dt/τ_a)
//! ```
//! x_{t+1} is the sum of the weights delivered in the step (both receptors, inhibitory ones
//! negative) plus `Dc` stimuli, added without a (1 − α) factor, as in e-prop. One step of the
//! engine computes z_t from the stored v_t and a_t (so the reset and the jump of a spike act in
//! the step after it), then v_{t+1}, a_{t+1}, and emits z_{t+1}, stamped with the start of the
//! step. LSNN (2018) writes the jump as (1 − ρ)·z; that is this model with β replaced by
//! β·(1 − ρ). No refractory period.
//!
//! State columns: `v` and `a` (the threshold adaptation; the threshold is v_th + β·a).

use super::{chunks, for_chunks, Columns};
use crate::file::rules::{non_negative, positive, ParamResult};
use crate::file::AlifParams;
use crate::Real;

#[derive(Debug, Clone, Copy)]
struct Consts {
    alpha: Real,
    rho: Real,
    v_th: Real,
    beta: Real,
}

/// A population of adaptive LIF neurons.
#[derive(Debug, Clone)]
pub struct Alif {
    /// Parameters as given.
    pub params: AlifParams,
    /// Membrane potential.
    pub v: Vec<Real>,
    /// Threshold adaptation a (the threshold is v_th + β·a).
    pub a: Vec<Real>,
    /// External input from stimuli, added to x.
    pub i_ext: Vec<Real>,
    k: Consts,
}

impl Alif {
    /// `n` neurons with v = 0 and a = 0.
    pub fn new(params: AlifParams, n: usize, dt_ms: f64) -> Self {
        let k = Consts {
            alpha: ((-dt_ms / params.tau_m_ms).exp()) as Real,
            rho: ((-dt_ms / params.tau_a_ms).exp()) as Real,
            v_th: params.threshold as Real,
            beta: params.beta_a as Real,
        };
        Alif {
            v: vec![0.0; n],
            a: vec![0.0; n],
            i_ext: vec![0.0; n],
            params,
            k,
        }
    }

    /// The decays per step (α, ρ).
    pub fn decays(&self) -> (Real, Real) {
        (self.k.alpha, self.k.rho)
    }

    /// One step for every neuron: the input due this step (`due_*`) is added to v and zeroed;
    /// spikes go to `outs`, one buffer per chunk.
    pub fn update(&mut self, due_exc: &mut [Real], due_inh: &mut [Real], outs: &mut [Vec<u32>]) {
        debug_assert_eq!(outs.len(), chunks(self.v.len()));
        let cols = Columns {
            rw: [&mut self.v, &mut self.a, due_exc, due_inh],
            ro: [&self.i_ext],
            refr: &mut [],
        };
        let k = self.k;
        for_chunks(
            cols,
            outs,
            &|c: Columns<4, 1>, offset, out: &mut Vec<u32>| update_chunk(&k, c, offset, out),
        );
    }
}

fn update_chunk(k: &Consts, c: Columns<4, 1>, offset: u32, out: &mut Vec<u32>) {
    let [v, a, de, di] = c.rw;
    let [iext] = c.ro;
    let n = v.len();
    let (a, de, di, iext) = (&mut a[..n], &mut de[..n], &mut di[..n], &iext[..n]);
    for j in 0..n {
        let x = (de[j] + di[j]) + iext[j];
        de[j] = 0.0;
        di[j] = 0.0;
        let z: Real = if v[j] > k.v_th + k.beta * a[j] {
            1.0
        } else {
            0.0
        };
        v[j] = (k.alpha * v[j] + x) - z * k.v_th;
        a[j] = k.rho * a[j] + z;
    }
    for j in 0..n {
        if v[j] > k.v_th + k.beta * a[j] {
            out.push(offset + j as u32);
        }
    }
}

/// Checks the parameters of an `Alif` population; the error's field is relative to the
/// parameters (`tau_m_ms`).
pub fn check(p: &AlifParams) -> ParamResult {
    positive("tau_m_ms", p.tau_m_ms)?;
    positive("tau_a_ms", p.tau_a_ms)?;
    positive("threshold", p.threshold)?;
    non_negative("beta_a", p.beta_a)
}
