//! Training a spiking policy on a control task (`task: Control(...)`): CartPole, Pendulum and
//! the other classic-control environments (docs/control.md).
//!
//! One decision per environment step: the encoder turns the observation into input currents
//! (on/off pairs or Gaussian population coding), held for T simulation steps; the hidden layer
//! and the readout run T steps from zero state ([`crate::exec`], through [`super::policy_net::PolicyNet`]), and z = the readout membrane
//! averaged over the T steps. The decoder reads z:
//! - `Categorical`: π = softmax(z), an action index sampled from π;
//! - `Gaussian`: μ = scale·z₀, log σ = clamp(log_std + z₁), u = μ + σ·ε with ε ~ N(0, 1); the
//!   environment receives u clipped to [low, high], the log-probability is that of u.
//!
//! With `critic: true` the last readout neuron is the critic: V(s) = value_scale·z_last, a
//! readout that shares the hidden population with the actor.
//!
//! The gradient rule computes the advantages: from the rewards alone (`reinforce`), or from
//! the rewards and the critic's values (`a2c`, which also returns the critic's targets). The
//! loss of a batch of B episodes is
//!
//! ```text
//! L = (1/B)·Σ_t [ −A_t·log π(a_t|s_t) − c_H·H(π(·|s_t)) + c_V·½·(V(s_t) − R_t)² ]
//! ```
//!
//! and its gradient with respect to both projections comes from the factored BPTT of
//! [`crate::exec::Net::policy_factors`] (exact for a loss of the mean readout membrane).
//! The rule then takes one optimiser step per projection.

// Index loops mirror the equations above, over several arrays at once.
#![allow(clippy::needless_range_loop)]

mod snapshot;
pub use snapshot::network_of;

use super::policy_net::PolicyNet;
use super::setup::Setup;
use super::train::{policy_net, rule_step, sample_categorical, DecisionGradient};
use crate::error::{Error, Result};
use crate::exec::{Params, Trace};
use crate::file::{AgentSpec, Checked, Decoder, TaskSpec};
use crate::graph::{Network, ProjId};
use crate::plugin::{EnvInstance, RuleInstance};
use crate::real::widen;
use crate::rng::{stream, Rng};
use rand::Rng as _;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

/// Why the policy's weights are per synapse (made so when the trainer is built).
const LEARNED: &str = "learned weights are per synapse";

/// One row of `metrics.csv` of a control task.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ControlMetrics {
    /// Episode index (0-based).
    pub episode: u64,
    /// Undiscounted return.
    pub ret: f64,
    /// Decisions (environment steps).
    pub length: u32,
    /// The episode ended in a terminal state (not by the time limit).
    pub terminated: bool,
    /// Hidden spikes per neuron per simulation step.
    pub avg_firing_rate: f64,
    /// Synaptic events: active inputs × hidden neurons per step, plus hidden spikes × readout.
    pub synaptic_events: u64,
}

/// What one episode leaves for the update.
#[derive(Default)]
struct EpisodeBuf {
    rewards: Vec<f64>,
    /// Input currents of each decision, `start[t]..start[t+1]`.
    inputs: Vec<(u32, f64)>,
    start: Vec<usize>,
    /// Per decision: q and ν of the factored backward pass (hidden each), ∂log π/∂z and
    /// ∂H/∂z (readout size each), and V(s) (critic only, one more for the state after the last
    /// step: 0 when terminated).
    q: Vec<f64>,
    nu: Vec<f64>,
    dz_logp: Vec<f64>,
    dz_ent: Vec<f64>,
    values: Vec<f64>,
    terminated: bool,
    spikes: f64,
    sim_steps: u64,
    events: u64,
}

/// A spiking policy on a control task, its environments and its rule instances.
pub struct ControlTrainer {
    /// The network holding the policy.
    pub net: Network,
    spec: AgentSpec,
    w_in: ProjId,
    w_out: ProjId,
    envs: Vec<EnvInstance>,
    rules: Vec<RuleInstance>,
    layers: PolicyNet,
    seed: u64,
    /// Episodes completed.
    pub episodes_done: u64,
    updates: u64,
    /// Metrics of every episode so far.
    pub metrics: Vec<ControlMetrics>,
    pool: Option<rayon::ThreadPool>,
    /// The ranks a batch's episodes are split over; `None`: this process alone.
    comm: Option<crate::comm::CommRef>,
}

