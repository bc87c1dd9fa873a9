//! Reservoir computing on the engine: a recurrent spiking network is driven by a signal, its
//! filtered spikes are read out linearly, and only the readout is trained — in closed form,
//! so a run is a simulation followed by one ridge regression, with nothing to checkpoint
//! between them.
//!
//! Why it lives here and not in a plugin: the readout needs every reservoir neuron's spikes of
//! every step and a linear solve over the whole run, which is neither a learning rule (rules
//! see one step) nor an environment; the network itself is an ordinary graph file, so any
//! model, projection, plasticity rule or structural policy can make the reservoir. The
//! layers stay pointing down: this module uses the engine and the file's task, the app writes
//! the run directory.
//!
//! Protocol (docs/reservoir.md): sample k's input u(k) is fed to every neuron of the `input`
//! population (`input_scale · u + input_offset`; several neurons, each with its own synapses
//! and delays into the reservoir, let it see the input at several lags) for `steps_per_sample` steps; then each reservoir
//! neuron's exponentially filtered spike train (+1 per spike, decay exp(−dt/τ) per step) is a
//! feature of sample k, whose target is the signal's (NARMA-10's y(k+1)). Washout samples are
//! dropped, the next `train` samples fit the readout, the last `test` score it. The baseline
//! is the same ridge readout of the last `delay_line` inputs alone.
//!
//! A grown reservoir first develops: for `develop` samples the input drives the network while
//! the file's structural policies (plugins, e.g. plugins/develop) add and remove neurons and
//! synapses as graph edits; then the policies stop, the network is frozen in structure, and
//! the protocol above runs on what grew.

pub mod ridge;
pub mod signal;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::file::ReservoirSpec;

/// What a reservoir run found.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The fitted readout and its scores; `None` when the run stopped before its last sample.
    pub fit: Option<Fit>,
    /// Samples driven through the network (all of them unless the run stopped).
    pub samples_done: usize,
    /// Features per sample (reservoir neurons, plus the input when asked).
    pub features: usize,
    /// Reservoir neurons that never spiked.
    pub silent_neurons: usize,
    /// The signal, all samples.
    pub series: signal::Series,
}

/// The readouts of a complete run.
#[derive(Debug, Clone)]
pub struct Fit {
    /// NRMSE of the readout on the training samples.
    pub nrmse_train: f64,
    /// NRMSE of the readout on the test samples.
    pub nrmse_test: f64,
    /// NRMSE on the test samples of a ridge readout of the last `delay_line` inputs alone.
    pub nrmse_delay_line: f64,
    /// The ridge penalty chosen for the reservoir readout.
    pub ridge_lambda: f64,
    /// The ridge penalty chosen for the delay line.
    pub delay_line_lambda: f64,
    /// The readout's prediction for the test samples.
    pub test_prediction: Vec<f64>,
}

