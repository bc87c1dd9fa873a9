//! snnTorch's `Synaptic` neuron: a leaky integrate-and-fire neuron with a first-order
//! synaptic current, in discrete time (snnTorch 1.0, `snntorch/_neurons/synaptic.py`;
//! Eshraghian et al. 2023, "Training spiking neural networks using lessons from deep
//! learning", Proc. IEEE 111(9)).
//!
//! ```text
//! x_t   = Σ delivered weights of the step (both receptors) + I_ext          (dimensionless)
//! r_t   = H(mem_{t−1} − thr)              reset from the previous membrane (detached in snnTorch)
//! syn_t = α·syn_{t−1} + x_t
//! Subtract: mem_t = (β·mem_{t−1} + syn_t) − r_t·thr
//! Zero:     mem_t = (1 − r_t)·(β·mem_{t−1} + syn_t)      (syn is not reset, as coded in snnTorch)
//! NoReset:  mem_t = β·mem_{t−1} + syn_t
//! spike_t = H(mem_t − thr),  H(z) = 1 if z > 0 (strict)
//! ```
//! α and β are given per step, or as time constants with α = exp(−dt/τ_syn),
//! β = exp(−dt/τ_mem). There is no refractory period. The integration *is* the discrete map
//! (no ODE is approximated); the order of the operations is snnTorch's, so a float64 run
//! reproduces snnTorch's float64 output.
//!
//! Synaptic input: the weights delivered in a step (a spike emitted in step n through a delay
//! of d steps is delivered in step n + d) are summed over both receptors and are snnTorch's
//! input x_t of that step; inhibitory weights are negative. `Dc` stimuli add to x_t.
//!
//! State columns: `v` (snnTorch's `mem`, before the delayed reset) and `syn`.
//!
//! With `reset_delay: false` (snnTorch's `reset_delay=False`, what its NIR importer builds) the
//! reset acts in the step of the spike instead: mem_t = β·mem_{t−1} + syn_t, spike_t =
//! H(mem_t − thr), then Zero: mem_t ← 0, Subtract: mem_t ← mem_t − thr (the same-step kinds of
//! [`super::step`]); `v` then holds the membrane after the reset. α, β and the threshold may
//! be given per neuron (a population's `params`); the update is then the same step with each
//! neuron's constants.
//!
//! The step of one neuron, and its backward recursion for training (the executor, `exec`), is
//! [`SynapticStep`], written once for both (see [`super::step`]):
//!
//! ```text
//! m̄_t = drive_t + k_{t+1}·β·m̄_{t+1},   s̄_t = k_t·m̄_t + α·s̄_{t+1},   x̄_t = s̄_t
//! ```

use super::step::{
    heaviside, reset_now, with_reset_timing, LearnDecays, ResetKind, ResetNone, Scalar,
    SnnTorchStep,
};
use super::{chunks, for_chunks, Columns};
use crate::file::rules::{self, finite, ParamResult};
use crate::file::{Reset, SynapticParams};
use crate::Real;

/// Constants of one (parameters, dt).
#[derive(Debug, Clone, Copy)]
struct Consts {
    step: SynapticStep<Real>,
    reset: Reset,
    reset_delay: bool,
}

/// Per-neuron constants, where a population gives them (`params`).
#[derive(Debug, Clone, Default)]
pub struct SynapticEach {
    /// α per neuron.
    pub alpha: Vec<Real>,
    /// β per neuron.
    pub beta: Vec<Real>,
    /// Threshold per neuron.
    pub thr: Vec<Real>,
}

/// The snnTorch `Synaptic` step of one neuron; state `mem` and `a` = syn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SynapticStep<F> {
    /// Synaptic decay α.
    pub alpha: F,
    /// Membrane decay β.
    pub beta: F,
    /// Threshold θ (subtracted by the `Subtract` reset).
    pub thr: F,
}

impl<F: Scalar> SnnTorchStep<F> for SynapticStep<F> {
    #[inline(always)]
    fn step<R: ResetKind>(self, r: F, x: F, mem: &mut F, syn: &mut F, _: &mut F) {
        let s = self.alpha * *syn + x;
        let base = self.beta * *mem + s;
        *mem = match R::RESET {
            Reset::Subtract => base - r * self.thr,
            Reset::Zero => (F::ONE - r) * base,
            Reset::NoReset => base,
        };
        *syn = s;
    }

    #[inline(always)]
    fn adjoint(self, drive: F, k_t: F, k_next: F, m: &mut F, s: &mut F, _: &mut F) -> F {
        let m_bar = drive + k_next * self.beta * *m;
        let s_bar = k_t * m_bar + self.alpha * *s;
        *m = m_bar;
        *s = s_bar;
        s_bar
    }
}

/// β and α: m_t = k_t·(β·m_{t−1} + s_t) (− R_t·θ) and s_t = α·s_{t−1} + x_t, so
/// ∂m_t/∂β = k_t·m_{t−1} and ∂s_t/∂α = s_{t−1}; s̄_t already holds every later step's share.
impl<F: Scalar> LearnDecays<F> for SynapticStep<F> {
    const COUNT: usize = 2;

