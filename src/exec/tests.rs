//! The executor's backward pass against forward-mode tangents through the same linearisation
//! (an independent implementation of each model's tangent, written here), on a network with
//! two hidden populations, a self-recurrent and a backward projection, sparse and dense links
//! and biases; and the agents' factored pass against the unfactored one.

// Index loops mirror the equations, over several arrays at once.
#![allow(clippy::needless_range_loop)]

use super::*;
use crate::file::Reset;

fn pattern(n: usize, scale: f64, salt: usize) -> Vec<f64> {
    (0..n)
        .map(|i| (((i * 37 + salt * 11) % 23) as f64 - 9.0) * scale)
        .collect()
}

fn pop(name: &str, size: usize, kind: PopKind) -> Pop {
    Pop {
        name: name.into(),
        size,
        kind,
    }
}

fn link(name: &str, pre: usize, post: usize, storage: Storage) -> Link {
    Link {
        name: name.into(),
        pre,
        post,
        recurrent: pre >= post,
        storage,
    }
}

/// in(3) → a(4) → b(3) → out(2); a → a (sparse, recurrent), b → a (recurrent), in → b
/// (sparse, skipping a).
fn deep(a: Neuron, b: Neuron) -> Net {
    let out = Neuron {
        model: Model::Leaky { beta: 0.85 },
        reset: Reset::NoReset,
        threshold: 1.0,
    };
    Net::new(
        vec![
            pop("in", 3, PopKind::Input),
            pop("a", 4, PopKind::Neurons(a)),
            pop("b", 3, PopKind::Neurons(b)),
            pop("out", 2, PopKind::Neurons(out)),
        ],
        vec![
            link("in_a", 0, 1, Storage::Dense),
            link(
                "a_a",
                1,
                1,
                Storage::Sparse {
                    indptr: vec![0, 2, 3, 5, 6],
                    indices: vec![1, 3, 0, 0, 2, 1],
                },
            ),
            link("b_a", 2, 1, Storage::Dense),
            link("a_b", 1, 2, Storage::Dense),
            link(
                "in_b",
                0,
                2,
                Storage::Sparse {
                    indptr: vec![0, 1, 1, 3],
                    indices: vec![2, 0, 1],
                },
            ),
            link("b_out", 2, 3, Storage::Dense),
        ],
        vec![3],
        Surrogate::Atan { alpha: 2.0 },
    )
    .unwrap()
}

/// The tangent of a model's step (resets detached): (dmem, da, db) from dx.
fn tangent(n: Neuron, r: f64, dx: f64, d: &mut [f64; 3]) {
    let k = if n.reset == Reset::Zero { 1.0 - r } else { 1.0 };
    match n.model {
        Model::Leaky { beta } => d[0] = k * beta * d[0] + dx,
        Model::Synaptic { alpha, beta } => {
            d[1] = alpha * d[1] + dx;
            d[0] = k * (beta * d[0] + d[1]);
        }
        Model::Alpha { alpha, beta, tau } => {
            let (e, m) = (alpha * d[1] + dx, beta * d[2] - dx);
            d[0] = k * tau * (e + m);
            d[1] = k * e;
            d[2] = k * m;
        }
        Model::Alif { alpha, rho, .. } => {
            // r is the previous spike's tangent here: it enters the adaptation only.
            d[1] = rho * d[1] + r;
            d[0] = alpha * d[0] + dx;
        }
        Model::Relu => d[0] = dx,
    }
}

/// dL/dθ for L = Σ coef·mem_out, θ the parameter `which` = (is_bias, slot, index), by a
/// forward-mode tangent around the trace `tr`.
fn forward_mode(
    net: &Net,
    p: &Params,
    tr: &Trace,
    inputs: &[f64],
    coef: &[f64],
    which: (bool, usize, usize),
) -> f64 {
    let pops = net.pops();
    let steps = tr.steps;
    let mut d: Vec<Vec<[f64; 3]>> = pops.iter().map(|p| vec![[0.0; 3]; p.size]).collect();
    let mut dspk: Vec<Vec<f64>> = pops.iter().map(|p| vec![0.0; steps * p.size]).collect();
    let value = |q: usize, s: usize, i: usize| match pops[q].kind {
        PopKind::Input => inputs[s * pops[q].size + i],
        PopKind::Neurons(_) => tr.spk(q, s)[i],
    };
    let mut dl = 0.0;
    for t in 0..steps {
        for q in 0..pops.len() {
            let PopKind::Neurons(n) = pops[q].kind else {
                continue;
            };
            let size = pops[q].size;
            let mut dx = vec![0.0; size];
            if which.0 && which.1 == q {
                dx[which.2] += 1.0;
            }
            for &l in net.into(q) {
                let link = &net.links()[l];
                let s = if link.recurrent {
                    match t.checked_sub(1) {
                        Some(s) => s,
                        None => continue,
                    }
                } else {
                    t
                };
                let n_pre = pops[link.pre].size;
                let synapses: Vec<(usize, usize, usize)> = match &link.storage {
                    Storage::Dense => (0..n_pre)
                        .flat_map(|i| (0..size).map(move |j| (i, j, i * size + j)))
                        .collect(),
                    Storage::Sparse { indptr, indices } => (0..n_pre)
                        .flat_map(|i| (indptr[i]..indptr[i + 1]).map(move |k| (i, k, k)))
                        .map(|(i, k, _)| (i, indices[k] as usize, k))
                        .collect(),
                };
                for (i, j, k) in synapses {
                    dx[j] += p.weights[l][k] * dspk[link.pre][s * n_pre + i];
                    if !which.0 && which.1 == l && which.2 == k {
                        dx[j] += value(link.pre, s, i);
                    }
                }
            }
            for j in 0..size {
                let slope = n.model.threshold_slope();
                let r = match (n.model.adaptive(), t.checked_sub(1)) {
                    (false, _) => tr.pops[q].reset[t * size + j],
                    (true, Some(s)) => dspk[q][s * size + j],
                    (true, None) => 0.0,
                };
                tangent(n, r, dx[j], &mut d[q][j]);
                let theta = match n.model.adaptive() {
                    true => n.threshold + slope * tr.pops[q].syn[t * size + j],
                    false => n.threshold,
                };
                let u = tr.mem(q, t)[j] - theta;
                let dj = d[q][j];
                dspk[q][t * size + j] = net.surrogate().grad(u) * (dj[0] - slope * dj[1]);
            }
            if net.readouts() == [q] {
                for j in 0..size {
                    dl += coef[t * size + j] * d[q][j][0];
                }
            }
        }
    }
    dl
}

