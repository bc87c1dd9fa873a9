//! Forward and backward through time over a [`Net`]. The forward pass steps the populations in
//! order each step, each from the sum of its incoming links (feed-forward links read this
//! step's spikes, recurrent ones the previous step's) and its bias, and keeps what the
//! backward pass needs: every membrane, spike and reset ([`Trace`]). The backward pass walks
//! time and the populations in reverse: a population's spike adjoint gathers its outgoing
//! links' targets' input adjoints (this step's for feed-forward links, the next step's for
//! recurrent ones), the model's adjoint recursion turns it into the adjoint of its input x̄_t,
//! and each incoming link adds x̄_t into the rows of the presynaptic neurons that were active
//! (an outer product over activity only: a silent neuron's row is never touched).
//!
//! Work follows activity in both directions: the forward pass adds the rows of active
//! presynaptic neurons only, and inputs that are the same on every step (a decision's
//! observation) are summed once per call.

// Index loops mirror the equations, over several arrays at once.
#![allow(clippy::needless_range_loop)]

use super::neuron::{with_neuron, with_surrogate, SurrogateGrad as _};
use super::{Net, PopKind, Storage};
use crate::models::relu::ReluStep;
use crate::models::step::{heaviside, keep, LearnDecays, ResetKind, SnnTorchStep};
use crate::width::widest;

/// The values of one input population over the steps of a call.
#[derive(Debug, Clone, Copy)]
pub enum Seq<'a> {
    /// The same values on every step, as (neuron, value) pairs (absent neurons are 0).
    Constant(&'a [(u32, f64)]),
    /// One dense row per step (steps × size, row-major).
    Dense(&'a [f64]),
}

/// The trainable values of a call: per link its weights (in its [`Storage`] layout), per
/// population an optional bias added to its input every step and optional per-neuron decays
/// that replace the model's own.
#[derive(Debug, Clone, Default)]
pub struct Params<'a> {
    /// Per link.
    pub weights: Vec<&'a [f64]>,
    /// Per population (`None`: no bias; inputs have none).
    pub biases: Vec<Option<&'a [f64]>>,
    /// Per population (`None`, or absent past the end: the model's decays): β of every
    /// neuron, then α of every neuron where the model has one
    /// ([`LearnDecays::COUNT`] × size values).
    pub decays: Vec<Option<&'a [f64]>>,
    /// Per link (`None`, or absent past the end: not given), the dense weights transposed
    /// ([`Net::transpose`]): the backward pass then sums each presynaptic neuron's spike
    /// adjoint from the postsynaptic adjoints as whole-vector additions down the columns
    /// instead of one dot product per row. The same terms in the same order, so the same
    /// bits; worth it where one set of weights serves several backward passes (a batch).
    pub transposed: Vec<Option<&'a [f64]>>,
}

impl<'a> Params<'a> {
    /// Weights only, no biases.
    pub fn weights(net: &Net, weights: Vec<&'a [f64]>) -> Self {
        Params {
            weights,
            biases: vec![None; net.pops().len()],
            decays: Vec::new(),
            transposed: Vec::new(),
        }
    }

    /// These parameters with the transposed dense weights `t` ([`Net::transpose`] of them).
    pub fn with_transposed(mut self, t: &'a [Vec<f64>]) -> Self {
        self.transposed = t
            .iter()
            .map(|w| (!w.is_empty()).then_some(w.as_slice()))
            .collect();
        self
    }
}

/// Gradients of the same shapes as [`Params`] (a population without a bias has an empty
/// vector).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Grads {
    /// Per link.
    pub weights: Vec<Vec<f64>>,
    /// Per population.
    pub biases: Vec<Vec<f64>>,
    /// Per population, shaped as [`Params::decays`] (empty without decays).
    pub decays: Vec<Vec<f64>>,
}

impl Grads {
    /// Zeros shaped as `p`.
    pub fn zeros(p: &Params) -> Self {
        Grads {
            weights: p.weights.iter().map(|w| vec![0.0; w.len()]).collect(),
            biases: p
                .biases
                .iter()
                .map(|b| b.map_or(Vec::new(), |b| vec![0.0; b.len()]))
                .collect(),
            decays: p
                .decays
                .iter()
                .map(|d| d.map_or(Vec::new(), |d| vec![0.0; d.len()]))
                .collect(),
        }
    }

