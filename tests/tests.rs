//! The integration tests: one binary, one module per topic.

mod common;

mod bad_input;
mod bench;
mod checkpoints;
mod control;
mod determinism;
mod engine;
mod foraging;
mod gpu;
mod graph_files;
mod models;
mod network_stats;
mod observe;
mod plugins;
mod single_neuron;
mod structure;
