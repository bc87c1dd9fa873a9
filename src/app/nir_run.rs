//! `snnsim run X --input X.npy`: a network with one graded input population stepped over the
//! rows of an input array by the engine, writing the output population's spikes of every step
//! as `output.npy` and a `summary.json` into a run directory. X is a NIR file (converted in
//! memory by `crate::convert` with snnTorch's importer's discretisation, its Input node the
//! input and its Output node's source the output) or a graph file with exactly one fed
//! `Values` population and an `output` population. The input is read and its shape checked
//! before anything runs, so a wrong file exits 2 naming it and the expected shape. This is
//! glue only: the mapping lives in `convert`, the dynamics in the engine.

use crate::checkpoint::Kind;
use crate::convert::NirReset;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::file::{Checked, ModelSpec, Source};
use npyz::WriterBuilder;
use std::path::{Path, PathBuf};

/// What `snnsim run X --input X.npy` is given.
#[derive(Debug, Clone)]
pub struct NirRunOptions {
    /// The NIR file (`.nir`) or graph file.
    pub file: PathBuf,
    /// The input array, (T, *input_shape), float32 or float64.
    pub input: PathBuf,
    /// For a NIR file: time step in ms (`None`: the one snnsim wrote into the file, else 0.1,
    /// snnTorch's dt = 1e-4 s; `crate::convert::dt_ms_for`).
    pub dt_ms: Option<f64>,
    /// For a NIR file: reset in the step of a spike.
    pub reset: NirReset,
    /// Run directory (default `runs/<stem>-<timestamp>`).
    pub out: Option<PathBuf>,
    /// Write a checkpoint every N steps (`--checkpoint-every`; else the graph file's
    /// `checkpoint_every`). The run directory then also gets `config.ron` (the graph file
    /// run) and `input.npy` (the input, byte for byte), and `output.npy` holds the rows of the
    /// steps done at each checkpoint, so that `snnsim run --resume DIR` continues the run.
    pub checkpoint_every: Option<u64>,
    /// Continue the input run in `out` from its newest valid checkpoint ([`resume_input`]).
    pub resume: bool,
}

/// Whether `dir` is the run directory of a checkpointed input run (`config.ron` and
/// `input.npy`), which `snnsim run --resume DIR` continues with [`run_nir`].
pub fn is_input_run(dir: &Path) -> bool {
    dir.join("config.ron").is_file() && dir.join("input.npy").is_file()
}

