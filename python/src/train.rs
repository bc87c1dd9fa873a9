//! `snnsim.train`: a training task run exactly as `snnsim run FILE` runs it (the same
//! `app::run_file_observed`, the same run directory), with the GIL released.
//!
//! Progress lines go to a Python callable (the package draws a tqdm bar with them); the
//! callback also asks Python whether a signal arrived, and on Ctrl-C requests the run's stop,
//! so that the run ends at a batch boundary with its outputs (and checkpoint, where the task
//! has them) written, and then raises `KeyboardInterrupt`. Prometheus metrics are served only
//! when a port is given, so that parallel calls never compete for one.

use crate::errors::{guard, json_dict, not_found, to_py};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use snnsim::app::{self, Outcome, RunOptions, Stop};
use snnsim::observe::watch::{Display, MetricsOptions, Watch};
use snnsim::observe::Observer;
use std::path::PathBuf;
use std::sync::Mutex;

/// Runs the training task of `path`; returns `(run_dir, summary)`.
#[pyfunction]
#[pyo3(signature = (path, episodes=None, seed=None, threads=None, out=None, progress=None, metrics_port=None, batch=None))]
#[allow(clippy::too_many_arguments)]
pub fn _train<'py>(
    py: Python<'py>,
    path: PathBuf,
    episodes: Option<u64>,
    seed: Option<u64>,
    threads: Option<usize>,
    out: Option<PathBuf>,
    progress: Option<Py<PyAny>>,
    metrics_port: Option<u16>,
    batch: Option<usize>,
) -> PyResult<(String, Bound<'py, PyDict>)> {
    if !path.is_file() {
        return Err(not_found(&path, "graph file"));
    }
    let stop = Stop::new();
    let opts = RunOptions {
        file: path,
        episodes,
        seed,
        threads,
        out,
        batch,
        stop: stop.clone(),
        ..RunOptions::default()
    };
    let interrupted: Mutex<Option<PyErr>> = Mutex::new(None);
    let result = py.detach(|| {
        let mut on_line = |line: &str| {
            Python::attach(|py| {
                // A Ctrl-C either is still pending here or, when Python ran code in the
                // callback, arrives as the callback's KeyboardInterrupt: both stop the run.
                let interrupt = |e: PyErr| {
                    stop.request();
                    *interrupted.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                };
                if let Err(e) = py.check_signals() {
                    interrupt(e);
                }
                if let Some(cb) = &progress {
                    if let Err(e) = cb.call1(py, (line,)) {
                        if e.is_instance_of::<pyo3::exceptions::PyKeyboardInterrupt>(py) {
                            interrupt(e);
                        } else {
                            e.print(py);
                        }
                    }
                }
                if let Err(e) = py.check_signals() {
                    interrupt(e);
                }
            })
        };
        let mut watch = Watch::new(
            Display::Quiet,
            MetricsOptions {
                off: metrics_port.is_none(),
                port: metrics_port,
                ..MetricsOptions::default()
            },
        );
        let r = guard(|| app::run_file_observed(&opts, &mut on_line, &mut watch));
        watch.finish();
        r
    });
    if let Some(e) = interrupted.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    let outcome = result.map_err(|e| to_py(py, e))?;
    let summary = match &outcome {
        Outcome::Simulation(s) => json_dict(py, s)?,
        Outcome::Training(s) => json_dict(py, s)?,
        Outcome::Control(s) => json_dict(py, s)?,
        Outcome::Reservoir(s) => json_dict(py, s)?,
        Outcome::Classify(s) => json_dict(py, s)?,
    };
    Ok((outcome.run_dir().to_string(), summary))
}
