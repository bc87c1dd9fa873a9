//! The control tasks: the classic-control environment plugins against Gymnasium's trajectories
//! (`gymnasium_classic_control.json`), `snnsim env replay`, and a short CartPole training run
//! that must beat the random policy.

use crate::common::{plugin_file, reference, snnsim};
use snnsim::plugin::{self, Kind};

const ENVS: [(&str, &str); 4] = [
    ("CartPole-v1", "cartpole"),
    ("Pendulum-v1", "pendulum"),
    ("MountainCar-v0", "mountaincar"),
    ("Acrobot-v1", "acrobot"),
];

fn floats(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn rel(a: f64, b: f64) -> f64 {
    if a == b {
        0.0
    } else {
        (a - b).abs() / b.abs().max(f64::MIN_POSITIVE)
    }
}

/// Observations are float32 in Gymnasium; ours are rounded to f32 too. Tolerance from the
/// reference README: |Δ| ≤ 1e-6·|obs| + 1e-7 (the absolute term for components near 0).
fn obs_close(got: &[f64], want: &[f64]) -> bool {
    got.len() == want.len()
        && got
            .iter()
            .zip(want)
            .all(|(g, w)| (g - w).abs() <= 1e-6 * w.abs() + 1e-7)
}

/// One-step check (reference README): for every stored step, set the state to the previous
/// stored state and apply the action; the state and reward must agree within 1e-9 relative
/// (the operation order is Gymnasium's, so in practice they are equal), the flags exactly.
/// The step count is set too, so the time limit falls on the same step.
#[test]
fn one_step_matches_gymnasium() {
    let r = reference("gymnasium_classic_control.json");
    for (id, name) in ENVS {
        let lib = plugin::load(name, Some(&plugin_file(name)), Kind::Env).unwrap();
        let mut env = lib.create_env("()").unwrap();
        let mut obs = vec![0.0; env.observation_len()];
        env.reset(7, &mut obs).unwrap();
        let mut checked = 0;
        for traj in r["envs"][id]["trajectories"].as_array().unwrap() {
            let mut prev = floats(&traj["initial_state"]);
            for (k, step) in traj["steps"].as_array().unwrap().iter().enumerate() {
                let saved = serde_json::json!({ "state": prev, "steps": k });
                env.load(saved.to_string().as_bytes()).unwrap();
                let action = step["action"].as_f64().unwrap();
                let tr = env.step(&[action], &mut obs).unwrap();
                let state: serde_json::Value =
                    serde_json::from_slice(&env.save().unwrap()).unwrap();
                let state = floats(&state["state"]);
                let want = floats(&step["state"]);
                for (g, w) in state.iter().zip(&want) {
                    assert!(
                        rel(*g, *w) <= 1e-9,
                        "{id} step {k}: state {state:?} vs {want:?}"
                    );
                }
                let wr = step["reward"].as_f64().unwrap();
                assert!(
                    rel(tr.reward, wr) <= 1e-9,
                    "{id} step {k}: reward {} vs {wr}",
                    tr.reward
                );
                assert_eq!(
                    tr.terminated,
                    step["terminated"].as_bool().unwrap(),
                    "{id} {k}"
                );
                assert_eq!(
                    tr.truncated,
                    step["truncated"].as_bool().unwrap(),
                    "{id} {k}"
                );
                assert!(
                    obs_close(&obs, &floats(&step["obs"])),
                    "{id} step {k}: obs {obs:?}"
                );
                prev = want;
                checked += 1;
            }
        }
        assert!(checked >= 60, "{id}: only {checked} steps checked");
    }
}

/// Free run through `snnsim env replay`: from the stored initial state, the whole action
/// sequence; the state within 1e-6 relative (README: a 1e-12 perturbation stays within 1e-9
/// over these trajectories), the reward within 1e-9, the flags exactly, and the replay stops
/// where Gymnasium's trajectory does.
#[test]
fn env_replay_reproduces_gymnasium_trajectories() {
    let r = reference("gymnasium_classic_control.json");
    let dir = tempfile::tempdir().unwrap();
    for (id, _) in ENVS {
        for (i, traj) in r["envs"][id]["trajectories"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
        {
            let input = dir.path().join(format!("{id}-{i}.json"));
            let file = serde_json::json!({
                "initial_state": traj["initial_state"],
                "actions": traj["actions"],
            });
            std::fs::write(&input, file.to_string()).unwrap();
            let o = snnsim(&[
                "env",
                "replay",
                id,
                "--input",
                input.to_str().unwrap(),
                "--json",
            ]);
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let lines: Vec<serde_json::Value> = String::from_utf8(o.stdout)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            let steps = traj["steps"].as_array().unwrap();
            assert_eq!(lines.len(), steps.len(), "{id} {i}: replay length");
            for (k, (got, want)) in lines.iter().zip(steps).enumerate() {
                let (gs, ws) = (floats(&got["state"]), floats(&want["state"]));
                for (g, w) in gs.iter().zip(&ws) {
                    assert!(rel(*g, *w) <= 1e-6, "{id} {i} step {k}: {gs:?} vs {ws:?}");
                }
                let (gr, wr) = (
                    got["reward"].as_f64().unwrap(),
                    want["reward"].as_f64().unwrap(),
                );
                assert!(
                    rel(gr, wr) <= 1e-9,
                    "{id} {i} step {k}: reward {gr} vs {wr}"
                );
                assert!(obs_close(&floats(&got["obs"]), &floats(&want["obs"])));
                assert_eq!(got["terminated"], want["terminated"], "{id} {i} step {k}");
                assert_eq!(got["truncated"], want["truncated"], "{id} {i} step {k}");
                assert_eq!(got["t"], want["t"]);
            }
        }
    }
}

/// Bad replay input is a clear error (exit 2), never a panic.
#[test]
fn env_replay_rejects_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "cartpole",
            r#"{"initial_state": [0, 0, 0], "actions": [0]}"#,
            "state has 3 values",
        ),
        (
            "cartpole",
            r#"{"initial_state": [0, 0, 0, 0], "actions": [2]}"#,
            "actions[0]",
        ),
        ("cartpole", r#"{"initial_state": [0, 0, 0, 0]}"#, "actions"),
        (
            "pendulum",
            r#"{"initial_state": [0, 0], "actions": ["x"]}"#,
            "actions[0]",
        ),
        (
            "nosuchenv",
            r#"{"initial_state": [0], "actions": [0]}"#,
            "nosuchenv",
        ),
    ];
    for (k, (env, text, needle)) in cases.into_iter().enumerate() {
        let input = dir.path().join(format!("{k}.json"));
        std::fs::write(&input, text).unwrap();
        let o = snnsim(&["env", "replay", env, "--input", input.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{env} {text}: {err}");
        assert!(err.contains(needle), "{env} {text}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// The encoders of continuous observations: on/off pairs carry |x|/scale on the side of the
/// sign; population coding gives Gaussian bumps centred on evenly spaced preferred values.
#[test]
fn continuous_encoders_give_the_documented_currents() {
    use snnsim::file::Encoder;
    let e = Encoder::OnOff {
        scale: vec![2.0, 0.5, 1.0],
    };
    assert_eq!(e.input_len(3), Some(6));
    assert_eq!(e.input_len(4), None);
    let mut out = Vec::new();
    e.currents(&[1.0, -0.25, 0.0], &mut out);
    assert_eq!(out, vec![(0, 0.5), (3, 0.5)]);
    let p = Encoder::Population {
        per_value: 5,
        low: vec![-1.0, 0.0],
        high: vec![1.0, 8.0],
        width: 1.0,
    };
    assert_eq!(p.input_len(2), Some(10));
    let mut out = Vec::new();
    p.currents(&[0.5, 8.0], &mut out);
    // Value 0 (x = 0.5): centres −1, −0.5, 0, 0.5, 1, spacing 0.5 = σ.
    let get = |i: u32| out.iter().find(|c| c.0 == i).map_or(0.0, |c| c.1);
    assert!((get(3) - 1.0).abs() < 1e-15);
    assert!((get(2) - (-0.5f64).exp()).abs() < 1e-15 && (get(4) - get(2)).abs() < 1e-15);
    assert!((get(0) - (-4.5f64).exp()).abs() < 1e-15);
    // Value 1 (x = 8): its last centre.
    assert!((get(9) - 1.0).abs() < 1e-15 && get(8) < get(9));
}

fn control_file(edit: &str, with: &str) -> String {
    let text = std::fs::read_to_string(crate::common::root().join("graphs/cartpole.ron")).unwrap();
    assert!(
        text.contains(edit),
        "graphs/cartpole.ron no longer holds `{edit}`"
    );
    text.replace(edit, with)
}

/// Control files that cannot work fail validation or construction with exit 2 and the field.
#[test]
fn bad_control_files_name_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            control_file(
                "(name: \"readout\", size: 2,",
                "(name: \"readout\", size: 3,",
            ),
            "task.Control.readout",
        ),
        (
            control_file("solved_at: 475.0,", "solved_at: 475.0, critic: true,").replace(
                "(name: \"readout\", size: 2,",
                "(name: \"readout\", size: 3,",
            ),
            "actor-critic",
        ),
        (
            control_file("scale: [1.0, 1.0, 0.1, 1.0]", "scale: [1.0, 1.0, 0.0, 1.0]"),
            "task.Control.encoder.OnOff.scale",
        ),
        (
            control_file("(name: \"input\", size: 8,", "(name: \"input\", size: 6,"),
            "task.Control.input",
        ),
        (
            control_file("task: Control(", "task: Agent("),
            "task.Agent.encoder",
        ),
        (
            control_file(
                "model: Synaptic(tau_syn_ms: 5.0, tau_mem_ms: 10.0,",
                "model: Alpha(tau_exc_ms: 10.0, tau_inh_ms: 5.0, reset: Subtract,",
            )
            .replace("threshold: 1.0, reset: Zero)),", "threshold: 1.0)),"),
            "task.Control.hidden",
        ),
    ];
    for (k, (text, needle)) in cases.into_iter().enumerate() {
        let f = dir.path().join(format!("bad{k}.ron"));
        std::fs::write(&f, text).unwrap();
        let out = dir.path().join(format!("out{k}"));
        let o = snnsim(&[
            "run",
            f.to_str().unwrap(),
            "--episodes",
            "4",
            "--out",
            out.to_str().unwrap(),
        ]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "case {k}: {err}");
        assert!(
            err.contains(needle),
            "case {k}: expected `{needle}` in: {err}"
        );
    }
}

/// CI's learning check: 300 episodes of graphs/cartpole.ron (REINFORCE) on one thread. A
/// uniformly random policy lasts about 22 steps; the trained policy's mean return over the last
/// 100 episodes must exceed 150 on each of three seeds (it is about 400 with the shipped
/// defaults), the first episodes must look random, and summary.json must agree with
/// metrics.csv.
#[test]
fn cartpole_learns_well_above_a_random_policy() {
    let dir = tempfile::tempdir().unwrap();
    let file = crate::common::root().join("graphs/cartpole.ron");
    for seed in ["1", "2", "3"] {
        let out = dir.path().join(seed);
        let s = crate::common::run_json(
            &file,
            &out,
            &["--episodes", "300", "--threads", "1", "--seed", seed],
        );
        let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
        let returns: Vec<f64> = csv
            .lines()
            .skip(1)
            .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
            .collect();
        assert_eq!(returns.len(), 300);
        let mean = |r: &[f64]| r.iter().sum::<f64>() / r.len() as f64;
        let first = mean(&returns[..20]);
        let last = mean(&returns[200..]);
        assert!(
            first < 60.0,
            "seed {seed}: the first policy is not near random ({first})"
        );
        assert!(
            last > 150.0,
            "seed {seed}: mean return of the last 100 episodes {last}"
        );
        assert!((s["mean_return_last_100"].as_f64().unwrap() - last).abs() < 1e-9);
        let solved = snnsim::app::first_reaching(&returns, 100, 475.0);
        assert_eq!(s["episodes_to_solve"].as_u64(), solved, "seed {seed}");
        assert_eq!(s["solved_at"], 475.0);
    }
}

/// Training a control task gives the same weights and metrics on 1 and 2 threads (episodes of
/// a batch run in parallel, each with its own stream).
#[test]
fn control_training_does_not_depend_on_threads() {
    let dir = tempfile::tempdir().unwrap();
    for g in ["graphs/cartpole.ron", "graphs/pendulum.ron"] {
        let file = crate::common::root().join(g);
        let run = |threads: &str| {
            let out = dir
                .path()
                .join(format!("{}-{threads}", g.replace('/', "-")));
            let s =
                crate::common::run_json(&file, &out, &["--episodes", "24", "--threads", threads]);
            (
                s["state_hash"].clone(),
                std::fs::read_to_string(out.join("metrics.csv")).unwrap(),
            )
        };
        let (h1, m1) = run("1");
        let (h2, m2) = run("2");
        assert_eq!(h1, h2, "{g}");
        assert_eq!(m1, m2, "{g}");
        assert_eq!(m1.lines().count(), 25);
    }
}

/// A2C with the Gaussian decoder and the critic learns Pendulum: after 1 600 episodes of
/// graphs/pendulum.ron the mean return of the last 100 episodes is above −900 and at least
/// 300 above the first 100 episodes' (≈ −1 300, a near-random policy) on each of three seeds
/// (about −290, −360 and −790 with the shipped defaults).
#[test]
fn pendulum_a2c_improves_on_the_first_policy() {
    let dir = tempfile::tempdir().unwrap();
    let file = crate::common::root().join("graphs/pendulum.ron");
    for seed in ["1", "2", "3"] {
        let out = dir.path().join(seed);
        let s = crate::common::run_json(
            &file,
            &out,
            &["--episodes", "1600", "--threads", "1", "--seed", seed],
        );
        let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
        let returns: Vec<f64> = csv
            .lines()
            .skip(1)
            .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
            .collect();
        let mean = |r: &[f64]| r.iter().sum::<f64>() / r.len() as f64;
        let (first, last) = (mean(&returns[..100]), mean(&returns[1500..]));
        assert!(first < -1000.0, "seed {seed}: first policy {first}");
        assert!(
            last > -900.0 && last > first + 300.0,
            "seed {seed}: {first} → {last}"
        );
        assert!((s["mean_return_last_100"].as_f64().unwrap() - last).abs() < 1e-9);
        assert_eq!(s["rule"], "a2c");
    }
}
