//! Forward passes of several samples at once (a minibatch stepped as one block). The
//! off-policy learners run dozens of short forward passes per update with one set of weights
//! (a minibatch's s and s′ on the online and the target network); one sample at a time, every
//! pass streams each active presynaptic neuron's weight row from the cache for that sample
//! alone. Here the samples are the innermost dimension of every state array (neuron-major:
//! neuron j of sample b at `j·samples + b`), so a weight is read once per step for all samples
//! and the additions run down whole vectors of samples, and each population's update is one
//! pass of its model's step over neurons × samples (the same step function as
//! [`Net::forward`]'s).
//!
//! The arithmetic of each sample is exactly [`Net::forward`]'s: its bias and its constant
//! inputs are summed per sample in the same order, and a link adds presynaptic neuron i's term
//! only where that sample's neuron i was active, rows in ascending order, so each sample's
//! membrane, spikes and resets are the same bits as its own forward pass
//! ([`Block::trace_into`] writes them as that pass's [`Trace`], for the backward pass).
//! Learned decays ([`Params::decays`]) are not stepped here ([`Net::forward_block`] refuses
//! them): their per-neuron steps are not one vector pass.

// Index loops mirror the layout, over several arrays at once.
#![allow(clippy::needless_range_loop)]

use super::neuron::with_neuron;
use super::run::{add_rows, fill_input, step_rows, widest};
use super::{Net, Params, PopKind, PopTrace, Seq, Storage, Trace};
use crate::models::step::{ResetKind, SnnTorchStep};

/// The state and record of a block forward pass, reused from call to call.
#[derive(Debug, Clone, Default)]
pub struct Block {
    samples: usize,
    steps: usize,
    pops: Vec<BlockPop>,
    cur: Vec<f64>,
    row: Vec<f64>,
}

/// One population of a [`Block`]: neurons × samples per state variable, steps × neurons ×
/// samples per record; an input's values per sample.
#[derive(Debug, Clone, Default)]
struct BlockPop {
    base: Vec<f64>,
    now: Vec<f64>,
    a: Vec<f64>,
    b: Vec<f64>,
    mem: Vec<f64>,
    spk: Vec<f64>,
    reset: Vec<f64>,
    syn: Vec<f64>,
    inputs: Vec<PopTrace>,
}

impl Block {
    /// Samples of the last pass.
    pub fn samples(&self) -> usize {
        self.samples
    }

    /// Population `q`'s membrane of neuron `j` at step `t` in sample `k`.
    #[inline]
    pub fn mem(&self, q: usize, t: usize, j: usize, k: usize) -> f64 {
        let n = self.pops[q].now.len() / self.samples;
        self.pops[q].mem[(t * n + j) * self.samples + k]
    }

    /// Writes sample `k`'s record into `tr` as [`Net::forward`] would have left it: every
    /// membrane, spike and reset (and the adaptation of an adaptive population), the final
    /// state, and the inputs' values.
    pub fn trace_into(&self, net: &Net, k: usize, tr: &mut Trace) {
        let (bs, steps) = (self.samples, self.steps);
        tr.steps = steps;
        tr.pops.resize_with(self.pops.len(), PopTrace::default);
        for (q, (bp, pt)) in self.pops.iter().zip(&mut tr.pops).enumerate() {
            if net.pops()[q].kind == PopKind::Input {
                let src = &bp.inputs[k];
                pt.active.clone_from(&src.active);
                pt.start.clone_from(&src.start);
                pt.constant = src.constant;
                for v in [&mut pt.now, &mut pt.a, &mut pt.b, &mut pt.syn] {
                    v.clear();
                }
                continue;
            }
            let n = net.pops()[q].size;
            let gather = |src: &[f64], dst: &mut Vec<f64>, rows: usize| {
                dst.clear();
                dst.extend((0..rows * n).map(|c| src[c * bs + k]));
            };
            gather(&bp.mem, &mut pt.mem, steps);
            gather(&bp.spk, &mut pt.spk, steps);
            gather(&bp.reset, &mut pt.reset, steps);
            gather(&bp.now, &mut pt.now, 1);
            gather(&bp.a, &mut pt.a, 1);
            gather(&bp.b, &mut pt.b, 1);
            if bp.syn.is_empty() {
                pt.syn.clear();
            } else {
                gather(&bp.syn, &mut pt.syn, steps);
            }
        }
    }
}