    #[inline(always)]
    fn with_decays(self, d: [F; 2]) -> Self {
        SynapticStep {
            beta: d[0],
            alpha: d[1],
            ..self
        }
    }

    #[inline(always)]
    fn decay_grads(self, k_t: F, m_bar: F, s_bar: F, mem: F, syn: F) -> [F; 2] {
        [m_bar * k_t * mem, s_bar * syn]
    }
}

/// α (or β) from a per-step decay or a time constant: the decay as given, else
/// exp(−dt/τ), else the default.
pub(crate) fn decay(per_step: Option<f64>, tau_ms: Option<f64>, dt_ms: f64, default: f64) -> f64 {
    match (per_step, tau_ms) {
        (Some(d), _) => d,
        (None, Some(tau)) => (-dt_ms / tau).exp(),
        (None, None) => default,
    }
}

/// A population of snnTorch `Synaptic` neurons.
#[derive(Debug, Clone)]
pub struct Synaptic {
    /// Parameters as given.
    pub params: SynapticParams,
    /// Membrane (snnTorch's `mem`).
    pub v: Vec<Real>,
    /// Synaptic current (snnTorch's `syn`).
    pub syn: Vec<Real>,
    /// External input from stimuli, added to x_t.
    pub i_ext: Vec<Real>,
    /// Per-neuron α, β and threshold, replacing those of `k` where given.
    pub each: Option<Box<SynapticEach>>,
    k: Consts,
}

impl Synaptic {
    /// `n` neurons with zero state.
    pub fn new(params: SynapticParams, n: usize, dt_ms: f64) -> Self {
        let k = Consts {
            step: SynapticStep {
                alpha: (decay(params.alpha, params.tau_syn_ms, dt_ms, 0.8)) as Real,
                beta: (decay(params.beta, params.tau_mem_ms, dt_ms, 0.9)) as Real,
                thr: params.threshold as Real,
            },
            reset: params.reset,
            reset_delay: params.reset_delay,
        };
        Synaptic {
            v: vec![0.0; n],
            syn: vec![0.0; n],
            i_ext: vec![0.0; n],
            each: None,
            params,
            k,
        }
    }

    /// The names of the parameters a population may give per neuron.
    pub const PER_NEURON: &'static [&'static str] = &["alpha", "beta", "threshold"];

    /// Gives parameter `name` (one of [`Synaptic::PER_NEURON`]) one value per neuron; the
    /// others keep their single value. `values` has one value per neuron (validated).
    pub fn set_per_neuron(&mut self, name: &str, values: &[f64]) {
        let n = self.v.len();
        let k = self.k.step;
        let each = self.each.get_or_insert_with(|| {
            Box::new(SynapticEach {
                alpha: vec![k.alpha; n],
                beta: vec![k.beta; n],
                thr: vec![k.thr; n],
            })
        });
        let col = match name {
            "alpha" => &mut each.alpha,
            "beta" => &mut each.beta,
            "threshold" => &mut each.thr,
            other => unreachable!("validated per-neuron parameter {other}"),
        };
        for (c, &x) in col.iter_mut().zip(values) {
            *c = x as Real;
        }
    }

    /// The threshold of neuron `j`.
    pub fn threshold(&self, j: usize) -> Real {
        self.each.as_ref().map_or(self.k.step.thr, |e| e.thr[j])
    }

    /// The decays per step (α, β) in use.
    pub fn decays(&self) -> (Real, Real) {
        (self.k.step.alpha, self.k.step.beta)
    }

    /// One step for every neuron: the input due this step (`due_*`) is x_t and is zeroed;
    /// spikes go to `outs`, one buffer per chunk.
    pub fn update(&mut self, due_exc: &mut [Real], due_inh: &mut [Real], outs: &mut [Vec<u32>]) {
        debug_assert_eq!(outs.len(), chunks(self.v.len()));
        let k = self.k;
        if let Some(each) = &self.each {
            let cols = Columns {
                rw: [&mut self.v, &mut self.syn, due_exc, due_inh],
                ro: [&self.i_ext, &each.alpha, &each.beta, &each.thr],
                refr: &mut [],
            };
            for_chunks(
                cols,
                outs,
                &|c: Columns<4, 4>, offset, out: &mut Vec<u32>| {
                    let [iext, a, b, t] = c.ro;
                    let of = |j: usize| SynapticStep {
                        alpha: a[j],
                        beta: b[j],
                        thr: t[j],
                    };
                    let [v, syn, de, di] = c.rw;
                    with_reset_timing!(k.reset, k.reset_delay, R => update_chunk::<R>(of, [v, syn, de, di], iext, offset, out))
                },
            );
            return;
        }
        let cols = Columns {
            rw: [&mut self.v, &mut self.syn, due_exc, due_inh],
            ro: [&self.i_ext],
            refr: &mut [],
        };
        for_chunks(
            cols,
            outs,
            &|c: Columns<4, 1>, offset, out: &mut Vec<u32>| {
                let [iext] = c.ro;
                with_reset_timing!(k.reset, k.reset_delay, R => update_chunk::<R>(|_| k.step, c.rw, iext, offset, out))
            },
        );
    }
}

