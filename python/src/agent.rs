//! `snnsim._snnsim.Policy`: a trained policy ([`snnsim::agent::Policy`]) asked for one
//! action at a time. The Python class `snnsim.Agent` wraps it with the calling conventions
//! of Python's RL tools (`act`, and Stable-Baselines3's `predict`, batched).
//!
//! A decision is microseconds of work, so the GIL is kept: releasing and taking it back
//! would cost as much as the decision.

use crate::errors::{guard, not_found, poisoned, to_py};
use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::sync::MutexExt;
use snnsim::agent::{ActionSpace, Policy as Inner};
use std::path::PathBuf;
use std::sync::Mutex;

/// A trained spiking policy.
#[pyclass(frozen, module = "snnsim._snnsim")]
pub struct Policy {
    inner: Mutex<Inner>,
}

impl Policy {
    fn with<T>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut Inner) -> snnsim::Result<T>,
    ) -> PyResult<T> {
        let mut g = self.inner.lock_py_attached(py).map_err(|_| poisoned())?;
        guard(|| f(&mut g)).map_err(|e| to_py(py, e))
    }
}

#[pymethods]
impl Policy {
    /// The policy of a training run directory (its newest valid checkpoint) or a training
    /// checkpoint file.
    #[new]
    fn new(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        if !path.exists() {
            return Err(not_found(&path, "run directory or checkpoint"));
        }
        let inner = py
            .detach(|| guard(|| Inner::load(&path)))
            .map_err(|e| to_py(py, e))?;
        Ok(Policy {
            inner: Mutex::new(inner),
        })
    }

    /// Restarts the sampling stream from `seed` (`None`: it runs on).
    #[pyo3(signature = (seed=None))]
    fn reset(&self, py: Python<'_>, seed: Option<u64>) -> PyResult<()> {
        self.with(py, |p| {
            p.reset(seed);
            Ok(())
        })
    }

    /// One decision: the action (an index for a discrete policy) as float64 values.
    #[pyo3(signature = (obs, deterministic=false))]
    fn act<'py>(
        &self,
        py: Python<'py>,
        obs: PyReadonlyArray1<'_, f64>,
        deterministic: bool,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let obs = obs.as_slice()?;
        let a = self.with(py, |p| p.act(obs, deterministic))?;
        Ok(a.into_pyarray(py))
    }

    /// The readout of one decision (logits, or the Gaussian decoder's z₀ and z₁).
    fn readout<'py>(
        &self,
        py: Python<'py>,
        obs: PyReadonlyArray1<'_, f64>,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let obs = obs.as_slice()?;
        let z = self.with(py, |p| p.readout(obs).map(<[f64]>::to_vec))?;
        Ok(z.into_pyarray(py))
    }

    /// Values in an observation.
    #[getter]
    fn observation_len(&self, py: Python<'_>) -> PyResult<usize> {
        self.with(py, |p| Ok(p.observation_len()))
    }

    /// `("discrete", n)` or `("box", low, high)`.
    #[getter]
    fn action_space<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let space = self.with(py, |p| Ok(p.action_space().clone()))?;
        Ok(match space {
            ActionSpace::Discrete(n) => ("discrete", n).into_pyobject(py)?.into_any(),
            ActionSpace::Box { low, high } => ("box", low, high).into_pyobject(py)?.into_any(),
        })
    }

    /// `"Foraging"` or `"Control"`.
    #[getter]
    fn task(&self, py: Python<'_>) -> PyResult<&'static str> {
        self.with(py, |p| Ok(p.task()))
    }

    /// The environment plugin's name and its parameters (RON text).
    #[getter]
    fn environment(&self, py: Python<'_>) -> PyResult<(String, String)> {
        self.with(py, |p| {
            let (name, params) = p.environment();
            Ok((name.to_string(), params.to_string()))
        })
    }

    /// Episodes trained.
    #[getter]
    fn episodes(&self, py: Python<'_>) -> PyResult<u64> {
        self.with(py, |p| Ok(p.episodes()))
    }

    /// Hidden neurons.
    #[getter]
    fn hidden_size(&self, py: Python<'_>) -> PyResult<usize> {
        self.with(py, |p| Ok(p.hidden_size()))
    }

    /// Where the policy was read from.
    #[getter]
    fn origin(&self, py: Python<'_>) -> PyResult<String> {
        self.with(py, |p| Ok(p.origin().to_string()))
    }
}
