//! The live view: `snnsim run FILE --view` serves a page that draws the network in 3D while it
//! runs (spikes lighting neurons, projections as bundles, neurons appearing and vanishing as
//! growth and pruning edit the hidden population), with a scrolling raster, population rates
//! and, for training runs, the learning curve and hidden size. `snnsim view RUN_DIR`
//! ([`replay`]) plays a finished run's files through the same page.
//!
//! How it is built, and why:
//! - A network run's spikes are read by a [`StepHook`] ([`Tap`]) at the observe stage of every
//!   step (the CPU engine only; a GPU run sends its counters per chunk). The hook keeps a
//!   bounded uniform sample of the spikes ([`frame::Sampler`]) and, at most [`frame::FPS`]
//!   times a second of wall time, publishes a frame: the sample plus the exact cumulative
//!   counters read from the network. The per-step cost is one pass over the step's spike
//!   lists and a clock read.
//! - Training runs report per batch of episodes through [`Observer::training`]; the view sends
//!   the batch's learning-curve points, edits (with the stable ids of the neurons added or
//!   removed) and a sample of the last episode's hidden spikes.
//! - Frames go through a [`hub::Hub`] with one bounded queue per viewer, served by
//!   [`server::Server`] as Server-Sent Events (the server's doc says why not a WebSocket). A
//!   slow viewer loses frames; the run never waits. Counters are cumulative, so any frame a
//!   viewer gets carries the exact totals, and the end of the run (final totals, equal to
//!   `summary.json`) reaches every viewer.
//! - The page and three.js (vendored from its npm package by `assets/view/update-three.sh`)
//!   are embedded in the binary: no network at run time. The server answers only GET and
//!   binds 127.0.0.1 unless `--view-addr` says otherwise.

pub mod frame;
pub mod hub;
pub mod replay;
pub mod server;

use super::{NetProgress, Observer, RunInfo, TrainProgress};
use crate::engine::{StepHook, StepInfo};
use crate::error::Result;
use crate::graph::{Network, PopId};
use frame::{NetTotals, Sampler, ScenePop, SceneProj, TrainTotals, SAMPLE};
use hub::{event, Hub};
use serde_json::json;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The default port of the view.
pub const DEFAULT_PORT: u16 = 8080;

/// Where the view is served.
#[derive(Debug, Clone, Copy)]
pub struct ViewOptions {
    /// `--view-addr` (default 127.0.0.1).
    pub addr: IpAddr,
    /// `--view-port` (default 8080; 0: a free port).
    pub port: u16,
}

impl Default for ViewOptions {
    fn default() -> Self {
        ViewOptions {
            addr: IpAddr::from([127, 0, 0, 1]),
            port: DEFAULT_PORT,
        }
    }
}

/// Edit counters of a network run, from the observer's chunks to the tap's frames.
#[derive(Debug, Default)]
struct Shared {
    edits: Mutex<(u64, u64, u64)>,
}

/// The observer behind `--view`: serves the page and streams the run to it.
pub struct View {
    opts: ViewOptions,
    hub: Arc<Hub>,
    server: Option<server::Server>,
    info: Option<RunInfo>,
    shared: Arc<Shared>,
    tapped: bool,
    net: Option<NetTotals>,
    net_scene: bool,
    train: TrainState,
    last_frame: Option<Instant>,
}

#[derive(Default)]
struct TrainState {
    totals: TrainTotals,
    seen_metrics: usize,
    seen_edits: usize,
    curve: Vec<[f64; 4]>,
    edits: Vec<serde_json::Value>,
    ids: Vec<u64>,
}

impl View {
    /// A view that binds when the run starts.
    pub fn new(opts: ViewOptions) -> Self {
        View {
            opts,
            hub: Hub::new(),
            server: None,
            info: None,
            shared: Arc::default(),
            tapped: false,
            net: None,
            net_scene: false,
            train: TrainState::default(),
            last_frame: None,
        }
    }

    /// The address served, once the run started.
    pub fn addr(&self) -> Option<SocketAddr> {
        self.server.as_ref().map(|s| s.addr())
    }

    fn due(&mut self, last: bool) -> bool {
        let now = Instant::now();
        let due = last
            || self
                .last_frame
                .is_none_or(|t| now.duration_since(t) >= frame::frame_interval());
        if due {
            self.last_frame = Some(now);
        }
        due
    }
}

impl Observer for View {
    fn start(&mut self, info: &RunInfo) -> Result<()> {
        let server = server::Server::start(self.hub.clone(), self.opts.addr, self.opts.port)?;
        eprintln!("view at http://{}/", server.addr());
        self.server = Some(server);
        self.info = Some(info.clone());
        Ok(())
    }

