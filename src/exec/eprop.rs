//! e-prop (Bellec et al. 2020, "A solution to the learning dilemma for recurrent networks of
//! spiking neurons", Nat. Commun. 11:3625): the gradient of a loss on a leaky readout,
//! approximated forward in time from eligibility traces and learning signals, on the same plan,
//! trace and model steps as backpropagation through time (run.rs). For a neuron j of a hidden
//! population, a synapse i → j of weight W_ji and a readout neuron k (membrane y_k):
//!
//! ```text
//! ε_ji,t = tangent of j's state:  the model's step with the reset detached, fed x = pre_i,s
//!          (LIF:  ε_t = k_t·β·ε_{t−1} + pre_i,s;   Synaptic: ε^syn_t = α·ε^syn_{t−1} + pre_i,s,
//!           ε_t = k_t·(β·ε_{t−1} + ε^syn_t);  k_t = 1 − r_t for a reset to zero, else 1)
//! ψ_j,t  = σ'(mem_j,t − θ)                           the surrogate derivative, as in BPTT
//!          (ALIF: θ_t = θ + β·a_t, and ε gains the adaptation's tangent; see `synapse`)
//! e_ji,t = ψ_j,t·ε_ji,t                              eligibility trace
//! ē_ji,t = F_κ(e_ji)_t                               the readout's own filter (LIF: κ·ē_{t−1} + e_t)
//! L_j,t  = Σ_k B_jk·∂E/∂y_k,t                        learning signal, B = W_outᵀ (Symmetric)
//! ∂E/∂W_ji ≈ Σ_t L_j,t·ē_ji,t
//! ```
//! pre_i,s is the presynaptic value the link delivers at step t (s = t, or t − 1 for a
//! recurrent link); a bias is a synapse from a constant 1. The readout's own weights and biases
//! get their exact gradient, Σ_t ∂E/∂y_k,t·F_κ(pre_i)_t. Neither ε nor ē is written here: both
//! are the models' [`SnnTorchStep::step`] applied to tangents (the step is affine in its state
//! and input once the reset r_t is detached; its linear part is the step with `ResetZero` for a
//! reset to zero and `ResetNone` otherwise), so the only equations are the models' own.
//!
//! Exact and approximate: e-prop drops every path by which a hidden spike reaches the loss
//! other than the readout link of the same step. With one hidden population whose only
//! outgoing links go to the readout (no recurrent or hidden-to-hidden links), B = W_outᵀ and
//! the reset detached (as the executor's BPTT detaches it), no such path exists and the sum
//! above is BPTT's gradient, up to rounding (a test: `eprop_equals_bptt_*`). With recurrent
//! links the dropped paths make it an approximation.
//!
//! Why a sweep over the recorded forward pass rather than inside it: the eligibility traces
//! need only step t, but ∂E/∂y_k,t of a classification loss (the softmax of the membrane's
//! mean or maximum over the sample) is known only at the sample's end. The sweep runs forward
//! in time after the loss and reads, at step t, only step t of the trace; its memory is one
//! ε and one ē per synapse, not a history. A loss with a per-step error would let it run inside
//! the forward pass unchanged.
//!
//! What it needs of a plan ([`Net::eprop_check`]): one readout, which projects nowhere and does
//! not reset to zero (its filter F_κ must be the same for every readout neuron), and a link to
//! the readout from every hidden population (its feedback path).

// Index loops mirror the equations, over several arrays at once.
#![allow(clippy::needless_range_loop)]

use super::neuron::with_neuron;
use super::{Grads, Model, Net, Neuron, Params, PlanError, PopKind, Storage, Trace};
use crate::file::Reset;
use crate::models::alif::AlifStep;
use crate::models::alpha::AlphaStep;
use crate::models::lif::LeakyStep;
use crate::models::step::{ResetKind, ResetNone, SnnTorchStep};
use crate::models::synaptic::SynapticStep;

pub use crate::file::{Feedback, Gradient};

