//! What a researcher sees of a run while it runs and afterwards: the Prometheus endpoint
//! ([`metrics`]), progress on the terminal or as JSON lines ([`watch`]), plots of a run
//! directory ([`plot`]) and `.npy` copies of the recorded data ([`npy`]).
//!
//! A run reports to an [`Observer`] after each chunk of steps (a network run) or each batch of
//! episodes (a training run); the observer only copies numbers, so a run with no one watching
//! costs the same as before. An observer that draws spikes ([`view`]) may also ask for a
//! [`StepHook`] that reads every step of a network run on the CPU.

pub mod activity;
pub mod metrics;
pub mod npy;
pub mod plot;
pub mod view;
pub mod watch;

use crate::agent::train::Trainer;
use crate::engine::StepHook;
use crate::error::Result;

/// What a run is, told to its observer once before the first step.
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// The run's label: the name of its run directory.
    pub run: String,
    /// Whether the run trains an agent (else it simulates for a fixed time).
    pub training: bool,
    /// Steps (a network run) or episodes (a training run) to do.
    pub total: u64,
    /// Time step (ms).
    pub dt_ms: f64,
    /// Episodes between two progress lines of a training run (0: none).
    pub progress_every: u64,
    /// Hidden neurons (a training run) or all neurons (a network run) at the start.
    pub neurons: usize,
}

/// One population of a network run: name, size, spikes so far.
#[derive(Debug, Clone)]
pub struct PopCount {
    /// Population name.
    pub name: String,
    /// Neurons.
    pub size: usize,
    /// Spikes emitted since the run started.
    pub spikes: u64,
}

/// Where a network run stands.
#[derive(Debug, Clone)]
pub struct NetProgress {
    /// Steps done.
    pub step: u64,
    /// Wall time of the stepping loop so far (s).
    pub wall_s: f64,
    /// Synaptic events delivered so far.
    pub synaptic_events: u64,
    /// Per population, in name order.
    pub populations: Vec<PopCount>,
    /// Batches of synapse edits applied so far (rows of `edits.csv`).
    pub edit_batches: u64,
    /// Synapses removed by them.
    pub synapses_removed: u64,
    /// Synapses added by them.
    pub synapses_added: u64,
}

/// Where a training run stands: the trainer after a batch.
pub struct TrainProgress<'a> {
    /// The trainer (its `metrics`, `edits`, hidden size).
    pub trainer: &'a Trainer,
    /// Wall time of the training loop so far (s).
    pub wall_s: f64,
}

/// Receives a run's progress. Every method defaults to doing nothing.
pub trait Observer: Send {
    /// The run is about to start; an error stops it before the first step (exit 2).
    fn start(&mut self, _info: &RunInfo) -> Result<()> {
        Ok(())
    }
    /// Asked once after [`Observer::start`] by a network run on the CPU: a hook to call at
    /// every step (read-only at its observe stage). `None`, the default, adds nothing.
    fn step_hook(&mut self) -> Option<Box<dyn StepHook>> {
        None
    }
    /// Asked once after [`Observer::start`] by a training run: whether this observer reads
    /// every episode's hidden spikes (`Trainer::batch_spikes`), which the trainer then
    /// records. `false`, the default, records only each batch's last episode.
    fn every_episode(&self) -> bool {
        false
    }
    /// A network run advanced by a chunk of steps.
    fn network(&mut self, _p: &NetProgress) {}
    /// A training run finished a batch of episodes.
    fn training(&mut self, _p: &TrainProgress<'_>) {}
    /// What a training run's checkpoint keeps of this observer (what it recorded so far), so
    /// that a resumed run's outputs equal an uninterrupted run's. `None`, the default: nothing.
    fn save(&self) -> Option<Vec<u8>> {
        None
    }
    /// Restores what [`Observer::save`] gave, at a resume (after [`Observer::start`]).
    fn load(&mut self, _state: &[u8]) -> Result<()> {
        Ok(())
    }
    /// The run ended (successfully or not); progress displays clear themselves.
    fn finish(&mut self) {}
}

/// An observer that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct Unobserved;

impl Observer for Unobserved {}

/// An observer that may be absent (an option not given): forwards when present.
impl<T: Observer> Observer for Option<T> {
    fn start(&mut self, info: &RunInfo) -> Result<()> {
        self.as_mut().map_or(Ok(()), |o| o.start(info))
    }
    fn step_hook(&mut self) -> Option<Box<dyn StepHook>> {
        self.as_mut().and_then(|o| o.step_hook())
    }
    fn every_episode(&self) -> bool {
        self.as_ref().is_some_and(|o| o.every_episode())
    }
    fn network(&mut self, p: &NetProgress) {
        if let Some(o) = self {
            o.network(p)
        }
    }
    fn training(&mut self, p: &TrainProgress<'_>) {
        if let Some(o) = self {
            o.training(p)
        }
    }
    fn save(&self) -> Option<Vec<u8>> {
        self.as_ref().and_then(|o| o.save())
    }
    fn load(&mut self, state: &[u8]) -> Result<()> {
        self.as_mut().map_or(Ok(()), |o| o.load(state))
    }
    fn finish(&mut self) {
        if let Some(o) = self {
            o.finish()
        }
    }
}

/// Two observers as one: `snnsim run` with `--view` tells both the progress display and the
/// view. A start that fails in the second finishes the first.
pub struct Tee<'a>(pub &'a mut dyn Observer, pub &'a mut dyn Observer);

impl Observer for Tee<'_> {
    fn start(&mut self, info: &RunInfo) -> Result<()> {
        self.0.start(info)?;
        self.1.start(info).inspect_err(|_| self.0.finish())
    }
    fn step_hook(&mut self) -> Option<Box<dyn StepHook>> {
        match (self.0.step_hook(), self.1.step_hook()) {
            (Some(a), Some(b)) => Some(Box::new(TwoHooks(a, b))),
            (a, b) => a.or(b),
        }
    }
    fn every_episode(&self) -> bool {
        self.0.every_episode() || self.1.every_episode()
    }
    fn network(&mut self, p: &NetProgress) {
        self.0.network(p);
        self.1.network(p);
    }
    fn training(&mut self, p: &TrainProgress<'_>) {
        self.0.training(p);
        self.1.training(p);
    }
    /// Both states, each present or not.
    fn save(&self) -> Option<Vec<u8>> {
        let (a, b) = (self.0.save(), self.1.save());
        if a.is_none() && b.is_none() {
            return None;
        }
        let mut e = crate::checkpoint::codec::Enc::default();
        for s in [a, b] {
            e.u8(u8::from(s.is_some()));
            e.bytes(&s.unwrap_or_default());
        }
        Some(e.buf)
    }
    fn load(&mut self, state: &[u8]) -> Result<()> {
        let mut d = crate::checkpoint::codec::Dec::new(state);
        let bad = |why: String| crate::Error::Input(format!("checkpoint state: observers: {why}"));
        for o in [&mut *self.0, &mut *self.1] {
            let present = d.u8().map_err(bad)? == 1;
            let s = d.bytes().map_err(bad)?;
            if present {
                o.load(&s)?;
            }
        }
        Ok(())
    }
    fn finish(&mut self) {
        self.0.finish();
        self.1.finish();
    }
}

