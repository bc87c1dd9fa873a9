//! What changed between two networks: populations added, removed or resized (with the stable
//! ids of the neurons added and removed), and per projection the synapses added and removed
//! and the weights changed (counts and norms). Synapses are matched by the stable ids of their
//! two neurons, so pruning one neuron does not show as every later synapse moving.

use crate::graph::{Delays, Network, Projection};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// A population's change.
#[derive(Debug, Clone, PartialEq)]
pub struct PopDiff {
    /// Name.
    pub name: String,
    /// Size in A (`None`: not in A).
    pub size_a: Option<usize>,
    /// Size in B (`None`: not in B).
    pub size_b: Option<usize>,
    /// Stable ids in B but not A.
    pub added: Vec<u64>,
    /// Stable ids in A but not B.
    pub removed: Vec<u64>,
}

/// A projection's change.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjDiff {
    /// Name.
    pub name: String,
    /// Synapses in A (`None`: not in A).
    pub nnz_a: Option<usize>,
    /// Synapses in B (`None`: not in B).
    pub nnz_b: Option<usize>,
    /// Synapses in B only.
    pub added: usize,
    /// Synapses in A only.
    pub removed: usize,
    /// Synapses in both whose weight differs.
    pub changed: usize,
    /// Synapses in both whose delay differs.
    pub delay_changed: usize,
    /// L2 norm of the weight change over the synapses in both.
    pub change_l2: f64,
    /// Largest absolute weight change.
    pub change_max: f64,
    /// L2 norm of all weights in A and in B.
    pub norm: (f64, f64),
}

/// The differences between two networks.
#[derive(Debug, Clone, Default)]
pub struct Diff {
    /// Populations that differ.
    pub populations: Vec<PopDiff>,
    /// Projections that differ.
    pub projections: Vec<ProjDiff>,
    /// Generations of A and B (reported, not a difference by itself).
    pub generation: (u64, u64),
}

type Synapses = BTreeMap<(u64, u64), (f64, u16)>;

fn synapses(net: &Network, p: &Projection, pre: &str, post: &str) -> Synapses {
    let pre_ids = &net.population(pre).expect("endpoint").neuron_ids;
    let post_ids = &net.population(post).expect("endpoint").neuron_ids;
    let indptr = p.weights.indptr();
    let mut out = BTreeMap::new();
    if let Some(k) = &p.kernel {
        // A convolution or pool: the connections its kernel makes (weights of offsets that
        // reach one target added), with the projection's one delay.
        let d = p.delays.max();
        for (i, &a) in pre_ids.iter().enumerate().take(k.n_pre()) {
            k.targets(i, |j, w| {
                out.entry((a, post_ids[j])).or_insert((0.0, d)).0 += crate::real::wide(w);
            });
        }
        return out;
    }
    for i in 0..p.weights.rows() {
        for k in indptr[i]..indptr[i + 1] {
            let j = p.weights.indices()[k] as usize;
            let d = match &p.delays {
                Delays::Uniform(d) => *d,
                Delays::PerSynapse(v) => v[k],
            };
            out.insert(
                (pre_ids[i], post_ids[j]),
                (crate::real::wide(p.weights.get(k)), d),
            );
        }
    }
    out
}

fn norm(p: &Projection) -> f64 {
    if let Some(k) = &p.kernel {
        return k
            .weights
            .iter()
            .map(|&x| crate::real::wide(x).powi(2))
            .sum::<f64>()
            .sqrt();
    }
    p.weights
        .iter()
        .map(|x| crate::real::wide(x).powi(2))
        .sum::<f64>()
        .sqrt()
}

