//! Spiking agents trained by reinforcement: a policy network stored in a [`crate::graph::Network`]
//! (input → hidden → readout), simulated for a batch of episodes at once, with gradients by
//! backpropagation through time and a surrogate spike derivative.

pub mod bptt;
pub mod control;
mod setup;
pub mod train;
