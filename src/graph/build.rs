//! Building a [`Network`] from a checked graph file: populations with their initial state,
//! projections with their connectivity, weights and delays.
//!
//! Connectivity is generated in fixed blocks of presynaptic rows (or postsynaptic columns for
//! a fixed in-degree), each block from its own random stream keyed by (seed, projection,
//! block). Blocks are built in parallel and concatenated in order, so the network is the same
//! for any number of threads. Sparse rows are drawn by geometric skipping (the gap to the next
//! synapse is geometric), which costs O(synapses), not O(pairs).
//!
//! A rank of a split simulation builds only its part ([`build_part`]): of every projection the
//! synapses into its block of the target population, renumbered from the block's start. It
//! draws every stream of the projection as one process does (a row's synapses, weights and
//! delays come from one stream in column order, so the draws of the other blocks' columns
//! cannot be skipped) but keeps only its own synapses, so the build holds the rank's share of
//! the memory, not the whole network's; fixed in-degree skips the columns' blocks it does not
//! own altogether. The part is exactly what cutting the whole would give.
//!
//! Sizes come from the file, so every large allocation is fallible: the CSR arrays are
//! reserved with `try_reserve`, and a population's columns and rings are reserved once
//! fallibly before the model allocates them; a refusal is an error naming the population or
//! projection, never an abort. (`snnsim run` refuses a network whose estimate does not fit
//! before it gets here: `graph::estimate`.)

use super::{Delays, Network, Population, Projection, Traces, Weights};
use crate::error::{Error, Result};
use crate::file::{Checked, Connectivity, Init, ProjectionSpec};
use crate::models::Dynamics;
use crate::rng::{stream, Rng};
use crate::Real;
use rand::Rng as _;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

/// Rows (or columns) per connectivity block.
const BLOCK: usize = 1024;

/// A value distribution with its parameters resolved (fan-based initialisers included).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Sampler {
    Constant(f64),
    Uniform(f64, f64),
    Normal(f64, f64),
}

impl Sampler {
    pub(crate) fn new(init: &Init, fan_in: f64, fan_out: f64) -> Self {
        let fan_in = fan_in.max(1.0);
        let fan_out = fan_out.max(1.0);
        let sqrt2 = std::f64::consts::SQRT_2;
        match *init {
            Init::Constant(c) => Sampler::Constant(c),
            Init::Uniform { low, high } => Sampler::Uniform(low, high),
            Init::Normal { mean, std } => Sampler::Normal(mean, std),
            Init::KaimingNormal { gain } => {
                Sampler::Normal(0.0, gain.unwrap_or(sqrt2) / fan_in.sqrt())
            }
            Init::KaimingUniform { gain } => {
                let b = gain.unwrap_or(sqrt2) * (3.0 / fan_in).sqrt();
                Sampler::Uniform(-b, b)
            }
            Init::XavierNormal { gain } => {
                Sampler::Normal(0.0, gain.unwrap_or(1.0) * (2.0 / (fan_in + fan_out)).sqrt())
            }
            Init::XavierUniform { gain } => {
                let b = gain.unwrap_or(1.0) * (6.0 / (fan_in + fan_out)).sqrt();
                Sampler::Uniform(-b, b)
            }
        }
    }

    pub(crate) fn sample(&self, rng: &mut Rng) -> f64 {
        match *self {
            Sampler::Constant(c) => c,
            Sampler::Uniform(lo, hi) => lo + (hi - lo) * rng.random::<f64>(),
            Sampler::Normal(m, s) => {
                let z: f64 = StandardNormal.sample(rng);
                m + s * z
            }
        }
    }
}

/// Why an allocation of `bytes` for `what` was refused.
fn refused(what: &str, bytes: f64, e: std::collections::TryReserveError) -> Error {
    Error::Run(format!(
        "cannot allocate {} for {what}: {e}",
        super::estimate::human(bytes as u64)
    ))
}

/// Reserves `bytes` fallibly and gives them back, before code that allocates them infallibly
/// (the models' columns, the delay rings): a size the system cannot give is an error here
/// rather than an abort there.
fn reserve(what: &str, bytes: f64) -> Result<()> {
    let n = if bytes >= usize::MAX as f64 {
        usize::MAX
    } else {
        bytes as usize
    };
    Vec::<u8>::new()
        .try_reserve_exact(n)
        .map_err(|e| refused(what, bytes, e))
}

