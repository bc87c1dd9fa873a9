//! Reward-modulated STDP with per-synapse eligibility traces: the `rstdp` learning-rule plugin
//! of snnsim.
//!
//! # The rule
//!
//! Spike pairs do not change weights directly; they are written into an eligibility trace
//! `e_k` per synapse, and a reward turns eligibility into a weight change (Izhikevich 2007;
//! the "three-factor rule" of Frémaux & Gerstner 2016):
//!
//! ```text
//! de_k/dt = −e_k/τ_e + STDP(pre, post)_k
//! on a reward r:  w_k ← clip(w_k + η·r·e_k)
//! ```
//!
//! At each step of length `dt`, in this order:
//!
//! 1. The host's traces decay, `x_i ← x_i·exp(−dt/τ₊)`, `y_j ← y_j·exp(−dt/τ₋)`, and so does
//!    every eligibility, `e_k ← e_k·exp(−dt/τ_e)`.
//! 2. For each presynaptic spike `i` (ascending), every synapse `k = (i → j)` of row `i` gets
//!    `e_k ← e_k − A₋·y_j`; then `x_i ← x_i + 1`.
//! 3. For each postsynaptic spike `j` (ascending), every synapse `k = (i → j)` gets
//!    `e_k ← e_k + A₊·x_i`; then `y_j ← y_j + 1`.
//!
//! This is the additive pair-based STDP of the `stdp` plugin with the weight replaced by the
//! eligibility: one pre spike at step `s_pre` and one post spike at `s_post`, with
//! `Δt = (s_post − s_pre)·dt`, leave `e = A₊·exp(−Δt/τ₊)` (`Δt ≥ 0`) or `e = −A₋·exp(Δt/τ₋)`
//! (`Δt < 0`) at the later spike, decaying by `exp(−dt/τ_e)` per step from then on.
//! Simultaneous spikes (`Δt = 0`) count as causal (`+A₊`), as in `stdp`.
//!
//! [`LearningRule::on_reward`]`(r)` applies `w_k ← clip(w_k + η·r·e_k)` to every synapse with
//! non-zero eligibility (`clip` to `[w_min, w_max]`; a synapse with `e_k = 0` is left exactly
//! as it is). Eligibility is not consumed by a reward: it keeps decaying, so a pairing is
//! credited by every reward within a few `τ_e`. At the end of an episode the eligibility is
//! cleared (unless `reset_eligibility_at_episode_end` is false), so credit does not leak into
//! the next episode.
//!
//! # Parameters
//!
//! [`RstdpParams`], from the RON `params` of the graph file; every field has a default and
//! unknown fields are errors. The defaults: `τ_e` = 1000 ms, Izhikevich's (2007) eligibility
//! time constant, long enough to bridge the delay between a decision's spikes and a reward that
//! arrives up to a second later. `A₊ = A₋ = 1` make the eligibility a count of (weighted) pairs
//! and balance the window, so uncorrelated firing leaves zero eligibility on average and a
//! reward with a non-zero mean does not drift the weights on its own (the bias problem that
//! Frémaux, Sprekeler & Gerstner 2010 discuss); `η` = 0.01 then gives the per-pair amplitude
//! of the `stdp` defaults per unit reward.
//!
//! # State and cost
//!
//! The eligibility is stored as `e_k = s·ẽ_k`: the decay multiplies the one scale `s`, a pair
//! adds `δ/s` to `ẽ_k`, and `ẽ` is folded back (`ẽ ← s·ẽ`, `s ← 1`) only when `s` drops below
//! 1e-100 (every ~230 s of simulated time at `τ_e` = 1 s). So a step costs the trace decay
//! `O(n_pre + n_post)` plus the rows and columns of the step's spikes, never `O(synapses)`;
//! a reward costs `O(synapses)`. The synapses onto a postsynaptic neuron are found through a
//! post → synapse index, built on the first step and rebuilt after a structural edit. The
//! traces, the index and the pairing order are the SDK's `pair_traces`, shared with `stdp`;
//! this crate supplies what a pair does to an eligibility.
//!
//! Per-synapse state follows structural edits: [`LearningRule::resize`] maps it with
//! [`Remap::apply`] (a new synapse starts with zero eligibility). It is checkpointed by
//! [`LearningRule::save`] in a little-endian byte format (see [`Rstdp::to_bytes`]).
//!
//! # References
//!
//! - E. M. Izhikevich (2007). Solving the distal reward problem through linkage of STDP and
//!   dopamine signaling. *Cerebral Cortex* 17, 2443–2452.
//! - N. Frémaux, W. Gerstner (2016). Neuromodulated spike-timing-dependent plasticity, and
//!   theory of three-factor learning rules. *Frontiers in Neural Circuits* 9, 85.
//! - N. Frémaux, H. Sprekeler, W. Gerstner (2010). Functional requirements for
//!   reward-modulated spike-timing-dependent plasticity. *J. Neuroscience* 30, 13326–13337.
//! - S. Song, K. D. Miller, L. F. Abbott (2000). Competitive Hebbian learning through
//!   spike-timing-dependent synaptic plasticity. *Nature Neuroscience* 3, 919–926.

