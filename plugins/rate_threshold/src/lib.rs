//! `rate_threshold`: the structural policy of SPEC §1.4, the rule the foraging agent always
//! had. Two windows of activity, each with its own interval in episodes:
//!
//! - every `prune_interval` episodes, the neurons whose rate (spikes per simulation step over
//!   the window, each neuron over the steps it existed for) is below `prune_threshold` are
//!   silent; when more than `prune_fraction` of the population is silent and it is larger than
//!   `min_hidden`, the least active silent neurons are removed (never below `min_hidden`);
//! - every `grow_interval` episodes, when the mean rate of the neurons simulated in the window
//!   is below `grow_threshold`, `neurons_per_grow` neurons are added (never beyond
//!   `max_hidden`), with noise of `new_input_noise_std` on their input weights.
//!
//! The pruning check comes first; the growth check sees the window of the neurons that
//! survived it (the host applies the removal, remaps this policy's windows, and calls again).
//! Rates are ratios of whole counts, so they do not depend on how the batches cut the window.

use serde::Deserialize;
use snnsim_plugin_api::{export_structure, Activity, Edits, Population, Remap, StructurePolicy};

/// Parameters; the defaults are SPEC §1.4's. A graph file's `structure: (grow_interval: …)`
/// fields are these parameters.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Episodes between growth checks.
    pub grow_interval: u64,
    /// Grow when the mean rate is below this.
    pub grow_threshold: f64,
    /// Never grow beyond this many neurons.
    pub max_hidden: usize,
    /// Neurons added per growth.
    pub neurons_per_grow: usize,
    /// Standard deviation of the noise added to new neurons' input weights.
    pub new_input_noise_std: f64,
    /// Episodes between pruning checks.
    pub prune_interval: u64,
    /// A neuron whose rate is below this is silent.
    pub prune_threshold: f64,
    /// Prune when more than this fraction of the population is silent.
    pub prune_fraction: f64,
    /// Never prune below this many neurons.
    pub min_hidden: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            grow_interval: 100,
            grow_threshold: 0.05,
            max_hidden: 512,
            neurons_per_grow: 32,
            new_input_noise_std: 0.01,
            prune_interval: 50,
            prune_threshold: 0.005,
            prune_fraction: 0.3,
            min_hidden: 32,
        }
    }
}

/// Spikes and simulated steps per neuron since a window began, and its episodes.
#[derive(Debug, Clone, Default, PartialEq)]
struct Window {
    spikes: Vec<f64>,
    steps: Vec<f64>,
    episodes: u64,
}

impl Window {
    /// Each neuron's rate, `None` for one not simulated in the window.
    fn rates(&self) -> Vec<Option<f64>> {
        self.spikes
            .iter()
            .zip(&self.steps)
            .map(|(&s, &n)| (n > 0.0).then(|| s / n))
            .collect()
    }

    fn reset(&mut self, n: usize) {
        self.spikes = vec![0.0; n];
        self.steps = vec![0.0; n];
        self.episodes = 0;
    }
}

/// The policy's state.
#[derive(Debug)]
pub struct RateThreshold {
    c: Config,
    grow: Window,
    prune: Window,
}

impl RateThreshold {
    /// The neurons to remove (indices, ascending), when the pruning check is due.
    fn silent_to_remove(&self) -> Vec<usize> {
        let c = &self.c;
        let rates = self.prune.rates();
        let h = rates.len();
        let silent: Vec<usize> = (0..h)
            .filter(|&j| rates[j].is_some_and(|r| r < c.prune_threshold))
            .collect();
        if !(silent.len() as f64 > c.prune_fraction * h as f64 && h > c.min_hidden) {
            return Vec::new();
        }
        // Keep at least min_hidden: drop the least active silent neurons first.
        let rate = |j: usize| rates[j].unwrap_or(0.0);
        let mut order = silent.clone();
        order.sort_by(|&a, &b| rate(a).total_cmp(&rate(b)).then(a.cmp(&b)));
        order.truncate(silent.len().min(h - c.min_hidden));
        order.sort_unstable();
        order
    }
}