/// Room for `extra` more elements in `v`, fallibly.
fn grow<T>(v: &mut Vec<T>, extra: usize, what: &str) -> Result<()> {
    v.try_reserve(extra)
        .map_err(|e| refused(what, (extra * std::mem::size_of::<T>()) as f64, e))
}

/// `n` copies of `x`, allocated fallibly.
fn filled<T: Clone>(n: usize, x: T, what: &str) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n)
        .map_err(|e| refused(what, (n * std::mem::size_of::<T>()) as f64, e))?;
    v.resize(n, x);
    Ok(v)
}

/// Builds the network of a checked file. An allocation the system refuses is an error naming
/// the population or projection (exit 1), not an abort.
pub fn build(checked: &Checked) -> Result<Network> {
    build_part(checked, None)
}

/// Which targets of each population one part of a network keeps (see [`build_part`]).
pub type Targets<'a> = &'a dyn Fn(&Population) -> std::ops::Range<usize>;

/// [`build`], keeping of every projection only the synapses into `targets(post)` of its
/// target population (all of them without `targets`), with their columns renumbered from that
/// range's start: the projection's matrix has as many columns as the range has neurons, and
/// is what cutting the whole projection's columns to the range gives. Populations are whole.
pub fn build_part(checked: &Checked, targets: Option<Targets<'_>>) -> Result<Network> {
    let f = &checked.file;
    let mut net = Network::new();
    let real = std::mem::size_of::<Real>() as f64;
    for p in &f.populations {
        // Columns, ids, due buffers and one ring slot per receptor.
        let n = p.size as f64;
        reserve(
            &format!("population `{}`", p.name),
            crate::models::state_bytes(&p.model, p.size as u64) + n * 8.0 + 4.0 * n * real,
        )?;
        let mut dynamics = Dynamics::new(&p.model, p.size, f.dt_ms, f.seed, &p.name);
        for (name, values) in &p.params {
            dynamics.set_per_neuron(name, values);
        }
        for (var, init) in &p.init {
            let sampler = Sampler::new(init, 1.0, 1.0);
            let mut rng = stream(f.seed, &format!("init/{var}"), &p.name, 0);
            let col = dynamics.column_mut(var).expect("validated state variable");
            for x in col.iter_mut() {
                *x = sampler.sample(&mut rng) as Real;
            }
        }
        net.add_population(Population::new(p.name.clone(), dynamics));
    }
    let sizes = |name: &str| {
        f.populations
            .iter()
            .find(|p| p.name == name)
            .expect("validated population")
            .size
    };
    for spec in &f.projections {
        let name = spec
            .name
            .clone()
            .unwrap_or_else(|| format!("{}->{}", spec.pre, spec.post));
        let (n_pre, n_post) = (sizes(&spec.pre), sizes(&spec.post));
        let pre = net.pop_id(&spec.pre).expect("validated");
        let post = net.pop_id(&spec.post).expect("validated");
        let keep = targets.map_or(0..n_post, |t| t(net.pop(post)));
        let proj = connect(spec, &name, (n_pre, n_post, keep), f.dt_ms, f.seed)?;
        // The target's delay rings grow to the longest delay.
        let slots = net.pop(post).dynamics.receptors().len() * (proj.delays.max() as usize + 1);
        reserve(
            &format!("the delay rings of `{}`", spec.post),
            slots as f64 * n_post as f64 * real,
        )?;
        if targets.is_some() {
            net.add_projection_part(pre, post, proj);
        } else {
            net.add_projection(pre, post, proj, 0);
        }
    }
    Ok(net)
}