/// The sweep's state, kept in the [`Trace`] between samples to reuse its allocations.
#[derive(Debug, Clone, Default)]
pub(super) struct Scratch {
    /// Per link into a hidden population: ε per synapse (the postsynaptic state's tangent).
    eps: Vec<Vec<[f64; 3]>>,
    /// Per link: ē per synapse (into a hidden population), or F_κ(pre) per presynaptic
    /// neuron (into the readout).
    bar: Vec<Vec<[f64; 3]>>,
    /// Per population: the biases' ε and ē per neuron (one ē for the readout's).
    eps_b: Vec<Vec<[f64; 3]>>,
    bar_b: Vec<Vec<[f64; 3]>>,
    /// Per link: presynaptic neurons that have delivered a value (the others' traces are 0).
    alive: Vec<Vec<bool>>,
    x: Vec<f64>,
    psi: Vec<f64>,
    /// Per population with an adaptive threshold: ψ of the previous step (0 before the first).
    psi_prev: Vec<Vec<f64>>,
    r: Vec<f64>,
    l: Vec<f64>,
    /// The hidden population's ∂L/∂(spike count) per neuron (zeros without a count term).
    c: Vec<f64>,
}

/// Runs `$body` with `$n` bound to the [`SnnTorchStep`] of the model `$model` (threshold
/// `$thr`), whatever its reset.
macro_rules! with_step {
    ($model:expr, $thr:expr, $n:ident => $body:expr) => {
        match $model {
            Model::Leaky { beta } => {
                let $n = LeakyStep { beta, thr: $thr };
                $body
            }
            Model::Synaptic { alpha, beta } => {
                let $n = SynapticStep {
                    alpha,
                    beta,
                    thr: $thr,
                };
                $body
            }
            Model::Alpha { alpha, beta, tau } => {
                let $n = AlphaStep {
                    alpha,
                    beta,
                    tau,
                    thr: $thr,
                };
                $body
            }
            Model::Alif { alpha, rho, beta } => {
                let $n = AlifStep {
                    alpha,
                    rho,
                    beta,
                    thr: $thr,
                };
                $body
            }
            // Refused by `eprop_check`; stepped as what it is.
            Model::Relu => {
                let $n = crate::models::relu::ReluStep;
                $body
            }
        }
    };
}

fn reset_clear<T: Clone>(v: &mut Vec<Vec<T>>, lens: impl Iterator<Item = usize>, zero: T) {
    let lens: Vec<usize> = lens.collect();
    v.resize_with(lens.len(), Vec::new);
    for (x, n) in v.iter_mut().zip(lens) {
        x.clear();
        x.resize(n, zero.clone());
    }
}

impl Net {
    /// Whether e-prop can run on this plan, or why not, naming the population.
    pub fn eprop_check(&self) -> Result<(), PlanError> {
        let &[ro] = self.readouts() else {
            return Err(PlanError {
                what: "the plan".into(),
                reason: "e-prop needs exactly one readout".into(),
            });
        };
        let err = |q: usize, reason: &str| PlanError {
            what: format!("population `{}`", self.pops()[q].name),
            reason: reason.into(),
        };
        if !self.out_of(ro).is_empty() {
            return Err(err(
                ro,
                "e-prop's readout must project nowhere (its membrane is the output, and its spikes would need a learning signal of their own)",
            ));
        }
        if self.neuron(ro).map(|n| n.reset) == Some(Reset::Zero) {
            return Err(err(
                ro,
                "e-prop's readout must reset by NoReset or Subtract: with a reset to zero its filter F_κ would differ per readout neuron",
            ));
        }
        for q in 0..self.pops().len() {
            if self.neuron(q).is_some_and(|n| n.graded()) {
                return Err(err(
                    q,
                    "e-prop trains spiking neurons; a ReLU unit has no eligibility trace here",
                ));
            }
            if q != ro
                && self.neuron(q).is_some()
                && !self.out_of(q).iter().any(|&l| self.links()[l].post == ro)
            {
                return Err(err(
                    q,
                    "e-prop needs a link from every hidden population to the readout: its neurons' learning signals come back through it",
                ));
            }
        }
        Ok(())
    }

