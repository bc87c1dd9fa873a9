//! `snnsim plugins` (what the host finds) and `snnsim new-plugin` (a crate to start from).

use crate::error::{Error, Result};
use crate::plugin::{self, PluginInfo};
use std::path::{Path, PathBuf};

/// The plugins on the search path, checked, and the directories searched.
pub fn plugins() -> (Vec<PluginInfo>, Vec<PathBuf>) {
    (plugin::list(), plugin::search_dirs())
}

/// The SDK crate this binary was built with, for scaffolded crates' path dependency.
pub fn default_sdk_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("plugins/api")
}

/// Writes a new plugin crate named `name` of `kind` (`rule`, `env` or `structure`) into `dir`
/// and returns the files written. Refuses to overwrite anything.
pub fn new_plugin(name: &str, kind: &str, dir: &Path, sdk: &Path) -> Result<Vec<PathBuf>> {
    let valid = !name.is_empty()
        && name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return Err(Error::Input(format!(
            "plugin name `{name}`: use lowercase letters, digits and `_`, starting with a letter"
        )));
    }
    let body = match kind {
        "rule" => RULE_TEMPLATE,
        "env" => ENV_TEMPLATE,
        "structure" => STRUCTURE_TEMPLATE,
        other => {
            return Err(Error::Input(format!(
                "--kind {other}: expected `rule`, `env` or `structure`"
            )))
        }
    };
    if dir.exists() {
        return Err(Error::Input(format!(
            "{} exists already; choose another --path",
            dir.display()
        )));
    }
    let sdk = std::fs::canonicalize(sdk).map_err(|e| {
        Error::Input(format!(
            "the plugin SDK is not at {} ({e}); give its directory with --sdk",
            sdk.display()
        ))
    })?;
    let src = dir.join("src");
    std::fs::create_dir_all(&src).map_err(|e| Error::io(&src, e))?;
    let camel: String = name
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect();
    let manifest = format!(
        r#"[package]
name = "snnsim-plugin-{dash}"
version = "0.1.0"
edition = "2021"

[lib]
# The host finds plugin NAME as the library file libsnnsim_plugin_NAME.so.
name = "snnsim_plugin_{name}"
crate-type = ["cdylib", "rlib"]

[dependencies]
snnsim-plugin-api = {{ path = "{sdk}" }}
serde = {{ version = "1", features = ["derive"] }}

# A crate of its own, not a member of any enclosing workspace.
[workspace]
"#,
        dash = name.replace('_', "-"),
        sdk = sdk.display(),
    );
    let lib = body.replace("__NAME__", name).replace("__TYPE__", &camel);
    let files = [
        (dir.join("Cargo.toml"), manifest),
        (src.join("lib.rs"), lib),
        (dir.join(".gitignore"), "/target\n".to_string()),
    ];
    for (path, text) in &files {
        std::fs::write(path, text).map_err(|e| Error::io(path, e))?;
    }
    Ok(files.into_iter().map(|(p, _)| p).collect())
}

const RULE_TEMPLATE: &str = r#"//! The `__NAME__` learning rule.
//!
//! Build with `cargo build --release`; the host loads `target/release/libsnnsim_plugin___NAME__.so`
//! when its directory is on `SNNSIM_PLUGIN_PATH`, and a graph file uses it as
//! `rule: (plugin: "__NAME__", params: (rate: 0.001))` on a projection.

use snnsim_plugin_api::{export_rule, LearningRule, RuleContext, Shape};

/// Parameters, written in the graph file's `params`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Weight increment per presynaptic spike.
    pub rate: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config { rate: 0.001 }
    }
}

/// The rule: every synapse of a neuron that spikes grows by `rate`.
pub struct __TYPE__ {
    rate: f64,
}

impl LearningRule for __TYPE__ {
    type Config = Config;

    fn new(config: Config, _shape: &Shape) -> Result<Self, String> {
        Ok(__TYPE__ { rate: config.rate })
    }

    fn on_step(&mut self, ctx: &mut RuleContext<'_>) -> Result<(), String> {
        for &i in ctx.pre_spikes {
            for k in ctx.row(i as usize) {
                ctx.weights[k] += self.rate;
            }
        }
        Ok(())
    }
}

export_rule!(__TYPE__, "__NAME__");

#[cfg(test)]
mod tests {
    use super::*;
    use snnsim_plugin_api::testing::RuleHarness;

    #[test]
    fn a_presynaptic_spike_grows_its_synapses() {
        let mut h = RuleHarness::<__TYPE__>::all_to_all(2, 3, 0.5, 0.1, "(rate: 0.25)").unwrap();
        h.step(&[1], &[]).unwrap();
        assert_eq!(h.weight(0, 0), Some(0.5));
        assert_eq!(h.weight(1, 2), Some(0.75));
    }
}
"#;

const ENV_TEMPLATE: &str = r#"//! The `__NAME__` environment.
//!
//! Build with `cargo build --release`; the host loads `target/release/libsnnsim_plugin___NAME__.so`
//! when its directory is on `SNNSIM_PLUGIN_PATH`.

use snnsim_plugin_api::{export_env, ActionSpace, Environment, Spaces, Transition};

/// Parameters.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Steps per episode.
    pub length: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config { length: 10 }
    }
}