    /// Adds `other` (same shapes).
    pub fn add(&mut self, other: &Grads) {
        for (a, b) in self
            .weights
            .iter_mut()
            .chain(self.biases.iter_mut())
            .chain(self.decays.iter_mut())
            .zip(
                other
                    .weights
                    .iter()
                    .chain(other.biases.iter())
                    .chain(other.decays.iter()),
            )
        {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
    }
}

/// One population's record of a forward pass (steps × size, row-major), and its state.
#[derive(Debug, Clone, Default)]
pub struct PopTrace {
    /// Membrane after each step's update (neurons only).
    pub mem: Vec<f64>,
    /// Spikes, 0 or 1 (neurons only).
    pub spk: Vec<f64>,
    /// The reset applied in each step, R_t = H(mem_{t−1} − θ) (neurons only).
    pub reset: Vec<f64>,
    /// The second state variable after each step (a Synaptic population's `syn`, an Alif's
    /// adaptation `a`), kept only for a population with learned decays (its ∂L/∂α needs it)
    /// or an adaptive threshold (the surrogate's argument needs it).
    pub syn: Vec<f64>,
    /// An input's values: (neuron, value) pairs per step, `start[t]..start[t + 1]` (one list
    /// for all steps when constant).
    pub(super) active: Vec<(u32, f64)>,
    pub(super) start: Vec<usize>,
    pub(super) constant: bool,
    pub(super) now: Vec<f64>,
    pub(super) a: Vec<f64>,
    pub(super) b: Vec<f64>,
}

impl PopTrace {
    /// An input's active (neuron, value) pairs at step `t`.
    pub fn input_at(&self, t: usize) -> &[(u32, f64)] {
        let t = if self.constant { 0 } else { t };
        &self.active[self.start[t]..self.start[t + 1]]
    }
}

/// What a forward pass keeps for the backward pass, and its scratch.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    /// Steps recorded.
    pub steps: usize,
    /// Per population.
    pub pops: Vec<PopTrace>,
    pub(super) cur: Vec<f64>,
    pub(super) base: Vec<Vec<f64>>,
    back: Back,
    pub(super) factors: Vec<f64>,
    pub(super) eprop: super::eprop::Scratch,
    /// The active presynaptic (neuron, value) pairs of one link and step.
    act: Vec<(usize, f64)>,
}

/// Scratch of the backward pass.
#[derive(Debug, Clone, Default)]
struct Back {
    /// Per population: adjoints m̄, ā, b̄ of step t + 1, k_{t+1}, x̄_t and x̄_{t+1}.
    m: Vec<Vec<f64>>,
    a: Vec<Vec<f64>>,
    b: Vec<Vec<f64>>,
    k_next: Vec<Vec<f64>>,
    x_now: Vec<Vec<f64>>,
    x_next: Vec<Vec<f64>>,
    drive: Vec<f64>,
}

impl Trace {
    /// Population `p`'s membrane at step `t`.
    pub fn mem(&self, p: usize, t: usize) -> &[f64] {
        let n = self.width(p);
        &self.pops[p].mem[t * n..(t + 1) * n]
    }

    /// Population `p`'s spikes at step `t`.
    pub fn spk(&self, p: usize, t: usize) -> &[f64] {
        let n = self.width(p);
        &self.pops[p].spk[t * n..(t + 1) * n]
    }

    fn width(&self, p: usize) -> usize {
        self.pops[p].now.len()
    }
}

/// Adds `v`·row i of link weights `w` into `cur`, for each active (i, v), in that order.
/// Dense rows are added a tile of `cur` at a time ([`TILE`] columns held in registers while
/// every active row passes), which keeps each column's order of additions.
#[inline(always)]
pub(super) fn add_rows(
    storage: &Storage,
    w: &[f64],
    active: impl Iterator<Item = (usize, f64)> + Clone,
    cur: &mut [f64],
) {
    let n = cur.len();
    match storage {
        Storage::Dense => {
            let mut tiles = cur.chunks_exact_mut(TILE);
            let mut start = 0;
            for a in &mut tiles {
                let mut t = [0.0; TILE];
                t.copy_from_slice(a);
                for (i, v) in active.clone() {
                    let row = &w[i * n + start..i * n + start + TILE];
                    for k in 0..TILE {
                        t[k] += v * row[k];
                    }
                }
                a.copy_from_slice(&t);
                start += TILE;
            }
            let rest = tiles.into_remainder();
            if !rest.is_empty() {
                for (i, v) in active {
                    for (c, &r) in rest.iter_mut().zip(&w[i * n + start..(i + 1) * n]) {
                        *c += v * r;
                    }
                }
            }
        }
        Storage::Sparse { indptr, indices } => {
            for (i, v) in active {
                for k in indptr[i]..indptr[i + 1] {
                    cur[indices[k] as usize] += v * w[k];
                }
            }
        }
    }
}

