//! Pair-based spike-timing-dependent plasticity (STDP) with exponential traces: the `stdp`
//! learning-rule plugin of snnsim.
//!
//! # The rule
//!
//! Every presynaptic neuron `i` carries a trace `x_i` and every postsynaptic neuron `j` a trace
//! `y_j` (the host's `pre_trace` and `post_trace`, kept between steps and across structural
//! edits). At each step of length `dt`, in this order:
//!
//! 1. Both traces decay: `x_i ← x_i·exp(−dt/τ₊)`, `y_j ← y_j·exp(−dt/τ₋)`.
//! 2. For each presynaptic spike `i` (ascending), every synapse `k = (i → j)` of row `i` is
//!    depressed, `w_k ← clip(w_k − A₋·y_j·f₋(w_k))`, and then `x_i ← x_i + 1`.
//! 3. For each postsynaptic spike `j` (ascending), every synapse `k = (i → j)` onto `j` is
//!    potentiated, `w_k ← clip(w_k + A₊·x_i·f₊(w_k))`, and then `y_j ← y_j + 1`.
//!
//! `clip` confines a weight to `[w_min, w_max]`. The weight dependence is
//!
//! | [`WeightDependence`] | `f₊(w)` | `f₋(w)` |
//! | --- | --- | --- |
//! | `Additive` (hard bounds) | `1` | `1` |
//! | `Multiplicative` (soft bounds) | `w_max − w` | `w − w_min` |
//!
//! Traces grow by 1 per spike and are never reset, so every pre spike pairs with every earlier
//! post spike and vice versa ("all-to-all" pairing in the terms of Morrison et al. 2008).
//!
//! ## The window
//!
//! For one presynaptic spike at step `s_pre` and one postsynaptic spike at step `s_post`, with
//! `Δt = t_post − t_pre = (s_post − s_pre)·dt` (always a whole multiple of `dt`):
//!
//! ```text
//! Δw = +A₊·exp(−Δt/τ₊)·f₊(w)    for Δt ≥ 0
//! Δw = −A₋·exp(+Δt/τ₋)·f₋(w)    for Δt < 0
//! ```
//!
//! This is the continuous-time window of Song et al. (2000) sampled at multiples of `dt`,
//! exactly: the trace is multiplied by `exp(−dt/τ)` once per step, so after `n` steps it holds
//! `exp(−dt/τ)ⁿ = exp(−n·dt/τ)` (up to rounding, a few ulps).
//!
//! **Simultaneous spikes** (`Δt = 0`, a pre and a post spike of one synapse in the same step)
//! count as causal: the pre spike is handled first, its trace increment is visible to the post
//! spike of the same step, so the pair potentiates by `A₊·f₊(w)`; the post trace is
//! incremented only after the pre spikes were handled, so the same pair does not depress.
//!
//! # Parameters
//!
//! [`StdpParams`], parsed from the RON `params` of the graph file, e.g.
//! `(tau_plus_ms: 16.8, a_minus: 0.0105, weight_dependence: Multiplicative)`. Every field has
//! a default; unknown fields are errors.
//!
//! # Cost
//!
//! The trace decay is `O(n_pre + n_post)` per step; a pre spike costs its row, a post spike its
//! column. The synapses onto a postsynaptic neuron are found through a post → synapse index
//! (CSC order) that the rule builds from the CSR structure on its first step and rebuilds after
//! [`LearningRule::resize`] or whenever the projection's shape (`n_pre`, `n_post`, number of
//! synapses) differs from the one it was built for. A host that rewires synapses without
//! changing those counts must call `resize`. The traces, the index and the pairing order are
//! the SDK's `pair_traces`, shared with `rstdp`; this crate supplies what a pair does to a
//! weight.
//!
//! # References
//!
//! - S. Song, K. D. Miller, L. F. Abbott (2000). Competitive Hebbian learning through
//!   spike-timing-dependent synaptic plasticity. *Nature Neuroscience* 3, 919–926.
//! - A. Morrison, M. Diesmann, W. Gerstner (2008). Phenomenological models of synaptic
//!   plasticity based on spike timing. *Biological Cybernetics* 98, 459–478.

#![warn(missing_docs)]

use serde::Deserialize;
use snnsim_plugin_api::pair_traces::{PairTraces, PairUpdate};
use snnsim_plugin_api::{LearningRule, Remap, RuleContext, Shape, StateParts};

