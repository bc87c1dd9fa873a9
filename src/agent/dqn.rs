//! Off-policy training of a spiking Q-network on a control task (`task: Control(...,
//! off_policy: (...))`, docs/rainbow.md): DQN with its usual parts, each one a setting.
//!
//! The Q-network is the graph file's whole network, run by the executor ([`crate::exec`]): the
//! input population gets the encoder's currents, held for the T steps of a decision; every
//! other population (any chain of spiking hidden layers, any model with a surrogate) is stepped
//! and differentiated there; the readout is a non-spiking leaky population (`reset: NoReset`)
//! whose membrane averaged over the T steps is Q(s, ·), one neuron per action: a dense linear
//! readout of the last hidden layer's spikes. Nothing here knows a neuron's equations.
//!
//! The trainer owns what is off-policy: one environment stepped one decision at a time with
//! ε-greedy actions (uniformly random during the warm-up), n-step transitions
//! (s, a, r…r_{m−1}, s', terminal) into a replay buffer ([`super::replay`]; uniform, or
//! prioritized with α and β annealed to 1 over the budget), an update every `train_every`
//! steps on a minibatch, and the target network: a copy of the weights taken every
//! `target_every` updates, or Polyak-averaged with τ after every update. The loss is the
//! rule's (plugin ABI 1.5 `td_loss`, the `dqn` plugin): the trainer passes the online Q(s, ·),
//! Q(s', ·) and the target Q(s', ·), gets ∂L/∂Q(s, ·) and the TD errors back, backpropagates
//! ∂L/∂Q through the executor (∂Q/∂mem_t = 1/T at every step of the readout) and lets each
//! projection's rule instance take its optimiser step.
//!
//! Two Rainbow parts change what the network outputs: with C51 (`distributional`) the readout
//! holds per action the logits of a categorical return distribution, Q is its mean, and the
//! rule's distributional loss (ABI 1.6 `dist_loss`) replaces `td_loss`; with Noisy nets
//! (`exploration: Noisy`, [`super::noisy`]) the projections into the readouts carry learned
//! factorised Gaussian noise, drawn per environment step for acting and per update (online
//! and target independently) for learning, and the greedy evaluation uses μ alone.
//!
//! With `--dense` the hidden populations are ReLU units instead ([`crate::exec::Model::Relu`]):
//! the same architecture as a conventional DQN, evaluated once per decision, trained by the
//! same code; the greedy evaluation counts both networks' synaptic operations per decision
//! ([`crate::exec::Net::synaptic_ops`]) for the comparison of their energy.
//!
//! Every random draw is keyed by what it belongs to — the action (and acting noise) of
//! environment step t, the minibatch (and noise) of update u, the reset of episode e — so a
//! run is the same bits on any number of
//! threads (minibatch samples run in parallel and their gradients are summed in fixed chunks,
//! as in [`crate::exec::Net::batch`]), and a checkpoint needs no random-stream state.

// Index loops mirror the equations above, over several arrays at once.
#![allow(clippy::needless_range_loop)]

use super::control::ControlMetrics;
use super::noisy::Noisy;
use super::replay::{Drawn, Replay};
use super::setup::{located, located_input, params};
use crate::checkpoint::codec::{Dec, DecResult, Enc};
use crate::checkpoint::net;
use crate::error::{Error, Result};
use crate::exec::{self, Grads, Params, Seq, SynOps, Trace, CHUNK};
use crate::file::{AgentSpec, Checked, Distributional, Exploration, OffPolicySpec, TaskSpec};
use crate::graph::{Network, ProjId};
use crate::plugin::{self, EnvInstance, Kind, RuleInstance};
use crate::real::{widen, F64View};
use crate::rng::stream;
use rand::Rng as _;
use rayon::prelude::*;
use snnsim_plugin_api::abi::{DistBatchV1, GradStepV1, ProjShapeV1, TdBatchV1};
use std::collections::VecDeque;

/// The episode in progress.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Running {
    pub ret: f64,
    pub length: u32,
    pub spikes: f64,
    pub sim_steps: u64,
    pub events: u64,
}

/// What the greedy evaluation after training measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The return of each greedy episode.
    pub returns: Vec<f64>,
    /// Per hidden population (name, fraction of its neurons silent per simulation step).
    pub silent_fraction: Vec<(String, f64)>,
    /// The synaptic operations of all greedy decisions ([`exec::Net::synaptic_ops`]).
    pub ops: SynOps,
    /// Greedy decisions taken.
    pub decisions: u64,
    /// Wall time of the evaluation (s): the decisions and the environment's steps.
    pub wall_s: f64,
}

/// A spiking Q-network on a control task, its environment, replay buffer and target network.
pub struct DqnTrainer {
    /// The network holding the online Q-network.
    pub net: Network,
    spec: AgentSpec,
    op: OffPolicySpec,
    plan: exec::Net,
    /// The network projection of each link of the plan.
    projs: Vec<ProjId>,
    readout: usize,
    /// The value stream's readout (dueling).
    value: Option<usize>,
    hidden: Vec<usize>,
    n_actions: usize,
    /// Outputs per action: 1, or C51's atoms.
    atoms: usize,
    pub(super) env: EnvInstance,
    pub(super) rules: Vec<RuleInstance>,
    /// The online weights (widened) and the target network's, per link.
    online: Vec<Vec<f64>>,
    pub(super) target: Vec<Vec<f64>>,
    pub(super) replay: Replay,
    /// Noisy-net readouts: σ, the target's σ and σ's rule instances.
    noisy: Option<Noisy>,
    /// Learned decays (`learn_decay`), per population of the plan: the online values and the
    /// target network's (layout of [`exec::Params::decays`]).
    decays: Vec<Option<Vec<f64>>>,
    target_decays: Vec<Option<Vec<f64>>>,
    /// One rule instance per population that learns its decays (in plan order): the weights'
    /// optimiser on its decays as on a 1 × m projection, clipped with the same global norm.
    decay_rules: Vec<RuleInstance>,
    /// The last decisions of the episode not yet stored: (s, a, r).
    pub(super) pending: VecDeque<(Vec<f64>, u32, f64)>,
    pub(super) obs: Vec<f64>,
    pub(super) running: Running,
    seed: u64,
    /// Environment steps taken.
    pub env_steps: u64,
    /// Episodes completed.
    pub episodes_done: u64,
    pub(super) updates: u64,
    /// Metrics of every episode so far.
    pub metrics: Vec<ControlMetrics>,
    pool: Option<rayon::ThreadPool>,
    /// The hidden populations are ReLU units (`--dense`).
    dense: bool,
    /// Scratch of the updates' forward passes, a pair per minibatch slot (the trace of s kept
    /// for the backward pass, and one for the passes on s′), reused from update to update so
    /// that a minibatch allocates no traces. Not state: every pass overwrites what it reads.
    traces: Vec<[Trace; 2]>,
}

