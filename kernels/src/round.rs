//! A batch of foraging episodes kept whole on the device (`snnk_agent_round`, hip/agent.hip):
//! one launch per round takes the next decision of every running episode — the grid world's
//! active inputs, the network's decision, the sampled action and the world's step — and
//! appends what the update needs to the episode's records in device memory. The host
//! launches rounds, reads one counter per round (the episodes still running) and reads the
//! records once, when the batch has ended.
//!
//! [`Round`] is written once over where its buffers live ([`Memory`]): [`Device`] memory and
//! launches, or [`Host`] memory and the kernels' own code run in loops, which is how a build
//! without a device checks the whole round against the CPU trainer (tests/gpu.rs).

use crate::ffi::{
    self, SnnkAgentLayers, SnnkAgentScratch, SnnkEnvParams, SnnkEnvState, SnnkEpisodeData,
};
use crate::memory::{Device, Host, Memory};
use crate::{check, platform, Result};

/// The records of a batch's episodes, read back once it has ended (the layout of
/// `SnnkEpisodeData`, hip/snnk.h): episode a's decision k at record `a·K + k`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EpisodeRecords {
    /// K: records per episode (the time limit).
    pub max_decisions: usize,
    /// Active inputs per record (1 + food).
    pub stride: usize,
    /// Decisions each episode took.
    pub decisions: Vec<u32>,
    /// Active inputs, `stride` per record.
    pub active: Vec<u32>,
    /// Active inputs per record.
    pub n_active: Vec<u32>,
    /// q of each decision (h per record).
    pub q: Vec<f64>,
    /// ν of each decision (h per record).
    pub nu: Vec<f64>,
    /// ∂log π(a)/∂z (o per record).
    pub dlogp: Vec<f64>,
    /// ∂H/∂z (o per record).
    pub dent: Vec<f64>,
    /// The reward of each decision.
    pub reward: Vec<f64>,
    /// Hidden spikes of each decision.
    pub spikes: Vec<u32>,
    /// Spikes of each hidden neuron over the episode (h per episode).
    pub spikes_per_neuron: Vec<f64>,
    /// Flags (T × h per record, `ffi::AGENT_SPIKE`) of the recorded episodes, in slot order.
    pub raster: Vec<u8>,
}

/// The buffers of a batch of `n` episodes whose rounds run in memory `M`.
pub struct Round<M: Memory> {
    mem: M,
    layers: SnnkAgentLayers,
    env: SnnkEnvParams,
    encoder: u32,
    n_in: usize,
    n: usize,
    k: usize,
    slots: usize,
    w1: M::Buf<f64>,
    w2: M::Buf<f64>,
    keys: M::Buf<u32>,
    seeds: M::Buf<u64>,
    states: M::Buf<SnnkEnvState>,
    cells: M::Buf<u8>,
    scratch_env: M::Buf<u32>,
    mem_t: M::Buf<f64>,
    flags: M::Buf<u8>,
    z: M::Buf<f64>,
    pi: M::Buf<f64>,
    counts: M::Buf<u32>,
    active: M::Buf<u32>,
    n_active: M::Buf<u32>,
    q: M::Buf<f64>,
    nu: M::Buf<f64>,
    dlogp: M::Buf<f64>,
    dent: M::Buf<f64>,
    reward: M::Buf<f64>,
    spikes: M::Buf<u32>,
    spikes_per_neuron: M::Buf<f64>,
    record: M::Buf<u32>,
    raster: M::Buf<u8>,
    live: M::Buf<u32>,
}

impl Round<Host> {
    /// A batch run by the kernels' code on the host; `None` in a build without GPU kernels.
    pub fn on_host(
        layers: SnnkAgentLayers,
        env: SnnkEnvParams,
        encoder: u32,
        (n_in, n): (usize, usize),
        record: &[u32],
    ) -> Option<Result<Self>> {
        platform()?;
        Some(Round::new(Host, layers, env, encoder, (n_in, n), record))
    }
}

