//! Structural edits of a running simulation: [`Network::grow`] and [`Network::prune`] (the
//! same graph edits the trainer makes between batches) and [`Network::edit_synapses`],
//! followed by everything the engine keeps per neuron or per synapse outside the network:
//! learning-rule instances are resized with the edit's index maps, and DC stimuli that name
//! neurons follow their neurons.
//!
//! A neuron that a state recorder samples cannot be pruned: the recorder's columns would
//! change meaning in the middle of its table, so the edit is refused before anything changes.

use super::Engine;
use crate::error::{Error, Result};
use crate::graph::edit::{EditOutcome, NewSynapse, SynapseRemap};
use crate::graph::PopId;
use crate::Real;
use snnsim_plugin_api::abi::NEW;

impl Engine {
    fn edited_pop(&self, population: &str) -> Result<PopId> {
        self.net.pop_id(population).ok_or_else(|| {
            let names: Vec<&str> = self.net.populations().map(|p| p.name.as_str()).collect();
            Error::Input(format!(
                "no population `{population}` (the network has {})",
                names.join(", ")
            ))
        })
    }

    /// Appends `n` neurons to `population`, at rest, connected to every partner of every
    /// incident projection with weights `weight(projection, pre, post)` (see
    /// [`crate::graph::Network::grow`]).
    pub fn grow(
        &mut self,
        population: &str,
        n: usize,
        seed: u64,
        weight: &mut dyn FnMut(&str, usize, usize) -> Option<Real>,
    ) -> Result<EditOutcome> {
        self.check_usable()?;
        let pop = self.edited_pop(population)?;
        let out = self.net.grow(pop, n, seed, weight).map_err(Error::Input)?;
        self.after_edit(pop, &out)?;
        Ok(out)
    }

    /// Removes the neurons at `neurons` (indices, any order, no duplicates) from `population`,
    /// with their synapses.
    pub fn prune(&mut self, population: &str, neurons: &[usize], seed: u64) -> Result<EditOutcome> {
        self.check_usable()?;
        let pop = self.edited_pop(population)?;
        for rec in self.states.iter().filter(|r| r.population == population) {
            if let Some(j) = neurons.iter().find(|j| rec.neurons.contains(j)) {
                return Err(Error::Input(format!(
                    "cannot prune neuron {j} of `{population}`: a State recorder samples it"
                )));
            }
        }
        let out = self
            .net
            .prune(pop, neurons, seed)
            .map_err(|e| Error::Input(format!("`{population}`: {e}")))?;
        self.after_edit(pop, &out)?;
        Ok(out)
    }

    /// Removes the synapses `remove` ((pre, post) pairs) from `projection` and adds `add`, as
    /// one batch (see [`crate::graph::Network::edit_synapses`]; the delay rings are lengthened at the
    /// current step), then resizes the projection's rule instances with the returned maps.
    /// Errors name the projection; after one, nothing has changed.
    pub fn edit_synapses(
        &mut self,
        projection: &str,
        remove: &[(u32, u32)],
        add: &[NewSynapse],
    ) -> Result<SynapseRemap> {
        self.check_usable()?;
        let id = self.net.proj_id(projection).ok_or_else(|| {
            let names: Vec<&str> = self.net.projections().map(|p| p.2.name.as_str()).collect();
            Error::Input(format!(
                "no projection `{projection}` (the network has {})",
                names.join(", ")
            ))
        })?;
        let remap = self
            .net
            .edit_synapses(id, remove, add, self.step)
            .map_err(|e| Error::Input(format!("projection `{projection}`: {e}")))?;
        let mut full = None;
        for b in self.rules.iter_mut().filter(|b| b.proj == id) {
            let m = full.get_or_insert_with(|| remap.to_proj_remap());
            b.instance.resize(&m.pre, &m.post, &m.synapses)?;
        }
        Ok(remap)
    }

    fn check_usable(&self) -> Result<()> {
        match &self.failed {
            Some(why) => Err(Error::Run(format!(
                "the simulation failed earlier and cannot be edited: {why}"
            ))),
            None => Ok(()),
        }
    }

    /// Resizes the rule instances of the edited projections and renumbers the neurons that
    /// DC stimuli and state recorders name.
    fn after_edit(&mut self, pop: PopId, out: &EditOutcome) -> Result<()> {
        for b in &mut self.rules {
            let name = &self.net.proj(b.proj).name;
            if let Some(m) = out.projections.iter().find(|m| &m.name == name) {
                b.instance.resize(&m.pre, &m.post, &m.synapses)?;
            }
        }
        // Old index → new index (NEW where removed; pruned neurons past the last kept one
        // fall outside the table).
        let old_len = out
            .neurons
            .iter()
            .filter(|&&o| o != NEW)
            .map(|&o| o as usize + 1)
            .max()
            .unwrap_or(0);
        let mut new_of = vec![NEW; old_len];
        for (k, &o) in out.neurons.iter().enumerate() {
            if o != NEW {
                new_of[o as usize] = k as u64;
            }
        }
        let renumber = |js: &mut Vec<usize>| {
            js.retain(|&j| new_of.get(j).is_some_and(|&k| k != NEW));
            js.iter_mut().for_each(|j| *j = new_of[*j] as usize);
        };
        for d in self.dc.iter_mut().filter(|d| d.pop == pop) {
            if let Some(js) = &mut d.neurons {
                renumber(js);
            }
        }
        let name = self.net.pop(pop).name.clone();
        for rec in self.states.iter_mut().filter(|r| r.population == name) {
            renumber(&mut rec.neurons);
        }
        // New neurons take the stimuli that cover the whole population.
        self.rewrite_stimuli(self.step, true);
        Ok(())
    }
}
