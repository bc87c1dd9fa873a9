//! Resonate-and-fire neuron: E. M. Izhikevich (2001), "Resonate-and-fire neurons", Neural
//! Networks 14:883–894. The linearisation of a neuron near an Andronov–Hopf bifurcation: a
//! damped oscillator that prefers inputs arriving at its eigenperiod (resonance), and that an
//! inhibitory pulse can make fire (post-inhibitory rebound), which no integrator does.
//!
//! ```text
//! dz/dt = (b + iω)·z + I,      z = x + i·y,   I = I_bias + I_ext (real)
//! a delivered weight w:        x ← x + w     (an instantaneous pulse)
//! y > a_th:                    spike, z ← x_reset + i·y_reset
//! ```
//! Parameters (`ResonateFire(...)`): `b_per_ms` (−0.1, damping: z decays as e^{b·t}),
//! `omega_rad_per_ms` (2π·0.04, i.e. 40 Hz), `a_th` (1), `x_reset`, `y_reset` (0, 0),
//! `i_bias` (0, per ms).
//!
//! The equation is linear, so each step is exact: with λ = b + iω and the input constant over
//! the step, z(t+h) = e^{λh}·z + (e^{λh} − 1)/λ·I. In real arithmetic, with e^{λh} = p + iq,
//! (e^{λh} − 1)/λ = c + id:
//!
//! ```text
//! x' = p·x − q·y + c·I        y' = q·x + p·y + d·I
//! ```
//! (Brian2 `method='exact'` gives the same propagator.) The pulse of the weights delivered in
//! a step is added to x before that step's rotation, as a current of one step would be; the
//! threshold is tested on the updated y (strict), the spike stamped with the start of the step.
//! No refractory period. The state starts at z = 0.
//!
//! State columns: `x` (the real part), `y` (the imaginary part, what the threshold sees).

use super::{chunks, for_chunks, Columns};
use crate::file::rules::{finite, positive, ParamError, ParamResult};
use crate::file::ResonateFireParams;
use crate::Real;

#[derive(Debug, Clone, Copy)]
struct Consts {
    p: Real,
    q: Real,
    c: Real,
    d: Real,
    a_th: Real,
    x_reset: Real,
    y_reset: Real,
    i_bias: Real,
}

/// A population of resonate-and-fire neurons.
#[derive(Debug, Clone)]
pub struct ResonateFire {
    /// Parameters as given.
    pub params: ResonateFireParams,
    /// Real part of z.
    pub x: Vec<Real>,
    /// Imaginary part of z.
    pub y: Vec<Real>,
    /// External current from stimuli (added to dx/dt).
    pub i_ext: Vec<Real>,
    k: Consts,
}

impl ResonateFire {
    /// `n` neurons at z = 0.
    pub fn new(params: ResonateFireParams, n: usize, dt_ms: f64) -> Self {
        let (b, w, h) = (params.b_per_ms, params.omega_rad_per_ms, dt_ms);
        let (p, q) = ((b * h).exp() * (w * h).cos(), (b * h).exp() * (w * h).sin());
        // (e^{λh} − 1)/λ = ((p − 1) + iq)·(b − iω)/(b² + ω²); ω > 0, so b² + ω² > 0.
        let norm = b * b + w * w;
        let (c, d) = (
            ((p - 1.0) * b + q * w) / norm,
            (q * b - (p - 1.0) * w) / norm,
        );
        let k = Consts {
            p: p as Real,
            q: q as Real,
            c: c as Real,
            d: d as Real,
            a_th: params.a_th as Real,
            x_reset: params.x_reset as Real,
            y_reset: params.y_reset as Real,
            i_bias: params.i_bias as Real,
        };
        ResonateFire {
            x: vec![0.0; n],
            y: vec![0.0; n],
            i_ext: vec![0.0; n],
            params,
            k,
        }
    }

