//! Structural policies in simulations: the graph file's top-level `structure` entries.
//!
//! A policy (a plugin of kind `structure`, ABI 1.4's `simulate`) watches some populations.
//! The engine counts their spikes at every step and, every `every_ms`, hands the policy the
//! counts since its last call together with every projection from or to those populations
//! (CSR by presynaptic neuron, as the engine holds them; no copies in the f64 build). The
//! policy answers with synapse additions and removals, which the engine applies in one batch
//! per projection (`Engine::edit_synapses`) before the next step, so that every other
//! synapse keeps its weight, delay and learning-rule state exactly. A policy may also remove
//! neurons (by stable id) and grow the first population it watches: synapse edits are applied
//! first (with the indices the policy saw), then removals, then growth; grown neurons come
//! bare, without synapses, and the policy wires them at a later call (their ids are the ones
//! it has not seen before). `edits.csv` lists neuron edits with `<population> neurons` in its
//! `projection` column.
//!
//! The call runs at the end of a step (after spikes were recorded), so the edits take effect
//! from the next step on; the policy's state and the counts since its last call are part of
//! the engine's checkpoints, and `edits.csv` of the run directory lists each applied batch.

use super::Engine;
use crate::checkpoint::codec::{Dec, DecResult, Enc};
use crate::error::{Error, Result};
use crate::graph::edit::NewSynapse;
use crate::graph::{Network, PopId};
use crate::plugin::{self, Edits, Group, PluginErrorKind, SimProj, SimView, StructureInstance};
use crate::Real;
use std::collections::BTreeMap;

/// A policy bound to the populations it watches.
#[derive(Debug)]
pub(super) struct StructureBinding {
    pub instance: StructureInstance,
    pub pops: Vec<PopId>,
    /// Steps between calls.
    pub every: u64,
    /// Spikes per neuron of each watched population since the last call.
    counts: Vec<Vec<f64>>,
    /// Steps since the last call.
    since: u64,
}

/// One applied batch of a simulation's synapse edits (a row of `edits.csv`).
#[derive(Debug, Clone, PartialEq)]
pub struct SynapseEditLog {
    /// Steps simulated when the batch was applied.
    pub step: u64,
    /// The policy's plugin.
    pub plugin: String,
    /// The edited projection.
    pub projection: String,
    /// Synapses removed.
    pub removed: usize,
    /// Synapses added.
    pub added: usize,
}

impl StructureBinding {
    pub fn new(instance: StructureInstance, pops: Vec<PopId>, every: u64, sizes: &[usize]) -> Self {
        StructureBinding {
            instance,
            pops,
            every: every.max(1),
            counts: sizes.iter().map(|&n| vec![0.0; n]).collect(),
            since: 0,
        }
    }

    /// The counts and the policy's state, for checkpoints.
    pub fn encode(&mut self, e: &mut Enc) -> Result<()> {
        e.bytes(&self.instance.save()?);
        e.u64(self.since);
        e.u64(self.counts.len() as u64);
        for c in &self.counts {
            e.u64(c.len() as u64);
            c.iter().for_each(|&x| e.u64(x as u64));
        }
        Ok(())
    }

    /// Restores what [`StructureBinding::encode`] wrote.
    pub fn restore(&mut self, d: &mut Dec) -> Result<()> {
        let bad = |why: String| Error::Input(format!("checkpoint state: {why}"));
        let state = d.bytes().map_err(bad)?;
        self.instance.load(&state)?;
        (|| -> DecResult<()> {
            self.since = d.u64()?;
            let groups = d.u64()? as usize;
            if groups != self.counts.len() {
                return Err(format!(
                    "a structural policy watching {groups} populations, the file has {}",
                    self.counts.len()
                ));
            }
            for c in &mut self.counts {
                let n = d.u64()? as usize;
                if n > (1 << 32) {
                    return Err(format!("{n} neurons in a spike count"));
                }
                *c = (0..n)
                    .map(|_| d.u64().map(|x| x as f64))
                    .collect::<DecResult<_>>()?;
            }
            Ok(())
        })()
        .map_err(bad)
    }
}

impl Engine {
    /// Stops every structural policy: from now on the structure changes only by explicit
    /// edits. (A reservoir's development phase ends so.)
    pub fn end_structure(&mut self) {
        self.structure.clear();
    }

