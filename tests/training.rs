//! The executor (src/exec/) trains a graph file's network with two hidden populations and a
//! recurrent projection as snnTorch does: six SGD steps on a delayed-recall task, every loss,
//! logit, spike count and gradient against snnTorch 1.0.0's float64 autograd
//! (`snntorch_deep.json`, made by tests/reference/gen/gen_snntorch_deep.py).
#![allow(clippy::needless_range_loop)]

use crate::common::reference;
use serde_json::Value;
use snnsim::exec::{Grads, Net, Params, Sample, Seq, Storage, Surrogate, Trace};
use snnsim::file::Source;
use snnsim::graph::Network;

fn floats(v: &Value) -> Vec<f64> {
    match v.as_array() {
        Some(a) => a.iter().flat_map(floats).collect(),
        None => vec![v.as_f64().unwrap()],
    }
}

/// A torch Linear weight [out][in] as our pre × post matrix.
fn transposed(v: &Value) -> Vec<f64> {
    let rows: Vec<Vec<f64>> = v.as_array().unwrap().iter().map(floats).collect();
    let (n_out, n_in) = (rows.len(), rows[0].len());
    (0..n_in)
        .flat_map(|i| (0..n_out).map(move |j| (i, j)))
        .map(|(i, j)| rows[j][i])
        .collect()
}

/// The network of the reference as a graph file: 4 inputs → h1 (12 Synaptic, subtract, with
/// a recurrent all-to-all projection onto itself) → h2 (8 Leaky, zero) → readout (2 Leaky,
/// no reset).
fn graph(n: &Value) -> String {
    let f = |k: &str| n[k].as_f64().unwrap();
    format!(
        r#"(
    format_version: 1, dt_ms: 1.0, duration_ms: 0.0, seed: 1,
    populations: [
        (name: "input", size: 4, model: Observation()),
        (name: "h1", size: 12, model: Synaptic(alpha: {:?}, beta: {:?}, threshold: 1.0, reset: Subtract)),
        (name: "h2", size: 8, model: Lif(integration: SnnTorch(reset: Zero, beta: {:?}),
            tau_m_ms: 10.0, v_rest_mv: 0.0, v_reset_mv: 0.0, v_th_mv: 1.0)),
        (name: "readout", size: 2, model: Lif(integration: SnnTorch(reset: NoReset, beta: {:?}),
            tau_m_ms: 10.0, v_rest_mv: 0.0, v_reset_mv: 0.0, v_th_mv: 1.0)),
    ],
    projections: [
        (name: "fc1", pre: "input", post: "h1", connectivity: AllToAll, weight: KaimingNormal(gain: 1.0)),
        (name: "rec", pre: "h1", post: "h1", connectivity: AllToAll, allow_autapses: true,
            weight: KaimingNormal(gain: 1.0)),
        (name: "fc2", pre: "h1", post: "h2", connectivity: AllToAll, weight: KaimingNormal(gain: 1.0)),
        (name: "fc3", pre: "h2", post: "readout", connectivity: AllToAll, weight: KaimingNormal(gain: 1.0)),
    ],
)"#,
        f("A1"),
        f("B1"),
        f("B2"),
        f("B3")
    )
}

/// |got − want| ≤ 1e-9 of the tensor's largest reference entry (some entries are sums of
/// cancelling terms; reference README §5).
fn close(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}");
    let scale = want.iter().fold(1e-300f64, |m, x| m.max(x.abs()));
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-9 * scale,
            "{what}[{k}]: {g} vs snnTorch {w} (scale {scale:e})"
        );
    }
}

/// The delayed-recall batch: cross-entropy of the mean readout membrane, mean over the batch.
struct Recall<'a> {
    inputs: &'a [Vec<f64>],
    labels: &'a [usize],
    steps: usize,
}

