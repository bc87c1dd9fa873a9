//! Backpropagation through time for a two-layer spiking policy: input currents → a spiking
//! hidden layer (snnTorch `Leaky` or `Synaptic` semantics) → dense weights → a non-spiking
//! leaky readout (`Leaky` with reset `none`), with a surrogate derivative for the spike.
//!
//! Forward, per hidden neuron, with R_t = H(mem_{t−1} − θ) the reset computed from the
//! previous membrane and detached from the gradient (snnTorch's semantics):
//!
//! ```text
//! Leaky:     mem_t = k_t·β·mem_{t−1} + x_t − s_t
//! Synaptic:  syn_t = α·syn_{t−1} + x_t,   mem_t = k_t·(β·mem_{t−1} + syn_t) − s_t
//!            reset 'zero': k_t = 1 − R_t, s_t = 0;  'subtract': k_t = 1, s_t = θ·R_t;  'none': k_t = 1, s_t = 0
//! spk_t = H(mem_t − θ)            readout: out_t = β_r·out_{t−1} + W2ᵀ·spk_t + b2
//! ```
//!
//! Backward, from the gradients g_t = ∂L/∂out_t, with σ' the surrogate derivative:
//!
//! ```text
//! ō_t = g_t + β_r·ō_{t+1}                   ∂L/∂W2 += spk_t ⊗ ō_t,  ∂L/∂b2 += ō_t
//! m̄_t = (W2·ō_t)·σ'(mem_t − θ) + k_{t+1}·β·m̄_{t+1}
//! Leaky: x̄_t = m̄_t       Synaptic: s̄_t = k_t·m̄_t + α·s̄_{t+1},  x̄_t = s̄_t
//! ```
//!
//! snnTorch `Alpha` (reset `zero` or `none`; τ_α = ln α/(ln β − ln α) + 1, as coded in
//! snnTorch): the input enters an excitatory and an inhibitory state with opposite signs, so it
//! cancels in the membrane of its own step:
//!
//! ```text
//! e_t = k_t·(α·e_{t−1} + x_t),  n_t = k_t·(β·n_{t−1} − x_t),  mem_t = k_t·τ_α·(α·e_{t−1} + β·n_{t−1})
//! m̄_t = (W2·ō_t)·σ'(mem_t − θ)
//! ē_t = k_{t+1}·α·(ē_{t+1} + τ_α·m̄_{t+1}),  n̄_t = k_{t+1}·β·(n̄_{t+1} + τ_α·m̄_{t+1}),  x̄_t = k_t·(ē_t − n̄_t)
//! ```
//!
//! The neuron's part of these lines, its step and its adjoint recursion, is written once, in
//! the model's own file (`models::lif::LeakyStep`, `models::synaptic::SynapticStep`,
//! `models::alpha::AlphaStep`, through `models::step::SnnTorchStep`), and the engine's
//! populations run the same functions; this file is the layer around them: the loops over
//! neurons and time, one copy per (model, reset) pair, the readout and the gradient sums.
//! (The unfactored backward pass takes m̄_t of `Alpha` as its direct term, without adding
//! k_{t+1}·0·m̄_{t+1}: the factored pass always did so, and the two differ at most in the
//! sign of a zero.)
//!
//! x̄_t = ∂L/∂x_t is returned per step; the caller turns it into input-weight gradients
//! (x_t = W1ᵀ·input_t + b1, so ∂L/∂W1 += input_t ⊗ x̄_t). This is checked against snnTorch's
//! autograd on the reference network of `snntorch_reference.json` (`bptt`).

// Index loops mirror the equations above, over several arrays at once.
#![allow(clippy::needless_range_loop)]

use crate::file::Reset;
use crate::models::alpha::AlphaStep;
use crate::models::lif::LeakyStep;
use crate::models::step::{heaviside, keep, with_reset, ResetKind, SnnTorchStep};
use crate::models::synaptic::SynapticStep;

/// The surrogate derivative is part of the graph-file format (`task.*.surrogate`); its math is
/// here.
pub use crate::file::Surrogate;

impl Surrogate {
    /// dspk/dmem at u = mem − θ.
    #[inline]
    pub fn grad(&self, u: f64) -> f64 {
        match *self {
            Surrogate::FastSigmoid { slope } => {
                let d = slope * u.abs() + 1.0;
                1.0 / (d * d)
            }
            Surrogate::Sigmoid { slope } => {
                let e = (-slope * u).exp();
                slope * e / ((e + 1.0) * (e + 1.0))
            }
            Surrogate::Atan { alpha } => {
                let z = std::f64::consts::FRAC_PI_2 * alpha * u;
                alpha / 2.0 / (1.0 + z * z)
            }
        }
    }
}

