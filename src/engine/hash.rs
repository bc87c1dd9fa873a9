//! `state_hash`: a 64-bit hash over every weight and state value of a network, for
//! bit-identity checks between runs (1 vs N threads, killed-and-resumed vs uninterrupted).
//! Values are hashed by their bit patterns in a fixed order (populations and projections by
//! name), with a word-wise FNV-1a variant; written here because the hash must be stable across
//! versions and platforms, which std's `Hasher` does not promise.

use crate::graph::{Delays, Network, ProjId, Projection, WeightValues, Weights};
use crate::Real;

const PRIME: u64 = 0x0000_0100_0000_01b3;

/// Word-wise FNV-1a.
#[derive(Debug, Clone)]
pub struct StateHasher(u64);

impl Default for StateHasher {
    fn default() -> Self {
        StateHasher(crate::rng::FNV_OFFSET)
    }
}

impl StateHasher {
    /// Mixes one word.
    pub fn word(&mut self, w: u64) {
        self.0 = (self.0 ^ w).wrapping_mul(PRIME);
        self.0 ^= self.0 >> 29;
    }
    /// Mixes a length-prefixed byte string.
    pub fn bytes(&mut self, b: &[u8]) {
        self.word(b.len() as u64);
        for c in b.chunks(8) {
            let mut w = [0u8; 8];
            w[..c.len()].copy_from_slice(c);
            self.word(u64::from_le_bytes(w));
        }
    }
    /// Mixes a length-prefixed column of f64 by bit pattern (as [`reals`](Self::reals) of
    /// the same values in the default build).
    pub fn f64s(&mut self, xs: &[f64]) {
        self.word(xs.len() as u64);
        for &x in xs {
            self.word(x.to_bits());
        }
    }
    /// Mixes a length-prefixed column of reals by bit pattern.
    pub fn reals(&mut self, xs: &[Real]) {
        self.word(xs.len() as u64);
        for &x in xs {
            self.word(crate::real::bits(x));
        }
    }
    /// Mixes a projection's weights as the length-prefixed column of one value per synapse
    /// ([`reals`](Self::reals) of the expanded array), whether they are shared or not.
    pub fn weights(&mut self, w: &Weights) {
        match w.values() {
            WeightValues::PerSynapse(v) => self.reals(v),
            WeightValues::Shared(x) => {
                self.word(w.nnz() as u64);
                for _ in 0..w.nnz() {
                    self.word(crate::real::bits(*x));
                }
            }
        }
    }
    /// Mixes a length-prefixed column of integers.
    pub fn ints<T: Copy + Into<u64>>(&mut self, xs: &[T]) {
        self.word(xs.len() as u64);
        for &x in xs {
            self.word(x.into());
        }
    }
    /// The hash.
    pub fn finish(&self) -> u64 {
        self.0
    }
}

/// Hash of the whole state of `net` at `step`, as 16 hex digits.
pub fn state_hash(net: &Network, step: u64) -> String {
    let hashed = hash_network(net, step, &mut |h, pid| {
        projection(h, net.proj(pid));
        Ok(())
    });
    hashed.expect("hashing a network in memory does not fail")
}

/// [`state_hash`] with each projection's part after its name and endpoints mixed by
/// `projection` (in name order): what a split simulation's rank 0 uses to hash projections it
/// does not hold, streamed from the ranks.
pub(crate) fn hash_network(
    net: &Network,
    step: u64,
    projection: &mut dyn FnMut(&mut StateHasher, ProjId) -> crate::Result<()>,
) -> crate::Result<String> {
    let mut h = StateHasher::default();
    h.word(step);
    h.word(net.generation);
    for p in net.populations() {
        h.bytes(p.name.as_bytes());
        h.ints(&p.neuron_ids);
        for (name, col) in p.dynamics.columns() {
            h.bytes(name.as_bytes());
            h.reals(col);
        }
        h.ints(p.dynamics.refractory());
        h.ints(&p.spikes);
        for d in &p.due {
            h.reals(d);
        }
        h.word(p.input.len as u64);
        for s in &p.input.slots {
            h.reals(s);
        }
    }
    for pid in net.proj_ids() {
        let (pre, post) = net.endpoints(pid);
        h.bytes(net.proj(pid).name.as_bytes());
        h.bytes(net.pop(pre).name.as_bytes());
        h.bytes(net.pop(post).name.as_bytes());
        projection(&mut h, pid)?;
    }
    Ok(format!("{:016x}", h.finish()))
}

/// Mixes a projection's synapses (row pointers, columns, weights, delays), traces and kernel.
fn projection(h: &mut StateHasher, pr: &Projection) {
    h.ints(
        &pr.weights
            .indptr()
            .iter()
            .map(|&x| x as u64)
            .collect::<Vec<_>>(),
    );
    h.ints(pr.weights.indices());
    h.weights(&pr.weights);
    match &pr.delays {
        Delays::Uniform(d) => h.ints(&[*d]),
        Delays::PerSynapse(v) => h.ints(v),
    }
    h.f64s(&pr.traces.pre);
    h.f64s(&pr.traces.post);
    // A kernel's weights (only projections that have one: other hashes stay as they were).
    if let Some(k) = &pr.kernel {
        h.reals(&k.weights);
    }
}
