//! Current-based leaky integrate-and-fire neuron with exponential synaptic currents,
//! integrated exactly (NEST `iaf_psc_exp`, Brian2 `method='exact'`).
//!
//! ```text
//! dv/dt     = (−(v − v_rest) + R·(I_exc + I_inh + I_bias + I_ext)) / τ_m
//! dI_exc/dt = −I_exc / τ_exc          dI_inh/dt = −I_inh / τ_inh
//! ```
//! With the currents held by their exponential decay over a step of length h, the solution
//! over one step is linear in the state (Rotter & Diesmann 1999):
//!
//! ```text
//! v(t+h)     = v∞ − v∞·P22 + (P21_exc·I_exc + P21_inh·I_inh + P22·v),  v∞ = v_rest + R·(I_bias + I_ext)
//! I_x(t+h)   = P11_x · I_x
//! P22        = exp(−h/τ_m),  P11_x = exp(−h/τ_x)
//! P21_x      = R·τ_x/(τ_x − τ_m) · (P11_x − P22)  =  R·τ_x/(τ_x − τ_m) · P22 · expm1(h/τ_m − h/τ_x)
//! ```
//! The `expm1` form stays accurate as τ_x → τ_m, where it tends to R·h/τ_m·P22.
//!
//! Order within a step (Brian2's schedule, see docs/architecture.md): synaptic input due this
//! step has already been added to I_x (delivery); v is updated from the old v and I_x unless
//! the neuron is refractory (then v is held); I_x decay (also while refractory); a spike is
//! emitted if v > v_th (strict), v is set to v_reset, and the neuron is held for the next
//! round(t_ref/h) − 1 steps, so that it integrates again round(t_ref/h) steps after the spike.
//! The spike is stamped with the start of the step, t_n.
//!
//! **snnTorch `Leaky` option** (`integration: SnnTorch(beta: β, reset: ...)`): the discrete
//! update of snnTorch 1.0's `Leaky` (Eshraghian et al. 2023, "Training spiking neural networks
//! using lessons from deep learning"), written about v_rest, with m = v − v_rest and
//! θ = v_th − v_rest:
//!
//! ```text
//! x_t     = R·(Σ delivered weights (both receptors) + I_bias + I_ext)      (per step, mV)
//! r_t     = H(v_{t−1} − v_th)            previous step's membrane, strict H (snnTorch's reset)
//! Subtract: m_t = (β·m_{t−1} + x_t) − r_t·θ
//! Zero:     m_t = β·((1 − r_t)·m_{t−1} + r_t·(v_reset − v_rest)) + x_t
//! NoReset:  m_t = β·m_{t−1} + x_t
//! spike   = H(v_t − v_th)                stamped t_n; no reset in this step, no refractoriness
//! ```
//! β is given, or exp(−dt/τ_m). The `v` column holds snnTorch's `mem` (plus v_rest), before the
//! delayed reset, so with v_rest = v_reset = 0 and R = 1 the arithmetic is snnTorch's.
//! `i_exc` and `i_inh` stay zero: delivered input enters v in the step it is delivered.
//!
//! With `reset_delay: false` (snnTorch's `reset_delay=False`, what its NIR importer builds) the
//! reset acts in the step of the spike: m_t = β·m_{t−1} + x_t, spike = H(m_t − θ), then Zero:
//! m_t ← v_reset − v_rest, Subtract: m_t ← m_t − θ (the same-step kinds of [`super::step`]).
//! With this option `beta`, `v_th_mv`, `v_reset_mv`, `v_rest_mv`, `r_mohm` and `i_bias_na` may
//! be given per neuron (a population's `params`); the update is then the same step with each
//! neuron's constants, over the whole population on one thread.
//!
//! The `Subtract` and `NoReset` updates, and training's `Leaky` neuron (the executor, `exec`, with
//! m_reset = 0 and its backward recursion m̄_t = drive_t + k_{t+1}·β·m̄_{t+1}, x̄_t = m̄_t),
//! are [`LeakyStep`], written once for both (see [`super::step`]). The engine's `Zero` keeps
//! its own line, [`zero_to`]: it resets to v_reset, so its order of operations is not that of
//! training's k_t·β·m_{t−1} + x_t (with v_reset = v_rest the two differ at most in the sign
//! of a zero membrane), and both keep their results bit for bit.

