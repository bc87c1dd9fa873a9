//! Conductance-based leaky integrate-and-fire neuron with exponentially decaying conductances,
//! integrated with forward Euler: the COBA network of Brette et al. (2007), benchmark 1, as in
//! Brian2's and NEST's benchmark scripts.
//!
//! ```text
//! dv/dt     = (g_exc·(E_exc − v) + g_inh·(E_inh − v) − (v − E_L) + R·(I_bias + I_ext)) / τ_m
//! dg_exc/dt = −g_exc / τ_exc          dg_inh/dt = −g_inh / τ_inh
//! ```
//! Conductances are dimensionless, in units of the leak conductance (a weight of 0.6 is
//! 6 nS onto a 10 nS leak). Each step updates every variable from the values at the start of
//! the step (Brian2 `method='euler'`): v ← v + h·dv/dt (held while refractory), g ← g − h·g/τ.
//! Threshold, reset, refractoriness and spike stamping are those of [`super::lif`].

use super::marked::{take_marked, Isa, SPIKED};
use super::{chunks, for_chunks, refractory_steps, Reads, Split};
use crate::file::rules::{finite, positive, refractory, ParamResult};
use crate::file::CobaLifParams;
use crate::Real;

/// Constants of the update, computed once per (parameters, dt).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Consts {
    pub(crate) h_over_tau_m: Real,
    pub(crate) h_over_tau_exc: Real,
    pub(crate) h_over_tau_inh: Real,
    pub(crate) e_l: Real,
    pub(crate) e_exc: Real,
    pub(crate) e_inh: Real,
    pub(crate) r: Real,
    pub(crate) i_bias: Real,
    pub(crate) v_th: Real,
    pub(crate) v_reset: Real,
    pub(crate) hold_steps: u32,
}

/// A population of conductance-based LIF neurons.
#[derive(Debug, Clone)]
pub struct CobaLif {
    /// Parameters as given.
    pub params: CobaLifParams,
    /// Membrane potential (mV).
    pub v: Vec<Real>,
    /// Excitatory conductance (units of the leak conductance).
    pub g_exc: Vec<Real>,
    /// Inhibitory conductance (units of the leak conductance).
    pub g_inh: Vec<Real>,
    /// Steps of refractoriness left.
    pub refractory: Vec<u32>,
    /// External current from stimuli (nA). Written through
    /// [`CobaLif::external_current_mut`], which tells the update to read it.
    pub(crate) i_ext: Vec<Real>,
    /// Whether `i_ext` has been handed out for writing (else it is zero and not read).
    pub(crate) ext_used: bool,
    pub(crate) k: Consts,
}

impl CobaLif {
    /// `n` neurons at v = E_L with closed channels.
    pub fn new(params: CobaLifParams, n: usize, dt_ms: f64) -> Self {
        let k = Consts {
            h_over_tau_m: (dt_ms / params.tau_m_ms) as Real,
            h_over_tau_exc: (dt_ms / params.tau_syn_exc_ms) as Real,
            h_over_tau_inh: (dt_ms / params.tau_syn_inh_ms) as Real,
            e_l: params.e_l_mv as Real,
            e_exc: params.e_exc_mv as Real,
            e_inh: params.e_inh_mv as Real,
            r: params.r_mohm as Real,
            i_bias: params.i_bias_na as Real,
            v_th: params.v_th_mv as Real,
            v_reset: params.v_reset_mv as Real,
            hold_steps: refractory_steps(params.refractory_ms, dt_ms).saturating_sub(1),
        };
        CobaLif {
            v: vec![params.e_l_mv as Real; n],
            g_exc: vec![0.0; n],
            g_inh: vec![0.0; n],
            refractory: vec![0; n],
            i_ext: vec![0.0; n],
            ext_used: false,
            params,
            k,
        }
    }

    /// One step for every neuron: the input due this step (`due_*`) is added to the
    /// synaptic variables and zeroed; spikes go to `outs`, one buffer per chunk.
    pub fn update(&mut self, due_exc: &mut [Real], due_inh: &mut [Real], outs: &mut [Vec<u32>]) {
        self.update_with(due_exc, due_inh, true, outs)
    }