    /// Adds the spikes of this step (in a split simulation: of an exchanged step, with the
    /// global spike lists) to each policy's counts.
    pub(super) fn count_structure_spikes(&mut self) {
        for b in &mut self.structure {
            for (g, &pid) in b.pops.iter().enumerate() {
                let c = &mut b.counts[g];
                let n = match &self.part {
                    Some(part) => part.global_len(pid),
                    None => self.net.pop(pid).len(),
                };
                if c.len() != n {
                    c.resize(n, 0.0);
                }
                for &j in &self.net.pop(pid).spikes {
                    c[j as usize] += 1.0;
                }
            }
        }
    }

    /// Counts the watched populations' spikes of this step and calls each policy whose
    /// interval ended; applies the edits it asks for. Split across ranks, the counts come
    /// with the exchanged steps ([`Engine::count_structure_spikes`] in the replay), so a step
    /// that ends a policy's interval first exchanges what waits.
    pub(super) fn structure_stage(&mut self) -> Result<()> {
        if self.structure.is_empty() {
            return Ok(());
        }
        if self.part.is_none() {
            self.count_structure_spikes();
        } else if self.structure.iter().any(|b| b.since + 1 >= b.every) {
            self.flush()?;
        }
        let mut bindings = std::mem::take(&mut self.structure);
        let result = (|| {
            for b in &mut bindings {
                b.since += 1;
                if b.since >= b.every {
                    match self.part {
                        None => self.call_policy(b)?,
                        Some(_) => self.call_policy_split(b)?,
                    }
                }
            }
            Ok(())
        })();
        self.structure = bindings;
        result
    }

    /// What policy `b` asks of `net` at the end of step `self.step`; its counts start over.
    fn ask_policy(&self, net: &Network, b: &mut StructureBinding) -> Result<Edits> {
        let edits = {
            let groups = b
                .pops
                .iter()
                .zip(&b.counts)
                .map(|(&pid, c)| Group {
                    name: &net.pop(pid).name,
                    ids: &net.pop(pid).neuron_ids,
                    spikes: c,
                })
                .collect();
            let watched = |p: PopId| b.pops.iter().position(|&q| q == p);
            let mut projs: Vec<_> = net
                .proj_ids()
                .into_iter()
                .filter(|&id| {
                    let (pre, post) = net.endpoints(id);
                    watched(pre).is_some() || watched(post).is_some()
                })
                .collect();
            projs.sort_by(|&x, &y| net.proj(x).name.cmp(&net.proj(y).name));
            let weights: Vec<_> = projs
                .iter()
                .map(|&id| net.proj(id).weights.expanded())
                .collect();
            let wide: Vec<_> = weights.iter().map(|w| crate::real::widen(w)).collect();
            let projections = projs
                .iter()
                .zip(&wide)
                .map(|(&id, w)| {
                    let (pre, post) = net.endpoints(id);
                    let p = net.proj(id);
                    SimProj {
                        name: &p.name,
                        pre: watched(pre),
                        post: watched(post),
                        n_pre: net.pop(pre).len(),
                        n_post: net.pop(post).len(),
                        indptr: p.weights.indptr(),
                        indices: p.weights.indices(),
                        weights: w,
                    }
                })
                .collect();
            let view = SimView {
                time_ms: (self.step + 1) as f64 * self.dt_ms,
                dt_ms: self.dt_ms,
                step: self.step + 1,
                interval_steps: b.since,
                seed: self.seed,
                groups,
                projections,
            };
            b.instance.simulate(&view)?
        };
        b.since = 0;
        b.counts.iter_mut().for_each(|c| c.fill(0.0));
        Ok(edits)
    }

    fn call_policy(&mut self, b: &mut StructureBinding) -> Result<()> {
        let mut edits = self.ask_policy(&self.net, b)?;
        let batches = synapse_batches(&self.net, &b.instance.plugin, &b.pops, &mut edits)?;
        for (name, (remove, add)) in batches {
            self.edit_synapses(&name, &remove, &add)
                .map_err(|e| failed(&b.instance.plugin, e.to_string()))?;
            self.log_batch(&b.instance.plugin, name, remove.len(), add.len());
        }
        self.apply_neuron_edits(&b.instance.plugin, &b.pops, edits)
    }

    fn log_batch(&mut self, plugin: &str, projection: String, removed: usize, added: usize) {
        self.edit_log.push(SynapseEditLog {
            step: self.step + 1,
            plugin: plugin.to_string(),
            projection,
            removed,
            added,
        });
    }

