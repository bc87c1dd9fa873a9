//! Structural edits: growing and pruning a population. An edit resizes the population's
//! columns, stable ids, spike list, delay rings and every incident projection (rows, columns,
//! delays, traces), keeps every other value exactly as it was, bumps the network's
//! generation, and returns index maps (new index → old index, or `NEW`) so that state kept
//! elsewhere — a rule's per-synapse moments, an agent's statistics — can follow.
//!
//! Growth connects each new neuron to every partner of every incident projection (the
//! all-to-all wiring of the foraging agent), with weights from a caller's function; pruning
//! deletes the neurons' rows and columns.

use super::{Delays, Network, PopId, WeightValues, Weights};
use crate::models::{chunks, remap::remap_vec};
use crate::Real;
use snnsim_plugin_api::abi::NEW;

/// Index maps of one projection after an edit.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjRemap {
    /// Projection name.
    pub name: String,
    /// New pre neuron → old.
    pub pre: Vec<u64>,
    /// New post neuron → old.
    pub post: Vec<u64>,
    /// New synapse → old.
    pub synapses: Vec<u64>,
}

/// What an edit did.
#[derive(Debug, Clone, PartialEq)]
pub struct EditOutcome {
    /// The population edited.
    pub population: String,
    /// New neuron → old neuron.
    pub neurons: Vec<u64>,
    /// Stable ids of the neurons added (growth) or removed (pruning).
    pub ids: Vec<u64>,
    /// Size after the edit.
    pub size_after: usize,
    /// Index maps of every incident projection, in name order.
    pub projections: Vec<ProjRemap>,
}

impl Network {
    /// Appends `n` neurons to `pop`, at rest. Every incident projection gets synapses between
    /// each new neuron and every partner neuron, weighted by `weight(projection, pre, post)`
    /// (called in row-major order of the new matrix). New per-synapse delays take the
    /// projection's shortest delay.
    pub fn grow(
        &mut self,
        pop: PopId,
        n: usize,
        seed: u64,
        weight: &mut dyn FnMut(&str, usize, usize) -> Real,
    ) -> Result<EditOutcome, String> {
        let old = self.pop(pop).len();
        let map: Vec<u64> = (0..old as u64).chain(std::iter::repeat_n(NEW, n)).collect();
        self.reindex(pop, map, seed, weight)
    }

    /// Removes the neurons at `remove` (indices, any order, no duplicates) from `pop`, with
    /// their rows and columns in every incident projection.
    pub fn prune(
        &mut self,
        pop: PopId,
        remove: &[usize],
        seed: u64,
    ) -> Result<EditOutcome, String> {
        let old = self.pop(pop).len();
        let mut gone = vec![false; old];
        for &i in remove {
            if i >= old || gone[i] {
                return Err(format!(
                    "cannot remove neuron {i}: out of range or listed twice"
                ));
            }
            gone[i] = true;
        }
        let map: Vec<u64> = (0..old).filter(|&i| !gone[i]).map(|i| i as u64).collect();
        self.reindex(pop, map, seed, &mut |_, _, _| 0.0)
    }

    /// Re-indexes `pop` by `map` (new → old or NEW) and every incident projection with it.
    fn reindex(
        &mut self,
        pop: PopId,
        map: Vec<u64>,
        seed: u64,
        weight: &mut dyn FnMut(&str, usize, usize) -> Real,
    ) -> Result<EditOutcome, String> {
        let old_len = self.pop(pop).len();
        let name = self.pop(pop).name.clone();
        let mut inverse = vec![NEW; old_len];
        for (k, &o) in map.iter().enumerate() {
            if o != NEW {
                inverse[o as usize] = k as u64;
            }
        }
        // The population itself.
        let p = self.pop_mut(pop);
        p.dynamics.remap(&map, seed, &name)?;
        let mut ids = Vec::new();
        let mut next = p.next_neuron_id;
        let new_ids: Vec<u64> = map
            .iter()
            .map(|&o| {
                if o == NEW {
                    next += 1;
                    ids.push(next - 1);
                    next - 1
                } else {
                    p.neuron_ids[o as usize]
                }
            })
            .collect();
        if ids.is_empty() {
            ids = (0..old_len)
                .filter(|&i| inverse[i] == NEW)
                .map(|i| p.neuron_ids[i])
                .collect();
        }
        p.neuron_ids = new_ids;
        p.next_neuron_id = next;
        p.spikes = p
            .spikes
            .iter()
            .filter_map(|&i| Some(inverse[i as usize]).filter(|&k| k != NEW))
            .map(|k| k as u32)
            .collect();
        p.chunk_spikes = vec![Vec::new(); chunks(map.len())];
        for slot in p.input.slots.iter_mut().chain(p.due.iter_mut()) {
            *slot = remap_vec(slot, &map, &0.0);
        }
        p.input.n = map.len();
        let size_after = map.len();

        // Every incident projection, in name order.
        let mut projections = Vec::new();
        for id in self.proj_ids() {
            let (pre, post) = self.endpoints(id);
            if pre != pop && post != pop {
                continue;
            }
            let (n_pre, n_post) = (self.pop(pre).len(), self.pop(post).len());
            let identity = |n: usize| (0..n as u64).collect::<Vec<u64>>();
            let pre_map = if pre == pop {
                map.clone()
            } else {
                identity(n_pre)
            };
            let post_map = if post == pop {
                map.clone()
            } else {
                identity(n_post)
            };
            let proj = self.proj_mut(id);
            let remap = rebuild(proj, &pre_map, &post_map, weight);
            projections.push(remap);
        }
        self.generation += 1;
        Ok(EditOutcome {
            population: name,
            neurons: map,
            ids,
            size_after,
            projections,
        })
    }
}

