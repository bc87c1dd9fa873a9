//! A batch of episodes on a GPU: the episodes advance in lockstep, one decision of every live
//! episode per kernel launch. Two drivers:
//!
//! - **rounds** ([`run_rounds`]), when the environment plugin has a device version
//!   (`SnnkEnvParams::for_plugin`: the grid world) seen through an on/off encoder: one launch
//!   per round takes every running episode's decision whole on the device (active inputs,
//!   network, sampling from the episode's own stream by its counter, the world's step) and
//!   keeps the records the update needs there; the host reads one counter per round and the
//!   records once per batch (kernels/src/round.rs);
//! - **lockstep** ([`run_batch`] otherwise): one launch per round computes the decisions
//!   (input currents, T steps of the hidden layer and the readout, the logits and the
//!   factored backward pass), while sampling and the environment plugins stay on the host,
//!   each episode with its own random stream as on the CPU.
//!
//! Episodes do not interact, so each one takes the same decisions as when it runs alone on a
//! CPU thread: the same actions, rewards and, with the fast-sigmoid or atan surrogate, the
//! same gradients bit for bit (the kernels' arithmetic is the CPU's, without contraction; on a
//! device the sigmoid surrogate's and, in rounds, the softmax's `exp` and the entropy's `log`
//! may differ in the last bit; docs/gpu.md).

use super::{episode_seed, Episode, EpisodeBuf, Policy};
use crate::backend::gpu::GpuDevice;
use crate::error::{Error, Result};
use crate::exec::{Model, Net, Shallow, Surrogate};
use crate::file::{Encoder, Reset};
use crate::plugin::EnvInstance;
use rayon::prelude::*;
use snnsim_kernels::round::Round;
use snnsim_kernels::{
    ffi, AgentBatch, AgentDecision, EpisodeRecords, GpuError, HostEnvs, SnnkAgentLayers,
    SnnkEnvParams,
};
use snnsim_kernels::{Device, Host, Memory};

/// The most bytes a batch's records may take on the device (or the host twin) for it to run in
/// rounds.
const ROUND_RECORDS_MAX: usize = 1 << 32;

/// The kernel's description of an agent's network (`net`, of the shape `shape`, see
/// [`Net::shallow`]), for decisions of `steps` steps.
pub fn kernel_layers(net: &Net, shape: Shallow, steps: usize) -> SnnkAgentLayers {
    let hidden = net.neuron(shape.hidden).expect("hidden neurons");
    let (neuron, alpha, beta, tau) = match hidden.model {
        Model::Leaky { beta } => (ffi::HIDDEN_LEAKY, 0.0, beta, 0.0),
        Model::Synaptic { alpha, beta } => (ffi::HIDDEN_SYNAPTIC, alpha, beta, 0.0),
        Model::Alpha { alpha, beta, tau } => (ffi::HIDDEN_ALPHA, alpha, beta, tau),
        Model::Relu | Model::Alif { .. } => {
            unreachable!("Net::shallow refuses a hidden population of ReLU or Alif units")
        }
    };
    let (surrogate, slope) = match net.surrogate() {
        Surrogate::FastSigmoid { slope } => (ffi::SURROGATE_FAST_SIGMOID, slope),
        Surrogate::Sigmoid { slope } => (ffi::SURROGATE_SIGMOID, slope),
        Surrogate::Atan { alpha } => (ffi::SURROGATE_ATAN, alpha),
    };
    SnnkAgentLayers {
        hidden: net.pops()[shape.hidden].size as u32,
        out: net.pops()[shape.readout].size as u32,
        steps: steps as u32,
        neuron,
        reset: match hidden.reset {
            Reset::Zero => ffi::RESET_ZERO,
            Reset::Subtract => ffi::RESET_SUBTRACT,
            Reset::NoReset => ffi::RESET_NONE,
        },
        surrogate,
        alpha,
        beta,
        tau,
        threshold: hidden.threshold,
        beta_out: shape.beta_out,
        slope,
    }
}

/// What computes the rounds of decisions: a GPU, with the buffers of the current layer sizes
/// (made again after growth or pruning, or for a larger batch), or the kernel's own code run
/// on the host (`snnk_agent_decide_host`), which checks this lockstep driver in a GPU build on
/// a machine without a device.
pub enum DeviceAgents {
    /// A GPU.
    Gpu {
        /// The device.
        dev: GpuDevice,
        /// Its buffers, once a batch has run.
        batch: Option<Box<AgentBatch>>,
        /// The buffers of rounds, once a batch has run in rounds.
        rounds: Option<Box<Round<Device>>>,
        /// Whether batches may run in rounds.
        worlds: bool,
    },
    /// The kernel's code on the host.
    HostTwin {
        /// The layers and weights of the current batch.
        layers: SnnkAgentLayers,
        /// Input weights.
        w1: Vec<f64>,
        /// Readout weights.
        w2: Vec<f64>,
        /// The buffers of rounds, once a batch has run in rounds.
        rounds: Option<Box<Round<Host>>>,
        /// Whether batches may run in rounds.
        worlds: bool,
    },
}