    /// [`CobaLif::update`]; with `due_live` false the due buffers are known to be zero (all
    /// the input went straight into the conductances) and are not read. The result is the
    /// same, bit for bit, as reading the zeros.
    pub fn update_with(
        &mut self,
        due_exc: &mut [Real],
        due_inh: &mut [Real],
        due_live: bool,
        outs: &mut [Vec<u32>],
    ) {
        debug_assert_eq!(outs.len(), chunks(self.v.len()));
        let cols = Cols {
            v: &mut self.v,
            ge: &mut self.g_exc,
            gi: &mut self.g_inh,
            refr: &mut self.refractory,
            iext: &self.i_ext,
            de: due_exc,
            di: due_inh,
        };
        let k = self.k;
        let reads = Reads {
            due: due_live,
            ext: self.ext_used,
        };
        for_chunks(cols, outs, &|c: Cols, offset, out: &mut Vec<u32>| {
            update_chunk(&k, reads, c, offset, out)
        });
    }

    /// The external current, for writing; from then on the update reads it (until then it
    /// is known to be zero and skipped).
    pub fn external_current_mut(&mut self) -> &mut [Real] {
        self.ext_used = true;
        &mut self.i_ext
    }
}

struct Cols<'a> {
    v: &'a mut [Real],
    ge: &'a mut [Real],
    gi: &'a mut [Real],
    refr: &'a mut [u32],
    iext: &'a [Real],
    de: &'a mut [Real],
    di: &'a mut [Real],
}

impl Split for Cols<'_> {
    fn neurons(&self) -> usize {
        self.v.len()
    }
    fn split_at(self, mid: usize) -> (Self, Self) {
        let (v0, v1) = self.v.split_at_mut(mid);
        let (e0, e1) = self.ge.split_at_mut(mid);
        let (i0, i1) = self.gi.split_at_mut(mid);
        let (r0, r1) = self.refr.split_at_mut(mid);
        let (x0, x1) = self.iext.split_at(mid);
        let (d0, d1) = self.de.split_at_mut(mid);
        let (f0, f1) = self.di.split_at_mut(mid);
        (
            Cols {
                v: v0,
                ge: e0,
                gi: i0,
                refr: r0,
                iext: x0,
                de: d0,
                di: f0,
            },
            Cols {
                v: v1,
                ge: e1,
                gi: i1,
                refr: r1,
                iext: x1,
                de: d1,
                di: f1,
            },
        )
    }
}

/// The update of one chunk: Euler step, threshold, reset and refractory count in one pass
/// without branches over the chunk (so it vectorises), with a spike marked in the neuron's
/// refractory counter and the marks searched for afterwards, only if the pass saw one
/// ([`take_marked`]). The arithmetic is that of the two-pass form (integrate, then `if
/// refractory { count down } else if v > v_th { reset }`), operation for operation.
fn update_chunk(k: &Consts, reads: Reads, c: Cols, offset: u32, out: &mut Vec<u32>) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512F, the only feature the function enables.
        return unsafe { euler_chunk_avx512(k, reads, c, offset, out) };
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, the only feature the function enables.
        return unsafe { euler_chunk_avx2(k, reads, c, offset, out) };
    }
    euler_chunk(k, reads, c, offset, out, Isa::Scalar)
}

/// [`euler_chunk`] compiled for AVX-512F (eight lanes of f64, sixteen of f32). No FMA, as for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn euler_chunk_avx512(k: &Consts, reads: Reads, c: Cols, offset: u32, out: &mut Vec<u32>) {
    euler_chunk(k, reads, c, offset, out, Isa::Avx512)
}

/// [`euler_chunk`] compiled for AVX2. No FMA: the results are those of the generic build.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn euler_chunk_avx2(k: &Consts, reads: Reads, c: Cols, offset: u32, out: &mut Vec<u32>) {
    euler_chunk(k, reads, c, offset, out, Isa::Avx2)
}

/// Neurons per block of the update when spikes are flagged rather than marked.
const BLOCK: usize = 64;

#[inline(always)]
fn euler_chunk(k: &Consts, reads: Reads, c: Cols, offset: u32, out: &mut Vec<u32>, isa: Isa) {
    // Marking spikes in the counter saves a flag array; it needs the counter's top bit free,
    // that is a hold shorter than 2³¹ steps. Columns known to be zero are not read.
    match (k.hold_steps < SPIKED, reads.due, reads.ext) {
        (true, false, false) => euler_blocks::<true, false, false>(k, c, offset, out, isa),
        (true, false, true) => euler_blocks::<true, false, true>(k, c, offset, out, isa),
        (true, true, false) => euler_blocks::<true, true, false>(k, c, offset, out, isa),
        (true, true, true) => euler_blocks::<true, true, true>(k, c, offset, out, isa),
        (false, ..) => euler_blocks::<false, true, true>(k, c, offset, out, isa),
    }
}

