//! DEEP R rewiring at a constant synapse count: the `deep_r` structural-policy plugin of
//! snnsim (Bellec, Kappel, Maass & Legenstein 2018, "Deep rewiring: training very sparse deep
//! networks", ICLR).
//!
//! # What of DEEP R this policy does
//!
//! DEEP R gives each potential connection k a fixed sign s_k and a parameter θ_k; the
//! connection is active while θ_k > 0 (weight w_k = s_k·θ_k) and dormant otherwise. After each
//! parameter update, the connections that turned dormant are replaced by as many dormant ones,
//! chosen uniformly at random, so the number of active connections stays at its budget.
//!
//! In snnsim the parameter update belongs to the learning rule (here the agent's gradient rule,
//! e.g. `reinforce` with Adam), and a structural policy sees the weights read-only, between
//! batches. So this policy does the *rewiring* half of DEEP R on one projection of the edited
//! population (by default its one incoming projection), every `check_every` episodes:
//!
//! 1. Every synapse keeps the sign it was born with (`s = ±1`). A synapse present at the first
//!    check (after the first batch) takes the sign of its weight then (`+1` for a weight of
//!    exactly 0); one the host adds otherwise (a grown neuron's inputs) takes the sign of its
//!    weight at the first check that sees it.
//! 2. A synapse whose weight has crossed zero, `w·s ≤ 0`, is dormant and removed.
//! 3. As many currently absent (pre, post) pairs of the projection (a pair removed in step 2
//!    is absent too) are drawn uniformly at random, without repetition, and added with a random
//!    sign s and weight `s·init_weight`, so the synapse count is exactly what it was.
//!
//! The gradient step's own DEEP R terms, the L1 shrinkage −ηα·s and the noise √(2ηT)·ν of the
//! temperature, are not done: they would change every weight at every update, which is the
//! learning rule's business, and a policy cannot write weights. With T = 0 and α = 0 DEEP R
//! is what this policy and a plain gradient rule do together (the paper's "DEEP R without
//! noise or regularisation"), except that the rule steps weights (w) rather than θ: a gradient
//! step that pushes a weight past zero is cut at the next check instead of at once, and the
//! rule's state of a regrown synapse (e.g. Adam's moments) starts fresh.
//!
//! # Randomness
//!
//! A SplitMix64 stream, seeded at the first check from `seed` (a parameter) mixed with a hash
//! of the projection's synapse structure then (which depends on the run's own seed), so that
//! runs of different seeds rewire differently and a run repeats exactly. Random draws happen
//! only at checks, in a fixed order (candidates by rejection sampling while at least a quarter
//! of the pairs are absent, else by a partial shuffle of the absent pairs), so the same weights
//! give the same edits.
//!
//! # State
//!
//! The sign of every present synapse, the stream, and the episodes since the last check;
//! [`StructurePolicy::save`] writes them as little-endian bytes (see [`DeepR::save`]), and
//! [`StructurePolicy::resize`] follows the population's neurons (synapses of removed neurons
//! drop out; new neurons' synapses get their signs at the next check).

#![warn(missing_docs)]

use serde::Deserialize;
use snnsim_plugin_api::{
    abi, export_structure,
    state::{StateReader, StateWriter},
    Activity, Edits, Population, ProjView, Role, StructurePolicy,
};
use std::collections::{BTreeMap, BTreeSet};

/// Parameters of the `deep_r` policy, parsed from the RON `params` of the graph file, e.g.
/// `(check_every: 16, init_weight: 0.001, seed: 7)`. Every field has a default; unknown fields
/// are errors.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeepRParams {
    /// Episodes between checks (≥ 1); a check happens after the batch that reaches it.
    /// Default 16 (every batch of the main job).
    pub check_every: u64,
    /// Magnitude of a regrown synapse's weight (> 0, finite). Default 0.001.
    pub init_weight: f64,
    /// Seed of the rewiring stream (mixed with the projection's structure). Default 0.
    pub seed: u64,
    /// The projection to rewire, by name; by default the population's one incoming
    /// projection.
    pub projection: Option<String>,
}

impl Default for DeepRParams {
    fn default() -> Self {
        DeepRParams {
            check_every: 16,
            init_weight: 0.001,
            seed: 0,
            projection: None,
        }
    }
}