    /// e-prop's gradient of the last forward pass in `tr` (see the module documentation), for
    /// a loss whose gradient with respect to the readout's membrane is `g_mem` (one steps ×
    /// size slice, as for [`Net::backward`]). Adds into `g`. The plan must pass
    /// [`Net::eprop_check`].
    pub fn eprop(
        &self,
        p: &Params,
        tr: &mut Trace,
        g_mem: &[&[f64]],
        feedback: Feedback,
        g: &mut Grads,
    ) {
        self.eprop_counts(p, tr, g_mem, &[], feedback, g);
    }

    /// [`Net::eprop`] for a loss that also depends on spike counts (`g_count` as for
    /// [`Net::backward_counts`]): a count's gradient c_j = ∂L/∂n_j is known for every step,
    /// so it needs no learning signal; each step adds c_j·e_ji,t (Bellec et al. 2020's firing
    /// rate regulariser, with the unfiltered trace). For one hidden layer without recurrence
    /// this is again BPTT's gradient.
    pub fn eprop_counts(
        &self,
        p: &Params,
        tr: &mut Trace,
        g_mem: &[&[f64]],
        g_count: &[&[f64]],
        feedback: Feedback,
        g: &mut Grads,
    ) {
        assert_eq!(g_mem.len(), 1, "e-prop has one readout");
        let Feedback::Symmetric = feedback;
        let pops = self.pops();
        let ro = self.readouts()[0];
        let out = self.neuron(ro).expect("the readout is neurons");
        let n_out = pops[ro].size;
        let steps = tr.steps;
        let surrogate = self.surrogate();
        let mut sc = std::mem::take(&mut tr.eprop);
        let into_ro = |l: usize| self.links()[l].post == ro;
        let link_len = |l: usize| {
            let link = &self.links()[l];
            if into_ro(l) {
                pops[link.pre].size
            } else {
                link.len(pops)
            }
        };
        let n_links = self.links().len();
        reset_clear(&mut sc.eps, (0..n_links).map(link_len), [0.0; 3]);
        reset_clear(&mut sc.bar, (0..n_links).map(link_len), [0.0; 3]);
        reset_clear(
            &mut sc.alive,
            self.links().iter().map(|l| pops[l.pre].size),
            false,
        );
        let bias_len = |q: usize| match self.neuron(q) {
            None => 0,
            Some(_) if q == ro => 1,
            Some(_) => pops[q].size,
        };
        reset_clear(&mut sc.eps_b, (0..pops.len()).map(bias_len), [0.0; 3]);
        reset_clear(
            &mut sc.psi_prev,
            (0..pops.len()).map(|q| match self.neuron(q) {
                Some(n) if n.model.adaptive() => pops[q].size,
                _ => 0,
            }),
            0.0,
        );
        reset_clear(&mut sc.bar_b, (0..pops.len()).map(bias_len), [0.0; 3]);
        for t in 0..steps {
            let gt = &g_mem[0][t * n_out..(t + 1) * n_out];
            for q in 0..pops.len() {
                let PopKind::Neurons(nrn) = pops[q].kind else {
                    continue;
                };
                let n = pops[q].size;
                if q != ro {
                    let row = t * n..(t + 1) * n;
                    let pt = &tr.pops[q];
                    if nrn.model.adaptive() {
                        // The tangent step's r is the previous spike's tangent,
                        // ψ_{t−1}·(ε_v − β·ε_a) (see `synapse`): keep ψ_{t−1} (0 at t = 0).
                        sc.r.clear();
                        sc.r.extend_from_slice(&sc.psi_prev[q]);
                        let slope = nrn.model.threshold_slope();
                        sc.psi.clear();
                        sc.psi.extend(
                            pt.mem[row.clone()]
                                .iter()
                                .zip(&pt.syn[row])
                                .map(|(&m, &a)| surrogate.grad(m - (nrn.threshold + slope * a))),
                        );
                        sc.psi_prev[q].copy_from_slice(&sc.psi);
                    } else {
                        sc.psi.clear();
                        sc.psi.extend(
                            pt.mem[row.clone()]
                                .iter()
                                .map(|&m| surrogate.grad(m - nrn.threshold)),
                        );
                        sc.r.clear();
                        sc.r.extend_from_slice(&pt.reset[row]);
                    }
                    sc.c.clear();
                    match g_count.get(q).filter(|c| !c.is_empty()) {
                        Some(c) => sc.c.extend_from_slice(c),
                        None => sc.c.resize(n, 0.0),
                    }
                    // L_j,t = Σ_k B_jk·∂E/∂y_k,t, B = W_outᵀ over every link to the readout.
                    sc.l.clear();
                    sc.l.resize(n, 0.0);
                    for &l in self.out_of(q).iter().filter(|&&l| into_ro(l)) {
                        let w = p.weights[l];
                        match &self.links()[l].storage {
                            Storage::Dense => {
                                for j in 0..n {
                                    let wr = &w[j * n_out..(j + 1) * n_out];
                                    let mut s = 0.0;
                                    for k in 0..n_out {
                                        s += wr[k] * gt[k];
                                    }
                                    sc.l[j] += s;
                                }
                            }
                            Storage::Sparse { indptr, indices } => {
                                for j in 0..n {
                                    for c in indptr[j]..indptr[j + 1] {
                                        sc.l[j] += w[c] * gt[indices[c] as usize];
                                    }
                                }
                            }
                        }
                    }
                }
                // The tangent of a reset to zero keeps its factor 1 − r_t; the other resets
                // only add constants, which have none.
                let tangent = Neuron {
                    reset: if nrn.reset == Reset::Zero {
                        Reset::Zero
                    } else {
                        Reset::NoReset
                    },
                    ..nrn
                };
                for &l in self.into(q) {
                    let link = &self.links()[l];
                    pre_values(self, tr, link.pre, t, link.recurrent, &mut sc.x);
                    let (eps, bar, alive) = (&mut sc.eps[l], &mut sc.bar[l], &mut sc.alive[l]);
                    let gw = &mut g.weights[l];
                    if q == ro {
                        with_step!(out.model, out.threshold, f => readout_link(
                            f, &link.storage, &sc.x, alive, bar, gt, gw,
                        ));
                    } else {
                        let signals = (&sc.r[..], &sc.psi[..], &sc.l[..], &sc.c[..]);
                        with_neuron!(tangent, h, R => with_step!(out.model, out.threshold, f =>
                            hidden_link::<_, _, R>(
                                h, f, &link.storage, &sc.x, alive, (eps, bar), signals, gw,
                            )
                        ));
                    }
                }
                let Some(gb) = g.biases.get_mut(q).filter(|b| !b.is_empty()) else {
                    continue;
                };
                let (eps, bar) = (&mut sc.eps_b[q], &mut sc.bar_b[q]);
                if q == ro {
                    let [m, a, b] = &mut bar[0];
                    with_step!(out.model, out.threshold, f => f.step::<ResetNone>(0.0, 1.0, m, a, b));
                    for k in 0..n {
                        gb[k] += gt[k] * bar[0][0];
                    }
                } else {
                    let (r, psi, l, c) = (&sc.r, &sc.psi, &sc.l, &sc.c);
                    with_neuron!(tangent, h, R => with_step!(out.model, out.threshold, f => {
                        for j in 0..n {
                            gb[j] += synapse::<_, _, R>(h, f, 1.0, r[j], psi[j], (l[j], c[j]), &mut eps[j], &mut bar[j]);
                        }
                    }));
                }
            }
        }
        tr.eprop = sc;
    }
}

