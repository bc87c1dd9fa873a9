//! A simulation split across the ranks of a [`Comm`](crate::comm::Comm) (docs/distributed.md).
//!
//! Why it is built this way:
//!
//! - **Contiguous blocks of each population.** Rank r owns one contiguous block of every
//!   population's neurons, in rank order, so that concatenating the ranks' spike lists in rank
//!   order gives the global list in index order — the order in which one process walks them —
//!   without a sort. Round-robin dealing would interleave the ranks' spikes (a merge per
//!   step), cut every update chunk of [`CHUNK`] neurons into strided pieces, and split the
//!   random streams that are keyed by chunk. Poisson sources, whose update draws per chunk,
//!   get blocks of whole chunks, so each rank holds exactly the streams one process uses for
//!   its neurons; the others are split evenly. A `PoissonInput` over all neurons of a
//!   population keeps its streams keyed by chunk too, and a chunk that a block border cuts is
//!   drawn whole by the ranks on both sides, each keeping its own neurons' draws: a little
//!   redundant drawing, instead of blocks of whole chunks, which would give one rank nearly
//!   all of a population of a few chunks (hpc_benchmark: 93 % of the neurons on rank 0 of 2).
//! - **Synapses on the target's rank.** Each rank keeps, of every projection, the synapses
//!   into its block: the same CSR rows (keyed by the global source index), the columns cut to
//!   the block and renumbered from its start. A spike then walks, on each rank, the part of its
//!   row that lands there, in column order; every target value is written by one rank only and
//!   receives its terms in one process's order (projections in name order, spikes in global
//!   index order, synapses in column order). No float is ever added across ranks.
//! - **One exchange per min-delay interval.** A spike of step s reaches no target before
//!   s + d_min (the smallest delay of any projection, in steps), so each rank keeps its spikes
//!   (global indices) for d_min steps and then gathers every rank's on every rank in one
//!   `Allgatherv`; the interval's steps are then propagated and recorded in step order, each
//!   with its global spike lists — the additions into every ring slot in one process's order,
//!   none into a slot already delivered. A run that ends, stops or checkpoints within an
//!   interval exchanges what it has ([`Partition::flush`]). The wait for the slowest rank is
//!   told apart from the gather by the ranks' arrival times in the message, not a barrier.
//! - **Each rank builds its part; rank 0 keeps the whole populations.** A run's ranks build
//!   only the synapses into their blocks (`Engine::from_file_on`, `graph::build_part`: the
//!   same draws as one process's build, the other blocks' dropped), so the synapses' memory
//!   divides by the ranks. Rank 0 keeps a copy of the whole populations, into which
//!   [`Partition::gather`] writes every rank's neuron state when the state hash, the outputs
//!   or a checkpoint need one process's network, and of the projections only their shells
//!   (`lean`): the hash and a checkpoint stream them from the ranks a run of rows at a time
//!   ([`Partition::stream_rows`]; the checkpoint file is written as it is encoded), and the
//!   weight outputs at the end of a run assemble them ([`Partition::fill`]). With a
//!   structural policy, which is asked with the whole network, rank 0 keeps them assembled.
//!   A run resumed from a checkpoint (one process's network) builds its part too and keeps
//!   of each projection the synapses into its blocks as it reads the state
//!   (`Engine::load_state`); a network built whole is cut when it is split
//!   (`restrict_projection`).
//! - **Learning rules on the block.** A rule that updates a synapse from its own state, its
//!   neurons' traces and the spikes (plugin ABI 1.7's `BLOCKWISE`) trains the block of its
//!   projection on each rank: every presynaptic spike is there after the exchange, the
//!   presynaptic trace is kept whole (every rank updates it alike), the postsynaptic one and
//!   the rule's instance are cut to the block by `resize`, as by an edit. It runs right after
//!   each exchanged step's propagation, so weights change between the same propagations as in
//!   one process. For checkpoints rank 0 merges the blocks' state parts into an instance of
//!   the whole projection ([`Partition::gather_rule_parts`]), so the file is one process's;
//!   the weights and traces come with [`Partition::gather`].
//! - **Structural policies on rank 0.** A policy of a simulation needs the whole network and
//!   global spike counts: every rank counts the exchanged global spike lists, rank 0 asks the
//!   policy with its whole network (gathered first where a rule changed the weights it sees),
//!   applies the edits to the whole and broadcasts them, and each rank applies the part of
//!   each batch that lands in its block (`Engine::call_policy_split`). The whole then stays
//!   what one process holds, and checkpoints carry rank 0's policy state as one process's.
//!   Neuron edits would move the blocks' borders and are refused when asked for.
//! - **What is not split is refused** ([`check`]): rules that do not train blocks, state
//!   recorders, convolutions and pooling, zero-delay and graded projections, spike-time and value
//!   populations, per-neuron parameters, step hooks: each with its reason, exit 2, never a
//!   silently different run.

use super::hash::StateHasher;
use super::Engine;
use crate::checkpoint::codec::{Dec, Enc};
use crate::comm::CommRef;
use crate::error::{Error, Result};
use crate::graph::{Delays, Network, PopId, ProjId, Projection, WeightValues, Weights};
use crate::models::{chunks, Dynamics, CHUNK};
use std::ops::Range;
use std::time::Instant;

/// Where the time of a distributed run's steps went, and what the exchange moved.
#[derive(Debug, Clone, Default, serde::Serialize, PartialEq)]
pub struct ExchangeStats {
    /// Ranks.
    pub ranks: usize,
    /// Steps between two exchanges (1: every step).
    pub interval_steps: u64,
    /// Exchanges so far.
    pub exchanges: u64,
    /// Seconds of this rank outside the exchange (update, propagation, recording).
    pub compute_s: f64,
    /// Seconds this rank waited in the exchanges for the slowest rank to arrive (from its own
    /// arrival to the last rank's, by the wall clock: exact on one node, within the clocks'
    /// skew across nodes).
    pub wait_s: f64,
    /// Seconds in the exchanges besides the wait: the gather itself.
    pub exchange_s: f64,
    /// Bytes this rank sent in all exchanges.
    pub bytes_sent: u64,
}

/// An exchanged step: its index and every population's global spike list.
pub(crate) type Exchanged = (u64, Vec<(PopId, Vec<u32>)>);

/// One population's share on this rank.
#[derive(Debug, Clone)]
struct Block {
    id: PopId,
    /// Neurons in the whole population.
    global: usize,
    /// This rank's neurons.
    owned: Range<usize>,
    /// Every rank's neurons, in rank order.
    all: Vec<Range<usize>>,
}

