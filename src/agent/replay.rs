//! The experience replay of off-policy training: a ring buffer of n-step transitions, sampled
//! uniformly or in proportion to priorities (Schaul et al. 2016) through a sum tree.
//!
//! Transitions are stored column by column in flat arrays (observations of s and s', the
//! action, up to n rewards, how many, and whether s' is terminal), so a minibatch is gathered
//! without allocating per transition and the whole buffer goes into a checkpoint as a few
//! arrays. The sum tree keeps every internal node equal to the sum of its two children,
//! recomputed from them whenever a leaf changes, so a tree rebuilt from its leaves (after a
//! resume) holds the same bits as the one that was saved, and sampling is the same.

use crate::checkpoint::codec::{Dec, DecResult, Enc};
use crate::rng::Rng;
use rand::Rng as _;

/// A binary tree of sums over a power-of-two number of leaves.
#[derive(Debug, Clone, PartialEq)]
pub struct SumTree {
    leaves: usize,
    nodes: Vec<f64>,
}

impl SumTree {
    /// `n` leaves (rounded up to a power of two), all 0.
    pub fn new(n: usize) -> Self {
        let leaves = n.max(1).next_power_of_two();
        SumTree {
            leaves,
            nodes: vec![0.0; 2 * leaves],
        }
    }

    /// Sets leaf `i` to `p` and recomputes its ancestors from their children.
    pub fn set(&mut self, i: usize, p: f64) {
        let mut k = i + self.leaves;
        self.nodes[k] = p;
        while k > 1 {
            k /= 2;
            self.nodes[k] = self.nodes[2 * k] + self.nodes[2 * k + 1];
        }
    }

    /// Leaf `i`.
    pub fn get(&self, i: usize) -> f64 {
        self.nodes[i + self.leaves]
    }

    /// The sum of all leaves.
    pub fn total(&self) -> f64 {
        self.nodes[1]
    }

    /// The leaf where the running sum of the leaves passes `mass` (0 ≤ mass < total): the
    /// largest i with Σ_{j<i} p_j ≤ mass, skipping leaves of zero priority.
    pub fn find(&self, mut mass: f64) -> usize {
        let mut k = 1;
        while k < self.leaves {
            let left = self.nodes[2 * k];
            if mass < left || self.nodes[2 * k + 1] == 0.0 {
                k *= 2;
            } else {
                mass -= left;
                k = 2 * k + 1;
            }
        }
        k - self.leaves
    }
}

/// A minibatch drawn from the buffer: the slots, and their importance weights.
#[derive(Debug, Clone, Default)]
pub struct Drawn {
    /// Buffer slots.
    pub slots: Vec<usize>,
    /// Importance weights (all 1 when sampling is uniform), normalised to a maximum of 1.
    pub weights: Vec<f64>,
}

/// The replay buffer.
#[derive(Debug, Clone, PartialEq)]
pub struct Replay {
    cap: usize,
    obs_len: usize,
    n_step: usize,
    len: usize,
    next: usize,
    /// s, `obs_len` per slot.
    pub obs: Vec<f64>,
    /// s', `obs_len` per slot.
    pub next_obs: Vec<f64>,
    /// a.
    pub actions: Vec<u32>,
    /// The rewards from s on, `n_step` per slot (zeros after `steps`).
    pub rewards: Vec<f64>,
    /// Rewards until s'.
    pub steps: Vec<u32>,
    /// s' is terminal.
    pub terminal: Vec<u8>,
    /// Priorities p^α, when prioritized.
    tree: Option<SumTree>,
    max_prio: f64,
    alpha: f64,
    prio_eps: f64,
}