#[test]
fn backward_equals_forward_mode_on_a_deep_recurrent_network() {
    let steps = 12;
    let inputs: Vec<f64> = (0..steps * 3)
        .map(|i| ((i * 7 % 11) as f64) * 0.15)
        .collect();
    let coef: Vec<f64> = (0..steps * 2).map(|i| 0.1 * i as f64 - 1.1).collect();
    let models = [
        Model::Leaky { beta: 0.8 },
        Model::Synaptic {
            alpha: 0.7,
            beta: 0.9,
        },
        Model::Alpha {
            alpha: 0.9,
            beta: 0.8,
            tau: 0.9f64.ln() / (0.8f64.ln() - 0.9f64.ln()) + 1.0,
        },
        Model::Alif {
            alpha: 0.85,
            rho: 0.9,
            beta: 0.4,
        },
    ];
    let mut cases = 0;
    for (ma, model_a) in models.into_iter().enumerate() {
        for reset in [Reset::Zero, Reset::Subtract, Reset::NoReset] {
            if matches!(model_a, Model::Alpha { .. }) && reset == Reset::Subtract
                || model_a.adaptive() && reset != Reset::Subtract
            {
                continue;
            }
            let a = Neuron {
                model: model_a,
                reset,
                threshold: 1.0,
            };
            // Alif in both hidden populations once (b feeds a back through a recurrent link).
            let b = match model_a.adaptive() {
                true => Neuron {
                    threshold: 0.8,
                    ..a
                },
                false => Neuron {
                    model: models[(ma + 1) % 2],
                    reset: [Reset::Zero, Reset::Subtract][ma % 2],
                    threshold: 0.8,
                },
            };
            let net = deep(a, b);
            let lens: Vec<usize> = net.links().iter().map(|l| l.len(net.pops())).collect();
            let weights: Vec<Vec<f64>> = lens
                .iter()
                .enumerate()
                .map(|(l, &n)| pattern(n, if l == 5 { 0.1 } else { 0.09 }, l))
                .collect();
            let biases = [
                None,
                Some(vec![0.3, 0.1, 0.2, 0.25]),
                Some(vec![0.2, 0.3, 0.1]),
                Some(vec![0.05, -0.05]),
            ];
            let p = Params {
                weights: weights.iter().map(|w| w.as_slice()).collect(),
                biases: biases.iter().map(|b| b.as_deref()).collect(),
                decays: Vec::new(),
                transposed: Vec::new(),
            };
            let mut tr = Trace::default();
            net.forward(&p, steps, &[Seq::Dense(&inputs)], &mut tr);
            for q in [1, 2] {
                let spikes: f64 = tr.pops[q].spk.iter().sum();
                assert!(spikes >= 3.0, "{a:?} population {q}: {spikes} spikes");
            }
            let mut g = Grads::zeros(&p);
            net.backward(&p, &mut tr, &[&coef], &mut g);
            for (l, &n) in lens.iter().enumerate() {
                for k in 0..n {
                    let fm = forward_mode(&net, &p, &tr, &inputs, &coef, (false, l, k));
                    let bw = g.weights[l][k];
                    assert!(
                        (fm - bw).abs() <= 1e-12 * (1.0 + fm.abs()),
                        "{a:?} link {l} weight {k}: forward {fm} vs backward {bw}"
                    );
                }
            }
            for q in 1..4 {
                for j in 0..net.pops()[q].size {
                    let fm = forward_mode(&net, &p, &tr, &inputs, &coef, (true, q, j));
                    let bw = g.biases[q][j];
                    assert!(
                        (fm - bw).abs() <= 1e-12 * (1.0 + fm.abs()),
                        "{a:?} bias {q}.{j}: forward {fm} vs backward {bw}"
                    );
                }
            }
            cases += 1;
        }
    }
    assert_eq!(cases, 9);
}

