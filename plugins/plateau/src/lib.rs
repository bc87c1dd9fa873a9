//! Grow a quiet population once learning has stalled, prune its dead neurons otherwise: the
//! `plateau` structural-policy plugin of snnsim.
//!
//! # The rule
//!
//! The seed design (SPEC §1.4) states the heuristic as
//!
//! ```text
//! if avg_firing_rate < 0.05:
//!     if performance_plateau: GROW()
//!     else: PRUNE()
//! ```
//!
//! read here as: add neurons when the population is quiet *and* the learning curve has stopped
//! rising (more capacity is what might help), and otherwise remove the neurons that do not fire
//! at all (they cost simulation time and carry nothing). Every `check_interval` episodes:
//!
//! 1. The rate of each neuron is its spikes per simulation step since the last check; neurons
//!    that have not been simulated since then (grown at this check's previous round) have no
//!    rate and are left out of everything below.
//! 2. The learning curve has **plateaued** when the mean metric (`food` or `return` per
//!    episode) of the last `curve_window` episodes exceeds the mean of the `curve_window`
//!    episodes before them by less than `plateau_tolerance` × |earlier mean| (by less than
//!    `plateau_tolerance` itself when the earlier mean is 0). With fewer than
//!    2·`curve_window` episodes of history it has not plateaued.
//! 3. If the mean rate is below `low_rate`, the curve has plateaued (or, with `grow_below`
//!    set, the recent mean — of the last `curve_window` episodes, or of all so far when fewer
//!    — is still below `grow_below`), the task does not count as learned (rule 4), at least
//!    `warmup` episodes are done and the population has fewer than `max_hidden` neurons: grow
//!    `min(neurons_per_grow, max_hidden − size)` neurons, their input weights drawn by the host
//!    with noise of standard deviation `new_input_noise_std`.
//! 4. Otherwise remove the neurons whose rate is below `dead_rate`, least active first (ties:
//!    lower index first); and, once the recent mean has reached `learned_above` at a check
//!    (the task then stays learned, so a dip after shrinking does not regrow it), also the
//!    `shrink_fraction` of the population (rounded down) that contributes least to the next
//!    layer (rate × L2 norm of the outgoing weights, smallest first; ties: lower index first).
//!    Never below `min_hidden` neurons.
//!
//! The rate window then starts again, so the host's later rounds of the same check get no
//! edits; the learning curve is kept (the last 2·`curve_window` episodes). The policy draws no
//! random numbers: the same activity gives the same edits.
//!
//! `grow_below`, `learned_above` and `shrink_fraction` extend the seed's heuristic (they are
//! off by default): a population that starts small learns its first skills more slowly than a
//! large one, because it has fewer random features to learn from; growing while the curve is
//! still low gives it those features early, and shrinking the weakest neurons once the task is
//! learned brings the cost of simulation back down (docs/results.md, H0).
//!
//! # State
//!
//! Spikes and simulated steps per neuron since the last check (remapped by
//! [`StructurePolicy::resize`], new neurons start at zero), the episodes observed since the last
//! check, the learning curve, and whether the task counts as learned. [`StructurePolicy::save`]
//! writes all of it as little-endian bytes (see [`Plateau::save`]).

#![warn(missing_docs)]

use serde::Deserialize;
use snnsim_plugin_api::{
    abi, export_structure,
    state::{StateReader, StateWriter},
    Activity, Edits, Population, Remap, StructurePolicy,
};
use std::collections::VecDeque;

/// Which per-episode value makes the learning curve, written bare in RON: `metric: return`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// Food eaten per episode (foraging). The default.
    #[default]
    Food,
    /// Return (sum of rewards) per episode.
    Return,
}

