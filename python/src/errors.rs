//! snnsim's errors as Python exceptions. The exception classes are defined in Python
//! (`snnsim/errors.py`), where they can derive from both `SnnsimError` and the built-in class a
//! Python user would catch (`ValueError` for bad input, `RuntimeError` for a failed run); this
//! module constructs them with the attributes the error carries (file, line, column, field;
//! plugin and kind). A missing file is `FileNotFoundError`, as Python's own `open` says.
//!
//! Rust panics must never reach Python as `PanicException` (a `BaseException`, which
//! `except Exception` does not catch): [`guard`] turns one into `SimulationError`.

use pyo3::exceptions::{PyFileNotFoundError, PyOSError, PyRuntimeError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use snnsim::Error;

/// An exception class of `snnsim.errors`.
fn class<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    py.import("snnsim.errors")?.getattr(name)
}

/// Raises `name(msg)` with `attrs` set on the instance.
fn raise(py: Python<'_>, name: &str, msg: String, attrs: &[(&str, Py<PyAny>)]) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let exc = class(py, name)?.call1((msg.clone(),))?;
        for (k, v) in attrs {
            exc.setattr(*k, v)?;
        }
        Ok(PyErr::from_value(exc))
    };
    build().unwrap_or_else(|e| e)
}

/// The Python exception for an snnsim error.
pub fn to_py(py: Python<'_>, e: Error) -> PyErr {
    let msg = e.to_string();
    match e {
        Error::File {
            file,
            line,
            col,
            field,
            msg: what,
        } => raise(
            py,
            "GraphFileError",
            msg,
            &[
                ("file", file.into_pyobject(py).unwrap().into_any().unbind()),
                ("line", line.into_pyobject(py).unwrap().into_any().unbind()),
                ("col", col.into_pyobject(py).unwrap().into_any().unbind()),
                (
                    "field",
                    field.into_pyobject(py).unwrap().into_any().unbind(),
                ),
                (
                    "reason",
                    what.into_pyobject(py).unwrap().into_any().unbind(),
                ),
            ],
        ),
        Error::Input(_) => raise(py, "InputError", msg, &[]),
        Error::Io { path, source } => {
            let text = format!("{}: {source}", path.display());
            if source.kind() == std::io::ErrorKind::NotFound {
                PyFileNotFoundError::new_err((2, text, path.display().to_string()))
            } else {
                PyOSError::new_err(text)
            }
        }
        Error::Plugin { plugin, kind, .. } => raise(
            py,
            "PluginError",
            msg,
            &[
                (
                    "plugin",
                    plugin.into_pyobject(py).unwrap().into_any().unbind(),
                ),
                (
                    "kind",
                    format!("{kind:?}")
                        .into_pyobject(py)
                        .unwrap()
                        .into_any()
                        .unbind(),
                ),
            ],
        ),
        Error::Run(_) => raise(py, "SimulationError", msg, &[]),
        Error::Rank { code: 2, .. } => raise(py, "InputError", msg, &[]),
        Error::Rank { .. } => raise(py, "SimulationError", msg, &[]),
    }
}

/// `f`, with a panic turned into an error instead of unwinding into Python.
pub fn guard<T>(f: impl FnOnce() -> snnsim::Result<T>) -> snnsim::Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => {
            let what = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(Error::Run(format!(
                "internal error (a bug in snnsim): {what}"
            )))
        }
    }
}

/// A `FileNotFoundError` for a path that is not there (checked before the library reads it,
/// which reports a missing graph file as bad input).
pub fn not_found(path: &std::path::Path, what: &str) -> PyErr {
    PyFileNotFoundError::new_err((
        2,
        format!("no such {what}: {}", path.display()),
        path.display().to_string(),
    ))
}

/// A `RuntimeError` for a lock that a panic poisoned.
pub fn poisoned() -> PyErr {
    PyRuntimeError::new_err("the simulation is unusable: an earlier call panicked")
}

/// A dict from a JSON-serialisable value (summaries), through Python's `json`.
pub fn json_dict<'py>(py: Python<'py>, v: &impl serde::Serialize) -> PyResult<Bound<'py, PyDict>> {
    let text = serde_json::to_string(v).map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
    py.import("json")?
        .call_method1("loads", (text,))?
        .cast_into::<PyDict>()
        .map_err(Into::into)
}
