//! The fused one-pass update shared by the models with a membrane `v`, two synaptic variables
//! (one per receptor), a fixed threshold, a reset to a fixed value and a refractory count:
//! `Lif` (exact), `CobaLif` and `Qif` (Euler).
//!
//! A model gives only its per-neuron arithmetic ([`Kernel::integrate`], [`Kernel::decay`]); everything else is
//! written once here: the columns and their split into chunks, the choice of AVX-512 / AVX2 /
//! scalar code, the variants without the due or external-current columns (a column known to
//! be zero is not read), and the branch-free pass that integrates, tests threshold, resets and
//! counts refractoriness, marking a spike in the top bit of the counter ([`SPIKED`]) and
//! searching for the marks afterwards ([`take_marked`]) only in the stretches of [`SCAN`]
//! neurons where the pass saw one. Holds of 2³¹ steps or more leave no bit for the mark;
//! spikes are then flagged per block of [`BLOCK`] neurons instead.
//!
//! Everything is generic over the kernel and `#[inline(always)]`, so each model gets its own
//! monomorphised loop, the same code as a loop written for it alone (the refactoring of `Lif`
//! and `CobaLif` onto this module kept their instruction counts and every state hash).
//!
//! Order within a step, for every model here: the due input is added to the synaptic
//! variables (and the due buffers zeroed); `integrate` gives the new v from the old state and
//! `decay` the synaptic variables at the end of the step; a refractory neuron keeps its v; a neuron that is not held
//! spikes if v > v_th (strict), v ← v_reset, and it is held for `hold_steps` more steps.

use super::marked::{take_marked, Isa, SPIKED};
use super::{Reads, Split};
use crate::Real;

/// The per-neuron arithmetic of a model updated by this module.
pub(crate) trait Kernel: Copy + Sync {
    /// Steps a neuron is held after the step in which it spiked.
    fn hold_steps(&self) -> u32;
    /// Threshold: a spike when the updated v is above it.
    fn v_th(&self) -> Real;
    /// The value v is reset to.
    fn v_reset(&self) -> Real;
    /// The new membrane of one neuron from the start-of-step state: membrane `v`, the
    /// synaptic variables after delivery `s_e`, `s_i`, and the external current `i_ext` (a
    /// literal zero where none was given). Used unless the neuron is held.
    fn integrate(&self, v: Real, s_e: Real, s_i: Real, i_ext: Real) -> Real;
    /// The two synaptic variables at the end of the step, from their values after delivery
    /// (also while held).
    fn decay(&self, s_e: Real, s_i: Real) -> (Real, Real);
}

/// The columns of a chunk.
pub(crate) struct Cols<'a> {
    pub(crate) v: &'a mut [Real],
    /// Synaptic variable of the excitatory receptor.
    pub(crate) se: &'a mut [Real],
    /// Synaptic variable of the inhibitory receptor.
    pub(crate) si: &'a mut [Real],
    pub(crate) refr: &'a mut [u32],
    pub(crate) iext: &'a [Real],
    /// Input due this step, per receptor.
    pub(crate) de: &'a mut [Real],
    pub(crate) di: &'a mut [Real],
}

impl Split for Cols<'_> {
    fn neurons(&self) -> usize {
        self.v.len()
    }
    fn split_at(self, mid: usize) -> (Self, Self) {
        let (v0, v1) = self.v.split_at_mut(mid);
        let (e0, e1) = self.se.split_at_mut(mid);
        let (i0, i1) = self.si.split_at_mut(mid);
        let (r0, r1) = self.refr.split_at_mut(mid);
        let (x0, x1) = self.iext.split_at(mid);
        let (d0, d1) = self.de.split_at_mut(mid);
        let (f0, f1) = self.di.split_at_mut(mid);
        (
            Cols {
                v: v0,
                se: e0,
                si: i0,
                refr: r0,
                iext: x0,
                de: d0,
                di: f0,
            },
            Cols {
                v: v1,
                se: e1,
                si: i1,
                refr: r1,
                iext: x1,
                de: d1,
                di: f1,
            },
        )
    }
}

/// The update of one chunk with the widest vectors the CPU has.
#[inline(always)]
pub(crate) fn chunk<K: Kernel>(k: &K, reads: Reads, c: Cols, offset: u32, out: &mut Vec<u32>) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512F, the only feature the function enables.
        return unsafe { chunk_avx512(k, reads, c, offset, out) };
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, the only feature the function enables.
        return unsafe { chunk_avx2(k, reads, c, offset, out) };
    }
    chunk_isa(k, reads, c, offset, out, Isa::Scalar)
}

/// [`chunk_isa`] compiled for AVX-512F (eight lanes of f64, sixteen of f32). No FMA, as for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn chunk_avx512<K: Kernel>(k: &K, reads: Reads, c: Cols, offset: u32, out: &mut Vec<u32>) {
    chunk_isa(k, reads, c, offset, out, Isa::Avx512)
}

/// [`chunk_isa`] compiled for AVX2 (four lanes of f64 or eight of f32 instead of two or four).
/// No FMA: the operations, and so the results, are those of the generic build.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn chunk_avx2<K: Kernel>(k: &K, reads: Reads, c: Cols, offset: u32, out: &mut Vec<u32>) {
    chunk_isa(k, reads, c, offset, out, Isa::Avx2)
}

/// Neurons per block of the update when spikes are flagged rather than marked (a hold of 2³¹
/// steps or more): the flags of a block live in registers or L1.
pub(crate) const BLOCK: usize = 64;