impl ControlTrainer {
    /// Builds the network of a checked file with a `Control` task, loads its environment and
    /// rule plugins, and creates `batch` environment instances.
    pub fn new(checked: &Checked) -> Result<Self> {
        let f = &checked.file;
        let Some(TaskSpec::Control(spec)) = &f.task else {
            return Err(Error::Input("the file has no control task".into()));
        };
        let setup = Setup::new(checked, spec, "Control")?;
        let layers = policy_layers(&setup)?;
        let (w_in, w_out) = (setup.wiring.w_in, setup.wiring.w_out);
        // An empty batch probes whether the rule learns with (or without) a critic.
        let rules = setup.rules(|inst| {
            let probe = if spec.critic {
                if inst.is_critic_rule() {
                    inst.critic_advantages(&[], &[], &[], &mut [], &mut [])
                } else {
                    Err(Error::Input("plugin ABI 1.1".into()))
                }
            } else {
                inst.advantages(&[], &[], &mut [])
            };
            probe.map_err(|e| {
                if spec.critic {
                    format!(
                        "`critic: true` needs an actor-critic rule (plugin ABI 1.2, such as `a2c`); `{}` is not one ({e})",
                        spec.rule.plugin
                    )
                } else {
                    format!("`{}` cannot learn without a critic ({e})", spec.rule.plugin)
                }
            })
        })?;
        let Setup { net, envs, .. } = setup;
        Ok(ControlTrainer {
            net,
            spec: spec.clone(),
            w_in,
            w_out,
            envs,
            rules,
            layers,
            seed: f.seed,
            episodes_done: 0,
            updates: 0,
            metrics: Vec::new(),
            pool: None,
            comm: None,
        })
    }

    /// Runs the episodes of a batch on `threads` worker threads. Results do not depend on it.
    pub fn set_threads(&mut self, threads: usize) -> Result<()> {
        self.pool = Some(super::thread_pool(threads)?);
        Ok(())
    }

    /// Splits each batch's episodes over the ranks of `comm`, as
    /// [`Trainer::set_comm`](super::train::Trainer::set_comm) does: every rank must train
    /// alike, and every rank ends with one process's network.
    pub fn set_comm(&mut self, comm: crate::comm::CommRef) {
        self.comm = Some(comm);
    }

    /// The task's settings.
    pub fn spec(&self) -> &AgentSpec {
        &self.spec
    }

    /// The readout means z of one decision on `obs` with the current weights, computed as an
    /// episode computes them: the logits of a categorical decoder, or z₀ (μ = scale·z₀) and z₁
    /// (log σ = log_std + z₁) of a Gaussian one, then the critic's z if there is one.
    pub fn readout(&self, obs: &[f64]) -> Result<Vec<f64>> {
        let want = self.envs[0].observation_len();
        if obs.len() != want {
            return Err(Error::Input(format!(
                "an observation of {} values, but the environment observes {want}",
                obs.len()
            )));
        }
        let w = |p: ProjId| widen(self.net.proj(p).weights.per_synapse().expect(LEARNED));
        let (w1, w2) = (w(self.w_in), w(self.w_out));
        let mut z = vec![0.0; self.layers.out];
        let mut trace = Trace::default();
        let (layers, inputs) = (&self.layers, &mut Vec::new());
        let params = layers.params((&w1, &w2));
        decide(&self.spec, layers, &params, obs, inputs, &mut trace, &mut z);
        Ok(z)
    }

    /// Trains until `episodes` episodes are done in all (a last, partial batch is cut to
    /// size). `progress` is called after every batch.
    pub fn train(
        &mut self,
        episodes: u64,
        mut progress: impl FnMut(&ControlTrainer),
    ) -> Result<()> {
        while self.episodes_done < episodes {
            let b = (self.spec.batch as u64).min(episodes - self.episodes_done) as usize;
            self.batch(b)?;
            progress(self);
        }
        Ok(())
    }