use super::fused::{self, Cols};
use super::step::{
    reset_now, with_reset_timing, LearnDecays, ResetKind, ResetNone, Scalar, SnnTorchStep,
};
use super::{chunks, for_chunks, refractory_steps, Reads};
use crate::file::rules::{finite, positive, refractory, unit_interval, ParamResult};
use crate::file::{LifIntegration, LifParams, Reset};
use crate::Real;

/// Propagators and constants for one (parameters, dt).
#[derive(Debug, Clone, Copy)]
pub struct LifPropagators {
    pub(crate) p22: Real,
    pub(crate) p11_exc: Real,
    pub(crate) p11_inh: Real,
    pub(crate) p21_exc: Real,
    pub(crate) p21_inh: Real,
    pub(crate) r: Real,
    pub(crate) v_rest: Real,
    pub(crate) i_bias: Real,
    pub(crate) v_th: Real,
    pub(crate) v_reset: Real,
    /// Steps a neuron is held after the step in which it spiked.
    pub(crate) hold_steps: u32,
    /// snnTorch `Leaky` update (β, reset) instead of the exact one.
    pub(crate) leaky: Option<(Real, Reset)>,
    /// With the snnTorch update: the reset acts in the step of the spike (`reset_delay: false`).
    pub(crate) reset_now: bool,
}

impl LifPropagators {
    /// Computes the propagators for step `dt_ms`.
    pub fn new(p: &LifParams, dt_ms: f64) -> Self {
        let h = dt_ms;
        let p22 = (-h / p.tau_m_ms).exp();
        let p21 = |tau_s: f64| {
            p.r_mohm * tau_s / (tau_s - p.tau_m_ms) * p22 * (h / p.tau_m_ms - h / tau_s).exp_m1()
        };
        let p21_limit = p.r_mohm * h / p.tau_m_ms * p22;
        let p21_of = |tau_s: f64| {
            if (tau_s - p.tau_m_ms).abs() < 1e-12 * p.tau_m_ms {
                p21_limit
            } else {
                p21(tau_s)
            }
        };
        LifPropagators {
            p22: p22 as Real,
            p11_exc: ((-h / p.tau_syn_exc_ms).exp()) as Real,
            p11_inh: ((-h / p.tau_syn_inh_ms).exp()) as Real,
            p21_exc: (p21_of(p.tau_syn_exc_ms)) as Real,
            p21_inh: (p21_of(p.tau_syn_inh_ms)) as Real,
            r: p.r_mohm as Real,
            v_rest: p.v_rest_mv as Real,
            i_bias: p.i_bias_na as Real,
            v_th: p.v_th_mv as Real,
            v_reset: p.v_reset_mv as Real,
            hold_steps: refractory_steps(p.refractory_ms, dt_ms).saturating_sub(1),
            leaky: match p.integration {
                LifIntegration::Exact => None,
                LifIntegration::SnnTorch { beta, reset, .. } => {
                    Some(((beta.unwrap_or((-dt_ms / p.tau_m_ms).exp())) as Real, reset))
                }
            },
            reset_now: matches!(
                p.integration,
                LifIntegration::SnnTorch {
                    reset_delay: false,
                    ..
                }
            ),
        }
    }
}

/// A population of current-based LIF neurons.
#[derive(Debug, Clone)]
pub struct Lif {
    /// Parameters as given.
    pub params: LifParams,
    /// Membrane potential (mV).
    pub v: Vec<Real>,
    /// Excitatory synaptic current (nA).
    pub i_exc: Vec<Real>,
    /// Inhibitory synaptic current (nA).
    pub i_inh: Vec<Real>,
    /// Steps of refractoriness left.
    pub refractory: Vec<u32>,
    /// External current from stimuli (nA). Written through
    /// [`Lif::external_current_mut`], which tells the update to read it.
    pub(crate) i_ext: Vec<Real>,
    /// Whether `i_ext` has been handed out for writing (else it is zero and not read).
    pub(crate) ext_used: bool,
    pub(crate) prop: LifPropagators,
    /// Per-neuron constants of the snnTorch update, where a population gives them (`params`).
    pub each: Option<Box<LeakyEach>>,
}