impl DeepRParams {
    /// Checks what serde cannot; an error names the field (`params.<field>: ...`).
    pub fn validate(&self) -> Result<(), String> {
        if self.check_every == 0 {
            return Err("params.check_every: must be at least 1".into());
        }
        if !(self.init_weight.is_finite() && self.init_weight > 0.0) {
            return Err(format!(
                "params.init_weight: must be positive and finite, got {}",
                self.init_weight
            ));
        }
        if self.projection.as_deref() == Some("") {
            return Err("params.projection: must name a projection".into());
        }
        Ok(())
    }
}

/// SplitMix64 (Steele, Lea & Flood 2014): 64 bits of state, fully specified here, so a stream
/// is the same on every platform and build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// A uniform integer in `0..n` (n ≥ 1), by the multiply-shift of the next draw.
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }
}

/// SplitMix64's output function.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The policy's state (see the crate documentation).
#[derive(Debug, Clone, PartialEq)]
pub struct DeepR {
    params: DeepRParams,
    /// Episodes observed since the last check.
    since: u64,
    /// The stream, from the first check on (`None` before it).
    rng: Option<SplitMix64>,
    /// The sign of each present synapse, `true` for negative, by (pre, post).
    negative: BTreeMap<(u32, u32), bool>,
    /// How the rewired projection meets the population (which side `resize` remaps).
    role: Option<Role>,
    /// Synapses rewired (removed and as many added) since the policy started.
    pub rewired: u64,
}

impl DeepR {
    /// The projection this policy rewires.
    fn target<'p>(&self, p: &'p Population<'_>) -> Result<&'p ProjView<'p>, String> {
        match &self.params.projection {
            Some(name) => p
                .projections
                .iter()
                .find(|v| v.name == name.as_str())
                .ok_or_else(|| {
                    let names: Vec<&str> = p.projections.iter().map(|v| v.name).collect();
                    format!(
                        "params.projection: `{name}` is not a projection of the population (it has {names:?})"
                    )
                }),
            None => {
                let incoming: Vec<&ProjView> = p
                    .projections
                    .iter()
                    .filter(|v| v.role == Role::Incoming)
                    .collect();
                match incoming[..] {
                    [v] => Ok(v),
                    _ => Err(format!(
                        "the population has {} incoming projections; name one in params.projection",
                        incoming.len()
                    )),
                }
            }
        }
    }

    /// The edits of one check of projection `v` (steps 1–3 of the crate documentation); updates
    /// the sign map to the projection as it will be after them.
    fn rewire(&mut self, v: &ProjView<'_>, edits: &mut Edits) -> Result<(), String> {
        if v.indptr.len() != v.n_pre + 1 || v.indices.len() != v.weights.len() {
            return Err(format!("projection `{}`: malformed CSR view", v.name));
        }
        let rng = self.rng.get_or_insert_with(|| {
            // The structure hash makes the stream depend on the run's seed.
            let mut h = mix(self.params.seed ^ 0xDEE9_0000_0000_0001);
            for (i, w) in v.indptr.windows(2).enumerate() {
                for &j in &v.indices[w[0]..w[1]] {
                    h = mix(h ^ ((i as u64) << 32 | u64::from(j)));
                }
            }
            SplitMix64(h)
        });
        let mut signs = BTreeMap::new();
        let mut removed = Vec::new();
        for i in 0..v.n_pre {
            for k in v.indptr[i]..v.indptr[i + 1] {
                let (j, w) = (v.indices[k], v.weights[k]);
                let key = (i as u32, j);
                match self.negative.get(&key) {
                    Some(&neg) => {
                        let s = if neg { -1.0 } else { 1.0 };
                        if w * s <= 0.0 {
                            removed.push(key);
                        } else {
                            signs.insert(key, neg);
                        }
                    }
                    // Not seen before: born now with the sign of its weight.
                    None => {
                        signs.insert(key, w < 0.0);
                    }
                }
            }
        }
        let cells = v.n_pre as u64 * v.n_post as u64;
        let present = signs.len() as u64;
        let n = removed.len();
        let absent = cells - present;
        let mut chosen: BTreeSet<(u32, u32)> = BTreeSet::new();
        let mut order = Vec::with_capacity(n);
        let cell = |c: u64| ((c / v.n_post as u64) as u32, (c % v.n_post as u64) as u32);
        if n > 0 && absent * 4 >= cells {
            // Rejection sampling: each draw is absent with probability ≥ 1/4.
            while order.len() < n {
                let key = cell(rng.below(cells));
                if !signs.contains_key(&key) && chosen.insert(key) {
                    order.push(key);
                }
            }
        } else if n > 0 {
            // Dense: list the absent pairs and take a partial Fisher–Yates shuffle of them.
            let mut pool: Vec<(u32, u32)> = (0..cells)
                .map(cell)
                .filter(|k| !signs.contains_key(k))
                .collect();
            for t in 0..n {
                let r = t + rng.below((pool.len() - t) as u64) as usize;
                pool.swap(t, r);
                order.push(pool[t]);
            }
        }
        for &(i, j) in &removed {
            edits.remove_synapses.push((v.name.to_string(), i, j));
        }
        for &(i, j) in &order {
            let neg = rng.next() >> 63 == 1;
            let w = if neg { -1.0 } else { 1.0 } * self.params.init_weight;
            edits.add_synapses.push((v.name.to_string(), i, j, w));
            signs.insert((i, j), neg);
        }
        self.negative = signs;
        self.role = Some(v.role);
        self.rewired += n as u64;
        Ok(())
    }
}

