//! The adaptive exponential integrate-and-fire neuron (AdEx): R. Brette and W. Gerstner (2005),
//! "Adaptive exponential integrate-and-fire model as an effective description of neuronal
//! activity", J. Neurophysiol. 94:3637–3642; firing patterns in R. Naud, N. Marcille,
//! C. Clopath and W. Gerstner (2008), Biol. Cybern. 99:335–347.
//!
//! ```text
//! C·dv/dt   = g_L·(E_L − v) + g_L·Δ_T·exp((v − V_T)/Δ_T) + I − w
//! τ_w·dw/dt = a·(v − E_L) − w
//! if v > V_cut: spike; v ← V_r, w ← w + b           (V_cut = V_T + 5·Δ_T unless given)
//! I = I_bias + I_ext + I_exc + I_inh,   dI_x/dt = −I_x/τ_x
//! ```
//! Units: mV, ms, pF, nS, nA (g·v in pA, so conductances enter as µS = nS/1000 and C as
//! nF = pF/1000, and dv/dt comes out in mV/ms).
//!
//! **Integration**: forward Euler, both variables from the old values (Brian2
//! `method='euler'`), in the operation order of Brian2's generated code:
//! `v' = v + (dt/C)·((((Δ_T·g_L)·exp((1/Δ_T)·(−V_T + v)) + I) + g_L·(E_L − v)) − w)`,
//! `w' = (dt/τ_w)·((a·(−E_L + v)) − w) + w`. The synaptic currents decay exactly,
//! I_x ← I_x·exp(−dt/τ_x).
//!
//! **Overflow guard**: the exponential is evaluated at min(v, V_cut). Every step starts with
//! v ≤ V_cut (a larger v is reset in the step that reaches it, and the synaptic input is a
//! current, not a jump of v), so the guard changes nothing on a trajectory from a state below
//! V_cut; it keeps exp finite for an initial v above V_cut. Validation requires
//! (V_cut − V_T)/Δ_T ≤ 200, so the exponential is at most e^200.
//!
//! **Synaptic input**: a current jump. The weights (nA) delivered in a step are added to
//! I_exc or I_inh (by receptor; inhibitory weights negative) before the step's update.
//!
//! Refractoriness as in [`super::lif`] (v held at V_r, w and the currents keep evolving), off
//! by default. A spike is stamped with the start of the step.
//!
//! State columns: `v` (mV), `w` (nA), `i_exc`, `i_inh` (nA).

use super::{chunks, for_chunks, refractory_steps, Columns};
use crate::file::rules::{finite, positive, refractory, ParamError, ParamResult};
use crate::file::AdExParams;
use crate::Real;

/// Largest allowed exponent (V_cut − V_T)/Δ_T.
pub const MAX_EXPONENT: f64 = 200.0;

#[derive(Debug, Clone, Copy)]
struct Consts {
    dt_over_c: Real,
    delta_t_g_l: Real,
    inv_delta_t: Real,
    minus_v_t: Real,
    dt_over_tau_w: Real,
    minus_e_l: Real,
    g_l: Real,
    e_l: Real,
    a: Real,
    b: Real,
    v_reset: Real,
    v_cut: Real,
    i_bias: Real,
    p_exc: Real,
    p_inh: Real,
    hold_steps: u32,
}

/// A population of AdEx neurons.
#[derive(Debug, Clone)]
pub struct AdEx {
    /// Parameters as given.
    pub params: AdExParams,
    /// Membrane potential (mV).
    pub v: Vec<Real>,
    /// Adaptation current (nA).
    pub w: Vec<Real>,
    /// Excitatory synaptic current (nA).
    pub i_exc: Vec<Real>,
    /// Inhibitory synaptic current (nA).
    pub i_inh: Vec<Real>,
    /// Steps of refractoriness left.
    pub refractory: Vec<u32>,
    /// External current from stimuli (nA).
    pub i_ext: Vec<Real>,
    k: Consts,
}

impl AdEx {
    /// `n` neurons at v = E_L, w = 0, no synaptic current.
    pub fn new(params: AdExParams, n: usize, dt_ms: f64) -> Self {
        let g_l = params.g_l_ns / 1000.0; // µS: µS·mV = nA
        let c = params.c_pf / 1000.0; // nF: nA·ms/nF = mV
        let k = Consts {
            dt_over_c: (dt_ms / c) as Real,
            delta_t_g_l: (params.delta_t_mv * g_l) as Real,
            inv_delta_t: (1.0 / params.delta_t_mv) as Real,
            minus_v_t: (-params.v_t_mv) as Real,
            dt_over_tau_w: (dt_ms / params.tau_w_ms) as Real,
            minus_e_l: (-params.e_l_mv) as Real,
            g_l: g_l as Real,
            e_l: params.e_l_mv as Real,
            a: (params.a_ns / 1000.0) as Real,
            b: params.b_na as Real,
            v_reset: params.v_reset_mv as Real,
            v_cut: params.v_cut() as Real,
            i_bias: params.i_bias_na as Real,
            p_exc: ((-dt_ms / params.tau_syn_exc_ms).exp()) as Real,
            p_inh: ((-dt_ms / params.tau_syn_inh_ms).exp()) as Real,
            hold_steps: refractory_steps(params.refractory_ms, dt_ms).saturating_sub(1),
        };
        AdEx {
            v: vec![params.e_l_mv as Real; n],
            w: vec![0.0; n],
            i_exc: vec![0.0; n],
            i_inh: vec![0.0; n],
            refractory: vec![0; n],
            i_ext: vec![0.0; n],
            params,
            k,
        }
    }

