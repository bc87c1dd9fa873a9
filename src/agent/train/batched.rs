//! A batch of episodes on a GPU: the episodes advance in lockstep, one decision of every live
//! episode per kernel launch (kernels/hip/agent.hip: input currents, T steps of the hidden
//! layer and the readout, the logits and the factored backward pass), while sampling and the
//! environments stay on the host, each episode with its own random stream as on the CPU.
//!
//! Episodes do not interact, so each one takes the same decisions as when it runs alone on a
//! CPU thread: the same actions, rewards and, with the fast-sigmoid or atan surrogate, the
//! same gradients bit for bit (the kernel's arithmetic is the CPU's, without contraction; the
//! sigmoid surrogate's `exp` may differ in the last bit; docs/gpu.md).

use super::{Episode, EpisodeBuf};
use crate::agent::bptt::{Hidden, Layers, Surrogate};
use crate::backend::gpu::GpuDevice;
use crate::error::{Error, Result};
use crate::file::{AgentSpec, Reset};
use crate::plugin::EnvInstance;
use rayon::prelude::*;
use snnsim_kernels::{ffi, AgentBatch, AgentDecision, GpuError, SnnkAgentLayers};

/// The kernel's description of the agent's layers, for decisions of `steps` steps.
pub fn kernel_layers(layers: &Layers, steps: usize) -> SnnkAgentLayers {
    let (neuron, alpha, beta, tau) = match layers.neuron {
        Hidden::Leaky { beta } => (ffi::HIDDEN_LEAKY, 0.0, beta, 0.0),
        Hidden::Synaptic { alpha, beta } => (ffi::HIDDEN_SYNAPTIC, alpha, beta, 0.0),
        Hidden::Alpha { alpha, beta, tau } => (ffi::HIDDEN_ALPHA, alpha, beta, tau),
    };
    let (surrogate, slope) = match layers.surrogate {
        Surrogate::FastSigmoid { slope } => (ffi::SURROGATE_FAST_SIGMOID, slope),
        Surrogate::Sigmoid { slope } => (ffi::SURROGATE_SIGMOID, slope),
        Surrogate::Atan { alpha } => (ffi::SURROGATE_ATAN, alpha),
    };
    SnnkAgentLayers {
        hidden: layers.hidden as u32,
        out: layers.out as u32,
        steps: steps as u32,
        neuron,
        reset: match layers.reset {
            Reset::Zero => ffi::RESET_ZERO,
            Reset::Subtract => ffi::RESET_SUBTRACT,
            Reset::NoReset => ffi::RESET_NONE,
        },
        surrogate,
        alpha,
        beta,
        tau,
        threshold: layers.threshold,
        beta_out: layers.beta_out,
        slope,
    }
}

/// The device and the buffers of the current layer sizes (made again after growth or pruning,
/// or for a larger batch).
pub struct DeviceAgents {
    dev: GpuDevice,
    batch: Option<AgentBatch>,
}

impl DeviceAgents {
    /// Agents on `dev`.
    pub fn new(dev: GpuDevice) -> Self {
        DeviceAgents { dev, batch: None }
    }

    /// `gpu: <device>`, as `summary.json` names it.
    pub fn describe(&self) -> String {
        format!("gpu: {}", self.dev.info())
    }

    /// Buffers for `agents` agents of `layers`, with the policy's weights uploaded.
    fn prepare(
        &mut self,
        layers: SnnkAgentLayers,
        n_in: usize,
        agents: usize,
        w: (&[f64], &[f64]),
    ) -> Result<&mut AgentBatch> {
        let fits = self
            .batch
            .as_ref()
            .is_some_and(|b| *b.layers() == layers && b.capacity() >= agents && b.inputs() == n_in);
        if !fits {
            self.batch = None; // free the old buffers first
            let b = AgentBatch::new(self.dev.context(), layers, n_in, agents, n_in)
                .map_err(|e| Error::Run(format!("GPU {}: {e}", self.dev.info())))?;
            self.batch = Some(b);
        }
        let b = self.batch.as_mut().expect("made above");
        if let Err(e) = b.set_weights(w.0, w.1) {
            let msg = format!("GPU {}: {e}", self.dev.info());
            return Err(Error::Run(msg));
        }
        Ok(b)
    }
}

/// Runs the episodes `first..first + envs.len()` with fixed weights on the device; the last
/// one records its hidden spikes. The host's part of each decision (sampling, the
/// environment's step) runs on `pool`'s threads, one episode each.
#[allow(clippy::too_many_arguments)]
pub(super) fn run_batch(
    dev: &mut DeviceAgents,
    envs: &mut [EnvInstance],
    first: u64,
    seed: u64,
    spec: &AgentSpec,
    layers: &Layers,
    w1: &[f64],
    w2: &[f64],
    n_in: usize,
    pool: Option<&rayon::ThreadPool>,
) -> Result<Vec<EpisodeBuf>> {
    let (h, o, steps) = (layers.hidden, layers.out, spec.decision_steps);
    let b = envs.len();
    let kl = kernel_layers(layers, steps);
    let info = dev.dev.info().to_string();
    let gpu = |e: GpuError| Error::Run(format!("GPU {info}: {e}"));
    let batch = dev.prepare(kl, n_in, b, (w1, w2))?;
    let mut eps = envs
        .iter_mut()
        .enumerate()
        .map(|(k, env)| Episode::start(env, first + k as u64, seed, layers, k + 1 == b))
        .collect::<Result<Vec<_>>>()?;
    let mut active = Vec::new();
    let mut starts = Vec::with_capacity(b + 1);
    let mut slot = vec![usize::MAX; b];
    let mut out = AgentDecision::default();
    let mut flags = Vec::new();
    loop {
        active.clear();
        starts.clear();
        starts.push(0u32);
        let mut n = 0;
        for (k, ep) in eps.iter_mut().enumerate() {
            slot[k] = usize::MAX;
            if !ep.done {
                active.extend_from_slice(ep.observe(spec));
                starts.push(active.len() as u32);
                slot[k] = n;
                n += 1;
            }
        }
        if n == 0 {
            break;
        }
        batch.decide(&active, &starts).map_err(gpu)?;
        batch.read(&mut out).map_err(gpu)?;
        if let Some(k) = eps.iter().position(|e| e.record && !e.done) {
            batch.read_flags(slot[k], &mut flags).map_err(gpu)?;
        }
        let (out, flags, slot) = (&out, &flags, &slot);
        let act = |(k, ep): (usize, &mut Episode)| -> Result<()> {
            let s = slot[k];
            if s == usize::MAX {
                return Ok(());
            }
            let (q, nu) = ep.factors(h);
            q.copy_from_slice(&out.q[s * h..(s + 1) * h]);
            nu.copy_from_slice(&out.nu[s * h..(s + 1) * h]);
            ep.act(
                layers,
                steps,
                &out.z[s * o..(s + 1) * o],
                &out.counts[s * h..(s + 1) * h],
                |t, j| flags[t * h + j] & ffi::AGENT_SPIKE != 0,
            )
        };
        let mut step_all = || eps.par_iter_mut().enumerate().map(act).collect();
        let stepped: Result<Vec<()>> = match pool {
            Some(p) => p.install(step_all),
            None => step_all(),
        };
        stepped?;
    }
    Ok(eps.into_iter().map(|e| e.buf).collect())
}
