//! Loops compiled once per CPU vector width. The hot loops (the neuron steps of training, the
//! factors, the gradients, the encoder's scan) are written as plain Rust over slices, with no
//! branch in their bodies, so the compiler vectorises them; `widest!` compiles such a body for
//! AVX-512F and AVX2 besides the build's baseline and picks the widest the CPU has at run
//! time, as the engine's own update loops do (models/). No FMA is enabled, so every width
//! computes the same bits, and a run's `state_hash` does not depend on the CPU.

/// Calls the free function `body::<generics>(args)` (`widest!(fn body::<G: Bound>(a: A))`),
/// or the method `net.body(args)` of a `Ty` (`widest!(Ty, net, body(a: A))`), compiled for
/// the widest vectors the CPU has (AVX-512F, AVX2, else the build's baseline), chosen per
/// call: the body is `#[inline(always)]`, so each width gets its own copy of its loops. The
/// vector lanes are independent neurons or columns and no sum changes its order. Each width's
/// copy takes its slices as arguments, so the compiler knows they do not overlap (a loop
/// inlined where its slices are cut from one buffer is not vectorised).
macro_rules! widest {
    (fn $body:ident::<$($g:ident: $bound:path),*>($($a:ident: $t:ty),* $(,)?)) => {{
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx512f")]
            fn w512<$($g: $bound),*>($($a: $t),*) {
                $body::<$($g),*>($($a),*)
            }
            #[target_feature(enable = "avx2")]
            fn w256<$($g: $bound),*>($($a: $t),*) {
                $body::<$($g),*>($($a),*)
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU has AVX-512F, the only feature w512 enables.
                return unsafe { w512::<$($g),*>($($a),*) };
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2, the only feature w256 enables.
                return unsafe { w256::<$($g),*>($($a),*) };
            }
        }
        $body::<$($g),*>($($a),*)
    }};
    ($ty:ty, $net:expr, $body:ident($($a:ident: $t:ty),*)) => {{
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx512f")]
            fn w512(net: &$ty, $($a: $t),*) {
                net.$body($($a),*)
            }
            #[target_feature(enable = "avx2")]
            fn w256(net: &$ty, $($a: $t),*) {
                net.$body($($a),*)
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU has AVX-512F, the only feature w512 enables.
                return unsafe { w512($net, $($a),*) };
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2, the only feature w256 enables.
                return unsafe { w256($net, $($a),*) };
            }
        }
        $net.$body($($a),*)
    }};
}
pub(crate) use widest;
