//! The backward pass of a decision, factored, for the networks the agents run: inputs that
//! are the same on every step, one spiking population, and one leaky readout (reset `NoReset`)
//! whose mean membrane over the T steps is the output z (the action logits). Every gradient is
//! then linear in dz = ∂L/∂z:
//!
//! ```text
//! ∂L/∂W2[j,c] = dz_c·q_j,       q_j = Σ_t κ_t·spk_t,j,   κ_t = (1/T)·Σ_{s≥t} β_r^(s−t)
//! Σ_t ∂L/∂x_t,j = u_j·ν_j,      u = W2·dz,  ν_j = Σ_t λ_t,j
//! ```
//!
//! with λ_t the x̄_t of the neuron's adjoint recursion driven by κ_t·σ'(mem_t − θ) instead of
//! (W2·ō_t)·σ'(mem_t − θ) (the model's [`SnnTorchStep::adjoint`]). So a decision keeps q and ν
//! (two vectors of the hidden size) instead of its whole trace, and its gradient can be formed
//! later for any dz (for REINFORCE: once the advantage is known). [`Net::backward`] computes
//! the same numbers unfactored (tested).
//!
//! The forward pass of such a decision has its own fused form here too
//! ([`Net::forward_shallow`], the same bits as [`Net::forward`], tested), and
//! [`Net::decide_shallow`] runs it and the factors in one pass: the hidden neurons do not
//! depend on each other, so a block of them goes through its T forward steps and straight
//! back through its factors while its records are in L1, eight neurons at a time with their
//! state in registers. A decision is the unit of work of training, hundreds of thousands per
//! second, so its loops are written to vectorise and are compiled per CPU vector width, and
//! nothing in it allocates or clears what it overwrites.

use super::neuron::{with_neuron, with_surrogate, FastSigmoidGrad, SurrogateGrad};
use super::run::{add_rows, step_pop_through};
use super::{Model, Net, Params, PopKind, PopTrace, Storage, Trace};
use crate::file::Reset;
use crate::models::step::{heaviside, keep, ResetKind, SnnTorchStep};
use crate::width::widest;

/// The populations of a network the factored pass applies to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shallow {
    /// The spiking population.
    pub hidden: usize,
    /// The readout.
    pub readout: usize,
    /// The readout's decay β_r.
    pub beta_out: f64,
}

impl Net {
    /// The factored pass's populations when the network has its shape (inputs → one spiking
    /// population → one `NoReset` leaky readout, nothing recurrent), else why not.
    pub fn shallow(&self) -> Result<Shallow, String> {
        let [readout] = self.readouts() else {
            return Err("the network must have one readout".into());
        };
        let readout = *readout;
        let beta_out = match self.neuron(readout) {
            Some(n) if n.reset == Reset::NoReset => match n.model {
                Model::Leaky { beta } => beta,
                _ => return Err("the readout must be Lif SnnTorch(reset: NoReset)".into()),
            },
            _ => return Err("the readout must be Lif SnnTorch(reset: NoReset)".into()),
        };
        let into_readout = self.into(readout);
        let [l] = into_readout else {
            return Err("the readout must have one incoming projection".into());
        };
        let hidden = self.links()[*l].pre;
        let pops = self.pops();
        let spiking = pops
            .iter()
            .enumerate()
            .filter(|(_, p)| p.kind != PopKind::Input)
            .count();
        if self.neuron(hidden).is_some_and(|n| n.model.adaptive()) {
            return Err(
                "the factored pass has no adaptive threshold (an Alif hidden population)".into(),
            );
        }
        if self.neuron(hidden).is_none_or(|n| n.graded()) || spiking != 2 {
            return Err(
                "the network must have one hidden population between its inputs and its readout"
                    .into(),
            );
        }
        let hidden_ok = self.into(hidden).iter().all(|&k| {
            let pre = self.links()[k].pre;
            pops[pre].kind == PopKind::Input
        }) && self.out_of(hidden) == [*l];
        if !hidden_ok || self.links().iter().any(|k| k.recurrent) {
            return Err(
                "the hidden population must be fed by the inputs only and feed only the readout"
                    .into(),
            );
        }
        Ok(Shallow {
            hidden,
            readout,
            beta_out,
        })
    }