impl DqnTrainer {
    /// Builds the network of a checked file with an off-policy `Control` task, loads its
    /// environment and value-rule plugins, and resets the environment for episode 0. With
    /// `dense`, every hidden population (neither input nor readout) is made of ReLU units
    /// ([`exec::Net::with_relu`]): the same sizes and projections as a conventional network,
    /// evaluated once per decision (one step instead of the task's `decision_steps`: its units
    /// have no state, and its inputs are held); populations of ReLU units learn no decays.
    pub fn new(checked: &Checked, dense: bool) -> Result<Self> {
        let f = &checked.file;
        let Some(TaskSpec::Control(spec)) = &f.task else {
            return Err(Error::Input("the file has no control task".into()));
        };
        let Some(op) = &spec.off_policy else {
            return Err(Error::Input("the control task has no `off_policy`".into()));
        };
        let at = |field: &str, e: Error| located(checked, "Control", field, e);
        let mut net = crate::graph::build(checked)?;
        let env_plugin = plugin::load(
            &spec.environment.plugin,
            spec.environment.path.as_deref().map(std::path::Path::new),
            Kind::Env,
        )
        .map_err(|e| at("environment.plugin", e))?;
        let mut env = env_plugin
            .create_env(&params(&spec.environment))
            .map_err(|e| located_input(checked, "Control", "environment.params", e))?;
        let input = net.pop_id(&spec.input).expect("validated population");
        let readout = net.pop_id(&spec.readout).expect("validated population");
        let mut readouts = vec![readout];
        if let Some(v) = &op.dueling {
            readouts.push(net.pop_id(v).expect("validated population"));
        }
        let plan = exec::Net::from_network(&net, &[input], &readouts, spec.surrogate)
            .map_err(|e| at("hidden", Error::Input(e.to_string())))?;
        let plan = if dense {
            let hidden: Vec<usize> = (0..plan.pops().len())
                .filter(|&q| !plan.readouts().contains(&q) && plan.neuron(q).is_some())
                .collect();
            plan.with_relu(&hidden)
        } else {
            plan
        };
        let mut spec = spec.clone();
        if dense {
            spec.decision_steps = 1;
        }
        let ro = plan.readouts()[0];
        let value = plan.readouts().get(1).copied();
        let atoms = op.distributional.as_ref().map_or(1, |d| d.atoms);
        let n_out = plan.pops()[ro].size;
        let n_actions = n_out / atoms;
        match env.discrete_actions() {
            Some(k) if k * atoms == n_out => {}
            Some(k) if atoms > 1 => {
                return Err(at(
                    "readout",
                    Error::Input(format!(
                        "the environment has {k} discrete actions, so a distributional readout of {atoms} atoms needs {} neurons (action-major), but it has {n_out}",
                        k * atoms
                    )),
                ))
            }
            other => {
                return Err(at(
                    "readout",
                    Error::Input(match other {
                        Some(k) => format!(
                            "the environment has {k} discrete actions, so the readout needs {k} neurons (one Q-value each), but it has {n_out}"
                        ),
                        None => "off-policy training needs an environment with discrete actions".into(),
                    }),
                ))
            }
        }
        let obs_len = env.observation_len();
        let n_in = net.pop(input).len();
        if spec.encoder.input_len(obs_len) != Some(n_in) {
            return Err(at(
                "input",
                Error::Input(format!(
                    "the environment observes {obs_len} values, which the encoder does not present to the input population's {n_in} neurons"
                )),
            ));
        }
        if plan.links().iter().any(|l| l.recurrent) {
            return Err(at(
                "hidden",
                Error::Input("an off-policy Q-network is feed-forward: no projection may go back to an earlier population".into()),
            ));
        }
        let projs: Vec<ProjId> = plan
            .links()
            .iter()
            .map(|l| {
                net.proj_ids()
                    .into_iter()
                    .find(|&p| net.proj(p).name == l.name)
                    .expect("a projection of the plan")
            })
            .collect();
        for &p in &projs {
            net.proj_mut(p).weights.make_per_synapse();
        }
        let rule_plugin = plugin::load(
            &spec.rule.plugin,
            spec.rule.path.as_deref().map(std::path::Path::new),
            Kind::Rule,
        )
        .map_err(|e| at("rule.plugin", e))?;
        let mut rules = Vec::new();
        for &p in &projs {
            let (pre, post) = net.endpoints(p);
            let shape = ProjShapeV1 {
                n_pre: net.pop(pre).len() as u64,
                n_post: net.pop(post).len() as u64,
                nnz: net.proj(p).nnz() as u64,
                dt_ms: f.dt_ms,
            };
            let mut inst = rule_plugin
                .create_rule(&params(&spec.rule), shape)
                .map_err(|e| located_input(checked, "Control", "rule.params", e))?;
            // An empty minibatch probes whether the rule learns values (distributions).
            let probe = match &op.distributional {
                None if inst.is_value_rule() => inst.td_loss(&mut empty_batch(n_actions)),
                None => Err(Error::Input("plugin ABI 1.4 or older".into())),
                Some(d) if inst.is_distributional_rule() => {
                    let mut b = empty_dist_batch(n_actions, d);
                    inst.dist_loss(&mut b)
                }
                Some(_) => Err(Error::Input("plugin ABI 1.5 or older".into())),
            };
            if let Err(e) = probe {
                let what = match op.distributional {
                    None => "a value rule (plugin ABI 1.5, such as `dqn`), which off-policy training needs",
                    Some(_) => "a distributional value rule (plugin ABI 1.6, such as `dqn`), which `distributional` needs",
                };
                return Err(at(
                    "rule.plugin",
                    Error::Input(format!("`{}` is not {what} ({e})", spec.rule.plugin)),
                ));
            }
            rules.push(inst);
        }
        let noisy = match op.exploration {
            Exploration::EpsilonGreedy => None,
            Exploration::Noisy { sigma0 } => {
                let links: Vec<usize> = (0..plan.links().len())
                    .filter(|&l| plan.readouts().contains(&plan.links()[l].post))
                    .collect();
                let mut sigma_rules = Vec::new();
                for &l in &links {
                    let (pre, post) = net.endpoints(projs[l]);
                    let shape = ProjShapeV1 {
                        n_pre: net.pop(pre).len() as u64,
                        n_post: net.pop(post).len() as u64,
                        nnz: net.proj(projs[l]).nnz() as u64,
                        dt_ms: f.dt_ms,
                    };
                    sigma_rules.push(
                        rule_plugin
                            .create_rule(&params(&spec.rule), shape)
                            .map_err(|e| located_input(checked, "Control", "rule.params", e))?,
                    );
                }
                Some(Noisy::new(
                    links,
                    plan.links(),
                    plan.pops(),
                    sigma0,
                    sigma_rules,
                ))
            }
        };
        let decays: Vec<Option<Vec<f64>>> = (0..plan.pops().len())
            .map(|q| {
                let name = &plan.pops()[q].name;
                let learns = f
                    .populations
                    .iter()
                    .any(|p| &p.name == name && p.learn_decay);
                learns.then(|| plan.initial_decays(q)).flatten()
            })
            .collect();
        let mut decay_rules = Vec::new();
        for d in decays.iter().flatten() {
            let shape = ProjShapeV1 {
                n_pre: 1,
                n_post: d.len() as u64,
                nnz: d.len() as u64,
                dt_ms: f.dt_ms,
            };
            decay_rules.push(
                rule_plugin
                    .create_rule(&params(&spec.rule), shape)
                    .map_err(|e| located_input(checked, "Control", "rule.params", e))?,
            );
        }
        let hidden = (0..plan.pops().len())
            .filter(|&q| !plan.readouts().contains(&q) && plan.neuron(q).is_some())
            .collect();
        let prio = op.prioritized.as_ref().map(|p| (p.alpha, p.eps));
        let replay = Replay::new(op.buffer, obs_len, op.n_step, prio);
        let mut obs = vec![0.0; obs_len];
        env.reset(episode_seed(f.seed, 0), &mut obs)?;
        let mut t = DqnTrainer {
            net,
            spec,
            op: op.clone(),
            plan,
            projs,
            readout: ro,
            value,
            hidden,
            n_actions,
            atoms,
            env,
            rules,
            online: Vec::new(),
            target: Vec::new(),
            replay,
            noisy,
            target_decays: decays.clone(),
            decays,
            decay_rules,
            pending: VecDeque::new(),
            obs,
            running: Running::default(),
            seed: f.seed,
            env_steps: 0,
            episodes_done: 0,
            updates: 0,
            metrics: Vec::new(),
            pool: None,
            dense,
            traces: Vec::new(),
        };
        t.refresh_online();
        t.target = t.online.clone();
        Ok(t)
    }

