//! The GPU backend: the network of an [`Engine`] uploaded once, advanced on the device step
//! by step, and written back into the engine at the end, so that everything after a run
//! (spikes.csv, state recorders, summary.json, `state_hash`) reads it as if the CPU had run.
//!
//! One step on the device is one stream of launches, with no host round trip:
//!
//! 1. one neuron-update launch per model over all its populations (exact LIF, COBA LIF,
//!    Poisson sources, spike-list sources): delivery from the input rings, integration,
//!    threshold, reset, refractoriness, spike lists, spike log;
//! 2. one propagation launch per projection, in the CPU's order (per target population,
//!    projections in name order): event-driven CSR for sparse projections, a dense kernel for
//!    projections that connect at least a quarter of all pairs;
//! 3. the end of the step: counters kept and cleared, the device's step number advanced.
//!
//! The launches take the step number from the device, so they are recorded once (one step,
//! and 32 steps) and replayed as graphs.
//!
//! The host reads the spike log back only every few hundred steps (whenever it could next
//! fill up), and the whole state once at the end. State recorders cost a download of the
//! recorded population per step. Stimuli switching on or off upload the new current.
//!
//! What runs here: `Lif` (exact integration), `CobaLif`, `Poisson`, `SpikeTimes`,
//! `Observation`; DC stimuli; spike, state and weight recorders. Learning rules, tasks and
//! hooks run on the CPU only; [`unsupported`] says so before a run starts.

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::file::{Checked, Connectivity, GraphFile, LifIntegration, ModelSpec, TaskSpec};
use snnsim_kernels::{Context, DeviceInfo};
use std::sync::Arc;

/// The device simulation (the kernels take f64 state, so not in an `f32` build).
#[cfg(not(feature = "f32"))]
mod sim;

/// An opened GPU: a device context of the kernels crate.
#[derive(Clone)]
pub struct GpuDevice {
    ctx: Arc<Context>,
}

impl std::fmt::Debug for GpuDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GpuDevice({})", self.ctx.info())
    }
}

impl GpuDevice {
    /// Opens the first device; `Err` is the one-line reason there is none (no GPU support in
    /// this build, no driver, no device).
    pub fn open() -> std::result::Result<Self, String> {
        Context::open()
            .map(|ctx| GpuDevice { ctx })
            .map_err(|e| e.to_string())
    }

    /// The device.
    pub fn info(&self) -> &DeviceInfo {
        self.ctx.info()
    }

    /// Its context, for the kernels crate's buffers.
    pub fn context(&self) -> &Arc<Context> {
        &self.ctx
    }
}

