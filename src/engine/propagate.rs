//! The propagation kernels: every spike walks its CSR row and adds the row's weights into the
//! ring slot of its delay.
//!
//! The sums into one target are always taken in the same order — projections in name order,
//! then spikes in index order, then the row's synapses in column order — whoever computes
//! them. A large postsynaptic population is cut into ranges of targets ([`target_ranges`]);
//! each range is walked by one task, which visits, in every spiking row, only the synapses
//! whose target lies in its range (found by binary search: the columns of a row ascend). Every
//! ring value therefore has one writer and its sum keeps its order, so the result is the same
//! for any number of ranges and threads.

use crate::graph::{Delays, InputRing, Kernel, Projection, WeightValues};
use crate::Real;
use std::ops::Range;

/// Targets per range below which a postsynaptic population is not cut further.
pub const MIN_RANGE: usize = 16_384;

/// Synaptic events per step (estimated from the spike counts and mean row lengths) below which
/// propagation runs on the calling thread: fewer than this (a few microseconds of work) do not
/// pay for waking another. CUBA-4k has about 160 per step, CUBA-400k about 18 000.
pub const PARALLEL_EVENTS: usize = 4_096;

/// Ring slots of at least this many targets (256 kB of f64, a quarter of a core's L2: the
/// neuron update streams the rest of the cache away between two steps' propagations) are
/// walked with software prefetches.
pub const PREFETCH_TARGETS: usize = 1 << 15;

/// Prefetch distance, in synapses of a row.
const AHEAD: usize = 32;

