//! `snnsim experiment FILE`: configurations × seeds, trained in parallel over the cores (each
//! run on one thread, so runs never compete for a pool), then a table of the four measures of
//! the H0 experiment (docs/results.md) per configuration, mean ± sample standard deviation over seeds:
//! episodes until the 100-episode moving average of food first reaches the bar (sample
//! efficiency; over the seeds that reached it), mean food over the last 500 episodes (final
//! performance), total hidden spikes × hidden neurons (energy), and mean food after the
//! environment changes (adaptation).
//!
//! On several ranks (`mpirun -np R snnsim experiment FILE`, docs/distributed.md) the runs are
//! dealt to the ranks round-robin in the table's order (configuration-major, so each rank
//! gets a mix of configurations), each rank trains its runs on its own threads, and every
//! rank gathers all measures by run index; rank 0 alone writes the tables, from the same
//! measures in the same order, so they are byte for byte those of one process. A run's
//! measures travel by their bits.

use super::train::first_reaching;
use crate::agent::train::Trainer;
use crate::checkpoint::codec::{Dec, DecResult, Enc};
use crate::comm::{agree, decode_status, status_bytes, Comm};
use crate::error::{Error, Result};
use crate::file::{ExperimentFile, GraphFile, Source, TaskSpec, FORMAT_VERSION};
use crate::io::write_atomic;
use crate::models::validate_parsed;
use rayon::prelude::*;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The measures of one run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RunMeasures {
    /// Configuration name.
    pub configuration: String,
    /// Seed.
    pub seed: u64,
    /// First episode at which the moving average of food reached the bar.
    pub episodes_to_bar: Option<u64>,
    /// Mean food over the last 500 training episodes.
    pub final_food: f64,
    /// Σ hidden spikes × hidden neurons over training.
    pub energy: f64,
    /// Mean food over the adaptation episodes.
    pub adaptation_food: Option<f64>,
    /// Hidden neurons at the end of training.
    pub final_hidden_size: usize,
}

/// Runs an experiment file; writes `runs.csv`, `experiment.csv` and `experiment.md` into
/// `out` and returns the per-run measures.
pub fn experiment(path: &Path, out: &Path, threads: Option<usize>) -> Result<Vec<RunMeasures>> {
    experiment_on(&*crate::comm::single(), path, out, threads)
}

/// [`experiment`] on the ranks of `comm`: every rank calls it alike; the runs are spread over
/// the ranks, rank 0 writes `out`, and every rank returns all the measures. `threads` are the
/// runs in parallel on this rank (default: the node's cores divided among its ranks).
pub fn experiment_on(
    comm: &dyn Comm,
    path: &Path,
    out: &Path,
    threads: Option<usize>,
) -> Result<Vec<RunMeasures>> {
    // Every rank reads and checks the files; any rank's error stops them all.
    let read = read_experiment(path);
    let (exp, checked) = agree(comm, read)?;
    let jobs: Vec<(usize, u64)> = (0..checked.len())
        .flat_map(|k| exp.seeds.iter().map(move |&s| (k, s)))
        .collect();
    let (rank, size) = (comm.rank(), comm.size());
    let mine: Vec<usize> = (rank..jobs.len()).step_by(size).collect();
    // `--threads 0` is rayon's default (every core), as it always was.
    let threads = threads.unwrap_or_else(|| crate::comm::default_threads(comm));
    let pool = Ok(threads).and_then(|t| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build()
            .map_err(|e| Error::Run(e.to_string()))
    });
    let made = pool.and_then(|p| {
        if rank == 0 {
            std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
        }
        Ok(p)
    });
    let pool = agree(comm, made)?;
    let results: Vec<Result<RunMeasures>> = pool.install(|| {
        mine.par_iter()
            .map(|&j| {
                let (k, seed) = jobs[j];
                let (name, parsed, gsrc) = &checked[k];
                train_one(&exp, name, parsed, gsrc, seed)
            })
            .collect()
    });
    let runs = if size == 1 {
        results.into_iter().collect::<Result<Vec<_>>>()?
    } else {
        gather_runs(comm, &mine, results, jobs.len())?
    };
    let written = if rank == 0 {
        write_tables(&exp, &runs, out)
    } else {
        Ok(())
    };
    agree(comm, written)?;
    Ok(runs)
}

/// The checked experiment file and, per configuration, its name, parsed graph file (with the
/// experiment's episodes) and source.
type Experiment = (ExperimentFile, Vec<(String, GraphFile, Source)>);

