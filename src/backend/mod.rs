//! Backends: where the steps of a run are computed.
//!
//! - [`cpu`]: [`Engine::step`], the reference. Every result of snnsim is defined by it.
//! - [`gpu`]: the same network advanced by the kernels of `kernels/` (HIP on ROCm, or the same
//!   sources built for CUDA), in a build with `--features hip` or `--features cuda`. It
//!   agrees with the CPU within the tolerances of docs/gpu.md (bit for bit where no sum of
//!   three or more synaptic inputs into one neuron is reordered).
//!
//! Which one runs is the file's `device` key or `snnsim run --device`: `Cpu` (the default),
//! `Gpu` (fails, exit 1, with the reason when there is no usable GPU or the network needs
//! something the GPU backend lacks) or `Auto` (the GPU when it can, else the CPU after a
//! one-line notice on standard error saying why).

pub mod cpu;
pub mod gpu;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::file::{Checked, Device};

/// The kernels crate, for tests and tools that talk to it directly.
pub use snnsim_kernels as kernels;

impl std::str::FromStr for Device {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Device::Auto),
            "cpu" => Ok(Device::Cpu),
            "gpu" => Ok(Device::Gpu),
            _ => Err(format!("`{s}` is not a device: auto, cpu or gpu")),
        }
    }
}

/// A backend ready to run.
#[derive(Debug, Clone)]
pub enum Backend {
    /// The reference: [`Engine::step`].
    Cpu,
    /// A GPU that answered.
    Gpu(gpu::GpuDevice),
}

impl Backend {
    /// `cpu`, or `gpu: <device name> (<arch>, <platform>)`, as `summary.json` shows it.
    pub fn describe(&self) -> String {
        match self {
            Backend::Cpu => "cpu".into(),
            Backend::Gpu(d) => format!("gpu: {}", d.info()),
        }
    }

    /// Whether this is a GPU backend.
    pub fn is_gpu(&self) -> bool {
        matches!(self, Backend::Gpu(_))
    }
}

/// The backend for a checked file and a requested device. `Auto` falls back to the CPU with
/// one line on standard error saying why; `Gpu` without a usable GPU is a run error (exit 1)
/// with the same reason.
pub fn select(requested: Device, checked: &Checked) -> Result<Backend> {
    match requested {
        Device::Cpu => Ok(Backend::Cpu),
        Device::Gpu => gpu_for(checked)
            .map(Backend::Gpu)
            .map_err(|why| Error::Run(format!("device Gpu: {why}"))),
        Device::Auto => Ok(match gpu_for(checked) {
            Ok(d) => Backend::Gpu(d),
            Err(why) => {
                eprintln!("snnsim: device Auto: running on the CPU: {why}");
                Backend::Cpu
            }
        }),
    }
}

/// A GPU that can run this file's network, or why not.
fn gpu_for(checked: &Checked) -> std::result::Result<gpu::GpuDevice, String> {
    if let Some(why) = gpu::unsupported(&checked.file) {
        return Err(why);
    }
    gpu::GpuDevice::open()
}

/// The backends present in this build and on this machine: the CPU always, then the GPU if
/// one answers; otherwise the reason there is none.
pub fn available() -> (Vec<Backend>, Option<String>) {
    match gpu::GpuDevice::open() {
        Ok(d) => (vec![Backend::Cpu, Backend::Gpu(d)], None),
        Err(why) => (vec![Backend::Cpu], Some(why)),
    }
}

/// Runs `steps` steps of `engine` on `backend`. After it the engine holds the state, spike
/// counts, recorded spikes and states, synaptic events and clock as if the CPU had run them.
pub fn run(backend: &Backend, engine: &mut Engine, checked: &Checked, steps: u64) -> Result<()> {
    match backend {
        Backend::Cpu => cpu::run(engine, steps),
        Backend::Gpu(d) => gpu::run(d, engine, checked, steps),
    }
}