/// How the weight change depends on the current weight (Morrison et al. 2008, §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum WeightDependence {
    /// `f₊ = f₋ = 1`; the weight is clipped to `[w_min, w_max]` (hard bounds). The default.
    #[default]
    Additive,
    /// `f₊(w) = w_max − w`, `f₋(w) = w − w_min` (soft bounds); the weight is still clipped,
    /// which only matters when `A·trace` exceeds 1.
    Multiplicative,
}

/// Parameters of the `stdp` rule.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StdpParams {
    /// Time constant of the presynaptic trace, i.e. of the potentiation window τ₊ (ms).
    /// Default 20.
    pub tau_plus_ms: f64,
    /// Time constant of the postsynaptic trace, i.e. of the depression window τ₋ (ms).
    /// Default 20.
    pub tau_minus_ms: f64,
    /// Potentiation amplitude A₊ (weight units per pair, dimensionless under the
    /// multiplicative dependence). Default 0.01.
    pub a_plus: f64,
    /// Depression amplitude A₋. Default 0.012 (slightly larger than A₊, so uncorrelated
    /// firing depresses on balance, as in Song et al. 2000).
    pub a_minus: f64,
    /// Lower weight bound. Default 0.
    pub w_min: f64,
    /// Upper weight bound. Default 1.
    pub w_max: f64,
    /// Weight dependence. Default [`WeightDependence::Additive`].
    pub weight_dependence: WeightDependence,
}

impl Default for StdpParams {
    fn default() -> Self {
        StdpParams {
            tau_plus_ms: 20.0,
            tau_minus_ms: 20.0,
            a_plus: 0.01,
            a_minus: 0.012,
            w_min: 0.0,
            w_max: 1.0,
            weight_dependence: WeightDependence::Additive,
        }
    }
}

impl StdpParams {
    /// Checks the values serde cannot: time constants positive, amplitudes non-negative,
    /// bounds finite and ordered. An error names the field (`params.<field>: ...`).
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [
            ("tau_plus_ms", self.tau_plus_ms),
            ("tau_minus_ms", self.tau_minus_ms),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(format!(
                    "params.{name}: must be positive and finite, got {v}"
                ));
            }
        }
        for (name, v) in [("a_plus", self.a_plus), ("a_minus", self.a_minus)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(format!(
                    "params.{name}: must be non-negative and finite, got {v}"
                ));
            }
        }
        for (name, v) in [("w_min", self.w_min), ("w_max", self.w_max)] {
            if !v.is_finite() {
                return Err(format!("params.{name}: must be finite, got {v}"));
            }
        }
        if self.w_min > self.w_max {
            return Err(format!(
                "params.w_max: must be at least w_min ({}), got {}",
                self.w_min, self.w_max
            ));
        }
        Ok(())
    }
}

/// The `stdp` rule: one instance per trained projection. Its only state is the post →
/// synapse index of its traces; the traces belong to the host.
#[derive(Debug, Clone)]
pub struct Stdp {
    params: StdpParams,
    traces: PairTraces,
}

impl Stdp {
    /// The parameters in force.
    pub fn params(&self) -> &StdpParams {
        &self.params
    }
}

/// A pair changes the weight: `w ← clip(w ∓ A·trace·f(w))`.
struct WeightChange<'a>(&'a StdpParams);

impl WeightChange<'_> {
    /// The weight dependence `f₊` at weight `w`.
    #[inline]
    fn f_plus(&self, w: f64) -> f64 {
        match self.0.weight_dependence {
            WeightDependence::Additive => 1.0,
            WeightDependence::Multiplicative => self.0.w_max - w,
        }
    }

    /// The weight dependence `f₋` at weight `w`.
    #[inline]
    fn f_minus(&self, w: f64) -> f64 {
        match self.0.weight_dependence {
            WeightDependence::Additive => 1.0,
            WeightDependence::Multiplicative => w - self.0.w_min,
        }
    }
}

impl PairUpdate for WeightChange<'_> {
    #[inline]
    fn depress(&mut self, weights: &mut [f64], k: usize, post_trace: f64) {
        let w = weights[k];
        let dw = self.0.a_minus * post_trace * self.f_minus(w);
        weights[k] = (w - dw).clamp(self.0.w_min, self.0.w_max);
    }

    #[inline]
    fn potentiate(&mut self, weights: &mut [f64], k: usize, pre_trace: f64) {
        let w = weights[k];
        let dw = self.0.a_plus * pre_trace * self.f_plus(w);
        weights[k] = (w + dw).clamp(self.0.w_min, self.0.w_max);
    }
}

impl LearningRule for Stdp {
    type Config = StdpParams;

