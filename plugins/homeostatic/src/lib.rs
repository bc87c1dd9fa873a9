//! `homeostatic`: homeostatic structural plasticity in a simulation — the model of Butz &
//! van Ooyen (2013), "A simple rule for dendritic spine and axonal bouton formation can account
//! for cortical reorganization after focal retinal lesions" (PLoS Comput. Biol. 9:e1003259),
//! as NEST implements it (`structural_plasticity_node`, `synaptic_element`, `growth_curve`,
//! `sp_manager`).
//!
//! Every neuron carries a calcium trace, which jumps by β_Ca at each spike and decays with
//! τ_Ca, and synaptic elements (axonal boutons, dendritic spines) of named kinds. Each
//! element count z grows or retracts with a Gaussian growth curve of the calcium,
//!
//! ```text
//! dz/dt = ν · (2·exp(−((Ca − ξ)/ζ)²) − 1),   ξ = (η + ε)/2,   ζ = (ε − η)/(2·√ln 2)
//! ```
//!
//! zero at Ca = η and Ca = ε, positive between, negative above ε: a neuron firing below its
//! target rate (Ca < ε) grows elements, one above it retracts them. Every
//! `update_interval_ms`, for each synapse kind (a presynaptic and a postsynaptic element):
//! a neuron with fewer whole elements than connected ones loses that many of its synapses of
//! the kind, chosen at random (first by presynaptic, then by postsynaptic deficits), each loss
//! releasing an element on both sides by NEST's rule (`SynapticElement::connect`: while the
//! connections still exceed ⌊z⌋, z rises to them, so a deficit of d leaves d − 1 vacant
//! elements behind); then the vacant elements (⌊z⌋ − connected) of all neurons are paired at
//! random into new synapses; finally each neuron's vacant elements decay, z −= vacant·τ_vacant.
//!
//! Where this differs from NEST, and why: the host calls the policy every `every_ms` of the
//! graph file with the spike counts of that interval, so the calcium takes a count's jumps at
//! the interval's end and z advances by one Euler step per interval (NEST: exact jumps at each
//! spike, Euler steps of dt between); with τ_Ca = 10 s and intervals of 1 ms the difference
//! is far below the run-to-run spread. snnsim's projections hold one synapse per pair, where
//! NEST allows multapses: a pair connected k times is one synapse of k times the kind's
//! weight (the same input, as the delays are equal), and counts as k connections. The
//! connected counts are read from the projections themselves at each update, so they never
//! drift from the network; a projection serves one synapse kind.

use serde::Deserialize;
use snnsim_plugin_api::state::{StateReader, StateWriter};
use snnsim_plugin_api::{export_structure, Activity, Edits, Population, SimView, StructurePolicy};
use std::collections::{BTreeMap, BTreeSet};

/// A Gaussian growth curve of one element kind.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Element {
    /// ν: elements per ms at the curve's peak.
    pub growth_rate: f64,
    /// η: calcium at which growth starts.
    pub eta: f64,
    /// ε: calcium at which growth turns into retraction (the target).
    pub eps: f64,
    /// Fraction of the vacant elements lost at each update.
    #[serde(default = "default_tau_vacant")]
    pub tau_vacant: f64,
}

fn default_tau_vacant() -> f64 {
    0.1
}

impl Element {
    /// dz/dt at calcium `ca`.
    fn rate(&self, ca: f64) -> f64 {
        let zeta = (self.eta - self.eps) / (2.0 * std::f64::consts::LN_2.sqrt());
        let xi = (self.eta + self.eps) / 2.0;
        self.growth_rate * (2.0 * (-((ca - xi) / zeta).powi(2)).exp() - 1.0)
    }
}

/// A kind of synapse: which elements it joins, in which projections, with which weight.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SynapseKind {
    /// The presynaptic element (e.g. `Axon_ex`).
    pub pre_element: String,
    /// The postsynaptic element (e.g. `Den_ex`).
    pub post_element: String,
    /// Weight of a new synapse.
    pub weight: f64,
    /// The projections that hold this kind, at most one per pair of watched populations.
    pub projections: Vec<String>,
}