/// Two hooks, called in order at every stage.
struct TwoHooks(Box<dyn StepHook>, Box<dyn StepHook>);

impl StepHook for TwoHooks {
    fn enter(&mut self, stage: crate::engine::Stage, info: crate::engine::StepInfo) {
        self.0.enter(stage, info);
        self.1.enter(stage, info);
    }
    fn plasticity(
        &mut self,
        net: &mut crate::graph::Network,
        info: crate::engine::StepInfo,
    ) -> Result<()> {
        self.0.plasticity(net, info)?;
        self.1.plasticity(net, info)
    }
    fn structure(
        &mut self,
        net: &mut crate::graph::Network,
        info: crate::engine::StepInfo,
    ) -> Result<()> {
        self.0.structure(net, info)?;
        self.1.structure(net, info)
    }
    fn checkpoint(
        &mut self,
        net: &crate::graph::Network,
        info: crate::engine::StepInfo,
    ) -> Result<()> {
        self.0.checkpoint(net, info)?;
        self.1.checkpoint(net, info)
    }
    fn observe(
        &mut self,
        net: &crate::graph::Network,
        info: crate::engine::StepInfo,
    ) -> Result<()> {
        self.0.observe(net, info)?;
        self.1.observe(net, info)
    }
}

/// Steps per chunk of a network run of `steps` steps: about 1 % of the run, at most 1 000,
/// so that the observer sees the run move about a hundred times.
pub fn chunk_steps(steps: u64) -> u64 {
    steps.div_ceil(100).clamp(1, 1000)
}

/// Writes `spikes.csv` and `spikes_<population>.npy` for one population's spikes given as
/// (step, neuron) in step order: a training run's record of its last episode.
pub fn write_population_spikes(
    dir: &std::path::Path,
    dt_ms: f64,
    population: &str,
    spikes: &[(u64, u32)],
) -> Result<()> {
    use std::io::Write;
    let path = dir.join("spikes.csv");
    let mut f = crate::io::AtomicFile::create(&path)?;
    let prec = crate::monitor::time_decimals(dt_ms);
    let res = (|| -> std::io::Result<()> {
        writeln!(f, "t_ms,population,neuron")?;
        for &(step, i) in spikes {
            writeln!(f, "{:.prec$},{population},{i}", step as f64 * dt_ms)?;
        }
        Ok(())
    })();
    res.map_err(|e| crate::Error::io(&path, e))?;
    f.commit()?;
    let data: Vec<f64> = spikes
        .iter()
        .flat_map(|&(step, i)| [step as f64 * dt_ms, i as f64])
        .collect();
    npy::write_f64(
        &dir.join(format!("spikes_{}.npy", npy::file_part(population))),
        2,
        &data,
    )
}