impl StructurePolicy for RateThreshold {
    type Config = Config;

    fn new(c: Config) -> Result<Self, String> {
        if c.grow_interval == 0 || c.prune_interval == 0 {
            return Err("params: check intervals must be at least one episode".into());
        }
        if c.min_hidden == 0 || c.min_hidden > c.max_hidden {
            return Err("params.min_hidden: need 1 <= min_hidden <= max_hidden".into());
        }
        Ok(RateThreshold {
            c,
            grow: Window::default(),
            prune: Window::default(),
        })
    }

    fn observe(&mut self, a: &Activity<'_>) -> Result<(), String> {
        for w in [&mut self.grow, &mut self.prune] {
            if w.spikes.len() != a.spikes.len() {
                // The first batch (or a checkpoint without this policy's state).
                w.spikes.resize(a.spikes.len(), 0.0);
                w.steps.resize(a.spikes.len(), 0.0);
            }
            for (s, x) in w.spikes.iter_mut().zip(a.spikes) {
                *s += x;
            }
            for n in w.steps.iter_mut() {
                *n += a.steps;
            }
            w.episodes += a.returns.len() as u64;
        }
        Ok(())
    }

    fn decide(&mut self, p: &Population<'_>, edits: &mut Edits) -> Result<(), String> {
        let h = p.len();
        if self.prune.episodes >= self.c.prune_interval {
            let remove = self.silent_to_remove();
            self.prune.reset(h);
            if !remove.is_empty() {
                edits.remove = remove.iter().map(|&j| p.ids[j]).collect();
                // Growth is checked in the next round, on the survivors' window.
                return Ok(());
            }
        }
        if self.grow.episodes >= self.c.grow_interval {
            let rates: Vec<f64> = self.grow.rates().into_iter().flatten().collect();
            let mean = rates.iter().sum::<f64>() / rates.len().max(1) as f64;
            if !rates.is_empty() && mean < self.c.grow_threshold && h < self.c.max_hidden {
                let n = self.c.neurons_per_grow.min(self.c.max_hidden - h);
                edits.grow = Some((n, self.c.new_input_noise_std));
            }
            self.grow.reset(h);
        }
        Ok(())
    }

    fn resize(&mut self, map: &[u64]) -> Result<(), String> {
        for w in [&mut self.grow, &mut self.prune] {
            w.spikes = Remap::apply(map, &w.spikes, 0.0);
            w.steps = Remap::apply(map, &w.steps, 0.0);
        }
        Ok(())
    }

    fn save(&self) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        for w in [&self.grow, &self.prune] {
            out.extend_from_slice(&w.episodes.to_le_bytes());
            out.extend_from_slice(&(w.spikes.len() as u64).to_le_bytes());
            for x in w.spikes.iter().chain(&w.steps) {
                out.extend_from_slice(&x.to_le_bytes());
            }
        }
        Ok(out)
    }

    fn load(&mut self, bytes: &[u8]) -> Result<(), String> {
        let mut at = 0;
        let mut word = || -> Result<[u8; 8], String> {
            let b = bytes
                .get(at..at + 8)
                .ok_or("rate_threshold state: truncated")?;
            at += 8;
            Ok(b.try_into().expect("eight bytes"))
        };
        let mut windows = Vec::new();
        for _ in 0..2 {
            let episodes = u64::from_le_bytes(word()?);
            let n = u64::from_le_bytes(word()?) as usize;
            if n > bytes.len() / 16 {
                return Err("rate_threshold state: truncated".into());
            }
            let mut v = Vec::with_capacity(2 * n);
            for _ in 0..2 * n {
                v.push(f64::from_le_bytes(word()?));
            }
            let steps = v.split_off(n);
            windows.push(Window {
                spikes: v,
                steps,
                episodes,
            });
        }
        if at != bytes.len() {
            return Err("rate_threshold state: trailing bytes".into());
        }
        self.prune = windows.pop().expect("two windows");
        self.grow = windows.pop().expect("two windows");
        Ok(())
    }
}

