//! `develop`: a network that grows itself from a few neurons by local rules, in the spirit of
//! developmental graph cellular automata (Barandiaran & Stovold, "Developmental graph
//! cellular automata can grow reservoirs", 2024): every decision a neuron's fate takes is
//! made from its own activity and its own neighbourhood, and a new neuron is a copy of a
//! neighbourhood, not a random draw. It is a simulation policy (the graph file's top-level
//! `structure`), used by a reservoir task's `develop` samples (docs/reservoir.md).
//!
//! At every call (every `every_ms` of the structure entry), with r the rate of each neuron of
//! the first watched population over the interval:
//! 1. **Wiring of the newborn.** Each neuron grown at the previous call copies its parent's
//!    neighbourhood with mutations: each incoming synapse of the parent (from the input
//!    projections and the recurrent one) is copied, its weight times 1 + `jitter`·N(0, 1), from
//!    the same presynaptic neuron with probability `inherit` and else from a random one of the
//!    projection; each outgoing recurrent synapse likewise (to the same target or a random
//!    one); plus `random_in` recurrent inputs from random neurons. Degrees are so inherited. A newborn is inhibitory with probability `p_inh`;
//!    its outgoing weights are `w_exc` or `w_inh` (Dale's law holds for the grown neurons).
//! 2. **Synaptogenesis.** A neuron older than one call that fired below `silent_hz` gains one
//!    recurrent input from a random neuron that fired at or above it.
//! 3. **Apoptosis.** A neuron silent at `die_after` calls in a row is removed.
//! 4. **Division.** While the population is below `max_neurons`, up to `births_per_call`
//!    neurons that fired in [`divide_hz`, `max_hz`], in a random order, divide: one bare
//!    neuron is grown per division and wired at the next call (step 1).
//!
//! New synapses take their projection's shortest delay (the host's rule for added
//! synapses). The random stream is SplitMix64 keyed by the run's seed; the state (stable ids,
//! ages, signs, pending divisions) goes into checkpoints.

use serde::Deserialize;
use snnsim_plugin_api::state::{StateReader, StateWriter};
use snnsim_plugin_api::{export_structure, Activity, Edits, Population, SimView, StructurePolicy};
use std::collections::BTreeMap;

/// Parameters (`structure: [(plugin: "develop", populations: [...], params: (...))]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The recurrent projection of the grown population (pre and post both it).
    pub recurrent: String,
    /// Projections into the grown population whose synapses newborns inherit.
    #[serde(default)]
    pub inputs: Vec<String>,
    /// Size at which division stops.
    pub max_neurons: usize,
    /// Divisions per call at most.
    #[serde(default = "one")]
    pub births_per_call: usize,
    /// Rate (Hz) at or above which a neuron may divide.
    pub divide_hz: f64,
    /// Rate (Hz) above which a neuron does not divide.
    #[serde(default = "no_max")]
    pub max_hz: f64,
    /// Rate (Hz) below which a neuron gains an input.
    pub silent_hz: f64,
    /// Probability that a copied synapse keeps its parent's partner (else a random one).
    #[serde(default = "half")]
    pub inherit: f64,
    /// Relative standard deviation of an inherited weight.
    #[serde(default)]
    pub jitter: f64,
    /// Random recurrent inputs of a newborn besides the inherited ones.
    #[serde(default)]
    pub random_in: usize,
    /// Probability that a newborn is inhibitory.
    #[serde(default)]
    pub p_inh: f64,
    /// Outgoing weight of an excitatory newborn (and of synapses grown from an excitatory
    /// neuron).
    pub w_exc: f64,
    /// Outgoing weight of an inhibitory one (negative).
    pub w_inh: f64,
    /// Consecutive silent calls after which a neuron is removed (0: never).
    #[serde(default)]
    pub die_after: u32,
}

fn one() -> usize {
    1
}

fn no_max() -> f64 {
    f64::INFINITY
}

fn half() -> f64 {
    0.5
}