#![warn(missing_docs)]

use serde::Deserialize;
use snnsim_plugin_api::pair_traces::{PairTraces, PairUpdate};
use snnsim_plugin_api::{LearningRule, Remap, RuleContext, Shape, StateParts};

/// Parameters of the `rstdp` rule.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RstdpParams {
    /// Time constant of the presynaptic trace (potentiation window) τ₊ (ms). Default 20.
    pub tau_plus_ms: f64,
    /// Time constant of the postsynaptic trace (depression window) τ₋ (ms). Default 20.
    pub tau_minus_ms: f64,
    /// Time constant of the eligibility trace τ_e (ms). Default 1000.
    pub tau_e_ms: f64,
    /// Eligibility added per causal pair at Δt = 0, A₊. Default 1.
    pub a_plus: f64,
    /// Eligibility removed per acausal pair at Δt → 0⁻, A₋. Default 1 (a balanced window).
    pub a_minus: f64,
    /// Learning rate η: weight change per unit reward per unit eligibility. Default 0.01.
    pub learning_rate: f64,
    /// Lower weight bound. Default 0.
    pub w_min: f64,
    /// Upper weight bound. Default 1.
    pub w_max: f64,
    /// Clear the eligibility at the end of every episode. Default true.
    pub reset_eligibility_at_episode_end: bool,
}

impl Default for RstdpParams {
    fn default() -> Self {
        RstdpParams {
            tau_plus_ms: 20.0,
            tau_minus_ms: 20.0,
            tau_e_ms: 1000.0,
            a_plus: 1.0,
            a_minus: 1.0,
            learning_rate: 0.01,
            w_min: 0.0,
            w_max: 1.0,
            reset_eligibility_at_episode_end: true,
        }
    }
}

