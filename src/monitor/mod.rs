//! Recorders: what a run keeps of its activity. They only read the network, in the observe
//! stage (spikes) or right after delivery (state, Brian2's `start` slot).

use crate::graph::{Network, PopId};
use crate::io::AtomicFile;
use crate::Real;
use std::io::Write;
use std::path::Path;

/// Entries (16 B each) of the first allocation of a spike record that grows: 32 MiB, the size
/// from which glibc's allocator always maps memory of its own. Below it a doubling vector is
/// copied from heap block to heap block, and the heap keeps the old blocks resident: 31 MB of
/// CUBA-400k's 238 MB peak. Mapped, it grows by moving pages (`mremap`), and the part not yet
/// written is never resident.
const FIRST_SPIKE_RESERVE: usize = (32 << 20) / 16;

/// Makes room for `more` entries: at least doubling, and at least [`FIRST_SPIKE_RESERVE`].
fn grow<T>(v: &mut Vec<T>, more: usize) -> Result<(), std::collections::TryReserveError> {
    if v.capacity() - v.len() >= more {
        return Ok(());
    }
    let want = (v.len() + more)
        .max(v.capacity() * 2)
        .max(FIRST_SPIKE_RESERVE);
    v.try_reserve_exact(want - v.len())
}

/// Every spike of some populations.
#[derive(Debug, Clone, Default)]
pub struct SpikeRecorder {
    /// Recorded populations, in name order, with their names.
    pops: Vec<(PopId, String)>,
    /// (step, population position in `pops`, neuron), in recording order, which is sorted by
    /// step, then population name, then neuron.
    pub events: Vec<(u64, u32, u32)>,
}

impl SpikeRecorder {
    /// Records the given populations.
    pub fn new(net: &Network, names: &[String]) -> Self {
        let mut pops: Vec<(PopId, String)> = names
            .iter()
            .map(|n| (net.pop_id(n).expect("validated"), n.clone()))
            .collect();
        pops.sort_by(|a, b| a.1.cmp(&b.1));
        SpikeRecorder {
            pops,
            events: Vec::new(),
        }
    }

    /// Names of the recorded populations, in the order of the population index of `events`.
    pub fn populations(&self) -> Vec<&str> {
        self.pops.iter().map(|(_, n)| n.as_str()).collect()
    }

    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.pops.is_empty()
    }

    /// Appends this step's spikes. The record grows fallibly: more spikes than memory is an
    /// error of the run, not an abort (its size was estimated, not bounded, before the run).
    pub fn record(&mut self, net: &Network, step: u64) -> crate::Result<()> {
        for (k, (id, name)) in self.pops.iter().enumerate() {
            let spikes = &net.pop(*id).spikes;
            grow(&mut self.events, spikes.len()).map_err(|e| {
                crate::Error::Run(format!(
                    "cannot record the spikes of `{name}` at step {step} ({} recorded): {e}",
                    self.events.len()
                ))
            })?;
            for &i in spikes {
                self.events.push((step, k as u32, i));
            }
        }
        Ok(())
    }

    /// Writes `spikes.csv`: `t_ms,population,neuron`, one row per spike.
    pub fn write_csv(&self, path: &Path, dt_ms: f64) -> crate::Result<()> {
        let mut f = AtomicFile::create(path)?;
        let prec = time_decimals(dt_ms);
        let res = (|| -> std::io::Result<()> {
            writeln!(f, "t_ms,population,neuron")?;
            for &(step, k, i) in &self.events {
                let t = step as f64 * dt_ms;
                writeln!(f, "{t:.prec$},{},{i}", self.pops[k as usize].1)?;
            }
            Ok(())
        })();
        res.map_err(|e| crate::Error::io(path, e))?;
        f.commit()
    }
}

/// Decimals needed to print multiples of `dt_ms` exactly (up to 9).
pub fn time_decimals(dt_ms: f64) -> usize {
    (0..=9)
        .find(|&d| {
            let s = dt_ms * 10f64.powi(d as i32);
            (s - s.round()).abs() < 1e-9 * s.abs().max(1.0)
        })
        .unwrap_or(9)
}

/// Some state variables of some neurons of one population.
#[derive(Debug, Clone)]
pub struct StateRecorder {
    pop: PopId,
    /// Population name.
    pub population: String,
    /// Recorded variables.
    pub variables: Vec<String>,
    /// Recorded neurons.
    pub neurons: Vec<usize>,
    every: u64,
    /// (step, one value per neuron per variable: neuron-major).
    pub rows: Vec<(u64, Vec<Real>)>,
}

