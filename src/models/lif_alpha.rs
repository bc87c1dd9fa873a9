//! Current-based leaky integrate-and-fire neuron with alpha-shaped synaptic currents,
//! integrated exactly: NEST's `iaf_psc_alpha` (models/iaf_psc_alpha.cpp and
//! libnestutil/iaf_propagator.cpp of NEST 3.10), after Rotter & Diesmann (1999), "Exact digital
//! simulation of time-invariant linear systems with applications to neuronal modeling",
//! Biol. Cybern. 81:381–402.
//!
//! ```text
//! C·dv/dt    = −C·(v − E_L)/τ_m + I_exc + I_inh + I_bias + I_ext
//! dI_x/dt    = dI_x − I_x/τ_x          d(dI_x)/dt = −dI_x/τ_x
//! a spike of weight w on receptor x:  dI_x += w·e/τ_x
//! ```
//! so each input is the current w·(t/τ_x)·e^(1 − t/τ_x), whose peak, at t = τ_x, is w (nA; NEST's
//! weight in pA is the same peak). With y = v − E_L and the state (dI_x, I_x, y) linear, one step
//! of length h is a matrix product with the propagators (computed once per parameters and dt,
//! in NEST's formulas and operation order, C in nF so that nA·ms/nF = mV):
//!
//! ```text
//! P11_x = P22_x = exp(−h/τ_x),  P21_x = h·P11_x
//! P30   = −τ_m/C·expm1(−h/τ_m)
//! β = τ_x·τ_m/(τ_m − τ_x),  γ = β/C,  E = exp(−h·(1/τ_x)),  M = expm1(h·(τ_m − τ_x)/(τ_x·τ_m))
//! P32_x = γ·E·M                        (h·(1/C)·exp(−h·(1/τ_m)) unless normal and > 0)
//! P31_x = γ·E·(β·M − h)                (½·h²·(1/C)·exp(−h·(1/τ_m)) if h ≤ 1e-7·τ_m²/|τ_m − τ_x|)
//! ```
//! The second forms are NEST's limits for τ_x → τ_m, where the first ones lose all precision.
//!
//! **One step, in NEST's order** (step n runs from t_n to t_{n+1}):
//!
//! 1. unless refractory, y ← P30·(I_ext + I_bias) + P31_exc·dI_exc + P32_exc·I_exc +
//!    P31_inh·dI_inh + P32_inh·I_inh + expm1(−h/τ_m)·y + y, summed left to right; while
//!    refractory the counter counts down and y is held;
//! 2. per receptor: I_x ← P21_x·dI_x + P22_x·I_x, dI_x ← dI_x·P11_x, then the weights delivered
//!    this step are added: dI_x += (e/τ_x)·Σw;
//! 3. if y ≥ V_th − E_L (NEST's test, not strict): a spike, y ← V_reset − E_L, and the neuron is
//!    held for the next R steps, R = t_ref/h rounded up (NEST's `Time::get_steps`).
//!
//! v = y + E_L is what the `v` column holds; the update works on y = v − E_L so that the
//! arithmetic is NEST's (which stores y), up to the rounding of that subtraction.
//!
//! **Timing against NEST.** The delivered weights enter dI at the end of the step, so they act
//! on v from the next step on, as in NEST, where a spike read from the ring buffer in step n
//! starts its current at t_{n+1}. With snnsim's delivery (a spike emitted in step n through a
//! delay of d steps is delivered in step n + d) and NEST's (a spike of step n is read in step
//! n + d), the two agree step for step for the same delays, neuron to neuron. The stamps differ
//! by one step: snnsim stamps a spike with the start t_n of its step, NEST with its end t_{n+1}.
//! A NEST `spike_generator` spike at t is therefore a `SpikeTimes` spike at t − dt here (NEST
//! stamps it t and emits it in the step ending at t). `Dc` stimuli act like `I_e`, in the step
//! they are given (NEST's `dc_generator` reaches the neuron through a delay instead).
//!
//! State columns: `v` (mV), `i_exc`, `i_inh` (nA), `di_exc`, `di_inh` (nA/ms).

use super::{chunks, for_chunks, Columns};
use crate::file::rules::{finite, positive, refractory, ParamError, ParamResult};
use crate::file::LifAlphaParams;
use crate::Real;