    fn step_hook(&mut self) -> Option<Box<dyn StepHook>> {
        let info = self.info.as_ref()?;
        self.tapped = true;
        Some(Box::new(Tap::new(
            self.hub.clone(),
            self.shared.clone(),
            info.run.clone(),
            info.dt_ms,
        )))
    }

    fn network(&mut self, p: &NetProgress) {
        let Some(info) = &self.info else { return };
        *self.shared.edits.lock().unwrap_or_else(|e| e.into_inner()) =
            (p.edit_batches, p.synapses_removed, p.synapses_added);
        let totals = NetTotals {
            step: p.step,
            t_ms: p.step as f64 * info.dt_ms,
            spikes: p
                .populations
                .iter()
                .map(|c| (c.name.clone(), c.spikes))
                .collect(),
            sizes: p
                .populations
                .iter()
                .map(|c| (c.name.clone(), c.size))
                .collect(),
            edit_batches: p.edit_batches,
            synapses_removed: p.synapses_removed,
            synapses_added: p.synapses_added,
        };
        if !self.tapped {
            // No per-step hook (a GPU run): counters only, from the chunks.
            if !self.net_scene {
                let pops: Vec<ScenePop> = p
                    .populations
                    .iter()
                    .map(|c| ScenePop {
                        name: c.name.clone(),
                        size: c.size,
                        ids: None,
                    })
                    .collect();
                let s = frame::scene(&info.run, false, info.dt_ms, &pops, &[], false);
                self.hub.scene(event("scene", &s));
                self.net_scene = true;
            }
            let last = p.step >= info.total;
            if self.due(last) {
                let f = json!({ "totals": &totals, "from": p.step, "sample": {}, "seen": {} });
                self.hub.frame(event("frame", &f));
            }
        }
        self.net = Some(totals);
    }

    fn training(&mut self, p: &TrainProgress<'_>) {
        let Some(info) = self.info.clone() else {
            return;
        };
        let t = p.trainer;
        let st = &mut self.train;
        let new = &t.metrics[st.seen_metrics.min(t.metrics.len())..];
        let points: Vec<[f64; 4]> = new
            .iter()
            .map(|m| [m.episode as f64, m.food as f64, m.ret, m.hidden_size as f64])
            .collect();
        self.hub.curve(&points);
        st.curve.extend_from_slice(&points);
        for m in new {
            st.totals.hidden_spikes += if m.hidden_size > 0 {
                (m.energy / m.hidden_size as f64).round() as u64
            } else {
                0
            };
            st.curve
                .push([m.episode as f64, m.food as f64, m.ret, m.hidden_size as f64]);
        }
        st.seen_metrics = t.metrics.len();
        for e in &t.edits[st.seen_edits.min(t.edits.len())..] {
            st.totals.edits += 1;
            match e.kind {
                "grow" => {
                    st.totals.growth_events += 1;
                    st.totals.neurons_grown += e.count as u64;
                }
                "prune" => {
                    st.totals.pruning_events += 1;
                    st.totals.neurons_pruned += e.count as u64;
                }
                _ => {}
            }
            st.edits.push(json!({
                "episode": e.episode, "kind": e.kind, "count": e.count,
                "size_after": e.size_after, "ids": e.ids,
            }));
        }
        st.seen_edits = t.edits.len();
        st.totals.episodes = t.episodes_done;
        st.totals.hidden_size = t.hidden_size();
        let (input, hidden, readout) = t.populations();
        let ids = &t.net.pop(hidden).neuron_ids;
        let first = self.last_frame.is_none();
        let changed = *ids != self.train.ids;
        if first || changed {
            let pop = |id: PopId, with_ids: bool| {
                let p = t.net.pop(id);
                ScenePop {
                    name: p.name.clone(),
                    size: p.len(),
                    ids: with_ids.then(|| p.neuron_ids.clone()),
                }
            };
            let pops = [pop(input, false), pop(hidden, true), pop(readout, false)];
            let projs: Vec<SceneProj> = t
                .net
                .projections()
                .map(|(a, b, pr)| SceneProj {
                    name: pr.name.clone(),
                    pre: a.to_string(),
                    post: b.to_string(),
                    synapses: Some(pr.nnz() as u64),
                })
                .collect();
            let s = frame::scene(&info.run, true, info.dt_ms, &pops, &projs, false);
            // Viewers follow later changes through the frames' ids; a new viewer gets the
            // scene as it is now.
            if first {
                self.hub.scene(event("scene", &s));
            } else {
                self.hub.replace_scene(event("scene", &s));
            }
        }
        let last = t.episodes_done >= info.total;
        if !self.due(last) {
            return;
        }
        let st = &mut self.train;
        let hidden_name = t.net.pop(hidden).name.clone();
        let mut sampler = Sampler::new(1, SAMPLE);
        for &(step, i) in &t.last_episode_spikes {
            sampler.offer(0, step as u32, i);
        }
        st.totals.last_episode_spikes = t.last_episode_spikes.len() as u64;
        let (sample, seen) = sampler.take(std::slice::from_ref(&hidden_name));
        let changed = *ids != st.ids;
        if changed || first {
            st.ids = ids.clone();
        }
        let f = json!({
            "totals": &st.totals,
            "sample": sample,
            "seen": seen,
            "curve": std::mem::take(&mut st.curve),
            "edits": std::mem::take(&mut st.edits),
            "ids": if changed || first { json!({ &hidden_name: ids }) } else { json!(null) },
            "synapses": t.net.projections().map(|(_, _, pr)| (pr.name.clone(), pr.nnz()))
                .collect::<std::collections::BTreeMap<_, _>>(),
        });
        self.hub.frame(event("frame", &f));
    }

