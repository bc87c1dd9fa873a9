//! What a checked file will need before anything is built: neurons, expected synapses, and the
//! bytes of state, CSR structure, weights, delays, rings, recording and training buffers, plus
//! a stated process baseline. `snnsim validate` and `inspect` print it; `snnsim run` refuses a
//! network whose estimate exceeds the memory it can have (`app::resources`).
//!
//! It lives in the graph layer because it needs what only the layers below the file know
//! together: the file's sizes and rules (`file`) and each model's columns
//! ([`crate::models::state_bytes`]). Every part carries the field path it comes from, so a
//! refusal can name the `FILE:LINE:COL` of its largest contributor.
//!
//! The figures follow the structures of `graph::build` and the engine: a CSR row pointer per
//! presynaptic neuron (`usize`), a `u32` column per synapse, a weight per synapse unless the
//! projection keeps one shared weight (a `Constant` weight and no learning rule), a `u16` delay
//! per synapse with `Uniform` delays, dense delay rings of `max delay + 1` slots per receptor.
//! Recording is estimated from a stated rate assumption ([`ASSUMED_RATE_HZ`]). The peak is the
//! baseline, the parts that live through the run, and the larger of the recording and the
//! largest transient buffer of the build (build buffers are freed before the first step).

use crate::file::{Checked, Connectivity, Init, ModelSpec, ProjectionSpec, RecorderSpec};
use crate::Real;
use serde::Serialize;

/// Resident memory of a process that builds and runs a one-neuron network: the binary's
/// mapped pages, the allocator's arenas, the thread pool and the standard library's buffers
/// (measured as `VmHWM` of `snnsim run` on a one-neuron file: 6.4 MB with 1 and 2 threads).
pub const BASELINE_BYTES: u64 = 6_400_000;

/// Resident memory one loaded plugin library adds (its mapped code and data, relocations, its
/// own allocations at creation); measured as the difference between training runs.
pub const PLUGIN_BYTES: u64 = 1_000_000;

/// Mean firing rate assumed for the neuron models (not the spike sources) when estimating
/// recorded spikes; capped at one spike per refractory period and per step. Poisson sources
/// use their rate, `SpikeTimes` their listed times, `Observation` one spike per active neuron
/// and step.
pub const ASSUMED_RATE_HZ: f64 = 10.0;

/// Decisions per episode assumed for a training task's buffers when the environment's
/// parameters give no `max_steps`.
pub const ASSUMED_DECISIONS: f64 = 200.0;

/// Bytes per recorded spike: (step, population, neuron).
const SPIKE_BYTES: f64 = std::mem::size_of::<(u64, u32, u32)>() as f64;

/// Bytes a trainer keeps per trained weight besides the weight itself: the gradient
/// accumulator, the optimiser's two moments (Adam) and the f64 copy a rule is called on.
const TRAINER_BYTES_PER_WEIGHT: f64 = 32.0;

/// Bytes per row of a trainer's per-episode metrics.
const METRICS_ROW_BYTES: f64 = 80.0;

/// What one part of the estimate is.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PartKind {
    /// Resident memory of the process without a network.
    Baseline,
    /// Neuron state, ids, delay rings.
    State,
    /// CSR structure, weights, delays, traces.
    Synapses,
    /// Buffers that exist only while a projection is built.
    Build,
    /// What recorders keep until the run ends.
    Recording,
    /// A training task's own buffers.
    Training,
}

/// One contributor to the estimate.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Part {
    /// The field path it comes from (`populations[3].size`, `projections[1].connectivity`).
    pub field: String,
    /// What it is, in words.
    pub what: String,
    /// Its kind.
    pub kind: PartKind,
    /// Bytes.
    pub bytes: u64,
}

/// The estimate of a checked file.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Estimate {
    /// Neurons over all populations.
    pub neurons: u64,
    /// Synapses expected from the connectivity rules.
    pub synapses_expected: u64,
    /// Steps the run takes (round(duration / dt); a training task's episodes are not steps).
    pub steps: u64,
    /// The expected peak resident memory of `snnsim run` (bytes).
    pub memory_bytes_estimate: u64,
    /// Of which the recorders' share (bytes).
    pub recording_bytes_estimate: u64,
    /// Of which the process baseline (bytes).
    pub baseline_bytes: u64,
    /// Every contributor, in file order (build buffers count only with the largest of them,
    /// and only where they exceed the recording).
    pub parts: Vec<Part>,
}

