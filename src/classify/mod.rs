//! Supervised classification (`task: Classify(...)`, docs/classification.md): labelled samples
//! are spike-encoded onto the input population, the network runs `steps` steps per sample from
//! a zero state, and a sample's logits are its readout neurons' membrane maxima (or means) over
//! those steps; the loss is their softmax cross-entropy. Gradients come from the differentiable
//! executor (`exec::Net`, backpropagation through time with a surrogate derivative, or e-prop's
//! eligibility traces over the same forward pass with `gradient: Eprop(...)`) — the same
//! neuron steps and adjoints as the engine's snnTorch models and the agents' trainers, not a
//! copy — and Adam is the SDK's (`snnsim_plugin_api::optim`), the one the gradient-rule plugins
//! use. With `gradient: EventProp()` the network runs instead on the executor's exact
//! event-time model (`exec::eventprop`), whose adjoint pass gives exact gradients.
//!
//! Why it is built this way: a minibatch is a set of independent samples, so it is the
//! executor's [`exec::Net::batch`] — samples in parallel in fixed chunks, their gradients summed
//! in chunk order — which makes training the same bits on any number of threads. Every random
//! choice (the split, each epoch's order, the rate code's spikes) has its own stream keyed by
//! the seed and what it is for. The weights train in f64 beside the network (as the off-policy
//! trainer's do) and are written into its projections at the end, so the run's `state_hash`
//! covers them; the biases, which the network has no place for, are hashed after it.

pub mod data;
pub mod encode;
pub mod events;
mod snapshot;

use crate::engine::hash::StateHasher;
use crate::error::{Error, Result};
use crate::exec::eventprop::{self, Event, EventLif, EventNet};
use crate::exec::{self, Grads, Params, Sample, Seq, Storage, Trace};
use crate::file::{
    Checked, ClassLoss, ClassifySpec, DatasetSpec, Gradient, LifIntegration, ModelSpec, Receptor,
    SpikeRegularizer, TaskSpec,
};
use crate::graph::{Network, ProjId};
use crate::real::widen;
use rand::Rng as _;
use rayon::prelude::*;
use snnsim_plugin_api::optim::Adam;
use std::sync::atomic::{AtomicUsize, Ordering};

/// One row of `metrics.csv`: an epoch's mean training loss and accuracy (over the minibatches
/// as they were trained) and the test accuracy after it.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochMetrics {
    /// 1-based.
    pub epoch: usize,
    /// Mean cross-entropy over the epoch's training samples.
    pub train_loss: f64,
    /// Fraction of the epoch's training samples classified right in their forward pass.
    pub train_accuracy: f64,
    /// Fraction of the test samples classified right after the epoch.
    pub test_accuracy: f64,
}

/// The test samples classified with the current weights.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Fraction right.
    pub accuracy: f64,
    /// The predicted class of each test sample, in [`Classifier::test`]'s order.
    pub predictions: Vec<usize>,
    /// Mean spikes of the hidden populations per sample.
    pub hidden_spikes_per_sample: f64,
    /// Mean synaptic operations per sample: for every spike (input spikes included), the
    /// synapses it reaches.
    pub synaptic_ops_per_sample: f64,
}

/// One test sample as classified.
struct SampleRow {
    /// The predicted class.
    prediction: usize,
    /// Spikes of the hidden populations.
    hidden_spikes: f64,
    /// Synaptic operations: for every spike (input spikes included), the synapses it reaches.
    synaptic_ops: f64,
}

impl Evaluation {
    /// The tally of the rows of the test samples `test` (indices into `labels`, in the rows'
    /// order): the fraction predicted right, and the means per sample summed in sample order.
    fn from_rows(rows: &[SampleRow], test: &[usize], labels: &[usize]) -> Evaluation {
        let n = test.len() as f64;
        let right = rows
            .iter()
            .zip(test)
            .filter(|(r, &k)| r.prediction == labels[k])
            .count();
        Evaluation {
            accuracy: right as f64 / n,
            predictions: rows.iter().map(|r| r.prediction).collect(),
            hidden_spikes_per_sample: rows.iter().map(|r| r.hidden_spikes).sum::<f64>() / n,
            synaptic_ops_per_sample: rows.iter().map(|r| r.synaptic_ops).sum::<f64>() / n,
        }
    }
}