    /// Writes q and ν of a decision (see the module documentation) from the trace of its
    /// forward pass; `shape` is [`Net::shallow`].
    pub fn policy_factors(&self, shape: Shallow, tr: &mut Trace, q: &mut [f64], nu: &mut [f64]) {
        let neuron = self.neuron(shape.hidden).expect("a spiking population");
        with_neuron!(neuron, n, R => with_surrogate!(self.surrogate(), g =>
            policy_factors_with::<_, R, _>(n, neuron.threshold, g, shape, tr, q, nu)
        ))
    }

    /// The forward pass of a network of the [`Net::shallow`] shape with one input population
    /// whose values `inputs` are the same on every step: the same numbers into `tr` as
    /// [`Net::forward`] with one [`Seq::Constant`](super::Seq::Constant) (bit for bit;
    /// tested), fused for the agents' decisions. The hidden population's input is the same on
    /// every step, so it is summed once; the hidden neurons are independent of each other, so
    /// they run 64 at a time through all T steps (their state and records stay in L1),
    /// each step one branch-free, vectorised loop; the readout's currents gather the rows of
    /// the neurons that spiked, in neuron order, block after block; the recorded rows are
    /// written once, never cleared first; nothing is allocated once `tr` has the sizes.
    pub fn forward_shallow(
        &self,
        shape: Shallow,
        p: &Params,
        steps: usize,
        inputs: &[(u32, f64)],
        tr: &mut Trace,
    ) {
        let factors = None;
        widest!(
            Net,
            self,
            shallow_body(
                shape: Shallow,
                p: &Params,
                steps: usize,
                inputs: &[(u32, f64)],
                tr: &mut Trace,
                factors: Option<(&mut [f64], &mut [f64])>
            )
        )
    }

    /// [`Net::forward_shallow`] and [`Net::policy_factors`] in one pass: each block of hidden
    /// neurons is stepped back for its q and ν right after its T forward steps, while its
    /// records are still in L1, so the hidden membranes and resets of the whole decision are
    /// never written out (`tr` records the spikes of both populations and the readout's
    /// membranes and resets, not the hidden ones). The same bits as the two calls (tested).
    pub fn decide_shallow(
        &self,
        shape: Shallow,
        p: &Params,
        steps: usize,
        inputs: &[(u32, f64)],
        tr: &mut Trace,
        (q, nu): (&mut [f64], &mut [f64]),
    ) {
        let factors = Some((q, nu));
        widest!(
            Net,
            self,
            shallow_body(
                shape: Shallow,
                p: &Params,
                steps: usize,
                inputs: &[(u32, f64)],
                tr: &mut Trace,
                factors: Option<(&mut [f64], &mut [f64])>
            )
        )
    }