/// The hidden layer's neuron.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Hidden {
    /// snnTorch `Leaky`.
    Leaky {
        /// Membrane decay β.
        beta: f64,
    },
    /// snnTorch `Synaptic`.
    Synaptic {
        /// Synaptic decay α.
        alpha: f64,
        /// Membrane decay β.
        beta: f64,
    },
    /// snnTorch `Alpha` (reset `Zero` or `NoReset`).
    Alpha {
        /// Excitatory decay α.
        alpha: f64,
        /// Inhibitory decay β.
        beta: f64,
        /// τ_α, the factor from the synaptic states to the membrane.
        tau: f64,
    },
}

/// The fixed parts of the network (weights are passed separately).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Layers {
    /// Hidden neurons.
    pub hidden: usize,
    /// Readout neurons.
    pub out: usize,
    /// Hidden neuron model.
    pub neuron: Hidden,
    /// Hidden reset.
    pub reset: Reset,
    /// Hidden threshold θ.
    pub threshold: f64,
    /// Readout decay β_r.
    pub beta_out: f64,
    /// Surrogate derivative.
    pub surrogate: Surrogate,
}

/// What the forward pass keeps for the backward pass, for T steps (step-major arrays).
#[derive(Debug, Clone, Default)]
pub struct Trace {
    /// Steps recorded.
    pub steps: usize,
    /// Hidden membrane after each step's update (T × hidden).
    pub mem: Vec<f64>,
    /// Hidden spikes (T × hidden), 0 or 1.
    pub spk: Vec<f64>,
    /// Reset applied in each step (T × hidden): R_t = spk_{t−1}.
    pub reset: Vec<f64>,
    /// Readout membrane (T × out).
    pub out: Vec<f64>,
    syn: Vec<f64>,
    syn_inh: Vec<f64>,
    mem_now: Vec<f64>,
    cur: Vec<f64>,
    /// Scratch of the factored backward pass (μ, λ, k_{t+1}).
    back: Vec<f64>,
}

/// Runs `$body` with `$n` bound to the hidden neuron's [`SnnTorchStep`] and the type `$r` to
/// its [`ResetKind`]: one copy of the loops per (model, reset) pair. `Alpha` is trained with
/// `Zero` or `NoReset` only (the agents refuse `Subtract`); given `Subtract` it steps without
/// a reset, as `k_t = 1` and no subtraction always did here.
macro_rules! with_neuron {
    ($layers:expr, $n:ident, $r:ident => $body:expr) => {{
        let thr = $layers.threshold;
        match $layers.neuron {
            Hidden::Leaky { beta } => {
                let $n = LeakyStep { beta, thr };
                with_reset!($layers.reset, $r => $body)
            }
            Hidden::Synaptic { alpha, beta } => {
                let $n = SynapticStep { alpha, beta, thr };
                with_reset!($layers.reset, $r => $body)
            }
            Hidden::Alpha { alpha, beta, tau } => {
                let $n = AlphaStep {
                    alpha,
                    beta,
                    tau,
                    thr,
                };
                let reset = match $layers.reset {
                    Reset::Subtract => Reset::NoReset,
                    r => r,
                };
                with_reset!(reset, $r => $body)
            }
        }
    }};
}

impl Layers {
    /// Runs T steps from zero state. `x(t, buf)` writes the hidden input currents of step t
    /// into `buf`; `w2` is hidden × out (row-major by hidden neuron), `b2` the readout bias.
    pub fn forward(
        &self,
        steps: usize,
        x: impl FnMut(usize, &mut [f64]),
        w2: &[f64],
        b2: Option<&[f64]>,
        tr: &mut Trace,
    ) {
        with_neuron!(self, n, R => self.forward_with::<_, R>(n, steps, x, w2, b2, tr))
    }

