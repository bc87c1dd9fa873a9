//! Pair-based STDP with exponential traces, the part that the `stdp` and `rstdp` plugins share:
//! the checks of the host's traces and spike lists, the decay of the traces, the post →
//! synapse index and the order in which a step's spikes are paired. Only what a pair does
//! differs between the two rules (a weight change in `stdp`, an eligibility change in
//! `rstdp`), so that is the one thing a rule supplies, as a [`PairUpdate`].
//!
//! At each step of length `dt`, [`PairTraces::step`] does, in this order:
//!
//! 1. Both traces decay: `x_i ← x_i·exp(−dt/τ₊)`, `y_j ← y_j·exp(−dt/τ₋)`.
//! 2. For each presynaptic spike `i` (ascending), every synapse `k = (i → j)` of row `i` gets
//!    [`PairUpdate::depress`] with `y_j`, and then `x_i ← x_i + 1`.
//! 3. For each postsynaptic spike `j` (ascending), every synapse `k = (i → j)` onto `j`
//!    (ascending `i`) gets [`PairUpdate::potentiate`] with `x_i`, and then `y_j ← y_j + 1`.
//!
//! So a pre and a post spike of one synapse in the same step count as causal: the pre spike's
//! increment is visible to the post spike, and not the other way round.
//!
//! The synapses onto a postsynaptic neuron are found through a post → synapse index (CSC order
//! of the CSR-by-pre projection), built from the CSR structure on the first step and rebuilt
//! after [`PairTraces::invalidate`] or whenever the projection's shape (`n_pre`, `n_post`,
//! number of synapses) differs from the one it was built for.

use crate::{RuleContext, Shape};

/// What one pair does to synapse `k`; `weights` is the projection's (`RuleContext::weights`).
pub trait PairUpdate {
    /// A presynaptic spike meets the postsynaptic trace `post_trace` (`y_j`, after decay).
    fn depress(&mut self, weights: &mut [f64], k: usize, post_trace: f64);
    /// A postsynaptic spike meets the presynaptic trace `pre_trace` (`x_i`, after decay and
    /// this step's presynaptic increments).
    fn potentiate(&mut self, weights: &mut [f64], k: usize, pre_trace: f64);
}

/// The synapses onto each postsynaptic neuron, with the shape it was built for.
#[derive(Debug, Clone, Default)]
struct PostIndex {
    /// False until built, and after a structural edit.
    valid: bool,
    n_pre: usize,
    n_post: usize,
    nnz: usize,
    /// `n_post + 1` offsets into `syn` and `pre`.
    col_ptr: Vec<usize>,
    /// Synapse index of each entry, grouped by post neuron, ascending pre within a group.
    syn: Vec<usize>,
    /// Pre neuron of each entry.
    pre: Vec<u32>,
}

impl PostIndex {
    /// Whether the index describes the projection of `ctx`.
    fn matches(&self, ctx: &RuleContext<'_>) -> bool {
        self.valid
            && self.n_pre == ctx.n_pre
            && self.n_post == ctx.n_post
            && self.nnz == ctx.indices.len()
    }

    /// Rebuilds the index from the CSR structure of `ctx` (checking it on the way); errors
    /// start with `rule`.
    fn rebuild(&mut self, ctx: &RuleContext<'_>, rule: &str) -> Result<(), String> {
        let (n_pre, n_post, nnz) = (ctx.n_pre, ctx.n_post, ctx.indices.len());
        if ctx.indptr.len() != n_pre + 1 {
            return Err(format!(
                "{rule}: indptr has {} entries for {n_pre} presynaptic neurons (expected {})",
                ctx.indptr.len(),
                n_pre + 1
            ));
        }
        if ctx.weights.len() != nnz || ctx.indptr[n_pre] != nnz || ctx.indptr[0] != 0 {
            return Err(format!(
                "{rule}: inconsistent CSR: indptr spans {}..{}, {} indices, {} weights",
                ctx.indptr[0],
                ctx.indptr[n_pre],
                nnz,
                ctx.weights.len()
            ));
        }
        self.col_ptr.clear();
        self.col_ptr.resize(n_post + 1, 0);
        for i in 0..n_pre {
            let (a, b) = (ctx.indptr[i], ctx.indptr[i + 1]);
            if a > b || b > nnz {
                return Err(format!("{rule}: indptr is not monotone at row {i}"));
            }
            for &j in &ctx.indices[a..b] {
                let j = j as usize;
                if j >= n_post {
                    return Err(format!(
                        "{rule}: synapse {i} → {j} points past the {n_post} postsynaptic neurons"
                    ));
                }
                self.col_ptr[j + 1] += 1;
            }
        }
        for j in 0..n_post {
            self.col_ptr[j + 1] += self.col_ptr[j];
        }
        let mut next = self.col_ptr[..n_post].to_vec();
        self.syn.clear();
        self.syn.resize(nnz, 0);
        self.pre.clear();
        self.pre.resize(nnz, 0);
        for i in 0..n_pre {
            for k in ctx.indptr[i]..ctx.indptr[i + 1] {
                let j = ctx.indices[k] as usize;
                let slot = next[j];
                next[j] += 1;
                self.syn[slot] = k;
                self.pre[slot] = i as u32;
            }
        }
        self.valid = true;
        self.n_pre = n_pre;
        self.n_post = n_post;
        self.nnz = nnz;
        Ok(())
    }
}

