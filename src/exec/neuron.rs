//! The neuron of a trained population: which discrete model it is, its reset and threshold,
//! read from the population's own model ([`Neuron::of`]). The step and the adjoint recursion
//! are the model's ([`SnnTorchStep`], in the model's file); this file only chooses them, once
//! per population and call, so that the loops over neurons are compiled per (model, reset).

use crate::file::Reset;
use crate::models::Dynamics;
use crate::real::wide;

/// The surrogate derivative is part of the graph-file format (`task.*.surrogate`); its math is
/// here, beside the only code that evaluates it.
pub use crate::file::Surrogate;

impl Surrogate {
    /// dspk/dmem at u = mem − θ.
    #[inline]
    pub fn grad(&self, u: f64) -> f64 {
        match *self {
            Surrogate::FastSigmoid { slope } => FastSigmoidGrad(slope).at(u),
            Surrogate::Sigmoid { slope } => SigmoidGrad(slope).at(u),
            Surrogate::Atan { alpha } => AtanGrad(alpha).at(u),
        }
    }
}

/// A surrogate derivative as a type, so that a loop over neurons is compiled per surrogate
/// with no `match` inside it ([`with_surrogate!`]); [`Surrogate::grad`] evaluates the same
/// functions.
pub(crate) trait SurrogateGrad: Copy {
    /// dspk/dmem at u = mem − θ.
    fn at(self, u: f64) -> f64;
}

/// [`Surrogate::FastSigmoid`]'s derivative, 1 / (slope·|u| + 1)².
#[derive(Debug, Clone, Copy)]
pub(crate) struct FastSigmoidGrad(pub f64);

/// [`Surrogate::Sigmoid`]'s derivative.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SigmoidGrad(pub f64);

/// [`Surrogate::Atan`]'s derivative.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AtanGrad(pub f64);

impl SurrogateGrad for FastSigmoidGrad {
    #[inline(always)]
    fn at(self, u: f64) -> f64 {
        let d = self.0 * u.abs() + 1.0;
        1.0 / (d * d)
    }
}

impl SurrogateGrad for SigmoidGrad {
    #[inline(always)]
    fn at(self, u: f64) -> f64 {
        let slope = self.0;
        let e = (-slope * u).exp();
        slope * e / ((e + 1.0) * (e + 1.0))
    }
}

impl SurrogateGrad for AtanGrad {
    #[inline(always)]
    fn at(self, u: f64) -> f64 {
        let alpha = self.0;
        let z = std::f64::consts::FRAC_PI_2 * alpha * u;
        alpha / 2.0 / (1.0 + z * z)
    }
}

/// Runs `$body` with `$g` bound to the [`SurrogateGrad`] of the [`Surrogate`] `$s`.
macro_rules! with_surrogate {
    ($s:expr, $g:ident => $body:expr) => {
        match $s {
            $crate::exec::Surrogate::FastSigmoid { slope } => {
                let $g = $crate::exec::neuron::FastSigmoidGrad(slope);
                $body
            }
            $crate::exec::Surrogate::Sigmoid { slope } => {
                let $g = $crate::exec::neuron::SigmoidGrad(slope);
                $body
            }
            $crate::exec::Surrogate::Atan { alpha } => {
                let $g = $crate::exec::neuron::AtanGrad(alpha);
                $body
            }
        }
    };
}
pub(crate) use with_surrogate;

/// A discrete model with a surrogate-gradient step, and its decays.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Model {
    /// snnTorch `Leaky` (`Lif` with `SnnTorch` integration).
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
    /// The adaptive-threshold LIF of LSNNs and e-prop (`Alif`,
    /// [`crate::models::alif::AlifStep`]); its reset subtracts the fixed threshold.
    Alif {
        /// Membrane decay α.
        alpha: f64,
        /// Adaptation decay ρ.
        rho: f64,
        /// Adaptation strength β (the threshold is θ + β·a).
        beta: f64,
    },
    /// A rectified linear unit ([`crate::models::relu::ReluStep`]): no state, sends
    /// max(mem, 0) instead of a spike, differentiated exactly. Not a graph-file model: the
    /// dense counterpart of a spiking population ([`super::Net::with_relu`]).
    Relu,
}

impl Model {
    /// Whether the threshold adapts ([`Model::Alif`]): the forward pass then records the
    /// adaptation per step ([`super::PopTrace::syn`]) and the surrogate's argument is
    /// mem − (θ + β·a).
    pub fn adaptive(&self) -> bool {
        matches!(self, Model::Alif { .. })
    }

    /// ∂θ_t/∂a_t: β for [`Model::Alif`], else 0.
    pub fn threshold_slope(&self) -> f64 {
        match *self {
            Model::Alif { beta, .. } => beta,
            _ => 0.0,
        }
    }
}

