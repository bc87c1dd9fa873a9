//! `snnsim.Simulation`: an [`snnsim::app::Simulation`] held by Python.
//!
//! The simulation sits behind a mutex in a frozen class: the engine is `Send` but not `Sync`
//! (rule instances hold plugin pointers), and Python may call from any thread. `run` releases
//! the GIL and steps in chunks; between chunks it takes the GIL back only to ask Python
//! whether a signal arrived (`check_signals`), so Ctrl-C raises `KeyboardInterrupt` with the
//! simulation at a clean step. Locks are taken with the GIL released (or through
//! `lock_py_attached`), so a thread holding the lock never waits for the GIL while another
//! holds the GIL and waits for the lock.
//!
//! Arrays cross by move: spike times and indices are built in one pass over the recorder
//! and handed to numpy without a second copy; state columns and weights are copies, so that
//! Python never holds a view into memory that the next step or edit changes.

use crate::errors::{guard, not_found, poisoned, to_py};
use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::MutexExt;
use pyo3::types::{IntoPyDict, PyTuple};
use snnsim::app::{self, RunOptions};
use snnsim::file::{Device, Source};
use snnsim::real::wide;
use snnsim::Real;
use std::path::PathBuf;
use std::sync::Mutex;

/// Wall time a chunk of `run` aims at: between chunks the GIL is taken to check for signals,
/// so this is how long Ctrl-C may wait, and each chunk costs a hand-over to the simulation's
/// thread pool and back (tens of microseconds), a negligible share of 20 ms.
const CHUNK_WALL: std::time::Duration = std::time::Duration::from_millis(20);

/// A network simulated step by step.
#[pyclass(frozen, module = "snnsim")]
pub struct Simulation {
    inner: Mutex<app::Simulation>,
}

fn device_of(s: &str) -> PyResult<Device> {
    match s.to_ascii_lowercase().as_str() {
        "cpu" => Ok(Device::Cpu),
        "gpu" => Ok(Device::Gpu),
        "auto" => Ok(Device::Auto),
        _ => Err(PyValueError::new_err(format!(
            "device must be \"cpu\", \"gpu\" or \"auto\", got {s:?}"
        ))),
    }
}

impl Simulation {
    fn with<T>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut app::Simulation) -> snnsim::Result<T>,
    ) -> PyResult<T> {
        let mut g = self.inner.lock_py_attached(py).map_err(|_| poisoned())?;
        guard(|| f(&mut g)).map_err(|e| to_py(py, e))
    }

    fn detached<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut app::Simulation) -> snnsim::Result<T> + Send,
    ) -> PyResult<T> {
        let r = py.detach(|| {
            let mut g = self.inner.lock().map_err(|_| ())?;
            let sim: &mut app::Simulation = &mut g;
            Ok(guard(|| f(sim)))
        });
        match r {
            Ok(r) => r.map_err(|e| to_py(py, e)),
            Err(()) => Err(poisoned()),
        }
    }
}

#[pymethods]
impl Simulation {
    /// Opens a graph file (a path) or a `snnsim.Graph` (anything with `to_ron()`); `seed`,
    /// `threads` and `device` override the file's settings as the CLI's flags do.
    #[new]
    #[pyo3(signature = (path_or_graph, seed=None, threads=None, device=None))]
    fn new(
        py: Python<'_>,
        path_or_graph: &Bound<'_, PyAny>,
        seed: Option<u64>,
        threads: Option<usize>,
        device: Option<&str>,
    ) -> PyResult<Self> {
        let device = device.map(device_of).transpose()?;
        let (source, file) = if path_or_graph.hasattr("to_ron")? {
            let text: String = path_or_graph.call_method0("to_ron")?.extract()?;
            (
                Source::from_text("<graph>", text),
                PathBuf::from("graph.ron"),
            )
        } else {
            let path: PathBuf = path_or_graph.extract()?;
            if !path.is_file() {
                return Err(not_found(&path, "graph file"));
            }
            let source = Source::read(&path).map_err(|e| to_py(py, e))?;
            (source, path)
        };
        let opts = RunOptions {
            file,
            seed,
            threads,
            device,
            ..RunOptions::default()
        };
        let sim = py
            .detach(|| guard(|| app::Simulation::open_source(&source, &opts)))
            .map_err(|e| to_py(py, e))?;
        Ok(Simulation {
            inner: Mutex::new(sim),
        })
    }