/// Parameters.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Simulated time between structural updates (ms).
    pub update_interval_ms: f64,
    /// Calcium decay time constant τ_Ca (ms).
    #[serde(default = "default_tau_ca")]
    pub tau_ca_ms: f64,
    /// Calcium jump per spike β_Ca.
    #[serde(default = "default_beta_ca")]
    pub beta_ca: f64,
    /// Element kinds of each watched population: population → element name → curve.
    pub elements: BTreeMap<String, BTreeMap<String, Element>>,
    /// Synapse kinds, updated in this order.
    pub synapses: Vec<SynapseKind>,
    /// Mixed with the run's seed for the pairing and deletion draws.
    #[serde(default)]
    pub seed: u64,
}

fn default_tau_ca() -> f64 {
    10000.0
}

fn default_beta_ca() -> f64 {
    0.001
}

/// NEST's `SynapticElement::connect(n)`: the connected count of an element changes by `n`,
/// and while it exceeds the whole elements, z rises to it (keeping its fraction). On a
/// deletion this is what makes a deficit cost less than it seems: a neuron with d more
/// connections than whole elements loses d connections, but its first loss lifts z to the
/// d − 1 connections still above ⌊z⌋, so it ends with d − 1 vacant elements, which the
/// pairing of the same update may use again. (New connections take vacant elements only,
/// so the rule never raises z when they are made.)
fn connect(z: &mut f64, connected: &mut i64, n: i64) {
    *connected += n;
    if *connected as f64 > z.floor() {
        *z = *connected as f64 + (*z - z.floor());
    }
}

/// SplitMix64: a small, well-mixed generator whose whole state is one word (saved in
/// checkpoints).
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

    /// Uniform in 0..n (n > 0), by rejection so that it is unbiased.
    fn below(&mut self, n: usize) -> usize {
        let n = n as u64;
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let x = self.next();
            if x < zone {
                return (x % n) as usize;
            }
        }
    }

    /// Moves `k` random items of `v` to its front, in random order (a partial shuffle).
    fn pick<T>(&mut self, v: &mut [T], k: usize) {
        for i in 0..k.min(v.len()) {
            let j = i + self.below(v.len() - i);
            v.swap(i, j);
        }
    }
}

/// Calcium per population, and element counts per population and element (by position).
type Restored = (Vec<Vec<f64>>, Vec<Vec<Vec<f64>>>);

/// A neuron: (watched population index, neuron index).
type Cell = (usize, u32);

/// The policy's state.
pub struct Homeostatic {
    c: Config,
    rng: SplitMix,
    /// Per watched population (in the host's order, set at the first call): calcium per
    /// neuron, and per element name its z per neuron.
    ca: Vec<Vec<f64>>,
    z: Vec<BTreeMap<String, Vec<f64>>>,
    /// Simulated time of the last update (ms).
    last_update_ms: f64,
    started: bool,
    /// Calcium and element counts restored from a checkpoint, by position, until the next
    /// call binds the populations.
    pending: Option<Restored>,
}