impl Net {
    /// Whether [`Net::forward_block`] runs `p`: no population has learned decays.
    pub fn blockable(&self, p: &Params) -> bool {
        p.decays.iter().all(Option::is_none)
    }

    /// [`Net::forward`] of `inputs.len()` samples at once (`inputs[k]`: sample k's values,
    /// one per [`Net::inputs`]; every sample's input q is constant, or every sample's is
    /// dense), recording into `blk`. Each sample's record is the same bits as its own
    /// forward pass ([`Block::trace_into`]).
    ///
    /// # Panics
    /// If `p` has learned decays ([`Net::blockable`]), or the inputs do not fit the plan.
    pub fn forward_block(&self, p: &Params, steps: usize, inputs: &[Vec<Seq>], blk: &mut Block) {
        widest!(
            self,
            forward_block_body(p: &Params, steps: usize, inputs: &[Vec<Seq>], blk: &mut Block)
        )
    }

    #[inline(always)]
    fn forward_block_body(&self, p: &Params, steps: usize, inputs: &[Vec<Seq>], blk: &mut Block) {
        assert!(self.blockable(p), "a block pass steps no learned decays");
        assert_eq!(
            p.weights.len(),
            self.links().len(),
            "one weight slice per link"
        );
        let pops = self.pops();
        let bs = inputs.len();
        blk.samples = bs;
        blk.steps = steps;
        blk.pops.resize_with(pops.len(), BlockPop::default);
        for (q, pop) in pops.iter().enumerate() {
            let bp = &mut blk.pops[q];
            let n = if pop.kind == PopKind::Input {
                0
            } else {
                pop.size * bs
            };
            for v in [&mut bp.now, &mut bp.a, &mut bp.b] {
                v.clear();
                v.resize(n, 0.0);
            }
            for v in [&mut bp.mem, &mut bp.spk, &mut bp.reset] {
                v.resize(steps * n, 0.0);
            }
            let adaptive = matches!(pop.kind, PopKind::Neurons(nr) if nr.model.adaptive());
            bp.syn.resize(if adaptive { steps * n } else { 0 }, 0.0);
        }
        // Inputs, per sample.
        for (slot, &q) in self.inputs().iter().enumerate() {
            let bp = &mut blk.pops[q];
            bp.inputs.resize_with(bs, PopTrace::default);
            for (k, sample) in inputs.iter().enumerate() {
                assert_eq!(sample.len(), self.inputs().len(), "one Seq per input");
                fill_input(&mut bp.inputs[k], sample[slot], pops[q].size, steps);
            }
            let constant = bp.inputs.first().is_none_or(|t| t.constant);
            assert!(
                bp.inputs.iter().all(|t| t.constant == constant),
                "every sample's input is constant, or every sample's is dense"
            );
        }
        let constant: Vec<bool> = self
            .links()
            .iter()
            .map(|link| {
                pops[link.pre].kind == PopKind::Input
                    && blk.pops[link.pre].inputs.first().is_none_or(|t| t.constant)
            })
            .collect();
        // What is the same on every step, per sample as in `forward`: the bias, then the
        // links from constant inputs; laid out neuron-major.
        for (q, pop) in pops.iter().enumerate() {
            if pop.kind == PopKind::Input {
                continue;
            }
            let n = pop.size;
            let mut base = std::mem::take(&mut blk.pops[q].base);
            base.clear();
            base.resize(n * bs, 0.0);
            let mut row = std::mem::take(&mut blk.row);
            for k in 0..bs {
                row.clear();
                match p.biases.get(q).copied().flatten() {
                    Some(b) => row.extend_from_slice(b),
                    None => row.resize(n, 0.0),
                }
                for &l in self.into(q) {
                    if constant[l] {
                        let link = &self.links()[l];
                        let active = blk.pops[link.pre].inputs[k].input_at(0).iter();
                        add_rows(
                            &link.storage,
                            p.weights[l],
                            active.map(|&(i, v)| (i as usize, v)),
                            &mut row,
                        );
                    }
                }
                for j in 0..n {
                    base[j * bs + k] = row[j];
                }
            }
            blk.row = row;
            blk.pops[q].base = base;
        }
        let mut cur = std::mem::take(&mut blk.cur);
        for t in 0..steps {
            for (q, pop) in pops.iter().enumerate() {
                let PopKind::Neurons(neuron) = pop.kind else {
                    continue;
                };
                let n = pop.size;
                cur.clear();
                cur.extend_from_slice(&blk.pops[q].base);
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
                    let w = p.weights[l];
                    let pre = &blk.pops[link.pre];
                    if pops[link.pre].kind == PopKind::Input {
                        for (k, input) in pre.inputs.iter().enumerate() {
                            add_strided(&link.storage, w, input.input_at(s), n, bs, k, &mut cur);
                        }
                        continue;
                    }
                    let m = pops[link.pre].size;
                    let spk = &pre.spk[s * m * bs..(s + 1) * m * bs];
                    add_active_rows(&link.storage, w, spk, n, bs, &mut cur);
                }
                let bp = &mut blk.pops[q];
                with_neuron!(neuron, nr, R => step_block::<_, R>(nr, neuron.threshold, &cur, bp, t));
            }
        }
        blk.cur = cur;
    }
}

