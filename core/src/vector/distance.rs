//! Distance kernels. Smaller is closer for every metric.
//!
//! - `L2`: squared Euclidean distance.
//! - `Dot`: the negated inner product.
//! - `Cosine`: `1 - a·b` on vectors that [`normalize`] made unit length
//!   (the index stores and queries normalized vectors).

use crate::model::Metric;

/// Squared Euclidean distance. `a` and `b` have the same length.
pub fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Inner product. `a` and `b` have the same length.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The distance of `metric` between `a` and `b` (for `Cosine`, both normalized).
pub fn distance(metric: Metric, a: &[f32], b: &[f32]) -> f32 {
    match metric {
        Metric::L2 => l2_squared(a, b),
        Metric::Dot => -dot(a, b),
        Metric::Cosine => 1.0 - dot(a, b),
    }
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