/// Parameters of the `plateau` policy, parsed from the RON `params` of the graph file, e.g.
/// `(check_interval: 50, metric: return)`. Every field has a default; unknown fields are errors.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlateauParams {
    /// Episodes between checks (≥ 1). Default 100.
    pub check_interval: u64,
    /// Episodes in each half of the learning-curve comparison (≥ 1). Default 200.
    pub curve_window: usize,
    /// The curve has plateaued when the later window's mean exceeds the earlier one's by less
    /// than this fraction of |earlier mean| (this absolute amount when that mean is 0).
    /// Default 0.05.
    pub plateau_tolerance: f64,
    /// The learning curve's metric, `food` or `return`. Default `food`.
    pub metric: Metric,
    /// Grow only when the mean rate (spikes per neuron per step) is below this. Default 0.05.
    pub low_rate: f64,
    /// A neuron whose rate is below this is dead and may be pruned. Default 0.005.
    pub dead_rate: f64,
    /// Neurons added per growth (≥ 1). Default 32.
    pub neurons_per_grow: usize,
    /// Never grow beyond this many neurons. Default 512.
    pub max_hidden: usize,
    /// Never prune below this many neurons. Default 32.
    pub min_hidden: usize,
    /// Standard deviation of the noise on new neurons' input weights. Default 0.01.
    pub new_input_noise_std: f64,
    /// Episodes that must be done before a check may grow. Default 2·`curve_window`, the
    /// history a plateau needs.
    pub warmup: Option<u64>,
    /// Also grow (a quiet population) while the recent mean of the metric is below this, plateau
    /// or not. Default: off.
    pub grow_below: Option<f64>,
    /// Once the recent mean of the metric reaches this, the task counts as learned: no growth,
    /// and each check shrinks the population by `shrink_fraction`. Default: off.
    pub learned_above: Option<f64>,
    /// The fraction of the population (least contributing first) removed at each check once
    /// the task is learned, in [0, 1]. Default 0.
    pub shrink_fraction: f64,
}

impl Default for PlateauParams {
    fn default() -> Self {
        PlateauParams {
            check_interval: 100,
            curve_window: 200,
            plateau_tolerance: 0.05,
            metric: Metric::Food,
            low_rate: 0.05,
            dead_rate: 0.005,
            neurons_per_grow: 32,
            max_hidden: 512,
            min_hidden: 32,
            new_input_noise_std: 0.01,
            warmup: None,
            grow_below: None,
            learned_above: None,
            shrink_fraction: 0.0,
        }
    }
}

impl PlateauParams {
    /// Checks what serde cannot; an error names the field (`params.<field>: ...`).
    pub fn validate(&self) -> Result<(), String> {
        if self.check_interval == 0 {
            return Err("params.check_interval: must be at least 1".into());
        }
        if self.curve_window == 0 {
            return Err("params.curve_window: must be at least 1".into());
        }
        if self.neurons_per_grow == 0 {
            return Err("params.neurons_per_grow: must be at least 1".into());
        }
        for (name, v) in [
            ("plateau_tolerance", self.plateau_tolerance),
            ("low_rate", self.low_rate),
            ("dead_rate", self.dead_rate),
            ("new_input_noise_std", self.new_input_noise_std),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(format!(
                    "params.{name}: must be non-negative and finite, got {v}"
                ));
            }
        }
        for (name, v) in [
            ("grow_below", self.grow_below),
            ("learned_above", self.learned_above),
        ] {
            if v.is_some_and(|v| !v.is_finite()) {
                return Err(format!("params.{name}: must be finite, got {v:?}"));
            }
        }
        if !(0.0..=1.0).contains(&self.shrink_fraction) {
            return Err(format!(
                "params.shrink_fraction: must be in [0, 1], got {}",
                self.shrink_fraction
            ));
        }
        if self.min_hidden > self.max_hidden {
            return Err(format!(
                "params.min_hidden: {} exceeds max_hidden {}",
                self.min_hidden, self.max_hidden
            ));
        }
        Ok(())
    }
}

