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
}
