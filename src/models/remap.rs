//! Re-indexing a population's neurons for structural edits (growth, pruning): every state
//! column follows one index map, new neurons start at the model's resting state, and nothing
//! else changes.

use super::{chunks, Dynamics};
use crate::rng::stream;

/// New element `k` of a remapped column: `old[map[k]]`, or `fresh` where `map[k]` is
/// [`NEW`](snnsim_plugin_api::abi::NEW).
pub fn remap_vec<T: Clone>(old: &[T], map: &[u64], fresh: &T) -> Vec<T> {
    map.iter()
        .map(|&m| {
            if m == snnsim_plugin_api::abi::NEW {
                fresh.clone()
            } else {
                old[m as usize].clone()
            }
        })
        .collect()
}

fn apply<T: Clone>(col: &mut Vec<T>, map: &[u64], fresh: &[T]) {
    *col = remap_vec(col, map, &fresh[0]);
}

impl Dynamics {
    /// Re-indexes the neurons: new neuron `k` takes the state of old neuron `map[k]`, or the
    /// resting state of the model where `map[k]` is `NEW`. `seed` and `pop` key the random
    /// streams of new Poisson chunks. Spike sources with given times cannot be resized.
    pub fn remap(&mut self, map: &[u64], seed: u64, pop: &str) -> Result<(), String> {
        if self.has_per_neuron_params() {
            return Err(format!(
                "a {} population with per-neuron parameters cannot grow or shrink",
                self.kind()
            ));
        }
        match self {
            Dynamics::Lif(m) => {
                let f = super::Lif::new(m.params.clone(), 1, 1.0);
                apply(&mut m.v, map, &f.v);
                apply(&mut m.i_exc, map, &f.i_exc);
                apply(&mut m.i_inh, map, &f.i_inh);
                apply(&mut m.refractory, map, &f.refractory);
                apply(&mut m.i_ext, map, &f.i_ext);
            }
            Dynamics::LifAlpha(m) => {
                let f = super::LifAlpha::new(m.params.clone(), 1, 1.0);
                apply(&mut m.v, map, &f.v);
                apply(&mut m.i_exc, map, &f.i_exc);
                apply(&mut m.i_inh, map, &f.i_inh);
                apply(&mut m.di_exc, map, &f.di_exc);
                apply(&mut m.di_inh, map, &f.di_inh);
                apply(&mut m.refractory, map, &f.refractory);
                apply(&mut m.i_ext, map, &f.i_ext);
            }
            Dynamics::CobaLif(m) => {
                let f = super::CobaLif::new(m.params.clone(), 1, 1.0);
                apply(&mut m.v, map, &f.v);
                apply(&mut m.g_exc, map, &f.g_exc);
                apply(&mut m.g_inh, map, &f.g_inh);
                apply(&mut m.refractory, map, &f.refractory);
                apply(&mut m.i_ext, map, &f.i_ext);
            }
            Dynamics::Synaptic(m) => {
                let f = super::Synaptic::new(m.params.clone(), 1, 1.0);
                apply(&mut m.v, map, &f.v);
                apply(&mut m.syn, map, &f.syn);
                apply(&mut m.i_ext, map, &f.i_ext);
            }
            Dynamics::Alpha(m) => {
                let f = super::Alpha::new(m.params.clone(), 1, 1.0);
                apply(&mut m.v, map, &f.v);
                apply(&mut m.syn_exc, map, &f.syn_exc);
                apply(&mut m.syn_inh, map, &f.syn_inh);
                apply(&mut m.i_ext, map, &f.i_ext);
            }
            Dynamics::Alif(m) => {
                let f = super::Alif::new(m.params.clone(), 1, 1.0);
                apply(&mut m.v, map, &f.v);
                apply(&mut m.a, map, &f.a);
                apply(&mut m.i_ext, map, &f.i_ext);
            }
            Dynamics::Izhikevich(m) => {
                let f = super::Izhikevich::new(m.params.clone(), 1, 1.0);
                apply(&mut m.v, map, &f.v);
                apply(&mut m.u, map, &f.u);
                apply(&mut m.i_ext, map, &f.i_ext);
            }
            Dynamics::AdEx(m) => {
                let f = super::AdEx::new(m.params.clone(), 1, 1.0);
                apply(&mut m.v, map, &f.v);
                apply(&mut m.w, map, &f.w);
                apply(&mut m.i_exc, map, &f.i_exc);
                apply(&mut m.i_inh, map, &f.i_inh);
                apply(&mut m.refractory, map, &f.refractory);
                apply(&mut m.i_ext, map, &f.i_ext);
            }
            Dynamics::Qif(m) => {
                let f = super::Qif::new(m.params.clone(), 1, 1.0);
                apply(&mut m.v, map, &f.v);
                apply(&mut m.i_exc, map, &f.i_exc);
                apply(&mut m.i_inh, map, &f.i_inh);
                apply(&mut m.refractory, map, &f.refractory);
                apply(&mut m.i_ext, map, &f.i_ext);
            }
            Dynamics::ResonateFire(m) => {
                let f = super::ResonateFire::new(m.params.clone(), 1, 1.0);
                apply(&mut m.x, map, &f.x);
                apply(&mut m.y, map, &f.y);
                apply(&mut m.i_ext, map, &f.i_ext);
            }
            Dynamics::HodgkinHuxley(m) => {
                let f = super::HodgkinHuxley::new(m.params.clone(), m.kinetics, 1, 1.0);
                apply(&mut m.v, map, &f.v);
                apply(&mut m.m, map, &f.m);
                apply(&mut m.h, map, &f.h);
                apply(&mut m.n, map, &f.n);
                apply(&mut m.g_exc, map, &f.g_exc);
                apply(&mut m.g_inh, map, &f.g_inh);
                apply(&mut m.refractory, map, &f.refractory);
                apply(&mut m.i_ext, map, &f.i_ext);
            }
            Dynamics::SigmaDelta(m) => {
                let f = super::SigmaDelta::new(m.params.clone(), 1);
                apply(&mut m.sigma, map, &f.sigma);
                apply(&mut m.reference, map, &f.reference);
                apply(&mut m.out, map, &f.out);
                apply(&mut m.i_ext, map, &f.i_ext);
            }
            Dynamics::Poisson(m) => {
                let n = map.len();
                let have = m.rngs.len();
                for c in have..chunks(n) {
                    m.rngs.push(stream(seed, "poisson", pop, c as u64));
                }
                m.rngs.truncate(chunks(n));
                m.set_len(n);
            }
            Dynamics::Observation(m) => {
                let mut inverse = vec![u64::MAX; m.len()];
                for (k, &old) in map.iter().enumerate() {
                    if old != snnsim_plugin_api::abi::NEW {
                        inverse[old as usize] = k as u64;
                    }
                }
                let on: Vec<usize> = m
                    .active
                    .iter()
                    .filter_map(|&i| Some(inverse[i as usize]).filter(|&k| k != u64::MAX))
                    .map(|k| k as usize)
                    .collect();
                *m = super::Observation::new(&crate::file::ObservationParams::default(), map.len());
                m.set_active(on);
            }
            Dynamics::SpikeTimes(_) => {
                return Err("a SpikeTimes population cannot grow or shrink".into());
            }
            Dynamics::Values(_) => {
                return Err("a Values population cannot grow or shrink".into());
            }
        }
        Ok(())
    }
}