/// The constants of the snnTorch `Leaky` update, one per neuron.
#[derive(Debug, Clone, Default)]
pub struct LeakyEach {
    /// β.
    pub beta: Vec<Real>,
    /// R (MΩ).
    pub r: Vec<Real>,
    /// v_rest (mV).
    pub v_rest: Vec<Real>,
    /// v_th (mV).
    pub v_th: Vec<Real>,
    /// v_reset (mV).
    pub v_reset: Vec<Real>,
    /// I_bias (nA).
    pub i_bias: Vec<Real>,
}

/// The constants of one neuron's snnTorch `Leaky` update.
#[derive(Debug, Clone, Copy)]
struct LeakyOne {
    beta: Real,
    r: Real,
    v_rest: Real,
    v_th: Real,
    v_reset: Real,
    i_bias: Real,
}

impl Lif {
    /// With snnTorch `Leaky` integration: the decay β and the reset in force.
    pub fn leaky(&self) -> Option<(Real, crate::file::Reset)> {
        self.prop.leaky
    }

    /// `n` neurons at rest (v = v_rest, no current).
    pub fn new(params: LifParams, n: usize, dt_ms: f64) -> Self {
        let prop = LifPropagators::new(&params, dt_ms);
        Lif {
            v: vec![params.v_rest_mv as Real; n],
            i_exc: vec![0.0; n],
            i_inh: vec![0.0; n],
            refractory: vec![0; n],
            i_ext: vec![0.0; n],
            ext_used: false,
            params,
            prop,
            each: None,
        }
    }

    /// The names of the parameters a population with the snnTorch update may give per neuron.
    pub const PER_NEURON: &'static [&'static str] = &[
        "beta",
        "v_th_mv",
        "v_reset_mv",
        "v_rest_mv",
        "r_mohm",
        "i_bias_na",
    ];

    /// Gives parameter `name` (one of [`Lif::PER_NEURON`]; snnTorch update only) one value
    /// per neuron; the others keep their single value. A per-neuron `v_rest_mv` also sets the
    /// initial membrane to it. `values` has one value per neuron (validated).
    pub fn set_per_neuron(&mut self, name: &str, values: &[f64]) {
        let n = self.v.len();
        let p = self.prop;
        let beta = p.leaky.map_or(1.0, |(b, _)| b);
        let each = self.each.get_or_insert_with(|| {
            Box::new(LeakyEach {
                beta: vec![beta; n],
                r: vec![p.r; n],
                v_rest: vec![p.v_rest; n],
                v_th: vec![p.v_th; n],
                v_reset: vec![p.v_reset; n],
                i_bias: vec![p.i_bias; n],
            })
        });
        let col = match name {
            "beta" => &mut each.beta,
            "v_th_mv" => &mut each.v_th,
            "v_reset_mv" => &mut each.v_reset,
            "v_rest_mv" => &mut each.v_rest,
            "r_mohm" => &mut each.r,
            "i_bias_na" => &mut each.i_bias,
            other => unreachable!("validated per-neuron parameter {other}"),
        };
        for (c, &x) in col.iter_mut().zip(values) {
            *c = x as Real;
        }
        if name == "v_rest_mv" {
            self.v.copy_from_slice(&each.v_rest);
        }
    }

    /// The threshold of neuron `j` (mV).
    pub fn threshold(&self, j: usize) -> Real {
        self.each.as_ref().map_or(self.prop.v_th, |e| e.v_th[j])
    }

    /// One step for every neuron: the input due this step (`due_*`) is added to the
    /// synaptic variables and zeroed; spikes go to `outs`, one buffer per chunk.
    pub fn update(&mut self, due_exc: &mut [Real], due_inh: &mut [Real], outs: &mut [Vec<u32>]) {
        self.update_with(due_exc, due_inh, true, outs)
    }

    /// [`Lif::update`]; with `due_live` false the due buffers are known to be zero (all the
    /// input went straight into the synaptic currents, see [`Lif::direct_inputs`]) and are not
    /// read. The result is the same, bit for bit, as reading the zeros.
    pub fn update_with(
        &mut self,
        due_exc: &mut [Real],
        due_inh: &mut [Real],
        due_live: bool,
        outs: &mut [Vec<u32>],
    ) {
        debug_assert_eq!(outs.len(), chunks(self.v.len()));
        if let (Some(each), Some((_, reset))) = (&self.each, self.prop.leaky) {
            let (v, iext) = (&mut self.v, &self.i_ext);
            let now = self.prop.reset_now;
            with_reset_timing!(reset, !now, R => leaky_each::<R>(each, v, iext, due_exc, due_inh, outs));
            return;
        }
        let cols = Cols {
            v: &mut self.v,
            se: &mut self.i_exc,
            si: &mut self.i_inh,
            refr: &mut self.refractory,
            iext: &self.i_ext,
            de: due_exc,
            di: due_inh,
        };
        let p = self.prop;
        let reads = Reads {
            due: due_live,
            ext: self.ext_used,
        };
        for_chunks(cols, outs, &|c: Cols, offset, out: &mut Vec<u32>| {
            update_chunk(&p, reads, c, offset, out)
        });
    }

    /// The external current, for writing; from then on the update reads it (until then it
    /// is known to be zero and skipped).
    pub fn external_current_mut(&mut self) -> &mut [Real] {
        self.ext_used = true;
        &mut self.i_ext
    }

    /// Whether input may be added straight into `i_exc` and `i_inh` between two updates (the
    /// exact update adds the due input to the currents first thing; the snnTorch option does
    /// not keep currents).
    pub fn direct_inputs(&self) -> bool {
        self.prop.leaky.is_none()
    }
}

