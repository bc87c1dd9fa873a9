//! The per-neuron step of the discrete (snnTorch) models, written once for the engine and for
//! training. Each of those models implements [`SnnTorchStep`] in its own file: `Lif` with
//! `SnnTorch` integration as [`LeakyStep`](super::lif::LeakyStep),
//! [`SynapticStep`](super::synaptic::SynapticStep), [`AlphaStep`](super::alpha::AlphaStep) and
//! the adaptive-threshold [`AlifStep`](super::alif::AlifStep):
//! the forward update of one neuron and the backward recursion of its adjoints. The engine's
//! populations call `step` over their columns in the model's floating-point type (`Real`); the
//! executor's backpropagation through time (`crate::exec`) calls `step` and `adjoint` in f64, so the
//! dynamics and their gradients exist in one place, with one order of operations.
//!
//! The reset is a type ([`ResetKind`]), not a value: a loop over neurons is compiled once per
//! (model, reset) pair, chosen once per call with [`with_reset!`], so no `match` on the reset
//! runs per neuron. The reset's timing is part of the type too: snnTorch's default
//! (`reset_delay=True`) resets from the previous step's membrane, inside
//! [`SnnTorchStep::step`]; with `reset_delay=False` (what snnTorch's NIR importer builds) the
//! reset acts in the step of the spike. The kinds with [`ResetKind::NOW`] ([`ResetZeroNow`],
//! [`ResetSubtractNow`], chosen by [`with_reset_timing!`]) run the step without reset
//! ([`ResetNone`]) and then [`reset_now`], so the dynamics stay written once; training (the
//! executor) knows only the delayed kinds.

use crate::file::Reset;
use std::ops::{Add, Mul, Sub};

/// The floating-point types the step functions run in (f64, and f32 with feature `f32`).
pub trait Scalar:
    Copy + PartialOrd + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self>
{
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
}

impl Scalar for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
}

impl Scalar for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
}

/// A reset rule as a type (see the module documentation).
pub trait ResetKind {
    /// The rule.
    const RESET: Reset;
    /// Whether the reset acts in the step of the spike (snnTorch's `reset_delay=False`)
    /// rather than in the next one.
    const NOW: bool = false;
}

/// [`Reset::Zero`] as a type.
#[derive(Debug)]
pub enum ResetZero {}
/// [`Reset::Subtract`] as a type.
#[derive(Debug)]
pub enum ResetSubtract {}
/// [`Reset::NoReset`] as a type.
#[derive(Debug)]
pub enum ResetNone {}

impl ResetKind for ResetZero {
    const RESET: Reset = Reset::Zero;
}
impl ResetKind for ResetSubtract {
    const RESET: Reset = Reset::Subtract;
}
impl ResetKind for ResetNone {
    const RESET: Reset = Reset::NoReset;
}

/// [`Reset::Zero`] in the step of the spike, as a type.
#[derive(Debug)]
pub enum ResetZeroNow {}
/// [`Reset::Subtract`] in the step of the spike, as a type.
#[derive(Debug)]
pub enum ResetSubtractNow {}

impl ResetKind for ResetZeroNow {
    const RESET: Reset = Reset::Zero;
    const NOW: bool = true;
}
impl ResetKind for ResetSubtractNow {
    const RESET: Reset = Reset::Subtract;
    const NOW: bool = true;
}

/// The reset in the step of the spike: from the membrane `m` just integrated (without
/// reset), returns the membrane after the step and whether it spiked (`m > thr`, strict).
/// `Zero` sets it to `m_reset`, `Subtract` takes `thr` off, `NoReset` leaves it.
#[inline(always)]
pub fn reset_now<R: ResetKind, F: Scalar>(m: F, thr: F, m_reset: F) -> (F, bool) {
    let spike = m > thr;
    let after = match (R::RESET, spike) {
        (_, false) | (Reset::NoReset, true) => m,
        (Reset::Zero, true) => m_reset,
        (Reset::Subtract, true) => m - thr,
    };
    (after, spike)
}

/// Runs `$body` with the type alias `$r` set to the [`ResetKind`] of the value `$reset`.
#[macro_export]
macro_rules! with_reset {
    ($reset:expr, $r:ident => $body:expr) => {
        match $reset {
            $crate::file::Reset::Zero => {
                type $r = $crate::models::step::ResetZero;
                $body
            }
            $crate::file::Reset::Subtract => {
                type $r = $crate::models::step::ResetSubtract;
                $body
            }
            $crate::file::Reset::NoReset => {
                type $r = $crate::models::step::ResetNone;
                $body
            }
        }
    };
}
pub use with_reset;

