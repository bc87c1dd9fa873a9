//! What the foraging and control trainers build alike from a checked file: the network, the
//! environment instances, the policy's wiring, and one gradient-rule instance per trained
//! projection. Errors name the file's line and the task's field.

use crate::error::{Error, Result};
use crate::file::{AgentSpec, Checked, RuleSpec};
use crate::graph::{Network, PopId, ProjId};
use crate::plugin::{self, EnvInstance, Kind, RuleInstance, StructureInstance};
use snnsim_plugin_api::abi::ProjShapeV1;

/// The agent's populations and its two trained projections.
#[derive(Debug, Clone, Copy)]
pub(super) struct Wiring {
    pub input: PopId,
    pub hidden: PopId,
    pub readout: PopId,
    /// input → hidden.
    pub w_in: ProjId,
    /// hidden → readout.
    pub w_out: ProjId,
}

/// A checked file's agent, built up to its rule instances.
pub(super) struct Setup<'a> {
    checked: &'a Checked,
    /// `Agent` or `Control`: the task's variant, for error locations.
    task: &'static str,
    pub spec: &'a AgentSpec,
    pub net: Network,
    pub envs: Vec<EnvInstance>,
    pub wiring: Wiring,
}

/// `err` located at `task.<task>.<field>` in the file.
pub(super) fn located(checked: &Checked, task: &str, field: &str, err: Error) -> Error {
    checked
        .source
        .error_at(&format!("task.{task}.{field}"), err.to_string())
}

/// `err` located at `field` if it is bad input (exit code 2), else as it is.
pub(super) fn located_input(checked: &Checked, task: &str, field: &str, err: Error) -> Error {
    match err.exit_code() {
        2 => located(checked, task, field, err),
        _ => err,
    }
}

/// A plugin's parameters as RON text (`()` when the file gives none).
pub(super) fn params(p: &RuleSpec) -> String {
    p.params
        .as_ref()
        .map_or("()".to_string(), |r| r.get_ron().to_string())
}

impl<'a> Setup<'a> {
    /// Builds the network, loads the environment plugin and creates `spec.batch` instances,
    /// and finds the wiring; both trained projections get one weight per synapse.
    pub fn new(checked: &'a Checked, spec: &'a AgentSpec, task: &'static str) -> Result<Self> {
        let mut net = crate::graph::build(checked)?;
        let env_plugin = plugin::load(
            &spec.environment.plugin,
            spec.environment.path.as_deref().map(std::path::Path::new),
            Kind::Env,
        )
        .map_err(|e| located(checked, task, "environment.plugin", e))?;
        let env_params = params(&spec.environment);
        let envs = (0..spec.batch)
            .map(|_| env_plugin.create_env(&env_params))
            .collect::<Result<Vec<_>>>()
            .map_err(|e| located_input(checked, task, "environment.params", e))?;
        let id = |n: &str| net.pop_id(n).expect("validated population");
        let (input, hidden, readout) = (id(&spec.input), id(&spec.hidden), id(&spec.readout));
        let find = |pre: PopId, post: PopId| {
            net.proj_ids()
                .into_iter()
                .find(|&p| net.endpoints(p) == (pre, post))
                .expect("validated projection")
        };
        let wiring = Wiring {
            input,
            hidden,
            readout,
            w_in: find(input, hidden),
            w_out: find(hidden, readout),
        };
        // The policy learns single weights: a shared weight becomes one per synapse.
        for p in [wiring.w_in, wiring.w_out] {
            net.proj_mut(p).weights.make_per_synapse();
        }
        Ok(Setup {
            checked,
            task,
            spec,
            net,
            envs,
            wiring,
        })
    }

    /// `err` located at the task's `field` in the file.
    pub fn located(&self, field: &str, err: Error) -> Error {
        located(self.checked, self.task, field, err)
    }

    /// Loads the rule plugin and creates one gradient-rule instance per trained projection
    /// (input → hidden, hidden → readout); `check` may refuse an instance with a reason,
    /// located at `rule.plugin`.
    pub fn rules(
        &self,
        mut check: impl FnMut(&mut RuleInstance) -> std::result::Result<(), String>,
    ) -> Result<Vec<RuleInstance>> {
        let spec = self.spec;
        let rule_plugin = plugin::load(
            &spec.rule.plugin,
            spec.rule.path.as_deref().map(std::path::Path::new),
            Kind::Rule,
        )
        .map_err(|e| self.located("rule.plugin", e))?;
        let rule_params = params(&spec.rule);
        let mut rules = Vec::new();
        for p in [self.wiring.w_in, self.wiring.w_out] {
            let (pre, post) = self.net.endpoints(p);
            let shape = ProjShapeV1 {
                n_pre: self.net.pop(pre).len() as u64,
                n_post: self.net.pop(post).len() as u64,
                nnz: self.net.proj(p).nnz() as u64,
                dt_ms: self.checked.file.dt_ms,
            };
            let mut inst = rule_plugin
                .create_rule(&rule_params, shape)
                .map_err(|e| located_input(self.checked, self.task, "rule.params", e))?;
            if !inst.is_gradient_rule() {
                return Err(self.located(
                    "rule.plugin",
                    Error::Input(format!(
                        "`{}` is not a gradient rule (plugin ABI 1.1)",
                        spec.rule.plugin
                    )),
                ));
            }
            check(&mut inst).map_err(|why| self.located("rule.plugin", Error::Input(why)))?;
            rules.push(inst);
        }
        Ok(rules)
    }
}

impl Setup<'_> {
    /// The structural policy of the task, if it has one: the `structure` plugin (by default
    /// `rate_threshold`), created with its parameters; errors located at the task's
    /// `structure` fields.
    pub fn structure(&self) -> Result<Option<StructureInstance>> {
        let Some(s) = &self.spec.structure else {
            return Ok(None);
        };
        let (plugin_field, params_field) = match s.plugin {
            Some(_) => ("structure.plugin", "structure.params"),
            None => ("structure", "structure"),
        };
        let plugin = plugin::load(
            s.plugin_name(),
            s.path.as_deref().map(std::path::Path::new),
            Kind::Structure,
        )
        .map_err(|e| self.located(plugin_field, e))?;
        let inst = plugin
            .create_structure(&s.params_text())
            .map_err(|e| located_input(self.checked, self.task, params_field, e))?;
        Ok(Some(inst))
    }
}

/// Loads saved plugin states (one byte string per instance, as a checkpoint holds them) into
/// the rule and environment instances of a trainer.
pub(super) fn load_instances(
    rules: &mut [RuleInstance],
    envs: &mut [EnvInstance],
    rule_states: &[Vec<u8>],
    env_states: &[Vec<u8>],
) -> Result<()> {
    if rule_states.len() != rules.len() || env_states.len() != envs.len() {
        return Err(Error::Input(format!(
            "checkpoint state: {} rule and {} environment states for {} rules and {} environments",
            rule_states.len(),
            env_states.len(),
            rules.len(),
            envs.len()
        )));
    }
    for (r, b) in rules.iter_mut().zip(rule_states) {
        r.load(b)?;
    }
    for (env, b) in envs.iter_mut().zip(env_states) {
        env.load(b)?;
    }
    Ok(())
}