impl Homeostatic {
    /// Names of the watched populations, checked against the configuration at the first call.
    fn bind(&mut self, v: &SimView<'_>) -> Result<(), String> {
        for name in self.c.elements.keys() {
            if !v.groups.iter().any(|g| g.name == name) {
                return Err(format!(
                    "params.elements: `{name}` is not a population this policy watches"
                ));
            }
        }
        let mut kind_of: BTreeMap<&str, usize> = BTreeMap::new();
        for (k, s) in self.c.synapses.iter().enumerate() {
            if !(s.weight.is_finite() && s.weight != 0.0) {
                return Err(format!(
                    "params.synapses[{k}].weight: must be finite and not zero"
                ));
            }
            for p in &s.projections {
                if let Some(other) = kind_of.insert(p, k) {
                    return Err(format!(
                        "params.synapses[{k}].projections: `{p}` already holds synapses[{other}]; a projection serves one kind"
                    ));
                }
                let proj = v
                    .projections
                    .iter()
                    .find(|q| q.name == p)
                    .ok_or_else(|| format!("params.synapses[{k}].projections: no projection `{p}` from or to the watched populations"))?;
                let (Some(pre), Some(post)) = (proj.pre, proj.post) else {
                    return Err(format!(
                        "params.synapses[{k}].projections: `{p}` leaves the watched populations"
                    ));
                };
                let has = |g: usize, e: &str| {
                    self.c
                        .elements
                        .get(v.groups[g].name)
                        .is_some_and(|m| m.contains_key(e))
                };
                if !has(pre, &s.pre_element) || !has(post, &s.post_element) {
                    return Err(format!(
                        "params.synapses[{k}]: `{p}` joins `{}` to `{}`, which lack the elements `{}` / `{}`",
                        v.groups[pre].name, v.groups[post].name, s.pre_element, s.post_element
                    ));
                }
            }
        }
        self.ca = v.groups.iter().map(|g| vec![0.0; g.ids.len()]).collect();
        self.z = v
            .groups
            .iter()
            .map(|g| {
                self.c
                    .elements
                    .get(g.name)
                    .map(|m| {
                        m.keys()
                            .map(|e| (e.clone(), vec![0.0; g.ids.len()]))
                            .collect()
                    })
                    .unwrap_or_default()
            })
            .collect();
        if self.pending.is_none() {
            // A restored policy keeps the generator it was saved with.
            self.rng = SplitMix(self.c.seed ^ v.seed.rotate_left(32) ^ 0x6A09_E667_F3BC_C908);
        }
        self.started = true;
        Ok(())
    }

    fn curve(&self, v: &SimView<'_>, g: usize, e: &str) -> Element {
        self.c.elements[v.groups[g].name][e]
    }