    /// A simulation continued from a checkpoint: a run directory (its newest valid
    /// checkpoint) or a checkpoint file, written by `checkpoint()` or by `snnsim run`.
    #[staticmethod]
    #[pyo3(signature = (path, threads=None))]
    fn resume(py: Python<'_>, path: PathBuf, threads: Option<usize>) -> PyResult<Self> {
        if !path.exists() {
            return Err(not_found(&path, "run directory or checkpoint"));
        }
        let sim = py
            .detach(|| guard(|| app::Simulation::resume(&path, threads)))
            .map_err(|e| to_py(py, e))?;
        Ok(Simulation {
            inner: Mutex::new(sim),
        })
    }

    /// Advances by `duration_ms` (rounded to whole steps), with the GIL released. Ctrl-C
    /// stops it at the end of a step and raises `KeyboardInterrupt`; the simulation can be
    /// run on from there.
    fn run(&self, py: Python<'_>, duration_ms: f64) -> PyResult<()> {
        let mut left = self.with(py, |s| s.steps_of(duration_ms))?;
        // Chunks of about CHUNK_WALL: the first of 16 steps, then sized by the last one's
        // speed (at most doubling).
        let mut chunk: u64 = 16;
        while left > 0 {
            let n = left.min(chunk);
            let t0 = std::time::Instant::now();
            self.detached(py, |s| s.run_steps(n))?;
            left -= n;
            py.check_signals()?;
            let per_step = t0.elapsed().as_secs_f64() / n as f64;
            let fit = (CHUNK_WALL.as_secs_f64() / per_step.max(1e-9)) as u64;
            chunk = fit.clamp(1, chunk.saturating_mul(2));
        }
        Ok(())
    }