impl Replay {
    /// An empty buffer of `cap` transitions; prioritized with (α, ε) when `prio` is given.
    pub fn new(cap: usize, obs_len: usize, n_step: usize, prio: Option<(f64, f64)>) -> Self {
        Replay {
            cap,
            obs_len,
            n_step,
            len: 0,
            next: 0,
            obs: vec![0.0; cap * obs_len],
            next_obs: vec![0.0; cap * obs_len],
            actions: vec![0; cap],
            rewards: vec![0.0; cap * n_step],
            steps: vec![0; cap],
            terminal: vec![0; cap],
            tree: prio.map(|_| SumTree::new(cap)),
            max_prio: 1.0,
            alpha: prio.map_or(0.0, |p| p.0),
            prio_eps: prio.map_or(0.0, |p| p.1),
        }
    }

    /// Transitions stored.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether none is stored.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Stores a transition (overwriting the oldest when full), with the largest priority
    /// seen so far.
    pub fn push(&mut self, s: &[f64], a: u32, rewards: &[f64], s2: &[f64], terminal: bool) {
        let (i, o, n) = (self.next, self.obs_len, self.n_step);
        self.obs[i * o..(i + 1) * o].copy_from_slice(s);
        self.next_obs[i * o..(i + 1) * o].copy_from_slice(s2);
        self.actions[i] = a;
        let row = &mut self.rewards[i * n..(i + 1) * n];
        row.iter_mut().for_each(|x| *x = 0.0);
        row[..rewards.len()].copy_from_slice(rewards);
        self.steps[i] = rewards.len() as u32;
        self.terminal[i] = u8::from(terminal);
        if let Some(t) = &mut self.tree {
            t.set(i, self.max_prio);
        }
        self.next = (i + 1) % self.cap;
        self.len = (self.len + 1).min(self.cap);
    }

    /// Draws `b` slots: uniformly (with replacement), or one from each of b equal strata of
    /// the priority mass, with importance weights (len·P(i))^−β divided by their maximum.
    pub fn sample(&self, b: usize, beta: f64, rng: &mut Rng, out: &mut Drawn) {
        out.slots.clear();
        out.weights.clear();
        match &self.tree {
            None => {
                for _ in 0..b {
                    out.slots.push(rng.random_range(0..self.len));
                    out.weights.push(1.0);
                }
            }
            Some(t) => {
                let total = t.total();
                let seg = total / b as f64;
                for j in 0..b {
                    let u: f64 = rng.random();
                    let i = t.find((j as f64 + u) * seg).min(self.len - 1);
                    out.slots.push(i);
                    let p = t.get(i) / total;
                    out.weights.push((self.len as f64 * p).powf(-beta));
                }
                let max = out.weights.iter().copied().fold(0.0, f64::max);
                out.weights.iter_mut().for_each(|w| *w /= max);
            }
        }
    }

    /// New priorities (|δ| + ε)^α for the slots of a minibatch (no-op when uniform).
    pub fn update(&mut self, slots: &[usize], td: &[f64]) {
        let Some(t) = &mut self.tree else { return };
        for (&i, &d) in slots.iter().zip(td) {
            let p = (d.abs() + self.prio_eps).powf(self.alpha);
            t.set(i, p);
            self.max_prio = self.max_prio.max(p);
        }
    }

    /// Appends the buffer to a checkpoint.
    pub fn encode(&self, e: &mut Enc) {
        e.u64(self.len as u64);
        e.u64(self.next as u64);
        e.f64s(&self.obs);
        e.f64s(&self.next_obs);
        e.u32s(&self.actions);
        e.f64s(&self.rewards);
        e.u32s(&self.steps);
        let terminal: Vec<u32> = self.terminal.iter().map(|&t| u32::from(t)).collect();
        e.u32s(&terminal);
        e.f64(self.max_prio);
        let leaves: Vec<f64> = match &self.tree {
            Some(t) => (0..self.cap).map(|i| t.get(i)).collect(),
            None => Vec::new(),
        };
        e.f64s(&leaves);
    }