/// A classification task's network, data and optimiser state.
pub struct Classifier {
    /// The task.
    pub spec: ClassifySpec,
    /// The network (its trained weights written back by [`Classifier::write_back`]).
    pub net: Network,
    plan: Plan,
    projs: Vec<ProjId>,
    weights: Vec<Vec<f64>>,
    /// Per population of the plan (`None`: an input, or no biases).
    biases: Vec<Option<Vec<f64>>>,
    /// Per population of the plan, its learned decays (`learn_decay`; layout of
    /// [`exec::Params::decays`]).
    decays: Vec<Option<Vec<f64>>>,
    adam_w: Vec<Adam>,
    adam_b: Vec<Option<Adam>>,
    adam_d: Vec<Option<Adam>>,
    /// The samples.
    pub data: data::Dataset,
    /// Indices of the training samples.
    pub train: Vec<usize>,
    /// Indices of the test samples.
    pub test: Vec<usize>,
    seed: u64,
    dt_ms: f64,
    readout: usize,
    hidden: Vec<usize>,
    /// One row per epoch trained.
    pub metrics: Vec<EpochMetrics>,
    /// Training samples run (forward and backward), partial epochs included.
    pub samples_done: usize,
    /// The most training samples to run (`snnsim run --duration-ms`): an epoch stops before a
    /// minibatch that would pass it.
    pub budget: Option<usize>,
    /// The test pass of the last epoch, while the weights are still those it tested.
    pub last: Option<Evaluation>,
    /// Wall time of the test passes (s).
    pub test_wall_s: f64,
}

/// Per population of a plan: optional values of each neuron (biases, decays).
type PerPop = Vec<Option<Vec<f64>>>;

/// What runs a sample: the executor's clock-driven plan, or EventProp's event-time chain.
enum Plan {
    Steps(exec::Net),
    Events(EventNet),
}

/// EventProp's chain from the file: the input, the hidden populations in order and the
/// readout, each fed by one all-to-all projection from the one before, of current-based
/// exact-integration `Lif` neurons that reset to rest without refractoriness (the readout a
/// non-spiking integrator); the projections in chain order. `Err`: the field and the reason.
fn event_plan(
    checked: &Checked,
    spec: &ClassifySpec,
    net: &Network,
) -> std::result::Result<(EventNet, Vec<ProjId>), (String, String)> {
    let here = "gradient.EventProp".to_string();
    if spec.bias {
        return Err((
            "bias".into(),
            "EventProp trains no biases: give `bias: false`".into(),
        ));
    }
    if spec.spike_regularizer.is_some() {
        return Err((
            "spike_regularizer".into(),
            "a spike count is piecewise constant in the weights, so its exact gradient is zero: train with `Bptt` or `Eprop` to regularise spike counts".into(),
        ));
    }
    let chain: Vec<&String> = std::iter::once(&spec.input)
        .chain(&spec.hidden)
        .chain(std::iter::once(&spec.readout))
        .collect();
    if checked.file.projections.len() != chain.len() - 1 {
        return Err((
            here,
            format!(
                "EventProp runs a feed-forward chain {}: one projection into each population from the one before, and no other",
                chain.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" → ")
            ),
        ));
    }
    let mut sizes = Vec::new();
    let mut layers = Vec::new();
    let mut projs = Vec::new();
    for (k, name) in chain.iter().enumerate() {
        let pop = checked
            .file
            .populations
            .iter()
            .find(|p| &&p.name == name)
            .expect("validated population");
        sizes.push(pop.size);
        if k == 0 {
            continue;
        }
        let (pi, pr) = checked
            .file
            .projections
            .iter()
            .enumerate()
            .find(|(_, p)| p.post == **name && p.pre == *chain[k - 1])
            .ok_or_else(|| {
                (
                    here.clone(),
                    format!(
                        "EventProp runs a feed-forward chain: no projection from `{}` to `{name}`",
                        chain[k - 1]
                    ),
                )
            })?;
        let id = net
            .proj_ids()
            .into_iter()
            .find(|&p| {
                let (a, b) = net.endpoints(p);
                net.pop(a).name == *chain[k - 1] && net.pop(b).name == **name
            })
            .expect("a built projection");
        let w = &net.proj(id).weights;
        if w.nnz() != sizes[k - 1] * pop.size || net.proj(id).kernel.is_some() {
            return Err((
                format!("projections[{pi}].connectivity"),
                "EventProp needs all-to-all projections".into(),
            ));
        }
        projs.push(id);
        let bad = |m: String| (here.clone(), format!("population `{name}`: {m}"));
        let ModelSpec::Lif(p) = &pop.model else {
            return Err(bad(
                "EventProp runs current-based LIF neurons with exponential synapses (`Lif`)".into(),
            ));
        };
        if p.integration != LifIntegration::Exact {
            return Err(bad(
                "EventProp integrates exactly: give the `Lif` its default `integration: Exact`"
                    .into(),
            ));
        }
        if !pop.params.is_empty() || !pop.init.is_empty() {
            return Err(bad(
                "EventProp's neurons share their parameters and start at rest (no `params`, no `init`)".into(),
            ));
        }
        if p.refractory_ms != 0.0 || p.i_bias_na != 0.0 || p.v_reset_mv != p.v_rest_mv {
            return Err(bad(
                "EventProp's LIF resets to rest without refractoriness or bias current: give `refractory_ms: 0.0`, `i_bias_na: 0.0` and `v_reset_mv` = `v_rest_mv`".into(),
            ));
        }
        let tau_s = match pr.receptor {
            Receptor::Exc => p.tau_syn_exc_ms,
            Receptor::Inh => p.tau_syn_inh_ms,
        };
        if (tau_s - p.tau_m_ms).abs() <= 1e-9 * p.tau_m_ms {
            return Err(bad(
                "EventProp's closed form needs a synaptic time constant other than `tau_m_ms`"
                    .into(),
            ));
        }
        let readout = k + 1 == chain.len();
        let theta = p.v_th_mv - p.v_rest_mv;
        if readout && theta < 1e6 {
            return Err(bad(
                "EventProp's readout is a non-spiking integrator: give it an unreachable threshold (`v_th_mv` at least 1e6 above rest)".into(),
            ));
        }
        if !readout && theta <= 0.0 {
            return Err(bad("the threshold must lie above rest".into()));
        }
        layers.push(EventLif {
            tau_m: p.tau_m_ms,
            tau_s,
            r: p.r_mohm,
            theta: if readout { f64::INFINITY } else { theta },
        });
    }
    Ok((
        EventNet {
            sizes,
            layers,
            t_end: spec.steps as f64 * checked.file.dt_ms,
            logit: match spec.loss {
                ClassLoss::MaxMembrane => eventprop::Logit::Max,
                ClassLoss::MeanMembrane => eventprop::Logit::Mean,
            },
        },
        projs,
    ))
}