/// The factored pass equals the unfactored one for logits = mean readout, constant inputs.
#[test]
fn policy_factors_equal_the_full_backward_pass() {
    let (n_in, h, o, steps) = (4, 5, 3, 10);
    let inputs = [(0u32, 1.0), (2, 0.7), (3, 1.3)];
    let dz = [0.4, -1.3, 0.9];
    let alpha_tau = 0.9f64.ln() / (0.8f64.ln() - 0.9f64.ln()) + 1.0;
    for (model, resets) in [
        (
            Model::Leaky { beta: 0.9 },
            &[Reset::Zero, Reset::Subtract][..],
        ),
        (
            Model::Synaptic {
                alpha: 0.9,
                beta: 0.95,
            },
            &[Reset::Zero, Reset::Subtract][..],
        ),
        (
            Model::Alpha {
                alpha: 0.9,
                beta: 0.8,
                tau: alpha_tau,
            },
            &[Reset::Zero, Reset::NoReset][..],
        ),
    ] {
        for &reset in resets {
            let hidden = Neuron {
                model,
                reset,
                threshold: 1.0,
            };
            let out = Neuron {
                model: Model::Leaky { beta: 0.95 },
                reset: Reset::NoReset,
                threshold: 1e9,
            };
            let net = Net::chain(
                n_in,
                &[("h", h, hidden), ("out", o, out)],
                Surrogate::default(),
            )
            .unwrap();
            let shape = net.shallow().unwrap();
            let w1: Vec<f64> = (0..n_in * h)
                .map(|k| 0.12 + 0.03 * (k % 7) as f64)
                .collect();
            let w2: Vec<f64> = (0..h * o)
                .map(|k| ((k * 37 % 11) as f64 - 5.0) * 0.17)
                .collect();
            let p = Params::weights(&net, vec![&w1, &w2]);
            let mut tr = Trace::default();
            net.forward(&p, steps, &[Seq::Constant(&inputs)], &mut tr);
            assert!(tr.pops[1].spk.iter().sum::<f64>() > 0.0);
            let g_out: Vec<f64> = (0..steps * o).map(|k| dz[k % o] / steps as f64).collect();
            let mut g = Grads::zeros(&p);
            net.backward(&p, &mut tr, &[&g_out], &mut g);
            let (mut q, mut nu) = (vec![0.0; h], vec![0.0; h]);
            net.policy_factors(shape, &mut tr, &mut q, &mut nu);
            for j in 0..h {
                let u: f64 = (0..o).map(|c| w2[j * o + c] * dz[c]).sum();
                for &(i, x) in &inputs {
                    let full = g.weights[0][i as usize * h + j];
                    let factored = x * u * nu[j];
                    assert!(
                        (full - factored).abs() < 1e-12 * (1.0 + full.abs()),
                        "{model:?} {reset:?} w1[{i},{j}]: {full} vs {factored}"
                    );
                }
                for c in 0..o {
                    assert!((g.weights[1][j * o + c] - dz[c] * q[j]).abs() < 1e-12);
                }
            }
        }
    }
}

/// The agents' fused forward pass records the same numbers as the general one, bit for bit,
/// for every model and reset, dense and sparse input links, with and without biases, and
/// when its trace is reused for another decision.
#[test]
fn forward_shallow_equals_forward_bit_for_bit() {
    // 9 hidden neurons: one partial block; 140: two whole blocks and a partial one.
    for h in [9, 140] {
        shallow_passes_agree(h);
    }
}

/// [`Net::forward_shallow`] records what [`Net::forward`] does, and [`Net::decide_shallow`]
/// the same spikes and readout, with the factors of [`Net::policy_factors`], bit for bit.
fn shallow_passes_agree(h: usize) {
    let (n_in, o, steps) = (6, 3, 10);
    let alpha_tau = 0.9f64.ln() / (0.8f64.ln() - 0.9f64.ln()) + 1.0;
    let out = Neuron {
        model: Model::Leaky { beta: 0.95 },
        reset: Reset::NoReset,
        threshold: 1e9,
    };
    let models = [
        Model::Leaky { beta: 0.9 },
        Model::Synaptic {
            alpha: 0.9,
            beta: 0.95,
        },
        Model::Alpha {
            alpha: 0.9,
            beta: 0.8,
            tau: alpha_tau,
        },
    ];
    // Input i reaches the hidden neurons j with (i + j) % 3 ≠ 1.
    let mut indptr = vec![0];
    let mut indices = vec![];
    for i in 0..n_in {
        indices.extend((0..h as u32).filter(|j| (i as u32 + j) % 3 != 1));
        indptr.push(indices.len());
    }
    let sparse = Storage::Sparse { indptr, indices };
    let mut spiked = 0.0;
    // Each model with another surrogate derivative.
    let surrogates = [
        Surrogate::default(),
        Surrogate::Sigmoid { slope: 5.0 },
        Surrogate::Atan { alpha: 2.0 },
    ];
    for (model, surrogate) in models.into_iter().zip(surrogates) {
        for reset in [Reset::Zero, Reset::Subtract, Reset::NoReset] {
            for storage in [Storage::Dense, sparse.clone()] {
                let hidden = Neuron {
                    model,
                    reset,
                    threshold: 1.0,
                };
                let net = Net::new(
                    vec![
                        pop("in", n_in, PopKind::Input),
                        pop("h", h, PopKind::Neurons(hidden)),
                        pop("out", o, PopKind::Neurons(out)),
                    ],
                    vec![
                        link("w1", 0, 1, storage.clone()),
                        link("w2", 1, 2, Storage::Dense),
                    ],
                    vec![2],
                    surrogate,
                )
                .unwrap();
                let shape = net.shallow().unwrap();
                let w1: Vec<f64> = pattern(net.links()[0].len(net.pops()), 0.05, 1)
                    .iter()
                    .map(|w| w + 0.3)
                    .collect();
                let w2 = pattern(h * o, 0.17, 2);
                let (b_h, b_o) = (pattern(h, 0.02, 3), pattern(o, 0.1, 4));
                for biased in [false, true] {
                    let mut p = Params::weights(&net, vec![&w1, &w2]);
                    if biased {
                        p.biases = vec![None, Some(&b_h), Some(&b_o)];
                    }
                    let (mut fused, mut decided) = (Trace::default(), Trace::default());
                    for inputs in [
                        &[(0u32, 1.0), (2, 0.7), (3, 1.3), (5, 1.0)][..],
                        &[(1u32, 1.0), (4, 2.0)][..],
                    ] {
                        let mut general = Trace::default();
                        net.forward(&p, steps, &[Seq::Constant(inputs)], &mut general);
                        net.forward_shallow(shape, &p, steps, inputs, &mut fused);
                        for q in [1, 2] {
                            let (g, f) = (&general.pops[q], &fused.pops[q]);
                            for (name, x, y) in [
                                ("mem", &g.mem, &f.mem),
                                ("spk", &g.spk, &f.spk),
                                ("reset", &g.reset, &f.reset),
                            ] {
                                let bits =
                                    |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                                assert_eq!(bits(x), bits(y), "{model:?} {reset:?} pop {q} {name}");
                            }
                        }
                        assert_eq!(fused.pops[0].input_at(3), inputs);
                        let (mut q, mut nu) = (vec![0.0; h], vec![0.0; h]);
                        net.policy_factors(shape, &mut general, &mut q, &mut nu);
                        let (mut q2, mut nu2) = (vec![1.0; h], vec![1.0; h]);
                        net.decide_shallow(
                            shape,
                            &p,
                            steps,
                            inputs,
                            &mut decided,
                            (&mut q2, &mut nu2),
                        );
                        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                        for (name, x, y) in [
                            ("q", &q, &q2),
                            ("nu", &nu, &nu2),
                            ("hidden spk", &general.pops[1].spk, &decided.pops[1].spk),
                            ("readout mem", &general.pops[2].mem, &decided.pops[2].mem),
                        ] {
                            assert_eq!(bits(x), bits(y), "{model:?} {reset:?} h {h} {name}");
                        }
                        spiked += general.pops[1].spk.iter().sum::<f64>();
                    }
                }
            }
        }
    }
    assert!(spiked > 0.0);
}

