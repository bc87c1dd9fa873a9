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
use crate::graph::PopId;
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

    /// Counts the watched populations' spikes of this step and calls each policy whose
    /// interval ended; applies the edits it asks for.
    pub(super) fn structure_stage(&mut self) -> Result<()> {
        if self.structure.is_empty() {
            return Ok(());
        }
        let mut bindings = std::mem::take(&mut self.structure);
        let result = (|| {
            for b in &mut bindings {
                for (g, &pid) in b.pops.iter().enumerate() {
                    let c = &mut b.counts[g];
                    let n = self.net.pop(pid).len();
                    if c.len() != n {
                        c.resize(n, 0.0);
                    }
                    for &j in &self.net.pop(pid).spikes {
                        c[j as usize] += 1.0;
                    }
                }
                b.since += 1;
                if b.since >= b.every {
                    self.call_policy(b)?;
                }
            }
            Ok(())
        })();
        self.structure = bindings;
        result
    }

    fn call_policy(&mut self, b: &mut StructureBinding) -> Result<()> {
        let edits = {
            let net = &self.net;
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
        self.apply_policy_edits(&b.instance.plugin, &b.pops, edits)
    }

    fn apply_policy_edits(&mut self, plugin: &str, pops: &[PopId], edits: Edits) -> Result<()> {
        let bad = |msg: String| plugin::error(plugin, PluginErrorKind::Failed, msg);
        type Batch = (Vec<(u32, u32)>, Vec<NewSynapse>);
        let mut per: BTreeMap<String, Batch> = BTreeMap::new();
        for (name, pre, post) in edits.remove_synapses {
            per.entry(name).or_default().0.push((pre, post));
        }
        for (name, pre, post, w) in edits.add_synapses {
            per.entry(name).or_default().1.push(NewSynapse {
                pre,
                post,
                weight: w as Real,
                delay: None,
            });
        }
        for (name, (remove, add)) in per {
            let incident = self.net.proj_id(&name).is_some_and(|id| {
                let (a, b) = self.net.endpoints(id);
                pops.contains(&a) || pops.contains(&b)
            });
            if !incident {
                return Err(bad(format!(
                    "asked to edit synapses of `{name}`, which is not a projection from or to the populations it watches"
                )));
            }
            self.edit_synapses(&name, &remove, &add)
                .map_err(|e| bad(e.to_string()))?;
            self.edit_log.push(SynapseEditLog {
                step: self.step + 1,
                plugin: plugin.to_string(),
                projection: name,
                removed: remove.len(),
                added: add.len(),
            });
        }
        // Then neuron removals (by stable id, in any watched population) and growth (of the
        // first watched population, bare: the policy wires new neurons at a later call).
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
                self.edit_log.push(SynapseEditLog {
                    step: self.step + 1,
                    plugin: plugin.to_string(),
                    projection: format!("{name} neurons"),
                    removed: idx.len(),
                    added: 0,
                });
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
            self.edit_log.push(SynapseEditLog {
                step: self.step + 1,
                plugin: plugin.to_string(),
                projection: format!("{name} neurons"),
                removed: 0,
                added: n,
            });
        }
        Ok(())
    }
}