/// A permutation of `0..n` from `rng` (Fisher–Yates).
fn shuffle(n: usize, rng: &mut crate::rng::Rng) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = rng.random_range(0..=i);
        v.swap(i, j);
    }
    v
}

impl Classifier {
    /// Loads the dataset, builds the network and its executor plan, and splits the samples.
    /// Errors in the task's populations or data name the file, line and field (exit 2).
    pub fn new(checked: &Checked) -> Result<Self> {
        let Some(TaskSpec::Classify(spec)) = &checked.file.task else {
            return Err(Error::Input("the file has no Classify task".into()));
        };
        let at = |field: &str, msg: String| {
            checked
                .source
                .error_at(&format!("task.Classify.{field}"), msg)
        };
        let data = match &spec.dataset {
            DatasetSpec::Digits(d) => data::digits(d.path.as_deref().map(std::path::Path::new))
                .map_err(|e| at("dataset.Digits.path", e))?,
            DatasetSpec::YinYang(p) => {
                data::yinyang(checked.file.seed, p.train, p.test, p.r_small, p.r_big)
            }
            DatasetSpec::NMnist(e) => events::nmnist(
                std::path::Path::new(&e.path),
                e.train,
                e.test,
                checked.file.seed,
            )
            .map_err(|m| at("dataset.NMnist.path", m))?,
            DatasetSpec::Shd(e) => events::shd(
                std::path::Path::new(&e.path),
                e.train,
                e.test,
                checked.file.seed,
            )
            .map_err(|m| at("dataset.Shd.path", m))?,
        };
        let net = crate::graph::build(checked)?;
        if matches!(spec.gradient, Gradient::EventProp(_)) {
            let (plan, projs) =
                event_plan(checked, spec, &net).map_err(|(field, m)| at(&field, m))?;
            return Self::assemble(checked, spec, data, net, Plan::Events(plan), projs);
        }
        let input = net.pop_id(&spec.input).expect("validated population");
        let readout = net.pop_id(&spec.readout).expect("validated population");
        let plan =
            exec::Net::from_network(&net, &[input], &[readout], spec.surrogate).map_err(|e| {
                let field = if e.what == format!("population `{}`", spec.readout) {
                    "readout".to_string()
                } else if let Some(k) = spec
                    .hidden
                    .iter()
                    .position(|h| e.what == format!("population `{h}`"))
                {
                    format!("hidden[{k}]")
                } else {
                    "input".to_string()
                };
                at(&field, e.to_string())
            })?;
        if !spec.gradient.is_bptt() {
            plan.eprop_check()
                .map_err(|e| at("gradient.Eprop", e.to_string()))?;
        }
        let projs: Vec<ProjId> = plan
            .links()
            .iter()
            .map(|l| {
                net.proj_ids()
                    .into_iter()
                    .find(|&p| net.proj(p).name == l.name)
                    .expect("a projection of the plan")
            })
            .collect();
        Self::assemble(checked, spec, data, net, Plan::Steps(plan), projs)
    }

