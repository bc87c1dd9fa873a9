//! The state of a simulation for a checkpoint: the network, the clock, the synaptic event
//! count, what the recorders hold so far, the state of every learning-rule and
//! structural-policy instance (through the plugin ABI's `save`/`load`), the Poisson inputs'
//! random streams and the log of applied synapse edits. It is encoded straight into the
//! checkpoint file ([`checkpoint::Writer`]); a split simulation's rank 0 streams the
//! projections from the ranks as it goes instead of assembling them.

use super::Engine;
use crate::checkpoint::codec::{Dec, Enc};
use crate::checkpoint::{self, net, Kind};
use crate::error::{Error, Result};
use crate::graph::Network;
use std::path::{Path, PathBuf};

impl Engine {
    /// Encodes everything a resumed run needs to continue exactly as this one would.
    pub fn save_state(&mut self) -> Result<Vec<u8>> {
        let mut e = Enc::default();
        self.encode_state(&mut e, None, None)?;
        Ok(e.buf)
    }

    /// [`Engine::save_state`] of the whole network, collective in a split simulation: rank 0
    /// returns the bytes one process would save (so the checkpoint resumes on any number of
    /// ranks); `None` on the other ranks.
    pub fn save_state_whole(&mut self) -> Result<Option<Vec<u8>>> {
        let root = self.part.as_ref().is_none_or(|p| p.comm().rank() == 0);
        let mut e = Enc::default();
        self.save_state_whole_into(root.then_some(&mut e))?;
        Ok(root.then_some(e.buf))
    }

    /// Writes a checkpoint of the simulation at this step into `run_dir`, its state streamed
    /// into the file ([`checkpoint::Writer`]); collective in a split simulation, where rank 0
    /// writes and returns the path (`None` on the other ranks) and, where rank 0 holds no
    /// projection ([`super::distributed::Partition::is_lean`]), each projection is streamed
    /// from the ranks' blocks, so that no rank holds more than its part.
    pub fn write_checkpoint(&mut self, run_dir: &Path, config: &str) -> Result<Option<PathBuf>> {
        fn agreed<T>(comm: &Option<crate::comm::CommRef>, r: Result<T>) -> Result<T> {
            match comm {
                Some(c) => crate::comm::agree(&**c, r),
                None => r,
            }
        }
        let comm = self.part.as_ref().map(|p| p.comm().clone());
        let root = comm.as_ref().is_none_or(|c| c.rank() == 0);
        let writer = root
            .then(|| checkpoint::Writer::create(run_dir, Kind::Simulation, self.step, config))
            .transpose();
        let mut writer = agreed(&comm, writer)?;
        let saved = match writer.as_mut() {
            Some(w) => w
                .encode(|e| self.save_state_whole_into(Some(e)))
                .and_then(|r| r),
            None => self.save_state_whole_into(None),
        };
        agreed(&comm, saved)?;
        writer.map(checkpoint::Writer::commit).transpose()
    }

    /// [`Engine::save_state_whole`] into `out` (rank 0's; `None` on the other ranks).
    pub fn save_state_whole_into(&mut self, out: Option<&mut Enc>) -> Result<()> {
        self.flush()?;
        let Some(mut part) = self.part.take() else {
            let e = out.expect("one process writes");
            return self.encode_state(e, None, None);
        };
        let result = (|| -> Result<()> {
            part.gather(&self.net, self.synaptic_events)?;
            // Where rank 0 holds no projection, they are streamed into `out` from the ranks.
            let lean = part.is_lean();
            let rules = part.gather_rule_parts(&self.net, &mut self.rules)?;
            let streams = part.gather_poisson_inputs(&self.poisson)?;
            let (Some(rules), Some(streams), Some(out)) = (rules, streams, out) else {
                if lean {
                    crate::comm::agree(&**part.comm(), Ok(()))?;
                    for pid in self.net.proj_ids() {
                        part.stream_synapses(&self.net, pid, None)?;
                    }
                }
                return Ok(());
            };
            // Rank 0: an instance of each rule for the whole projection, holding the merged
            // state, saves what one process would.
            let made = (|| -> Result<Vec<_>> {
                let whole = part.whole().expect("rank 0 keeps the whole network");
                let mut instances = Vec::with_capacity(self.rules.len());
                for (b, (parts, nnz)) in self.rules.iter().zip(rules) {
                    let shape = snnsim_plugin_api::abi::ProjShapeV1 {
                        n_pre: whole.pop(b.pre).len() as u64,
                        n_post: whole.pop(b.post).len() as u64,
                        nnz,
                        dt_ms: self.dt_ms,
                    };
                    let mut i = b.plugin.create_rule(&b.params, shape)?;
                    i.load_parts(&parts)?;
                    instances.push(i);
                }
                Ok(instances)
            })();
            let mut instances = if lean {
                crate::comm::agree(&**part.comm(), made)?
            } else {
                made?
            };
            let swap = |rules: &mut [super::RuleBinding], instances: &mut [_]| {
                for (b, i) in rules.iter_mut().zip(instances.iter_mut()) {
                    std::mem::swap(&mut b.instance, i);
                }
            };
            swap(&mut self.rules, &mut instances);
            let mut whole = part.take_whole();
            std::mem::swap(&mut self.net, &mut whole);
            let own = std::mem::replace(&mut self.synaptic_events, part.total_events);
            let local = &whole;
            let mut stream =
                |_: &Network, pid, e: &mut Enc| part.stream_synapses(local, pid, Some(e));
            let state = self.encode_state(out, Some(&streams), lean.then_some(&mut stream));
            std::mem::swap(&mut self.net, &mut whole);
            swap(&mut self.rules, &mut instances);
            self.synaptic_events = own;
            part.put_whole(whole);
            state
        })();
        self.part = Some(part);
        result
    }