    /// A policy's call in a simulation split across ranks (collective). Rank 0 holds the
    /// whole network (brought up to date first where a learning rule changes weights the
    /// policy sees): it asks the policy, applies the edits to the whole, which checks them, and
    /// sends them (or the error) to every rank; each rank applies the part of every batch
    /// that lands in its block, renumbered as its block is. Every block then holds exactly
    /// the synapses into it of one process's network, in the same order. Neuron edits would
    /// move the blocks' borders: refused (docs/distributed.md).
    fn call_policy_split(&mut self, b: &mut StructureBinding) -> Result<()> {
        let plugin = b.instance.plugin.clone();
        let sees_plastic = self.rules.iter().any(|r| {
            let (pre, post) = self.net.endpoints(r.proj);
            b.pops.contains(&pre) || b.pops.contains(&post)
        });
        if sees_plastic {
            self.gather()?;
        }
        let comm = self.part.as_ref().expect("split").comm().clone();
        let mut msg = Vec::new();
        let mut own_error = None;
        if comm.rank() == 0 {
            let mut whole = self.part.as_mut().expect("split").take_whole();
            let asked = (|| {
                let mut edits = self.ask_policy(&whole, b)?;
                if edits.grow.is_some_and(|g| g.0 > 0) || !edits.remove.is_empty() {
                    return Err(Error::Input(format!(
                        "structural policy `{plugin}` asked to grow or remove neurons in a simulation split across ranks: not yet distributed (docs/distributed.md). Run it without mpirun, or with -np 1"
                    )));
                }
                let mut batches = synapse_batches(&whole, &plugin, &b.pops, &mut edits)?;
                for (name, (remove, add)) in &mut batches {
                    let id = whole.proj_id(name).expect("checked");
                    // An absent delay is the projection's shortest: the whole's, not a block's.
                    let shortest = whole.proj(id).delays.min();
                    add.iter_mut()
                        .for_each(|s| s.delay = s.delay.or(Some(shortest)));
                    whole
                        .edit_synapses(id, remove, add, self.step)
                        .map_err(|e| failed(&plugin, format!("projection `{name}`: {e}")))?;
                }
                Ok(batches)
            })();
            self.part.as_mut().expect("split").put_whole(whole);
            match asked {
                Ok(batches) => {
                    msg.push(0);
                    msg.extend(encode_batches(&batches));
                }
                Err(e) => {
                    msg.push(1);
                    msg.extend(crate::comm::status_bytes(&e));
                    own_error = Some(e);
                }
            }
        } else {
            b.since = 0;
            b.counts.iter_mut().for_each(|c| c.fill(0.0));
        }
        comm.broadcast(0, &mut msg)?;
        if msg.first() != Some(&0) {
            if let Some(e) = own_error {
                return Err(e);
            }
            let (code, msg) = crate::comm::decode_status(msg.get(1..).unwrap_or_default())
                .unwrap_or((1, "rank 0 sent no structural edits".into()));
            return Err(Error::Rank { rank: 0, code, msg });
        }
        let batches = decode_batches(&msg[1..])
            .map_err(|why| Error::Run(format!("structural edits from rank 0: {why}")))?;
        for (name, (remove, add)) in batches {
            let id = self.net.proj_id(&name).ok_or_else(|| {
                Error::Run(format!(
                    "structural edits from rank 0 name no projection `{name}`"
                ))
            })?;
            let owned = self
                .part
                .as_ref()
                .expect("split")
                .owned(self.net.endpoints(id).1);
            let (lo, hi) = (owned.start as u32, owned.end as u32);
            let mine = |post: u32| (lo..hi).contains(&post);
            let local_remove: Vec<(u32, u32)> = remove
                .iter()
                .filter(|s| mine(s.1))
                .map(|&(pre, post)| (pre, post - lo))
                .collect();
            let local_add: Vec<NewSynapse> = add
                .iter()
                .filter(|s| mine(s.post))
                .map(|s| NewSynapse {
                    post: s.post - lo,
                    ..*s
                })
                .collect();
            if !local_remove.is_empty() || !local_add.is_empty() {
                self.edit_synapses(&name, &local_remove, &local_add)
                    .map_err(|e| failed(&plugin, e.to_string()))?;
            }
            self.log_batch(&plugin, name, remove.len(), add.len());
        }
        Ok(())
    }