impl DeviceAgents {
    /// Agents on `dev`.
    pub fn new(dev: GpuDevice) -> Self {
        DeviceAgents::Gpu {
            dev,
            batch: None,
            rounds: None,
            worlds: true,
        }
    }

    /// Whether batches whose world has a device version run in rounds (the default), or all
    /// in lockstep with the environment plugins on the host.
    pub fn set_worlds(&mut self, on: bool) {
        match self {
            DeviceAgents::Gpu { worlds, .. } | DeviceAgents::HostTwin { worlds, .. } => {
                *worlds = on
            }
        }
    }

    /// Whether a batch has run in rounds (their buffers are kept for the next).
    pub fn ran_rounds(&self) -> bool {
        match self {
            DeviceAgents::Gpu { rounds, .. } => rounds.is_some(),
            DeviceAgents::HostTwin { rounds, .. } => rounds.is_some(),
        }
    }

    /// The kernel's code on the host, or `None` in a build without GPU kernels.
    pub fn host_twin() -> Option<Self> {
        snnsim_kernels::platform()?;
        Some(DeviceAgents::HostTwin {
            layers: SnnkAgentLayers::default(),
            w1: Vec::new(),
            w2: Vec::new(),
            rounds: None,
            worlds: true,
        })
    }

    /// `gpu: <device>`, or `host twin of the <platform> kernels`, as `summary.json` names it.
    pub fn describe(&self) -> String {
        match self {
            DeviceAgents::Gpu { dev, .. } => format!("gpu: {}", dev.info()),
            DeviceAgents::HostTwin { .. } => format!(
                "host twin of the {} kernels",
                snnsim_kernels::platform().unwrap_or("GPU")
            ),
        }
    }

    fn gpu_error(&self, e: GpuError) -> Error {
        match self {
            DeviceAgents::Gpu { dev, .. } => Error::Run(format!("GPU {}: {e}", dev.info())),
            DeviceAgents::HostTwin { .. } => Error::Run(format!("host twin: {e}")),
        }
    }

    /// Makes ready for rounds of up to `agents` agents of `layers` with these weights.
    fn prepare(
        &mut self,
        kl: SnnkAgentLayers,
        n_in: usize,
        agents: usize,
        (w1, w2): (&[f64], &[f64]),
    ) -> Result<()> {
        let ready = match self {
            DeviceAgents::Gpu { dev, batch, .. } => {
                let fits = batch.as_ref().is_some_and(|b| {
                    *b.layers() == kl && b.capacity() >= agents && b.inputs() == n_in
                });
                let made = if fits {
                    Ok(())
                } else {
                    *batch = None; // free the old buffers first
                    AgentBatch::new(dev.context(), kl, n_in, agents, n_in)
                        .map(|b| *batch = Some(Box::new(b)))
                };
                made.and_then(|()| batch.as_mut().expect("made above").set_weights(w1, w2))
            }
            DeviceAgents::HostTwin {
                layers,
                w1: h1,
                w2: h2,
                ..
            } => {
                *layers = kl;
                h1.clear();
                h1.extend_from_slice(w1);
                h2.clear();
                h2.extend_from_slice(w2);
                Ok(())
            }
        };
        ready.map_err(|e| self.gpu_error(e))
    }

    /// One round: the decisions of the agents whose active inputs are
    /// `active[starts[k]..starts[k + 1]]`, into `out`; with `record = Some(k)`, agent k's
    /// flags into `flags`.
    fn decide(
        &mut self,
        active: &[u32],
        starts: &[u32],
        out: &mut AgentDecision,
        record: Option<usize>,
        flags: &mut Vec<u8>,
    ) -> Result<()> {
        let done = match self {
            DeviceAgents::Gpu { batch, .. } => {
                let b = batch.as_mut().expect("prepared");
                b.decide(active, starts)
                    .and_then(|()| b.read(out))
                    .and_then(|()| record.map_or(Ok(()), |k| b.read_flags(k, flags)))
            }
            DeviceAgents::HostTwin { layers, w1, w2, .. } => {
                let d = snnsim_kernels::agent_decide_host(layers, w1, w2, active, starts)
                    .expect("a host twin exists only in a GPU build");
                d.map(|d| {
                    if let Some(k) = record {
                        let th = layers.steps as usize * layers.hidden as usize;
                        flags.clear();
                        flags.extend_from_slice(&d.flags[k * th..(k + 1) * th]);
                    }
                    *out = d;
                })
            }
        };
        done.map_err(|e| self.gpu_error(e))
    }
}

