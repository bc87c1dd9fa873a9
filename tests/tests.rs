//! The integration tests: one binary, one module per topic.
//!
//! The `f32` build (`cargo test --features f32`) keeps neuron state, synaptic variables and
//! weights in f32. Many checks of the default (f64) build hold bit for bit or within 1e-9 of
//! f64 references; the f32 build runs the ones whose tolerances hold for f32 as well: the
//! whole-network statistics against Brian2 (reference README §4), the thread determinism of
//! every run, and the engine's delay, stage and direct-input contracts.

mod common;

mod determinism;
mod engine;
mod network_stats;
mod nir;

/// Modules of the default (f64) build only.
macro_rules! f64_only {
    ($($name:ident),* $(,)?) => {
        $(
            #[cfg(not(feature = "f32"))]
            mod $name;
        )*
    };
}

f64_only!(
    bad_input,
    bench,
    checkpoints,
    classify,
    control,
    conv,
    distributed,
    distributed_sim,
    eventprop,
    estimate,
    foraging,
    fuzz,
    gpu,
    graded,
    graph_files,
    growth,
    homeostatic,
    models,
    observe,
    plugins,
    policy,
    rainbow,
    reservoir,
    signals,
    single_neuron,
    structure,
    training,
    view,
);
