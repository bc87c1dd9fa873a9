//! Conductance-based leaky integrate-and-fire neuron with exponentially decaying conductances,
//! integrated with forward Euler: the COBA network of Brette et al. (2007), benchmark 1, as in
//! Brian2's and NEST's benchmark scripts.
//!
//! ```text
//! dv/dt     = (g_exc·(E_exc − v) + g_inh·(E_inh − v) − (v − E_L) + R·(I_bias + I_ext)) / τ_m
//! dg_exc/dt = −g_exc / τ_exc          dg_inh/dt = −g_inh / τ_inh
//! ```
//! Conductances are dimensionless, in units of the leak conductance (a weight of 0.6 is
//! 6 nS onto a 10 nS leak). Each step updates every variable from the values at the start of
//! the step (Brian2 `method='euler'`): v ← v + h·dv/dt (held while refractory), g ← g − h·g/τ.
//! Threshold, reset, refractoriness and spike stamping are those of [`super::lif`].

use super::fused::{self, Cols};
use super::{chunks, for_chunks, refractory_steps, Reads};
use crate::file::rules::{finite, positive, refractory, ParamResult};
use crate::file::CobaLifParams;
use crate::Real;

/// Constants of the update, computed once per (parameters, dt).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Consts {
    pub(crate) h_over_tau_m: Real,
    pub(crate) h_over_tau_exc: Real,
    pub(crate) h_over_tau_inh: Real,
    pub(crate) e_l: Real,
    pub(crate) e_exc: Real,
    pub(crate) e_inh: Real,
    pub(crate) r: Real,
    pub(crate) i_bias: Real,
    pub(crate) v_th: Real,
    pub(crate) v_reset: Real,
    pub(crate) hold_steps: u32,
}

/// A population of conductance-based LIF neurons.
#[derive(Debug, Clone)]
pub struct CobaLif {
    /// Parameters as given.
    pub params: CobaLifParams,
    /// Membrane potential (mV).
    pub v: Vec<Real>,
    /// Excitatory conductance (units of the leak conductance).
    pub g_exc: Vec<Real>,
    /// Inhibitory conductance (units of the leak conductance).
    pub g_inh: Vec<Real>,
    /// Steps of refractoriness left.
    pub refractory: Vec<u32>,
    /// External current from stimuli (nA). Written through
    /// [`CobaLif::external_current_mut`], which tells the update to read it.
    pub(crate) i_ext: Vec<Real>,
    /// Whether `i_ext` has been handed out for writing (else it is zero and not read).
    pub(crate) ext_used: bool,
    pub(crate) k: Consts,
}

impl CobaLif {
    /// `n` neurons at v = E_L with closed channels.
    pub fn new(params: CobaLifParams, n: usize, dt_ms: f64) -> Self {
        let k = Consts {
            h_over_tau_m: (dt_ms / params.tau_m_ms) as Real,
            h_over_tau_exc: (dt_ms / params.tau_syn_exc_ms) as Real,
            h_over_tau_inh: (dt_ms / params.tau_syn_inh_ms) as Real,
            e_l: params.e_l_mv as Real,
            e_exc: params.e_exc_mv as Real,
            e_inh: params.e_inh_mv as Real,
            r: params.r_mohm as Real,
            i_bias: params.i_bias_na as Real,
            v_th: params.v_th_mv as Real,
            v_reset: params.v_reset_mv as Real,
            hold_steps: refractory_steps(params.refractory_ms, dt_ms).saturating_sub(1),
        };
        CobaLif {
            v: vec![params.e_l_mv as Real; n],
            g_exc: vec![0.0; n],
            g_inh: vec![0.0; n],
            refractory: vec![0; n],
            i_ext: vec![0.0; n],
            ext_used: false,
            params,
            k,
        }
    }

    /// One step for every neuron: the input due this step (`due_*`) is added to the
    /// synaptic variables and zeroed; spikes go to `outs`, one buffer per chunk.
    pub fn update(&mut self, due_exc: &mut [Real], due_inh: &mut [Real], outs: &mut [Vec<u32>]) {
        self.update_with(due_exc, due_inh, true, outs)
    }

