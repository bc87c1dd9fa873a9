//! `snnsim run` on a file with a `Control` task: train, then write `metrics.csv` (one row per
//! episode) and `summary.json` (`mean_return_last_100`, `episodes_to_solve`, ...). Checkpoints
//! and `--resume` work as for the foraging task (src/app/train.rs): checkpoints fall on batch
//! boundaries, so a resumed run trains on the same batches.

use super::run::{prepare, Prepared, RunDir, RunOptions};
use super::train::{checkpoint_at, checkpoint_target, first_reaching};
use crate::agent::control::ControlTrainer;
use crate::comm::agree;
use crate::error::{Error, Result};
use crate::io::{write_atomic, AtomicFile};
use serde::Serialize;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

/// `summary.json` of a control run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ControlSummary {
    /// snnsim version.
    pub version: String,
    /// The graph file as given.
    pub file: String,
    /// The run directory.
    pub run_dir: String,
    /// The environment plugin.
    pub environment: String,
    /// The rule plugin.
    pub rule: String,
    /// Root seed.
    pub seed: u64,
    /// Worker threads.
    pub threads: usize,
    /// MPI ranks the batches' episodes were split over (1: this process alone).
    pub ranks: usize,
    /// Episodes trained.
    pub episodes: u64,
    /// Mean return over the last 100 episodes (or all, if fewer).
    pub mean_return_last_100: f64,
    /// Best mean return over 100 consecutive episodes (null before 100 episodes).
    pub best_mean_return_100: Option<f64>,
    /// The task's bar (`solved_at`), if it has one.
    pub solved_at: Option<f64>,
    /// First episode (0-based) at which the mean return over the last 100 episodes reached
    /// the bar, or null.
    pub episodes_to_solve: Option<u64>,
    /// Mean episode length over the last 100 episodes.
    pub mean_length_last_100: f64,
    /// Episodes per second of wall time (training loop only).
    pub episodes_per_s: f64,
    /// Wall time of the training loop (s).
    pub sim_wall_s: f64,
    /// Wall time of construction and plugin loading (s).
    pub build_wall_s: f64,
    /// Hash over every weight and state value at the end.
    pub state_hash: String,
    /// Present when training was stopped before its end (SIGINT, SIGTERM,
    /// [`super::RunOptions::stop`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<super::Stopped>,
    /// An off-policy run's budget and greedy evaluation (docs/rainbow.md).
    #[serde(flatten)]
    pub off_policy: Option<super::offpolicy::OffPolicySummary>,
}