/// Expected (fan-in, fan-out) of a connectivity rule, for the Kaiming and Xavier initialisers.
fn fans(c: &Connectivity, candidates_pre: usize, n_pre: usize, n_post: usize) -> (f64, f64) {
    let (np, nq) = (n_pre as f64, n_post as f64);
    match c {
        Connectivity::AllToAll => (candidates_pre as f64, nq),
        Connectivity::OneToOne => (1.0, 1.0),
        Connectivity::FixedProbability { p } => (p * candidates_pre as f64, p * nq),
        Connectivity::FixedInDegree { k } => (*k as f64, *k as f64 * nq / np),
        Connectivity::List { pairs } => (pairs.len() as f64 / nq, pairs.len() as f64 / np),
        Connectivity::Dense { .. }
        | Connectivity::Chain { .. }
        | Connectivity::Conv2d { .. }
        | Connectivity::Conv1d { .. }
        | Connectivity::SumPool2d { .. }
        | Connectivity::AvgPool2d { .. } => (np, nq),
    }
}

/// One block of CSR rows: per-row synapse counts, column indices, weights (none when the
/// projection's weight is shared), delays (steps).
#[derive(Default)]
struct Block {
    counts: Vec<usize>,
    cols: Vec<u32>,
    weights: Vec<Real>,
    delays: Vec<u16>,
}

