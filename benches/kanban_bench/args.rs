//! Command-line flags: one scenario name, then `--flag value` pairs. Parsing only; each scenario
//! picks its own defaults for the flags it reads.

use std::path::PathBuf;
use std::str::FromStr;

/// Every scenario `all` runs, in order.
pub const SCENARIOS: [&str; 10] = [
    "create",
    "move",
    "comment",
    "list-board",
    "dashboard",
    "write-scaling",
    "memory",
    "ws-fanout",
    "bulk-move",
    "statistics",
];

pub const USAGE: &str = "usage: cargo bench --bench kanban-bench -- <scenario> [flags]
scenarios: create move comment list-board dashboard write-scaling memory ws-fanout bulk-move statistics all
common flags:
  --url http://127.0.0.1:PORT  use a running server instead of starting one
  --pid PID                    with --url: the server's pid, for CPU and RSS figures
  --server-bin PATH            start this binary (default: target/release/agent-kanban;
                               a copy of a `cargo build --release` binary, see BENCHMARKS.md)
  --env KEY=VALUE              extra environment for the started server (repeatable)
scenario flags:
  --concurrency 8,64,256  --duration SECS  --sizes 500,5000  --requests N  --ops N
  --boards N  --tickets-per-board N  --subscribers N  --moves N  --rate PER_SEC";

/// How to reach the server under test.
#[derive(Clone, Debug, Default)]
pub struct Common {
    pub url: Option<String>,
    pub pid: Option<u32>,
    pub server_bin: Option<PathBuf>,
    pub env: Vec<(String, String)>,
}

/// The parsed command line; `None` means "the scenario's default".
#[derive(Clone, Debug, Default)]
pub struct Opts {
    pub scenario: String,
    pub common: Common,
    pub concurrency: Option<Vec<usize>>,
    pub duration: Option<f64>,
    pub sizes: Option<Vec<usize>>,
    pub requests: Option<usize>,
    pub ops: Option<usize>,
    pub boards: Option<usize>,
    pub tickets_per_board: Option<usize>,
    pub subscribers: Option<usize>,
    pub moves: Option<usize>,
    pub rate: Option<f64>,
}

impl Opts {
    /// The options `all` hands to one scenario: the common flags, every other flag at its default.
    pub fn defaults_for(&self, scenario: &str) -> Opts {
        Opts { scenario: scenario.to_owned(), common: self.common.clone(), ..Opts::default() }
    }

    /// `--concurrency` or the scenario's default levels.
    pub fn concurrency_or(&self, default: &[usize]) -> Vec<usize> {
        self.concurrency.clone().unwrap_or_else(|| default.to_vec())
    }

    /// `--sizes` or the scenario's default sizes.
    pub fn sizes_or(&self, default: &[usize]) -> Vec<usize> {
        self.sizes.clone().unwrap_or_else(|| default.to_vec())
    }
}

/// Parse `std::env::args()`; `Err` carries the message to print (the usage text for `--help`).
pub fn parse() -> Result<Opts, String> {
    // `cargo bench` appends `--bench` to the arguments of a harness-less bench.
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let scenario = args.next().ok_or(USAGE)?;
    if scenario == "-h" || scenario == "--help" {
        return Err(USAGE.into());
    }
    if scenario != "all" && !SCENARIOS.contains(&scenario.as_str()) {
        return Err(format!("unknown scenario {scenario:?}\n{USAGE}"));
    }
    let mut o = Opts { scenario, ..Opts::default() };
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        apply(&mut o, &flag, &value)?;
    }
    Ok(o)
}

fn apply(o: &mut Opts, flag: &str, v: &str) -> Result<(), String> {
    match flag {
        "--url" => o.common.url = Some(loopback_url(v)?),
        "--pid" => o.common.pid = Some(num(flag, v)?),
        "--server-bin" => o.common.server_bin = Some(PathBuf::from(v)),
        "--env" => {
            let (key, value) = v.split_once('=').ok_or_else(|| format!("--env wants KEY=VALUE, got {v}"))?;
            o.common.env.push((key.to_owned(), value.to_owned()));
        }
        "--concurrency" => o.concurrency = Some(list(flag, v)?),
        "--sizes" => o.sizes = Some(list(flag, v)?),
        "--duration" => o.duration = Some(positive_f64(flag, v)?),
        "--rate" => o.rate = Some(positive_f64(flag, v)?),
        "--requests" => o.requests = Some(positive(flag, v)?),
        "--ops" => o.ops = Some(positive(flag, v)?),
        "--boards" => o.boards = Some(positive(flag, v)?),
        "--tickets-per-board" => o.tickets_per_board = Some(positive(flag, v)?),
        "--subscribers" => o.subscribers = Some(positive(flag, v)?),
        "--moves" => o.moves = Some(positive(flag, v)?),
        _ => return Err(format!("unknown flag {flag}\n{USAGE}")),
    }
    Ok(())
}

/// The bench only ever talks to this machine's loopback interface.
fn loopback_url(v: &str) -> Result<String, String> {
    let url = v.trim_end_matches('/');
    let host_port = url.strip_prefix("http://").ok_or_else(|| format!("--url must start with http://, got {v}"))?;
    match host_port.split_once(':') {
        Some(("127.0.0.1" | "localhost", port)) if port.parse::<u16>().is_ok() => Ok(url.to_owned()),
        _ => Err(format!("--url must be http://127.0.0.1:PORT, got {v}")),
    }
}

fn num<T: FromStr>(flag: &str, v: &str) -> Result<T, String> {
    v.trim().parse().map_err(|_| format!("bad value for {flag}: {v}"))
}

fn positive(flag: &str, v: &str) -> Result<usize, String> {
    match num(flag, v)? {
        0 => Err(format!("{flag} must be at least 1")),
        n => Ok(n),
    }
}

fn positive_f64(flag: &str, v: &str) -> Result<f64, String> {
    let x: f64 = num(flag, v)?;
    if x.is_finite() && x > 0.0 { Ok(x) } else { Err(format!("{flag} must be a positive number")) }
}

fn list(flag: &str, v: &str) -> Result<Vec<usize>, String> {
    v.split(',').map(|part| positive(flag, part)).collect()
}