    fn new(config: StdpParams, shape: &Shape) -> Result<Self, String> {
        config.validate()?;
        let traces = PairTraces::new("stdp", config.tau_plus_ms, config.tau_minus_ms, shape)?;
        Ok(Stdp {
            params: config,
            traces,
        })
    }

    fn on_step(&mut self, ctx: &mut RuleContext<'_>) -> Result<(), String> {
        self.traces.step(ctx, &mut WeightChange(&self.params))
    }

    fn resize(&mut self, _remap: &Remap<'_>) -> Result<(), String> {
        // No per-synapse state besides the index, which is rebuilt on the next step.
        self.traces.invalidate();
        Ok(())
    }

    /// A synapse changes from its weight and its neurons' traces only (the host's, split
    /// with the projection), so a block trains as the whole does.
    const BLOCKWISE: bool = true;

    /// No state of its own: every part is empty.
    fn save_parts(&self) -> Result<StateParts, String> {
        Ok(StateParts::default())
    }

    fn load_parts(&mut self, parts: &StateParts) -> Result<(), String> {
        if *parts != StateParts::default() {
            return Err("stdp: keeps no state, but was given some".into());
        }
        self.traces.invalidate();
        Ok(())
    }
}

/// The exported entry point `snnsim_plugin_entry` (a `#[no_mangle]` function, exported from
/// the cdylib although the module is private).
mod entry {
    snnsim_plugin_api::export_rule!(super::Stdp, "stdp");
}

#[cfg(test)]
mod tests {
    use super::*;
    use snnsim_plugin_api::parse_config;
    use snnsim_plugin_api::testing::RuleHarness;

    /// One pre (0) → post (0) synapse of weight `w0`, a pre spike at step `s_pre` and a post
    /// spike at step `s_post`; returns the weight change.
    fn pair_dw(params: &str, dt: f64, w0: f64, s_pre: u64, s_post: u64) -> f64 {
        let mut h = RuleHarness::<Stdp>::all_to_all(1, 1, w0, dt, params).unwrap();
        for s in 0..=s_pre.max(s_post) + 3 {
            let pre: &[u32] = if s == s_pre { &[0] } else { &[] };
            let post: &[u32] = if s == s_post { &[0] } else { &[] };
            h.step(pre, post).unwrap();
        }
        h.weight(0, 0).unwrap() - w0
    }

    /// The discrete-time window: Δt = (s_post − s_pre)·dt, a whole multiple of dt.
    fn window(p: &StdpParams, dt_ms: f64) -> f64 {
        if dt_ms >= 0.0 {
            p.a_plus * (-dt_ms / p.tau_plus_ms).exp()
        } else {
            -p.a_minus * (dt_ms / p.tau_minus_ms).exp()
        }
    }

    #[test]
    fn defaults_are_documented_values() {
        let p: StdpParams = parse_config("").unwrap();
        assert_eq!(p, StdpParams::default());
        assert_eq!(p.tau_plus_ms, 20.0);
        assert_eq!(p.tau_minus_ms, 20.0);
        assert_eq!(p.a_plus, 0.01);
        assert_eq!(p.a_minus, 0.012);
        assert_eq!((p.w_min, p.w_max), (0.0, 1.0));
        assert_eq!(p.weight_dependence, WeightDependence::Additive);
    }

    #[test]
    fn additive_pair_follows_the_analytic_window() {
        // Distinct time constants, so a swapped τ would show.
        let params = "(tau_plus_ms: 16.8, tau_minus_ms: 33.7, a_plus: 0.01, a_minus: 0.012)";
        let p: StdpParams = parse_config(params).unwrap();
        for dt in [1.0, 0.25] {
            let n = (40.0 / dt) as i64;
            for d in -n..=n {
                let (s_pre, s_post) = if d >= 0 {
                    (5, 5 + d as u64)
                } else {
                    (5 + (-d) as u64, 5)
                };
                let delta_t = d as f64 * dt;
                let dw = pair_dw(params, dt, 0.5, s_pre, s_post);
                let expected = window(&p, delta_t);
                assert!(
                    (dw - expected).abs() < 1e-12,
                    "dt {dt} ms, Δt {delta_t} ms: Δw {dw}, window {expected}"
                );
            }
        }
    }

