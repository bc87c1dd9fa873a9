//! The benchmark signals of reservoir computing, generated from the run's seed so that a
//! file and seed always give the same series: NARMA-10 (Atiya & Parlos 2000, in the form used
//! by Jaeger 2003 and most reservoir papers since) and the Mackey–Glass delay equation
//! (Mackey & Glass 1977), integrated with a fixed-step fourth-order Runge–Kutta scheme whose
//! delayed values come from the stored history (linear interpolation at half steps).

use crate::file::{MackeyGlassParams, NarmaParams, SignalSpec};
use rand::Rng as _;

/// One signal: the input of every sample and the target the readout predicts from it.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Input value of sample k.
    pub input: Vec<f64>,
    /// Target of sample k (NARMA-10: y(k+1); Mackey–Glass: x(k + horizon)).
    pub target: Vec<f64>,
}

/// Largest |y| a NARMA-10 series may reach before it counts as diverged (the recurrence is
/// unstable for a small fraction of input sequences; such a sequence is drawn again).
const NARMA_BOUND: f64 = 10.0;

/// Draws attempts before a NARMA-10 signal is declared impossible for these parameters.
const NARMA_ATTEMPTS: u64 = 100;

/// `n` samples of the signal, drawn from the stream keyed by `seed`.
pub fn generate(spec: &SignalSpec, n: usize, seed: u64) -> Result<Series, String> {
    match *spec {
        SignalSpec::Narma10(NarmaParams { low, high }) => {
            for attempt in 0..NARMA_ATTEMPTS {
                let mut rng = crate::rng::stream(seed, "reservoir-signal", "narma10", attempt);
                let u: Vec<f64> = (0..n).map(|_| rng.random_range(low..=high)).collect();
                if let Some(y) = narma10(&u) {
                    return Ok(Series {
                        input: u,
                        target: y,
                    });
                }
            }
            Err(format!(
                "NARMA-10 diverged for {NARMA_ATTEMPTS} input draws in [{low}, {high}]; inputs in [0, 0.5] keep it bounded"
            ))
        }
        SignalSpec::MackeyGlass(MackeyGlassParams {
            tau,
            beta,
            gamma,
            n: exponent,
            sample_every,
            horizon,
        }) => {
            let mut rng = crate::rng::stream(seed, "reservoir-signal", "mackey-glass", 0);
            // A random constant history in [0.5, 1.5] picks the trajectory; 1 000 time units
            // of transient are dropped so that the series is on its attractor.
            let x0 = rng.random_range(0.5..=1.5);
            let transient = (1000.0 / sample_every).ceil() as usize;
            let x = mackey_glass(
                x0,
                tau,
                beta,
                gamma,
                exponent,
                sample_every,
                transient + n + horizon,
            );
            let x = &x[transient..];
            Ok(Series {
                input: x[..n].to_vec(),
                target: x[horizon..horizon + n].to_vec(),
            })
        }
    }
}

/// y(k+1) for every k, or `None` when the series leaves [−NARMA_BOUND, NARMA_BOUND].
/// y(k) = 0 for k ≤ 0 and u(k) = 0 for k < 0.
pub fn narma10(u: &[f64]) -> Option<Vec<f64>> {
    // y[k] is y(k); the target of sample k is y(k+1).
    let n = u.len();
    let mut y = vec![0.0; n + 1];
    for k in 0..n {
        let window: f64 = (0..10).map(|i| if k >= i { y[k - i] } else { 0.0 }).sum();
        let u9 = if k >= 9 { u[k - 9] } else { 0.0 };
        let next = 0.3 * y[k] + 0.05 * y[k] * window + 1.5 * u9 * u[k] + 0.1;
        if !next.is_finite() || next.abs() > NARMA_BOUND {
            return None;
        }
        y[k + 1] = next;
    }
    Some(y[1..].to_vec())
}

/// `samples` values of x, one every `every` time units from t = 0, with x(t) = x0 for t ≤ 0.
fn mackey_glass(
    x0: f64,
    tau: f64,
    beta: f64,
    gamma: f64,
    n: f64,
    every: f64,
    samples: usize,
) -> Vec<f64> {
    // Integration step: 0.1 time units or finer, dividing `every` and τ's grid evenly enough
    // that the delayed value is read from stored points (interpolated at half steps).
    let per_sample = (every / 0.1).ceil().max(1.0) as usize;
    let h = every / per_sample as f64;
    let lag = (tau / h).round() as usize;
    let f = |x: f64, xd: f64| beta * xd / (1.0 + xd.powf(n)) - gamma * x;
    let total = samples * per_sample;
    // hist[i] is x at t = (i − lag)·h; the first `lag + 1` entries are the constant history.
    let mut hist = vec![x0; lag + 1];
    hist.reserve(total);
    let mut out = Vec::with_capacity(samples);
    out.push(x0);
    for step in 0..total {
        let i = hist.len() - 1; // x(t) is hist[i]; x(t − τ) is hist[i − lag]
        let x = hist[i];
        let d0 = hist[i - lag];
        let d1 = hist[i + 1 - lag];
        let dh = 0.5 * (d0 + d1);
        let k1 = f(x, d0);
        let k2 = f(x + 0.5 * h * k1, dh);
        let k3 = f(x + 0.5 * h * k2, dh);
        let k4 = f(x + h * k3, d1);
        hist.push(x + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4));
        if (step + 1) % per_sample == 0 && out.len() < samples {
            out.push(*hist.last().expect("just pushed"));
        }
    }
    out.truncate(samples);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narma10_follows_its_recurrence() {
        let u: Vec<f64> = (0..30)
            .map(|k| 0.5 * ((k * 7 % 11) as f64) / 10.0)
            .collect();
        let y = narma10(&u).unwrap();
        // y(1) = 1.5·u(−9)·u(0) + 0.1 with u(−9) = 0.
        assert_eq!(y[0], 0.1);
        // y(k+1) for k = 12, written out.
        let yk = |k: usize| if k == 0 { 0.0 } else { y[k - 1] };
        let k = 12;
        let s: f64 = (0..10).map(|i| yk(k - i)).sum();
        let want = 0.3 * yk(k) + 0.05 * yk(k) * s + 1.5 * u[k - 9] * u[k] + 0.1;
        assert_eq!(y[k], want);
    }

    #[test]
    fn narma10_refuses_a_diverging_input() {
        assert!(narma10(&[1.0; 200]).is_none());
    }

    #[test]
    fn mackey_glass_stays_on_its_attractor() {
        let spec = SignalSpec::MackeyGlass(MackeyGlassParams {
            tau: 17.0,
            beta: 0.2,
            gamma: 0.1,
            n: 10.0,
            sample_every: 1.0,
            horizon: 1,
        });
        let s = generate(&spec, 2000, 3).unwrap();
        let (lo, hi) = s
            .input
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
        // The τ = 17 attractor spans about 0.4 to 1.35 and does not settle to a point.
        assert!(lo > 0.2 && lo < 0.6, "min {lo}");
        assert!(hi > 1.1 && hi < 1.5, "max {hi}");
        assert_eq!(s.target[..1999], s.input[1..]);
        // Same seed, same series; another seed, another.
        assert_eq!(generate(&spec, 2000, 3).unwrap(), s);
        assert_ne!(generate(&spec, 2000, 4).unwrap(), s);
    }
}