    /// One structural update: deletions where elements retracted, then new synapses between
    /// vacant elements, then the decay of vacant elements. A connection is a unit; NEST's
    /// multapses (the same pair connected k times) are one synapse of k times the weight.
    fn update(&mut self, v: &SimView<'_>, edits: &mut Edits) {
        for s in self.c.synapses.clone() {
            let projs: Vec<usize> = s
                .projections
                .iter()
                .map(|p| {
                    v.projections
                        .iter()
                        .position(|q| q.name == p)
                        .expect("bound")
                })
                .collect();
            // The connections of this kind: (projection index, pre cell, post cell), a
            // synapse of k times the kind's weight counting k times.
            let mut units: Vec<(usize, Cell, Cell)> = Vec::new();
            let mut before: BTreeMap<(usize, u32, u32), usize> = BTreeMap::new();
            for &pi in &projs {
                let p = &v.projections[pi];
                let (pre, post) = (p.pre.expect("bound"), p.post.expect("bound"));
                for i in 0..p.n_pre {
                    for k in p.indptr[i]..p.indptr[i + 1] {
                        let j = p.indices[k];
                        let m = (p.weights[k] / s.weight).round().max(1.0) as usize;
                        before.insert((pi, i as u32, j), m);
                        units.extend(std::iter::repeat_n((pi, (pre, i as u32), (post, j)), m));
                    }
                }
            }
            let count = |units: &[(usize, Cell, Cell)], side: usize| {
                let mut c: BTreeMap<Cell, i64> = BTreeMap::new();
                for &(_, a, b) in units {
                    *c.entry(if side == 0 { a } else { b }).or_default() += 1;
                }
                c
            };
            // Deletions: presynaptic deficits, then postsynaptic ones. A neuron's deficit is
            // its connections less its whole elements; as in NEST (`get_target_node_ids`), a
            // presynaptic deficit deletes connections only onto neurons that still have a
            // whole postsynaptic element; the others lose theirs by their own deficit. Each
            // deleted connection releases one element on either side by NEST's rule
            // (`SynapticElement::connect`, see [`connect`]), which raises z while a neuron
            // still holds more connections than whole elements.
            let elements = [s.pre_element.as_str(), s.post_element.as_str()];
            for side in 0..2 {
                let element = elements[side];
                let mut held = [count(&units, 0), count(&units, 1)];
                let mut mine: BTreeMap<Cell, Vec<usize>> = BTreeMap::new();
                for (k, &(_, a, b)) in units.iter().enumerate() {
                    let target_ok = side == 1
                        || self.z[b.0]
                            .get(elements[1])
                            .is_some_and(|zv| zv[b.1 as usize].floor() != 0.0);
                    if target_ok {
                        mine.entry(if side == 0 { a } else { b })
                            .or_default()
                            .push(k);
                    }
                }
                let mut dead = vec![false; units.len()];
                for g in 0..self.z.len() {
                    let n = self.z[g].get(element).map_or(0, Vec::len);
                    for j in 0..n {
                        let cell = (g, j as u32);
                        let connected = held[side].get(&cell).copied().unwrap_or(0);
                        let deficit = connected - self.z[g][element][j].floor() as i64;
                        let Some(list) = mine.get_mut(&cell) else {
                            continue;
                        };
                        if deficit > 0 {
                            let k = (deficit as usize).min(list.len());
                            self.rng.pick(list, k);
                            for &x in &list[..k] {
                                dead[x] = true;
                                let (_, a, b) = units[x];
                                for (end, c) in [(0, a), (1, b)] {
                                    let zc = self.z[c.0].get_mut(elements[end]).expect("bound");
                                    let h = held[end].get_mut(&c).expect("held");
                                    connect(&mut zc[c.1 as usize], h, -1);
                                }
                            }
                        }
                    }
                }
                let mut k = 0;
                units.retain(|_| {
                    k += 1;
                    !dead[k - 1]
                });
            }
            // Creation: vacant elements on both sides, paired at random.
            let vacant = |element: &str,
                          side: usize,
                          units: &[(usize, Cell, Cell)],
                          z: &[BTreeMap<String, Vec<f64>>]| {
                let used = count(units, side);
                let mut list: Vec<Cell> = Vec::new();
                for (g, zs) in z.iter().enumerate() {
                    let Some(zv) = zs.get(element) else { continue };
                    for (j, &zj) in zv.iter().enumerate() {
                        let cell = (g, j as u32);
                        let free = zj.floor() as i64 - used.get(&cell).copied().unwrap_or(0);
                        list.extend(std::iter::repeat_n(cell, free.max(0) as usize));
                    }
                }
                list
            };
            let mut pre = vacant(&s.pre_element, 0, &units, &self.z);
            let mut post = vacant(&s.post_element, 1, &units, &self.z);
            let n = pre.len().min(post.len());
            if pre.len() > n {
                self.rng.pick(&mut pre, n);
            } else {
                self.rng.pick(&mut post, n);
            }
            for (&(ga, a), &(gb, b)) in pre[..n].iter().zip(&post[..n]) {
                let found = projs.iter().find(|&&pi| {
                    v.projections[pi].pre == Some(ga) && v.projections[pi].post == Some(gb)
                });
                if let Some(&pi) = found {
                    units.push((pi, (ga, a), (gb, b)));
                }
            }
            // The network's synapses follow the connection counts.
            let mut after: BTreeMap<(usize, u32, u32), usize> = BTreeMap::new();
            for &(pi, a, b) in &units {
                *after.entry((pi, a.1, b.1)).or_default() += 1;
            }
            let keys: BTreeSet<_> = before.keys().chain(after.keys()).copied().collect();
            for key in keys {
                let (was, now) = (
                    before.get(&key).copied().unwrap_or(0),
                    after.get(&key).copied().unwrap_or(0),
                );
                if was == now {
                    continue;
                }
                let name = v.projections[key.0].name.to_string();
                if was > 0 {
                    edits.remove_synapses.push((name.clone(), key.1, key.2));
                }
                if now > 0 {
                    edits
                        .add_synapses
                        .push((name, key.1, key.2, s.weight * now as f64));
                }
            }
            // Vacant elements decay.
            for (side, element) in [(0, &s.pre_element), (1, &s.post_element)] {
                let used = count(&units, side);
                for (g, zs) in self.z.iter_mut().enumerate() {
                    let Some(zv) = zs.get_mut(element.as_str()) else {
                        continue;
                    };
                    let tau = self.c.elements[v.groups[g].name][element.as_str()].tau_vacant;
                    for (j, zj) in zv.iter_mut().enumerate() {
                        let free =
                            zj.floor() - used.get(&(g, j as u32)).copied().unwrap_or(0) as f64;
                        if free > 0.0 {
                            *zj -= free * tau;
                        }
                    }
                }
            }
        }
    }
}

