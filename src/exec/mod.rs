//! The differentiable executor: a graph file's network run forward and backward through time,
//! for training. It is the engine's twin for gradients: where [`crate::engine::Engine::step`]
//! advances every population of a [`crate::graph::Network`] one step with its model's step
//! function (event-driven, ring buffers, delays), the executor runs the same model step
//! functions over T steps of a plan made from the same network ([`Net::from_network`]),
//! keeps what the backward pass needs ([`Trace`]), and runs the models' adjoint recursions
//! back through time ([`Net::backward`]). Each neuron model's step and adjoint are written
//! once, in the model's own file ([`crate::models::step::SnnTorchStep`]); nothing here knows
//! a model's equations.
//!
//! ```text
//!             for t in 0..T                                   for t in T−1..=0
//!  inputs ──▶ for each population, in order:                  for each population, reversed:
//!  (Seq)        x_t = bias + Σ_links W·spk_pre                  spk̄ = Σ_out-links W·x̄_post
//!               (feed-forward: spk_t, recurrent: spk_{t−1})     (feed-forward: x̄_t, recurrent: x̄_{t+1})
//!               model.step(x_t) → mem_t, spk_t, R_t ──Trace──▶  m̄ drive = spk̄·σ'(mem_t − θ) (+ ∂L/∂mem_t)
//!                                                               x̄_t = model.adjoint(drive)
//!                                                               ∂W += active pre ⊗ x̄_t,  ∂b += x̄_t
//! ```
//!
//! Semantics are snnTorch's (each population a layer, the reset from the previous step's
//! membrane and detached, the surrogate derivative in place of the spike's), so that gradients
//! are checked against snnTorch's autograd (tests: `exec::`, `snntorch_deep.json`). A plan is
//! structure only; weights are passed per call ([`Params`]), so a plan reads a network's own
//! weight arrays and the structural edits of growth and pruning only require a new plan.
//! A population may also get per-neuron decays in [`Params::decays`] (a graph file's
//! `learn_decay`): the forward pass steps each neuron with its own, and the backward pass adds
//! their gradients from the adjoints it already computes (the model's
//! [`LearnDecays`](crate::models::step::LearnDecays)), so the decays train beside the weights.
//! A batch of samples is independent calls, each with its own [`Trace`]: [`Net::batch`] runs
//! them in parallel and sums their gradients in a fixed order (the same bits on any number of
//! threads). One transposition of the dense weights ([`Net::transpose`],
//! [`Params::with_transposed`]) serves a batch's backward passes: the spike adjoints are then
//! summed down columns in vector registers, the same terms in the same order.
//!
//! The forward and backward passes are compiled for each vector width the CPU may have
//! (AVX-512F, AVX2, the baseline) and chosen per call; no FMA, so every width gives the same
//! bits and a run is the same on any x86-64 machine.
//!
//! [`Net::eprop`] is the other gradient of the same forward pass: e-prop's eligibility traces
//! and learning signals, run forward in time over the trace with the same model steps
//! (eprop.rs); [`Net::batch_by`] chooses between the two ([`Gradient`]).
//!
//! A population may also be made of ReLU units ([`Model::Relu`], [`Net::with_relu`]): the
//! dense network of the same architecture, stepped and differentiated by the same loops (the
//! unit sends max(mem, 0) instead of a spike, with its exact derivative instead of the
//! surrogate). [`Net::synaptic_ops`] counts a forward pass's accumulates (spikes) and
//! multiply-accumulates (real values) from its trace (ops.rs), the measure of the two's
//! energy.
//!
//! [`Net::policy_factors`] is the agents' shortcut: for one spiking population between the
//! inputs and one readout, and a loss of the mean readout membrane, the backward pass is
//! linear in the loss gradient and factors into two vectors per decision (factored.rs);
//! [`Net::forward_shallow`] is the same network's forward pass, fused for speed, and
//! [`Net::decide_shallow`] both at once, a block of hidden neurons at a time. Loops that carry
//! the time of training are compiled once per CPU vector width (`crate::width`).

mod batch;
mod eprop;
pub mod eventprop;
mod factored;
mod net;
mod neuron;
mod ops;
mod run;

pub use batch::{Sample, CHUNK};
pub use eprop::{Feedback, Gradient};
pub use factored::Shallow;
pub use net::{clamp_decays, Link, Net, PlanError, Pop, PopKind, Storage};
pub use neuron::{Model, Neuron, Surrogate};
pub use ops::{SynOps, AC_PJ, MAC_PJ};
pub use run::{transposed, Grads, Params, PopTrace, Seq, Trace};

#[cfg(test)]
mod tests;
