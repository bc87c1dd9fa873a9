//! `snnsim run` on a file with an agent task: train, then write `metrics.csv` (one row per
//! episode), `edits.csv` (one row per structural edit) and `summary.json`.

use super::run::{prepare, Prepared, RunDir, RunOptions};
use crate::agent::train::Trainer;
use crate::checkpoint::{Checkpoint, Kind};
use crate::comm::{agree, Comm};
use crate::error::{Error, Result};
use crate::io::{write_atomic, AtomicFile};
use crate::observe::{Observer, RunInfo, TrainProgress};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// `summary.json` of a training run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TrainSummary {
    /// snnsim version.
    pub version: String,
    /// The graph file as given.
    pub file: String,
    /// The run directory.
    pub run_dir: String,
    /// Root seed.
    pub seed: u64,
    /// Worker threads (of each rank).
    pub threads: usize,
    /// MPI ranks the batches' episodes were split over (1: this process alone).
    pub ranks: usize,
    /// Where the decisions ran: `cpu`, or `gpu: <device> (<arch>, <platform>)`.
    pub device: String,
    /// Episodes trained.
    pub episodes: u64,
    /// Mean food per episode over the last 500 episodes (or all, if fewer).
    pub mean_food_last_500: f64,
    /// Mean return over the last 500 episodes.
    pub mean_return_last_500: f64,
    /// Hidden neurons at the end.
    pub final_hidden_size: usize,
    /// Growth edits.
    pub growth_events: usize,
    /// Pruning edits.
    pub pruning_events: usize,
    /// Episodes per second of wall time (training loop only).
    pub episodes_per_s: f64,
    /// Decisions (environment steps, each T steps of the network, its factored backward pass
    /// and its share of the update) per second of wall time (training loop only): the measure
    /// of training speed, since episodes end early once all food is eaten.
    pub decisions_per_s: f64,
    /// Wall time of the training loop (s).
    pub sim_wall_s: f64,
    /// Wall time of construction and plugin loading (s).
    pub build_wall_s: f64,
    /// Total hidden spikes × hidden neurons over the run (the seed's energy estimate).
    pub energy_total: f64,
    /// First episode at which the 100-episode moving average of food reached 3.0, if it did.
    pub episodes_to_food_3: Option<u64>,
    /// Hash over every weight and state value at the end.
    pub state_hash: String,
    /// Peak resident memory of the process (MB, `VmHWM`), as in a simulation's summary.
    pub peak_rss_mb: Option<f64>,
    /// Present when training was stopped before its end (SIGINT, SIGTERM,
    /// [`RunOptions::stop`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<super::Stopped>,
}

/// A progress line: episode, mean food and return over the last `window` episodes, hidden size,
/// mean rate.
pub type Progress<'a> = &'a mut dyn FnMut(&str);

/// Trains the agent of `opts.file` and writes its run directory.
pub fn train(opts: &RunOptions, progress: Progress<'_>) -> Result<TrainSummary> {
    train_observed(opts, progress, &mut crate::observe::Unobserved)
}