impl StructurePolicy for Homeostatic {
    type Config = Config;

    fn new(c: Config) -> Result<Self, String> {
        let positive = |f: &str, x: f64| {
            if x.is_finite() && x > 0.0 {
                Ok(())
            } else {
                Err(format!("params.{f}: must be positive, not {x}"))
            }
        };
        positive("update_interval_ms", c.update_interval_ms)?;
        positive("tau_ca_ms", c.tau_ca_ms)?;
        positive("beta_ca", c.beta_ca)?;
        for (pop, m) in &c.elements {
            for (name, e) in m {
                let at = format!("elements.{pop}.{name}");
                if !(e.growth_rate.is_finite() && e.eta.is_finite() && e.eps.is_finite()) {
                    return Err(format!(
                        "params.{at}: growth_rate, eta and eps must be finite"
                    ));
                }
                if e.eta == e.eps {
                    return Err(format!("params.{at}: eta and eps must differ"));
                }
                if !(0.0..=1.0).contains(&e.tau_vacant) {
                    return Err(format!("params.{at}.tau_vacant: must be in [0, 1]"));
                }
            }
        }
        if c.synapses.is_empty() {
            return Err("params.synapses: name at least one synapse kind".into());
        }
        Ok(Homeostatic {
            rng: SplitMix(c.seed ^ 0x6A09_E667_F3BC_C908),
            c,
            ca: Vec::new(),
            z: Vec::new(),
            pending: None,
            last_update_ms: 0.0,
            started: false,
        })
    }

    fn observe(&mut self, _a: &Activity<'_>) -> Result<(), String> {
        Err("homeostatic structural plasticity runs in simulations (the graph file's top-level `structure`), not in training".into())
    }

    fn decide(&mut self, _p: &Population<'_>, _e: &mut Edits) -> Result<(), String> {
        Err("homeostatic structural plasticity runs in simulations, not in training".into())
    }

    fn simulate(&mut self, v: &SimView<'_>, edits: &mut Edits) -> Result<(), String> {
        if !self.started {
            self.bind(v)?;
            if let Some((ca, z)) = self.pending.take() {
                let fits = ca.len() == self.ca.len()
                    && ca.iter().zip(&self.ca).all(|(a, b)| a.len() == b.len())
                    && z.len() == self.z.len()
                    && z.iter().zip(&self.z).all(|(a, b)| a.len() == b.len());
                if !fits {
                    return Err(
                        "homeostatic state: the checkpoint's populations differ from the file's"
                            .into(),
                    );
                }
                self.ca = ca;
                for (m, values) in self.z.iter_mut().zip(z) {
                    for (slot, v) in m.values_mut().zip(values) {
                        *slot = v;
                    }
                }
            }
        }
        let h = v.interval_steps as f64 * v.dt_ms;
        let decay = (-h / self.c.tau_ca_ms).exp();
        for (g, group) in v.groups.iter().enumerate() {
            let names: Vec<String> = self.z[g].keys().cloned().collect();
            for e in names {
                let curve = self.curve(v, g, &e);
                let ca = &self.ca[g];
                let z = self.z[g].get_mut(&e).expect("bound");
                for (zj, &c) in z.iter_mut().zip(ca) {
                    *zj = (*zj + h * curve.rate(c)).max(0.0);
                }
            }
            for (c, &s) in self.ca[g].iter_mut().zip(group.spikes) {
                *c = *c * decay + self.c.beta_ca * s;
            }
        }
        let due = (v.time_ms / self.c.update_interval_ms + 1e-9).floor()
            > (self.last_update_ms / self.c.update_interval_ms + 1e-9).floor();
        if due {
            self.last_update_ms = v.time_ms;
            self.update(v, edits);
        }
        Ok(())
    }