impl Estimate {
    /// The largest contributor other than the baseline (the baseline if there is none).
    pub fn largest(&self) -> &Part {
        self.parts
            .iter()
            .filter(|p| p.kind != PartKind::Baseline)
            .max_by_key(|p| p.bytes)
            .unwrap_or(&self.parts[0])
    }
}

/// Expected synapses of a projection from `n_pre` to `n_post` neurons.
pub fn expected_synapses(spec: &ProjectionSpec, n_pre: u64, n_post: u64) -> f64 {
    let (np, nq) = (n_pre as f64, n_post as f64);
    let autapses = if spec.pre == spec.post && !spec.allow_autapses {
        np
    } else {
        0.0
    };
    match &spec.connectivity {
        Connectivity::AllToAll => np * nq - autapses,
        Connectivity::OneToOne => np,
        Connectivity::FixedProbability { p } => p * (np * nq - autapses),
        Connectivity::FixedInDegree { k } => *k as f64 * nq,
        Connectivity::List { pairs } => pairs.len() as f64,
        Connectivity::Dense { weights } => weights
            .iter()
            .map(|r| r.iter().filter(|&&w| w != 0.0).count() as f64)
            .sum(),
        Connectivity::Chain { .. } => {
            spec.connectivity
                .chain_dense(n_pre as usize)
                .map_or(0.0, |w| {
                    w.iter()
                        .map(|r| r.iter().filter(|&&w| w != 0.0).count() as f64)
                        .sum()
                })
        }
        // A shared kernel stores no synapses (its weights, once, are a few kilobytes).
        Connectivity::Conv2d { .. }
        | Connectivity::Conv1d { .. }
        | Connectivity::SumPool2d { .. }
        | Connectivity::AvgPool2d { .. } => 0.0,
    }
}

/// Longest delay of a projection in steps (as `graph::build` rounds it).
fn max_delay_steps(spec: &ProjectionSpec, dt: f64) -> f64 {
    let steps = |d: f64| (d / dt).round().clamp(1.0, u16::MAX as f64);
    match &spec.delay_ms {
        None => 1.0,
        Some(Init::Constant(d)) if *d == 0.0 => 0.0,
        Some(Init::Constant(d)) => steps(*d),
        Some(Init::Uniform { high, .. }) => steps(*high),
        Some(_) => 1.0,
    }
}

/// Number of neuron receptors (delay rings and due buffers) of a model.
fn receptors(model: &ModelSpec) -> f64 {
    match model {
        ModelSpec::Poisson(_)
        | ModelSpec::SpikeTimes(_)
        | ModelSpec::Observation(_)
        | ModelSpec::Values(_) => 0.0,
        _ => 2.0,
    }
}

/// Refractory period in ms, where the model has one.
fn refractory_ms(model: &ModelSpec) -> f64 {
    match model {
        ModelSpec::Lif(p) => p.refractory_ms,
        ModelSpec::LifAlpha(p) => p.refractory_ms,
        ModelSpec::CobaLif(p) => p.refractory_ms,
        ModelSpec::AdEx(p) => p.refractory_ms,
        ModelSpec::Qif(p) => p.refractory_ms,
        _ => 0.0,
    }
}

/// Expected spikes of population `i` over the run.
fn expected_spikes(checked: &Checked, i: usize, size: f64) -> f64 {
    let f = &checked.file;
    let p = &f.populations[i];
    let steps = checked.steps() as f64;
    let seconds = steps * f.dt_ms / 1000.0;
    match &p.model {
        ModelSpec::Poisson(q) => size * q.rate_hz * seconds,
        ModelSpec::SpikeTimes(q) => q
            .times_ms
            .iter()
            .flatten()
            .filter(|&&t| crate::file::steps_of_time(t, f.dt_ms) < checked.steps())
            .count() as f64,
        ModelSpec::Observation(q) => q.active.len() as f64 * steps,
        // Graded values, never spikes.
        ModelSpec::Values(_) => 0.0,
        model => {
            let period_ms = refractory_ms(model).max(f.dt_ms);
            let rate = ASSUMED_RATE_HZ.min(1000.0 / period_ms);
            size * rate * seconds
        }
    }
}

