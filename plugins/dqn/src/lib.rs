//! Deep Q-learning (Mnih et al. 2015) with Double DQN targets (van Hasselt et al. 2016) and
//! n-step returns, a value rule of the plugin ABI 1.5, optimised with the SDK's Adam after
//! global gradient-norm clipping.
//!
//! The trainer (src/agent/dqn.rs) owns everything off-policy: the replay buffer and its
//! priorities, the target network, exploration and the schedule. It hands this rule a
//! minibatch of n-step transitions with the online network's Q(s, ·) and Q(s', ·) and the
//! target network's Q(s', ·) ([`LearningRule::td_loss`]); the rule forms, per transition i,
//!
//! ```text
//! a*  = argmax_a Q_online(s'_i, a)   (double: true)   or   argmax_a Q_target(s'_i, a)
//! G_i = Σ_{k<m_i} γ^k·c·r_{i,k} + [s'_i not terminal]·γ^{m_i}·Q_target(s'_i, a*)
//! δ_i = G_i − Q(s_i, a_i)
//! L   = (1/n)·Σ_i w_i·ℓ(δ_i),   ℓ = Huber(κ) (or ½δ² without `huber`)
//! ```
//!
//! and returns ∂L/∂Q(s_i, ·) (non-zero only at a_i: −w_i·ℓ'(δ_i)/n) and δ_i, whose magnitude
//! the trainer turns into priorities. The target is a constant (no gradient through it).
//! [`LearningRule::on_gradient`] then takes one Adam step per projection, as `reinforce` and
//! `a2c` do, with the same code ([`snnsim_plugin_api::optim`]).
//!
//! With a C51 readout (Bellemare et al. 2017) the trainer calls [`LearningRule::dist_loss`]
//! (ABI 1.6) with per-action logits on a fixed support instead: the target distribution is
//! the target network's at a* (chosen as above, on the distributions' means), shifted by the
//! n-step return, shrunk by γ^m and projected onto the support (all mass at the return when
//! s' is terminal); the loss is the importance-weighted cross-entropy, whose gradient at the
//! action taken is w·(p − m)/n, and each transition's cross-entropy is its priority. A new
//! call, not a change of `td_loss`, so rules of ABI 1.5 still load.

use snnsim_plugin_api::optim::{clip_scale, Adam};
use snnsim_plugin_api::state::{StateReader, StateWriter};
use snnsim_plugin_api::{DistBatch, GradContext, LearningRule, Remap, RuleContext, Shape, TdBatch};

/// Parameters.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Discount factor γ.
    pub gamma: f64,
    /// Double DQN: the online network picks the next action, the target network values it.
    pub double: bool,
    /// Huber loss with this κ; the squared loss ½δ² when absent.
    pub huber: Option<f64>,
    /// Rewards are multiplied by this before anything else.
    pub reward_scale: f64,
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
    /// γ 0.99, Double DQN, Huber κ = 1, Adam (1e-3, 0.9, 0.999, 1e-8), clip at 10.
    fn default() -> Self {
        Config {
            gamma: 0.99,
            double: true,
            huber: Some(1.0),
            reward_scale: 1.0,
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            clip_norm: Some(10.0),
        }
    }
}

/// The rule's state for one projection: its optimiser.
#[derive(Debug, Clone)]
pub struct Dqn {
    cfg: Config,
    adam: Adam,
}

fn check(cfg: &Config) -> Result<(), String> {
    if !(0.0..=1.0).contains(&cfg.gamma) {
        return Err(format!("params.gamma: {} is outside [0, 1]", cfg.gamma));
    }
    Adam::check(cfg.lr, cfg.beta1, cfg.beta2, cfg.eps)?;
    for (name, x) in [("huber", cfg.huber), ("clip_norm", cfg.clip_norm)] {
        if let Some(x) = x {
            if !(x.is_finite() && x > 0.0) {
                return Err(format!("params.{name}: {x} must be > 0"));
            }
        }
    }
    if !cfg.reward_scale.is_finite() {
        return Err("params.reward_scale: must be finite".into());
    }
    Ok(())
}

/// log Σ exp x, shifted by the largest value.
fn log_sum_exp(x: &[f64]) -> f64 {
    let top = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    top + x.iter().map(|v| (v - top).exp()).sum::<f64>().ln()
}