    /// The work of [`Net::forward_shallow`] and [`Net::decide_shallow`], inlined into each
    /// width's copy.
    #[inline(always)]
    fn shallow_body(
        &self,
        shape: Shallow,
        p: &Params,
        steps: usize,
        inputs: &[(u32, f64)],
        tr: &mut Trace,
        factors: Option<(&mut [f64], &mut [f64])>,
    ) {
        let [input] = self.inputs() else {
            panic!("forward_shallow needs one input population");
        };
        let pops = self.pops();
        let (hid, out) = (shape.hidden, shape.readout);
        let (h, o) = (pops[hid].size, pops[out].size);
        tr.steps = steps;
        tr.pops.resize_with(pops.len(), PopTrace::default);
        tr.base.resize_with(pops.len(), Vec::new);
        let t = &mut tr.pops[out];
        for v in [&mut t.now, &mut t.a, &mut t.b] {
            v.clear();
            v.resize(o, 0.0);
        }
        // Every recorded cell is written below.
        for v in [&mut t.mem, &mut t.spk, &mut t.reset] {
            v.resize(steps * o, 0.0);
        }
        let t = &mut tr.pops[hid];
        t.spk.resize(steps * h, 0.0);
        if factors.is_none() {
            t.mem.resize(steps * h, 0.0);
            t.reset.resize(steps * h, 0.0);
        }
        let it = &mut tr.pops[*input];
        it.active.clear();
        it.active.extend_from_slice(inputs);
        it.start.clear();
        it.start.extend([0, inputs.len()]);
        it.constant = true;
        // The constant inputs: bias, then every link from the input (all of the hidden
        // population's links), as `forward` sums them.
        for q in [hid, out] {
            let base = &mut tr.base[q];
            base.clear();
            match p.biases.get(q).copied().flatten() {
                Some(b) => base.extend_from_slice(b),
                None => base.resize(pops[q].size, 0.0),
            }
        }
        for &l in self.into(hid) {
            let link = &self.links()[l];
            add_rows(
                &link.storage,
                p.weights[l],
                inputs.iter().map(|&(i, v)| (i as usize, v)),
                &mut tr.base[hid],
            );
        }
        let [l_out] = self.into(out) else {
            unreachable!("a shallow readout has one incoming link")
        };
        let readout_in = (&self.links()[*l_out].storage, p.weights[*l_out]);
        // The readout's currents of every step, each starting from its constant input.
        let mut cur = std::mem::take(&mut tr.cur);
        cur.clear();
        for _ in 0..steps {
            cur.extend_from_slice(&tr.base[out][..o]);
        }
        let mut scratch = std::mem::take(&mut tr.factors);
        let hidden = self.neuron(hid).expect("hidden neurons");
        let consts = (hidden.threshold, shape.beta_out, steps);
        let (x_h, pt) = (&tr.base[hid][..h], &mut tr.pops[hid]);
        match factors {
            None => with_neuron!(hidden, n, R => hidden_blocks::<_, R, FastSigmoidGrad>(
                (n, None), consts, x_h, readout_in, pt, &mut cur, &mut scratch
            )),
            Some((q, nu)) => with_neuron!(hidden, n, R => with_surrogate!(self.surrogate(), g =>
                hidden_blocks::<_, R, _>(
                    (n, Some((g, &mut *q, &mut *nu))), consts, x_h, readout_in, pt, &mut cur,
                    &mut scratch
                )
            )),
        }
        tr.factors = scratch;
        let readout = self.neuron(out).expect("readout neurons");
        let pt = &mut tr.pops[out];
        with_neuron!(readout, n, R => step_pop_through::<_, R>(n, readout.threshold, &cur, pt));
        tr.cur = cur;
    }
}

/// Hidden neurons stepped together through a decision by [`Net::forward_shallow`] and
/// [`Net::decide_shallow`]: a block's inputs, records of T = 10 steps and factors take
/// ≈ 16 KB, well inside L1.
const BLOCK: usize = 64;
const _: () = assert!(BLOCK <= 64, "a block's spikes are one 64-bit mask");
const _: () = assert!(BLOCK.is_multiple_of(LANES), "a block is whole lanes");

/// Neurons the factors of a block step back together, each one's adjoint state held in a
/// register through all T steps: eight f64 are one AVX-512 vector (two AVX2, four SSE2 ones).
const LANES: usize = 8;

