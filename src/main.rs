//! The `snnsim` command line: parses arguments and dispatches to `snnsim::app`. Exit codes:
//! 0 success, 1 the run failed, 2 bad input, 130 / 143 a run stopped by SIGINT / SIGTERM.
//!
//! Signal handlers are the binary's, not the library's (an embedding program keeps its own):
//! `snnsim run` turns the first SIGINT or SIGTERM into the library's stop flag, and a second
//! one ends the process at once (the files written so far are whole: every file is written
//! atomically).
//!
//! Under `mpirun`/`srun` (a build with the `mpi` feature) every rank runs this same `main`:
//! rank 0 prints results and serves metrics, every rank's standard error is prefixed with
//! `[rank k]`, and `--threads` defaults to the node's cores divided among its ranks
//! (docs/distributed.md).

use clap::{Parser, Subcommand};
use snnsim::app::{self, Outcome, RunOptions, Stop};
use snnsim::observe::activity::ActivityRecorder;
use snnsim::observe::view::{View, ViewOptions};
use snnsim::observe::watch::{Display, MetricsOptions, Watch};
use snnsim::observe::{Observer, Tee};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "snnsim", version, about = "Spiking neural network simulator")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check a graph file; exit 0 if valid, 2 with FILE:LINE:COL and the field if not. Prints
    /// the resource estimate (neurons, expected synapses, steps, memory).
    Validate {
        /// The graph file (RON), or a NIR file (`.nir`: read and checked, errors naming the
        /// node and parameter).
        file: PathBuf,
        /// Print the estimate as one JSON object (`neurons`, `synapses_expected`,
        /// `memory_bytes_estimate`, `steps`, `parts`, ...).
        #[arg(long)]
        json: bool,
    },
    /// Build and simulate a graph file, writing a run directory.
    Run {
        /// The graph file (RON); not with --resume.
        #[arg(required_unless_present = "resume", conflicts_with = "resume")]
        file: Option<PathBuf>,
        /// Continue the run in this run directory from its newest valid checkpoint.
        #[arg(long, value_name = "DIR")]
        resume: Option<PathBuf>,
        /// Write a full-state checkpoint to DIR/checkpoints/ every N steps (every N episodes
        /// for a training task); overrides the file's `checkpoint_every`.
        #[arg(long = "checkpoint-every", value_name = "N")]
        checkpoint_every: Option<u64>,
        /// Root seed (overrides the file's `seed`).
        #[arg(long, conflicts_with = "resume")]
        seed: Option<u64>,
        /// Worker threads (default: all cores); results do not depend on it.
        #[arg(long)]
        threads: Option<usize>,
        /// Run directory (default runs/<file-stem>-<timestamp>).
        #[arg(long, conflicts_with = "resume")]
        out: Option<PathBuf>,
        /// Simulated time in ms (overrides the file's `duration_ms`).
        #[arg(long = "duration-ms", conflicts_with = "resume")]
        duration_ms: Option<f64>,
        /// Training episodes (overrides the task's `episodes`).
        #[arg(long, conflicts_with = "resume")]
        episodes: Option<u64>,
        /// Episodes per batch, one update each (overrides the task's `batch`); on a GPU the
        /// episodes of a batch run in lockstep, one kernel launch per decision of all of them.
        #[arg(long, conflicts_with = "resume")]
        batch: Option<usize>,
        /// Where the steps run: cpu (the reference), gpu (fails without a usable GPU) or
        /// auto (the GPU if it can, else the CPU with a one-line notice); overrides the
        /// file's `device` (default cpu).
        #[arg(long, value_name = "auto|cpu|gpu", conflicts_with = "resume")]
        device: Option<snnsim::file::Device>,
        /// Off-policy control tasks: train the same architecture with ReLU units instead of
        /// the spiking hidden populations, one evaluation per decision (docs/rainbow.md).
        #[arg(long, conflicts_with = "resume")]
        dense: bool,
        /// Print summary.json as the last line of standard output, after one JSON object per
        /// progress report.
        #[arg(long)]
        json: bool,
        /// No progress output.
        #[arg(long)]
        quiet: bool,
        /// Serve Prometheus metrics at http://ADDR:PORT/metrics (training runs: 8000 unless
        /// given; network runs: only when given; 0 picks a free port).
        #[arg(long = "metrics-port", value_name = "PORT")]
        metrics_port: Option<u16>,
        /// Address the metrics endpoint binds.
        #[arg(
            long = "metrics-addr",
            value_name = "ADDR",
            default_value = "127.0.0.1"
        )]
        metrics_addr: std::net::IpAddr,
        /// No metrics endpoint.
        #[arg(long = "no-metrics", conflicts_with = "metrics_port")]
        no_metrics: bool,
        /// Serve a live 3D view of the run at http://ADDR:PORT/ (docs/monitoring.md).
        #[arg(long)]
        view: bool,
        /// Port of the view (default 8080; 0 picks a free port, printed).
        #[arg(long = "view-port", value_name = "PORT", requires = "view")]
        view_port: Option<u16>,
        /// Address the view binds (default 127.0.0.1).
        #[arg(long = "view-addr", value_name = "ADDR", requires = "view")]
        view_addr: Option<std::net::IpAddr>,
        /// Training runs: record the hidden spikes of every episode in RUN_DIR/activity.csv
        /// (at most 2 000 000 spikes, thinned evenly past that), for `snnsim view`.
        #[arg(long = "record-activity")]
        record_activity: bool,
        /// The memory the run may have, in bytes (suffixes K, M, G, T: powers of 1024),
        /// instead of the least of MemAvailable, the cgroup limit and RLIMIT_AS; a network
        /// whose estimate exceeds it is refused (exit 2) before anything is allocated.
        #[arg(long = "memory-limit", value_name = "BYTES", value_parser = app::parse_bytes)]
        memory_limit: Option<u64>,
        /// The input array, (steps, *input shape), float32 or float64, one row per step into
        /// the graph's Input node (required for a NIR file), or, for a graph file, into its
        /// one `Values` population without `constant`; output.npy holds the output
        /// population's spikes per step.
        #[arg(long, value_name = "X.npy", conflicts_with = "resume")]
        input: Option<PathBuf>,
        /// For a NIR file: the time step in ms (default: the one snnsim wrote into the
        /// file, else 0.1, snnTorch's dt = 1e-4 s).
        #[arg(long = "dt-ms", value_name = "MS", conflicts_with = "resume")]
        dt_ms: Option<f64>,
        /// For a NIR file: the reset in the step of a spike, zero (to v_reset, default) or
        /// subtract (v − v_threshold).
        #[arg(long, value_name = "zero|subtract", value_parser = app::parse_nir_reset, conflicts_with = "resume")]
        reset: Option<snnsim::convert::NirReset>,
    },
    /// Convert between formats by extension: IN.nir OUT.ron (a NIR graph to a graph file, with
    /// snnTorch's importer's discretisation) or IN.ron OUT.nir (a graph file to NIR, for the
    /// models NIR can express); docs/nir.md.
    Convert {
        /// The file to convert (`.nir` or `.ron`).
        input: PathBuf,
        /// The file to write (`.ron` or `.nir`).
        output: PathBuf,
        /// For a NIR import: the time step in ms (default: the one snnsim wrote into the
        /// file, else 0.1, snnTorch's dt = 1e-4 s).
        #[arg(long = "dt-ms", value_name = "MS")]
        dt_ms: Option<f64>,
        /// For a NIR import: the reset in the step of a spike, zero (to v_reset, default) or
        /// subtract (v − v_threshold).
        #[arg(long, value_name = "zero|subtract", value_parser = app::parse_nir_reset, default_value = "zero")]
        reset: snnsim::convert::NirReset,
    },
    /// Draw the plots of a run directory into RUN_DIR/plots/ (PNG and SVG): raster, rates,
    /// learning_curve, population_size, weights; those the run's files allow.
    Plot {
        /// A run directory written by `snnsim run`.
        run_dir: PathBuf,
    },
    /// Replay a finished run in the live view's page: spikes and edits at a chosen speed
    /// (playback starts when the first viewer connects; serves until stopped).
    View {
        /// A run directory written by `snnsim run`.
        run_dir: PathBuf,
        /// Network runs: simulated time per wall time; training runs: 100 × this many
        /// episodes per second.
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
        /// Port (default 8080; 0 picks a free port, printed).
        #[arg(long = "view-port", value_name = "PORT", default_value_t = snnsim::observe::view::DEFAULT_PORT)]
        view_port: u16,
        /// Address to bind.
        #[arg(long = "view-addr", value_name = "ADDR", default_value = "127.0.0.1")]
        view_addr: std::net::IpAddr,
    },
    /// Time the benchmark networks (graphs/) in fresh processes and, with --peers, the same
    /// networks on Brian2 and NEST (benches/peers/, Python from $SNNSIM_PEER_PYTHON) and the
    /// training rows on PyTorch (Python from $SNNSIM_TORCH_PYTHON); docs/performance.md.
    Bench {
        /// Networks, comma-separated: cuba, coba, cobahh, cuba-40k, cuba-400k, and the training rows
        /// foraging-absolute-fixed64, foraging-absolute-fixed512, and the spiking-versus-dense row
        /// cartpole-rainbow-dense.
        #[arg(long, value_delimiter = ',', default_values_t = app::DEFAULT_NETWORKS.map(String::from))]
        networks: Vec<String>,
        /// Also run Brian2 (cpp_standalone) and NEST where installed.
        #[arg(long)]
        peers: bool,
        /// Repetitions (fresh processes); the table shows medians.
        #[arg(long, default_value_t = 3)]
        reps: usize,
        /// snnsim thread counts, comma-separated (one row each).
        #[arg(long, value_delimiter = ',', default_value = "1")]
        threads: Vec<usize>,
        /// Print the report as JSON as the last line of standard output.
        #[arg(long)]
        json: bool,
    },
    /// The resource estimate of a graph file, a run directory (its newest valid checkpoint)
    /// or a checkpoint file, and its canonical structure summary when the network fits in
    /// memory.
    Inspect {
        /// A graph file, run directory, checkpoint, or NIR file (`.nir`: its nodes, parameter
        /// shapes and edges).
        path: PathBuf,
        /// Print the estimate as one JSON object instead (as `validate --json`).
        #[arg(long)]
        json: bool,
    },
    /// What changed between two networks (graph files, run directories or checkpoints):
    /// exit 0 when equal, 1 when different.
    Diff {
        /// The first network.
        a: PathBuf,
        /// The second network.
        b: PathBuf,
    },
    /// Train configurations × seeds of an experiment file in parallel; write a table of the
    /// four measures per configuration (experiment.csv, experiment.md).
    Experiment {
        /// The experiment file (RON).
        file: PathBuf,
        /// Output directory (default runs/<file-stem>-<timestamp>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Runs in parallel (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Environment tools.
    Env {
        #[command(subcommand)]
        command: EnvCommand,
    },
    /// List the plugins found: name, kind, version, ABI version, path.
    Plugins {
        /// One JSON object per plugin, as a JSON array on one line.
        #[arg(long)]
        json: bool,
    },
    /// Write a new plugin crate that builds against the SDK.
    NewPlugin {
        /// Plugin name (lowercase letters, digits, `_`).
        name: String,
        /// `rule` (a learning rule), `env` (an environment) or `structure` (a structural
        /// policy).
        #[arg(long)]
        kind: String,
        /// Directory to create (default ./NAME).
        #[arg(long)]
        path: Option<PathBuf>,
        /// The SDK crate (plugins/api) to depend on (default: the one this binary was built
        /// with).
        #[arg(long)]
        sdk: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum EnvCommand {
    /// Run an environment from a given state through given actions; print one JSON object per
    /// step (t, action, state, obs, reward, terminated, truncated), up to the first terminated
    /// or truncated step.
    Replay {
        /// Environment plugin (cartpole, pendulum, mountaincar, acrobot) or Gymnasium id.
        env: String,
        /// JSON file with `initial_state` and `actions`.
        #[arg(long)]
        input: PathBuf,
        /// Machine-readable output only (no summary line on standard error).
        #[arg(long)]
        json: bool,
    },
}

/// The estimate as one JSON line, with the file it is of.
fn estimate_json(file: &std::path::Path, est: &snnsim::graph::estimate::Estimate) -> String {
    let mut v = serde_json::to_value(est).expect("the estimate serialises");
    v["file"] = serde_json::Value::from(file.display().to_string());
    serde_json::to_string(&v).expect("serialises")
}

/// Prints an error and gives its exit status.
fn exit_with(e: snnsim::Error) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(e.exit_code() as u8)
}

/// The ranks this process is one of: MPI's when a launcher started it (feature `mpi`), else
/// this process alone.
fn communicator() -> snnsim::Result<snnsim::comm::CommRef> {
    #[cfg(feature = "mpi")]
    if let Some(m) = snnsim::comm::mpi::Mpi::init()? {
        return Ok(std::sync::Arc::new(m));
    }
    Ok(snnsim::comm::single())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let comm = match communicator() {
        Ok(c) => c,
        Err(e) => return exit_with(e),
    };
    let (rank, ranks) = (comm.rank(), comm.size());
    // Dropped before `comm` (declared after it), so the last lines are out before MPI ends.
    let _prefixed = if ranks > 1 {
        match snnsim::console::prefix_stderr(format!("[rank {rank}] ")) {
            Ok(g) => Some(g),
            Err(e) => {
                eprintln!("[rank {rank}] error: cannot prefix standard error: {e}");
                return ExitCode::from(1);
            }
        }
    } else {
        None
    };
    if rank != 0 {
        snnsim::console::silence();
    }
    // Several ranks share a node's cores.
    let threads_default = |threads: Option<usize>| {
        threads.or_else(|| (ranks > 1).then(|| snnsim::comm::default_threads(&*comm)))
    };
    let result = match cli.command {
        Command::Validate { file, json } if app::is_nir(&file) => {
            app::validate_nir(&file).map(|nir| {
                if json {
                    snnsim::outln!("{}", app::nir_json(&file, &nir));
                } else {
                    snnsim::outln!("{}", app::nir_line(&file, &nir));
                }
            })
        }
        Command::Validate { file, json } => app::validate(&file).map(|c| {
            let est = app::estimate(&c);
            if json {
                snnsim::outln!("{}", estimate_json(&file, &est));
            } else {
                snnsim::outln!(
                    "{}: valid ({} populations, {} projections)",
                    file.display(),
                    c.file.populations.len(),
                    c.file.projections.len()
                );
                snnsim::outln!("{}", app::estimate_line(&est));
            }
        }),
        Command::Bench {
            networks,
            peers,
            reps,
            threads,
            json,
        } => {
            let opts = app::BenchOptions {
                networks,
                peers,
                reps,
                threads,
                root: None,
            };
            app::bench(&opts, &mut |line| eprintln!("{line}")).map(|r| {
                snnsim::out!("{}", app::format_table(&r));
                if json {
                    snnsim::outln!("{}", serde_json::to_string(&r).expect("report serialises"));
                }
            })
        }
        Command::Inspect { path, json } if app::is_nir(&path) => {
            if json {
                app::validate_nir(&path).map(|nir| snnsim::outln!("{}", app::nir_json(&path, &nir)))
            } else {
                app::inspect_nir(&path).map(|s| snnsim::out!("{s}"))
            }
        }
        Command::Inspect { path, json: true } => app::inspect_estimate(&path)
            .map(|(_, est)| snnsim::outln!("{}", estimate_json(&path, &est))),
        Command::Inspect { path, json: false } => {
            app::inspect_path(&path).map(|s| snnsim::out!("{s}"))
        }
        Command::Diff { a, b } => match app::diff_paths(&a, &b) {
            Ok(d) => {
                snnsim::out!("{}", d.report());
                return if d.is_equal() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                };
            }
            Err(e) => Err(e),
        },
        Command::Convert {
            input,
            output,
            dt_ms,
            reset,
        } => app::convert(&input, &output, dt_ms, reset).map(|line| snnsim::outln!("{line}")),
        Command::View {
            run_dir,
            speed,
            view_port,
            view_addr,
        } => snnsim::observe::view::replay::replay(
            &run_dir,
            ViewOptions {
                addr: view_addr,
                port: view_port,
            },
            speed,
            &mut |addr| {
                eprintln!("view at http://{addr}/ (playback starts when a viewer connects)")
            },
        ),
        Command::Plot { run_dir } => snnsim::observe::plot::plot_run(&run_dir).map(|files| {
            for f in files {
                snnsim::outln!("wrote {}", f.display());
            }
        }),
        Command::Experiment { file, out, threads } => {
            let out = out.unwrap_or_else(|| app::default_run_dir(&file));
            app::experiment_on(&*comm, &file, &out, threads).map(|_| {
                let table = std::fs::read_to_string(out.join("experiment.md")).unwrap_or_default();
                snnsim::out!("{table}");
                snnsim::outln!("written to {}", out.display());
            })
        }
        Command::Env {
            command: EnvCommand::Replay { env, input, json },
        } => app::replay(&env, &input).map(|steps| {
            for s in &steps {
                snnsim::outln!("{}", serde_json::to_string(s).expect("step serialises"));
            }
            if !json {
                let end = steps.last().map_or("no steps", |s| {
                    if s.terminated {
                        "terminated"
                    } else if s.truncated {
                        "truncated"
                    } else {
                        "actions exhausted"
                    }
                });
                let ret: f64 = steps.iter().map(|s| s.reward).sum();
                eprintln!("{} steps, return {ret}, {end}", steps.len());
            }
        }),
        Command::Plugins { json } => {
            let (list, dirs) = app::plugins();
            if json {
                snnsim::outln!("{}", serde_json::to_string(&list).expect("serialises"));
            } else {
                for p in &list {
                    match &p.error {
                        None => snnsim::outln!(
                            "{:<16} {:<9} {:<10} abi {:<5} {}",
                            p.name,
                            p.kind,
                            p.version,
                            p.abi,
                            p.path
                        ),
                        Some(e) => snnsim::outln!("{:<16} unusable: {e}", p.name),
                    }
                }
                let dirs: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
                snnsim::outln!("searched: {}", dirs.join(", "));
            }
            Ok(())
        }
        Command::NewPlugin {
            name,
            kind,
            path,
            sdk,
        } => {
            let dir = path.unwrap_or_else(|| PathBuf::from(&name));
            let sdk = sdk.unwrap_or_else(app::default_sdk_path);
            app::new_plugin(&name, &kind, &dir, &sdk).map(|files| {
                for f in files {
                    snnsim::outln!("wrote {}", f.display());
                }
                snnsim::outln!(
                    "build it with: cargo build --release --manifest-path {}\n\
                     then: SNNSIM_PLUGIN_PATH={} snnsim plugins",
                    dir.join("Cargo.toml").display(),
                    dir.join("target/release").display()
                );
            })
        }
        Command::Run {
            file: None,
            resume: Some(dir),
            checkpoint_every,
            input: None,
            dt_ms: None,
            reset: None,
            json,
            quiet,
            ..
        } if app::is_input_run(&dir) => {
            print_input_run(app::run_nir(&app::resume_input(&dir, checkpoint_every)), json, quiet)
        }
        Command::Run {
            file: Some(file),
            input,
            dt_ms,
            reset,
            out,
            json,
            quiet,
            checkpoint_every,
            dense,
            ..
        } if app::is_nir(&file) || input.is_some() => match input {
            _ if dense => Err(snnsim::Error::Input(format!(
                "{}: --dense is for off-policy control tasks (docs/rainbow.md), not for a run with --input",
                file.display()
            ))),
            None => Err(snnsim::Error::Input(format!(
                "{}: running a NIR file needs --input X.npy (steps, *input shape)",
                file.display()
            ))),
            Some(_) if !app::is_nir(&file) && (dt_ms.is_some() || reset.is_some()) => {
                Err(snnsim::Error::Input(format!(
                    "{}: --dt-ms and --reset are for NIR files (.nir); a graph file has its own dt_ms and resets",
                    file.display()
                )))
            }
            Some(input) => print_input_run(
                app::run_nir(&app::NirRunOptions {
                    file,
                    input,
                    dt_ms,
                    reset: reset.unwrap_or(snnsim::convert::NirReset::Zero),
                    out,
                    checkpoint_every,
                    resume: false,
                }),
                json,
                quiet,
            ),
        },
        Command::Run {
            file,
            resume,
            checkpoint_every,
            seed,
            threads,
            out,
            duration_ms,
            episodes,
            batch,
            device,
            dense,
            json,
            quiet,
            metrics_port,
            metrics_addr,
            no_metrics,
            view,
            view_port,
            view_addr,
            record_activity,
            memory_limit,
            input,
            dt_ms,
            reset,
        } => {
            if input.is_some() || dt_ms.is_some() || reset.is_some() {
                return exit_with(snnsim::Error::Input(
                    "--dt-ms and --reset are for NIR files (.nir), with --input".into(),
                ));
            }
            let base = match (&resume, file) {
                (Some(dir), _) => app::resume_options(dir),
                (None, Some(file)) => RunOptions {
                    file,
                    ..RunOptions::default()
                },
                (None, None) => unreachable!("clap requires FILE or --resume"),
            };
            let stop = match stop_on_signals() {
                Ok(stop) => stop,
                Err(e) => {
                    eprintln!("error: cannot install the signal handlers: {e}");
                    return ExitCode::from(1);
                }
            };
            let opts = RunOptions {
                stop: stop.clone(),
                seed,
                threads: threads_default(threads),
                comm: (ranks > 1).then(|| comm.clone()),
                out: out.or(base.out.clone()),
                duration_ms,
                episodes,
                batch,
                device,
                dense,
                checkpoint_every,
                memory_limit,
                ..base
            };
            // Progress: a bar on a terminal, plain lines elsewhere, JSON objects with --json
            // (stdout's last line is then the summary), nothing with --quiet.
            // Rank 0 alone shows progress and serves metrics (the others would repeat it and
            // fight over the port).
            let mut watch = Watch::new(
                Display::choose(json, quiet || rank != 0),
                MetricsOptions {
                    off: no_metrics || rank != 0,
                    addr: metrics_addr,
                    port: metrics_port,
                },
            );
            let printer = watch.printer();
            let mut progress = |line: &str| printer.line(line);
            let mut viewer = view.then(|| {
                View::new(ViewOptions {
                    addr: view_addr.unwrap_or(ViewOptions::default().addr),
                    port: view_port.unwrap_or(ViewOptions::default().port),
                })
            });
            let mut activity = record_activity.then(ActivityRecorder::new);
            let mut extras = Tee(&mut viewer, &mut activity);
            let result =
                app::run_file_observed(&opts, &mut progress, &mut Tee(&mut watch, &mut extras));
            watch.finish();
            viewer.finish();
            let result = match (&activity, result) {
                (Some(a), Ok(outcome)) => a
                    .write(std::path::Path::new(outcome.run_dir()))
                    .map(|_| outcome),
                (_, r) => r,
            };
            if let Ok(outcome) = &result {
                match outcome.stopped() {
                    Some(s) => eprintln!("{}", s.line(outcome.run_dir())),
                    None if stop.requested() => eprintln!(
                        "snnsim: {} arrived after the last step; the run is complete",
                        stop.cause()
                    ),
                    None => {}
                }
            }
            let signalled = stop.signal();
            let result = result.map(|outcome| match outcome {
                _ if quiet && !json => {}
                Outcome::Simulation(s) if json => {
                    snnsim::outln!("{}", serde_json::to_string(&s).expect("summary serialises"));
                }
                Outcome::Training(s) if json => {
                    snnsim::outln!("{}", serde_json::to_string(&s).expect("summary serialises"));
                }
                Outcome::Control(s) if json => {
                    snnsim::outln!("{}", serde_json::to_string(&s).expect("summary serialises"));
                }
                Outcome::Reservoir(s) if json => {
                    snnsim::outln!("{}", serde_json::to_string(&s).expect("summary serialises"));
                }
                Outcome::Classify(s) if json => {
                    snnsim::outln!("{}", serde_json::to_string(&s).expect("summary serialises"));
                }
                Outcome::Classify(s) => {
                    snnsim::outln!(
                        "{}: {} epochs of {} samples in {:.1} s ({:.0} samples/s); test accuracy {} ({} samples), train {:.2} %",
                        s.file,
                        s.epochs,
                        s.train_samples,
                        s.train_wall_s,
                        s.samples_per_s,
                        s.test_accuracy
                            .map_or("-".into(), |a| format!("{:.2} %", 100.0 * a)),
                        s.test_samples,
                        100.0 * s.train_accuracy
                    );
                    snnsim::outln!("state_hash {}  run directory {}", s.state_hash, s.run_dir);
                }
                Outcome::Reservoir(s) => {
                    let f = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.4}"));
                    snnsim::outln!(
                        "{}: {} samples ({} steps) in {:.1} s; NRMSE test {} (train {}), delay line of {} inputs {}; {} features, {} silent",
                        s.file,
                        s.stopped.as_ref().map_or(s.develop + s.washout + s.train + s.test, |t| t.at as usize),
                        s.steps,
                        s.run_wall_s,
                        f(s.nrmse_test),
                        f(s.nrmse_train),
                        s.delay_line,
                        f(s.nrmse_delay_line),
                        s.features,
                        s.silent_neurons
                    );
                    snnsim::outln!("state_hash {}  run directory {}", s.state_hash, s.run_dir);
                }
                Outcome::Control(s) => {
                    snnsim::outln!(
                        "{}: {} episodes in {:.1} s ({:.0} episodes/s); mean return (last 100) {:.2}; episodes to solve {}",
                        s.file,
                        s.episodes,
                        s.sim_wall_s,
                        s.episodes_per_s,
                        s.mean_return_last_100,
                        s.episodes_to_solve.map_or("-".to_string(), |e| e.to_string())
                    );
                    snnsim::outln!("state_hash {}  run directory {}", s.state_hash, s.run_dir);
                }
                Outcome::Simulation(s) => {
                    snnsim::outln!(
                        "{}: {} steps ({} ms) in {:.3} s (build {:.3} s), {} synaptic events",
                        s.file,
                        s.steps,
                        s.sim_time_ms,
                        s.sim_wall_s,
                        s.build_wall_s,
                        s.synaptic_events
                    );
                    for (name, p) in &s.populations {
                        snnsim::outln!(
                            "  {name:<16} size {:>8}  spikes {:>10}  {:.2} Hz",
                            p.size, p.spikes, p.mean_rate_hz
                        );
                    }
                    snnsim::outln!("state_hash {}  run directory {}", s.state_hash, s.run_dir);
                }
                Outcome::Training(s) => {
                    snnsim::outln!(
                        "{}: {} episodes in {:.1} s ({:.0} episodes/s); food (last 500) {:.2}; hidden {} ({} growths, {} prunings)",
                        s.file,
                        s.episodes,
                        s.sim_wall_s,
                        s.episodes_per_s,
                        s.mean_food_last_500,
                        s.final_hidden_size,
                        s.growth_events,
                        s.pruning_events
                    );
                    snnsim::outln!("state_hash {}  run directory {}", s.state_hash, s.run_dir);
                }
            });
            // A run stopped by a signal exits 128 + the signal's number, as a shell reports it.
            match (&result, signalled) {
                (Ok(()), Some(sig)) => return ExitCode::from((128 + sig.clamp(0, 127)) as u8),
                _ => result,
            }
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

/// Installs the handlers of `snnsim run`: the first SIGINT or SIGTERM stores its number in the
/// returned stop flag (the run finishes its step or batch, checkpoints and writes its files);
/// a second one of either exits at once with 128 + its number.
fn stop_on_signals() -> std::io::Result<Stop> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    use signal_hook::flag;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    let stop = Stop::new();
    let armed = Arc::new(AtomicBool::new(false));
    for sig in [SIGINT, SIGTERM] {
        // Registered first, so that it sees the flag as the previous signal left it: the first
        // signal does nothing here, the second exits.
        flag::register_conditional_shutdown(sig, 128 + sig, Arc::clone(&armed))?;
        flag::register(sig, Arc::clone(&armed))?;
        flag::register_usize(sig, stop.word(), sig as usize)?;
    }
    Ok(stop)
}

/// What `snnsim run X --input X.npy` (or `--resume` of such a run) prints.
fn print_input_run(
    r: snnsim::Result<app::NirRunSummary>,
    json: bool,
    quiet: bool,
) -> snnsim::Result<()> {
    r.map(|s| {
        if json {
            snnsim::outln!("{}", s.summary);
        } else if !quiet {
            snnsim::outln!(
                "{}: {} steps; output.npy {}; run directory {}",
                s.summary["file"].as_str().unwrap_or(""),
                s.steps,
                s.output_shape,
                s.run_dir.display()
            );
        }
    })
}