/// Magic and version of the saved state.
const MAGIC: &[u8; 4] = b"DPR1";

impl StructurePolicy for DeepR {
    type Config = DeepRParams;

    fn new(params: DeepRParams) -> Result<Self, String> {
        params.validate()?;
        Ok(DeepR {
            params,
            since: 0,
            rng: None,
            negative: BTreeMap::new(),
            role: None,
            rewired: 0,
        })
    }

    fn observe(&mut self, a: &Activity<'_>) -> Result<(), String> {
        self.since += a.returns.len() as u64;
        Ok(())
    }

    fn decide(&mut self, population: &Population<'_>, edits: &mut Edits) -> Result<(), String> {
        if population.round > 0 {
            return Ok(());
        }
        let v = *self.target(population)?;
        if self.rng.is_none() {
            // The first check: the synapses present are born with their weights' signs.
            self.rewire(&v, edits)?;
            self.since = 0;
            return Ok(());
        }
        if self.since < self.params.check_every {
            return Ok(());
        }
        self.since = 0;
        self.rewire(&v, edits)
    }

    fn resize(&mut self, map: &[u64]) -> Result<(), String> {
        let Some(role) = self.role else {
            return Ok(());
        };
        let mut new_of: BTreeMap<u64, u32> = BTreeMap::new();
        for (k, &old) in map.iter().enumerate() {
            if old != abi::NEW && new_of.insert(old, k as u32).is_some() {
                return Err(format!("resize: old neuron {old} appears twice in the map"));
            }
        }
        let at = |x: u32| new_of.get(&u64::from(x)).copied();
        self.negative = std::mem::take(&mut self.negative)
            .into_iter()
            .filter_map(|((i, j), neg)| {
                let key = match role {
                    Role::Incoming => (i, at(j)?),
                    Role::Outgoing => (at(i)?, j),
                    Role::Recurrent => (at(i)?, at(j)?),
                };
                Some((key, neg))
            })
            .collect();
        Ok(())
    }

    /// `DPR1`, then little-endian: episodes since the last check (u64), whether the stream has
    /// started (u8) and its state (u64), the role (u8: 0 none, 1 incoming, 2 outgoing,
    /// 3 recurrent), synapses rewired (u64), the number of signs (u64) and each sign as pre
    /// (u32), post (u32), negative (u8), in (pre, post) order.
    fn save(&self) -> Result<Vec<u8>, String> {
        let mut out = StateWriter::new(MAGIC);
        out.u64(self.since)
            .u8(u8::from(self.rng.is_some()))
            .u64(self.rng.map_or(0, |r| r.0))
            .u8(match self.role {
                None => 0,
                Some(Role::Incoming) => 1,
                Some(Role::Outgoing) => 2,
                Some(Role::Recurrent) => 3,
            })
            .u64(self.rewired)
            .u64(self.negative.len() as u64);
        for (&(i, j), &neg) in &self.negative {
            out.u32(i).u32(j).u8(u8::from(neg));
        }
        Ok(out.into_bytes())
    }