    /// Runs one batch of `b` episodes and updates the weights.
    pub fn batch(&mut self, b: usize) -> Result<()> {
        let (h, o) = (self.layers.hidden, self.layers.out);
        let first = self.episodes_done;
        let (layers, spec, seed) = (&self.layers, &self.spec, self.seed);
        let w1 = self
            .net
            .proj(self.w_in)
            .weights
            .per_synapse()
            .expect(LEARNED);
        let w2 = self
            .net
            .proj(self.w_out)
            .weights
            .per_synapse()
            .expect(LEARNED);
        debug_assert_eq!(w2.len(), h * o);
        let (w1, w2) = (&*widen(w1), &*widen(w2));
        let params = layers.params((w1, w2));
        // On several ranks each runs a contiguous block of the episodes, gathered back in
        // episode order (docs/distributed.md).
        let comm = self.comm.clone();
        let mine = comm
            .as_ref()
            .map_or(0..b, |c| crate::comm::block(b, c.rank(), c.size()));
        let lo = mine.start;
        let envs = &mut self.envs[..b];
        let episodes = || -> Vec<Result<EpisodeBuf>> {
            envs[mine]
                .par_iter_mut()
                .enumerate()
                .map(|(k, env)| {
                    let e = first + (lo + k) as u64;
                    run_episode(env, e, seed, spec, layers, &params)
                })
                .collect()
        };
        let bufs = match &self.pool {
            Some(p) => p.install(episodes),
            None => episodes(),
        };
        let local = bufs.into_iter().collect::<Result<Vec<_>>>();
        let bufs = match comm.as_deref() {
            Some(c) if c.size() > 1 => super::distributed::gather_episodes(c, local, envs)?,
            _ => local?,
        };

        let rewards: Vec<f64> = bufs
            .iter()
            .flat_map(|e| e.rewards.iter().copied())
            .collect();
        let lengths: Vec<u64> = bufs.iter().map(|e| e.rewards.len() as u64).collect();
        let n = rewards.len();
        let mut adv = vec![0.0; n];
        let mut targets = vec![0.0; n];
        let (mut s_adv, mut s_tgt) = (vec![0.0; n], vec![0.0; n]);
        if self.spec.critic {
            let values: Vec<f64> = bufs.iter().flat_map(|e| e.values.iter().copied()).collect();
            for (r, rule) in self.rules.iter_mut().enumerate() {
                let (a, t) = if r == 0 {
                    (&mut adv, &mut targets)
                } else {
                    (&mut s_adv, &mut s_tgt)
                };
                rule.critic_advantages(&rewards, &values, &lengths, a, t)?;
            }
        } else {
            for (r, rule) in self.rules.iter_mut().enumerate() {
                let out = if r == 0 { &mut adv } else { &mut s_adv };
                rule.advantages(&rewards, &lengths, out)?;
            }
        }

        // ∂L/∂z per decision, then the factored backward pass.
        let w2 = self
            .net
            .proj(self.w_out)
            .weights
            .per_synapse()
            .expect(LEARNED);
        let w2 = &*widen(w2);
        let w_in = &self.net.proj(self.w_in).weights;
        let csr = (w_in.indptr(), w_in.indices());
        let mut grad = DecisionGradient::new(w2, (h, o), w_in.nnz());
        let scale = 1.0 / b as f64;
        let c_ent = self.spec.entropy_coef;
        let (c_v, v_scale) = (self.spec.value_coef, self.spec.value_scale);
        let mut dz = vec![0.0; o];
        let mut at = 0;
        for e in &bufs {
            let len = e.rewards.len();
            for t in 0..len {
                for c in 0..o {
                    dz[c] = -adv[at] * scale * e.dz_logp[t * o + c]
                        - c_ent * scale * e.dz_ent[t * o + c];
                }
                if self.spec.critic {
                    dz[o - 1] = c_v * scale * (e.values[t] - targets[at]) * v_scale;
                }
                at += 1;
                let (q, nu) = (&e.q[t * h..(t + 1) * h], &e.nu[t * h..(t + 1) * h]);
                let inputs = e.inputs[e.start[t]..e.start[t + 1]].iter().copied();
                grad.add(&dz, (q, nu), inputs, csr);
            }
        }
        let (g1, g2) = grad.finish();
        let projs = [self.w_in, self.w_out];
        rule_step(
            &mut self.net,
            &mut self.rules,
            &projs,
            &[&g1, &g2],
            &mut self.updates,
        )?;
        for (k, e) in bufs.iter().enumerate() {
            self.metrics.push(ControlMetrics {
                episode: first + k as u64,
                ret: e.rewards.iter().sum(),
                length: e.rewards.len() as u32,
                terminated: e.terminated,
                avg_firing_rate: e.spikes / h as f64 / e.sim_steps.max(1) as f64,
                synaptic_events: e.events,
            });
        }
        self.episodes_done += b as u64;
        Ok(())
    }
}

