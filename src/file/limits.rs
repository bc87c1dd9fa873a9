//! The bounds validation puts on sizes and times, so that a file that passes never overflows
//! an index type or asks for an absurd amount of stepping. They are stated in the "Limits"
//! section of docs/graph-format.md. Whether a network fits in memory is a separate question,
//! answered by the memory estimate; these bounds hold whatever the memory.

/// The smallest time step, in ms (1 ns). Below it a run of any useful length takes more steps
/// than can be computed (`dt_ms: 1e-320` once validated and then ran forever).
pub const MIN_DT_MS: f64 = 1e-6;

/// The most steps a time may stand for (10¹²: eleven days of computing at a million steps a
/// second): the run (`duration_ms / dt_ms`), a stimulus' start and stop, a
/// spike time, a sampling interval, and for a training task its episodes × steps per
/// decision (a lower bound on its steps). Step counts are `u64`; this keeps every conversion
/// of a time to steps exact in an `f64` (below 2⁵³) and far from overflow.
pub const MAX_STEPS: u64 = 1_000_000_000_000;

/// The longest synaptic delay, in steps of dt: delays are stored as `u16`, and a population's
/// input ring has one slot more than its longest incoming delay (at most 65 536 slots).
pub const MAX_DELAY_STEPS: u64 = u16::MAX as u64;

/// The longest refractory period, in steps of dt: refractory counters are `u32`.
pub const MAX_REFRACTORY_STEPS: u64 = u32::MAX as u64;

/// The most neurons in one population: neuron indices (spike lists, synapse columns) are
/// `u32`. It also bounds what a population can grow to (`max_hidden`) and the input neurons an
/// encoder asks for.
pub const MAX_POPULATION_SIZE: usize = u32::MAX as usize;

/// The most steps in one decision of a training task. The backward pass keeps a trace of
/// steps × hidden neurons, so this keeps that product within `usize` for any population size
/// (2²⁰ × 2³² < 2⁶⁴).
pub const MAX_DECISION_STEPS: usize = 1 << 20;

/// A number as the messages about these limits print it: in exponent form when it is very
/// large or very small (`1e200`, not two hundred digits), plainly otherwise.
pub fn show(x: f64) -> String {
    if x != 0.0 && (x.abs() >= 1e9 || x.abs() < 1e-4) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

/// The most spikes per step a `PoissonInput` train may average (rate·dt): far above any
/// biological rate, and where the Poisson sampler still draws exactly.
pub const MAX_POISSON_MEAN: f64 = 1e9;
