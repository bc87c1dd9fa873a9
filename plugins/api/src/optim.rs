//! Optimisers for gradient rules: Adam (Kingma & Ba 2015) and global gradient-norm clipping.
//!
//! Every gradient rule (`reinforce`, `a2c`, `dqn`) takes the same optimiser step, so it lives
//! here once. The arithmetic is written in one order (clip scale, moments, bias corrections,
//! update) and every rule that uses it computes the same bits as before it was shared; the
//! rules keep their own saved-state formats and read and write the moments through the public
//! fields.

use crate::abi::NEW;
use crate::Remap;

/// Adam's hyper-parameters and per-synapse moments of one projection.
#[derive(Debug, Clone, PartialEq)]
pub struct Adam {
    /// Learning rate.
    pub lr: f64,
    /// Decay of the first moment.
    pub beta1: f64,
    /// Decay of the second moment.
    pub beta2: f64,
    /// Added to √v̂.
    pub eps: f64,
    /// Steps taken (the bias corrections use it).
    pub steps: u64,
    /// First moments, one per synapse.
    pub m: Vec<f64>,
    /// Second moments, one per synapse.
    pub v: Vec<f64>,
}

/// The factor a gradient of global L2 norm `norm` is scaled by when clipped at `clip`:
/// min(1, c/‖g‖), or 1 without clipping.
pub fn clip_scale(clip: Option<f64>, norm: f64) -> f64 {
    match clip {
        Some(c) if norm > c => c / norm,
        _ => 1.0,
    }
}

impl Adam {
    /// Zero moments for `n` synapses.
    pub fn new(lr: f64, beta1: f64, beta2: f64, eps: f64, n: usize) -> Self {
        Adam {
            lr,
            beta1,
            beta2,
            eps,
            steps: 0,
            m: vec![0.0; n],
            v: vec![0.0; n],
        }
    }

    /// Checks the hyper-parameters, naming the field (`params.lr`, ...).
    pub fn check(lr: f64, beta1: f64, beta2: f64, eps: f64) -> Result<(), String> {
        for (name, x) in [("beta1", beta1), ("beta2", beta2)] {
            if !(0.0..=1.0).contains(&x) {
                return Err(format!("params.{name}: {x} is outside [0, 1]"));
            }
        }
        for (name, x) in [("lr", lr), ("eps", eps)] {
            if !(x.is_finite() && x > 0.0) {
                return Err(format!("params.{name}: {x} must be > 0"));
            }
        }
        Ok(())
    }

    /// One step: each gradient is multiplied by `scale` (see [`clip_scale`]), the moments
    /// are updated and w ← w − lr·m̂/(√v̂ + ε). The lengths must match the moments.
    pub fn step(&mut self, weights: &mut [f64], grads: &[f64], scale: f64) -> Result<(), String> {
        let n = weights.len();
        if self.m.len() != n || grads.len() != n {
            return Err(format!(
                "the projection has {n} synapses but the rule holds moments for {} (a structural edit without resize?)",
                self.m.len()
            ));
        }
        self.steps += 1;
        let (b1, b2) = (self.beta1, self.beta2);
        let c1 = 1.0 - b1.powi(self.steps as i32);
        let c2 = 1.0 - b2.powi(self.steps as i32);
        for k in 0..n {
            let g = grads[k] * scale;
            self.m[k] = b1 * self.m[k] + (1.0 - b1) * g;
            self.v[k] = b2 * self.v[k] + (1.0 - b2) * g * g;
            let m_hat = self.m[k] / c1;
            let v_hat = self.v[k] / c2;
            weights[k] -= self.lr * m_hat / (v_hat.sqrt() + self.eps);
        }
        Ok(())
    }

    /// Follows a structural edit: surviving synapses keep their moments, new ones start at 0.
    pub fn resize(&mut self, remap: &Remap<'_>) -> Result<(), String> {
        if remap
            .synapses
            .iter()
            .any(|&k| k != NEW && k as usize >= self.m.len())
        {
            return Err("resize: a synapse map points past the old synapses".into());
        }
        self.m = Remap::apply(remap.synapses, &self.m, 0.0);
        self.v = Remap::apply(remap.synapses, &self.v, 0.0);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first step moves each weight by −lr·sign(g) (m̂ = g, v̂ = g²); the second follows
    /// the formulas; clipping scales the gradient by c/‖g‖.
    #[test]
    fn adam_follows_the_formulas() {
        let mut a = Adam::new(0.1, 0.9, 0.999, 1e-8, 2);
        let mut w = [1.0, -1.0];
        a.step(&mut w, &[2.0, -0.5], 1.0).unwrap();
        assert!(
            (w[0] - 0.9).abs() < 1e-8 && (w[1] + 0.9).abs() < 1e-8,
            "{w:?}"
        );
        let (m, v) = (0.9 * 0.2 + 0.1 * 1.0, 0.999 * 0.004 + 0.001 * 1.0);
        let want = w[0] - 0.1 * (m / 0.19) / ((v / (1.0 - 0.999f64.powi(2))).sqrt() + 1e-8);
        a.step(&mut w, &[1.0, 0.0], 1.0).unwrap();
        assert!((w[0] - want).abs() < 1e-12, "{} vs {want}", w[0]);
        assert_eq!(clip_scale(Some(1.0), 4.0), 0.25);
        assert_eq!(clip_scale(Some(5.0), 4.0), 1.0);
        assert_eq!(clip_scale(None, 4.0), 1.0);
        assert!(a.step(&mut [0.0], &[0.0], 1.0).is_err());
        assert!(Adam::check(0.0, 0.9, 0.999, 1e-8)
            .unwrap_err()
            .contains("params.lr"));
        assert!(Adam::check(1e-3, 1.5, 0.999, 1e-8)
            .unwrap_err()
            .contains("beta1"));
    }
}
