//! `snnsim run FILE` for a file with a `Classify` task: trains (`crate::classify`) and writes
//! the run directory: `config.ron`, `metrics.csv` (one row per epoch: `epoch, train_loss,
//! train_accuracy, test_accuracy`), `predictions.csv` (each test sample's index, label and
//! prediction after the last epoch), `decays.csv` where populations learn their decays
//! (`population, neuron, beta, alpha`) and `summary.json`. With `checkpoint_every: Some(k)`
//! (or `--checkpoint-every k`) it writes a checkpoint every k epochs and after the last
//! (position = epochs done; `crate::classify` says why only between epochs), and
//! `snnsim run --resume DIR` goes on from the newest to the same bits. Ctrl-C stops it after
//! the epoch in progress, with everything written (and a checkpoint, where it takes them)
//! and `stopped` in epochs. `--duration-ms` caps the simulated time of
//! training (samples × steps × dt): training stops before the minibatch that would pass it,
//! and the summary's `stopped` says `--duration-ms`; such a run has no final test pass
//! (null `test_accuracy`, no `predictions.csv`).

use super::run::{prepare, RunDir};
use super::train::{checkpoint_at, resume_state};
use super::{RunOptions, Stopped};
use crate::classify::{Classifier, EpochMetrics};
use crate::error::{Error, Result};
use crate::file::{ClassLoss, DatasetSpec, Gradient, SpikeEncoder};
use crate::io::{write_atomic, AtomicFile};
use serde::Serialize;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

/// `summary.json` of a classification run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ClassifySummary {
    /// snnsim version.
    pub version: String,
    /// The graph file as given.
    pub file: String,
    /// The run directory.
    pub run_dir: String,
    /// Root seed (weights, split, order, rate-code spikes).
    pub seed: u64,
    /// Worker threads.
    pub threads: usize,
    /// `digits`, `yinyang`, `nmnist` or `shd`.
    pub dataset: String,
    /// `latency`, `rate` or `events`.
    pub encoder: String,
    /// `max_membrane` or `mean_membrane` (softmax cross-entropy of those logits).
    pub loss: String,
    /// `bptt` or `eprop`.
    pub gradient: String,
    /// Steps per sample.
    pub steps: usize,
    /// Epochs trained.
    pub epochs: usize,
    /// Training samples.
    pub train_samples: usize,
    /// Test samples.
    pub test_samples: usize,
    /// The last epoch's mean training loss.
    pub train_loss: f64,
    /// The last epoch's training accuracy.
    pub train_accuracy: f64,
    /// Test accuracy after the last epoch (or of the untrained network when stopped before
    /// one); null when `--duration-ms` cut the run.
    pub test_accuracy: Option<f64>,
    /// Training samples per second of training wall time (forward and backward passes and
    /// updates; the test passes excluded).
    pub samples_per_s: f64,
    /// Mean hidden spikes per test sample after the last epoch (null as `test_accuracy`).
    pub hidden_spikes_per_sample: Option<f64>,
    /// Mean synaptic operations per test sample (spikes × the synapses they reach; null as
    /// `test_accuracy`).
    pub synaptic_ops_per_sample: Option<f64>,
    /// Trained weights, biases and decays.
    pub parameters: usize,
    /// Wall time of loading and construction (s).
    pub build_wall_s: f64,
    /// Wall time of training, tests included (s).
    pub train_wall_s: f64,
    /// Hash over the network's weights and state, the epochs and the biases at the end.
    pub state_hash: String,
    /// Where the run stopped before its last epoch (unit `epochs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<Stopped>,
}