    fn load(&mut self, bytes: &[u8]) -> Result<(), String> {
        let mut r = StateReader::new(bytes);
        r.magic(&[MAGIC], "deep_r")?;
        let since = r.u64("the episode count")?;
        let started = r.u8("the stream flag")?;
        let state = r.u64("the stream")?;
        let rng = match started {
            0 => None,
            1 => Some(SplitMix64(state)),
            x => return Err(format!("saved state: stream flag {x}")),
        };
        let role = match r.u8("the role")? {
            0 => None,
            1 => Some(Role::Incoming),
            2 => Some(Role::Outgoing),
            3 => Some(Role::Recurrent),
            x => return Err(format!("saved state: role {x}")),
        };
        let rewired = r.u64("the rewiring count")?;
        let n = r.count(9, "the number of signs")?;
        let mut negative = BTreeMap::new();
        for _ in 0..n {
            let i = r.u32("a sign's pre")?;
            let j = r.u32("a sign's post")?;
            let neg = match r.u8("a sign")? {
                0 => false,
                1 => true,
                x => return Err(format!("saved state: sign byte {x}")),
            };
            negative.insert((i, j), neg);
        }
        r.finish()?;
        if negative.len() != n {
            return Err("saved state: a synapse's sign is listed twice".into());
        }
        (self.since, self.rng, self.role, self.rewired, self.negative) =
            (since, rng, role, rewired, negative);
        Ok(())
    }
}

export_structure!(DeepR, "deep_r");

#[cfg(test)]
mod tests {
    use super::*;
    use snnsim_plugin_api::parse_config;

    fn policy(params: &str) -> DeepR {
        DeepR::new(parse_config(params).unwrap()).unwrap()
    }

    /// A CSR projection held by the test, edited as the host would.
    #[derive(Clone)]
    struct Proj {
        n_pre: usize,
        n_post: usize,
        /// (pre, post) → weight.
        w: BTreeMap<(u32, u32), f64>,
    }

    impl Proj {
        fn csr(&self) -> (Vec<usize>, Vec<u32>, Vec<f64>) {
            let mut indptr = vec![0; self.n_pre + 1];
            let (mut idx, mut wts) = (Vec::new(), Vec::new());
            for (&(i, j), &w) in &self.w {
                indptr[i as usize + 1] += 1;
                idx.push(j);
                wts.push(w);
            }
            for i in 0..self.n_pre {
                indptr[i + 1] += indptr[i];
            }
            (indptr, idx, wts)
        }

        /// One batch and round 0 of a check, then the host's edits.
        fn check(&mut self, p: &mut DeepR, episodes: usize) -> Edits {
            p.observe(&Activity {
                episodes_done: 0,
                spikes: &[],
                steps: 0.0,
                returns: &vec![0.0; episodes],
                food: &vec![0.0; episodes],
            })
            .unwrap();
            let e = self.decide(p, 0);
            for (_, i, j) in &e.remove_synapses {
                assert!(
                    self.w.remove(&(*i, *j)).is_some(),
                    "removes a present synapse"
                );
            }
            for (_, i, j, w) in &e.add_synapses {
                assert!(
                    self.w.insert((*i, *j), *w).is_none(),
                    "adds an absent synapse"
                );
            }
            assert_eq!(
                self.decide(p, 1),
                Edits::default(),
                "nothing in later rounds"
            );
            e
        }

        fn decide(&self, p: &mut DeepR, round: u32) -> Edits {
            let (indptr, indices, weights) = self.csr();
            let ids: Vec<u64> = (0..self.n_post as u64).collect();
            let zeros = vec![0.0; self.n_post];
            let age = vec![0; self.n_post];
            let pop = Population {
                episodes_done: 0,
                round,
                ids: &ids,
                age: &age,
                w_in_norm: &zeros,
                w_out_norm: &zeros,
                grad_in_norm: &zeros,
                grad_out_norm: &zeros,
                projections: vec![ProjView {
                    name: "in",
                    role: Role::Incoming,
                    n_pre: self.n_pre,
                    n_post: self.n_post,
                    indptr: &indptr,
                    indices: &indices,
                    weights: &weights,
                }],
            };
            let mut e = Edits::default();
            p.decide(&pop, &mut e).unwrap();
            e
        }
    }