/// SplitMix64 (its whole state is one word, saved in checkpoints).
#[derive(Debug, Clone)]
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        (self.unit() * n as f64) as usize % n.max(1)
    }
    /// Standard normal (Box–Muller).
    fn normal(&mut self) -> f64 {
        let u = self.unit().max(1e-300);
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * self.unit()).cos()
    }
}

/// What the policy knows of one neuron, by stable id.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Cell {
    /// Calls seen.
    age: u32,
    /// Consecutive silent calls.
    silent: u32,
    /// −1 inhibitory, +1 excitatory, 0 unknown (a neuron of the file without outputs yet).
    sign: i8,
}

/// The policy.
pub struct Develop {
    c: Config,
    rng: Option<SplitMix>,
    cells: BTreeMap<u64, Cell>,
    /// Parents (stable ids) of the neurons grown at the last call, in growth order.
    pending: Vec<u64>,
}

/// The weight of a synapse from a neuron of sign `sign`.
fn weight_of(c: &Config, sign: i8) -> f64 {
    if sign < 0 {
        c.w_inh
    } else {
        c.w_exc
    }
}

impl StructurePolicy for Develop {
    type Config = Config;

    fn new(c: Config) -> Result<Self, String> {
        if c.max_hz.is_nan() || c.max_hz < c.divide_hz {
            return Err(format!(
                "params.max_hz: must be at least divide_hz, not {}",
                c.max_hz
            ));
        }
        for (f, x) in [("divide_hz", c.divide_hz), ("silent_hz", c.silent_hz)] {
            if !(x.is_finite() && x >= 0.0) {
                return Err(format!(
                    "params.{f}: must be finite and not negative, not {x}"
                ));
            }
        }
        for (f, x) in [("inherit", c.inherit), ("p_inh", c.p_inh)] {
            if !(0.0..=1.0).contains(&x) {
                return Err(format!("params.{f}: must be in [0, 1], not {x}"));
            }
        }
        if !(c.jitter.is_finite() && c.jitter >= 0.0) {
            return Err(format!(
                "params.jitter: must be finite and not negative, not {}",
                c.jitter
            ));
        }
        if !(c.w_exc.is_finite() && c.w_inh.is_finite()) {
            return Err("params.w_exc, w_inh: must be finite".into());
        }
        if c.max_neurons == 0 {
            return Err("params.max_neurons: must be at least 1".into());
        }
        Ok(Develop {
            c,
            rng: None,
            cells: BTreeMap::new(),
            pending: Vec::new(),
        })
    }

    fn observe(&mut self, _a: &Activity<'_>) -> Result<(), String> {
        Err("develop grows networks in simulations (the graph file's top-level `structure`), not in training".into())
    }

    fn decide(&mut self, _p: &Population<'_>, _e: &mut Edits) -> Result<(), String> {
        Err("develop grows networks in simulations, not in training".into())
    }