    /// The weights, biases, optimisers and split of a plan.
    fn assemble(
        checked: &Checked,
        spec: &ClassifySpec,
        data: data::Dataset,
        mut net: Network,
        plan: Plan,
        projs: Vec<ProjId>,
    ) -> Result<Self> {
        let at = |field: &str, msg: String| {
            checked
                .source
                .error_at(&format!("task.Classify.{field}"), msg)
        };
        let mut weights = Vec::new();
        for &p in &projs {
            let w = net.proj_mut(p).weights.data_mut();
            weights.push(widen(w).into_owned());
        }
        let learns = |name: &str| {
            checked
                .file
                .populations
                .iter()
                .any(|p| p.name == name && p.learn_decay)
        };
        // Learned decays are refused with EventProp (validation), so only a plan of steps
        // has them.
        let (biases, decays): (PerPop, PerPop) = match &plan {
            Plan::Steps(plan) => (
                (0..plan.pops().len())
                    .map(|q| {
                        (spec.bias && plan.neuron(q).is_some())
                            .then(|| vec![0.0; plan.pops()[q].size])
                    })
                    .collect(),
                (0..plan.pops().len())
                    .map(|q| {
                        learns(&plan.pops()[q].name)
                            .then(|| plan.initial_decays(q))
                            .flatten()
                    })
                    .collect(),
            ),
            Plan::Events(_) => (Vec::new(), Vec::new()),
        };
        let adam = |n: usize| Adam::new(spec.lr, 0.9, 0.999, 1e-8, n);
        let adam_w = weights.iter().map(|w| adam(w.len())).collect();
        let adam_b = biases
            .iter()
            .map(|b| b.as_ref().map(|b| adam(b.len())))
            .collect();
        let adam_d = decays
            .iter()
            .map(|d| d.as_ref().map(|d| adam(d.len())))
            .collect();
        let seed = checked.file.seed;
        let (train, test) = match data.split {
            Some(n) => ((0..n).collect(), (n..data.len()).collect()),
            None => Self::split(&data, spec, seed).map_err(|m| at("test_fraction", m))?,
        };
        let (readout, hidden) = match &plan {
            Plan::Steps(plan) => (
                plan.pop_index(&spec.readout).expect("in the plan"),
                spec.hidden
                    .iter()
                    .map(|h| plan.pop_index(h).expect("in the plan"))
                    .collect(),
            ),
            Plan::Events(e) => (e.layers.len(), (1..e.layers.len()).collect()),
        };
        Ok(Classifier {
            spec: spec.clone(),
            net,
            plan,
            projs,
            weights,
            biases,
            decays,
            adam_w,
            adam_b,
            adam_d,
            data,
            train,
            test,
            seed,
            dt_ms: checked.file.dt_ms,
            readout,
            hidden,
            metrics: Vec::new(),
            samples_done: 0,
            budget: None,
            last: None,
            test_wall_s: 0.0,
        })
    }

    /// The training and test samples of a dataset without a split of its own: the first
    /// `samples` of an order drawn from the seed, `test_fraction` of them held out.
    fn split(
        data: &data::Dataset,
        spec: &ClassifySpec,
        seed: u64,
    ) -> std::result::Result<(Vec<usize>, Vec<usize>), String> {
        let mut order = shuffle(
            data.len(),
            &mut crate::rng::stream(seed, "classify", "split", 0),
        );
        order.truncate(spec.samples.unwrap_or(usize::MAX));
        let n_test = (order.len() as f64 * spec.test_fraction).round() as usize;
        if n_test == 0 || n_test >= order.len() {
            return Err(format!(
                "{} samples leave no training or no test sample",
                order.len()
            ));
        }
        let train = order.split_off(n_test);
        Ok((train, order))
    }

