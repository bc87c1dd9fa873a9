//! A trained policy, loaded from a training run's checkpoint and asked for one action at a
//! time: what an evaluation script, a deployment or a language binding needs without the
//! trainer.
//!
//! Nothing of a decision is written here: [`Policy::act`] calls the functions the trainers'
//! episodes call (`control::decide` and `control::decode` for a control task,
//! `train::decide` and `train::sample_categorical` for the foraging task), on the network a
//! resumed run would restore (learned weights, grown and pruned hidden population), so an
//! action is the one training would take for that observation and random draw. The checks
//! that the environment, encoder and populations fit are the trainers' own
//! (`policy_layers`). Only the environment plugin is loaded (for the observation length and
//! action space), not the rule plugin: acting needs no gradients.
//!
//! A decision starts from zero state, so the policy keeps no state between decisions but
//! its random stream; [`Policy::reset`] is there so that a stateful policy fits the same use.

use super::policy_net::PolicyNet;
use super::setup::{params, Setup};
use super::{control, train};
use crate::checkpoint::{self, Checkpoint, Kind};
use crate::error::{Error, Result};
use crate::exec::Trace;
use crate::file::{AgentSpec, Decoder, Source, TaskSpec};
use crate::graph::ProjId;
use crate::real::widen;
use crate::rng::{stream, Rng};
use std::path::Path;

/// The actions a policy takes.
#[derive(Debug, Clone, PartialEq)]
pub enum ActionSpace {
    /// `n` discrete actions; an action is its index, 0 to n − 1.
    Discrete(usize),
    /// A continuous action, one value per dimension, each within [low, high].
    Box {
        /// Lowest value per dimension.
        low: Vec<f64>,
        /// Highest value per dimension.
        high: Vec<f64>,
    },
}

/// Which trainer made the policy, and so which decision it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Task {
    /// `task: Agent(...)`: on/off inputs, a categorical readout.
    Foraging,
    /// `task: Control(...)`: input currents, a categorical or Gaussian decoder.
    Control,
}

/// A trained spiking policy: the network of a training checkpoint, acting one observation at
/// a time.
pub struct Policy {
    task: Task,
    spec: AgentSpec,
    layers: PolicyNet,
    /// input → hidden and hidden → readout, row-major.
    w1: Vec<f64>,
    w2: Vec<f64>,
    obs_len: usize,
    action_space: ActionSpace,
    env_params: String,
    origin: String,
    episodes: u64,
    rng: Rng,
    /// Scratch memory of a decision.
    inputs: Vec<(u32, f64)>,
    active: Vec<u32>,
    trace: Trace,
    scratch: train::Scratch,
    z: Vec<f64>,
    pi: Vec<f64>,
    dlogp: Vec<f64>,
    dent: Vec<f64>,
}

/// The random stream of a policy's sampled actions after a reset with `seed`.
fn sampling_stream(seed: u64) -> Rng {
    stream(seed, "policy", "", 0)
}