/// An input population's record of a call: its (neuron, value) pairs per step, or one list
/// for all steps when constant (`n` neurons, `steps` steps).
fn fill_input(t: &mut PopTrace, seq: Seq, n: usize, steps: usize) {
    t.active.clear();
    t.start.clear();
    t.start.push(0);
    match seq {
        Seq::Constant(pairs) => {
            t.constant = true;
            t.active.extend_from_slice(pairs);
            t.start.push(pairs.len());
        }
        Seq::Dense(values) => {
            assert_eq!(values.len(), steps * n, "steps × size input values");
            t.constant = false;
            for s in 0..steps {
                for (i, &v) in values[s * n..(s + 1) * n].iter().enumerate() {
                    if v != 0.0 {
                        t.active.push((i as u32, v));
                    }
                }
                t.start.push(t.active.len());
            }
        }
    }
}

/// The active presynaptic (neuron, value) pairs of population `p` at step `t`, in neuron
/// order, into `act`. A spiking population's are gathered without a branch per neuron (each
/// pair is written, and the count moves past it only if it is active): spikes are
/// unpredictable, and a mispredicted branch per neuron costs more than the rows they select.
#[inline(always)]
fn active_into(net: &Net, tr: &[PopTrace], p: usize, t: usize, act: &mut Vec<(usize, f64)>) {
    act.clear();
    match net.pops()[p].kind {
        PopKind::Input => act.extend(tr[p].input_at(t).iter().map(|&(i, v)| (i as usize, v))),
        PopKind::Neurons(_) => {
            let n = net.pops()[p].size;
            act.resize(n, (0, 0.0));
            let mut k = 0;
            for (i, &s) in tr[p].spk[t * n..(t + 1) * n].iter().enumerate() {
                act[k] = (i, s);
                k += usize::from(s != 0.0);
            }
            act.truncate(k);
        }
    }
}

impl Net {
    /// Runs `steps` steps from zero state with the inputs' values `inputs` (one per
    /// [`Net::inputs`], in that order), recording into `tr`.
    pub fn forward(&self, p: &Params, steps: usize, inputs: &[Seq], tr: &mut Trace) {
        widest!(Net, self, forward_body(p: &Params, steps: usize, inputs: &[Seq], tr: &mut Trace))
    }