    /// One step for every neuron: the weights due this step (both receptors, inhibitory ones
    /// negative) are a pulse on x and are zeroed; spikes go to `outs`, one buffer per chunk.
    pub fn update(&mut self, due_exc: &mut [Real], due_inh: &mut [Real], outs: &mut [Vec<u32>]) {
        debug_assert_eq!(outs.len(), chunks(self.x.len()));
        let cols = Columns {
            rw: [&mut self.x, &mut self.y, due_exc, due_inh],
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
    let [x, y, de, di] = c.rw;
    let [iext] = c.ro;
    let n = x.len();
    let (y, de, di, iext) = (&mut y[..n], &mut de[..n], &mut di[..n], &iext[..n]);
    for j in 0..n {
        let x0 = x[j] + (de[j] + di[j]);
        de[j] = 0.0;
        di[j] = 0.0;
        let i = k.i_bias + iext[j];
        let y0 = y[j];
        x[j] = (k.p * x0 - k.q * y0) + k.c * i;
        y[j] = (k.q * x0 + k.p * y0) + k.d * i;
    }
    for j in 0..n {
        if y[j] > k.a_th {
            x[j] = k.x_reset;
            y[j] = k.y_reset;
            out.push(offset + j as u32);
        }
    }
}

/// Checks the parameters of a `ResonateFire` population; the error's field is relative to the
/// parameters (`y_reset`).
pub fn check(p: &ResonateFireParams) -> ParamResult {
    positive("omega_rad_per_ms", p.omega_rad_per_ms)?;
    for (f, x) in [
        ("b_per_ms", p.b_per_ms),
        ("a_th", p.a_th),
        ("x_reset", p.x_reset),
        ("y_reset", p.y_reset),
        ("i_bias", p.i_bias),
    ] {
        finite(f, x)?;
    }
    if p.y_reset >= p.a_th {
        return Err(ParamError::new("y_reset", "y_reset must be below a_th"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without input a pulse rings down as e^{b·t}·(cos ωt, sin ωt), exactly at every step.
    #[test]
    fn a_pulse_rings_down_as_the_damped_rotation() {
        let p = ResonateFireParams {
            a_th: 1e9,
            ..ResonateFireParams::default()
        };
        let (b, w, h) = (p.b_per_ms, p.omega_rad_per_ms, 0.1);
        let mut m = ResonateFire::new(p, 1, h);
        let mut outs = vec![Vec::new()];
        m.update(&mut [0.5], &mut [0.0], &mut outs);
        for n in 1..=500 {
            let t = n as f64 * h;
            let (ex, ey) = (
                0.5 * (b * t).exp() * (w * t).cos(),
                0.5 * (b * t).exp() * (w * t).sin(),
            );
            let tol = if cfg!(feature = "f32") { 1e-5 } else { 1e-12 };
            assert!((m.x[0] - ex as Real).abs() < tol, "t={t}: x {}", m.x[0]);
            assert!((m.y[0] - ey as Real).abs() < tol, "t={t}: y {}", m.y[0]);
            m.update(&mut [0.0], &mut [0.0], &mut outs);
        }
    }

    /// Resonance: two pulses half an eigenperiod apart cancel, two a full period apart add up
    /// to a spike that neither alone gives; an inhibitory pulse alone can make it fire.
    #[test]
    fn resonance_and_rebound() {
        let p = ResonateFireParams {
            b_per_ms: -0.02,
            ..ResonateFireParams::default()
        };
        let h = 0.1;
        let period = (2.0 * std::f64::consts::PI / p.omega_rad_per_ms / h).round() as usize;
        let fire = |pulses: &[(usize, Real)]| {
            let mut m = ResonateFire::new(p.clone(), 1, h);
            let mut outs = vec![Vec::new()];
            let mut spikes = 0;
            for s in 0..4 * period {
                let w: Real = pulses
                    .iter()
                    .filter(|&&(t, _)| t == s)
                    .map(|&(_, w)| w)
                    .sum();
                m.update(&mut [w], &mut [0.0], &mut outs);
                spikes += outs[0].len();
                outs[0].clear();
            }
            spikes
        };
        assert_eq!(fire(&[(0, 0.8)]), 0);
        assert!(fire(&[(0, 0.8), (period, 0.8)]) > 0);
        assert_eq!(fire(&[(0, 0.8), (period / 2, 0.8)]), 0);
        assert!(fire(&[(0, -1.5)]) > 0, "post-inhibitory rebound");
    }
}
