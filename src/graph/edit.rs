//! Structural edits: growing and pruning a population, and adding and removing single
//! synapses of a projection. An edit resizes what it must (a population's columns, stable ids,
//! spike list and delay rings; every incident projection's rows, columns, delays and traces),
//! keeps every other value exactly as it was, bumps the network's generation, and returns
//! index maps (new index → old index, or `NEW`) so that state kept elsewhere — a rule's
//! per-synapse moments, an agent's statistics — can follow.
//!
//! Growth connects each new neuron to every partner of every incident projection (the
//! all-to-all wiring of the foraging agent), with weights from a caller's function; pruning
//! deletes the neurons' rows and columns.
//!
//! Synapse edits ([`Network::edit_synapses`]) come in batches: a structural-plasticity rule
//! adds and removes thousands of synapses at once, and rebuilding the CSR arrays once per
//! synapse would cost O(synapses) each time. The batch is checked whole before anything
//! changes, sorted by (pre, post), and merged into the old arrays in one pass, in place: the
//! runs of synapses between two edits are moved (one `memmove` each) to their new places and
//! the new synapses written into the gaps. In place, because fresh arrays for a projection of
//! 20 million synapses cost more in page faults than the whole edit (about 150 ms for 80 MB
//! on a small virtual machine, against 15 ms to move them), and because a full check of the
//! new structure costs as much again: the edit checks the rows it wrote, and rows moved whole
//! stay as valid as they were. For the same reason the edit returns where synapses went in
//! O(edits) ([`SynapseRemap`]), and the full new → old map is made only for those who need it.
use super::{Delays, Network, PopId, ProjId, WeightValues, Weights};
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
    /// Appends `n` neurons to `pop`, at rest. Every incident projection gets a synapse between
    /// each new neuron and each partner neuron for which `weight(projection, pre, post)` (called
    /// in row-major order of the new matrix) is `Some(w)`, weighted `w`; `None` leaves the pair
    /// unconnected, so that a policy can grow neurons bare and wire them sparsely afterwards.
    /// New per-synapse delays take the projection's shortest delay.
    pub fn grow(
        &mut self,
        pop: PopId,
        n: usize,
        seed: u64,
        weight: &mut dyn FnMut(&str, usize, usize) -> Option<Real>,
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
        self.reindex(pop, map, seed, &mut |_, _, _| None)
    }

    /// Re-indexes `pop` by `map` (new → old or NEW) and every incident projection with it.
    fn reindex(
        &mut self,
        pop: PopId,
        map: Vec<u64>,
        seed: u64,
        weight: &mut dyn FnMut(&str, usize, usize) -> Option<Real>,
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
    weight: &mut dyn FnMut(&str, usize, usize) -> Option<Real>,
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
                if let Some(w) = weight(&proj.name, r, j) {
                    data.push(w, indices.len());
                    indices.push(j as u32);
                    syn.push(NEW);
                    delays.push(min_delay);
                }
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
                if let Some(w) = weight(&proj.name, r, j) {
                    data.push(w, indices.len());
                    indices.push(j as u32);
                    syn.push(NEW);
                    delays.push(min_delay);
                }
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

/// A synapse to add with [`Network::edit_synapses`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NewSynapse {
    /// Presynaptic neuron (the row).
    pub pre: u32,
    /// Postsynaptic neuron (the column).
    pub post: u32,
    /// Weight; finite.
    pub weight: Real,
    /// Delay in steps, at least 1; `None` takes the projection's shortest delay (its one
    /// delay when the delays are uniform).
    pub delay: Option<u16>,
}