    /// Restores a buffer written by [`Replay::encode`] for the same sizes.
    pub fn decode(&mut self, d: &mut Dec) -> DecResult<()> {
        let (len, next) = (d.u64()? as usize, d.u64()? as usize);
        let (obs, next_obs, actions) = (d.f64s()?, d.f64s()?, d.u32s()?);
        let (rewards, steps, terminal) = (d.f64s()?, d.u32s()?, d.u32s()?);
        let max_prio = d.f64()?;
        let leaves = d.f64s()?;
        let fits = len <= self.cap
            && next < self.cap.max(1)
            && obs.len() == self.obs.len()
            && next_obs.len() == self.next_obs.len()
            && actions.len() == self.cap
            && rewards.len() == self.rewards.len()
            && steps.len() == self.cap
            && terminal.len() == self.cap
            && leaves.len() == if self.tree.is_some() { self.cap } else { 0 };
        if !fits {
            return Err("the replay buffer does not fit the graph file's sizes".into());
        }
        (self.len, self.next, self.obs, self.next_obs) = (len, next, obs, next_obs);
        (self.actions, self.rewards, self.steps) = (actions, rewards, steps);
        self.terminal = terminal.into_iter().map(|t| t as u8).collect();
        self.max_prio = max_prio;
        if let Some(t) = &mut self.tree {
            *t = SumTree::new(self.cap);
            for (i, p) in leaves.into_iter().enumerate() {
                t.set(i, p);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    /// Each leaf is found for every mass in its interval of the running sum, zero leaves are
    /// never found, and sampling frequencies follow the priorities.
    #[test]
    fn sum_tree_finds_leaves_by_mass_and_samples_in_proportion() {
        let mut t = SumTree::new(5);
        let p = [1.0, 0.0, 3.0, 0.5, 2.0];
        for (i, &x) in p.iter().enumerate() {
            t.set(i, x);
        }
        assert_eq!(t.total(), 6.5);
        for (mass, want) in [
            (0.0, 0),
            (0.99, 0),
            (1.0, 2),
            (3.99, 2),
            (4.0, 3),
            (4.6, 4),
            (6.49, 4),
        ] {
            assert_eq!(t.find(mass), want, "mass {mass}");
        }
        let mut r = Replay::new(5, 1, 1, Some((1.0, 0.0)));
        for i in 0..5 {
            r.push(&[i as f64], 0, &[0.0], &[0.0], false);
        }
        r.update(&[0, 1, 2, 3, 4], &p);
        let mut counts = [0usize; 5];
        let mut rng = stream(1, "test", "", 0);
        let mut d = Drawn::default();
        for _ in 0..2000 {
            r.sample(4, 0.5, &mut rng, &mut d);
            d.slots.iter().for_each(|&s| counts[s] += 1);
            assert!(d.weights.iter().all(|&w| w > 0.0 && w <= 1.0));
        }
        assert_eq!(counts[1], 0);
        for i in [0, 2, 3, 4] {
            let f = counts[i] as f64 / 8000.0;
            assert!((f - p[i] / 6.5).abs() < 0.02, "leaf {i}: {f}");
        }
    }

    /// The ring overwrites the oldest slot; a decoded buffer equals the encoded one and then
    /// samples the same slots.
    #[test]
    fn ring_and_checkpoint_round_trip() {
        let mut r = Replay::new(3, 2, 2, Some((0.6, 1e-6)));
        for i in 0..4 {
            let x = i as f64;
            r.push(
                &[x, -x],
                i,
                &[x, 1.0][..1 + (i as usize % 2)],
                &[x + 1.0, 0.0],
                i == 3,
            );
        }
        assert_eq!(r.len(), 3);
        assert_eq!(r.actions, vec![3, 1, 2]);
        r.update(&[0, 2], &[0.5, -2.0]);
        let mut e = Enc::default();
        r.encode(&mut e);
        let mut back = Replay::new(3, 2, 2, Some((0.6, 1e-6)));
        back.decode(&mut Dec::new(&e.buf)).unwrap();
        assert_eq!(back, r);
        let mut small = Replay::new(2, 2, 2, Some((0.6, 1e-6)));
        assert!(small.decode(&mut Dec::new(&e.buf)).is_err());
    }
}
