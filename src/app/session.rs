//! A simulation held open between calls, for programs that embed snnsim (the Python package
//! is one): the same preparation as `snnsim run` (overrides, validation, the memory check,
//! the backend), the same engine and steps, and the same checkpoint format, so that a
//! simulation advanced here has the `state_hash` that `snnsim run` reports for the same file,
//! seed and duration, and a checkpoint written here resumes with `snnsim run --resume` (and
//! the other way round). Nothing is written to disk unless asked.

use super::run::{prepare_source, Prepared, RunOptions};
use crate::backend::Backend;
use crate::checkpoint::{Checkpoint, Kind};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::file::{Checked, Source};
use crate::graph::edit::EditOutcome;
use crate::rng::stream;
use crate::Real;
use std::path::{Path, PathBuf};

/// An open simulation: an engine, the checked file it was built from, its thread pool and
/// backend.
pub struct Simulation {
    /// The engine (network, clock, recorders).
    pub engine: Engine,
    checked: Checked,
    /// The resolved graph file (`config.ron` of a checkpoint).
    config: String,
    backend: Backend,
    pool: rayon::ThreadPool,
    threads: usize,
    /// Structural edits made so far (each draws its new weights from its own stream).
    edits: u64,
}

impl Simulation {
    /// Opens the graph file `opts.file` with the overrides of `opts` (seed, threads, device,
    /// duration), as `snnsim run` does, and builds its network.
    pub fn open(opts: &RunOptions) -> Result<Self> {
        let source = Source::read(&opts.file)?;
        Self::open_source(&source, opts)
    }

    /// As [`Simulation::open`], from graph-file text already in memory (`opts.file` is then
    /// only the name used in messages).
    pub fn open_source(source: &Source, opts: &RunOptions) -> Result<Self> {
        let Prepared {
            checked,
            config,
            threads,
            backend,
            ..
        } = prepare_source(source, opts)?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| Error::Run(format!("cannot start {threads} threads: {e}")))?;
        let engine = pool.install(|| Engine::from_file(&checked))?;
        Ok(Simulation {
            engine,
            checked,
            config,
            backend,
            pool,
            threads,
            edits: 0,
        })
    }

    /// Continues a simulation from a checkpoint: a run directory (its newest valid
    /// checkpoint) or a checkpoint file, written here or by `snnsim run`.
    pub fn resume(path: &Path, threads: Option<usize>) -> Result<Self> {
        let ck = if path.is_dir() {
            let found = crate::checkpoint::newest_valid(path, false, &mut |why| {
                eprintln!("snnsim: {why}; trying the previous checkpoint")
            })?;
            match found {
                Some((_, ck)) => ck,
                None => {
                    return Err(Error::Input(format!(
                        "{}: no valid checkpoint in this directory",
                        path.display()
                    )))
                }
            }
        } else if path.exists() {
            Checkpoint::read(path)?
        } else {
            return Err(Error::io(
                path,
                std::io::Error::new(std::io::ErrorKind::NotFound, "no such checkpoint"),
            ));
        };
        if ck.kind != Kind::Simulation {
            return Err(Error::Input(format!(
                "{} is a checkpoint of a training run, not of a simulation",
                path.display()
            )));
        }
        let label = if path.is_dir() {
            path.join("config.ron")
        } else {
            path.to_path_buf()
        };
        let source = Source::from_text(label.display().to_string(), ck.config.clone());
        let opts = RunOptions {
            file: label,
            threads,
            ..RunOptions::default()
        };
        let mut sim = Self::open_source(&source, &opts)?;
        sim.engine.load_state(&ck.state)?;
        Ok(sim)
    }

    /// The checked graph file.
    pub fn checked(&self) -> &Checked {
        &self.checked
    }

    /// Worker threads.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The backend, in words (`cpu`, or the GPU's name).
    pub fn device(&self) -> String {
        self.backend.describe()
    }

    /// Steps in `duration_ms` (rounded as the file's `duration_ms` is).
    pub fn steps_of(&self, duration_ms: f64) -> Result<u64> {
        if !(duration_ms.is_finite() && duration_ms >= 0.0) {
            return Err(Error::Input(format!(
                "the duration must be a finite number of ms >= 0, got {duration_ms}"
            )));
        }
        Ok(crate::file::steps_of_time(duration_ms, self.engine.dt_ms))
    }

    /// Advances `n` steps on the simulation's threads and backend.
    pub fn run_steps(&mut self, n: u64) -> Result<()> {
        let (engine, checked, backend) = (&mut self.engine, &self.checked, &self.backend);
        self.pool
            .install(|| crate::backend::run(backend, engine, checked, n))
    }

    /// The text of `snnsim inspect` for the network as it is now.
    pub fn describe(&self) -> String {
        super::inspect::describe_network(&self.checked, &self.engine.net)
    }

    /// Grows `population` by `n` neurons; the new synapses of each incident projection take
    /// weights drawn from that projection's `weight` in the file (fan-in and fan-out of the
    /// grown network), from a stream of their own.
    pub fn grow(&mut self, population: &str, n: usize) -> Result<EditOutcome> {
        let f = &self.checked.file;
        let seed = f.seed;
        let edit = self.edits;
        let net = &self.engine.net;
        let grown = net.pop_id(population).map(|id| net.pop(id).len() + n);
        let specs: Vec<(String, crate::graph::Sampler, crate::rng::Rng)> = f
            .projections
            .iter()
            .filter_map(|spec| {
                let init = spec.weight.as_ref()?;
                let name = spec
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("{}->{}", spec.pre, spec.post));
                let id = net.proj_id(&name)?;
                let (pre, post) = net.endpoints(id);
                let len = |p| {
                    if Some(p) == net.pop_id(population) {
                        grown.unwrap_or(0)
                    } else {
                        net.pop(p).len()
                    }
                };
                let sampler = crate::graph::Sampler::new(init, len(pre) as f64, len(post) as f64);
                let rng = stream(seed, "grow", &name, edit);
                Some((name, sampler, rng))
            })
            .collect();
        let mut specs = specs;
        let mut weight = |proj: &str, _pre: usize, _post: usize| -> Option<Real> {
            Some(match specs.iter_mut().find(|(n, _, _)| n == proj) {
                Some((_, s, rng)) => s.sample(rng) as Real,
                None => 0.0,
            })
        };
        let out = self.engine.grow(population, n, seed ^ edit, &mut weight)?;
        self.edits += 1;
        Ok(out)
    }

    /// Removes the neurons at `neurons` from `population`, with their synapses.
    pub fn prune(&mut self, population: &str, neurons: &[usize]) -> Result<EditOutcome> {
        let seed = self.checked.file.seed ^ self.edits;
        let out = self.engine.prune(population, neurons, seed)?;
        self.edits += 1;
        Ok(out)
    }

    /// Writes a checkpoint of the simulation as it is now into the run directory `dir`
    /// (made if missing, with `config.ron`): the format `snnsim run --resume` reads.
    pub fn checkpoint(&mut self, dir: &Path) -> Result<PathBuf> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        crate::io::write_atomic(&dir.join("config.ron"), self.config.as_bytes())?;
        let ck = Checkpoint {
            kind: Kind::Simulation,
            position: self.engine.step,
            config: self.config.clone(),
            state: self.engine.save_state()?,
        };
        crate::checkpoint::write(dir, &ck)
    }
}