/// Why the GPU backend cannot run the network of `file`, or `None` if it can.
pub fn unsupported(file: &GraphFile) -> Option<String> {
    if cfg!(feature = "f32") {
        return Some(
            "this build keeps neuron state in f32 (feature `f32`) and the GPU kernels take f64: \
             use a build without `f32`"
                .into(),
        );
    }
    match &file.task {
        // The batched agents' kernels (hip/agent.hip) run every hidden layer the trainer
        // accepts; the network's own step is not used.
        // The kernels take the two projections as dense matrices, so an agent whose input
        // projection is sparse runs on the CPU (one that a structural policy makes sparse
        // later is refused by the trainer at that batch).
        Some(TaskSpec::Agent(a)) => {
            return file
                .projections
                .iter()
                .find(|p| {
                    p.pre == a.input
                        && p.post == a.hidden
                        && !matches!(p.connectivity, Connectivity::AllToAll)
                })
                .map(|p| {
                    let name = p.name.clone().unwrap_or_else(|| format!("{}->{}", p.pre, p.post));
                    format!(
                        "the agent's input projection `{name}` is sparse; the GPU agent kernels take all-to-all projections: run it on the CPU"
                    )
                })
        }
        Some(TaskSpec::Control(_)) => {
            return Some("control tasks (CartPole, Pendulum) run on the CPU only".into())
        }
        Some(TaskSpec::Reservoir(_)) => {
            return Some("reservoir tasks run on the CPU only".into())
        }
        Some(TaskSpec::Classify(_)) => {
            return Some("classification tasks run on the CPU only".into())
        }
        None => {}
    }
    if !file.structure.is_empty() {
        return Some("structural policies in a simulation run on the CPU only".into());
    }
    if file
        .stimuli
        .iter()
        .any(|s| matches!(s, crate::file::StimulusSpec::PoissonInput { .. }))
    {
        return Some("Poisson input stimuli run on the CPU only".into());
    }
    for p in &file.populations {
        match &p.model {
            ModelSpec::Lif(l) if l.integration != LifIntegration::Exact => {
                return Some(format!(
                    "population `{}`: Lif with snnTorch integration has no GPU kernel yet",
                    p.name
                ))
            }
            ModelSpec::Lif(_)
            | ModelSpec::CobaLif(_)
            | ModelSpec::Poisson(_)
            | ModelSpec::SpikeTimes(_)
            | ModelSpec::Observation(_) => {}
            other => {
                let model = format!("{other:?}");
                let model = model.split(['(', ' ', '{']).next().unwrap_or("?");
                return Some(format!(
                    "population `{}`: model {model} has no GPU kernel yet",
                    p.name
                ));
            }
        }
    }
    // The device numbers neurons across populations with 32-bit offsets; a population alone
    // is bounded by validation, the sum is not.
    let total: u64 = file.populations.iter().map(|p| p.size as u64).sum();
    if total > u32::MAX as u64 {
        return Some(format!(
            "{total} neurons in all; the GPU kernels number at most {} across populations",
            u32::MAX
        ));
    }
    if let Some(pr) = file
        .projections
        .iter()
        .find(|pr| crate::file::zero_delay(pr))
    {
        let name = pr
            .name
            .clone()
            .unwrap_or_else(|| format!("{}->{}", pr.pre, pr.post));
        return Some(format!(
            "projection `{name}` has zero delay, and zero-delay projections run on the CPU only"
        ));
    }
    if let Some(pr) = file
        .projections
        .iter()
        .find(|pr| pr.connectivity.is_kernel())
    {
        let name = pr
            .name
            .clone()
            .unwrap_or_else(|| format!("{}->{}", pr.pre, pr.post));
        return Some(format!(
            "projection `{name}` is a convolution or pooling, and those run on the CPU only"
        ));
    }
    if let Some(pr) = file.projections.iter().find(|pr| pr.rule.is_some()) {
        let name = pr
            .name
            .clone()
            .unwrap_or_else(|| format!("{}->{}", pr.pre, pr.post));
        return Some(format!(
            "projection `{name}` has a learning rule, and rules run on the CPU only"
        ));
    }
    None
}

/// Runs `steps` steps of `engine` (built from `checked`) on the device and writes the result
/// back into it.
pub fn run(dev: &GpuDevice, engine: &mut Engine, checked: &Checked, steps: u64) -> Result<()> {
    if let Some(why) = unsupported(&checked.file) {
        return Err(Error::Run(format!("device Gpu: {why}")));
    }
    if engine.has_hooks_or_rules() {
        return Err(Error::Run(
            "device Gpu: this run has hooks, learning rules, Poisson inputs or structural policies, which run on the CPU only".into(),
        ));
    }
    #[cfg(not(feature = "f32"))]
    {
        let err = |e: snnsim_kernels::GpuError| Error::Run(format!("GPU {}: {e}", dev.info()));
        let mut sim = sim::Sim::upload(&dev.ctx, engine, checked).map_err(err)?;
        sim.run(engine, steps).map_err(err)?;
        sim.download(engine).map_err(err)
    }
    #[cfg(feature = "f32")]
    unreachable!("`unsupported` refuses every network in an f32 build ({dev:?}, {steps} steps)")
}