    /// Runs the minibatch's samples on `threads` worker threads. Results do not depend on it.
    pub fn set_threads(&mut self, threads: usize) -> Result<()> {
        self.pool = Some(super::thread_pool(threads)?);
        Ok(())
    }

    /// The task's settings.
    pub fn spec(&self) -> &AgentSpec {
        &self.spec
    }

    /// Whether the hidden populations are ReLU units (`--dense`).
    pub fn dense(&self) -> bool {
        self.dense
    }

    /// Updates applied.
    pub fn updates(&self) -> u64 {
        self.updates
    }

    /// The off-policy settings.
    pub fn off_policy(&self) -> &OffPolicySpec {
        &self.op
    }

    /// Copies the network's weights (widened to f64) into the online parameters.
    pub(super) fn refresh_online(&mut self) {
        self.online = self
            .projs
            .iter()
            .map(|&p| {
                let w = self.net.proj(p).weights.per_synapse();
                widen(w.expect("learned weights are per synapse")).into_owned()
            })
            .collect();
    }

    /// Q(s, ·) of observation `obs` with the online weights (μ only with Noisy nets).
    pub fn q_values(&self, obs: &[f64]) -> Vec<f64> {
        let mut tr = Trace::default();
        let mut q = vec![0.0; self.n_actions];
        self.forward(&self.online, obs, &mut tr, &mut q);
        q
    }

    /// One decision from zero state on `obs` with `weights` (and the online decays): the
    /// trace, and Q into `q`.
    fn forward(&self, weights: &[Vec<f64>], obs: &[f64], tr: &mut Trace, q: &mut [f64]) {
        let qnet = self.qnet();
        let theta = (weights, &self.decays[..]);
        if self.atoms == 1 {
            qnet.forward(theta, obs, tr, q)
        } else {
            let mut out = vec![0.0; self.n_actions * self.atoms];
            qnet.forward(theta, obs, tr, &mut out);
            qnet.q_of(&out, q);
        }
    }

    /// The learned decays, per population of the plan (`None` where not learned).
    pub fn decays(&self) -> &[Option<Vec<f64>>] {
        &self.decays
    }

    /// `decays.csv` of the learned decays, `None` when no population learns them.
    pub fn decays_csv(&self) -> Option<String> {
        self.decays
            .iter()
            .any(Option::is_some)
            .then(|| self.plan.decays_csv(&self.decays))
    }

    /// The state hash of the network after `env_steps` steps, and of the learned decays where
    /// populations learn them (a file without them hashes as before).
    pub fn state_hash(&self) -> String {
        let net = crate::engine::hash::state_hash(&self.net, self.env_steps);
        if self.decays.iter().all(Option::is_none) {
            return net;
        }
        let mut h = crate::engine::hash::StateHasher::default();
        h.bytes(net.as_bytes());
        for d in self.decays.iter().flatten() {
            h.f64s(d);
        }
        format!("{:016x}", h.finish())
    }