/// The softmax of `x` into `p`.
fn softmax(x: &[f64], p: &mut [f64]) {
    let lse = log_sum_exp(x);
    for (p, v) in p.iter_mut().zip(x) {
        *p = (v - lse).exp();
    }
}

/// The first index of the largest value.
fn argmax(x: &[f64]) -> usize {
    (0..x.len()).fold(0, |b, c| if x[c] > x[b] { c } else { b })
}

/// The scaled, discounted rewards of transition `i` of a minibatch (`k` reward columns,
/// `steps[i]` of them used) and γ^m, the discount of the bootstrap; checks the transition
/// against `k` rewards and `a` actions. `what` names the call in the error.
#[allow(clippy::too_many_arguments)]
fn n_step_return(
    cfg: &Config,
    what: &str,
    i: usize,
    rewards: &[f64],
    steps: &[u32],
    actions: &[u32],
    k: usize,
    a: usize,
) -> Result<(f64, f64), String> {
    let (m, act) = (steps[i] as usize, actions[i] as usize);
    if m == 0 || m > k || act >= a {
        return Err(format!(
            "{what}: transition {i} has {m} rewards (1..={k}) and action {act} (of {a})"
        ));
    }
    let (mut ret, mut disc) = (0.0, 1.0);
    for r in &rewards[i * k..i * k + m] {
        ret += disc * cfg.reward_scale * r;
        disc *= cfg.gamma;
    }
    Ok((ret, disc))
}

impl LearningRule for Dqn {
    type Config = Config;

    fn new(cfg: Config, shape: &Shape) -> Result<Self, String> {
        check(&cfg)?;
        let adam = Adam::new(cfg.lr, cfg.beta1, cfg.beta2, cfg.eps, shape.nnz);
        Ok(Dqn { cfg, adam })
    }

    /// DQN learns from minibatches of transitions, not from spikes step by step.
    fn on_step(&mut self, _ctx: &mut RuleContext<'_>) -> Result<(), String> {
        Ok(())
    }

    fn advantages(&mut self, _: &[f64], _: &[usize], _: &mut [f64]) -> Result<(), String> {
        Err("dqn is a value rule: give the task `off_policy: (...)`".into())
    }

    fn td_loss(&mut self, b: &TdBatch<'_>, dq: &mut [f64], td: &mut [f64]) -> Result<f64, String> {
        let (n, a, k) = (b.len(), b.n_actions, b.n_step);
        let sizes_ok = b.q.len() == n * a
            && b.q_next_online.len() == n * a
            && b.q_next_target.len() == n * a
            && b.rewards.len() == n * k
            && b.steps.len() == n
            && b.terminal.len() == n
            && b.weights.len() == n
            && dq.len() == n * a
            && td.len() == n;
        if !sizes_ok || a == 0 {
            return Err(format!(
                "td_loss: the minibatch's arrays do not fit {n} transitions of {a} actions and {k} rewards"
            ));
        }
        let mut loss = 0.0;
        for i in 0..n {
            let act = b.actions[i] as usize;
            let (mut ret, disc) =
                n_step_return(&self.cfg, "td_loss", i, b.rewards, b.steps, b.actions, k, a)?;
            if b.terminal[i] == 0 {
                let row = i * a..(i + 1) * a;
                let pick = if self.cfg.double {
                    argmax(&b.q_next_online[row.clone()])
                } else {
                    argmax(&b.q_next_target[row.clone()])
                };
                ret += disc * b.q_next_target[row.start + pick];
            }
            let delta = ret - b.q[i * a + act];
            td[i] = delta;
            let (l, dl) = match self.cfg.huber {
                Some(kappa) if delta.abs() > kappa => {
                    (kappa * (delta.abs() - 0.5 * kappa), kappa * delta.signum())
                }
                _ => (0.5 * delta * delta, delta),
            };
            loss += b.weights[i] * l / n as f64;
            dq[i * a..(i + 1) * a].iter_mut().for_each(|x| *x = 0.0);
            dq[i * a + act] = -b.weights[i] * dl / n as f64;
        }
        Ok(loss)
    }