/// Runs the episodes `first..first + envs.len()` with fixed weights on the device; each one
/// records its hidden spikes when `record_all`, the last one also when `record_last` (it is
/// the batch's last). The host's part of each decision (sampling, the
/// environment's step) runs on `pool`'s threads, one episode each.
pub(super) fn run_batch(
    dev: &mut DeviceAgents,
    envs: &mut [EnvInstance],
    first: u64,
    p: &Policy,
    pool: Option<&rayon::ThreadPool>,
    record_last: bool,
    record_all: bool,
) -> Result<Vec<EpisodeBuf>> {
    let (spec, layers) = (p.spec, p.layers);
    let (h, o, steps) = (layers.hidden, layers.out, spec.decision_steps);
    let b = envs.len();
    if p.w1.len() != p.n_in * h || p.w2.len() != h * o {
        return Err(Error::Input(
            "decisions on a GPU need all-to-all input and readout projections (a structural policy removed synapses); run on the CPU".into(),
        ));
    }
    let record: Vec<u32> = {
        let mut slot = 0;
        (0..b)
            .map(|k| {
                if record_all || (record_last && k + 1 == b) {
                    slot += 1;
                    slot - 1
                } else {
                    u32::MAX
                }
            })
            .collect()
    };
    // Records for every decision the time limit allows: a world with a very long limit runs
    // in lockstep rather than reserve more than ROUND_RECORDS_MAX bytes for them.
    let rounds = device_world(dev, p, envs)?.filter(|(world, _)| {
        let per_decision = 4 * world.max_active() + 16 * h + 16 * o + 16;
        let slots = record.iter().filter(|&&r| r != u32::MAX).count();
        let bytes = world.max_steps as usize * (b * per_decision + slots * steps * h);
        bytes <= ROUND_RECORDS_MAX
    });
    if let Some((world, encoder)) = rounds {
        let kl = kernel_layers(&layers.exec, layers.shape, steps);
        let shape = (p.n_in, b);
        let done = match dev {
            DeviceAgents::Gpu { dev: d, rounds, .. } => {
                let mem = Device(d.context().clone());
                fitted(rounds, mem, kl, world, encoder, shape, &record)
                    .and_then(|r| run_rounds(r, first, p, &record))
            }
            DeviceAgents::HostTwin { rounds, .. } => {
                fitted(rounds, Host, kl, world, encoder, shape, &record)
                    .and_then(|r| run_rounds(r, first, p, &record))
            }
        };
        return done.map_err(|e| dev.gpu_error(e));
    }
    dev.prepare(
        kernel_layers(&layers.exec, layers.shape, steps),
        p.n_in,
        b,
        (p.w1, p.w2),
    )?;
    let mut eps = envs
        .iter_mut()
        .enumerate()
        .map(|(k, env)| {
            Episode::start(
                env,
                (first + k as u64, p.seed),
                layers,
                record_all || (record_last && k + 1 == b),
                EpisodeBuf::default(),
            )
        })
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
        let record = eps
            .iter()
            .position(|e| e.record && !e.done)
            .map(|k| slot[k]);
        dev.decide(&active, &starts, &mut out, record, &mut flags)?;
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
                |j| f64::from(out.counts[s * h + j]),
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

/// The device version of the batch's world and the encoder's code, when the batch can run
/// in rounds: the environment plugin has one (by its name), its parameters are ones the
/// device version reads, the encoder lists on/off inputs of the whole grid, and a reset of
/// the plugin gives the device version's observation.
fn device_world(
    dev: &DeviceAgents,
    p: &Policy,
    envs: &mut [EnvInstance],
) -> Result<Option<(SnnkEnvParams, u32)>> {
    let on = match dev {
        DeviceAgents::Gpu { worlds, .. } | DeviceAgents::HostTwin { worlds, .. } => *worlds,
    };
    let env = &p.spec.environment;
    if !on || envs.is_empty() {
        return Ok(None);
    }
    let Some(mut world) = SnnkEnvParams::for_plugin(&env.plugin).filter(|w| w.is_grid()) else {
        return Ok(None);
    };
    /// The plugin's parameters (its defaults are the device version's).
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct GridParams {
        size: Option<u32>,
        food: Option<u32>,
        max_steps: Option<u32>,
    }
    let text = env.params.as_ref().map_or("()", |p| p.get_ron());
    let options =
        ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME);
    let Ok(g) = options.from_str::<GridParams>(text) else {
        return Ok(None);
    };
    world.size = g.size.unwrap_or(world.size);
    world.food = g.food.unwrap_or(world.food);
    world.max_steps = g.max_steps.unwrap_or(world.max_steps);
    let encoder = match p.spec.encoder {
        Encoder::Identity => ffi::ENCODER_IDENTITY,
        Encoder::Egocentric { size } if size == world.size as usize => ffi::ENCODER_EGOCENTRIC,
        _ => return Ok(None),
    };
    // The device version must be the plugin's world: compare one reset.
    let Some(Ok(mut twin)) = HostEnvs::on_host(world, 1) else {
        return Ok(None);
    };
    let seed = episode_seed(p.seed, 0);
    let (mut want, mut got) = (vec![0.0; world.obs_len()], vec![0.0; world.obs_len()]);
    if envs[0].observation_len() != want.len()
        || twin
            .reset(&[seed])
            .and_then(|()| twin.read_obs(&mut got))
            .is_err()
    {
        return Ok(None);
    }
    envs[0].reset(seed, &mut want)?;
    Ok((want == got).then_some((world, encoder)))
}