/// What a synapse edit did to a projection's synapse indices, in O(edits) space: the old
/// indices of the synapses removed and the new indices of those added (every other synapse
/// keeps its order). The full new → old map — O(synapses), as a rule's `resize` takes it —
/// is made on demand by [`SynapseRemap::synapses`] or [`SynapseRemap::to_proj_remap`], so
/// that an edit of a projection without per-synapse state elsewhere does not pay for it.
#[derive(Debug, Clone, PartialEq)]
pub struct SynapseRemap {
    /// Projection name.
    pub name: String,
    /// Pre and post neurons (unchanged by the edit).
    pub shape: (usize, usize),
    /// Synapses before the edit.
    pub nnz_before: usize,
    /// Old indices of the removed synapses, ascending.
    pub removed: Vec<usize>,
    /// New indices of the added synapses, ascending.
    pub added: Vec<usize>,
}

impl SynapseRemap {
    /// Synapses after the edit.
    pub fn nnz_after(&self) -> usize {
        self.nnz_before - self.removed.len() + self.added.len()
    }

    /// New synapse → old synapse, or `NEW`, for every synapse after the edit.
    pub fn synapses(&self) -> Vec<u64> {
        let n = self.nnz_after();
        let mut map = Vec::with_capacity(n);
        // Old synapses, in order, skipping the removed ones: `count` of them.
        let (mut old, mut r) = (0usize, 0usize);
        let mut kept = |map: &mut Vec<u64>, mut count: usize| {
            while count > 0 {
                while self.removed.get(r) == Some(&old) {
                    old += 1;
                    r += 1;
                }
                let run = count.min(self.removed.get(r).map_or(usize::MAX, |&x| x - old));
                map.extend(old as u64..(old + run) as u64);
                old += run;
                count -= run;
            }
        };
        let mut next = 0;
        for &a in &self.added {
            kept(&mut map, a - next);
            map.push(NEW);
            next = a + 1;
        }
        kept(&mut map, n - next);
        map
    }

    /// The projection's index maps as a neuron edit gives them: identities for the neurons,
    /// [`synapses`](Self::synapses) for the synapses.
    pub fn to_proj_remap(&self) -> ProjRemap {
        ProjRemap {
            name: self.name.clone(),
            pre: (0..self.shape.0 as u64).collect(),
            post: (0..self.shape.1 as u64).collect(),
            synapses: self.synapses(),
        }
    }
}

impl Network {
    /// Removes the synapses `remove` ((pre, post) pairs) from projection `proj` and adds the
    /// synapses `add`, in one pass over its arrays, in place: O(synapses + edits · log
    /// synapses), each run of untouched synapses moved as one slice.
    ///
    /// Every other synapse keeps its weight and delay bit for bit, and the traces (one per
    /// neuron) are kept as they are. A shared weight stays shared while every added weight
    /// equals it bit for bit, and uniform delays stay uniform while every added delay equals
    /// them; otherwise they become one per synapse. A pair both removed and added is replaced:
    /// a new synapse, `NEW` in the map. The post population's delay rings are lengthened at
    /// step `now` (as by [`Network::add_projection`]) to hold the longest added delay. Input
    /// already in flight stays in the rings: a removed synapse carries no new spike, but what
    /// it sent before its removal still arrives.
    ///
    /// Errors, after which nothing has changed: a removed pair that does not exist or is
    /// listed twice, an added pair that exists (and is not removed) or is listed twice, a
    /// neuron out of range, a delay below one step, a weight that is not finite, delay rings
    /// too long to allocate. Each names the entry (`remove[i]`, `add[i]`) and its pair.
    ///
    /// Returns where the synapses went ([`SynapseRemap`]: the removed old indices and the
    /// added new ones; [`SynapseRemap::to_proj_remap`] gives the full maps). The generation is
    /// bumped, by an empty edit too.
    pub fn edit_synapses(
        &mut self,
        proj: ProjId,
        remove: &[(u32, u32)],
        add: &[NewSynapse],
        now: u64,
    ) -> Result<SynapseRemap, String> {
        let (_, post) = self.endpoints(proj);
        let plan = SynapseEdit::check(self.proj(proj), remove, add)?;
        let need = plan.longest_added as usize + 1;
        let ring = &self.pop(post).input;
        if need > ring.len {
            let bytes = (ring.receptors.len() * ring.n)
                .saturating_mul(need)
                .saturating_mul(std::mem::size_of::<Real>());
            Vec::<u8>::new().try_reserve_exact(bytes).map_err(|e| {
                format!(
                    "cannot lengthen the delay rings of `{}` to {need} slots: {e}",
                    self.pop(post).name
                )
            })?;
        }
        let remap = plan.apply(self.proj_mut(proj));
        self.pop_mut(post).input.lengthen(need, now);
        self.generation += 1;
        Ok(remap)
    }
}