    fn forward_with<N: SnnTorchStep<f64>, R: ResetKind>(
        &self,
        neuron: N,
        steps: usize,
        mut x: impl FnMut(usize, &mut [f64]),
        w2: &[f64],
        b2: Option<&[f64]>,
        tr: &mut Trace,
    ) {
        let (h, o) = (self.hidden, self.out);
        debug_assert_eq!(w2.len(), h * o);
        tr.steps = steps;
        for v in [&mut tr.mem, &mut tr.spk, &mut tr.reset] {
            v.clear();
            v.resize(steps * h, 0.0);
        }
        tr.out.clear();
        tr.out.resize(steps * o, 0.0);
        tr.syn.clear();
        tr.syn.resize(h, 0.0);
        tr.syn_inh.clear();
        tr.syn_inh.resize(h, 0.0);
        tr.mem_now.clear();
        tr.mem_now.resize(h, 0.0);
        let mut cur = std::mem::take(&mut tr.cur);
        cur.resize(h, 0.0);
        let theta = self.threshold;
        for t in 0..steps {
            x(t, &mut cur);
            let row = t * h..(t + 1) * h;
            let (mem_now, syn, inh) =
                (&mut tr.mem_now[..h], &mut tr.syn[..h], &mut tr.syn_inh[..h]);
            let (mem, reset, spk) = (
                &mut tr.mem[row.clone()],
                &mut tr.reset[row.clone()],
                &mut tr.spk[row.clone()],
            );
            for j in 0..h {
                let r = heaviside(mem_now[j], theta);
                neuron.step::<R>(r, cur[j], &mut mem_now[j], &mut syn[j], &mut inh[j]);
                let m = mem_now[j];
                mem[j] = m;
                reset[j] = r;
                spk[j] = heaviside(m, theta);
            }
            let (prev_out, this_out) = tr.out.split_at_mut(t * o);
            let this_out = &mut this_out[..o];
            for c in 0..o {
                let before = if t == 0 {
                    0.0
                } else {
                    prev_out[(t - 1) * o + c]
                };
                this_out[c] = self.beta_out * before + b2.map_or(0.0, |b| b[c]);
            }
            for j in 0..h {
                if tr.spk[row.start + j] != 0.0 {
                    let wr = &w2[j * o..(j + 1) * o];
                    for c in 0..o {
                        this_out[c] += wr[c];
                    }
                }
            }
        }
        tr.cur = cur;
    }

    /// Backward pass. `g_out` is ∂L/∂out_t (T × out). Writes ∂L/∂x_t into `g_x` (T × hidden)
    /// and adds ∂L/∂W2 and ∂L/∂b2 into `g_w2` (hidden × out) and `g_b2`.
    pub fn backward(
        &self,
        tr: &Trace,
        g_out: &[f64],
        w2: &[f64],
        g_x: &mut [f64],
        g_w2: &mut [f64],
        g_b2: Option<&mut [f64]>,
    ) {
        with_neuron!(self, n, R => self.backward_with::<_, R>(n, tr, g_out, w2, g_x, g_w2, g_b2))
    }

    #[allow(clippy::too_many_arguments)]
    fn backward_with<N: SnnTorchStep<f64>, R: ResetKind>(
        &self,
        neuron: N,
        tr: &Trace,
        g_out: &[f64],
        w2: &[f64],
        g_x: &mut [f64],
        g_w2: &mut [f64],
        mut g_b2: Option<&mut [f64]>,
    ) {
        let (h, o, steps) = (self.hidden, self.out, tr.steps);
        let mut o_bar = vec![0.0; o];
        let mut m_next = vec![0.0; h]; // m̄_{t+1}
        let mut k_next = vec![0.0; h]; // k_{t+1}
        let mut a_next = vec![0.0; h]; // s̄_{t+1} (Alpha: ē_{t+1})
        let mut b_next = vec![0.0; h]; // Alpha: n̄_{t+1}
        for t in (0..steps).rev() {
            for c in 0..o {
                o_bar[c] = g_out[t * o + c] + self.beta_out * o_bar[c];
            }
            if let Some(b) = g_b2.as_deref_mut() {
                for c in 0..o {
                    b[c] += o_bar[c];
                }
            }
            let row = t * h;
            for j in 0..h {
                let wr = &w2[j * o..(j + 1) * o];
                if tr.spk[row + j] != 0.0 {
                    let gw = &mut g_w2[j * o..(j + 1) * o];
                    for c in 0..o {
                        gw[c] += o_bar[c];
                    }
                }
                let mut d_spk = 0.0;
                for c in 0..o {
                    d_spk += wr[c] * o_bar[c];
                }
                let drive = d_spk * self.surrogate.grad(tr.mem[row + j] - self.threshold);
                let k_t = keep::<R, f64>(tr.reset[row + j]);
                g_x[row + j] = neuron.adjoint(
                    drive,
                    k_t,
                    k_next[j],
                    &mut m_next[j],
                    &mut a_next[j],
                    &mut b_next[j],
                );
                k_next[j] = k_t;
            }
        }
    }
}