    fn simulate(&mut self, v: &SimView<'_>, edits: &mut Edits) -> Result<(), String> {
        let g = v.groups.first().ok_or("watch one population")?;
        let n = g.ids.len();
        let find = |name: &str| v.projections.iter().find(|p| p.name == name);
        let rec = find(&self.c.recurrent).ok_or_else(|| {
            format!(
                "params.recurrent: `{}` is not a projection of `{}`",
                self.c.recurrent, g.name
            )
        })?;
        if rec.pre != Some(0) || rec.post != Some(0) {
            return Err(format!(
                "params.recurrent: `{}` must go from `{}` to itself",
                self.c.recurrent, g.name
            ));
        }
        let mut inputs = Vec::new();
        for name in &self.c.inputs {
            let p = find(name)
                .filter(|p| p.post == Some(0) && p.pre != Some(0))
                .ok_or_else(|| {
                    format!(
                        "params.inputs: `{name}` is not a projection into `{}`",
                        g.name
                    )
                })?;
            inputs.push(p);
        }
        let mut rng = self
            .rng
            .take()
            .unwrap_or(SplitMix(v.seed ^ 0xD1B5_4A32_D192_ED03));
        let secs = v.interval_steps as f64 * v.dt_ms / 1000.0;
        let rate: Vec<f64> = g.spikes.iter().map(|&s| s / secs.max(1e-12)).collect();
        let index: BTreeMap<u64, usize> =
            g.ids.iter().enumerate().map(|(i, &id)| (id, i)).collect();
        // Neurons of the file: their sign from their first outgoing recurrent weight.
        for (i, &id) in g.ids.iter().enumerate() {
            self.cells.entry(id).or_insert_with(|| {
                let row = &rec.weights[rec.indptr[i]..rec.indptr[i + 1]];
                let sign = row.first().map_or(0, |&w| if w < 0.0 { -1 } else { 1 });
                Cell {
                    age: 0,
                    silent: 0,
                    sign,
                }
            });
        }
        self.cells.retain(|id, _| index.contains_key(id));

        // 1. Wire the neurons grown at the last call: the newest ids, in growth order.
        let newborn: Vec<usize> = (n - self.pending.len().min(n)..n).collect();
        let parents = std::mem::take(&mut self.pending);
        for (&child, parent) in newborn.iter().zip(parents) {
            let Some(&p) = index.get(&parent) else {
                continue; // the parent died meanwhile: the child stays bare and dies silent
            };
            let sign = if rng.unit() < self.c.p_inh { -1 } else { 1 };
            self.cells.get_mut(&g.ids[child]).expect("bound").sign = sign;
            let (inherit, jitter) = (self.c.inherit, self.c.jitter);
            for proj in inputs.iter().chain(std::iter::once(&rec)) {
                for pre in 0..proj.n_pre {
                    let row = proj.indptr[pre]..proj.indptr[pre + 1];
                    if let Ok(k) = proj.indices[row.clone()].binary_search(&(p as u32)) {
                        let w = proj.weights[row.start + k] * (1.0 + jitter * rng.normal());
                        let from = if rng.unit() < inherit {
                            pre
                        } else {
                            rng.below(proj.n_pre)
                        };
                        edits
                            .add_synapses
                            .push((proj.name.into(), from as u32, child as u32, w));
                    }
                }
            }
            let w_out = weight_of(&self.c, sign);
            for k in rec.indptr[p]..rec.indptr[p + 1] {
                let to = if rng.unit() < inherit {
                    rec.indices[k]
                } else {
                    rng.below(n) as u32
                };
                edits
                    .add_synapses
                    .push((rec.name.into(), child as u32, to, w_out));
            }
            for _ in 0..self.c.random_in {
                let pre = rng.below(n);
                if pre != child {
                    let s = self.cells[&g.ids[pre]].sign;
                    edits.add_synapses.push((
                        rec.name.into(),
                        pre as u32,
                        child as u32,
                        weight_of(&self.c, s),
                    ));
                }
            }
        }
        // The host refuses a synapse added twice: keep the first of each pair.
        let mut seen = std::collections::BTreeSet::new();
        edits
            .add_synapses
            .retain(|(p, a, b, _)| seen.insert((p.clone(), *a, *b)));

        // 2. Synaptogenesis for the silent, from the active.
        let active: Vec<usize> = (0..n).filter(|&i| rate[i] >= self.c.silent_hz).collect();
        let exists = |pre: usize, post: usize| {
            rec.indices[rec.indptr[pre]..rec.indptr[pre + 1]]
                .binary_search(&(post as u32))
                .is_ok()
        };
        for (i, (&id, &r)) in g.ids.iter().zip(&rate).enumerate() {
            if self.cells[&id].age >= 1 && r < self.c.silent_hz && !active.is_empty() {
                let pre = active[rng.below(active.len())];
                if pre != i
                    && !exists(pre, i)
                    && seen.insert((rec.name.to_string(), pre as u32, i as u32))
                {
                    let w = weight_of(&self.c, self.cells[&g.ids[pre]].sign);
                    edits
                        .add_synapses
                        .push((rec.name.into(), pre as u32, i as u32, w));
                }
            }
        }

        // 3. Apoptosis; ages and silent streaks.
        for (i, &id) in g.ids.iter().enumerate() {
            let cell = self.cells.get_mut(&id).expect("bound");
            cell.age += 1;
            cell.silent = if g.spikes[i] == 0.0 {
                cell.silent + 1
            } else {
                0
            };
            if self.c.die_after > 0 && cell.silent >= self.c.die_after && !newborn.contains(&i) {
                edits.remove.push(id);
            }
        }
        // Removals lead to removed synapses: drop the additions that touch a dying neuron.
        let dying: std::collections::BTreeSet<usize> =
            edits.remove.iter().map(|id| index[id]).collect();
        edits.add_synapses.retain(|(p, a, b, _)| {
            !(dying.contains(&(*b as usize)) || (p == rec.name && dying.contains(&(*a as usize))))
        });

        // 4. Division of the most active.
        let alive = n - edits.remove.len();
        let room = self
            .c
            .max_neurons
            .saturating_sub(alive)
            .min(self.c.births_per_call);
        let mut order: Vec<usize> = (0..n)
            .filter(|&i| rate[i] >= self.c.divide_hz && !dying.contains(&i))
            .collect();
        // Neither the most nor the least active: neurons in the band [divide_hz, max_hz],
        // in a random order (a selection for activity alone breeds a saturated network).
        order.retain(|&i| rate[i] <= self.c.max_hz);
        for k in (1..order.len()).rev() {
            order.swap(k, rng.below(k + 1));
        }
        self.pending = order.iter().take(room).map(|&i| g.ids[i]).collect();
        if !self.pending.is_empty() {
            edits.grow = Some((self.pending.len(), 0.0));
        }
        self.rng = Some(rng);
        Ok(())
    }