#[test]
fn plans_are_checked_and_name_the_projection() {
    let n = Neuron {
        model: Model::Leaky { beta: 0.9 },
        reset: Reset::Zero,
        threshold: 1.0,
    };
    let pops = || {
        vec![
            pop("in", 2, PopKind::Input),
            pop("h", 2, PopKind::Neurons(n)),
        ]
    };
    let err = Net::new(
        pops(),
        vec![link("back", 1, 0, Storage::Dense)],
        vec![1],
        Surrogate::default(),
    )
    .unwrap_err();
    assert_eq!(err.what, "projection `back`");
    assert!(err.reason.contains("input"), "{err}");
    let bad = Storage::Sparse {
        indptr: vec![0, 1],
        indices: vec![0],
    };
    let err = Net::new(
        pops(),
        vec![link("w", 0, 1, bad)],
        vec![1],
        Surrogate::default(),
    )
    .unwrap_err();
    assert!(err.reason.contains("sparse layout"), "{err}");
    let mut l = link("w", 0, 1, Storage::Dense);
    l.recurrent = true;
    assert!(Net::new(pops(), vec![l], vec![1], Surrogate::default()).is_err());
}

/// A batch of 20 samples (three chunks) gives the same loss and gradients, bit for bit, on 1
/// and on 4 threads.
#[test]
fn batches_are_the_same_on_any_number_of_threads() {
    struct Batch(Vec<Vec<f64>>);
    impl Sample for Batch {
        fn inputs(&self, k: usize) -> Vec<Seq<'_>> {
            vec![Seq::Dense(&self.0[k])]
        }
        fn loss(&self, k: usize, tr: &Trace, g_mem: &mut [Vec<f64>]) -> f64 {
            let mut l = 0.0;
            for (i, g) in g_mem[0].iter_mut().enumerate() {
                *g = 0.1 * ((i + k) % 5) as f64 - 0.2;
                l += *g * tr.pops[3].mem[i];
            }
            l
        }
    }
    let a = Neuron {
        model: Model::Synaptic {
            alpha: 0.7,
            beta: 0.9,
        },
        reset: Reset::Subtract,
        threshold: 1.0,
    };
    let b = Neuron {
        model: Model::Leaky { beta: 0.8 },
        reset: Reset::Zero,
        threshold: 0.8,
    };
    let net = deep(a, b);
    let steps = 12;
    let batch = Batch(
        (0..20)
            .map(|k| {
                (0..steps * 3)
                    .map(|i| (((i + k) * 7 % 11) as f64) * 0.15)
                    .collect()
            })
            .collect(),
    );
    let weights: Vec<Vec<f64>> = net
        .links()
        .iter()
        .enumerate()
        .map(|(l, link)| pattern(link.len(net.pops()), 0.09, l))
        .collect();
    let p = Params::weights(&net, weights.iter().map(|w| w.as_slice()).collect());
    let on = |threads| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| net.batch(&p, steps, 20, &batch))
    };
    let (l1, g1) = on(1);
    let (l4, g4) = on(4);
    assert_eq!(l1.to_bits(), l4.to_bits());
    assert_eq!(g1, g4);
    assert!(g1.weights.iter().flatten().any(|&x| x != 0.0));
}

