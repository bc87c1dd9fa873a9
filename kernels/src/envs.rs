//! The shipped environments' device versions (hip/envs.hip): a batch of episodes of one
//! environment stepped one thread per episode, so that a batch of agents need not come back
//! to the host for its worlds. [`DeviceEnvs`] holds the batch in device memory; [`HostEnvs`]
//! runs the same per-episode code on the host, which is how a build without a device checks
//! it against the plugins (tests/gpu.rs).
//!
//! The plugins stay the environments of every CPU run and the reference; which plugins have
//! a device version is [`SnnkEnvParams::for_plugin`].

use crate::ffi::{self, SnnkEnvParams, SnnkEnvState, SnnkEnvTransition};
use crate::memory::{Device, Host, Memory};
use crate::{check, platform, DeviceCopy, Result};

// SAFETY: plain numbers; the device writes only numbers into them.
unsafe impl DeviceCopy for SnnkEnvState {}
// SAFETY: as above.
unsafe impl DeviceCopy for SnnkEnvTransition {}

impl SnnkEnvParams {
    /// The grid world of `size` × `size` cells with `food` items and a time limit of
    /// `max_steps` (the `gridworld` plugin's parameters).
    pub fn gridworld(size: u32, food: u32, max_steps: u32) -> Self {
        SnnkEnvParams {
            kind: ffi::ENV_GRIDWORLD,
            max_steps,
            size,
            food,
        }
    }

    /// A classic-control environment (`ffi::ENV_CARTPOLE` … `ffi::ENV_ACROBOT`) with its
    /// time limit.
    pub fn classic(kind: u32, max_steps: u32) -> Self {
        SnnkEnvParams {
            kind,
            max_steps,
            size: 0,
            food: 0,
        }
    }

    /// The device version of the environment plugin `name`, with the plugin's default
    /// parameters (override them in the result), or `None` for a plugin that has none.
    pub fn for_plugin(name: &str) -> Option<Self> {
        Some(match name {
            "gridworld" => Self::gridworld(15, 5, 100),
            "cartpole" => Self::classic(ffi::ENV_CARTPOLE, 500),
            "pendulum" => Self::classic(ffi::ENV_PENDULUM, 200),
            "mountaincar" => Self::classic(ffi::ENV_MOUNTAINCAR, 200),
            "acrobot" => Self::classic(ffi::ENV_ACROBOT, 500),
            _ => return None,
        })
    }

    /// Whether this is the grid world.
    pub fn is_grid(&self) -> bool {
        self.kind == ffi::ENV_GRIDWORLD
    }

    /// Values of one observation (as the plugin's `observation_len`).
    pub fn obs_len(&self) -> usize {
        match self.kind {
            ffi::ENV_GRIDWORLD => 2 * self.cells(),
            ffi::ENV_CARTPOLE => 4,
            ffi::ENV_PENDULUM => 3,
            ffi::ENV_MOUNTAINCAR => 2,
            _ => 6,
        }
    }

    /// Bytes of one episode's cells (the grid world's food; 0 otherwise).
    pub fn cells(&self) -> usize {
        if self.is_grid() {
            self.size as usize * self.size as usize
        } else {
            0
        }
    }

    /// Words of one episode's reset scratch.
    pub fn scratch(&self) -> usize {
        if self.is_grid() {
            2 * self.food as usize
        } else {
            0
        }
    }

    /// The most active inputs of one grid-world observation (the agent and every food item).
    pub fn max_active(&self) -> usize {
        1 + self.food as usize
    }
}

/// A batch of `n` episodes of one environment whose states, cells, observations and
/// transitions live in memory `M` ([`DeviceEnvs`] on a device, [`HostEnvs`] for the kernels'
/// own code on the host): the host writes seeds and actions and reads back what it asks for.
pub struct Envs<M: Memory> {
    mem: M,
    params: SnnkEnvParams,
    n: usize,
    states: M::Buf<SnnkEnvState>,
    cells: M::Buf<u8>,
    scratch: M::Buf<u32>,
    seeds: M::Buf<u64>,
    actions: M::Buf<f64>,
    obs: M::Buf<f64>,
    out: M::Buf<SnnkEnvTransition>,
    active: M::Buf<u32>,
    n_active: M::Buf<u32>,
}