/// Checks that a control task's environment, encoder, decoder and populations fit each other
/// (errors located at the task's field) and returns the policy's layers, sized as the network
/// is now.
pub(super) fn policy_layers(setup: &Setup) -> Result<PolicyNet> {
    let spec = setup.spec;
    let located = |field: &str, err: Error| setup.located(field, err);
    let (envs, wiring, net) = (&setup.envs, setup.wiring, &setup.net);
    let n_in = net.pop(wiring.input).len();
    let n_out = net.pop(wiring.readout).len();
    let obs_len = envs[0].observation_len();
    if spec.encoder.input_len(obs_len) != Some(n_in) {
        return Err(located(
            "input",
            Error::Input(format!(
                "the environment observes {obs_len} values, which the encoder presents to {} input neurons, but the input population has {n_in}",
                spec.encoder.input_len(obs_len).map_or("no".to_string(), |k| k.to_string())
            )),
        ));
    }
    let discrete = envs[0].discrete_actions();
    let policy = spec.decoder.readout_len(discrete, envs[0].action_len());
    let want = policy.map(|p| p + usize::from(spec.critic));
    if want != Some(n_out) {
        let space = match discrete {
            Some(k) => format!("{k} discrete actions"),
            None => format!("a continuous action of {} values", envs[0].action_len()),
        };
        return Err(located(
            "readout",
            Error::Input(match want {
                Some(w) => format!(
                    "the environment has {space}, so the {:?} decoder{} {w} readout neurons, but the readout has {n_out}",
                    spec.decoder,
                    if spec.critic { " and the critic need" } else { " needs" }
                ),
                None => format!("the {:?} decoder cannot drive {space}", spec.decoder),
            }),
        ));
    }
    policy_net(setup)
}

/// The Gaussian decoder: the sample u = μ + σ·ε for readout means `z`, with ∂log π(u)/∂z and
/// ∂H/∂z (z₀ and z₁; the other entries are left alone). log π(u) = −ε²/2 − log σ − ½ log 2π
/// with ε = (u − μ)/σ, so ∂/∂μ = ε/σ and ∂/∂log σ = ε² − 1; H = log σ + const. Where log σ
/// is clamped, its derivatives are 0.
pub fn gaussian_sample(
    decoder: &Decoder,
    z: &[f64],
    eps: f64,
    dlogp: &mut [f64],
    dent: &mut [f64],
) -> f64 {
    let Decoder::Gaussian {
        scale,
        log_std,
        min_log_std,
        max_log_std,
        ..
    } = *decoder
    else {
        unreachable!("a Gaussian decoder")
    };
    let mu = scale * z[0];
    let raw = log_std + z[1];
    let ls = raw.clamp(min_log_std, max_log_std);
    let free = if raw == ls { 1.0 } else { 0.0 };
    let sigma = ls.exp();
    dlogp[0] = scale * eps / sigma;
    dlogp[1] = free * (eps * eps - 1.0);
    dent[0] = 0.0;
    dent[1] = free;
    mu + sigma * eps
}

