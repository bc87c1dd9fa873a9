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
use std::path::{Path, PathBuf};

/// Writes a float64 array of shape `(rows, cols)` in C order.
pub fn write_f64(path: &Path, cols: usize, data: &[f64]) -> Result<()> {
    debug_assert!(cols > 0 && data.len().is_multiple_of(cols));
    write_f64_iter(path, data.len() / cols, cols, data.iter().copied())
}

/// Writes a float64 array of shape `(rows, cols)` from `values` in C order, streamed (the
/// array is never held in memory); atomically, like every file of a run directory.
pub fn write_f64_iter(
    path: &Path,
    rows: usize,
    cols: usize,
    values: impl Iterator<Item = f64>,
) -> Result<()> {
    let mut out = crate::io::AtomicFile::create(path)?;
    let res = (|| -> std::io::Result<()> {
        let mut w = npyz::WriteOptions::<f64>::new()
            .default_dtype()
            .shape(&[rows as u64, cols as u64])
            .writer(&mut out)
            .begin_nd()?;
        w.extend(values)?;
        w.finish()
    })();
    res.map_err(|e| Error::io(path, e))?;
    out.commit()
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
    let mut counts = vec![0usize; names.len()];
    for &(_, k, _) in &rec.events {
        counts[k as usize] += 1;
    }
    let mut files = Vec::new();
    for (k, name) in names.iter().enumerate() {
        let path = dir.join(format!("spikes_{}.npy", file_part(name)));
        let rows = rec
            .events
            .iter()
            .filter(|e| e.1 as usize == k)
            .flat_map(|&(step, _, i)| [step as f64 * dt_ms, i as f64]);
        write_f64_iter(&path, counts[k], 2, rows)?;
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
        let w = &p.weights;
        let rows = (0..w.rows()).flat_map(|i| {
            (indptr[i]..indptr[i + 1])
                .flat_map(move |k| [i as f64, w.indices()[k] as f64, crate::real::wide(w.get(k))])
        });
        let path = dir.join(format!("weights_{}.npy", file_part(name)));
        write_f64_iter(&path, p.nnz(), 3, rows)?;
        files.push(path);
    }
    Ok(files)
}