impl RstdpParams {
    /// Checks the values serde cannot: time constants positive, amplitudes and learning rate
    /// non-negative, bounds finite and ordered. An error names the field.
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [
            ("tau_plus_ms", self.tau_plus_ms),
            ("tau_minus_ms", self.tau_minus_ms),
            ("tau_e_ms", self.tau_e_ms),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(format!(
                    "params.{name}: must be positive and finite, got {v}"
                ));
            }
        }
        for (name, v) in [
            ("a_plus", self.a_plus),
            ("a_minus", self.a_minus),
            ("learning_rate", self.learning_rate),
        ] {
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

/// Below this the eligibility scale is folded into the stored values.
const RENORMALISE_BELOW: f64 = 1e-100;
/// First bytes of [`Rstdp::to_bytes`].
const MAGIC: [u8; 8] = *b"snnRSTDP";
/// Version of the byte format.
const FORMAT_VERSION: u32 = 1;

/// The `rstdp` rule: one instance per trained projection.
#[derive(Debug, Clone)]
pub struct Rstdp {
    params: RstdpParams,
    traces: PairTraces,
    /// Scaled eligibility ẽ (one per synapse): `e_k = scale·ẽ_k`.
    scaled: Vec<f64>,
    /// The common decay factor `s`.
    scale: f64,
}

impl Rstdp {
    /// The parameters in force.
    pub fn params(&self) -> &RstdpParams {
        &self.params
    }

    /// The eligibility `e_k` of synapse `k` (CSR order).
    pub fn eligibility(&self, k: usize) -> f64 {
        self.scale * self.scaled[k]
    }

    /// The eligibility of every synapse (CSR order).
    pub fn eligibilities(&self) -> Vec<f64> {
        self.scaled.iter().map(|&e| self.scale * e).collect()
    }

    /// The number of synapses the rule's state describes.
    pub fn len(&self) -> usize {
        self.scaled.len()
    }

    /// Whether the rule's state describes no synapse.
    pub fn is_empty(&self) -> bool {
        self.scaled.is_empty()
    }

    /// The state as bytes, all little-endian: the magic `snnRSTDP` (8 bytes), the format
    /// version (`u32`, 1), the number of synapses `n` (`u64`), the eligibility scale `s`
    /// (`f64`), then `n` scaled eligibilities `ẽ_k` (`f64`), so `e_k = s·ẽ_k`. Saving the
    /// scale keeps a restored run bit-identical to an uninterrupted one.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(28 + 8 * self.scaled.len());
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(self.scaled.len() as u64).to_le_bytes());
        out.extend_from_slice(&self.scale.to_le_bytes());
        for e in &self.scaled {
            out.extend_from_slice(&e.to_le_bytes());
        }
        out
    }

    /// Restores state written by [`Rstdp::to_bytes`]. The synapse count must match the
    /// instance's.
    pub fn from_bytes(&mut self, bytes: &[u8]) -> Result<(), String> {
        let fail = |what: &str| Err(format!("rstdp: cannot load state: {what}"));
        if bytes.len() < 28 || bytes[..8] != MAGIC {
            return fail("not an rstdp state (bad magic or too short)");
        }
        let version = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
        if version != FORMAT_VERSION {
            return fail(&format!(
                "format version {version}, expected {FORMAT_VERSION}"
            ));
        }
        let n = u64::from_le_bytes(bytes[12..20].try_into().unwrap());
        if n != self.scaled.len() as u64 {
            return fail(&format!(
                "it has {n} synapses, the projection has {}",
                self.scaled.len()
            ));
        }
        if bytes.len() as u64 != 28 + 8 * n {
            return fail(&format!(
                "{} bytes for {n} synapses, expected {}",
                bytes.len(),
                28 + 8 * n
            ));
        }
        let scale = f64::from_le_bytes(bytes[20..28].try_into().unwrap());
        if !(scale.is_finite() && scale > 0.0) {
            return fail(&format!("eligibility scale {scale}"));
        }
        let scaled: Vec<f64> = bytes[28..]
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
            .collect();
        if let Some(k) = scaled.iter().position(|e| !e.is_finite()) {
            return fail(&format!("eligibility of synapse {k} is not finite"));
        }
        self.scale = scale;
        self.scaled = scaled;
        Ok(())
    }

    /// Checks that the context fits the projection the state describes (the synapse count,
    /// then the traces and spike lists).
    fn check_context(&self, ctx: &RuleContext<'_>) -> Result<(), String> {
        if ctx.weights.len() != self.scaled.len() {
            return Err(format!(
                "rstdp: the projection has {} synapses but the rule's state has {}; a \
                 structural edit must be announced with resize",
                ctx.weights.len(),
                self.scaled.len()
            ));
        }
        self.traces.check(ctx)
    }
}