/// A synapse to insert, checked.
#[derive(Debug, Clone, Copy)]
struct Insert {
    row: u32,
    /// Position in the old arrays before which it goes.
    at: usize,
    post: u32,
    weight: Real,
    delay: u16,
}

/// A checked batch of synapse edits of one projection.
struct SynapseEdit {
    /// Old positions of the removed synapses, ascending.
    removed: Vec<usize>,
    /// Rows of `removed`.
    removed_rows: Vec<u32>,
    /// Additions in (pre, post) order.
    inserts: Vec<Insert>,
    /// The shared weight after the edit, if it stays shared.
    shared: Option<Real>,
    /// The one delay after the edit, if the delays stay uniform.
    uniform: Option<u16>,
    /// The longest added delay (0 if none).
    longest_added: u16,
}

/// A run of old synapses between two edits, and how far it moves.
#[derive(Debug, Clone, Copy)]
struct Run {
    start: usize,
    end: usize,
    shift: isize,
}

/// Edits one per-synapse array in place: moves every run of kept elements to its new place
/// and writes the added elements at their new indices `added`. Runs moving left go first, in
/// ascending order, then runs moving right, in descending order: since the new order is the
/// old one, a run's destination then covers only removed elements, elements already moved,
/// and its own (which `copy_within` allows).
fn edit_vec<T: Copy + Default>(
    v: &mut Vec<T>,
    runs: &[Run],
    n_new: usize,
    added: &[usize],
    new: impl Iterator<Item = T>,
) {
    if n_new > v.len() {
        v.reserve_exact(n_new - v.len());
        v.resize(n_new, T::default());
    }
    for r in runs.iter().filter(|r| r.shift < 0) {
        v.copy_within(r.start..r.end, r.start.wrapping_add_signed(r.shift));
    }
    for r in runs.iter().rev().filter(|r| r.shift > 0) {
        v.copy_within(r.start..r.end, r.start.wrapping_add_signed(r.shift));
    }
    for (&k, x) in added.iter().zip(new) {
        v[k] = x;
    }
    v.truncate(n_new);
}

