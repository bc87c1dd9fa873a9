//! Conversions between [`Real`] (the state and weights, f64 or f32 with the `f32` feature) and
//! the f64 of checkpoints, hashes, the plugin ABI and learning, which stay f64 in every build.
//! In the default build they are no-ops (no copy, no rounding).

use crate::Real;
use std::borrow::Cow;

/// The name of [`Real`]: `f64`, or `f32` in a build with the `f32` feature.
pub const PRECISION: &str = if cfg!(feature = "f32") { "f32" } else { "f64" };

/// `x` as f64 (exact).
#[inline(always)]
#[allow(clippy::unnecessary_cast)]
pub fn wide(x: Real) -> f64 {
    x as f64
}

/// The bit pattern of `x`, widened to 64 bits.
#[inline(always)]
#[allow(clippy::unnecessary_cast)]
pub fn bits(x: Real) -> u64 {
    x.to_bits() as u64
}

/// The value whose pattern [`bits`] gave.
#[inline(always)]
#[allow(clippy::unnecessary_cast)]
pub fn from_bits(w: u64) -> Real {
    Real::from_bits(w as _)
}

/// `xs` as f64: the slice itself in the default build, an exact copy in an f32 build.
pub fn widen(xs: &[Real]) -> Cow<'_, [f64]> {
    #[cfg(not(feature = "f32"))]
    return Cow::Borrowed(xs);
    #[cfg(feature = "f32")]
    Cow::Owned(xs.iter().map(|&x| wide(x)).collect())
}

/// A writable f64 view of a [`Real`] column for the plugin ABI: the column itself in the
/// default build; in an f32 build an f64 copy whose values are rounded back into the column
/// when the view is dropped.
pub struct F64View<'a> {
    col: &'a mut [Real],
    #[cfg(feature = "f32")]
    copy: Vec<f64>,
}

impl<'a> F64View<'a> {
    /// A view of `col`.
    pub fn new(col: &'a mut [Real]) -> Self {
        F64View {
            #[cfg(feature = "f32")]
            copy: col.iter().map(|&x| wide(x)).collect(),
            col,
        }
    }

    /// The f64 values, valid while the view lives.
    pub fn as_mut_ptr(&mut self) -> *mut f64 {
        #[cfg(not(feature = "f32"))]
        return self.col.as_mut_ptr();
        #[cfg(feature = "f32")]
        self.copy.as_mut_ptr()
    }
}

impl Drop for F64View<'_> {
    fn drop(&mut self) {
        #[cfg(feature = "f32")]
        for (c, &x) in self.col.iter_mut().zip(&self.copy) {
            *c = x as Real;
        }
        #[cfg(not(feature = "f32"))]
        let _ = &mut self.col;
    }
}