    fn params(&self) -> Params<'_> {
        Params {
            weights: self.weights.iter().map(|w| w.as_slice()).collect(),
            biases: self.biases.iter().map(|b| b.as_deref()).collect(),
            decays: self.decays.iter().map(|d| d.as_deref()).collect(),
            transposed: Vec::new(),
        }
    }

    /// The spikes of sample `k` (of the dataset) in epoch `epoch` (`None`: a test pass).
    fn encode(&self, k: usize, epoch: Option<usize>, out: &mut Vec<f64>) {
        let (name, index) = match epoch {
            Some(e) => ("train", ((e as u64) << 32) | k as u64),
            None => ("test", k as u64),
        };
        if let crate::file::SpikeEncoder::Events { bin_ms } = self.spec.encoder {
            let bin_us = 1e3 * bin_ms.unwrap_or(self.dt_ms);
            let n = self.data.features;
            return events::bin(&self.data.events[k], bin_us, self.spec.steps, n, out);
        }
        let mut rng = crate::rng::stream(self.seed, "classify.rate", name, index);
        encode::encode(
            &self.spec.encoder,
            self.data.sample(k),
            self.spec.steps,
            &mut rng,
            out,
        );
    }

    /// Trains one epoch (every training sample once, in an order of its own) and tests; `None`
    /// when the budget ran out within the epoch (its minibatches so far are trained, and no
    /// row is added).
    pub fn epoch(&mut self) -> Option<&EpochMetrics> {
        let e = self.metrics.len();
        let steps = self.spec.steps;
        let lr = self.spec.lr_schedule.lr(self.spec.lr, e, self.spec.epochs);
        let adams = self.adam_w.iter_mut();
        let adams = adams.chain(self.adam_b.iter_mut().flatten());
        for a in adams.chain(self.adam_d.iter_mut().flatten()) {
            a.lr = lr;
        }
        let mut rng = crate::rng::stream(self.seed, "classify", "order", e as u64);
        let order: Vec<usize> = shuffle(self.train.len(), &mut rng)
            .into_iter()
            .map(|i| self.train[i])
            .collect();
        let (mut loss, mut correct) = (0.0, 0);
        for chunk in order.chunks(self.spec.batch) {
            if self
                .budget
                .is_some_and(|b| self.samples_done + chunk.len() > b)
            {
                return None;
            }
            self.last = None;
            if let Plan::Events(plan) = &self.plan {
                let samples: Vec<(Vec<Event>, usize)> = chunk
                    .par_iter()
                    .map(|&k| (self.events(k, Some(e)), self.data.y[k]))
                    .collect();
                let w: Vec<&[f64]> = self.weights.iter().map(|w| w.as_slice()).collect();
                let (l, right, gw) = eventprop::batch(plan, &w, &samples);
                drop(w);
                loss += l;
                correct += right;
                let g = Grads {
                    weights: gw,
                    biases: Vec::new(),
                    decays: Vec::new(),
                };
                self.update(&g, 1.0 / chunk.len() as f64);
                self.samples_done += chunk.len();
                continue;
            }
            let Plan::Steps(plan) = &self.plan else {
                unreachable!("the event plan is handled above")
            };
            let inputs: Vec<Vec<f64>> = chunk
                .par_iter()
                .map(|&k| {
                    let mut v = Vec::new();
                    self.encode(k, Some(e), &mut v);
                    v
                })
                .collect();
            let batch = Batch {
                inputs,
                labels: chunk.iter().map(|&k| self.data.y[k]).collect(),
                steps,
                readout: self.readout,
                loss: self.spec.loss,
                hidden: &self.hidden,
                regularizer: self.spec.spike_regularizer,
                correct: AtomicUsize::new(0),
            };
            let (l, g) = plan.batch_by(
                &self.params(),
                steps,
                chunk.len(),
                &batch,
                self.spec.gradient,
            );
            loss += l;
            correct += batch.correct.load(Ordering::Relaxed);
            self.update(&g, 1.0 / chunk.len() as f64);
            self.samples_done += chunk.len();
        }
        let t = std::time::Instant::now();
        let eval = self.evaluate();
        self.test_wall_s += t.elapsed().as_secs_f64();
        let test_accuracy = eval.accuracy;
        self.last = Some(eval);
        let n = order.len() as f64;
        self.metrics.push(EpochMetrics {
            epoch: e + 1,
            train_loss: loss / n,
            train_accuracy: correct as f64 / n,
            test_accuracy,
        });
        self.metrics.last()
    }

    /// One Adam step of every weight and bias on the gradient `g` times `scale`.
    fn update(&mut self, g: &Grads, scale: f64) {
        for ((w, a), gw) in self
            .weights
            .iter_mut()
            .zip(&mut self.adam_w)
            .zip(&g.weights)
        {
            a.step(w, gw, scale).expect("moments shaped as the weights");
        }
        for ((b, a), gb) in self.biases.iter_mut().zip(&mut self.adam_b).zip(&g.biases) {
            if let (Some(b), Some(a)) = (b, a) {
                a.step(b, gb, scale).expect("moments shaped as the biases");
            }
        }
        for ((d, a), gd) in self.decays.iter_mut().zip(&mut self.adam_d).zip(&g.decays) {
            if let (Some(d), Some(a)) = (d, a) {
                a.step(d, gd, scale).expect("moments shaped as the decays");
                exec::clamp_decays(d);
            }
        }
    }

    /// Classifies the test samples (in parallel, each with its own trace; the results are
    /// kept in sample order).
    pub fn evaluate(&self) -> Evaluation {
        let plan = match &self.plan {
            Plan::Steps(plan) => plan,
            Plan::Events(plan) => return self.evaluate_events(plan),
        };
        let p = self.params();
        let steps = self.spec.steps;
        let per: Vec<SampleRow> = self
            .test
            .par_chunks(exec::CHUNK)
            .map(|c| {
                let mut tr = Trace::default();
                let mut x = Vec::new();
                c.iter()
                    .map(|&k| {
                        self.encode(k, None, &mut x);
                        plan.forward(&p, steps, &[Seq::Dense(&x)], &mut tr);
                        let (pred, _) = cross_entropy(&tr, self.readout, self.spec.loss, 0, None);
                        let spikes: f64 = self
                            .hidden
                            .iter()
                            .map(|&h| tr.pops[h].spk.iter().sum::<f64>())
                            .sum();
                        SampleRow {
                            prediction: pred,
                            hidden_spikes: spikes,
                            synaptic_ops: synaptic_ops(plan, &tr),
                        }
                    })
                    .collect::<Vec<_>>()
            })
            .flatten()
            .collect();
        Evaluation::from_rows(&per, &self.test, &self.data.y)
    }

    /// The input events of sample `k` for the event-time model: each nonzero of its encoded
    /// steps at the step's start time, its value multiplying the weight.
    fn events(&self, k: usize, epoch: Option<usize>) -> Vec<Event> {
        let mut x = Vec::new();
        self.encode(k, epoch, &mut x);
        let n = self.data.features;
        x.iter()
            .enumerate()
            .filter(|(_, &v)| v != 0.0)
            .map(|(q, &v)| Event {
                t: (q / n) as f64 * self.dt_ms,
                i: (q % n) as u32,
                x: v,
            })
            .collect()
    }

    /// [`Classifier::evaluate`] on the event-time model.
    fn evaluate_events(&self, plan: &EventNet) -> Evaluation {
        let w: Vec<&[f64]> = self.weights.iter().map(|w| w.as_slice()).collect();
        let per: Vec<SampleRow> = self
            .test
            .par_iter()
            .map(|&k| {
                let input = self.events(k, None);
                let tr = plan.forward(&w, &input);
                let (pred, ..) = eventprop::cross_entropy(&tr.z, 0);
                let spikes: usize = tr.spikes.iter().map(Vec::len).sum();
                let mut ops = input.len() * plan.sizes[1];
                for (l, s) in tr.spikes.iter().enumerate() {
                    ops += s.len() * plan.sizes[l + 2];
                }
                SampleRow {
                    prediction: pred,
                    hidden_spikes: spikes as f64,
                    synaptic_ops: ops as f64,
                }
            })
            .collect();
        Evaluation::from_rows(&per, &self.test, &self.data.y)
    }

    /// Trained weights, biases and decays.
    pub fn parameters(&self) -> usize {
        self.weights.iter().map(Vec::len).sum::<usize>()
            + self.biases.iter().flatten().map(Vec::len).sum::<usize>()
            + self.decays.iter().flatten().map(Vec::len).sum::<usize>()
    }

    /// `decays.csv` of the learned decays, `None` when no population learns them.
    pub fn decays_csv(&self) -> Option<String> {
        match &self.plan {
            Plan::Steps(plan) if self.decays.iter().any(Option::is_some) => {
                Some(plan.decays_csv(&self.decays))
            }
            _ => None,
        }
    }

    /// Writes the trained weights into the network's projections.
    pub fn write_back(&mut self) {
        for (&p, w) in self.projs.iter().zip(&self.weights) {
            let d = self.net.proj_mut(p).weights.data_mut();
            for (x, &v) in d.iter_mut().zip(w) {
                *x = v as crate::Real;
            }
        }
    }

    /// Hash of the network (after [`Classifier::write_back`]), the epochs done, the biases
    /// and the learned decays.
    pub fn state_hash(&self) -> String {
        let mut h = StateHasher::default();
        h.bytes(crate::engine::hash::state_hash(&self.net, self.metrics.len() as u64).as_bytes());
        for b in self.biases.iter().flatten() {
            h.f64s(b);
        }
        for d in self.decays.iter().flatten() {
            h.f64s(d);
        }
        format!("{:016x}", h.finish())
    }
}

