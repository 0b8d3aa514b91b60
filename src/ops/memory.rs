//! Memory leak detection and memory statistics over the sampler's RSS history (`ops.md` §1), as
//! pure functions of the readings: no sampling, no clock, no logging.

/// How many of the newest RSS readings the leak detection looks at.
pub const LEAK_WINDOW: usize = 10;

/// Of the `LEAK_WINDOW - 1` steps between the readings, how many must rise for an increasing trend.
const RISING_STEPS_FOR_TREND: usize = 8;

const MIB: f64 = 1024.0 * 1024.0;
const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// Round to 2 decimals, as every reported MB/GB/percent figure is.
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Bytes as MiB (1024² bytes), 2 decimals.
pub fn mib(bytes: u64) -> f64 {
    round2(bytes as f64 / MIB)
}

/// Bytes as GiB (1024³ bytes), 2 decimals.
pub fn gib(bytes: u64) -> f64 {
    round2(bytes as f64 / GIB)
}

/// `part` as a percentage of `whole` (2 decimals; 0 when `whole` is 0).
pub fn percent(part: f64, whole: f64) -> f64 {
    if whole > 0.0 { round2(part / whole * 100.0) } else { 0.0 }
}

/// The verdict over the newest [`LEAK_WINDOW`] readings r₀..r₉.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LeakDetection {
    /// `increasing_trend` and `growth_mb` > 0.
    pub detected: bool,
    /// r₉ − r₀ in MiB (2 decimals).
    pub growth_mb: f64,
    /// At least 8 of the 9 steps rᵢ > rᵢ₋₁.
    pub increasing_trend: bool,
}

/// Leak detection over the newest [`LEAK_WINDOW`] of `rss_mb` (oldest first); `None` while
/// fewer readings exist.
pub fn detect_leak(rss_mb: &[f64]) -> Option<LeakDetection> {
    let window = rss_mb.get(rss_mb.len().checked_sub(LEAK_WINDOW)?..)?;
    let rising = window.windows(2).filter(|w| w[1] > w[0]).count();
    let increasing_trend = rising >= RISING_STEPS_FOR_TREND;
    let growth_mb = round2(window[LEAK_WINDOW - 1] - window[0]);
    Some(LeakDetection { detected: increasing_trend && growth_mb > 0.0, growth_mb, increasing_trend })
}

/// Minimum, maximum, mean and newest RSS of the retained readings, in MiB (2 decimals).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MemoryStatistics {
    pub min_mb: f64,
    pub max_mb: f64,
    pub avg_mb: f64,
    pub latest_mb: f64,
}

/// Statistics of `rss_mb` (oldest first); `None` when there is no reading.
pub fn statistics(rss_mb: &[f64]) -> Option<MemoryStatistics> {
    let latest_mb = *rss_mb.last()?;
    let min_mb = rss_mb.iter().copied().fold(f64::INFINITY, f64::min);
    let max_mb = rss_mb.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let avg_mb = round2(rss_mb.iter().sum::<f64>() / rss_mb.len() as f64);
    Some(MemoryStatistics { min_mb, max_mb, avg_mb, latest_mb })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fewer_than_ten_readings_give_no_verdict() {
        assert_eq!(detect_leak(&[]), None);
        assert_eq!(detect_leak(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]), None);
    }

    #[test]
    fn ten_strictly_rising_readings_are_a_leak() {
        let r = [40.0, 41.0, 42.0, 43.0, 44.0, 45.0, 46.0, 47.0, 48.0, 49.5];
        assert_eq!(detect_leak(&r), Some(LeakDetection { detected: true, growth_mb: 9.5, increasing_trend: true }));
    }

    #[test]
    fn eight_rising_steps_of_nine_are_still_a_trend() {
        // Steps: + + + - + + + + +  → 8 of 9 rise; growth 50.0 - 40.0 = 10.0.
        let r = [40.0, 41.0, 42.0, 43.0, 42.5, 44.0, 45.0, 46.0, 47.0, 50.0];
        assert_eq!(detect_leak(&r), Some(LeakDetection { detected: true, growth_mb: 10.0, increasing_trend: true }));
    }

    #[test]
    fn seven_rising_steps_are_no_trend() {
        // Steps: + + - + + - + + +  → 7 of 9 rise.
        let r = [40.0, 41.0, 42.0, 41.0, 42.0, 43.0, 42.0, 43.0, 44.0, 45.0];
        assert_eq!(detect_leak(&r), Some(LeakDetection { detected: false, growth_mb: 5.0, increasing_trend: false }));
    }

    #[test]
    fn a_trend_without_growth_is_no_leak() {
        // 8 rising steps of 9, but the one drop takes r₉ back below r₀: growth -2.0.
        let r = [50.0, 50.1, 50.2, 50.3, 50.4, 50.5, 50.6, 50.7, 50.8, 48.0];
        assert_eq!(detect_leak(&r), Some(LeakDetection { detected: false, growth_mb: -2.0, increasing_trend: true }));
        // Flat readings: no step rises, growth 0.
        let flat = [45.0; 10];
        assert_eq!(
            detect_leak(&flat),
            Some(LeakDetection { detected: false, growth_mb: 0.0, increasing_trend: false })
        );
    }

    #[test]
    fn only_the_newest_ten_readings_count() {
        // A big early drop is outside the window; the last 10 rise steadily.
        let r = [90.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0];
        assert_eq!(detect_leak(&r), Some(LeakDetection { detected: true, growth_mb: 9.0, increasing_trend: true }));
    }

    #[test]
    fn statistics_of_the_retained_readings() {
        assert_eq!(statistics(&[]), None);
        let s = statistics(&[40.0, 52.0, 46.9]).expect("readings");
        assert_eq!(s, MemoryStatistics { min_mb: 40.0, max_mb: 52.0, avg_mb: 46.3, latest_mb: 46.9 });
    }

    #[test]
    fn units_are_binary_and_rounded() {
        assert_eq!(mib(50_593_792), 48.25);
        assert_eq!(gib(107_374_182_400), 100.0);
        assert_eq!(percent(1.0, 3.0), 33.33);
        assert_eq!(percent(1.0, 0.0), 0.0);
    }
}
