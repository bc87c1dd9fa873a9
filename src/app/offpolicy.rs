//! `snnsim run` on a control task with `off_policy: (...)` (docs/rainbow.md): train a spiking
//! Q-network for the task's budget of environment steps, then evaluate the greedy policy, and
//! write `metrics.csv` (one row per training episode), `decays.csv` where populations learn
//! their decays (`learn_decay`), and `summary.json` — the control
//! summary plus the budget and the evaluation. Checkpoints fall every `checkpoint_every`
//! environment steps (the unit of this task's budget) and hold the replay buffer, the target
//! network and the optimiser state, so `--resume` continues bit for bit. One process: the
//! updates of one environment stream are sequential, so there is nothing to split over ranks.
//!
//! `--dense` trains the same architecture with ReLU units (docs/rainbow.md): the run directory
//! then holds a file `dense`, so `--resume` continues the dense network, and the summary has the
//! same keys for it (`silent_fraction_per_step`, `synaptic_ops_per_decision`,
//! `energy_pj_estimate`, `decisions_per_s`).

use super::control::{write_metrics, ControlSummary};
use super::run::RunDir;
use super::train::{checkpoint_at, first_reaching, resume_state, stop_requested};
use super::RunOptions;
use crate::agent::dqn::DqnTrainer;
use crate::error::{Error, Result};
use crate::file::Checked;
use crate::io::write_atomic;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

/// The off-policy part of a control run's `summary.json`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OffPolicySummary {
    /// Environment steps trained.
    pub env_steps: u64,
    /// Updates (minibatches) applied.
    pub updates: u64,
    /// Greedy episodes evaluated after training (0 when the run was stopped early).
    pub eval_episodes: u64,
    /// Mean return of those episodes (null when none ran).
    pub eval_return_mean: Option<f64>,
    /// Their smallest return.
    pub eval_return_min: Option<f64>,
    /// Per hidden population, the fraction of its neurons silent per simulation step during
    /// the greedy evaluation.
    pub silent_fraction_per_step: BTreeMap<String, f64>,
    /// `spiking`, or `dense` (ReLU units, `--dense`).
    pub network: &'static str,
    /// Synaptic operations per greedy decision (mean over the evaluation): accumulates of
    /// spikes, multiply-accumulates of real values (null when no evaluation ran).
    pub synaptic_ops_per_decision: Option<OpsPerDecision>,
    /// Energy of those operations per decision at 45 nm (pJ): 0.9 per accumulate + 4.6 per
    /// multiply-accumulate (Horowitz 2014).
    pub energy_pj_estimate: Option<f64>,
    /// Greedy decisions per second of the evaluation's wall time (forward pass and
    /// environment step).
    pub decisions_per_s: Option<f64>,
    /// Environment steps per second of wall time (training loop only).
    pub env_steps_per_s: f64,
}

/// Mean synaptic operations per decision.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OpsPerDecision {
    /// Accumulates (one per synapse of each spike).
    pub accumulates: f64,
    /// Multiply-accumulates (one per weight of each evaluation of real values).
    pub macs: f64,
}

