//! The integration tests: one binary, one module per topic.
//!
//! The `f32` build (`cargo test --features f32`) keeps neuron state, synaptic variables and
//! weights in f32. Many checks of the default (f64) build hold bit for bit or within 1e-9 of
//! f64 references; the f32 build runs the ones whose tolerance holds for f32 as well: the
//! whole-network statistics against Brian2 (reference README §4), the thread determinism of
//! every run, and the engine's delay, stage and direct-input contracts.

mod common;

mod determinism;
mod engine;
mod network_stats;

#[cfg(not(feature = "f32"))]
mod bad_input;
#[cfg(not(feature = "f32"))]
mod bench;
#[cfg(not(feature = "f32"))]
mod checkpoints;
#[cfg(not(feature = "f32"))]
mod control;
#[cfg(not(feature = "f32"))]
mod foraging;
#[cfg(not(feature = "f32"))]
mod gpu;
#[cfg(not(feature = "f32"))]
mod graph_files;
#[cfg(not(feature = "f32"))]
mod models;
#[cfg(not(feature = "f32"))]
mod observe;
#[cfg(not(feature = "f32"))]
mod plugins;
#[cfg(not(feature = "f32"))]
mod single_neuron;
#[cfg(not(feature = "f32"))]
mod structure;