/// The backward pass from transposed weights ([`Params::with_transposed`]) gives the same bits
/// as from the weights themselves, on populations wider than a tile (a tile and a remainder)
/// with a recurrent link and a sparse one.
#[test]
fn transposed_weights_give_the_same_gradients_bit_for_bit() {
    let leaky = |beta, reset, threshold| Neuron {
        model: Model::Leaky { beta },
        reset,
        threshold,
    };
    let (n_in, n_h, n_out) = (70, 130, 67);
    let net = Net::new(
        vec![
            pop("in", n_in, PopKind::Input),
            pop(
                "h",
                n_h,
                PopKind::Neurons(leaky(0.85, Reset::Subtract, 0.7)),
            ),
            pop(
                "out",
                n_out,
                PopKind::Neurons(leaky(0.9, Reset::NoReset, 1e9)),
            ),
        ],
        vec![
            link("in_h", 0, 1, Storage::Dense),
            link("h_h", 1, 1, Storage::Dense),
            link("h_out", 1, 2, Storage::Dense),
            link(
                "in_out",
                0,
                2,
                Storage::Sparse {
                    indptr: (0..=n_in).map(|i| i / 2).collect(),
                    indices: (0..n_in as u32 / 2)
                        .map(|k| (k * 7) % n_out as u32)
                        .collect(),
                },
            ),
        ],
        vec![2],
        Surrogate::FastSigmoid { slope: 5.0 },
    )
    .unwrap();
    let weights: Vec<Vec<f64>> = net
        .links()
        .iter()
        .enumerate()
        .map(|(l, link)| pattern(link.len(net.pops()), 0.013, l))
        .collect();
    let p = Params::weights(&net, weights.iter().map(|w| w.as_slice()).collect());
    let wt = net.transpose(&p);
    let pt = p.clone().with_transposed(&wt);
    let steps = 9;
    let inputs = pattern(steps * n_in, 0.11, 3);
    let g_mem = pattern(steps * n_out, 0.05, 5);
    let run = |p: &Params| {
        let mut tr = Trace::default();
        net.forward(p, steps, &[Seq::Dense(&inputs)], &mut tr);
        let mut g = Grads::zeros(p);
        net.backward(p, &mut tr, &[&g_mem], &mut g);
        (g, tr.pops[1].spk.iter().sum::<f64>())
    };
    let ((by_rows, spikes), (by_columns, _)) = (run(&p), run(&pt));
    assert!(
        spikes > 0.0 && spikes < (steps * n_h) as f64,
        "{spikes} hidden spikes"
    );
    assert!(by_rows.weights[0].iter().any(|&x| x != 0.0));
    let bits =
        |g: &Grads| -> Vec<u64> { g.weights.iter().flatten().map(|x| x.to_bits()).collect() };
    assert_eq!(bits(&by_rows), bits(&by_columns));
}

/// in(5) → h(7) → out(3), dense, and in → out sparse (skipping h); with `recurrent`, h → h
/// too.
fn shallow(h: Neuron, out: Neuron, recurrent: bool) -> Net {
    let mut links = vec![
        link("in_h", 0, 1, Storage::Dense),
        link("h_out", 1, 2, Storage::Dense),
        link(
            "in_out",
            0,
            2,
            Storage::Sparse {
                indptr: vec![0, 1, 1, 3, 4, 4],
                indices: vec![2, 0, 1, 1],
            },
        ),
    ];
    if recurrent {
        links.push(link("h_h", 1, 1, Storage::Dense));
    }
    Net::new(
        vec![
            pop("in", 5, PopKind::Input),
            pop("h", 7, PopKind::Neurons(h)),
            pop("out", 3, PopKind::Neurons(out)),
        ],
        links,
        vec![2],
        Surrogate::FastSigmoid { slope: 4.0 },
    )
    .unwrap()
}

/// BPTT's and e-prop's gradients of `net` on a random sample, weights, biases and loss
/// gradient: `spread` true gives ∂L/∂y on every step (a mean logit's shape), false on one
/// step per readout neuron (a maximum's); `counted` adds a random ∂L/∂(spike count) of each
/// hidden neuron (a spike-count regulariser's). Also the hidden spikes.
fn both_gradients(net: &Net, seed: u64, spread: bool, counted: bool) -> (Grads, Grads, f64) {
    use rand::Rng as _;
    let steps = 15;
    let mut rng = crate::rng::stream(seed, "eprop-test", "", 0);
    let weights: Vec<Vec<f64>> = net
        .links()
        .iter()
        .map(|l| {
            let scale = if l.pre == 0 { 0.9 } else { 0.5 };
            (0..l.len(net.pops()))
                .map(|_| rng.random_range(-0.4..1.0) * scale)
                .collect()
        })
        .collect();
    let biases: Vec<Option<Vec<f64>>> = net
        .pops()
        .iter()
        .map(|p| {
            (p.kind != PopKind::Input)
                .then(|| (0..p.size).map(|_| rng.random_range(-0.1..0.2)).collect())
        })
        .collect();
    let p = Params {
        weights: weights.iter().map(|w| w.as_slice()).collect(),
        biases: biases.iter().map(|b| b.as_deref()).collect(),
        decays: Vec::new(),
        transposed: Vec::new(),
    };
    let inputs: Vec<f64> = (0..steps * 5)
        .map(|_| match rng.random_range(0..3) {
            0 => 1.0,
            1 => rng.random_range(0.0..1.0),
            _ => 0.0,
        })
        .collect();
    let n_out = net.pops()[2].size;
    let g_mem: Vec<f64> = if spread {
        (0..steps * n_out)
            .map(|_| rng.random_range(-1.0..1.0))
            .collect()
    } else {
        let mut g = vec![0.0; steps * n_out];
        for k in 0..n_out {
            g[rng.random_range(steps / 2..steps) * n_out + k] = rng.random_range(-1.0..1.0);
        }
        g
    };
    let g_hidden: Vec<f64> = (0..net.pops()[1].size)
        .map(|_| rng.random_range(-0.5..0.5))
        .collect();
    let counts: Vec<&[f64]> = if counted {
        vec![&[], &g_hidden]
    } else {
        Vec::new()
    };
    let mut tr = Trace::default();
    net.forward(&p, steps, &[Seq::Dense(&inputs)], &mut tr);
    let spikes = tr.pops[1].spk.iter().sum();
    let mut bptt = Grads::zeros(&p);
    net.backward_counts(&p, &mut tr, &[&g_mem], &counts, &mut bptt);
    let mut eprop = Grads::zeros(&p);
    let fb = Feedback::Symmetric;
    net.eprop_counts(&p, &mut tr, &[&g_mem], &counts, fb, &mut eprop);
    (bptt, eprop, spikes)
}