/// The state of a distributed simulation on one rank.
pub(crate) struct Partition {
    comm: CommRef,
    blocks: Vec<Block>,
    /// Rank 0: the whole network, as of the last [`Partition::gather`].
    whole: Option<Network>,
    /// Synaptic events of all ranks, as of the last gather.
    pub total_events: u64,
    pub stats: ExchangeStats,
    last: Option<Instant>,
    /// Steps between exchanges: the smallest delay of any projection, in steps.
    interval: u64,
    /// This rank's spikes (global indices) of the interval's steps so far.
    pending: Vec<(u64, Vec<Vec<u32>>)>,
    /// Projections trained by a learning rule, and their postsynaptic populations: their
    /// weights and traces change, so [`Partition::gather`] brings them to rank 0.
    plastic: Vec<(ProjId, PopId)>,
    /// Rank 0's whole network holds its projections' shells only, until [`Partition::fill`]
    /// puts them there for the weight outputs at the end of a run: the synapses live in the
    /// ranks' blocks. Not with a structural policy, which is asked with the whole.
    lean: bool,
    /// Rank 0, lean: the state hash and the synapse count as of the last
    /// [`Partition::stream_hash`].
    pub hash: Option<(String, u64)>,
}

/// The block of `n` neurons that rank `r` of `size` owns: even, or of whole [`CHUNK`]s.
fn block_of(n: usize, r: usize, size: usize, whole_chunks: bool) -> Range<usize> {
    if !whole_chunks {
        return crate::comm::block(n, r, size);
    }
    let c = crate::comm::block(n.div_ceil(CHUNK), r, size);
    (c.start * CHUNK).min(n)..(c.end * CHUNK).min(n)
}

/// The block of population `p` that rank `rank` of `ranks` owns (Poisson sources in whole
/// chunks: their streams are keyed by chunk).
pub(crate) fn block_for(p: &crate::graph::Population, rank: usize, ranks: usize) -> Range<usize> {
    block_of(
        p.len(),
        rank,
        ranks,
        matches!(p.dynamics, Dynamics::Poisson(_)),
    )
}

/// Why the engine cannot be split across ranks, if it cannot.
pub(crate) fn check(e: &Engine) -> Option<String> {
    let why = |s: &str| Some(format!("{s}: not yet distributed (docs/distributed.md)"));
    for b in &e.rules {
        if !b.instance.is_blockwise() {
            return why(&format!(
                "learning rule `{}` (plugin ABI 1.{}) on projection `{}` does not declare that it trains a block of its projection (ABI 1.7: `LearningRule::BLOCKWISE`, `save_parts`, `load_parts`)",
                b.instance.plugin,
                b.instance.abi_minor(),
                e.net.proj(b.proj).name
            ));
        }
    }
    if !e.states.is_empty() {
        return why("State recorders read neurons by index on one rank");
    }
    if !e.hooks.is_empty() {
        return why("step hooks (the live view, metrics per step) see one rank's neurons");
    }
    for (_, _, p) in e.net.projections() {
        if p.kernel.is_some() {
            return why(&format!(
                "projection `{}` is a convolution or pooling, whose kernel addresses the whole target population",
                p.name
            ));
        }
        if p.delays.min() == 0 {
            return why(&format!(
                "projection `{}` has zero delay, delivered within the step",
                p.name
            ));
        }
    }
    for p in e.net.populations() {
        match &p.dynamics {
            Dynamics::SpikeTimes(_) | Dynamics::Values(_) => {
                return why(&format!(
                    "population `{}` is a {} population",
                    p.name,
                    p.dynamics.kind()
                ))
            }
            d if d.has_per_neuron_params() => {
                return why(&format!(
                    "population `{}` has per-neuron parameters",
                    p.name
                ))
            }
            _ => {}
        }
    }
    None
}

/// Keeps the synapses of `proj` into `owned` (of `global` targets), renumbered from its start,
/// and the postsynaptic traces of `owned`; returns the kept synapses' indices in the whole
/// (`None`: all of them).
fn restrict_projection(
    proj: &mut Projection,
    owned: &Range<usize>,
    global: usize,
) -> Option<Vec<u64>> {
    if owned.start == 0 && owned.end == global {
        return None;
    }
    if !proj.traces.post.is_empty() {
        proj.traces.post = proj.traces.post[owned.clone()].to_vec();
    }
    let w = &proj.weights;
    let rows = w.rows();
    let (indptr, cols) = (w.indptr(), w.indices());
    let mut keep: Vec<Range<usize>> = Vec::with_capacity(rows);
    let mut new_ptr = Vec::with_capacity(rows + 1);
    new_ptr.push(0usize);
    let mut new_cols = Vec::new();
    let (lo, hi, base) = (owned.start as u32, owned.end as u32, owned.start as u32);
    for i in 0..rows {
        let (a, b) = (indptr[i], indptr[i + 1]);
        let c = &cols[a..b];
        let ks = a + c.partition_point(|&j| j < lo)..a + c.partition_point(|&j| j < hi);
        new_cols.extend(cols[ks.clone()].iter().map(|&j| j - base));
        new_ptr.push(new_cols.len());
        keep.push(ks);
    }
    fn pick<T: Copy>(keep: &[Range<usize>], v: &[T]) -> Vec<T> {
        keep.iter()
            .flat_map(|r| v[r.clone()].iter().copied())
            .collect()
    }
    let values = match w.values() {
        WeightValues::Shared(x) => WeightValues::Shared(*x),
        WeightValues::PerSynapse(v) => WeightValues::PerSynapse(pick(&keep, v)),
    };
    if let Delays::PerSynapse(ds) = &proj.delays {
        proj.delays = Delays::PerSynapse(pick(&keep, ds));
    }
    proj.weights = Weights::try_from_parts((rows, owned.len()), new_ptr, new_cols, values)
        .expect("a block of valid CSR rows is valid");
    Some(keep.into_iter().flatten().map(|k| k as u64).collect())
}