    fn dist_loss(
        &mut self,
        b: &DistBatch<'_>,
        dl: &mut [f64],
        td: &mut [f64],
    ) -> Result<f64, String> {
        let (n, a, z, k) = (b.len(), b.n_actions, b.n_atoms, b.n_step);
        let row = a * z;
        let sizes_ok = b.logits.len() == n * row
            && b.logits_next_online.len() == n * row
            && b.logits_next_target.len() == n * row
            && b.rewards.len() == n * k
            && b.steps.len() == n
            && b.terminal.len() == n
            && b.weights.len() == n
            && dl.len() == n * row
            && td.len() == n;
        if !sizes_ok || a == 0 || z < 2 {
            return Err(format!(
                "dist_loss: the minibatch's arrays do not fit {n} transitions of {a} actions × {z} atoms (≥ 2) and {k} rewards"
            ));
        }
        if !(b.v_min.is_finite() && b.v_max.is_finite() && b.v_min < b.v_max) {
            return Err(format!(
                "dist_loss: the support [{}, {}] is empty",
                b.v_min, b.v_max
            ));
        }
        let dz = (b.v_max - b.v_min) / (z - 1) as f64;
        let support: Vec<f64> = (0..z).map(|j| b.v_min + j as f64 * dz).collect();
        let (mut p, mut m) = (vec![0.0; z], vec![0.0; z]);
        let mut loss = 0.0;
        for i in 0..n {
            let act = b.actions[i] as usize;
            let (ret, disc) = n_step_return(
                &self.cfg,
                "dist_loss",
                i,
                b.rewards,
                b.steps,
                b.actions,
                k,
                a,
            )?;
            // The target distribution: all mass at the return when s' is terminal, else the
            // target network's distribution at a*, shifted by the return and shrunk by γ^m.
            m.iter_mut().for_each(|x| *x = 0.0);
            let project = |tz: f64, mass: f64, m: &mut [f64]| {
                let pos = ((tz.clamp(b.v_min, b.v_max) - b.v_min) / dz).clamp(0.0, (z - 1) as f64);
                let (l, u) = (pos.floor() as usize, pos.ceil() as usize);
                if l == u {
                    m[l] += mass;
                } else {
                    m[l] += mass * (u as f64 - pos);
                    m[u] += mass * (pos - l as f64);
                }
            };
            if b.terminal[i] != 0 {
                project(ret, 1.0, &mut m);
            } else {
                let at = |x: &[f64], c: usize, p: &mut [f64]| {
                    softmax(&x[i * row + c * z..i * row + (c + 1) * z], p)
                };
                let q = |x: &[f64], p: &mut [f64]| -> Vec<f64> {
                    (0..a)
                        .map(|c| {
                            at(x, c, p);
                            p.iter().zip(&support).map(|(p, s)| p * s).sum()
                        })
                        .collect()
                };
                let pick = if self.cfg.double {
                    argmax(&q(b.logits_next_online, &mut p))
                } else {
                    argmax(&q(b.logits_next_target, &mut p))
                };
                at(b.logits_next_target, pick, &mut p);
                for j in 0..z {
                    project(ret + disc * support[j], p[j], &mut m);
                }
            }
            // Cross-entropy −Σ m log p(s, a) and its gradient (p − m)·w/n at the action taken.
            let x = &b.logits[i * row + act * z..i * row + (act + 1) * z];
            let lse = log_sum_exp(x);
            let ce: f64 = m.iter().zip(x).map(|(m, x)| -m * (x - lse)).sum();
            td[i] = ce;
            loss += b.weights[i] * ce / n as f64;
            let out = &mut dl[i * row..(i + 1) * row];
            out.iter_mut().for_each(|v| *v = 0.0);
            for j in 0..z {
                let pj = (x[j] - lse).exp();
                out[act * z + j] = b.weights[i] * (pj - m[j]) / n as f64;
            }
        }
        Ok(loss)
    }

    fn on_gradient(&mut self, ctx: &mut GradContext<'_>) -> Result<(), String> {
        let scale = clip_scale(self.cfg.clip_norm, ctx.global_grad_norm);
        self.adam.step(ctx.weights, ctx.grads, scale)
    }

    fn resize(&mut self, remap: &Remap<'_>) -> Result<(), String> {
        self.adam.resize(remap)
    }

    fn save(&self) -> Result<Vec<u8>, String> {
        let mut w = StateWriter::new(b"snnDQN01");
        w.u64(self.adam.steps)
            .f64s(self.adam.m.iter().copied())
            .f64s(self.adam.v.iter().copied());
        Ok(w.into_bytes())
    }

