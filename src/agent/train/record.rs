//! The foraging episode's record for a batch split across ranks (see `agent::distributed`).

use super::EpisodeBuf;
use crate::agent::distributed::Record;
use crate::checkpoint::codec::{Dec, DecResult, Enc};

impl Record for EpisodeBuf {
    fn encode(&self, enc: &mut Enc) {
        let e = self;
        enc.f64s(&e.rewards);
        enc.u32s(&e.active);
        let starts: Vec<u64> = e.active_start.iter().map(|&s| s as u64).collect();
        enc.u64s(&starts);
        enc.f64s(&e.q);
        enc.f64s(&e.nu);
        enc.f64s(&e.dz_logp);
        enc.f64s(&e.dz_ent);
        enc.f64s(&e.spikes_per_neuron);
        enc.u32(e.food);
        enc.u64(e.events);
        enc.u64(e.steps);
        let (t, j): (Vec<u64>, Vec<u32>) = e.raster.iter().copied().unzip();
        enc.u64s(&t);
        enc.u32s(&j);
    }

    fn decode(dec: &mut Dec) -> DecResult<EpisodeBuf> {
        let rewards = dec.f64s()?;
        let active = dec.u32s()?;
        let active_start = dec.u64s()?.into_iter().map(|s| s as usize).collect();
        let (q, nu, dz_logp, dz_ent) = (dec.f64s()?, dec.f64s()?, dec.f64s()?, dec.f64s()?);
        let spikes_per_neuron = dec.f64s()?;
        let (food, events, steps) = (dec.u32()?, dec.u64()?, dec.u64()?);
        let (t, j) = (dec.u64s()?, dec.u32s()?);
        if t.len() != j.len() {
            return Err("raster columns differ in length".into());
        }
        Ok(EpisodeBuf {
            rewards,
            active,
            active_start,
            q,
            nu,
            dz_logp,
            dz_ent,
            spikes_per_neuron,
            food,
            events,
            steps,
            raster: t.into_iter().zip(j).collect(),
        })
    }
}