/// A pair changes the scaled eligibility ẽ by ∓A/s (the weights are left alone).
struct EligibilityChange<'a> {
    scaled: &'a mut [f64],
    /// A₊/s.
    a_plus: f64,
    /// A₋/s.
    a_minus: f64,
}

impl PairUpdate for EligibilityChange<'_> {
    #[inline]
    fn depress(&mut self, _weights: &mut [f64], k: usize, post_trace: f64) {
        self.scaled[k] -= self.a_minus * post_trace;
    }

    #[inline]
    fn potentiate(&mut self, _weights: &mut [f64], k: usize, pre_trace: f64) {
        self.scaled[k] += self.a_plus * pre_trace;
    }
}

impl LearningRule for Rstdp {
    type Config = RstdpParams;

    fn new(config: RstdpParams, shape: &Shape) -> Result<Self, String> {
        config.validate()?;
        let traces = PairTraces::new("rstdp", config.tau_plus_ms, config.tau_minus_ms, shape)?;
        Ok(Rstdp {
            params: config,
            traces,
            scaled: vec![0.0; shape.nnz],
            scale: 1.0,
        })
    }

    fn on_step(&mut self, ctx: &mut RuleContext<'_>) -> Result<(), String> {
        self.check_context(ctx)?;
        let p = &self.params;
        self.scale *= (-ctx.dt_ms / p.tau_e_ms).exp();
        if self.scale < RENORMALISE_BELOW {
            let s = self.scale;
            self.scaled.iter_mut().for_each(|e| *e *= s);
            self.scale = 1.0;
        }
        let inv_scale = 1.0 / self.scale;
        let mut update = EligibilityChange {
            scaled: &mut self.scaled,
            a_plus: p.a_plus * inv_scale,
            a_minus: p.a_minus * inv_scale,
        };
        self.traces.step(ctx, &mut update)
    }

    fn on_reward(&mut self, reward: f64, ctx: &mut RuleContext<'_>) -> Result<(), String> {
        if !reward.is_finite() {
            return Err(format!("rstdp: reward {reward} is not finite"));
        }
        if ctx.weights.len() != self.scaled.len() {
            return Err(format!(
                "rstdp: the projection has {} synapses but the rule's state has {}; a \
                 structural edit must be announced with resize",
                ctx.weights.len(),
                self.scaled.len()
            ));
        }
        let gain = self.params.learning_rate * reward * self.scale;
        if gain == 0.0 {
            return Ok(());
        }
        let (lo, hi) = (self.params.w_min, self.params.w_max);
        for (w, &e) in ctx.weights.iter_mut().zip(&self.scaled) {
            if e != 0.0 {
                *w = (*w + gain * e).clamp(lo, hi);
            }
        }
        Ok(())
    }

    fn on_episode_end(&mut self) -> Result<(), String> {
        if self.params.reset_eligibility_at_episode_end {
            self.scaled.iter_mut().for_each(|e| *e = 0.0);
            self.scale = 1.0;
        }
        Ok(())
    }

    fn resize(&mut self, remap: &Remap<'_>) -> Result<(), String> {
        if let Some(&old) = remap
            .synapses
            .iter()
            .find(|&&m| m != snnsim_plugin_api::abi::NEW && m as usize >= self.scaled.len())
        {
            return Err(format!(
                "rstdp: resize maps to old synapse {old}, but there were {}",
                self.scaled.len()
            ));
        }
        self.scaled = Remap::apply(remap.synapses, &self.scaled, 0.0);
        self.traces.invalidate();
        Ok(())
    }

    fn save(&self) -> Result<Vec<u8>, String> {
        Ok(self.to_bytes())
    }

    fn load(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.from_bytes(bytes)
    }

    /// Pairs and rewards change a synapse's eligibility and weight from its neurons' traces,
    /// the reward and the scale `s`, which decays alike on every block (a fold at 1e-100
    /// happens at the same step everywhere and is per synapse).
    const BLOCKWISE: bool = true;