    /// What a decision needs of the trainer (shared by worker threads).
    fn qnet(&self) -> QNet<'_> {
        QNet {
            plan: &self.plan,
            spec: &self.spec,
            readout: self.readout,
            value: self.value,
            n_actions: self.n_actions,
            atoms: self.atoms,
            dist: self.op.distributional.as_ref(),
        }
    }

    /// ε at environment step `t`.
    fn epsilon(&self, t: u64) -> f64 {
        let e = &self.op.epsilon;
        let f = (t as f64 / e.steps as f64).min(1.0);
        e.start + (e.end - e.start) * f
    }

    /// Trains until `env_steps` environment steps or `episodes` episodes are done in all,
    /// whichever comes first, calling `progress` after every finished episode.
    pub fn train(
        &mut self,
        env_steps: u64,
        episodes: u64,
        mut progress: impl FnMut(&DqnTrainer),
    ) -> Result<()> {
        while self.env_steps < env_steps && self.episodes_done < episodes {
            if self.step()? {
                progress(self);
            }
        }
        Ok(())
    }

    /// One environment step (and an update when one is due); true when it ended an episode.
    pub fn step(&mut self) -> Result<bool> {
        let t = self.env_steps;
        let mut rng = stream(self.seed, "dqn-act", "", t);
        let mut tr = Trace::default();
        let mut q = vec![0.0; self.n_actions];
        let obs = std::mem::take(&mut self.obs);
        match &self.noisy {
            // Noisy nets act greedily on Q with noise drawn for this step.
            Some(nz) if t >= self.op.warmup => {
                let (links, pops) = (self.plan.links(), self.plan.pops());
                let eps = nz.draw(links, pops, &mut stream(self.seed, "dqn-noise", "act", t));
                let w = nz.apply(&self.online, &nz.sigma, &eps);
                self.forward(&w, &obs, &mut tr, &mut q);
            }
            _ => self.forward(&self.online, &obs, &mut tr, &mut q),
        }
        let explore =
            t < self.op.warmup || (self.noisy.is_none() && rng.random::<f64>() < self.epsilon(t));
        let action = if explore {
            rng.random_range(0..self.n_actions)
        } else {
            argmax(&q)
        };
        let steps = self.spec.decision_steps;
        let spikes: f64 = self
            .hidden
            .iter()
            .map(|&h| tr.pops[h].spk.iter().filter(|&&s| s != 0.0).count() as f64)
            .sum();
        let n_in = tr.pops[self.plan.inputs()[0]].input_at(0).len();
        let first = self.plan.pops()[self.hidden.first().copied().unwrap_or(self.readout)].size;
        self.running.spikes += spikes;
        self.running.sim_steps += steps as u64;
        self.running.events += (steps * n_in * first) as u64;
        let mut next = vec![0.0; obs.len()];
        let out = self.env.step(&[action as f64], &mut next)?;
        self.running.ret += out.reward;
        self.running.length += 1;
        self.env_steps += 1;
        self.pending.push_back((obs, action as u32, out.reward));
        let ended = out.terminated || out.truncated;
        while self.pending.len() >= self.op.n_step || (ended && !self.pending.is_empty()) {
            let rewards: Vec<f64> = self.pending.iter().map(|p| p.2).collect();
            let (s, a, _) = self.pending.pop_front().expect("a pending decision");
            self.replay.push(&s, a, &rewards, &next, out.terminated);
        }
        if ended {
            let n_hidden: usize = self.hidden.iter().map(|&h| self.plan.pops()[h].size).sum();
            let r = std::mem::take(&mut self.running);
            self.metrics.push(ControlMetrics {
                episode: self.episodes_done,
                ret: r.ret,
                length: r.length,
                terminated: out.terminated,
                avg_firing_rate: r.spikes / n_hidden.max(1) as f64 / r.sim_steps.max(1) as f64,
                synaptic_events: r.events,
            });
            self.episodes_done += 1;
            self.env
                .reset(episode_seed(self.seed, self.episodes_done), &mut next)?;
        }
        self.obs = next;
        let due =
            self.env_steps >= self.op.warmup && self.env_steps.is_multiple_of(self.op.train_every);
        if due && self.replay.len() >= self.op.batch {
            self.update()?;
        }
        Ok(ended)
    }

    /// One update on a minibatch from the replay buffer.
    fn update(&mut self) -> Result<()> {
        let (b, a, steps) = (self.op.batch, self.n_actions, self.spec.decision_steps);
        // Outputs per transition: Q-values, or C51's logits (actions × atoms).
        let no = a * self.atoms;
        let mut rng = stream(self.seed, "dqn-sample", "", self.updates);
        let beta = self.op.prioritized.as_ref().map_or(1.0, |p| {
            let f = (self.env_steps as f64 / self.op.env_steps as f64).min(1.0);
            p.beta_start + (1.0 - p.beta_start) * f
        });
        let mut drawn = Drawn::default();
        self.replay.sample(b, beta, &mut rng, &mut drawn);
        let ol = self.replay.obs.len() / self.op.buffer.max(1);
        // Noisy nets: independent noise for the online and the target network, one draw
        // each per update (the whole minibatch shares it).
        let noisy = self.noisy.as_ref().map(|nz| {
            let (links, pops, u) = (self.plan.links(), self.plan.pops(), self.updates);
            let on = nz.draw(
                links,
                pops,
                &mut stream(self.seed, "dqn-noise", "online", u),
            );
            let tg = nz.draw(
                links,
                pops,
                &mut stream(self.seed, "dqn-noise", "target", u),
            );
            let w_on = nz.apply(&self.online, &nz.sigma, &on);
            let w_tg = nz.apply(&self.target, &nz.target, &tg);
            (w_on, w_tg, on)
        });
        let mut traces = std::mem::take(&mut self.traces);
        traces.resize_with(drawn.slots.len(), Default::default);
        let (qnet, replay) = (self.qnet(), &self.replay);
        let (online, target) = match &noisy {
            Some((w_on, w_tg, _)) => (w_on, w_tg),
            None => (&self.online, &self.target),
        };
        let (d_on, d_tg) = (&self.decays[..], &self.target_decays[..]);
        let sample = |(&i, [tr, scratch]): (&usize, &mut [Trace; 2])| {
            let (s, s2) = (
                &replay.obs[i * ol..(i + 1) * ol],
                &replay.next_obs[i * ol..(i + 1) * ol],
            );
            let mut q = [vec![0.0; no], vec![0.0; no], vec![0.0; no]];
            qnet.forward((target, d_tg), s2, scratch, &mut q[2]);
            qnet.forward((online, d_on), s2, scratch, &mut q[1]);
            qnet.forward((online, d_on), s, tr, &mut q[0]);
            q
        };
        let slots = &drawn.slots;
        let done: Vec<[Vec<f64>; 3]> = match &self.pool {
            // One worker: this thread, without handing the work to a pool and back.
            Some(p) if p.current_num_threads() == 1 => {
                slots.iter().zip(traces.iter_mut()).map(sample).collect()
            }
            Some(p) => p.install(|| {
                slots
                    .par_iter()
                    .zip(traces.par_iter_mut())
                    .map(sample)
                    .collect()
            }),
            None => slots
                .par_iter()
                .zip(traces.par_iter_mut())
                .map(sample)
                .collect(),
        };
        let gather =
            |k: usize| -> Vec<f64> { done.iter().flat_map(|d| d[k].iter().copied()).collect() };
        let (q, qn_on, qn_tg) = (gather(0), gather(1), gather(2));
        let r = &self.replay;
        let k = self.op.n_step;
        let actions: Vec<u32> = drawn.slots.iter().map(|&i| r.actions[i]).collect();
        let rewards: Vec<f64> = drawn
            .slots
            .iter()
            .flat_map(|&i| r.rewards[i * k..(i + 1) * k].iter().copied())
            .collect();
        let nsteps: Vec<u32> = drawn.slots.iter().map(|&i| r.steps[i]).collect();
        let terminal: Vec<u8> = drawn.slots.iter().map(|&i| r.terminal[i]).collect();
        let mut dq = vec![0.0; b * no];
        let mut td = vec![0.0; b];
        if let Some(d) = &self.op.distributional {
            let mut batch = DistBatchV1 {
                n: b as u64,
                n_actions: a as u64,
                n_atoms: self.atoms as u64,
                n_step: k as u64,
                v_min: d.v_min,
                v_max: d.v_max,
                logits: q.as_ptr(),
                logits_next_online: qn_on.as_ptr(),
                logits_next_target: qn_tg.as_ptr(),
                actions: actions.as_ptr(),
                rewards: rewards.as_ptr(),
                steps: nsteps.as_ptr(),
                terminal: terminal.as_ptr(),
                weights: drawn.weights.as_ptr(),
                dlogits: dq.as_mut_ptr(),
                td: td.as_mut_ptr(),
                loss: 0.0,
            };
            self.rules[0].dist_loss(&mut batch)?;
        } else {
            let mut batch = TdBatchV1 {
                n: b as u64,
                n_actions: a as u64,
                n_step: k as u64,
                q: q.as_ptr(),
                q_next_online: qn_on.as_ptr(),
                q_next_target: qn_tg.as_ptr(),
                actions: actions.as_ptr(),
                rewards: rewards.as_ptr(),
                steps: nsteps.as_ptr(),
                terminal: terminal.as_ptr(),
                weights: drawn.weights.as_ptr(),
                dq: dq.as_mut_ptr(),
                td: td.as_mut_ptr(),
                loss: 0.0,
            };
            self.rules[0].td_loss(&mut batch)?;
        }
        // ∂L/∂mem_t of the readout = ∂L/∂Q / T at every step; backward in fixed chunks.
        let p = params_of(&self.plan, online, d_on);
        let wt = self.plan.transpose(&p);
        let p = p.with_transposed(&wt);
        let (plan, qnet) = (&self.plan, self.qnet());
        let chunk_grads = |(c, chunk): (usize, &mut [[Trace; 2]])| {
            let mut g = Grads::zeros(&p);
            let mut g_mem = vec![vec![0.0; steps * no], vec![0.0; steps * (no / a)]];
            g_mem.truncate(plan.readouts().len());
            for (j, [tr, _]) in chunk.iter_mut().enumerate() {
                let row = &dq[(c * CHUNK + j) * no..(c * CHUNK + j + 1) * no];
                qnet.mem_grads(row, &mut g_mem);
                let views: Vec<&[f64]> = g_mem.iter().map(|v| v.as_slice()).collect();
                plan.backward(&p, tr, &views, &mut g);
            }
            g
        };
        let chunks: Vec<Grads> = match &self.pool {
            Some(pool) if pool.current_num_threads() == 1 => traces
                .chunks_mut(CHUNK)
                .enumerate()
                .map(chunk_grads)
                .collect(),
            Some(pool) => pool.install(|| {
                traces
                    .par_chunks_mut(CHUNK)
                    .enumerate()
                    .map(chunk_grads)
                    .collect()
            }),
            None => traces
                .par_chunks_mut(CHUNK)
                .enumerate()
                .map(chunk_grads)
                .collect(),
        };
        self.traces = traces;
        let mut total = Grads::zeros(&p);
        for g in &chunks {
            total.add(g);
        }
        drop(p);
        // ∂L/∂σ = ∂L/∂w ⊙ ε on the noisy links.
        let sigma_grads: Vec<Vec<f64>> = match (&self.noisy, &noisy) {
            (Some(nz), Some((_, _, eps))) => nz
                .links
                .iter()
                .zip(eps)
                .map(|(&l, e)| total.weights[l].iter().zip(e).map(|(g, e)| g * e).collect())
                .collect(),
            _ => Vec::new(),
        };
        drop(noisy);
        let decay_grads: Vec<Vec<f64>> = (self.decays.iter().zip(&total.decays))
            .filter(|(d, _)| d.is_some())
            .map(|(_, g)| g.clone())
            .collect();
        self.rule_step(&total.weights, &sigma_grads, &decay_grads)?;
        self.refresh_online();
        self.replay.update(&drawn.slots, &td);
        let mut pairs: Vec<(&mut Vec<f64>, &Vec<f64>)> =
            self.target.iter_mut().zip(&self.online).collect();
        if let Some(nz) = &mut self.noisy {
            pairs.extend(nz.target.iter_mut().zip(&nz.sigma));
        }
        pairs.extend(
            self.target_decays
                .iter_mut()
                .zip(&self.decays)
                .filter_map(|(t, d)| Some((t.as_mut()?, d.as_ref()?))),
        );
        match self.op.tau {
            Some(tau) => {
                for (tg, w) in pairs {
                    for (x, &y) in tg.iter_mut().zip(w) {
                        *x = tau * y + (1.0 - tau) * *x;
                    }
                }
            }
            None if self.updates.is_multiple_of(self.op.target_every) => {
                for (tg, w) in pairs {
                    tg.clone_from(w);
                }
            }
            None => {}
        }
        Ok(())
    }

    /// Update number `updates` of every projection by its rule instance with the gradients
    /// `grads` (per link), and of the noisy links' σ by their own instances with
    /// `sigma_grads`, and of the learned decays by theirs with `decay_grads` (then clamped to
    /// [0, 1]), all with the global norm over every gradient (so per-projection instances
    /// clip consistently); counts it.
    fn rule_step(
        &mut self,
        grads: &[Vec<f64>],
        sigma_grads: &[Vec<f64>],
        decay_grads: &[Vec<f64>],
    ) -> Result<()> {
        let norm = (grads
            .iter()
            .chain(sigma_grads)
            .chain(decay_grads)
            .flat_map(|g| g.iter())
            .map(|x| x * x)
            .sum::<f64>())
        .sqrt();
        let update = self.updates;
        let step = |rule: &mut RuleInstance,
                    (n_pre, n_post): (usize, usize),
                    (indptr, indices): (&[usize], &[u32]),
                    weights: *mut f64,
                    g: &[f64]|
         -> Result<()> {
            let mut ctx = GradStepV1 {
                update,
                n_pre: n_pre as u64,
                n_post: n_post as u64,
                nnz: g.len() as u64,
                indptr: indptr.as_ptr(),
                indices: indices.as_ptr(),
                weights,
                grads: g.as_ptr(),
                global_grad_norm: norm,
            };
            rule.on_gradient(&mut ctx)
        };
        for (r, (&pid, g)) in self.projs.iter().zip(grads).enumerate() {
            let proj = self.net.proj_mut(pid);
            let shape = proj.weights.shape();
            let (indptr, indices, data) = proj.weights.parts_mut();
            let mut weights = F64View::new(data);
            step(
                &mut self.rules[r],
                shape,
                (indptr, indices),
                weights.as_mut_ptr(),
                g,
            )?;
        }
        if let Some(nz) = &mut self.noisy {
            for (k, &l) in nz.links.iter().enumerate() {
                let proj = self.net.proj_mut(self.projs[l]);
                let shape = proj.weights.shape();
                let (indptr, indices, _) = proj.weights.parts_mut();
                let sigma = nz.sigma[k].as_mut_ptr();
                step(
                    &mut nz.rules[k],
                    shape,
                    (indptr, indices),
                    sigma,
                    &sigma_grads[k],
                )?;
            }
        }
        let learned = self.decays.iter_mut().flatten();
        for ((d, rule), g) in learned.zip(&mut self.decay_rules).zip(decay_grads) {
            let indices: Vec<u32> = (0..d.len() as u32).collect();
            step(
                rule,
                (1, d.len()),
                (&[0, d.len()], &indices),
                d.as_mut_ptr(),
                g,
            )?;
            exec::clamp_decays(d);
        }
        self.updates += 1;
        Ok(())
    }

    /// The greedy policy (argmax Q, the first of equals) for `episodes` episodes, each reset
    /// with its own seed, on a fresh environment instance: the returns, and per hidden
    /// population the fraction of its neurons silent per simulation step.
    pub fn evaluate(&self, episodes: u64) -> Result<Evaluation> {
        let plugin = plugin::load(
            &self.spec.environment.plugin,
            self.spec
                .environment
                .path
                .as_deref()
                .map(std::path::Path::new),
            Kind::Env,
        )?;
        let mut env = plugin.create_env(&params(&self.spec.environment))?;
        let mut obs = vec![0.0; env.observation_len()];
        let mut tr = Trace::default();
        let mut q = vec![0.0; self.n_actions];
        let mut silent = vec![0.0; self.hidden.len()];
        let mut sim_steps = 0u64;
        let mut returns = Vec::new();
        let mut ops = SynOps::default();
        let mut decisions = 0u64;
        let t0 = std::time::Instant::now();
        for e in 0..episodes {
            let mut r = stream(self.seed, "dqn-eval", "", e);
            env.reset(r.random(), &mut obs)?;
            let mut ret = 0.0;
            loop {
                self.forward(&self.online, &obs, &mut tr, &mut q);
                ops.add(self.plan.synaptic_ops(&tr));
                decisions += 1;
                for (k, &h) in self.hidden.iter().enumerate() {
                    let n = self.plan.pops()[h].size;
                    let quiet = tr.pops[h].spk.iter().filter(|&&s| s == 0.0).count();
                    silent[k] += quiet as f64 / n.max(1) as f64;
                }
                sim_steps += self.spec.decision_steps as u64;
                let out = env.step(&[argmax(&q) as f64], &mut obs)?;
                ret += out.reward;
                if out.terminated || out.truncated {
                    break;
                }
            }
            returns.push(ret);
        }
        let wall_s = t0.elapsed().as_secs_f64();
        let silent_fraction = self
            .hidden
            .iter()
            .zip(silent)
            .map(|(&h, s)| {
                (
                    self.plan.pops()[h].name.clone(),
                    s / sim_steps.max(1) as f64,
                )
            })
            .collect();
        Ok(Evaluation {
            returns,
            silent_fraction,
            ops,
            decisions,
            wall_s,
        })
    }
}

