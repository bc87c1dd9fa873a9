//! `snnsim run`: build the network of a graph file, simulate it, and write the run directory
//! (`config.ron`, `summary.json`, `spikes.csv`, `state_<population>.csv`).

use crate::checkpoint::{Checkpoint, Kind};
use crate::comm::agree;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::file::{self, Source};
use crate::io::write_atomic;
use crate::observe::{NetProgress, Observer, PopCount, RunInfo};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Options of `snnsim run`.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The graph file.
    pub file: PathBuf,
    /// Overrides the file's seed.
    pub seed: Option<u64>,
    /// Worker threads (default: the number of cores).
    pub threads: Option<usize>,
    /// Run directory (default `runs/<file-stem>-<timestamp>`).
    pub out: Option<PathBuf>,
    /// Overrides the file's duration.
    pub duration_ms: Option<f64>,
    /// Overrides the number of training episodes of a task.
    pub episodes: Option<u64>,
    /// Overrides the number of episodes per batch (per update) of a task.
    pub batch: Option<usize>,
    /// Overrides the file's `device` (where the steps are computed; docs/gpu.md).
    pub device: Option<file::Device>,
    /// Overrides the file's `checkpoint_every` (steps, or episodes of a training task).
    pub checkpoint_every: Option<u64>,
    /// Continue the run in `out` from its newest valid checkpoint; `file` is then the run
    /// directory's `config.ron` (see [`resume_options`]).
    pub resume: bool,
    /// Off-policy control tasks: train the dense network of the same architecture (ReLU
    /// units for the spiking hidden populations; docs/rainbow.md). Other tasks refuse it.
    pub dense: bool,
    /// The memory the run may have (bytes), instead of the least of `MemAvailable`, the
    /// cgroup's limit and `RLIMIT_AS`: a network whose estimate exceeds it is refused.
    pub memory_limit: Option<u64>,
    /// Read between steps (between batches of episodes when training): once set, the run
    /// checkpoints (when checkpointing is on), writes its outputs and returns with `stopped`
    /// in its summary. The default is never set.
    pub stop: super::Stop,
    /// The ranks a training run's batches are split over (docs/distributed.md); `None` (the
    /// default): this process alone. Rank 0 writes the run directory.
    pub comm: Option<crate::comm::CommRef>,
}

/// The options of `snnsim run --resume DIR`: the run directory's own `config.ron`, into the
/// same directory.
pub fn resume_options(dir: &Path) -> RunOptions {
    RunOptions {
        file: dir.join("config.ron"),
        out: Some(dir.to_path_buf()),
        resume: true,
        ..RunOptions::default()
    }
}

/// A run's checked file (with the command-line overrides), thread count and run directory
/// (not made yet: [`RunDir::create`] makes it once the network is built).
pub(crate) struct Prepared {
    pub checked: file::Checked,
    /// The resolved graph file (`config.ron`).
    pub config: String,
    pub threads: usize,
    pub run_dir: PathBuf,
    /// Where the steps (or the agents' decisions) run: chosen before the run directory is
    /// made, so that `--device gpu` without a usable GPU leaves nothing behind.
    pub backend: crate::backend::Backend,
}

/// The run directory of a run, made once the network is built: a run that fails before its
/// first step removes the directory it made (dropped without [`RunDir::keep`]), so a failed
/// run leaves nothing half-made. A directory that existed before (`--resume`, or an `--out`
/// that was there) is never removed, and `--resume` writes nothing into it here.
pub(crate) struct RunDir {
    path: PathBuf,
    /// Whether this run made the directory (and so may remove it).
    made: bool,
    kept: bool,
}

impl RunDir {
    /// Makes the run directory with `config.ron` (with `resume`, checks that it is there).
    pub fn create(path: &Path, config: &str, resume: bool) -> Result<RunDir> {
        if resume {
            return Ok(RunDir {
                path: path.to_path_buf(),
                made: false,
                kept: true,
            });
        }
        let made = !path.exists();
        std::fs::create_dir_all(path).map_err(|e| Error::io(path, e))?;
        let dir = RunDir {
            path: path.to_path_buf(),
            made,
            kept: false,
        };
        write_atomic(&path.join("config.ron"), config.as_bytes())?;
        Ok(dir)
    }

