//! Hodgkin–Huxley neurons with exponentially decaying synaptic conductances, integrated by
//! exponential Euler as Brian2 does (`method='exponential_euler'`). Two sets of rate functions:
//!
//! - `HodgkinHuxley`: the squid giant axon, A. L. Hodgkin & A. F. Huxley (1952), "A
//!   quantitative description of membrane current and its application to conduction and
//!   excitation in nerve", J. Physiol. 117:500–544, with v in today's convention (rest near
//!   −65 mV, depolarisation positive):
//!   α_m = 0.1·(v+40)/(1 − e^{−(v+40)/10}), β_m = 4·e^{−(v+65)/18},
//!   α_h = 0.07·e^{−(v+65)/20},              β_h = 1/(1 + e^{−(v+35)/10}),
//!   α_n = 0.01·(v+55)/(1 − e^{−(v+55)/10}), β_n = 0.125·e^{−(v+65)/80}.
//! - `TraubMiles`: R. D. Traub & R. Miles (1991), "Neuronal networks of the hippocampus",
//!   as used by Brette et al. (2007), "Simulation of networks of spiking neurons: a review of
//!   tools and strategies", J. Comput. Neurosci. 23:349–398, benchmark 3 (COBAHH), and by
//!   Brian2's `examples/COBAHH.py`, with u = v − V_T:
//!   α_m = 0.32·(13−u)/(e^{(13−u)/4} − 1), β_m = 0.28·(u−40)/(e^{(u−40)/5} − 1),
//!   α_h = 0.128·e^{(17−u)/18},             β_h = 4/(1 + e^{(40−u)/5}),
//!   α_n = 0.032·(15−u)/(e^{(15−u)/5} − 1), β_n = 0.5·e^{(10−u)/40}.
//!
//! Rates in 1/ms, v in mV. Both share the membrane equation (units mV, ms, pF, nS, nA):
//!
//! ```text
//! C·dv/dt = g_L·(E_L − v) + g_exc·(E_exc − v) + g_inh·(E_inh − v)
//!           − ḡ_Na·m³·h·(v − E_Na) − ḡ_K·n⁴·(v − E_K) + I_bias + I_ext
//! dx/dt   = α_x(v)·(1 − x) − β_x(v)·x          (x = m, h, n)
//! dg_exc/dt = −g_exc/τ_exc      dg_inh/dt = −g_inh/τ_inh      (a delivered weight, nS, adds)
//! ```
//! **Removable singularities.** The rates of the form a·s/(e^{s/k} − 1) are 0/0 at s = 0.
//! They are written as a·k/exprel(s/k) with exprel(z) = (e^z − 1)/z = expm1(z)/z and
//! exprel(0) = 1 (Brian2 writes them with its `exprel` function the same way), which is exact
//! at the point and loses no digits near it, where the quotient as written would cancel.
//!
//! **Exponential Euler** (MacGregor 1987; Brian2's `exponential_euler`): each variable's
//! equation is linear in that variable once the others are held at their start-of-step
//! values, dx/dt = A·x + B, and is advanced exactly over the step:
//! x ← −B/A + (x + B/A)·e^{A·h}. For a gate A = −(α + β), B = α; for v, with
//! G = g_L + g_exc + g_inh + ḡ_Na·m³·h + ḡ_K·n⁴, A = −G/C and
//! B = (g_L·E_L + g_exc·E_exc + g_inh·E_inh + ḡ_Na·m³·h·E_Na + ḡ_K·n⁴·E_K + I)/C (a nA over a
//! pF is 1000 mV/ms); the conductances decay by e^{−h/τ}. Every variable is updated from the
//! old values of the others.
//!
//! **Spikes.** A spike is emitted in the step in which v rises above `v_th_mv` (−20 mV), that
//! is, when the updated v is above it and the v of the previous step was not — Brian2's
//! `threshold='v > v_th', refractory='v > v_th'`. Nothing is reset; the `refractory` column
//! holds 1 while v is above the threshold (the state of that test). With `refractory_ms` set,
//! the rule is instead Brian2's `threshold='v > v_th', refractory=T` (COBAHH's, T = 3 ms): a
//! spike whenever the updated v is above the threshold and at least T has passed since the
//! last spike, so a v held above the threshold fires again every T; the `refractory` column
//! then counts the steps of T still to run. Both rules are one branch on a constant per
//! neuron, chosen at construction.
//!
//! Initial state: v = E_L, each gate at its steady state α/(α + β) at E_L, no conductance.
//! Parameter defaults per model are listed in the schema (`HodgkinHuxleyParams`): a patch of
//! 20 000 µm² with 1 µF/cm² (200 pF); squid ḡ_Na = 120, ḡ_K = 36, g_L = 0.3 mS/cm²,
//! E_Na = 50, E_K = −77, E_L = −54.387 mV; Traub–Miles (COBAHH) ḡ_Na = 100, ḡ_K = 30,
//! g_L = 0.05 mS/cm², E_Na = 50, E_K = −90, E_L = −60 mV, V_T = −63 mV.
//!
//! State columns: `v` (mV), `m`, `h`, `n`, `g_exc`, `g_inh` (nS).