/// The synapses of one projection, into the targets `keep` of its `n_post` (see
/// [`build_part`]).
fn connect(
    spec: &ProjectionSpec,
    name: &str,
    (n_pre, n_post, keep): (usize, usize, std::ops::Range<usize>),
    dt: f64,
    seed: u64,
) -> Result<Projection> {
    let what = format!("projection `{name}`");
    let what = what.as_str();
    if let Some(kernel) = spec.connectivity.kernel() {
        // A shared kernel: no synapses of its own, one delay (validated `Constant`).
        let kernel = kernel.expect("validated kernel");
        let delay = match &spec.delay_ms {
            None => 1,
            Some(Init::Constant(d)) if *d == 0.0 => 0,
            Some(Init::Constant(d)) => (d / dt).round().clamp(1.0, u16::MAX as f64) as u16,
            Some(_) => unreachable!("validated: a kernel takes a Constant delay"),
        };
        return Ok(Projection {
            name: name.to_string(),
            receptor: spec.receptor,
            weights: Weights::try_shared((n_pre, keep.len()), vec![0; n_pre + 1], Vec::new(), 0.0)
                .expect("an empty matrix"),
            delays: Delays::Uniform(delay),
            traces: Traces::default(),
            kernel: Some(std::sync::Arc::new(kernel)),
        });
    }
    if let Some(weights) = spec.connectivity.chain_dense(n_pre) {
        // A chain of maps: one dense projection of the composed map (validated: the steps
        // fit together).
        let dense = ProjectionSpec {
            connectivity: Connectivity::Dense { weights },
            ..spec.clone()
        };
        return connect(&dense, name, (n_pre, n_post, keep), dt, seed);
    }
    let no_autapses = spec.pre == spec.post && !spec.allow_autapses;
    let candidates = n_pre - usize::from(no_autapses);
    let (fan_in, fan_out) = fans(&spec.connectivity, candidates, n_pre, n_post);
    let weight = spec
        .weight
        .as_ref()
        .map(|w| Sampler::new(w, fan_in, fan_out));
    let delay_steps = |d: f64| (d / dt).round().clamp(1.0, u16::MAX as f64) as u16;
    let (shared_delay, delay_sampler) = match &spec.delay_ms {
        None => (Some(1u16), None),
        // A zero-delay projection (validated: `Constant(0.0)` exactly).
        Some(Init::Constant(d)) if *d == 0.0 => (Some(0u16), None),
        Some(Init::Constant(d)) => (Some(delay_steps(*d)), None),
        Some(d) => (None, Some(Sampler::new(d, 1.0, 1.0))),
    };
    // A constant weight (other than a dense matrix's) is kept once, not per synapse; drawing
    // a constant takes nothing from the stream, so the structure is the same either way.
    let shared = match (&spec.connectivity, weight) {
        (Connectivity::Dense { .. }, _) => None,
        (_, Some(Sampler::Constant(c))) => Some(c as Real),
        _ => None,
    };
    // Draws the weight and delay of one synapse from the block's stream.
    let draw = |rng: &mut Rng, b: &mut Block, w: Option<Real>| {
        if shared.is_none() {
            let w = w.unwrap_or_else(|| weight.expect("validated").sample(rng) as Real);
            b.weights.push(w);
        }
        if let Some(s) = delay_sampler {
            b.delays.push(delay_steps(s.sample(rng)));
        }
    };
    // List pairs sorted by (pre, post), with the start of each pre neuron's run.
    let (sorted_pairs, list_start) = match &spec.connectivity {
        Connectivity::List { pairs } => {
            let mut sorted = pairs.clone();
            sorted.sort_unstable();
            let mut start = filled(n_pre + 1, 0usize, what)?;
            for &(a, _) in &sorted {
                start[a + 1] += 1;
            }
            for i in 0..n_pre {
                start[i + 1] += start[i];
            }
            (sorted, start)
        }
        _ => (Vec::new(), Vec::new()),
    };
    let blocks: Vec<Block> = match &spec.connectivity {
        Connectivity::FixedInDegree { k } => {
            let per_synapse_weights = shared.is_none();
            in_degree_blocks(
                *k,
                (n_pre, n_post, keep.clone()),
                (no_autapses, per_synapse_weights),
                seed,
                name,
                &draw,
            )?
        }
        conn => {
            let whole = keep == (0..n_post);
            let make = |blk: usize| {
                let mut rng = stream(seed, "connect", name, blk as u64);
                let mut b = Block::default();
                let mut row_cols: Vec<usize> = Vec::new();
                let rows = blk * BLOCK..((blk + 1) * BLOCK).min(n_pre);
                for i in rows {
                    let before = b.cols.len();
                    let skip = if no_autapses { i } else { usize::MAX };
                    match conn {
                        Connectivity::AllToAll => {
                            for j in (0..n_post).filter(|&j| j != skip) {
                                b.cols.push(j as u32);
                                draw(&mut rng, &mut b, None);
                            }
                        }
                        Connectivity::OneToOne => {
                            b.cols.push(i as u32);
                            draw(&mut rng, &mut b, None);
                        }
                        Connectivity::FixedProbability { p } => {
                            row_cols.clear();
                            row_cols.extend(bernoulli_row(&mut rng, *p, n_post));
                            for &j in &row_cols {
                                if j != skip {
                                    b.cols.push(j as u32);
                                    draw(&mut rng, &mut b, None);
                                }
                            }
                        }
                        Connectivity::List { .. } => {
                            let row = &sorted_pairs[list_start[i]..list_start[i + 1]];
                            for &(_, j) in row {
                                b.cols.push(j as u32);
                                draw(&mut rng, &mut b, None);
                            }
                        }
                        Connectivity::Dense { weights } => {
                            for (j, &w) in weights[i].iter().enumerate() {
                                if w != 0.0 {
                                    b.cols.push(j as u32);
                                    draw(&mut rng, &mut b, Some(w as Real));
                                }
                            }
                        }
                        _ => unreachable!("fixed in-degree and kernels are built apart"),
                    }
                    if !whole {
                        keep_columns(&mut b, before, &keep);
                    }
                    b.counts.push(b.cols.len() - before);
                }
                b
            };
            // Blocks are made in parallel a wave at a time and appended to the matrix, so
            // that at most one wave exists twice (in its blocks and in the matrix) rather
            // than the whole projection. Waves decide memory only, not content.
            let n_blocks = n_pre.div_ceil(BLOCK);
            let wave = 8 * rayon::current_num_threads();
            let mut m = Block::default();
            for first in (0..n_blocks).step_by(wave) {
                let blocks: Vec<Block> = (first..(first + wave).min(n_blocks))
                    .into_par_iter()
                    .map(make)
                    .collect();
                for b in blocks {
                    grow(&mut m.counts, b.counts.len(), what)?;
                    grow(&mut m.cols, b.cols.len(), what)?;
                    grow(&mut m.weights, b.weights.len(), what)?;
                    grow(&mut m.delays, b.delays.len(), what)?;
                    m.counts.extend_from_slice(&b.counts);
                    m.cols.extend_from_slice(&b.cols);
                    m.weights.extend_from_slice(&b.weights);
                    m.delays.extend_from_slice(&b.delays);
                }
            }
            vec![m]
        }
    };
    let nnz: usize = blocks.iter().map(|b| b.cols.len()).sum();
    let mut indptr = Vec::new();
    grow(&mut indptr, n_pre + 1, what)?;
    indptr.push(0usize);
    let (mut indices, mut data, mut delays) = (Vec::new(), Vec::new(), Vec::new());
    for b in blocks {
        for c in b.counts {
            indptr.push(indptr.last().unwrap() + c);
        }
        if indices.is_empty() {
            // The usual case, one block: its columns, weights and delays become the matrix's.
            (indices, data, delays) = (b.cols, b.weights, b.delays);
        } else {
            grow(&mut indices, b.cols.len(), what)?;
            grow(&mut data, b.weights.len(), what)?;
            grow(&mut delays, b.delays.len(), what)?;
            indices.extend_from_slice(&b.cols);
            data.extend_from_slice(&b.weights);
            delays.extend_from_slice(&b.delays);
        }
    }
    debug_assert_eq!(indices.len(), nnz);
    // The columns grew by doubling: give back the unused capacity (up to half of it).
    indices.shrink_to_fit();
    data.shrink_to_fit();
    delays.shrink_to_fit();
    let weights = match shared {
        Some(w) => Weights::try_shared((n_pre, keep.len()), indptr, indices, w),
        None => Weights::try_new((n_pre, keep.len()), indptr, indices, data),
    }
    .expect("connectivity builds sorted, in-range rows");
    Ok(Projection {
        name: name.to_string(),
        receptor: spec.receptor,
        weights,
        delays: match shared_delay {
            Some(d) => Delays::Uniform(d),
            None => Delays::PerSynapse(delays),
        },
        traces: Traces::default(),
        kernel: None,
    })
}

