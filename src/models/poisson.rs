//! Poisson spike source: every neuron spikes independently in each step with probability
//! p = rate·dt (Brian2 `PoissonGroup`, NEST `poisson_generator` per target at rates where
//! rate·dt ≪ 1). Each chunk of neurons draws from its own random stream keyed by
//! (seed, population, chunk), so the spikes do not depend on the thread count.

use super::{chunks, for_chunks, Split, CHUNK};
use crate::file::rules::{non_negative, ParamError, ParamResult};
use crate::file::PoissonParams;
use crate::rng::{stream, Rng};
use rand::Rng as _;

/// A population of Poisson spike sources.
#[derive(Debug, Clone)]
pub struct Poisson {
    /// Parameters as given.
    pub params: PoissonParams,
    n: usize,
    p: f64,
    /// One random stream per chunk.
    pub rngs: Vec<Rng>,
}

impl Poisson {
    /// `n` sources.
    pub fn new(params: PoissonParams, n: usize, dt_ms: f64, seed: u64, pop: &str) -> Self {
        let rngs = (0..chunks(n))
            .map(|c| stream(seed, "poisson", pop, c as u64))
            .collect();
        Poisson {
            p: params.rate_hz * dt_ms / 1000.0,
            params,
            n,
            rngs,
        }
    }

    /// Sets the number of sources (the chunk streams must already match).
    pub fn set_len(&mut self, n: usize) {
        debug_assert_eq!(self.rngs.len(), chunks(n));
        self.n = n;
    }

    /// Number of sources.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether there are no sources.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// One step: each source spikes with probability rate·dt.
    pub fn update(&mut self, outs: &mut [Vec<u32>]) {
        let p = self.p;
        let cols = Cols {
            n: self.n,
            rngs: &mut self.rngs,
        };
        for_chunks(cols, outs, &|c: Cols, offset, out: &mut Vec<u32>| {
            let rng = &mut c.rngs[0];
            for k in 0..c.n {
                if rng.random::<f64>() < p {
                    out.push(offset + k as u32);
                }
            }
        });
    }
}

struct Cols<'a> {
    n: usize,
    rngs: &'a mut [Rng],
}

impl Split for Cols<'_> {
    fn neurons(&self) -> usize {
        self.n
    }
    fn split_at(self, mid: usize) -> (Self, Self) {
        let (a, b) = self.rngs.split_at_mut(mid / CHUNK);
        (
            Cols { n: mid, rngs: a },
            Cols {
                n: self.n - mid,
                rngs: b,
            },
        )
    }
}

/// Checks the parameters of a `Poisson` source at time step `dt_ms`: at most one spike per
/// step. The error's field is relative to the parameters (`rate_hz`).
pub fn check(p: &PoissonParams, dt_ms: f64) -> ParamResult {
    non_negative("rate_hz", p.rate_hz)?;
    if p.rate_hz * dt_ms / 1000.0 > 1.0 {
        return Err(ParamError::new(
            "rate_hz",
            format!(
                "rate {} Hz exceeds one spike per step at dt = {dt_ms} ms",
                p.rate_hz
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spike_count_matches_the_rate() {
        let n = 10_000;
        let mut m = Poisson::new(PoissonParams { rate_hz: 20.0 }, n, 0.1, 7, "p");
        let mut outs = vec![Vec::new(); chunks(n)];
        let mut count = 0usize;
        let steps = 1000; // 100 ms
        for _ in 0..steps {
            for o in outs.iter_mut() {
                o.clear();
            }
            m.update(&mut outs);
            count += outs.iter().map(Vec::len).sum::<usize>();
        }
        // Expected 20 Hz · 0.1 s · 10 000 = 20 000 spikes; binomial std ≈ 141.
        let expected = 20_000.0;
        assert!((count as f64 - expected).abs() < 5.0 * 141.0, "{count}");
    }
}