impl Partition {
    /// Splits `e` (built whole, or as this rank's part: `Engine::from_file_on`; resumed if
    /// at all) across `comm`'s ranks.
    pub(crate) fn split(e: &mut Engine, comm: CommRef) -> Result<Partition> {
        if let Some(why) = check(e) {
            return Err(Error::Input(format!(
                "this simulation cannot run on {} ranks: {why}. Run it without mpirun, or with -np 1",
                comm.size()
            )));
        }
        let (rank, size) = (comm.rank(), comm.size());
        // The smallest delay (at least one step: zero delays are refused above).
        let interval = e
            .net
            .projections()
            .map(|(_, _, p)| u64::from(p.delays.min()))
            .min()
            .unwrap_or(1)
            .max(1);
        let mut blocks = Vec::new();
        for id in e.net.pop_ids() {
            let p = e.net.pop(id);
            let all: Vec<Range<usize>> = (0..size).map(|r| block_for(p, r, size)).collect();
            blocks.push(Block {
                id,
                global: p.len(),
                owned: all[rank].clone(),
                all,
            });
        }
        // Rank 0 keeps the whole populations and, lean, the projections' shells; with a
        // structural policy the whole projections: a copy, or, where each rank built only its
        // part (`Engine::from_file_on`), assembled from the ranks' parts.
        let parts = e.built_for.is_some();
        let lean = e.structure.is_empty();
        let mut whole = match (rank, lean) {
            (0, true) => Some(shells(&mut e.net)),
            (0, false) => Some(e.net.clone()),
            _ => None,
        };
        if !lean && parts {
            assemble(&e.net, &blocks, &comm, whole.as_mut())?;
        }
        for b in &blocks {
            let (owned, n) = (b.owned.clone(), b.global);
            if owned.start == 0 && owned.end == n {
                continue;
            }
            let p = e.net.pop_mut(b.id);
            let name = p.name.clone();
            match &mut p.dynamics {
                Dynamics::Poisson(m) => {
                    let c0 = owned.start / CHUNK;
                    let mut rngs = m.rngs[c0..c0 + owned.len().div_ceil(CHUNK)].to_vec();
                    if rngs.is_empty() {
                        // An empty block still has one (unused) chunk.
                        rngs.push(crate::rng::stream(0, "poisson-empty-block", &name, 0));
                    }
                    m.rngs = rngs;
                    m.set_len(owned.len());
                }
                d => {
                    let map: Vec<u64> = owned.clone().map(|j| j as u64).collect();
                    d.remap(&map, e.seed, &name).map_err(|why| {
                        Error::Input(format!(
                            "population `{name}` cannot be split across ranks: {why}"
                        ))
                    })?;
                }
            }
            p.neuron_ids = p.neuron_ids[owned.clone()].to_vec();
            p.chunk_spikes = vec![Vec::new(); chunks(owned.len())];
            for s in p.input.slots.iter_mut().chain(p.due.iter_mut()) {
                *s = s[owned.clone()].to_vec();
            }
            p.input.n = owned.len();
            for pid in e.net.incoming(b.id) {
                if parts {
                    // Built as the block already, and its rules made for it.
                    continue;
                }
                let kept = restrict_projection(e.net.proj_mut(pid), &owned, n);
                // A rule's state follows its projection into the block, as through an edit
                // that removed the other postsynaptic neurons (ABI 1.7's `BLOCKWISE`).
                for r in e.rules.iter_mut().filter(|r| r.proj == pid) {
                    let rows = e.net.proj(pid).weights.rows() as u64;
                    let pre: Vec<u64> = (0..rows).collect();
                    let post: Vec<u64> = owned.clone().map(|j| j as u64).collect();
                    let syn = kept.as_deref().expect("a cut block");
                    r.instance.resize(&pre, &post, syn)?;
                }
            }
        }
        let owned_of = |id: PopId| blocks.iter().find(|b| b.id == id).expect("every pop");
        for d in &mut e.dc {
            if let Some(js) = &mut d.neurons {
                let r = owned_of(d.pop).owned.clone();
                *js = js
                    .iter()
                    .filter(|j| r.contains(j))
                    .map(|j| j - r.start)
                    .collect();
            }
        }
        for p in &mut e.poisson {
            p.restrict(owned_of(p.pop).owned.clone());
        }
        if rank != 0 {
            // Rank 0 records (every rank sees the same global spikes) and counts the events
            // up to a resumed position.
            e.spikes = crate::monitor::SpikeRecorder::default();
            e.synaptic_events = 0;
        }
        e.plan = super::Plan {
            rings_only: e.plan.rings_only,
            rings_for: std::mem::take(&mut e.plan.rings_for),
            ..Default::default()
        };
        let plastic = e.rules.iter().map(|r| (r.proj, r.post)).collect();
        Ok(Partition {
            comm,
            blocks,
            plastic,
            lean,
            hash: None,
            whole,
            total_events: e.synaptic_events,
            stats: ExchangeStats {
                ranks: size,
                interval_steps: interval,
                ..Default::default()
            },
            last: None,
            interval,
            pending: Vec::new(),
        })
    }

    /// Neurons of the whole population `id`.
    pub(crate) fn global_len(&self, id: PopId) -> usize {
        self.blocks
            .iter()
            .find(|b| b.id == id)
            .map_or(0, |b| b.global)
    }

    /// The part of population `id`'s global spike list `spikes` (ascending) in this rank's
    /// block, as indices into the block.
    pub(crate) fn local_spikes(&self, id: PopId, spikes: &[u32]) -> Vec<u32> {
        let r = &self
            .blocks
            .iter()
            .find(|b| b.id == id)
            .expect("every pop")
            .owned;
        let (lo, hi) = (r.start as u32, r.end as u32);
        let a = spikes.partition_point(|&i| i < lo);
        let b = spikes.partition_point(|&i| i < hi);
        spikes[a..b].iter().map(|&i| i - lo).collect()
    }

    /// This rank's block of population `id`.
    pub(crate) fn owned(&self, id: PopId) -> Range<usize> {
        self.ranges(id)[self.comm.rank()].clone()
    }

    /// Every rank's block of population `id`, in rank order.
    fn ranges(&self, id: PopId) -> &[Range<usize>] {
        ranges_of(&self.blocks, id)
    }

    /// Rank 0: the whole network as of the last gather.
    pub(crate) fn whole(&self) -> Option<&Network> {
        self.whole.as_ref()
    }

    /// After the update of `step`: this rank's spikes (global indices) wait for the exchange;
    /// at the last step of a min-delay interval, [`Partition::flush`].
    pub(crate) fn after_update(&mut self, net: &mut Network, step: u64) -> Result<Vec<Exchanged>> {
        let t0 = Instant::now();
        if let Some(last) = self.last {
            self.stats.compute_s += (t0 - last).as_secs_f64();
        }
        let lists = self
            .blocks
            .iter()
            .map(|b| {
                let base = b.owned.start as u32;
                net.pop(b.id).spikes.iter().map(|&i| i + base).collect()
            })
            .collect();
        self.pending.push((step, lists));
        let result = if (step + 1).is_multiple_of(self.interval) {
            self.flush(net)
        } else {
            Ok(Vec::new())
        };
        self.last = Some(Instant::now());
        result
    }

