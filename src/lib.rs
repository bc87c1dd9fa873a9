//! snnsim: a spiking-neural-network simulator with an event-driven sparse core, whose networks
//! can grow and prune themselves while they learn.
//!
//! A run goes file → [`file::Source::parse`] (RON to typed schema) → validation
//! ([`file::Checked`]) → [`graph::build`] (a [`graph::Network`]: a petgraph graph of
//! populations and projections with CSR weights) → [`engine::Engine::step`], repeated. The
//! command-line binary only parses arguments and calls [`app`].
//!
//! See docs/architecture.md for what lives where and why.

#![deny(missing_docs)]

pub mod agent;
pub mod app;
pub mod backend;
pub mod checkpoint;
pub mod classify;
pub mod comm;
pub mod console;
pub mod convert;
pub mod engine;
pub mod error;
pub mod exec;
pub mod file;
pub mod graph;
pub mod io;
pub mod models;
pub mod monitor;
pub mod nir;
pub mod observe;
pub mod plugin;
pub mod real;
pub mod reservoir;
pub mod rng;
pub(crate) mod width;

pub use error::{Error, Result};

/// The floating-point type of neuron state, synaptic variables and weights: f64, or f32 with
/// the `f32` feature (half the memory traffic and twice the SIMD lanes; docs/performance.md).
/// Times, propagators' derivation, learning (BPTT, optimisers) and summaries stay f64.
#[cfg(not(feature = "f32"))]
pub type Real = f64;
/// The floating-point type of neuron state, synaptic variables and weights: f64, or f32 with
/// the `f32` feature (half the memory traffic and twice the SIMD lanes; docs/performance.md).
/// Times, propagators' derivation, learning (BPTT, optimisers) and summaries stay f64.
#[cfg(feature = "f32")]
pub type Real = f32;