/// Adds sample `k`'s active input rows (`active`, (neuron, value) pairs in order) into its
/// column of the neuron-major `cur` (`bs` samples).
#[inline(always)]
fn add_strided(
    storage: &Storage,
    w: &[f64],
    active: &[(u32, f64)],
    n: usize,
    bs: usize,
    k: usize,
    cur: &mut [f64],
) {
    for &(i, v) in active {
        let i = i as usize;
        match storage {
            Storage::Dense => {
                for (j, &wij) in w[i * n..(i + 1) * n].iter().enumerate() {
                    cur[j * bs + k] += v * wij;
                }
            }
            Storage::Sparse { indptr, indices } => {
                for s in indptr[i]..indptr[i + 1] {
                    cur[indices[s] as usize * bs + k] += v * w[s];
                }
            }
        }
    }
}

/// Adds, for every presynaptic neuron i and sample b where `spk[i·bs + b]` ≠ 0, its value
/// times row i of `w` into sample b's column of `cur`: rows in ascending order, and a silent
/// sample's sum left as it is (a select, not an added zero), so each sample's sums are its
/// own forward pass's bits. A row silent in every sample is skipped.
#[inline(always)]
fn add_active_rows(
    storage: &Storage,
    w: &[f64],
    spk: &[f64],
    n: usize,
    bs: usize,
    cur: &mut [f64],
) {
    let m = spk.len() / bs;
    for i in 0..m {
        let sv = &spk[i * bs..(i + 1) * bs];
        if sv.iter().all(|&v| v == 0.0) {
            continue;
        }
        let mut add = |j: usize, wij: f64| {
            for (c, &v) in cur[j * bs..(j + 1) * bs].iter_mut().zip(sv) {
                *c = if v != 0.0 { *c + v * wij } else { *c };
            }
        };
        match storage {
            Storage::Dense => {
                for (j, &wij) in w[i * n..(i + 1) * n].iter().enumerate() {
                    add(j, wij);
                }
            }
            Storage::Sparse { indptr, indices } => {
                for s in indptr[i]..indptr[i + 1] {
                    add(indices[s] as usize, w[s]);
                }
            }
        }
    }
}

/// One step of a population of the block from the input `cur` (neurons × samples): the
/// model's step over every neuron of every sample, recorded at step `t`.
fn step_block<N: SnnTorchStep<f64>, R: ResetKind>(
    neuron: N,
    theta: f64,
    cur: &[f64],
    bp: &mut BlockPop,
    t: usize,
) {
    let len = cur.len();
    let row = t * len..(t + 1) * len;
    step_rows::<N, R>(
        neuron,
        theta,
        cur,
        (&mut bp.now[..len], &mut bp.a[..len], &mut bp.b[..len]),
        (
            &mut bp.mem[row.clone()],
            &mut bp.reset[row.clone()],
            &mut bp.spk[row.clone()],
        ),
    );
    if N::ADAPTIVE {
        bp.syn[row].copy_from_slice(&bp.a[..len]);
    }
}
