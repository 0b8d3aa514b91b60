//! Aggregates of `statistics.md` §2 over millisecond samples: mean, sample standard deviation,
//! median, the reference p95 and the nearest-rank percentiles of the flow metrics.
//!
//! Sums are taken over integer milliseconds, so a set of equal values has exactly that mean and
//! σ = 0 (a float sum of equal fractions could leave a tiny σ and turn z-scores into noise).

use super::Ms;

/// The column-statistics aggregates of a set of durations, in milliseconds (0 when empty).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub count: usize,
    pub mean: f64,
    pub std_dev: f64,
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub p95: f64,
}

/// Sort `values` ascending in place and summarise them.
pub fn summarize(values: &mut [Ms]) -> Summary {
    values.sort_unstable();
    let n = values.len();
    if n == 0 {
        return Summary::default();
    }
    let mean = mean(values);
    Summary {
        count: n,
        mean,
        std_dev: std_dev(values, mean),
        median: median(values),
        min: values[0] as f64,
        max: values[n - 1] as f64,
        p95: values[((95 * n) / 100).min(n - 1)] as f64,
    }
}

/// Σx / n over integers; 0 for no values.
pub fn mean(values: &[Ms]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let sum: i128 = values.iter().map(|&v| i128::from(v)).sum();
    sum as f64 / values.len() as f64
}

/// Sample standard deviation around `mean`: √(Σ(x − mean)² / (n − 1)); 0 for n < 2.
pub fn std_dev(values: &[Ms], mean: f64) -> f64 {
    let n = values.len();
    if n < 2 {
        return 0.0;
    }
    let squares: f64 = values.iter().map(|&v| (v as f64 - mean).powi(2)).sum();
    (squares / (n - 1) as f64).sqrt()
}

/// Median of sorted values; 0 for none.
pub fn median(sorted: &[Ms]) -> f64 {
    let n = sorted.len();
    match n {
        0 => 0.0,
        n if n % 2 == 1 => sorted[(n - 1) / 2] as f64,
        n => (sorted[n / 2 - 1] as f64 + sorted[n / 2] as f64) / 2.0,
    }
}

/// Nearest-rank percentile `p` (1..=100) of sorted values: x[⌈p/100 · n⌉ − 1]; None for none.
/// Computed in integers so that e.g. p85 of 20 values is exactly the 17th.
pub fn nearest_rank(sorted: &[Ms], p: usize) -> Option<Ms> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let rank = (p * n).div_ceil(100).max(1);
    Some(sorted[rank.min(n) - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_tickets_of_one_two_and_three_hours() {
        let h = 3_600_000;
        let mut v = vec![3 * h, h, 2 * h];
        let s = summarize(&mut v);
        assert_eq!(s.count, 3);
        assert_eq!(s.mean, 7_200_000.0);
        assert_eq!(s.std_dev, 3_600_000.0);
        assert_eq!(s.median, 7_200_000.0);
        assert_eq!((s.min, s.max), (3_600_000.0, 10_800_000.0));
        assert_eq!(s.p95, 10_800_000.0, "n <= 20 gives the maximum");
    }

    #[test]
    fn empty_and_single_value_sets() {
        assert_eq!(summarize(&mut []), Summary::default());
        let s = summarize(&mut [5_000]);
        assert_eq!((s.mean, s.std_dev, s.median, s.p95), (5_000.0, 0.0, 5_000.0, 5_000.0));
    }

    #[test]
    fn identical_values_have_exactly_zero_deviation() {
        let mut v = vec![100; 7];
        let s = summarize(&mut v);
        assert_eq!(s.mean, 100.0);
        assert_eq!(s.std_dev, 0.0);
    }

    #[test]
    fn even_counts_average_the_middle_pair_and_p95_uses_the_floor_rule() {
        let mut v: Vec<Ms> = (1..=40).collect();
        let s = summarize(&mut v);
        assert_eq!(s.median, 20.5);
        assert_eq!(s.p95, 39.0, "x[floor(0.95 * 40)] = x[38]");
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<Ms> = (1..=20).collect();
        assert_eq!(nearest_rank(&v, 50), Some(10));
        assert_eq!(nearest_rank(&v, 85), Some(17));
        assert_eq!(nearest_rank(&v, 95), Some(19));
        assert_eq!(nearest_rank(&[86_400_000, 172_800_000], 50), Some(86_400_000));
        assert_eq!(nearest_rank(&[86_400_000, 172_800_000], 85), Some(172_800_000));
        assert_eq!(nearest_rank(&[7], 95), Some(7));
        assert_eq!(nearest_rank(&[], 50), None);
    }
}
