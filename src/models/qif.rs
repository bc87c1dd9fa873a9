//! Quadratic integrate-and-fire neuron with exponential synaptic currents, forward Euler: the
//! normal form of a saddle-node-on-invariant-circle bifurcation (type I excitability;
//! Ermentrout & Kopell 1986, "Parabolic bursting in an excitable system coupled with a slow
//! oscillation", SIAM J. Appl. Math. 46:233–253; Latham, Richmond, Nelson & Nirenberg 2000,
//! "Intrinsic dynamics in neuronal networks. I. Theory", J. Neurophysiol. 83:808–827).
//!
//! ```text
//! τ_m·dv/dt = k·(v − v_rest)·(v − v_c) + R·(I_exc + I_inh + I_bias + I_ext)
//! dI_x/dt   = −I_x / τ_x
//! v > v_peak: spike, v ← v_reset, held for the refractory period
//! ```
//! Parameters (`Qif(...)`, units mV, ms, MΩ, nA): `tau_m_ms` (10), `v_rest_mv` (−65, the
//! stable fixed point and the initial v), `v_c_mv` (−50, the unstable one: a neuron pushed
//! above it fires without further input), `k_per_mv` (0.04), `v_peak_mv` (0; the true QIF
//! reaches +∞ in finite time, so the cut-off is a parameter), `v_reset_mv` (−70),
//! `refractory_ms` (0), `tau_syn_exc_ms` (5), `tau_syn_inh_ms` (10), `r_mohm` (1),
//! `i_bias_na` (0). The rheobase is R·I = k·(v_c − v_rest)²/4.
//!
//! Each step updates every variable from its value at the start of the step (Brian2
//! `method='euler'`): v ← v + h/τ_m·(k·(v − v_rest)·(v − v_c) + R·(I_exc + I_inh + I_bias +
//! I_ext)) unless refractory, I_x ← I_x − h/τ_x·I_x. Delivery, threshold, reset,
//! refractoriness and the spike's stamp are those of `Lif` and `CobaLif`; the update is their
//! fused one-pass update ([`super::fused`]), with only the arithmetic of one neuron here.
//!
//! The exponential sibling (EIF, Fourcaud-Trocmé et al. 2003) is `AdEx` with `a_ns: 0.0,
//! b_na: 0.0`.
//!
//! State columns: `v` (mV), `i_exc`, `i_inh` (nA).

use super::fused::{self, Cols};
use super::{chunks, for_chunks, refractory_steps, Reads};
use crate::file::rules::{finite, positive, refractory, ParamError, ParamResult};
use crate::file::QifParams;
use crate::Real;

/// Constants of the update, computed once per (parameters, dt).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Consts {
    h_over_tau_m: Real,
    h_over_tau_exc: Real,
    h_over_tau_inh: Real,
    k: Real,
    v_rest: Real,
    v_c: Real,
    r: Real,
    i_bias: Real,
    v_peak: Real,
    v_reset: Real,
    hold_steps: u32,
}

/// A population of quadratic integrate-and-fire neurons.
#[derive(Debug, Clone)]
pub struct Qif {
    /// Parameters as given.
    pub params: QifParams,
    /// Membrane potential (mV).
    pub v: Vec<Real>,
    /// Excitatory synaptic current (nA).
    pub i_exc: Vec<Real>,
    /// Inhibitory synaptic current (nA).
    pub i_inh: Vec<Real>,
    /// Steps of refractoriness left.
    pub refractory: Vec<u32>,
    /// External current from stimuli (nA); read once handed out.
    pub(crate) i_ext: Vec<Real>,
    ext_used: bool,
    k: Consts,
}

impl Qif {
    /// `n` neurons at v = v_rest without current.
    pub fn new(params: QifParams, n: usize, dt_ms: f64) -> Self {
        let k = Consts {
            h_over_tau_m: (dt_ms / params.tau_m_ms) as Real,
            h_over_tau_exc: (dt_ms / params.tau_syn_exc_ms) as Real,
            h_over_tau_inh: (dt_ms / params.tau_syn_inh_ms) as Real,
            k: params.k_per_mv as Real,
            v_rest: params.v_rest_mv as Real,
            v_c: params.v_c_mv as Real,
            r: params.r_mohm as Real,
            i_bias: params.i_bias_na as Real,
            v_peak: params.v_peak_mv as Real,
            v_reset: params.v_reset_mv as Real,
            hold_steps: refractory_steps(params.refractory_ms, dt_ms).saturating_sub(1),
        };
        Qif {
            v: vec![params.v_rest_mv as Real; n],
            i_exc: vec![0.0; n],
            i_inh: vec![0.0; n],
            refractory: vec![0; n],
            i_ext: vec![0.0; n],
            ext_used: false,
            params,
            k,
        }
    }

