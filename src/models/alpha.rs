//! snnTorch's `Alpha` neuron: an alpha-shaped membrane response built from an excitatory and an
//! inhibitory synaptic state, in discrete time (snnTorch 1.0, `snntorch/_neurons/alpha.py`;
//! Eshraghian et al. 2023, Proc. IEEE 111(9)).
//!
//! ```text
//! τ_α   = ln α / (ln β − ln α) + 1                        (as coded in snnTorch 1.0)
//! x_t   = Σ delivered weights of the step (both receptors) + I_ext          (dimensionless)
//! r_t   = H(mem_{t−1} − thr)                 reset from the previous membrane, strict H
//! E_t   = α·syn_exc_{t−1} + x_t,   N_t = β·syn_inh_{t−1} − x_t,   M_t = τ_α·(E_t + N_t)
//! Zero:     syn_exc_t = (1 − r_t)·E_t,   syn_inh_t = (1 − r_t)·N_t,   mem_t = (1 − r_t)·M_t
//! Subtract: syn_exc_t = E_t − r_t·thr,   syn_inh_t = N_t − r_t·N_t,   mem_t = M_t + r_t·syn_inh_{t−1}
//! NoReset:  syn_exc_t = E_t,             syn_inh_t = N_t,             mem_t = M_t
//! spike_t = H(mem_t − thr)
//! ```
//! The subtract rule is snnTorch's code as written (`mem -= -syn_inh_old·reset`). α and β
//! (0 < β < α < 1) are given per step or as time constants, α = exp(−dt/τ_exc),
//! β = exp(−dt/τ_inh). No refractory period; the discrete map is the integration.
//!
//! Synaptic input: as for [`super::synaptic`], the delivered weights of a step summed over both
//! receptors are x_t (it enters both states, with opposite signs, as in snnTorch).
//!
//! State columns: `v` (snnTorch's `mem`), `syn_exc`, `syn_inh`.
//!
//! The step of one neuron, and its backward recursion for training (the executor, `exec`, resets `Zero`
//! and `NoReset`), is [`AlphaStep`], written once for both (see [`super::step`]). The
//! membrane has no recurrence of its own, so its adjoint is its direct one:
//!
//! ```text
//! m̄_t = drive_t,   ē_t = k_{t+1}·α·(ē_{t+1} + τ_α·m̄_{t+1}),   n̄_t = k_{t+1}·β·(n̄_{t+1} + τ_α·m̄_{t+1})
//! x̄_t = k_t·(ē_t − n̄_t)
//! ```

use super::step::{heaviside, with_reset, LearnDecays, ResetKind, Scalar, SnnTorchStep};
use super::synaptic::decay;
use super::{chunks, for_chunks, Columns};
use crate::file::rules::{self, finite, ParamError, ParamResult};
use crate::file::{AlphaParams, Reset};
use crate::Real;

#[derive(Debug, Clone, Copy)]
struct Consts {
    step: AlphaStep<Real>,
    reset: Reset,
}

/// The snnTorch `Alpha` step of one neuron; state `mem`, `a` = syn_exc and `b` = syn_inh.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlphaStep<F> {
    /// Excitatory decay α.
    pub alpha: F,
    /// Inhibitory decay β.
    pub beta: F,
    /// τ_α, the factor from the synaptic states to the membrane.
    pub tau: F,
    /// Threshold θ (subtracted by the `Subtract` reset).
    pub thr: F,
}

impl<F: Scalar> SnnTorchStep<F> for AlphaStep<F> {
    #[inline(always)]
    fn step<R: ResetKind>(self, r: F, x: F, mem: &mut F, exc: &mut F, inh: &mut F) {
        let e = self.alpha * *exc + x;
        let ni = self.beta * *inh - x;
        let m = self.tau * (e + ni);
        let (e_new, i_new, m_new) = match R::RESET {
            Reset::Zero => ((F::ONE - r) * e, (F::ONE - r) * ni, (F::ONE - r) * m),
            Reset::Subtract => (e - r * self.thr, ni - r * ni, m + r * *inh),
            Reset::NoReset => (e, ni, m),
        };
        *exc = e_new;
        *inh = i_new;
        *mem = m_new;
    }

    #[inline(always)]
    fn adjoint(self, drive: F, k_t: F, k_next: F, m: &mut F, e: &mut F, n: &mut F) -> F {
        let e_bar = k_next * self.alpha * (*e + self.tau * *m);
        let n_bar = k_next * self.beta * (*n + self.tau * *m);
        *m = drive;
        *e = e_bar;
        *n = n_bar;
        k_t * (e_bar - n_bar)
    }
}

/// None: τ_α ties the membrane to both decays, and validation refuses `learn_decay` here.
impl<F: Scalar> LearnDecays<F> for AlphaStep<F> {}

/// A population of snnTorch `Alpha` neurons.
#[derive(Debug, Clone)]
pub struct Alpha {
    /// Parameters as given.
    pub params: AlphaParams,
    /// Membrane (snnTorch's `mem`).
    pub v: Vec<Real>,
    /// Excitatory synaptic state.
    pub syn_exc: Vec<Real>,
    /// Inhibitory synaptic state.
    pub syn_inh: Vec<Real>,
    /// External input from stimuli, added to x_t.
    pub i_ext: Vec<Real>,
    k: Consts,
}