impl<M: Memory> Round<M> {
    /// Buffers for `n` episodes of `env` (the grid world) seen through `encoder`
    /// (`ffi::ENCODER_*`) by agents of `layers` with `n_in` inputs; `record[a]` is episode
    /// a's raster slot, or `u32::MAX` for none.
    pub fn new(
        mem: M,
        layers: SnnkAgentLayers,
        env: SnnkEnvParams,
        encoder: u32,
        (n_in, n): (usize, usize),
        record: &[u32],
    ) -> Result<Self> {
        assert!(env.is_grid(), "rounds run the grid world");
        assert_eq!(record.len(), n, "a raster slot (or none) per episode");
        let (h, o, t) = (
            layers.hidden as usize,
            layers.out as usize,
            layers.steps as usize,
        );
        let k = env.max_steps as usize;
        let stride = env.max_active();
        let records = n * k;
        let slots = record.iter().filter(|&&r| r != u32::MAX).count();
        let mut r = Round {
            w1: mem.alloc(n_in * h)?,
            w2: mem.alloc(h * o)?,
            keys: mem.alloc(n * 8)?,
            seeds: mem.alloc(n)?,
            states: mem.alloc(n)?,
            cells: mem.alloc(n * env.cells())?,
            scratch_env: mem.alloc(n * env.scratch())?,
            mem_t: mem.alloc(n * t * h)?,
            flags: mem.alloc(n * t * h)?,
            z: mem.alloc(n * o)?,
            pi: mem.alloc(n * o)?,
            counts: mem.alloc(n * h)?,
            active: mem.alloc(records * stride)?,
            n_active: mem.alloc(records)?,
            q: mem.alloc(records * h)?,
            nu: mem.alloc(records * h)?,
            dlogp: mem.alloc(records * o)?,
            dent: mem.alloc(records * o)?,
            reward: mem.alloc(records)?,
            spikes: mem.alloc(records)?,
            spikes_per_neuron: mem.alloc(n * h)?,
            record: mem.alloc(n)?,
            raster: mem.alloc(slots * k * t * h)?,
            live: mem.alloc(1)?,
            mem,
            layers,
            env,
            encoder,
            n_in,
            n,
            k,
            slots,
        };
        M::write(&mut r.record, record)?;
        Ok(r)
    }

    /// Whether these buffers fit a batch of `n` episodes of `env` through `encoder` for
    /// agents of `layers` with `n_in` inputs, with as many raster slots as `record` names.
    pub fn fits(
        &self,
        layers: &SnnkAgentLayers,
        env: SnnkEnvParams,
        encoder: u32,
        (n_in, n): (usize, usize),
        record: &[u32],
    ) -> bool {
        self.layers == *layers
            && self.env == env
            && self.encoder == encoder
            && self.n_in == n_in
            && self.n == n
            && record.iter().filter(|&&r| r != u32::MAX).count() == self.slots
    }

    /// Starts a batch: the policy's weights, each episode's reset seed and sampling key
    /// (the 8 words of its ChaCha8 stream's key), and the raster slots.
    pub fn start(
        &mut self,
        (w1, w2): (&[f64], &[f64]),
        seeds: &[u64],
        keys: &[[u32; 8]],
        record: &[u32],
    ) -> Result<()> {
        assert!(
            seeds.len() == self.n && keys.len() == self.n && record.len() == self.n,
            "a seed, key and slot per episode"
        );
        M::write(&mut self.w1, w1)?;
        M::write(&mut self.w2, w2)?;
        M::write(&mut self.seeds, seeds)?;
        let flat: Vec<u32> = keys.iter().flatten().copied().collect();
        M::write(&mut self.keys, &flat)?;
        M::write(&mut self.record, record)?;
        M::zero(&mut self.spikes_per_neuron)?;
        // SAFETY: every buffer was sized in `new` for n episodes of these parameters, in
        // the memory the context belongs to.
        let status = unsafe {
            ffi::snnk_env_reset(
                self.mem.ctx(),
                self.env,
                self.n as u32,
                M::ptr(&mut self.seeds),
                M::ptr(&mut self.states),
                M::ptr(&mut self.cells),
                M::ptr(&mut self.scratch_env),
                std::ptr::null_mut(),
            )
        };
        check(status, "resetting the batch's worlds")
    }