    /// One step for every neuron: the input due this step is added to the currents and
    /// zeroed; spikes go to `outs`, one buffer per chunk.
    pub fn update(&mut self, due_exc: &mut [Real], due_inh: &mut [Real], outs: &mut [Vec<u32>]) {
        debug_assert_eq!(outs.len(), chunks(self.v.len()));
        let cols = Cols {
            v: &mut self.v,
            se: &mut self.i_exc,
            si: &mut self.i_inh,
            refr: &mut self.refractory,
            iext: &self.i_ext,
            de: due_exc,
            di: due_inh,
        };
        let k = self.k;
        let reads = Reads {
            due: true,
            ext: self.ext_used,
        };
        for_chunks(cols, outs, &|c: Cols, offset, out: &mut Vec<u32>| {
            fused::chunk(&k, reads, c, offset, out)
        });
    }

    /// The external current, for writing; from then on the update reads it.
    pub fn external_current_mut(&mut self) -> &mut [Real] {
        self.ext_used = true;
        &mut self.i_ext
    }
}

impl fused::Kernel for Consts {
    #[inline(always)]
    fn hold_steps(&self) -> u32 {
        self.hold_steps
    }
    #[inline(always)]
    fn v_th(&self) -> Real {
        self.v_peak
    }
    #[inline(always)]
    fn v_reset(&self) -> Real {
        self.v_reset
    }
    #[inline(always)]
    fn integrate(&self, v: Real, i_e: Real, i_i: Real, i_ext: Real) -> Real {
        let k = self;
        let drive = k.k * ((v - k.v_rest) * (v - k.v_c)) + k.r * (((i_e + i_i) + k.i_bias) + i_ext);
        v + k.h_over_tau_m * drive
    }
    #[inline(always)]
    fn decay(&self, i_e: Real, i_i: Real) -> (Real, Real) {
        (
            i_e - self.h_over_tau_exc * i_e,
            i_i - self.h_over_tau_inh * i_i,
        )
    }
}

/// Checks the parameters of a `Qif` population at time step `dt_ms`; the error's field is
/// relative to the parameters (`v_c_mv`).
pub fn check(p: &QifParams, dt_ms: f64) -> ParamResult {
    positive("tau_m_ms", p.tau_m_ms)?;
    positive("k_per_mv", p.k_per_mv)?;
    positive("tau_syn_exc_ms", p.tau_syn_exc_ms)?;
    positive("tau_syn_inh_ms", p.tau_syn_inh_ms)?;
    positive("r_mohm", p.r_mohm)?;
    refractory("refractory_ms", p.refractory_ms, dt_ms)?;
    for (f, x) in [
        ("v_rest_mv", p.v_rest_mv),
        ("v_c_mv", p.v_c_mv),
        ("v_peak_mv", p.v_peak_mv),
        ("v_reset_mv", p.v_reset_mv),
        ("i_bias_na", p.i_bias_na),
    ] {
        finite(f, x)?;
    }
    if p.v_c_mv <= p.v_rest_mv {
        return Err(ParamError::new("v_c_mv", "v_c_mv must be above v_rest_mv"));
    }
    if p.v_peak_mv <= p.v_c_mv {
        return Err(ParamError::new(
            "v_peak_mv",
            "v_peak_mv must be above v_c_mv",
        ));
    }
    if p.v_reset_mv >= p.v_peak_mv {
        return Err(ParamError::new(
            "v_reset_mv",
            "v_reset_mv must be below v_peak_mv",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Below the rheobase R·I = k·(v_c − v_rest)²/4 the neuron settles at the stable root of
    /// k·(v − v_rest)·(v − v_c) + R·I = 0; above it, it fires periodically.
    #[test]
    fn rheobase_separates_rest_from_firing() {
        let p = QifParams::default();
        let rheobase = p.k_per_mv * (p.v_c_mv - p.v_rest_mv).powi(2) / 4.0; // 2.25 nA
        for (i, fires) in [(0.9 * rheobase, false), (1.1 * rheobase, true)] {
            let mut m = Qif::new(p.clone(), 1, 0.01);
            m.external_current_mut()[0] = i as Real;
            let mut outs = vec![Vec::new()];
            let mut spikes = 0;
            for _ in 0..200_000 {
                m.update(&mut [0.0], &mut [0.0], &mut outs);
                spikes += outs[0].len();
                outs[0].clear();
            }
            assert_eq!(spikes > 0, fires, "I = {i}: {spikes} spikes");
            if !fires {
                // The stable root: v = (v_r + v_c)/2 − sqrt(((v_c − v_r)/2)² − R·I/k).
                let half = (p.v_c_mv - p.v_rest_mv) / 2.0;
                let root = (p.v_rest_mv + p.v_c_mv) / 2.0 - (half * half - i / p.k_per_mv).sqrt();
                assert!((m.v[0] - root as Real).abs() < 1e-3, "{} vs {root}", m.v[0]);
            }
        }
    }
}
