//! Distance kernels. Smaller is closer for every metric.
//!
//! - `L2`: squared Euclidean distance.
//! - `Dot`: the negated inner product.
//! - `Cosine`: `1 - a·b` on vectors that [`normalize`] made unit length
//!   (the index stores and queries normalized vectors).
//!
//! # Implementations
//!
//! [`l2_squared`] and [`dot`] pick the fastest implementation available:
//!
//! - **portable** ([`l2_squared_portable`], [`dot_portable`]), the default
//!   everywhere: 16 independent `f32` accumulators over fixed-size chunks,
//!   which LLVM turns into SIMD code for whatever the target offers (SSE2 on
//!   baseline x86_64, NEON on aarch64, simd128 on wasm32 when enabled).
//! - **AVX2+FMA** on x86_64, chosen at run time when the CPU has both
//!   features (detected once and cached).
//! - **simd128** on wasm32 when the crate is compiled with
//!   `-C target-feature=+simd128` (wasm has no run-time detection, so this is
//!   a compile-time choice).
//!
//! The fast paths sum in a different order from the plain loops
//! ([`l2_squared_scalar`], [`dot_scalar`]), so results can differ from them
//! in the last bits; the tests hold both to `1e-5` of the exact (f64) sum,
//! relative to the sum of the terms' magnitudes, up to 1536 dimensions.
//!
//! The kernels take slices of equal length (callers check dimensions). A
//! length mismatch is a bug caught by `debug_assert_eq!` in debug builds; in
//! release builds only the common prefix is used, so nothing reads out of
//! bounds or panics.

use crate::model::Metric;

/// Accumulator lanes of the portable kernels: 16 `f32` is two AVX registers or
/// four SSE/NEON/simd128 registers, enough independent sums to hide the add
/// latency.
const LANES: usize = 16;

/// Squared Euclidean distance. `a` and `b` have the same length.
#[inline]
pub fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len(), "l2_squared: vectors of different lengths");
    l2_squared_fast(a, b)
}

/// Inner product. `a` and `b` have the same length.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len(), "dot: vectors of different lengths");
    dot_fast(a, b)
}

/// The distance of `metric` between `a` and `b` (for `Cosine`, both normalized).
pub fn distance(metric: Metric, a: &[f32], b: &[f32]) -> f32 {
    match metric {
        Metric::L2 => l2_squared(a, b),
        Metric::Dot => -dot(a, b),
        Metric::Cosine => 1.0 - dot(a, b),
    }
}

/// Hints the CPU to start loading the start of `v` (its first 128 bytes)
/// into cache; a graph search calls it for what it is about to read. No
/// effect on other architectures.
#[inline]
pub fn prefetch<T>(v: &[T]) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint: it never faults and does not change
    // memory; SSE (which provides it) is part of the x86-64 baseline; the
    // pointers are computed with wrapping arithmetic from a live slice and
    // never dereferenced.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let p = v.as_ptr().cast::<i8>();
        _mm_prefetch::<_MM_HINT_T0>(p);
        if std::mem::size_of_val(v) > 64 {
            _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(64));
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = v;
}

/// Scales `v` to unit length; returns false (and leaves `v`) if its norm is
/// zero or not finite.
pub fn normalize(v: &mut [f32]) -> bool {
    let n = dot(v, v).sqrt();
    if n == 0.0 || !n.is_finite() {
        return false;
    }
    v.iter_mut().for_each(|x| *x /= n);
    true
}

// ---------------------------------------------------------------------------
// Reference loops.

