//! The commands behind the command line: `validate`, `run` and `inspect`. Each returns a
//! typed result; the binary prints it and maps errors to exit codes.

mod bench;
mod control;
mod experiment;
mod inspect;
mod plugins;
mod replay;
mod run;
mod train;

pub use bench::{
    bench, format_table, peer_python, BenchNetwork, BenchOptions, BenchReport, BenchRow, Machine,
    PeerResult, SnnsimRun, DEFAULT_NETWORKS, NETWORKS,
};
pub use control::{train_control, ControlSummary};
pub use experiment::{experiment, RunMeasures};
pub use inspect::inspect;
pub use plugins::{default_sdk_path, new_plugin, plugins};
pub use replay::{env_plugin_name, replay, ReplayStep};
pub use run::{default_run_dir, peak_rss_mb, run, PopulationSummary, RunOptions, Summary};
pub use train::{first_reaching, train, TrainSummary};

use crate::error::Result;
use std::path::Path;

/// Parses and validates a graph file.
pub fn validate(path: &Path) -> Result<crate::file::Checked> {
    crate::file::load(path)
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
}

/// `snnsim run`: trains when the file has a task, simulates otherwise. `progress` receives the
/// training progress lines.
pub fn run_file(opts: &RunOptions, progress: &mut dyn FnMut(&str)) -> Result<Outcome> {
    let task = crate::file::Source::read(&opts.file)
        .and_then(|s| s.parse())
        .map(|f| f.task)
        .unwrap_or(None);
    if let Some(crate::file::TaskSpec::Control(_)) = task {
        train_control(opts, progress).map(Outcome::Control)
    } else if task.is_some() {
        train(opts, progress).map(Outcome::Training)
    } else {
        run(opts).map(Outcome::Simulation)
    }
}