export_structure!(RateThreshold, "rate_threshold");

#[cfg(test)]
mod tests {
    use super::*;
    use snnsim_plugin_api::{abi::NEW, parse_config};

    fn population<'a>(ids: &'a [u64], zeros: &'a [f64], age: &'a [u64]) -> Population<'a> {
        Population {
            episodes_done: 0,
            round: 0,
            ids,
            age,
            w_in_norm: zeros,
            w_out_norm: zeros,
            grad_in_norm: zeros,
            grad_out_norm: zeros,
            projections: Vec::new(),
        }
    }

    #[test]
    fn prunes_the_least_active_silent_neurons_then_grows_on_the_survivors() {
        let c = parse_config::<Config>(
            "(grow_interval: 2, prune_interval: 2, prune_threshold: 0.1, prune_fraction: 0.3, \
             min_hidden: 2, grow_threshold: 0.5, neurons_per_grow: 3, max_hidden: 8)",
        )
        .unwrap();
        let mut p = RateThreshold::new(c).unwrap();
        // Rates over 2 episodes of 10 steps: 0.0, 0.05, 0.3, 0.0.
        let spikes = [0.0, 1.0, 6.0, 0.0];
        let a = Activity {
            episodes_done: 2,
            spikes: &spikes,
            steps: 20.0,
            returns: &[0.0, 0.0],
            food: &[0.0, 0.0],
        };
        p.observe(&a).unwrap();
        let (ids, zeros, age) = ([10, 11, 12, 13], [0.0; 4], [0; 4]);
        let mut e = Edits::default();
        p.decide(&population(&ids, &zeros, &age), &mut e).unwrap();
        // Three silent of four (> 30 %), down to min_hidden 2: neurons 0 and 3 (rate 0).
        assert_eq!(e.remove, vec![10, 13]);
        assert_eq!(e.grow, None);
        p.resize(&[1, 2]).unwrap();
        let (ids, zeros, age) = ([11, 12], [0.0; 2], [0; 2]);
        let mut e = Edits::default();
        let mut pop = population(&ids, &zeros, &age);
        pop.round = 1;
        p.decide(&pop, &mut e).unwrap();
        // Mean rate of the survivors (0.05 + 0.3) / 2 < 0.5: grow 3.
        assert_eq!(e.grow, Some((3, 0.01)));
        p.resize(&[0, 1, NEW, NEW, NEW]).unwrap();
        let mut e = Edits::default();
        p.decide(&pop, &mut e).unwrap();
        assert!(e.is_empty(), "nothing more this check");
    }

    #[test]
    fn state_round_trips_and_truncation_is_an_error() {
        let mut p = RateThreshold::new(Config::default()).unwrap();
        let a = Activity {
            episodes_done: 1,
            spikes: &[1.0, 2.0],
            steps: 10.0,
            returns: &[1.0],
            food: &[1.0],
        };
        p.observe(&a).unwrap();
        let bytes = p.save().unwrap();
        let mut q = RateThreshold::new(Config::default()).unwrap();
        q.load(&bytes).unwrap();
        assert_eq!(q.grow, p.grow);
        assert_eq!(q.prune, p.prune);
        assert!(q.load(&bytes[..bytes.len() - 3]).is_err());
        assert!(q.load(&[]).is_err());
    }

    #[test]
    fn bad_parameters_are_refused() {
        let c = parse_config::<Config>("(min_hidden: 0)").unwrap();
        assert!(RateThreshold::new(c).unwrap_err().contains("min_hidden"));
        let e = parse_config::<Config>("(grow_intervall: 3)").unwrap_err();
        assert!(e.contains("grow_intervall"), "{e}");
    }
}