    /// [`CobaLif::update`]; with `due_live` false the due buffers are known to be zero (all
    /// the input went straight into the conductances) and are not read. The result is the
    /// same, bit for bit, as reading the zeros.
    pub fn update_with(
        &mut self,
        due_exc: &mut [Real],
        due_inh: &mut [Real],
        due_live: bool,
        outs: &mut [Vec<u32>],
    ) {
        debug_assert_eq!(outs.len(), chunks(self.v.len()));
        let cols = Cols {
            v: &mut self.v,
            se: &mut self.g_exc,
            si: &mut self.g_inh,
            refr: &mut self.refractory,
            iext: &self.i_ext,
            de: due_exc,
            di: due_inh,
        };
        let k = self.k;
        let reads = Reads {
            due: due_live,
            ext: self.ext_used,
        };
        for_chunks(cols, outs, &|c: Cols, offset, out: &mut Vec<u32>| {
            fused::chunk(&k, reads, c, offset, out)
        });
    }

    /// The external current, for writing; from then on the update reads it (until then it
    /// is known to be zero and skipped).
    pub fn external_current_mut(&mut self) -> &mut [Real] {
        self.ext_used = true;
        &mut self.i_ext
    }
}

/// The Euler step of one neuron, for the fused pass of [`fused`] (threshold, reset and
/// refractoriness there), in the operation order of the module documentation.
impl fused::Kernel for Consts {
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
    fn integrate(&self, v: Real, g_e: Real, g_i: Real, i_ext: Real) -> Real {
        let k = self;
        let dv = g_e * (k.e_exc - v) + g_i * (k.e_inh - v) - (v - k.e_l) + k.r * (k.i_bias + i_ext);
        v + k.h_over_tau_m * dv
    }
    #[inline(always)]
    fn decay(&self, g_e: Real, g_i: Real) -> (Real, Real) {
        (
            g_e - self.h_over_tau_exc * g_e,
            g_i - self.h_over_tau_inh * g_i,
        )
    }
}