/// A minibatch as the executor's [`Sample`]s: the encoded inputs, the labels, and a count of
/// the samples classified right (an integer sum: the same in any order).
struct Batch<'a> {
    inputs: Vec<Vec<f64>>,
    labels: Vec<usize>,
    steps: usize,
    readout: usize,
    loss: ClassLoss,
    hidden: &'a [usize],
    regularizer: Option<SpikeRegularizer>,
    correct: AtomicUsize,
}

impl Sample for Batch<'_> {
    fn inputs(&self, k: usize) -> Vec<Seq<'_>> {
        vec![Seq::Dense(&self.inputs[k])]
    }

    fn loss(&self, k: usize, tr: &Trace, g_mem: &mut [Vec<f64>]) -> f64 {
        debug_assert_eq!(tr.steps, self.steps);
        let y = self.labels[k];
        let (pred, loss) = cross_entropy(tr, self.readout, self.loss, y, Some(&mut g_mem[0]));
        if pred == y {
            self.correct.fetch_add(1, Ordering::Relaxed);
        }
        loss
    }

    fn count_loss(&self, _k: usize, tr: &Trace, g_count: &mut [Vec<f64>]) -> f64 {
        match &self.regularizer {
            Some(r) => spike_penalty(r, tr, self.hidden, g_count),
            None => 0.0,
        }
    }
}