    /// [`Net::forward`]'s work, inlined into each width's copy.
    #[inline(always)]
    fn forward_body(&self, p: &Params, steps: usize, inputs: &[Seq], tr: &mut Trace) {
        assert_eq!(inputs.len(), self.inputs().len(), "one Seq per input");
        assert_eq!(
            p.weights.len(),
            self.links().len(),
            "one weight slice per link"
        );
        let pops = self.pops();
        tr.steps = steps;
        tr.pops.resize_with(pops.len(), PopTrace::default);
        tr.base.resize_with(pops.len(), Vec::new);
        for (q, pop) in pops.iter().enumerate() {
            let t = &mut tr.pops[q];
            // Inputs have no state; every recorded cell of a population is written below.
            let n = if pop.kind == PopKind::Input {
                0
            } else {
                pop.size
            };
            for v in [&mut t.now, &mut t.a, &mut t.b] {
                v.clear();
                v.resize(n, 0.0);
            }
            for v in [&mut t.mem, &mut t.spk, &mut t.reset] {
                v.resize(steps * n, 0.0);
            }
            let learned = p.decays.get(q).copied().flatten().is_some();
            let adaptive = matches!(pop.kind, PopKind::Neurons(nr) if nr.model.adaptive());
            t.syn
                .resize(if learned || adaptive { steps * n } else { 0 }, 0.0);
        }
        // Inputs.
        for (&q, seq) in self.inputs().iter().zip(inputs) {
            fill_input(&mut tr.pops[q], *seq, pops[q].size, steps);
        }
        // What is the same on every step: the bias, then the links from constant inputs.
        let constant = |l: usize| {
            let pre = self.links()[l].pre;
            pops[pre].kind == PopKind::Input && tr.pops[pre].constant
        };
        let constant: Vec<bool> = (0..self.links().len()).map(constant).collect();
        for (q, pop) in pops.iter().enumerate() {
            if pop.kind == PopKind::Input {
                continue;
            }
            let mut base = std::mem::take(&mut tr.base[q]);
            base.clear();
            match p.biases.get(q).copied().flatten() {
                Some(b) => base.extend_from_slice(b),
                None => base.resize(pop.size, 0.0),
            }
            for &l in self.into(q) {
                if constant[l] {
                    let link = &self.links()[l];
                    let active = tr.pops[link.pre].input_at(0).iter();
                    add_rows(
                        &link.storage,
                        p.weights[l],
                        active.map(|&(i, v)| (i as usize, v)),
                        &mut base,
                    );
                }
            }
            tr.base[q] = base;
        }
        let mut cur = std::mem::take(&mut tr.cur);
        for t in 0..steps {
            for (q, pop) in pops.iter().enumerate() {
                let PopKind::Neurons(neuron) = pop.kind else {
                    continue;
                };
                cur.clear();
                cur.extend_from_slice(&tr.base[q]);
                for &l in self.into(q) {
                    if constant[l] {
                        continue;
                    }
                    let link = &self.links()[l];
                    let s = if link.recurrent {
                        match t.checked_sub(1) {
                            Some(s) => s,
                            None => continue,
                        }
                    } else {
                        t
                    };
                    let (storage, w) = (&link.storage, p.weights[l]);
                    let mut act = std::mem::take(&mut tr.act);
                    active_into(self, &tr.pops, link.pre, s, &mut act);
                    add_rows(storage, w, act.iter().copied(), &mut cur);
                    tr.act = act;
                }
                let pt = &mut tr.pops[q];
                match p.decays.get(q).copied().flatten() {
                    None => {
                        with_neuron!(neuron, n, R => step_pop::<_, R>(n, neuron.threshold, &cur, pt, t))
                    }
                    Some(d) => {
                        with_neuron!(neuron, n, R => step_pop_each::<_, R>(n, neuron.threshold, d, &cur, pt, t))
                    }
                }
            }
        }
        tr.cur = cur;
    }

    /// The dense links' weights of `p` transposed (post-major: column j of a link's weights
    /// is `[j·pre..(j + 1)·pre]`), empty for sparse links: what [`Params::with_transposed`]
    /// takes.
    pub fn transpose(&self, p: &Params) -> Vec<Vec<f64>> {
        let pops = self.pops();
        self.links()
            .iter()
            .zip(&p.weights)
            .map(|(link, w)| match link.storage {
                Storage::Dense => transposed(w, pops[link.post].size),
                Storage::Sparse { .. } => Vec::new(),
            })
            .collect()
    }

    /// The backward pass of the last forward pass in `tr`, for a loss whose gradient with
    /// respect to each readout's membrane is `g_mem` (one steps × size slice per
    /// [`Net::readouts`]). Adds the gradients of the weights and biases into `g`.
    pub fn backward(&self, p: &Params, tr: &mut Trace, g_mem: &[&[f64]], g: &mut Grads) {
        self.backward_counts(p, tr, g_mem, &[], g);
    }

    /// [`Net::backward`] for a loss that also depends on spike counts: `g_count[q]` (empty,
    /// or one value per neuron of population q; missing populations have none) is ∂L/∂n_i for
    /// n_i = Σ_t s_i,t, neuron i's output summed over the sample (a spike-count regulariser).
    /// It adds to every step's ∂L/∂s_i,t before the surrogate, as the outgoing links' terms do.
    pub fn backward_counts(
        &self,
        p: &Params,
        tr: &mut Trace,
        g_mem: &[&[f64]],
        g_count: &[&[f64]],
        g: &mut Grads,
    ) {
        widest!(
            Net,
            self,
            backward_body(p: &Params, tr: &mut Trace, g_mem: &[&[f64]], g_count: &[&[f64]], g: &mut Grads)
        )
    }

