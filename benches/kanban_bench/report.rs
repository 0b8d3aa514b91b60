//! Output: exactly one JSON line on stdout per measured configuration; everything a person reads
//! goes to stderr.

use serde_json::{Map, Value, json};

use crate::load::LoadResult;
use crate::server::Usage;

/// A JSON object under construction, printed by [`emit`].
pub type Line = Map<String, Value>;

/// The standard fields of a load phase: throughput, latency percentiles, server CPU and RSS.
pub fn load_line(scenario: &str, r: &LoadResult, usage: &Usage) -> Line {
    let ops = r.ops();
    let lat = &r.latencies_ms;
    let mut line = Line::new();
    line.insert("scenario".into(), json!(scenario));
    line.insert("concurrency".into(), json!(r.concurrency));
    line.insert("ops".into(), json!(ops));
    line.insert("errors".into(), json!(r.errors));
    line.insert("seconds".into(), round(r.seconds, 3));
    line.insert("ops_per_sec".into(), round(ops as f64 / r.seconds.max(1e-9), 1));
    line.insert("p50_ms".into(), round(percentile(lat, 50.0), 3));
    line.insert("p95_ms".into(), round(percentile(lat, 95.0), 3));
    line.insert("p99_ms".into(), round(percentile(lat, 99.0), 3));
    line.insert("max_ms".into(), round(lat.last().copied().unwrap_or(f64::NAN), 3));
    let per_op = usage.cpu_ms.filter(|_| ops > 0).map_or(f64::NAN, |ms| ms / ops as f64);
    line.insert("server_cpu_ms_per_op".into(), round(per_op, 4));
    line.insert("server_rss_mb".into(), round(usage.rss_mb.unwrap_or(f64::NAN), 1));
    if let Some((_, e)) = &r.first_error {
        eprintln!("  {scenario}: {} errors at C={}; first: {e}", r.errors, r.concurrency);
    }
    line
}

/// Print `line` as one JSON line on stdout.
pub fn emit(line: Line) {
    println!("{}", Value::Object(line));
}

/// `v` rounded to `digits` decimals; NaN and infinities become `null`.
pub fn round(v: f64, digits: i32) -> Value {
    let scale = 10f64.powi(digits);
    Value::from((v * scale).round() / scale)
}

/// Nearest-rank percentile of an ascending slice; NaN when empty.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}