/// [`train`], telling `observer` how training goes after every batch of episodes.
pub fn train_observed(
    opts: &RunOptions,
    progress: Progress<'_>,
    observer: &mut dyn Observer,
) -> Result<TrainSummary> {
    // Every rank prepares, builds and resumes alike; rank 0 alone writes (docs/distributed.md),
    // and each step that may fail on one rank is agreed on, so no rank waits for one that left.
    let comm = opts.comm.clone().unwrap_or_else(crate::comm::single);
    let comm = &*comm;
    let root = comm.rank() == 0;
    let Prepared {
        checked,
        config,
        threads,
        run_dir,
        backend,
    } = agree(comm, prepare(opts))?;
    let t0 = Instant::now();
    let built = Trainer::new(&checked).and_then(|mut trainer| {
        trainer.set_threads(threads)?;
        trainer.set_backend(&backend);
        Ok(trainer)
    });
    let mut trainer = agree(comm, built)?;
    if comm.size() > 1 {
        trainer.set_comm(opts.comm.clone().expect("several ranks come with a comm"));
    }
    if opts.resume {
        if let Some(state) = resume_state(comm, &run_dir)? {
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
    let episodes = trainer.spec().episodes;
    let every = trainer.spec().progress_every;
    observer.start(&RunInfo {
        run: super::run::run_label(&run_dir),
        training: true,
        total: episodes,
        dt_ms: checked.file.dt_ms,
        progress_every: every,
        neurons: trainer.hidden_size(),
    })?;
    trainer.record_every_episode(observer.every_episode());
    // What the observers had recorded up to the checkpoint resumed from.
    if let Some(state) = trainer.observed.take() {
        observer.load(&state)?;
    }
    let t1 = Instant::now();
    let mut next = (trainer.episodes_done / every.max(1) + 1) * every;
    // Checkpoints fall on batch boundaries (the first at or after each multiple of
    // `checkpoint_every`), so a resumed run trains on exactly the same batches.
    let batch = trainer.spec().batch as u64;
    let ck_every = checked.file.checkpoint_every;
    if let Some(d) = &mut dir {
        d.keep();
    }
    let stop = &opts.stop;
    let mut stopped = None;
    // The position of the last checkpoint written, so that a stop right after one does not
    // write the same position again.
    let mut last_written = crate::checkpoint::list(&run_dir)
        .into_iter()
        .find(|(at, _)| root && opts.resume && *at == trainer.episodes_done);
    let mut stopping_now = stop_requested(comm, &opts.stop)?;
    while trainer.episodes_done < episodes {
        let target = checkpoint_target(trainer.episodes_done, ck_every, batch, episodes);
        // One batch at a time, so that a stop is honoured after the current batch; the
        // batches are the same as in one call up to `target`.
        while trainer.episodes_done < target && !stopping_now {
            let next_batch = (trainer.episodes_done + batch).min(target);
            trainer.train(next_batch, |t| {
                observer.training(&TrainProgress {
                    trainer: t,
                    wall_s: t1.elapsed().as_secs_f64(),
                });
                if every > 0 && t.episodes_done >= next {
                    next += every;
                    let m = &t.metrics[t.metrics.len().saturating_sub(every as usize)..];
                    let n = m.len().max(1) as f64;
                    progress(&format!(
                        "episode {:>7}  food {:.2}  return {:+.3}  hidden {:>4}  rate {:.4}",
                        t.episodes_done,
                        m.iter().map(|x| x.food as f64).sum::<f64>() / n,
                        m.iter().map(|x| x.ret).sum::<f64>() / n,
                        t.hidden_size(),
                        m.iter().map(|x| x.avg_firing_rate).sum::<f64>() / n,
                    ));
                }
            })?;
            stopping_now = stop_requested(comm, &opts.stop)?;
        }
        let stopping = stopping_now && trainer.episodes_done < episodes;
        // The end of training always leaves a checkpoint: the trained policy, which
        // `agent::Policy` (and `snnsim.Agent`) load from the run directory.
        let wanted = ck_every.is_some() || trainer.episodes_done >= episodes;
        let done = trainer.episodes_done;
        let written = if root {
            checkpoint_at(&run_dir, &config, done, wanted, &mut last_written, || {
                trainer.observed = observer.save();
                trainer.save_state()
            })
        } else {
            Ok(())
        };
        agree(comm, written)?;
        if stopping {
            stopped = Some(super::Stopped {
                signal: stop.cause(),
                unit: "episodes".into(),
                at: trainer.episodes_done,
                of: episodes,
                checkpoint: last_written.map(|(_, p)| p.display().to_string()),
            });
            break;
        }
    }
    let sim_wall_s = t1.elapsed().as_secs_f64();
    let written = if root {
        write_outputs(&trainer, &run_dir, checked.file.dt_ms)
    } else {
        Ok(())
    };
    agree(comm, written)?;
    let last = &trainer.metrics[trainer.metrics.len().saturating_sub(500)..];
    let n = last.len().max(1) as f64;
    let foods: Vec<f64> = trainer.metrics.iter().map(|m| m.food as f64).collect();
    let summary = TrainSummary {
        version: env!("CARGO_PKG_VERSION").to_string(),
        file: opts.file.display().to_string(),
        run_dir: run_dir.display().to_string(),
        seed: checked.file.seed,
        threads,
        ranks: comm.size(),
        device: trainer.device(),
        episodes: trainer.episodes_done,
        mean_food_last_500: last.iter().map(|m| m.food as f64).sum::<f64>() / n,
        mean_return_last_500: last.iter().map(|m| m.ret).sum::<f64>() / n,
        final_hidden_size: trainer.hidden_size(),
        growth_events: trainer.growth_events(),
        pruning_events: trainer.pruning_events(),
        episodes_per_s: trainer.episodes_done as f64 / sim_wall_s.max(1e-9),
        decisions_per_s: trainer
            .metrics
            .iter()
            .map(|m| f64::from(m.length))
            .sum::<f64>()
            / sim_wall_s.max(1e-9),
        sim_wall_s,
        build_wall_s,
        energy_total: trainer.metrics.iter().map(|m| m.energy).sum(),
        episodes_to_food_3: first_reaching(&foods, 100, 3.0),
        state_hash: crate::engine::hash::state_hash(&trainer.net, trainer.episodes_done),
        peak_rss_mb: super::run::peak_rss_mb(),
        stopped,
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

/// The state of the checkpoint a training run resumes from, on every rank: rank 0 picks it
/// (and renames a refused one) and sends its bytes to the others; `None` when there is none.
pub(super) fn resume_state(comm: &dyn Comm, run_dir: &Path) -> Result<Option<Vec<u8>>> {
    resume_state_of(comm, run_dir, Kind::Training)
}

/// [`resume_state`] of a run of `kind` (a simulation's, a training run's).
pub(super) fn resume_state_of(
    comm: &dyn Comm,
    run_dir: &Path,
    kind: Kind,
) -> Result<Option<Vec<u8>>> {
    let picked = if comm.rank() == 0 {
        super::run::newest_for_resume(run_dir, kind).map(|ck| ck.map(|c| c.state))
    } else {
        Ok(None)
    };
    let picked = agree(comm, picked)?;
    if comm.size() == 1 {
        return Ok(picked);
    }
    // Whether there is one, then the state itself (never copied on its way).
    let mut found = vec![u8::from(picked.is_some())];
    comm.broadcast(0, &mut found)?;
    if found != [1] {
        return Ok(None);
    }
    let mut bytes = picked.unwrap_or_default();
    comm.broadcast(0, &mut bytes)?;
    Ok(Some(bytes))
}

/// Whether a stop was asked of any rank (so every rank stops after the same batch); one small
/// collective on several ranks.
pub(super) fn stop_requested(comm: &dyn Comm, stop: &super::Stop) -> Result<bool> {
    let mine = stop.requested();
    if comm.size() == 1 {
        return Ok(mine);
    }
    let all = comm.all_gather(&[u8::from(mine)])?;
    Ok(all.iter().any(|b| b.first() == Some(&1)))
}

/// The run directory's files of a trained agent: metrics, edits, weights, the last episode's
/// hidden spikes.
fn write_outputs(trainer: &Trainer, run_dir: &Path, dt_ms: f64) -> Result<()> {
    write_metrics(trainer, &run_dir.join("metrics.csv"))?;
    write_edits(trainer, &run_dir.join("edits.csv"))?;
    // The policy's final weights, as a network run with a weights recorder writes them.
    let projections: Vec<String> = trainer
        .net
        .projections()
        .map(|(_, _, p)| p.name.clone())
        .collect();
    crate::monitor::write_weights_csv(&trainer.net, &projections, &run_dir.join("weights.csv"))?;
    crate::observe::npy::write_weights(&trainer.net, &projections, run_dir)?;
    // The hidden spikes of the last episode, for a raster.
    let (_, hidden, _) = trainer.populations();
    crate::observe::write_population_spikes(
        run_dir,
        dt_ms,
        &trainer.net.pop(hidden).name,
        &trainer.last_episode_spikes,
    )
}

/// The episode count of a training run's next checkpoint, from `done` episodes: the first
/// batch boundary at or after the next multiple of `every` (so that a resumed run trains on
/// exactly the same batches), or the end (`episodes`), whichever comes first.
pub(super) fn checkpoint_target(done: u64, every: Option<u64>, batch: u64, episodes: u64) -> u64 {
    match every {
        Some(k) => {
            let due = (done / k + 1) * k;
            (done + (due - done).div_ceil(batch) * batch).min(episodes)
        }
        None => episodes,
    }
}

/// Writes a training checkpoint at `done` episodes when `wanted`, unless the last one written
/// (`last_written`, updated here) is at the same position.
pub(super) fn checkpoint_at(
    run_dir: &Path,
    config: &str,
    done: u64,
    wanted: bool,
    last_written: &mut Option<(u64, PathBuf)>,
    state: impl FnOnce() -> Result<Vec<u8>>,
) -> Result<()> {
    let fresh = last_written.as_ref().is_none_or(|(at, _)| *at != done);
    if wanted && fresh {
        let ck = Checkpoint {
            kind: Kind::Training,
            position: done,
            config: config.to_string(),
            state: state()?,
        };
        *last_written = Some((done, crate::checkpoint::write(run_dir, &ck)?));
    }
    Ok(())
}

/// The first episode (0-based) at which the moving average over `window` episodes reaches
/// `bar`.
pub fn first_reaching(values: &[f64], window: usize, bar: f64) -> Option<u64> {
    let mut sum = 0.0;
    for (i, v) in values.iter().enumerate() {
        sum += v;
        if i >= window {
            sum -= values[i - window];
        }
        if i + 1 >= window && sum / window as f64 >= bar {
            return Some(i as u64);
        }
    }
    None
}

fn write_metrics(t: &Trainer, path: &Path) -> Result<()> {
    let mut f = AtomicFile::create(path)?;
    let res = (|| -> std::io::Result<()> {
        writeln!(
            f,
            "episode,return,food,length,hidden_size,avg_firing_rate,sparsity,energy,synaptic_events"
        )?;
        for m in &t.metrics {
            writeln!(
                f,
                "{},{},{},{},{},{},{},{},{}",
                m.episode,
                m.ret,
                m.food,
                m.length,
                m.hidden_size,
                m.avg_firing_rate,
                m.sparsity,
                m.energy,
                m.synaptic_events
            )?;
        }
        Ok(())
    })();
    res.map_err(|e| Error::io(path, e))?;
    f.commit()
}

fn write_edits(t: &Trainer, path: &Path) -> Result<()> {
    let mut f = AtomicFile::create(path)?;
    let res = (|| -> std::io::Result<()> {
        writeln!(f, "episode,kind,count,size_after")?;
        for e in &t.edits {
            writeln!(f, "{},{},{},{}", e.episode, e.kind, e.count, e.size_after)?;
        }
        Ok(())
    })();
    res.map_err(|e| Error::io(path, e))?;
    f.commit()
}

#[cfg(test)]
mod tests {
    #[test]
    fn moving_average_reaches_the_bar_at_the_right_episode() {
        let v = [0.0, 1.0, 5.0, 5.0, 5.0];
        assert_eq!(super::first_reaching(&v, 2, 3.0), Some(2));
        assert_eq!(super::first_reaching(&v, 3, 4.0), Some(4));
        assert_eq!(super::first_reaching(&v, 3, 6.0), None);
    }
}
