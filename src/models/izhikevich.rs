//! The Izhikevich (2003) simple model: E. M. Izhikevich, "Simple model of spiking neurons",
//! IEEE Trans. Neural Networks 14(6):1569–1572.
//!
//! ```text
//! dv/dt = 0.04·v² + 5·v + 140 − u + I        (v in mV, t in ms)
//! du/dt = a·(b·v − u)
//! if v ≥ v_peak (30 mV): spike; v ← c, u ← u + d
//! I = I_bias + I_ext + Σ weights delivered this step
//! ```
//! Currents are in the paper's scaling, mV/ms (read as nA through a unit capacitance of 1 nF).
//! **Synaptic input is a current for one step**: the sum of the weights delivered in a step
//! (both receptors, inhibitory weights negative) is added to I for that step only, as in the
//! paper's network code (`I = I + sum(S(:,fired),2)` at dt = 1 ms); a weight w therefore
//! moves v by about w·dt mV.
//!
//! Two integration schemes (`integration`), both with the spike test on the updated value
//! (v ≥ v_peak, non-strict, as in the paper) and the spike stamped with the start of the step:
//!
//! - `Euler` (forward Euler, both variables from the old values, Brian2 `method='euler'`),
//!   evaluated in the operation order of Brian2's generated numpy code, so a run reproduces
//!   Brian2 bit for bit (the fast-spiking set is sensitive to the order):
//!   `u' = (dt·(a·((b·v) − u))) + u`, `v' = (dt·((140 + ((I + 0.04·(v·v)) + 5·v)) − u)) + v`.
//! - `HalfStep` (the paper's MATLAB code, at dt = 1 ms there): v advances in two half-steps
//!   of dt/2 with u fixed, then u over dt with the new v:
//!   `v ← (dt/2·((I + (140 + (5·v + 0.04·(v·v)))) − u)) + v` (twice),
//!   `u ← (dt·(a·((b·v) − u))) + u`. This operation order reproduces the Brian2 reference run
//!   of the scheme bit for bit; the left-to-right order of the MATLAB line drifts from it.
//!
//! No refractory period. The state starts at v = −65 mV, u = b·v (the paper's initial values);
//! `init` may set either.
//!
//! State columns: `v` (mV), `u`.

use super::{chunks, for_chunks, Columns};
use crate::file::rules::{finite, ParamError, ParamResult};
use crate::file::{IzhikevichIntegration, IzhikevichParams};
use crate::Real;

/// Initial membrane potential (mV), as in the paper's code.
pub const V_INIT_MV: Real = -65.0;

#[derive(Debug, Clone, Copy)]
struct Consts {
    a: Real,
    b: Real,
    c: Real,
    d: Real,
    v_peak: Real,
    i_bias: Real,
    dt: Real,
    half: Real,
    scheme: IzhikevichIntegration,
}

/// A population of Izhikevich neurons.
#[derive(Debug, Clone)]
pub struct Izhikevich {
    /// Parameters as given.
    pub params: IzhikevichParams,
    /// Membrane potential (mV).
    pub v: Vec<Real>,
    /// Recovery variable.
    pub u: Vec<Real>,
    /// External current from stimuli (nA, i.e. mV/ms).
    pub i_ext: Vec<Real>,
    k: Consts,
}

impl Izhikevich {
    /// `n` neurons at v = −65 mV, u = b·v.
    pub fn new(params: IzhikevichParams, n: usize, dt_ms: f64) -> Self {
        let k = Consts {
            a: params.a as Real,
            b: params.b as Real,
            c: params.c as Real,
            d: params.d as Real,
            v_peak: params.v_peak_mv as Real,
            i_bias: params.i_bias_na as Real,
            dt: dt_ms as Real,
            half: (0.5 * dt_ms) as Real,
            scheme: params.integration,
        };
        Izhikevich {
            v: vec![V_INIT_MV as Real; n],
            u: vec![params.b as Real * V_INIT_MV; n],
            i_ext: vec![0.0; n],
            params,
            k,
        }
    }

    /// One step for every neuron: the input due this step (`due_*`) is a current for this step
    /// and is zeroed; spikes go to `outs`, one buffer per chunk.
    pub fn update(&mut self, due_exc: &mut [Real], due_inh: &mut [Real], outs: &mut [Vec<u32>]) {
        debug_assert_eq!(outs.len(), chunks(self.v.len()));
        let cols = Columns {
            rw: [&mut self.v, &mut self.u, due_exc, due_inh],
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
    let [v, u, de, di] = c.rw;
    let [iext] = c.ro;
    let n = v.len();
    let (u, de, di, iext) = (&mut u[..n], &mut de[..n], &mut di[..n], &iext[..n]);
    match k.scheme {
        IzhikevichIntegration::Euler => {
            for j in 0..n {
                let i = (k.i_bias + iext[j]) + (de[j] + di[j]);
                de[j] = 0.0;
                di[j] = 0.0;
                let (vj, uj) = (v[j], u[j]);
                // Brian2's generated order (brian2_single_neuron.json, izhikevich.euler).
                let u_new = (k.dt * (k.a * ((k.b * vj) - uj))) + uj;
                let v_new = (k.dt * ((140.0 + ((i + (0.04 * (vj * vj))) + (5.0 * vj))) - uj)) + vj;
                u[j] = u_new;
                v[j] = v_new;
            }
        }
        IzhikevichIntegration::HalfStep => {
            for j in 0..n {
                let i = (k.i_bias + iext[j]) + (de[j] + di[j]);
                de[j] = 0.0;
                di[j] = 0.0;
                let uj = u[j];
                let f = |v: Real| (i + (140.0 + ((5.0 * v) + (0.04 * (v * v))))) - uj;
                let v1 = (k.half * f(v[j])) + v[j];
                let v2 = (k.half * f(v1)) + v1;
                u[j] = (k.dt * (k.a * ((k.b * v2) - uj))) + uj;
                v[j] = v2;
            }
        }
    }
    for j in 0..n {
        if v[j] >= k.v_peak {
            v[j] = k.c;
            u[j] += k.d;
            out.push(offset + j as u32);
        }
    }
}

/// Checks the parameters of an `Izhikevich` population; the error's field is relative to the
/// parameters (`c`).
pub fn check(p: &IzhikevichParams) -> ParamResult {
    for (f, x) in [
        ("a", p.a),
        ("b", p.b),
        ("c", p.c),
        ("d", p.d),
        ("v_peak_mv", p.v_peak_mv),
        ("i_bias_na", p.i_bias_na),
    ] {
        finite(f, x)?;
    }
    if p.c >= p.v_peak_mv {
        return Err(ParamError::new("c", "the reset c must be below v_peak_mv"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resting_point_is_a_fixed_point_of_both_schemes() {
        // With b = 0.2 and I = 0, v* = −70 mV, u* = b·v* = −14 solve dv/dt = du/dt = 0
        // exactly: 0.04·4900 − 350 + 140 + 14 = 0.
        for scheme in [
            IzhikevichIntegration::Euler,
            IzhikevichIntegration::HalfStep,
        ] {
            let p = IzhikevichParams {
                integration: scheme,
                ..IzhikevichParams::rs()
            };
            let mut m = Izhikevich::new(p, 1, 0.5);
            m.v[0] = -70.0;
            m.u[0] = -14.0;
            let mut outs = vec![Vec::new()];
            for _ in 0..100 {
                m.update(&mut [0.0], &mut [0.0], &mut outs);
            }
            assert!((m.v[0] + 70.0).abs() < 1e-9 && (m.u[0] + 14.0).abs() < 1e-9);
            assert!(outs[0].is_empty());
        }
    }
}