    /// The exchange (collective): every rank's pending spikes, gathered on every rank in rank
    /// order, become each pending step's global spike lists (returned in step order, to be
    /// propagated in that order); the spike counts add what the other ranks emitted.
    pub(crate) fn flush(&mut self, net: &mut Network) -> Result<Vec<Exchanged>> {
        if self.pending.is_empty() {
            return Ok(Vec::new());
        }
        let t0 = Instant::now();
        // This rank's arrival (wall clock, ns): the latest arrival of all ranks tells how long
        // this one waited for the slowest, without a barrier (a second collective).
        let arrival = wall_ns();
        let mut e = Enc::default();
        e.u64(arrival);
        e.u64(self.pending.len() as u64);
        for (step, lists) in &self.pending {
            e.u64(*step);
            for l in lists {
                e.u32s(l);
            }
        }
        let all = self.comm.all_gather(&e.buf)?;
        let t1 = Instant::now();
        let bad = |why: String| Error::Run(format!("a spike exchange was malformed: {why}"));
        let mut decs: Vec<Dec> = all.iter().map(|b| Dec::new(b)).collect();
        let mut latest = arrival;
        for d in &mut decs {
            latest = latest.max(d.u64().map_err(bad)?);
            if d.u64().map_err(bad)? != self.pending.len() as u64 {
                return Err(bad("the ranks exchanged different numbers of steps".into()));
            }
        }
        let mut out = Vec::with_capacity(self.pending.len());
        for (step, lists) in std::mem::take(&mut self.pending) {
            for d in &mut decs {
                if d.u64().map_err(bad)? != step {
                    return Err(bad("the ranks exchanged different steps".into()));
                }
            }
            let mut global = Vec::with_capacity(self.blocks.len());
            for (b, local) in self.blocks.iter().zip(lists) {
                let mut list = Vec::new();
                for d in &mut decs {
                    list.extend(d.u32s().map_err(bad)?);
                }
                net.pop_mut(b.id).spike_count += (list.len() - local.len()) as u64;
                global.push((b.id, list));
            }
            out.push((step, global));
        }
        let spent = (t1 - t0).as_secs_f64();
        let wait = ((latest.saturating_sub(arrival)) as f64 * 1e-9).min(spent);
        self.stats.exchanges += 1;
        self.stats.bytes_sent += e.buf.len() as u64;
        self.stats.wait_s += wait;
        self.stats.exchange_s += spent - wait;
        Ok(out)
    }

    /// Writes every rank's state into rank 0's whole network (collective): state columns,
    /// refractory counters, external currents, Poisson streams, input in flight, and the
    /// spikes and counts (the same on every rank). Also sums the synaptic events.
    pub(crate) fn gather(&mut self, net: &Network, events: u64) -> Result<()> {
        let mut e = Enc::default();
        e.u64(events);
        for b in &self.blocks {
            let p = net.pop(b.id);
            for (_, col) in p.dynamics.columns() {
                e.reals(col);
            }
            e.u32s(p.dynamics.refractory());
            if let Some(x) = external_current(&p.dynamics) {
                e.reals(x);
            }
            if let Dynamics::Poisson(m) = &p.dynamics {
                let used = b.owned.len().div_ceil(CHUNK);
                e.u64(used as u64);
                for r in &m.rngs[..used] {
                    e.rng(r);
                }
            }
            for s in p.input.slots.iter().chain(p.due.iter()) {
                e.reals(s);
            }
        }
        let plastic = if self.lean {
            &[][..]
        } else {
            &self.plastic[..]
        };
        for &(pid, _) in plastic {
            let proj = net.proj(pid);
            match proj.weights.values() {
                WeightValues::PerSynapse(v) => e.reals(v),
                WeightValues::Shared(_) => unreachable!("a rule makes weights per synapse"),
            }
            e.f64s(&proj.traces.post);
        }
        let Some(all) = self.comm.gather(0, &e.buf)? else {
            return Ok(());
        };
        let whole = self.whole.as_mut().expect("rank 0 keeps the whole network");
        let bad = |why: String| Error::Run(format!("a gathered state was malformed: {why}"));
        let mut decs: Vec<Dec> = all.iter().map(|b| Dec::new(b)).collect();
        let mut total = 0u64;
        for d in &mut decs {
            total += d.u64().map_err(bad)?;
        }
        self.total_events = total;
        for b in &self.blocks {
            let local = net.pop(b.id);
            let p = whole.pop_mut(b.id);
            p.spikes.clone_from(&local.spikes);
            p.spike_count = local.spike_count;
            let names: Vec<&str> = p.dynamics.columns().iter().map(|(n, _)| *n).collect();
            let mut rngs = Vec::new();
            for (d, r) in decs.iter_mut().zip(&b.all) {
                for name in &names {
                    let v = d.reals().map_err(bad)?;
                    let col = p.dynamics.column_mut(name).expect("named column");
                    col[r.clone()].copy_from_slice(&v);
                }
                let refr = d.u32s().map_err(bad)?;
                if let Some(x) = refractory_mut(&mut p.dynamics) {
                    x[r.clone()].copy_from_slice(&refr);
                }
                if external_current(&p.dynamics).is_some() {
                    let v = d.reals().map_err(bad)?;
                    let x = p.dynamics.external_current_mut().expect("has a current");
                    x[r.clone()].copy_from_slice(&v);
                }
                if let Dynamics::Poisson(_) = &p.dynamics {
                    for _ in 0..d.u64().map_err(bad)? {
                        rngs.push(d.rng().map_err(bad)?);
                    }
                }
                for s in p.input.slots.iter_mut().chain(p.due.iter_mut()) {
                    s[r.clone()].copy_from_slice(&d.reals().map_err(bad)?);
                }
            }
            if let Dynamics::Poisson(m) = &mut p.dynamics {
                if !rngs.is_empty() {
                    m.rngs = rngs;
                }
            }
        }
        // Lean, the projections come whole with `fill` when they are needed.
        let plastic = if self.lean {
            &[][..]
        } else {
            &self.plastic[..]
        };
        for &(pid, post) in plastic {
            let mut weights = Vec::with_capacity(decs.len());
            let mut traces = Vec::new();
            for d in &mut decs {
                weights.push(d.reals().map_err(bad)?);
                traces.extend(d.f64s().map_err(bad)?);
            }
            let local = net.proj(pid);
            let all = ranges_of(&self.blocks, post);
            let proj = whole.proj_mut(pid);
            // Each row is the ranks' parts of it in rank order (columns ascend).
            let mut next = vec![0usize; weights.len()];
            let (indptr, cols, data) = proj.weights.parts_mut();
            for i in 0..indptr.len().saturating_sub(1) {
                let mut r = 0;
                for k in indptr[i]..indptr[i + 1] {
                    while !all[r].contains(&(cols[k] as usize)) {
                        r += 1;
                    }
                    data[k] = *weights[r]
                        .get(next[r])
                        .ok_or_else(|| bad("too few weights".into()))?;
                    next[r] += 1;
                }
            }
            if next.iter().zip(&weights).any(|(n, w)| *n != w.len())
                || traces.len() != proj.traces.post.len()
            {
                return Err(bad(format!(
                    "projection `{}`'s blocks do not fit it",
                    proj.name
                )));
            }
            proj.traces.post = traces;
            proj.traces.pre.clone_from(&local.traces.pre);
        }
        Ok(())
    }