/// The hidden population of a shallow decision, [`BLOCK`] neurons at a time: T forward steps
/// (spikes into `pt.spk`, membranes and resets into `pt` too when no factors are asked for),
/// the rows of the neurons that spiked added into the readout's currents `cur` (steps × o),
/// then, with `factors`, the block's q and ν stepped back from its records.
#[inline(always)]
#[allow(clippy::type_complexity)]
fn hidden_blocks<N: SnnTorchStep<f64>, R: ResetKind, G: SurrogateGrad>(
    (neuron, factors): (N, Option<(G, &mut [f64], &mut [f64])>),
    (theta, beta_out, steps): (f64, f64, usize),
    x_h: &[f64],
    (storage, w2): (&Storage, &[f64]),
    pt: &mut PopTrace,
    cur: &mut [f64],
    scratch: &mut Vec<f64>,
) {
    let h = x_h.len();
    let o = cur.len() / steps.max(1);
    // Every cell is written before it is read: not cleared.
    let len = (3 + 3 * steps) * BLOCK + steps;
    if scratch.len() < len {
        scratch.resize(len, 0.0);
    }
    let (x_b, rest) = scratch[..len].split_at_mut(BLOCK);
    let (q_b, rest) = rest.split_at_mut(BLOCK);
    let (nu_b, rest) = rest.split_at_mut(BLOCK);
    let (mem_b, rest) = rest.split_at_mut(steps * BLOCK);
    let (reset_b, rest) = rest.split_at_mut(steps * BLOCK);
    let (spk_b, kappas) = rest.split_at_mut(steps * BLOCK);
    // κ_t = 1/T + β_r·κ_{t+1}, from the last step back (see the module documentation).
    let mut kappa = 0.0;
    for k in kappas.iter_mut().rev() {
        kappa = 1.0 / steps as f64 + beta_out * kappa;
        *k = kappa;
    }
    let (g, q, nu) = match factors {
        Some((g, q, nu)) => (Some(g), q, nu),
        None => (None, &mut [][..], &mut [][..]),
    };
    for j0 in (0..h).step_by(BLOCK) {
        let n = BLOCK.min(h - j0);
        // Whole lanes: the padding lanes step from zero input, and their records are never
        // read.
        let lanes = n.div_ceil(LANES) * LANES;
        x_b[..n].copy_from_slice(&x_h[j0..j0 + n]);
        x_b[n..lanes].iter_mut().for_each(|x| *x = 0.0);
        forward_block::<N, R>(
            (neuron, theta, steps),
            &x_b[..lanes],
            (&mut *mem_b, &mut *reset_b, &mut *spk_b),
        );
        for t in 0..steps {
            let (rec, row) = (t * BLOCK..t * BLOCK + n, t * h + j0..t * h + j0 + n);
            pt.spk[row.clone()].copy_from_slice(&spk_b[rec.clone()]);
            add_spiking_rows(
                storage,
                w2,
                j0,
                &spk_b[rec.clone()],
                &mut cur[t * o..(t + 1) * o],
            );
            if g.is_none() {
                pt.mem[row.clone()].copy_from_slice(&mem_b[rec.clone()]);
                pt.reset[row].copy_from_slice(&reset_b[rec]);
            }
        }
        if let Some(g) = g {
            factor_block::<N, R, G>(
                (neuron, theta, g),
                kappas,
                (&*spk_b, &*mem_b, &*reset_b),
                (&mut q_b[..lanes], &mut nu_b[..lanes]),
            );
            q[j0..j0 + n].copy_from_slice(&q_b[..n]);
            nu[j0..j0 + n].copy_from_slice(&nu_b[..n]);
        }
    }
}

/// T forward steps of one block's hidden neurons (inputs `x`, a whole number of lanes) from
/// zero state: the membrane, reset and spike of step t into row t ([`BLOCK`] wide) of `mem`,
/// `reset` and `spk`. [`LANES`] neurons at a time go through all T steps with their state in
/// registers, each part of a step one short loop over the lanes (which the compiler turns
/// into vector operations); each neuron's arithmetic is the model's step, in its order.
/// Compiled per CPU vector width.
#[inline]
fn forward_block<N: SnnTorchStep<f64>, R: ResetKind>(
    consts: (N, f64, usize),
    x: &[f64],
    rec: (&mut [f64], &mut [f64], &mut [f64]),
) {
    widest!(fn forward_block_body::<N: SnnTorchStep<f64>, R: ResetKind>(
        consts: (N, f64, usize),
        x: &[f64],
        rec: (&mut [f64], &mut [f64], &mut [f64])
    ))
}

/// The work of [`forward_block`].
#[inline(always)]
fn forward_block_body<N: SnnTorchStep<f64>, R: ResetKind>(
    (neuron, theta, steps): (N, f64, usize),
    x: &[f64],
    (mem, reset, spk): (&mut [f64], &mut [f64], &mut [f64]),
) {
    for (k, xs) in x.chunks_exact(LANES).enumerate() {
        let l0 = k * LANES;
        let (mut now, mut a, mut b) = ([0.0; LANES], [0.0; LANES], [0.0; LANES]);
        for t in 0..steps {
            let at = t * BLOCK + l0..t * BLOCK + l0 + LANES;
            let mut r = [0.0; LANES];
            for l in 0..LANES {
                r[l] = heaviside(now[l], neuron.threshold(theta, a[l]));
            }
            for l in 0..LANES {
                neuron.step::<R>(r[l], xs[l], &mut now[l], &mut a[l], &mut b[l]);
            }
            let mut s = [0.0; LANES];
            for l in 0..LANES {
                s[l] = neuron.output(now[l], neuron.threshold(theta, a[l]));
            }
            mem[at.clone()].copy_from_slice(&now);
            reset[at.clone()].copy_from_slice(&r);
            spk[at].copy_from_slice(&s);
        }
    }
}

