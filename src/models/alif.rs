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
//!
//! The update of one neuron is [`AlifStep`], the model's [`SnnTorchStep`]: the engine calls
//! it over its columns, and the differentiable executor (`crate::exec`) trains ALIF
//! populations with the same step. Its adjoint differentiates the threshold's dependence on
//! `a` and the spike's jump into `a` (through the surrogate, as e-prop's ALIF eligibility
//! traces do); the reset is detached, as for every trained model.

use super::step::{heaviside, ResetKind, ResetSubtract, Scalar, SnnTorchStep};
use super::{chunks, for_chunks, Columns};
use crate::file::rules::{non_negative, positive, ParamResult};
use crate::file::{AlifParams, Reset};
use crate::Real;

/// One ALIF neuron's step: state `mem` (v) and `a` (the adaptation).
///
/// ```text
/// mem_t = α·mem_{t−1} + x_t − r_t·thr      r_t = z_{t−1}, the previous step's spike
/// a_t   = ρ·a_{t−1} + r_t
/// z_t   = H(mem_t − (thr + β·a_t))
/// ```
/// With `NoReset` (the tangent e-prop steps) r_t only enters `a`; with `Zero`, (1 − r_t)
/// multiplies α·mem_{t−1} as for the other models. The backward recursion, for
/// d_t = ∂L/∂z_t·σ'(mem_t − θ_t) where ∂L/∂z_t includes ā_{t+1} (the spike's jump into a):
/// m̄_t = d_t + k_{t+1}·α·m̄_{t+1},  ā_t = ρ·ā_{t+1} − β·d_t.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlifStep<F> {
    /// Membrane decay α = exp(−dt/τ_m).
    pub alpha: F,
    /// Adaptation decay ρ = exp(−dt/τ_a).
    pub rho: F,
    /// Adaptation strength β: the threshold is thr + β·a.
    pub beta: F,
    /// The fixed part of the threshold, subtracted by the reset.
    pub thr: F,
}

impl<F: Scalar> SnnTorchStep<F> for AlifStep<F> {
    const ADAPTIVE: bool = true;

    #[inline(always)]
    fn step<R: ResetKind>(self, r: F, x: F, mem: &mut F, a: &mut F, _: &mut F) {
        *mem = match R::RESET {
            Reset::Subtract => (self.alpha * *mem + x) - r * self.thr,
            Reset::Zero => (F::ONE - r) * self.alpha * *mem + x,
            Reset::NoReset => self.alpha * *mem + x,
        };
        *a = self.rho * *a + r;
    }

    #[inline(always)]
    fn adjoint(self, drive: F, _: F, k_next: F, m: &mut F, a: &mut F, _: &mut F) -> F {
        let m_bar = drive + k_next * self.alpha * *m;
        *a = self.rho * *a - self.beta * drive;
        *m = m_bar;
        m_bar
    }

    #[inline(always)]
    fn threshold(self, thr: F, a: F) -> F {
        thr + self.beta * a
    }

    #[inline(always)]
    fn threshold_slope(self) -> F {
        self.beta
    }
}

impl<F: Scalar> super::step::LearnDecays<F> for AlifStep<F> {}

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
    let st = AlifStep {
        alpha: k.alpha,
        rho: k.rho,
        beta: k.beta,
        thr: k.v_th,
    };
    let mut unused = 0.0;
    for j in 0..n {
        let x = (de[j] + di[j]) + iext[j];
        de[j] = 0.0;
        di[j] = 0.0;
        let z = heaviside(v[j], st.threshold(k.v_th, a[j]));
        st.step::<ResetSubtract>(z, x, &mut v[j], &mut a[j], &mut unused);
    }
    for j in 0..n {
        if v[j] > st.threshold(k.v_th, a[j]) {
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