    /// [`Net::backward_counts`]'s work, inlined into each width's copy.
    #[inline(always)]
    fn backward_body(
        &self,
        p: &Params,
        tr: &mut Trace,
        g_mem: &[&[f64]],
        g_count: &[&[f64]],
        g: &mut Grads,
    ) {
        assert_eq!(
            g_mem.len(),
            self.readouts().len(),
            "one gradient per readout"
        );
        let pops = self.pops();
        let steps = tr.steps;
        let mut bk = std::mem::take(&mut tr.back);
        for v in [
            &mut bk.m,
            &mut bk.a,
            &mut bk.b,
            &mut bk.k_next,
            &mut bk.x_now,
            &mut bk.x_next,
        ] {
            v.resize_with(pops.len(), Vec::new);
            for (q, x) in v.iter_mut().enumerate() {
                x.clear();
                x.resize(pops[q].size, 0.0);
            }
        }
        let surrogate = self.surrogate();
        for t in (0..steps).rev() {
            for q in (0..pops.len()).rev() {
                let PopKind::Neurons(neuron) = pops[q].kind else {
                    continue;
                };
                let n = pops[q].size;
                let row = t * n..(t + 1) * n;
                // ∂L/∂mem_t: through the spike (the outgoing links), and directly (readouts).
                let mut drive = std::mem::take(&mut bk.drive);
                drive.clear();
                drive.resize(n, 0.0);
                let counted = g_count.get(q).copied().filter(|c| !c.is_empty());
                let adaptive = neuron.model.adaptive();
                if !self.out_of(q).is_empty() || counted.is_some() || adaptive {
                    // Link by link, each neuron's terms still added in link then column
                    // order (the sum starts from the previous link's), so the rows of a
                    // dense link can be summed side by side.
                    for &l in self.out_of(q) {
                        let link = &self.links()[l];
                        let xb = if link.recurrent {
                            if t + 1 == steps {
                                continue;
                            }
                            &bk.x_next[link.post]
                        } else {
                            &bk.x_now[link.post]
                        };
                        let w = p.weights[l];
                        match &link.storage {
                            Storage::Dense => match p.transposed.get(l).copied().flatten() {
                                Some(wt) => add_col_axpys(&mut drive, wt, xb),
                                None => add_row_dots(&mut drive, w, xb),
                            },
                            Storage::Sparse { indptr, indices } => {
                                for (i, d) in drive.iter_mut().enumerate() {
                                    for k in indptr[i]..indptr[i + 1] {
                                        *d += w[k] * xb[indices[k] as usize];
                                    }
                                }
                            }
                        }
                    }
                    if let Some(c) = counted {
                        for (d, &c) in drive.iter_mut().zip(c) {
                            *d += c;
                        }
                    }
                    let mem = &tr.pops[q].mem[row.clone()];
                    let theta = neuron.threshold;
                    if adaptive {
                        // The spike's jump into the adaptation: ∂L/∂spk_t gains ā_{t+1}; the
                        // surrogate's argument is mem − (θ + β·a_t).
                        let (a_next, a_t) = (&bk.a[q], &tr.pops[q].syn[row.clone()]);
                        let slope = neuron.model.threshold_slope();
                        with_surrogate!(surrogate, sg => {
                            for j in 0..n {
                                drive[j] = (drive[j] + a_next[j])
                                    * sg.at(mem[j] - (theta + slope * a_t[j]));
                            }
                        });
                    } else if neuron.graded() {
                        // A ReLU unit's exact derivative, not a surrogate.
                        for (d, &v) in drive.iter_mut().zip(mem) {
                            *d *= ReluStep::slope(v);
                        }
                    } else {
                        with_surrogate!(surrogate, sg => {
                            for (d, &v) in drive.iter_mut().zip(mem) {
                                *d *= sg.at(v - theta);
                            }
                        });
                    }
                }
                if let Some(r) = self.readouts().iter().position(|&r| r == q) {
                    let gm = &g_mem[r][row.clone()];
                    if self.out_of(q).is_empty() && counted.is_none() {
                        drive.copy_from_slice(gm);
                    } else {
                        for i in 0..n {
                            drive[i] += gm[i];
                        }
                    }
                }
                let pt = &tr.pops[q];
                let (m, a, b, k_next, x) = (
                    &mut bk.m[q],
                    &mut bk.a[q],
                    &mut bk.b[q],
                    &mut bk.k_next[q],
                    &mut bk.x_now[q],
                );
                match p.decays.get(q).copied().flatten() {
                    None => with_neuron!(neuron, nr, R => adjoint_pop::<_, R>(
                        nr,
                        &drive,
                        &pt.reset[row.clone()],
                        (m, a, b, k_next),
                        x,
                    )),
                    Some(d) => {
                        // The state before step t: zero before the first step.
                        let before = |v: &'_ [f64]| -> Option<std::ops::Range<usize>> {
                            (t > 0 && !v.is_empty()).then(|| row.start - n..row.start)
                        };
                        let prev = (
                            before(&pt.mem).map(|r| &pt.mem[r]),
                            before(&pt.syn).map(|r| &pt.syn[r]),
                        );
                        let gd = &mut g.decays[q];
                        with_neuron!(neuron, nr, R => adjoint_pop_each::<_, R>(
                            nr,
                            d,
                            &drive,
                            &pt.reset[row.clone()],
                            prev,
                            (m, a, b, k_next),
                            x,
                            gd,
                        ))
                    }
                }
                bk.drive = drive;
                // Gradients: the bias, and each incoming link's active rows.
                let x = &bk.x_now[q];
                if let Some(gb) = g.biases.get_mut(q).filter(|b| !b.is_empty()) {
                    for j in 0..n {
                        gb[j] += x[j];
                    }
                }
                for &l in self.into(q) {
                    let link = &self.links()[l];
                    let s = if link.recurrent {
                        match t.checked_sub(1) {
                            Some(s) => s,
                            None => continue,
                        }
                    } else {
                        t
                    };
                    let gw = &mut g.weights[l];
                    let mut act = std::mem::take(&mut tr.act);
                    active_into(self, &tr.pops, link.pre, s, &mut act);
                    match &link.storage {
                        Storage::Dense => {
                            for &(i, v) in &act {
                                for (g, &xj) in gw[i * n..(i + 1) * n].iter_mut().zip(x) {
                                    *g += v * xj;
                                }
                            }
                        }
                        Storage::Sparse { indptr, indices } => {
                            for &(i, v) in &act {
                                for k in indptr[i]..indptr[i + 1] {
                                    gw[k] += v * x[indices[k] as usize];
                                }
                            }
                        }
                    }
                    tr.act = act;
                }
            }
            std::mem::swap(&mut bk.x_now, &mut bk.x_next);
        }
        tr.back = bk;
    }
}

