//! The shipped environments' device versions (hip/envs.hip): a batch of episodes of one
//! environment stepped one thread per episode, so that a batch of agents need not come back
//! to the host for its worlds. [`HostEnvs`] runs the same per-episode code on the host: that
//! is how a build without a device checks it against the plugins (tests/gpu.rs), and
//! [`DeviceEnvs`] holds the same batch in device memory.
//!
//! The plugins stay the environments of every CPU run and the reference; which plugins have
//! a device version is [`SnnkEnvParams::for_plugin`].

use crate::ffi::{self, SnnkEnvParams, SnnkEnvState, SnnkEnvTransition};
use crate::{check, platform, Context, DeviceBuffer, DeviceCopy, Result};
use std::sync::Arc;

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

/// A batch of `n` episodes of one environment, stepped on the host by the kernels' own
/// per-episode code (`snnk_env_*_host`).
#[derive(Debug, Clone)]
pub struct HostEnvs {
    params: SnnkEnvParams,
    states: Vec<SnnkEnvState>,
    cells: Vec<u8>,
    scratch: Vec<u32>,
}

impl HostEnvs {
    /// `n` episodes, none started; `None` in a build without GPU kernels.
    pub fn new(params: SnnkEnvParams, n: usize) -> Option<Self> {
        platform()?;
        Some(HostEnvs {
            params,
            states: vec![SnnkEnvState::default(); n],
            cells: vec![0; (n * params.cells()).max(1)],
            scratch: vec![0; (n * params.scratch()).max(1)],
        })
    }

    /// The environment.
    pub fn params(&self) -> &SnnkEnvParams {
        &self.params
    }

    /// The episodes' states.
    pub fn states(&self) -> &[SnnkEnvState] {
        &self.states
    }

    /// Starts every episode from its seed (`seeds[a]`, as the plugin's `reset(seed)`),
    /// writing the first observations into `obs` (`n · obs_len` values) when given.
    pub fn reset(&mut self, seeds: &[u64], obs: Option<&mut [f64]>) -> Result<()> {
        let n = self.states.len();
        assert_eq!(seeds.len(), n, "one seed per episode");
        let obs = obs_ptr(obs, n * self.params.obs_len());
        // SAFETY: every buffer holds what snnk.h asks for n episodes of these parameters.
        check(
            unsafe {
                ffi::snnk_env_reset_host(
                    self.params,
                    n as u32,
                    seeds.as_ptr(),
                    self.states.as_mut_ptr(),
                    self.cells.as_mut_ptr(),
                    self.scratch.as_mut_ptr(),
                    obs,
                )
            },
            "resetting environments on the host",
        )
    }

    /// One step of every running episode with `actions[a]`, the transitions into `out` and
    /// the observations into `obs` when given.
    pub fn step(
        &mut self,
        actions: &[f64],
        obs: Option<&mut [f64]>,
        out: &mut [SnnkEnvTransition],
    ) -> Result<()> {
        let n = self.states.len();
        assert!(
            actions.len() == n && out.len() == n,
            "one action and transition per episode"
        );
        let obs = obs_ptr(obs, n * self.params.obs_len());
        // SAFETY: as in `reset`.
        check(
            unsafe {
                ffi::snnk_env_step_host(
                    self.params,
                    n as u32,
                    actions.as_ptr(),
                    self.states.as_mut_ptr(),
                    self.cells.as_mut_ptr(),
                    obs,
                    out.as_mut_ptr(),
                )
            },
            "stepping environments on the host",
        )
    }

    /// The grid world's active inputs under `encoder` (`ffi::ENCODER_*`): episode a's are
    /// `active[a · max_active ..][..n_active[a]]`.
    pub fn active(&self, encoder: u32, active: &mut [u32], n_active: &mut [u32]) -> Result<()> {
        let n = self.states.len();
        assert!(
            active.len() >= n * self.params.max_active() && n_active.len() == n,
            "room for every episode's active inputs"
        );
        // SAFETY: as in `reset`; the lists have room for 1 + food entries per episode.
        check(
            unsafe {
                ffi::snnk_grid_active_host(
                    self.params,
                    encoder,
                    n as u32,
                    self.states.as_ptr(),
                    self.cells.as_ptr(),
                    active.as_mut_ptr(),
                    n_active.as_mut_ptr(),
                )
            },
            "listing active inputs on the host",
        )
    }
}

