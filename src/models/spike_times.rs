//! Spike source that emits given spike times (Brian2 `SpikeGeneratorGroup`, NEST
//! `spike_generator`). Each time is rounded to the nearest step and emitted in that step, so a
//! spike at t is stamped t_n = round(t/dt)·dt and is felt by its targets `delay` later.

use crate::file::SpikeTimesParams;

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
