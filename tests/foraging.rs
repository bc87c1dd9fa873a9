//! The foraging agent: its gradient code against snnTorch's autograd, its structural edits,
//! and a short training run that must beat the random policy.

use crate::common::reference;
use snnsim::agent::bptt::{Hidden, Layers, Surrogate, Trace};
use snnsim::file::Reset;

fn matrix(v: &serde_json::Value) -> Vec<Vec<f64>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect())
        .collect()
}

fn vector(v: &serde_json::Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

/// The reference network of `snntorch_reference.json` (`bptt`): 3 inputs → Linear(3,4) →
/// Leaky(β 0.9, subtract) → Linear(4,2) → Leaky(β 0.9, reset none); loss = Σ mem2 after step
/// 20. Our f64 BPTT must match the all-float64 autograd (`grads_pure_float64`) within 1e-9
/// relative, and snnTorch's own float64 gradients (which pass through float32 spike tensors,
/// ~1e-7 rounding) within 1e-6, for both surrogates; the forward trace must match too.
#[test]
fn bptt_matches_snntorch_autograd() {
    let r = reference("snntorch_reference.json");
    let b = &r["bptt"];
    let w1 = matrix(&b["weights"]["fc1.weight"]); // [4][3]
    let b1 = vector(&b["weights"]["fc1.bias"]);
    let w2t = matrix(&b["weights"]["fc2.weight"]); // [2][4]
    let b2 = vector(&b["weights"]["fc2.bias"]);
    let inputs = matrix(&b["inputs"]); // [20][3]
    let steps = inputs.len();
    assert_eq!(steps, 20);
    // Our readout weights are hidden × out.
    let w2: Vec<f64> = (0..4).flat_map(|j| (0..2).map(move |c| (j, c))).map(|(j, c)| w2t[c][j]).collect();
    for (name, sur) in [
        ("fast_sigmoid_slope25", Surrogate::FastSigmoid { slope: 25.0 }),
        ("atan_alpha2", Surrogate::Atan { alpha: 2.0 }),
    ] {
        let reference = &b["float64"][name];
        let l = Layers {
            hidden: 4,
            out: 2,
            neuron: Hidden::Leaky { beta: 0.9 },
            reset: Reset::Subtract,
            threshold: 1.0,
            beta_out: 0.9,
            surrogate: sur,
        };
        let mut tr = Trace::default();
        l.forward(
            steps,
            |t, cur| {
                for (j, c) in cur.iter_mut().enumerate() {
                    *c = b1[j] + (0..3).map(|i| w1[j][i] * inputs[t][i]).sum::<f64>();
                }
            },
            &w2,
            Some(&b2),
            &mut tr,
        );
        // Forward: membranes and spikes of both layers, within 1e-12.
        let mem1 = matrix(&reference["trace"]["mem1"]);
        let spk1 = matrix(&reference["trace"]["spk1"]);
        let mem2 = matrix(&reference["trace"]["mem2"]);
        for t in 0..steps {
            for j in 0..4 {
                assert!((tr.mem[t * 4 + j] - mem1[t][j]).abs() < 1e-12, "{name} mem1[{t}][{j}]");
                assert_eq!(tr.spk[t * 4 + j], spk1[t][j], "{name} spk1[{t}][{j}]");
            }
            for c in 0..2 {
                assert!((tr.out[t * 2 + c] - mem2[t][c]).abs() < 1e-12, "{name} mem2[{t}][{c}]");
            }
        }
        let loss: f64 = tr.out[(steps - 1) * 2..].iter().sum();
        assert!((loss - reference["loss"].as_f64().unwrap()).abs() < 1e-12);

        let mut g_out = vec![0.0; steps * 2];
        g_out[(steps - 1) * 2] = 1.0;
        g_out[(steps - 1) * 2 + 1] = 1.0;
        let mut g_x = vec![0.0; steps * 4];
        let mut g_w2 = vec![0.0; 8];
        let mut g_b2 = vec![0.0; 2];
        l.backward(&tr, &g_out, &w2, &mut g_x, &mut g_w2, Some(&mut g_b2));
        let mut g_w1 = vec![vec![0.0; 3]; 4];
        let mut g_b1 = vec![0.0; 4];
        for t in 0..steps {
            for j in 0..4 {
                g_b1[j] += g_x[t * 4 + j];
                for i in 0..3 {
                    g_w1[j][i] += g_x[t * 4 + j] * inputs[t][i];
                }
            }
        }
        let ours: Vec<(&str, Vec<f64>)> = vec![
            ("fc1.weight", g_w1.concat()),
            ("fc1.bias", g_b1.clone()),
            ("fc2.weight", (0..2).flat_map(|c| (0..4).map(move |j| (j, c))).map(|(j, c)| g_w2[j * 2 + c]).collect()),
            ("fc2.bias", g_b2.clone()),
        ];
        for (key, tol, source) in [(1e-9, "grads_pure_float64"), (1e-6, "grads")]
            .iter()
            .flat_map(|&(tol, src)| ours.iter().map(move |(k, _)| (*k, tol, src)))
        {
            let want: Vec<f64> = reference[source][key]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|v| match v.as_array() {
                    Some(row) => row.iter().map(|x| x.as_f64().unwrap()).collect(),
                    None => vec![v.as_f64().unwrap()],
                })
                .collect();
            let got = &ours.iter().find(|(k, _)| *k == key).unwrap().1;
            assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                let rel = (g - w).abs() / w.abs().max(1e-12);
                assert!(
                    rel <= tol || (g - w).abs() <= tol,
                    "{name} {source} {key}: {g} vs {w} (rel {rel:e})"
                );
            }
        }
    }
}