/// Squared Euclidean distance as a plain sequential loop: the reference for
/// tests and benchmarks. Uses the common prefix of `a` and `b`.
pub fn l2_squared_scalar(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Inner product as a plain sequential loop: the reference for tests and
/// benchmarks. Uses the common prefix of `a` and `b`.
pub fn dot_scalar(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

// ---------------------------------------------------------------------------
// Portable kernels.

/// The common prefix of `a` and `b`.
#[inline(always)]
fn common<'a>(a: &'a [f32], b: &'a [f32]) -> (&'a [f32], &'a [f32]) {
    let n = a.len().min(b.len());
    (&a[..n], &b[..n])
}

/// Sums the accumulator lanes, in order. (A pairwise tree would round a bit
/// better but makes LLVM's SLP vectorizer rebuild the main loop with 2-lane
/// vectors, about 1.7x slower; 16 terms in order cost little.)
#[inline(always)]
fn reduce(acc: [f32; LANES]) -> f32 {
    let mut s = 0.0;
    for v in acc {
        s += v;
    }
    s
}

/// Squared Euclidean distance, written for auto-vectorization: 16 independent
/// accumulators over `[f32; 16]` chunks, then the remainder. Uses the common
/// prefix of `a` and `b`.
pub fn l2_squared_portable(a: &[f32], b: &[f32]) -> f32 {
    let (a, b) = common(a, b);
    let (ca, ra) = a.as_chunks::<LANES>();
    let (cb, rb) = b.as_chunks::<LANES>();
    let mut acc = [0.0f32; LANES];
    for (x, y) in ca.iter().zip(cb) {
        for i in 0..LANES {
            let d = x[i] - y[i];
            acc[i] += d * d;
        }
    }
    let mut s = reduce(acc);
    for (x, y) in ra.iter().zip(rb) {
        let d = x - y;
        s += d * d;
    }
    s
}

/// Inner product, written for auto-vectorization (see
/// [`l2_squared_portable`]). Uses the common prefix of `a` and `b`.
pub fn dot_portable(a: &[f32], b: &[f32]) -> f32 {
    let (a, b) = common(a, b);
    let (ca, ra) = a.as_chunks::<LANES>();
    let (cb, rb) = b.as_chunks::<LANES>();
    let mut acc = [0.0f32; LANES];
    for (x, y) in ca.iter().zip(cb) {
        for i in 0..LANES {
            acc[i] += x[i] * y[i];
        }
    }
    let mut s = reduce(acc);
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

// ---------------------------------------------------------------------------
// Dispatch.

#[cfg(target_arch = "x86_64")]
#[inline]
fn l2_squared_fast(a: &[f32], b: &[f32]) -> f32 {
    if x86::avx2_fma() {
        // SAFETY: the CPU has AVX2 and FMA (detected at run time).
        unsafe { x86::l2_squared(a, b) }
    } else {
        l2_squared_portable(a, b)
    }
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn dot_fast(a: &[f32], b: &[f32]) -> f32 {
    if x86::avx2_fma() {
        // SAFETY: the CPU has AVX2 and FMA (detected at run time).
        unsafe { x86::dot(a, b) }
    } else {
        dot_portable(a, b)
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline]
fn l2_squared_fast(a: &[f32], b: &[f32]) -> f32 {
    wasm::l2_squared(a, b)
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline]
fn dot_fast(a: &[f32], b: &[f32]) -> f32 {
    wasm::dot(a, b)
}

#[cfg(not(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128"))))]
#[inline]
fn l2_squared_fast(a: &[f32], b: &[f32]) -> f32 {
    l2_squared_portable(a, b)
}

#[cfg(not(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128"))))]
#[inline]
fn dot_fast(a: &[f32], b: &[f32]) -> f32 {
    dot_portable(a, b)
}

/// One implementation of the kernels, for tests and benchmarks.
#[derive(Clone, Copy, Debug)]
pub struct Kernel {
    /// `"scalar"`, `"portable"`, `"avx2+fma"` or `"simd128"`.
    pub name: &'static str,
    pub l2_squared: fn(&[f32], &[f32]) -> f32,
    pub dot: fn(&[f32], &[f32]) -> f32,
}

/// The implementations usable on this machine, reference loops first. The
/// one [`l2_squared`] and [`dot`] use is the last.
pub fn kernels() -> Vec<Kernel> {
    #[allow(unused_mut)] // only pushed to on some targets
    let mut v = vec![
        Kernel { name: "scalar", l2_squared: l2_squared_scalar, dot: dot_scalar },
        Kernel { name: "portable", l2_squared: l2_squared_portable, dot: dot_portable },
    ];
    #[cfg(target_arch = "x86_64")]
    if x86::avx2_fma() {
        v.push(Kernel { name: "avx2+fma", l2_squared: x86::l2_squared_checked, dot: x86::dot_checked });
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    v.push(Kernel { name: "simd128", l2_squared: wasm::l2_squared, dot: wasm::dot });
    v
}

// ---------------------------------------------------------------------------
// x86_64: AVX2 + FMA, detected at run time.

#[cfg(target_arch = "x86_64")]
#[deny(unsafe_op_in_unsafe_fn)]
mod x86 {
    use std::arch::x86_64::{
        __m256, _mm256_add_ps, _mm256_castps256_ps128, _mm256_extractf128_ps, _mm256_fmadd_ps, _mm256_loadu_ps,
        _mm256_setzero_ps, _mm256_sub_ps, _mm_add_ps, _mm_add_ss, _mm_cvtss_f32, _mm_movehl_ps, _mm_shuffle_ps,
    };
    use std::sync::atomic::{AtomicU8, Ordering};

    const UNKNOWN: u8 = 0;
    const NO: u8 = 1;
    const YES: u8 = 2;
    static AVX2_FMA: AtomicU8 = AtomicU8::new(UNKNOWN);

    /// Whether the CPU has AVX2 and FMA. Detected on the first call and
    /// cached; a race only makes two threads detect the same answer.
    #[inline]
    pub fn avx2_fma() -> bool {
        match AVX2_FMA.load(Ordering::Relaxed) {
            YES => true,
            NO => false,
            _ => {
                let yes = std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma");
                AVX2_FMA.store(if yes { YES } else { NO }, Ordering::Relaxed);
                yes
            }
        }
    }

    /// Lanes of one AVX register and of one loop step (four registers).
    const W: usize = 8;
    const STEP: usize = 4 * W;

    /// Loads `[f32; 8]` at `p[off..off + 8]`.
    ///
    /// # Safety
    /// `off + 8 <= N`. The CPU has AVX2 and FMA.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn load<const N: usize>(p: &[f32; N], off: usize) -> __m256 {
        debug_assert!(off + W <= N);
        // SAFETY: `off + 8 <= N`, so the 8 floats read are inside `p`;
        // `loadu` has no alignment requirement.
        unsafe { _mm256_loadu_ps(p.as_ptr().add(off)) }
    }

    /// The sum of the eight lanes of `v`.
    #[target_feature(enable = "avx2,fma")]
    fn hsum(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps::<0b01>(s, s));
        _mm_cvtss_f32(s)
    }

    /// Squared Euclidean distance over the common prefix of `a` and `b`.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA ([`avx2_fma`]).
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
        let (a, b) = super::common(a, b);
        let (ca, ra) = a.as_chunks::<STEP>();
        let (cb, rb) = b.as_chunks::<STEP>();
        let mut acc = [_mm256_setzero_ps(); 4];
        for (x, y) in ca.iter().zip(cb) {
            for (k, acc) in acc.iter_mut().enumerate() {
                // SAFETY: k * 8 + 8 <= 32 = STEP; AVX was detected.
                let d = unsafe { _mm256_sub_ps(load(x, k * W), load(y, k * W)) };
                *acc = _mm256_fmadd_ps(d, d, *acc);
            }
        }
        let (ca, ra) = ra.as_chunks::<W>();
        let (cb, rb) = rb.as_chunks::<W>();
        for (x, y) in ca.iter().zip(cb) {
            // SAFETY: 0 + 8 <= 8 = W; AVX was detected.
            let d = unsafe { _mm256_sub_ps(load(x, 0), load(y, 0)) };
            acc[0] = _mm256_fmadd_ps(d, d, acc[0]);
        }
        let sum = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
        let mut s = hsum(sum);
        for (x, y) in ra.iter().zip(rb) {
            let d = x - y;
            s += d * d;
        }
        s
    }

    /// Inner product over the common prefix of `a` and `b`.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA ([`avx2_fma`]).
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dot(a: &[f32], b: &[f32]) -> f32 {
        let (a, b) = super::common(a, b);
        let (ca, ra) = a.as_chunks::<STEP>();
        let (cb, rb) = b.as_chunks::<STEP>();
        let mut acc = [_mm256_setzero_ps(); 4];
        for (x, y) in ca.iter().zip(cb) {
            for (k, acc) in acc.iter_mut().enumerate() {
                // SAFETY: k * 8 + 8 <= 32 = STEP; AVX was detected.
                let (vx, vy) = unsafe { (load(x, k * W), load(y, k * W)) };
                *acc = _mm256_fmadd_ps(vx, vy, *acc);
            }
        }
        let (ca, ra) = ra.as_chunks::<W>();
        let (cb, rb) = rb.as_chunks::<W>();
        for (x, y) in ca.iter().zip(cb) {
            // SAFETY: 0 + 8 <= 8 = W; AVX was detected.
            let (vx, vy) = unsafe { (load(x, 0), load(y, 0)) };
            acc[0] = _mm256_fmadd_ps(vx, vy, acc[0]);
        }
        let sum = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
        let mut s = hsum(sum);
        for (x, y) in ra.iter().zip(rb) {
            s += x * y;
        }
        s
    }

    /// [`l2_squared`] behind a check, so it can be a safe `fn` pointer.
    pub fn l2_squared_checked(a: &[f32], b: &[f32]) -> f32 {
        assert!(avx2_fma(), "this CPU lacks AVX2/FMA");
        // SAFETY: AVX2 and FMA were detected just above.
        unsafe { l2_squared(a, b) }
    }

    /// [`dot`] behind a check, so it can be a safe `fn` pointer.
    pub fn dot_checked(a: &[f32], b: &[f32]) -> f32 {
        assert!(avx2_fma(), "this CPU lacks AVX2/FMA");
        // SAFETY: AVX2 and FMA were detected just above.
        unsafe { dot(a, b) }
    }
}

// ---------------------------------------------------------------------------
// wasm32: simd128, chosen at compile time.

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[deny(unsafe_op_in_unsafe_fn)]
mod wasm {
    use core::arch::wasm32::{f32x4_add, f32x4_extract_lane, f32x4_mul, f32x4_splat, f32x4_sub, v128, v128_load};

    /// Lanes of one v128 and of one loop step (four registers).
    const W: usize = 4;
    const STEP: usize = 4 * W;

    /// Loads `[f32; 4]` at `p[off..off + 4]`. Panics (rather than reading out
    /// of bounds) if `off + 4 > N`; with constant offsets the check folds away.
    #[inline(always)]
    fn load<const N: usize>(p: &[f32; N], off: usize) -> v128 {
        assert!(off + W <= N);
        // SAFETY: `off + 4 <= N`, so the 16 bytes read are inside `p`;
        // `v128_load` is an unaligned load (alignment 1).
        unsafe { v128_load(p.as_ptr().add(off).cast::<v128>()) }
    }

    #[inline(always)]
    fn hsum(acc: [v128; 4]) -> f32 {
        let s = f32x4_add(f32x4_add(acc[0], acc[1]), f32x4_add(acc[2], acc[3]));
        (f32x4_extract_lane::<0>(s) + f32x4_extract_lane::<2>(s))
            + (f32x4_extract_lane::<1>(s) + f32x4_extract_lane::<3>(s))
    }

    /// Squared Euclidean distance over the common prefix of `a` and `b`.
    pub fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
        let (a, b) = super::common(a, b);
        let (ca, ra) = a.as_chunks::<STEP>();
        let (cb, rb) = b.as_chunks::<STEP>();
        let mut acc = [f32x4_splat(0.0); 4];
        for (x, y) in ca.iter().zip(cb) {
            for (k, acc) in acc.iter_mut().enumerate() {
                let d = f32x4_sub(load(x, k * W), load(y, k * W));
                *acc = f32x4_add(*acc, f32x4_mul(d, d));
            }
        }
        let mut s = hsum(acc);
        for (x, y) in ra.iter().zip(rb) {
            let d = x - y;
            s += d * d;
        }
        s
    }

    /// Inner product over the common prefix of `a` and `b`.
    pub fn dot(a: &[f32], b: &[f32]) -> f32 {
        let (a, b) = super::common(a, b);
        let (ca, ra) = a.as_chunks::<STEP>();
        let (cb, rb) = b.as_chunks::<STEP>();
        let mut acc = [f32x4_splat(0.0); 4];
        for (x, y) in ca.iter().zip(cb) {
            for (k, acc) in acc.iter_mut().enumerate() {
                *acc = f32x4_add(*acc, f32x4_mul(load(x, k * W), load(y, k * W)));
            }
        }
        let mut s = hsum(acc);
        for (x, y) in ra.iter().zip(rb) {
            s += x * y;
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift64: a tiny deterministic generator for test data.
    struct XorShift(u64);

    impl XorShift {
        fn next_u64(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }

        /// Uniform in `[-1, 1)`.
        fn next_f32(&mut self) -> f32 {
            ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        }

        fn vec(&mut self, n: usize) -> Vec<f32> {
            (0..n).map(|_| self.next_f32()).collect()
        }
    }

    fn lengths() -> impl Iterator<Item = usize> {
        (0..=70).chain([384, 768, 1536])
    }

    /// Exact-ish reference sums in f64: (value, sum of |terms|).
    fn l2_ref(a: &[f32], b: &[f32]) -> (f64, f64) {
        let s: f64 = a.iter().zip(b).map(|(&x, &y)| (x as f64 - y as f64).powi(2)).sum();
        (s, s)
    }

    fn dot_ref(a: &[f32], b: &[f32]) -> (f64, f64) {
        let terms = a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64);
        (terms.clone().sum(), terms.map(f64::abs).sum())
    }

    /// `got` is within 1e-5 relative of `want`. For sums whose terms cancel
    /// (dot products), "relative" is to the sum of the terms' magnitudes: the
    /// error of any summation order scales with that, not with the result.
    fn close(got: f32, (want, scale): (f64, f64)) -> bool {
        (got as f64 - want).abs() <= 1e-5 * scale.max(f64::MIN_POSITIVE)
    }

    #[test]
    fn every_kernel_matches_the_f64_reference() {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let ks = kernels();
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            assert!(ks.iter().any(|k| k.name == "avx2+fma"));
        }
        for n in lengths() {
            for _ in 0..4 {
                let (a, b) = (rng.vec(n), rng.vec(n));
                let (l2, dp) = (l2_ref(&a, &b), dot_ref(&a, &b));
                for k in &ks {
                    let got = (k.l2_squared)(&a, &b);
                    assert!(close(got, l2), "{} l2 n={n}: {got} vs {l2:?}", k.name);
                    let got = (k.dot)(&a, &b);
                    assert!(close(got, dp), "{} dot n={n}: {got} vs {dp:?}", k.name);
                }
                assert!(close(l2_squared(&a, &b), l2), "dispatched l2 n={n}");
                assert!(close(dot(&a, &b), dp), "dispatched dot n={n}");
            }
        }
    }

    #[test]
    fn kernels_agree_with_each_other() {
        // Exact agreement on data whose sums are exact in f32 (small integers).
        let mut rng = XorShift(42);
        for n in lengths() {
            let a: Vec<f32> = (0..n).map(|_| (rng.next_u64() % 9) as f32 - 4.0).collect();
            let b: Vec<f32> = (0..n).map(|_| (rng.next_u64() % 9) as f32 - 4.0).collect();
            let want = (l2_squared_scalar(&a, &b), dot_scalar(&a, &b));
            for k in kernels() {
                assert_eq!(((k.l2_squared)(&a, &b), (k.dot)(&a, &b)), want, "{} n={n}", k.name);
            }
        }
    }

    #[test]
    fn mismatched_lengths_use_the_common_prefix() {
        let a = [1.0, 2.0, 3.0, 4.0, 5.0];
        let b = [1.0, 1.0, 1.0];
        for k in kernels() {
            assert_eq!((k.l2_squared)(&a, &b), 0.0 + 1.0 + 4.0, "{}", k.name);
            assert_eq!((k.dot)(&a, &b), 6.0, "{}", k.name);
            assert_eq!((k.dot)(&b, &a), 6.0, "{}", k.name);
            assert_eq!((k.dot)(&a, &[]), 0.0, "{}", k.name);
        }
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "different lengths")]
    fn mismatched_lengths_are_caught_in_debug_builds() {
        l2_squared(&[1.0, 2.0], &[1.0]);
    }

    #[test]
    fn distance_semantics_per_metric() {
        let a = [1.0, 2.0, 3.0];
        let b = [4.0, 0.0, -1.0];
        assert_eq!(distance(Metric::L2, &a, &b), 9.0 + 4.0 + 16.0);
        assert_eq!(distance(Metric::Dot, &a, &b), -(4.0 - 3.0));
        assert_eq!(distance(Metric::L2, &a, &a), 0.0);

        let mut u = [3.0, 4.0, 0.0];
        let mut v = [0.0, 4.0, 3.0];
        assert!(normalize(&mut u) && normalize(&mut v));
        let same = distance(Metric::Cosine, &u, &u);
        assert!(same.abs() < 1e-6, "{same}");
        let d = distance(Metric::Cosine, &u, &v);
        assert!((d - (1.0 - 16.0 / 25.0)).abs() < 1e-6, "{d}");
        let opposite = u.map(|x| -x);
        assert!((distance(Metric::Cosine, &u, &opposite) - 2.0).abs() < 1e-6);
        // Smaller is closer for every metric.
        let near = [0.6, 0.8, 0.1];
        let far = [-0.6, -0.8, 0.0];
        for m in [Metric::L2, Metric::Dot, Metric::Cosine] {
            assert!(distance(m, &u, &near) < distance(m, &u, &far), "{m:?}");
        }
    }

    #[test]
    fn normalize_makes_unit_vectors() {
        let mut rng = XorShift(7);
        for n in [1, 3, 17, 384, 1536] {
            let mut v = rng.vec(n);
            v[0] = 0.5; // not all zero
            assert!(normalize(&mut v));
            let norm = dot_scalar(&v, &v);
            assert!((norm - 1.0).abs() < 1e-5, "n={n}: {norm}");
        }
    }

    #[test]
    fn normalize_rejects_zero_and_non_finite() {
        let mut empty: [f32; 0] = [];
        assert!(!normalize(&mut empty));
        for bad in [vec![0.0; 40], vec![-0.0; 3], vec![1.0, f32::NAN, 2.0], vec![f32::INFINITY, 0.0], {
            let mut v = vec![1.0; 40];
            v[37] = f32::NEG_INFINITY;
            v
        }] {
            let mut v = bad.clone();
            assert!(!normalize(&mut v), "{bad:?}");
            // Left as it was (compare bits: NaN != NaN).
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&v), bits(&bad));
        }
    }
}
