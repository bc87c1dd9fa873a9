//! The commands behind the command line: `validate`, `run` and `inspect`. Each returns a
//! typed result; the binary prints it and maps errors to exit codes.

mod bench;
mod classify;
mod control;
mod experiment;
mod inspect;
mod nir_file;
mod nir_run;
mod offpolicy;
mod plugins;
mod replay;
mod reservoir;
mod resources;
mod run;
mod session;
mod stop;
mod train;

pub use bench::{
    bench, format_table, peer_python, BenchNetwork, BenchOptions, BenchReport, BenchRow, Machine,
    PeerResult, SnnsimRun, DEFAULT_NETWORKS, NETWORKS,
};
pub use classify::{run_classify, ClassifySummary};
pub use control::{train_control, ControlSummary};
pub use experiment::{experiment, experiment_on, RunMeasures};
pub use inspect::{
    describe_network, diff_paths, estimate_line, inspect, inspect_estimate, inspect_path,
};
pub use nir_file::{inspect_nir, is_nir, nir_json, nir_line, validate_nir};
pub use nir_run::{
    convert, input_network, is_input_run, nir_network, parse_nir_reset, read_npy, resume_input,
    run_nir, InputNet, InputRun, NirRunOptions, NirRunSummary,
};
pub use offpolicy::{OffPolicySummary, OpsPerDecision};
pub use plugins::{default_sdk_path, new_plugin, plugins};
pub use replay::{env_plugin_name, replay, ReplayStep};
pub use reservoir::{run_reservoir, ReservoirSummary};
pub use resources::{available_memory, check_memory, parse_bytes, Available};
pub use run::{
    default_run_dir, peak_rss_mb, resume_options, run, run_observed, PopulationSummary, RunOptions,
    Summary,
};
pub use session::Simulation;
pub use stop::{Stop, Stopped};
pub use train::{first_reaching, train, train_observed, TrainSummary};

use crate::error::Result;
use std::path::Path;

/// Parses and validates a graph file.
pub fn validate(path: &Path) -> Result<crate::file::Checked> {
    crate::models::load(path)
}

/// The resource estimate of a checked file (`graph::estimate`), for a build on as many threads
/// as the machine has (what `snnsim run` uses unless `--threads` says otherwise).
pub fn estimate(checked: &crate::file::Checked) -> crate::graph::estimate::Estimate {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    crate::graph::estimate::estimate(checked, threads)
}

/// What `snnsim run` produced: a simulation or a training run.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// A network simulated for its duration.
    Simulation(Summary),
    /// An agent trained on its task.
    Training(TrainSummary),
    /// A policy trained on a control task.
    Control(ControlSummary),
    /// A reservoir driven by a signal and its readout fitted.
    Reservoir(ReservoirSummary),
    /// A classifier trained on a labelled dataset.
    Classify(ClassifySummary),
}

impl Outcome {
    /// Where the run stood when it was stopped before its end, if it was.
    pub fn stopped(&self) -> Option<&Stopped> {
        match self {
            Outcome::Simulation(s) => s.stopped.as_ref(),
            Outcome::Training(s) => s.stopped.as_ref(),
            Outcome::Control(s) => s.stopped.as_ref(),
            Outcome::Reservoir(s) => s.stopped.as_ref(),
            Outcome::Classify(s) => s.stopped.as_ref(),
        }
    }

    /// The run directory.
    pub fn run_dir(&self) -> &str {
        match self {
            Outcome::Simulation(s) => &s.run_dir,
            Outcome::Training(s) => &s.run_dir,
            Outcome::Control(s) => &s.run_dir,
            Outcome::Reservoir(s) => &s.run_dir,
            Outcome::Classify(s) => &s.run_dir,
        }
    }
}

/// `snnsim run`: trains when the file has a task, simulates otherwise. `progress` receives the
/// training progress lines.
pub fn run_file(opts: &RunOptions, progress: &mut dyn FnMut(&str)) -> Result<Outcome> {
    run_file_observed(opts, progress, &mut crate::observe::Unobserved)
}

/// [`run_file`] with an observer (the metrics endpoint and progress display of `snnsim run`).
pub fn run_file_observed(
    opts: &RunOptions,
    progress: &mut dyn FnMut(&str),
    observer: &mut dyn crate::observe::Observer,
) -> Result<Outcome> {
    let file = crate::file::Source::read(&opts.file).and_then(|s| s.parse());
    let task = file.as_ref().ok().and_then(|f| f.task.as_ref());
    let off_policy =
        matches!(task, Some(crate::file::TaskSpec::Control(c)) if c.off_policy.is_some());
    if opts.dense && file.is_ok() && !off_policy {
        return Err(crate::error::Error::Input(format!(
            "{}: --dense trains the ReLU counterpart of an off-policy control task's spiking Q-network (task: Control(..., off_policy: (...)), docs/rainbow.md); this file has no such task",
            opts.file.display()
        )));
    }
    if let Some(crate::file::TaskSpec::Control(_)) = task {
        train_control(opts, progress).map(Outcome::Control)
    } else if let Some(crate::file::TaskSpec::Reservoir(_)) = task {
        run_reservoir(opts).map(Outcome::Reservoir)
    } else if let Some(crate::file::TaskSpec::Classify(_)) = task {
        run_classify(opts, progress).map(Outcome::Classify)
    } else if task.is_some() {
        train_observed(opts, progress, observer).map(Outcome::Training)
    } else {
        run_observed(opts, observer).map(Outcome::Simulation)
    }
}
