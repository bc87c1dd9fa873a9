//! Spike source that emits given spike times (Brian2 `SpikeGeneratorGroup`, NEST
//! `spike_generator`). Each time is rounded to the nearest step and emitted in that step, so a
//! spike at t is stamped t_n = round(t/dt)·dt and is felt by its targets `delay` later.

use crate::file::rules::{non_negative, ParamError, ParamResult};
use crate::file::SpikeTimesParams;
use crate::file::{show, steps_of_time, MAX_STEPS};
use std::collections::BTreeSet;

/// A population of spike generators.
#[derive(Debug, Clone)]
pub struct SpikeTimes {
    n: usize,
    /// (step, neuron), sorted.
    events: Vec<(u64, u32)>,
    /// Index of the next event to emit.
    pub cursor: usize,
}

impl SpikeTimes {
    /// From one list of times per neuron.
    pub fn new(p: &SpikeTimesParams, dt_ms: f64) -> Self {
        let mut events: Vec<(u64, u32)> = p
            .times_ms
            .iter()
            .enumerate()
            .flat_map(|(i, ts)| {
                ts.iter()
                    .map(move |&t| (crate::file::steps_of_time(t, dt_ms), i as u32))
            })
            .collect();
        events.sort_unstable();
        SpikeTimes {
            n: p.times_ms.len(),
            events,
            cursor: 0,
        }
    }

    /// Every event, (step, neuron), sorted.
    pub fn events(&self) -> &[(u64, u32)] {
        &self.events
    }

    /// Number of generators.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether there are no generators.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Emits the spikes of step `ctx.step` into `out`.
    pub fn update(&mut self, ctx: super::StepCtx, out: &mut Vec<u32>) {
        // Skip events before this step (a run resumed later, or started at a later step).
        while self.cursor < self.events.len() && self.events[self.cursor].0 < ctx.step {
            self.cursor += 1;
        }
        while self.cursor < self.events.len() && self.events[self.cursor].0 == ctx.step {
            out.push(self.events[self.cursor].1);
            self.cursor += 1;
        }
    }
}

/// Checks the spike trains of a `SpikeTimes` source of `size` neurons at time step `dt_ms`:
/// one train per neuron, times finite, ≥ 0, within [`MAX_STEPS`] steps and at most one per
/// step. The error's field is relative to the parameters (`times_ms[2][0]`).
pub fn check(p: &SpikeTimesParams, size: usize, dt_ms: f64) -> ParamResult {
    if p.times_ms.len() != size {
        return Err(ParamError::new(
            "times_ms",
            format!(
                "{} spike trains given for a population of {size} neurons",
                p.times_ms.len()
            ),
        ));
    }
    for (i, train) in p.times_ms.iter().enumerate() {
        let mut steps = BTreeSet::new();
        for (k, &t) in train.iter().enumerate() {
            let f = format!("times_ms[{i}][{k}]");
            non_negative(&f, t)?;
            if t / dt_ms > MAX_STEPS as f64 {
                return Err(ParamError::new(
                    f,
                    format!(
                        "time {} ms is more than {MAX_STEPS} steps of dt = {} ms",
                        show(t),
                        show(dt_ms)
                    ),
                ));
            }
            if !steps.insert(steps_of_time(t, dt_ms)) {
                return Err(ParamError::new(
                    f,
                    format!("neuron {i} has two spikes in the step of t = {t} ms"),
                ));
            }
        }
    }
    Ok(())
}