/// The `max_steps` of an environment's parameters, if given.
fn env_max_steps(spec: &crate::file::RuleSpec) -> Option<f64> {
    let text = spec.params.as_ref()?.get_ron();
    let at = text.find("max_steps")?;
    let rest = text[at + "max_steps".len()..]
        .trim_start()
        .strip_prefix(':')?;
    let digits: String = rest
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '_')
        .filter(|c| *c != '_')
        .collect();
    digits.parse::<f64>().ok()
}

fn bytes(x: f64) -> u64 {
    // `as` saturates: an estimate beyond u64 reads as u64::MAX.
    x.max(0.0).ceil() as u64
}

/// The estimate of `checked`, assuming the build runs on `threads` threads.
pub fn estimate(checked: &Checked, threads: usize) -> Estimate {
    let f = &checked.file;
    let real = std::mem::size_of::<Real>() as f64;
    let mut parts = vec![Part {
        field: ".".into(),
        what: "process baseline (binary, allocator, threads)".into(),
        kind: PartKind::Baseline,
        bytes: BASELINE_BYTES,
    }];
    let sizes: Vec<f64> = f.populations.iter().map(|p| p.size as f64).collect();
    let index = |name: &str| f.populations.iter().position(|p| p.name == name);
    // Ring length per population: one more than the longest incoming delay.
    let mut ring_len = vec![1.0f64; f.populations.len()];
    for spec in &f.projections {
        if let Some(j) = index(&spec.post) {
            ring_len[j] = ring_len[j].max(max_delay_steps(spec, f.dt_ms) + 1.0);
        }
    }
    for (i, p) in f.populations.iter().enumerate() {
        let n = sizes[i];
        let r = receptors(&p.model);
        let state = crate::models::state_bytes(&p.model, p.size as u64)
            + n * 8.0 // stable neuron ids
            + n * r * real * (1.0 + ring_len[i]); // due buffers and rings
        parts.push(Part {
            field: format!("populations[{i}].size"),
            what: format!(
                "state of population `{}` ({} neurons, ring slots: {})",
                p.name, p.size, ring_len[i]
            ),
            kind: PartKind::State,
            bytes: bytes(state),
        });
    }
    let mut synapses = 0.0;
    let mut transient: f64 = 0.0;
    for (j, spec) in f.projections.iter().enumerate() {
        let (Some(a), Some(b)) = (index(&spec.pre), index(&spec.post)) else {
            continue;
        };
        let (n_pre, n_post) = (sizes[a], sizes[b]);
        let nnz = expected_synapses(spec, n_pre as u64, n_post as u64);
        synapses += nnz;
        let shared = matches!(spec.weight, Some(Init::Constant(_)))
            && spec.rule.is_none()
            && !matches!(
                spec.connectivity,
                Connectivity::Dense { .. } | Connectivity::Chain { .. }
            );
        let per_synapse_delays = matches!(spec.delay_ms, Some(Init::Uniform { .. }));
        let mut b_syn = (n_pre + 1.0) * 8.0 + nnz * 4.0;
        if !shared {
            b_syn += nnz * real;
        }
        if per_synapse_delays {
            b_syn += nnz * 2.0;
        }
        if spec.rule.is_some() {
            // Traces (f64 per pre and post neuron) and the rule's own state, assumed one f64
            // per synapse (an eligibility trace); an f32 build widens the weights for the call.
            b_syn += (n_pre + n_post) * 8.0 + nnz * 8.0;
            if real < 8.0 {
                b_syn += nnz * 8.0;
            }
        }
        let name = spec
            .name
            .clone()
            .unwrap_or_else(|| format!("{}->{}", spec.pre, spec.post));
        parts.push(Part {
            field: format!("projections[{j}].connectivity"),
            what: format!("synapses of projection `{name}` ({nnz:.0} expected)"),
            kind: PartKind::Synapses,
            bytes: bytes(b_syn),
        });
        // Build buffers: the row counts beside the row pointers, and either one wave of row
        // blocks (8 blocks of 1 024 rows per thread) or, for a fixed in-degree, every synapse
        // as a (pre, post, weight, delay) tuple before the regrouping by pre neuron.
        let per_row = if n_pre > 0.0 { nnz / n_pre } else { 0.0 };
        let build = match spec.connectivity {
            Connectivity::FixedInDegree { .. } => {
                // The delays are filled per synapse even when one is shared.
                nnz * (std::mem::size_of::<(u32, u32, Real, u16)>() as f64 + 2.0)
                    + n_pre * 3.0 * 8.0
            }
            _ => {
                let wave_rows = n_pre.min((8 * threads.max(1) * 1024) as f64);
                let per_synapse = 4.0
                    + if shared { 0.0 } else { real }
                    + if per_synapse_delays { 2.0 } else { 0.0 };
                n_pre * 8.0 + wave_rows * per_row * per_synapse
            }
        };
        if build > transient {
            transient = build;
            parts.retain(|p| p.kind != PartKind::Build);
            parts.push(Part {
                field: format!("projections[{j}].connectivity"),
                what: format!("buffers while building projection `{name}`"),
                kind: PartKind::Build,
                bytes: bytes(build),
            });
        }
    }
    let mut recording = 0.0;
    for (k, r) in f.recorders.iter().enumerate() {
        let (b, what) = match r {
            RecorderSpec::Spikes { population } => {
                let Some(i) = index(population) else { continue };
                let spikes = expected_spikes(checked, i, sizes[i]);
                (
                    spikes * SPIKE_BYTES,
                    format!("spikes of `{population}` ({spikes:.0} expected)"),
                )
            }
            RecorderSpec::State {
                population,
                variables,
                neurons,
                every_ms,
            } => {
                let every = every_ms
                    .map(|e| crate::file::steps_of_time(e, f.dt_ms).max(1))
                    .unwrap_or(1);
                let samples = (checked.steps() / every + 1) as f64;
                let row = (variables.len() * neurons.len()) as f64 * real + 32.0 + 16.0;
                (
                    samples * row,
                    format!("{samples:.0} state samples of `{population}`"),
                )
            }
            // Weights are written from the network at the end, streamed.
            RecorderSpec::Weights { .. } => continue,
        };
        recording += b;
        parts.push(Part {
            field: format!("recorders[{k}]"),
            what,
            kind: PartKind::Recording,
            bytes: bytes(b),
        });
    }
    if let Some((task, a)) = f.task.as_ref().and_then(|t| Some((t, t.agent()?))) {
        let size = |name: &str| index(name).map_or(0.0, |i| sizes[i]);
        let (n_in, n_hid, n_out) = (size(&a.input), size(&a.hidden), size(&a.readout));
        // The trained weights are the synapses of the agent's input and readout projections
        // (an input projection may be sparse, e.g. for DEEP R); dense if the file has none.
        let trained = |pre: &str, post: &str, dense: f64| {
            f.projections
                .iter()
                .filter(|p| p.pre == pre && p.post == post)
                .map(|p| expected_synapses(p, size(pre) as u64, size(post) as u64))
                .reduce(|a, b| a + b)
                .unwrap_or(dense)
        };
        let mut weights = trained(&a.input, &a.hidden, n_in * n_hid)
            + trained(&a.hidden, &a.readout, n_hid * n_out);
        if let Some(op) = &a.off_policy {
            // An off-policy agent trains every projection, keeps a target copy of the weights
            // and a replay buffer: per transition s and s' (at most one value per input
            // neuron each), n rewards, the action, the count, the flag and two priority-tree
            // nodes.
            let all = f.projections.iter().map(|p| {
                let (pre, post) = (size(&p.pre) as u64, size(&p.post) as u64);
                expected_synapses(p, pre, post)
            });
            weights = all.sum::<f64>();
            let per = 16.0 * n_in + 8.0 * op.n_step as f64 + 25.0;
            let training = weights * (TRAINER_BYTES_PER_WEIGHT + 8.0)
                + op.buffer as f64 * per
                + (op.env_steps / 10) as f64 * METRICS_ROW_BYTES
                + 2.0 * PLUGIN_BYTES as f64;
            parts.push(Part {
                field: "task.Control.off_policy".into(),
                what: format!(
                    "trainer buffers ({weights:.0} trained weights and their target copy, replay of {} transitions)",
                    op.buffer
                ),
                kind: PartKind::Training,
                bytes: bytes(training),
            });
        }
        let decisions = env_max_steps(&a.environment).unwrap_or(ASSUMED_DECISIONS);
        // Per episode in flight: rewards, and per decision the factors q and ν (hidden size
        // each), two per-action vectors and the active inputs' starts; counted twice, for the
        // batch being trained and what the worker threads' allocator arenas keep of the last
        // (measured: foraging peaks about 6 MB above its first batch after 2 000 episodes).
        let episode = 2.0 * decisions * ((2.0 * n_hid + 2.0 * n_out + 2.0) * 8.0);
        let training = weights * TRAINER_BYTES_PER_WEIGHT
            + a.batch as f64 * episode
            + a.episodes as f64 * METRICS_ROW_BYTES
            + 2.0 * PLUGIN_BYTES as f64;
        let kind = match task {
            crate::file::TaskSpec::Agent(_) => "Agent",
            crate::file::TaskSpec::Control(_) => "Control",
            crate::file::TaskSpec::Reservoir(_) | crate::file::TaskSpec::Classify(_) => {
                unreachable!("tasks without an agent")
            }
        };
        // An off-policy agent's part is counted above.
        if a.off_policy.is_none() {
            parts.push(Part {
                field: format!("task.{kind}"),
                what: format!(
                    "trainer buffers ({weights:.0} trained weights, batch {}, {} episodes)",
                    a.batch, a.episodes
                ),
                kind: PartKind::Training,
                bytes: bytes(training),
            });
        }
    }
    if let Some(crate::file::TaskSpec::Reservoir(r)) = &f.task {
        let neurons: f64 = r
            .reservoir
            .iter()
            .filter_map(|n| index(n))
            .map(|i| sizes[i])
            .sum();
        // The features of every used sample, their standardised copy with a bias column, and
        // the normal matrix with its Cholesky factor (crate::reservoir::ridge).
        // (A grown reservoir's features are counted at the file's starting size.) The signal:
        // input and target of every sample, development included.
        let d = neurons * r.feature_tau_ms.len() as f64 + 2.0;
        let rows = (r.train + r.test) as f64;
        let samples = (r.develop + r.washout + r.train + r.test) as f64;
        parts.push(Part {
            field: "task.Reservoir".into(),
            what: format!(
                "reservoir signal ({samples:.0} samples), features and readout fit ({rows:.0} samples × {:.0} features)",
                d - 1.0
            ),
            kind: PartKind::Training,
            bytes: bytes(16.0 * samples + 8.0 * (2.0 * rows * d + 2.0 * d * d)),
        });
    }
    if let Some(crate::file::TaskSpec::Classify(c)) = &f.task {
        let size = |name: &str| index(name).map_or(0.0, |i| sizes[i]);
        let neurons: f64 = c.hidden.iter().map(|h| size(h)).sum::<f64>() + size(&c.readout);
        let steps = c.steps as f64;
        let chunks = (c.batch.div_ceil(crate::exec::CHUNK)).min(threads.max(1)) as f64;
        // The dataset (text and values), the batch's encoded inputs, per chunk in flight a
        // trace (membrane, spike, reset per neuron and step) and a gradient, and the weights
        // with Adam's two moments.
        let training = 3.0e6
            + 8.0 * (c.batch as f64 * steps * size(&c.input))
            + chunks * 8.0 * (3.0 * steps * neurons + synapses)
            + 8.0 * 3.0 * synapses;
        parts.push(Part {
            field: "task.Classify".into(),
            what: format!(
                "dataset, traces and optimiser ({synapses:.0} weights, batch {}, {} steps)",
                c.batch, c.steps
            ),
            kind: PartKind::Training,
            bytes: bytes(training),
        });
    }
    let lasting: u64 = parts
        .iter()
        .filter(|p| !matches!(p.kind, PartKind::Build | PartKind::Recording))
        .fold(0u64, |s, p| s.saturating_add(p.bytes));
    let peak = lasting.saturating_add(bytes(recording.max(transient)));
    Estimate {
        neurons: f.populations.iter().map(|p| p.size as u64).sum(),
        synapses_expected: synapses.max(0.0).round() as u64,
        steps: checked.steps(),
        memory_bytes_estimate: peak,
        recording_bytes_estimate: bytes(recording),
        baseline_bytes: BASELINE_BYTES,
        parts,
    }
}