impl SynapseEdit {
    /// Checks a batch against projection `p`.
    fn check(
        p: &super::Projection,
        remove: &[(u32, u32)],
        add: &[NewSynapse],
    ) -> Result<Self, String> {
        let (n_pre, n_post) = p.weights.shape();
        let (indptr, indices) = (p.weights.indptr(), p.weights.indices());
        let in_range = |i: u32, j: u32, list: &str, n: usize| {
            if (i as usize) < n_pre && (j as usize) < n_post {
                Ok(())
            } else {
                Err(format!(
                    "{list}[{n}]: synapse ({i}, {j}) is out of range: the projection is \
                     {n_pre} × {n_post} (pre × post)"
                ))
            }
        };
        // Ok(position) of an existing synapse, or Err(position) where it would go.
        let find = |i: u32, j: u32| {
            let (a, b) = (indptr[i as usize], indptr[i as usize + 1]);
            match indices[a..b].binary_search(&j) {
                Ok(q) => Ok(a + q),
                Err(q) => Err(a + q),
            }
        };

        for (n, &(i, j)) in remove.iter().enumerate() {
            in_range(i, j, "remove", n)?;
        }
        let mut order: Vec<(u32, u32, usize)> = remove
            .iter()
            .enumerate()
            .map(|(n, &(i, j))| (i, j, n))
            .collect();
        order.sort_unstable();
        if let Some(w) = order
            .windows(2)
            .find(|w| (w[0].0, w[0].1) == (w[1].0, w[1].1))
        {
            return Err(format!(
                "remove[{}] and remove[{}] both name synapse ({}, {})",
                w[0].2, w[1].2, w[0].0, w[0].1
            ));
        }
        let mut removed = Vec::with_capacity(order.len());
        for &(i, j, n) in &order {
            match find(i, j) {
                Ok(k) => removed.push(k),
                Err(_) => return Err(format!("remove[{n}]: there is no synapse ({i}, {j})")),
            }
        }
        let removed_rows = order.iter().map(|&(i, ..)| i).collect();

        for (n, s) in add.iter().enumerate() {
            in_range(s.pre, s.post, "add", n)?;
            if s.delay == Some(0) {
                return Err(format!(
                    "add[{n}]: synapse ({}, {}) has a delay of 0 steps; delays are at least 1",
                    s.pre, s.post
                ));
            }
            if !s.weight.is_finite() {
                return Err(format!(
                    "add[{n}]: synapse ({}, {}) has the weight {}, which is not finite",
                    s.pre, s.post, s.weight
                ));
            }
        }
        let mut order: Vec<usize> = (0..add.len()).collect();
        order.sort_unstable_by_key(|&n| (add[n].pre, add[n].post, n));
        if let Some(w) = order
            .windows(2)
            .find(|w| (add[w[0]].pre, add[w[0]].post) == (add[w[1]].pre, add[w[1]].post))
        {
            return Err(format!(
                "add[{}] and add[{}] both add synapse ({}, {})",
                w[0], w[1], add[w[0]].pre, add[w[0]].post
            ));
        }
        let fallback = p.delays.min();
        let mut inserts = Vec::with_capacity(order.len());
        for &n in &order {
            let s = &add[n];
            let at = match find(s.pre, s.post) {
                Ok(k) if removed.binary_search(&k).is_ok() => k,
                Ok(_) => {
                    return Err(format!(
                        "add[{n}]: synapse ({}, {}) exists (remove it in the same edit to \
                         replace it)",
                        s.pre, s.post
                    ))
                }
                Err(k) => k,
            };
            inserts.push(Insert {
                row: s.pre,
                at,
                post: s.post,
                weight: s.weight,
                delay: s.delay.unwrap_or(fallback),
            });
        }
        let shared = p
            .weights
            .shared()
            .filter(|w| inserts.iter().all(|s| s.weight.to_bits() == w.to_bits()));
        let uniform = match p.delays {
            Delays::Uniform(d) if inserts.iter().all(|s| s.delay == d) => Some(d),
            _ => None,
        };
        let longest_added = inserts.iter().map(|s| s.delay).max().unwrap_or(0);
        Ok(SynapseEdit {
            removed,
            removed_rows,
            inserts,
            shared,
            uniform,
            longest_added,
        })
    }

    /// The runs of old synapses between the edits (in old-array order, an insertion at a
    /// removed position before it), with the shift each takes.
    fn runs(&self, n_old: usize) -> Vec<Run> {
        let mut runs = Vec::with_capacity(self.removed.len() + self.inserts.len() + 1);
        let (mut k, mut a, mut r, mut shift) = (0, 0, 0, 0isize);
        loop {
            let next_insert = self.inserts.get(a).map(|s| s.at);
            let next_removal = self.removed.get(r).copied();
            let (at, is_insert) = match (next_insert, next_removal) {
                (Some(i), Some(x)) if i <= x => (i, true),
                (_, Some(x)) => (x, false),
                (Some(i), None) => (i, true),
                (None, None) => break,
            };
            if at > k {
                runs.push(Run {
                    start: k,
                    end: at,
                    shift,
                });
            }
            if is_insert {
                k = at;
                shift += 1;
                a += 1;
            } else {
                k = at + 1;
                shift -= 1;
                r += 1;
            }
        }
        if n_old > k {
            runs.push(Run {
                start: k,
                end: n_old,
                shift,
            });
        }
        runs
    }

