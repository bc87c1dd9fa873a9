//! The canonical structure summary: a stable, sorted text form of a network's structure —
//! what `snnsim inspect` prints and what the snapshot tests hold, so that a change of
//! structure shows up as a text diff in review. Populations and projections are listed in
//! name order; neuron ids as ranges in index order; weights as a short hash over the CSR
//! matrix (shape, row pointers, columns, value bit patterns).
//!
//! ```text
//! generation 7
//! populations (2):
//!   hidden           Synaptic     size        64  ids 0..=59, 64..=67
//!   input            Observation  size        25  ids 0..=24
//! projections (1):
//!   in               input -> hidden (Exc)  nnz 1600  delay 1 ms  weights 5be0c6a1
//! edits (1):
//!   episode 32  grow 4  hidden size 68  ids 64..=67
//! ```

use crate::engine::hash::StateHasher;
use crate::graph::{Delays, Network, Projection};
use std::fmt::Write;

/// One structural edit of the log.
#[derive(Debug, Clone, PartialEq)]
pub struct Edit {
    /// Episodes completed when it was made.
    pub episode: u64,
    /// `grow` or `prune`.
    pub kind: String,
    /// The population edited.
    pub population: String,
    /// Neurons added or removed.
    pub count: usize,
    /// Size after the edit.
    pub size_after: usize,
    /// Stable ids added or removed.
    pub ids: Vec<u64>,
}

/// `0..=3, 7, 9..=12`: the ids in order, runs of consecutive ids as ranges; `-` if none.
pub fn id_ranges(ids: &[u64]) -> String {
    if ids.is_empty() {
        return "-".into();
    }
    let mut parts = Vec::new();
    let mut start = ids[0];
    let mut prev = ids[0];
    let flush = |a: u64, b: u64, parts: &mut Vec<String>| {
        parts.push(if a == b {
            a.to_string()
        } else {
            format!("{a}..={b}")
        })
    };
    for &x in &ids[1..] {
        if prev.checked_add(1) == Some(x) {
            prev = x;
        } else {
            flush(start, prev, &mut parts);
            start = x;
            prev = x;
        }
    }
    flush(start, prev, &mut parts);
    parts.join(", ")
}

/// 8 hex digits over a projection's matrix: shape, row pointers, columns and weight bits (and
/// a kernel's geometry and weights).
pub fn weight_hash(p: &Projection) -> String {
    let mut h = StateHasher::default();
    let (r, c) = p.weights.shape();
    h.word(r as u64);
    h.word(c as u64);
    let indptr: Vec<u64> = p.weights.indptr().iter().map(|&x| x as u64).collect();
    h.ints(&indptr);
    h.ints(p.weights.indices());
    h.weights(&p.weights);
    // A convolution or pool: its geometry and kernel weights (only such projections: the
    // other hashes stay as they were).
    if let Some(k) = &p.kernel {
        let geometry = [
            &k.input[..],
            &k.output[..],
            &k.size[..],
            &k.stride[..],
            &k.padding[..],
            &k.dilation[..],
            &[k.groups][..],
        ]
        .concat();
        h.ints(&geometry.iter().map(|&x| x as u64).collect::<Vec<_>>());
        h.reals(&k.weights);
    }
    format!("{:08x}", (h.finish() >> 32) as u32)
}

/// The delay summary in ms: `delay D ms` (one for all) or `delays A..=B ms mean M ms`.
pub fn delay_summary(d: &Delays, dt_ms: f64) -> String {
    let ms = |steps: f64| (steps * dt_ms * 1e9).round() / 1e9;
    match d {
        Delays::Uniform(x) => format!("delay {} ms", ms(*x as f64)),
        Delays::PerSynapse(v) => {
            let mean = v.iter().map(|&x| x as f64).sum::<f64>() / v.len().max(1) as f64;
            format!(
                "delays {}..={} ms mean {:.4} ms",
                ms(d.min() as f64),
                ms(d.max() as f64),
                mean * dt_ms
            )
        }
    }
}

/// The canonical summary of `net` (time step `dt_ms`) and its edit log.
pub fn summary(net: &Network, dt_ms: f64, edits: &[Edit]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "generation {}", net.generation);
    let _ = writeln!(s, "populations ({}):", net.population_count());
    for p in net.populations() {
        let _ = writeln!(
            s,
            "  {:<16} {:<12} size {:>9}  ids {}",
            p.name,
            p.dynamics.kind(),
            p.len(),
            id_ranges(&p.neuron_ids)
        );
    }
    let _ = writeln!(s, "projections ({}):", net.projection_count());
    for (pre, post, pr) in net.projections() {
        // A convolution or pool stores no synapses: its connections are the kernel's, counted
        // over every presynaptic neuron, and its weights are shared.
        let nnz = match &pr.kernel {
            Some(k) => format!(
                "nnz {} (kernel, {} shared weights)",
                k.connections(),
                k.weights.len()
            ),
            None => format!("nnz {}", pr.nnz()),
        };
        let _ = writeln!(
            s,
            "  {:<16} {pre} -> {post} ({:?})  {nnz}  {}  weights {}",
            pr.name,
            pr.receptor,
            delay_summary(&pr.delays, dt_ms),
            weight_hash(pr)
        );
    }
    let _ = writeln!(s, "edits ({}):", edits.len());
    for e in edits {
        let _ = writeln!(
            s,
            "  episode {}  {} {}  {} size {}  ids {}",
            e.episode,
            e.kind,
            e.count,
            e.population,
            e.size_after,
            id_ranges(&e.ids)
        );
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn ranges_compress_runs() {
        assert_eq!(super::id_ranges(&[0, 1, 2, 5, 7, 8]), "0..=2, 5, 7..=8");
        assert_eq!(super::id_ranges(&[]), "-");
        assert_eq!(super::id_ranges(&[3]), "3");
    }
}