/// The options of `snnsim run --resume DIR` for an input run: its own `config.ron` over its
/// own `input.npy`, into `dir`.
pub fn resume_input(dir: &Path, checkpoint_every: Option<u64>) -> NirRunOptions {
    NirRunOptions {
        file: dir.join("config.ron"),
        input: dir.join("input.npy"),
        dt_ms: None,
        reset: NirReset::Zero,
        out: Some(dir.to_path_buf()),
        checkpoint_every,
        resume: true,
    }
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
pub fn read_npy(path: &Path) -> Result<(Vec<usize>, Vec<f64>)> {
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

/// Writes an array of shape `shape` in C order, atomically, in `T`'s dtype (`f32`: float32).
pub(crate) fn write_npy<T: npyz::AutoSerialize>(
    path: &Path,
    shape: &[usize],
    values: impl IntoIterator<Item = T>,
) -> Result<()> {
    let mut out = crate::io::AtomicFile::create(path)?;
    let dims: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    let res = (|| -> std::io::Result<()> {
        let mut w = npyz::WriteOptions::<T>::new()
            .default_dtype()
            .shape(&dims)
            .writer(&mut out)
            .begin_nd()?;
        w.extend(values)?;
        w.finish()
    })();
    res.map_err(|e| Error::io(path, e))?;
    out.commit()
}

/// A network with one fed `Values` population, ready to run over an input array.
#[derive(Debug, Clone)]
pub struct InputNet {
    /// The checked graph file.
    pub checked: Checked,
    /// The fed `Values` population.
    pub input: String,
    /// The shape of one step's input (a NIR Input node's `shape`, else the population's size).
    pub input_shape: Vec<usize>,
    /// The output population.
    pub output: String,
}

/// What [`InputNet::run`] gives: the output population's spikes per step and, when asked,
/// every spiking population's spikes and membrane after each step.
#[derive(Debug, Clone, Default)]
pub struct InputRun {
    /// Steps × output size, 0/1.
    pub output: Vec<f64>,
    /// Per population with a membrane, in name order: (name, spikes, membrane), each steps ×
    /// size row-major (empty unless asked for).
    pub layers: Vec<(String, Vec<f64>, Vec<f64>)>,
    /// Spikes of every population with a membrane over the run, by name.
    pub spikes: std::collections::BTreeMap<String, u64>,
    /// The engine's `state_hash` at the end.
    pub state_hash: String,
}

/// Reads a NIR file and converts it to a checked graph file in memory (errors name `file`).
pub fn nir_network(file: &Path, dt_ms: Option<f64>, reset: NirReset) -> Result<InputNet> {
    let nir = crate::nir::read(file)?;
    let dt_ms = crate::convert::dt_ms_for(&nir, dt_ms);
    InputNet::from_nir(&nir, file, dt_ms, reset)
}

impl InputNet {
    /// Converts a NIR graph to a checked graph file in memory; errors name `file`.
    pub fn from_nir(
        nir: &crate::nir::Nir,
        file: &Path,
        dt_ms: f64,
        reset: NirReset,
    ) -> Result<InputNet> {
        nir_input(nir, file, dt_ms, reset)
    }
}

fn nir_input(nir: &crate::nir::Nir, file: &Path, dt_ms: f64, reset: NirReset) -> Result<InputNet> {
    let gf = crate::convert::from_nir(nir, dt_ms, reset)
        .map_err(|e| Error::Input(format!("{}: {e}", file.display())))?;
    let input_shape = nir
        .graph
        .nodes
        .values()
        .find(|n| n.kind == crate::nir::Kind::Input)
        .and_then(|n| n.params.get("shape"))
        .and_then(|a| a.ints())
        .map(|v| v.iter().map(|&x| x.max(0) as usize).collect());
    let source = Source::from_text(
        format!("{} (converted)", file.display()),
        crate::file::to_ron(&gf),
    );
    let checked = crate::models::load_source(&source)?;
    let mut net = input_network(checked, file)?;
    if let Some(shape) = input_shape {
        net.input_shape = shape;
    }
    Ok(net)
}

/// The fed input and the output of a checked graph file, or an error naming `file`: exactly
/// one `Values` population without `constant`, and an `output` population.
pub fn input_network(checked: Checked, file: &Path) -> Result<InputNet> {
    let fed: Vec<_> = checked
        .file
        .populations
        .iter()
        .filter(|p| matches!(&p.model, ModelSpec::Values(v) if v.constant.is_none()))
        .collect();
    let [input] = fed[..] else {
        return Err(Error::Input(format!(
            "{}: --input needs exactly one Values population without `constant` (the one the rows feed), the file has {}{}",
            file.display(),
            fed.len(),
            if fed.is_empty() {
                String::new()
            } else {
                format!(
                    ": {}",
                    fed.iter().map(|p| format!("`{}`", p.name)).collect::<Vec<_>>().join(", ")
                )
            }
        )));
    };
    let Some(output) = checked.file.output.clone() else {
        return Err(Error::Input(format!(
            "{}: --input needs an `output` population (the field `output: \"name\"`), whose spikes go into output.npy",
            file.display()
        )));
    };
    Ok(InputNet {
        input: input.name.clone(),
        input_shape: vec![input.size],
        output,
        checked,
    })
}

impl InputNet {
    /// Runs `steps` steps from rest through the engine, row t of `input` (steps × input size)
    /// feeding step t; with `layers`, records every spiking population's spikes and membrane.
    pub fn run(&self, input: &[f64], steps: usize, layers: bool) -> Result<InputRun> {
        let mut e = Engine::from_file(&self.checked)?;
        self.run_on(&mut e, input, steps, layers, Vec::new(), &mut |_, _| Ok(()))
    }

    /// [`InputNet::run`] on an engine built from [`InputNet::checked`], from its current step
    /// (a restored checkpoint's) to `steps`: `output` holds the output rows of the steps
    /// before, and `after(engine, output rows so far)` is called after every step (where a
    /// run checkpoints).
    pub fn run_on(
        &self,
        e: &mut Engine,
        input: &[f64],
        steps: usize,
        layers: bool,
        output: Vec<f64>,
        after: &mut dyn FnMut(&mut Engine, &[f64]) -> Result<()>,
    ) -> Result<InputRun> {
        let n_in: usize = self.input_shape.iter().product();
        assert_eq!(input.len(), steps * n_in, "steps × input size values");
        let out_id = e.net.pop_id(&self.output).expect("validated output");
        let n_out = e.net.pop(out_id).len();
        let start = e.step as usize;
        assert_eq!(
            output.len(),
            start * n_out,
            "the output rows of the steps done"
        );
        let mut run = InputRun {
            output,
            ..InputRun::default()
        };
        run.output.reserve(steps.saturating_sub(start) * n_out);
        let spiking: Vec<_> = if layers {
            e.net
                .pop_ids()
                .into_iter()
                .filter(|&id| e.net.pop(id).dynamics.membrane().is_some())
                .collect()
        } else {
            Vec::new()
        };
        run.layers = spiking
            .iter()
            .map(|&id| (e.net.pop(id).name.clone(), Vec::new(), Vec::new()))
            .collect();
        let mut row = vec![0.0; n_out];
        for t in start..steps {
            e.set_values(&self.input, &input[t * n_in..(t + 1) * n_in])?;
            e.step()?;
            row.iter_mut().for_each(|x| *x = 0.0);
            for &j in &e.net.pop(out_id).spikes {
                row[j as usize] = 1.0;
            }
            run.output.extend_from_slice(&row);
            for (l, &id) in run.layers.iter_mut().zip(&spiking) {
                let p = e.net.pop(id);
                let start = l.1.len();
                l.1.resize(start + p.len(), 0.0);
                for &j in &p.spikes {
                    l.1[start + j as usize] = 1.0;
                }
                let m = p.dynamics.membrane().expect("spiking");
                l.2.extend_from_slice(&crate::real::widen(m.v));
            }
            after(e, &run.output)?;
        }
        run.state_hash = e.state_hash();
        run.spikes = e
            .net
            .populations()
            .filter(|p| p.dynamics.membrane().is_some())
            .map(|p| (p.name.clone(), p.spike_count))
            .collect();
        Ok(run)
    }
}

/// Runs a NIR file or a graph file over an input array and writes `output.npy` and
/// `summary.json`.
pub fn run_nir(opts: &NirRunOptions) -> Result<NirRunSummary> {
    let nir = super::is_nir(&opts.file);
    let net = if nir {
        nir_network(&opts.file, opts.dt_ms, opts.reset)?
    } else {
        input_network(crate::models::load(&opts.file)?, &opts.file)?
    };
    let mut net = net;
    let (shape, values) = read_npy(&opts.input)?;
    if opts.resume && shape.len() > 1 {
        // config.ron knows the input population's size only; input.npy keeps the shape the
        // run was started with.
        let n: usize = shape[1..].iter().product();
        if n == net.input_shape.iter().product::<usize>() {
            net.input_shape = shape[1..].to_vec();
        }
    }
    let want = &net.input_shape;
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
    let every = opts.checkpoint_every.or(net.checked.file.checkpoint_every);
    if every == Some(0) {
        return Err(Error::Input("checkpoint_every must be at least 1".into()));
    }
    let dir = opts
        .out
        .clone()
        .unwrap_or_else(|| super::run::default_run_dir(&opts.file));
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let n_out = net
        .checked
        .file
        .populations
        .iter()
        .find(|p| p.name == net.output)
        .expect("validated output")
        .size;
    let out_shape = vec![steps, n_out];
    let mut engine = Engine::from_file(&net.checked)?;
    let mut done = Vec::new();
    let mut config = String::new();
    if let Some(k) = every {
        // What a resume needs besides the checkpoints: the graph file run (with the interval,
        // so that the resumed run goes on checkpointing) and the input.
        let mut file = net.checked.file.clone();
        file.checkpoint_every = Some(k);
        config = crate::file::to_ron(&file);
        if !opts.resume {
            let bytes = std::fs::read(&opts.input).map_err(|e| Error::io(&opts.input, e))?;
            // input.npy first: a directory with config.ron is a whole input run.
            for (name, data) in [("input.npy", &bytes[..]), ("config.ron", config.as_bytes())] {
                let path = dir.join(name);
                let mut f = crate::io::AtomicFile::create(&path)?;
                std::io::Write::write_all(&mut f, data).map_err(|e| Error::io(&path, e))?;
                f.commit()?;
            }
        }
    }
    if opts.resume {
        if let Some(ck) = super::run::newest_for_resume(&dir, Kind::Simulation)? {
            engine.load_state(&ck.state)?;
            let t = engine.step as usize;
            let path = dir.join("output.npy");
            let (shape, rows) = read_npy(&path)?;
            if shape.len() != 2 || shape[1] != n_out || shape[0] < t || t > steps {
                return Err(Error::Input(format!(
                    "{}: shape {} does not hold the {t} rows of {n_out} values that checkpoint {} was written after",
                    path.display(),
                    crate::nir::shape_str(&shape),
                    ck.position
                )));
            }
            done = rows[..t * n_out].to_vec();
        }
    }
    let run = net.run_on(&mut engine, &values, steps, false, done, &mut |e, rows| {
        let Some(k) = every else { return Ok(()) };
        if !(e.step.is_multiple_of(k) || e.step as usize == steps) {
            return Ok(());
        }
        // The rows first: a checkpoint at step t always finds t rows in output.npy.
        let t = e.step as usize;
        write_npy(
            &dir.join("output.npy"),
            &[t, n_out],
            rows.iter().map(|&v| v as f32),
        )?;
        e.write_checkpoint(&dir, &config)?;
        Ok(())
    })?;
    write_npy(
        &dir.join("output.npy"),
        &out_shape,
        run.output.iter().map(|&v| v as f32),
    )?;
    let dt_ms = net.checked.file.dt_ms;
    let mut summary = serde_json::json!({
        "file": opts.file.display().to_string(),
        "format": if nir { "nir" } else { "graph" },
        "input": opts.input.display().to_string(),
        "input_population": net.input,
        "output_population": net.output,
        "steps": steps,
        "dt_ms": dt_ms,
        "output": "output.npy",
        "output_shape": out_shape,
        "output_spikes": run.output.iter().sum::<f64>(),
        "spikes": run.spikes,
        "state_hash": run.state_hash,
    });
    if nir {
        summary["reset"] = match opts.reset {
            NirReset::Zero => "zero",
            NirReset::Subtract => "subtract",
        }
        .into();
        summary["discretisation"] =
            "snntorch-1.0.0-import (beta = 1 - dt/tau, same-step reset)".into();
    }
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

/// `snnsim convert IN OUT`, by extension: NIR → graph file (`x.nir` → `x.ron`) with time step
/// `dt_ms` and `reset`, or graph file → NIR (`x.ron` → `x.nir`). Returns a line for the user.
pub fn convert(input: &Path, output: &Path, dt_ms: Option<f64>, reset: NirReset) -> Result<String> {
    let ext = |p: &Path| {
        p.extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase())
    };
    match (ext(input).as_deref(), ext(output).as_deref()) {
        (Some("nir"), Some("ron")) => {
            let nir = crate::nir::read(input)?;
            let dt_ms = crate::convert::dt_ms_for(&nir, dt_ms);
            let gf = crate::convert::from_nir(&nir, dt_ms, reset)
                .map_err(|e| Error::Input(format!("{}: {e}", input.display())))?;
            let text = crate::file::to_ron(&gf);
            // What is written must load: check it as the file it becomes.
            crate::models::load_source(&Source::from_text(
                output.display().to_string(),
                text.clone(),
            ))?;
            let mut f = crate::io::AtomicFile::create(output)?;
            std::io::Write::write_all(&mut f, text.as_bytes()).map_err(|e| Error::io(output, e))?;
            f.commit()?;
            Ok(format!(
                "{} -> {}: {} populations, {} projections, dt {} ms",
                input.display(),
                output.display(),
                gf.populations.len(),
                gf.projections.len(),
                gf.dt_ms
            ))
        }
        (Some("ron"), Some("nir")) => {
            let checked = crate::models::load(input)?;
            let nir = crate::convert::to_nir(&checked.file)
                .map_err(|e| Error::Input(format!("{}: {e}", input.display())))?;
            crate::nir::write(output, &nir)?;
            Ok(format!(
                "{} -> {}: {} nodes, {} edges",
                input.display(),
                output.display(),
                nir.graph.nodes.len(),
                nir.graph.edges.len()
            ))
        }
        _ => Err(Error::Input(format!(
            "snnsim convert takes IN.nir OUT.ron (NIR to graph file) or IN.ron OUT.nir (graph file to NIR); got {} -> {}",
            input.display(),
            output.display()
        ))),
    }
}