/// [`add_row_dots`] from the transposed weights `wt` (column c of `w` at `wt[c·n..]`, n =
/// `acc.len()`): `acc += wt[c]·x[c]` column after column, so each row's terms are added in
/// column order, as there, with every row of a column in one vector.
#[inline(always)]
fn add_col_axpys(acc: &mut [f64], wt: &[f64], x: &[f64]) {
    let n = acc.len();
    // A tile of `acc` stays in registers while every column passes.
    let mut tiles = acc.chunks_exact_mut(TILE);
    let mut start = 0;
    for a in &mut tiles {
        let mut t = [0.0; TILE];
        t.copy_from_slice(a);
        for (c, &xc) in x.iter().enumerate() {
            let col = &wt[c * n + start..c * n + start + TILE];
            for k in 0..TILE {
                t[k] += col[k] * xc;
            }
        }
        a.copy_from_slice(&t);
        start += TILE;
    }
    let rest = tiles.into_remainder();
    for (c, &xc) in x.iter().enumerate() {
        for (a, &w) in rest.iter_mut().zip(&wt[c * n + start..(c + 1) * n]) {
            *a += w * xc;
        }
    }
}

/// The width of the tiles that [`add_rows`] and [`add_col_axpys`] keep in registers: eight AVX-512 vectors,
/// eight independent chains of additions (an addition waits on the one before in its lane).
const TILE: usize = 64;

/// `acc[i] += Σ_c w[i·m + c]·x[c]` for every row i of the row-major `w` (m = `x.len()`),
/// each row's terms added in column order. Four rows at a time: their sums are independent
/// chains of additions that the CPU overlaps, where one row alone waits on each addition.
#[inline(always)]
fn add_row_dots(acc: &mut [f64], w: &[f64], x: &[f64]) {
    let m = x.len();
    let mut rows = acc.chunks_exact_mut(4);
    let mut i = 0;
    for a in &mut rows {
        let r = &w[i * m..(i + 4) * m];
        let (r0, r1, r2, r3) = (&r[..m], &r[m..2 * m], &r[2 * m..3 * m], &r[3 * m..]);
        let (mut s0, mut s1, mut s2, mut s3) = (a[0], a[1], a[2], a[3]);
        for c in 0..m {
            let xc = x[c];
            s0 += r0[c] * xc;
            s1 += r1[c] * xc;
            s2 += r2[c] * xc;
            s3 += r3[c] * xc;
        }
        a.copy_from_slice(&[s0, s1, s2, s3]);
        i += 4;
    }
    for a in rows.into_remainder() {
        for (wc, xc) in w[i * m..(i + 1) * m].iter().zip(x) {
            *a += wc * xc;
        }
        i += 1;
    }
}

