//! Spike encoders: a sample's features in [0, 1] become a dense steps × features array of 0/1
//! spikes, which the executor takes as its input population's values (`exec::Seq::Dense`). The
//! latency code is deterministic; the rate code draws from a stream the caller keys by
//! (seed, epoch, sample), so the same sample gets the same spikes on any thread.

use crate::file::SpikeEncoder;
use crate::rng::Rng;
use rand::Rng as _;

/// Writes the spikes of features `x` over `steps` steps into `out` (steps × x.len(),
/// row-major, resized). `rng` is drawn from by the rate code only.
pub fn encode(enc: &SpikeEncoder, x: &[f64], steps: usize, rng: &mut Rng, out: &mut Vec<f64>) {
    let n = x.len();
    out.clear();
    out.resize(steps * n, 0.0);
    match *enc {
        SpikeEncoder::Latency { window, threshold } => {
            let last = window.min(steps).saturating_sub(1) as f64;
            for (i, &v) in x.iter().enumerate() {
                if v > threshold {
                    let t = ((1.0 - v) * last).round() as usize;
                    out[t * n + i] = 1.0;
                }
            }
        }
        // Event datasets are binned by `events::bin` (validation pairs them with `Events`).
        SpikeEncoder::Events { .. } => {}
        SpikeEncoder::Rate { max_probability } => {
            for t in 0..steps {
                for (i, &v) in x.iter().enumerate() {
                    // One draw per (step, feature) whatever the value, so that the stream's
                    // position never depends on the data.
                    let u: f64 = rng.random();
                    if u < max_probability * v {
                        out[t * n + i] = 1.0;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_spikes_once_the_brighter_the_earlier_and_rate_follows_the_value() {
        let mut rng = crate::rng::stream(1, "test", "", 0);
        let mut out = Vec::new();
        let enc = SpikeEncoder::Latency {
            window: 11,
            threshold: 0.05,
        };
        encode(&enc, &[1.0, 0.5, 0.0, 0.04, 0.1], 20, &mut rng, &mut out);
        let at = |i: usize| -> Vec<usize> { (0..20).filter(|&t| out[t * 5 + i] == 1.0).collect() };
        assert_eq!(at(0), vec![0]);
        assert_eq!(at(1), vec![5]);
        assert_eq!(at(2), Vec::<usize>::new());
        assert_eq!(at(3), Vec::<usize>::new());
        assert_eq!(at(4), vec![9]);
        let enc = SpikeEncoder::Rate {
            max_probability: 0.5,
        };
        encode(&enc, &[1.0, 0.2, 0.0], 4000, &mut rng, &mut out);
        let rate = |i: usize| (0..4000).map(|t| out[t * 3 + i]).sum::<f64>() / 4000.0;
        assert!((rate(0) - 0.5).abs() < 0.03, "{}", rate(0));
        assert!((rate(1) - 0.1).abs() < 0.02, "{}", rate(1));
        assert_eq!(rate(2), 0.0);
        // The same key, the same spikes.
        let mut a = Vec::new();
        encode(
            &enc,
            &[0.7; 8],
            30,
            &mut crate::rng::stream(2, "x", "", 3),
            &mut a,
        );
        encode(
            &enc,
            &[0.7; 8],
            30,
            &mut crate::rng::stream(2, "x", "", 3),
            &mut out,
        );
        assert_eq!(a, out);
    }
}
