//! `snnsim env replay ENV --input FILE.json`: runs an environment plugin from a given internal
//! state through a given action sequence and reports every step (how a user reproduces a
//! trajectory, and how the tests replay Gymnasium's).
//!
//! FILE holds `initial_state` (the environment's internal state, as its `save` writes it) and
//! `actions` (a number per step, or an array for a multi-dimensional action); other keys are
//! ignored, so a trajectory of `gymnasium_classic_control.json` can be given as it is. The
//! environment must expose its state as JSON through `save`/`load` (`{"state": [...]}`), as the
//! classic-control plugins do.

use crate::error::{Error, Result};
use crate::plugin::{self, Kind};
use serde::Serialize;
use std::path::Path;

/// One step of a replay.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplayStep {
    /// Step number, from 1.
    pub t: usize,
    /// The action applied.
    pub action: Vec<f64>,
    /// The internal state after the step.
    pub state: Vec<f64>,
    /// The observation after the step.
    pub obs: Vec<f64>,
    /// The reward of the step.
    pub reward: f64,
    /// The episode reached a terminal state.
    pub terminated: bool,
    /// The episode was cut by the time limit.
    pub truncated: bool,
}

/// The plugin name of an environment given by plugin name or Gymnasium id.
pub fn env_plugin_name(env: &str) -> &str {
    match env {
        "CartPole-v1" => "cartpole",
        "Pendulum-v1" => "pendulum",
        "MountainCar-v0" => "mountaincar",
        "Acrobot-v1" => "acrobot",
        other => other,
    }
}

#[derive(serde::Deserialize)]
struct Input {
    initial_state: Vec<f64>,
    actions: Vec<serde_json::Value>,
}

#[derive(serde::Deserialize)]
struct Saved {
    state: Vec<f64>,
}

/// Replays `input` (a JSON file) in environment `env`; stops after the first step that is
/// terminated or truncated, or when the actions run out.
pub fn replay(env: &str, input: &Path) -> Result<Vec<ReplayStep>> {
    let text = std::fs::read_to_string(input).map_err(|e| Error::io(input, e))?;
    let parsed: Input = serde_json::from_str(&text)
        .map_err(|e| Error::Input(format!("{}: {e}", input.display())))?;
    let actions = parsed
        .actions
        .iter()
        .enumerate()
        .map(|(k, a)| {
            let bad = || {
                Error::Input(format!(
                    "{}: actions[{k}] must be a number or an array of numbers, got {a}",
                    input.display()
                ))
            };
            match a {
                serde_json::Value::Number(n) => n.as_f64().map(|x| vec![x]).ok_or_else(bad),
                serde_json::Value::Array(v) => v
                    .iter()
                    .map(|x| x.as_f64().ok_or_else(bad))
                    .collect::<Result<Vec<f64>>>(),
                _ => Err(bad()),
            }
        })
        .collect::<Result<Vec<_>>>()?;
    let name = env_plugin_name(env);
    let plugin = plugin::load(name, None, Kind::Env)?;
    let mut inst = plugin.create_env("()")?;
    let mut obs = vec![0.0; inst.observation_len()];
    inst.reset(0, &mut obs)?;
    let start = serde_json::json!({ "state": parsed.initial_state });
    inst.load(start.to_string().as_bytes())
        .map_err(|e| Error::Input(format!("{}: initial_state: {e}", input.display())))?;
    let mut steps = Vec::with_capacity(actions.len());
    for (k, action) in actions.into_iter().enumerate() {
        let tr = inst
            .step(&action, &mut obs)
            .map_err(|e| Error::Input(format!("{}: actions[{k}]: {e}", input.display())))?;
        let saved = inst.save()?;
        let state: Saved = serde_json::from_slice(&saved).map_err(|_| {
            Error::Input(format!(
                "environment `{name}` does not expose its state as JSON ({{\"state\": [...]}}) through save, so it cannot be replayed"
            ))
        })?;
        steps.push(ReplayStep {
            t: k + 1,
            action,
            state: state.state,
            obs: obs.clone(),
            reward: tr.reward,
            terminated: tr.terminated,
            truncated: tr.truncated,
        });
        if tr.terminated || tr.truncated {
            break;
        }
    }
    Ok(steps)
}