/// The Q-network's plan and how a decision reads it.
#[derive(Clone, Copy)]
struct QNet<'a> {
    plan: &'a exec::Net,
    spec: &'a AgentSpec,
    readout: usize,
    value: Option<usize>,
    n_actions: usize,
    /// Outputs per action (1, or C51's atoms).
    atoms: usize,
    dist: Option<&'a Distributional>,
}

impl QNet<'_> {
    /// One decision from zero state on `obs` with `weights`: the trace, and the outputs (the
    /// readout membrane averaged over the T steps) into `out`: Q(s, ·), or with C51 the
    /// logits, action-major (`atoms` per action).
    fn forward(
        &self,
        (weights, decays): (&[Vec<f64>], &[Option<Vec<f64>>]),
        obs: &[f64],
        tr: &mut Trace,
        out: &mut [f64],
    ) {
        let mut inputs = Vec::new();
        self.spec.encoder.currents(obs, &mut inputs);
        let p = self.params(weights, decays);
        let steps = self.spec.decision_steps;
        self.plan.forward(&p, steps, &[Seq::Constant(&inputs)], tr);
        let (a, z) = (self.n_actions, self.atoms);
        let no = a * z;
        out.iter_mut().for_each(|x| *x = 0.0);
        let mem = &tr.pops[self.readout].mem;
        for t in 0..steps {
            for c in 0..no {
                out[c] += mem[t * no + c] / steps as f64;
            }
        }
        if let Some(vp) = self.value {
            // Dueling: Q = V + A − mean A (per atom with C51).
            for j in 0..z {
                let mut v = 0.0;
                for t in 0..steps {
                    v += tr.pops[vp].mem[t * z + j] / steps as f64;
                }
                let mean = (0..a).map(|c| out[c * z + j]).sum::<f64>() / a as f64;
                (0..a).for_each(|c| out[c * z + j] = v + (out[c * z + j] - mean));
            }
        }
    }

    /// The parameters of a call: `weights` per link, `decays` per population.
    fn params<'a>(&self, weights: &'a [Vec<f64>], decays: &'a [Option<Vec<f64>>]) -> Params<'a> {
        params_of(self.plan, weights, decays)
    }

    /// Q(s, ·) of C51's logits: the mean of each action's softmax over the support.
    fn q_of(&self, logits: &[f64], q: &mut [f64]) {
        let (z, d) = (self.atoms, self.dist.expect("a distributional readout"));
        let dz = (d.v_max - d.v_min) / (z - 1) as f64;
        for (c, q) in q.iter_mut().enumerate() {
            let row = &logits[c * z..(c + 1) * z];
            let top = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let (mut num, mut den) = (0.0, 0.0);
            for (j, &x) in row.iter().enumerate() {
                let e = (x - top).exp();
                num += e * (d.v_min + j as f64 * dz);
                den += e;
            }
            *q = num / den;
        }
    }

    /// ∂L/∂mem_t of the readouts (the advantage or Q readout, then the value readout when
    /// dueling) for ∂L/∂outputs = `dq`: the same at each of the T steps, 1/T of the mean's.
    fn mem_grads(&self, dq: &[f64], g_mem: &mut [Vec<f64>]) {
        let (steps, a, z) = (self.spec.decision_steps, self.n_actions, self.atoms);
        let no = a * z;
        for j in 0..z {
            let sum = (0..a).map(|c| dq[c * z + j]).sum::<f64>();
            let mean = sum / a as f64;
            for t in 0..steps {
                for x in 0..a {
                    g_mem[0][t * no + x * z + j] = match self.value {
                        Some(_) => (dq[x * z + j] - mean) / steps as f64,
                        None => dq[x * z + j] / steps as f64,
                    };
                }
                if self.value.is_some() {
                    g_mem[1][t * z + j] = sum / steps as f64;
                }
            }
        }
    }
}