    /// One round; returns how many episodes are still running.
    pub fn round(&mut self) -> Result<u32> {
        M::zero(&mut self.live)?;
        let scratch = SnnkAgentScratch {
            mem: M::ptr(&mut self.mem_t),
            flags: M::ptr(&mut self.flags),
            z: M::ptr(&mut self.z),
            pi: M::ptr(&mut self.pi),
            counts: M::ptr(&mut self.counts),
        };
        let data = SnnkEpisodeData {
            active: M::ptr(&mut self.active),
            n_active: M::ptr(&mut self.n_active),
            q: M::ptr(&mut self.q),
            nu: M::ptr(&mut self.nu),
            dlogp: M::ptr(&mut self.dlogp),
            dent: M::ptr(&mut self.dent),
            reward: M::ptr(&mut self.reward),
            spikes: M::ptr(&mut self.spikes),
            spikes_per_neuron: M::ptr(&mut self.spikes_per_neuron),
            record: M::ptr(&mut self.record),
            raster: M::ptr(&mut self.raster),
        };
        // SAFETY: every buffer was sized in `new` for n episodes of K decisions of these
        // layers and this environment, in the memory the context belongs to; `start` wrote
        // the weights, keys and states.
        let status = unsafe {
            ffi::snnk_agent_round(
                self.mem.ctx(),
                self.layers,
                self.env,
                self.encoder,
                self.n as u32,
                self.k as u32,
                M::ptr(&mut self.w1),
                M::ptr(&mut self.w2),
                M::ptr(&mut self.keys),
                M::ptr(&mut self.states),
                M::ptr(&mut self.cells),
                scratch,
                data,
                M::ptr(&mut self.live),
            )
        };
        check(status, "a round of the batch")?;
        let mut live = [0u32];
        M::read(&self.live, &mut live)?;
        Ok(live[0])
    }

    /// The episodes' records, once the batch has ended.
    pub fn read(&self, out: &mut EpisodeRecords) -> Result<()> {
        let (h, o, t) = (
            self.layers.hidden as usize,
            self.layers.out as usize,
            self.layers.steps as usize,
        );
        let (n, k, stride) = (self.n, self.k, self.env.max_active());
        let records = n * k;
        let mut states = vec![SnnkEnvState::default(); n];
        M::read(&self.states, &mut states)?;
        out.max_decisions = k;
        out.stride = stride;
        out.decisions = states.iter().map(|s| s.steps).collect();
        let sized = |v: &mut Vec<_>, len| v.resize(len, Default::default());
        sized(&mut out.active, records * stride);
        sized(&mut out.n_active, records);
        out.q.resize(records * h, 0.0);
        out.nu.resize(records * h, 0.0);
        out.dlogp.resize(records * o, 0.0);
        out.dent.resize(records * o, 0.0);
        out.reward.resize(records, 0.0);
        out.spikes.resize(records, 0);
        out.spikes_per_neuron.resize(n * h, 0.0);
        out.raster.resize(self.slots * k * t * h, 0);
        M::read(&self.active, &mut out.active)?;
        M::read(&self.n_active, &mut out.n_active)?;
        M::read(&self.q, &mut out.q)?;
        M::read(&self.nu, &mut out.nu)?;
        M::read(&self.dlogp, &mut out.dlogp)?;
        M::read(&self.dent, &mut out.dent)?;
        M::read(&self.reward, &mut out.reward)?;
        M::read(&self.spikes, &mut out.spikes)?;
        M::read(&self.spikes_per_neuron, &mut out.spikes_per_neuron)?;
        M::read(&self.raster, &mut out.raster)
    }
}

/// A device's rounds.
pub type DeviceRound = Round<Device>;

/// The host twin's rounds.
pub type HostRound = Round<Host>;