    /// 20 × 10 pairs, every third present, alternating signs.
    fn sparse() -> Proj {
        let mut w = BTreeMap::new();
        for c in (0..200u32).step_by(3) {
            let s = if c % 2 == 0 { 1.0 } else { -1.0 };
            w.insert((c / 10, c % 10), s * 0.1);
        }
        Proj {
            n_pre: 20,
            n_post: 10,
            w,
        }
    }

    #[test]
    fn removes_synapses_that_crossed_zero_and_regrows_as_many() {
        let mut p = policy("(check_every: 4, init_weight: 0.01)");
        let mut net = sparse();
        let budget = net.w.len();
        // The first check only records the signs.
        assert_eq!(net.check(&mut p, 4), Edits::default());
        // Three synapses cross zero (one to exactly 0), one shrinks but keeps its sign.
        *net.w.get_mut(&(0, 0)).unwrap() = -0.02;
        *net.w.get_mut(&(0, 3)).unwrap() = 0.0;
        *net.w.get_mut(&(0, 6)).unwrap() = -0.3;
        *net.w.get_mut(&(0, 9)).unwrap() = -0.001;
        // Not yet due (2 of 4 episodes).
        assert_eq!(net.check(&mut p, 2), Edits::default());
        let e = net.check(&mut p, 2);
        let mut gone: Vec<(u32, u32)> = e.remove_synapses.iter().map(|r| (r.1, r.2)).collect();
        gone.sort_unstable();
        assert_eq!(gone, vec![(0, 0), (0, 3), (0, 6)]);
        assert_eq!(e.add_synapses.len(), 3);
        assert!(e
            .add_synapses
            .iter()
            .all(|a| a.0 == "in" && a.3.abs() == 0.01));
        assert_eq!(net.w.len(), budget);
        assert_eq!(p.rewired, 3);
        // Regrown synapses keep their random sign: flipping one makes it go at the next check.
        let (_, i, j, w) = e.add_synapses[0].clone();
        *net.w.get_mut(&(i, j)).unwrap() = -w;
        let e = net.check(&mut p, 4);
        assert_eq!(e.remove_synapses, vec![("in".to_string(), i, j)]);
        assert_eq!(net.w.len(), budget);
    }

    #[test]
    fn same_weights_same_edits_and_the_seed_matters() {
        let run = |params: &str| {
            let mut p = policy(params);
            let mut net = sparse();
            net.check(&mut p, 16);
            // Every synapse crosses zero.
            net.w.values_mut().for_each(|w| *w = -*w);
            (net.check(&mut p, 16), net.w)
        };
        let (a, wa) = run("()");
        assert_eq!(a.remove_synapses.len(), 67);
        assert_eq!(a.add_synapses.len(), 67);
        assert_eq!(run("()"), (a.clone(), wa));
        assert_ne!(run("(seed: 1)").0, a);
        // Signs are random: both occur.
        assert!(a.add_synapses.iter().any(|x| x.3 > 0.0));
        assert!(a.add_synapses.iter().any(|x| x.3 < 0.0));
    }

    #[test]
    fn a_dense_projection_is_rewired_by_shuffling_the_absent_pairs() {
        let mut p = policy("(check_every: 1)");
        let mut net = sparse();
        // All pairs but two present; all of row 0 (10 synapses) cross zero.
        for c in 0..198u32 {
            net.w.entry((c / 10, c % 10)).or_insert(0.5);
        }
        net.w.remove(&(19, 8));
        net.check(&mut p, 1);
        for j in 0..10 {
            let w = net.w.get_mut(&(0, j)).unwrap();
            *w = -*w;
        }
        let e = net.check(&mut p, 1);
        assert_eq!(e.remove_synapses.len(), 10);
        assert_eq!(e.add_synapses.len(), 10);
        assert_eq!(net.w.len(), 198);
        // The two pairs that were absent are among the 12 candidates.
        let added: BTreeSet<(u32, u32)> = e.add_synapses.iter().map(|a| (a.1, a.2)).collect();
        assert_eq!(added.len(), 10);
        assert!(added
            .iter()
            .all(|&(i, j)| i == 0 || (i, j) == (19, 8) || (i, j) == (19, 9)));
    }