/// The policy's state (see the crate documentation).
#[derive(Debug, Clone, PartialEq)]
pub struct Plateau {
    params: PlateauParams,
    /// Episodes before a check may grow (`params.warmup` resolved).
    warmup: u64,
    /// Spikes of each neuron since the last check.
    spikes: Vec<f64>,
    /// Simulation steps each neuron ran since the last check.
    steps: Vec<f64>,
    /// Episodes observed since the last check.
    window_episodes: u64,
    /// The metric of the last 2·`curve_window` episodes, oldest first.
    curve: VecDeque<f64>,
    /// The recent mean has reached `learned_above` at a check (it stays learned).
    learned: bool,
}

impl Plateau {
    /// Each neuron's rate since the last check; `None` for one not simulated since.
    fn rates(&self) -> Vec<Option<f64>> {
        self.spikes
            .iter()
            .zip(&self.steps)
            .map(|(&s, &n)| (n > 0.0).then(|| s / n))
            .collect()
    }

    /// Whether the learning curve has plateaued (rule 2 of the crate documentation).
    pub fn plateaued(&self) -> bool {
        let w = self.params.curve_window;
        if self.curve.len() < 2 * w {
            return false;
        }
        let mean = |it: std::collections::vec_deque::Iter<'_, f64>| it.sum::<f64>() / w as f64;
        let earlier = mean(self.curve.range(..w));
        let later = mean(self.curve.range(w..));
        let margin = if earlier == 0.0 {
            self.params.plateau_tolerance
        } else {
            self.params.plateau_tolerance * earlier.abs()
        };
        later - earlier < margin
    }

    /// The mean metric of the last `curve_window` episodes (of all so far when fewer); `None`
    /// before the first episode.
    pub fn recent_mean(&self) -> Option<f64> {
        let w = self.params.curve_window.min(self.curve.len());
        (w > 0).then(|| self.curve.range(self.curve.len() - w..).sum::<f64>() / w as f64)
    }

    /// Starts a new rate window for `n` neurons.
    fn reset_window(&mut self, n: usize) {
        self.spikes = vec![0.0; n];
        self.steps = vec![0.0; n];
        self.window_episodes = 0;
    }
}

/// Magic and version of the saved state.
const MAGIC: &[u8; 4] = b"PLT2";
/// The state before the learned flag (read as not learned).
const MAGIC_V1: &[u8; 4] = b"PLT1";

impl StructurePolicy for Plateau {
    type Config = PlateauParams;

    fn new(params: PlateauParams) -> Result<Self, String> {
        params.validate()?;
        let warmup = params.warmup.unwrap_or(2 * params.curve_window as u64);
        Ok(Plateau {
            params,
            warmup,
            spikes: Vec::new(),
            steps: Vec::new(),
            window_episodes: 0,
            curve: VecDeque::new(),
            learned: false,
        })
    }

    fn observe(&mut self, a: &Activity<'_>) -> Result<(), String> {
        if self.spikes.is_empty() {
            // The first batch tells the population's size.
            self.spikes = vec![0.0; a.spikes.len()];
            self.steps = vec![0.0; a.spikes.len()];
        }
        if a.spikes.len() != self.spikes.len() {
            return Err(format!(
                "activity of {} neurons, but the policy tracks {} (resize was not called after \
                 an edit)",
                a.spikes.len(),
                self.spikes.len()
            ));
        }
        if !(a.steps.is_finite() && a.steps >= 0.0) {
            return Err(format!("activity: steps is {}", a.steps));
        }
        for (s, x) in self.spikes.iter_mut().zip(a.spikes) {
            *s += x;
        }
        for n in &mut self.steps {
            *n += a.steps;
        }
        let values = match self.params.metric {
            Metric::Food => a.food,
            Metric::Return => a.returns,
        };
        self.window_episodes += values.len() as u64;
        self.curve.extend(values);
        let keep = 2 * self.params.curve_window;
        if self.curve.len() > keep {
            self.curve.drain(..self.curve.len() - keep);
        }
        Ok(())
    }