/// The parameters of a call of `plan`: `weights` per link, `decays` per population.
fn params_of<'a>(
    plan: &exec::Net,
    weights: &'a [Vec<f64>],
    decays: &'a [Option<Vec<f64>>],
) -> Params<'a> {
    Params {
        decays: decays.iter().map(|d| d.as_deref()).collect(),
        ..Params::weights(plan, weights.iter().map(|w| w.as_slice()).collect())
    }
}

/// A minibatch of no transitions (every array empty).
fn empty_batch(n_actions: usize) -> TdBatchV1 {
    TdBatchV1 {
        n: 0,
        n_actions: n_actions as u64,
        n_step: 1,
        q: std::ptr::null(),
        q_next_online: std::ptr::null(),
        q_next_target: std::ptr::null(),
        actions: std::ptr::null(),
        rewards: std::ptr::null(),
        steps: std::ptr::null(),
        terminal: std::ptr::null(),
        weights: std::ptr::null(),
        dq: std::ptr::null_mut(),
        td: std::ptr::null_mut(),
        loss: 0.0,
    }
}

/// A distributional minibatch of no transitions.
fn empty_dist_batch(n_actions: usize, d: &Distributional) -> DistBatchV1 {
    DistBatchV1 {
        n: 0,
        n_actions: n_actions as u64,
        n_atoms: d.atoms as u64,
        n_step: 1,
        v_min: d.v_min,
        v_max: d.v_max,
        logits: std::ptr::null(),
        logits_next_online: std::ptr::null(),
        logits_next_target: std::ptr::null(),
        actions: std::ptr::null(),
        rewards: std::ptr::null(),
        steps: std::ptr::null(),
        terminal: std::ptr::null(),
        weights: std::ptr::null(),
        dlogits: std::ptr::null_mut(),
        td: std::ptr::null_mut(),
        loss: 0.0,
    }
}