    /// The state into `e`, with the Poisson inputs' streams as given (one process's layout)
    /// or as held, and the projections' synapses written by `synapses` or from the network.
    fn encode_state(
        &mut self,
        e: &mut Enc,
        streams: Option<&[Vec<u8>]>,
        synapses: Option<&mut net::SynapseWriter>,
    ) -> Result<()> {
        e.u64(self.step);
        e.u64(self.synaptic_events);
        match synapses {
            Some(s) => net::encode_with(&mut self.net, e, s)?,
            None => net::encode(&mut self.net, e),
        }
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
            Some(s) => s.iter().for_each(|b| e.raw(b)),
            None => self.poisson.iter().for_each(|p| p.encode(e)),
        }
        for b in &mut self.structure {
            b.encode(e)?;
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
        Ok(())
    }

    /// Restores a state written by [`Engine::save_state`] onto an engine built from the same
    /// graph file: whole, or as one rank's part (`Engine::from_file_on`), which keeps of each
    /// projection the synapses into its blocks as it reads them, and of each learning rule's
    /// state their part.
    pub fn load_state(&mut self, bytes: &[u8]) -> Result<()> {
        let bad = |why: String| Error::Input(format!("checkpoint state: {why}"));
        let mut d = Dec::new(bytes);
        let built_for = self.built_for;
        let blocks = move |p: &crate::graph::Population| match built_for {
            Some((rank, ranks)) => super::distributed::block_for(p, rank, ranks),
            None => 0..p.len(),
        };
        let mut cuts = Vec::new();
        (|| -> std::result::Result<(), String> {
            self.step = d.u64()?;
            self.synaptic_events = d.u64()?;
            let cut: Option<&net::Blocks> = built_for.map(|_| &blocks as &net::Blocks);
            cuts = net::restore_cut(&mut self.net, &mut d, cut)?;
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
            match cuts.iter().find(|c| c.proj == b.proj) {
                None => b.instance.load(&state)?,
                // The state is the whole projection's: an instance of the whole loads it and
                // is cut to the block, as a network built whole is cut when it is split.
                Some(cut) => {
                    let (pre, post) = (self.net.pop(b.pre), self.net.pop(b.post));
                    let shape = snnsim_plugin_api::abi::ProjShapeV1 {
                        n_pre: pre.len() as u64,
                        n_post: post.len() as u64,
                        nnz: cut.nnz as u64,
                        dt_ms: self.dt_ms,
                    };
                    let mut whole = b.plugin.create_rule(&b.params, shape)?;
                    whole.load(&state)?;
                    let pre: Vec<u64> = (0..pre.len() as u64).collect();
                    let post: Vec<u64> = blocks(post).map(|j| j as u64).collect();
                    let syn: Vec<u64> = cut
                        .kept
                        .iter()
                        .flat_map(|r| r.clone())
                        .map(|k| k as u64)
                        .collect();
                    whole.resize(&pre, &post, &syn)?;
                    b.instance = whole;
                }
            }
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