/// The factors q and ν (a whole number of lanes) of one block's hidden neurons from the
/// records of its forward steps (rows [`BLOCK`] wide), stepping back from the last step:
/// [`LANES`] neurons at a time with their adjoint state and sums in registers through all T
/// steps; each neuron's arithmetic is [`factor_step`], as in [`factor_rows`] (the same bits).
/// Compiled per CPU vector width.
#[inline]
#[allow(clippy::type_complexity)]
fn factor_block<N: SnnTorchStep<f64>, R: ResetKind, G: SurrogateGrad>(
    consts: (N, f64, G),
    kappas: &[f64],
    rec: (&[f64], &[f64], &[f64]),
    out: (&mut [f64], &mut [f64]),
) {
    widest!(fn factor_block_body::<N: SnnTorchStep<f64>, R: ResetKind, G: SurrogateGrad>(
        consts: (N, f64, G),
        kappas: &[f64],
        rec: (&[f64], &[f64], &[f64]),
        out: (&mut [f64], &mut [f64])
    ))
}

/// The work of [`factor_block`].
#[inline(always)]
#[allow(clippy::type_complexity)]
fn factor_block_body<N: SnnTorchStep<f64>, R: ResetKind, G: SurrogateGrad>(
    (neuron, theta, surrogate): (N, f64, G),
    kappas: &[f64],
    (spk, mem, reset): (&[f64], &[f64], &[f64]),
    (q, nu): (&mut [f64], &mut [f64]),
) {
    let lanes = q.len().min(nu.len());
    for l0 in (0..lanes).step_by(LANES) {
        let (mut qs, mut nus) = ([0.0; LANES], [0.0; LANES]);
        let (mut mu, mut a, mut b, mut k_next) =
            ([0.0; LANES], [0.0; LANES], [0.0; LANES], [0.0; LANES]);
        for (t, &kappa) in kappas.iter().enumerate().rev() {
            let at = t * BLOCK + l0..t * BLOCK + l0 + LANES;
            let s: &[f64; LANES] = spk[at.clone()].try_into().expect("lanes");
            let m: &[f64; LANES] = mem[at.clone()].try_into().expect("lanes");
            let r: &[f64; LANES] = reset[at].try_into().expect("lanes");
            for l in 0..LANES {
                factor_step::<N, R, G>(
                    (neuron, theta, surrogate, kappa),
                    (s[l], m[l], r[l]),
                    (&mut qs[l], &mut nus[l]),
                    (&mut mu[l], &mut a[l], &mut b[l], &mut k_next[l]),
                );
            }
        }
        q[l0..l0 + LANES].copy_from_slice(&qs);
        nu[l0..l0 + LANES].copy_from_slice(&nus);
    }
}

/// Adds the readout rows of the neurons `j0 + i` that spiked (`spk[i] ≠ 0`, at most 64 of
/// them) into `cur`, in neuron order, as `forward` does. Spikes are rare and irregular: the
/// block's spikes become one 64-bit mask (a vector compare), and only its set bits are
/// visited, so the branches taken are one per spike instead of one per neuron.
#[inline(always)]
fn add_spiking_rows(storage: &Storage, w2: &[f64], j0: usize, spk: &[f64], cur: &mut [f64]) {
    let o = cur.len();
    match storage {
        Storage::Dense => {
            debug_assert!(spk.len() <= 64, "one mask holds a block");
            let mut mask = spk
                .iter()
                .enumerate()
                .fold(0u64, |m, (i, &s)| m | (u64::from(s != 0.0) << i));
            while mask != 0 {
                let i = mask.trailing_zeros() as usize;
                mask &= mask - 1;
                let (j, s) = (j0 + i, spk[i]);
                for (c, w) in cur.iter_mut().zip(&w2[j * o..(j + 1) * o]) {
                    *c += s * w;
                }
            }
        }
        Storage::Sparse { .. } => add_rows(
            storage,
            w2,
            spk.iter()
                .enumerate()
                .filter(|(_, &s)| s != 0.0)
                .map(|(i, &s)| (j0 + i, s)),
            cur,
        ),
    }
}