/// The first index of the largest value.
fn argmax(x: &[f64]) -> usize {
    (0..x.len()).fold(0, |b, c| if x[c] > x[b] { c } else { b })
}

/// The seed of episode `episode`'s environment reset.
fn episode_seed(seed: u64, episode: u64) -> u64 {
    let mut r = stream(seed, "dqn-reset", "", episode);
    r.random()
}

impl DqnTrainer {
    /// Encodes everything a resumed run needs to go on exactly as this one would: the
    /// counters, the network, the metrics, the rule states (optimiser moments), the
    /// environment mid-episode, the target network, the replay buffer with its priorities,
    /// the decisions not yet stored, and the episode in progress. The network comes right
    /// after two counters, as in a control checkpoint, so [`super::control::network_of`]
    /// reads it.
    pub fn save_state(&mut self) -> Result<Vec<u8>> {
        let mut e = Enc::default();
        e.u64(self.env_steps);
        e.u64(self.updates);
        net::encode(&mut self.net, &mut e);
        e.u64(self.episodes_done);
        e.u64(self.metrics.len() as u64);
        for m in &self.metrics {
            e.u64(m.episode);
            e.f64(m.ret);
            e.u32(m.length);
            e.u8(u8::from(m.terminated));
            e.f64(m.avg_firing_rate);
            e.u64(m.synaptic_events);
        }
        e.u64(self.rules.len() as u64);
        for r in &mut self.rules {
            e.bytes(&r.save()?);
        }
        e.bytes(&self.env.save()?);
        for w in &self.target {
            e.f64s(w);
        }
        self.replay.encode(&mut e);
        e.u64(self.pending.len() as u64);
        for (s, a, r) in &self.pending {
            e.f64s(s);
            e.u32(*a);
            e.f64(*r);
        }
        e.f64s(&self.obs);
        let r = &self.running;
        e.f64(r.ret);
        e.u32(r.length);
        e.f64(r.spikes);
        e.u64(r.sim_steps);
        e.u64(r.events);
        // Noisy nets (absent otherwise, so older checkpoints read the same): σ, the target's
        // σ and σ's rule states.
        if let Some(nz) = &mut self.noisy {
            for k in 0..nz.links.len() {
                e.f64s(&nz.sigma[k]);
                e.f64s(&nz.target[k]);
                e.bytes(&nz.rules[k].save()?);
            }
        }
        // Learned decays (absent otherwise): online and target values, then their rule states.
        for (d, t) in self.decays.iter().zip(&self.target_decays) {
            if let (Some(d), Some(t)) = (d, t) {
                e.f64s(d);
                e.f64s(t);
            }
        }
        for r in &mut self.decay_rules {
            e.bytes(&r.save()?);
        }
        // The dense network (absent for the spiking one, so older checkpoints read the same).
        if self.dense {
            e.u8(1);
        }
        Ok(e.buf)
    }