    fn save(&self) -> Result<Vec<u8>, String> {
        let mut out = StateWriter::new(b"");
        out.u64(self.rng.as_ref().map_or(0, |r| r.0))
            .u64(u64::from(self.rng.is_some()))
            .u64(self.cells.len() as u64);
        for (&id, c) in &self.cells {
            out.u64(id).u32(c.age).u32(c.silent).u8(c.sign as u8);
        }
        out.u64(self.pending.len() as u64);
        self.pending.iter().for_each(|&p| {
            out.u64(p);
        });
        Ok(out.into_bytes())
    }

    fn load(&mut self, b: &[u8]) -> Result<(), String> {
        let mut r = StateReader::new(b);
        let word = r.u64("the random stream")?;
        self.rng = (r.u64("the stream flag")? != 0).then_some(SplitMix(word));
        let cells = r.count(17, "the neurons")?;
        self.cells.clear();
        for _ in 0..cells {
            let id = r.u64("a neuron id")?;
            let age = r.u32("an age")?;
            let silent = r.u32("a silent streak")?;
            let sign = r.u8("a sign")? as i8;
            self.cells.insert(id, Cell { age, silent, sign });
        }
        let pending = r.count(8, "the pending divisions")?;
        self.pending = (0..pending)
            .map(|_| r.u64("a parent id"))
            .collect::<Result<_, _>>()?;
        r.finish()
    }
}

export_structure!(Develop, "develop");

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        snnsim_plugin_api::parse_config(
            "(recurrent: \"rec\", max_neurons: 4, divide_hz: 1.0, silent_hz: 0.5, w_exc: 1.0, w_inh: -2.0)",
        )
        .unwrap()
    }

    #[test]
    fn bad_parameters_are_refused_naming_them() {
        let mut c = config();
        c.inherit = 1.5;
        assert!(Develop::new(c).err().unwrap().contains("params.inherit"));
        let mut c = config();
        c.max_neurons = 0;
        assert!(Develop::new(c)
            .err()
            .unwrap()
            .contains("params.max_neurons"));
    }

    #[test]
    fn state_round_trips() {
        let mut d = Develop::new(config()).unwrap();
        d.rng = Some(SplitMix(7));
        d.cells.insert(
            3,
            Cell {
                age: 2,
                silent: 1,
                sign: -1,
            },
        );
        d.pending = vec![3];
        let b = d.save().unwrap();
        let mut e = Develop::new(config()).unwrap();
        e.load(&b).unwrap();
        assert_eq!(e.cells, d.cells);
        assert_eq!(e.pending, d.pending);
        assert_eq!(e.rng.unwrap().0, 7);
    }
}