/// Neurons per stretch of the update when spikes are marked: the marks of a stretch are searched
/// only if a neuron in it spiked. One search over a whole 4 096-neuron chunk read its counters
/// back from L2 on nearly every step (CUBA: about two spikes a step in 4 000 neurons); a
/// stretch per 64 neurons paid a horizontal reduction and a branch each, a fifth of the update.
/// 256 took CUBA-4k from 0.320 to 0.298 s and CUBA-400k from 6.36 to 6.02 s, COBA-4k (seven
/// spikes a step) unchanged within its noise (docs/performance.md).
const SCAN: usize = 256;

#[inline(always)]
fn chunk_isa<K: Kernel>(k: &K, reads: Reads, c: Cols, offset: u32, out: &mut Vec<u32>, isa: Isa) {
    // Marking spikes in the counter saves a flag array (about a tenth of the update's time);
    // it needs the counter's top bit free, that is a hold shorter than 2³¹ steps. Columns
    // known to be zero are not read (a quarter of the update's memory traffic each).
    match (k.hold_steps() < SPIKED, reads.due, reads.ext) {
        (true, false, false) => blocks::<K, true, false, false>(k, c, offset, out, isa),
        (true, false, true) => blocks::<K, true, false, true>(k, c, offset, out, isa),
        (true, true, false) => blocks::<K, true, true, false>(k, c, offset, out, isa),
        (true, true, true) => blocks::<K, true, true, true>(k, c, offset, out, isa),
        (false, ..) => blocks::<K, false, true, true>(k, c, offset, out, isa),
    }
}

/// A chunk's update, spikes marked (`MARK`) or flagged per block; public to the models' tests,
/// which check that both ways agree.
#[inline(always)]
pub(crate) fn blocks<K: Kernel, const MARK: bool, const DUE: bool, const EXT: bool>(
    k: &K,
    c: Cols,
    offset: u32,
    out: &mut Vec<u32>,
    isa: Isa,
) {
    // With marks, a block is a [`SCAN`]-neuron stretch whose marks are searched only if it
    // had a spike; with flags, a [`BLOCK`] whose flags sit in L1.
    let size = if MARK { SCAN } else { BLOCK };
    let n = c.v.len();
    let mut start = 0;
    while start < n {
        let end = (start + size).min(n);
        let mut fired = [0u8; BLOCK];
        let any = block::<K, MARK, DUE, EXT>(
            k,
            &mut c.v[start..end],
            &mut c.se[start..end],
            &mut c.si[start..end],
            &mut c.refr[start..end],
            &c.iext[start..end],
            &mut c.de[start..end],
            &mut c.di[start..end],
            &mut fired[..if MARK { 0 } else { end - start }],
        );
        if any != 0 {
            if MARK {
                take_marked(isa, &mut c.refr[start..end], offset + start as u32, out);
            } else {
                for (j, &f) in fired[..end - start].iter().enumerate() {
                    if f != 0 {
                        out.push(offset + (start + j) as u32);
                    }
                }
            }
        }
        start = end;
    }
}

/// One block: the slices are function arguments, so the compiler knows they do not overlap
/// and emits no run-time overlap checks. Returns non-zero if a neuron fired. With `MARK` the
/// spikes are marked by [`SPIKED`] in `refr` (and `fired` is empty), else flagged in `fired`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn block<K: Kernel, const MARK: bool, const DUE: bool, const EXT: bool>(
    k: &K,
    v: &mut [Real],
    se: &mut [Real],
    si: &mut [Real],
    refr: &mut [u32],
    iext: &[Real],
    de: &mut [Real],
    di: &mut [Real],
    fired: &mut [u8],
) -> u32 {
    let n = v.len();
    let (se, si, refr, iext) = (&mut se[..n], &mut si[..n], &mut refr[..n], &iext[..n]);
    let (de, di) = (&mut de[..n], &mut di[..n]);
    let fired = &mut fired[..if MARK { 0 } else { n }];
    let hold = if MARK {
        k.hold_steps() | SPIKED
    } else {
        k.hold_steps()
    };
    let mut any = 0u32;
    for j in 0..n {
        // Without `DUE` or `EXT` the column is zero: the zero is added all the same, so the
        // result is the same bits (x + 0 is not x for x = −0).
        let s_e = se[j] + if DUE { de[j] } else { 0.0 };
        let s_i = si[j] + if DUE { di[j] } else { 0.0 };
        if DUE {
            de[j] = 0.0;
            di[j] = 0.0;
        }
        // v is read once and the held neuron's value chosen by a select: written as
        // `if held { v[j] }`, the compiler turns the store into a masked store
        // (`vmaskmovpd`), microcoded on AMD's cores and twice as slow for the whole update.
        let v0 = v[j];
        let v_new = k.integrate(v0, s_e, s_i, if EXT { iext[j] } else { 0.0 });
        let r = refr[j];
        let held = r > 0;
        let v1 = std::hint::select_unpredictable(held, v0, v_new);
        let spike = !held & (v1 > k.v_th());
        v[j] = if spike { k.v_reset() } else { v1 };
        // r − 1 where held (r > 0): a vector max and subtraction rather than a compare, a
        // negation and an addition.
        let r_new = if spike { hold } else { r.saturating_sub(1) };
        refr[j] = r_new;
        (se[j], si[j]) = k.decay(s_e, s_i);
        if MARK {
            any |= r_new;
        } else {
            fired[j] = u8::from(spike);
            any |= u32::from(spike);
        }
    }
    if MARK {
        any & SPIKED
    } else {
        any
    }
}
