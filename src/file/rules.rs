//! What validation asks of the neuron models, as a trait the models layer implements.
//!
//! The file format names the models (`ModelSpec`) but knows none of their internals: which
//! parameter values make sense, which state variables a model has, whether it takes synaptic
//! input. Those live in each model's own file (`src/models/`), above this layer. Validation
//! reaches them through [`ModelRules`], handed in by the caller, so that the dependency points
//! from the models to the format and never back. Each check reports a [`ParamError`] with the
//! field path relative to the model (`Lif.tau_m_ms`), which validation places under the
//! population (`populations[2].model.Lif.tau_m_ms`) and locates in the text.
//!
//! The small checks below ([`positive`], [`finite`], ...) hold the wording shared by every
//! model and by validation itself, so the same mistake reads the same wherever it is made.

use super::schema::ModelSpec;

/// A parameter a model refuses: the field path relative to the model (`Lif.tau_m_ms`; empty
/// for the model as a whole) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError {
    /// Path of the offending field below the model (`tau_m_ms`, `times_ms[3][0]`), or empty.
    pub field: String,
    /// What is wrong, as printed after the field.
    pub msg: String,
}

impl ParamError {
    /// An error at `field`.
    pub fn new(field: impl Into<String>, msg: impl Into<String>) -> Self {
        ParamError {
            field: field.into(),
            msg: msg.into(),
        }
    }

    /// The same error one level further out: `prefix.field` (or `prefix` alone when the
    /// field is empty).
    pub fn under(self, prefix: &str) -> Self {
        let field = match (prefix.is_empty(), self.field.is_empty()) {
            (true, _) => self.field,
            (false, true) => prefix.to_string(),
            (false, false) => format!("{prefix}.{}", self.field),
        };
        ParamError { field, ..self }
    }
}

/// What a model's check returns.
pub type ParamResult = std::result::Result<(), ParamError>;

/// What validation needs from the neuron models. Implemented by the models layer
/// (`models::Rules`), which dispatches to each model's own file.
pub trait ModelRules {
    /// Checks a model's parameters for a population of `size` neurons run at time step
    /// `dt_ms` (already checked: finite, at least [`super::MIN_DT_MS`]). The error's field is
    /// relative to the model spec and starts with the variant (`Lif.tau_m_ms`).
    fn check(&self, model: &ModelSpec, size: usize, dt_ms: f64) -> ParamResult;

    /// The state variables of a model, in the order `snnsim inspect` prints them: the names
    /// accepted by `init` and by `State` recorders (none for spike sources).
    fn state_variables(&self, model: &ModelSpec) -> &'static [&'static str];

    /// Whether a model takes synaptic input and currents (spike sources do not).
    fn has_receptors(&self, model: &ModelSpec) -> bool;

    /// The parameters of a model that a population may give per neuron (its `params`).
    fn per_neuron(&self, model: &ModelSpec) -> &'static [&'static str];

    /// Checks one per-neuron value `x` of parameter `name` (one of [`ModelRules::per_neuron`]);
    /// the error's field is empty (validation names the entry).
    fn check_per_neuron(&self, model: &ModelSpec, name: &str, x: f64) -> ParamResult;
}

/// `x` finite and > 0.
pub fn positive(field: &str, x: f64) -> ParamResult {
    if !(x.is_finite() && x > 0.0) {
        return Err(ParamError::new(
            field,
            format!("must be a finite number > 0, got {x}"),
        ));
    }
    Ok(())
}

/// `x` finite and ≥ 0.
pub fn non_negative(field: &str, x: f64) -> ParamResult {
    if !(x.is_finite() && x >= 0.0) {
        return Err(ParamError::new(
            field,
            format!("must be a finite number >= 0, got {x}"),
        ));
    }
    Ok(())
}

/// `x` finite.
pub fn finite(field: &str, x: f64) -> ParamResult {
    if !x.is_finite() {
        return Err(ParamError::new(
            field,
            format!("must be a finite number, got {x}"),
        ));
    }
    Ok(())
}

/// `x` a decay per step, in [0, 1].
pub fn unit_interval(field: &str, x: f64) -> ParamResult {
    if !(0.0..=1.0).contains(&x) {
        return Err(ParamError::new(
            field,
            format!("must be a decay per step in [0, 1], got {x}"),
        ));
    }
    Ok(())
}

/// `i` an index into something of `size` elements.
pub fn index(field: &str, i: usize, size: usize, what: &str) -> ParamResult {
    if i >= size {
        return Err(ParamError::new(
            field,
            format!("index {i} is out of range for {what} of size {size}"),
        ));
    }
    Ok(())
}

/// A decay given either per step (in [0, 1]) or as a time constant (> 0), not both; `per`
/// and `tau` are (field name, value).
pub fn decay(
    (per_name, per): (&str, Option<f64>),
    (tau_name, tau): (&str, Option<f64>),
) -> ParamResult {
    match (per, tau) {
        (Some(_), Some(_)) => Err(ParamError::new(
            tau_name,
            format!("give either `{per_name}` (per step) or `{tau_name}`, not both"),
        )),
        (Some(x), None) => unit_interval(per_name, x),
        (None, Some(t)) => positive(tau_name, t),
        (None, None) => Ok(()),
    }
}

/// A refractory period: finite, ≥ 0, and at most [`super::MAX_REFRACTORY_STEPS`] steps of
/// `dt_ms` (the counter is a `u32`).
pub fn refractory(field: &str, refractory_ms: f64, dt_ms: f64) -> ParamResult {
    non_negative(field, refractory_ms)?;
    if refractory_ms / dt_ms > super::MAX_REFRACTORY_STEPS as f64 {
        return Err(ParamError::new(
            field,
            format!(
                "refractory period {} ms is more than {} steps of dt = {} ms",
                super::show(refractory_ms),
                super::MAX_REFRACTORY_STEPS,
                super::show(dt_ms)
            ),
        ));
    }
    Ok(())
}