use super::{chunks, for_chunks, Columns};
use crate::file::rules::{finite, positive, refractory, ParamResult};
use crate::file::HodgkinHuxleyParams;
use crate::Real;

/// The rate functions in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kinetics {
    /// Hodgkin & Huxley (1952), squid giant axon.
    Squid,
    /// Traub & Miles (1991), as in COBAHH.
    TraubMiles,
}

/// Parameters with the model's defaults filled in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resolved {
    /// ḡ_Na (nS).
    pub g_na: f64,
    /// ḡ_K (nS).
    pub g_k: f64,
    /// g_L (nS).
    pub g_l: f64,
    /// E_K (mV).
    pub e_k: f64,
    /// E_L (mV).
    pub e_l: f64,
}

/// The parameters left open in the file, filled with the defaults of `kinetics`.
pub fn resolve(p: &HodgkinHuxleyParams, kinetics: Kinetics) -> Resolved {
    let (g_na, g_k, g_l, e_k, e_l) = match kinetics {
        Kinetics::Squid => (24_000.0, 7_200.0, 60.0, -77.0, -54.387),
        Kinetics::TraubMiles => (20_000.0, 6_000.0, 10.0, -90.0, -60.0),
    };
    Resolved {
        g_na: p.g_na_ns.unwrap_or(g_na),
        g_k: p.g_k_ns.unwrap_or(g_k),
        g_l: p.g_l_ns.unwrap_or(g_l),
        e_k: p.e_k_mv.unwrap_or(e_k),
        e_l: p.e_l_mv.unwrap_or(e_l),
    }
}

/// exprel(z) = (e^z − 1)/z, 1 at z = 0: the removable singularity of the rates filled in.
#[inline(always)]
pub fn exprel(z: Real) -> Real {
    if z == 0.0 {
        1.0
    } else {
        z.exp_m1() / z
    }
}