    fn save(&self) -> Result<Vec<u8>, String> {
        let mut out = StateWriter::new(b"");
        out.u64(self.rng.0)
            .f64(self.last_update_ms)
            .u64(u64::from(self.started))
            .u64(self.ca.len() as u64);
        for (ca, zs) in self.ca.iter().zip(&self.z) {
            out.f64s(ca.iter().copied()).u64(zs.len() as u64);
            for z in zs.values() {
                z.iter().for_each(|&x| {
                    out.f64(x);
                });
            }
        }
        Ok(out.into_bytes())
    }

    /// Restores [`Homeostatic::save`]'s state; the element names of each population come
    /// from the configuration (the same file), in the same (sorted) order.
    fn load(&mut self, b: &[u8]) -> Result<(), String> {
        let mut r = StateReader::new(b);
        self.rng.0 = r.u64("the random stream")?;
        self.last_update_ms = r.f64("the time of the last update")?;
        self.started = r.u64("the started flag")? != 0;
        let groups = r.count(8, "the number of populations")?;
        if !self.started {
            return Ok(());
        }
        let mut ca = Vec::with_capacity(groups);
        let mut z = Vec::with_capacity(groups);
        for _ in 0..groups {
            let values = r.f64s("a population's calcium")?;
            let n = values.len();
            ca.push(values);
            let kinds = r.count(8 * n.max(1), "a population's element kinds")?;
            let mut m = BTreeMap::new();
            for k in 0..kinds {
                let values = (0..n)
                    .map(|_| r.f64("a synaptic element count"))
                    .collect::<Result<Vec<_>, _>>()?;
                m.insert(k, values);
            }
            z.push(m);
        }
        r.finish()?;
        // Element names are known once the policy sees the populations again (its first
        // call after the restore binds them, then takes these values by position).
        self.started = false;
        self.pending = Some((
            ca,
            z.into_iter().map(|m| m.into_values().collect()).collect(),
        ));
        Ok(())
    }
}

export_structure!(Homeostatic, "homeostatic");

#[cfg(test)]
mod tests {
    use super::connect;

    /// NEST 3.10, one update of a neuron with z = 0.5 and two connections onto neurons with
    /// z = 5.5 (growth off): both connections are deleted, the first deletion lifts z to 1.5,
    /// and the update then pairs that vacant element again, ending with one connection and
    /// z = 1.5. The rule here gives the same z and the one vacant element.
    #[test]
    fn a_deficit_of_two_leaves_one_vacant_element_as_in_nest() {
        let (mut z, mut held) = (0.5, 2);
        connect(&mut z, &mut held, -1);
        assert_eq!((z, held), (1.5, 1));
        connect(&mut z, &mut held, -1);
        assert_eq!((z, held), (1.5, 0));
        assert_eq!(z.floor() as i64 - held, 1);
        // Without a surplus, a deletion only frees an element.
        let (mut z, mut held) = (3.25, 3);
        connect(&mut z, &mut held, -1);
        assert_eq!((z, held), (3.25, 2));
    }
}
