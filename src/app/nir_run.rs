//! `snnsim run MODEL.nir --input X.npy`: a NIR graph stepped over the rows of an input array
//! (`crate::nir::Plan`, snnTorch's discretisation), writing the values that reach the Output
//! node as `output.npy` and a `summary.json` into a run directory. The input is read and its
//! shape checked against the graph's Input node before anything runs, so a wrong file exits 2
//! naming it and the expected shape. This is the only glue: the discretisation and the graph
//! semantics live in the `nir` layer.

use crate::error::{Error, Result};
use crate::nir::{NirReset, Plan};
use npyz::WriterBuilder;
use std::path::{Path, PathBuf};

/// What `snnsim run` on a NIR file is given.
#[derive(Debug, Clone)]
pub struct NirRunOptions {
    /// The NIR file.
    pub file: PathBuf,
    /// The input array, (T, *input_shape), float32 or float64.
    pub input: PathBuf,
    /// Time step in ms (default 0.1, snnTorch's dt = 1e-4 s).
    pub dt_ms: f64,
    /// Reset in the step of a spike.
    pub reset: NirReset,
    /// Run directory (default `runs/<stem>-<timestamp>`).
    pub out: Option<PathBuf>,
}

/// What a NIR run wrote.
#[derive(Debug, Clone)]
pub struct NirRunSummary {
    /// The run directory.
    pub run_dir: PathBuf,
    /// Steps run (rows of the input).
    pub steps: usize,
    /// output.npy's shape, as `(100, 2)`.
    pub output_shape: String,
    /// summary.json's content.
    pub summary: serde_json::Value,
}

/// Parses `--reset`.
pub fn parse_nir_reset(s: &str) -> std::result::Result<NirReset, String> {
    match s {
        "zero" => Ok(NirReset::Zero),
        "subtract" => Ok(NirReset::Subtract),
        other => Err(format!("unknown reset '{other}' (zero or subtract)")),
    }
}

/// Reads a float32 or float64 array: (shape, values).
fn read_npy(path: &Path) -> Result<(Vec<usize>, Vec<f64>)> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let bad = |e: String| Error::Input(format!("{}: {e}", path.display()));
    let npy = npyz::NpyFile::new(&bytes[..]).map_err(|e| bad(format!("not a .npy file: {e}")))?;
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    let dtype = npy
        .dtype()
        .descr()
        .trim_matches(|c| c == '\'' || c == '"')
        .to_string();
    let values = match dtype.as_str() {
        "<f4" => npy
            .into_vec::<f32>()
            .map(|v| v.into_iter().map(f64::from).collect()),
        "<f8" => npy.into_vec::<f64>(),
        other => return Err(bad(format!("dtype {other}, expected float32 or float64"))),
    }
    .map_err(|e| bad(format!("cannot read the values: {e}")))?;
    Ok((shape, values))
}

/// Writes a float32 array of shape `shape` in C order, atomically.
fn write_npy_f32(path: &Path, shape: &[usize], values: &[f64]) -> Result<()> {
    let mut out = crate::io::AtomicFile::create(path)?;
    let dims: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    let res = (|| -> std::io::Result<()> {
        let mut w = npyz::WriteOptions::<f32>::new()
            .default_dtype()
            .shape(&dims)
            .writer(&mut out)
            .begin_nd()?;
        w.extend(values.iter().map(|&v| v as f32))?;
        w.finish()
    })();
    res.map_err(|e| Error::io(path, e))?;
    out.commit()
}

/// Runs a NIR file over an input array and writes `output.npy` and `summary.json`.
pub fn run_nir(opts: &NirRunOptions) -> Result<NirRunSummary> {
    let nir = crate::nir::read(&opts.file)?;
    let plan = Plan::new(&nir, opts.dt_ms * 1e-3, opts.reset)
        .map_err(|e| Error::Input(format!("{}: {e}", opts.file.display())))?;
    let (shape, values) = read_npy(&opts.input)?;
    let want = plan.input_shape();
    if shape.len() != want.len() + 1 || shape[1..] != *want {
        let mut expected = vec!["T".to_string()];
        expected.extend(want.iter().map(|d| d.to_string()));
        return Err(Error::Input(format!(
            "{}: shape {} but {} takes (steps, *input shape) = ({})",
            opts.input.display(),
            crate::nir::shape_str(&shape),
            opts.file.display(),
            expected.join(", ")
        )));
    }
    let steps = shape[0];
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(Error::Input(format!(
            "{}: value {i} is {} (inputs must be finite)",
            opts.input.display(),
            values[i]
        )));
    }
    let run = plan.run(&values, steps);
    let dir = opts
        .out
        .clone()
        .unwrap_or_else(|| super::run::default_run_dir(&opts.file));
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let mut out_shape = vec![steps];
    out_shape.extend_from_slice(plan.output_shape());
    write_npy_f32(&dir.join("output.npy"), &out_shape, &run.output)?;
    let spikes: serde_json::Map<String, serde_json::Value> = run
        .layers
        .iter()
        .map(|(name, spk, _)| (name.clone(), serde_json::json!(spk.iter().sum::<f64>())))
        .collect();
    let summary = serde_json::json!({
        "file": opts.file.display().to_string(),
        "format": "nir",
        "input": opts.input.display().to_string(),
        "steps": steps,
        "dt_ms": opts.dt_ms,
        "reset": match opts.reset { NirReset::Zero => "zero", NirReset::Subtract => "subtract" },
        "discretisation": "snntorch-1.0.0-import (beta = 1 - dt/tau, same-step reset)",
        "output": "output.npy",
        "output_shape": out_shape,
        "spikes": spikes,
    });
    let text = serde_json::to_string_pretty(&summary).expect("plain JSON") + "\n";
    let path = dir.join("summary.json");
    let mut f = crate::io::AtomicFile::create(&path)?;
    std::io::Write::write_all(&mut f, text.as_bytes()).map_err(|e| Error::io(&path, e))?;
    f.commit()?;
    Ok(NirRunSummary {
        run_dir: dir,
        steps,
        output_shape: crate::nir::shape_str(&out_shape),
        summary,
    })
}