fn policy_factors_with<N: SnnTorchStep<f64>, R: ResetKind, G: SurrogateGrad>(
    neuron: N,
    theta: f64,
    surrogate: G,
    shape: Shallow,
    tr: &mut Trace,
    q: &mut [f64],
    nu: &mut [f64],
) {
    let steps = tr.steps;
    let mut back = std::mem::take(&mut tr.factors);
    let pt = &tr.pops[shape.hidden];
    let h = q.len();
    q.iter_mut().for_each(|x| *x = 0.0);
    nu.iter_mut().for_each(|x| *x = 0.0);
    back.clear();
    back.resize(4 * h, 0.0);
    let (mu, rest) = back.split_at_mut(h);
    let (a, rest) = rest.split_at_mut(h);
    let (b, k_next) = rest.split_at_mut(h);
    let mut kappa = 0.0;
    for t in (0..steps).rev() {
        kappa = 1.0 / steps as f64 + shape.beta_out * kappa;
        let row = t * h..(t + 1) * h;
        let (spk, mem, reset) = (&pt.spk[row.clone()], &pt.mem[row.clone()], &pt.reset[row]);
        factor_rows::<N, R, G>(
            (neuron, theta, surrogate, kappa),
            (spk, mem, reset),
            (q, nu),
            (mu, a, b, k_next),
        );
    }
    tr.factors = back;
}

/// One step back of the factors over the hidden neurons (see the module documentation),
/// compiled per CPU vector width ([`widest!`]).
#[inline]
#[allow(clippy::type_complexity)]
fn factor_rows<N: SnnTorchStep<f64>, R: ResetKind, G: SurrogateGrad>(
    consts: (N, f64, G, f64),
    rows: (&[f64], &[f64], &[f64]),
    out: (&mut [f64], &mut [f64]),
    adj: (&mut [f64], &mut [f64], &mut [f64], &mut [f64]),
) {
    widest!(fn factor_rows_body::<N: SnnTorchStep<f64>, R: ResetKind, G: SurrogateGrad>(
        consts: (N, f64, G, f64),
        rows: (&[f64], &[f64], &[f64]),
        out: (&mut [f64], &mut [f64]),
        adj: (&mut [f64], &mut [f64], &mut [f64], &mut [f64])
    ))
}

/// The loop of [`factor_rows`]: every slice cut to the same length and no branch in the body
/// (for the fast sigmoid and atan surrogates), so the compiler vectorises it; each neuron's
/// arithmetic in the model's order.
#[inline(always)]
#[allow(clippy::type_complexity)]
fn factor_rows_body<N: SnnTorchStep<f64>, R: ResetKind, G: SurrogateGrad>(
    (neuron, theta, surrogate, kappa): (N, f64, G, f64),
    (spk, mem, reset): (&[f64], &[f64], &[f64]),
    (q, nu): (&mut [f64], &mut [f64]),
    (mu, a, b, k_next): (&mut [f64], &mut [f64], &mut [f64], &mut [f64]),
) {
    let h = q.len();
    let (spk, mem, reset, nu) = (&spk[..h], &mem[..h], &reset[..h], &mut nu[..h]);
    let (mu, a, b, k_next) = (&mut mu[..h], &mut a[..h], &mut b[..h], &mut k_next[..h]);
    for j in 0..h {
        factor_step::<N, R, G>(
            (neuron, theta, surrogate, kappa),
            (spk[j], mem[j], reset[j]),
            (&mut q[j], &mut nu[j]),
            (&mut mu[j], &mut a[j], &mut b[j], &mut k_next[j]),
        );
    }
}

/// One neuron's step back of the factors at step t (see the module documentation): κ_t·s_t
/// into `q`, the adjoint's term into `nu`, with the neuron's adjoint state (μ, a, b) and the
/// keep factor of step t + 1 (`k_next`, left as step t's). Written once for [`factor_rows`]
/// and [`factor_block`], so both give the same bits.
#[inline(always)]
#[allow(clippy::type_complexity)]
fn factor_step<N: SnnTorchStep<f64>, R: ResetKind, G: SurrogateGrad>(
    (neuron, theta, surrogate, kappa): (N, f64, G, f64),
    (s, m, r): (f64, f64, f64),
    (q, nu): (&mut f64, &mut f64),
    (mu, a, b, k_next): (&mut f64, &mut f64, &mut f64, &mut f64),
) {
    *q += kappa * s;
    let drive = kappa * surrogate.at(m - theta);
    let k_t = keep::<R, f64>(r);
    *nu += neuron.adjoint(drive, k_t, *k_next, mu, a, b);
    *k_next = k_t;
}