fn hidden_models() -> Vec<Neuron> {
    let n = |model, reset| Neuron {
        model,
        reset,
        threshold: 0.6,
    };
    let syn = Model::Synaptic {
        alpha: 0.7,
        beta: 0.9,
    };
    let alpha = Model::Alpha {
        alpha: 0.9,
        beta: 0.8,
        tau: 0.9f64.ln() / (0.8f64.ln() - 0.9f64.ln()) + 1.0,
    };
    let leaky = Model::Leaky { beta: 0.8 };
    let alif = Model::Alif {
        alpha: 0.85,
        rho: 0.9,
        beta: 0.5,
    };
    vec![
        n(leaky, Reset::Subtract),
        n(leaky, Reset::Zero),
        n(leaky, Reset::NoReset),
        n(syn, Reset::Subtract),
        n(syn, Reset::Zero),
        n(alpha, Reset::Zero),
        n(alif, Reset::Subtract),
    ]
}

fn readout_models() -> Vec<Neuron> {
    let n = |model, reset| Neuron {
        model,
        reset,
        threshold: 1e9,
    };
    vec![
        n(Model::Leaky { beta: 0.85 }, Reset::NoReset),
        n(
            Model::Synaptic {
                alpha: 0.6,
                beta: 0.85,
            },
            Reset::Subtract,
        ),
    ]
}

/// With one hidden population whose only outgoing link is the readout's, B = W_outᵀ and the
/// resets detached, e-prop's gradient is BPTT's (Bellec et al. 2020, Methods), to 1e-9 of the
/// largest entry of every weight and bias array, for every hidden model and reset, a leaky and
/// a two-state readout (whose filters ē must then follow exactly), and both shapes of the
/// loss gradient. The readouts' decays are far from 0 and the loss gradient reaches late steps,
/// so a missing readout filter (or ψ, or reset factor) would show.
#[test]
fn eprop_equals_bptt_on_one_hidden_layer() {
    let mut cases = 0;
    for h in hidden_models() {
        for out in readout_models() {
            let net = shallow(h, out, false);
            net.eprop_check().unwrap();
            for (spread, counted) in [(true, false), (false, false), (true, true)] {
                let (bptt, eprop, spikes) = both_gradients(&net, cases, spread, counted);
                assert!(
                    (5.0..105.0).contains(&spikes),
                    "{h:?}: {spikes} hidden spikes of 105"
                );
                for (what, b, e) in [
                    ("weights", &bptt.weights, &eprop.weights),
                    ("biases", &bptt.biases, &eprop.biases),
                ] {
                    for (k, (b, e)) in b.iter().zip(e).enumerate() {
                        let top = b.iter().fold(0.0f64, |m, x| m.max(x.abs()));
                        if b.is_empty() {
                            continue;
                        }
                        assert!(top > 1e-3, "{h:?} {what}[{k}]: a zero gradient");
                        for (x, y) in b.iter().zip(e) {
                            assert!(
                                (x - y).abs() <= 1e-9 * top,
                                "{h:?} {out:?} spread {spread} counted {counted} {what}[{k}]: BPTT {x} vs e-prop {y}"
                            );
                        }
                    }
                }
                cases += 1;
            }
        }
    }
    assert_eq!(cases, 42);
}

/// With a recurrent hidden link, e-prop drops the paths through it: its gradient of the hidden
/// parameters differs from BPTT's but points the same way.
#[test]
fn eprop_approximates_bptt_with_recurrence() {
    for (s, h) in hidden_models().into_iter().enumerate() {
        let net = shallow(h, readout_models()[0], true);
        let (bptt, eprop, _) = both_gradients(&net, 100 + s as u64, true, false);
        // The hidden population's parameters (the readout's are exact either way): in → h,
        // h → h and h's biases.
        let flat = |g: &Grads| -> Vec<f64> {
            [&g.weights[0], &g.weights[3], &g.biases[1]]
                .into_iter()
                .flatten()
                .copied()
                .collect()
        };
        let (b, e) = (flat(&bptt), flat(&eprop));
        let dot: f64 = b.iter().zip(&e).map(|(x, y)| x * y).sum();
        let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
        let cos = dot / (norm(&b) * norm(&e));
        let diff: f64 = b
            .iter()
            .zip(&e)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max);
        eprintln!("{h:?}: cosine {cos:.4}, largest difference {diff:.3e}");
        assert!(
            diff > 1e-6 * norm(&b),
            "{h:?}: recurrence should make e-prop inexact"
        );
        assert!(cos > 0.7, "{h:?}: cosine {cos}");
    }
}

