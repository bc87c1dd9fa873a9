//! `snnsim._snnsim.Env`: one instance of an environment plugin, held by Python.
//!
//! This is the plugin's own interface (`reset(seed)`, `step(action)`, `save`/`load` of its
//! state) and nothing more; the Gymnasium classes in `snnsim/gym.py` are built on it in Python,
//! where Gymnasium's seeding and spaces live. The plugin ABI carries sizes but no bounds, so
//! the bounds of the observation and action spaces are Gymnasium's business too.
//!
//! The instance sits behind a mutex in a frozen class, as `Simulation` does: a plugin instance
//! is `Send` but not `Sync`. A step costs microseconds, so the GIL is kept for the whole call
//! (a lock is never held while waiting for the GIL, which rules out a deadlock between them).

use crate::errors::{guard, poisoned, to_py};
use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::sync::MutexExt;
use pyo3::types::{PyBytes, PyTuple};
use snnsim::plugin::{self, EnvInstance, Kind};
use std::sync::Mutex;

/// An environment plugin's instance: `Env("cartpole")`, `Env("gridworld", "(size: 9)")`.
#[pyclass(frozen, module = "snnsim._snnsim")]
pub struct Env {
    inner: Mutex<EnvInstance>,
    plugin: String,
    params: String,
}

impl Env {
    fn with<T>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut EnvInstance) -> snnsim::Result<T>,
    ) -> PyResult<T> {
        let mut g = self.inner.lock_py_attached(py).map_err(|_| poisoned())?;
        guard(|| f(&mut g)).map_err(|e| to_py(py, e))
    }
}

/// The action values of `action`: a number, or an array of any shape (flattened), as float64.
fn action_values(py: Python<'_>, action: &Bound<'_, PyAny>) -> PyResult<Vec<f64>> {
    if let Ok(x) = action.extract::<f64>() {
        return Ok(vec![x]);
    }
    let flat = py
        .import("numpy")?
        .call_method1("ascontiguousarray", (action, "float64"))?
        .call_method0("ravel")?;
    Ok(flat
        .extract::<PyReadonlyArray1<'_, f64>>()?
        .as_slice()?
        .to_vec())
}

#[pymethods]
impl Env {
    /// Loads the environment plugin `plugin` (searched for as `snnsim.plugin_dirs()` lists)
    /// and creates an instance from `params`, the RON text of a graph file's `params: (...)`.
    #[new]
    #[pyo3(signature = (plugin, params="()"))]
    fn new(py: Python<'_>, plugin: &str, params: &str) -> PyResult<Self> {
        let env = guard(|| plugin::load(plugin, None, Kind::Env)?.create_env(params))
            .map_err(|e| to_py(py, e))?;
        Ok(Env {
            inner: Mutex::new(env),
            plugin: plugin.to_string(),
            params: params.to_string(),
        })
    }

    /// Starts an episode from `seed` (the plugin's own generator); returns the first
    /// observation (float64).
    fn reset<'py>(&self, py: Python<'py>, seed: u64) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let obs = self.with(py, |e| {
            let mut obs = vec![0.0; e.observation_len()];
            e.reset(seed, &mut obs)?;
            Ok(obs)
        })?;
        Ok(obs.into_pyarray(py))
    }

    /// Applies `action` (an index for a discrete space, one value per dimension for a
    /// continuous one; a number or an array); returns `(observation, reward, terminated,
    /// truncated)`.
    fn step<'py>(
        &self,
        py: Python<'py>,
        action: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let action = action_values(py, action)?;
        let (obs, t) = self.with(py, |e| {
            let mut obs = vec![0.0; e.observation_len()];
            let t = e.step(&action, &mut obs)?;
            Ok((obs, t))
        })?;
        (obs.into_pyarray(py), t.reward, t.terminated, t.truncated).into_pyobject(py)
    }

    /// The instance's state as the plugin writes it (its own format: JSON for the
    /// classic-control environments).
    fn save_state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = self.with(py, |e| e.save())?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Restores a state written by `save_state` (or one in the plugin's format).
    fn load_state(&self, py: Python<'_>, state: &[u8]) -> PyResult<()> {
        self.with(py, |e| e.load(state))
    }

    /// Values in an observation.
    #[getter]
    fn observation_len(&self, py: Python<'_>) -> PyResult<usize> {
        self.with(py, |e| Ok(e.observation_len()))
    }

    /// The number of actions of a discrete action space; `None` for a continuous one.
    #[getter]
    fn discrete_actions(&self, py: Python<'_>) -> PyResult<Option<usize>> {
        self.with(py, |e| Ok(e.discrete_actions()))
    }

    /// Values in an action: 1 for a discrete space (the index), else the dimensions.
    #[getter]
    fn action_len(&self, py: Python<'_>) -> PyResult<usize> {
        self.with(py, |e| Ok(e.action_len()))
    }

    /// The plugin's name.
    #[getter]
    fn plugin(&self) -> &str {
        &self.plugin
    }

    /// The parameters (RON text) the instance was created with.
    #[getter]
    fn params(&self) -> &str {
        &self.params
    }

    fn __repr__(&self) -> String {
        format!("<snnsim._snnsim.Env {} {}>", self.plugin, self.params)
    }
}