/// Checks the parameters of a `CobaLif` population at time step `dt_ms`; the error's field is
/// relative to the parameters (`tau_m_ms`).
pub fn check(p: &CobaLifParams, dt_ms: f64) -> ParamResult {
    positive("tau_m_ms", p.tau_m_ms)?;
    positive("tau_syn_exc_ms", p.tau_syn_exc_ms)?;
    positive("tau_syn_inh_ms", p.tau_syn_inh_ms)?;
    refractory("refractory_ms", p.refractory_ms, dt_ms)?;
    positive("r_mohm", p.r_mohm)?;
    for (f, x) in [
        ("e_l_mv", p.e_l_mv),
        ("e_exc_mv", p.e_exc_mv),
        ("e_inh_mv", p.e_inh_mv),
        ("v_reset_mv", p.v_reset_mv),
        ("v_th_mv", p.v_th_mv),
        ("i_bias_na", p.i_bias_na),
    ] {
        finite(f, x)?;
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
        let n = 3 * BLOCK + 17;
        let mut a = CobaLif::new(CobaLifParams::default(), n, 0.1);
        for (j, v) in a.v.iter_mut().enumerate() {
            *v = -60.0 + (j * 37 % 100) as Real * 0.1;
        }
        let mut b = a.clone();
        fn cols<'a>(m: &'a mut CobaLif, de: &'a mut [Real], di: &'a mut [Real]) -> Cols<'a> {
            Cols {
                v: &mut m.v,
                se: &mut m.g_exc,
                si: &mut m.g_inh,
                refr: &mut m.refractory,
                iext: &m.i_ext,
                de,
                di,
            }
        }
        let mut spikes = 0;
        for step in 0..400 {
            let input = |j: usize| {
                if (j + step).is_multiple_of(7) {
                    0.3
                } else {
                    0.0
                }
            };
            let mut de: Vec<Real> = (0..n).map(input).collect();
            let mut di: Vec<Real> = (0..n).map(|j| 0.5 * input(j + 3)).collect();
            let (mut de2, mut di2) = (de.clone(), di.clone());
            let (mut out_a, mut out_b) = (Vec::new(), Vec::new());
            let k = a.k;
            fused::blocks::<_, true, true, true>(
                &k,
                cols(&mut a, &mut de, &mut di),
                0,
                &mut out_a,
                Isa::best(),
            );
            fused::blocks::<_, false, true, true>(
                &k,
                cols(&mut b, &mut de2, &mut di2),
                0,
                &mut out_b,
                Isa::Scalar,
            );
            assert_eq!(out_a, out_b, "step {step}");
            spikes += out_a.len();
            assert!(a.refractory.iter().all(|&r| r & SPIKED == 0));
            assert_eq!(a.refractory, b.refractory);
            let bits = |x: &[Real]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&a.v), bits(&b.v));
            assert_eq!(bits(&a.g_exc), bits(&b.g_exc));
            assert_eq!(bits(&a.g_inh), bits(&b.g_inh));
        }
        assert!(spikes > 100, "{spikes} spikes: the check needs spikes");
    }

    #[test]
    fn euler_relaxes_to_the_conductance_weighted_equilibrium() {
        // With constant conductances the fixed point is
        // v* = (E_L + g_e·E_e + g_i·E_i + R·I) / (1 + g_e + g_i); hold them constant by using
        // very long synaptic time constants and check v converges there.
        let p = CobaLifParams {
            tau_syn_exc_ms: 1e12,
            tau_syn_inh_ms: 1e12,
            v_th_mv: 1e9,
            i_bias_na: 5.0,
            ..CobaLifParams::default()
        };
        let mut m = CobaLif::new(p.clone(), 1, 0.1);
        m.g_exc[0] = 0.3;
        m.g_inh[0] = 0.2;
        let mut outs = vec![Vec::new()];
        let (mut de, mut di) = (vec![0.0], vec![0.0]);
        for _ in 0..20_000 {
            m.update(&mut de, &mut di, &mut outs);
        }
        let v_star = (p.e_l_mv + 0.3 * p.e_exc_mv + 0.2 * p.e_inh_mv + p.i_bias_na) / 1.5;
        // f32: Euler stops where a step (h/τ_m = 0.005 times the slope 1.5 times the
        // distance) is below half an ulp of v (1.9e-6 at 47 mV): 2.5e-4 from v*.
        let tol = if cfg!(feature = "f32") { 5e-4 } else { 1e-6 };
        assert!(
            (m.v[0] - v_star as Real).abs() < tol,
            "{} vs {v_star}",
            m.v[0]
        );
    }

    #[test]
    fn one_euler_step_matches_the_formula() {
        let p = CobaLifParams {
            v_th_mv: 1e9,
            ..CobaLifParams::default()
        };
        let mut m = CobaLif::new(p.clone(), 1, 0.1);
        m.v[0] = -55.0;
        m.g_exc[0] = 0.6;
        m.g_inh[0] = 6.7;
        let mut outs = vec![Vec::new()];
        m.update(&mut [0.0], &mut [0.0], &mut outs);
        let dv = 0.6 * (0.0 + 55.0) + 6.7 * (-80.0 + 55.0) - (-55.0 + 60.0) + 20.0;
        // f32: within a few ulps (4e-6 at 55 mV, 5e-7 at 6.7).
        let (tol_v, tol_g) = if cfg!(feature = "f32") {
            (2e-5, 2e-6)
        } else {
            (1e-12, 1e-15)
        };
        assert!((m.v[0] - (-55.0 + 0.1 / 20.0 * dv)).abs() < tol_v);
        assert!((m.g_exc[0] - 0.6 * (1.0 - 0.1 / 5.0)).abs() < tol_g);
        assert!((m.g_inh[0] - 6.7 * (1.0 - 0.1 / 10.0)).abs() < tol_g);
    }
}