/// Runs the task on `engine` (built from the file, at step 0). `seed` keys the signal.
/// The run ends early, without a readout, when `stop` says so after a sample or when the next
/// sample would take the engine past `max_steps`.
pub fn run(
    engine: &mut Engine,
    spec: &ReservoirSpec,
    seed: u64,
    max_steps: Option<u64>,
    stop: &dyn Fn() -> bool,
) -> Result<Outcome> {
    let total = spec.develop + spec.washout + spec.train + spec.test;
    // A run cut short by `max_steps` draws only the samples it reaches.
    let reach = max_steps.map_or(total, |m| {
        let fit = m.saturating_sub(engine.step) / u64::from(spec.steps_per_sample);
        total.min(usize::try_from(fit).unwrap_or(usize::MAX))
    });
    let series = signal::generate(&spec.signal, reach, seed).map_err(Error::Input)?;
    let input = engine.net.pop_id(&spec.input).expect("validated input");
    let past_limit =
        |e: &Engine| max_steps.is_some_and(|m| e.step + u64::from(spec.steps_per_sample) > m);
    // Development: the structural policies edit the network under the input; sizes may change.
    let mut samples_done = 0;
    let mut stopped = false;
    for &u in series.input.iter().take(spec.develop) {
        if past_limit(engine) {
            stopped = true;
            break;
        }
        let fed = vec![spec.input_scale * u + spec.input_offset; engine.net.pop(input).len()];
        engine.set_values(&spec.input, &fed)?;
        for _ in 0..spec.steps_per_sample {
            engine.step()?;
        }
        samples_done += 1;
        if stop() {
            stopped = true;
            break;
        }
    }
    engine.end_structure();
    let pops: Vec<_> = spec
        .reservoir
        .iter()
        .map(|n| {
            engine
                .net
                .pop_id(n)
                .expect("validated reservoir population")
        })
        .collect();
    let sizes: Vec<usize> = pops.iter().map(|&p| engine.net.pop(p).len()).collect();
    let neurons: usize = sizes.iter().sum();
    let taus = spec.feature_tau_ms.len();
    let dim = neurons * taus + usize::from(spec.include_input);
    let decay: Vec<f64> = spec
        .feature_tau_ms
        .iter()
        .map(|t| (-engine.dt_ms / t).exp())
        .collect();
    // trace[f · neurons + i]: neuron i filtered with time constant f.
    let mut trace = vec![0.0f64; neurons * taus];
    let mut counts = vec![0u64; neurons];
    let used = spec.train + spec.test;
    let mut x = Vec::with_capacity(used * dim);
    let mut fed = vec![0.0; engine.net.pop(input).len()];
    let first_used = spec.develop + spec.washout;
    for (k, &u) in series.input.iter().enumerate().skip(spec.develop) {
        if stopped || past_limit(engine) {
            break;
        }
        fed.fill(spec.input_scale * u + spec.input_offset);
        engine.set_values(&spec.input, &fed)?;
        for _ in 0..spec.steps_per_sample {
            engine.step()?;
            for (t, &d) in trace.chunks_exact_mut(neurons).zip(&decay) {
                t.iter_mut().for_each(|x| *x *= d);
            }
            let mut base = 0;
            for (&p, &n) in pops.iter().zip(&sizes) {
                for &j in &engine.net.pop(p).spikes {
                    let i = base + j as usize;
                    counts[i] += 1;
                    for f in 0..taus {
                        trace[f * neurons + i] += 1.0;
                    }
                }
                base += n;
            }
        }
        if k >= first_used {
            x.extend_from_slice(&trace);
            if spec.include_input {
                x.push(u);
            }
        }
        samples_done = k + 1;
        if stop() {
            break;
        }
    }
    let silent_neurons = counts.iter().filter(|&&c| c == 0).count();
    if samples_done < total {
        return Ok(Outcome {
            fit: None,
            samples_done,
            features: dim,
            silent_neurons,
            series,
        });
    }
    let y = &series.target[first_used..];
    let (xtr, xte) = x.split_at(spec.train * dim);
    let (ytr, yte) = y.split_at(spec.train);
    let no_fit = |what: &str| {
        Error::Run(format!(
            "the {what} readout could not be fitted with any ridge penalty in {:?} (the normal equations are singular: give a penalty above 0)",
            spec.ridge
        ))
    };
    let (readout, ridge_lambda) =
        ridge::fit_best(xtr, dim, ytr, &spec.ridge).ok_or_else(|| no_fit("reservoir"))?;
    let test_prediction = readout.predict(xte);
    let nrmse_train = ridge::nrmse(&readout.predict(xtr), ytr);
    let nrmse_test = ridge::nrmse(&test_prediction, yte);

    let (dl, dl_dim) = delay_line(&series.input, spec.delay_line, first_used);
    let (dtr, dte) = dl.split_at(spec.train * dl_dim);
    let (dl_readout, delay_line_lambda) =
        ridge::fit_best(dtr, dl_dim, ytr, &spec.ridge).ok_or_else(|| no_fit("delay-line"))?;
    let nrmse_delay_line = ridge::nrmse(&dl_readout.predict(dte), yte);

    Ok(Outcome {
        fit: Some(Fit {
            nrmse_train,
            nrmse_test,
            nrmse_delay_line,
            ridge_lambda,
            delay_line_lambda,
            test_prediction,
        }),
        samples_done,
        features: dim,
        silent_neurons,
        series,
    })
}

/// Rows of the last `len` inputs (u(k), u(k−1), …; zero before the signal starts) for the
/// samples after `washout`: (values, features per row).
pub fn delay_line(u: &[f64], len: usize, washout: usize) -> (Vec<f64>, usize) {
    let mut rows = Vec::with_capacity((u.len() - washout) * len);
    for k in washout..u.len() {
        rows.extend((0..len).map(|i| if k >= i { u[k - i] } else { 0.0 }));
    }
    (rows, len)
}