/// The action the decoder takes for readout means `z` (the critic's last, if any, is not
/// read): with `rng`, sampled as training samples it (one uniform draw for a categorical
/// decoder, one normal draw for a Gaussian one), writing ∂log π/∂z and ∂H/∂z into `dlogp` and
/// `dent`; without, the mode: the most probable action (the first of equals), or the mean μ.
/// A Gaussian action is clipped to [low, high]; a discrete one is its index. `pi` has one
/// entry per discrete action (π is written there).
pub(super) fn decode(
    decoder: &Decoder,
    z: &[f64],
    rng: Option<&mut Rng>,
    pi: &mut [f64],
    dlogp: &mut [f64],
    dent: &mut [f64],
) -> f64 {
    match *decoder {
        Decoder::Categorical => {
            let logits = &z[..pi.len()];
            match rng {
                Some(rng) => sample_categorical(logits, rng, pi, dlogp, dent) as f64,
                None => {
                    let best =
                        (0..logits.len()).fold(0, |b, c| if logits[c] > logits[b] { c } else { b });
                    best as f64
                }
            }
        }
        Decoder::Gaussian { low, high, .. } => {
            let eps = rng.map_or(0.0, |rng| StandardNormal.sample(rng));
            gaussian_sample(decoder, z, eps, dlogp, dent).clamp(low, high)
        }
    }
}

/// The seed of episode `episode`'s environment reset.
fn episode_seed(seed: u64, episode: u64) -> u64 {
    let mut r = stream(seed, "control-reset", "", episode);
    r.random()
}

/// Runs the T steps of one decision from `obs` (from zero state): the encoder's currents are
/// appended to `inputs` (kept for the update), and z (the readout membrane averaged over the T
/// steps) is written into `z`.
pub(super) fn decide(
    spec: &AgentSpec,
    layers: &PolicyNet,
    params: &Params,
    obs: &[f64],
    inputs: &mut Vec<(u32, f64)>,
    trace: &mut Trace,
    z: &mut [f64],
) {
    let start = inputs.len();
    spec.encoder.currents(obs, inputs);
    layers.decide(params, spec.decision_steps, &inputs[start..], trace, z);
}

/// One episode with fixed weights: decisions until the environment ends it.
fn run_episode(
    env: &mut EnvInstance,
    episode: u64,
    seed: u64,
    spec: &AgentSpec,
    layers: &PolicyNet,
    params: &Params,
) -> Result<EpisodeBuf> {
    let (h, o, steps) = (layers.hidden, layers.out, spec.decision_steps);
    let mut rng = stream(seed, "control-episode", "", episode);
    let mut obs = vec![0.0; env.observation_len()];
    let mut trace = Trace::default();
    let mut buf = EpisodeBuf {
        start: vec![0],
        ..EpisodeBuf::default()
    };
    env.reset(episode_seed(seed, episode), &mut obs)?;
    let mut z = vec![0.0; o];
    let n_pol = o - usize::from(spec.critic);
    let mut pi = vec![0.0; n_pol];
    let mut action = vec![0.0; env.action_len()];
    loop {
        let start = buf.inputs.len();
        spec.encoder.currents(&obs, &mut buf.inputs);
        let n_active = buf.inputs.len() - start;
        buf.start.push(buf.inputs.len());
        let base = buf.q.len();
        buf.q.resize(base + h, 0.0);
        buf.nu.resize(base + h, 0.0);
        layers.decide_factored(
            params,
            steps,
            &buf.inputs[start..],
            &mut trace,
            &mut z,
            (&mut buf.q[base..], &mut buf.nu[base..]),
        );
        let d = buf.dz_logp.len();
        buf.dz_logp.resize(d + o, 0.0);
        buf.dz_ent.resize(d + o, 0.0);
        let (dlogp, dent) = (&mut buf.dz_logp[d..], &mut buf.dz_ent[d..]);
        action[0] = decode(&spec.decoder, &z, Some(&mut rng), &mut pi, dlogp, dent);
        if spec.critic {
            buf.values.push(spec.value_scale * z[o - 1]);
        }
        let spikes: f64 = layers.hidden_spikes(&trace).iter().sum();
        buf.spikes += spikes;
        buf.sim_steps += steps as u64;
        buf.events += (steps * n_active * h) as u64 + spikes as u64 * o as u64;
        let tr = env.step(&action, &mut obs)?;
        buf.rewards.push(tr.reward);
        if tr.terminated || tr.truncated {
            buf.terminated = tr.terminated;
            break;
        }
    }
    if spec.critic {
        // The value of the state after the last step: 0 at a terminal state, else V(s_T)
        // (a time limit is not part of the task's state, so the return is bootstrapped).
        let v = if buf.terminated {
            0.0
        } else {
            let mut scratch = Vec::new();
            decide(spec, layers, params, &obs, &mut scratch, &mut trace, &mut z);
            spec.value_scale * z[o - 1]
        };
        buf.values.push(v);
    }
    Ok(buf)
}

