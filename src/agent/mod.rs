//! Spiking agents trained by reinforcement: a policy network stored in a [`crate::graph::Network`]
//! (input → hidden → readout), simulated for a batch of episodes at once, with gradients by
//! backpropagation through time and a surrogate spike derivative; and the trained policy, loaded
//! from a run's checkpoint and acting one observation at a time ([`Policy`]) through the same
//! decision functions as training.

pub mod control;
mod distributed;
pub mod dqn;
mod noisy;
pub mod policy;
pub mod policy_net;
pub mod replay;
mod setup;
pub mod train;

pub use policy::{ActionSpace, Policy};

/// A pool of `threads` workers for a trainer's parallel work (episodes, minibatch samples).
fn thread_pool(threads: usize) -> crate::error::Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| crate::error::Error::Run(format!("cannot start {threads} threads: {e}")))
}
