//! The state of a control-task training run for a checkpoint, taken between batches: episodes
//! and updates done, the network (weights), the metrics rows so far, and the state of the rule
//! instances (baseline, optimiser moments) and environments through the plugin ABI's
//! `save`/`load`. Every random stream of control training is keyed by (seed, episode), so the
//! episode count is the stream position. The network comes right after the two counters, so
//! [`network_of`] reads it without the plugins.

use super::{ControlMetrics, ControlTrainer};
use crate::checkpoint::codec::{Dec, DecResult, Enc};
use crate::checkpoint::net;
use crate::error::{Error, Result};
use crate::graph::Network;

/// Plugin states, one byte string per instance.
type Blobs = Vec<Vec<u8>>;

impl ControlTrainer {
    /// Encodes everything a resumed run needs to train on exactly as this one would.
    pub fn save_state(&mut self) -> Result<Vec<u8>> {
        let mut e = Enc::default();
        e.u64(self.episodes_done);
        e.u64(self.updates);
        net::encode(&mut self.net, &mut e);
        e.u64(self.metrics.len() as u64);
        for m in &self.metrics {
            e.u64(m.episode);
            e.f64(m.ret);
            e.u32(m.length);
            e.u8(u8::from(m.terminated));
            e.f64(m.avg_firing_rate);
            e.u64(m.synaptic_events);
        }
        e.u64(self.rules.len() as u64);
        for r in &mut self.rules {
            e.bytes(&r.save()?);
        }
        e.u64(self.envs.len() as u64);
        for env in &mut self.envs {
            e.bytes(&env.save()?);
        }
        Ok(e.buf)
    }

    /// Restores a state written by [`ControlTrainer::save_state`] onto a trainer built from
    /// the same graph file.
    pub fn load_state(&mut self, bytes: &[u8]) -> Result<()> {
        let bad = |why: String| Error::Input(format!("checkpoint state: {why}"));
        let mut d = Dec::new(bytes);
        let hidden = self.net.endpoints(self.w_in).1;
        let (rules, envs) = (|| -> DecResult<(Blobs, Blobs)> {
            self.episodes_done = d.u64()?;
            self.updates = d.u64()?;
            net::restore(&mut self.net, &mut d)?;
            let h = self.net.pop(hidden).len();
            if h != self.layers.hidden {
                return Err(format!(
                    "a hidden population of {h} neurons, but the graph file's has {}",
                    self.layers.hidden
                ));
            }
            let n = d.u64()? as usize;
            self.metrics.clear();
            for _ in 0..n {
                self.metrics.push(ControlMetrics {
                    episode: d.u64()?,
                    ret: d.f64()?,
                    length: d.u32()?,
                    terminated: d.u8()? != 0,
                    avg_firing_rate: d.f64()?,
                    synaptic_events: d.u64()?,
                });
            }
            let n = d.u64()? as usize;
            let rules = (0..n).map(|_| d.bytes()).collect::<DecResult<Vec<_>>>()?;
            let n = d.u64()? as usize;
            let envs = (0..n).map(|_| d.bytes()).collect::<DecResult<Vec<_>>>()?;
            if !d.finished() {
                return Err("trailing bytes".into());
            }
            Ok((rules, envs))
        })()
        .map_err(bad)?;
        crate::agent::setup::load_instances(&mut self.rules, &mut self.envs, &rules, &envs)
    }
}

/// Restores onto `net` (built from the run's graph file) the network held in a control
/// training state, without plugins: what `snnsim inspect`, `snnsim diff` and a loaded policy
/// need.
pub fn network_of(state: &[u8], net: &mut Network) -> DecResult<()> {
    let mut d = Dec::new(state);
    d.u64()?;
    d.u64()?;
    net::restore(net, &mut d)
}