/// The spike-count regulariser `r` of the `hidden` populations of a forward pass (see
/// [`SpikeRegularizer`]): its value, with ∂/∂n_i written into `g_count[h]`.
fn spike_penalty(
    r: &SpikeRegularizer,
    tr: &Trace,
    hidden: &[usize],
    g_count: &mut [Vec<f64>],
) -> f64 {
    let size = |h: usize| tr.pops[h].spk.len() / tr.steps.max(1);
    let total: usize = hidden.iter().map(|&h| size(h)).sum();
    let scale = r.strength / total.max(1) as f64;
    let mut loss = 0.0;
    for &h in hidden {
        let g = &mut g_count[h];
        g.clear();
        g.resize(size(h), 0.0);
        for t in 0..tr.steps {
            for (c, &s) in g.iter_mut().zip(tr.spk(h, t)) {
                *c += s;
            }
        }
        for c in g.iter_mut() {
            let over = (*c - r.target).max(0.0);
            loss += scale * over * over;
            *c = 2.0 * scale * over;
        }
    }
    loss
}

/// The predicted class and the cross-entropy for label `y` of the readout `r` of a forward
/// pass; with `g`, writes ∂loss/∂membrane (steps × classes) into it.
fn cross_entropy(
    tr: &Trace,
    r: usize,
    kind: ClassLoss,
    y: usize,
    g: Option<&mut Vec<f64>>,
) -> (usize, f64) {
    let steps = tr.steps;
    let c = tr.mem(r, 0).len();
    let mut z = vec![f64::NEG_INFINITY; c];
    let mut at = vec![0usize; c];
    if kind == ClassLoss::MeanMembrane {
        z.iter_mut().for_each(|v| *v = 0.0);
    }
    for t in 0..steps {
        for (j, &m) in tr.mem(r, t).iter().enumerate() {
            match kind {
                ClassLoss::MaxMembrane => {
                    if m > z[j] {
                        z[j] = m;
                        at[j] = t;
                    }
                }
                ClassLoss::MeanMembrane => z[j] += m,
            }
        }
    }
    if kind == ClassLoss::MeanMembrane {
        z.iter_mut().for_each(|v| *v /= steps as f64);
    }
    let mut pred = 0;
    for j in 1..c {
        if z[j] > z[pred] {
            pred = j;
        }
    }
    let top = z[pred];
    let sum: f64 = z.iter().map(|&v| (v - top).exp()).sum();
    let loss = sum.ln() + top - z[y];
    if let Some(g) = g {
        for j in 0..c {
            let d = (z[j] - top).exp() / sum - if j == y { 1.0 } else { 0.0 };
            match kind {
                ClassLoss::MaxMembrane => g[at[j] * c + j] = d,
                ClassLoss::MeanMembrane => {
                    for t in 0..steps {
                        g[t * c + j] = d / steps as f64;
                    }
                }
            }
        }
    }
    (pred, loss)
}