    fn load(&mut self, bytes: &[u8]) -> Result<(), String> {
        let mut r = StateReader::new(bytes);
        r.magic(&[b"snnDQN01"], "dqn")?;
        let steps = r.u64("steps")?;
        let m = r.f64s("first moments")?;
        let v = r.f64s("second moments")?;
        r.finish()?;
        if m.len() != v.len() || m.len() != self.adam.m.len() {
            return Err(format!(
                "load: moments for {} and {} synapses, the projection has {}",
                m.len(),
                v.len(),
                self.adam.m.len()
            ));
        }
        (self.adam.steps, self.adam.m, self.adam.v) = (steps, m, v);
        Ok(())
    }
}

mod entry {
    use super::Dqn;
    snnsim_plugin_api::export_rule!(Dqn, "dqn");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(params: &str) -> Dqn {
        let cfg = snnsim_plugin_api::parse_config(params).unwrap();
        let shape = Shape {
            n_pre: 1,
            n_post: 2,
            nnz: 2,
            dt_ms: 1.0,
        };
        Dqn::new(cfg, &shape).unwrap()
    }

    /// Targets by hand: a 2-step return bootstrapped from the target network at the online
    /// argmax (double) or the target argmax (plain), none at a terminal state; the gradient
    /// is −w·δ/n at the action taken (squared loss) or clipped at κ (Huber).
    #[test]
    fn targets_and_gradients_follow_the_definitions() {
        let q = [1.0, 2.0, 0.5, 0.0];
        let qn_on = [3.0, 1.0, 0.0, 9.0];
        let qn_tg = [0.5, 4.0, 7.0, 8.0];
        let rewards = [1.0, 2.0, 1.0, 0.0];
        let batch = TdBatch {
            n_actions: 2,
            n_step: 2,
            q: &q,
            q_next_online: &qn_on,
            q_next_target: &qn_tg,
            actions: &[1, 0],
            rewards: &rewards,
            steps: &[2, 1],
            terminal: &[0, 1],
            weights: &[1.0, 0.5],
        };
        let (mut dq, mut td) = ([0.0; 4], [0.0; 2]);
        let mut r = rule("(gamma: 0.5, huber: None)");
        let loss = r.td_loss(&batch, &mut dq, &mut td).unwrap();
        // Double: a* = 0 (online 3 > 1), value 0.5: G0 = 1 + 0.5·2 + 0.25·0.5 = 2.125.
        let d0 = 2.125 - 2.0;
        let d1 = 1.0 - 0.5; // terminal after one reward.
        assert_eq!(td, [d0, d1]);
        assert_eq!(dq, [0.0, -d0 / 2.0, -0.5 * d1 / 2.0, 0.0]);
        assert!((loss - (0.5 * d0 * d0 + 0.5 * 0.5 * d1 * d1) / 2.0).abs() < 1e-15);
        let mut r = rule("(gamma: 0.5, double: false, huber: Some(0.1))");
        r.td_loss(&batch, &mut dq, &mut td).unwrap();
        // Plain: a* = 1 (target 4 > 0.5): G0 = 2 + 0.25·4 = 3.
        assert_eq!(td[0], 1.0);
        assert_eq!(dq[1], -0.1 / 2.0);
        assert_eq!(dq[2], -0.5 * 0.1 / 2.0);
    }