/// Bytes in words: `1.5 GiB`, `320.0 MiB`, `12.0 KiB`, `512 B`.
pub fn human(b: u64) -> String {
    let b = b as f64;
    const K: f64 = 1024.0;
    if b >= K * K * K * K {
        format!("{:.1} TiB", b / (K * K * K * K))
    } else if b >= K * K * K {
        format!("{:.1} GiB", b / (K * K * K))
    } else if b >= K * K {
        format!("{:.1} MiB", b / (K * K))
    } else if b >= K {
        format!("{:.1} KiB", b / K)
    } else {
        format!("{b} B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(text: &str) -> Checked {
        crate::models::load_source(&crate::file::Source::from_text("t.ron", text)).unwrap()
    }

    #[test]
    fn expected_synapses_follow_the_rules() {
        let c = checked(
            r#"(format_version: 1, dt_ms: 0.1, duration_ms: 1000.0,
            populations: [(name: "a", size: 1000, model: Lif()), (name: "b", size: 500, model: Lif())],
            projections: [
                (pre: "a", post: "b", connectivity: FixedProbability(p: 0.1), weight: Constant(1.0)),
                (pre: "a", post: "a", connectivity: AllToAll, allow_autapses: false, weight: Normal(mean: 0.0, std: 1.0)),
                (pre: "b", post: "a", connectivity: FixedInDegree(k: 7), weight: Constant(1.0),
                 delay_ms: Uniform(low: 0.1, high: 2.0)),
            ],
            recorders: [Spikes(population: "a")])"#,
        );
        let e = estimate(&c, 2);
        assert_eq!(e.neurons, 1500);
        assert_eq!(e.steps, 10_000);
        assert_eq!(e.synapses_expected, 50_000 + 999_000 + 7_000);
        // The all-to-all projection has a weight per synapse: the largest part.
        assert_eq!(e.largest().field, "projections[1].connectivity");
        let real = std::mem::size_of::<Real>() as u64;
        assert_eq!(e.largest().bytes, 1001 * 8 + 999_000 * (4 + real));
        // 1 000 neurons at 10 Hz for 1 s.
        assert_eq!(e.recording_bytes_estimate, 10_000 * 16);
        // Rings of population `a`: delays up to 20 steps from `b`.
        let a = e
            .parts
            .iter()
            .find(|p| p.field == "populations[0].size")
            .unwrap();
        assert!(a.what.contains("ring slots: 21"), "{}", a.what);
        let sum: u64 = e
            .parts
            .iter()
            .filter(|p| p.kind != PartKind::Build && p.kind != PartKind::Recording)
            .map(|p| p.bytes)
            .sum();
        let build = e.parts.iter().find(|p| p.kind == PartKind::Build).unwrap();
        assert_eq!(
            e.memory_bytes_estimate,
            sum + build.bytes.max(e.recording_bytes_estimate)
        );
    }

    #[test]
    fn huge_files_saturate_instead_of_overflowing() {
        let c = checked(
            r#"(format_version: 1, dt_ms: 0.1, duration_ms: 1000.0,
            populations: [(name: "a", size: 4294967295, model: Lif())],
            projections: [(pre: "a", post: "a", connectivity: AllToAll, weight: Normal(mean: 0.0, std: 1.0))])"#,
        );
        let e = estimate(&c, 2);
        assert!(e.memory_bytes_estimate > 1 << 62);
        assert_eq!(e.largest().field, "projections[0].connectivity");
    }

    #[test]
    fn max_steps_is_read_from_environment_parameters() {
        let spec: crate::file::RuleSpec =
            ron::from_str(r#"(plugin: "gridworld", params: Some((size: 15, max_steps: 100)))"#)
                .unwrap();
        assert_eq!(env_max_steps(&spec), Some(100.0));
        let spec: crate::file::RuleSpec =
            ron::from_str(r#"(plugin: "cartpole", params: Some(()))"#).unwrap();
        assert_eq!(env_max_steps(&spec), None);
    }
}