/// The transpose of a row-major matrix of `cols` columns (its `cols` × rows, row-major).
pub fn transposed(m: &[f64], cols: usize) -> Vec<f64> {
    let rows = m.len() / cols.max(1);
    let mut t = vec![0.0; m.len()];
    for (i, row) in m.chunks_exact(cols.max(1)).enumerate() {
        for (j, &x) in row.iter().enumerate() {
            t[j * rows + i] = x;
        }
    }
    t
}

/// Steps 0..T of population `pt` from the inputs `cur` (T × n, one row per step), in one call
/// compiled per CPU vector width: for a small population (the agents' readout of a few
/// neurons) the work of a step is less than a call's dispatch.
pub(super) fn step_pop_through<N: SnnTorchStep<f64>, R: ResetKind>(
    neuron: N,
    theta: f64,
    cur: &[f64],
    pt: &mut PopTrace,
) {
    widest!(fn step_pop_through_body::<N: SnnTorchStep<f64>, R: ResetKind>(
        neuron: N,
        theta: f64,
        cur: &[f64],
        pt: &mut PopTrace
    ))
}

/// The work of [`step_pop_through`].
#[inline(always)]
fn step_pop_through_body<N: SnnTorchStep<f64>, R: ResetKind>(
    neuron: N,
    theta: f64,
    cur: &[f64],
    pt: &mut PopTrace,
) {
    let n = pt.now.len();
    for (t, x) in cur.chunks_exact(n.max(1)).enumerate() {
        step_row::<N>(x, pt, t, |x, state, out| {
            step_rows_body::<N, R>(neuron, theta, x, state, out)
        });
    }
}

/// One step of population `pt` from the input `cur`.
pub(super) fn step_pop<N: SnnTorchStep<f64>, R: ResetKind>(
    neuron: N,
    theta: f64,
    cur: &[f64],
    pt: &mut PopTrace,
    t: usize,
) {
    step_row::<N>(cur, pt, t, |x, state, out| {
        step_rows::<N, R>(neuron, theta, x, state, out)
    });
}

/// Step `t` of population `pt` from the input `x` by `rows` (one step of [`step_rows`] or its
/// body): the population's state and row `t` of its trace cut to `x.len()` neurons, and the
/// adaptive state recorded after the step.
#[inline(always)]
fn step_row<N: SnnTorchStep<f64>>(
    x: &[f64],
    pt: &mut PopTrace,
    t: usize,
    rows: impl FnOnce(
        &[f64],
        (&mut [f64], &mut [f64], &mut [f64]),
        (&mut [f64], &mut [f64], &mut [f64]),
    ),
) {
    let n = x.len();
    let row = t * n..(t + 1) * n;
    rows(
        x,
        (&mut pt.now[..n], &mut pt.a[..n], &mut pt.b[..n]),
        (
            &mut pt.mem[row.clone()],
            &mut pt.reset[row.clone()],
            &mut pt.spk[row.clone()],
        ),
    );
    if N::ADAPTIVE {
        pt.syn[row].copy_from_slice(&pt.a[..n]);
    }
}

/// One step of `x.len()` neurons: the state (`now`, `a`, `b`) advanced from the input `x`,
/// the step's membrane, reset and spike written to `mem`, `reset` and `spk`; compiled per CPU
/// vector width ([`widest!`]).
#[inline]
pub(super) fn step_rows<N: SnnTorchStep<f64>, R: ResetKind>(
    neuron: N,
    theta: f64,
    x: &[f64],
    state: (&mut [f64], &mut [f64], &mut [f64]),
    out: (&mut [f64], &mut [f64], &mut [f64]),
) {
    widest!(fn step_rows_body::<N: SnnTorchStep<f64>, R: ResetKind>(
        neuron: N,
        theta: f64,
        x: &[f64],
        state: (&mut [f64], &mut [f64], &mut [f64]),
        out: (&mut [f64], &mut [f64], &mut [f64])
    ))
}