/// The backward pass of a policy decision, factored. When the inputs are constant over the
/// T steps and the loss depends on the readout only through the mean membrane
/// z = (1/T)·Σ_t out_t (the action logits), every gradient is linear in dz = ∂L/∂z:
///
/// ```text
/// ∂L/∂W2[j,c] = dz_c·q_j,       q_j = Σ_t κ_t·spk_t,j,   κ_t = (1/T)·Σ_{s≥t} β_r^(s−t)
/// Σ_t ∂L/∂x_t,j = u_j·ν_j,      u = W2·dz,  ν_j = Σ_t λ_t,j
/// ```
///
/// with λ_t the x̄_t of the neuron's backward recursion driven by κ_t·σ'(mem_t − θ) instead of
/// (W2·ō_t)·σ'(mem_t − θ) (the model's [`SnnTorchStep::adjoint`]); for `Leaky`,
/// μ_t = κ_t·σ'(mem_t − θ) + k_{t+1}·β·μ_{t+1} and λ_t = μ_t. So a decision keeps q and ν
/// (two vectors of the hidden size) instead of its whole trace, and its gradient can be formed
/// later for any dz (for REINFORCE: once the advantage is known). [`Layers::backward`] computes
/// the same numbers unfactored (tested).
impl Layers {
    /// Writes q and ν of a decision (see the type's documentation) for a trace of `tr.steps`
    /// steps.
    pub fn policy_factors(&self, tr: &mut Trace, q: &mut [f64], nu: &mut [f64]) {
        with_neuron!(self, n, R => self.policy_factors_with::<_, R>(n, tr, q, nu))
    }