fn obs_ptr(obs: Option<&mut [f64]>, len: usize) -> *mut f64 {
    match obs {
        Some(o) => {
            assert_eq!(o.len(), len, "n · obs_len observation values");
            o.as_mut_ptr()
        }
        None => std::ptr::null_mut(),
    }
}

/// A batch of `n` episodes of one environment in device memory (`snnk_env_*`): the
/// episodes' states, cells, observations and transitions stay on the device between steps;
/// the host uploads seeds and actions and reads back what it asks for.
#[derive(Debug)]
pub struct DeviceEnvs {
    params: SnnkEnvParams,
    n: usize,
    states: DeviceBuffer<SnnkEnvState>,
    cells: DeviceBuffer<u8>,
    scratch: DeviceBuffer<u32>,
    seeds: DeviceBuffer<u64>,
    actions: DeviceBuffer<f64>,
    obs: DeviceBuffer<f64>,
    out: DeviceBuffer<SnnkEnvTransition>,
    active: DeviceBuffer<u32>,
    n_active: DeviceBuffer<u32>,
}

impl DeviceEnvs {
    /// Buffers for `n` episodes on `ctx`.
    pub fn new(ctx: &Arc<Context>, params: SnnkEnvParams, n: usize) -> Result<Self> {
        let n1 = n.max(1);
        Ok(DeviceEnvs {
            params,
            n,
            states: ctx.alloc(n1)?,
            cells: ctx.alloc((n * params.cells()).max(1))?,
            scratch: ctx.alloc((n * params.scratch()).max(1))?,
            seeds: ctx.alloc(n1)?,
            actions: ctx.alloc(n1)?,
            obs: ctx.alloc(n1 * params.obs_len())?,
            out: ctx.alloc(n1)?,
            active: ctx.alloc(n1 * params.max_active())?,
            n_active: ctx.alloc(n1)?,
        })
    }

    /// Starts every episode from its seed; the observations stay on the device
    /// ([`DeviceEnvs::read_obs`]).
    pub fn reset(&mut self, seeds: &[u64]) -> Result<()> {
        assert_eq!(seeds.len(), self.n, "one seed per episode");
        self.seeds.write(0, seeds)?;
        // SAFETY: every buffer is this context's, sized for n episodes of these parameters.
        check(
            unsafe {
                ffi::snnk_env_reset(
                    self.states.ctx.raw,
                    self.params,
                    self.n as u32,
                    self.seeds.ptr(),
                    self.states.ptr(),
                    self.cells.ptr(),
                    self.scratch.ptr(),
                    self.obs.ptr(),
                )
            },
            "launching environment resets",
        )
    }

    /// One step of every running episode; transitions and observations stay on the device.
    pub fn step(&mut self, actions: &[f64]) -> Result<()> {
        assert_eq!(actions.len(), self.n, "one action per episode");
        self.actions.write(0, actions)?;
        // SAFETY: as in `reset`.
        check(
            unsafe {
                ffi::snnk_env_step(
                    self.states.ctx.raw,
                    self.params,
                    self.n as u32,
                    self.actions.ptr(),
                    self.states.ptr(),
                    self.cells.ptr(),
                    self.obs.ptr(),
                    self.out.ptr(),
                )
            },
            "launching environment steps",
        )
    }

    /// Lists the grid world's active inputs under `encoder` on the device.
    pub fn list_active(&mut self, encoder: u32) -> Result<()> {
        // SAFETY: as in `reset`; `active` has 1 + food entries per episode.
        check(
            unsafe {
                ffi::snnk_grid_active(
                    self.states.ctx.raw,
                    self.params,
                    encoder,
                    self.n as u32,
                    self.states.ptr(),
                    self.cells.ptr(),
                    self.active.ptr(),
                    self.n_active.ptr(),
                )
            },
            "launching active-input lists",
        )
    }

    /// The last step's transitions.
    pub fn read_transitions(&self, out: &mut [SnnkEnvTransition]) -> Result<()> {
        self.out.read(0, out)
    }

    /// The current observations (`n · obs_len` values).
    pub fn read_obs(&self, out: &mut [f64]) -> Result<()> {
        self.obs.read(0, out)
    }

    /// The episodes' states.
    pub fn read_states(&self, out: &mut [SnnkEnvState]) -> Result<()> {
        self.states.read(0, out)
    }

    /// The last lists of active inputs, as [`HostEnvs::active`] gives them.
    pub fn read_active(&self, active: &mut [u32], n_active: &mut [u32]) -> Result<()> {
        self.active.read(0, active)?;
        self.n_active.read(0, n_active)
    }
}