impl Alpha {
    /// `n` neurons with zero state.
    pub fn new(params: AlphaParams, n: usize, dt_ms: f64) -> Self {
        let alpha = decay(params.alpha, params.tau_exc_ms, dt_ms, 0.9);
        let beta = decay(params.beta, params.tau_inh_ms, dt_ms, 0.8);
        let k = Consts {
            step: AlphaStep {
                alpha: alpha as Real,
                beta: beta as Real,
                tau: (alpha.ln() / (beta.ln() - alpha.ln()) + 1.0) as Real,
                thr: params.threshold as Real,
            },
            reset: params.reset,
        };
        Alpha {
            v: vec![0.0; n],
            syn_exc: vec![0.0; n],
            syn_inh: vec![0.0; n],
            i_ext: vec![0.0; n],
            params,
            k,
        }
    }

    /// The decays per step (α, β).
    pub fn decays(&self) -> (Real, Real) {
        (self.k.step.alpha, self.k.step.beta)
    }

    /// τ_α = ln α / (ln β − ln α) + 1, the factor from the synaptic states to the membrane.
    pub fn tau_alpha(&self) -> Real {
        self.k.step.tau
    }

    /// One step for every neuron: the input due this step (`due_*`) is x_t and is zeroed;
    /// spikes go to `outs`, one buffer per chunk.
    pub fn update(&mut self, due_exc: &mut [Real], due_inh: &mut [Real], outs: &mut [Vec<u32>]) {
        debug_assert_eq!(outs.len(), chunks(self.v.len()));
        let cols = Columns {
            rw: [
                &mut self.v,
                &mut self.syn_exc,
                &mut self.syn_inh,
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
            &|c: Columns<5, 1>, offset, out: &mut Vec<u32>| with_reset!(k.reset, R => update_chunk::<R>(k.step, c, offset, out)),
        );
    }
}

fn update_chunk<R: ResetKind>(
    k: AlphaStep<Real>,
    c: Columns<5, 1>,
    offset: u32,
    out: &mut Vec<u32>,
) {
    let [v, se, si, de, di] = c.rw;
    let [iext] = c.ro;
    let n = v.len();
    let (se, si, de, di, iext) = (
        &mut se[..n],
        &mut si[..n],
        &mut de[..n],
        &mut di[..n],
        &iext[..n],
    );
    for j in 0..n {
        let x = (de[j] + di[j]) + iext[j];
        de[j] = 0.0;
        di[j] = 0.0;
        let r = heaviside(v[j], k.thr);
        k.step::<R>(r, x, &mut v[j], &mut se[j], &mut si[j]);
    }
    for (j, &m) in v.iter().enumerate() {
        if m > k.thr {
            out.push(offset + j as u32);
        }
    }
}

/// Checks the parameters of an `Alpha` population at time step `dt_ms`; the error's field is
/// relative to the parameters (empty for the pair of decays).
pub fn check(p: &AlphaParams, dt_ms: f64) -> ParamResult {
    rules::decay(("alpha", p.alpha), ("tau_exc_ms", p.tau_exc_ms))?;
    rules::decay(("beta", p.beta), ("tau_inh_ms", p.tau_inh_ms))?;
    finite("threshold", p.threshold)?;
    let alpha = decay(p.alpha, p.tau_exc_ms, dt_ms, 0.9);
    let beta = decay(p.beta, p.tau_inh_ms, dt_ms, 0.8);
    if !(0.0 < beta && beta < alpha && alpha < 1.0) {
        return Err(ParamError::new(
            "",
            format!(
                "Alpha needs 0 < beta < alpha < 1 (per step at dt = {dt_ms} ms), \
                 got alpha = {alpha}, beta = {beta}"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_input_gives_the_alpha_kernel() {
        // One unit input at t = 0 and no reset: mem_t = τ_α·(α^t − β^t) for t ≥ 1 and
        // mem_0 = 0 (the two states cancel at the step of the input).
        let p = AlphaParams {
            alpha: Some(0.9),
            beta: Some(0.8),
            threshold: 1e9,
            reset: Reset::NoReset,
            ..AlphaParams::default()
        };
        let mut m = Alpha::new(p, 1, 1.0);
        let ta = m.tau_alpha();
        let mut outs = vec![Vec::new()];
        m.update(&mut [1.0], &mut [0.0], &mut outs);
        assert_eq!(m.v[0], 0.0);
        for t in 1..50 {
            m.update(&mut [0.0], &mut [0.0], &mut outs);
            let want = ta * (0.9f64.powi(t) - 0.8f64.powi(t)) as Real;
            // f32: a few ulps of values of order one.
            let tol = if cfg!(feature = "f32") { 1e-6 } else { 1e-14 };
            assert!((m.v[0] - want).abs() < tol, "t = {t}");
        }
    }
}
