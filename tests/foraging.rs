//! The foraging agent: its gradient code against snnTorch's autograd, its structural edits,
//! and a short training run that must beat the random policy.
#![allow(clippy::needless_range_loop)]

use crate::common::reference;
use snnsim::exec::{Grads, Model, Net, Neuron, Params, Seq, Surrogate, Trace};
use snnsim::file::Reset;

fn matrix(v: &serde_json::Value) -> Vec<Vec<f64>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        })
        .collect()
}

fn vector(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// The reference network of `snntorch_reference.json` (`bptt`): 3 inputs → Linear(3,4) →
/// Leaky(β 0.9, subtract) → Linear(4,2) → Leaky(β 0.9, reset none); loss = Σ mem2 after step
/// 20. The executor's f64 forward and backward passes must match the all-float64 autograd (`grads_pure_float64`) within 1e-9
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
    let w2: Vec<f64> = (0..4)
        .flat_map(|j| (0..2).map(move |c| (j, c)))
        .map(|(j, c)| w2t[c][j])
        .collect();
    for (name, sur) in [
        (
            "fast_sigmoid_slope25",
            Surrogate::FastSigmoid { slope: 25.0 },
        ),
        ("atan_alpha2", Surrogate::Atan { alpha: 2.0 }),
    ] {
        let reference = &b["float64"][name];
        let hidden = Neuron {
            model: Model::Leaky { beta: 0.9 },
            reset: Reset::Subtract,
            threshold: 1.0,
        };
        let readout = Neuron {
            model: Model::Leaky { beta: 0.9 },
            reset: Reset::NoReset,
            threshold: 1.0,
        };
        let net = Net::chain(3, &[("fc1", 4, hidden), ("fc2", 2, readout)], sur)
        .unwrap();
        // Our weights are pre × post (torch's transposed).
        let w1_ours: Vec<f64> = (0..3)
            .flat_map(|i| (0..4).map(move |j| (i, j)))
            .map(|(i, j)| w1[j][i])
            .collect();
        let p = Params {
            weights: vec![&w1_ours, &w2],
            biases: vec![None, Some(&b1), Some(&b2)],
            decays: Vec::new(),
            transposed: Vec::new(),
        };
        let x: Vec<f64> = inputs.concat();
        let mut tr = Trace::default();
        net.forward(&p, steps, &[Seq::Dense(&x)], &mut tr);
        // Forward: membranes and spikes of both layers, within 1e-12.
        let mem1 = matrix(&reference["trace"]["mem1"]);
        let spk1 = matrix(&reference["trace"]["spk1"]);
        let mem2 = matrix(&reference["trace"]["mem2"]);
        for t in 0..steps {
            for j in 0..4 {
                assert!(
                    (tr.mem(1, t)[j] - mem1[t][j]).abs() < 1e-12,
                    "{name} mem1[{t}][{j}]"
                );
                assert_eq!(tr.spk(1, t)[j], spk1[t][j], "{name} spk1[{t}][{j}]");
            }
            for c in 0..2 {
                assert!(
                    (tr.mem(2, t)[c] - mem2[t][c]).abs() < 1e-12,
                    "{name} mem2[{t}][{c}]"
                );
            }
        }
        let loss: f64 = tr.mem(2, steps - 1).iter().sum();
        assert!((loss - reference["loss"].as_f64().unwrap()).abs() < 1e-12);

        let mut g_out = vec![0.0; steps * 2];
        g_out[(steps - 1) * 2] = 1.0;
        g_out[(steps - 1) * 2 + 1] = 1.0;
        let mut g = Grads::zeros(&p);
        net.backward(&p, &mut tr, &[&g_out], &mut g);
        let ours: Vec<(&str, Vec<f64>)> = vec![
            (
                "fc1.weight",
                (0..4)
                    .flat_map(|j| (0..3).map(move |i| (i, j)))
                    .map(|(i, j)| g.weights[0][i * 4 + j])
                    .collect(),
            ),
            ("fc1.bias", g.biases[1].clone()),
            (
                "fc2.weight",
                (0..2)
                    .flat_map(|c| (0..4).map(move |j| (j, c)))
                    .map(|(j, c)| g.weights[1][j * 2 + c])
                    .collect(),
            ),
            ("fc2.bias", g.biases[2].clone()),
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

use crate::common::{plugin_file, root, run_json, snnsim};
use snnsim::agent::train::Trainer;
use snnsim::file::Source;

/// graphs/foraging.ron (or a variant) with explicit plugin paths, so the library finds them.
pub(crate) fn foraging_text(file: &str) -> String {
    let text = std::fs::read_to_string(root().join("graphs").join(file)).unwrap();
    text.replace(
        "(plugin: \"gridworld\",",
        &format!(
            "(plugin: \"gridworld\", path: \"{}\",",
            plugin_file("gridworld").display()
        ),
    )
    .replace(
        "(plugin: \"reinforce\",",
        &format!(
            "(plugin: \"reinforce\", path: \"{}\",",
            plugin_file("reinforce").display()
        ),
    )
}

pub(crate) fn trainer(file: &str, edit: impl Fn(&mut snnsim::file::GraphFile)) -> Trainer {
    let src = Source::from_text(file, foraging_text(file));
    let mut parsed = src.parse().unwrap();
    edit(&mut parsed);
    let checked = snnsim::models::validate_parsed(parsed, &src).unwrap();
    Trainer::new(&checked).unwrap()
}

/// Adam's moments per synapse of a `reinforce` state (see plugins/reinforce: magic, baseline,
/// steps, n, then m and v).
fn moments(state: &[u8]) -> (Vec<u64>, Vec<u64>) {
    let n = u64::from_le_bytes(state[24..32].try_into().unwrap()) as usize;
    let word = |k: usize| u64::from_le_bytes(state[32 + 8 * k..40 + 8 * k].try_into().unwrap());
    ((0..n).map(word).collect(), (n..2 * n).map(word).collect())
}

fn weights(t: &Trainer, proj: &str) -> Vec<u64> {
    t.net
        .projection(proj)
        .unwrap()
        .weights
        .iter()
        .map(|w| w.to_bits())
        .collect()
}

/// Growth and pruning are graph edits that keep every surviving weight and Adam moment
/// bit-identical, give new synapses zero moments, and a growth followed by the pruning of the
/// new neurons gives back the original network. (The `rate_threshold` file: its policy makes
/// no edit of its own in the first 48 episodes, so the edits here are the test's only ones.)
#[test]
fn edits_keep_surviving_weights_and_moments_exactly_and_grow_then_prune_is_identity() {
    let mut t = trainer("foraging-rate-threshold.ron", |_| {});
    for _ in 0..3 {
        t.batch(16).unwrap();
    }
    let projs = ["input->hidden", "hidden->readout"];
    let before_w: Vec<Vec<u64>> = projs.iter().map(|p| weights(&t, p)).collect();
    let before_m: Vec<_> = t
        .rule_states()
        .unwrap()
        .iter()
        .map(|s| moments(s))
        .collect();
    assert!(
        before_m[0].0.iter().any(|&m| m != 0),
        "three updates leave non-zero moments"
    );
    let (_, hidden, _) = t.populations();
    let ids_before = t.net.pop(hidden).neuron_ids.clone();
    let h = t.hidden_size();

    // Growth: every old synapse keeps its weight and moments; new ones have zero moments.
    let out = t.grow_hidden(32).unwrap();
    assert_eq!(t.hidden_size(), h + 32);
    let after_m: Vec<_> = t
        .rule_states()
        .unwrap()
        .iter()
        .map(|s| moments(s))
        .collect();
    for (k, p) in projs.iter().enumerate() {
        let map = &out
            .projections
            .iter()
            .find(|r| r.name == *p)
            .unwrap()
            .synapses;
        let w = weights(&t, p);
        assert_eq!(w.len(), map.len());
        let mut new = 0;
        for (i, &old) in map.iter().enumerate() {
            if old == u64::MAX {
                new += 1;
                assert_eq!((after_m[k].0[i], after_m[k].1[i]), (0, 0));
            } else {
                let o = old as usize;
                assert_eq!(w[i], before_w[k][o], "{p}: weight {i} changed");
                assert_eq!(after_m[k].0[i], before_m[k].0[o], "{p}: first moment {i}");
                assert_eq!(after_m[k].1[i], before_m[k].1[o], "{p}: second moment {i}");
            }
        }
        assert_eq!(new, if k == 0 { 1066 * 32 } else { 32 * 4 });
    }
    assert_eq!(t.net.pop(hidden).neuron_ids[..h], ids_before[..]);

    // Pruning the new neurons gives back the original weights, moments and ids exactly.
    let new_neurons: Vec<usize> = (h..h + 32).collect();
    t.prune_hidden(&new_neurons).unwrap();
    assert_eq!(t.hidden_size(), h);
    for (k, p) in projs.iter().enumerate() {
        assert_eq!(
            weights(&t, p),
            before_w[k],
            "{p}: grow then prune changed the weights"
        );
    }
    let back_m: Vec<_> = t
        .rule_states()
        .unwrap()
        .iter()
        .map(|s| moments(s))
        .collect();
    assert_eq!(back_m, before_m);
    assert_eq!(t.net.pop(hidden).neuron_ids, ids_before);

    // Pruning old neurons keeps the others' rows and columns exactly.
    let w_before = weights(&t, "hidden->readout");
    t.prune_hidden(&[0, 5, 17]).unwrap();
    let w_after = weights(&t, "hidden->readout");
    let kept: Vec<u64> = (0..h)
        .filter(|j| ![0, 5, 17].contains(j))
        .flat_map(|j| w_before[j * 4..j * 4 + 4].to_vec())
        .collect();
    assert_eq!(w_after, kept);
    assert_eq!(t.edits.len(), 3);
    // Training goes on after the edits, with the rule's state in step.
    t.batch(16).unwrap();
}

/// The graph variants differ from graphs/foraging.ron exactly where their comments say.
#[test]
fn foraging_variants_differ_only_where_they_say() {
    let parse = |f: &str| {
        Source::read(&root().join("graphs").join(f))
            .unwrap()
            .parse()
            .unwrap()
    };
    let base = parse("foraging.ron");
    let agent = |g: &snnsim::file::GraphFile| match g.task.clone() {
        Some(snnsim::file::TaskSpec::Agent(a)) => a,
        _ => panic!("no agent task"),
    };
    let s = agent(&base).structure.unwrap();
    for (file, edit) in [
        (
            "foraging-fixed512.ron",
            Box::new(|g: &mut snnsim::file::GraphFile| {
                g.populations[1].size = 512;
            }) as Box<dyn Fn(&mut snnsim::file::GraphFile)>,
        ),
        (
            "foraging-fixed64.ron",
            Box::new(|_: &mut snnsim::file::GraphFile| {}),
        ),
        (
            "foraging-aggressive-growth.ron",
            Box::new(|_: &mut snnsim::file::GraphFile| {}),
        ),
        (
            "foraging-aggressive-pruning.ron",
            Box::new(|_: &mut snnsim::file::GraphFile| {}),
        ),
        (
            "foraging-rate-threshold.ron",
            Box::new(|_: &mut snnsim::file::GraphFile| {}),
        ),
        (
            "foraging-plateau.ron",
            Box::new(|_: &mut snnsim::file::GraphFile| {}),
        ),
    ] {
        let mut v = parse(file);
        let va = agent(&v);
        let vs = va.structure.clone();
        match file {
            "foraging-fixed512.ron" | "foraging-fixed64.ron" => assert_eq!(vs, None),
            "foraging-absolute.ron" => {
                assert_eq!(va.encoder, snnsim::file::Encoder::Identity);
                assert_eq!(v.populations[0].size, 450);
            }
            "foraging-rate-threshold.ron" => {
                let vs = vs.unwrap();
                assert_eq!((vs.plugin_name(), vs.params.is_none()), ("rate_threshold", true));
                assert_eq!(
                    (vs.grow_interval, vs.prune_interval, vs.prune_threshold),
                    (100, 50, 0.025)
                );
            }
            "foraging-plateau.ron" => {
                let vs = vs.unwrap();
                assert_eq!(vs.plugin_name(), "plateau");
                assert!(vs.params_text().contains("check_interval: 100"));
                assert!(!vs.params_text().contains("learned_above"));
            }
            "foraging-aggressive-growth.ron" => {
                let vs = vs.unwrap();
                assert_eq!(
                    (vs.grow_interval, vs.grow_threshold, vs.neurons_per_grow),
                    (25, 0.1, 64)
                );
            }
            _ => {
                let vs = vs.unwrap();
                assert_eq!((vs.prune_interval, vs.prune_threshold), (20, 0.01));
            }
        }
        // Everything else is the same.
        edit(&mut v);
        if let Some(snnsim::file::TaskSpec::Agent(a)) = &mut v.task {
            a.structure = Some(s.clone());
        }
        let mut b = base.clone();
        if file == "foraging-fixed512.ron" {
            b.populations[1].size = 512;
        }
        assert_eq!(v, b, "{file} differs from foraging.ron elsewhere");
    }
}

/// The training benchmark's graphs are graphs/foraging-absolute.ron without growth or pruning,
/// with 64 or 512 hidden neurons and 2 000 episodes (the peer script's network and task).
#[test]
fn foraging_absolute_fixed_variants_differ_only_where_they_say() {
    let parse = |f: &str| {
        Source::read(&root().join("graphs").join(f))
            .unwrap()
            .parse()
            .unwrap()
    };
    let base = parse("foraging-absolute.ron");
    for (file, hidden) in [
        ("foraging-absolute-fixed64.ron", 64),
        ("foraging-absolute-fixed512.ron", 512),
    ] {
        let v = parse(file);
        let mut b = base.clone();
        b.populations[1].size = hidden;
        if let Some(snnsim::file::TaskSpec::Agent(a)) = &mut b.task {
            a.structure = None;
            a.episodes = 2000;
        }
        assert_eq!(v, b, "{file} differs from foraging-absolute.ron elsewhere");
    }
}

/// `snnsim run graphs/foraging.ron` writes the documented run directory, and the same seed
/// gives the same result on 1 and 2 threads.
#[test]
fn foraging_run_directory_and_determinism() {
    let dir = tempfile::tempdir().unwrap();
    let f = root().join("graphs/foraging.ron");
    let a = run_json(
        &f,
        &dir.path().join("a"),
        &["--episodes", "160", "--threads", "1", "--seed", "3"],
    );
    let b = run_json(
        &f,
        &dir.path().join("b"),
        &["--episodes", "160", "--threads", "2", "--seed", "3"],
    );
    for key in [
        "episodes",
        "mean_food_last_500",
        "final_hidden_size",
        "growth_events",
        "pruning_events",
        "episodes_per_s",
        "state_hash",
        "sim_wall_s",
    ] {
        assert!(a.get(key).is_some(), "summary lacks {key}");
    }
    assert_eq!(a["episodes"], 160);
    assert_eq!(a["state_hash"], b["state_hash"], "1 and 2 threads differ");
    let ma = std::fs::read_to_string(dir.path().join("a/metrics.csv")).unwrap();
    let mb = std::fs::read_to_string(dir.path().join("b/metrics.csv")).unwrap();
    assert_eq!(ma, mb);
    let header = ma.lines().next().unwrap();
    assert_eq!(
        header,
        "episode,return,food,length,hidden_size,avg_firing_rate,sparsity,energy,synaptic_events"
    );
    assert_eq!(ma.lines().count(), 161);
    let edits = std::fs::read_to_string(dir.path().join("a/edits.csv")).unwrap();
    assert_eq!(edits.lines().next(), Some("episode,kind,count,size_after"));
    assert_eq!(
        edits.lines().count() - 1,
        a["growth_events"].as_u64().unwrap() as usize
            + a["pruning_events"].as_u64().unwrap() as usize
    );
    // Every row's return equals food·1.0 − 0.01·length (the grid world's rewards).
    for row in ma.lines().skip(1) {
        let f: Vec<f64> = row.split(',').map(|x| x.parse().unwrap()).collect();
        assert!((f[1] - (f[2] - 0.01 * f[3])).abs() < 1e-9, "{row}");
        assert!(f[3] >= 1.0 && f[3] <= 100.0);
    }
    let o = snnsim(&[
        "run",
        f.to_str().unwrap(),
        "--episodes",
        "0",
        "--duration-ms",
        "-1",
    ]);
    assert_eq!(o.status.code(), Some(2));
}

/// A short training run learns: over its last 1 000 of 5 000 episodes the default agent eats
/// far more than the uniformly random policy's 0.87 food per episode (SPEC §1.1), and more
/// than 3.5 — the default run (seed 1) passes 3 food per episode at about episode 1 200 and
/// eats ≈ 4.5 over those 1 000 episodes. The standard error of a 1 000-episode mean is below
/// 0.05 food, so the bar is many standard errors from both the random policy and the measured
/// value (docs/results.md). The structure follows graphs/foraging.ron's `plateau` policy: it
/// grows early to 512 neurons and, once the task is learned, shrinks to 64.
#[test]
fn a_short_training_run_beats_the_random_policy() {
    let mut t = trainer("foraging.ron", |_| {});
    t.train(5000, |_| {}).unwrap();
    let last = &t.metrics[t.metrics.len() - 1000..];
    let food = last.iter().map(|m| m.food as f64).sum::<f64>() / 1000.0;
    assert!(food > 3.5, "mean food {food} after 5 000 episodes");
    assert!(
        t.growth_events() > 0 && t.pruning_events() > 0,
        "the default run grows and prunes"
    );
    let peak = t.metrics.iter().map(|m| m.hidden_size).max().unwrap();
    assert_eq!(
        (peak, t.hidden_size()),
        (512, 64),
        "grown to max_hidden, shrunk to min_hidden"
    );
}

/// `snnsim experiment` runs configurations × seeds and writes the four measures per
/// configuration; the per-run table agrees with a plain run of the same file and seed.
#[test]
fn experiment_writes_the_table_of_four_measures() {
    let dir = tempfile::tempdir().unwrap();
    let g = root().join("graphs");
    let file = dir.path().join("small.ron");
    std::fs::write(
        &file,
        format!(
            r#"(format_version: 1,
    configurations: [(name: "growing", graph: "{}"), (name: "fixed64", graph: "{}")],
    seeds: [4, 5], episodes: 96,
    adaptation: (environment_params: (food: 3), episodes: 32), food_bar: 0.5)"#,
            g.join("foraging.ron").display(),
            g.join("foraging-fixed64.ron").display()
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = snnsim(&[
        "experiment",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let runs = std::fs::read_to_string(out.join("runs.csv")).unwrap();
    assert_eq!(runs.lines().count(), 1 + 4);
    let md = std::fs::read_to_string(out.join("experiment.md")).unwrap();
    assert!(
        md.contains("| growing | 2 |") && md.contains("| fixed64 | 2 |"),
        "{md}"
    );
    let csv = std::fs::read_to_string(out.join("experiment.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3);
    // The growing configuration's seed-4 row matches a plain run of the same file and seed.
    let row = runs.lines().find(|l| l.starts_with("growing,4,")).unwrap();
    let f: Vec<&str> = row.split(',').collect();
    let plain = run_json(
        &g.join("foraging.ron"),
        &dir.path().join("plain"),
        &["--episodes", "96", "--seed", "4"],
    );
    let final_food: f64 = f[3].parse().unwrap();
    assert!((final_food - plain["mean_food_last_500"].as_f64().unwrap()).abs() < 1e-12);
    assert_eq!(f[6], plain["final_hidden_size"].to_string());
    let adaptation: f64 = f[5].parse().unwrap();
    assert!(
        (0.0..=3.0).contains(&adaptation),
        "food after the change is at most 3: {adaptation}"
    );
}

/// The egocentric encoder puts the agent channel through and re-centres the food on the agent.
#[test]
fn egocentric_encoder_recentres_food_on_the_agent() {
    use snnsim::file::Encoder;
    let e = Encoder::Egocentric { size: 15 };
    assert_eq!(e.input_len(450), Some(225 + 29 * 29));
    assert_eq!(e.input_len(449), None);
    let mut obs = vec![0.0; 450];
    obs[2 * 15 + 3] = 1.0; // agent at row 2, column 3
    obs[225] = 1.0; // food at (0, 0): dr = −2, dc = −3
    obs[225 + 14 * 15 + 14] = 1.0; // food at (14, 14): dr = 12, dc = 11
    let mut on = Vec::new();
    e.active(&obs, &mut on);
    let cell = |dr: i64, dc: i64| (225 + (dr + 14) * 29 + (dc + 14)) as u32;
    assert_eq!(on, vec![2 * 15 + 3, cell(-2, -3), cell(12, 11)]);
    // The same relative layout gives the same food inputs wherever the agent stands.
    let mut moved = vec![0.0; 450];
    moved[10 * 15 + 11] = 1.0;
    moved[225 + 8 * 15 + 8] = 1.0;
    let mut on2 = Vec::new();
    e.active(&moved, &mut on2);
    assert_eq!(on2[1], cell(-2, -3));
}