/// P31 and P32 of one receptor: the propagators from dI_x and I_x to y = v − E_L, in NEST's
/// formulas (`IAFPropagatorAlpha::evaluate`), with τ in ms, C in nF and h in ms.
fn alpha_propagators(tau_syn: f64, tau_m: f64, c_nf: f64, h: f64) -> (f64, f64) {
    // Division by zero gives β = ∞ (and then P32 = NaN) exactly where τ_syn = τ_m, which the
    // singular branches below catch, as in NEST.
    let beta = tau_syn * tau_m / (tau_m - tau_syn);
    let gamma = beta / c_nf;
    let inv_beta = (tau_m - tau_syn) / (tau_syn * tau_m);
    let exp_syn = (-h * (1.0 / tau_syn)).exp();
    let expm1_beta = (h * inv_beta).exp_m1();
    let exp_m = || (-h * (1.0 / tau_m)).exp();
    let p32 = gamma * exp_syn * expm1_beta;
    let p32 = if p32.is_normal() && p32 > 0.0 {
        p32
    } else {
        h * (1.0 / c_nf) * exp_m()
    };
    let h_min_regular = 1e-7 * tau_m * tau_m / (tau_m - tau_syn).abs();
    let p31 = if h > h_min_regular {
        gamma * exp_syn * (beta * expm1_beta - h)
    } else {
        0.5 * h * h * (1.0 / c_nf) * exp_m()
    };
    (p31, p32)
}

/// Refractory steps as NEST counts them: t_ref in whole microseconds (NEST's tics), rounded
/// up to whole steps (`Time(Time::ms(t_ref)).get_steps()`).
pub fn nest_refractory_steps(refractory_ms: f64, dt_ms: f64) -> u32 {
    let tics = (refractory_ms * 1000.0 + 0.5).floor();
    let tics_per_step = (dt_ms * 1000.0).round().max(1.0);
    (tics / tics_per_step).ceil() as u32
}

/// Propagators and constants for one (parameters, dt).
#[derive(Debug, Clone, Copy)]
struct Consts {
    p11_exc: Real,
    p21_exc: Real,
    p31_exc: Real,
    p32_exc: Real,
    p11_inh: Real,
    p21_inh: Real,
    p31_inh: Real,
    p32_inh: Real,
    p30: Real,
    expm1_m: Real,
    /// e/τ_x: the jump of dI_x per unit weight.
    jump_exc: Real,
    jump_inh: Real,
    e_l: Real,
    /// V_th − E_L and V_reset − E_L.
    theta: Real,
    y_reset: Real,
    i_bias: Real,
    hold_steps: u32,
}

impl Consts {
    fn new(p: &LifAlphaParams, h: f64) -> Self {
        let c_nf = p.c_pf / 1000.0;
        let (p31_exc, p32_exc) = alpha_propagators(p.tau_syn_exc_ms, p.tau_m_ms, c_nf, h);
        let (p31_inh, p32_inh) = alpha_propagators(p.tau_syn_inh_ms, p.tau_m_ms, c_nf, h);
        let p11_exc = (-h / p.tau_syn_exc_ms).exp();
        let p11_inh = (-h / p.tau_syn_inh_ms).exp();
        let expm1_m = (-h / p.tau_m_ms).exp_m1();
        Consts {
            p11_exc: p11_exc as Real,
            p21_exc: (h * p11_exc) as Real,
            p31_exc: p31_exc as Real,
            p32_exc: p32_exc as Real,
            p11_inh: p11_inh as Real,
            p21_inh: (h * p11_inh) as Real,
            p31_inh: p31_inh as Real,
            p32_inh: p32_inh as Real,
            p30: (-p.tau_m_ms / c_nf * expm1_m) as Real,
            expm1_m: expm1_m as Real,
            jump_exc: (std::f64::consts::E / p.tau_syn_exc_ms) as Real,
            jump_inh: (std::f64::consts::E / p.tau_syn_inh_ms) as Real,
            e_l: p.v_rest_mv as Real,
            theta: (p.v_th_mv - p.v_rest_mv) as Real,
            y_reset: (p.v_reset_mv - p.v_rest_mv) as Real,
            i_bias: p.i_bias_na as Real,
            hold_steps: nest_refractory_steps(p.refractory_ms, h),
        }
    }
}

