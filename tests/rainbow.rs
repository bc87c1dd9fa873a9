//! Off-policy training of spiking Q-networks (docs/rainbow.md): graphs/cartpole-rainbow.ron
//! learns a greedy policy far above random in a short run, runs are the same bits on any
//! number of threads and after kills and resumes (replay buffer, target network and optimiser
//! state in the checkpoint), the documented example runs with every optional part switched
//! off, and bad settings name their field.

use crate::common::{kill_and_resume, root, run_json, snnsim};
use std::path::{Path, PathBuf};

/// graphs/cartpole-rainbow.ron with `edits` (text replacements) applied, written into `dir`.
fn rainbow(dir: &Path, name: &str, edits: &[(&str, &str)]) -> PathBuf {
    rainbow_from("cartpole-rainbow.ron", dir, name, edits)
}

/// graphs/`graph` with `edits` (text replacements) applied, written into `dir`.
fn rainbow_from(graph: &str, dir: &Path, name: &str, edits: &[(&str, &str)]) -> PathBuf {
    let mut text = std::fs::read_to_string(root().join("graphs").join(graph)).unwrap();
    for (from, to) in edits {
        assert!(text.contains(from), "the graph file has `{from}`");
        text = text.replacen(from, to, 1);
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The CI check of learning: 15 000 environment steps of the full agent (seed 1), then 100
/// greedy episodes, whose mean return must reach 150 (a random policy returns about 22).
#[test]
fn rainbow_cartpole_greedy_policy_returns_far_above_random() {
    let dir = tempfile::tempdir().unwrap();
    let file = rainbow(
        dir.path(),
        "short.ron",
        &[
            ("env_steps: 30000", "env_steps: 15000"),
            ("steps: 8000)", "steps: 6000)"),
        ],
    );
    let s = run_json(&file, &dir.path().join("run"), &[]);
    let eval = s["eval_return_mean"].as_f64().unwrap();
    eprintln!("cartpole-rainbow, 15 000 steps: eval_return_mean {eval}, summary {s}");
    assert!(eval >= 150.0, "greedy evaluation returns {eval} (< 150)");
    assert_eq!(s["env_steps"], 15000);
    assert_eq!(s["eval_episodes"], 100);
    assert!(s["mean_return_last_100"].as_f64().unwrap() > 22.0);
    assert!(s.get("episodes_to_solve").is_some());
    let silent = s["silent_fraction_per_step"].as_object().unwrap();
    assert_eq!(silent.len(), 2, "one entry per hidden population: {silent:?}");
    for name in ["hidden1", "hidden2"] {
        let f = silent[name].as_f64().unwrap();
        assert!(f > 0.0 && f < 1.0, "{name}: silent fraction {f}");
    }
    let metrics = read(&dir.path().join("run/metrics.csv"));
    assert_eq!(
        metrics.lines().count() as u64 - 1,
        s["episodes"].as_u64().unwrap(),
        "one metrics row per training episode"
    );
}

/// One thread and two give the same bits; a run killed twice and resumed from its
/// checkpoints (every 500 environment steps: the kills land mid-episode, with a full replay
/// buffer, pending n-step decisions and a target network that differs from the online one)
/// ends with the same state_hash, metrics.csv and greedy evaluation as the uninterrupted run.
#[test]
fn rainbow_runs_are_thread_independent_and_resume_bit_identically() {
    threads_and_resume("cartpole-rainbow.ron", "env_steps: 3000", &[]);
}

/// The same with every part on (graphs/cartpole-rainbow-full.ron): Noisy-net readouts (σ, the
/// target's σ and σ's optimiser moments are in the checkpoint; noise is keyed by step and
/// update), the C51 readout and dueling streams.
#[test]
fn rainbow_noisy_c51_runs_are_thread_independent_and_resume_bit_identically() {
    threads_and_resume("cartpole-rainbow-full.ron", "env_steps: 1500", &[]);
}

/// Both hidden layers learn their decays (β per neuron, `learn_decay`): they move from the
/// model's value, stay in [0, 1], are written to `decays.csv`, and the run is the same bits
/// on one thread and two and after kills and resumes (decays and their optimiser state are in
/// the checkpoint; the summary's state hash covers them).
#[test]
fn rainbow_learned_decays_train_and_resume_bit_identically() {
    let learn = (
        "v_th_mv: 1.0)),",
        "v_th_mv: 1.0), learn_decay: true),",
    );
    let dir = threads_and_resume("cartpole-rainbow.ron", "env_steps: 1500", &[learn, learn]);
    let csv = read(&dir.path().join("one/decays.csv"));
    assert_eq!(csv, read(&dir.path().join("killed/decays.csv")));
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("population,neuron,beta,alpha"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 128);
    let start = (-1.0f64 / 5.0).exp();
    let mut moved = 0;
    for (k, r) in rows.iter().enumerate() {
        assert_eq!(r[0], if k < 64 { "hidden1" } else { "hidden2" });
        assert_eq!(r[1], (k % 64).to_string());
        assert_eq!(r[3], "", "a Leaky population has no α");
        let beta: f64 = r[2].parse().unwrap();
        assert!((0.0..=1.0).contains(&beta), "{r:?}");
        moved += usize::from((beta - start).abs() > 1e-4);
    }
    assert!(moved > 64, "only {moved} of 128 decays moved from {start}");
}

/// One thread against two, and a run killed twice and resumed against the uninterrupted one,
/// on `graph` with the budget `budget` and the further `edits`; returns the directory of the
/// runs (`one`, `two`, `killed`).
fn threads_and_resume(graph: &str, budget: &str, edits: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut all = vec![
        ("env_steps: 30000", budget),
        ("buffer: 30000", "buffer: 1500"),
        ("warmup: 1000", "warmup: 300"),
        ("eval_episodes: 100", "eval_episodes: 5"),
        ("target_every: 250", "target_every: 100"),
    ];
    all.extend_from_slice(edits);
    let file = rainbow_from(graph, dir.path(), "small.ron", &all);
    let one = run_json(&file, &dir.path().join("one"), &["--threads", "1"]);
    let two = run_json(&file, &dir.path().join("two"), &["--threads", "2"]);
    assert_eq!(one["state_hash"], two["state_hash"]);
    assert_eq!(one["eval_return_mean"], two["eval_return_mean"]);
    let metrics = read(&dir.path().join("one/metrics.csv"));
    assert_eq!(metrics, read(&dir.path().join("two/metrics.csv")));
    let wall = one["sim_wall_s"].as_f64().unwrap();
    let out = dir.path().join("killed");
    let (f, o) = (file.to_str().unwrap(), out.to_str().unwrap());
    let ck = ["--checkpoint-every", "500", "--no-metrics", "--threads", "2"];
    let mut args = vec!["run", f, "--out", o];
    args.extend(ck);
    let ms = (wall * 1000.0) as u64;
    let (s, _) = kill_and_resume(&args, &out, &[ms * 2 / 5, ms / 4], &ck, &["--threads", "1"]);
    assert_eq!(s["state_hash"], one["state_hash"]);
    assert_eq!(s["eval_return_mean"], one["eval_return_mean"]);
    assert_eq!(s["updates"], one["updates"]);
    assert!(read(&out.join("metrics.csv")) == metrics, "metrics.csv differs");
    // A Q-network's checkpoint is not a policy-gradient agent's: refused by name.
    let e = snnsim::agent::Policy::load(&dir.path().join("one")).err().unwrap();
    assert!(e.to_string().contains("off-policy"), "{e}");
    dir
}

/// Dueling streams: a value readout `v` beside the advantage readout `q` trains, gives the
/// same bits on one thread and two, and a dueling population that is not a single leaky
/// readout is refused naming the field.
#[test]
fn rainbow_dueling_streams_train_and_are_thread_independent() {
    let dir = tempfile::tempdir().unwrap();
    let v = "(name: \"v\", size: 1, model: Lif(integration: SnnTorch(reset: NoReset),\n            tau_m_ms: 0.1, v_rest_mv: 0.0, v_reset_mv: 0.0, v_th_mv: 1e9)),\n        (name: \"q\", size: 2,";
    let edits = [
        ("(name: \"q\", size: 2,", v),
        (
            "(pre: \"hidden2\", post: \"q\"",
            "(pre: \"hidden2\", post: \"v\", connectivity: AllToAll, weight: KaimingNormal()),\n        (pre: \"hidden2\", post: \"q\"",
        ),
        ("eval_episodes: 100,", "eval_episodes: 3, dueling: \"v\","),
        ("env_steps: 30000", "env_steps: 1500"),
        ("warmup: 1000", "warmup: 300"),
    ];
    let file = rainbow(dir.path(), "duel.ron", &edits);
    let one = run_json(&file, &dir.path().join("one"), &["--threads", "1"]);
    let two = run_json(&file, &dir.path().join("two"), &["--threads", "2"]);
    assert_eq!(one["state_hash"], two["state_hash"]);
    assert_eq!(one["updates"], 1201);
    assert_eq!(one["silent_fraction_per_step"].as_object().unwrap().len(), 2);
    let mut bad = edits;
    bad[2] = ("eval_episodes: 100,", "dueling: \"hidden2\",");
    let file = rainbow(dir.path(), "bad.ron", &bad);
    let o = snnsim(&["validate", file.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("off_policy.dueling"), "{err}");
}

/// The example of docs/rainbow.md: the first ```ron block.
fn doc_example() -> String {
    let doc = read(&root().join("docs/rainbow.md"));
    let start = doc.find("```ron\n").expect("a ```ron block");
    let body = &doc[start + "```ron\n".len()..];
    body[..body.find("```").unwrap()].to_string()
}

/// The documented example (uniform replay, one-step targets, plain DQN targets, Polyak
/// averaging, one hidden layer) runs to its budget and evaluates.
#[test]
fn rainbow_doc_example_runs_with_the_parts_switched_off() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("doc.ron");
    std::fs::write(&file, doc_example()).unwrap();
    let s = run_json(&file, &dir.path().join("run"), &[]);
    assert_eq!(s["env_steps"], 2000);
    assert_eq!(s["eval_episodes"], 10);
    assert!(s["updates"].as_u64().unwrap() > 0);
    assert!(s["eval_return_mean"].as_f64().unwrap() >= 8.0);
    assert_eq!(s["silent_fraction_per_step"].as_object().unwrap().len(), 1);
}

/// Bad settings exit 2 naming the field; a rule without the value call is refused by name.
#[test]
fn rainbow_bad_settings_name_their_field() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[(&str, &str)], &str); 11] = [
        (&[("n_step: 3", "n_step: 0")], "off_policy.n_step"),
        (&[("batch: 32", "batch: 0")], "off_policy.batch"),
        (&[("start: 1.0", "start: 1.5")], "off_policy.epsilon"),
        (&[("train_every: 1", "train_every: 0")], "off_policy.train_every"),
        (&[("beta_start: 0.4", "beta_start: 2.0")], "off_policy.prioritized"),
        (&[("gamma: 0.99", "gamma: 1.5")], "rule.params"),
        (
            &[
                ("(plugin: \"dqn\"", "(plugin: \"reinforce\""),
                ("double: true, huber: Some(1.0), ", ""),
                ("clip_norm: Some(10.0)", "clip_norm: 10.0"),
            ],
            "rule.plugin",
        ),
        (&[("size: 2, model", "size: 3, model")], "readout"),
        (
            &[("eval_episodes: 100,", "eval_episodes: 100, exploration: Noisy(),")],
            "off_policy.epsilon",
        ),
        (
            &[("epsilon: (start: 1.0, end: 0.02, steps: 8000),", "exploration: Noisy(sigma0: -1.0),")],
            "off_policy.exploration.Noisy.sigma0",
        ),
        (
            &[("eval_episodes: 100,", "eval_episodes: 100, distributional: (atoms: 1, v_min: 0.0, v_max: 1.0),")],
            "off_policy.distributional.atoms",
        ),
    ];
    for (edits, field) in cases {
        let file = rainbow(dir.path(), "bad.ron", edits);
        let out = dir.path().join("bad-run");
        let o = snnsim(&["run", file.to_str().unwrap(), "--out", out.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{edits:?}: {err}");
        assert!(err.contains(field), "{edits:?}: `{field}` not named in {err}");
    }
}

/// The full agent's settings: a C51 readout whose size is not actions × atoms, a support
/// with v_min ≥ v_max, and a rule without the distributional call are refused by field.
#[test]
fn rainbow_full_bad_settings_name_their_field() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[(&str, &str)], &str); 4] = [
        (&[("size: 102,", "size: 100,")], "readout"),
        (&[("v_min: 0.0, v_max: 100.0", "v_min: 5.0, v_max: 5.0")], "off_policy.distributional.v_min"),
        (&[("(name: \"v\", size: 51,", "(name: \"v\", size: 1,")], "off_policy.dueling"),
        (
            &[
                ("(plugin: \"dqn\"", "(plugin: \"reinforce\""),
                ("double: true, huber: Some(1.0), ", ""),
                ("clip_norm: Some(10.0)", "clip_norm: 10.0"),
            ],
            "rule.plugin",
        ),
    ];
    for (edits, field) in cases {
        let file = rainbow_from("cartpole-rainbow-full.ron", dir.path(), "bad.ron", edits);
        let out = dir.path().join("bad-run");
        let o = snnsim(&["run", file.to_str().unwrap(), "--out", out.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{edits:?}: {err}");
        assert!(err.contains(field), "{edits:?}: `{field}` not named in {err}");
    }
}

/// |a − b| ≤ 1e-9·|b|.
fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs()
}