/// The update of one chunk; `of(j)` gives neuron j's constants (the population's, or its own).
#[inline(always)]
fn update_chunk<R: ResetKind>(
    of: impl Fn(usize) -> SynapticStep<Real>,
    [v, syn, de, di]: [&mut [Real]; 4],
    iext: &[Real],
    offset: u32,
    out: &mut Vec<u32>,
) {
    let n = v.len();
    let (syn, de, di, iext) = (&mut syn[..n], &mut de[..n], &mut di[..n], &iext[..n]);
    let mut none = 0.0;
    for j in 0..n {
        let x = (de[j] + di[j]) + iext[j];
        de[j] = 0.0;
        di[j] = 0.0;
        let k = of(j);
        if R::NOW {
            // Integrate without reset, then reset in this step (see `step::reset_now`).
            k.step::<ResetNone>(0.0, x, &mut v[j], &mut syn[j], &mut none);
            let (after, spike) = reset_now::<R, Real>(v[j], k.thr, 0.0);
            v[j] = after;
            if spike {
                out.push(offset + j as u32);
            }
        } else {
            let r = heaviside(v[j], k.thr);
            k.step::<R>(r, x, &mut v[j], &mut syn[j], &mut none);
        }
    }
    if !R::NOW {
        for (j, &m) in v.iter().enumerate() {
            if m > of(j).thr {
                out.push(offset + j as u32);
            }
        }
    }
}

/// Checks the parameters of a `Synaptic` population; the error's field is relative to the
/// parameters (`alpha`).
pub fn check(p: &SynapticParams) -> ParamResult {
    rules::decay(("alpha", p.alpha), ("tau_syn_ms", p.tau_syn_ms))?;
    rules::decay(("beta", p.beta), ("tau_mem_ms", p.tau_mem_ms))?;
    finite("threshold", p.threshold)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tau_maps_to_the_decay_per_step() {
        let p = SynapticParams {
            tau_syn_ms: Some(5.0),
            beta: Some(0.5),
            ..SynapticParams::default()
        };
        let m = Synaptic::new(p, 1, 1.0);
        assert_eq!(m.decays(), ((-0.2f64).exp() as Real, 0.5));
        let d = Synaptic::new(SynapticParams::default(), 1, 1.0);
        assert_eq!(d.decays(), (0.8, 0.9));
    }

    #[test]
    fn zero_reset_keeps_syn_and_clears_mem_one_step_after_the_spike() {
        let p = SynapticParams {
            alpha: Some(0.5),
            beta: Some(0.5),
            reset: Reset::Zero,
            ..SynapticParams::default()
        };
        let mut m = Synaptic::new(p, 1, 1.0);
        let mut outs = vec![Vec::new()];
        // x = 3: syn = 3, mem = 3 > 1, a spike.
        m.update(&mut [3.0], &mut [0.0], &mut outs);
        assert_eq!((m.syn[0], m.v[0], outs[0].len()), (3.0, 3.0, 1));
        // No input: syn = 1.5; the previous membrane was above threshold, so mem = 0.
        outs[0].clear();
        m.update(&mut [0.0], &mut [0.0], &mut outs);
        assert_eq!((m.syn[0], m.v[0], outs[0].len()), (1.5, 0.0, 0));
    }
    #[test]
    fn same_step_zero_reset_clears_mem_in_the_step_of_the_spike_and_keeps_syn() {
        let p = SynapticParams {
            alpha: Some(0.5),
            beta: Some(0.5),
            reset: Reset::Zero,
            reset_delay: false,
            ..SynapticParams::default()
        };
        let mut m = Synaptic::new(p, 2, 1.0);
        m.set_per_neuron("threshold", &[1.0, 5.0]);
        let mut outs = vec![Vec::new()];
        // x = 3: syn = 3, mem = 3; neuron 0 (threshold 1) spikes and is 0 at once.
        m.update(&mut [3.0, 3.0], &mut [0.0, 0.0], &mut outs);
        assert_eq!(outs[0], vec![0]);
        assert_eq!(
            (m.v.clone(), m.syn.clone()),
            (vec![0.0, 3.0], vec![3.0, 3.0])
        );
        // No input: syn = 1.5; mem = 0.5·0 + 1.5 spikes again (and resets), 0.5·3 + 1.5 = 3.
        outs[0].clear();
        m.update(&mut [0.0, 0.0], &mut [0.0, 0.0], &mut outs);
        assert_eq!(outs[0], vec![0]);
        assert_eq!(
            (m.v.clone(), m.syn.clone()),
            (vec![0.0, 3.0], vec![1.5, 1.5])
        );
    }
}
