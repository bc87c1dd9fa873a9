//! The rectified linear unit, as the executor steps it: the non-spiking counterpart of a
//! spiking hidden layer, for a conventional (dense) network of the same architecture
//! (`snnsim run --dense`, docs/rainbow.md).
//!
//! ```text
//! mem_t = x_t                 (no state: nothing carries over from step t − 1)
//! out_t = max(mem_t, 0)       (what the unit sends down its projections, in place of a spike)
//! ∂out_t/∂mem_t = H(mem_t)    (exact; no surrogate)
//! ```
//!
//! It is a unit of training only, not a graph-file model: the engine has no population of it.
//! It is written as a [`SnnTorchStep`] (no reset, no decay) with its own
//! [`SnnTorchStep::output`], so the executor's loops, traces and gradients are the ones the
//! spiking models use, and the only thing that differs from a spiking neuron is what it sends
//! and that derivative ([`ReluStep::slope`]).

use super::step::{LearnDecays, ResetKind, Scalar, SnnTorchStep};

/// One ReLU unit (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReluStep;

impl ReluStep {
    /// ∂out/∂mem = H(mem): 1 where the unit sends its input on, 0 where it is silent.
    #[inline(always)]
    pub fn slope<F: Scalar>(mem: F) -> F {
        if mem > F::ZERO {
            F::ONE
        } else {
            F::ZERO
        }
    }
}

impl<F: Scalar> SnnTorchStep<F> for ReluStep {
    /// mem_t = x_t; the reset and the other state variables are not used.
    #[inline(always)]
    fn step<R: ResetKind>(self, _: F, x: F, mem: &mut F, _: &mut F, _: &mut F) {
        *mem = x;
    }

    /// No state carries over, so x̄_t is the membrane's direct adjoint.
    #[inline(always)]
    fn adjoint(self, drive: F, _: F, _: F, m: &mut F, _: &mut F, _: &mut F) -> F {
        *m = drive;
        drive
    }

    /// max(mem, 0), whatever the threshold.
    #[inline(always)]
    fn output(self, mem: F, _: F) -> F {
        if mem > F::ZERO {
            mem
        } else {
            F::ZERO
        }
    }
}

/// A ReLU unit has no decay to learn.
impl<F: Scalar> LearnDecays<F> for ReluStep {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::step::ResetNone;

    /// The unit passes its input through when positive and sends 0 otherwise; its adjoint is
    /// the drive, and its slope is 1 exactly where it is active.
    #[test]
    fn relu_steps_and_differentiates_as_a_rectifier() {
        let (mut m, mut a, mut b) = (5.0, 0.0, 0.0);
        for x in [-2.0, 0.0, 0.25, 3.0] {
            SnnTorchStep::<f64>::step::<ResetNone>(ReluStep, 1.0, x, &mut m, &mut a, &mut b);
            assert_eq!(m, x, "no memory");
            let out = SnnTorchStep::<f64>::output(ReluStep, m, 1.0);
            assert_eq!(out, x.max(0.0));
            assert_eq!(ReluStep::slope(m), if x > 0.0 { 1.0 } else { 0.0 });
        }
        let mut mb = 7.0;
        let x = SnnTorchStep::<f64>::adjoint(ReluStep, 0.5, 1.0, 1.0, &mut mb, &mut a, &mut b);
        assert_eq!((x, mb), (0.5, 0.5));
    }
}