/// Trains the classification task of `opts.file` and writes its run directory.
pub fn run_classify(opts: &RunOptions, progress: &mut dyn FnMut(&str)) -> Result<ClassifySummary> {
    let p = prepare(opts)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(p.threads)
        .build()
        .map_err(|e| Error::Run(format!("cannot start {} threads: {e}", p.threads)))?;
    {
        let t0 = Instant::now();
        let mut c = Classifier::new(&p.checked)?;
        if opts.resume {
            if let Some(state) = resume_state(&*crate::comm::single(), &p.run_dir)? {
                c.load_state(&state)?;
            }
        }
        let build_wall_s = t0.elapsed().as_secs_f64();
        let mut dir = RunDir::create(&p.run_dir, &p.config, opts.resume)?;
        dir.keep();
        let t1 = Instant::now();
        let mut train_s = 0.0;
        let epochs = c.spec.epochs;
        let dt = p.checked.file.dt_ms;
        c.budget = opts
            .duration_ms
            .map(|d| ((d / dt).round() / c.spec.steps as f64) as usize);
        let mut budget_spent = false;
        let ck_every = p.checked.file.checkpoint_every;
        let resumed_at = c.metrics.len() as u64;
        let mut last_written = crate::checkpoint::list(&p.run_dir)
            .into_iter()
            .find(|(at, _)| opts.resume && *at == resumed_at);
        let samples_before = c.samples_done;
        while c.metrics.len() < epochs && !opts.stop.requested() {
            let te = Instant::now();
            let m = pool.install(|| c.epoch().cloned());
            train_s += te.elapsed().as_secs_f64();
            let Some(m) = m else {
                budget_spent = true;
                break;
            };
            progress(&format!(
                "epoch {}/{epochs}: train loss {:.4}, train accuracy {:.2} %, test accuracy {:.2} %",
                m.epoch,
                m.train_loss,
                100.0 * m.train_accuracy,
                100.0 * m.test_accuracy
            ));
            let done = c.metrics.len() as u64;
            let wanted = ck_every.is_some_and(|k| {
                done.is_multiple_of(k.max(1)) || done == epochs as u64 || opts.stop.requested()
            });
            checkpoint_at(
                &p.run_dir,
                &p.config,
                done,
                wanted,
                &mut last_written,
                || Ok(c.save_state()),
            )?;
        }
        let train_wall_s = t1.elapsed().as_secs_f64();
        // A run cut by --duration-ms has no final test pass (as a cut reservoir run has no
        // readout): the pass over every test sample could outlast the budget by far.
        let eval = match c.last.take() {
            _ if budget_spent => None,
            Some(e) => Some(e),
            None => Some(pool.install(|| c.evaluate())),
        };
        let trained = (c.samples_done - samples_before) as f64;
        write_metrics(&c.metrics, &p.run_dir.join("metrics.csv"))?;
        if let Some(e) = &eval {
            write_predictions(&c, &e.predictions, &p.run_dir.join("predictions.csv"))?;
        }
        if let Some(csv) = c.decays_csv() {
            write_atomic(&p.run_dir.join("decays.csv"), csv.as_bytes())?;
        }
        c.write_back();
        let last = c.metrics.last();
        let spec = &c.spec;
        let summary = ClassifySummary {
            version: env!("CARGO_PKG_VERSION").to_string(),
            file: opts.file.display().to_string(),
            run_dir: p.run_dir.display().to_string(),
            seed: p.checked.file.seed,
            threads: p.threads,
            dataset: match spec.dataset {
                DatasetSpec::Digits(_) => "digits",
                DatasetSpec::YinYang(_) => "yinyang",
                DatasetSpec::NMnist(_) => "nmnist",
                DatasetSpec::Shd(_) => "shd",
            }
            .into(),
            encoder: match spec.encoder {
                SpikeEncoder::Latency { .. } => "latency",
                SpikeEncoder::Rate { .. } => "rate",
                SpikeEncoder::Events { .. } => "events",
            }
            .into(),
            loss: match spec.loss {
                ClassLoss::MaxMembrane => "max_membrane",
                ClassLoss::MeanMembrane => "mean_membrane",
            }
            .into(),
            gradient: match spec.gradient {
                Gradient::Bptt => "bptt",
                Gradient::Eprop(_) => "eprop",
                Gradient::EventProp(_) => "eventprop",
            }
            .into(),
            steps: spec.steps,
            epochs: c.metrics.len(),
            train_samples: c.train.len(),
            test_samples: c.test.len(),
            train_loss: last.map_or(f64::NAN, |m| m.train_loss),
            train_accuracy: last.map_or(0.0, |m| m.train_accuracy),
            test_accuracy: eval.as_ref().map(|e| e.accuracy),
            // The epochs' time includes their test passes; the rate leaves them out.
            samples_per_s: trained / (train_s - c.test_wall_s).max(1e-9),
            hidden_spikes_per_sample: eval.as_ref().map(|e| e.hidden_spikes_per_sample),
            synaptic_ops_per_sample: eval.as_ref().map(|e| e.synaptic_ops_per_sample),
            parameters: c.parameters(),
            build_wall_s,
            train_wall_s,
            state_hash: c.state_hash(),
            stopped: (c.metrics.len() < epochs).then(|| Stopped {
                signal: if budget_spent {
                    "--duration-ms".into()
                } else {
                    opts.stop.cause()
                },
                unit: "epochs".into(),
                at: c.metrics.len() as u64,
                of: epochs as u64,
                checkpoint: last_written.as_ref().map(|(_, p)| p.display().to_string()),
            }),
        };
        let json = serde_json::to_string_pretty(&summary).expect("summary serialises");
        write_atomic(&p.run_dir.join("summary.json"), json.as_bytes())?;
        Ok(summary)
    }
}

/// `metrics.csv`: one row per epoch.
fn write_metrics(metrics: &[EpochMetrics], path: &Path) -> Result<()> {
    let mut f = AtomicFile::create(path)?;
    let res = (|| -> std::io::Result<()> {
        writeln!(f, "epoch,train_loss,train_accuracy,test_accuracy")?;
        for m in metrics {
            writeln!(
                f,
                "{},{},{},{}",
                m.epoch, m.train_loss, m.train_accuracy, m.test_accuracy
            )?;
        }
        Ok(())
    })();
    res.map_err(|e| Error::io(path, e))?;
    f.commit()
}

/// `predictions.csv`: each test sample's index in the dataset, label and predicted class.
fn write_predictions(c: &Classifier, pred: &[usize], path: &Path) -> Result<()> {
    let mut f = AtomicFile::create(path)?;
    let res = (|| -> std::io::Result<()> {
        writeln!(f, "sample,label,prediction")?;
        for (&k, &p) in c.test.iter().zip(pred) {
            writeln!(f, "{k},{},{p}", c.data.y[k])?;
        }
        Ok(())
    })();
    res.map_err(|e| Error::io(path, e))?;
    f.commit()
}