/// (α_m, β_m, α_h, β_h, α_n, β_n) at v (1/ms).
#[inline(always)]
pub fn rates(kinetics: Kinetics, v_t: Real, v: Real) -> [Real; 6] {
    match kinetics {
        Kinetics::Squid => [
            1.0 / exprel(-(v + 40.0) / 10.0),
            4.0 * (-(v + 65.0) / 18.0).exp(),
            0.07 * (-(v + 65.0) / 20.0).exp(),
            1.0 / (1.0 + (-(v + 35.0) / 10.0).exp()),
            0.1 / exprel(-(v + 55.0) / 10.0),
            0.125 * (-(v + 65.0) / 80.0).exp(),
        ],
        Kinetics::TraubMiles => {
            let u = v - v_t;
            [
                1.28 / exprel((13.0 - u) / 4.0),
                1.4 / exprel((u - 40.0) / 5.0),
                0.128 * ((17.0 - u) / 18.0).exp(),
                4.0 / (1.0 + ((40.0 - u) / 5.0).exp()),
                0.16 / exprel((15.0 - u) / 5.0),
                0.5 * ((10.0 - u) / 40.0).exp(),
            ]
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Consts {
    kinetics: Kinetics,
    h: Real,
    c: Real,
    g_na: Real,
    g_k: Real,
    g_l: Real,
    e_na: Real,
    e_k: Real,
    e_l: Real,
    v_t: Real,
    e_exc: Real,
    e_inh: Real,
    decay_exc: Real,
    decay_inh: Real,
    v_th: Real,
    i_bias: Real,
    /// Steps of Brian2's refractory period; `None`: the upward-crossing rule.
    refractory_steps: Option<u32>,
}

/// A population of Hodgkin–Huxley neurons (either kinetics).
#[derive(Debug, Clone)]
pub struct HodgkinHuxley {
    /// Parameters as given.
    pub params: HodgkinHuxleyParams,
    /// The rate functions.
    pub kinetics: Kinetics,
    /// Membrane potential (mV).
    pub v: Vec<Real>,
    /// Sodium activation.
    pub m: Vec<Real>,
    /// Sodium inactivation.
    pub h: Vec<Real>,
    /// Potassium activation.
    pub n: Vec<Real>,
    /// Excitatory conductance (nS).
    pub g_exc: Vec<Real>,
    /// Inhibitory conductance (nS).
    pub g_inh: Vec<Real>,
    /// 1 while v is above the spike threshold, else 0.
    pub refractory: Vec<u32>,
    /// External current from stimuli (nA).
    pub i_ext: Vec<Real>,
    k: Consts,
}

impl HodgkinHuxley {
    /// `n` neurons at v = E_L with the gates at their steady state.
    pub fn new(params: HodgkinHuxleyParams, kinetics: Kinetics, n: usize, dt_ms: f64) -> Self {
        let r = resolve(&params, kinetics);
        let k = Consts {
            kinetics,
            h: dt_ms as Real,
            c: params.c_pf as Real,
            g_na: r.g_na as Real,
            g_k: r.g_k as Real,
            g_l: r.g_l as Real,
            e_na: params.e_na_mv as Real,
            e_k: r.e_k as Real,
            e_l: r.e_l as Real,
            v_t: params.v_t_mv as Real,
            e_exc: params.e_exc_mv as Real,
            e_inh: params.e_inh_mv as Real,
            decay_exc: (-dt_ms / params.tau_syn_exc_ms).exp() as Real,
            decay_inh: (-dt_ms / params.tau_syn_inh_ms).exp() as Real,
            v_th: params.v_th_mv as Real,
            i_bias: params.i_bias_na as Real,
            refractory_steps: params
                .refractory_ms
                .map(|t| super::refractory_steps(t, dt_ms)),
        };
        let v0 = r.e_l as Real;
        let [am, bm, ah, bh, an, bn] = rates(kinetics, k.v_t, v0);
        HodgkinHuxley {
            v: vec![v0; n],
            m: vec![am / (am + bm); n],
            h: vec![ah / (ah + bh); n],
            n: vec![an / (an + bn); n],
            g_exc: vec![0.0; n],
            g_inh: vec![0.0; n],
            refractory: vec![u32::from(k.refractory_steps.is_none() && v0 > k.v_th); n],
            i_ext: vec![0.0; n],
            params,
            kinetics,
            k,
        }
    }

    /// One step for every neuron: the weights due this step (nS) are added to the
    /// conductances and zeroed; spikes go to `outs`, one buffer per chunk.
    pub fn update(&mut self, due_exc: &mut [Real], due_inh: &mut [Real], outs: &mut [Vec<u32>]) {
        debug_assert_eq!(outs.len(), chunks(self.v.len()));
        let cols = Columns {
            rw: [
                &mut self.v,
                &mut self.m,
                &mut self.h,
                &mut self.n,
                &mut self.g_exc,
                &mut self.g_inh,
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
            &|c: Columns<8, 1>, offset, out: &mut Vec<u32>| update_chunk(&k, c, offset, out),
        );
    }
}

/// x advanced over h by dx/dt = A·x + B, A ≠ 0: −B/A + (x + B/A)·e^{A·h}.
#[inline(always)]
fn exp_euler(x: Real, a: Real, b: Real, h: Real) -> Real {
    let b_over_a = b / a;
    -b_over_a + (x + b_over_a) * (a * h).exp()
}

fn update_chunk(k: &Consts, c: Columns<8, 1>, offset: u32, out: &mut Vec<u32>) {
    let [v, m, h, n, ge, gi, de, di] = c.rw;
    let [iext] = c.ro;
    let above = c.refr;
    let len = v.len();
    for j in 0..len {
        let g_e = ge[j] + de[j];
        let g_i = gi[j] + di[j];
        de[j] = 0.0;
        di[j] = 0.0;
        let (v0, m0, h0, n0) = (v[j], m[j], h[j], n[j]);
        let g_na = k.g_na * (m0 * m0 * m0) * h0;
        let g_k = k.g_k * ((n0 * n0) * (n0 * n0));
        let g_tot = (((k.g_l + g_e) + g_i) + g_na) + g_k;
        let i = 1000.0 * (k.i_bias + iext[j]);
        let drive =
            (((k.g_l * k.e_l + g_e * k.e_exc) + g_i * k.e_inh) + g_na * k.e_na) + g_k * k.e_k + i;
        v[j] = exp_euler(v0, -g_tot / k.c, drive / k.c, k.h);
        let [am, bm, ah, bh, an, bn] = rates(k.kinetics, k.v_t, v0);
        m[j] = exp_euler(m0, -(am + bm), am, k.h);
        h[j] = exp_euler(h0, -(ah + bh), ah, k.h);
        n[j] = exp_euler(n0, -(an + bn), an, k.h);
        ge[j] = g_e * k.decay_exc;
        gi[j] = g_i * k.decay_inh;
        let is_above = v[j] > k.v_th;
        match k.refractory_steps {
            None => {
                if is_above && above[j] == 0 {
                    out.push(offset + j as u32);
                }
                above[j] = u32::from(is_above);
            }
            // `above` counts the refractory steps left: a spike at step s blocks steps
            // s + 1 … s + T − 1 (Brian2: timestep(t − lastspike) ≥ timestep(T)).
            Some(t) => {
                let left = above[j].saturating_sub(1);
                if is_above && left == 0 {
                    out.push(offset + j as u32);
                    above[j] = t;
                } else {
                    above[j] = left;
                }
            }
        }
    }
}

/// Checks the parameters of a `HodgkinHuxley` or `TraubMiles` population; the error's field
/// is relative to the parameters (`c_pf`).
pub fn check(p: &HodgkinHuxleyParams, dt_ms: f64) -> ParamResult {
    positive("c_pf", p.c_pf)?;
    if let Some(t) = p.refractory_ms {
        refractory("refractory_ms", t, dt_ms)?;
    }
    positive("tau_syn_exc_ms", p.tau_syn_exc_ms)?;
    positive("tau_syn_inh_ms", p.tau_syn_inh_ms)?;
    for (f, x) in [
        ("g_na_ns", p.g_na_ns),
        ("g_k_ns", p.g_k_ns),
        ("g_l_ns", p.g_l_ns),
    ] {
        if let Some(x) = x {
            positive(f, x)?;
        }
    }
    for (f, x) in [("e_k_mv", p.e_k_mv), ("e_l_mv", p.e_l_mv)] {
        if let Some(x) = x {
            finite(f, x)?;
        }
    }
    for (f, x) in [
        ("e_na_mv", p.e_na_mv),
        ("v_t_mv", p.v_t_mv),
        ("e_exc_mv", p.e_exc_mv),
        ("e_inh_mv", p.e_inh_mv),
        ("v_th_mv", p.v_th_mv),
        ("i_bias_na", p.i_bias_na),
    ] {
        finite(f, x)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// exprel fills the singular point with its limit, and the rates are continuous through
    /// it (the quotient as written would give NaN there).
    #[test]
    fn rates_are_continuous_through_the_removable_singularities() {
        assert_eq!(exprel(0.0), 1.0);
        // Squid α_m at v = −40 and α_n at v = −55; Traub–Miles α_m at u = 13, β_m at u = 40,
        // α_n at u = 15 (V_T = −63).
        let cases = [
            (Kinetics::Squid, -40.0, 0, 1.0),
            (Kinetics::Squid, -55.0, 4, 0.1),
            (Kinetics::TraubMiles, -50.0, 0, 1.28),
            (Kinetics::TraubMiles, -23.0, 1, 1.4),
            (Kinetics::TraubMiles, -48.0, 4, 0.16),
        ];
        for (kin, v, idx, limit) in cases {
            let at = rates(kin, -63.0, v)[idx];
            assert!((at - limit).abs() < 1e-12, "{kin:?} {idx} at {v}: {at}");
            for dv in [1e-9, -1e-9, 1e-6, -1e-6] {
                let near = rates(kin, -63.0, v + dv)[idx];
                let tol = if cfg!(feature = "f32") { 1e-4 } else { 1e-5 };
                assert!((near - at).abs() < tol, "{kin:?} {idx} at {v}+{dv}: {near}");
            }
        }
    }

    /// A constant current of 10 µA/cm² (2 nA on the 20 000 µm² patch) makes the squid axon
    /// fire repetitively near its classic rate (about 68 Hz).
    #[test]
    fn squid_axon_fires_repetitively_under_current() {
        let p = HodgkinHuxleyParams {
            i_bias_na: 2.0,
            ..HodgkinHuxleyParams::default()
        };
        let mut m = HodgkinHuxley::new(p, Kinetics::Squid, 1, 0.01);
        let mut outs = vec![Vec::new()];
        let mut spikes = 0;
        for _ in 0..50_000 {
            m.update(&mut [0.0], &mut [0.0], &mut outs);
            spikes += outs[0].len();
            outs[0].clear();
        }
        assert!((30..=40).contains(&spikes), "{spikes} spikes in 500 ms");
    }

    /// Spike steps of one Traub–Miles neuron under a constant current, dt = 0.1 ms, 100 ms.
    fn traub_miles_spikes(i_bias_na: f64, refractory_ms: Option<f64>) -> Vec<usize> {
        let p = HodgkinHuxleyParams {
            i_bias_na,
            refractory_ms,
            ..HodgkinHuxleyParams::default()
        };
        let mut m = HodgkinHuxley::new(p, Kinetics::TraubMiles, 1, 0.1);
        let mut outs = vec![Vec::new()];
        let mut steps = Vec::new();
        for s in 0..1000 {
            m.update(&mut [0.0], &mut [0.0], &mut outs);
            if !outs[0].is_empty() {
                steps.push(s);
            }
            outs[0].clear();
        }
        steps
    }

    /// Brian2's `refractory=T` rule: a v held above the threshold by a strong current (400 nA)
    /// fires once by the crossing rule but every T (30 steps) by the refractory rule; at
    /// 50 nA (spikes every 1.5 ms) the refractory rule drops the spikes inside T; under a
    /// moderate current whose spikes are more than T apart both rules give the same steps.
    #[test]
    fn refractory_rule_fires_again_every_period_while_above_threshold() {
        let crossing = traub_miles_spikes(400.0, None);
        let brian2 = traub_miles_spikes(400.0, Some(3.0));
        assert_eq!(crossing.len(), 1, "crossing rule: {crossing:?}");
        assert_eq!(brian2[0], crossing[0]);
        assert_eq!(brian2.len(), 34, "refractory rule: {brian2:?}");
        assert!(brian2.windows(2).all(|w| w[1] - w[0] == 30), "{brian2:?}");
        let fast = traub_miles_spikes(50.0, Some(3.0));
        assert!(fast.windows(2).all(|w| w[1] - w[0] >= 30), "{fast:?}");
        assert!(traub_miles_spikes(50.0, None).len() > fast.len() * 3 / 2);
        let moderate = traub_miles_spikes(0.5, None);
        assert!(moderate.len() >= 3, "{moderate:?}");
        assert_eq!(traub_miles_spikes(0.5, Some(3.0)), moderate);
    }
}