impl Sample for Recall<'_> {
    fn inputs(&self, k: usize) -> Vec<Seq<'_>> {
        vec![Seq::Dense(&self.inputs[k])]
    }

    /// ∂L/∂mem3_t = (softmax(z) − onehot)/(B·T).
    fn loss(&self, k: usize, tr: &Trace, g_mem: &mut [Vec<f64>]) -> f64 {
        let (b, steps) = (self.inputs.len(), self.steps);
        let z = logits(tr, steps);
        let m = z[0].max(z[1]);
        let lse = m + ((z[0] - m).exp() + (z[1] - m).exp()).ln();
        for t in 0..steps {
            for c in 0..2 {
                let dz = (z[c] - lse).exp() - f64::from(c == self.labels[k]);
                g_mem[0][t * 2 + c] = dz / (b * steps) as f64;
            }
        }
        (lse - z[self.labels[k]]) / b as f64
    }
}

fn logits(tr: &Trace, steps: usize) -> [f64; 2] {
    let mut z = [0.0; 2];
    for t in 0..steps {
        for c in 0..2 {
            z[c] += tr.mem(3, t)[c] / steps as f64;
        }
    }
    z
}

/// The network of `snntorch_deep.json`, built (the decay reference trains the same one).
fn deep_network() -> Network {
    let text = graph(&reference("snntorch_deep.json")["network"]);
    let checked = Source::from_text("deep.ron", &text)
        .load_with(&snnsim::models::Rules)
        .unwrap();
    snnsim::graph::build(&checked).unwrap()
}

/// The surrogates of the references' runs, by their names there.
const SURROGATES: [(&str, Surrogate); 2] = [
    ("fast_sigmoid", Surrogate::FastSigmoid { slope: 25.0 }),
    ("atan", Surrogate::Atan { alpha: 2.0 }),
];

/// Samples per batch and steps per sample of both references.
const B: usize = 8;
const STEPS: usize = 16;

/// A reference run's start: the plan of the network with one surrogate, the reference's
/// initial weights and biases in the plan's link and population order, and its task.
struct Deep {
    net: Net,
    weights: Vec<Vec<f64>>,
    biases: Vec<Vec<f64>>,
    inputs: Vec<Vec<f64>>,
    labels: Vec<usize>,
}

impl Deep {
    /// Per surrogate of the references' runs, its name and the start of reference `r`'s run
    /// with it.
    fn starts(r: &Value) -> Vec<(&'static str, Deep)> {
        let network = deep_network();
        SURROGATES
            .into_iter()
            .map(|(name, surrogate)| (name, Deep::new(&network, surrogate, r)))
            .collect()
    }

    /// The start of reference `r`'s run with `surrogate` on `network` ([`deep_network`]).
    fn new(network: &Network, surrogate: Surrogate, r: &Value) -> Deep {
        let id = |name: &str| network.pop_id(name).unwrap();
        let net = Net::from_network(network, &[id("input")], &[id("readout")], surrogate).unwrap();
        let init = &r["init"];
        let mut weights = vec![Vec::new(); 4];
        for n in ["fc1", "rec", "fc2", "fc3"] {
            weights[net.link_index(n).unwrap()] = transposed(&init[format!("{n}.weight")]);
        }
        let biases = vec![
            Vec::new(),
            floats(&init["fc1.bias"]),
            floats(&init["fc2.bias"]),
            floats(&init["fc3.bias"]),
        ];
        let inputs = r["task"]["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(floats)
            .collect();
        let labels = floats(&r["task"]["labels"])
            .iter()
            .map(|&y| y as usize)
            .collect();
        Deep {
            net,
            weights,
            biases,
            inputs,
            labels,
        }
    }

    /// The current weights and biases, with the learned `decays` (per population of the
    /// plan; none when empty).
    fn params<'a>(&'a self, decays: &'a [Vec<f64>]) -> Params<'a> {
        Params {
            weights: self.weights.iter().map(|w| w.as_slice()).collect(),
            biases: opt(&self.biases),
            decays: opt(decays),
            transposed: Vec::new(),
        }
    }

    /// The batch's loss.
    fn recall(&self) -> Recall<'_> {
        Recall {
            inputs: &self.inputs,
            labels: &self.labels,
            steps: STEPS,
        }
    }

