//! What the view sends: the scene, frames of sampled spikes with exact counters, and the end.
//!
//! The bound on the drawing stream: at most [`FPS`] frames a second, each with at most
//! [`SAMPLE`] spikes drawn uniformly (reservoir sampling, [`Sampler`]) from the spikes of the steps it
//! covers, so that the spike samples of one viewer take at most [`BYTES_PER_SECOND`] (about 12
//! bytes a spike: step offset, neuron index, separators). Beside the sample every frame holds
//! exact cumulative counters (spikes per population, edits, sizes), a few hundred bytes; they
//! are never sampled.

use serde_json::{json, Map, Value};

/// Frames per second at most.
pub const FPS: u32 = 20;

/// The bound on the spike samples of the drawing stream, per viewer (bytes per second).
pub const BYTES_PER_SECOND: usize = 200_000;

/// Bytes of one sampled spike in a frame (upper estimate: `"1234,56789,"` is 11).
pub const BYTES_PER_SPIKE: usize = 12;

/// Spikes sampled per frame.
pub const SAMPLE: usize = BYTES_PER_SECOND / FPS as usize / BYTES_PER_SPIKE;

/// Seconds between frames.
pub fn frame_interval() -> std::time::Duration {
    std::time::Duration::from_secs_f64(1.0 / FPS as f64)
}

/// A uniform sample of at most [`SAMPLE`] spikes (population index, step offset, neuron)
/// of a frame, and how many spikes were offered per population.
///
/// Reservoir sampling by Li's Algorithm L: once the reservoir is full, it draws how many
/// spikes to skip before the next one that enters, so a skipped spike costs a comparison, not
/// a random number (busy networks offer tens of thousands of spikes per frame).
#[derive(Debug, Clone)]
pub struct Sampler {
    kept: Vec<(u16, u32, u32)>,
    offered: u64,
    per_pop: Vec<u64>,
    rng: u64,
    cap: usize,
    /// Algorithm L's W, and the index of the next spike to enter the full reservoir.
    w: f64,
    next: u64,
}

impl Sampler {
    /// An empty sample of at most `cap` spikes over `pops` populations.
    pub fn new(pops: usize, cap: usize) -> Self {
        Sampler {
            kept: Vec::with_capacity(cap),
            offered: 0,
            per_pop: vec![0; pops],
            rng: 0x9e37_79b9_7f4a_7c15,
            cap,
            w: 1.0,
            next: u64::MAX,
        }
    }

    /// xorshift64*: a fixed stream, so the same run gives the same sample.
    fn bits(&mut self) -> u64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in (0, 1).
    fn unit(&mut self) -> f64 {
        ((self.bits() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Uniform in 0..n (multiply-shift).
    fn below(&mut self, n: usize) -> usize {
        ((self.bits() as u128 * n as u128) >> 64) as usize
    }

    /// Draws the next entering index after `n` (Algorithm L).
    fn advance(&mut self, n: u64) {
        self.w *= (self.unit().ln() / self.cap as f64).exp();
        let skip = (self.unit().ln() / (1.0 - self.w).ln()).floor();
        self.next = if skip.is_finite() && skip < (u64::MAX / 2) as f64 {
            n + 1 + skip as u64
        } else {
            u64::MAX
        };
    }

    /// Offers one spike.
    #[inline]
    pub fn offer(&mut self, pop: usize, offset: u32, neuron: u32) {
        if pop >= self.per_pop.len() {
            self.per_pop.resize(pop + 1, 0);
        }
        self.per_pop[pop] += 1;
        let n = self.offered;
        self.offered += 1;
        if self.kept.len() < self.cap {
            self.kept.push((pop as u16, offset, neuron));
            if self.kept.len() == self.cap {
                self.w = 1.0;
                self.advance(n);
            }
        } else if n == self.next {
            let j = self.below(self.cap);
            self.kept[j] = (pop as u16, offset, neuron);
            self.advance(n);
        }
    }

    /// The sample as `{population: [offset, neuron, offset, neuron, ...]}` and the spikes
    /// offered per population; empties the sampler.
    pub fn take(&mut self, names: &[String]) -> (Value, Value) {
        self.kept.sort_unstable();
        let mut sample = Map::new();
        for (k, name) in names.iter().enumerate() {
            let flat: Vec<u32> = self
                .kept
                .iter()
                .filter(|s| s.0 as usize == k)
                .flat_map(|s| [s.1, s.2])
                .collect();
            if !flat.is_empty() {
                sample.insert(name.clone(), json!(flat));
            }
        }
        let seen: Map<String, Value> = names
            .iter()
            .zip(self.per_pop.iter().chain(std::iter::repeat(&0)))
            .map(|(n, &c)| (n.clone(), json!(c)))
            .collect();
        self.kept.clear();
        self.offered = 0;
        self.next = u64::MAX;
        self.per_pop.iter_mut().for_each(|c| *c = 0);
        (Value::Object(sample), Value::Object(seen))
    }
}

/// A population of the scene.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ScenePop {
    /// Name.
    pub name: String,
    /// Neurons now.
    pub size: usize,
    /// Stable neuron ids in index order, where neurons come and go (a training run's hidden
    /// population); positions are keyed by them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ids: Option<Vec<u64>>,
}

/// A projection of the scene.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SceneProj {
    /// Name.
    pub name: String,
    /// Presynaptic population.
    pub pre: String,
    /// Postsynaptic population.
    pub post: String,
    /// Synapses now (`None` when not known, as in a replay).
    pub synapses: Option<u64>,
}

/// The `scene` event.
pub fn scene(
    run: &str,
    training: bool,
    dt_ms: f64,
    pops: &[ScenePop],
    projs: &[SceneProj],
    replay: bool,
) -> Value {
    json!({
        "run": run,
        "training": training,
        "replay": replay,
        "dt_ms": dt_ms,
        "populations": pops,
        "projections": projs,
        "fps": FPS,
        "sample": SAMPLE,
        "bytes_per_second": BYTES_PER_SECOND,
    })
}

/// Exact counters of a network run.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct NetTotals {
    /// Steps done.
    pub step: u64,
    /// Simulated time (ms).
    pub t_ms: f64,
    /// Spikes per population since the run started.
    pub spikes: std::collections::BTreeMap<String, u64>,
    /// Neurons per population now.
    pub sizes: std::collections::BTreeMap<String, usize>,
    /// Batches of synapse edits applied (rows of `edits.csv`).
    pub edit_batches: u64,
    /// Synapses removed by them.
    pub synapses_removed: u64,
    /// Synapses added by them.
    pub synapses_added: u64,
}