/// The neurons of one population as the executor steps them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Neuron {
    /// Model and decays.
    pub model: Model,
    /// Reset rule (applied from the previous step's membrane, detached from the gradient).
    pub reset: Reset,
    /// Threshold θ (relative to rest).
    pub threshold: f64,
}

impl Neuron {
    /// A ReLU unit ([`Model::Relu`]): no reset, threshold 0.
    pub fn relu() -> Self {
        Neuron {
            model: Model::Relu,
            reset: Reset::NoReset,
            threshold: 0.0,
        }
    }

    /// Whether it sends graded values (a ReLU unit) rather than spikes.
    pub fn graded(&self) -> bool {
        self.model == Model::Relu
    }

    /// The neuron of a population's model, or why it cannot be trained (a continuous-time or
    /// input model).
    pub fn of(dynamics: &Dynamics) -> Result<Self, String> {
        if dynamics.resets_now() {
            return Err(format!(
                "a trained {} population must reset in the next step (reset_delay: true); the same-step reset has no adjoint here",
                dynamics.kind()
            ));
        }
        if dynamics.has_per_neuron_params() {
            return Err(format!(
                "a trained {} population takes one value per parameter, not per-neuron `params`",
                dynamics.kind()
            ));
        }
        match dynamics {
            Dynamics::Synaptic(m) => {
                let (alpha, beta) = m.decays();
                Ok(Neuron {
                    model: Model::Synaptic {
                        alpha: wide(alpha),
                        beta: wide(beta),
                    },
                    reset: m.params.reset,
                    threshold: m.params.threshold,
                })
            }
            Dynamics::Alpha(m) => {
                if m.params.reset == Reset::Subtract {
                    return Err("an Alpha population must reset to Zero or NoReset".into());
                }
                let (alpha, beta) = m.decays();
                Ok(Neuron {
                    model: Model::Alpha {
                        alpha: wide(alpha),
                        beta: wide(beta),
                        tau: wide(m.tau_alpha()),
                    },
                    reset: m.params.reset,
                    threshold: m.params.threshold,
                })
            }
            Dynamics::Alif(m) => {
                let (alpha, rho) = m.decays();
                Ok(Neuron {
                    model: Model::Alif {
                        alpha: wide(alpha),
                        rho: wide(rho),
                        beta: m.params.beta_a,
                    },
                    reset: Reset::Subtract,
                    threshold: m.params.threshold,
                })
            }
            Dynamics::Lif(m) => match m.leaky() {
                Some((beta, reset)) => Ok(Neuron {
                    model: Model::Leaky { beta: wide(beta) },
                    reset,
                    threshold: m.params.v_th_mv - m.params.v_rest_mv,
                }),
                None => Err("a trained Lif must use SnnTorch integration".into()),
            },
            other => Err(format!(
                "the {} model has no surrogate-gradient step (trainable models: Lif with SnnTorch integration, Synaptic, Alpha, Alif)",
                other.kind()
            )),
        }
    }
}

/// Runs `$body` with `$n` bound to the [`SnnTorchStep`](crate::models::step::SnnTorchStep) of
/// the [`Neuron`] `$neuron` and the type `$r` to its
/// [`ResetKind`](crate::models::step::ResetKind): one copy of the loops per (model, reset).
macro_rules! with_neuron {
    ($neuron:expr, $n:ident, $r:ident => $body:expr) => {{
        let nrn: $crate::exec::Neuron = $neuron;
        let thr = nrn.threshold;
        match nrn.model {
            $crate::exec::Model::Leaky { beta } => {
                let $n = $crate::models::lif::LeakyStep { beta, thr };
                $crate::models::step::with_reset!(nrn.reset, $r => $body)
            }
            $crate::exec::Model::Synaptic { alpha, beta } => {
                let $n = $crate::models::synaptic::SynapticStep { alpha, beta, thr };
                $crate::models::step::with_reset!(nrn.reset, $r => $body)
            }
            $crate::exec::Model::Alpha { alpha, beta, tau } => {
                let $n = $crate::models::alpha::AlphaStep {
                    alpha,
                    beta,
                    tau,
                    thr,
                };
                // `Neuron::of` refuses `Subtract` for Alpha; a hand-made one steps without a
                // reset, as k_t = 1 and no subtraction.
                let reset = match nrn.reset {
                    $crate::file::Reset::Subtract => $crate::file::Reset::NoReset,
                    r => r,
                };
                $crate::models::step::with_reset!(reset, $r => $body)
            }
            $crate::exec::Model::Alif { alpha, rho, beta } => {
                let $n = $crate::models::alif::AlifStep {
                    alpha,
                    rho,
                    beta,
                    thr,
                };
                $crate::models::step::with_reset!(nrn.reset, $r => $body)
            }
            $crate::exec::Model::Relu => {
                let $n = $crate::models::relu::ReluStep;
                type $r = $crate::models::step::ResetNone;
                $body
            }
        }
    }};
}
pub(crate) use with_neuron;