#[inline(always)]
fn euler_blocks<const MARK: bool, const DUE: bool, const EXT: bool>(
    k: &Consts,
    c: Cols,
    offset: u32,
    out: &mut Vec<u32>,
    isa: Isa,
) {
    if MARK {
        // One pass over the whole chunk, then a vectorised search for the marks: a block of
        // its own per 64 neurons cost a horizontal reduction and a branch each.
        let any =
            euler_block::<true, DUE, EXT>(k, c.v, c.ge, c.gi, c.refr, c.iext, c.de, c.di, &mut []);
        if any != 0 {
            take_marked(isa, c.refr, offset, out);
        }
        return;
    }
    let n = c.v.len();
    let mut start = 0;
    while start < n {
        let end = (start + BLOCK).min(n);
        let mut fired = [0u8; BLOCK];
        let any = euler_block::<false, DUE, EXT>(
            k,
            &mut c.v[start..end],
            &mut c.ge[start..end],
            &mut c.gi[start..end],
            &mut c.refr[start..end],
            &c.iext[start..end],
            &mut c.de[start..end],
            &mut c.di[start..end],
            &mut fired[..end - start],
        );
        if any != 0 {
            for (j, &f) in fired[..end - start].iter().enumerate() {
                if f != 0 {
                    out.push(offset + (start + j) as u32);
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
fn euler_block<const MARK: bool, const DUE: bool, const EXT: bool>(
    k: &Consts,
    v: &mut [Real],
    ge: &mut [Real],
    gi: &mut [Real],
    refr: &mut [u32],
    iext: &[Real],
    de: &mut [Real],
    di: &mut [Real],
    fired: &mut [u8],
) -> u32 {
    let m = v.len();
    let (ge, gi, refr, iext) = (&mut ge[..m], &mut gi[..m], &mut refr[..m], &iext[..m]);
    let (de, di) = (&mut de[..m], &mut di[..m]);
    let fired = &mut fired[..if MARK { 0 } else { m }];
    let hold = if MARK {
        k.hold_steps | SPIKED
    } else {
        k.hold_steps
    };
    let mut any = 0u32;
    for j in 0..m {
        // Without `DUE` or `EXT` the column is zero: the zero is added all the same, so the
        // result is the same bits (x + 0 is not x for x = −0).
        let g_e = ge[j] + if DUE { de[j] } else { 0.0 };
        let g_i = gi[j] + if DUE { di[j] } else { 0.0 };
        if DUE {
            de[j] = 0.0;
            di[j] = 0.0;
        }
        let dv = g_e * (k.e_exc - v[j]) + g_i * (k.e_inh - v[j]) - (v[j] - k.e_l)
            + k.r * (k.i_bias + if EXT { iext[j] } else { 0.0 });
        let v_new = v[j] + k.h_over_tau_m * dv;
        let r = refr[j];
        let held = r > 0;
        let v1 = if held { v[j] } else { v_new };
        let spike = !held & (v1 > k.v_th);
        v[j] = if spike { k.v_reset } else { v1 };
        // r − 1 where held (r > 0), as in `lif`.
        let r_new = if spike { hold } else { r.saturating_sub(1) };
        refr[j] = r_new;
        ge[j] = g_e - k.h_over_tau_exc * g_e;
        gi[j] = g_i - k.h_over_tau_inh * g_i;
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

/// Checks the parameters of a `CobaLif` population at time step `dt_ms`; the error's field is
/// relative to the parameters (`tau_m_ms`).
pub fn check(p: &CobaLifParams, dt_ms: f64) -> ParamResult {
    positive("tau_m_ms", p.tau_m_ms)?;
    positive("tau_syn_exc_ms", p.tau_syn_exc_ms)?;
    positive("tau_syn_inh_ms", p.tau_syn_inh_ms)?;
    refractory("refractory_ms", p.refractory_ms, dt_ms)?;
    positive("r_mohm", p.r_mohm)?;
    for (f, x) in [
        ("e_l_mv", p.e_l_mv),
        ("e_exc_mv", p.e_exc_mv),
        ("e_inh_mv", p.e_inh_mv),
        ("v_reset_mv", p.v_reset_mv),
        ("v_th_mv", p.v_th_mv),
        ("i_bias_na", p.i_bias_na),
    ] {
        finite(f, x)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The two ways of finding the spikes of a block (a mark in the refractory counter, a flag
    /// array) give the same state and spikes, neuron for neuron, and leave no mark behind.
    #[test]
    fn marked_and_flagged_spikes_agree() {
        let n = 3 * BLOCK + 17;
        let mut a = CobaLif::new(CobaLifParams::default(), n, 0.1);
        for (j, v) in a.v.iter_mut().enumerate() {
            *v = -60.0 + (j * 37 % 100) as Real * 0.1;
        }
        let mut b = a.clone();
        fn cols<'a>(m: &'a mut CobaLif, de: &'a mut [Real], di: &'a mut [Real]) -> Cols<'a> {
            Cols {
                v: &mut m.v,
                ge: &mut m.g_exc,
                gi: &mut m.g_inh,
                refr: &mut m.refractory,
                iext: &m.i_ext,
                de,
                di,
            }
        }
        let mut spikes = 0;
        for step in 0..400 {
            let input = |j: usize| {
                if (j + step).is_multiple_of(7) {
                    0.3
                } else {
                    0.0
                }
            };
            let mut de: Vec<Real> = (0..n).map(input).collect();
            let mut di: Vec<Real> = (0..n).map(|j| 0.5 * input(j + 3)).collect();
            let (mut de2, mut di2) = (de.clone(), di.clone());
            let (mut out_a, mut out_b) = (Vec::new(), Vec::new());
            let k = a.k;
            euler_blocks::<true, true, true>(
                &k,
                cols(&mut a, &mut de, &mut di),
                0,
                &mut out_a,
                Isa::best(),
            );
            euler_blocks::<false, true, true>(
                &k,
                cols(&mut b, &mut de2, &mut di2),
                0,
                &mut out_b,
                Isa::Scalar,
            );
            assert_eq!(out_a, out_b, "step {step}");
            spikes += out_a.len();
            assert!(a.refractory.iter().all(|&r| r & SPIKED == 0));
            assert_eq!(a.refractory, b.refractory);
            let bits = |x: &[Real]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&a.v), bits(&b.v));
            assert_eq!(bits(&a.g_exc), bits(&b.g_exc));
            assert_eq!(bits(&a.g_inh), bits(&b.g_inh));
        }
        assert!(spikes > 100, "{spikes} spikes: the check needs spikes");
    }

    #[test]
    fn euler_relaxes_to_the_conductance_weighted_equilibrium() {
        // With constant conductances the fixed point is
        // v* = (E_L + g_e·E_e + g_i·E_i + R·I) / (1 + g_e + g_i); hold them constant by using
        // very long synaptic time constants and check v converges there.
        let p = CobaLifParams {
            tau_syn_exc_ms: 1e12,
            tau_syn_inh_ms: 1e12,
            v_th_mv: 1e9,
            i_bias_na: 5.0,
            ..CobaLifParams::default()
        };
        let mut m = CobaLif::new(p.clone(), 1, 0.1);
        m.g_exc[0] = 0.3;
        m.g_inh[0] = 0.2;
        let mut outs = vec![Vec::new()];
        let (mut de, mut di) = (vec![0.0], vec![0.0]);
        for _ in 0..20_000 {
            m.update(&mut de, &mut di, &mut outs);
        }
        let v_star = (p.e_l_mv + 0.3 * p.e_exc_mv + 0.2 * p.e_inh_mv + p.i_bias_na) / 1.5;
        // f32: Euler stops where a step (h/τ_m = 0.005 times the slope 1.5 times the
        // distance) is below half an ulp of v (1.9e-6 at 47 mV): 2.5e-4 from v*.
        let tol = if cfg!(feature = "f32") { 5e-4 } else { 1e-6 };
        assert!(
            (m.v[0] - v_star as Real).abs() < tol,
            "{} vs {v_star}",
            m.v[0]
        );
    }

    #[test]
    fn one_euler_step_matches_the_formula() {
        let p = CobaLifParams {
            v_th_mv: 1e9,
            ..CobaLifParams::default()
        };
        let mut m = CobaLif::new(p.clone(), 1, 0.1);
        m.v[0] = -55.0;
        m.g_exc[0] = 0.6;
        m.g_inh[0] = 6.7;
        let mut outs = vec![Vec::new()];
        m.update(&mut [0.0], &mut [0.0], &mut outs);
        let dv = 0.6 * (0.0 + 55.0) + 6.7 * (-80.0 + 55.0) - (-55.0 + 60.0) + 20.0;
        // f32: within a few ulps (4e-6 at 55 mV, 5e-7 at 6.7).
        let (tol_v, tol_g) = if cfg!(feature = "f32") {
            (2e-5, 2e-6)
        } else {
            (1e-12, 1e-15)
        };
        assert!((m.v[0] - (-55.0 + 0.1 / 20.0 * dv)).abs() < tol_v);
        assert!((m.g_exc[0] - 0.6 * (1.0 - 0.1 / 5.0)).abs() < tol_g);
        assert!((m.g_inh[0] - 6.7 * (1.0 - 0.1 / 10.0)).abs() < tol_g);
    }
}