impl super::distributed::Record for EpisodeBuf {
    fn encode(&self, enc: &mut crate::checkpoint::codec::Enc) {
        enc.f64s(&self.rewards);
        let (idx, cur): (Vec<u32>, Vec<f64>) = self.inputs.iter().copied().unzip();
        enc.u32s(&idx);
        enc.f64s(&cur);
        let start: Vec<u64> = self.start.iter().map(|&s| s as u64).collect();
        enc.u64s(&start);
        for v in [&self.q, &self.nu, &self.dz_logp, &self.dz_ent, &self.values] {
            enc.f64s(v);
        }
        enc.u8(u8::from(self.terminated));
        enc.f64(self.spikes);
        enc.u64(self.sim_steps);
        enc.u64(self.events);
    }

    fn decode(
        dec: &mut crate::checkpoint::codec::Dec,
    ) -> crate::checkpoint::codec::DecResult<Self> {
        let rewards = dec.f64s()?;
        let (idx, cur) = (dec.u32s()?, dec.f64s()?);
        if idx.len() != cur.len() {
            return Err("input columns differ in length".into());
        }
        let start = dec.u64s()?.into_iter().map(|s| s as usize).collect();
        let (q, nu, dz_logp, dz_ent, values) = (
            dec.f64s()?,
            dec.f64s()?,
            dec.f64s()?,
            dec.f64s()?,
            dec.f64s()?,
        );
        Ok(EpisodeBuf {
            rewards,
            inputs: idx.into_iter().zip(cur).collect(),
            start,
            q,
            nu,
            dz_logp,
            dz_ent,
            values,
            terminated: dec.u8()? != 0,
            spikes: dec.f64()?,
            sim_steps: dec.u64()?,
            events: dec.u64()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ∂log π(u)/∂z and ∂H/∂z of the Gaussian decoder equal central finite differences of
    /// log N(u; μ(z), σ(z)²) and of H = log σ + ½ log 2πe, at a fixed sample u, inside and
    /// outside the clamp of log σ.
    #[test]
    fn gaussian_decoder_gradients_match_finite_differences() {
        let d = Decoder::Gaussian {
            scale: 2.0,
            log_std: -0.3,
            min_log_std: -2.0,
            max_log_std: 0.5,
            low: -2.0,
            high: 2.0,
        };
        let logp = |z: [f64; 2], u: f64| {
            let mu = 2.0 * z[0];
            let ls = (-0.3 + z[1]).clamp(-2.0, 0.5);
            let e = (u - mu) / ls.exp();
            -0.5 * e * e - ls - 0.5 * (2.0 * std::f64::consts::PI).ln()
        };
        let ent = |z: [f64; 2]| (-0.3 + z[1]).clamp(-2.0, 0.5);
        for (z, eps) in [([0.3, 0.1], 0.7), ([-0.4, -0.6], -1.3), ([0.2, 1.5], 0.4)] {
            let (mut g, mut h) = ([0.0; 2], [0.0; 2]);
            let u = gaussian_sample(&d, &z, eps, &mut g, &mut h);
            let std = (-0.3 + z[1]).clamp(-2.0f64, 0.5).exp();
            assert!((u - (2.0 * z[0] + std * eps)).abs() < 1e-15);
            for k in 0..2 {
                let (mut zp, mut zm) = (z, z);
                zp[k] += 1e-6;
                zm[k] -= 1e-6;
                let fd = (logp(zp, u) - logp(zm, u)) / 2e-6;
                assert!((g[k] - fd).abs() < 1e-6, "z {z:?} k {k}: {} vs {fd}", g[k]);
                let fh = (ent(zp) - ent(zm)) / 2e-6;
                assert!((h[k] - fh).abs() < 1e-6, "z {z:?} k {k}: {} vs {fh}", h[k]);
            }
        }
    }
}