/// Exact counters of a training run.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct TrainTotals {
    /// Episodes done.
    pub episodes: u64,
    /// Hidden spikes over all episodes (Σ energy / hidden size of `metrics.csv`).
    pub hidden_spikes: u64,
    /// Hidden neurons now.
    pub hidden_size: usize,
    /// Growth edits (rows of `edits.csv` of kind `grow`).
    pub growth_events: u64,
    /// Pruning edits.
    pub pruning_events: u64,
    /// Neurons added by growth.
    pub neurons_grown: u64,
    /// Neurons removed by pruning.
    pub neurons_pruned: u64,
    /// Rows of `edits.csv` (all kinds).
    pub edits: u64,
    /// Hidden spikes of the episode whose sample the last frame drew.
    pub last_episode_spikes: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_is_bounded_uniform_and_counts_every_spike() {
        let names = ["a".to_string(), "b".to_string()];
        let mut s = Sampler::new(2, 100);
        // 10 000 spikes of `a` (neurons 0..9999 over 100 steps), 30 of `b`.
        for i in 0..10_000u32 {
            s.offer(0, i / 100, i);
        }
        for i in 0..30u32 {
            s.offer(1, 5, i);
        }
        let (sample, seen) = s.take(&names);
        assert_eq!(seen, json!({"a": 10_000, "b": 30}));
        let a = sample["a"].as_array().unwrap();
        let b = sample["b"].as_array().map_or(0, |v| v.len() / 2);
        assert_eq!(a.len() / 2 + b, 100);
        // Uniform: the kept neurons of `a` spread over its range (mean near 5 000), and `b`
        // (0.3 % of the spikes) gets few places.
        let ids: Vec<f64> = a
            .iter()
            .skip(1)
            .step_by(2)
            .map(|v| v.as_f64().unwrap())
            .collect();
        let mean = ids.iter().sum::<f64>() / ids.len() as f64;
        assert!((3500.0..6500.0).contains(&mean), "{mean}");
        assert!(b <= 5, "{b}");
        // Emptied.
        let (sample, seen) = s.take(&names);
        assert_eq!(sample, json!({}));
        assert_eq!(seen, json!({"a": 0, "b": 0}));
    }

    #[test]
    fn every_spike_has_the_same_chance() {
        // 300 frames of 10 000 spikes into 100 places: each quarter of a frame's spikes
        // should get a quarter of the places (7 500 of 30 000; the spread is about 75).
        let names = ["a".to_string()];
        let mut s = Sampler::new(1, 100);
        let mut quarters = [0u32; 4];
        for _ in 0..300 {
            for i in 0..10_000u32 {
                s.offer(0, 0, i);
            }
            let (sample, _) = s.take(&names);
            let a = sample["a"].as_array().unwrap();
            assert_eq!(a.len(), 200);
            for v in a.iter().skip(1).step_by(2) {
                quarters[(v.as_u64().unwrap() / 2500) as usize] += 1;
            }
        }
        for q in quarters {
            assert!((7_200..7_800).contains(&q), "{quarters:?}");
        }
    }

    #[test]
    fn the_bound_is_what_the_docs_say() {
        assert_eq!(SAMPLE, 833);
        // 833 spikes of at most 12 bytes, 20 times a second: within 200 kB/s.
        assert!(SAMPLE * BYTES_PER_SPIKE * FPS as usize <= BYTES_PER_SECOND);
    }
}