    fn decide(&mut self, population: &Population<'_>, edits: &mut Edits) -> Result<(), String> {
        if population.round != 0 || self.window_episodes < self.params.check_interval {
            return Ok(());
        }
        let n = population.len();
        if self.spikes.len() != n {
            return Err(format!(
                "the population has {n} neurons, but the policy tracks {} (resize was not \
                 called after an edit)",
                self.spikes.len()
            ));
        }
        let p = &self.params;
        let rates = self.rates();
        let simulated: Vec<f64> = rates.iter().flatten().copied().collect();
        if !simulated.is_empty() {
            let mean = simulated.iter().sum::<f64>() / simulated.len() as f64;
            let recent = self.recent_mean();
            let low = p
                .grow_below
                .is_some_and(|level| recent.is_none_or(|r| r < level));
            let reached = p
                .learned_above
                .is_some_and(|level| recent.is_some_and(|r| r >= level));
            self.learned |= reached;
            let learned = self.learned;
            if mean < p.low_rate
                && population.episodes_done >= self.warmup
                && n < p.max_hidden
                && !learned
                && (low || self.plateaued())
            {
                edits.grow = Some((
                    p.neurons_per_grow.min(p.max_hidden - n),
                    p.new_input_noise_std,
                ));
            } else {
                let mut dead: Vec<(f64, usize)> = rates
                    .iter()
                    .enumerate()
                    .filter_map(|(j, r)| r.filter(|&r| r < p.dead_rate).map(|r| (r, j)))
                    .collect();
                dead.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                if learned {
                    // Then the weakest of the rest: rate × outgoing weight norm.
                    let mut weak: Vec<(f64, usize)> = rates
                        .iter()
                        .enumerate()
                        .filter_map(|(j, r)| {
                            r.filter(|&r| r >= p.dead_rate)
                                .map(|r| (r * population.w_out_norm[j], j))
                        })
                        .collect();
                    weak.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                    let k = (p.shrink_fraction * n as f64).floor() as usize;
                    dead.extend(weak.into_iter().take(k));
                }
                dead.truncate(n.saturating_sub(p.min_hidden));
                edits.remove = dead.iter().map(|&(_, j)| population.ids[j]).collect();
                edits.remove.sort_unstable();
            }
        }
        self.reset_window(n);
        Ok(())
    }

    fn resize(&mut self, map: &[u64]) -> Result<(), String> {
        if self.spikes.is_empty() {
            // Nothing observed yet (an edit before the first batch): just the new size.
            self.spikes = vec![0.0; map.len()];
            self.steps = vec![0.0; map.len()];
            return Ok(());
        }
        if let Some(&bad) = map
            .iter()
            .find(|&&m| m != abi::NEW && m >= self.spikes.len() as u64)
        {
            return Err(format!(
                "resize: old neuron {bad} does not exist (the policy tracks {})",
                self.spikes.len()
            ));
        }
        self.spikes = Remap::apply(map, &self.spikes, 0.0);
        self.steps = Remap::apply(map, &self.steps, 0.0);
        Ok(())
    }

    /// `PLT2`, then as little-endian u64/f64: episodes since the last check, the spikes
    /// (length, values), the steps (length, values), the learning curve (length, values), and
    /// whether the task counts as learned (u64, 0 or 1). A `PLT1` state (no flag) loads as not
    /// learned.
    fn save(&self) -> Result<Vec<u8>, String> {
        let mut out = StateWriter::new(MAGIC);
        out.u64(self.window_episodes)
            .f64s(self.spikes.iter().copied())
            .f64s(self.steps.iter().copied())
            .f64s(self.curve.iter().copied())
            .u64(u64::from(self.learned));
        Ok(out.into_bytes())
    }