/// The values population `pre` delivers at step `t` through a link (recurrent: those of step
/// t − 1, none at t = 0), dense, into `x`.
fn pre_values(net: &Net, tr: &Trace, pre: usize, t: usize, recurrent: bool, x: &mut Vec<f64>) {
    x.clear();
    x.resize(net.pops()[pre].size, 0.0);
    let s = if recurrent {
        match t.checked_sub(1) {
            Some(s) => s,
            None => return,
        }
    } else {
        t
    };
    match net.pops()[pre].kind {
        PopKind::Input => {
            for &(i, v) in tr.pops[pre].input_at(s) {
                x[i as usize] = v;
            }
        }
        PopKind::Neurons(_) => x.copy_from_slice(tr.spk(pre, s)),
    }
}

/// One step of one synapse of a hidden neuron: ε from the input `x`, ē from ψ·ε; returns
/// L·ē + c·e, the step's term of the gradient (c: the spike count's gradient).
///
/// An adaptive threshold (ALIF, Bellec et al. 2020, Methods) adds the adaptation's tangent
/// ε_a: the spike's tangent is ψ_t·(ε_v − β·ε_a), and the previous one's enters ε_a through
/// the step's r (so `r` here is ψ_{t−1}, and ε_a,t = ρ·ε_a,t−1 + ψ_{t−1}·(ε_v − β·ε_a)_{t−1}).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn synapse<H: SnnTorchStep<f64>, F: SnnTorchStep<f64>, R: ResetKind>(
    h: H,
    f: F,
    x: f64,
    r: f64,
    psi: f64,
    (l, c): (f64, f64),
    eps: &mut [f64; 3],
    bar: &mut [f64; 3],
) -> f64 {
    let [m, a, b] = eps;
    let e = if H::ADAPTIVE {
        let slope = h.threshold_slope();
        h.step::<R>(r * (*m - slope * *a), x, m, a, b);
        psi * (*m - slope * *a)
    } else {
        h.step::<R>(r, x, m, a, b);
        psi * *m
    };
    let [m, a, b] = bar;
    f.step::<ResetNone>(0.0, e, m, a, b);
    l * *m + c * e
}