    /// Rank 0: every rank's state of each learning rule (ABI 1.7's parts), merged into one
    /// process's parts, with the projection's synapse count (collective; `None` on the other
    /// ranks): the shared and per-pre parts, which every block holds alike (checked), once;
    /// the per-post parts in rank order; the per-synapse parts row by row, each row the
    /// ranks' parts of it in rank order (each rank sends its synapse count per row of `net`).
    pub(crate) fn gather_rule_parts(
        &self,
        net: &Network,
        rules: &mut [super::RuleBinding],
    ) -> Result<Option<Vec<RuleParts>>> {
        let mut e = Enc::default();
        for r in rules.iter_mut() {
            match r.instance.save_parts() {
                Ok(parts) => {
                    e.u8(1);
                    parts.iter().for_each(|p| e.bytes(p));
                    let w = &net.proj(r.proj).weights;
                    let rows: Vec<u32> = w
                        .indptr()
                        .windows(2)
                        .map(|x| (x[1] - x[0]) as u32)
                        .collect();
                    e.u32s(&rows);
                }
                Err(err) => {
                    e.u8(0);
                    e.str(&format!("rank {}: {err}", self.comm.rank()));
                }
            }
        }
        let Some(all) = self.comm.gather(0, &e.buf)? else {
            return Ok(None);
        };
        let bad = |why: String| Error::Run(format!("gathered rule states: {why}"));
        let mut decs: Vec<Dec> = all.iter().map(|b| Dec::new(b)).collect();
        let mut out = Vec::with_capacity(rules.len());
        for r in rules.iter() {
            let mut got: Vec<[Vec<u8>; 4]> = Vec::with_capacity(decs.len());
            let mut rows: Vec<Vec<u32>> = Vec::with_capacity(decs.len());
            for d in &mut decs {
                if d.u8().map_err(bad)? == 0 {
                    return Err(Error::Run(d.str().map_err(bad)?));
                }
                got.push([
                    d.bytes().map_err(bad)?,
                    d.bytes().map_err(bad)?,
                    d.bytes().map_err(bad)?,
                    d.bytes().map_err(bad)?,
                ]);
                rows.push(d.u32s().map_err(bad)?);
            }
            let proj = net.proj(r.proj);
            let name = &r.instance.plugin;
            if got.iter().any(|g| g[0] != got[0][0] || g[1] != got[0][1]) {
                return Err(bad(format!(
                    "rule `{name}` of projection `{}` holds different shared or per-presynaptic state on different ranks, so it does not train blocks as it declares",
                    proj.name
                )));
            }
            if rows.iter().any(|c| c.len() != proj.weights.rows()) {
                return Err(bad(format!("projection `{}`: rows differ", proj.name)));
            }
            let all = self.ranges(r.post);
            // Record sizes: the part's bytes over the rank's count, alike on every rank.
            let size = |what: &str, counts: &[usize], part: usize| -> Result<usize> {
                let mut size = None;
                for (g, &n) in got.iter().zip(counts) {
                    let len = g[part].len();
                    let fits = match (n, size) {
                        (0, _) => len == 0,
                        (n, None) => len % n == 0,
                        (n, Some(s)) => len == n * s,
                    };
                    if !fits {
                        return Err(bad(format!(
                            "rule `{name}`'s state {what} ({len} bytes for {n}) is not one record each"
                        )));
                    }
                    size = len.checked_div(n).or(size);
                }
                Ok(size.unwrap_or(0))
            };
            let posts: Vec<usize> = all.iter().map(|r| r.len()).collect();
            size("per postsynaptic neuron", &posts, 2)?;
            let counts: Vec<usize> = rows
                .iter()
                .map(|c| c.iter().map(|&n| n as usize).sum())
                .collect();
            let s = size("per synapse", &counts, 3)?;
            let mut per_syn = Vec::with_capacity(got.iter().map(|g| g[3].len()).sum());
            let mut next = vec![0usize; got.len()];
            for i in 0..proj.weights.rows() {
                for ((g, c), at) in got.iter().zip(&rows).zip(next.iter_mut()) {
                    let n = c[i] as usize;
                    per_syn.extend_from_slice(&g[3][*at * s..(*at + n) * s]);
                    *at += n;
                }
            }
            let per_post = got.iter().flat_map(|g| g[2].iter().copied()).collect();
            let [shared, per_pre, ..] = got.swap_remove(0);
            let nnz = counts.iter().sum::<usize>() as u64;
            out.push(([shared, per_pre, per_post, per_syn], nnz));
        }
        Ok(Some(out))
    }

    /// Every rank's streams of the Poisson inputs, in one process's layout, on rank 0 (where
    /// `None` is returned elsewhere): for an input over all neurons the ranks' chunk streams
    /// in chunk order, each chunk once (a chunk cut by a block border is held, and drawn
    /// alike, by the ranks on both sides), for one with a neuron list rank 0's (every rank
    /// draws them all).
    pub(crate) fn gather_poisson_inputs(
        &self,
        inputs: &[super::poisson_input::PoissonInput],
    ) -> Result<Option<Vec<Vec<u8>>>> {
        let mut e = Enc::default();
        for p in inputs {
            e.u64(p.first_chunk() as u64);
            p.encode(&mut e);
        }
        let Some(all) = self.comm.gather(0, &e.buf)? else {
            return Ok(None);
        };
        let bad = |why: String| Error::Run(format!("gathered Poisson streams: {why}"));
        let mut decs: Vec<Dec> = all.iter().map(|b| Dec::new(b)).collect();
        let mut out = Vec::new();
        for p in inputs {
            let mut merged = Enc::default();
            let mut rngs = Vec::new();
            for (k, d) in decs.iter_mut().enumerate() {
                let first = d.u64().map_err(bad)? as usize;
                let n = d.u64().map_err(bad)?;
                for i in 0..n as usize {
                    let r = d.rng().map_err(bad)?;
                    // Over all neurons, chunk `first + i`, unless a rank before held it too
                    // (a chunk cut by a border is drawn alike on both sides); with a neuron
                    // list, every rank holds every stream.
                    let next = match p.neurons {
                        None => first + i == rngs.len(),
                        Some(_) => k == 0,
                    };
                    if next {
                        rngs.push(r);
                    }
                }
            }
            merged.u64(rngs.len() as u64);
            for r in &rngs {
                merged.rng(r);
            }
            out.push(merged.buf);
        }
        Ok(Some(out))
    }