/// A population of `iaf_psc_alpha` neurons.
#[derive(Debug, Clone)]
pub struct LifAlpha {
    /// Parameters as given.
    pub params: LifAlphaParams,
    /// Membrane potential (mV).
    pub v: Vec<Real>,
    /// Excitatory synaptic current I_exc (nA).
    pub i_exc: Vec<Real>,
    /// Inhibitory synaptic current I_inh (nA).
    pub i_inh: Vec<Real>,
    /// Excitatory dI_exc (nA/ms), which feeds I_exc.
    pub di_exc: Vec<Real>,
    /// Inhibitory dI_inh (nA/ms), which feeds I_inh.
    pub di_inh: Vec<Real>,
    /// Steps of refractoriness left.
    pub refractory: Vec<u32>,
    /// External current from stimuli (nA).
    pub i_ext: Vec<Real>,
    k: Consts,
}

impl LifAlpha {
    /// `n` neurons at rest: v = v_rest, no current.
    pub fn new(params: LifAlphaParams, n: usize, dt_ms: f64) -> Self {
        let k = Consts::new(&params, dt_ms);
        LifAlpha {
            v: vec![params.v_rest_mv as Real; n],
            i_exc: vec![0.0; n],
            i_inh: vec![0.0; n],
            di_exc: vec![0.0; n],
            di_inh: vec![0.0; n],
            refractory: vec![0; n],
            i_ext: vec![0.0; n],
            params,
            k,
        }
    }

    /// Steps a neuron is held at the reset after the step of its spike.
    pub fn hold_steps(&self) -> u32 {
        self.k.hold_steps
    }

    /// One step for every neuron: v from the state at the start of the step, the currents
    /// propagated, then the input due this step (`due_*`, zeroed) added to dI_x; spikes go to
    /// `outs`, one buffer per chunk.
    pub fn update(&mut self, due_exc: &mut [Real], due_inh: &mut [Real], outs: &mut [Vec<u32>]) {
        debug_assert_eq!(outs.len(), chunks(self.v.len()));
        let cols = Columns {
            rw: [
                &mut self.v,
                &mut self.i_exc,
                &mut self.i_inh,
                &mut self.di_exc,
                &mut self.di_inh,
                due_exc,
                due_inh,
            ],
            ro: [&self.i_ext],
            refr: &mut self.refractory,
        };
        let k = self.k;
        for_chunks(
            cols,
            outs,
            &|c: Columns<7, 1>, offset, out: &mut Vec<u32>| update_chunk(&k, c, offset, out),
        );
    }
}

fn update_chunk(k: &Consts, c: Columns<7, 1>, offset: u32, out: &mut Vec<u32>) {
    let [v, ie, ii, die, dii, de, di] = c.rw;
    let [iext] = c.ro;
    let refr = c.refr;
    let n = v.len();
    let (ie, ii, die, dii, de, di) = (
        &mut ie[..n],
        &mut ii[..n],
        &mut die[..n],
        &mut dii[..n],
        &mut de[..n],
        &mut di[..n],
    );
    let (iext, refr) = (&iext[..n], &mut refr[..n]);
    for j in 0..n {
        let mut y = v[j] - k.e_l;
        if refr[j] == 0 {
            y = k.p30 * (iext[j] + k.i_bias)
                + k.p31_exc * die[j]
                + k.p32_exc * ie[j]
                + k.p31_inh * dii[j]
                + k.p32_inh * ii[j]
                + k.expm1_m * y
                + y;
        } else {
            refr[j] -= 1;
        }
        ie[j] = k.p21_exc * die[j] + k.p11_exc * ie[j];
        die[j] = die[j] * k.p11_exc + k.jump_exc * de[j];
        ii[j] = k.p21_inh * dii[j] + k.p11_inh * ii[j];
        dii[j] = dii[j] * k.p11_inh + k.jump_inh * di[j];
        de[j] = 0.0;
        di[j] = 0.0;
        if y >= k.theta {
            refr[j] = k.hold_steps;
            y = k.y_reset;
            out.push(offset + j as u32);
        }
        v[j] = y + k.e_l;
    }
}