    #[test]
    fn resize_follows_the_neurons_and_new_synapses_take_their_weights_sign() {
        let mut p = policy("(check_every: 1)");
        let mut net = sparse();
        net.check(&mut p, 1);
        // The host removed post neuron 0 and appended a new one.
        let mut map: Vec<u64> = (1..10).collect();
        map.push(abi::NEW);
        p.resize(&map).unwrap();
        net.n_post = 10;
        net.w = net
            .w
            .iter()
            .filter(|(k, _)| k.1 != 0)
            .map(|(&(i, j), &w)| ((i, j - 1), w))
            .collect();
        for i in 0..20 {
            net.w.insert((i, 9), -0.2);
        }
        assert!(p.negative.keys().all(|k| k.1 < 9));
        // No synapse crossed zero, the new neuron's negative inputs included.
        assert_eq!(net.check(&mut p, 1), Edits::default());
        assert!((0..20).all(|i| p.negative[&(i, 9)]));
        let e = p.resize(&[0, 0]).unwrap_err();
        assert!(e.contains("twice"), "{e}");
    }

    #[test]
    fn save_then_load_restores_the_state_and_rejects_bad_bytes() {
        let mut p = policy("(check_every: 2)");
        let mut net = sparse();
        net.check(&mut p, 2);
        net.w.values_mut().take(5).for_each(|w| *w = -*w);
        net.check(&mut p, 1);
        let bytes = p.save().unwrap();
        let mut q = policy("(check_every: 2)");
        q.load(&bytes).unwrap();
        assert_eq!(q, p);
        net.w.values_mut().take(9).for_each(|w| *w = -*w);
        let e = net.clone().check(&mut q, 1);
        assert_eq!(e.remove_synapses.len(), 4);
        assert_eq!(e, net.check(&mut p, 1));
        for cut in 0..bytes.len() {
            assert!(policy("()").load(&bytes[..cut]).is_err(), "{cut} bytes");
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(policy("()").load(&long).unwrap_err().contains("too many"));
        let mut bad = bytes.clone();
        bad[..4].copy_from_slice(b"PLT1");
        assert!(policy("()").load(&bad).unwrap_err().contains("deep_r"));
    }

    #[test]
    fn parameter_errors_name_the_field() {
        let p = parse_config::<DeepRParams>("").unwrap();
        assert_eq!(p, DeepRParams::default());
        for (text, field) in [
            ("(check_every: 0)", "params.check_every:"),
            ("(init_weight: 0.0)", "params.init_weight:"),
            ("(init_weight: -1.0)", "params.init_weight:"),
            ("(projection: \"\")", "params.projection:"),
        ] {
            let e = DeepR::new(parse_config(text).unwrap()).unwrap_err();
            assert!(e.starts_with(field), "{text}: {e}");
        }
        let e = parse_config::<DeepRParams>("(init_weight: \"x\")").unwrap_err();
        assert!(e.starts_with("params.init_weight:"), "{e}");
        let e = parse_config::<DeepRParams>("(temperature: 1.0)").unwrap_err();
        assert!(e.contains("`temperature`"), "{e}");
        // A named projection the population lacks is an error naming the field.
        let mut p = policy("(projection: \"other\")");
        let net = sparse();
        let (indptr, indices, weights) = net.csr();
        let ids: Vec<u64> = (0..10).collect();
        let z = vec![0.0; 10];
        let age = vec![0; 10];
        let pop = Population {
            episodes_done: 0,
            round: 0,
            ids: &ids,
            age: &age,
            w_in_norm: &z,
            w_out_norm: &z,
            grad_in_norm: &z,
            grad_out_norm: &z,
            projections: vec![ProjView {
                name: "in",
                role: Role::Incoming,
                n_pre: 20,
                n_post: 10,
                indptr: &indptr,
                indices: &indices,
                weights: &weights,
            }],
        };
        let e = p.decide(&pop, &mut Edits::default()).unwrap_err();
        assert!(e.starts_with("params.projection:"), "{e}");
    }
}