    /// Collective: rank 0's whole network gets every projection as the ranks' blocks hold it
    /// (weights, delays and traces), where it keeps only their shells ([`Partition::lean`]);
    /// nothing to do otherwise ([`Partition::gather`] keeps them current).
    pub(crate) fn fill(&mut self, net: &Network) -> Result<()> {
        if self.lean {
            assemble(net, &self.blocks, &self.comm, self.whole.as_mut())?;
        }
        Ok(())
    }

    /// Whether rank 0 holds the projections' shells only (filled at the end of a run for
    /// the weight outputs).
    pub(crate) fn is_lean(&self) -> bool {
        self.lean
    }

    /// Collective, after [`Partition::gather`]: rank 0 computes one process's state hash of
    /// the network at `step`, its populations from the whole and each projection streamed
    /// from the ranks' blocks ([`Partition::stream_rows`]), so that it never holds a whole
    /// projection; with the synapse count it is kept in [`Partition::hash`].
    pub(crate) fn stream_hash(&mut self, net: &Network, step: u64) -> Result<()> {
        if self.comm.rank() == 0 {
            let whole = self.whole.as_ref().expect("rank 0 keeps the whole network");
            let mut synapses = 0u64;
            let hash = super::hash::hash_network(whole, step, &mut |h, pid| {
                let mut sink = HashRows { h, synapses: 0 };
                self.stream_rows(net, pid, Some(&mut sink))?;
                synapses += sink.synapses;
                Ok(())
            })?;
            self.hash = Some((hash, synapses));
        } else {
            for pid in net.proj_ids() {
                self.stream_rows(net, pid, None)?;
            }
        }
        Ok(())
    }

    /// Collective: rank 0 writes projection `pid` as a checkpoint holds it
    /// ([`crate::checkpoint::net::synapses`]) into `out`, streamed from the ranks' blocks in
    /// `net` ([`Partition::stream_rows`]); the other ranks pass `None`.
    pub(crate) fn stream_synapses(
        &self,
        net: &Network,
        pid: ProjId,
        out: Option<&mut Enc>,
    ) -> Result<()> {
        match out {
            Some(e) => self.stream_rows(net, pid, Some(&mut EncRows(e))),
            None => self.stream_rows(net, pid, None),
        }
    }

    /// Collective: projection `pid` as one process holds it, handed to rank 0's `sink` a
    /// run of rows at a time (about 65 536 synapses, half a megabyte a message) from the
    /// ranks' blocks in `net`: the row pointers, then each per-synapse column (targets,
    /// weights, delays) row by row, each row the ranks' parts in rank order, then the traces.
    /// The other ranks pass `None` and send their parts.
    fn stream_rows(
        &self,
        net: &Network,
        pid: ProjId,
        sink: Option<&mut dyn RowSink>,
    ) -> Result<()> {
        let comm = &self.comm;
        let bad = |why: String| Error::Run(format!("a projection streamed from the ranks: {why}"));
        let proj = net.proj(pid);
        let w = &proj.weights;
        let (indptr, cols) = (w.indptr(), w.indices());
        let base = ranges_of(&self.blocks, net.endpoints(pid).1)[comm.rank()].start as u32;
        // Every rank's synapse count per row.
        let mut e = Enc::default();
        e.u32s(
            &indptr
                .windows(2)
                .map(|r| (r[1] - r[0]) as u32)
                .collect::<Vec<_>>(),
        );
        let counts: Option<Vec<Vec<u32>>> = match comm.gather(0, &e.buf)? {
            Some(all) => Some(
                all.iter()
                    .map(|b| match Dec::new(b).u32s() {
                        Ok(c) if c.len() == w.rows() => Ok(c),
                        Ok(_) => Err(bad(format!("`{}`: rows differ", proj.name))),
                        Err(why) => Err(bad(why)),
                    })
                    .collect::<Result<_>>()?,
            ),
            None => None,
        };
        // Rank 0 cuts the rows into runs of about 2¹⁶ synapses and tells the others.
        let mut bounds = Enc::default();
        if let Some(counts) = &counts {
            let mut at = 0usize;
            let mut run = 0u64;
            for i in 0..w.rows() {
                run += counts.iter().map(|c| u64::from(c[i])).sum::<u64>();
                if run >= 1 << 16 {
                    bounds.u64(i as u64 + 1);
                    (run, at) = (0, i + 1);
                }
            }
            if at < w.rows() {
                bounds.u64(w.rows() as u64);
            }
        }
        comm.broadcast(0, &mut bounds.buf)?;
        let mut ends = Vec::new();
        let mut d = Dec::new(&bounds.buf);
        while let Ok(x) = d.u64() {
            ends.push(x as usize);
        }
        let mut sink = sink;
        if let (Some(s), Some(counts)) = (sink.as_deref_mut(), &counts) {
            let mut ptr = Vec::with_capacity(w.rows() + 1);
            ptr.push(0u64);
            for i in 0..w.rows() {
                let n: u64 = counts.iter().map(|c| u64::from(c[i])).sum();
                ptr.push(ptr[i] + n);
            }
            s.indptr(&ptr);
        }
        let nnz = counts
            .as_ref()
            .map_or(0, |c| c.iter().flatten().map(|&n| u64::from(n)).sum());
        // One pass per per-synapse column.
        let per_synapse_weights = matches!(w.values(), WeightValues::PerSynapse(_));
        let per_synapse_delays = matches!(proj.delays, Delays::PerSynapse(_));
        for column in 0..3 {
            if (column == 1 && !per_synapse_weights) || (column == 2 && !per_synapse_delays) {
                if let Some(s) = sink.as_deref_mut() {
                    s.one(column, proj, nnz);
                }
                continue;
            }
            if let Some(s) = sink.as_deref_mut() {
                s.column(column, nnz);
            }
            let mut first = 0usize;
            for &end in &ends {
                let span = indptr[first]..indptr[end];
                let mut e = Enc::default();
                match (column, w.values(), &proj.delays) {
                    (0, _, _) => e.u64s(
                        &cols[span]
                            .iter()
                            .map(|&j| u64::from(j + base))
                            .collect::<Vec<_>>(),
                    ),
                    (1, WeightValues::PerSynapse(v), _) => e.u64s(
                        &v[span]
                            .iter()
                            .map(|&x| crate::real::bits(x))
                            .collect::<Vec<_>>(),
                    ),
                    (_, _, Delays::PerSynapse(v)) => {
                        e.u64s(&v[span].iter().map(|&x| u64::from(x)).collect::<Vec<_>>())
                    }
                    _ => unreachable!("the passes above"),
                }
                if let Some(all) = comm.gather(0, &e.buf)? {
                    let (s, counts) = (
                        sink.as_deref_mut().expect("rank 0"),
                        counts.as_ref().expect("rank 0"),
                    );
                    let words: Vec<Vec<u64>> = all
                        .iter()
                        .map(|b| Dec::new(b).u64s().map_err(bad))
                        .collect::<Result<_>>()?;
                    let rows: Vec<&[u32]> = counts.iter().map(|c| &c[first..end]).collect();
                    let mut at = vec![0usize; words.len()];
                    for k in 0..end - first {
                        for ((ws, c), at) in words.iter().zip(&rows).zip(at.iter_mut()) {
                            let n = c[k] as usize;
                            let part = ws
                                .get(*at..*at + n)
                                .ok_or_else(|| bad("a rank sent too few words".into()))?;
                            s.words(column, part);
                            *at += n;
                        }
                    }
                }
                first = end;
            }
        }
        // Traces: the presynaptic ones alike on every rank, the postsynaptic in blocks.
        let mut e = Enc::default();
        e.f64s(&proj.traces.post);
        if let Some(all) = comm.gather(0, &e.buf)? {
            let mut post = Vec::new();
            for b in &all {
                post.extend(Dec::new(b).f64s().map_err(bad)?);
            }
            sink.expect("rank 0").traces(proj, &post);
        }
        Ok(())
    }

