//! Advantage actor-critic, A2C (Mnih et al. 2016), with generalised advantage estimation
//! (Schulman et al. 2016) or n-step returns, optimised with Adam (Kingma & Ba 2015) after
//! global gradient-norm clipping: a gradient rule of the plugin ABI 1.2.
//!
//! The host runs a spiking actor and a critic readout that share the hidden population
//! (`task: Control(..., critic: true)`), and calls:
//! - [`LearningRule::critic_advantages`] with the rewards of a batch of episodes and the
//!   critic's values V(s_t) (plus, per episode, the value of the state after its last step: 0
//!   when it terminated, V(s_T) when a time limit cut it). Rewards first become
//!   (r + `reward_shift`)·`reward_scale`. Per step:
//!   - GAE (default): δ_t = r_t + γ·V(s_{t+1}) − V(s_t), A_t = δ_t + γλ·A_{t+1};
//!   - n-step (`n_steps: Some(n)`): G_t = Σ_{k<m} γ^k r_{t+k} + γ^m V(s_{t+m}), m = min(n, T − t),
//!     A_t = G_t − V(s_t);
//!
//!   and the critic's target is A_t + V(s_t). Optionally the advantages of the batch are
//!   normalised to zero mean and unit variance (the targets are not).
//! - [`LearningRule::on_gradient`] with the gradient of the actor-critic loss
//!   L = (1/B)·Σ_t [−A_t·log π(a_t|s_t) − c_H·H(π) + c_V·½(V(s_t) − target_t)²] (the host forms
//!   it; `entropy_coef` and `value_coef` are task settings) and its global L2 norm: the
//!   gradient is scaled by min(1, c/‖g‖), then one Adam step is taken per synapse.

use snnsim_plugin_api::optim::{clip_scale, Adam};
use snnsim_plugin_api::{GradContext, LearningRule, Remap, RuleContext, Shape};

/// Parameters.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Discount factor γ.
    pub gamma: f64,
    /// GAE's λ (1: Monte-Carlo returns minus the critic, 0: one-step TD errors).
    pub gae_lambda: f64,
    /// Use n-step returns instead of GAE.
    pub n_steps: Option<usize>,
    /// Rewards become (r + `reward_shift`)·`reward_scale` before anything else.
    pub reward_scale: f64,
    /// See `reward_scale`.
    pub reward_shift: f64,
    /// Normalise the advantages of a batch to zero mean and unit variance.
    pub normalize_advantages: bool,
    /// Adam learning rate.
    pub lr: f64,
    /// Adam β1.
    pub beta1: f64,
    /// Adam β2.
    pub beta2: f64,
    /// Adam ε.
    pub eps: f64,
    /// Global gradient-norm clipping threshold; no clipping when absent.
    pub clip_norm: Option<f64>,
}

impl Default for Config {
    /// γ 0.99, λ 0.95, Adam (1e-3, 0.9, 0.999, 1e-8), clip at 1.0.
    fn default() -> Self {
        Config {
            gamma: 0.99,
            gae_lambda: 0.95,
            n_steps: None,
            reward_scale: 1.0,
            reward_shift: 0.0,
            normalize_advantages: false,
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            clip_norm: Some(1.0),
        }
    }
}

/// The rule's state for one projection.
#[derive(Debug, Clone)]
pub struct A2c {
    cfg: Config,
    adam: Adam,
}

fn check(cfg: &Config) -> Result<(), String> {
    let unit = |name: &str, x: f64| {
        if (0.0..=1.0).contains(&x) {
            Ok(())
        } else {
            Err(format!("params.{name}: {x} is outside [0, 1]"))
        }
    };
    unit("gamma", cfg.gamma)?;
    unit("gae_lambda", cfg.gae_lambda)?;
    unit("beta1", cfg.beta1)?;
    unit("beta2", cfg.beta2)?;
    if cfg.n_steps == Some(0) {
        return Err("params.n_steps: must be at least 1".into());
    }
    for (name, x) in [
        ("lr", cfg.lr),
        ("eps", cfg.eps),
        ("reward_scale", cfg.reward_scale),
    ] {
        if !(x.is_finite() && x > 0.0) {
            return Err(format!("params.{name}: {x} must be > 0"));
        }
    }
    if let Some(c) = cfg.clip_norm {
        if !(c.is_finite() && c > 0.0) {
            return Err(format!("params.clip_norm: {c} must be > 0"));
        }
    }
    Ok(())
}

