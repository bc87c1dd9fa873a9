//! REINFORCE (Williams 1992) with an exponential-moving-average baseline, optimised with Adam
//! (Kingma & Ba 2015) after global gradient-norm clipping — the learning rule of the foraging
//! agent (docs/results.md), as a gradient rule of the plugin ABI 1.1.
//!
//! The host simulates the episodes, backpropagates through the spiking policy and calls:
//! - [`LearningRule::advantages`] with the rewards of a batch of episodes: per episode, in
//!   order, the returns G_t = Σ_k γ^k r_{t+k}, the advantages A_t = G_t − b with the baseline b
//!   as it stood before the episode, then b ← d·b + (1 − d)·G_0. Optionally the advantages of
//!   the batch are normalised to zero mean and unit variance.
//! - [`LearningRule::on_gradient`] with ∂L/∂w of L = −(1/B)·Σ_episodes Σ_t A_t·log π(a_t|s_t) for
//!   each trained projection and the global L2 norm of that gradient: the gradient is scaled
//!   by min(1, c/‖g‖), then one Adam step is taken per synapse.
//!
//! Adam's moments are per synapse and follow growth and pruning through `resize` (new synapses
//! start with zero moments); the baseline and the step count are kept in `save`/`load`.

use snnsim_plugin_api::optim::{clip_scale, Adam};
use snnsim_plugin_api::{GradContext, LearningRule, Remap, RuleContext, Shape};