/// Trains an off-policy control task (already prepared by [`super::train_control`]).
pub(super) fn train_off_policy(
    opts: &RunOptions,
    (checked, config, threads, run_dir): (Checked, String, usize, PathBuf),
    progress: &mut dyn FnMut(&str),
) -> Result<ControlSummary> {
    let comm = opts.comm.clone().unwrap_or_else(crate::comm::single);
    let comm = &*comm;
    if comm.size() > 1 {
        return Err(Error::Input(format!(
            "{}: off-policy training runs in one process (its updates follow one environment stream); run it without mpirun",
            opts.file.display()
        )));
    }
    let t0 = Instant::now();
    let marker = run_dir.join("dense");
    let dense = if opts.resume {
        marker.exists()
    } else {
        opts.dense
    };
    let mut trainer = DqnTrainer::new(&checked, dense)?;
    trainer.set_threads(threads)?;
    if opts.resume {
        if let Some(state) = resume_state(comm, &run_dir)? {
            trainer.load_state(&state)?;
        }
    }
    let build_wall_s = t0.elapsed().as_secs_f64();
    let mut dir = RunDir::create(&run_dir, &config, opts.resume)?;
    if dense && !opts.resume {
        write_atomic(
            &marker,
            b"ReLU units for the spiking hidden populations (snnsim run --dense)\n",
        )?;
    }
    dir.keep();
    let spec = trainer.spec().clone();
    let budget = trainer.off_policy().env_steps;
    let every = spec.progress_every;
    let mut next = (trainer.episodes_done / every.max(1) + 1) * every;
    let ck_every = checked.file.checkpoint_every;
    let mut last_written = crate::checkpoint::list(&run_dir)
        .into_iter()
        .find(|(at, _)| opts.resume && *at == trainer.env_steps);
    let t1 = Instant::now();
    let start_steps = trainer.env_steps;
    let mut stopping = stop_requested(comm, &opts.stop)?;
    let episodes = spec.episodes;
    let finished = |t: &DqnTrainer| t.env_steps >= budget || t.episodes_done >= episodes;
    while !finished(&trainer) {
        let target = ck_every.map_or(budget, |k| ((trainer.env_steps / k + 1) * k).min(budget));
        while trainer.env_steps < target && !finished(&trainer) && !stopping {
            // A stop is honoured within 1000 environment steps.
            let chunk = (trainer.env_steps + 1000).min(target);
            trainer.train(chunk, episodes, |t| {
                if every > 0 && t.episodes_done >= next {
                    next += every;
                    let m = &t.metrics[t.metrics.len().saturating_sub(100)..];
                    let n = m.len().max(1) as f64;
                    progress(&format!(
                        "episode {:>7}  env steps {:>8}  return (last 100) {:>9.2}  rate {:.4}",
                        t.episodes_done,
                        t.env_steps,
                        m.iter().map(|x| x.ret).sum::<f64>() / n,
                        m.iter().map(|x| x.avg_firing_rate).sum::<f64>() / n,
                    ));
                }
            })?;
            stopping = stop_requested(comm, &opts.stop)?;
        }
        let wanted = ck_every.is_some() || finished(&trainer);
        let at = trainer.env_steps;
        checkpoint_at(&run_dir, &config, at, wanted, &mut last_written, || {
            trainer.save_state()
        })?;
        if stopping {
            break;
        }
    }
    let sim_wall_s = t1.elapsed().as_secs_f64();
    let stopped = (!finished(&trainer)).then(|| super::Stopped {
        signal: opts.stop.cause(),
        unit: "env_steps".into(),
        at: trainer.env_steps,
        of: budget,
        checkpoint: last_written.map(|(_, p)| p.display().to_string()),
    });
    let eval = if stopped.is_none() {
        let n = trainer.off_policy().eval_episodes;
        let e = trainer.evaluate(n)?;
        progress(&format!(
            "greedy evaluation: mean return {:.2} over {n} episodes",
            e.returns.iter().sum::<f64>() / n.max(1) as f64
        ));
        Some(e)
    } else {
        None
    };
    write_metrics(&trainer.metrics, &run_dir.join("metrics.csv"))?;
    if let Some(csv) = trainer.decays_csv() {
        write_atomic(&run_dir.join("decays.csv"), csv.as_bytes())?;
    }
    let returns: Vec<f64> = trainer.metrics.iter().map(|m| m.ret).collect();
    let last = &trainer.metrics[trainer.metrics.len().saturating_sub(100)..];
    let n = last.len().max(1) as f64;
    let best = (returns.len() >= 100).then(|| {
        returns
            .windows(100)
            .map(|w| w.iter().sum::<f64>() / 100.0)
            .fold(f64::NEG_INFINITY, f64::max)
    });
    let eval_returns = eval.as_ref().map_or(&[][..], |e| &e.returns[..]);
    let off_policy = OffPolicySummary {
        env_steps: trainer.env_steps,
        updates: trainer.updates(),
        eval_episodes: eval_returns.len() as u64,
        eval_return_mean: (!eval_returns.is_empty())
            .then(|| eval_returns.iter().sum::<f64>() / eval_returns.len() as f64),
        eval_return_min: eval_returns.iter().copied().reduce(f64::min),
        silent_fraction_per_step: eval
            .as_ref()
            .map(|e| e.silent_fraction.iter().cloned().collect())
            .unwrap_or_default(),
        network: if dense { "dense" } else { "spiking" },
        synaptic_ops_per_decision: eval.as_ref().filter(|e| e.decisions > 0).map(|e| {
            let n = e.decisions as f64;
            OpsPerDecision {
                accumulates: e.ops.accumulates as f64 / n,
                macs: e.ops.macs as f64 / n,
            }
        }),
        energy_pj_estimate: eval
            .as_ref()
            .filter(|e| e.decisions > 0)
            .map(|e| e.ops.energy_pj() / e.decisions as f64),
        decisions_per_s: eval
            .as_ref()
            .filter(|e| e.decisions > 0)
            .map(|e| e.decisions as f64 / e.wall_s.max(1e-9)),
        env_steps_per_s: (trainer.env_steps - start_steps) as f64 / sim_wall_s.max(1e-9),
    };
    let summary = ControlSummary {
        version: env!("CARGO_PKG_VERSION").to_string(),
        file: opts.file.display().to_string(),
        run_dir: run_dir.display().to_string(),
        environment: spec.environment.plugin.clone(),
        rule: spec.rule.plugin.clone(),
        seed: checked.file.seed,
        threads,
        ranks: 1,
        episodes: trainer.episodes_done,
        mean_return_last_100: last.iter().map(|m| m.ret).sum::<f64>() / n,
        best_mean_return_100: best,
        solved_at: spec.solved_at,
        episodes_to_solve: spec
            .solved_at
            .and_then(|bar| first_reaching(&returns, 100, bar)),
        mean_length_last_100: last.iter().map(|m| m.length as f64).sum::<f64>() / n,
        episodes_per_s: (trainer.episodes_done as f64) / sim_wall_s.max(1e-9),
        sim_wall_s,
        build_wall_s,
        state_hash: trainer.state_hash(),
        stopped,
        off_policy: Some(off_policy),
    };
    let json = serde_json::to_string_pretty(&summary).expect("summary serialises");
    write_atomic(&run_dir.join("summary.json"), json.as_bytes())?;
    Ok(summary)
}