    /// Restores a state written by [`DqnTrainer::save_state`] onto a trainer built from the
    /// same graph file.
    pub fn load_state(&mut self, bytes: &[u8]) -> Result<()> {
        let bad = |why: String| Error::Input(format!("checkpoint state: {why}"));
        let mut d = Dec::new(bytes);
        let noisy = &mut self.noisy;
        let mut sigma_rules = Vec::new();
        let (decays, target_decays) = (&mut self.decays, &mut self.target_decays);
        let mut decay_rules = Vec::new();
        let n_decay_rules = self.decay_rules.len();
        let dense = self.dense;
        let (rules, env) = (|| -> DecResult<(Vec<Vec<u8>>, Vec<u8>)> {
            self.env_steps = d.u64()?;
            self.updates = d.u64()?;
            net::restore(&mut self.net, &mut d)?;
            self.episodes_done = d.u64()?;
            let n = d.u64()? as usize;
            self.metrics.clear();
            for _ in 0..n {
                self.metrics.push(ControlMetrics {
                    episode: d.u64()?,
                    ret: d.f64()?,
                    length: d.u32()?,
                    terminated: d.u8()? != 0,
                    avg_firing_rate: d.f64()?,
                    synaptic_events: d.u64()?,
                });
            }
            let n = d.u64()? as usize;
            let rules = (0..n).map(|_| d.bytes()).collect::<DecResult<Vec<_>>>()?;
            let env = d.bytes()?;
            for w in self.target.iter_mut() {
                let got = d.f64s()?;
                if got.len() != w.len() {
                    return Err("the target network does not fit the graph file's".into());
                }
                *w = got;
            }
            self.replay.decode(&mut d)?;
            let n = d.u64()? as usize;
            self.pending.clear();
            for _ in 0..n {
                let s = d.f64s()?;
                let (a, r) = (d.u32()?, d.f64()?);
                self.pending.push_back((s, a, r));
            }
            self.obs = d.f64s()?;
            self.running = Running {
                ret: d.f64()?,
                length: d.u32()?,
                spikes: d.f64()?,
                sim_steps: d.u64()?,
                events: d.u64()?,
            };
            if let Some(nz) = noisy {
                for k in 0..nz.links.len() {
                    let (sigma, target) = (d.f64s()?, d.f64s()?);
                    if sigma.len() != nz.sigma[k].len() || target.len() != sigma.len() {
                        return Err("the noisy σ do not fit the graph file's".into());
                    }
                    (nz.sigma[k], nz.target[k]) = (sigma, target);
                    sigma_rules.push(d.bytes()?);
                }
            }
            for (v, t) in decays.iter_mut().zip(target_decays.iter_mut()) {
                if let (Some(v), Some(t)) = (v, t) {
                    let (got, got_t) = (d.f64s()?, d.f64s()?);
                    if got.len() != v.len() || got_t.len() != t.len() {
                        return Err("the learned decays do not fit the graph file's".into());
                    }
                    (*v, *t) = (got, got_t);
                }
            }
            for _ in 0..n_decay_rules {
                decay_rules.push(d.bytes()?);
            }
            let saved_dense = !d.finished() && d.u8()? == 1;
            if saved_dense != dense {
                return Err(format!(
                    "the checkpoint is of the {} network, this run trains the {} one",
                    if saved_dense {
                        "dense (ReLU)"
                    } else {
                        "spiking"
                    },
                    if dense { "dense (ReLU)" } else { "spiking" }
                ));
            }
            if !d.finished() {
                return Err("trailing bytes".into());
            }
            Ok((rules, env))
        })()
        .map_err(bad)?;
        if rules.len() != self.rules.len() {
            return Err(bad(format!(
                "{} rule states for {} projections",
                rules.len(),
                self.rules.len()
            )));
        }
        for (r, b) in self.rules.iter_mut().zip(&rules) {
            r.load(b)?;
        }
        if let Some(nz) = &mut self.noisy {
            for (r, b) in nz.rules.iter_mut().zip(&sigma_rules) {
                r.load(b)?;
            }
        }
        for (r, b) in self.decay_rules.iter_mut().zip(&decay_rules) {
            r.load(b)?;
        }
        self.env.load(&env)?;
        self.refresh_online();
        Ok(())
    }
}