    /// The run reached its first step: the directory stays, whatever happens next.
    pub fn keep(&mut self) {
        self.kept = true;
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        if self.made && !self.kept {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Reads, overrides and validates; refuses a network whose estimate exceeds the memory the
/// run can have. Nothing is written: the run directory is made by [`RunDir::create`].
pub(crate) fn prepare(opts: &RunOptions) -> Result<Prepared> {
    if opts.resume && !opts.file.exists() {
        return Err(Error::Input(format!(
            "--resume: {} is missing; is it a run directory?",
            opts.file.display()
        )));
    }
    let source = Source::read(&opts.file)?;
    prepare_source(&source, opts)
}

/// [`prepare`] for graph-file text already read (`opts.file` names the run directory's
/// default only).
pub(crate) fn prepare_source(source: &Source, opts: &RunOptions) -> Result<Prepared> {
    let mut parsed = source.parse()?;
    if let Some(seed) = opts.seed {
        parsed.seed = seed;
    }
    if let Some(d) = opts.duration_ms {
        if !(d.is_finite() && d >= 0.0) {
            return Err(Error::Input(format!(
                "--duration-ms must be a finite number >= 0, got {d}"
            )));
        }
        parsed.duration_ms = d;
    }
    if let Some(d) = opts.device {
        parsed.device = d;
    }
    if let Some(k) = opts.checkpoint_every {
        parsed.checkpoint_every = Some(k);
    }
    if parsed.checkpoint_every == Some(0) {
        return Err(Error::Input("checkpoint_every must be at least 1".into()));
    }
    for (flag, given) in [
        ("--episodes", opts.episodes.is_some()),
        ("--batch", opts.batch.is_some()),
    ] {
        if given && parsed.task.as_ref().and_then(|t| t.agent()).is_none() {
            return Err(Error::Input(format!(
                "{flag} applies to files with a training task"
            )));
        }
    }
    if let Some(a) = parsed.task.as_mut().and_then(|t| t.agent_mut()) {
        a.episodes = opts.episodes.unwrap_or(a.episodes);
        a.batch = opts.batch.unwrap_or(a.batch);
    }
    let mut resolved = parsed.clone();
    file::resolve(&mut resolved);
    let resolved = file::to_ron(&resolved);
    // Validate against the original text so that positions point into the user's file.
    let checked = source_with(source, parsed)?;
    // `Gpu` fails here when there is no usable GPU; `Auto` says why it falls back.
    let backend = crate::backend::select(checked.file.device, &checked)?;
    let threads = match opts.threads {
        Some(0) => return Err(Error::Input("--threads must be at least 1".into())),
        Some(k) => k,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    // From the file alone, before anything is allocated.
    let estimate = crate::graph::estimate::estimate(&checked, threads);
    super::resources::check_memory(&checked, &estimate, opts.memory_limit)?;
    let run_dir = match &opts.out {
        Some(d) => d.clone(),
        None => default_run_dir(&opts.file),
    };
    Ok(Prepared {
        checked,
        config: resolved,
        threads,
        run_dir,
        backend,
    })
}

/// Per-population figures of a run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PopulationSummary {
    /// Neurons at the end of the run.
    pub size: usize,
    /// Spikes emitted.
    pub spikes: u64,
    /// spikes / size / simulated time.
    pub mean_rate_hz: f64,
}

/// `summary.json`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    /// snnsim version.
    pub version: String,
    /// The graph file as given.
    pub file: String,
    /// The run directory.
    pub run_dir: String,
    /// Root seed.
    pub seed: u64,
    /// Worker threads (per rank).
    pub threads: usize,
    /// MPI ranks the network was split across (1: one process).
    pub ranks: usize,
    /// Where the steps ran: `cpu`, or `gpu: <device> (<arch>, <platform>)`.
    pub device: String,
    /// Time step (ms).
    pub dt_ms: f64,
    /// Steps simulated.
    pub steps: u64,
    /// Simulated time (ms).
    pub sim_time_ms: f64,
    /// Wall time of network construction (s).
    pub build_wall_s: f64,
    /// Wall time of the stepping loop only (s).
    pub sim_wall_s: f64,
    /// Simulated time / wall time of the stepping loop.
    pub speed_factor: f64,
    /// Synaptic events (spike × synapse) delivered.
    pub synaptic_events: u64,
    /// Synapses in the network.
    pub synapses: u64,
    /// Per population.
    pub populations: BTreeMap<String, PopulationSummary>,
    /// Hash over every weight and state value at the end of the run.
    pub state_hash: String,
    /// Peak resident memory of the process so far (MB, `VmHWM` of /proc/self/status), read
    /// when the run ends; `None` where the system does not say. Of a whole run only when the
    /// run is the process's only work, as under `snnsim run` (`snnsim bench` runs each in a
    /// fresh process).
    pub peak_rss_mb: Option<f64>,
    /// Rank 0's time split and exchange volume, when the network was split across ranks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exchange: Option<crate::engine::ExchangeStats>,
    /// Present when the run was stopped before its end (SIGINT, SIGTERM, [`RunOptions::stop`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<super::Stopped>,
}

/// Peak resident set size of this process in MB (`VmHWM`), where /proc says.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Runs a graph file and writes its run directory.
pub fn run(opts: &RunOptions) -> Result<Summary> {
    run_observed(opts, &mut crate::observe::Unobserved)
}

/// [`run`], telling `observer` how the run goes after each chunk of steps (one chunk on a GPU).
/// With a communicator of several ranks ([`RunOptions::comm`]) the network is split across
/// them (docs/distributed.md): every rank builds and steps its share; rank 0 writes the run
/// directory from the gathered state, as one process would. Each step that may fail on one
/// rank is agreed on, so that no rank waits for one that left.
pub fn run_observed(opts: &RunOptions, observer: &mut dyn Observer) -> Result<Summary> {
    let comm = opts.comm.clone().unwrap_or_else(crate::comm::single);
    let ranks = comm.size();
    let root = comm.rank() == 0;
    let c = &*comm;
    let Prepared {
        checked,
        config,
        threads,
        run_dir,
        backend,
    } = agree(c, prepare(opts))?;
    if ranks > 1 && backend.is_gpu() {
        return Err(Error::Input(format!(
            "{}: a simulation on a GPU runs on one rank (docs/distributed.md)",
            opts.file.display()
        )));
    }

    // With several ranks this thread is the pool's first worker, so that `install` runs the
    // steps here: MPI is called only from the thread that initialised it.
    let builder = rayon::ThreadPoolBuilder::new().num_threads(threads);
    let builder = if ranks > 1 {
        builder.use_current_thread()
    } else {
        builder
    };
    let pool = agree(
        c,
        builder
            .build()
            .map_err(|e| Error::Run(format!("cannot start {threads} threads: {e}"))),
    )?;
    let (mut engine, build_wall_s, sim_wall_s, stopped) = pool.install(|| -> Result<_> {
        let t0 = Instant::now();
        // Split, each rank builds only its part (and a resumed one loads its part of the
        // checkpoint).
        let share = (ranks > 1).then(|| (comm.rank(), ranks));
        let mut engine = agree(c, Engine::from_file_on(&checked, share))?;
        if opts.resume {
            let state = if ranks > 1 {
                super::train::resume_state_of(&*comm, &run_dir, Kind::Simulation)?
            } else {
                newest_for_resume(&run_dir, Kind::Simulation)?.map(|ck| ck.state)
            };
            if let Some(state) = state {
                agree(c, engine.load_state(&state))?;
            }
        }
        if ranks > 1 {
            agree(c, engine.distribute(comm.clone()))?;
        }
        let build = t0.elapsed().as_secs_f64();
        let mut dir = agree(c, if root {
            RunDir::create(&run_dir, &config, opts.resume).map(Some)
        } else {
            Ok(None)
        })?;
        let steps = checked.steps();
        let neurons = engine
            .net
            .pop_ids()
            .into_iter()
            .map(|id| engine.global_len(id))
            .sum();
        agree(c, observer.start(&RunInfo {
            run: run_label(&run_dir),
            training: false,
            total: steps,
            dt_ms: engine.dt_ms,
            progress_every: 0,
            neurons,
        }))?;
        if !backend.is_gpu() {
            let hook = observer.step_hook();
            if ranks > 1 {
                agree(c, match hook {
                    Some(_) => Err(Error::Input(
                        "--view and --record-activity watch one process's neurons: not yet with several ranks (docs/distributed.md)".into(),
                    )),
                    None => Ok(()),
                })?;
            } else if let Some(hook) = hook {
                engine.add_hook(hook);
            }
        }
        // The GPU backend uploads and downloads the network per call: one chunk there.
        let chunk = if backend.is_gpu() {
            steps.max(1)
        } else {
            crate::observe::chunk_steps(steps)
        };
        let t1 = Instant::now();
        let total = steps;
        let every = checked.file.checkpoint_every;
        if let Some(d) = &mut dir {
            d.keep();
        }
        let stop = &opts.stop;
        let mut stopped = None;
        // The step of the last checkpoint written, so that a stop right after one does not
        // write the same position again.
        let mut last_written = crate::checkpoint::list(&run_dir)
            .into_iter()
            .find(|(at, _)| root && opts.resume && *at == engine.step);
        while engine.step < total {
            let left = total - engine.step;
            let to_checkpoint = every.map_or(left, |k| k - engine.step % k);
            let n = chunk.min(to_checkpoint).min(left);
            // On the CPU one step at a time, so that a stop is honoured after the current step
            // (an atomic load per step costs nothing next to it); the GPU backend uploads and
            // downloads the network per call, so it runs the chunk whole. Several ranks run
            // the chunk whole and agree on a stop after it.
            let end = engine.step + n;
            while engine.step < end && (ranks > 1 || !stop.requested()) {
                let m = if backend.is_gpu() {
                    end - engine.step
                } else {
                    1
                };
                let stepped = crate::backend::run(&backend, &mut engine, &checked, m);
                if ranks > 1 {
                    agree(c, stepped)?;
                } else {
                    stepped?;
                }
            }
            observer.network(&net_progress(&engine, t1.elapsed().as_secs_f64()));
            let requested = if ranks > 1 {
                super::train::stop_requested(&*comm, stop)?
            } else {
                stop.requested()
            };
            let stopping = requested && engine.step < total;
            // Also at the end, so that the run directory holds its final network, and at a
            // stop, so that `--resume` continues from there.
            let due = engine.step.is_multiple_of(every.unwrap_or(1)) || engine.step == total;
            let fresh = last_written
                .as_ref()
                .is_none_or(|(at, _)| *at != engine.step);
            let fresh = if ranks > 1 {
                // Rank 0 knows what it wrote; the others follow it.
                let mut b = vec![u8::from(fresh)];
                comm.broadcast(0, &mut b)?;
                b == [1]
            } else {
                fresh
            };
            if every.is_some() && (due || stopping) && fresh {
                let path = agree(c, engine.write_checkpoint(&run_dir, &config))?;
                last_written = Some((engine.step, path.unwrap_or_default()));
            }
            if stopping {
                stopped = Some(super::Stopped {
                    signal: stop.cause(),
                    unit: "steps".into(),
                    at: engine.step,
                    of: total,
                    checkpoint: last_written.map(|(_, p)| p.display().to_string()),
                });
                break;
            }
        }
        Ok((engine, build, t1.elapsed().as_secs_f64(), stopped))
    })?;
    agree(c, engine.gather())?;
    let summary =
        summarise(opts, &checked, &engine, &run_dir, &backend, threads).map(|s| Summary {
            build_wall_s,
            sim_wall_s,
            speed_factor: if sim_wall_s > 0.0 {
                s.sim_time_ms / 1000.0 / sim_wall_s
            } else {
                0.0
            },
            stopped,
            ..s
        });
    // Rank 0's summary (the whole network's hash and counts) on every rank.
    let summary = agree(c, summary)?;
    let written = if root {
        write_outputs(&engine, &run_dir, &summary)
    } else {
        Ok(())
    };
    agree(c, written)?;
    if ranks > 1 {
        let mut b = summary.state_hash.clone().into_bytes();
        comm.broadcast(0, &mut b)?;
        let mut events = summary.synaptic_events.to_le_bytes().to_vec();
        comm.broadcast(0, &mut events)?;
        let events = u64::from_le_bytes(events[..8].try_into().expect("eight bytes"));
        return Ok(Summary {
            state_hash: String::from_utf8_lossy(&b).into_owned(),
            synaptic_events: events,
            ..summary
        });
    }
    Ok(summary)
}

/// The summary of a finished (or stopped) run; on rank 0 of a split one, of the gathered
/// whole network. Wall times are filled in by the caller.
fn summarise(
    opts: &RunOptions,
    checked: &file::Checked,
    engine: &Engine,
    run_dir: &Path,
    backend: &crate::backend::Backend,
    threads: usize,
) -> Result<Summary> {
    Ok(Summary {
        version: env!("CARGO_PKG_VERSION").to_string(),
        file: opts.file.display().to_string(),
        run_dir: run_dir.display().to_string(),
        seed: checked.file.seed,
        threads,
        ranks: engine.ranks(),
        device: backend.describe(),
        dt_ms: engine.dt_ms,
        steps: engine.step,
        sim_time_ms: engine.time_ms(),
        build_wall_s: 0.0,
        sim_wall_s: 0.0,
        speed_factor: 0.0,
        synaptic_events: engine.total_synaptic_events(),
        synapses: engine.synapses(),
        populations: population_summaries(engine),
        state_hash: engine.state_hash(),
        peak_rss_mb: peak_rss_mb(),
        exchange: engine.exchange_stats(),
        stopped: None,
    })
}

/// Size, spikes and mean rate of every population so far (whole populations' sizes: a split
/// run holds blocks, while spike counts are global on every rank).
pub(crate) fn population_summaries(engine: &Engine) -> BTreeMap<String, PopulationSummary> {
    let sim_time_ms = engine.time_ms();
    engine
        .whole_net()
        .pop_ids()
        .into_iter()
        .map(|id| {
            let p = engine.net.pop(id);
            let size = engine.global_len(id);
            let rate = if sim_time_ms > 0.0 {
                p.spike_count as f64 / size as f64 / (sim_time_ms / 1000.0)
            } else {
                0.0
            };
            (
                p.name.clone(),
                PopulationSummary {
                    size,
                    spikes: p.spike_count,
                    mean_rate_hz: rate,
                },
            )
        })
        .collect()
}

/// Rank 0's files of a finished run: spikes, weights, states, edits, `summary.json`.
fn write_outputs(engine: &Engine, run_dir: &Path, summary: &Summary) -> Result<()> {
    write_recordings(engine, run_dir)?;
    let json = serde_json::to_string_pretty(summary).expect("summary serialises");
    write_atomic(&run_dir.join("summary.json"), json.as_bytes())
}

/// Writes what the file's recorders recorded (spikes, weights, state variables) and the log of
/// structural edits into `run_dir`.
pub(crate) fn write_recordings(engine: &Engine, run_dir: &Path) -> Result<()> {
    let dt = engine.dt_ms;
    if !engine.spikes.is_empty() {
        engine.spikes.write_csv(&run_dir.join("spikes.csv"), dt)?;
        crate::observe::npy::write_spikes(&engine.spikes, dt, run_dir)?;
    }
    if !engine.weights.is_empty() {
        let whole = engine.whole_net();
        crate::monitor::write_weights_csv(whole, &engine.weights, &run_dir.join("weights.csv"))?;
        crate::observe::npy::write_weights(whole, &engine.weights, run_dir)?;
    }
    for rec in &engine.states {
        rec.write_csv(&run_dir.join(format!("state_{}.csv", rec.population)), dt)?;
    }
    if !engine.edit_log.is_empty() {
        write_edit_log(&engine.edit_log, dt, &run_dir.join("edits.csv"))?;
    }
    Ok(())
}

/// The newest valid checkpoint of a run directory for `--resume`: refused files are reported
/// on standard error and set aside. `None` (after a notice) when there is none.
pub(crate) fn newest_for_resume(run_dir: &Path, kind: Kind) -> Result<Option<Checkpoint>> {
    let found = crate::checkpoint::newest_valid(run_dir, true, &mut |why| {
        eprintln!("snnsim: {why}; trying the previous checkpoint")
    })?;
    match found {
        Some((path, ck)) => {
            if ck.kind != kind {
                return Err(Error::Input(format!(
                    "{} is a checkpoint of a {} run",
                    path.display(),
                    if ck.kind == Kind::Training {
                        "training"
                    } else {
                        "simulation"
                    }
                )));
            }
            eprintln!(
                "snnsim: resuming from {} (position {})",
                path.display(),
                ck.position
            );
            Ok(Some(ck))
        }
        None => {
            eprintln!(
                "snnsim: no valid checkpoint in {}; starting from the beginning",
                run_dir.display()
            );
            Ok(None)
        }
    }
}

/// A run's label on its metrics: the name of its run directory.
pub(crate) fn run_label(run_dir: &Path) -> String {
    run_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| run_dir.display().to_string())
}

fn net_progress(engine: &Engine, wall_s: f64) -> NetProgress {
    // Whole populations' sizes (a split run holds blocks); spike counts are global on every rank.
    let mut populations: Vec<PopCount> = engine
        .net
        .pop_ids()
        .into_iter()
        .map(|id| {
            let p = engine.net.pop(id);
            PopCount {
                name: p.name.clone(),
                size: engine.global_len(id),
                spikes: p.spike_count,
            }
        })
        .collect();
    populations.sort_by(|a, b| a.name.cmp(&b.name));
    NetProgress {
        step: engine.step,
        wall_s,
        synaptic_events: engine.synaptic_events,
        populations,
        edit_batches: engine.edit_log.len() as u64,
        synapses_removed: engine.edit_log.iter().map(|l| l.removed as u64).sum(),
        synapses_added: engine.edit_log.iter().map(|l| l.added as u64).sum(),
    }
}

fn source_with(source: &Source, parsed: file::GraphFile) -> Result<file::Checked> {
    crate::models::validate_parsed(parsed, source)
}

/// `runs/<stem>-<UTC timestamp>`, with a numeric suffix if that exists already.
pub fn default_run_dir(file: &Path) -> PathBuf {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into());
    let stamp: String = humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        .to_string()
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect();
    let stamp = format!("{}-{}", &stamp[..8], &stamp[8..]);
    let base = PathBuf::from("runs").join(format!("{stem}-{stamp}"));
    let mut dir = base.clone();
    let mut k = 2;
    while dir.exists() {
        dir = PathBuf::from(format!("{}-{k}", base.display()));
        k += 1;
    }
    dir
}

/// `edits.csv` of a simulation: one row per batch of synapse edits a structural policy
/// asked for (`t_ms` is the simulated time when they were applied).
fn write_edit_log(log: &[crate::engine::SynapseEditLog], dt: f64, path: &Path) -> Result<()> {
    use std::io::Write;
    let mut f = crate::io::AtomicFile::create(path)?;
    let res = (|| -> std::io::Result<()> {
        writeln!(f, "t_ms,plugin,projection,removed,added")?;
        for l in log {
            writeln!(
                f,
                "{},{},{},{},{}",
                l.step as f64 * dt,
                l.plugin,
                l.projection,
                l.removed,
                l.added
            )?;
        }
        Ok(())
    })();
    res.map_err(|e| Error::io(path, e))?;
    f.commit()
}