/// `--dense`: the same architecture with ReLU units (one evaluation per decision) trains
/// above a random policy; its summary has the spiking run's keys, with the counts of its
/// architecture exactly (input 32 × 64, hidden1 64 × 64, hidden2 64 × 2 weights: 6 272
/// multiply-accumulates per decision and no accumulate), where the spiking run has the input
/// layer's 2 048 multiply-accumulates and its spikes' accumulates; energy is 0.9 pJ per
/// accumulate + 4.6 pJ per multiply-accumulate; the dense run is the same bits on one thread
/// and two, and `--resume` of its directory continues the dense network. A file without an
/// off-policy task refuses `--dense` (exit 2).
#[test]
fn rainbow_dense_trains_relu_units_and_counts_their_operations() {
    let dir = tempfile::tempdir().unwrap();
    let file = rainbow(
        dir.path(),
        "short.ron",
        &[
            ("env_steps: 30000", "env_steps: 4000"),
            ("buffer: 30000", "buffer: 4000"),
            ("warmup: 1000", "warmup: 500"),
            ("target_every: 250", "target_every: 100"),
            ("steps: 8000)", "steps: 2000)"),
            ("eval_episodes: 100", "eval_episodes: 20"),
        ],
    );
    let spiking = run_json(&file, &dir.path().join("spiking"), &["--threads", "2"]);
    let one = run_json(&file, &dir.path().join("one"), &["--dense", "--threads", "1"]);
    let two = run_json(&file, &dir.path().join("two"), &["--dense", "--threads", "2"]);
    eprintln!("spiking {spiking}\ndense {one}");
    for key in ["state_hash", "eval_return_mean", "updates", "synaptic_ops_per_decision"] {
        assert_eq!(one[key], two[key], "{key}");
    }
    let metrics = read(&dir.path().join("one/metrics.csv"));
    assert_eq!(metrics, read(&dir.path().join("two/metrics.csv")));
    assert_ne!(one["state_hash"], spiking["state_hash"]);
    assert_eq!((&one["network"], &spiking["network"]), (&"dense".into(), &"spiking".into()));
    let eval = one["eval_return_mean"].as_f64().unwrap();
    assert!(eval > 30.0, "the dense greedy policy returns {eval}");
    for s in [&one, &spiking] {
        let silent = s["silent_fraction_per_step"].as_object().unwrap();
        assert_eq!(silent.len(), 2, "{silent:?}");
        for name in ["hidden1", "hidden2"] {
            let f = silent[name].as_f64().unwrap();
            assert!(f > 0.0 && f < 1.0, "{name}: silent fraction {f}");
        }
        assert!(s["decisions_per_s"].as_f64().unwrap() > 0.0);
        let ops = &s["synaptic_ops_per_decision"];
        let (ac, mac) = (ops["accumulates"].as_f64().unwrap(), ops["macs"].as_f64().unwrap());
        let energy = s["energy_pj_estimate"].as_f64().unwrap();
        assert!(close(energy, 0.9 * ac + 4.6 * mac), "{energy} vs {ac}, {mac}");
    }
    let ops = &one["synaptic_ops_per_decision"];
    assert_eq!(ops["accumulates"], 0.0);
    assert_eq!(ops["macs"], (32 * 64 + 64 * 64 + 64 * 2) as f64);
    let ops = &spiking["synaptic_ops_per_decision"];
    assert_eq!(ops["macs"], (32 * 64) as f64, "the input layer, once per decision");
    let ac = ops["accumulates"].as_f64().unwrap();
    assert!(ac > 0.0 && ac < (4 * (64 * 64 + 64 * 2)) as f64, "{ac}");
    // The run directory remembers the dense network: a resume from its last checkpoint
    // evaluates the same network again.
    let o = dir.path().join("one");
    let r = snnsim(&["run", "--resume", o.to_str().unwrap(), "--json"]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let stdout = String::from_utf8(r.stdout).unwrap();
    let s: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(s["network"], "dense");
    assert_eq!(s["state_hash"], one["state_hash"]);
    assert_eq!(s["eval_return_mean"], one["eval_return_mean"]);
    // A task without `off_policy` refuses it.
    let cartpole = root().join("graphs/cartpole.ron");
    let out = dir.path().join("refused");
    let r = snnsim(&[
        "run",
        cartpole.to_str().unwrap(),
        "--dense",
        "--out",
        out.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(2), "{err}");
    assert!(err.contains("--dense") && err.contains("off_policy"), "{err}");
    assert!(!out.exists(), "a refused run leaves no directory");
}