    /// `shared`: the scale `s` (`f64`, little-endian); `per_synapse`: each `ẽ_k` (`f64`).
    fn save_parts(&self) -> Result<StateParts, String> {
        Ok(StateParts {
            shared: self.scale.to_le_bytes().to_vec(),
            per_synapse: self.scaled.iter().flat_map(|e| e.to_le_bytes()).collect(),
            ..StateParts::default()
        })
    }

    fn load_parts(&mut self, parts: &StateParts) -> Result<(), String> {
        let n = self.scaled.len();
        if parts.shared.len() != 8
            || parts.per_synapse.len() != 8 * n
            || !parts.per_pre.is_empty()
            || !parts.per_post.is_empty()
        {
            return Err(format!(
                "rstdp: cannot load state parts: {} shared bytes and {} per synapse for {n} synapses (expected 8 and {})",
                parts.shared.len(),
                parts.per_synapse.len(),
                8 * n
            ));
        }
        // The byte format of `load`, so that its checks apply.
        let mut bytes = Vec::with_capacity(28 + 8 * n);
        bytes.extend_from_slice(&MAGIC);
        bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        bytes.extend_from_slice(&(n as u64).to_le_bytes());
        bytes.extend_from_slice(&parts.shared);
        bytes.extend_from_slice(&parts.per_synapse);
        self.from_bytes(&bytes)?;
        self.traces.invalidate();
        Ok(())
    }
}

/// The exported entry point `snnsim_plugin_entry` (a `#[no_mangle]` function, exported from
/// the cdylib although the module is private).
mod entry {
    snnsim_plugin_api::export_rule!(super::Rstdp, "rstdp");
}

#[cfg(test)]
mod tests {
    use super::*;
    use snnsim_plugin_api::abi::NEW;
    use snnsim_plugin_api::parse_config;
    use snnsim_plugin_api::testing::RuleHarness;