    /// The C51 loss against tests/reference/c51_loss.json (tests/reference/gen/gen_c51.py: an
    /// independent numpy computation of the projected target by the paper's Eq. 7, the
    /// cross-entropies and the loss, and the gradient by finite differences).
    #[test]
    fn c51_targets_losses_and_gradients_match_the_numpy_reference() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/reference/c51_loss.json"
        );
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let f64s = |v: &serde_json::Value| -> Vec<f64> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        };
        let cases = doc["cases"].as_array().unwrap();
        assert_eq!(cases.len(), 2);
        for c in cases {
            let u = |k: &str| c[k].as_u64().unwrap() as usize;
            let (n, a, z) = (u("n"), u("n_actions"), u("n_atoms"));
            let actions: Vec<u32> = f64s(&c["actions"]).iter().map(|&x| x as u32).collect();
            let steps: Vec<u32> = f64s(&c["steps"]).iter().map(|&x| x as u32).collect();
            let terminal: Vec<u8> = f64s(&c["terminal"]).iter().map(|&x| x as u8).collect();
            let (logits, on, tg) = (
                f64s(&c["logits"]),
                f64s(&c["logits_next_online"]),
                f64s(&c["logits_next_target"]),
            );
            let (rewards, weights) = (f64s(&c["rewards"]), f64s(&c["weights"]));
            let batch = DistBatch {
                n_actions: a,
                n_atoms: z,
                n_step: u("n_step"),
                v_min: c["v_min"].as_f64().unwrap(),
                v_max: c["v_max"].as_f64().unwrap(),
                logits: &logits,
                logits_next_online: &on,
                logits_next_target: &tg,
                actions: &actions,
                rewards: &rewards,
                steps: &steps,
                terminal: &terminal,
                weights: &weights,
            };
            let mut r = rule(&format!(
                "(gamma: {:?}, double: {})",
                c["gamma"].as_f64().unwrap(),
                c["double"].as_bool().unwrap()
            ));
            let (mut dl, mut ce) = (vec![0.0; n * a * z], vec![0.0; n]);
            let loss = r.dist_loss(&batch, &mut dl, &mut ce).unwrap();
            let e = &c["expected"];
            let name = c["name"].as_str().unwrap();
            assert!(
                (loss - e["loss"].as_f64().unwrap()).abs() < 1e-12,
                "{name}: loss"
            );
            for (i, (x, y)) in ce.iter().zip(f64s(&e["ce"])).enumerate() {
                assert!((x - y).abs() < 1e-12, "{name}: CE {i}: {x} vs {y}");
            }
            // p − m at the action taken, so the target is m = p − n·dl/w there.
            let m = f64s(&e["target"]);
            for i in 0..n {
                let row = &logits[i * a * z + actions[i] as usize * z..][..z];
                let top = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let sum: f64 = row.iter().map(|x| (x - top).exp()).sum();
                for j in 0..z {
                    let p = (row[j] - top).exp() / sum;
                    let got =
                        p - n as f64 * dl[i * a * z + actions[i] as usize * z + j] / weights[i];
                    assert!((got - m[i * z + j]).abs() < 1e-12, "{name}: target {i}.{j}");
                }
            }
            for (k, (x, y)) in dl.iter().zip(f64s(&e["dlogits_fd"])).enumerate() {
                assert!((x - y).abs() < 1e-8, "{name}: dlogits {k}: {x} vs {y}");
            }
        }
    }

    #[test]
    fn bad_batches_and_parameters_are_errors_and_state_round_trips() {
        let mut r = rule("()");
        let batch = TdBatch {
            n_actions: 2,
            n_step: 1,
            q: &[0.0, 0.0],
            q_next_online: &[0.0, 0.0],
            q_next_target: &[0.0, 0.0],
            actions: &[2],
            rewards: &[1.0],
            steps: &[1],
            terminal: &[0],
            weights: &[1.0],
        };
        let e = r.td_loss(&batch, &mut [0.0; 2], &mut [0.0]).unwrap_err();
        assert!(e.contains("action 2"), "{e}");
        let e = r.td_loss(&batch, &mut [0.0; 3], &mut [0.0]).unwrap_err();
        assert!(e.contains("do not fit"), "{e}");
        let shape = Shape {
            n_pre: 1,
            n_post: 1,
            nnz: 1,
            dt_ms: 1.0,
        };
        let cfg = snnsim_plugin_api::parse_config::<Config>("(gamma: 1.5)").unwrap();
        assert!(Dqn::new(cfg, &shape)
            .unwrap_err()
            .starts_with("params.gamma"));
        let cfg = snnsim_plugin_api::parse_config::<Config>("(huber: Some(0.0))").unwrap();
        assert!(Dqn::new(cfg, &shape)
            .unwrap_err()
            .starts_with("params.huber"));
        r.adam.m = vec![1.0, 2.0];
        r.adam.v = vec![3.0, 4.0];
        r.adam.steps = 5;
        let mut s = rule("()");
        s.load(&r.save().unwrap()).unwrap();
        assert_eq!(s.adam, r.adam);
        assert!(s.load(b"snnA2C01").is_err());
    }
}