fn read_experiment(path: &Path) -> Result<Experiment> {
    let src = Source::read(path)?;
    let opts = ron::Options::default().with_default_extension(
        ron::extensions::Extensions::UNWRAP_VARIANT_NEWTYPES
            | ron::extensions::Extensions::IMPLICIT_SOME,
    );
    let exp: ExperimentFile = opts.from_str(&src.text).map_err(|e| Error::File {
        file: src.label.clone(),
        line: e.span.start.line,
        col: e.span.start.col,
        field: ".".into(),
        msg: e.code.to_string(),
    })?;
    if exp.format_version != FORMAT_VERSION {
        return Err(src.error_at(
            "format_version",
            format!("format_version {} is not supported", exp.format_version),
        ));
    }
    if exp.configurations.is_empty() || exp.seeds.is_empty() {
        return Err(src.error_at(
            "configurations",
            "an experiment needs configurations and seeds",
        ));
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    // Check every graph before running anything.
    let mut checked = Vec::new();
    for (k, c) in exp.configurations.iter().enumerate() {
        let gpath: PathBuf = dir.join(&c.graph);
        let gsrc = Source::read(&gpath).map_err(|_| {
            src.error_at(
                &format!("configurations[{k}].graph"),
                format!("cannot read {}", gpath.display()),
            )
        })?;
        let mut parsed = gsrc.parse()?;
        match &mut parsed.task {
            Some(TaskSpec::Agent(a)) => {
                if let Some(e) = exp.episodes {
                    a.episodes = e;
                }
                a.progress_every = 0;
            }
            Some(TaskSpec::Control(_) | TaskSpec::Reservoir(_) | TaskSpec::Classify(_)) | None => {
                return Err(src.error_at(
                    &format!("configurations[{k}].graph"),
                    "the graph has no agent task",
                ));
            }
        }
        checked.push((c.name.clone(), parsed, gsrc));
    }
    Ok((exp, checked))
}

/// Trains one configuration with one seed (on one thread) and measures it.
fn train_one(
    exp: &ExperimentFile,
    name: &str,
    parsed: &GraphFile,
    gsrc: &Source,
    seed: u64,
) -> Result<RunMeasures> {
    let mut file = parsed.clone();
    file.seed = seed;
    let c = validate_parsed(file, gsrc)?;
    let mut t = Trainer::new(&c)?;
    t.set_threads(1)?;
    let episodes = t.spec().episodes;
    t.train(episodes, |_| {})?;
    let foods: Vec<f64> = t.metrics.iter().map(|m| m.food as f64).collect();
    let last = &foods[foods.len().saturating_sub(500)..];
    let final_food = last.iter().sum::<f64>() / last.len().max(1) as f64;
    let energy = t.metrics.iter().map(|m| m.energy).sum();
    let final_hidden_size = t.hidden_size();
    let adaptation_food = match &exp.adaptation {
        Some(a) => {
            t.set_environment_params(a.environment_params.get_ron())?;
            let before = t.metrics.len();
            t.train(episodes + a.episodes, |_| {})?;
            let m = &t.metrics[before..];
            Some(m.iter().map(|x| x.food as f64).sum::<f64>() / m.len().max(1) as f64)
        }
        None => None,
    };
    Ok(RunMeasures {
        configuration: name.to_string(),
        seed,
        episodes_to_bar: first_reaching(&foods, 100, exp.food_bar),
        final_food,
        energy,
        adaptation_food,
        final_hidden_size,
    })
}

const RUN_OK: u8 = 0;
const RUN_FAILED: u8 = 1;

fn encode_run(enc: &mut Enc, r: &RunMeasures) {
    enc.str(&r.configuration);
    enc.u64(r.seed);
    enc.u8(u8::from(r.episodes_to_bar.is_some()));
    enc.u64(r.episodes_to_bar.unwrap_or(0));
    enc.f64(r.final_food);
    enc.f64(r.energy);
    enc.u8(u8::from(r.adaptation_food.is_some()));
    enc.f64(r.adaptation_food.unwrap_or(0.0));
    enc.u64(r.final_hidden_size as u64);
}

fn decode_run(dec: &mut Dec) -> DecResult<RunMeasures> {
    let configuration = dec.str()?;
    let seed = dec.u64()?;
    let (has_bar, bar) = (dec.u8()? != 0, dec.u64()?);
    let (final_food, energy) = (dec.f64()?, dec.f64()?);
    let (has_ad, ad) = (dec.u8()? != 0, dec.f64()?);
    Ok(RunMeasures {
        configuration,
        seed,
        episodes_to_bar: has_bar.then_some(bar),
        final_food,
        energy,
        adaptation_food: has_ad.then_some(ad),
        final_hidden_size: dec.u64()? as usize,
    })
}

/// Every run's measures on every rank, by run index, from each rank's `results` of its runs
/// `mine`; the error of the first failed run (in run order) on every rank, naming the rank
/// that ran it.
fn gather_runs(
    comm: &dyn Comm,
    mine: &[usize],
    results: Vec<Result<RunMeasures>>,
    n: usize,
) -> Result<Vec<RunMeasures>> {
    let mut enc = Enc::default();
    for (&j, r) in mine.iter().zip(&results) {
        enc.u64(j as u64);
        match r {
            Ok(m) => {
                enc.u8(RUN_OK);
                encode_run(&mut enc, m);
            }
            Err(e) => {
                enc.u8(RUN_FAILED);
                enc.bytes(&status_bytes(e));
            }
        }
    }
    let all = comm.all_gather(&enc.buf)?;
    let mut runs: Vec<Option<Result<RunMeasures>>> = (0..n).map(|_| None).collect();
    for (rank, bytes) in all.iter().enumerate() {
        let bad = |m: String| Error::Run(format!("the measures gathered from rank {rank}: {m}"));
        let mut dec = Dec::new(bytes);
        while !dec.finished() {
            let j = dec.u64().map_err(bad)? as usize;
            let run = match dec.u8().map_err(bad)? {
                RUN_OK => Ok(decode_run(&mut dec).map_err(bad)?),
                _ => {
                    let (code, msg) =
                        decode_status(&dec.bytes().map_err(bad)?).unwrap_or((1, "failed".into()));
                    Err(Error::Rank { rank, code, msg })
                }
            };
            match runs.get_mut(j) {
                Some(slot @ None) => *slot = Some(run),
                _ => return Err(bad(format!("run {j} is not one of its runs"))),
            }
        }
    }
    runs.into_iter()
        .enumerate()
        .map(|(j, r)| r.unwrap_or_else(|| Err(Error::Run(format!("run {j} was not gathered")))))
        .collect()
}

fn mean_std(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    if xs.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let m = xs.iter().sum::<f64>() / n;
    let v = if xs.len() > 1 {
        xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (m, v.sqrt())
}

fn write_tables(exp: &ExperimentFile, runs: &[RunMeasures], out: &Path) -> Result<()> {
    let mut per_run = String::from(
        "configuration,seed,episodes_to_bar,final_food,energy,adaptation_food,final_hidden_size\n",
    );
    for r in runs {
        let _ = writeln!(
            per_run,
            "{},{},{},{},{},{},{}",
            r.configuration,
            r.seed,
            r.episodes_to_bar.map_or(String::new(), |e| e.to_string()),
            r.final_food,
            r.energy,
            r.adaptation_food.map_or(String::new(), |a| a.to_string()),
            r.final_hidden_size
        );
    }
    write_atomic(&out.join("runs.csv"), per_run.as_bytes())?;
    let mut csv = String::from(
        "configuration,seeds,reached_bar,episodes_to_bar_mean,episodes_to_bar_std,final_food_mean,final_food_std,energy_mean,energy_std,adaptation_food_mean,adaptation_food_std\n",
    );
    let mut md = format!(
        "| configuration | seeds | episodes to food {} (reached) | final food (last 500) | energy (spikes × neurons) | adaptation food |\n| --- | --- | --- | --- | --- | --- |\n",
        exp.food_bar
    );
    for c in &exp.configurations {
        let rs: Vec<&RunMeasures> = runs.iter().filter(|r| r.configuration == c.name).collect();
        let reached: Vec<f64> = rs
            .iter()
            .filter_map(|r| r.episodes_to_bar.map(|e| e as f64))
            .collect();
        let (em, es) = mean_std(&reached);
        let (fm, fs) = mean_std(&rs.iter().map(|r| r.final_food).collect::<Vec<_>>());
        let (nm, ns) = mean_std(&rs.iter().map(|r| r.energy).collect::<Vec<_>>());
        let ad: Vec<f64> = rs.iter().filter_map(|r| r.adaptation_food).collect();
        let (am, asd) = mean_std(&ad);
        let _ = writeln!(
            csv,
            "{},{},{},{em},{es},{fm},{fs},{nm},{ns},{am},{asd}",
            c.name,
            rs.len(),
            reached.len()
        );
        let pm = |m: f64, s: f64, d: usize| {
            if m.is_nan() {
                "–".to_string()
            } else {
                format!("{m:.d$} ± {s:.d$}")
            }
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} ({}/{}) | {} | {} | {} |",
            c.name,
            rs.len(),
            pm(em, es, 0),
            reached.len(),
            rs.len(),
            pm(fm, fs, 2),
            if nm.is_nan() {
                "–".into()
            } else {
                format!("{:.3e} ± {:.1e}", nm, ns)
            },
            pm(am, asd, 2)
        );
    }
    write_atomic(&out.join("experiment.csv"), csv.as_bytes())?;
    write_atomic(&out.join("experiment.md"), md.as_bytes())
}
