//! The state of a training run for a checkpoint, taken between batches: the network (weights,
//! structure, stable ids), episodes and updates done, the metrics rows and the edit log so far,
//! the state of the rule instances (baseline, optimiser moments), environments and structural
//! policy through the plugin ABI's `save`/`load`, what the trainer keeps per hidden neuron
//! for the policy (birth episode, last gradient norms), and what the run's observers recorded
//! (`--record-activity`), where they recorded something.
//!
//! Layout compatibility: checkpoints written before structural policies were plugins hold the
//! `rate_threshold` rule's two activity windows where the layout still has two (now empty)
//! window slots, and end before the policy section; such a checkpoint resumes with those
//! windows handed to `rate_threshold` in its own state format. Every random stream of training is keyed by (seed, episode) or (seed, edit
//! number), so these counters are the stream positions.

use super::{EditLog, EpisodeMetrics, Trainer};
use crate::checkpoint::codec::{Dec, DecResult, Enc};
use crate::checkpoint::net;
use crate::error::{Error, Result};

/// Plugin states, one byte string per instance.
type Blobs = Vec<Vec<u8>>;

/// An activity window of the former layout: spikes, steps, episodes.
struct Window {
    spikes: Vec<f64>,
    steps: Vec<f64>,
    episodes: u64,
}

fn read_window(d: &mut Dec) -> DecResult<Window> {
    Ok(Window {
        spikes: d.f64s()?,
        steps: d.f64s()?,
        episodes: d.u64()?,
    })
}

/// `rate_threshold`'s state (plugins/rate_threshold: per window its episodes, size, spikes and
/// steps, little-endian) from the two windows of a former checkpoint.
fn rate_threshold_state(windows: &[Window]) -> Vec<u8> {
    let mut out = Vec::new();
    for w in windows {
        out.extend_from_slice(&w.episodes.to_le_bytes());
        out.extend_from_slice(&(w.spikes.len() as u64).to_le_bytes());
        for x in w.spikes.iter().chain(&w.steps) {
            out.extend_from_slice(&x.to_le_bytes());
        }
    }
    out
}

impl Trainer {
    /// Encodes everything a resumed run needs to train on exactly as this one would.
    pub fn save_state(&mut self) -> Result<Vec<u8>> {
        let mut e = Enc::default();
        e.u64(self.episodes_done);
        e.u64(self.updates);
        e.u64(self.edit_count);
        net::encode(&mut self.net, &mut e);
        for _ in 0..2 {
            // The former layout's activity windows, now the policy's own state.
            e.f64s(&[]);
            e.f64s(&[]);
            e.u64(0);
        }
        e.u64(self.metrics.len() as u64);
        for m in &self.metrics {
            e.u64(m.episode);
            e.f64(m.ret);
            e.u32(m.food);
            e.u32(m.length);
            e.u64(m.hidden_size as u64);
            e.f64(m.avg_firing_rate);
            e.f64(m.sparsity);
            e.f64(m.energy);
            e.u64(m.synaptic_events);
        }
        e.u64(self.edits.len() as u64);
        for x in &self.edits {
            e.u64(x.episode);
            e.str(x.kind);
            e.u64(x.count as u64);
            e.u64(x.size_after as u64);
            e.u64s(&x.ids);
        }
        e.u64(self.rules.len() as u64);
        for r in &mut self.rules {
            e.bytes(&r.save()?);
        }
        e.u64(self.envs.len() as u64);
        for env in &mut self.envs {
            e.bytes(&env.save()?);
        }
        // The hidden spikes of the last episode (the run directory's spikes.csv).
        let (steps, neurons): (Vec<u64>, Vec<u32>) =
            self.last_episode_spikes.iter().copied().unzip();
        e.u64s(&steps);
        e.u32s(&neurons);
        // The structural policy's section.
        match &mut self.structure {
            Some(p) => {
                e.u64(1);
                e.bytes(&p.save()?);
            }
            None => e.u64(0),
        }
        e.u64s(&self.born);
        e.f64s(&self.grad_norms[0]);
        e.f64s(&self.grad_norms[1]);
        // What the observers recorded, only where they recorded something (so that other
        // checkpoints keep their layout).
        if let Some(b) = &self.observed {
            e.u8(1);
            e.bytes(b);
        }
        Ok(e.buf)
    }

