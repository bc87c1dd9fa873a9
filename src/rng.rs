//! Random streams keyed by what they are for, never by thread.
//!
//! Every consumer of randomness (a projection's connectivity, a population's initial values, a
//! chunk of a Poisson source) draws from its own ChaCha8 stream whose key is derived from the
//! run seed and a stable description of the consumer: a domain string, a name and a chunk
//! index. The same file and seed therefore give the same numbers on 1 or N threads, and the
//! streams of untouched consumers do not shift when something else changes.
//!
//! It depends on nothing else in the crate and sits below every layer that draws numbers (the
//! models' Poisson sources, graph building, the engine's hash, the trainers).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The generator used everywhere.
pub type Rng = ChaCha8Rng;

/// FNV-1a over bytes, used to fold names into stream keys. Written here because the key
/// derivation must never change between versions or platforms, which std's hasher does not
/// promise.
pub fn fnv1a(bytes: &[u8], mut h: u64) -> u64 {
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// FNV-1a offset basis.
pub const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// SplitMix64 step, used to spread a 64-bit key over a 256-bit seed.
fn splitmix(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The stream for (seed, domain, name, index).
pub fn stream(seed: u64, domain: &str, name: &str, index: u64) -> Rng {
    let mut h = fnv1a(&seed.to_le_bytes(), FNV_OFFSET);
    h = fnv1a(domain.as_bytes(), h);
    h = fnv1a(&[0xff], h);
    h = fnv1a(name.as_bytes(), h);
    h = fnv1a(&index.to_le_bytes(), h);
    let mut key = [0u8; 32];
    let mut s = h;
    for part in key.chunks_mut(8) {
        part.copy_from_slice(&splitmix(&mut s).to_le_bytes());
    }
    Rng::from_seed(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng as _;

    #[test]
    fn streams_differ_by_every_part_of_the_key_and_repeat_exactly() {
        let draw = |mut r: Rng| -> u64 { r.random() };
        let base = draw(stream(1, "d", "n", 0));
        assert_eq!(base, draw(stream(1, "d", "n", 0)));
        assert_ne!(base, draw(stream(2, "d", "n", 0)));
        assert_ne!(base, draw(stream(1, "e", "n", 0)));
        assert_ne!(base, draw(stream(1, "d", "m", 0)));
        assert_ne!(base, draw(stream(1, "d", "n", 1)));
        // The separator keeps ("ab", "c") and ("a", "bc") apart.
        assert_ne!(draw(stream(1, "ab", "c", 0)), draw(stream(1, "a", "bc", 0)));
    }
}