/// Environments on a device.
pub type DeviceEnvs = Envs<Device>;

/// Environments stepped by the kernels' code on the host.
pub type HostEnvs = Envs<Host>;

impl Envs<Host> {
    /// `n` episodes on the host, none started; `None` in a build without GPU kernels.
    pub fn on_host(params: SnnkEnvParams, n: usize) -> Option<Result<Self>> {
        platform()?;
        Some(Envs::new(Host, params, n))
    }
}

impl<M: Memory> Envs<M> {
    /// Buffers for `n` episodes of `params`, none started.
    pub fn new(mem: M, params: SnnkEnvParams, n: usize) -> Result<Self> {
        Ok(Envs {
            states: mem.alloc(n)?,
            cells: mem.alloc(n * params.cells())?,
            scratch: mem.alloc(n * params.scratch())?,
            seeds: mem.alloc(n)?,
            actions: mem.alloc(n)?,
            obs: mem.alloc(n * params.obs_len())?,
            out: mem.alloc(n)?,
            active: mem.alloc(n * params.max_active())?,
            n_active: mem.alloc(n)?,
            mem,
            params,
            n,
        })
    }

    /// The environment.
    pub fn params(&self) -> &SnnkEnvParams {
        &self.params
    }

    /// Starts every episode from its seed (`seeds[a]`, as the plugin's `reset(seed)`).
    pub fn reset(&mut self, seeds: &[u64]) -> Result<()> {
        assert_eq!(seeds.len(), self.n, "one seed per episode");
        M::write(&mut self.seeds, seeds)?;
        // SAFETY: every buffer was sized in `new` for n episodes of these parameters, in the
        // memory the context belongs to.
        check(
            unsafe {
                ffi::snnk_env_reset(
                    self.mem.ctx(),
                    self.params,
                    self.n as u32,
                    M::ptr(&mut self.seeds),
                    M::ptr(&mut self.states),
                    M::ptr(&mut self.cells),
                    M::ptr(&mut self.scratch),
                    M::ptr(&mut self.obs),
                )
            },
            "resetting environments",
        )
    }

    /// One step of every running episode with `actions[a]`.
    pub fn step(&mut self, actions: &[f64]) -> Result<()> {
        assert_eq!(actions.len(), self.n, "one action per episode");
        M::write(&mut self.actions, actions)?;
        // SAFETY: as in `reset`.
        check(
            unsafe {
                ffi::snnk_env_step(
                    self.mem.ctx(),
                    self.params,
                    self.n as u32,
                    M::ptr(&mut self.actions),
                    M::ptr(&mut self.states),
                    M::ptr(&mut self.cells),
                    M::ptr(&mut self.obs),
                    M::ptr(&mut self.out),
                )
            },
            "stepping environments",
        )
    }

    /// Lists the grid world's active inputs under `encoder` (`ffi::ENCODER_*`); read them
    /// with [`Envs::read_active`].
    pub fn list_active(&mut self, encoder: u32) -> Result<()> {
        // SAFETY: as in `reset`; `active` has 1 + food entries per episode.
        check(
            unsafe {
                ffi::snnk_grid_active(
                    self.mem.ctx(),
                    self.params,
                    encoder,
                    self.n as u32,
                    M::ptr(&mut self.states),
                    M::ptr(&mut self.cells),
                    M::ptr(&mut self.active),
                    M::ptr(&mut self.n_active),
                )
            },
            "listing active inputs",
        )
    }

    /// The last step's transitions (`n`).
    pub fn read_transitions(&self, out: &mut [SnnkEnvTransition]) -> Result<()> {
        M::read(&self.out, out)
    }

    /// The current observations (`n · obs_len` values).
    pub fn read_obs(&self, out: &mut [f64]) -> Result<()> {
        M::read(&self.obs, out)
    }

    /// The episodes' states (`n`).
    pub fn read_states(&self, out: &mut [SnnkEnvState]) -> Result<()> {
        M::read(&self.states, out)
    }

    /// The last lists of active inputs: episode a's are `active[a · max_active ..]`, their
    /// number `n_active[a]`.
    pub fn read_active(&self, active: &mut [u32], n_active: &mut [u32]) -> Result<()> {
        M::read(&self.active, active)?;
        M::read(&self.n_active, n_active)
    }
}