    /// Rank 0's whole network, lent out (to be put back with [`Partition::put_whole`]).
    pub(crate) fn take_whole(&mut self) -> Network {
        self.whole.take().expect("rank 0 keeps the whole network")
    }

    /// Puts back what [`Partition::take_whole`] lent.
    pub(crate) fn put_whole(&mut self, net: Network) {
        self.whole = Some(net);
    }

    /// The communicator.
    pub(crate) fn comm(&self) -> &CommRef {
        &self.comm
    }
}

/// A learning rule's state parts (ABI 1.7: shared, per presynaptic neuron, per postsynaptic
/// neuron, per synapse) and its projection's synapse count.
pub(crate) type RuleParts = ([Vec<u8>; 4], u64);

/// What rank 0 makes of a projection streamed from the ranks ([`Partition::stream_rows`]),
/// in this order: row pointers, then for each of the columns 0 (targets), 1 (weights) and 2
/// (delays) either [`RowSink::one`] (a shared weight, a uniform delay: rank 0's block holds
/// it as every block does) or [`RowSink::column`] and its words in order, then the traces.
trait RowSink {
    /// The whole projection's row pointers.
    fn indptr(&mut self, ptr: &[u64]);
    /// A column of `nnz` values, one per synapse, begins.
    fn column(&mut self, column: usize, nnz: u64);
    /// The next values of the column: global target indices, [`crate::real::bits`] of
    /// weights, delays in steps.
    fn words(&mut self, column: usize, words: &[u64]);
    /// A column held as one value, as `local` (rank 0's block) holds it.
    fn one(&mut self, column: usize, local: &Projection, nnz: u64);
    /// The presynaptic traces (`local`'s, alike on every rank) and the postsynaptic ones.
    fn traces(&mut self, local: &Projection, post: &[f64]);
}

/// A projection into one process's state hash.
struct HashRows<'a> {
    h: &'a mut StateHasher,
    synapses: u64,
}

impl RowSink for HashRows<'_> {
    fn indptr(&mut self, ptr: &[u64]) {
        self.h.ints(ptr);
        self.synapses = ptr.last().copied().unwrap_or(0);
    }
    fn column(&mut self, _: usize, nnz: u64) {
        self.h.word(nnz);
    }
    fn words(&mut self, _: usize, words: &[u64]) {
        words.iter().for_each(|&x| self.h.word(x));
    }
    fn one(&mut self, column: usize, local: &Projection, nnz: u64) {
        match (column, local.weights.values(), &local.delays) {
            (1, WeightValues::Shared(x), _) => {
                self.h.word(nnz);
                (0..nnz).for_each(|_| self.h.word(crate::real::bits(*x)));
            }
            (2, _, Delays::Uniform(d)) => self.h.ints(&[*d]),
            _ => unreachable!("a column held as one value"),
        }
    }
    fn traces(&mut self, local: &Projection, post: &[f64]) {
        self.h.f64s(&local.traces.pre);
        self.h.f64s(post);
        if let Some(k) = &local.kernel {
            self.h.reals(&k.weights);
        }
    }
}

/// A projection into a checkpoint, in [`crate::checkpoint::net::synapses`]' layout.
struct EncRows<'e, 'a>(&'e mut Enc<'a>);

impl RowSink for EncRows<'_, '_> {
    fn indptr(&mut self, ptr: &[u64]) {
        self.0.u64s(ptr);
    }
    fn column(&mut self, column: usize, nnz: u64) {
        if column == 2 {
            self.0.u8(1);
        }
        self.0.u64(nnz);
    }
    fn words(&mut self, column: usize, words: &[u64]) {
        let e = &mut *self.0;
        match column {
            0 => words.iter().for_each(|&j| e.u32(j as u32)),
            1 => words
                .iter()
                .for_each(|&x| e.f64(crate::real::wide(crate::real::from_bits(x)))),
            _ => words.iter().for_each(|&d| e.raw(&(d as u16).to_le_bytes())),
        }
        e.settle();
    }
    fn one(&mut self, column: usize, local: &Projection, _: u64) {
        match (column, local.weights.values(), &local.delays) {
            (1, WeightValues::Shared(x), _) => self.0.reals(&[*x]),
            (2, _, Delays::Uniform(d)) => {
                self.0.u8(0);
                self.0.u16s(&[*d]);
            }
            _ => unreachable!("a column held as one value"),
        }
    }
    fn traces(&mut self, local: &Projection, post: &[f64]) {
        self.0.f64s(&local.traces.pre);
        self.0.f64s(post);
    }
}