/// Compares network `a` with network `b`.
pub fn diff(a: &Network, b: &Network) -> Diff {
    let mut d = Diff {
        generation: (a.generation, b.generation),
        ..Diff::default()
    };
    let names: BTreeSet<&str> = a
        .populations()
        .chain(b.populations())
        .map(|p| p.name.as_str())
        .collect();
    for name in names {
        let (pa, pb) = (a.population(name), b.population(name));
        let ids = |p: Option<&crate::graph::Population>| -> BTreeSet<u64> {
            p.map(|p| p.neuron_ids.iter().copied().collect())
                .unwrap_or_default()
        };
        let (ia, ib) = (ids(pa), ids(pb));
        let pd = PopDiff {
            name: name.to_string(),
            size_a: pa.map(|p| p.len()),
            size_b: pb.map(|p| p.len()),
            added: ib.difference(&ia).copied().collect(),
            removed: ia.difference(&ib).copied().collect(),
        };
        if pd.size_a != pd.size_b || !pd.added.is_empty() || !pd.removed.is_empty() {
            d.populations.push(pd);
        }
    }
    let pa: BTreeMap<&str, (&str, &str, &Projection)> = a
        .projections()
        .map(|(x, y, p)| (p.name.as_str(), (x, y, p)))
        .collect();
    let pb: BTreeMap<&str, (&str, &str, &Projection)> = b
        .projections()
        .map(|(x, y, p)| (p.name.as_str(), (x, y, p)))
        .collect();
    let names: BTreeSet<&str> = pa.keys().chain(pb.keys()).copied().collect();
    for name in names {
        let sa = pa.get(name).map(|&(x, y, p)| synapses(a, p, x, y));
        let sb = pb.get(name).map(|&(x, y, p)| synapses(b, p, x, y));
        let empty = Synapses::new();
        let (ma, mb) = (sa.as_ref().unwrap_or(&empty), sb.as_ref().unwrap_or(&empty));
        let mut pd = ProjDiff {
            name: name.to_string(),
            nnz_a: sa.as_ref().map(|s| s.len()),
            nnz_b: sb.as_ref().map(|s| s.len()),
            added: mb.keys().filter(|k| !ma.contains_key(k)).count(),
            removed: ma.keys().filter(|k| !mb.contains_key(k)).count(),
            changed: 0,
            delay_changed: 0,
            change_l2: 0.0,
            change_max: 0.0,
            norm: (
                pa.get(name).map_or(0.0, |x| norm(x.2)),
                pb.get(name).map_or(0.0, |x| norm(x.2)),
            ),
        };
        let mut sq = 0.0;
        for (k, &(wa, da)) in ma {
            if let Some(&(wb, db)) = mb.get(k) {
                if wa.to_bits() != wb.to_bits() {
                    pd.changed += 1;
                    let c = (wb - wa).abs();
                    sq += c * c;
                    pd.change_max = pd.change_max.max(c);
                }
                if da != db {
                    pd.delay_changed += 1;
                }
            }
        }
        pd.change_l2 = sq.sqrt();
        if pd.nnz_a.is_none()
            || pd.nnz_b.is_none()
            || pd.added + pd.removed + pd.changed + pd.delay_changed > 0
        {
            d.projections.push(pd);
        }
    }
    d
}

impl Diff {
    /// Whether the two networks have the same structure and weights.
    pub fn is_equal(&self) -> bool {
        self.populations.is_empty() && self.projections.is_empty()
    }

    /// The report `snnsim diff` prints.
    pub fn report(&self) -> String {
        let mut s = String::new();
        let size = |x: Option<usize>| x.map_or("absent".to_string(), |n| n.to_string());
        let _ = writeln!(
            s,
            "generation {} -> {}",
            self.generation.0, self.generation.1
        );
        for p in &self.populations {
            let _ = writeln!(
                s,
                "population {}: size {} -> {}; {} neurons added (ids {}), {} removed (ids {})",
                p.name,
                size(p.size_a),
                size(p.size_b),
                p.added.len(),
                super::summary::id_ranges(&p.added),
                p.removed.len(),
                super::summary::id_ranges(&p.removed)
            );
        }
        for p in &self.projections {
            let _ = writeln!(
                s,
                "projection {}: nnz {} -> {}; {} synapses added, {} removed; {} weights changed \
                 (L2 {:.6e}, max {:.6e}); {} delays changed; |w| {:.6} -> {:.6}",
                p.name,
                size(p.nnz_a),
                size(p.nnz_b),
                p.added,
                p.removed,
                p.changed,
                p.change_l2,
                p.change_max,
                p.delay_changed,
                p.norm.0,
                p.norm.1
            );
        }
        let _ = writeln!(
            s,
            "{}",
            if self.is_equal() {
                "equal: same structure and weights"
            } else {
                "different"
            }
        );
        s
    }
}