/// Synaptic operations of a forward pass: for every link, the synapses of each active
/// presynaptic neuron at each step whose spikes the link delivers.
fn synaptic_ops(plan: &exec::Net, tr: &Trace) -> f64 {
    let mut ops = 0usize;
    for l in plan.links() {
        let fan = |i: usize| match &l.storage {
            Storage::Dense => plan.pops()[l.post].size,
            Storage::Sparse { indptr, .. } => indptr[i + 1] - indptr[i],
        };
        // A recurrent link delivers step t's spikes in step t + 1.
        let last = if l.recurrent {
            tr.steps.saturating_sub(1)
        } else {
            tr.steps
        };
        for t in 0..last {
            if plan.neuron(l.pre).is_some() {
                for (i, &s) in tr.spk(l.pre, t).iter().enumerate() {
                    if s != 0.0 {
                        ops += fan(i);
                    }
                }
            } else {
                for &(i, _) in tr.pops[l.pre].input_at(t) {
                    ops += fan(i as usize);
                }
            }
        }
    }
    ops as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::{Model, Neuron, Surrogate};

    /// The cross-entropy's membrane gradient equals central differences of the loss through
    /// the executor (max and mean logits), on a small network with biases.
    #[test]
    fn spike_penalty_gradient_matches_finite_differences() {
        // ReLU hidden units make the summed outputs differentiable, so the penalty's value
        // and its gradient through `backward_counts` can be checked against each other.
        let plan = exec::Net::chain(
            4,
            &[("h", 6, Neuron::relu()), ("o", 2, Neuron::relu())],
            Surrogate::FastSigmoid { slope: 5.0 },
        )
        .unwrap();
        let steps = 5;
        let mut rng = crate::rng::stream(4, "t", "", 0);
        let mut w: Vec<Vec<f64>> = [24usize, 12]
            .iter()
            .map(|&n| (0..n).map(|_| rng.random_range(-0.4..0.6)).collect())
            .collect();
        let x: Vec<f64> = (0..steps * 4).map(|_| rng.random_range(0.0..1.0)).collect();
        let r = SpikeRegularizer {
            strength: 0.3,
            target: 1.0,
        };
        let penalty = |w: &[Vec<f64>], g: Option<&mut Grads>| {
            let p = Params::weights(&plan, w.iter().map(|v| v.as_slice()).collect());
            let mut tr = Trace::default();
            plan.forward(&p, steps, &[Seq::Dense(&x)], &mut tr);
            let mut g_count = vec![Vec::new(); 3];
            let value = spike_penalty(&r, &tr, &[1], &mut g_count);
            if let Some(g) = g {
                let counts: Vec<&[f64]> = g_count.iter().map(|v| v.as_slice()).collect();
                plan.backward_counts(&p, &mut tr, &[&[0.0; 10]], &counts, g);
            }
            value
        };
        let p = Params::weights(&plan, w.iter().map(|v| v.as_slice()).collect());
        let mut g = Grads::zeros(&p);
        drop(p);
        let value = penalty(&w, Some(&mut g));
        assert!(value > 0.0);
        let mut checked = 0;
        for k in 0..24 {
            let h = 1e-6;
            w[0][k] += h;
            let up = penalty(&w, None);
            w[0][k] -= 2.0 * h;
            let down = penalty(&w, None);
            w[0][k] += h;
            let fd = (up - down) / (2.0 * h);
            assert!(
                (fd - g.weights[0][k]).abs() <= 1e-6 * (1.0 + fd.abs()),
                "weight {k}: fd {fd}, backward {}",
                g.weights[0][k]
            );
            checked += usize::from(fd.abs() > 1e-4);
        }
        assert!(checked > 5, "only {checked} nonzero gradients");
        assert!(
            g.weights[1].iter().all(|&x| x == 0.0),
            "the readout is not counted"
        );
    }

    #[test]
    fn cross_entropy_gradient_matches_finite_differences() {
        let leaky = |beta: f64, threshold: f64, reset| Neuron {
            model: Model::Leaky { beta },
            reset,
            threshold,
        };
        let plan = exec::Net::chain(
            5,
            &[
                ("h", 7, leaky(0.8, 0.3, crate::file::Reset::Subtract)),
                ("o", 3, leaky(0.9, 1e9, crate::file::Reset::NoReset)),
            ],
            Surrogate::FastSigmoid { slope: 5.0 },
        )
        .unwrap();
        let steps = 6;
        let mut rng = crate::rng::stream(3, "t", "", 0);
        let mut w: Vec<Vec<f64>> = [35usize, 21]
            .iter()
            .map(|&n| (0..n).map(|_| rng.random_range(-0.3..1.0)).collect())
            .collect();
        // A readout-only sensitivity: the gradient of the readout weights, where no spike
        // threshold lies between the perturbed points.
        let x: Vec<f64> = (0..steps * 5)
            .map(|_| if rng.random_bool(0.6) { 1.0 } else { 0.0 })
            .collect();
        for kind in [ClassLoss::MaxMembrane, ClassLoss::MeanMembrane] {
            let y = 1;
            let loss_of = |w: &[Vec<f64>]| {
                let p = Params::weights(&plan, w.iter().map(|v| v.as_slice()).collect());
                let mut tr = Trace::default();
                plan.forward(&p, steps, &[Seq::Dense(&x)], &mut tr);
                cross_entropy(&tr, 2, kind, y, None).1
            };
            let p = Params::weights(&plan, w.iter().map(|v| v.as_slice()).collect());
            let mut tr = Trace::default();
            plan.forward(&p, steps, &[Seq::Dense(&x)], &mut tr);
            let mut g_mem = vec![0.0; steps * 3];
            cross_entropy(&tr, 2, kind, y, Some(&mut g_mem));
            let mut g = Grads::zeros(&p);
            plan.backward(&p, &mut tr, &[&g_mem], &mut g);
            let mut checked = 0;
            for k in 0..21 {
                let h = 1e-6;
                w[1][k] += h;
                let up = loss_of(&w);
                w[1][k] -= 2.0 * h;
                let down = loss_of(&w);
                w[1][k] += h;
                let fd = (up - down) / (2.0 * h);
                assert!(
                    (fd - g.weights[1][k]).abs() <= 1e-6 * (1.0 + fd.abs()),
                    "{kind:?} weight {k}: fd {fd}, backward {}",
                    g.weights[1][k]
                );
                checked += usize::from(fd != 0.0);
            }
            assert!(checked > 5, "{kind:?}: only {checked} nonzero gradients");
        }
    }
}