    /// One step's loss, logits, hidden spike counts and weight and bias gradients against the
    /// reference step `want`.
    fn check(&self, what: &str, want: &Value, loss: f64, z: &[f64], spikes: [f64; 2], g: &Grads) {
        close(&format!("{what} loss"), &[loss], &[want["loss"].as_f64().unwrap()]);
        close(&format!("{what} z"), z, &floats(&want["z"]));
        assert_eq!(spikes[0], want["spikes1"].as_f64().unwrap(), "{what} spikes1");
        assert_eq!(spikes[1], want["spikes2"].as_f64().unwrap(), "{what} spikes2");
        let grads = &want["grads"];
        for n in ["fc1", "rec", "fc2", "fc3"] {
            let want_w = transposed(&grads[format!("{n}.weight")]);
            let l = self.net.link_index(n).unwrap();
            close(&format!("{what} {n}.weight"), &g.weights[l], &want_w);
        }
        for (n, q) in [("fc1", 1), ("fc2", 2), ("fc3", 3)] {
            let want_b = floats(&grads[format!("{n}.bias")]);
            close(&format!("{what} {n}.bias"), &g.biases[q], &want_b);
        }
    }

    /// An SGD step of the weights and biases.
    fn sgd(&mut self, g: &Grads, lr: f64) {
        for (w, gw) in self.weights.iter_mut().zip(&g.weights) {
            w.iter_mut().zip(gw).for_each(|(x, d)| *x -= lr * d);
        }
        for (v, gb) in self.biases.iter_mut().zip(&g.biases) {
            v.iter_mut().zip(gb).for_each(|(x, d)| *x -= lr * d);
        }
    }
}

/// The non-empty vectors of `v`.
fn opt(v: &[Vec<f64>]) -> Vec<Option<&[f64]>> {
    v.iter()
        .map(|v| (!v.is_empty()).then_some(v.as_slice()))
        .collect()
}

#[test]
fn two_hidden_layers_with_recurrence_train_as_in_snntorch() {
    let r = reference("snntorch_deep.json");
    for (name, mut deep) in Deep::starts(&r) {
        let names: Vec<&str> = deep.net.pops().iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["input", "h1", "h2", "readout"]);
        for l in deep.net.links() {
            assert_eq!(l.recurrent, l.name == "rec", "{}", l.name);
            assert_eq!(l.storage, Storage::Dense, "{}", l.name);
        }
        let lr = r["lr"].as_f64().unwrap();
        let run = &r["runs"][name];
        let mut losses = Vec::new();
        for (k, want) in run["steps"].as_array().unwrap().iter().enumerate() {
            let p = deep.params(&[]);
            let net = &deep.net;
            let recall = deep.recall();
            let mut g = Grads::zeros(&p);
            let (mut loss, mut z_all, mut spikes) = (0.0, Vec::new(), [0.0; 2]);
            let mut tr = Trace::default();
            for s in 0..B {
                net.forward(&p, STEPS, &[Seq::Dense(&deep.inputs[s])], &mut tr);
                if k == 0 && s == 0 {
                    let t0 = &run["trace0"];
                    for (key, q, mem) in [
                        ("mem1", 1, true),
                        ("spk1", 1, false),
                        ("mem2", 2, true),
                        ("spk2", 2, false),
                        ("mem3", 3, true),
                    ] {
                        let ours: Vec<f64> = (0..STEPS)
                            .flat_map(|t| if mem { tr.mem(q, t) } else { tr.spk(q, t) }.to_vec())
                            .collect();
                        close(&format!("{name} trace0 {key}"), &ours, &floats(&t0[key]));
                    }
                }
                spikes[0] += tr.pops[1].spk.iter().sum::<f64>();
                spikes[1] += tr.pops[2].spk.iter().sum::<f64>();
                let mut g_mem = vec![vec![0.0; STEPS * 2]];
                loss += recall.loss(s, &tr, &mut g_mem);
                net.backward(&p, &mut tr, &[&g_mem[0]], &mut g);
                z_all.extend_from_slice(&logits(&tr, STEPS));
            }
            // The batch runner gives the same sums, bit for bit.
            let (batch_loss, batch_g) = net.batch(&p, STEPS, B, &recall);
            assert_eq!(batch_loss.to_bits(), loss.to_bits());
            assert_eq!(batch_g, g);
            deep.check(&format!("{name} step {k}"), want, loss, &z_all, spikes, &g);
            losses.push(loss);
            deep.sgd(&g, lr);
        }
        assert_eq!(losses.len(), 6);
        assert!(
            losses[5] < 0.05 * losses[0],
            "{name}: the task is learned: losses {losses:?}"
        );
    }
}