/// Keeps, of the row that starts at `b.cols[start]` (the block's last), the synapses into
/// `keep`, renumbered from its start. A row's columns ascend, so they are one run; weights and
/// delays, where held per synapse, are one per column.
fn keep_columns(b: &mut Block, start: usize, keep: &std::ops::Range<usize>) {
    let row = &b.cols[start..];
    let lo = start + row.partition_point(|&j| (j as usize) < keep.start);
    let hi = start + row.partition_point(|&j| (j as usize) < keep.end);
    let base = keep.start as u32;
    fn cut<T>(v: &mut Vec<T>, (start, lo, hi): (usize, usize, usize)) {
        if !v.is_empty() {
            v.truncate(hi);
            v.drain(start..lo);
        }
    }
    cut(&mut b.weights, (start, lo, hi));
    cut(&mut b.delays, (start, lo, hi));
    b.cols.truncate(hi);
    b.cols.drain(start..lo);
    for j in &mut b.cols[start..] {
        *j -= base;
    }
}

/// Column indices of one row where each of `n` entries is present with probability `p`,
/// ascending, drawn by geometric skipping.
fn bernoulli_row(rng: &mut Rng, p: f64, n: usize) -> impl Iterator<Item = usize> + '_ {
    // For p below 2⁻⁵³, 1 − p rounds to 1 and its log to 0, which would make every gap
    // infinite or NaN; ln_1p keeps it negative there (and other p draw as they always have).
    let log_q = (1.0 - p).ln();
    let log_q = if log_q == 0.0 { (-p).ln_1p() } else { log_q };
    let mut j: i64 = -1;
    std::iter::from_fn(move || {
        if p <= 0.0 {
            return None;
        }
        if p >= 1.0 {
            j += 1;
        } else {
            // u in (0, 1], so x = ln u / ln q is ≥ 0 (or −0) and finite (u ≥ 2⁻⁵³). For such
            // x truncation is floor (cheaper than libm's floor on baseline x86-64), and
            // ⌊x⌋ ≥ n ⇔ x ≥ n: the draws and rows are those of `floor`.
            let u = 1.0 - rng.random::<f64>();
            let x = u.ln() / log_q;
            if x >= n as f64 {
                return None;
            }
            j += 1 + x as i64;
        }
        (j < n as i64).then_some(j as usize)
    })
}