    fn load(&mut self, bytes: &[u8]) -> Result<(), String> {
        let mut r = StateReader::new(bytes);
        let v1 = r.magic(&[MAGIC, MAGIC_V1], "plateau")? == 1;
        let window_episodes = r.u64("the episode count")?;
        let spikes = r.f64s("the spikes")?;
        let steps = r.f64s("the steps")?;
        let mut curve: VecDeque<f64> = r.f64s("the learning curve")?.into();
        let learned = match if v1 { 0 } else { r.u64("the learned flag")? } {
            0 => false,
            1 => true,
            x => return Err(format!("saved state: learned flag {x}, not 0 or 1")),
        };
        r.finish()?;
        if spikes.len() != steps.len() {
            return Err(format!(
                "saved state: {} spike counts but {} step counts",
                spikes.len(),
                steps.len()
            ));
        }
        // A smaller curve_window than the saved run's keeps the most recent episodes.
        let keep = 2 * self.params.curve_window;
        if curve.len() > keep {
            curve.drain(..curve.len() - keep);
        }
        (
            self.window_episodes,
            self.spikes,
            self.steps,
            self.curve,
            self.learned,
        ) = (window_episodes, spikes, steps, curve, learned);
        Ok(())
    }
}

export_structure!(Plateau, "plateau");

#[cfg(test)]
mod tests {
    use super::*;
    use snnsim_plugin_api::parse_config;

    fn policy(params: &str) -> Plateau {
        Plateau::new(parse_config(params).unwrap()).unwrap()
    }

    /// One batch: every neuron ran `steps` steps; one food and one return value per episode.
    fn observe(p: &mut Plateau, done: u64, spikes: &[f64], steps: f64, food: &[f64]) {
        let returns: Vec<f64> = food.iter().map(|f| 10.0 - f).collect();
        p.observe(&Activity {
            episodes_done: done,
            spikes,
            steps,
            returns: &returns,
            food,
        })
        .unwrap();
    }

    /// The edits of round `round` of a check, for a population with these ids.
    fn decide(p: &mut Plateau, done: u64, ids: &[u64], round: u32) -> Edits {
        let n = ids.len();
        let zeros = vec![0.0; n];
        let age = vec![0; n];
        let pop = Population {
            episodes_done: done,
            round,
            ids,
            age: &age,
            w_in_norm: &zeros,
            w_out_norm: &zeros,
            grad_in_norm: &zeros,
            grad_out_norm: &zeros,
            projections: Vec::new(),
        };
        let mut e = Edits::default();
        p.decide(&pop, &mut e).unwrap();
        e
    }

    const SMALL: &str = "(check_interval: 10, curve_window: 10, min_hidden: 2, max_hidden: 40)";

    #[test]
    fn grows_on_a_plateau_with_low_activity() {
        let mut p = policy(SMALL);
        let ids: Vec<u64> = (0..4).collect();
        let quiet = [1.0, 2.0, 1.0, 2.0]; // rates 0.01 and 0.02 over 100 steps
        observe(&mut p, 10, &quiet, 100.0, &[3.0; 10]);
        // One window of history is no plateau (and the warm-up of 20 episodes is not over).
        assert_eq!(decide(&mut p, 10, &ids, 0), Edits::default());
        observe(&mut p, 20, &quiet, 100.0, &[3.0; 10]);
        assert!(p.plateaued());
        let e = decide(&mut p, 20, &ids, 0);
        assert_eq!(e.grow, Some((32, 0.01)));
        assert!(e.remove.is_empty());
        // The host grew 32 neurons; the next round asks for nothing.
        let mut map: Vec<u64> = (0..4).collect();
        map.resize(36, abi::NEW);
        p.resize(&map).unwrap();
        let ids: Vec<u64> = (0..36).collect();
        assert_eq!(decide(&mut p, 20, &ids, 1), Edits::default());
        // Still quiet and flat at 36 neurons: growth stops at max_hidden (40).
        observe(&mut p, 30, &[1.0; 36], 100.0, &[3.0; 10]);
        assert_eq!(decide(&mut p, 30, &ids, 0).grow, Some((4, 0.01)));
    }