/// Parameters.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Discount factor γ.
    pub gamma: f64,
    /// Decay d of the baseline's moving average of episode returns.
    pub baseline_decay: f64,
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
    /// SPEC §1.3: γ 0.99, baseline decay 0.99, Adam (1e-3, 0.9, 0.999, 1e-8), clip at 1.0.
    fn default() -> Self {
        Config {
            gamma: 0.99,
            baseline_decay: 0.99,
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
pub struct Reinforce {
    cfg: Config,
    baseline: f64,
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
    unit("baseline_decay", cfg.baseline_decay)?;
    unit("beta1", cfg.beta1)?;
    unit("beta2", cfg.beta2)?;
    if !(cfg.lr.is_finite() && cfg.lr > 0.0) {
        return Err(format!("params.lr: {} must be > 0", cfg.lr));
    }
    if !(cfg.eps.is_finite() && cfg.eps > 0.0) {
        return Err(format!("params.eps: {} must be > 0", cfg.eps));
    }
    if let Some(c) = cfg.clip_norm {
        if !(c.is_finite() && c > 0.0) {
            return Err(format!("params.clip_norm: {c} must be > 0"));
        }
    }
    Ok(())
}

impl LearningRule for Reinforce {
    type Config = Config;

    fn new(cfg: Config, shape: &Shape) -> Result<Self, String> {
        check(&cfg)?;
        let adam = Adam::new(cfg.lr, cfg.beta1, cfg.beta2, cfg.eps, shape.nnz);
        Ok(Reinforce {
            cfg,
            baseline: 0.0,
            adam,
        })
    }

    /// REINFORCE learns from returns, not from spikes step by step.
    fn on_step(&mut self, _ctx: &mut RuleContext<'_>) -> Result<(), String> {
        Ok(())
    }

    fn advantages(
        &mut self,
        rewards: &[f64],
        lengths: &[usize],
        out: &mut [f64],
    ) -> Result<(), String> {
        let mut start = 0;
        for &len in lengths {
            let (r, a) = (&rewards[start..start + len], &mut out[start..start + len]);
            let mut g = 0.0;
            for t in (0..len).rev() {
                g = r[t] + self.cfg.gamma * g;
                a[t] = g;
            }
            let g0 = if len > 0 { a[0] } else { 0.0 };
            for x in a.iter_mut() {
                *x -= self.baseline;
            }
            self.baseline =
                self.cfg.baseline_decay * self.baseline + (1.0 - self.cfg.baseline_decay) * g0;
            start += len;
        }
        if self.cfg.normalize_advantages && out.len() > 1 {
            let n = out.len() as f64;
            let mean = out.iter().sum::<f64>() / n;
            let var = out.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
            let sd = var.sqrt() + 1e-8;
            for x in out.iter_mut() {
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
        let mut out = Vec::with_capacity(32 + 16 * self.adam.m.len());
        out.extend_from_slice(b"snnREINF");
        out.extend_from_slice(&self.baseline.to_le_bytes());
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
        if bytes.get(..8) != Some(b"snnREINF".as_slice()) {
            return Err("load: not a reinforce state".into());
        }
        let n = u64::from_le_bytes(word(2)?) as usize;
        if bytes.len() != 32 + 16 * n {
            return Err(format!("load: {} bytes for {n} synapses", bytes.len()));
        }
        self.baseline = f64::from_le_bytes(word(0)?);
        self.adam.steps = u64::from_le_bytes(word(1)?);
        self.adam.m = (0..n)
            .map(|k| word(3 + k).map(f64::from_le_bytes))
            .collect::<Result<_, _>>()?;
        self.adam.v = (0..n)
            .map(|k| word(3 + n + k).map(f64::from_le_bytes))
            .collect::<Result<_, _>>()?;
        Ok(())
    }
}

impl Reinforce {
    /// The baseline b.
    pub fn baseline(&self) -> f64 {
        self.baseline
    }
}

mod entry {
    use super::Reinforce;
    snnsim_plugin_api::export_rule!(Reinforce, "reinforce");
}

#[cfg(test)]
mod tests {
    use super::*;
    use snnsim_plugin_api::abi::NEW;

    fn rule(params: &str, nnz: usize) -> Reinforce {
        let cfg = snnsim_plugin_api::parse_config(params).unwrap();
        Reinforce::new(
            cfg,
            &Shape {
                n_pre: 1,
                n_post: nnz,
                nnz,
                dt_ms: 1.0,
            },
        )
        .unwrap()
    }

    #[test]
    fn advantages_are_discounted_returns_minus_the_running_baseline() {
        let mut r = rule("(gamma: 0.5, baseline_decay: 0.75)", 1);
        let rewards = [1.0, 0.0, 2.0, 4.0, -1.0];
        let mut out = [0.0; 5];
        r.advantages(&rewards, &[3, 2], &mut out).unwrap();
        // Episode 1: G = [1 + 0.5·0 + 0.25·2, 0 + 0.5·2, 2] = [1.5, 1, 2], b = 0.
        assert_eq!(&out[..3], &[1.5, 1.0, 2.0]);
        // b ← 0.75·0 + 0.25·1.5 = 0.375; episode 2: G = [4 − 0.5, −1] − b.
        assert_eq!(&out[3..], &[3.5 - 0.375, -1.0 - 0.375]);
        assert_eq!(r.baseline(), 0.75 * 0.375 + 0.25 * 3.5);
    }

    #[test]
    fn normalised_advantages_have_zero_mean_and_unit_variance() {
        let mut r = rule("(normalize_advantages: true)", 1);
        let mut out = [0.0; 4];
        r.advantages(&[1.0, -2.0, 0.5, 3.0], &[2, 2], &mut out)
            .unwrap();
        let mean = out.iter().sum::<f64>() / 4.0;
        let var = out.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 4.0;
        assert!(mean.abs() < 1e-12 && (var - 1.0).abs() < 1e-6);
    }

    #[test]
    fn adam_steps_and_clipping_follow_the_formulas() {
        let mut r = rule("(lr: 0.1, clip_norm: 1.0)", 2);
        let mut w = [1.0, -1.0];
        let g = [3.0, 4.0]; // norm 5: scaled by 1/5 → [0.6, 0.8]
        let (indptr, indices) = ([0usize, 2], [0u32, 1]);
        let mut ctx = GradContext {
            update: 0,
            n_pre: 1,
            n_post: 2,
            indptr: &indptr,
            indices: &indices,
            weights: &mut w,
            grads: &g,
            global_grad_norm: 5.0,
        };
        r.on_gradient(&mut ctx).unwrap();
        // First Adam step: m̂ = g, v̂ = g², so Δw = −lr·g/(|g| + ε) ≈ −lr·sign(g).
        for (k, (w0, gk)) in [(1.0, 0.6), (-1.0, 0.8)].into_iter().enumerate() {
            let expect = w0 - 0.1 * gk / (gk + 1e-8);
            assert!((w[k] - expect).abs() < 1e-15, "{k}: {} vs {expect}", w[k]);
        }
        assert!(
            (r.adam.m[0] - 0.1 * 0.6).abs() < 1e-15 && (r.adam.v[1] - 0.001 * 0.64).abs() < 1e-15
        );
    }

    #[test]
    fn resize_keeps_surviving_moments_and_zeroes_new_ones() {
        let mut r = rule("()", 3);
        r.adam.m = vec![1.0, 2.0, 3.0];
        r.adam.v = vec![4.0, 5.0, 6.0];
        let syn = [2, NEW, 0];
        r.resize(&Remap {
            pre: &[0],
            post: &[0, NEW, 1],
            synapses: &syn,
        })
        .unwrap();
        assert_eq!(r.adam.m, vec![3.0, 0.0, 1.0]);
        assert_eq!(r.adam.v, vec![6.0, 0.0, 4.0]);
        let bytes = r.save().unwrap();
        let mut s = rule("()", 0);
        s.load(&bytes).unwrap();
        assert_eq!(
            (s.adam.m.clone(), s.adam.v.clone(), s.baseline, s.adam.steps),
            (r.adam.m, r.adam.v, r.baseline, r.adam.steps)
        );
    }

    #[test]
    fn bad_parameters_name_the_field() {
        let cfg = snnsim_plugin_api::parse_config::<Config>("(gamma: 1.5)").unwrap();
        let e = Reinforce::new(
            cfg,
            &Shape {
                n_pre: 1,
                n_post: 1,
                nnz: 1,
                dt_ms: 1.0,
            },
        )
        .unwrap_err();
        assert!(e.starts_with("params.gamma"), "{e}");
    }
}
