//! Finding the neurons that a fused update marked as having spiked.
//!
//! The branch-free updates of [`super::fused`] (`Lif`, `CobaLif`, `Qif`) set [`SPIKED`], the top bit
//! of a neuron's refractory counter, when it spikes, and sweep a stretch of 256 neurons in one
//! vectorised pass, searched only if one of them spiked. Spikes are rare (CUBA: about one
//! neuron in 2 000 per step), so the search afterwards
//! should cost little per neuron that did not spike: with AVX-512 or AVX2 it tests sixteen or
//! eight counters per instruction and walks the set bits of the mask, instead of a compare and
//! branch per neuron (or a horizontal reduction per small block, which cost a fifth of the
//! update). Marks are found, cleared and written out in index order on every path, so the spike
//! list is the same whichever runs.

/// The bit an update sets in the refractory counter of a neuron that spiked; cleared by
/// [`take_marked`] before the update returns, so no one else ever sees it. It needs holds
/// shorter than 2³¹ steps.
pub(crate) const SPIKED: u32 = 1 << 31;

/// How the caller was compiled: the search uses the widest vectors the update used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Isa {
    Scalar,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl Isa {
    /// The widest the CPU has (for tests; the updates know theirs from their own dispatch).
    #[cfg(test)]
    pub(crate) fn best() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                return Isa::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                return Isa::Avx2;
            }
        }
        Isa::Scalar
    }
}

/// Clears the [`SPIKED`] mark of every neuron of `refr` that has it and appends its index
/// (plus `offset`) to `out`, in index order. `isa` must be a feature set the CPU has.
#[inline(always)]
pub(crate) fn take_marked(isa: Isa, refr: &mut [u32], offset: u32, out: &mut Vec<u32>) {
    match isa {
        Isa::Scalar => take_scalar(refr, offset, out),
        // SAFETY: the caller runs on a CPU with the feature (it compiled its update for it
        // after detecting it).
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { take_avx2(refr, offset, out) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { take_avx512(refr, offset, out) },
    }
}

#[inline(always)]
fn take_scalar(refr: &mut [u32], offset: u32, out: &mut Vec<u32>) {
    for (k, r) in refr.iter_mut().enumerate() {
        if *r & SPIKED != 0 {
            *r &= !SPIKED;
            out.push(offset + k as u32);
        }
    }
}

/// Appends the neurons of the bit mask `m` (bit `b`: neuron `base + b`) and clears their marks.
#[inline(always)]
fn take_mask(mut m: u32, base: usize, refr: &mut [u32], offset: u32, out: &mut Vec<u32>) {
    while m != 0 {
        let k = base + m.trailing_zeros() as usize;
        refr[k] &= !SPIKED;
        out.push(offset + k as u32);
        m &= m - 1;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn take_avx512(refr: &mut [u32], offset: u32, out: &mut Vec<u32>) {
    use std::arch::x86_64::*;
    let n = refr.len();
    let bit = _mm512_set1_epi32(SPIKED as i32);
    let mut k = 0;
    while k + 16 <= n {
        // SAFETY: k + 16 ≤ n: the sixteen counters lie inside `refr`.
        let x = unsafe { _mm512_loadu_si512(refr.as_ptr().add(k).cast()) };
        let m = _mm512_test_epi32_mask(x, bit);
        if m != 0 {
            take_mask(u32::from(m), k, refr, offset, out);
        }
        k += 16;
    }
    take_scalar(&mut refr[k..], offset + k as u32, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn take_avx2(refr: &mut [u32], offset: u32, out: &mut Vec<u32>) {
    use std::arch::x86_64::*;
    let n = refr.len();
    let mut k = 0;
    while k + 8 <= n {
        // SAFETY: k + 8 ≤ n: the eight counters lie inside `refr`.
        let x = unsafe { _mm256_loadu_si256(refr.as_ptr().add(k).cast()) };
        // The sign bit of each 32-bit lane is SPIKED.
        let m = _mm256_movemask_ps(_mm256_castsi256_ps(x)) as u32;
        if m != 0 {
            take_mask(m, k, refr, offset, out);
        }
        k += 8;
    }
    take_scalar(&mut refr[k..], offset + k as u32, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every path finds the same marks, in order, clears them and leaves the rest alone.
    #[test]
    fn every_path_takes_the_same_marks_in_order() {
        let n = 3 * 16 + 11;
        let marked = [0usize, 5, 15, 16, 31, 40, 47, 48, 50, 58];
        let base: Vec<u32> = (0..n as u32).map(|k| k % 7).collect();
        let mut isas = vec![Isa::Scalar];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                isas.push(Isa::Avx2);
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                isas.push(Isa::Avx512);
            }
        }
        for isa in isas {
            let mut refr = base.clone();
            for &k in &marked {
                refr[k] |= SPIKED;
            }
            let mut out = vec![7];
            take_marked(isa, &mut refr, 100, &mut out);
            let want: Vec<u32> = std::iter::once(7)
                .chain(marked.iter().map(|&k| 100 + k as u32))
                .collect();
            assert_eq!(out, want, "{isa:?}");
            assert_eq!(refr, base, "{isa:?}");
        }
    }
}