/// The exact update of one neuron, for the fused pass of [`fused`]: the arithmetic of the
/// module documentation, operation for operation as before the pass was shared.
impl fused::Kernel for LifPropagators {
    #[inline(always)]
    fn hold_steps(&self) -> u32 {
        self.hold_steps
    }
    #[inline(always)]
    fn v_th(&self) -> Real {
        self.v_th
    }
    #[inline(always)]
    fn v_reset(&self) -> Real {
        self.v_reset
    }
    #[inline(always)]
    fn integrate(&self, v: Real, i_e: Real, i_i: Real, i_ext: Real) -> Real {
        let p = self;
        let v_inf = p.v_rest + p.r * (p.i_bias + i_ext);
        (v_inf - v_inf * p.p22) + ((p.p21_exc * i_e + p.p21_inh * i_i) + p.p22 * v)
    }
    #[inline(always)]
    fn decay(&self, i_e: Real, i_i: Real) -> (Real, Real) {
        (i_e * self.p11_exc, i_i * self.p11_inh)
    }
}

/// The update of one chunk: the snnTorch option, or the exact update as one pass without
/// branches over the chunk (so it vectorises), threshold, reset and refractory count included
/// ([`fused`]). The arithmetic is the same, operation for operation, as the two-pass form
/// (integrate, then `if refractory { count down } else if v > v_th { reset }`).
fn update_chunk(p: &LifPropagators, reads: Reads, c: Cols, offset: u32, out: &mut Vec<u32>) {
    if let Some((beta, reset)) = p.leaky {
        return leaky_chunk(p, beta, reset, c, offset, out);
    }
    fused::chunk(p, reads, c, offset, out)
}

/// The snnTorch `Leaky` step of one neuron, in the frame m = v − v_rest; state `mem` only.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LeakyStep<F> {
    /// Membrane decay β.
    pub beta: F,
    /// Threshold θ = v_th − v_rest (subtracted by the `Subtract` reset).
    pub thr: F,
}

impl<F: Scalar> SnnTorchStep<F> for LeakyStep<F> {
    /// `Zero` here is training's k_t·β·m_{t−1} + x_t (reset to 0); the engine's `Zero`, which
    /// resets to v_reset, is [`zero_to`].
    #[inline(always)]
    fn step<R: ResetKind>(self, r: F, x: F, mem: &mut F, _: &mut F, _: &mut F) {
        *mem = match R::RESET {
            Reset::Subtract => (self.beta * *mem + x) - r * self.thr,
            Reset::Zero => (F::ONE - r) * self.beta * *mem + x,
            Reset::NoReset => self.beta * *mem + x,
        };
    }

    #[inline(always)]
    fn adjoint(self, drive: F, _: F, k_next: F, m: &mut F, _: &mut F, _: &mut F) -> F {
        let m_bar = drive + k_next * self.beta * *m;
        *m = m_bar;
        m_bar
    }
}