impl A2c {
    /// Advantages and targets of one episode: `r` its rewards (scaled), `v` its values
    /// (one more than `r`).
    fn episode(&self, r: &[f64], v: &[f64], adv: &mut [f64], tgt: &mut [f64]) {
        let (g, n) = (self.cfg.gamma, r.len());
        match self.cfg.n_steps {
            None => {
                let gl = g * self.cfg.gae_lambda;
                let mut a = 0.0;
                for t in (0..n).rev() {
                    let delta = r[t] + g * v[t + 1] - v[t];
                    a = delta + gl * a;
                    adv[t] = a;
                }
            }
            Some(k) => {
                for t in 0..n {
                    let m = k.min(n - t);
                    let mut ret = 0.0;
                    let mut disc = 1.0;
                    for i in 0..m {
                        ret += disc * r[t + i];
                        disc *= g;
                    }
                    ret += disc * v[t + m];
                    adv[t] = ret - v[t];
                }
            }
        }
        for t in 0..n {
            tgt[t] = adv[t] + v[t];
        }
    }
}

impl LearningRule for A2c {
    type Config = Config;

    fn new(cfg: Config, shape: &Shape) -> Result<Self, String> {
        check(&cfg)?;
        let adam = Adam::new(cfg.lr, cfg.beta1, cfg.beta2, cfg.eps, shape.nnz);
        Ok(A2c { cfg, adam })
    }

    /// A2C learns from returns, not from spikes step by step.
    fn on_step(&mut self, _ctx: &mut RuleContext<'_>) -> Result<(), String> {
        Ok(())
    }

    fn advantages(&mut self, _: &[f64], _: &[usize], _: &mut [f64]) -> Result<(), String> {
        Err("a2c needs a critic: set `critic: true` in the task".into())
    }

    fn critic_advantages(
        &mut self,
        rewards: &[f64],
        values: &[f64],
        lengths: &[usize],
        advantages: &mut [f64],
        targets: &mut [f64],
    ) -> Result<(), String> {
        let total: usize = lengths.iter().sum();
        if rewards.len() != total
            || values.len() != total + lengths.len()
            || advantages.len() != total
            || targets.len() != total
        {
            return Err(format!(
                "critic_advantages: {} rewards, {} values, {} advantages and {} targets for {} episodes of {total} steps",
                rewards.len(),
                values.len(),
                advantages.len(),
                targets.len(),
                lengths.len()
            ));
        }
        let (mut s, mut sv) = (0, 0);
        let mut r = Vec::new();
        for &len in lengths {
            r.clear();
            r.extend(
                rewards[s..s + len]
                    .iter()
                    .map(|x| (x + self.cfg.reward_shift) * self.cfg.reward_scale),
            );
            let (a, t) = (&mut advantages[s..s + len], &mut targets[s..s + len]);
            self.episode(&r, &values[sv..sv + len + 1], a, t);
            s += len;
            sv += len + 1;
        }
        if self.cfg.normalize_advantages && advantages.len() > 1 {
            let n = advantages.len() as f64;
            let mean = advantages.iter().sum::<f64>() / n;
            let var = advantages
                .iter()
                .map(|x| (x - mean) * (x - mean))
                .sum::<f64>()
                / n;
            let sd = var.sqrt() + 1e-8;
            for x in advantages.iter_mut() {
                *x = (*x - mean) / sd;
            }
        }
        Ok(())
    }

    fn on_gradient(&mut self, ctx: &mut GradContext<'_>) -> Result<(), String> {
        let scale = clip_scale(self.cfg.clip_norm, ctx.global_grad_norm);
        self.adam.step(ctx.weights, ctx.grads, scale)
    }

    fn resize(&mut self, remap: &Remap<'_>) -> Result<(), String> {
        self.adam.resize(remap)
    }

    fn save(&self) -> Result<Vec<u8>, String> {
        let mut out = Vec::with_capacity(24 + 16 * self.adam.m.len());
        out.extend_from_slice(b"snnA2C01");
        out.extend_from_slice(&self.adam.steps.to_le_bytes());
        out.extend_from_slice(&(self.adam.m.len() as u64).to_le_bytes());
        for x in self.adam.m.iter().chain(&self.adam.v) {
            out.extend_from_slice(&x.to_le_bytes());
        }
        Ok(out)
    }

    fn load(&mut self, bytes: &[u8]) -> Result<(), String> {
        let word = |i: usize| -> Result<[u8; 8], String> {
            bytes
                .get(8 + 8 * i..16 + 8 * i)
                .map(|b| b.try_into().unwrap())
                .ok_or_else(|| "load: state truncated".to_string())
        };
        if bytes.get(..8) != Some(b"snnA2C01".as_slice()) {
            return Err("load: not an a2c state".into());
        }
        let n = u64::from_le_bytes(word(1)?) as usize;
        if bytes.len() != 24 + 16 * n {
            return Err(format!("load: {} bytes for {n} synapses", bytes.len()));
        }
        self.adam.steps = u64::from_le_bytes(word(0)?);
        self.adam.m = (0..n)
            .map(|k| word(2 + k).map(f64::from_le_bytes))
            .collect::<Result<_, _>>()?;
        self.adam.v = (0..n)
            .map(|k| word(2 + n + k).map(f64::from_le_bytes))
            .collect::<Result<_, _>>()?;
        Ok(())
    }
}