/// Plans e-prop cannot run are refused, naming the population.
#[test]
fn eprop_check_names_what_it_cannot_run() {
    let [h, out] = [hidden_models()[0], readout_models()[0]];
    let zero = Neuron {
        reset: Reset::Zero,
        ..out
    };
    let e = shallow(h, zero, false).eprop_check().unwrap_err();
    assert!(
        e.what.contains("`out`") && e.reason.contains("NoReset"),
        "{e}"
    );
    // A second hidden population with no link to the readout.
    let deep = deep(h, h);
    let e = deep.eprop_check().unwrap_err();
    assert!(
        e.what.contains("`a`") && e.reason.contains("readout"),
        "{e}"
    );
    // A readout that projects back.
    let mut pops = shallow(h, out, false).pops().to_vec();
    pops.truncate(3);
    let links = vec![
        link("in_h", 0, 1, Storage::Dense),
        link("h_out", 1, 2, Storage::Dense),
        link("out_h", 2, 1, Storage::Dense),
    ];
    let net = Net::new(pops, links, vec![2], Surrogate::default()).unwrap();
    let e = net.eprop_check().unwrap_err();
    assert!(
        e.what.contains("`out`") && e.reason.contains("project"),
        "{e}"
    );
}

/// L = Σ coef·mem_out + Σ_q Σ_i count[q][i]·n_q,i of a forward pass with `p`, with n_q,i
/// neuron i's output of population q summed over the steps.
fn loss(
    net: &Net,
    p: &Params,
    steps: usize,
    inputs: &[f64],
    coef: &[f64],
    count: &[&[f64]],
) -> f64 {
    let mut tr = Trace::default();
    net.forward(p, steps, &[Seq::Dense(inputs)], &mut tr);
    let out = net.readouts()[0];
    let mut l: f64 = tr.pops[out].mem.iter().zip(coef).map(|(m, c)| m * c).sum();
    for (q, c) in count.iter().enumerate().filter(|(_, c)| !c.is_empty()) {
        for t in 0..steps {
            l += tr.spk(q, t).iter().zip(*c).map(|(s, c)| s * c).sum::<f64>();
        }
    }
    l
}

/// ReLU units (the dense counterpart of a spiking population) are differentiated exactly: on
/// the deep recurrent network with both hidden populations made ReLU units, every weight's
/// and bias's gradient equals the central finite difference of the loss (exact for a
/// piecewise-linear network while no unit crosses 0, up to rounding), and the units send
/// max(mem, 0). The loss includes terms on the units' summed outputs (a spike-count
/// regulariser's shape), differentiated through `backward_counts`.
#[test]
fn relu_units_backward_equals_finite_differences() {
    let steps = 6;
    let inputs: Vec<f64> = (0..steps * 3)
        .map(|i| (i as f64 * 1.37).sin() * 0.8 + 0.3)
        .collect();
    let coef: Vec<f64> = (0..steps * 2).map(|i| 0.1 * i as f64 - 0.55).collect();
    let any = Neuron {
        model: Model::Leaky { beta: 0.5 },
        reset: Reset::Subtract,
        threshold: 1.0,
    };
    let net = deep(any, any).with_relu(&[1, 2]);
    assert_eq!(net.neuron(1), Some(Neuron::relu()));
    assert_eq!(net.neuron(3).map(|n| n.graded()), Some(false));
    let lens: Vec<usize> = net.links().iter().map(|l| l.len(net.pops())).collect();
    let mut weights: Vec<Vec<f64>> = lens
        .iter()
        .enumerate()
        .map(|(l, &n)| pattern(n, 0.0913, l))
        .collect();
    let mut biases = [
        None,
        Some(vec![0.31, 0.12, 0.23, 0.27]),
        Some(vec![0.21, 0.33, 0.17]),
        Some(vec![0.05, -0.05]),
    ];
    let (w0, b0) = (weights.clone(), biases.clone());
    let p = Params {
        weights: w0.iter().map(|w| w.as_slice()).collect(),
        biases: b0.iter().map(|b| b.as_deref()).collect(),
        decays: Vec::new(),
        transposed: Vec::new(),
    };
    let mut tr = Trace::default();
    net.forward(&p, steps, &[Seq::Dense(&inputs)], &mut tr);
    for q in [1, 2] {
        let (mem, out) = (&tr.pops[q].mem, &tr.pops[q].spk);
        assert!(mem.iter().zip(out).all(|(m, o)| *o == m.max(0.0)));
        let (on, off) = (mem.iter().filter(|&&m| m > 0.0).count(), mem.len());
        assert!(on > 0 && on < off, "population {q}: {on} of {off} active");
    }
    let (c1, c2) = ([0.2, -0.3, 0.15, 0.05], [-0.1, 0.25, 0.3]);
    let count: [&[f64]; 3] = [&[], &c1, &c2];
    let mut g = Grads::zeros(&p);
    net.backward_counts(&p, &mut tr, &[&coef], &count, &mut g);
    let h = 1e-6;
    let fd = |w: &[Vec<f64>], b: &[Option<Vec<f64>>]| {
        let p = Params {
            weights: w.iter().map(|w| w.as_slice()).collect(),
            biases: b.iter().map(|b| b.as_deref()).collect(),
            decays: Vec::new(),
            transposed: Vec::new(),
        };
        loss(&net, &p, steps, &inputs, &coef, &count)
    };
    for l in 0..lens.len() {
        for k in 0..lens[l] {
            let x = weights[l][k];
            weights[l][k] = x + h;
            let up = fd(&weights, &biases);
            weights[l][k] = x - h;
            let down = fd(&weights, &biases);
            weights[l][k] = x;
            let num = (up - down) / (2.0 * h);
            let bw = g.weights[l][k];
            assert!(
                (num - bw).abs() <= 1e-6 * (1.0 + num.abs()),
                "link {l} weight {k}: finite difference {num} vs backward {bw}"
            );
        }
    }
    for q in 1..4 {
        for j in 0..net.pops()[q].size {
            let b = biases[q].as_mut().unwrap();
            let x = b[j];
            b[j] = x + h;
            let up = fd(&weights, &biases);
            biases[q].as_mut().unwrap()[j] = x - h;
            let down = fd(&weights, &biases);
            biases[q].as_mut().unwrap()[j] = x;
            let num = (up - down) / (2.0 * h);
            let bw = g.biases[q][j];
            assert!(
                (num - bw).abs() <= 1e-6 * (1.0 + num.abs()),
                "bias {q}.{j}: finite difference {num} vs backward {bw}"
            );
        }
    }
}