/// The loop of [`step_rows`]: every slice is cut to the same length first and the body has
/// no branch (the Heaviside steps are selects), so the compiler vectorises it; each neuron's
/// arithmetic is the model's step, in its order.
#[inline(always)]
fn step_rows_body<N: SnnTorchStep<f64>, R: ResetKind>(
    neuron: N,
    theta: f64,
    x: &[f64],
    (now, a, b): (&mut [f64], &mut [f64], &mut [f64]),
    (mem, reset, spk): (&mut [f64], &mut [f64], &mut [f64]),
) {
    let n = x.len();
    let (now, a, b) = (&mut now[..n], &mut a[..n], &mut b[..n]);
    let (mem, reset, spk) = (&mut mem[..n], &mut reset[..n], &mut spk[..n]);
    for j in 0..n {
        let r = heaviside(now[j], neuron.threshold(theta, a[j]));
        neuron.step::<R>(r, x[j], &mut now[j], &mut a[j], &mut b[j]);
        let m = now[j];
        mem[j] = m;
        reset[j] = r;
        spk[j] = neuron.output(m, neuron.threshold(theta, a[j]));
    }
}

/// One step back of a population's adjoints: `drive` is ∂L/∂mem_t, `reset` R_t; writes x̄_t.
#[inline(always)]
fn adjoint_pop<N: SnnTorchStep<f64>, R: ResetKind>(
    neuron: N,
    drive: &[f64],
    reset: &[f64],
    (m, a, b, k_next): (&mut [f64], &mut [f64], &mut [f64], &mut [f64]),
    x: &mut [f64],
) {
    for j in 0..drive.len() {
        let k_t = keep::<R, f64>(reset[j]);
        x[j] = neuron.adjoint(drive[j], k_t, k_next[j], &mut m[j], &mut a[j], &mut b[j]);
        k_next[j] = k_t;
    }
}

/// [`step_pop`] with per-neuron decays `d` ([`Params::decays`]), recording the second state
/// variable for the decays' gradient. Not vectorised per width: a population that learns its
/// decays builds each neuron's step from its own values.
fn step_pop_each<N: LearnDecays<f64>, R: ResetKind>(
    neuron: N,
    theta: f64,
    d: &[f64],
    cur: &[f64],
    pt: &mut PopTrace,
    t: usize,
) {
    let n = cur.len();
    assert_eq!(d.len(), N::COUNT * n, "decays shaped as the population");
    let row = t * n..(t + 1) * n;
    let (now, a, b) = (&mut pt.now[..n], &mut pt.a[..n], &mut pt.b[..n]);
    let (mem, reset, spk) = (
        &mut pt.mem[row.clone()],
        &mut pt.reset[row.clone()],
        &mut pt.spk[row.clone()],
    );
    for j in 0..n {
        let nj = neuron.with_decays(decays_of::<N>(d, n, j));
        let r = heaviside(now[j], nj.threshold(theta, a[j]));
        nj.step::<R>(r, cur[j], &mut now[j], &mut a[j], &mut b[j]);
        mem[j] = now[j];
        reset[j] = r;
        spk[j] = nj.output(now[j], nj.threshold(theta, a[j]));
    }
    pt.syn[row].copy_from_slice(a);
}

/// Neuron `j`'s decays (β, α) of the layout of [`Params::decays`].
#[inline(always)]
fn decays_of<N: LearnDecays<f64>>(d: &[f64], n: usize, j: usize) -> [f64; 2] {
    [d[j], if N::COUNT > 1 { d[n + j] } else { 0.0 }]
}

/// [`adjoint_pop`] with per-neuron decays `d`, adding each neuron's step-t share of
/// ∂L/∂decays into `gd` (layout of [`Params::decays`]); `prev` is the membrane and second
/// state variable before step t (`None`: zero).
#[allow(clippy::too_many_arguments)]
fn adjoint_pop_each<N: LearnDecays<f64>, R: ResetKind>(
    neuron: N,
    d: &[f64],
    drive: &[f64],
    reset: &[f64],
    (mem_prev, syn_prev): (Option<&[f64]>, Option<&[f64]>),
    (m, a, b, k_next): (&mut [f64], &mut [f64], &mut [f64], &mut [f64]),
    x: &mut [f64],
    gd: &mut [f64],
) {
    let n = drive.len();
    for j in 0..n {
        let nj = neuron.with_decays(decays_of::<N>(d, n, j));
        let k_t = keep::<R, f64>(reset[j]);
        x[j] = nj.adjoint(drive[j], k_t, k_next[j], &mut m[j], &mut a[j], &mut b[j]);
        k_next[j] = k_t;
        let (mp, sp) = (
            mem_prev.map_or(0.0, |v| v[j]),
            syn_prev.map_or(0.0, |v| v[j]),
        );
        let [gb, ga] = nj.decay_grads(k_t, m[j], a[j], mp, sp);
        gd[j] += gb;
        if N::COUNT > 1 {
            gd[n + j] += ga;
        }
    }
}