    /// Spikes recorded so far of `population` (it needs a `Spikes` recorder): `(t_ms,
    /// neuron)`, float64 and uint32 arrays in time order.
    fn spikes<'py>(&self, py: Python<'py>, population: &str) -> PyResult<Bound<'py, PyTuple>> {
        let (t, i) = self.with(py, |s| {
            let e = &s.engine;
            let Some(k) = e.spikes.populations().iter().position(|p| *p == population) else {
                return Err(snnsim::Error::Input(format!(
                    "population `{population}` has no Spikes recorder (recorded: {})",
                    e.spikes.populations().join(", ")
                )));
            };
            let k = k as u32;
            let n = e.spikes.events.iter().filter(|ev| ev.1 == k).count();
            let (mut t, mut i) = (Vec::with_capacity(n), Vec::with_capacity(n));
            for &(step, p, j) in &e.spikes.events {
                if p == k {
                    t.push(step as f64 * e.dt_ms);
                    i.push(j);
                }
            }
            Ok((t, i))
        })?;
        PyTuple::new(
            py,
            [t.into_pyarray(py).into_any(), i.into_pyarray(py).into_any()],
        )
    }

    /// A copy of the state variable `variable` of `population`, one value per neuron.
    fn state<'py>(
        &self,
        py: Python<'py>,
        population: &str,
        variable: &str,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let v = self.with(py, |s| {
            let p = population_of(&s.engine, population)?;
            let cols = p.dynamics.columns();
            match cols.iter().find(|(n, _)| *n == variable) {
                Some((_, col)) => Ok(col.iter().map(|&x| wide(x)).collect::<Vec<f64>>()),
                None => Err(snnsim::Error::Input(format!(
                    "`{population}` has no state variable `{variable}` (it has {})",
                    cols.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
                ))),
            }
        })?;
        Ok(v.into_pyarray(py))
    }

    /// Sets the state variable `variable` of `population`: one value per neuron, or one
    /// value for all.
    fn set_state(
        &self,
        py: Python<'_>,
        population: &str,
        variable: &str,
        values: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let one: Option<f64> = values.extract().ok();
        let values: Vec<f64> = match one {
            Some(_) => Vec::new(),
            None => py
                .import("numpy")?
                .call_method1("ascontiguousarray", (values, "float64"))?
                .extract::<PyReadonlyArray1<'_, f64>>()?
                .as_slice()?
                .to_vec(),
        };
        self.with(py, |s| {
            let n = population_of(&s.engine, population)?.len();
            let values = match one {
                Some(x) => vec![x; n],
                None => values,
            };
            if values.len() != n {
                return Err(snnsim::Error::Input(format!(
                    "`{population}` has {n} neurons, got {} values",
                    values.len()
                )));
            }
            if let Some(bad) = values.iter().find(|x| !x.is_finite()) {
                return Err(snnsim::Error::Input(format!(
                    "`{population}.{variable}`: values must be finite, got {bad}"
                )));
            }
            let pop = s
                .engine
                .net
                .population_mut(population)
                .expect("checked above");
            let names: Vec<&str> = pop.dynamics.columns().iter().map(|(n, _)| *n).collect();
            let names = names.join(", ");
            match pop.dynamics.column_mut(variable) {
                Some(col) => {
                    for (c, &x) in col.iter_mut().zip(&values) {
                        *c = x as Real;
                    }
                    Ok(())
                }
                None => Err(snnsim::Error::Input(format!(
                    "`{population}` has no state variable `{variable}` (it has {names})"
                ))),
            }
        })
    }

    /// The weights of `projection`, pre × post: a `scipy.sparse.csr_matrix` when scipy is
    /// installed, else the `(indptr, indices, data)` triple (int64, int32, float64).
    fn weights<'py>(&self, py: Python<'py>, projection: &str) -> PyResult<Bound<'py, PyAny>> {
        let (indptr, indices, data, shape) = self.with(py, |s| {
            let w = &projection_of(&s.engine, projection)?.weights;
            let indptr: Vec<i64> = w.indptr().iter().map(|&x| x as i64).collect();
            let indices: Vec<i32> = w.indices().iter().map(|&x| x as i32).collect();
            let data: Vec<f64> = w.iter().map(wide).collect();
            Ok((indptr, indices, data, w.shape()))
        })?;
        let (indptr, indices, data) = (
            indptr.into_pyarray(py),
            indices.into_pyarray(py),
            data.into_pyarray(py),
        );
        match py.import("scipy.sparse") {
            Ok(sparse) => sparse.getattr("csr_matrix")?.call(
                ((data, indices, indptr),),
                Some(&[("shape", shape)].into_py_dict(py)?),
            ),
            Err(_) => Ok(PyTuple::new(
                py,
                [indptr.into_any(), indices.into_any(), data.into_any()],
            )?
            .into_any()),
        }
    }

    /// Sets the weights of `projection` from a `scipy.sparse` matrix or an `(indptr,
    /// indices, data)` triple with the projection's own synapses (as `weights()` gives them:
    /// adding or removing synapses is `grow`/`prune`'s work).
    fn set_weights<'py>(
        &self,
        py: Python<'py>,
        projection: &str,
        weights: &Bound<'py, PyAny>,
    ) -> PyResult<()> {
        let np = py.import("numpy")?;
        let (indptr, indices, data) = if weights.hasattr("tocsr")? {
            let m = weights.call_method0("tocsr")?.call_method0("copy")?;
            m.call_method0("sort_indices")?;
            (
                m.getattr("indptr")?,
                m.getattr("indices")?,
                m.getattr("data")?,
            )
        } else {
            weights.extract::<(Bound<'py, PyAny>, Bound<'py, PyAny>, Bound<'py, PyAny>)>()?
        };
        let as_array = |x: Bound<'py, PyAny>, dtype: &str| -> PyResult<Bound<'py, PyAny>> {
            np.call_method1("ascontiguousarray", (x, dtype))
        };
        let indptr: Vec<i64> = as_array(indptr, "int64")?
            .extract::<PyReadonlyArray1<'_, i64>>()?
            .as_slice()?
            .to_vec();
        let indices: Vec<i32> = as_array(indices, "int32")?
            .extract::<PyReadonlyArray1<'_, i32>>()?
            .as_slice()?
            .to_vec();
        let data: Vec<f64> = as_array(data, "float64")?
            .extract::<PyReadonlyArray1<'_, f64>>()?
            .as_slice()?
            .to_vec();
        self.with(py, |s| {
            let id = s
                .engine
                .net
                .proj_id(projection)
                .ok_or_else(|| snnsim::Error::Input(format!("no projection `{projection}`")))?;
            let w = &mut s.engine.net.proj_mut(id).weights;
            let same = indptr.len() == w.indptr().len()
                && indptr.iter().zip(w.indptr()).all(|(&a, &b)| a == b as i64)
                && indices.len() == w.indices().len()
                && indices
                    .iter()
                    .zip(w.indices())
                    .all(|(&a, &b)| a == b as i32);
            if !same || data.len() != w.nnz() {
                return Err(snnsim::Error::Input(format!(
                    "`{projection}`: the matrix must have exactly the projection's {} synapses \
                     (the structure weights() gives); adding or removing synapses is grow and \
                     prune's work",
                    w.nnz()
                )));
            }
            if let Some(bad) = data.iter().find(|x| !x.is_finite()) {
                return Err(snnsim::Error::Input(format!(
                    "`{projection}`: weights must be finite, got {bad}"
                )));
            }
            w.make_per_synapse();
            for (d, &x) in w.data_mut().iter_mut().zip(&data) {
                *d = x as Real;
            }
            Ok(())
        })
    }

    /// Simulated time (ms).
    #[getter]
    fn t_ms(&self, py: Python<'_>) -> PyResult<f64> {
        self.with(py, |s| Ok(s.engine.time_ms()))
    }

    /// Steps done.
    #[getter]
    fn step(&self, py: Python<'_>) -> PyResult<u64> {
        self.with(py, |s| Ok(s.engine.step))
    }

    /// The hash of the whole state, as `summary.json` of `snnsim run` gives it.
    #[getter]
    fn state_hash(&self, py: Python<'_>) -> PyResult<String> {
        self.with(py, |s| Ok(s.engine.state_hash()))
    }

    /// Time step (ms).
    #[getter]
    fn dt_ms(&self, py: Python<'_>) -> PyResult<f64> {
        self.with(py, |s| Ok(s.engine.dt_ms))
    }

    /// The file's duration (ms): what `snnsim run` simulates.
    #[getter]
    fn duration_ms(&self, py: Python<'_>) -> PyResult<f64> {
        self.with(py, |s| Ok(s.checked().file.duration_ms))
    }

    /// Worker threads.
    #[getter]
    fn threads(&self, py: Python<'_>) -> PyResult<usize> {
        self.with(py, |s| Ok(s.threads()))
    }

    /// Where the steps run (`cpu` or the GPU's name).
    #[getter]
    fn device(&self, py: Python<'_>) -> PyResult<String> {
        self.with(py, |s| Ok(s.device()))
    }

    /// Population names and sizes.
    #[getter]
    fn populations(&self, py: Python<'_>) -> PyResult<Vec<(String, usize)>> {
        self.with(py, |s| {
            Ok(s.engine
                .net
                .populations()
                .map(|p| (p.name.clone(), p.len()))
                .collect())
        })
    }

    /// Projection names.
    #[getter]
    fn projections(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        self.with(py, |s| {
            Ok(s.engine
                .net
                .projections()
                .map(|(_, _, p)| p.name.clone())
                .collect())
        })
    }

    /// The text of `snnsim inspect` for the network as it is now.
    fn describe(&self, py: Python<'_>) -> PyResult<String> {
        self.with(py, |s| Ok(s.describe()))
    }

    /// Grows `population` by `n` neurons (the trainer's graph edit); returns the new size.
    fn grow(&self, py: Python<'_>, population: &str, n: usize) -> PyResult<usize> {
        self.detached(py, |s| s.grow(population, n).map(|o| o.size_after))
    }

    /// Removes the neurons `neuron_ids` (indices) from `population`; returns the new size.
    fn prune(&self, py: Python<'_>, population: &str, neuron_ids: Vec<usize>) -> PyResult<usize> {
        self.detached(py, |s| {
            s.prune(population, &neuron_ids).map(|o| o.size_after)
        })
    }

    /// Writes a checkpoint into the run directory `dir` (the format of `snnsim run`);
    /// returns the checkpoint file's path.
    fn checkpoint(&self, py: Python<'_>, dir: PathBuf) -> PyResult<String> {
        self.detached(py, |s| s.checkpoint(&dir).map(|p| p.display().to_string()))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        self.with(py, |s| {
            Ok(format!(
                "<snnsim.Simulation {} populations, step {}, t = {} ms>",
                s.engine.net.population_count(),
                s.engine.step,
                s.engine.time_ms()
            ))
        })
    }
}

fn population_of<'a>(
    e: &'a snnsim::engine::Engine,
    name: &str,
) -> snnsim::Result<&'a snnsim::graph::Population> {
    e.net.population(name).ok_or_else(|| {
        let names: Vec<&str> = e.net.populations().map(|p| p.name.as_str()).collect();
        snnsim::Error::Input(format!(
            "no population `{name}` (the network has {})",
            names.join(", ")
        ))
    })
}

fn projection_of<'a>(
    e: &'a snnsim::engine::Engine,
    name: &str,
) -> snnsim::Result<&'a snnsim::graph::Projection> {
    e.net.projection(name).ok_or_else(|| {
        let names: Vec<&str> = e
            .net
            .projections()
            .map(|(_, _, p)| p.name.as_str())
            .collect();
        snnsim::Error::Input(format!(
            "no projection `{name}` (the network has {})",
            names.join(", ")
        ))
    })
}
