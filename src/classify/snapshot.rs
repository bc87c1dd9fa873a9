//! A classification run's state at an epoch's end, for checkpoints (`checkpoint_every` counts
//! epochs in a `Classify` task) and `snnsim run --resume`.
//!
//! Why only at epoch ends: everything an epoch draws (its sample order, a rate code's spikes)
//! comes from a stream keyed by the seed and the epoch, so the state between epochs is the
//! trained values, their optimiser moments and the rows of `metrics.csv` — no random
//! generator, no partial sums. A run killed mid-epoch resumes from the last epoch's end and
//! trains that epoch again to the same bits.

use super::{Classifier, EpochMetrics};
use crate::checkpoint::codec::{Dec, DecResult, Enc};
use crate::checkpoint::net;
use crate::error::{Error, Result};
use snnsim_plugin_api::optim::Adam;

fn adam(e: &mut Enc, a: &Adam) {
    e.u64(a.steps);
    e.f64s(&a.m);
    e.f64s(&a.v);
}

fn read_adam(d: &mut Dec, a: &mut Adam) -> DecResult<()> {
    a.steps = d.u64()?;
    let (m, v) = (d.f64s()?, d.f64s()?);
    if m.len() != a.m.len() || v.len() != a.v.len() {
        return Err("optimiser moments that do not fit the graph file's network".into());
    }
    (a.m, a.v) = (m, v);
    Ok(())
}

/// Reads values of the length `into` has into it.
fn read_values(d: &mut Dec, into: &mut [f64], what: &str) -> DecResult<()> {
    let got = d.f64s()?;
    if got.len() != into.len() {
        return Err(format!("{what} that do not fit the graph file's network"));
    }
    into.copy_from_slice(&got);
    Ok(())
}

impl Classifier {
    /// Encodes the state after the epochs trained so far: the epochs and samples run, the
    /// network with the weights trained so far (after two counters, as in a control
    /// checkpoint, so that `snnsim inspect` and `diff` read it), the metrics rows, the weights,
    /// biases and decays in f64, and their Adam moments.
    pub fn save_state(&mut self) -> Vec<u8> {
        let mut e = Enc::default();
        e.u64(self.metrics.len() as u64);
        e.u64(self.samples_done as u64);
        self.write_back();
        net::encode(&mut self.net, &mut e);
        e.u64(self.metrics.len() as u64);
        for m in &self.metrics {
            e.u64(m.epoch as u64);
            e.f64(m.train_loss);
            e.f64(m.train_accuracy);
            e.f64(m.test_accuracy);
        }
        for (w, a) in self.weights.iter().zip(&self.adam_w) {
            e.f64s(w);
            adam(&mut e, a);
        }
        for (values, adams) in [(&self.biases, &self.adam_b), (&self.decays, &self.adam_d)] {
            for (v, a) in values.iter().zip(adams) {
                if let (Some(v), Some(a)) = (v, a) {
                    e.f64s(v);
                    adam(&mut e, a);
                }
            }
        }
        e.buf
    }

    /// Restores a state written by [`Classifier::save_state`] onto a classifier built from
    /// the same graph file.
    pub fn load_state(&mut self, bytes: &[u8]) -> Result<()> {
        let mut d = Dec::new(bytes);
        let read = (|| -> DecResult<()> {
            d.u64()?;
            self.samples_done = d.u64()? as usize;
            net::restore(&mut self.net, &mut d)?;
            let n = d.u64()? as usize;
            self.metrics.clear();
            for _ in 0..n {
                self.metrics.push(EpochMetrics {
                    epoch: d.u64()? as usize,
                    train_loss: d.f64()?,
                    train_accuracy: d.f64()?,
                    test_accuracy: d.f64()?,
                });
            }
            for (w, a) in self.weights.iter_mut().zip(&mut self.adam_w) {
                read_values(&mut d, w, "weights")?;
                read_adam(&mut d, a)?;
            }
            for (values, adams) in [
                (&mut self.biases, &mut self.adam_b),
                (&mut self.decays, &mut self.adam_d),
            ] {
                for (v, a) in values.iter_mut().zip(adams.iter_mut()) {
                    if let (Some(v), Some(a)) = (v, a) {
                        read_values(&mut d, v, "biases or decays")?;
                        read_adam(&mut d, a)?;
                    }
                }
            }
            if !d.finished() {
                return Err("bytes left over after the classifier's state".into());
            }
            Ok(())
        })();
        self.last = None;
        read.map_err(|e| Error::Input(format!("checkpoint state: {e}")))
    }
}