    /// Restores a state written by [`Trainer::save_state`] onto a trainer built from the same
    /// graph file.
    pub fn load_state(&mut self, bytes: &[u8]) -> Result<()> {
        let bad = |why: String| Error::Input(format!("checkpoint state: {why}"));
        let mut d = Dec::new(bytes);
        let (rules, envs, policy_state) = (|| -> DecResult<(Blobs, Blobs, Option<Vec<u8>>)> {
            self.episodes_done = d.u64()?;
            self.updates = d.u64()?;
            self.edit_count = d.u64()?;
            net::restore(&mut self.net, &mut d)?;
            let h = self.net.pop(self.wiring.hidden).len();
            let windows = [read_window(&mut d)?, read_window(&mut d)?];
            for w in &windows {
                let sizes = [w.spikes.len(), w.steps.len()];
                if sizes != [0, 0] && sizes != [h, h] {
                    return Err("activity statistics of the wrong size".into());
                }
            }
            let n = d.u64()? as usize;
            self.metrics.clear();
            for _ in 0..n {
                self.metrics.push(EpisodeMetrics {
                    episode: d.u64()?,
                    ret: d.f64()?,
                    food: d.u32()?,
                    length: d.u32()?,
                    hidden_size: d.u64()? as usize,
                    avg_firing_rate: d.f64()?,
                    sparsity: d.f64()?,
                    energy: d.f64()?,
                    synaptic_events: d.u64()?,
                });
            }
            let n = d.u64()? as usize;
            self.edits.clear();
            for _ in 0..n {
                let episode = d.u64()?;
                let kind = match d.str()?.as_str() {
                    "grow" => "grow",
                    "prune" => "prune",
                    "rewire" => "rewire",
                    k => return Err(format!("unknown edit kind `{k}`")),
                };
                self.edits.push(EditLog {
                    episode,
                    kind,
                    count: d.u64()? as usize,
                    size_after: d.u64()? as usize,
                    ids: d.u64s()?,
                });
            }
            let n = d.u64()? as usize;
            let rules = (0..n).map(|_| d.bytes()).collect::<DecResult<Vec<_>>>()?;
            let n = d.u64()? as usize;
            let envs = (0..n).map(|_| d.bytes()).collect::<DecResult<Vec<_>>>()?;
            let (steps, neurons) = (d.u64s()?, d.u32s()?);
            if steps.len() != neurons.len() {
                return Err("last episode's spikes of unequal lengths".into());
            }
            self.last_episode_spikes = steps.into_iter().zip(neurons).collect();
            let policy_state = if d.finished() {
                // A checkpoint of the former layout (see the module documentation).
                self.born = vec![0; h];
                self.grad_norms = [vec![0.0; h], vec![0.0; h]];
                let rate = self
                    .structure
                    .as_ref()
                    .is_some_and(|p| p.plugin == "rate_threshold");
                (rate && windows[0].spikes.len() == h).then(|| rate_threshold_state(&windows))
            } else {
                let state = match d.u64()? {
                    0 => None,
                    1 => Some(d.bytes()?),
                    k => return Err(format!("structural-policy section marked {k}")),
                };
                self.born = d.u64s()?;
                self.grad_norms = [d.f64s()?, d.f64s()?];
                if self.born.len() != h || self.grad_norms.iter().any(|g| g.len() != h) {
                    return Err("per-neuron records of the wrong size".into());
                }
                self.observed = match d.finished() {
                    true => None,
                    false => match d.u8()? {
                        1 => Some(d.bytes()?),
                        k => return Err(format!("observers' section marked {k}")),
                    },
                };
                if !d.finished() {
                    return Err("trailing bytes".into());
                }
                state
            };
            Ok((rules, envs, policy_state))
        })()
        .map_err(bad)?;
        match (&mut self.structure, policy_state) {
            (Some(p), Some(state)) => p.load(&state)?,
            (Some(_), None) | (None, None) => {}
            (None, Some(_)) => {
                return Err(Error::Input(
                    "checkpoint state: a structural policy's state, but the graph file has no `structure`".into(),
                ))
            }
        }
        self.layers.resized(&self.net)?;
        crate::agent::setup::load_instances(&mut self.rules, &mut self.envs, &rules, &envs)
    }
}

/// Restores onto `net` (built from the run's graph file) the network held in a training
/// state, and returns the edit log, without plugins: what `snnsim inspect` and `snnsim diff`
/// need.
pub fn network_and_edits(state: &[u8], net: &mut crate::graph::Network) -> DecResult<Vec<EditLog>> {
    let mut d = Dec::new(state);
    for _ in 0..3 {
        d.u64()?;
    }
    net::restore(net, &mut d)?;
    for _ in 0..2 {
        read_window(&mut d)?;
    }
    let n = d.u64()? as usize;
    for _ in 0..n {
        // episode, return, food, length, hidden size, rate, sparsity, energy, events
        d.u64()?;
        d.f64()?;
        d.u32()?;
        d.u32()?;
        for _ in 0..5 {
            d.u64()?;
        }
    }
    let n = d.u64()? as usize;
    let mut edits = Vec::with_capacity(n.min(state.len()));
    for _ in 0..n {
        let episode = d.u64()?;
        let kind = match d.str()?.as_str() {
            "grow" => "grow",
            "rewire" => "rewire",
            _ => "prune",
        };
        edits.push(EditLog {
            episode,
            kind,
            count: d.u64()? as usize,
            size_after: d.u64()? as usize,
            ids: d.u64s()?,
        });
    }
    Ok(edits)
}
