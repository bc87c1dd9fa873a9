//! What `snnsim.Graph` (python/snnsim/graph.py) needs from Rust: the graph-file schema, and
//! parsing. The Python classes are generated from the JSON Schema that the serde types of
//! `snnsim::file::schema` derive (`snnsim::file::json_schema`), so a field added in Rust is a
//! field in Python without a second list to keep in step. Parsing stays in Rust, the one
//! reader of the format: a loaded file reaches Python as the JSON of its `GraphFile`, with
//! errors placed at their line, column and field as the command line places them.

use crate::errors::{guard, not_found, to_py};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use snnsim::file::{GraphFile, Source};
use std::path::PathBuf;

/// The JSON Schema of a graph file, as JSON text.
#[pyfunction]
pub fn _schema() -> String {
    snnsim::file::json_schema()
}

/// The parsed file as JSON. JSON has no NaN or infinity (serde_json writes them as `null`),
/// so a file holding one, which would not come back the same, is refused.
fn json(py: Python<'_>, source: &Source) -> PyResult<String> {
    let file: GraphFile = py
        .detach(|| guard(|| source.parse()))
        .map_err(|e| to_py(py, e))?;
    let text = serde_json::to_string(&file).map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
    let back: Option<GraphFile> = serde_json::from_str(&text).ok();
    if back.as_ref() != Some(&file) {
        let msg = format!(
            "{}: a number in the file is not finite (NaN or inf), which a Graph cannot hold",
            source.label
        );
        return Err(to_py(py, snnsim::Error::Input(msg)));
    }
    Ok(text)
}

/// Parses (without validating) the graph file at `path`: its `GraphFile` as JSON text.
#[pyfunction]
pub fn _parse_graph(py: Python<'_>, path: PathBuf) -> PyResult<String> {
    if !path.is_file() {
        return Err(not_found(&path, "graph file"));
    }
    let source = Source::read(&path).map_err(|e| to_py(py, e))?;
    json(py, &source)
}

/// As [`_parse_graph`], from RON text; errors name the file `label`.
#[pyfunction]
#[pyo3(signature = (text, label = "<graph>"))]
pub fn _parse_graph_ron(py: Python<'_>, text: &str, label: &str) -> PyResult<String> {
    json(py, &Source::from_text(label, text))
}

/// Parses and validates RON text as `snnsim validate` does a file; errors name the file
/// `label`.
#[pyfunction]
#[pyo3(signature = (text, label = "<graph>"))]
pub fn _validate_ron(py: Python<'_>, text: &str, label: &str) -> PyResult<()> {
    let source = Source::from_text(label, text);
    py.detach(|| guard(|| snnsim::models::load_source(&source).map(|_| ())))
        .map_err(|e| to_py(py, e))
}

/// The graph file that `snnsim convert IN.nir OUT.ron` writes, as RON text: the NIR file at
/// `path` read, checked and mapped with snnTorch's importer's discretisation (`dt_ms`, the
/// reset `"zero"` or `"subtract"`). Errors name the file and the NIR node.
#[pyfunction]
#[pyo3(signature = (path, dt_ms = None, reset = "zero"))]
pub fn _nir_to_ron(
    py: Python<'_>,
    path: PathBuf,
    dt_ms: Option<f64>,
    reset: &str,
) -> PyResult<String> {
    use snnsim::convert::NirReset;
    if !path.is_file() {
        return Err(not_found(&path, "NIR file"));
    }
    let reset = match reset {
        "zero" => NirReset::Zero,
        "subtract" => NirReset::Subtract,
        other => {
            let msg = format!("reset must be \"zero\" or \"subtract\", not {other:?}");
            return Err(to_py(py, snnsim::Error::Input(msg)));
        }
    };
    py.detach(|| {
        guard(|| {
            let nir = snnsim::nir::read(&path)?;
            let dt_ms = snnsim::convert::dt_ms_for(&nir, dt_ms);
            let file = snnsim::convert::from_nir(&nir, dt_ms, reset)
                .map_err(|e| snnsim::Error::Input(format!("{}: {e}", path.display())))?;
            Ok(snnsim::file::to_ron(&file))
        })
    })
    .map_err(|e| to_py(py, e))
}

/// Validates RON text (errors name the file `label`) and writes it to `path` as NIR, as
/// `snnsim convert IN.ron OUT.nir` does; a model NIR cannot express is refused by name.
#[pyfunction]
#[pyo3(signature = (text, path, label = "<graph>"))]
pub fn _ron_to_nir(py: Python<'_>, text: &str, path: PathBuf, label: &str) -> PyResult<()> {
    let source = Source::from_text(label, text);
    py.detach(|| {
        guard(|| {
            let checked = snnsim::models::load_source(&source)?;
            let nir = snnsim::convert::to_nir(&checked.file)
                .map_err(|e| snnsim::Error::Input(format!("{label}: {e}")))?;
            snnsim::nir::write(&path, &nir)
        })
    })
    .map_err(|e| to_py(py, e))
}