/// Fixed in-degree: every post neuron draws `k` distinct pre neurons; built per block of post
/// neurons, then regrouped by pre neuron into one CSR block. Weights and delays are
/// kept only where they are per synapse.
fn in_degree_blocks(
    k: usize,
    (n_pre, n_post, keep): (usize, usize, std::ops::Range<usize>),
    (no_autapses, per_synapse_weights): (bool, bool),
    seed: u64,
    name: &str,
    draw: &(dyn Fn(&mut Rng, &mut Block, Option<Real>) + Sync),
) -> Result<Vec<Block>> {
    let what = format!("projection `{name}`");
    let what = what.as_str();
    // Only the blocks of columns that hold kept targets are drawn (each has its own stream).
    // Each gives its kept targets' sources (`cols`), `k` per target in order of target, then
    // draw, with their weights and delays where those are per synapse: the target of entry e
    // is the block's first kept target + e / k, so it is not stored.
    let blocks = keep.start / BLOCK..keep.end.div_ceil(BLOCK).min(n_post.div_ceil(BLOCK));
    let per_post: Vec<(usize, Block)> = blocks
        .into_par_iter()
        .map(|blk| {
            let mut rng = stream(seed, "connect-in", name, blk as u64);
            let mut out = Block::default();
            let mut dropped = Block::default();
            let targets = blk * BLOCK..((blk + 1) * BLOCK).min(n_post);
            let first = targets.start.max(keep.start);
            for j in targets {
                let candidates = n_pre - usize::from(no_autapses && j < n_pre);
                let mut chosen: Vec<usize> = rand::seq::index::sample(&mut rng, candidates, k)
                    .into_iter()
                    .map(|i| {
                        if no_autapses && j < n_pre && i >= j {
                            i + 1
                        } else {
                            i
                        }
                    })
                    .collect();
                chosen.sort_unstable();
                let b = if keep.contains(&j) {
                    &mut out
                } else {
                    &mut dropped
                };
                for i in chosen {
                    draw(&mut rng, b, None);
                    b.cols.push(i as u32);
                }
                dropped = Block::default();
            }
            (first - keep.start, out)
        })
        .collect();
    // Counting sort by pre, stable, so each row's columns stay ascending.
    let mut counts = filled(n_pre, 0usize, what)?;
    for (_, b) in &per_post {
        for &i in &b.cols {
            counts[i as usize] += 1;
        }
    }
    let mut start = filled(n_pre + 1, 0usize, what)?;
    for i in 0..n_pre {
        start[i + 1] = start[i] + counts[i];
    }
    let nnz = start[n_pre];
    let per_synapse_delays = per_post.iter().any(|(_, b)| !b.delays.is_empty());
    let mut cols = filled(nnz, 0u32, what)?;
    let mut weights = filled(if per_synapse_weights { nnz } else { 0 }, 0.0, what)?;
    let mut delays = filled(if per_synapse_delays { nnz } else { 0 }, 0u16, what)?;
    let mut fill = start;
    for (first, b) in &per_post {
        for (e, &i) in b.cols.iter().enumerate() {
            let at = fill[i as usize];
            cols[at] = (first + e / k) as u32;
            if per_synapse_weights {
                weights[at] = b.weights[e];
            }
            if per_synapse_delays {
                delays[at] = b.delays[e];
            }
            fill[i as usize] += 1;
        }
    }
    Ok(vec![Block {
        counts,
        cols,
        weights,
        delays,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometric_skipping_gives_the_binomial_mean_and_sorted_unique_columns() {
        let mut rng = stream(3, "t", "t", 0);
        let (p, n, rows) = (0.02, 4000, 2000);
        let mut total = 0usize;
        for _ in 0..rows {
            let row: Vec<usize> = bernoulli_row(&mut rng, p, n).collect();
            assert!(row.windows(2).all(|w| w[0] < w[1]));
            assert!(row.iter().all(|&j| j < n));
            total += row.len();
        }
        let mean = total as f64 / rows as f64; // 80 expected, std of the mean ≈ 0.2
        assert!((mean - 80.0).abs() < 1.0, "{mean}");
        assert_eq!(
            bernoulli_row(&mut rng, 1.0, 5).collect::<Vec<_>>(),
            vec![0, 1, 2, 3, 4]
        );
        assert_eq!(bernoulli_row(&mut rng, 0.0, 5).count(), 0);
    }

    /// Every rank's part of every connectivity is the whole projection's columns in its
    /// range, renumbered, with their weights and delays (blocks of 1 024 rows and columns cut).
    #[test]
    fn a_part_is_the_whole_cut_to_its_targets() {
        let lif = "Lif(tau_m_ms: 10.0, v_rest_mv: -65.0, v_reset_mv: -65.0, v_th_mv: -50.0, \
                   tau_syn_exc_ms: 2.0, tau_syn_inh_ms: 5.0)";
        let text = format!(
            r#"(format_version: 1, dt_ms: 0.1, duration_ms: 1.0, seed: 7,
            populations: [(name: "a", size: 1500, model: {lif}),
                          (name: "b", size: 2100, model: {lif}),
                          (name: "c", size: 30, model: {lif})],
            projections: [
                (pre: "a", post: "a", connectivity: FixedProbability(p: 0.05),
                 allow_autapses: false, weight: Normal(mean: 1.0, std: 0.5),
                 delay_ms: Uniform(low: 0.1, high: 3.0)),
                (pre: "a", post: "b", connectivity: FixedInDegree(k: 20),
                 weight: Uniform(low: 0.0, high: 1.0), delay_ms: Uniform(low: 0.1, high: 2.0)),
                (pre: "b", post: "b", connectivity: FixedInDegree(k: 7), allow_autapses: false,
                 weight: Constant(2.0)),
                (pre: "b", post: "c", connectivity: FixedProbability(p: 0.3), weight: Constant(0.5)),
                (pre: "c", post: "c", connectivity: AllToAll, weight: Normal(mean: 0.0, std: 1.0)),
                (pre: "c", post: "a", connectivity: List(pairs: [(0, 3), (0, 1400), (29, 700), (4, 0)]),
                 weight: Uniform(low: 1.0, high: 2.0)),
            ])"#
        );
        let checked = crate::file::Source::from_text("parts.ron", text)
            .load_with(&crate::models::Rules)
            .unwrap();
        let whole = build(&checked).unwrap();
        for (lo, hi) in [
            (0.0, 1.0),
            (0.0, 0.0),
            (0.3, 0.7),
            (0.49, 1.0),
            (0.999, 1.0),
        ] {
            let range = |p: &Population| {
                let n = p.len() as f64;
                (n * lo) as usize..(n * hi) as usize
            };
            let part = build_part(&checked, Some(&range)).unwrap();
            for (pid, (_, post, w)) in whole.proj_ids().into_iter().zip(whole.projections()) {
                let r = range(whole.pop(whole.pop_id(post).unwrap()));
                let p = part.proj(pid);
                assert_eq!(p.weights.shape(), (w.weights.rows(), r.len()), "{}", w.name);
                let mut k = 0;
                for i in 0..w.weights.rows() {
                    for s in w.weights.row(i) {
                        let j = w.weights.indices()[s] as usize;
                        if !r.contains(&j) {
                            continue;
                        }
                        assert!(p.weights.row(i).contains(&k), "{} row {i}", w.name);
                        assert_eq!(p.weights.indices()[k] as usize, j - r.start);
                        assert_eq!(p.weights.get(k).to_bits(), w.weights.get(s).to_bits());
                        if let (Delays::PerSynapse(a), Delays::PerSynapse(b)) =
                            (&p.delays, &w.delays)
                        {
                            assert_eq!(a[k], b[s]);
                        }
                        k += 1;
                    }
                }
                assert_eq!(k, p.nnz(), "{}", w.name);
                assert_eq!(
                    std::mem::discriminant(&p.delays),
                    std::mem::discriminant(&w.delays)
                );
            }
        }
    }

    #[test]
    fn fan_based_initialisers_have_the_right_spread() {
        let s = Sampler::new(&Init::KaimingNormal { gain: None }, 450.0, 64.0);
        assert!(
            matches!(s, Sampler::Normal(m, sd) if m == 0.0 && (sd - (2.0f64 / 450.0).sqrt()).abs() < 1e-15)
        );
        let s = Sampler::new(&Init::XavierUniform { gain: Some(2.0) }, 10.0, 20.0);
        assert!(
            matches!(s, Sampler::Uniform(lo, hi) if (hi - 2.0 * (6.0f64 / 30.0).sqrt()).abs() < 1e-15 && lo == -hi)
        );
    }
}