/// One step of the synapses of a link into a hidden population.
#[allow(clippy::too_many_arguments)]
fn hidden_link<H: SnnTorchStep<f64>, F: SnnTorchStep<f64>, R: ResetKind>(
    h: H,
    f: F,
    storage: &Storage,
    x: &[f64],
    alive: &mut [bool],
    (eps, bar): (&mut [[f64; 3]], &mut [[f64; 3]]),
    (r, psi, l, c): (&[f64], &[f64], &[f64], &[f64]),
    gw: &mut [f64],
) {
    let n = r.len();
    for i in 0..x.len() {
        let xi = x[i];
        alive[i] |= xi != 0.0;
        if !alive[i] {
            continue;
        }
        match storage {
            Storage::Dense => {
                let (eps, bar, gw) = (
                    &mut eps[i * n..(i + 1) * n],
                    &mut bar[i * n..(i + 1) * n],
                    &mut gw[i * n..(i + 1) * n],
                );
                for j in 0..n {
                    gw[j] += synapse::<H, F, R>(
                        h,
                        f,
                        xi,
                        r[j],
                        psi[j],
                        (l[j], c[j]),
                        &mut eps[j],
                        &mut bar[j],
                    );
                }
            }
            Storage::Sparse { indptr, indices } => {
                for k in indptr[i]..indptr[i + 1] {
                    let j = indices[k] as usize;
                    gw[k] += synapse::<H, F, R>(
                        h,
                        f,
                        xi,
                        r[j],
                        psi[j],
                        (l[j], c[j]),
                        &mut eps[k],
                        &mut bar[k],
                    );
                }
            }
        }
    }
}

/// One step of a link into the readout: F_κ of each presynaptic value, times ∂E/∂y_k,t.
fn readout_link<F: SnnTorchStep<f64>>(
    f: F,
    storage: &Storage,
    x: &[f64],
    alive: &mut [bool],
    bar: &mut [[f64; 3]],
    gt: &[f64],
    gw: &mut [f64],
) {
    let n = gt.len();
    for i in 0..x.len() {
        alive[i] |= x[i] != 0.0;
        if !alive[i] {
            continue;
        }
        let [m, a, b] = &mut bar[i];
        f.step::<ResetNone>(0.0, x[i], m, a, b);
        let v = *m;
        match storage {
            Storage::Dense => {
                let gr = &mut gw[i * n..(i + 1) * n];
                for k in 0..n {
                    gr[k] += v * gt[k];
                }
            }
            Storage::Sparse { indptr, indices } => {
                for c in indptr[i]..indptr[i + 1] {
                    gw[c] += v * gt[indices[c] as usize];
                }
            }
        }
    }
}