    fn finish(&mut self) {
        let Some(info) = &self.info else { return };
        let end = if info.training {
            json!({ "training": true, "totals": &self.train.totals })
        } else {
            json!({ "training": false, "totals": self.net.clone().unwrap_or_default() })
        };
        self.hub.end(event("end", &end));
        // A stalled viewer delays the exit by this much at most.
        self.hub.drain(std::time::Duration::from_secs(2));
    }
}

/// The per-step reader of a network run's spikes (see the module doc).
struct Tap {
    hub: Arc<Hub>,
    shared: Arc<Shared>,
    run: String,
    dt_ms: f64,
    key: Option<(u64, usize, usize)>,
    pops: Vec<PopId>,
    names: Vec<String>,
    sampler: Sampler,
    from: u64,
    last: Instant,
    steps: u64,
}

impl Tap {
    fn new(hub: Arc<Hub>, shared: Arc<Shared>, run: String, dt_ms: f64) -> Self {
        Tap {
            hub,
            shared,
            run,
            dt_ms,
            key: None,
            pops: Vec::new(),
            names: Vec::new(),
            sampler: Sampler::new(0, SAMPLE),
            from: 0,
            last: Instant::now(),
            steps: 0,
        }
    }

    /// Sends the scene when the structure changed (first step, synapse edits).
    fn scene(&mut self, net: &Network) {
        if self.key.is_some_and(|k| k.0 == net.generation) {
            return;
        }
        let key = (
            net.generation,
            net.population_count(),
            net.projection_count(),
        );
        if self.key == Some(key) {
            return;
        }
        self.key = Some(key);
        self.pops = net.pop_ids_in_order();
        self.names = self.pops.iter().map(|&p| net.pop(p).name.clone()).collect();
        let pops: Vec<ScenePop> = self
            .pops
            .iter()
            .map(|&id| ScenePop {
                name: net.pop(id).name.clone(),
                size: net.pop(id).len(),
                ids: None,
            })
            .collect();
        let projs: Vec<SceneProj> = net
            .projections()
            .map(|(a, b, p)| SceneProj {
                name: p.name.clone(),
                pre: a.to_string(),
                post: b.to_string(),
                synapses: Some(p.nnz() as u64),
            })
            .collect();
        let s = frame::scene(&self.run, false, self.dt_ms, &pops, &projs, false);
        self.hub.scene(event("scene", &s));
    }

    fn publish(&mut self, net: &Network, step: u64) {
        let (batches, removed, added) =
            *self.shared.edits.lock().unwrap_or_else(|e| e.into_inner());
        let totals = NetTotals {
            step: step + 1,
            t_ms: (step + 1) as f64 * self.dt_ms,
            spikes: self
                .pops
                .iter()
                .map(|&p| (net.pop(p).name.clone(), net.pop(p).spike_count))
                .collect(),
            sizes: self
                .pops
                .iter()
                .map(|&p| (net.pop(p).name.clone(), net.pop(p).len()))
                .collect(),
            edit_batches: batches,
            synapses_removed: removed,
            synapses_added: added,
        };
        let (sample, seen) = self.sampler.take(&self.names);
        let f = json!({ "totals": totals, "from": self.from, "sample": sample, "seen": seen });
        self.hub.frame(event("frame", &f));
        self.from = step + 1;
    }
}

impl StepHook for Tap {
    fn observe(&mut self, net: &Network, info: StepInfo) -> Result<()> {
        if self.key.is_none() {
            self.from = info.step;
        }
        self.scene(net);
        let offset = (info.step - self.from) as u32;
        for (k, &id) in self.pops.iter().enumerate() {
            for &i in &net.pop(id).spikes {
                self.sampler.offer(k, offset, i);
            }
        }
        // The clock is read every 16 steps: a step can take well under a microsecond.
        self.steps += 1;
        if self.steps.is_multiple_of(16) && self.last.elapsed() >= frame::frame_interval() {
            self.last = Instant::now();
            self.publish(net, info.step);
        }
        Ok(())
    }
}