    fn apply_neuron_edits(&mut self, plugin: &str, pops: &[PopId], edits: Edits) -> Result<()> {
        let bad = |msg: String| failed(plugin, msg);
        // After the synapse edits: neuron removals (by stable id, in any watched population)
        // and growth (of the first watched population, bare: the policy wires new neurons at a
        // later call).
        let seed = self.seed ^ self.step.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        if !edits.remove.is_empty() {
            let mut left: std::collections::BTreeSet<u64> = edits.remove.iter().copied().collect();
            if left.len() != edits.remove.len() {
                return Err(bad("asked to remove a neuron twice".into()));
            }
            for &pid in pops {
                let p = self.net.pop(pid);
                let idx: Vec<usize> = (0..p.len())
                    .filter(|&i| left.remove(&p.neuron_ids[i]))
                    .collect();
                if idx.is_empty() {
                    continue;
                }
                let name = p.name.clone();
                self.prune(&name, &idx, seed)
                    .map_err(|e| bad(e.to_string()))?;
                self.log_batch(plugin, format!("{name} neurons"), idx.len(), 0);
            }
            if let Some(id) = left.first() {
                return Err(bad(format!(
                    "asked to remove neuron id {id}, which no watched population has"
                )));
            }
        }
        if let Some((n, _)) = edits.grow.filter(|g| g.0 > 0) {
            let name = self.net.pop(pops[0]).name.clone();
            self.grow(&name, n, seed, &mut |_, _, _| None)
                .map_err(|e| bad(e.to_string()))?;
            self.log_batch(plugin, format!("{name} neurons"), 0, n);
        }
        Ok(())
    }
}

/// A policy's synapse edits of one projection: removals ((pre, post) pairs), then additions.
type Batch = (Vec<(u32, u32)>, Vec<NewSynapse>);

fn failed(plugin: &str, msg: String) -> Error {
    plugin::error(plugin, PluginErrorKind::Failed, msg)
}

/// The synapse edits of `edits` (taken out of it), one batch per projection in name order,
/// each checked to be a projection from or to the populations `pops` the policy watches.
fn synapse_batches(
    net: &Network,
    plugin: &str,
    pops: &[PopId],
    edits: &mut Edits,
) -> Result<BTreeMap<String, Batch>> {
    let mut per: BTreeMap<String, Batch> = BTreeMap::new();
    for (name, pre, post) in std::mem::take(&mut edits.remove_synapses) {
        per.entry(name).or_default().0.push((pre, post));
    }
    for (name, pre, post, w) in std::mem::take(&mut edits.add_synapses) {
        per.entry(name).or_default().1.push(NewSynapse {
            pre,
            post,
            weight: w as Real,
            delay: None,
        });
    }
    for name in per.keys() {
        let incident = net.proj_id(name).is_some_and(|id| {
            let (a, b) = net.endpoints(id);
            pops.contains(&a) || pops.contains(&b)
        });
        if !incident {
            return Err(failed(plugin, format!(
                "asked to edit synapses of `{name}`, which is not a projection from or to the populations it watches"
            )));
        }
    }
    Ok(per)
}

/// The batches as rank 0 sends them (every delay given).
fn encode_batches(batches: &BTreeMap<String, Batch>) -> Vec<u8> {
    let mut e = Enc::default();
    e.u64(batches.len() as u64);
    for (name, (remove, add)) in batches {
        e.str(name);
        e.u32s(&remove.iter().flat_map(|&(a, b)| [a, b]).collect::<Vec<_>>());
        e.u32s(&add.iter().flat_map(|s| [s.pre, s.post]).collect::<Vec<_>>());
        e.f64s(
            &add.iter()
                .map(|s| crate::real::wide(s.weight))
                .collect::<Vec<_>>(),
        );
        e.u16s(&add.iter().map(|s| s.delay.unwrap_or(0)).collect::<Vec<_>>());
    }
    e.buf
}

/// What [`encode_batches`] wrote.
fn decode_batches(b: &[u8]) -> DecResult<Vec<(String, Batch)>> {
    let mut d = Dec::new(b);
    let n = d.u64()? as usize;
    let mut out = Vec::with_capacity(n.min(b.len()));
    for _ in 0..n {
        let name = d.str()?;
        let remove = d.u32s()?.chunks_exact(2).map(|p| (p[0], p[1])).collect();
        let ends = d.u32s()?;
        let weights = d.f64s()?;
        let delays = d.u16s()?;
        if ends.len() != 2 * weights.len() || weights.len() != delays.len() {
            return Err(format!(
                "projection `{name}`'s additions do not fit together"
            ));
        }
        let add = ends
            .chunks_exact(2)
            .zip(weights.iter().zip(&delays))
            .map(|(p, (&w, &delay))| NewSynapse {
                pre: p[0],
                post: p[1],
                weight: w as Real,
                delay: Some(delay),
            })
            .collect();
        out.push((name, (remove, add)));
    }
    if !d.finished() {
        return Err("trailing bytes".into());
    }
    Ok(out)
}
