//! The extension module `snnsim._snnsim`: conversions and GIL handling only. Everything a
//! call does is the library's own code (`snnsim::app`), so a result from Python is the
//! result the command line gives for the same file, seed and duration. The Python package
//! (`python/snnsim/`) wraps this module with the parts that are Python's business: the
//! exception classes, the graph builder, Gymnasium environments, progress bars.

mod agent;
mod env;
mod errors;
mod graph;
mod simulation;
mod train;

use pyo3::prelude::*;
use std::path::PathBuf;

/// Adds a directory to those searched for plugins (the package adds the one it ships).
#[pyfunction]
fn _add_plugin_dir(dir: PathBuf) {
    snnsim::plugin::add_search_dir(dir);
}

/// The directories searched for plugins, in order: `SNNSIM_PLUGIN_PATH`, the package's own
/// plugins, then the directories the command line also searches.
#[pyfunction]
fn plugin_dirs() -> Vec<String> {
    snnsim::plugin::search_dirs()
        .iter()
        .map(|d| d.display().to_string())
        .collect()
}

/// The plugins found: `(name, kind, path)`.
#[pyfunction]
fn plugins() -> Vec<(String, String, String)> {
    snnsim::plugin::list()
        .into_iter()
        .map(|p| (p.name, p.kind, p.path))
        .collect()
}

/// The text of `snnsim inspect PATH` (a graph file, run directory or checkpoint).
#[pyfunction]
fn inspect(py: Python<'_>, path: PathBuf) -> PyResult<String> {
    if !path.exists() {
        return Err(errors::not_found(
            &path,
            "graph file, run directory or checkpoint",
        ));
    }
    py.detach(|| errors::guard(|| snnsim::app::inspect_path(&path)))
        .map_err(|e| errors::to_py(py, e))
}

/// What `snnsim diff A B` reports, and whether the two networks are equal.
#[pyfunction]
fn diff(py: Python<'_>, a: PathBuf, b: PathBuf) -> PyResult<(bool, String)> {
    for p in [&a, &b] {
        if !p.exists() {
            return Err(errors::not_found(
                p,
                "graph file, run directory or checkpoint",
            ));
        }
    }
    let d = py
        .detach(|| errors::guard(|| snnsim::app::diff_paths(&a, &b)))
        .map_err(|e| errors::to_py(py, e))?;
    Ok((d.is_equal(), d.report()))
}

/// Parses and validates a graph file; raises `GraphFileError` naming the place of a fault.
#[pyfunction]
fn validate(py: Python<'_>, path: PathBuf) -> PyResult<()> {
    if !path.is_file() {
        return Err(errors::not_found(&path, "graph file"));
    }
    py.detach(|| errors::guard(|| snnsim::app::validate(&path).map(|_| ())))
        .map_err(|e| errors::to_py(py, e))
}

/// The snnsim library's version.
#[pyfunction]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

#[pymodule]
fn _snnsim(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<simulation::Simulation>()?;
    m.add_class::<env::Env>()?;
    m.add_class::<agent::Policy>()?;
    m.add_function(wrap_pyfunction!(train::_train, m)?)?;
    m.add_function(wrap_pyfunction!(_add_plugin_dir, m)?)?;
    m.add_function(wrap_pyfunction!(plugin_dirs, m)?)?;
    m.add_function(wrap_pyfunction!(plugins, m)?)?;
    m.add_function(wrap_pyfunction!(inspect, m)?)?;
    m.add_function(wrap_pyfunction!(diff, m)?)?;
    m.add_function(wrap_pyfunction!(validate, m)?)?;
    m.add_function(wrap_pyfunction!(version, m)?)?;
    m.add_function(wrap_pyfunction!(graph::_schema, m)?)?;
    m.add_function(wrap_pyfunction!(graph::_parse_graph, m)?)?;
    m.add_function(wrap_pyfunction!(graph::_parse_graph_ron, m)?)?;
    m.add_function(wrap_pyfunction!(graph::_validate_ron, m)?)?;
    m.add_function(wrap_pyfunction!(graph::_nir_to_ron, m)?)?;
    m.add_function(wrap_pyfunction!(graph::_ron_to_nir, m)?)?;
    Ok(())
}