/// The buffers of rounds in `r`, made again unless they fit these layers, world, inputs,
/// episodes and raster slots.
fn fitted<'r, M: Memory>(
    r: &'r mut Option<Box<Round<M>>>,
    mem: M,
    kl: SnnkAgentLayers,
    world: SnnkEnvParams,
    encoder: u32,
    (n_in, b): (usize, usize),
    record: &[u32],
) -> std::result::Result<&'r mut Round<M>, GpuError> {
    if !r
        .as_ref()
        .is_some_and(|r| r.fits(&kl, world, encoder, (n_in, b), record))
    {
        *r = None; // free the old buffers first
        *r = Some(Box::new(Round::new(
            mem,
            kl,
            world,
            encoder,
            (n_in, b),
            record,
        )?));
    }
    Ok(r.as_mut().expect("made above"))
}

/// The key of episode `episode`'s sampling stream (`rng::stream(seed, "episode", "",
/// episode)`, as `Episode::start` makes it), as 8 words.
fn stream_key(seed: u64, episode: u64) -> [u32; 8] {
    let bytes = crate::rng::stream(seed, "episode", "", episode).get_seed();
    let mut key = [0u32; 8];
    for (w, b) in key.iter_mut().zip(bytes.chunks(4)) {
        *w = u32::from_le_bytes(b.try_into().expect("4 bytes"));
    }
    key
}

/// Runs the episodes `first..first + b` (`b = record.len()`) in rounds, whole on the device,
/// and makes each one's buffer from its records as `Episode::observe` and `Episode::act`
/// would have filled it on the CPU.
fn run_rounds<M: Memory>(
    round: &mut Round<M>,
    first: u64,
    p: &Policy,
    record: &[u32],
) -> std::result::Result<Vec<EpisodeBuf>, GpuError> {
    let b = record.len() as u64;
    let seeds: Vec<u64> = (first..first + b)
        .map(|e| episode_seed(p.seed, e))
        .collect();
    let keys: Vec<[u32; 8]> = (first..first + b).map(|e| stream_key(p.seed, e)).collect();
    round.start((p.w1, p.w2), &seeds, &keys, record)?;
    while round.round()? > 0 {}
    let mut r = EpisodeRecords::default();
    round.read(&mut r)?;
    let (h, o, t) = (p.layers.hidden, p.layers.out, p.spec.decision_steps);
    let (kk, stride) = (r.max_decisions, r.stride);
    let bufs = (0..b as usize).map(|a| {
        let d = r.decisions[a] as usize;
        let (at, end) = (a * kk, a * kk + d);
        let mut buf = EpisodeBuf::default().reuse(h);
        buf.rewards.extend_from_slice(&r.reward[at..end]);
        for k in at..end {
            let n = r.n_active[k] as usize;
            buf.active
                .extend_from_slice(&r.active[k * stride..k * stride + n]);
            buf.active_start.push(buf.active.len());
            buf.events += (t * n * h) as u64 + u64::from(r.spikes[k]) * o as u64;
        }
        buf.q.extend_from_slice(&r.q[at * h..end * h]);
        buf.nu.extend_from_slice(&r.nu[at * h..end * h]);
        buf.dz_logp.extend_from_slice(&r.dlogp[at * o..end * o]);
        buf.dz_ent.extend_from_slice(&r.dent[at * o..end * o]);
        buf.spikes_per_neuron
            .copy_from_slice(&r.spikes_per_neuron[a * h..(a + 1) * h]);
        buf.food = buf.rewards.iter().filter(|&&x| x > 0.5).count() as u32;
        buf.steps = (d * t) as u64;
        if record[a] != u32::MAX {
            let slot = record[a] as usize;
            for k in 0..d {
                let flags = &r.raster[(slot * kk + k) * t * h..][..t * h];
                for (i, &f) in flags.iter().enumerate() {
                    if f & ffi::AGENT_SPIKE != 0 {
                        buf.raster.push(((k * t + i / h) as u64, (i % h) as u32));
                    }
                }
            }
        }
        buf
    });
    Ok(bufs.collect())
}
