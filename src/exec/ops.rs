//! The synaptic operations of a forward pass, counted from its trace, and the energy they
//! would take at 45 nm: the measure behind "a spiking network saves energy" (docs/rainbow.md,
//! `--dense`). A spike delivered through a synapse adds the weight to its target (an
//! accumulate, AC); a real value sent through it multiplies the weight first (a
//! multiply-accumulate, MAC). Counted per link of the plan:
//!
//! - from spiking neurons: one AC per synapse of each spike (the row of each neuron that
//!   spiked, each step; a recurrent link's first step reads no spikes);
//! - from ReLU units ([`super::Model::Relu`]): one MAC per weight each step, as dense hardware
//!   computes a layer whatever its zeros;
//! - from an input: one MAC per weight, once per call when the input is the same on every
//!   step (the executor sums such a link once: a decision's held observation), else each
//!   step.
//!
//! Neuron updates (leaks, thresholds, resets) are not synaptic operations and are not counted.
//! The energies per operation are Horowitz's (ISSCC 2014, 45 nm, 32-bit floating point): an
//! addition 0.9 pJ, a multiplication 3.7 pJ, so a multiply-accumulate 4.6 pJ.

use super::{Net, PopKind, Storage, Trace};
use serde::Serialize;

/// Energy of one accumulate at 45 nm (pJ; Horowitz 2014, a 32-bit floating-point addition).
pub const AC_PJ: f64 = 0.9;
/// Energy of one multiply-accumulate at 45 nm (pJ; a 32-bit floating-point multiplication,
/// 3.7 pJ, and an addition).
pub const MAC_PJ: f64 = 4.6;

/// Synaptic operations: accumulates (spikes) and multiply-accumulates (real values).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct SynOps {
    /// Accumulates: one per synapse of each spike.
    pub accumulates: u64,
    /// Multiply-accumulates: one per weight of each evaluation of a dense (real-valued) input.
    pub macs: u64,
}

impl SynOps {
    /// 0.9 pJ per accumulate + 4.6 pJ per multiply-accumulate.
    pub fn energy_pj(&self) -> f64 {
        AC_PJ * self.accumulates as f64 + MAC_PJ * self.macs as f64
    }

    /// Adds `other`.
    pub fn add(&mut self, other: SynOps) {
        self.accumulates += other.accumulates;
        self.macs += other.macs;
    }
}

impl Net {
    /// The synaptic operations of the forward pass recorded in `tr` (see the module
    /// documentation).
    pub fn synaptic_ops(&self, tr: &Trace) -> SynOps {
        let pops = self.pops();
        let mut ops = SynOps::default();
        for link in self.links() {
            let weights = link.len(pops) as u64;
            let steps = tr.steps as u64;
            match pops[link.pre].kind {
                PopKind::Input => {
                    let evaluations = if tr.pops[link.pre].constant { 1 } else { steps };
                    ops.macs += evaluations * weights;
                }
                PopKind::Neurons(n) if n.graded() => {
                    let evaluations = if link.recurrent {
                        steps.saturating_sub(1)
                    } else {
                        steps
                    };
                    ops.macs += evaluations * weights;
                }
                PopKind::Neurons(_) => {
                    let n = pops[link.pre].size;
                    let first = usize::from(link.recurrent);
                    for t in first..tr.steps {
                        let s = if link.recurrent { t - 1 } else { t };
                        let spk = &tr.pops[link.pre].spk[s * n..(s + 1) * n];
                        for (i, _) in spk.iter().enumerate().filter(|(_, &v)| v != 0.0) {
                            ops.accumulates += match &link.storage {
                                Storage::Dense => pops[link.post].size as u64,
                                Storage::Sparse { indptr, .. } => {
                                    (indptr[i + 1] - indptr[i]) as u64
                                }
                            };
                        }
                    }
                }
            }
        }
        ops
    }
}