/// Collective: every projection of rank 0's `whole` (`None` on the other ranks) becomes the
/// ranks' parts of it in `net` (each rank's block of its targets), assembled one projection at
/// a time: each row the ranks' parts of it in rank order, whose columns ascend; the
/// postsynaptic traces in rank order, the presynaptic ones rank 0's (alike on every rank).
fn assemble(
    net: &Network,
    blocks: &[Block],
    comm: &CommRef,
    mut whole: Option<&mut Network>,
) -> Result<()> {
    let bad = |why: String| Error::Run(format!("a projection's parts were malformed: {why}"));
    for pid in net.proj_ids() {
        let (_, post) = net.endpoints(pid);
        let proj = net.proj(pid);
        let w = &proj.weights;
        let base = ranges_of(blocks, post)[comm.rank()].start as u32;
        let mut e = Enc::default();
        e.u32s(
            &w.indptr()
                .windows(2)
                .map(|r| (r[1] - r[0]) as u32)
                .collect::<Vec<_>>(),
        );
        e.u32s(&w.indices().iter().map(|&j| j + base).collect::<Vec<_>>());
        if let WeightValues::PerSynapse(v) = w.values() {
            e.reals(v);
        }
        if let Delays::PerSynapse(d) = &proj.delays {
            e.u16s(d);
        }
        e.f64s(&proj.traces.post);
        let sent = std::mem::take(&mut e.buf);
        let Some(all) = comm.gather(0, &sent)? else {
            continue;
        };
        drop(sent);
        let whole = whole.as_deref_mut().expect("rank 0");
        let mut parts = Vec::with_capacity(all.len());
        for buf in &all {
            let mut d = Dec::new(buf);
            let counts = d.u32s().map_err(bad)?;
            let cols = d.u32s().map_err(bad)?;
            let values = match w.values() {
                WeightValues::PerSynapse(_) => Some(d.reals().map_err(bad)?),
                WeightValues::Shared(_) => None,
            };
            let delays = match &proj.delays {
                Delays::PerSynapse(_) => Some(d.u16s().map_err(bad)?),
                Delays::Uniform(_) => None,
            };
            let post_traces = d.f64s().map_err(bad)?;
            if counts.len() != w.rows()
                || counts.iter().map(|&c| c as usize).sum::<usize>() != cols.len()
                || values.as_ref().is_some_and(|v| v.len() != cols.len())
                || delays.as_ref().is_some_and(|v| v.len() != cols.len())
            {
                return Err(bad(format!("projection `{}`", proj.name)));
            }
            parts.push((counts, cols, values, delays, post_traces));
        }
        drop(all);
        let nnz: usize = parts.iter().map(|p| p.1.len()).sum();
        let mut indptr = Vec::with_capacity(w.rows() + 1);
        indptr.push(0usize);
        let mut cols = Vec::with_capacity(nnz);
        let per_synapse = matches!(w.values(), WeightValues::PerSynapse(_));
        let mut values = Vec::with_capacity(if per_synapse { nnz } else { 0 });
        let mut delays = Vec::new();
        let mut at = vec![0usize; parts.len()];
        for i in 0..w.rows() {
            for (p, k) in parts.iter().zip(at.iter_mut()) {
                let n = p.0[i] as usize;
                cols.extend_from_slice(&p.1[*k..*k + n]);
                if let Some(v) = &p.2 {
                    values.extend_from_slice(&v[*k..*k + n]);
                }
                if let Some(d) = &p.3 {
                    delays.extend_from_slice(&d[*k..*k + n]);
                }
                *k += n;
            }
            indptr.push(cols.len());
        }
        let n_post = whole.pop(post).len();
        let values = match w.values() {
            WeightValues::Shared(x) => WeightValues::Shared(*x),
            WeightValues::PerSynapse(_) => WeightValues::PerSynapse(values),
        };
        let traces_post: Vec<f64> = parts.iter().flat_map(|p| p.4.iter().copied()).collect();
        let target = whole.proj_mut(pid);
        target.weights = Weights::try_from_parts((w.rows(), n_post), indptr, cols, values)
            .map_err(|why| bad(format!("projection `{}`: {why}", proj.name)))?;
        if let Delays::PerSynapse(_) = &proj.delays {
            target.delays = Delays::PerSynapse(delays);
        }
        target.traces.post = traces_post;
        target.traces.pre.clone_from(&proj.traces.pre);
    }
    Ok(())
}

/// A copy of `net` whose projections are shells (their shape, delays' kind, kernel and
/// presynaptic traces, no synapses: [`Partition::lean`]), made without copying their
/// synapses: they are set aside in `net` while it is copied.
fn shells(net: &mut Network) -> Network {
    let aside: Vec<_> = net
        .proj_ids()
        .into_iter()
        .map(|pid| (pid, empty(net.proj_mut(pid))))
        .collect();
    let mut copy = net.clone();
    for (pid, (weights, delays, post)) in aside {
        let p = net.proj_mut(pid);
        (p.weights, p.delays, p.traces.post) = (weights, delays, post);
        // A part built for its block (`Engine::from_file_on`) has the block's columns; the
        // shell has the whole population's.
        let n_post = copy.pop(copy.endpoints(pid).1).len();
        let shell = &mut copy.proj_mut(pid).weights;
        let rows = shell.rows();
        *shell = Weights::try_shared((rows, n_post), vec![0; rows + 1], Vec::new(), 0.0)
            .expect("an empty matrix");
    }
    copy
}

/// Empties `p` to its shell; returns its synapses' weights and delays and its postsynaptic
/// traces.
fn empty(p: &mut Projection) -> (Weights, Delays, Vec<f64>) {
    let shape = p.weights.shape();
    let shell =
        Weights::try_shared(shape, vec![0; shape.0 + 1], Vec::new(), 0.0).expect("an empty matrix");
    let delays = match &p.delays {
        Delays::PerSynapse(_) => Delays::PerSynapse(Vec::new()),
        d => d.clone(),
    };
    (
        std::mem::replace(&mut p.weights, shell),
        std::mem::replace(&mut p.delays, delays),
        std::mem::take(&mut p.traces.post),
    )
}

/// Every rank's block of population `id` among `blocks`, in rank order.
fn ranges_of(blocks: &[Block], id: PopId) -> &[Range<usize>] {
    &blocks.iter().find(|b| b.id == id).expect("every pop").all
}

/// Nanoseconds since the Unix epoch.
fn wall_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

fn external_current(d: &Dynamics) -> Option<&[crate::Real]> {
    match d {
        Dynamics::Lif(m) => Some(&m.i_ext),
        Dynamics::LifAlpha(m) => Some(&m.i_ext),
        Dynamics::CobaLif(m) => Some(&m.i_ext),
        Dynamics::Synaptic(m) => Some(&m.i_ext),
        Dynamics::Alpha(m) => Some(&m.i_ext),
        Dynamics::Alif(m) => Some(&m.i_ext),
        Dynamics::Izhikevich(m) => Some(&m.i_ext),
        Dynamics::AdEx(m) => Some(&m.i_ext),
        _ => None,
    }
}

fn refractory_mut(d: &mut Dynamics) -> Option<&mut Vec<u32>> {
    match d {
        Dynamics::Lif(m) => Some(&mut m.refractory),
        Dynamics::LifAlpha(m) => Some(&mut m.refractory),
        Dynamics::CobaLif(m) => Some(&mut m.refractory),
        Dynamics::AdEx(m) => Some(&mut m.refractory),
        _ => None,
    }
}