    #[test]
    fn simultaneous_spikes_potentiate_only() {
        // Δt = 0: +A₊, no depression from the same pair.
        let dw = pair_dw("()", 1.0, 0.5, 7, 7);
        assert!((dw - 0.01).abs() < 1e-15, "Δw {dw}");
        // A post spike 5 ms earlier depresses; the simultaneous pair then adds A₊.
        let mut h = RuleHarness::<Stdp>::all_to_all(1, 1, 0.5, 1.0, "()").unwrap();
        h.step(&[], &[0]).unwrap();
        for _ in 0..4 {
            h.step(&[], &[]).unwrap();
        }
        h.step(&[0], &[0]).unwrap();
        let expected = 0.5 - 0.012 * (-5.0f64 / 20.0).exp() + 0.01;
        assert!((h.weight(0, 0).unwrap() - expected).abs() < 1e-15);
        // Both traces now include the step's spikes.
        assert_eq!(h.pre_trace[0], 1.0);
        assert!((h.post_trace[0] - (1.0 + (-5.0f64 / 20.0).exp())).abs() < 1e-15);
    }

    #[test]
    fn multiplicative_dependence_scales_the_window() {
        let params = "(w_min: 0.1, w_max: 0.9, weight_dependence: Multiplicative)";
        let p: StdpParams = parse_config(params).unwrap();
        for w0 in [0.2, 0.5, 0.8] {
            for d in [-30i64, -7, -1, 0, 1, 7, 30] {
                let (s_pre, s_post) = if d >= 0 {
                    (2, 2 + d as u64)
                } else {
                    (2 + (-d) as u64, 2)
                };
                let dw = pair_dw(params, 1.0, w0, s_pre, s_post);
                let scale = if d >= 0 { p.w_max - w0 } else { w0 - p.w_min };
                let expected = window(&p, d as f64) * scale;
                assert!(
                    (dw - expected).abs() < 1e-12,
                    "w0 {w0}, Δt {d}: {dw} vs {expected}"
                );
            }
        }
    }

    #[test]
    fn weights_are_clipped() {
        // Additive: one Δt = 0 pair of A₊ = 0.5 from 0.9 would reach 1.4.
        let dw = pair_dw("(a_plus: 0.5)", 1.0, 0.9, 3, 3);
        assert_eq!(0.9 + dw, 1.0);
        // Additive depression below w_min.
        let dw = pair_dw("(a_minus: 2.0, w_min: 0.2)", 1.0, 0.5, 4, 3);
        assert_eq!(0.5 + dw, 0.2);
        // Multiplicative with A·trace > 1 would overshoot w_max without the clip.
        let mut h = RuleHarness::<Stdp>::all_to_all(
            1,
            1,
            0.5,
            1.0,
            "(a_plus: 0.6, weight_dependence: Multiplicative)",
        )
        .unwrap();
        for _ in 0..5 {
            h.step(&[0], &[]).unwrap();
        }
        h.step(&[], &[0]).unwrap();
        assert_eq!(h.weight(0, 0), Some(1.0));
        // Many weights, many random-ish spikes: every weight stays in bounds.
        let mut h =
            RuleHarness::<Stdp>::all_to_all(6, 5, 0.5, 1.0, "(a_plus: 0.3, a_minus: 0.3)").unwrap();
        for s in 0..200u32 {
            let pre: Vec<u32> = (0..6).filter(|i| (s * 7 + i * 3) % 5 == 0).collect();
            let post: Vec<u32> = (0..5).filter(|j| (s * 11 + j) % 4 == 0).collect();
            h.step(&pre, &post).unwrap();
            assert!(h.weights.iter().all(|&w| (0.0..=1.0).contains(&w)));
        }
        assert!(h.weights.contains(&0.0) || h.weights.contains(&1.0));
    }

    #[test]
    fn traces_hold_only_the_spikes_seen() {
        let (tp, tm) = (10.0f64, 30.0f64);
        let params = format!("(tau_plus_ms: {tp}, tau_minus_ms: {tm})");
        let mut h = RuleHarness::<Stdp>::all_to_all(3, 2, 0.5, 1.0, &params).unwrap();
        let pre_at = |s: u32| -> Vec<u32> {
            match s {
                0 | 5 => vec![0],
                3 => vec![2],
                _ => vec![],
            }
        };
        for s in 0..=10u32 {
            let post: Vec<u32> = if s == 4 { vec![1] } else { vec![] };
            h.step(&pre_at(s), &post).unwrap();
        }
        let x = |n: f64| (-n / tp).exp();
        let y = |n: f64| (-n / tm).exp();
        assert!((h.pre_trace[0] - (x(10.0) + x(5.0))).abs() < 1e-15);
        assert_eq!(h.pre_trace[1], 0.0);
        assert!((h.pre_trace[2] - x(7.0)).abs() < 1e-15);
        assert_eq!(h.post_trace[0], 0.0);
        assert!((h.post_trace[1] - y(6.0)).abs() < 1e-15);
        // Only synapses onto post 1 were potentiated; only pre 0's row was depressed (by the
        // post spike at step 4, seen at step 5), and pre 1's row never changed.
        assert_eq!(h.weight(1, 0), Some(0.5));
        assert_eq!(h.weight(1, 1), Some(0.5));
        assert_eq!(h.weight(0, 0), Some(0.5));
        assert_eq!(h.weight(2, 0), Some(0.5));
        let w01 = 0.5 + 0.01 * x(4.0) - 0.012 * y(1.0);
        assert!((h.weight(0, 1).unwrap() - w01).abs() < 1e-15);
        assert!((h.weight(2, 1).unwrap() - (0.5 + 0.01 * x(1.0))).abs() < 1e-15);
    }