/// A counter: the observation is the fraction of the episode done; action 1 earns 1.
pub struct __TYPE__ {
    length: u32,
    t: u32,
}

impl Environment for __TYPE__ {
    type Config = Config;

    fn new(config: Config) -> Result<Self, String> {
        Ok(__TYPE__ { length: config.length.max(1), t: 0 })
    }

    fn spaces(&self) -> Spaces {
        Spaces { observation_len: 1, action: ActionSpace::Discrete(2) }
    }

    fn reset(&mut self, _seed: u64, obs: &mut [f64]) -> Result<(), String> {
        self.t = 0;
        obs[0] = 0.0;
        Ok(())
    }

    fn step(&mut self, action: &[f64], obs: &mut [f64]) -> Result<Transition, String> {
        self.t += 1;
        obs[0] = self.t as f64 / self.length as f64;
        Ok(Transition {
            reward: if action[0] == 1.0 { 1.0 } else { 0.0 },
            terminated: false,
            truncated: self.t >= self.length,
        })
    }
}

export_env!(__TYPE__, "__NAME__");

#[cfg(test)]
mod tests {
    use super::*;
    use snnsim_plugin_api::testing::EnvHarness;

    #[test]
    fn an_episode_is_cut_after_its_length() {
        let mut h = EnvHarness::<__TYPE__>::new("(length: 3)").unwrap();
        h.reset(0).unwrap();
        let steps: Vec<bool> = (0..3).map(|_| h.step(&[1.0]).unwrap().truncated).collect();
        assert_eq!(steps, vec![false, false, true]);
    }
}
"#;

const STRUCTURE_TEMPLATE: &str = r#"//! The `__NAME__` structural policy.
//!
//! Build with `cargo build --release`; the host loads `target/release/libsnnsim_plugin___NAME__.so`
//! when its directory is on `SNNSIM_PLUGIN_PATH`.

use snnsim_plugin_api::{export_structure, Activity, Edits, Population, Remap, StructurePolicy};

/// Parameters.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Episodes between checks.
    pub interval: u64,
    /// Never remove neurons below this many.
    pub min_size: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config { interval: 100, min_size: 1 }
    }
}

/// Removes the neurons that did not spike at all since the last check.
pub struct __TYPE__ {
    config: Config,
    /// Spikes of each neuron since the last check.
    spikes: Vec<f64>,
    /// Episodes since the last check.
    episodes: u64,
}

impl StructurePolicy for __TYPE__ {
    type Config = Config;

    fn new(config: Config) -> Result<Self, String> {
        if config.interval == 0 {
            return Err("params.interval: must be at least 1".into());
        }
        Ok(__TYPE__ { config, spikes: Vec::new(), episodes: 0 })
    }

    fn observe(&mut self, activity: &Activity<'_>) -> Result<(), String> {
        self.spikes.resize(activity.spikes.len(), 0.0);
        for (s, x) in self.spikes.iter_mut().zip(activity.spikes) {
            *s += x;
        }
        self.episodes += activity.returns.len() as u64;
        Ok(())
    }

    fn decide(&mut self, population: &Population<'_>, edits: &mut Edits) -> Result<(), String> {
        // Later rounds of a check see the edits applied; this policy asks once per check.
        if population.round > 0 || self.episodes < self.config.interval {
            return Ok(());
        }
        let room = population.len().saturating_sub(self.config.min_size);
        edits.remove = self
            .spikes
            .iter()
            .zip(population.ids)
            .filter(|(&s, _)| s == 0.0)
            .map(|(_, &id)| id)
            .take(room)
            .collect();
        self.spikes = vec![0.0; population.len()];
        self.episodes = 0;
        Ok(())
    }

    fn resize(&mut self, map: &[u64]) -> Result<(), String> {
        self.spikes = Remap::apply(map, &self.spikes, 0.0);
        Ok(())
    }
}

export_structure!(__TYPE__, "__NAME__");

#[cfg(test)]
mod tests {
    use super::*;
    use snnsim_plugin_api::parse_config;

    #[test]
    fn silent_neurons_go_at_the_check() {
        let mut p = __TYPE__::new(parse_config("(interval: 2, min_size: 1)").unwrap()).unwrap();
        let batch = Activity {
            episodes_done: 2,
            spikes: &[0.0, 3.0, 0.0],
            steps: 10.0,
            returns: &[1.0, 1.0],
            food: &[0.0, 0.0],
        };
        p.observe(&batch).unwrap();
        let (ids, age, zeros) = ([7, 8, 9], [2; 3], [0.0; 3]);
        let mut population = Population {
            episodes_done: 2,
            round: 0,
            ids: &ids,
            age: &age,
            w_in_norm: &zeros,
            w_out_norm: &zeros,
            grad_in_norm: &zeros,
            grad_out_norm: &zeros,
            projections: Vec::new(),
        };
        let mut edits = Edits::default();
        p.decide(&population, &mut edits).unwrap();
        assert_eq!(edits.remove, vec![7, 9]);
        // The host removed them and asks again: nothing more this check.
        p.resize(&[1]).unwrap();
        population.round = 1;
        population.ids = &ids[1..2];
        let mut again = Edits::default();
        p.decide(&population, &mut again).unwrap();
        assert!(again.is_empty());
    }
}
"#;
