//! The control tasks: the classic-control environment plugins against Gymnasium's trajectories
//! (`gymnasium_classic_control.json`), `snnsim env replay`, and a short CartPole training run
//! that must beat the random policy.

use crate::common::{reference, snnsim};
use snnsim::plugin::{self, Kind};
use std::path::{Path, PathBuf};

const ENVS: [(&str, &str); 4] = [
    ("CartPole-v1", "cartpole"),
    ("Pendulum-v1", "pendulum"),
    ("MountainCar-v0", "mountaincar"),
    ("Acrobot-v1", "acrobot"),
];

/// The built plugins, beside the snnsim binary.
fn plugin_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_snnsim"))
        .parent()
        .unwrap()
        .join(plugin::file_name(name))
}

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