/// Learned per-neuron decays (`snntorch_decay.json`, tests/reference/gen/gen_snntorch_decay.py):
/// the same network with h1's α and β and h2's β trained per neuron, as snnTorch's
/// `learn_alpha`/`learn_beta` do. Four SGD steps; at each, the loss, the logits and every
/// gradient — dL/dβ and dL/dα from the executor's backward pass beside the weights' — agree
/// with snnTorch's autograd within 1e-9 of each tensor's largest entry, and the spike counts
/// exactly.
#[test]
fn learned_decays_train_as_in_snntorch() {
    let r = reference("snntorch_decay.json");
    for (name, mut deep) in Deep::starts(&r) {
        let init = &r["init"];
        // Layout of `Params::decays`: β of every neuron, then α (Synaptic).
        let mut decays = [
            Vec::new(),
            [floats(&init["lif1.beta"]), floats(&init["lif1.alpha"])].concat(),
            floats(&init["lif2.beta"]),
            Vec::new(),
        ];
        let (lr, lr_decay) = (r["lr"].as_f64().unwrap(), r["lr_decay"].as_f64().unwrap());
        let run = &r["runs"][name];
        let want_steps = run["steps"].as_array().unwrap();
        assert_eq!(want_steps.len(), 4);
        for (k, want) in want_steps.iter().enumerate() {
            let p = deep.params(&decays);
            let net = &deep.net;
            let (loss, g) = net.batch(&p, STEPS, B, &deep.recall());
            let mut z_all = Vec::new();
            let mut spikes = [0.0; 2];
            let mut tr = Trace::default();
            for s in 0..B {
                net.forward(&p, STEPS, &[Seq::Dense(&deep.inputs[s])], &mut tr);
                z_all.extend_from_slice(&logits(&tr, STEPS));
                spikes[0] += tr.pops[1].spk.iter().sum::<f64>();
                spikes[1] += tr.pops[2].spk.iter().sum::<f64>();
            }
            let what = format!("{name} step {k}");
            deep.check(&what, want, loss, &z_all, spikes, &g);
            let grads = &want["grads"];
            let n1 = 12;
            close(
                &format!("{what} lif1.beta"),
                &g.decays[1][..n1],
                &floats(&grads["lif1.beta"]),
            );
            close(
                &format!("{what} lif1.alpha"),
                &g.decays[1][n1..],
                &floats(&grads["lif1.alpha"]),
            );
            close(
                &format!("{what} lif2.beta"),
                &g.decays[2],
                &floats(&grads["lif2.beta"]),
            );
            assert!(g.decays[0].is_empty() && g.decays[3].is_empty());
            deep.sgd(&g, lr);
            for (v, gd) in decays.iter_mut().zip(&g.decays) {
                v.iter_mut().zip(gd).for_each(|(x, d)| *x -= lr_decay * d);
            }
        }
    }
}