    fn quiet(h: &mut RuleHarness<Rstdp>, steps: usize) {
        for _ in 0..steps {
            h.step(&[], &[]).unwrap();
        }
    }

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300)
    }

    #[test]
    fn defaults_are_documented_values() {
        let p: RstdpParams = parse_config("").unwrap();
        assert_eq!(p, RstdpParams::default());
        assert_eq!(
            (p.tau_plus_ms, p.tau_minus_ms, p.tau_e_ms),
            (20.0, 20.0, 1000.0)
        );
        assert_eq!((p.a_plus, p.a_minus, p.learning_rate), (1.0, 1.0, 0.01));
        assert_eq!((p.w_min, p.w_max), (0.0, 1.0));
        assert!(p.reset_eligibility_at_episode_end);
    }

    #[test]
    fn no_reward_no_weight_change() {
        let mut h = RuleHarness::<Rstdp>::all_to_all(4, 3, 0.5, 1.0, "()").unwrap();
        for s in 0..300u32 {
            let pre: Vec<u32> = (0..4).filter(|i| (s + 3 * i) % 7 == 0).collect();
            let post: Vec<u32> = (0..3).filter(|j| (s + 5 * j) % 4 == 0).collect();
            h.step(&pre, &post).unwrap();
        }
        assert!(h.weights.iter().all(|&w| w == 0.5));
        assert!(h.rule.eligibilities().iter().any(|&e| e != 0.0));
        // A zero reward changes nothing either.
        h.reward(0.0).unwrap();
        assert!(h.weights.iter().all(|&w| w == 0.5));
    }

    #[test]
    fn reward_after_a_causal_pair() {
        let params =
            "(tau_plus_ms: 17.0, tau_minus_ms: 34.0, tau_e_ms: 500.0, learning_rate: 0.05)";
        let mut h = RuleHarness::<Rstdp>::all_to_all(1, 1, 0.5, 1.0, params).unwrap();
        quiet(&mut h, 2);
        h.step(&[0], &[]).unwrap(); // t_pre
        quiet(&mut h, 5);
        h.step(&[], &[0]).unwrap(); // t_post = t_pre + 6 ms
        quiet(&mut h, 10);
        let e = h.rule.eligibility(0);
        let expected_e = (-6.0f64 / 17.0).exp() * (-10.0f64 / 500.0).exp();
        assert!(close(e, expected_e, 1e-12), "e {e} vs {expected_e}");
        let r = 0.8;
        h.reward(r).unwrap();
        let dw = h.weight(0, 0).unwrap() - 0.5;
        assert!(
            close(dw, 0.05 * r * e, 1e-12),
            "Δw {dw} vs {}",
            0.05 * r * e
        );
        // Eligibility is not consumed: a second reward applies it again.
        h.reward(-r).unwrap();
        assert!((h.weight(0, 0).unwrap() - 0.5).abs() < 1e-15);
        // An acausal pair gives negative eligibility, with τ₋.
        let mut h = RuleHarness::<Rstdp>::all_to_all(1, 1, 0.5, 1.0, params).unwrap();
        h.step(&[], &[0]).unwrap();
        quiet(&mut h, 8);
        h.step(&[0], &[]).unwrap();
        assert!(close(h.rule.eligibility(0), -(-9.0f64 / 34.0).exp(), 1e-12));
        // Simultaneous spikes count as causal: +A₊.
        let mut h = RuleHarness::<Rstdp>::all_to_all(1, 1, 0.5, 1.0, params).unwrap();
        h.step(&[0], &[0]).unwrap();
        assert_eq!(h.rule.eligibility(0), 1.0);
    }

    #[test]
    fn reward_is_clipped_and_skips_ineligible_synapses() {
        // Pre 0 → post 0 is eligible; pre 1 never spikes; a weight out of bounds with no
        // eligibility is left alone.
        let mut h =
            RuleHarness::<Rstdp>::all_to_all(2, 1, 0.5, 1.0, "(learning_rate: 1.0)").unwrap();
        h.weights[1] = 1.5;
        h.step(&[0], &[0]).unwrap();
        h.reward(10.0).unwrap();
        assert_eq!(h.weights, vec![1.0, 1.5]);
        h.reward(-100.0).unwrap();
        assert_eq!(h.weights, vec![0.0, 1.5]);
    }

    #[test]
    fn eligibility_decays_exponentially() {
        let mut h = RuleHarness::<Rstdp>::all_to_all(1, 2, 0.5, 0.5, "(tau_e_ms: 250.0)").unwrap();
        h.step(&[0], &[0, 1]).unwrap();
        let e0 = h.rule.eligibility(0);
        assert_eq!(e0, 1.0);
        for n in 1..=4000u32 {
            h.step(&[], &[]).unwrap();
            let t_ms = 0.5 * n as f64;
            let expected = (-t_ms / 250.0).exp();
            assert!(close(h.rule.eligibility(0), expected, 1e-12), "t {t_ms}");
            assert_eq!(h.rule.eligibility(1), h.rule.eligibility(0));
        }
        // 2 s at τ_e = 250 ms: e^−8. Far enough to pass a renormalisation at a short τ_e:
        let mut h = RuleHarness::<Rstdp>::all_to_all(1, 1, 0.5, 1.0, "(tau_e_ms: 2.0)").unwrap();
        h.step(&[0], &[0]).unwrap();
        for n in 1..=600u32 {
            h.step(&[], &[]).unwrap();
            let expected = (-(n as f64) / 2.0).exp();
            assert!(close(h.rule.eligibility(0), expected, 1e-12), "n {n}");
        }
        // And pairs added after the renormalisation are exact.
        h.step(&[0], &[0]).unwrap();
        assert!(close(
            h.rule.eligibility(0),
            1.0 + (-601.0f64 / 2.0).exp(),
            1e-15
        ));
    }

    #[test]
    fn episode_end_clears_eligibility_unless_disabled() {
        let mut h = RuleHarness::<Rstdp>::all_to_all(1, 1, 0.5, 1.0, "()").unwrap();
        h.step(&[0], &[0]).unwrap();
        h.rule.on_episode_end().unwrap();
        assert_eq!(h.rule.eligibility(0), 0.0);
        let mut h = RuleHarness::<Rstdp>::all_to_all(
            1,
            1,
            0.5,
            1.0,
            "(reset_eligibility_at_episode_end: false)",
        )
        .unwrap();
        h.step(&[0], &[0]).unwrap();
        h.rule.on_episode_end().unwrap();
        assert_eq!(h.rule.eligibility(0), 1.0);
    }

    /// A 3 × 3 all-to-all projection with distinct eligibilities everywhere.
    fn busy_harness() -> RuleHarness<Rstdp> {
        let mut h = RuleHarness::<Rstdp>::all_to_all(3, 3, 0.5, 1.0, "()").unwrap();
        for s in 0..40u32 {
            let pre: Vec<u32> = (0..3).filter(|i| (s + 2 * i) % 5 == 0).collect();
            let post: Vec<u32> = (0..3).filter(|j| (s + j) % 3 == 1).collect();
            h.step(&pre, &post).unwrap();
        }
        h
    }

    #[test]
    fn resize_keeps_surviving_eligibility_exactly() {
        let mut h = busy_harness();
        let before = h.rule.eligibilities();
        assert!(before.iter().all(|&e| e != 0.0));
        // Remove post neuron 1 and add a new post neuron (index 2 after the edit); the old
        // post 2 becomes post 1. Old synapse i·3 + j.
        let post_map = [0, 2, NEW];
        let mut syn_map = Vec::new();
        for i in 0..3u64 {
            syn_map.extend([i * 3, i * 3 + 2, NEW]);
        }
        h.rule
            .resize(&Remap {
                pre: &[0, 1, 2],
                post: &post_map,
                synapses: &syn_map,
            })
            .unwrap();
        let after = h.rule.eligibilities();
        assert_eq!(after.len(), 9);
        for (k, &m) in syn_map.iter().enumerate() {
            if m == NEW {
                assert_eq!(after[k], 0.0);
            } else {
                assert_eq!(
                    after[k].to_bits(),
                    before[m as usize].to_bits(),
                    "synapse {k}"
                );
            }
        }
        // The edited projection keeps working, with the new column found by the index.
        h.post_trace = vec![h.post_trace[0], h.post_trace[2], 0.0];
        h.step(&[], &[2]).unwrap();
        for i in 0..3 {
            assert!(close(h.rule.eligibility(i * 3 + 2), h.pre_trace[i], 1e-12));
        }
        // Growth of pre neurons: a new row of fresh synapses.
        let mut syn_map: Vec<u64> = (0..9).collect();
        syn_map.extend([NEW; 3]);
        h.rule
            .resize(&Remap {
                pre: &[0, 1, 2, NEW],
                post: &[0, 1, 2],
                synapses: &syn_map,
            })
            .unwrap();
        assert_eq!(h.rule.len(), 12);
        assert_eq!(&h.rule.eligibilities()[9..], &[0.0; 3]);
        // A map pointing past the old state is an error, not a panic.
        let bad = [20u64];
        assert!(h
            .rule
            .resize(&Remap {
                pre: &[0],
                post: &[0],
                synapses: &bad,
            })
            .is_err());
    }

    #[test]
    fn unannounced_structural_change_is_an_error() {
        let mut h = busy_harness();
        h.indptr = vec![0, 2, 4, 6];
        h.indices = vec![0, 1, 0, 1, 0, 1];
        h.weights = vec![0.5; 6];
        let e = h.step(&[], &[]).unwrap_err();
        assert!(e.contains("resize"), "{e}");
        let e = h.reward(1.0).unwrap_err();
        assert!(e.contains("resize"), "{e}");
    }

    /// The parts (ABI 1.7) hold the state `save` holds: the scale shared, each synapse's
    /// scaled eligibility, nothing per neuron; loaded into a fresh instance they give `save`'s
    /// bytes back, and parts of another synapse count are refused.
    #[test]
    fn state_parts_round_trip() {
        let mut h = busy_harness();
        h.reward(0.2).unwrap();
        let parts = h.rule.save_parts().unwrap();
        assert_eq!(parts.shared, h.rule.scale.to_le_bytes());
        assert_eq!(parts.per_synapse.len(), 8 * 9);
        assert!(parts.per_pre.is_empty() && parts.per_post.is_empty());
        let mut g = RuleHarness::<Rstdp>::all_to_all(3, 3, 0.5, 1.0, "()").unwrap();
        g.rule.load_parts(&parts).unwrap();
        assert_eq!(g.rule.save().unwrap(), h.rule.save().unwrap());
        let mut small = RuleHarness::<Rstdp>::all_to_all(3, 2, 0.5, 1.0, "()").unwrap();
        let e = small.rule.load_parts(&parts).unwrap_err();
        assert!(e.contains("6 synapses"), "{e}");
    }

    #[test]
    fn save_load_round_trip() {
        let mut h = busy_harness();
        let bytes = h.rule.save().unwrap();
        assert_eq!(bytes.len(), 28 + 8 * 9);
        assert_eq!(&bytes[..8], b"snnRSTDP");
        let mut g = RuleHarness::<Rstdp>::all_to_all(3, 3, 0.5, 1.0, "()").unwrap();
        g.rule.load(&bytes).unwrap();
        g.pre_trace = h.pre_trace.clone();
        g.post_trace = h.post_trace.clone();
        g.weights = h.weights.clone();
        let bits = |v: Vec<f64>| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(g.rule.eligibilities()), bits(h.rule.eligibilities()));
        // The restored rule goes on exactly like the original.
        for s in 0..30u32 {
            let pre: Vec<u32> = (0..3).filter(|i| (s + i) % 4 == 0).collect();
            let post: Vec<u32> = (0..3).filter(|j| (s + 2 * j) % 3 == 0).collect();
            h.step(&pre, &post).unwrap();
            g.step(&pre, &post).unwrap();
            if s % 10 == 9 {
                h.reward(0.3).unwrap();
                g.reward(0.3).unwrap();
            }
        }
        assert_eq!(bits(g.rule.eligibilities()), bits(h.rule.eligibilities()));
        assert_eq!(bits(g.weights.clone()), bits(h.weights.clone()));
        assert_eq!(g.rule.save().unwrap(), h.rule.save().unwrap());

        // Corrupt or mismatched bytes are errors.
        assert!(g.rule.load(&bytes[..40]).unwrap_err().contains("expected"));
        assert!(g.rule.load(b"nonsense").unwrap_err().contains("bad magic"));
        let mut small = RuleHarness::<Rstdp>::all_to_all(2, 2, 0.5, 1.0, "()").unwrap();
        assert!(small.rule.load(&bytes).unwrap_err().contains("9 synapses"));
    }

    #[test]
    fn config_errors_name_the_field() {
        let e = parse_config::<RstdpParams>("(tau_e_ms: \"long\")").unwrap_err();
        assert!(e.starts_with("params.tau_e_ms:"), "{e}");
        let e = parse_config::<RstdpParams>("(lr: 0.1)").unwrap_err();
        assert!(e.contains("lr"), "{e}");
        let bad = |params: &str| {
            RuleHarness::<Rstdp>::all_to_all(1, 1, 0.5, 1.0, params)
                .map(|_| ())
                .unwrap_err()
        };
        assert!(bad("(tau_e_ms: 0.0)").starts_with("params.tau_e_ms:"));
        assert!(bad("(learning_rate: -1.0)").starts_with("params.learning_rate:"));
        assert!(bad("(w_min: 2.0)").starts_with("params.w_max:"));
    }
}