/// β: m_t = k_t·β·m_{t−1} + x_t (− R_t·θ), so ∂m_t/∂β = k_t·m_{t−1}.
impl<F: Scalar> LearnDecays<F> for LeakyStep<F> {
    const COUNT: usize = 1;

    #[inline(always)]
    fn with_decays(self, d: [F; 2]) -> Self {
        LeakyStep { beta: d[0], ..self }
    }

    #[inline(always)]
    fn decay_grads(self, k_t: F, m_bar: F, _: F, mem: F, _: F) -> [F; 2] {
        [m_bar * k_t * mem, F::ZERO]
    }
}

/// The engine's `Zero` reset of the snnTorch `Leaky` update, to m_reset = v_reset − v_rest:
/// β·((1 − r)·m + r·m_reset) + x.
#[inline(always)]
pub fn zero_to<F: Scalar>(beta: F, r: F, m: F, m_reset: F, x: F) -> F {
    beta * ((F::ONE - r) * m + r * m_reset) + x
}

/// The snnTorch `Leaky` update of one chunk (see the module documentation): the reset comes
/// from the stored (unreset) membrane of the previous step, the spike from the new one.
fn leaky_chunk(
    p: &LifPropagators,
    beta: Real,
    reset: Reset,
    c: Cols,
    offset: u32,
    out: &mut Vec<u32>,
) {
    let n = c.v.len();
    let one = LeakyOne {
        beta,
        r: p.r,
        v_rest: p.v_rest,
        v_th: p.v_th,
        v_reset: p.v_reset,
        i_bias: p.i_bias,
    };
    let (de, di) = (&mut c.de[..n], &mut c.di[..n]);
    with_reset_timing!(reset, !p.reset_now, R => leaky_with::<R>(|_| one, c.v, &c.iext[..n], de, di, offset, out))
}

/// The snnTorch update with per-neuron constants, over the whole population (spikes into the
/// buffer of their chunk).
fn leaky_each<R: ResetKind>(
    e: &LeakyEach,
    v: &mut [Real],
    iext: &[Real],
    de: &mut [Real],
    di: &mut [Real],
    outs: &mut [Vec<u32>],
) {
    let of = |k: usize| LeakyOne {
        beta: e.beta[k],
        r: e.r[k],
        v_rest: e.v_rest[k],
        v_th: e.v_th[k],
        v_reset: e.v_reset[k],
        i_bias: e.i_bias[k],
    };
    let mut all = Vec::new();
    leaky_with::<R>(of, v, iext, de, di, 0, &mut all);
    for k in all {
        outs[k as usize / super::CHUNK].push(k);
    }
}

/// The snnTorch `Leaky` update of neurons `0..v.len()`; `of(k)` gives neuron k's constants.
#[inline(always)]
fn leaky_with<R: ResetKind>(
    of: impl Fn(usize) -> LeakyOne,
    v: &mut [Real],
    iext: &[Real],
    de: &mut [Real],
    di: &mut [Real],
    offset: u32,
    out: &mut Vec<u32>,
) {
    let n = v.len();
    let (iext, de, di) = (&iext[..n], &mut de[..n], &mut di[..n]);
    let (mut na, mut nb) = (0.0, 0.0);
    for k in 0..n {
        let p = of(k);
        let step = LeakyStep {
            beta: p.beta,
            thr: p.v_th - p.v_rest,
        };
        let x = p.r * (((de[k] + di[k]) + p.i_bias) + iext[k]);
        de[k] = 0.0;
        di[k] = 0.0;
        let mut m = v[k] - p.v_rest;
        if R::NOW {
            // Integrate without reset, then reset in this step (see `step::reset_now`).
            step.step::<ResetNone>(0.0, x, &mut m, &mut na, &mut nb);
            let (after, spike) = reset_now::<R, Real>(m, step.thr, p.v_reset - p.v_rest);
            v[k] = p.v_rest + after;
            if spike {
                out.push(offset + k as u32);
            }
            continue;
        }
        let r: Real = if v[k] > p.v_th { 1.0 } else { 0.0 };
        if matches!(R::RESET, Reset::Zero) {
            m = zero_to(p.beta, r, m, p.v_reset - p.v_rest, x);
        } else {
            step.step::<R>(r, x, &mut m, &mut na, &mut nb);
        }
        v[k] = p.v_rest + m;
    }
    if !R::NOW {
        for (k, &vk) in v.iter().enumerate() {
            if vk > of(k).v_th {
                out.push(offset + k as u32);
            }
        }
    }
}