/// Weights being rebuilt: a shared weight stays shared while every synapse added has that
/// same value (bit for bit), and becomes one value per synapse at the first that differs.
enum NewValues {
    Shared(Real),
    PerSynapse(Vec<Real>),
}

impl NewValues {
    /// Appends the weight of the next synapse; `n` synapses precede it.
    fn push(&mut self, w: Real, n: usize) {
        match self {
            NewValues::Shared(x) if x.to_bits() == w.to_bits() => {}
            NewValues::Shared(x) => {
                let mut v = Vec::with_capacity(n + 1);
                v.resize(n, *x);
                v.push(w);
                *self = NewValues::PerSynapse(v);
            }
            NewValues::PerSynapse(v) => v.push(w),
        }
    }
}

/// Rebuilds one projection's CSR matrix, delays and traces under the neuron maps.
fn rebuild(
    proj: &mut super::Projection,
    pre_map: &[u64],
    post_map: &[u64],
    weight: &mut dyn FnMut(&str, usize, usize) -> Real,
) -> ProjRemap {
    let (old_pre, old_post) = proj.weights.shape();
    let mut post_inv = vec![NEW; old_post];
    for (k, &o) in post_map.iter().enumerate() {
        if o != NEW {
            post_inv[o as usize] = k as u64;
        }
    }
    let new_posts: Vec<usize> = (0..post_map.len())
        .filter(|&k| post_map[k] == NEW)
        .collect();
    let indptr_old = proj.weights.indptr();
    let idx_old = proj.weights.indices();
    let min_delay = proj.delays.min();
    let mut indptr = Vec::with_capacity(pre_map.len() + 1);
    let (mut indices, mut syn) = (Vec::new(), Vec::new());
    let mut data = match proj.weights.shared() {
        Some(w) => NewValues::Shared(w),
        None => NewValues::PerSynapse(Vec::new()),
    };
    let mut delays = Vec::new();
    indptr.push(0usize);
    for (r, &o) in pre_map.iter().enumerate() {
        if o == NEW {
            for j in 0..post_map.len() {
                data.push(weight(&proj.name, r, j), indices.len());
                indices.push(j as u32);
                syn.push(NEW);
                delays.push(min_delay);
            }
        } else {
            let i = o as usize;
            for k in indptr_old[i]..indptr_old[i + 1] {
                let j = post_inv[idx_old[k] as usize];
                if j != NEW {
                    data.push(proj.weights.get(k), indices.len());
                    indices.push(j as u32);
                    syn.push(k as u64);
                    delays.push(match &proj.delays {
                        Delays::Uniform(d) => *d,
                        Delays::PerSynapse(v) => v[k],
                    });
                }
            }
            for &j in &new_posts {
                data.push(weight(&proj.name, r, j), indices.len());
                indices.push(j as u32);
                syn.push(NEW);
                delays.push(min_delay);
            }
        }
        indptr.push(indices.len());
    }
    debug_assert!(old_pre > 0 || pre_map.iter().all(|&o| o == NEW));
    let values = match data {
        NewValues::Shared(w) => WeightValues::Shared(w),
        NewValues::PerSynapse(v) => WeightValues::PerSynapse(v),
    };
    proj.weights =
        Weights::try_from_parts((pre_map.len(), post_map.len()), indptr, indices, values)
            .expect("rebuilt rows stay sorted and in range");
    if let Delays::PerSynapse(_) = proj.delays {
        proj.delays = Delays::PerSynapse(delays);
    }
    if !proj.traces.pre.is_empty() {
        proj.traces.pre = remap_vec(&proj.traces.pre, pre_map, &0.0);
    }
    if !proj.traces.post.is_empty() {
        proj.traces.post = remap_vec(&proj.traces.post, post_map, &0.0);
    }
    ProjRemap {
        name: proj.name.clone(),
        pre: pre_map.to_vec(),
        post: post_map.to_vec(),
        synapses: syn,
    }
}