    /// Edits projection `p` in place.
    fn apply(self, p: &mut super::Projection) -> SynapseRemap {
        let (shape, mut indptr, mut indices, values) = p.weights.take_parts();
        let n_old = indices.len();
        let n_new = n_old - self.removed.len() + self.inserts.len();
        let runs = self.runs(n_old);
        // The new index of an insertion: its old position, less the removals before it, plus
        // the insertions before it.
        let mut removed_before = 0;
        let added: Vec<usize> = (self.inserts.iter().enumerate())
            .map(|(q, s)| {
                while self.removed.get(removed_before).is_some_and(|&k| k < s.at) {
                    removed_before += 1;
                }
                s.at - removed_before + q
            })
            .collect();

        // Row pointers: each row moves by the edits of the rows up to it.
        let (mut a, mut r, mut shift) = (0, 0, 0isize);
        for row in 0..shape.0 {
            while self.inserts.get(a).is_some_and(|s| s.row as usize == row) {
                a += 1;
                shift += 1;
            }
            while self.removed_rows.get(r).is_some_and(|&i| i as usize == row) {
                r += 1;
                shift -= 1;
            }
            indptr[row + 1] = indptr[row + 1].wrapping_add_signed(shift);
        }
        // The columns, the values and the delays are moved at once (each pass is bound by
        // memory bandwidth, which one core does not use up).
        let inserts = || self.inserts.iter();
        let delays = std::mem::replace(&mut p.delays, Delays::Uniform(1));
        let columns = || {
            edit_vec(
                &mut indices,
                &runs,
                n_new,
                &added,
                inserts().map(|s| s.post),
            )
        };
        let values = || match (values, self.shared) {
            (WeightValues::Shared(w), Some(_)) => WeightValues::Shared(w),
            (values, _) => {
                let mut v = match values {
                    WeightValues::Shared(w) => vec![w; n_old],
                    WeightValues::PerSynapse(v) => v,
                };
                edit_vec(&mut v, &runs, n_new, &added, inserts().map(|s| s.weight));
                WeightValues::PerSynapse(v)
            }
        };
        let delays = || match (delays, self.uniform) {
            (Delays::Uniform(d), Some(_)) => Delays::Uniform(d),
            (delays, _) => {
                let mut v = match delays {
                    Delays::Uniform(d) => vec![d; n_old],
                    Delays::PerSynapse(v) => v,
                };
                edit_vec(&mut v, &runs, n_new, &added, inserts().map(|s| s.delay));
                Delays::PerSynapse(v)
            }
        };
        let ((), (values, delays)) = rayon::join(columns, || rayon::join(values, delays));

        // The rows written: sorted, unique, in range (every other row was moved whole).
        let mut touched: Vec<u32> = (self.removed_rows.iter().copied())
            .chain(inserts().map(|s| s.row))
            .collect();
        touched.sort_unstable();
        touched.dedup();
        for &i in &touched {
            let row = &indices[indptr[i as usize]..indptr[i as usize + 1]];
            assert!(
                row.windows(2).all(|w| w[0] < w[1])
                    && row.last().is_none_or(|&j| (j as usize) < shape.1),
                "edited row {i} is sorted, unique and in range"
            );
        }
        p.weights = Weights::from_edited_parts(shape, indptr, indices, values);
        p.delays = delays;
        SynapseRemap {
            name: p.name.clone(),
            shape,
            nnz_before: n_old,
            removed: self.removed,
            added,
        }
    }
}