    /// One step for every neuron: the input due this step (`due_*`) is added to the synaptic
    /// currents and zeroed; spikes go to `outs`, one buffer per chunk.
    pub fn update(&mut self, due_exc: &mut [Real], due_inh: &mut [Real], outs: &mut [Vec<u32>]) {
        debug_assert_eq!(outs.len(), chunks(self.v.len()));
        let cols = Columns {
            rw: [
                &mut self.v,
                &mut self.w,
                &mut self.i_exc,
                &mut self.i_inh,
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
            &|c: Columns<6, 1>, offset, out: &mut Vec<u32>| update_chunk(&k, c, offset, out),
        );
    }
}

fn update_chunk(k: &Consts, c: Columns<6, 1>, offset: u32, out: &mut Vec<u32>) {
    let [v, w, ie, ii, de, di] = c.rw;
    let [iext] = c.ro;
    let refr = c.refr;
    let n = v.len();
    let (w, ie, ii, de, di) = (
        &mut w[..n],
        &mut ie[..n],
        &mut ii[..n],
        &mut de[..n],
        &mut di[..n],
    );
    let (iext, refr) = (&iext[..n], &mut refr[..n]);
    for j in 0..n {
        let i_e = ie[j] + de[j];
        let i_i = ii[j] + di[j];
        de[j] = 0.0;
        di[j] = 0.0;
        let i = (k.i_bias + iext[j]) + (i_e + i_i);
        let (vj, wj) = (v[j], w[j]);
        let exp_term = k.delta_t_g_l * (k.inv_delta_t * (k.minus_v_t + vj.min(k.v_cut))).exp();
        let v_new = vj + (k.dt_over_c * (((exp_term + i) + (k.g_l * (k.e_l - vj))) - wj));
        w[j] = (k.dt_over_tau_w * ((k.a * (k.minus_e_l + vj)) - wj)) + wj;
        v[j] = if refr[j] > 0 { vj } else { v_new };
        ie[j] = i_e * k.p_exc;
        ii[j] = i_i * k.p_inh;
    }
    for j in 0..n {
        if refr[j] > 0 {
            refr[j] -= 1;
        } else if v[j] > k.v_cut {
            v[j] = k.v_reset;
            w[j] += k.b;
            refr[j] = k.hold_steps;
            out.push(offset + j as u32);
        }
    }
}

/// Checks the parameters of an `AdEx` population at time step `dt_ms`; the error's field is
/// relative to the parameters (`v_cut_mv`).
pub fn check(p: &AdExParams, dt_ms: f64) -> ParamResult {
    for (f, x) in [
        ("c_pf", p.c_pf),
        ("g_l_ns", p.g_l_ns),
        ("delta_t_mv", p.delta_t_mv),
        ("tau_w_ms", p.tau_w_ms),
        ("tau_syn_exc_ms", p.tau_syn_exc_ms),
        ("tau_syn_inh_ms", p.tau_syn_inh_ms),
    ] {
        positive(f, x)?;
    }
    refractory("refractory_ms", p.refractory_ms, dt_ms)?;
    for (f, x) in [
        ("e_l_mv", p.e_l_mv),
        ("v_t_mv", p.v_t_mv),
        ("a_ns", p.a_ns),
        ("b_na", p.b_na),
        ("v_reset_mv", p.v_reset_mv),
        ("i_bias_na", p.i_bias_na),
    ] {
        finite(f, x)?;
    }
    if let Some(x) = p.v_cut_mv {
        finite("v_cut_mv", x)?;
    }
    let v_cut = p.v_cut();
    if p.v_reset_mv >= v_cut {
        return Err(ParamError::new(
            "v_reset_mv",
            format!("the reset must be below V_cut = {v_cut} mV"),
        ));
    }
    let exponent = (v_cut - p.v_t_mv) / p.delta_t_mv;
    if exponent > MAX_EXPONENT {
        return Err(ParamError::new(
            "v_cut_mv",
            format!("(V_cut − V_T)/Δ_T = {exponent} exceeds {MAX_EXPONENT}: exp would overflow"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_euler_step_matches_the_equation_in_si_units() {
        let p = AdExParams::default();
        let mut m = AdEx::new(p.clone(), 1, 0.1);
        m.v[0] = -55.0;
        m.w[0] = 0.2;
        m.i_ext[0] = 1.0;
        let mut outs = vec![Vec::new()];
        m.update(&mut [0.0], &mut [0.0], &mut outs);
        // SI: C dv/dt = gL(EL − v) + gL ΔT exp((v − VT)/ΔT) + I − w.
        let (c, gl, el, vt, dt_): (f64, f64, f64, f64, f64) =
            (281e-12, 30e-9, -70.6e-3, -50.4e-3, 2e-3);
        let (v, w, i): (f64, f64, f64) = (-55e-3, 0.2e-9, 1e-9);
        let dv = (gl * (el - v) + gl * dt_ * ((v - vt) / dt_).exp() + i - w) / c;
        let want_mv = (v + 1e-4 * dv) * 1e3;
        assert!(
            (m.v[0] - want_mv as Real).abs() < 1e-10,
            "{} vs {want_mv}",
            m.v[0]
        );
        let dw = (4e-9 * (v - el) - w) / 144e-3;
        assert!((m.w[0] - ((w + 1e-4 * dw) * 1e9) as Real).abs() < 1e-12);
    }

    #[test]
    fn an_initial_v_far_above_cut_stays_finite() {
        let mut m = AdEx::new(AdExParams::default(), 1, 0.1);
        m.v[0] = 1.0e6;
        let mut outs = vec![Vec::new()];
        m.update(&mut [0.0], &mut [0.0], &mut outs);
        assert_eq!(outs[0], vec![0]);
        assert_eq!(m.v[0], -70.6);
        assert!(m.w[0].is_finite());
    }
}
