//! Structural policies in simulations: the graph file's top-level `structure` entries.
//!
//! A policy (a plugin of kind `structure`, ABI 1.4's `simulate`) watches some populations.
//! The engine counts their spikes at every step and, every `every_ms`, hands the policy the
//! counts since its last call together with every projection from or to those populations
//! (CSR by presynaptic neuron, as the engine holds them; no copies in the f64 build). The
//! policy answers with synapse additions and removals, which the engine applies in one batch
//! per projection (`Engine::edit_synapses`) before the next step, so that every other
//! synapse keeps its weight, delay and learning-rule state exactly. Neuron growth and removal
//! are a training task's edits; a simulation's policy that asks for them stops the run with
//! an error naming the plugin.
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
        if edits.grow.is_some() || !edits.remove.is_empty() {
            return Err(bad(
                "asked to grow or remove neurons; a simulation's structural policy edits synapses only"
                    .into(),
            ));
        }
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
        Ok(())
    }
}