mod entry {
    use super::A2c;
    snnsim_plugin_api::export_rule!(A2c, "a2c");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(params: &str) -> A2c {
        let cfg = snnsim_plugin_api::parse_config(params).unwrap();
        let shape = Shape {
            n_pre: 1,
            n_post: 2,
            nnz: 2,
            dt_ms: 1.0,
        };
        A2c::new(cfg, &shape).unwrap()
    }

    /// GAE by its definition: A_t = Σ_k (γλ)^k δ_{t+k}, against the recursion.
    #[test]
    fn gae_is_the_discounted_sum_of_td_errors() {
        let mut r = rule("(gamma: 0.9, gae_lambda: 0.8)");
        let rewards = [1.0, -0.5, 2.0, 0.25, 3.0];
        // Episode 1: 3 steps, cut by a time limit (bootstrap 0.7); episode 2: terminated.
        let values = [0.5, 0.1, -0.3, 0.7, 1.0, 2.0, 0.0];
        let (mut adv, mut tgt) = ([0.0; 5], [0.0; 5]);
        r.critic_advantages(&rewards, &values, &[3, 2], &mut adv, &mut tgt)
            .unwrap();
        for (ep, (rs, vs, off)) in [
            (&rewards[..3], &values[..4], 0),
            (&rewards[3..], &values[4..], 3),
        ]
        .into_iter()
        .enumerate()
        {
            for t in 0..rs.len() {
                let mut want = 0.0;
                for k in t..rs.len() {
                    let delta = rs[k] + 0.9 * vs[k + 1] - vs[k];
                    want += (0.9f64 * 0.8).powi((k - t) as i32) * delta;
                }
                assert!((adv[off + t] - want).abs() < 1e-12, "episode {ep} step {t}");
                assert!((tgt[off + t] - (want + vs[t])).abs() < 1e-12);
            }
        }
    }

    /// n-step returns bootstrap from V(s_{t+n}), or from the final value near the end.
    #[test]
    fn n_step_returns_bootstrap_from_the_critic() {
        let mut r = rule("(gamma: 0.5, n_steps: 2, reward_scale: 2.0, reward_shift: -0.5)");
        let rewards = [1.5, 2.5, 3.5];
        let values = [0.1, 0.2, 0.3, 0.4];
        let (mut adv, mut tgt) = ([0.0; 3], [0.0; 3]);
        r.critic_advantages(&rewards, &values, &[3], &mut adv, &mut tgt)
            .unwrap();
        // Shifted and scaled rewards 2, 4, 6. G_0 = 2 + 0.5·4 + 0.25·V(s_2); G_1 = 4 + 0.5·6 + 0.25·V(s_3);
        // G_2 = 6 + 0.5·V(s_3).
        let g = [
            2.0 + 2.0 + 0.25 * 0.3,
            4.0 + 3.0 + 0.25 * 0.4,
            6.0 + 0.5 * 0.4,
        ];
        for t in 0..3 {
            assert!((tgt[t] - g[t]).abs() < 1e-12, "{t}: {} vs {}", tgt[t], g[t]);
            assert!((adv[t] - (g[t] - values[t])).abs() < 1e-12);
        }
    }

    #[test]
    fn mismatched_lengths_and_bad_parameters_are_errors() {
        let mut r = rule("()");
        let (mut a, mut t) = ([0.0; 2], [0.0; 2]);
        let e = r
            .critic_advantages(&[1.0, 2.0], &[0.0, 0.0], &[2], &mut a, &mut t)
            .unwrap_err();
        assert!(e.contains("values"), "{e}");
        assert!(r.advantages(&[1.0], &[1], &mut [0.0]).is_err());
        let cfg = snnsim_plugin_api::parse_config::<Config>("(gae_lambda: 1.5)").unwrap();
        let shape = Shape {
            n_pre: 1,
            n_post: 1,
            nnz: 1,
            dt_ms: 1.0,
        };
        let e = A2c::new(cfg, &shape).unwrap_err();
        assert!(e.starts_with("params.gae_lambda"), "{e}");
    }

    #[test]
    fn save_and_load_round_trip() {
        let mut r = rule("()");
        r.adam.m = vec![1.0, 2.0];
        r.adam.v = vec![3.0, 4.0];
        r.adam.steps = 7;
        let mut s = rule("()");
        s.load(&r.save().unwrap()).unwrap();
        assert_eq!(
            (s.adam.m, s.adam.v, s.adam.steps),
            (r.adam.m, r.adam.v, r.adam.steps)
        );
        assert!(rule("()").load(b"snnREINF").is_err());
    }
}