    fn policy_factors_with<N: SnnTorchStep<f64>, R: ResetKind>(
        &self,
        neuron: N,
        tr: &mut Trace,
        q: &mut [f64],
        nu: &mut [f64],
    ) {
        let (h, steps) = (self.hidden, tr.steps);
        q.iter_mut().for_each(|x| *x = 0.0);
        nu.iter_mut().for_each(|x| *x = 0.0);
        let mut back = std::mem::take(&mut tr.back);
        back.clear();
        back.resize(4 * h, 0.0);
        let (mu, rest) = back.split_at_mut(h);
        let (a, rest) = rest.split_at_mut(h);
        let (b, k_next) = rest.split_at_mut(h);
        let (q, nu) = (&mut q[..h], &mut nu[..h]);
        let mut kappa = 0.0;
        for t in (0..steps).rev() {
            kappa = 1.0 / steps as f64 + self.beta_out * kappa;
            let row = t * h;
            let (spk, mem, reset) = (
                &tr.spk[row..row + h],
                &tr.mem[row..row + h],
                &tr.reset[row..row + h],
            );
            for j in 0..h {
                q[j] += kappa * spk[j];
                let drive = kappa * self.surrogate.grad(mem[j] - self.threshold);
                let k_t = keep::<R, f64>(reset[j]);
                nu[j] += neuron.adjoint(drive, k_t, k_next[j], &mut mu[j], &mut a[j], &mut b[j]);
                k_next[j] = k_t;
            }
        }
        tr.back = back;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reverse mode equals forward mode: propagating a tangent through the same linearisation
    /// (dspk = σ'(mem − θ)·dmem, resets detached) gives, for each input x_t,j, the same
    /// derivative of L = Σ c·out as the backward pass. Spiking networks, all neurons and resets.
    #[test]
    fn backward_equals_forward_mode_tangents() {
        let xs: Vec<f64> = (0..30).map(|i| ((i * 7 % 11) as f64) * 0.21).collect();
        let w2 = [0.3, -0.2, 0.5, 0.1, -0.4, 0.7];
        let coef: Vec<f64> = (0..20).map(|i| 0.1 * i as f64 - 0.7).collect();
        for neuron in [
            Hidden::Leaky { beta: 0.8 },
            Hidden::Synaptic {
                alpha: 0.7,
                beta: 0.9,
            },
        ] {
            for reset in [Reset::Zero, Reset::Subtract, Reset::NoReset] {
                let l = Layers {
                    hidden: 3,
                    out: 2,
                    neuron,
                    reset,
                    threshold: 1.0,
                    beta_out: 0.85,
                    surrogate: Surrogate::Atan { alpha: 2.0 },
                };
                let mut tr = Trace::default();
                l.forward(
                    10,
                    |t, b| b.copy_from_slice(&xs[t * 3..t * 3 + 3]),
                    &w2,
                    None,
                    &mut tr,
                );
                assert!(tr.spk.iter().sum::<f64>() >= 3.0, "the test needs spikes");
                let mut gx = vec![0.0; 30];
                let mut gw = vec![0.0; 6];
                l.backward(&tr, &coef, &w2, &mut gx, &mut gw, None);
                let (alpha, beta) = match neuron {
                    Hidden::Leaky { beta } => (0.0, beta),
                    Hidden::Synaptic { alpha, beta } => (alpha, beta),
                    Hidden::Alpha { .. } => unreachable!("tested on its own"),
                };
                for probe in 0..30 {
                    let (mut dsyn, mut dmem, mut dout) = ([0.0; 3], [0.0; 3], [0.0; 2]);
                    let mut dl = 0.0;
                    for t in 0..10 {
                        let mut dspk = [0.0; 3];
                        for j in 0..3 {
                            let dx = if probe == t * 3 + j { 1.0 } else { 0.0 };
                            let k = match reset {
                                Reset::Zero => 1.0 - tr.reset[t * 3 + j],
                                _ => 1.0,
                            };
                            dmem[j] = match neuron {
                                Hidden::Leaky { .. } => k * beta * dmem[j] + dx,
                                Hidden::Synaptic { .. } => {
                                    dsyn[j] = alpha * dsyn[j] + dx;
                                    k * (beta * dmem[j] + dsyn[j])
                                }
                                Hidden::Alpha { .. } => unreachable!("tested on its own"),
                            };
                            dspk[j] = l.surrogate.grad(tr.mem[t * 3 + j] - 1.0) * dmem[j];
                        }
                        for c in 0..2 {
                            dout[c] = 0.85 * dout[c]
                                + (0..3).map(|j| w2[j * 2 + c] * dspk[j]).sum::<f64>();
                            dl += coef[t * 2 + c] * dout[c];
                        }
                    }
                    assert!(
                        (dl - gx[probe]).abs() <= 1e-12 * (1.0 + dl.abs()),
                        "{neuron:?} {reset:?} x[{probe}]: forward {dl} vs backward {}",
                        gx[probe]
                    );
                }
            }
        }
    }

    /// `Alpha`: reverse mode equals a forward-mode tangent through the same linearisation, and
    /// the factored policy backward equals the unfactored one, for resets `Zero` and `NoReset`.
    #[test]
    fn alpha_backward_equals_forward_mode_and_policy_factors() {
        let xs: Vec<f64> = (0..30).map(|i| ((i * 7 % 11) as f64) * 0.12).collect();
        let w2 = [0.3, -0.2, 0.5, 0.1, -0.4, 0.7];
        let coef: Vec<f64> = (0..20).map(|i| 0.1 * i as f64 - 0.7).collect();
        let (alpha, beta) = (0.9f64, 0.8f64);
        let tau = alpha.ln() / (beta.ln() - alpha.ln()) + 1.0;
        let neuron = Hidden::Alpha { alpha, beta, tau };
        for reset in [Reset::Zero, Reset::NoReset] {
            let l = Layers {
                hidden: 3,
                out: 2,
                neuron,
                reset,
                threshold: 1.0,
                beta_out: 0.85,
                surrogate: Surrogate::Atan { alpha: 2.0 },
            };
            let mut tr = Trace::default();
            l.forward(
                10,
                |t, b| b.copy_from_slice(&xs[t * 3..t * 3 + 3]),
                &w2,
                None,
                &mut tr,
            );
            assert!(tr.spk.iter().sum::<f64>() >= 3.0, "the test needs spikes");
            if reset == Reset::Zero {
                assert!(tr.reset.iter().sum::<f64>() >= 1.0, "the test needs resets");
            }
            let (mut gx, mut gw) = (vec![0.0; 30], vec![0.0; 6]);
            l.backward(&tr, &coef, &w2, &mut gx, &mut gw, None);
            for probe in 0..30 {
                let (mut de, mut dn, mut dout) = ([0.0; 3], [0.0; 3], [0.0; 2]);
                let mut dl = 0.0;
                for t in 0..10 {
                    let mut dspk = [0.0; 3];
                    for j in 0..3 {
                        let dx = if probe == t * 3 + j { 1.0 } else { 0.0 };
                        let k = match reset {
                            Reset::Zero => 1.0 - tr.reset[t * 3 + j],
                            _ => 1.0,
                        };
                        let (e, n) = (alpha * de[j] + dx, beta * dn[j] - dx);
                        let dmem = k * tau * (e + n);
                        de[j] = k * e;
                        dn[j] = k * n;
                        dspk[j] = l.surrogate.grad(tr.mem[t * 3 + j] - 1.0) * dmem;
                    }
                    for c in 0..2 {
                        dout[c] =
                            0.85 * dout[c] + (0..3).map(|j| w2[j * 2 + c] * dspk[j]).sum::<f64>();
                        dl += coef[t * 2 + c] * dout[c];
                    }
                }
                assert!(
                    (dl - gx[probe]).abs() <= 1e-12 * (1.0 + dl.abs()),
                    "{reset:?} x[{probe}]: forward {dl} vs backward {}",
                    gx[probe]
                );
            }
            // Constant input, logits = mean readout: factored against unfactored.
            let cur = [0.35, 0.5, 0.7];
            l.forward(10, |_, b| b.copy_from_slice(&cur), &w2, None, &mut tr);
            assert!(tr.spk.iter().sum::<f64>() > 0.0);
            let dz = [0.4, -1.3];
            let g_out: Vec<f64> = (0..20).map(|k| dz[k % 2] / 10.0).collect();
            let (mut gx, mut gw) = (vec![0.0; 30], vec![0.0; 6]);
            l.backward(&tr, &g_out, &w2, &mut gx, &mut gw, None);
            let (mut q, mut nu) = (vec![0.0; 3], vec![0.0; 3]);
            l.policy_factors(&mut tr, &mut q, &mut nu);
            for j in 0..3 {
                let u: f64 = (0..2).map(|c| w2[j * 2 + c] * dz[c]).sum();
                let gin: f64 = (0..10).map(|t| gx[t * 3 + j]).sum();
                assert!(
                    (gin - u * nu[j]).abs() < 1e-12 * (1.0 + gin.abs()),
                    "{reset:?} {j}"
                );
                for c in 0..2 {
                    assert!((gw[j * 2 + c] - dz[c] * q[j]).abs() < 1e-12);
                }
            }
        }
    }

    /// The factored policy backward equals the unfactored one for logits = mean readout.
    #[test]
    fn policy_factors_equal_the_full_backward_pass() {
        let (h, o, steps) = (5, 3, 10);
        let w2: Vec<f64> = (0..h * o)
            .map(|k| ((k * 37 % 11) as f64 - 5.0) * 0.17)
            .collect();
        let cur: Vec<f64> = (0..h).map(|j| 0.15 + 0.11 * j as f64).collect();
        let dz = [0.4, -1.3, 0.9];
        for neuron in [
            Hidden::Leaky { beta: 0.9 },
            Hidden::Synaptic {
                alpha: 0.9,
                beta: 0.95,
            },
        ] {
            for reset in [Reset::Zero, Reset::Subtract] {
                let l = Layers {
                    hidden: h,
                    out: o,
                    neuron,
                    reset,
                    threshold: 1.0,
                    beta_out: 0.95,
                    surrogate: Surrogate::default(),
                };
                let mut tr = Trace::default();
                l.forward(steps, |_, b| b.copy_from_slice(&cur), &w2, None, &mut tr);
                assert!(tr.spk.iter().sum::<f64>() > 0.0);
                let g_out: Vec<f64> = (0..steps * o).map(|k| dz[k % o] / steps as f64).collect();
                let (mut gx, mut gw) = (vec![0.0; steps * h], vec![0.0; h * o]);
                l.backward(&tr, &g_out, &w2, &mut gx, &mut gw, None);
                let (mut q, mut nu) = (vec![0.0; h], vec![0.0; h]);
                l.policy_factors(&mut tr, &mut q, &mut nu);
                for j in 0..h {
                    let u: f64 = (0..o).map(|c| w2[j * o + c] * dz[c]).sum();
                    let gin: f64 = (0..steps).map(|t| gx[t * h + j]).sum();
                    assert!(
                        (gin - u * nu[j]).abs() < 1e-12 * (1.0 + gin.abs()),
                        "{neuron:?} {reset:?} {j}"
                    );
                    for c in 0..o {
                        assert!((gw[j * o + c] - dz[c] * q[j]).abs() < 1e-12);
                    }
                }
            }
        }
    }
}