    #[test]
    fn sparse_structure_and_rebuilt_index() {
        // 3 pre, 3 post; synapses 0→1, 0→2, 1→0, 2→1 (CSR by pre).
        let mut h = RuleHarness::<Stdp>::new(
            3,
            3,
            vec![0, 2, 3, 4],
            vec![1, 2, 0, 1],
            vec![0.5; 4],
            1.0,
            "(a_plus: 0.25)",
        )
        .unwrap();
        h.step(&[0, 1, 2], &[1]).unwrap();
        // Post 1 receives 0→1 (k = 0) and 2→1 (k = 3).
        assert_eq!(h.weights, vec![0.75, 0.5, 0.5, 0.75]);

        // A structural edit: drop synapse 0→2, add 1→2. The host resizes its traces and
        // tells the rule; the index must follow.
        h.indptr = vec![0, 1, 3, 4];
        h.indices = vec![1, 0, 2, 1];
        h.weights = vec![0.75, 0.5, 0.5, 0.75];
        let syn = [0, 2, abi_new(), 3];
        h.resize(&Remap {
            pre: &[0, 1, 2],
            post: &[0, 1, 2],
            synapses: &syn,
        })
        .unwrap();
        h.pre_trace = vec![0.0; 3];
        h.post_trace = vec![0.0; 3];
        h.step(&[1], &[2]).unwrap();
        assert_eq!(h.weights, vec![0.75, 0.5, 0.75, 0.75]);

        // A change of the synapse count is noticed without `resize`: drop 2→1.
        h.indptr = vec![0, 1, 3, 3];
        h.indices = vec![1, 0, 2];
        h.weights = vec![0.5; 3];
        h.pre_trace = vec![0.0; 3];
        h.post_trace = vec![0.0; 3];
        h.step(&[0, 2], &[1]).unwrap();
        assert_eq!(h.weights, vec![0.75, 0.5, 0.5]);
    }

    fn abi_new() -> u64 {
        snnsim_plugin_api::abi::NEW
    }

    #[test]
    fn bad_context_is_an_error_not_a_panic() {
        let mut h = RuleHarness::<Stdp>::all_to_all(2, 2, 0.5, 1.0, "()").unwrap();
        let e = h.step(&[2], &[]).unwrap_err();
        assert!(e.contains("presynaptic spike of neuron 2"), "{e}");
        let e = h.step(&[], &[5]).unwrap_err();
        assert!(e.contains("postsynaptic spike of neuron 5"), "{e}");
        h.pre_trace.clear();
        let e = h.step(&[], &[]).unwrap_err();
        assert!(e.contains("needs host traces"), "{e}");
    }

    #[test]
    fn config_errors_name_the_field() {
        let e = parse_config::<StdpParams>("(tau_plus_ms: \"fast\")").unwrap_err();
        assert!(e.starts_with("params.tau_plus_ms:"), "{e}");
        let e = parse_config::<StdpParams>("(weight_dependence: Quadratic)").unwrap_err();
        assert!(e.starts_with("params.weight_dependence:"), "{e}");
        let e = parse_config::<StdpParams>("(tau_plus: 10.0)").unwrap_err();
        assert!(e.contains("tau_plus"), "{e}");
        let bad = |params: &str| {
            RuleHarness::<Stdp>::all_to_all(1, 1, 0.5, 1.0, params)
                .map(|_| ())
                .unwrap_err()
        };
        assert!(bad("(tau_minus_ms: -1.0)").starts_with("params.tau_minus_ms:"));
        assert!(bad("(a_plus: -0.1)").starts_with("params.a_plus:"));
        assert!(bad("(w_min: 1.0, w_max: 0.5)").starts_with("params.w_max:"));
    }
}