/// The trace machinery of one trained projection.
#[derive(Debug, Clone)]
pub struct PairTraces {
    /// The rule's name, the first word of every error.
    rule: &'static str,
    tau_plus_ms: f64,
    tau_minus_ms: f64,
    index: PostIndex,
}

impl PairTraces {
    /// Traces with time constants τ₊ (presynaptic, the potentiation window) and τ₋
    /// (postsynaptic, the depression window), in ms, for a projection of `shape` (whose
    /// time step must be positive). The index is sized here and filled on the first step,
    /// when the CSR structure is visible.
    pub fn new(
        rule: &'static str,
        tau_plus_ms: f64,
        tau_minus_ms: f64,
        shape: &Shape,
    ) -> Result<Self, String> {
        if !(shape.dt_ms.is_finite() && shape.dt_ms > 0.0) {
            return Err(format!(
                "{rule}: time step must be positive, got {} ms",
                shape.dt_ms
            ));
        }
        Ok(PairTraces {
            rule,
            tau_plus_ms,
            tau_minus_ms,
            index: PostIndex {
                col_ptr: Vec::with_capacity(shape.n_post + 1),
                syn: Vec::with_capacity(shape.nnz),
                pre: Vec::with_capacity(shape.nnz),
                ..PostIndex::default()
            },
        })
    }

    /// Marks the post → synapse index stale (after a structural edit); the next step rebuilds
    /// it.
    pub fn invalidate(&mut self) {
        self.index.valid = false;
    }

    /// Checks that the host's traces and the spike lists fit the projection of `ctx`.
    pub fn check(&self, ctx: &RuleContext<'_>) -> Result<(), String> {
        let rule = self.rule;
        if ctx.pre_trace.len() != ctx.n_pre || ctx.post_trace.len() != ctx.n_post {
            return Err(format!(
                "{rule}: needs host traces of {} (pre) and {} (post) values, got {} and {}",
                ctx.n_pre,
                ctx.n_post,
                ctx.pre_trace.len(),
                ctx.post_trace.len()
            ));
        }
        if let Some(&i) = ctx.pre_spikes.iter().find(|&&i| i as usize >= ctx.n_pre) {
            return Err(format!(
                "{rule}: presynaptic spike of neuron {i}, but the projection has {} presynaptic neurons",
                ctx.n_pre
            ));
        }
        if let Some(&j) = ctx.post_spikes.iter().find(|&&j| j as usize >= ctx.n_post) {
            return Err(format!(
                "{rule}: postsynaptic spike of neuron {j}, but the projection has {} postsynaptic neurons",
                ctx.n_post
            ));
        }
        Ok(())
    }

    /// One step (the module's steps 1–3): checks the context, rebuilds the index if the
    /// projection changed, decays the traces and pairs this step's spikes through `update`.
    pub fn step(
        &mut self,
        ctx: &mut RuleContext<'_>,
        update: &mut impl PairUpdate,
    ) -> Result<(), String> {
        self.check(ctx)?;
        if !self.index.matches(ctx) {
            self.index.rebuild(ctx, self.rule)?;
        }
        let decay_pre = (-ctx.dt_ms / self.tau_plus_ms).exp();
        let decay_post = (-ctx.dt_ms / self.tau_minus_ms).exp();
        ctx.pre_trace.iter_mut().for_each(|x| *x *= decay_pre);
        ctx.post_trace.iter_mut().for_each(|y| *y *= decay_post);

        // A pre spike pairs with the (earlier) post spikes in the post trace.
        for &i in ctx.pre_spikes {
            let i = i as usize;
            for k in ctx.indptr[i]..ctx.indptr[i + 1] {
                let y = ctx.post_trace[ctx.indices[k] as usize];
                update.depress(ctx.weights, k, y);
            }
            ctx.pre_trace[i] += 1.0;
        }
        // A post spike pairs with the pre spikes in the pre trace, including those of this
        // step (simultaneous spikes count as causal).
        let index = &self.index;
        for &j in ctx.post_spikes {
            let j = j as usize;
            let col = index.col_ptr[j]..index.col_ptr[j + 1];
            for (&k, &i) in index.syn[col.clone()].iter().zip(&index.pre[col]) {
                update.potentiate(ctx.weights, k, ctx.pre_trace[i as usize]);
            }
            ctx.post_trace[j] += 1.0;
        }
        Ok(())
    }
}
