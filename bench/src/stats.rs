//! Medians and percentiles, the same definitions as the C programs.

/// Nearest-rank percentile, in per mille (500 = p50, 990 = p99), of
/// already sorted samples; `None` if there are none. The C client
/// (`bench/c/bench_client.c`) uses the same definition.
pub fn percentile_sorted(sorted: &[u32], per_mille: usize) -> Option<u32> {
    if sorted.is_empty() {
        return None;
    }
    let rank = sorted.len().saturating_mul(per_mille).div_ceil(1000);
    sorted.get(rank.max(1) - 1).copied()
}

/// The median of `values` (the mean of the middle two for an even count);
/// `None` if empty. NaNs sort last.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => v.get(n / 2).copied(),
        _ => Some((v.get(n / 2 - 1)? + v.get(n / 2)?) / 2.0),
    }
}

/// A distribution-free confidence interval of at least 95% for the
/// median of the population `values` were drawn from: the `k`-th smallest
/// and `k`-th largest value, with `k` the largest rank for which the
/// binomial(n, 1/2) tail `P(X < k)` is at most 2.5% (the sign-test
/// interval; no assumption on the shape of the distribution). `None` for
/// fewer than 6 values, where no such interval exists, or when a value is
/// NaN.
pub fn median_ci95(values: &[f64]) -> Option<(f64, f64)> {
    let n = values.len();
    let k = sign_test_rank(n)?;
    if values.iter().any(|v| v.is_nan()) {
        return None;
    }
    let mut v: Vec<f64> = values.to_vec();
    v.sort_by(f64::total_cmp);
    Some((*v.get(k - 1)?, *v.get(n - k)?))
}

/// The largest `k >= 1` with `P(X <= k - 1) <= 0.025` for `X` ~
/// binomial(`n`, 1/2); `None` if even `k = 1` fails (`n < 6`).
fn sign_test_rank(n: usize) -> Option<usize> {
    // 0.5^n underflows past n = 1074; the normal approximation is exact
    // enough long before that.
    if n > 1000 {
        let n = n as f64;
        let k = (n / 2.0 - 1.96 * n.sqrt() / 2.0).floor();
        return Some(k.max(1.0) as usize);
    }
    let mut pmf = 0.5f64.powi(i32::try_from(n).ok()?);
    let mut cdf = 0.0;
    let mut k = 0;
    for i in 0..n {
        cdf += pmf;
        if cdf > 0.025 {
            break;
        }
        k = i + 1;
        pmf *= (n - i) as f64 / (i + 1) as f64;
    }
    (k >= 1).then_some(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let s: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile_sorted(&s, 500), Some(50));
        assert_eq!(percentile_sorted(&s, 990), Some(99));
        assert_eq!(percentile_sorted(&[7], 990), Some(7));
        assert_eq!(percentile_sorted(&[], 500), None);
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    /// Ranks from the binomial tables: n = 6 -> 1 (P(X <= 0) = 1/64),
    /// 9 -> 2 (P(X <= 1) = 10/512), 20 -> 6 (P(X <= 5) = 0.0207, while
    /// P(X <= 6) = 0.0577), 41 -> 14.
    #[test]
    fn sign_test_ranks() {
        assert_eq!(sign_test_rank(5), None);
        assert_eq!(sign_test_rank(6), Some(1));
        assert_eq!(sign_test_rank(8), Some(1));
        assert_eq!(sign_test_rank(9), Some(2));
        assert_eq!(sign_test_rank(20), Some(6));
        assert_eq!(sign_test_rank(41), Some(14));
        // The normal approximation continues the exact ranks.
        let exact = sign_test_rank(1000).unwrap();
        let approx = sign_test_rank(1001).unwrap();
        assert!(approx.abs_diff(exact) <= 1, "{exact} {approx}");
    }

    #[test]
    fn median_intervals() {
        let v: Vec<f64> = (1..=9).map(f64::from).rev().collect();
        assert_eq!(median_ci95(&v), Some((2.0, 8.0)));
        assert_eq!(median_ci95(&[1.0, 2.0, 3.0, 4.0, 5.0]), None);
        assert_eq!(median_ci95(&[1.0, 2.0, 3.0, 4.0, 5.0, f64::NAN]), None);
    }
}