/// Trains the control task of `opts.file` and writes its run directory.
pub fn train_control(opts: &RunOptions, progress: &mut dyn FnMut(&str)) -> Result<ControlSummary> {
    // As a foraging run on several ranks (app/train.rs): all prepare, build and resume alike,
    // rank 0 writes, and each step that may fail on one rank is agreed on.
    let comm = opts.comm.clone().unwrap_or_else(crate::comm::single);
    let comm = &*comm;
    let root = comm.rank() == 0;
    let Prepared {
        checked,
        config,
        threads,
        run_dir,
        ..
    } = agree(comm, prepare(opts))?;
    let off_policy = matches!(&checked.file.task,
        Some(crate::file::TaskSpec::Control(a)) if a.off_policy.is_some());
    if off_policy {
        let prepared = (checked, config, threads, run_dir);
        return super::offpolicy::train_off_policy(opts, prepared, progress);
    }
    let t0 = Instant::now();
    let built = ControlTrainer::new(&checked).and_then(|mut trainer| {
        trainer.set_threads(threads)?;
        Ok(trainer)
    });
    let mut trainer = agree(comm, built)?;
    if comm.size() > 1 {
        trainer.set_comm(opts.comm.clone().expect("several ranks come with a comm"));
    }
    if opts.resume {
        if let Some(state) = super::train::resume_state(comm, &run_dir)? {
            let loaded = trainer.load_state(&state);
            agree(comm, loaded)?;
        }
    }
    let build_wall_s = t0.elapsed().as_secs_f64();
    let mut dir = agree(
        comm,
        if root {
            RunDir::create(&run_dir, &config, opts.resume).map(Some)
        } else {
            Ok(None)
        },
    )?;
    let spec = trainer.spec().clone();
    let every = spec.progress_every;
    let t1 = Instant::now();
    let mut next = (trainer.episodes_done / every.max(1) + 1) * every;
    if let Some(d) = &mut dir {
        d.keep();
    }
    let batch = spec.batch as u64;
    let ck_every = checked.file.checkpoint_every;
    // The position of the last checkpoint written, so that a stop right after one does not
    // write the same position again.
    let mut last_written = crate::checkpoint::list(&run_dir)
        .into_iter()
        .find(|(at, _)| root && opts.resume && *at == trainer.episodes_done);
    let mut stopping = super::train::stop_requested(comm, &opts.stop)?;
    while trainer.episodes_done < spec.episodes {
        let target = checkpoint_target(trainer.episodes_done, ck_every, batch, spec.episodes);
        // One batch at a time, so that a stop is honoured after the current batch.
        while trainer.episodes_done < target && !stopping {
            let next_batch = (trainer.episodes_done + batch).min(target);
            trainer.train(next_batch, |t| {
                if every > 0 && t.episodes_done >= next {
                    next += every;
                    let m = &t.metrics[t.metrics.len().saturating_sub(100)..];
                    let n = m.len().max(1) as f64;
                    progress(&format!(
                        "episode {:>7}  return (last 100) {:>9.2}  length {:>6.1}  rate {:.4}",
                        t.episodes_done,
                        m.iter().map(|x| x.ret).sum::<f64>() / n,
                        m.iter().map(|x| x.length as f64).sum::<f64>() / n,
                        m.iter().map(|x| x.avg_firing_rate).sum::<f64>() / n,
                    ));
                }
            })?;
            stopping = super::train::stop_requested(comm, &opts.stop)?;
        }
        // The end of training always leaves a checkpoint: the trained policy, which
        // `agent::Policy` (and `snnsim.Agent`) load from the run directory.
        let wanted = ck_every.is_some() || trainer.episodes_done >= spec.episodes;
        let done = trainer.episodes_done;
        let written = if root {
            checkpoint_at(&run_dir, &config, done, wanted, &mut last_written, || {
                trainer.save_state()
            })
        } else {
            Ok(())
        };
        agree(comm, written)?;
        if stopping {
            break;
        }
    }
    let stopped = (trainer.episodes_done < spec.episodes).then(|| super::Stopped {
        signal: opts.stop.cause(),
        unit: "episodes".into(),
        at: trainer.episodes_done,
        of: spec.episodes,
        checkpoint: last_written.map(|(_, p)| p.display().to_string()),
    });
    let sim_wall_s = t1.elapsed().as_secs_f64();
    let written = if root {
        write_metrics(&trainer.metrics, &run_dir.join("metrics.csv"))
    } else {
        Ok(())
    };
    agree(comm, written)?;
    let returns: Vec<f64> = trainer.metrics.iter().map(|m| m.ret).collect();
    let last = &trainer.metrics[trainer.metrics.len().saturating_sub(100)..];
    let n = last.len().max(1) as f64;
    let best = (returns.len() >= 100).then(|| {
        returns
            .windows(100)
            .map(|w| w.iter().sum::<f64>() / 100.0)
            .fold(f64::NEG_INFINITY, f64::max)
    });
    let summary = ControlSummary {
        version: env!("CARGO_PKG_VERSION").to_string(),
        file: opts.file.display().to_string(),
        run_dir: run_dir.display().to_string(),
        environment: spec.environment.plugin.clone(),
        rule: spec.rule.plugin.clone(),
        seed: checked.file.seed,
        threads,
        ranks: comm.size(),
        episodes: trainer.episodes_done,
        mean_return_last_100: last.iter().map(|m| m.ret).sum::<f64>() / n,
        best_mean_return_100: best,
        solved_at: spec.solved_at,
        episodes_to_solve: spec
            .solved_at
            .and_then(|bar| first_reaching(&returns, 100, bar)),
        mean_length_last_100: last.iter().map(|m| m.length as f64).sum::<f64>() / n,
        episodes_per_s: trainer.episodes_done as f64 / sim_wall_s.max(1e-9),
        sim_wall_s,
        build_wall_s,
        state_hash: crate::engine::hash::state_hash(&trainer.net, trainer.episodes_done),
        stopped,
        off_policy: None,
    };
    let json = serde_json::to_string_pretty(&summary).expect("summary serialises");
    let written = if root {
        write_atomic(&run_dir.join("summary.json"), json.as_bytes())
    } else {
        Ok(())
    };
    agree(comm, written)?;
    Ok(summary)
}

/// `metrics.csv` of a control run: one row per episode.
pub(super) fn write_metrics(
    metrics: &[crate::agent::control::ControlMetrics],
    path: &Path,
) -> Result<()> {
    let mut f = AtomicFile::create(path)?;
    let res = (|| -> std::io::Result<()> {
        writeln!(
            f,
            "episode,return,length,terminated,avg_firing_rate,synaptic_events"
        )?;
        for m in metrics {
            writeln!(
                f,
                "{},{},{},{},{},{}",
                m.episode,
                m.ret,
                m.length,
                u8::from(m.terminated),
                m.avg_firing_rate,
                m.synaptic_events
            )?;
        }
        Ok(())
    })();
    res.map_err(|e| Error::io(path, e))?;
    f.commit()
}