    #[test]
    fn does_not_grow_while_the_curve_still_rises() {
        let ids: Vec<u64> = (0..4).collect();
        let quiet = [1.0; 4];
        // Earlier mean 10; a later mean 4 % higher is within the 5 % tolerance, 6 % is not.
        for (later, grows) in [(10.4, true), (10.6, false)] {
            let mut p = policy(SMALL);
            observe(&mut p, 10, &quiet, 100.0, &[10.0; 10]);
            observe(&mut p, 20, &quiet, 100.0, &[later; 10]);
            assert_eq!(decide(&mut p, 20, &ids, 0).grow.is_some(), grows, "{later}");
        }
        // The same food curve is flat, but the return rises: `metric: return` waits.
        let mut p = policy("(check_interval: 10, curve_window: 10, metric: return)");
        observe(&mut p, 10, &quiet, 100.0, &[10.0; 10]);
        observe(&mut p, 20, &quiet, 100.0, &[9.0; 10]);
        assert!(!p.plateaued());
        assert_eq!(decide(&mut p, 20, &ids, 0), Edits::default());
        // A flat curve with an active population does not grow either.
        let mut p = policy(SMALL);
        observe(&mut p, 10, &[9.0; 4], 100.0, &[10.0; 10]);
        observe(&mut p, 20, &[9.0; 4], 100.0, &[10.0; 10]);
        assert_eq!(decide(&mut p, 20, &ids, 0), Edits::default());
    }

    #[test]
    fn prunes_dead_neurons_by_id_respecting_min_hidden() {
        let mut p = policy("(check_interval: 10, min_hidden: 4)");
        let ids = [10, 11, 12, 13, 14, 15];
        // Rates 0, 0.05, 0.001, 0.5, 0, 0.6: three dead, but only two may go.
        observe(
            &mut p,
            10,
            &[0.0, 5.0, 0.1, 50.0, 0.0, 60.0],
            100.0,
            &[1.0; 10],
        );
        let e = decide(&mut p, 10, &ids, 0);
        assert_eq!(e.remove, vec![10, 14]);
        assert_eq!(e.grow, None);
        // The host removed neurons 0 and 4; nothing more this check.
        p.resize(&[1, 2, 3, 5]).unwrap();
        assert_eq!(decide(&mut p, 10, &[11, 12, 13, 15], 1), Edits::default());
        // A neuron not simulated since the check has no rate and is never dead.
        p.resize(&[0, 1, 2, 3, abi::NEW]).unwrap();
        p.params.min_hidden = 0;
        p.reset_window(5);
        p.steps = vec![100.0, 100.0, 100.0, 100.0, 0.0];
        p.spikes = vec![0.0, 0.0, 9.0, 9.0, 0.0];
        p.window_episodes = 10;
        assert_eq!(
            decide(&mut p, 20, &[11, 12, 13, 15, 16], 0).remove,
            vec![11, 12]
        );
    }

    #[test]
    fn resize_keeps_the_survivors_windows() {
        let mut p = policy(SMALL);
        observe(&mut p, 5, &[1.0, 2.0, 3.0, 4.0], 10.0, &[1.0; 5]);
        p.resize(&[3, abi::NEW, 1]).unwrap();
        assert_eq!(p.spikes, vec![4.0, 0.0, 2.0]);
        assert_eq!(p.steps, vec![10.0, 0.0, 10.0]);
        assert_eq!(p.window_episodes, 5);
        observe(&mut p, 10, &[1.0, 1.0, 1.0], 10.0, &[1.0; 5]);
        assert_eq!(p.rates(), vec![Some(0.25), Some(0.1), Some(0.15)]);
        let e = p.resize(&[0, 7]).unwrap_err();
        assert!(e.contains("old neuron 7"), "{e}");
        // An edit before the first batch only sets the size.
        let mut fresh = policy(SMALL);
        fresh.resize(&[0, 1, abi::NEW]).unwrap();
        assert_eq!(fresh.steps, vec![0.0; 3]);
        // A batch of the wrong size is an error, not a panic.
        let e = p
            .observe(&Activity {
                episodes_done: 11,
                spikes: &[1.0; 5],
                steps: 1.0,
                returns: &[],
                food: &[],
            })
            .unwrap_err();
        assert!(e.contains("activity of 5 neurons"), "{e}");
    }

