//! `snnsim run FILE` for a file with a `Reservoir` task: builds the network, drives it with the
//! task's signal (`crate::reservoir`), fits the readout, and writes the run directory:
//! `config.ron`, `summary.json` (the NRMSE figures), `series.npy` (samples × 2, float64: input
//! and target of every sample, so that a peer — benches/peers/esn.py — is scored on the same
//! data), `prediction.npy` (the readout's output on the test samples) and the recorders'
//! files. A reservoir run is one pass of seconds to minutes with nothing learnt until its end,
//! so it takes no checkpoints. A run stopped early — by Ctrl-C, or by `--duration-ms` shorter
//! than its samples (a quick look at the spikes) — writes everything but the readout: its
//! summary's `stopped` says where, and the NRMSE fields are null.

use super::run::{population_summaries, prepare, write_recordings, PopulationSummary, RunDir};
use super::{RunOptions, Stopped};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::file::{SignalSpec, TaskSpec};
use crate::io::write_atomic;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Instant;

/// `summary.json` of a reservoir run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReservoirSummary {
    /// snnsim version.
    pub version: String,
    /// The graph file as given.
    pub file: String,
    /// The run directory.
    pub run_dir: String,
    /// Root seed (the network and the signal).
    pub seed: u64,
    /// Worker threads.
    pub threads: usize,
    /// `narma10` or `mackey_glass`.
    pub signal: String,
    /// Time step (ms).
    pub dt_ms: f64,
    /// Steps simulated.
    pub steps: u64,
    /// Samples of development (structural policies active) before the protocol.
    pub develop: usize,
    /// Samples dropped, fitted on, tested on.
    pub washout: usize,
    /// See `washout`.
    pub train: usize,
    /// See `washout`.
    pub test: usize,
    /// Features per sample.
    pub features: usize,
    /// NRMSE = √(MSE / Var y) of the readout on the training samples.
    pub nrmse_train: Option<f64>,
    /// The same on the test samples.
    pub nrmse_test: Option<f64>,
    /// The test NRMSE of a ridge readout of the last `delay_line` inputs alone.
    pub nrmse_delay_line: Option<f64>,
    /// Length of that delay line.
    pub delay_line: usize,
    /// The ridge penalty chosen for the reservoir readout.
    pub ridge_lambda: Option<f64>,
    /// The ridge penalty chosen for the delay line.
    pub delay_line_lambda: Option<f64>,
    /// Reservoir neurons that never spiked.
    pub silent_neurons: usize,
    /// Synapses in the network at the end.
    pub synapses: u64,
    /// The same per projection (a grown reservoir's final wiring, for a matched random one).
    pub projection_synapses: BTreeMap<String, u64>,
    /// Per population.
    pub populations: BTreeMap<String, PopulationSummary>,
    /// Wall time of network construction (s).
    pub build_wall_s: f64,
    /// Wall time of the simulation and the fits (s).
    pub run_wall_s: f64,
    /// Hash over every weight and state value at the end of the run.
    pub state_hash: String,
    /// Where the run stopped before its last sample (unit `samples`); `None` when it ran
    /// through and the readout was fitted. A stopped run's NRMSE fields are `None`.
    pub stopped: Option<Stopped>,
}

/// Runs a graph file with a `Reservoir` task and writes its run directory.
pub fn run_reservoir(opts: &RunOptions) -> Result<ReservoirSummary> {
    let p = prepare(opts)?;
    let Some(TaskSpec::Reservoir(spec)) = &p.checked.file.task else {
        return Err(Error::Input(format!(
            "{}: the file has no Reservoir task",
            opts.file.display()
        )));
    };
    if opts.resume || p.checked.file.checkpoint_every.is_some() {
        return Err(Error::Input(format!(
            "{}: a reservoir run takes no checkpoints (it is one pass whose readout is fitted at the end); run it without --resume and checkpoint_every",
            opts.file.display()
        )));
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(p.threads)
        .build()
        .map_err(|e| Error::Run(format!("cannot start {} threads: {e}", p.threads)))?;
    let (engine, outcome, build_wall_s, run_wall_s) = pool.install(|| -> Result<_> {
        let t0 = Instant::now();
        let mut engine = Engine::from_file(&p.checked)?;
        let build = t0.elapsed().as_secs_f64();
        let mut dir = RunDir::create(&p.run_dir, &p.config, false)?;
        dir.keep();
        let t1 = Instant::now();
        let stop = &opts.stop;
        let max_steps = opts.duration_ms.map(|d| (d / engine.dt_ms).round() as u64);
        let outcome =
            crate::reservoir::run(&mut engine, spec, p.checked.file.seed, max_steps, &|| {
                stop.requested()
            })?;
        Ok((engine, outcome, build, t1.elapsed().as_secs_f64()))
    })?;
    write_recordings(&engine, &p.run_dir)?;
    let samples = outcome.series.input.len();
    let series: Vec<f64> = (0..samples)
        .flat_map(|k| [outcome.series.input[k], outcome.series.target[k]])
        .collect();
    super::nir_run::write_npy(&p.run_dir.join("series.npy"), &[samples, 2], series)?;
    if let Some(fit) = &outcome.fit {
        super::nir_run::write_npy(
            &p.run_dir.join("prediction.npy"),
            &[fit.test_prediction.len()],
            fit.test_prediction.iter().copied(),
        )?;
    }
    let total = spec.develop + spec.washout + spec.train + spec.test;
    let stopped = (outcome.samples_done < total).then(|| Stopped {
        signal: if opts.stop.requested() {
            opts.stop.cause()
        } else {
            "--duration-ms".into()
        },
        unit: "samples".into(),
        at: outcome.samples_done as u64,
        of: total as u64,
        checkpoint: None,
    });
    let fit = outcome.fit.as_ref();
    let summary = ReservoirSummary {
        version: env!("CARGO_PKG_VERSION").to_string(),
        file: opts.file.display().to_string(),
        run_dir: p.run_dir.display().to_string(),
        seed: p.checked.file.seed,
        threads: p.threads,
        signal: match spec.signal {
            SignalSpec::Narma10(_) => "narma10",
            SignalSpec::MackeyGlass(_) => "mackey_glass",
        }
        .into(),
        dt_ms: engine.dt_ms,
        steps: engine.step,
        develop: spec.develop,
        washout: spec.washout,
        train: spec.train,
        test: spec.test,
        features: outcome.features,
        nrmse_train: fit.map(|f| f.nrmse_train),
        nrmse_test: fit.map(|f| f.nrmse_test),
        nrmse_delay_line: fit.map(|f| f.nrmse_delay_line),
        delay_line: spec.delay_line,
        ridge_lambda: fit.map(|f| f.ridge_lambda),
        delay_line_lambda: fit.map(|f| f.delay_line_lambda),
        silent_neurons: outcome.silent_neurons,
        synapses: engine
            .net
            .projections()
            .map(|(_, _, p)| p.nnz() as u64)
            .sum(),
        projection_synapses: engine
            .net
            .projections()
            .map(|(_, _, p)| (p.name.clone(), p.nnz() as u64))
            .collect(),
        populations: population_summaries(&engine),
        build_wall_s,
        run_wall_s,
        state_hash: engine.state_hash(),
        stopped,
    };
    let json = serde_json::to_string_pretty(&summary).expect("summary serialises");
    write_atomic(&p.run_dir.join("summary.json"), json.as_bytes())?;
    Ok(summary)
}