/// Checks the parameters of a `Lif` population at time step `dt_ms`; the error's field is
/// relative to the parameters (`tau_m_ms`).
pub fn check(p: &LifParams, dt_ms: f64) -> ParamResult {
    positive("tau_m_ms", p.tau_m_ms)?;
    positive("tau_syn_exc_ms", p.tau_syn_exc_ms)?;
    positive("tau_syn_inh_ms", p.tau_syn_inh_ms)?;
    refractory("refractory_ms", p.refractory_ms, dt_ms)?;
    positive("r_mohm", p.r_mohm)?;
    for (f, x) in [
        ("v_rest_mv", p.v_rest_mv),
        ("v_reset_mv", p.v_reset_mv),
        ("v_th_mv", p.v_th_mv),
        ("i_bias_na", p.i_bias_na),
    ] {
        finite(f, x)?;
    }
    if let LifIntegration::SnnTorch {
        beta: Some(beta), ..
    } = p.integration
    {
        unit_interval("integration.SnnTorch.beta", beta)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::marked::{Isa, SPIKED};
    use super::fused::BLOCK;
    use super::*;

    /// The two ways of finding the spikes of a block (a mark in the refractory counter, a flag
    /// array) give the same state and spikes, neuron for neuron, and leave no mark behind.
    #[test]
    fn marked_and_flagged_spikes_agree() {
        let p = LifParams {
            v_rest_mv: -49.0,
            v_reset_mv: -60.0,
            v_th_mv: -50.0,
            refractory_ms: 0.5,
            ..LifParams::default()
        };
        let n = 3 * BLOCK + 17;
        let mut a = Lif::new(p, n, 0.1);
        for (j, v) in a.v.iter_mut().enumerate() {
            *v = -60.0 + (j * 37 % 100) as Real * 0.1;
        }
        let mut b = a.clone();
        let (mut spikes_a, mut spikes_b) = (0, 0);
        for step in 0..400 {
            let input = |j: usize| {
                if (j + step).is_multiple_of(7) {
                    0.8
                } else {
                    0.0
                }
            };
            let mut de: Vec<Real> = (0..n).map(input).collect();
            let mut di: Vec<Real> = (0..n).map(|j| -0.3 * input(j + 3)).collect();
            let (mut de2, mut di2) = (de.clone(), di.clone());
            let (mut out_a, mut out_b) = (Vec::new(), Vec::new());
            let prop = a.prop;
            fn cols<'a>(m: &'a mut Lif, de: &'a mut [Real], di: &'a mut [Real]) -> Cols<'a> {
                Cols {
                    v: &mut m.v,
                    se: &mut m.i_exc,
                    si: &mut m.i_inh,
                    refr: &mut m.refractory,
                    iext: &m.i_ext,
                    de,
                    di,
                }
            }
            fused::blocks::<_, true, true, true>(
                &prop,
                cols(&mut a, &mut de, &mut di),
                0,
                &mut out_a,
                Isa::best(),
            );
            fused::blocks::<_, false, true, true>(
                &prop,
                cols(&mut b, &mut de2, &mut di2),
                0,
                &mut out_b,
                Isa::Scalar,
            );
            assert_eq!(out_a, out_b, "step {step}");
            spikes_a += out_a.len();
            spikes_b += out_b.len();
            assert!(a.refractory.iter().all(|&r| r & SPIKED == 0));
            assert_eq!(a.refractory, b.refractory);
            let bits = |x: &[Real]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&a.v), bits(&b.v));
            assert_eq!(bits(&a.i_exc), bits(&b.i_exc));
            assert_eq!(bits(&a.i_inh), bits(&b.i_inh));
        }
        assert_eq!(spikes_a, spikes_b);
        assert!(spikes_a > 100, "{spikes_a} spikes: the check needs spikes");
    }

    fn params() -> LifParams {
        LifParams {
            tau_m_ms: 20.0,
            v_rest_mv: 0.0,
            v_reset_mv: 0.0,
            v_th_mv: 1e9,
            refractory_ms: 0.0,
            tau_syn_exc_ms: 5.0,
            tau_syn_inh_ms: 20.0,
            r_mohm: 2.0,
            i_bias_na: 0.0,
            integration: LifIntegration::Exact,
        }
    }

    /// v(t) for v(0) = 0 and I(0) = I0 decaying with τ_s, from the closed form
    /// v = R·I0·τ_s/(τ_s − τ_m)·(e^{−t/τ_s} − e^{−t/τ_m}), or R·I0·t/τ_m·e^{−t/τ_m} at τ_s = τ_m.
    fn analytic(t: f64, i0: f64, tau_s: f64, p: &LifParams) -> f64 {
        let tm = p.tau_m_ms;
        if tau_s == tm {
            p.r_mohm * i0 * t / tm * (-t / tm).exp()
        } else {
            p.r_mohm * i0 * tau_s / (tau_s - tm) * ((-t / tau_s).exp() - (-t / tm).exp())
        }
    }

    #[test]
    fn exact_update_follows_the_closed_form_for_distinct_and_equal_time_constants() {
        let p = params();
        let dt = 0.1;
        let mut m = Lif::new(p.clone(), 2, dt);
        m.i_exc[0] = 1.5;
        m.i_inh[1] = -0.7; // τ_inh = τ_m: the degenerate propagator
        let mut outs = vec![Vec::new()];
        let (mut de, mut di) = (vec![0.0; 2], vec![0.0; 2]);
        // f32: the membranes within 1e-5 (the reference README's f32 tolerance).
        let tol = if cfg!(feature = "f32") { 1e-5 } else { 1e-12 };
        for n in 1..=1000 {
            m.update(&mut de, &mut di, &mut outs);
            let t = n as f64 * dt;
            let a0 = analytic(t, 1.5, 5.0, &p);
            let a1 = analytic(t, -0.7, 20.0, &p);
            assert!(
                (m.v[0] - a0 as Real).abs() < tol,
                "t={t}: {} vs {a0}",
                m.v[0]
            );
            assert!(
                (m.v[1] - a1 as Real).abs() < tol,
                "t={t}: {} vs {a1}",
                m.v[1]
            );
        }
    }

    #[test]
    fn refractory_neuron_is_held_and_integrates_again_after_the_period() {
        let p = LifParams {
            v_th_mv: 1.0,
            refractory_ms: 0.5,
            i_bias_na: 1.0e3,
            ..params()
        };
        let mut m = Lif::new(p, 1, 0.1);
        let mut outs = vec![Vec::new()];
        let (mut de, mut di) = (vec![0.0], vec![0.0]);
        let mut spike_steps = vec![];
        for n in 0..20 {
            outs[0].clear();
            m.update(&mut de, &mut di, &mut outs);
            if !outs[0].is_empty() {
                spike_steps.push(n);
            }
        }
        // The drive crosses threshold in one step; with t_ref = 5 steps the neuron integrates
        // again 5 steps after each spike and crosses at once.
        assert_eq!(spike_steps, vec![0, 5, 10, 15]);
    }
    #[test]
    fn same_step_subtract_reset_and_per_neuron_gains_of_the_snntorch_update() {
        let p = LifParams {
            v_rest_mv: 0.0,
            v_reset_mv: 0.0,
            v_th_mv: 1.0,
            refractory_ms: 0.0,
            integration: LifIntegration::SnnTorch {
                beta: Some(0.5),
                reset: Reset::Subtract,
                reset_delay: false,
            },
            ..LifParams::default()
        };
        let mut m = Lif::new(p, 2, 0.1);
        m.set_per_neuron("r_mohm", &[1.0, 0.5]);
        let mut outs = vec![Vec::new()];
        // x = R·1.5: neuron 0 reaches 1.5 > 1, spikes and keeps 0.5 in the same step; neuron
        // 1 reaches 0.75.
        m.update(&mut [1.5, 1.5], &mut [0.0, 0.0], &mut outs);
        assert_eq!(outs[0], vec![0]);
        assert_eq!(m.v, vec![0.5, 0.75]);
        // Next: 0.25 + 1.5 = 1.75 → 0.75; 0.375 + 0.75 = 1.125 → 0.125, both spike.
        outs[0].clear();
        m.update(&mut [1.5, 1.5], &mut [0.0, 0.0], &mut outs);
        assert_eq!(outs[0], vec![0, 1]);
        assert_eq!(m.v, vec![0.75, 0.125]);
    }
}