/// A hint to load the cache line of `p`; never faults, whatever the address.
#[inline(always)]
fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 is a hint: it does not fault, even for an invalid address.
    unsafe {
        std::arch::x86_64::_mm_prefetch(p as *const i8, std::arch::x86_64::_MM_HINT_T0)
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Mean synaptic events per spiking row from which a population's targets are cut into ranges
/// walked by different threads (each task then pays a binary search per row and shares the
/// row's cache lines with the others). Measured on a 2-core Zen 5: rows of 80 (CUBA-400k) run
/// no faster cut in two than whole, rows of 800 run 1.5 times faster; below this, populations
/// are walked in parallel but each by one task.
pub const SPLIT_ROW_LEN: usize = 256;

/// Cuts `0..n` into at most `pieces` ranges of at least [`MIN_RANGE`] targets (one range if
/// `n` is small), of near-equal length.
pub fn target_ranges(n: usize, pieces: usize) -> Vec<Range<usize>> {
    let k = pieces.min(n / MIN_RANGE).max(1);
    (0..k).map(|i| i * n / k..(i + 1) * n / k).collect()
}

/// Adds the rows of `spikes` into the ring and returns the number of synapses walked: the same
/// as [`propagate_range`] over all targets.
pub fn propagate_projection(
    proj: &Projection,
    spikes: &[u32],
    ring: &mut InputRing,
    step: u64,
) -> u64 {
    let n = ring.n;
    let r = ring
        .receptor_index(proj.receptor)
        .expect("validated receptor");
    let len = ring.len;
    propagate_range(
        proj,
        spikes,
        &mut ring.slots[r * len..(r + 1) * len],
        0..n,
        step,
    )
}

/// Adds, for every spiking row, the weights of the synapses whose target lies in `targets`
/// into the ring slot due at `step + delay`. `slots[s]` is ring slot `s` of the projection's
/// receptor, restricted to `targets` (its index 0 is target `targets.start`). Returns the
/// number of synapses walked. A shared weight is added as one constant (the same additions, in
/// the same order, as a per-synapse array holding that value everywhere).
pub fn propagate_range<S: AsMut<[Real]>>(
    proj: &Projection,
    spikes: &[u32],
    slots: &mut [S],
    targets: Range<usize>,
    step: u64,
) -> u64 {
    match proj.weights.values() {
        WeightValues::Shared(w) => walk(proj, Same(*w), spikes, slots, targets, step),
        WeightValues::PerSynapse(v) => walk(proj, &v[..], spikes, slots, targets, step),
    }
}

/// Adds, for every neuron i of a graded population with a non-zero value x_i, w·x_i for each
/// synapse of its row into `slot` (every target). Returns the synapses walked. Graded
/// populations are small (the inputs of a network), so this is a plain loop.
pub fn propagate_graded(proj: &Projection, values: &[Real], slot: &mut [Real]) -> u64 {
    let indptr = proj.weights.indptr();
    let cols = proj.weights.indices();
    let mut events = 0u64;
    let mut add = |w: &dyn Fn(usize) -> Real| {
        for (i, &x) in values.iter().enumerate() {
            if x == 0.0 {
                continue;
            }
            let ks = indptr[i]..indptr[i + 1];
            events += ks.len() as u64;
            for k in ks {
                slot[cols[k] as usize] += w(k) * x;
            }
        }
    };
    match proj.weights.values() {
        WeightValues::Shared(w) => add(&|_| *w),
        WeightValues::PerSynapse(v) => add(&|k| v[k]),
    }
    events
}

/// Adds a convolution or pooling projection's input into `slot` (every target): for every
/// spike of `spikes` in index order (or, for a graded population, every neuron i with a
/// non-zero value x_i, weight × x_i), the kernel's weights into the spike's targets, in
/// [`Kernel::targets`]'s order (output channel, ky, kx). One task walks it, so each target's
/// sum has one fixed order on any number of threads. Returns the connections walked.
pub fn propagate_kernel(
    k: &Kernel,
    spikes: &[u32],
    values: Option<&[Real]>,
    slot: &mut [Real],
) -> u64 {
    let mut events = 0;
    match values {
        Some(values) => {
            for (i, &x) in values.iter().enumerate() {
                if x != 0.0 {
                    events += k.targets(i, |j, w| slot[j] += w * x);
                }
            }
        }
        None => {
            for &i in spikes {
                events += k.targets(i as usize, |j, w| slot[j] += w);
            }
        }
    }
    events
}

/// The weights of a projection as the propagation loops read them.
trait Values: Copy {
    /// The weights of the synapses `ks`.
    type Row: Iterator<Item = Real>;
    fn row(self, ks: Range<usize>) -> Self::Row;
    /// The weight of synapse `k`.
    fn at(self, k: usize) -> Real;
    /// A hint to load the weights of the synapses from `k` on.
    fn prefetch(self, k: usize);
}

impl<'a> Values for &'a [Real] {
    type Row = std::iter::Copied<std::slice::Iter<'a, Real>>;
    #[inline(always)]
    fn row(self, ks: Range<usize>) -> Self::Row {
        self[ks].iter().copied()
    }
    #[inline(always)]
    fn at(self, k: usize) -> Real {
        self[k]
    }
    #[inline(always)]
    fn prefetch(self, k: usize) {
        prefetch(self.as_ptr().wrapping_add(k));
        prefetch(self.as_ptr().wrapping_add(k + 8));
    }
}

/// One weight for every synapse.
#[derive(Clone, Copy)]
struct Same(Real);

impl Values for Same {
    type Row = std::iter::RepeatN<Real>;
    #[inline(always)]
    fn row(self, ks: Range<usize>) -> Self::Row {
        std::iter::repeat_n(self.0, ks.len())
    }
    #[inline(always)]
    fn at(self, _: usize) -> Real {
        self.0
    }
    #[inline(always)]
    fn prefetch(self, _: usize) {}
}

/// Asks for the first lines of row `i`'s columns and weights.
#[inline(always)]
fn prefetch_row<V: Values>(indptr: &[usize], cols: &[u32], w: V, i: Option<usize>) {
    if let Some(i) = i {
        let a = indptr[i];
        prefetch(cols.as_ptr().wrapping_add(a));
        w.prefetch(a);
    }
}

/// [`propagate_range`] over weights `w`.
#[inline(always)]
fn walk<S: AsMut<[Real]>, V: Values>(
    proj: &Projection,
    w: V,
    spikes: &[u32],
    slots: &mut [S],
    targets: Range<usize>,
    step: u64,
) -> u64 {
    let indptr = proj.weights.indptr();
    let cols = proj.weights.indices();
    let whole = targets.start == 0 && targets.end >= proj.weights.cols();
    let (lo, hi) = (targets.start as u32, targets.end as u32);
    let base = targets.start;
    // The part of row `i` whose targets lie in the range.
    let row = |i: u32| -> Range<usize> {
        let (a, b) = (indptr[i as usize], indptr[i as usize + 1]);
        if whole {
            return a..b;
        }
        let c = &cols[a..b];
        a + c.partition_point(|&j| j < lo)..a + c.partition_point(|&j| j < hi)
    };
    let len = slots.len() as u64;
    let mut events = 0u64;
    match &proj.delays {
        Delays::Uniform(d) => {
            let slot = slots[((step + *d as u64) % len) as usize].as_mut();
            if slot.len() < PREFETCH_TARGETS {
                for &i in spikes {
                    let ks = row(i);
                    events += ks.len() as u64;
                    for (&j, x) in cols[ks.clone()].iter().zip(w.row(ks)) {
                        slot[j as usize - base] += x;
                    }
                }
            } else {
                // A ring slot beyond the caches: the misses of a spike form a chain (row
                // start, then the row's columns and weights, then its targets), so each link
                // is asked for ahead: row starts eight spikes ahead, rows four ahead, the first
                // targets of the next row, and targets within a row AHEAD synapses ahead.
                let at = |s: usize| spikes.get(s).map(|&i| i as usize);
                for s in 0..spikes.len().min(4) {
                    prefetch_row(indptr, cols, w, at(s));
                }
                for (s, &i) in spikes.iter().enumerate() {
                    if let Some(far) = at(s + 8) {
                        prefetch(indptr.as_ptr().wrapping_add(far));
                    }
                    prefetch_row(indptr, cols, w, at(s + 4));
                    if let Some(i1) = at(s + 1) {
                        let r = row(i1 as u32);
                        for &j in &cols[r.start..r.end.min(r.start + AHEAD)] {
                            prefetch(slot.as_ptr().wrapping_add((j as usize).wrapping_sub(base)));
                        }
                    }
                    let ks = row(i);
                    events += ks.len() as u64;
                    let c = &cols[ks.clone()];
                    for (k, x) in w.row(ks).enumerate() {
                        if let Some(&ahead) = c.get(k + AHEAD) {
                            prefetch(
                                slot.as_ptr()
                                    .wrapping_add((ahead as usize).wrapping_sub(base)),
                            );
                        }
                        slot[c[k] as usize - base] += x;
                    }
                }
            }
        }
        Delays::PerSynapse(ds) => {
            for &i in spikes {
                let ks = row(i);
                events += ks.len() as u64;
                for k in ks {
                    let s = ((step + ds[k] as u64) % len) as usize;
                    slots[s].as_mut()[cols[k] as usize - base] += w.at(k);
                }
            }
        }
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Engine;
    use crate::file::{Receptor, Source};
    use crate::graph::{Traces, Weights};

    /// A random projection `n_pre × n_post` with about `per_row` synapses per row.
    fn projection(n_pre: usize, n_post: usize, per_row: usize, delays: Delays) -> Projection {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let (mut indptr, mut indices, mut data) = (vec![0usize], Vec::new(), Vec::new());
        for _ in 0..n_pre {
            let mut row: Vec<u32> = (0..per_row)
                .map(|_| (next() % n_post as u64) as u32)
                .collect();
            row.sort_unstable();
            row.dedup();
            for j in row {
                indices.push(j);
                data.push((next() % 1000) as Real / 7.0 - 70.0);
            }
            indptr.push(indices.len());
        }
        let nnz = indices.len();
        let delays = match delays {
            Delays::PerSynapse(_) => {
                Delays::PerSynapse((0..nnz).map(|k| 1 + (k % 5) as u16).collect())
            }
            d => d,
        };
        Projection {
            name: "p".into(),
            receptor: Receptor::Exc,
            weights: Weights::new((n_pre, n_post), indptr, indices, data),
            delays,
            traces: Traces::default(),
            kernel: None,
        }
    }

    /// Walking every target range separately gives the whole walk's ring, bit for bit.
    #[test]
    fn target_ranges_give_the_same_sums_as_the_whole_walk() {
        let n_post = 3 * MIN_RANGE + 123;
        for delays in [Delays::Uniform(2), Delays::PerSynapse(Vec::new())] {
            let proj = projection(500, n_post, 400, delays);
            let spikes: Vec<u32> = (0..500).step_by(3).collect();
            let mut whole = InputRing::new(&[Receptor::Exc, Receptor::Inh], n_post, 6);
            let mut events = 0;
            for step in 0..4 {
                events += propagate_projection(&proj, &spikes, &mut whole, step);
            }
            for pieces in 1..=4 {
                let ranges = target_ranges(n_post, pieces);
                assert_eq!(ranges.len(), pieces.min(3));
                assert_eq!(ranges.last().unwrap().end, n_post);
                let mut ring = InputRing::new(&[Receptor::Exc, Receptor::Inh], n_post, 6);
                let mut split_events = 0;
                for step in 0..4 {
                    for t in &ranges {
                        let mut slots: Vec<&mut [Real]> = ring.slots[..6]
                            .iter_mut()
                            .map(|s| &mut s[t.clone()])
                            .collect();
                        split_events +=
                            propagate_range(&proj, &spikes, &mut slots, t.clone(), step);
                    }
                }
                assert_eq!(split_events, events);
                let same = whole
                    .slots
                    .iter()
                    .zip(&ring.slots)
                    .all(|(a, b)| a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()));
                assert!(same, "{pieces} ranges differ from the whole walk");
            }
        }
    }

    /// A shared weight gives the rings, bit for bit, of a per-synapse array holding that
    /// value everywhere, over the whole walk and over target ranges, with either kind of
    /// delays and either loop (ring slots below and beyond [`PREFETCH_TARGETS`]).
    #[test]
    fn a_shared_weight_propagates_as_its_per_synapse_array() {
        for n_post in [500, PREFETCH_TARGETS + 77] {
            for delays in [Delays::Uniform(2), Delays::PerSynapse(Vec::new())] {
                let mut full = projection(300, n_post, 60, delays);
                full.weights.data_mut().iter_mut().for_each(|w| *w = 0.1);
                let w = &full.weights;
                let shared = Projection {
                    weights: Weights::try_shared(
                        w.shape(),
                        w.indptr().to_vec(),
                        w.indices().to_vec(),
                        0.1,
                    )
                    .unwrap(),
                    ..full.clone()
                };
                assert!(shared.weights.per_synapse().is_none());
                let spikes: Vec<u32> = (0..300).step_by(2).collect();
                let mut a = InputRing::new(&[Receptor::Exc, Receptor::Inh], n_post, 6);
                let mut b = InputRing::new(&[Receptor::Exc, Receptor::Inh], n_post, 6);
                for step in 0..4 {
                    let ea = propagate_projection(&full, &spikes, &mut a, step);
                    let eb = propagate_projection(&shared, &spikes, &mut b, step);
                    assert_eq!(ea, eb);
                    let t = n_post / 3..n_post;
                    let mut slots: Vec<&mut [Real]> =
                        b.slots[..6].iter_mut().map(|s| &mut s[t.clone()]).collect();
                    propagate_range(&shared, &spikes, &mut slots, t.clone(), step + 1);
                    let mut slots: Vec<&mut [Real]> =
                        a.slots[..6].iter_mut().map(|s| &mut s[t.clone()]).collect();
                    propagate_range(&full, &spikes, &mut slots, t, step + 1);
                }
                let bits = |r: &InputRing| -> Vec<u64> {
                    r.slots
                        .iter()
                        .flatten()
                        .map(|&x| crate::real::bits(x))
                        .collect()
                };
                assert_eq!(bits(&a), bits(&b));
                assert!(bits(&a).iter().any(|&x| x != 0));
            }
        }
    }

    /// The engine's parallel path (target ranges walked by several threads: the drive's rows
    /// hold about 1 000 synapses, beyond [`SPLIT_ROW_LEN`]) gives the state of the
    /// single-thread path.
    #[test]
    fn parallel_propagation_is_bit_identical_to_one_thread() {
        let text = format!(
            r#"(format_version: 1, dt_ms: 0.1, duration_ms: 2.0, seed: 5,
                populations: [
                  (name: "drive", size: 2000, model: Poisson(rate_hz: 500.0)),
                  (name: "cells", size: {}, model: Lif(v_th_mv: -50.0),
                   init: {{ "v": Uniform(low: -70.0, high: -50.0) }}),
                ],
                projections: [
                  (pre: "drive", post: "cells", connectivity: FixedProbability(p: 0.03),
                   weight: Normal(mean: 0.5, std: 0.2), delay_ms: Uniform(low: 0.1, high: 0.5)),
                  (name: "rec", pre: "cells", post: "cells", receptor: Inh,
                   connectivity: FixedProbability(p: 0.002), weight: Constant(-0.3)),
                ],
                recorders: [Spikes(population: "cells")])"#,
            2 * MIN_RANGE + 7
        );
        let checked = crate::models::load_source(&Source::from_text("split.ron", text)).unwrap();
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let mut e = Engine::from_file(&checked).unwrap();
                e.run(checked.steps()).unwrap();
                (e.state_hash(), e.synaptic_events, e.spikes.events.clone())
            })
        };
        let one = run(1);
        assert!(
            one.1 as usize > PARALLEL_EVENTS * checked.steps() as usize,
            "the network must take the parallel path ({} events)",
            one.1
        );
        assert_eq!(run(2), one);
        assert_eq!(run(3), one);
    }
}