/// Checks the parameters of a `LifAlpha` population at time step `dt_ms`; the error's field is
/// relative to the parameters (`v_reset_mv`). NEST's own checks: C, τ_m and τ_syn > 0,
/// t_ref ≥ 0, V_reset < V_th.
pub fn check(p: &LifAlphaParams, dt_ms: f64) -> ParamResult {
    for (f, x) in [
        ("tau_m_ms", p.tau_m_ms),
        ("c_pf", p.c_pf),
        ("tau_syn_exc_ms", p.tau_syn_exc_ms),
        ("tau_syn_inh_ms", p.tau_syn_inh_ms),
    ] {
        positive(f, x)?;
    }
    refractory("refractory_ms", p.refractory_ms, dt_ms)?;
    for (f, x) in [
        ("v_rest_mv", p.v_rest_mv),
        ("v_reset_mv", p.v_reset_mv),
        ("v_th_mv", p.v_th_mv),
        ("i_bias_na", p.i_bias_na),
    ] {
        finite(f, x)?;
    }
    if p.v_reset_mv >= p.v_th_mv {
        return Err(ParamError::new(
            "v_reset_mv",
            format!(
                "the reset must be below the threshold v_th_mv = {} mV",
                p.v_th_mv
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The regular propagators against the closed form of the alpha kernel's response: an
    /// input that sets dI = 1 nA/ms at t = 0 gives I(t) = t·e^{−t/τ_s} and
    /// y(t) = (1/C)·∫₀ᵗ e^{−(t−s)/τ_m}·s·e^{−s/τ_s} ds; with k = 1/τ_s − 1/τ_m,
    /// ∫₀ᵗ s·e^{−k s} ds = (1 − (1 + k t)·e^{−k t})/k². Both sides subtract nearly equal
    /// numbers (β·M − h, and 1 − (1 + kh)·e^{−kh} ≈ (kh)²/2), losing about three digits, so
    /// the tolerance is 1e-12 relative.
    #[test]
    fn regular_propagators_follow_the_alpha_kernel() {
        let (tau_s, tau_m, c, h) = (2.0f64, 10.0f64, 0.25f64, 0.1f64);
        let (p31, p32) = alpha_propagators(tau_s, tau_m, c, h);
        let k = 1.0 / tau_s - 1.0 / tau_m;
        let y = (-h / tau_m).exp() / c * (1.0 - (1.0 + k * h) * (-k * h).exp()) / (k * k);
        assert!((p31 - y).abs() <= 1e-12 * y, "P31 {p31} vs {y}");
        // I = 1 nA at t = 0 decays: y(h) = (1/C)·∫₀ʰ e^{−(h−s)/τ_m}·e^{−s/τ_s} ds.
        let y = (-h / tau_m).exp() / c * (1.0 - (-k * h).exp()) / k;
        assert!((p32 - y).abs() <= 1e-12 * y, "P32 {p32} vs {y}");
    }

    /// τ_syn = τ_m takes NEST's singular forms, which are the limits of the regular ones.
    #[test]
    fn singular_propagators_are_the_limits() {
        let (tau, c, h) = (10.0f64, 0.25f64, 0.1f64);
        let (p31, p32) = alpha_propagators(tau, tau, c, h);
        let e = (-h / tau).exp();
        assert_eq!(p32, h * (1.0 / c) * e);
        assert_eq!(p31, 0.5 * h * h * (1.0 / c) * e);
        let (q31, q32) = alpha_propagators(tau * (1.0 + 1e-6), tau, c, h);
        assert!((q31 - p31).abs() < 1e-6 * p31 && (q32 - p32).abs() < 1e-6 * p32);
    }

    /// NEST's refractory rounding: whole microseconds, then up to whole steps.
    #[test]
    fn refractory_steps_round_up_like_nest() {
        assert_eq!(nest_refractory_steps(2.0, 0.1), 20);
        assert_eq!(nest_refractory_steps(2.03, 0.1), 21);
        assert_eq!(nest_refractory_steps(0.05, 0.1), 1);
        assert_eq!(nest_refractory_steps(0.0, 0.1), 0);
        assert_eq!(nest_refractory_steps(0.3, 0.1), 3);
    }

    /// Input delivered in a step changes dI only: v feels it from the next step on.
    #[test]
    fn delivered_input_acts_from_the_next_step() {
        let mut m = LifAlpha::new(LifAlphaParams::default(), 1, 0.1);
        let mut outs = vec![Vec::new()];
        m.update(&mut [0.5], &mut [0.0], &mut outs);
        assert_eq!(m.v[0], -70.0);
        assert_eq!(m.i_exc[0], 0.0);
        assert_eq!(m.di_exc[0], 0.5 * std::f64::consts::E as Real / 2.0);
        m.update(&mut [0.0], &mut [0.0], &mut outs);
        assert!(m.v[0] > -70.0 && m.i_exc[0] > 0.0);
    }
}