/// [`with_reset!`] with the reset's timing: `$delayed` true gives the kinds of
/// [`with_reset!`], false the same-step kinds ([`ResetZeroNow`], [`ResetSubtractNow`];
/// `NoReset` has no timing).
#[macro_export]
macro_rules! with_reset_timing {
    ($reset:expr, $delayed:expr, $r:ident => $body:expr) => {
        match ($reset, $delayed) {
            (_, true) | ($crate::file::Reset::NoReset, false) => {
                $crate::with_reset!($reset, $r => $body)
            }
            ($crate::file::Reset::Zero, false) => {
                type $r = $crate::models::step::ResetZeroNow;
                $body
            }
            ($crate::file::Reset::Subtract, false) => {
                type $r = $crate::models::step::ResetSubtractNow;
                $body
            }
        }
    };
}
pub use with_reset_timing;

/// H(z − θ) with a strict comparison: 1 if `z > theta`, else 0 (the spike, and the reset of
/// the next step computed from the same membrane).
#[inline(always)]
pub fn heaviside<F: Scalar>(z: F, theta: F) -> F {
    if z > theta {
        F::ONE
    } else {
        F::ZERO
    }
}

/// k_t, the factor a reset r_t leaves on the state in the backward recursions: 1 − r_t for
/// `Zero`, else 1.
#[inline(always)]
pub fn keep<R: ResetKind, F: Scalar>(r: F) -> F {
    match R::RESET {
        Reset::Zero => F::ONE - r,
        Reset::Subtract | Reset::NoReset => F::ONE,
    }
}

/// One discrete neuron model: its forward step and the backward recursion of its adjoints.
/// The state is the membrane and up to two further variables (`a`, `b`); a model that has fewer
/// leaves the others alone.
pub trait SnnTorchStep<F: Scalar>: Copy {
    /// One step of one neuron: `r` is the reset of this step, H(mem_{t−1} − θ) in the caller's
    /// frame, `x` the input of the step; updates `mem`, `a` and `b` in place.
    fn step<R: ResetKind>(self, r: F, x: F, mem: &mut F, a: &mut F, b: &mut F);

    /// One step of the backward recursion, from t + 1 to t. `drive` is the membrane's direct
    /// adjoint, ∂L/∂spk_t·σ'(mem_t − θ_t) (for an [`SnnTorchStep::ADAPTIVE`] model ∂L/∂spk_t
    /// includes the spike's path into `a`, the adjoint of `a` at t + 1, and the model's adjoint
    /// gives `a` its share −slope·drive); `k_t` and `k_next` are [`keep`] of steps t and t + 1.
    /// On entry `m`, `a` and `b` hold the adjoints of step t + 1 (zero after the last step), on
    /// return those of step t. Returns x̄_t = ∂L/∂x_t.
    fn adjoint(self, drive: F, k_t: F, k_next: F, m: &mut F, a: &mut F, b: &mut F) -> F;

    /// Whether the threshold moves with the second state variable `a` and a spike feeds `a`
    /// (ALIF's adaptation, [`AlifStep`](super::alif::AlifStep)): the executor then records `a`
    /// per step and differentiates both paths. False for a fixed threshold.
    const ADAPTIVE: bool = false;

    /// The threshold at a step whose second state variable is `a`, from the fixed part `thr`:
    /// `thr` itself unless [`SnnTorchStep::ADAPTIVE`].
    #[inline(always)]
    fn threshold(self, thr: F, _a: F) -> F {
        thr
    }

    /// ∂threshold/∂a: 0 unless [`SnnTorchStep::ADAPTIVE`].
    #[inline(always)]
    fn threshold_slope(self) -> F {
        F::ZERO
    }

    /// What the neuron sends down its projections at a step whose membrane is `mem`: a spike,
    /// H(mem − θ) (every spiking model), or a graded value
    /// ([`ReluStep`](super::relu::ReluStep)'s max(mem, 0)).
    #[inline(always)]
    fn output(self, mem: F, thr: F) -> F {
        heaviside(mem, thr)
    }
}

/// The decays a trained population may learn, one per neuron (docs/graph-format.md,
/// `learn_decay`): the model gives its neuron with other decays and the share of one step in
/// ∂L/∂decay, from the adjoints its [`SnnTorchStep::adjoint`] leaves and the state before the
/// step. The executor's backward pass calls both, so the dynamics stay written once: a decay
/// enters the update only as decay × previous state, and its gradient is that state times the
/// adjoint of the variable it decays.
///
/// The defaults are a model with no decay to learn.
pub trait LearnDecays<F: Scalar>: SnnTorchStep<F> {
    /// Decays per neuron that can be learned: β, then α where the model has one (0: none).
    const COUNT: usize = 0;

    /// This neuron with the decays `d` (β, α; only the first [`LearnDecays::COUNT`] are read).
    #[inline(always)]
    fn with_decays(self, _d: [F; 2]) -> Self {
        self
    }

    /// Step t's share of (∂L/∂β, ∂L/∂α): `m_bar` and `a_bar` are the adjoints of step t as
    /// [`SnnTorchStep::adjoint`] leaves them, `k_t` is [`keep`] of step t, `mem` and `a` the
    /// state before step t.
    #[inline(always)]
    fn decay_grads(self, _k_t: F, _m_bar: F, _a_bar: F, _mem: F, _a: F) -> [F; 2] {
        [F::ZERO; 2]
    }
}