/// in(2) → h(3) → o(2), h → o sparse with rows of 2, 1 and 1 synapses; h has β = 0 and no
/// reset, so its membrane is its input each step: 2.0, 0.5, 1.5 for the inputs (1, 1).
fn ops_net() -> (Net, Vec<Vec<f64>>) {
    let h = Neuron {
        model: Model::Leaky { beta: 0.0 },
        reset: Reset::NoReset,
        threshold: 1.0,
    };
    let o = Neuron {
        model: Model::Leaky { beta: 0.0 },
        reset: Reset::NoReset,
        threshold: 1e9,
    };
    let net = Net::new(
        vec![
            pop("in", 2, PopKind::Input),
            pop("h", 3, PopKind::Neurons(h)),
            pop("o", 2, PopKind::Neurons(o)),
        ],
        vec![
            link("in_h", 0, 1, Storage::Dense),
            link(
                "h_o",
                1,
                2,
                Storage::Sparse {
                    indptr: vec![0, 2, 3, 4],
                    indices: vec![0, 1, 0, 1],
                },
            ),
        ],
        vec![2],
        Surrogate::FastSigmoid { slope: 5.0 },
    )
    .unwrap();
    // Row-major in × h: h gets (1.0 + 1.0, 0.25 + 0.25, 1.0 + 0.5).
    let w_in = vec![1.0, 0.25, 1.0, 1.0, 0.25, 0.5];
    let w_out = vec![0.5, -1.0, 2.0, 3.0];
    (net, vec![w_in, w_out])
}

/// Synaptic operations counted by hand. Spiking, T = 3, inputs held: the input link is one
/// MAC per weight once (6); h0 and h2 spike every step (h1 at 0.5 stays below θ = 1), so each
/// step delivers h0's row (2 synapses) and h2's (1): 3 × 3 = 9 accumulates. With the inputs
/// given per step instead, the input link is evaluated each step: 18 MACs. As ReLU units, h
/// sends (2, 0.5, 1.5) every step, and h → o is one MAC per weight each step: 6 + 3 × 4 = 18
/// MACs and no accumulate; o reads 2·0.5 + 0.5·2 = 2 and 2·(−1) + 1.5·3 = 2.5. Energy:
/// 0.9 pJ per accumulate, 4.6 pJ per MAC.
#[test]
fn synaptic_ops_are_counted_exactly() {
    let (net, w) = ops_net();
    let p = Params::weights(&net, w.iter().map(|w| w.as_slice()).collect());
    let held = [(0u32, 1.0), (1, 1.0)];
    let mut tr = Trace::default();
    net.forward(&p, 3, &[Seq::Constant(&held)], &mut tr);
    assert_eq!(tr.pops[1].spk, [1.0, 0.0, 1.0].repeat(3));
    let ops = net.synaptic_ops(&tr);
    assert_eq!(
        ops,
        SynOps {
            accumulates: 9,
            macs: 6
        }
    );
    assert_eq!(ops.energy_pj(), 0.9 * 9.0 + 4.6 * 6.0);
    let per_step = [1.0, 1.0].repeat(3);
    net.forward(&p, 3, &[Seq::Dense(&per_step)], &mut tr);
    assert_eq!(
        net.synaptic_ops(&tr),
        SynOps {
            accumulates: 9,
            macs: 18
        }
    );
    let dense = net.clone().with_relu(&[1]);
    dense.forward(&p, 3, &[Seq::Constant(&held)], &mut tr);
    assert_eq!(tr.pops[1].spk, [2.0, 0.5, 1.5].repeat(3));
    assert_eq!(tr.mem(2, 2), [2.0, 2.5]);
    assert_eq!(
        dense.synaptic_ops(&tr),
        SynOps {
            accumulates: 0,
            macs: 18
        }
    );
    // One step, as a dense decision is evaluated: 6 + 4 MACs.
    dense.forward(&p, 1, &[Seq::Constant(&held)], &mut tr);
    assert_eq!(dense.synaptic_ops(&tr).macs, 10);
}
