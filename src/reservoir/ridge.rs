//! The linear readout: ridge regression in closed form, w = (XᵀX + λI)⁻¹ Xᵀy, solved by a
//! Cholesky factorisation of the (symmetric positive definite) normal matrix with nalgebra,
//! so no solver is written here. Features are centred on the fitting rows and divided by one
//! common scale (the same λ then means the same thing for spike traces and raw inputs), and a
//! bias column, not penalised, carries the mean. Sums run in row order, so a fit is the same on every machine
//! and thread count.

use nalgebra::{DMatrix, DVector};

/// A fitted readout.
#[derive(Debug, Clone)]
pub struct Readout {
    mean: Vec<f64>,
    scale: f64,
    /// Weights of the standardised features; the last entry is the bias.
    w: Vec<f64>,
}

/// Root mean squared error over the variance of the target: √(MSE / Var y).
pub fn nrmse(pred: &[f64], y: &[f64]) -> f64 {
    let n = y.len() as f64;
    let mean = y.iter().sum::<f64>() / n;
    let var = y.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    let mse = pred
        .iter()
        .zip(y)
        .map(|(p, v)| (p - v) * (p - v))
        .sum::<f64>()
        / n;
    (mse / var).sqrt()
}

/// The normal equations of a fit: ZᵀZ and Zᵀy of the standardised features with a bias
/// column, kept so that several penalties cost one factorisation each, not one product each.
struct Normal {
    mean: Vec<f64>,
    scale: f64,
    ztz: DMatrix<f64>,
    zty: DVector<f64>,
}

impl Normal {
    fn of(x: &[f64], dim: usize, y: &[f64]) -> Normal {
        let rows = y.len();
        debug_assert_eq!(x.len(), rows * dim);
        let mut mean = vec![0.0; dim];
        for r in x.chunks_exact(dim) {
            for (m, v) in mean.iter_mut().zip(r) {
                *m += v;
            }
        }
        mean.iter_mut().for_each(|m| *m /= rows as f64);
        let mut spread = 0.0;
        for r in x.chunks_exact(dim) {
            for (v, m) in r.iter().zip(&mean) {
                spread += (v - m) * (v - m);
            }
        }
        // One scale for all features, the root mean square of their spreads: a neuron that
        // fired a handful of times keeps its small weight in the penalty instead of being
        // blown up to unit variance (and then dominating the test samples it fires in).
        let rms = (spread / (rows * dim) as f64).sqrt();
        let scale = if rms > 1e-12 { rms } else { 1.0 };
        let z = DMatrix::from_fn(rows, dim + 1, |i, j| {
            if j == dim {
                1.0
            } else {
                (x[i * dim + j] - mean[j]) / scale
            }
        });
        let zt = z.transpose();
        Normal {
            ztz: &zt * &z,
            zty: zt * DVector::from_column_slice(y),
            mean,
            scale,
        }
    }

    fn solve(&self, lambda: f64) -> Option<Readout> {
        let dim = self.mean.len();
        let mut a = self.ztz.clone();
        for j in 0..dim {
            a[(j, j)] += lambda;
        }
        let w = a.cholesky()?.solve(&self.zty);
        Some(Readout {
            mean: self.mean.clone(),
            scale: self.scale,
            w: w.iter().copied().collect(),
        })
    }
}

impl Readout {
    /// Fits `y` from the rows of `x` (row-major, `dim` features each) with penalty `lambda`;
    /// `None` when the normal matrix is not positive definite (λ = 0 with collinear features).
    pub fn fit(x: &[f64], dim: usize, y: &[f64], lambda: f64) -> Option<Readout> {
        Normal::of(x, dim, y).solve(lambda)
    }

    /// The readout's output for every row of `x`.
    pub fn predict(&self, x: &[f64]) -> Vec<f64> {
        let dim = self.mean.len();
        x.chunks_exact(dim)
            .map(|r| {
                let dot: f64 = r
                    .iter()
                    .zip(&self.mean)
                    .zip(&self.w)
                    .map(|((v, m), w)| w * (v - m))
                    .sum();
                self.w[dim] + dot / self.scale
            })
            .collect()
    }
}

/// The best of `lambdas`: each fitted on the first four fifths of the rows and scored by NRMSE
/// on the last fifth; the winner refitted on all rows. Returns (readout, λ), or `None` when
/// no λ gives a positive definite system.
pub fn fit_best(x: &[f64], dim: usize, y: &[f64], lambdas: &[f64]) -> Option<(Readout, f64)> {
    let rows = y.len();
    let cut = rows * 4 / 5;
    let part = Normal::of(&x[..cut * dim], dim, &y[..cut]);
    let mut best: Option<(f64, f64)> = None;
    for &l in lambdas {
        let Some(r) = part.solve(l) else {
            continue;
        };
        let e = nrmse(&r.predict(&x[cut * dim..]), &y[cut..]);
        if e.is_finite() && best.is_none_or(|(b, _)| e < b) {
            best = Some((e, l));
        }
    }
    let (_, l) = best?;
    Readout::fit(x, dim, y, l).map(|r| (r, l))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_linear_map() {
        // y = 2·a − 3·b + 0.5, exactly: the fit with a tiny λ gives it back.
        let rows = 50;
        let x: Vec<f64> = (0..rows)
            .flat_map(|i| [i as f64 * 0.1, ((i * 7) % 13) as f64])
            .collect();
        let y: Vec<f64> = x.chunks(2).map(|r| 2.0 * r[0] - 3.0 * r[1] + 0.5).collect();
        let r = Readout::fit(&x, 2, &y, 1e-12).unwrap();
        let p = r.predict(&x);
        for (a, b) in p.iter().zip(&y) {
            assert!((a - b).abs() < 1e-8, "{a} vs {b}");
        }
        assert!(nrmse(&p, &y) < 1e-9);
    }

    #[test]
    fn ridge_shrinks_towards_the_mean() {
        let x: Vec<f64> = (0..20).map(|i| i as f64).collect();
        let y: Vec<f64> = x.iter().map(|v| 3.0 * v).collect();
        let r = Readout::fit(&x, 1, &y, 1e9).unwrap();
        let p = r.predict(&x);
        let mean = y.iter().sum::<f64>() / 20.0;
        assert!(p.iter().all(|v| (v - mean).abs() < 1e-3));
        // Predicting the mean is an NRMSE of 1.
        assert!((nrmse(&p, &y) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn picks_the_penalty_that_generalises() {
        // Noise features and few rows: a large λ wins over an almost unpenalised fit.
        let mut rng = crate::rng::stream(1, "test", "ridge", 0);
        use rand::Rng as _;
        let rows = 60;
        let dim = 40;
        let x: Vec<f64> = (0..rows * dim)
            .map(|_| rng.random_range(-1.0..1.0))
            .collect();
        let y: Vec<f64> = (0..rows)
            .map(|i| x[i * dim] + 0.3 * rng.random_range(-1.0..1.0))
            .collect();
        let (_, l) = fit_best(&x, dim, &y, &[1e-9, 10.0]).unwrap();
        assert_eq!(l, 10.0);
    }
}