impl Policy {
    /// Loads the policy of a training run: `path` is a run directory (its newest checkpoint
    /// that reads back intact) or a checkpoint file. The environment plugin of the run is
    /// loaded; the sampling stream starts from the run's seed.
    pub fn load(path: &Path) -> Result<Policy> {
        let (ck_path, ck) = if path.is_dir() {
            let mut refused = Vec::new();
            match checkpoint::newest_valid(path, false, &mut |why| refused.push(why.to_string()))? {
                Some(found) => found,
                None => {
                    let why = if refused.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", refused.join("; "))
                    };
                    return Err(Error::Input(format!(
                        "{}: no valid checkpoint to load a policy from{why}; train with --checkpoint-every N (or `checkpoint_every` in the file) to keep one",
                        path.display()
                    )));
                }
            }
        } else if path.exists() {
            (path.to_path_buf(), Checkpoint::read(path)?)
        } else {
            return Err(Error::Input(format!(
                "{}: no such run directory or checkpoint file",
                path.display()
            )));
        };
        if ck.kind != Kind::Training {
            return Err(Error::Input(format!(
                "{} is a checkpoint of a simulation run; a policy loads from a training run's checkpoint",
                ck_path.display()
            )));
        }
        let source = Source::from_text(format!("{} (config)", ck_path.display()), ck.config);
        let checked = crate::models::load_source(&source)?;
        let (task, spec) = match &checked.file.task {
            Some(TaskSpec::Agent(a)) => (Task::Foraging, a),
            Some(TaskSpec::Control(a)) => (Task::Control, a),
            Some(TaskSpec::Reservoir(_) | TaskSpec::Classify(_)) | None => {
                return Err(Error::Input(format!(
                    "{}: the run's graph file has no agent task",
                    ck_path.display()
                )))
            }
        };
        if spec.off_policy.is_some() {
            return Err(Error::Input(format!(
                "{} is a checkpoint of an off-policy run (a Q-network, docs/rainbow.md); a policy loads the policy-gradient agents' checkpoints",
                ck_path.display()
            )));
        }
        // One environment instance is enough to act.
        let spec = AgentSpec {
            batch: 1,
            ..spec.clone()
        };
        let variant = match task {
            Task::Foraging => "Agent",
            Task::Control => "Control",
        };
        let mut setup = Setup::new(&checked, &spec, variant)?;
        let restored = match task {
            Task::Foraging => train::network_and_edits(&ck.state, &mut setup.net).map(drop),
            Task::Control => control::network_of(&ck.state, &mut setup.net),
        };
        restored.map_err(|why| {
            Error::Input(format!("refusing checkpoint {}: {why}", ck_path.display()))
        })?;
        let layers = match task {
            Task::Foraging => train::policy_layers(&setup)?,
            Task::Control => control::policy_layers(&setup)?,
        };
        let env = &setup.envs[0];
        let obs_len = env.observation_len();
        let action_space = match (env.discrete_actions(), &spec.decoder) {
            (Some(n), _) => ActionSpace::Discrete(n),
            (None, &Decoder::Gaussian { low, high, .. }) => ActionSpace::Box {
                low: vec![low; env.action_len()],
                high: vec![high; env.action_len()],
            },
            (None, Decoder::Categorical) => unreachable!("policy_layers refuses it"),
        };
        let weights = |p: ProjId| -> Vec<f64> {
            let w = setup.net.proj(p).weights.per_synapse();
            widen(w.expect("learned weights are per synapse")).into_owned()
        };
        let (w1, w2) = (weights(setup.wiring.w_in), weights(setup.wiring.w_out));
        let n_pol = match action_space {
            ActionSpace::Discrete(n) => n,
            ActionSpace::Box { .. } => 0,
        };
        Ok(Policy {
            task,
            env_params: params(&spec.environment),
            spec,
            w1,
            w2,
            obs_len,
            action_space,
            origin: format!("checkpoint {} (episode {})", ck_path.display(), ck.position),
            episodes: ck.position,
            rng: sampling_stream(checked.file.seed),
            inputs: Vec::new(),
            active: Vec::new(),
            trace: Trace::default(),
            scratch: train::Scratch::default(),
            z: vec![0.0; layers.out],
            pi: vec![0.0; n_pol],
            dlogp: vec![0.0; layers.out],
            dent: vec![0.0; layers.out],
            layers,
        })
    }

    /// Values per observation.
    pub fn observation_len(&self) -> usize {
        self.obs_len
    }

    /// The actions the policy takes: the environment's discrete actions, or the Gaussian
    /// decoder's clipping bounds for a continuous action.
    pub fn action_space(&self) -> &ActionSpace {
        &self.action_space
    }

    /// `Foraging` (a file's `task: Agent(...)`) or `Control`.
    pub fn task(&self) -> &'static str {
        match self.task {
            Task::Foraging => "Foraging",
            Task::Control => "Control",
        }
    }

    /// The environment plugin's name and its parameters as RON text (`()` when the file gives
    /// none): what makes the environment the policy was trained in.
    pub fn environment(&self) -> (&str, &str) {
        (&self.spec.environment.plugin, &self.env_params)
    }

    /// The agent's settings in the run's graph file (encoder, decoder, decision steps, the
    /// environment plugin's explicit path, ...).
    pub fn spec(&self) -> &AgentSpec {
        &self.spec
    }

    /// Hidden neurons (after the run's growth and pruning).
    pub fn hidden_size(&self) -> usize {
        self.layers.hidden
    }

    /// Episodes trained when the checkpoint was written.
    pub fn episodes(&self) -> u64 {
        self.episodes
    }

    /// What was loaded: `checkpoint <file> (episode N)`.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Starts a new episode: clears what persists between decisions (nothing today: every
    /// decision starts from zero state) and, with `Some(seed)`, restarts the sampling stream
    /// from `seed`; with `None` the stream goes on, so successive episodes draw differently.
    pub fn reset(&mut self, seed: Option<u64>) {
        if let Some(seed) = seed {
            self.rng = sampling_stream(seed);
        }
    }

    /// The readout means z of one decision on `obs`, as training computes them: the logits of
    /// a categorical readout, or z₀ (μ = scale·z₀) and z₁ (log σ = log_std + z₁) of a Gaussian
    /// decoder; then the critic's z, if the policy has a critic (V = value_scale·z).
    pub fn readout(&mut self, obs: &[f64]) -> Result<&[f64]> {
        self.check(obs)?;
        let (spec, layers) = (&self.spec, &self.layers);
        let params = layers.params((&self.w1[..], &self.w2[..]));
        match self.task {
            Task::Foraging => {
                self.active.clear();
                spec.encoder.active(obs, &mut self.active);
                train::decide(
                    spec,
                    layers,
                    &params,
                    &self.active,
                    &mut self.scratch,
                    &mut self.z,
                );
            }
            Task::Control => {
                self.inputs.clear();
                let (inputs, trace) = (&mut self.inputs, &mut self.trace);
                control::decide(spec, layers, &params, obs, inputs, trace, &mut self.z);
            }
        }
        Ok(&self.z)
    }

    /// One decision on `obs`, taken as training takes it (the same encoder, T steps from zero
    /// state and decoder). `deterministic`: the most probable action (a categorical readout) or
    /// the mean μ clipped to the bounds (Gaussian); otherwise sampled from the policy's own
    /// random stream, as an episode samples from its stream. Returns the action: a discrete
    /// action as its index, a continuous one as its values.
    pub fn act(&mut self, obs: &[f64], deterministic: bool) -> Result<Vec<f64>> {
        self.readout(obs)?;
        let rng = (!deterministic).then_some(&mut self.rng);
        let decoder = match self.task {
            Task::Foraging => &Decoder::Categorical,
            Task::Control => &self.spec.decoder,
        };
        let (pi, dlogp, dent) = (&mut self.pi, &mut self.dlogp, &mut self.dent);
        Ok(vec![control::decode(
            decoder, &self.z, rng, pi, dlogp, dent,
        )])
    }

    /// Refuses an observation of the wrong length or with a value that is not finite.
    fn check(&self, obs: &[f64]) -> Result<()> {
        if obs.len() != self.obs_len {
            return Err(Error::Input(format!(
                "observation of {} values, but the policy expects {} (the `{}` environment's)",
                obs.len(),
                self.obs_len,
                self.spec.environment.plugin
            )));
        }
        if let Some(i) = obs.iter().position(|x| !x.is_finite()) {
            return Err(Error::Input(format!(
                "observation value {i} is {}, not a finite number",
                obs[i]
            )));
        }
        Ok(())
    }
}