impl StateRecorder {
    /// A recorder sampling every `every` steps.
    pub fn new(
        net: &Network,
        population: &str,
        variables: Vec<String>,
        neurons: Vec<usize>,
        every: u64,
    ) -> Self {
        StateRecorder {
            pop: net.pop_id(population).expect("validated"),
            population: population.to_string(),
            variables,
            neurons,
            every: every.max(1),
            rows: Vec::new(),
        }
    }

    /// Samples the state at the start of `step`, after delivery and before integration: a
    /// synaptic variable includes the input delivered in this step, as Brian2's `start` slot
    /// shows it.
    pub fn record(&mut self, net: &Network, step: u64) -> crate::Result<()> {
        if !step.is_multiple_of(self.every) {
            return Ok(());
        }
        self.rows.try_reserve(1).map_err(|e| {
            crate::Error::Run(format!(
                "cannot record the state of `{}` at step {step}: {e}",
                self.population
            ))
        })?;
        let p = net.pop(self.pop);
        let cols = p.dynamics.columns();
        let mut row = Vec::with_capacity(self.neurons.len() * self.variables.len());
        for &j in &self.neurons {
            for var in &self.variables {
                let (_, col) = cols
                    .iter()
                    .find(|(n, _)| n == var)
                    .expect("validated variable");
                // A synaptic variable that delivery feeds shows this step's input.
                let pending = p
                    .dynamics
                    .receptor_of_column(var)
                    .map_or(0.0, |r| p.due[r][j]);
                row.push(col[j] + pending);
            }
        }
        self.rows.push((step, row));
        Ok(())
    }

    /// Writes `t_ms,neuron,<variables...>`, one row per sample and neuron.
    pub fn write_csv(&self, path: &Path, dt_ms: f64) -> crate::Result<()> {
        let mut f = AtomicFile::create(path)?;
        let prec = time_decimals(dt_ms);
        let res = (|| -> std::io::Result<()> {
            writeln!(f, "t_ms,neuron,{}", self.variables.join(","))?;
            let nv = self.variables.len();
            for (step, row) in &self.rows {
                let t = *step as f64 * dt_ms;
                for (k, &j) in self.neurons.iter().enumerate() {
                    write!(f, "{t:.prec$},{j}")?;
                    for x in &row[k * nv..(k + 1) * nv] {
                        write!(f, ",{x:?}")?;
                    }
                    writeln!(f)?;
                }
            }
            Ok(())
        })();
        res.map_err(|e| crate::Error::io(path, e))?;
        f.commit()
    }
}

/// Writes `weights.csv`: `projection,pre,post,weight`, one row per synapse of each named
/// projection, sorted by projection name, then pre, then post.
pub fn write_weights_csv(net: &Network, projections: &[String], path: &Path) -> crate::Result<()> {
    let mut names = projections.to_vec();
    names.sort();
    let mut f = AtomicFile::create(path)?;
    let res = (|| -> std::io::Result<()> {
        writeln!(f, "projection,pre,post,weight")?;
        for name in &names {
            let p = net.projection(name).expect("validated projection");
            let indptr = p.weights.indptr();
            for i in 0..p.weights.rows() {
                for k in indptr[i]..indptr[i + 1] {
                    writeln!(
                        f,
                        "{name},{i},{},{:?}",
                        p.weights.indices()[k],
                        p.weights.get(k)
                    )?;
                }
            }
        }
        Ok(())
    })();
    res.map_err(|e| crate::Error::io(path, e))?;
    f.commit()
}

#[cfg(test)]
mod tests {
    #[test]
    fn time_decimals_fit_the_step() {
        assert_eq!(super::time_decimals(1.0), 0);
        assert_eq!(super::time_decimals(0.1), 1);
        assert_eq!(super::time_decimals(0.025), 3);
    }

    #[test]
    fn the_spike_record_reserves_a_mapped_block_first_then_doubles() {
        let mut v: Vec<(u64, u32, u32)> = Vec::new();
        super::grow(&mut v, 3).unwrap();
        assert_eq!(v.capacity(), super::FIRST_SPIKE_RESERVE);
        assert!(v.capacity() * 16 >= 32 << 20);
        v.resize(super::FIRST_SPIKE_RESERVE - 1, (0, 0, 0));
        super::grow(&mut v, 1).unwrap();
        assert_eq!(
            v.capacity(),
            super::FIRST_SPIKE_RESERVE,
            "room left: no growth"
        );
        super::grow(&mut v, 5).unwrap();
        assert_eq!(v.capacity(), 2 * super::FIRST_SPIKE_RESERVE);
        let big = 5 * super::FIRST_SPIKE_RESERVE;
        super::grow(&mut v, big).unwrap();
        assert_eq!(v.capacity(), v.len() + big);
    }
}