    #[test]
    fn save_then_load_restores_the_state_and_rejects_bad_bytes() {
        let mut p = policy(SMALL);
        observe(&mut p, 10, &[1.0, 2.0, 3.0], 100.0, &[1.0; 10]);
        observe(
            &mut p,
            17,
            &[1.5, 0.0, 3.0],
            80.0,
            &[2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
        );
        let bytes = p.save().unwrap();
        let mut q = policy(SMALL);
        q.load(&bytes).unwrap();
        assert_eq!(q, p);
        let ids = [0, 1, 2];
        assert_eq!(decide(&mut q, 17, &ids, 0), decide(&mut p, 17, &ids, 0));
        for cut in 0..bytes.len() {
            assert!(policy(SMALL).load(&bytes[..cut]).is_err(), "{cut} bytes");
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(policy(SMALL).load(&long).unwrap_err().contains("too many"));
        let mut huge = bytes[..12].to_vec();
        huge.extend_from_slice(&u64::MAX.to_le_bytes());
        assert!(policy(SMALL).load(&huge).is_err());
    }

    /// Round 0 of a check for neurons `ids` whose outgoing weights have these norms.
    fn decide_with_out(p: &mut Plateau, done: u64, ids: &[u64], w_out: &[f64]) -> Edits {
        let n = ids.len();
        let zeros = vec![0.0; n];
        let age = vec![0; n];
        let pop = Population {
            episodes_done: done,
            round: 0,
            ids,
            age: &age,
            w_in_norm: &zeros,
            w_out_norm: w_out,
            grad_in_norm: &zeros,
            grad_out_norm: &zeros,
            projections: Vec::new(),
        };
        let mut e = Edits::default();
        p.decide(&pop, &mut e).unwrap();
        e
    }

    const EARLY: &str = "(check_interval: 10, curve_window: 10, warmup: 0, grow_below: 3.0, \
        learned_above: 3.5, shrink_fraction: 0.25, min_hidden: 5, max_hidden: 40)";

    #[test]
    fn grows_while_the_curve_is_low_even_without_a_plateau() {
        let ids: Vec<u64> = (0..4).collect();
        let quiet = [1.0; 4];
        // Food 1 after the first 10 episodes: no plateau yet, but below grow_below.
        let mut p = policy(EARLY);
        observe(&mut p, 10, &quiet, 100.0, &[1.0; 10]);
        assert!(!p.plateaued());
        assert_eq!(p.recent_mean(), Some(1.0));
        assert_eq!(decide(&mut p, 10, &ids, 0).grow, Some((32, 0.01)));
        // Without grow_below the same history does not grow.
        let mut p = policy("(check_interval: 10, curve_window: 10, warmup: 0, min_hidden: 2)");
        observe(&mut p, 10, &quiet, 100.0, &[1.0; 10]);
        assert_eq!(decide(&mut p, 10, &ids, 0), Edits::default());
        // At the level (3.0) a rising curve does not grow; a flat one still does (the plateau).
        for (earlier, grows) in [(1.0, false), (3.0, true)] {
            let mut p = policy(EARLY);
            observe(&mut p, 10, &quiet, 100.0, &[earlier; 10]);
            observe(&mut p, 20, &quiet, 100.0, &[3.0; 10]);
            assert_eq!(
                decide(&mut p, 20, &ids, 0).grow.is_some(),
                grows,
                "{earlier}"
            );
        }
        // Fewer episodes than the window: the mean of those there are; none: no mean.
        let mut p = policy(EARLY);
        assert_eq!(p.recent_mean(), None);
        observe(&mut p, 4, &quiet, 40.0, &[1.0, 2.0, 3.0, 6.0]);
        assert_eq!(p.recent_mean(), Some(3.0));
    }

    #[test]
    fn once_learned_it_shrinks_the_weakest_and_never_grows_again() {
        let ids: Vec<u64> = (10..18).collect();
        // Rates 0.001 (dead), then 0.01..0.07; outgoing norms make neuron 7 (rate 0.07 × 0.1)
        // and neuron 1 (0.01 × 1) the two weakest of the live ones.
        let spikes = [0.1, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0];
        let w_out = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.1];
        let mut p = policy(EARLY);
        observe(&mut p, 10, &spikes, 100.0, &[4.0; 10]);
        let e = decide_with_out(&mut p, 10, &ids, &w_out);
        // The dead neuron, then 25 % of 8 = 2 weakest: ids 10, 11 and 17.
        assert_eq!((e.grow, e.remove), (None, vec![10, 11, 17]));
        p.resize(&[1, 2, 3, 4, 5, 6]).unwrap();
        // The curve falls back below grow_below, quiet: learned stays, so no growth; the
        // shrinking goes on, down to min_hidden (5).
        let ids: Vec<u64> = (12..17).chain([99]).collect();
        observe(
            &mut p,
            20,
            &[2.0, 3.0, 4.0, 5.0, 6.0, 1.5],
            100.0,
            &[0.0; 10],
        );
        let e = decide_with_out(&mut p, 20, &ids, &[1.0; 6]);
        assert_eq!((e.grow, e.remove), (None, vec![99]));
        // The flag survives save and load; a state of the first format loads as not learned.
        let bytes = p.save().unwrap();
        let mut q = policy(EARLY);
        q.load(&bytes).unwrap();
        assert_eq!(q, p);
        let mut v1 = b"PLT1".to_vec();
        v1.extend_from_slice(&bytes[4..bytes.len() - 8]);
        let mut q = policy(EARLY);
        q.load(&v1).unwrap();
        assert!(p.learned && !q.learned);
        let mut bad = bytes.clone();
        let at = bad.len() - 8;
        bad[at] = 2;
        assert!(policy(EARLY)
            .load(&bad)
            .unwrap_err()
            .contains("learned flag 2"));
    }

    #[test]
    fn parameter_errors_name_the_field() {
        let p = parse_config::<PlateauParams>("").unwrap();
        assert_eq!(p, PlateauParams::default());
        assert_eq!(Plateau::new(p).unwrap().warmup, 400);
        let p: PlateauParams = parse_config("(metric: return, warmup: 50)").unwrap();
        assert_eq!((p.metric, p.warmup), (Metric::Return, Some(50)));
        let e = parse_config::<PlateauParams>("(low_rate: \"x\")").unwrap_err();
        assert!(e.starts_with("params.low_rate:"), "{e}");
        let e = parse_config::<PlateauParams>("(metric: reward)").unwrap_err();
        assert!(e.starts_with("params.metric:"), "{e}");
        let e = parse_config::<PlateauParams>("(grow_every: 3)").unwrap_err();
        assert!(e.contains("`grow_every`"), "{e}");
        for (text, field) in [
            ("(check_interval: 0)", "params.check_interval:"),
            ("(curve_window: 0)", "params.curve_window:"),
            ("(dead_rate: -1.0)", "params.dead_rate:"),
            ("(min_hidden: 600)", "params.min_hidden:"),
            ("(shrink_fraction: 1.5)", "params.shrink_fraction:"),
            ("(shrink_fraction: -0.1)", "params.shrink_fraction:"),
        ] {
            let e = Plateau::new(parse_config(text).unwrap()).unwrap_err();
            assert!(e.starts_with(field), "{e}");
        }
    }

    #[test]
    fn the_library_exports_a_structure_policy_named_plateau() {
        // SAFETY: the entry returns a pointer to a static header whose name is a static str.
        let (kind, name) = unsafe {
            let h = &*snnsim_plugin_entry();
            (h.kind, h.name.to_str().to_string())
        };
        assert_eq!((kind, name.as_str()), (abi::KIND_STRUCTURE, "plateau"));
    }
}
