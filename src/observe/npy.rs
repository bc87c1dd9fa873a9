//! `.npy` copies of a run's spikes and weights, beside the CSV files, for `numpy.load`:
//!
//! - `spikes_<population>.npy`: float64, shape (spikes, 2), columns `t_ms` and `neuron`, the
//!   rows of `spikes.csv` for that population in the same order.
//! - `weights_<projection>.npy` (`input->hidden` is `weights_input_to_hidden.npy`): float64, shape (synapses, 3), columns `pre`, `post` and
//!   `weight`, the rows of `weights.csv` for that projection in the same order.
//!
//! Indices are whole numbers stored as float64 (exact below 2⁵³), so each file is one plain
//! array that needs no structured dtype.

use crate::error::{Error, Result};
use crate::graph::Network;
use crate::monitor::SpikeRecorder;
use npyz::WriterBuilder;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes a float64 array of shape `(rows, cols)` in C order.
pub fn write_f64(path: &Path, cols: usize, data: &[f64]) -> Result<()> {
    debug_assert!(cols > 0 && data.len().is_multiple_of(cols));
    let rows = (data.len() / cols) as u64;
    let res = (|| -> std::io::Result<()> {
        let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
        let mut w = npyz::WriteOptions::<f64>::new()
            .default_dtype()
            .shape(&[rows, cols as u64])
            .writer(&mut out)
            .begin_nd()?;
        w.extend(data.iter().copied())?;
        w.finish()?;
        out.flush()
    })();
    res.map_err(|e| Error::io(path, e))
}

/// A file name part from a population or projection name: `->` becomes `_to_`; letters,
/// digits, `-` and `_` are kept, anything else becomes `_`.
pub fn file_part(name: &str) -> String {
    name.replace("->", "_to_")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Writes `spikes_<population>.npy` for every recorded population; returns the files.
pub fn write_spikes(rec: &SpikeRecorder, dt_ms: f64, dir: &Path) -> Result<Vec<PathBuf>> {
    let names = rec.populations();
    let mut per: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    for &(step, k, i) in &rec.events {
        let v = &mut per[k as usize];
        v.push(step as f64 * dt_ms);
        v.push(i as f64);
    }
    let mut files = Vec::new();
    for (name, data) in names.iter().zip(&per) {
        let path = dir.join(format!("spikes_{}.npy", file_part(name)));
        write_f64(&path, 2, data)?;
        files.push(path);
    }
    Ok(files)
}

/// Writes `weights_<projection>.npy` for each named projection; returns the files.
pub fn write_weights(net: &Network, projections: &[String], dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for name in projections {
        let p = net
            .projection(name)
            .ok_or_else(|| Error::Run(format!("no projection `{name}`")))?;
        let indptr = p.weights.indptr();
        let mut data = Vec::with_capacity(p.nnz() * 3);
        for i in 0..p.weights.rows() {
            for k in indptr[i]..indptr[i + 1] {
                data.push(i as f64);
                data.push(p.weights.indices()[k] as f64);
                data.push(crate::real::wide(p.weights.get(k)));
            }
        }
        let path = dir.join(format!("weights_{}.npy", file_part(name)));
        write_f64(&path, 3, &data)?;
        files.push(path);
    }
    Ok(files)
}
