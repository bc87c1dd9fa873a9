//! Drive a rule or an environment without the engine: the harness owns a projection's CSR
//! weights and traces (or an environment instance) and calls the plugin's trait methods
//! exactly as the host does, with parameters parsed from RON text the same way.

use crate::{
    parse_config, Environment, LearningRule, Remap, RuleContext, Shape, Spaces, Transition,
};

/// A projection and a rule instance training it.
#[derive(Debug)]
pub struct RuleHarness<R: LearningRule> {
    /// The rule.
    pub rule: R,
    /// Presynaptic neurons.
    pub n_pre: usize,
    /// Postsynaptic neurons.
    pub n_post: usize,
    /// Row offsets.
    pub indptr: Vec<usize>,
    /// Post index per synapse.
    pub indices: Vec<u32>,
    /// Weight per synapse.
    pub weights: Vec<f64>,
    /// Presynaptic trace.
    pub pre_trace: Vec<f64>,
    /// Postsynaptic trace.
    pub post_trace: Vec<f64>,
    /// Postsynaptic membrane values handed to the rule.
    pub post_v: Vec<f64>,
    /// Step counter.
    pub step: u64,
    /// Time step (ms).
    pub dt_ms: f64,
}

impl<R: LearningRule> RuleHarness<R> {
    /// An all-to-all projection `n_pre × n_post` with every weight `w`, and the rule built from
    /// `params` (RON text).
    pub fn all_to_all(
        n_pre: usize,
        n_post: usize,
        w: f64,
        dt_ms: f64,
        params: &str,
    ) -> Result<Self, String> {
        let indptr = (0..=n_pre).map(|i| i * n_post).collect();
        let indices = (0..n_pre).flat_map(|_| 0..n_post as u32).collect();
        Self::new(
            n_pre,
            n_post,
            indptr,
            indices,
            vec![w; n_pre * n_post],
            dt_ms,
            params,
        )
    }

    /// A projection with the given CSR structure.
    pub fn new(
        n_pre: usize,
        n_post: usize,
        indptr: Vec<usize>,
        indices: Vec<u32>,
        weights: Vec<f64>,
        dt_ms: f64,
        params: &str,
    ) -> Result<Self, String> {
        let shape = Shape {
            n_pre,
            n_post,
            nnz: weights.len(),
            dt_ms,
        };
        let rule = R::new(parse_config(params)?, &shape)?;
        Ok(RuleHarness {
            rule,
            n_pre,
            n_post,
            indptr,
            indices,
            weights,
            pre_trace: vec![0.0; n_pre],
            post_trace: vec![0.0; n_post],
            post_v: Vec::new(),
            step: 0,
            dt_ms,
        })
    }

    /// The rule and a context over the projection, borrowed separately.
    fn parts<'a>(&'a mut self, pre: &'a [u32], post: &'a [u32]) -> (&'a mut R, RuleContext<'a>) {
        let ctx = RuleContext {
            step: self.step,
            dt_ms: self.dt_ms,
            n_pre: self.n_pre,
            n_post: self.n_post,
            indptr: &self.indptr,
            indices: &self.indices,
            weights: &mut self.weights,
            pre_spikes: pre,
            post_spikes: post,
            pre_trace: &mut self.pre_trace,
            post_trace: &mut self.post_trace,
            post_v: &self.post_v,
        };
        (&mut self.rule, ctx)
    }

    /// One step with the given spikes; the step counter advances.
    pub fn step(&mut self, pre_spikes: &[u32], post_spikes: &[u32]) -> Result<(), String> {
        let (rule, mut ctx) = self.parts(pre_spikes, post_spikes);
        let r = rule.on_step(&mut ctx);
        self.step += 1;
        r
    }

    /// Delivers a reward (at the current step, with no spikes).
    pub fn reward(&mut self, reward: f64) -> Result<(), String> {
        let (rule, mut ctx) = self.parts(&[], &[]);
        rule.on_reward(reward, &mut ctx)
    }

    /// The weight from `i` to `j`, if the synapse exists.
    pub fn weight(&self, i: usize, j: usize) -> Option<f64> {
        (self.indptr[i]..self.indptr[i + 1])
            .find(|&k| self.indices[k] as usize == j)
            .map(|k| self.weights[k])
    }

    /// Sends a structural edit to the rule.
    pub fn resize(&mut self, remap: &Remap<'_>) -> Result<(), String> {
        self.rule.resize(remap)
    }
}

/// An environment instance with its observation buffer.
#[derive(Debug)]
pub struct EnvHarness<E: Environment> {
    /// The environment.
    pub env: E,
    /// Its spaces.
    pub spaces: Spaces,
    /// The last observation.
    pub obs: Vec<f64>,
}

impl<E: Environment> EnvHarness<E> {
    /// Builds the environment from `params` (RON text).
    pub fn new(params: &str) -> Result<Self, String> {
        let env = E::new(parse_config(params)?)?;
        let spaces = env.spaces();
        Ok(EnvHarness {
            env,
            obs: vec![0.0; spaces.observation_len],
            spaces,
        })
    }

    /// Starts an episode; returns the first observation.
    pub fn reset(&mut self, seed: u64) -> Result<&[f64], String> {
        self.env.reset(seed, &mut self.obs)?;
        Ok(&self.obs)
    }

    /// Applies an action.
    pub fn step(&mut self, action: &[f64]) -> Result<Transition, String> {
        self.env.step(action, &mut self.obs)
    }
}
