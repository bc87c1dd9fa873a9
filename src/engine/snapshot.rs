//! The state of a simulation for a checkpoint: the network, the clock, the synaptic event
//! count, what the recorders hold so far, the state of every learning-rule and
//! structural-policy instance (through the plugin ABI's `save`/`load`), the Poisson inputs'
//! random streams and the log of applied synapse edits.

use super::Engine;
use crate::checkpoint::codec::{Dec, Enc};
use crate::checkpoint::net;
use crate::error::{Error, Result};

impl Engine {
    /// Encodes everything a resumed run needs to continue exactly as this one would.
    pub fn save_state(&mut self) -> Result<Vec<u8>> {
        self.encode_state(None)
    }

    /// [`Engine::save_state`] of the whole network, collective in a split simulation: every
    /// rank's state is gathered on rank 0, which returns the bytes one process would save
    /// (so the checkpoint resumes on any number of ranks); `None` on the other ranks.
    pub fn save_state_whole(&mut self) -> Result<Option<Vec<u8>>> {
        self.flush()?;
        let Some(mut part) = self.part.take() else {
            return self.save_state().map(Some);
        };
        let result = (|| -> Result<Option<Vec<u8>>> {
            part.gather(&self.net, self.synaptic_events)?;
            part.fill(&self.net)?;
            let rules = part.gather_rule_parts(&mut self.rules)?;
            let Some(streams) = part.gather_poisson_inputs(&self.poisson)? else {
                return Ok(None);
            };
            // Rank 0: an instance of each rule for the whole projection, holding the merged
            // state, saves what one process would.
            let mut whole = part.take_whole();
            let mut instances = Vec::with_capacity(self.rules.len());
            for (b, parts) in self.rules.iter().zip(rules.unwrap_or_default()) {
                let (pre, post) = (whole.pop(b.pre).len(), whole.pop(b.post).len());
                let shape = snnsim_plugin_api::abi::ProjShapeV1 {
                    n_pre: pre as u64,
                    n_post: post as u64,
                    nnz: whole.proj(b.proj).nnz() as u64,
                    dt_ms: self.dt_ms,
                };
                let made = b.plugin.create_rule(&b.params, shape).and_then(|mut i| {
                    i.load_parts(&parts)?;
                    Ok(i)
                });
                match made {
                    Ok(i) => instances.push(i),
                    Err(e) => {
                        part.put_whole(whole);
                        return Err(e);
                    }
                }
            }
            let swap = |rules: &mut [super::RuleBinding], instances: &mut [_]| {
                for (b, i) in rules.iter_mut().zip(instances.iter_mut()) {
                    std::mem::swap(&mut b.instance, i);
                }
            };
            swap(&mut self.rules, &mut instances);
            std::mem::swap(&mut self.net, &mut whole);
            let own = std::mem::replace(&mut self.synaptic_events, part.total_events);
            let state = self.encode_state(Some(&streams));
            std::mem::swap(&mut self.net, &mut whole);
            swap(&mut self.rules, &mut instances);
            self.synaptic_events = own;
            part.put_whole(whole);
            state.map(Some)
        })();
        part.slim();
        self.part = Some(part);
        result
    }

    /// The state, with the Poisson inputs' streams as given (one process's layout) or as held.
    fn encode_state(&mut self, streams: Option<&[Vec<u8>]>) -> Result<Vec<u8>> {
        let mut e = Enc::default();
        e.u64(self.step);
        e.u64(self.synaptic_events);
        net::encode(&mut self.net, &mut e);
        e.u64(self.spikes.events.len() as u64);
        for &(s, k, i) in &self.spikes.events {
            e.u64(s);
            e.u32(k);
            e.u32(i);
        }
        e.u64(self.states.len() as u64);
        for rec in &self.states {
            e.u64(rec.rows.len() as u64);
            for (s, row) in &rec.rows {
                e.u64(*s);
                e.reals(row);
            }
        }
        e.u64(self.rules.len() as u64);
        for b in &mut self.rules {
            e.bytes(&b.instance.save()?);
        }
        // Poisson inputs and structural policies (written only when the file has them, so
        // that the checkpoints of other files keep their former layout).
        match streams {
            Some(s) => s.iter().for_each(|b| e.buf.extend_from_slice(b)),
            None => self.poisson.iter().for_each(|p| p.encode(&mut e)),
        }
        for b in &mut self.structure {
            b.encode(&mut e)?;
        }
        if !self.structure.is_empty() {
            e.u64(self.edit_log.len() as u64);
            for l in &self.edit_log {
                e.u64(l.step);
                e.bytes(l.plugin.as_bytes());
                e.bytes(l.projection.as_bytes());
                e.u64(l.removed as u64);
                e.u64(l.added as u64);
            }
        }
        Ok(e.buf)
    }

    /// Restores a state written by [`Engine::save_state`] onto an engine built from the same
    /// graph file.
    pub fn load_state(&mut self, bytes: &[u8]) -> Result<()> {
        if self.built_for.is_some() {
            return Err(Error::Run(
                "a checkpoint holds the whole network: a rank that built only its part cannot load it (build the whole, load, then distribute)".into(),
            ));
        }
        let bad = |why: String| Error::Input(format!("checkpoint state: {why}"));
        let mut d = Dec::new(bytes);
        (|| -> std::result::Result<(), String> {
            self.step = d.u64()?;
            self.synaptic_events = d.u64()?;
            net::restore(&mut self.net, &mut d)?;
            let n = d.u64()? as usize;
            let mut events = Vec::with_capacity(n.min(bytes.len() / 16));
            for _ in 0..n {
                events.push((d.u64()?, d.u32()?, d.u32()?));
            }
            self.spikes.events = events;
            let n = d.u64()? as usize;
            if n != self.states.len() {
                return Err(format!(
                    "{n} state recorders, the file has {}",
                    self.states.len()
                ));
            }
            for rec in &mut self.states {
                let rows = d.u64()? as usize;
                rec.rows.clear();
                for _ in 0..rows {
                    let s = d.u64()?;
                    rec.rows.push((s, d.reals()?));
                }
            }
            let n = d.u64()? as usize;
            if n != self.rules.len() {
                return Err(format!(
                    "{n} rule states, the file has {} rules",
                    self.rules.len()
                ));
            }
            Ok(())
        })()
        .map_err(bad)?;
        for b in &mut self.rules {
            let state = d.bytes().map_err(bad)?;
            b.instance.load(&state)?;
        }
        for p in &mut self.poisson {
            p.restore(&mut d).map_err(bad)?;
        }
        for b in &mut self.structure {
            b.restore(&mut d)?;
        }
        if !self.structure.is_empty() {
            let text = |d: &mut Dec| -> std::result::Result<String, String> {
                String::from_utf8(d.bytes()?).map_err(|_| "an edit log name is not UTF-8".into())
            };
            self.edit_log = (|| -> std::result::Result<_, String> {
                let n = d.u64()? as usize;
                let mut log = Vec::with_capacity(n.min(bytes.len() / 32));
                for _ in 0..n {
                    log.push(super::SynapseEditLog {
                        step: d.u64()?,
                        plugin: text(&mut d)?,
                        projection: text(&mut d)?,
                        removed: d.u64()? as usize,
                        added: d.u64()? as usize,
                    });
                }
                Ok(log)
            })()
            .map_err(bad)?;
        }
        if !d.finished() {
            return Err(bad("trailing bytes".into()));
        }
        Ok(())
    }
}
