//! The server under test: a child process started on a fresh temp database, or a running server
//! named by `--url`. Also reads the server's CPU time and resident memory from `/proc`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::args::Common;

/// Connection limits for the started server: far above anything a scenario opens, since the
/// process's open-file limit is the real bound.
const REALTIME_LIMIT: &str = "20000";
/// How long a started server may take to answer its first request.
const UP_WITHIN: Duration = Duration::from_secs(10);

/// A server to send requests to; a started child is stopped on drop.
pub struct Server {
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub base: String,
    pid: Option<u32>,
    child: Option<Child>,
    _dir: Option<tempfile::TempDir>,
}

/// CPU time at the start of a measured phase.
pub struct Probe {
    pid: Option<u32>,
    cpu_ms_start: Option<f64>,
}

/// What the server used during a phase; `None` when its pid is unknown.
pub struct Usage {
    pub cpu_ms: Option<f64>,
    pub rss_mb: Option<f64>,
}

impl Server {
    /// Start CPU accounting for a phase.
    pub fn probe(&self) -> Probe {
        Probe { pid: self.pid, cpu_ms_start: self.pid.and_then(cpu_ms) }
    }

    /// The server's resident memory now.
    pub fn rss_mb(&self) -> Option<f64> {
        self.pid.and_then(rss_mb)
    }

    /// RSS, RssAnon and PSS of the server, when its pid is known.
    pub fn memory(&self) -> Option<Memory> {
        self.pid.and_then(memory)
    }

    /// The WebSocket base: `ws://127.0.0.1:PORT`.
    pub fn ws_base(&self) -> String {
        self.base.replacen("http://", "ws://", 1)
    }
}

impl Probe {
    /// CPU used since `probe()` and the resident memory now.
    pub fn finish(&self) -> Usage {
        let now = self.pid.and_then(cpu_ms);
        let cpu_ms = match (self.cpu_ms_start, now) {
            (Some(a), Some(b)) => Some(b - a),
            _ => None,
        };
        Usage { cpu_ms, rss_mb: self.pid.and_then(rss_mb) }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let Some(child) = self.child.as_mut() else { return };
        // SIGTERM first so the server shuts down as in production; SIGKILL if it lingers.
        if let Ok(pid) = libc::pid_t::try_from(child.id()) {
            // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Start the server described by `common` (or attach to `--url`) and wait until it answers.
pub async fn start(common: &Common) -> Result<Server, String> {
    let server = match &common.url {
        Some(url) => Server { base: url.clone(), pid: common.pid, child: None, _dir: None },
        None => spawn(common)?,
    };
    wait_until_up(&server, UP_WITHIN).await?;
    refuse_test_builds(&server).await?;
    Ok(server)
}

/// Refuse a server built with the test-only `statement-stats` feature (its `/metrics` has the
/// statement counter): `cargo bench` itself rebuilds `target/release/agent-kanban` with it, since
/// the tests' dev-dependency turns it on, so a bench run after `cargo build --release` would
/// otherwise measure a build that does not ship.
async fn refuse_test_builds(server: &Server) -> Result<(), String> {
    let client = reqwest::Client::builder().no_proxy().build().map_err(|e| e.to_string())?;
    let metrics = client.get(format!("{}/metrics", server.base)).send().await.map_err(|e| e.to_string())?;
    let text = metrics.text().await.map_err(|e| e.to_string())?;
    if text.contains("kanban_db_writer_statements_total") {
        return Err("the server was built with the test-only `statement-stats` feature (`cargo bench` rebuilds \
                    target/release/agent-kanban with it): copy a `cargo build --release` binary elsewhere and \
                    pass it with --server-bin"
            .to_owned());
    }
    Ok(())
}

/// The server binary a started server runs: `--server-bin`, or `target/release/agent-kanban`,
/// where `cargo build --release` puts it (and where `cargo bench` puts its own test-feature build,
/// which [`refuse_test_builds`] turns away).
pub fn binary(common: &Common) -> PathBuf {
    common.server_bin.clone().unwrap_or_else(|| {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
        target.join("release").join("agent-kanban")
    })
}

fn spawn(common: &Common) -> Result<Server, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let port = free_port()?;
    let bin = binary(common);
    if !bin.is_file() {
        return Err(format!("no server binary at {} (run `cargo build --release` first)", bin.display()));
    }
    let mut cmd = Command::new(&bin);
    cmd.env("KANBAN_CONFIG_DIR", dir.path())
        .env("KANBAN__SERVER__HOST", "127.0.0.1")
        .env("KANBAN__SERVER__PORT", port.to_string())
        .env("KANBAN__DATABASE__PATH", dir.path().join("kanban.db"))
        .env("KANBAN__AUTH__ANONYMOUS_ROLE", "pm")
        .env("KANBAN__RATE_LIMIT__ENABLED", "false")
        .env("KANBAN__REALTIME__MAX_CONNECTIONS", REALTIME_LIMIT)
        .env("KANBAN__REALTIME__MAX_CONNECTIONS_PER_CLIENT", REALTIME_LIMIT)
        .env("KANBAN__LOGGING__LEVEL", "warn");
    for (key, value) in &common.env {
        cmd.env(key, value);
    }
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", cmd.get_program().to_string_lossy()))?;
    let pid = Some(child.id());
    Ok(Server { base: format!("http://127.0.0.1:{port}"), pid, child: Some(child), _dir: Some(dir) })
}

async fn wait_until_up(server: &Server, within: Duration) -> Result<(), String> {
    let client = reqwest::Client::builder().no_proxy().build().map_err(|e| e.to_string())?;
    let url = format!("{}/api/status", server.base);
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Ok(resp) = client.get(&url).send().await
            && resp.status().is_success()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("the server at {} did not come up within {} s", server.base, within.as_secs()))
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// Raise this process's open-file soft limit to its hard limit (inherited by a started server).
pub fn raise_fd_limit() -> u64 {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
    lim.rlim_cur
}

/// User + system CPU time of `pid` in milliseconds, from `/proc/<pid>/stat`.
pub fn cpu_ms(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces; the fields after its closing paren start at
    // field 3 (state), so utime (14) and stime (15) are the 12th and 13th of them.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    // SAFETY: sysconf only reads a system constant.
    let ticks_per_sec = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks_per_sec <= 0 {
        return None;
    }
    Some((utime + stime) as f64 * 1000.0 / ticks_per_sec as f64)
}

/// Resident memory of `pid` in MiB, from `VmRSS` in `/proc/<pid>/status`.
pub fn rss_mb(pid: u32) -> Option<f64> {
    proc_kb(&format!("/proc/{pid}/status"), "VmRSS:").map(|kb| kb / 1024.0)
}

/// The resident memory of `pid` in MiB, three ways.
#[derive(Clone, Copy, Debug)]
pub struct Memory {
    /// Every resident page (`VmRSS`), file-backed code included.
    pub rss: f64,
    /// Anonymous resident pages only (`RssAnon`): heap, stacks; what the process itself grew.
    pub anon: f64,
    /// Proportional set size (`Pss` of `smaps_rollup`): shared pages divided among their users.
    pub pss: f64,
}

/// RSS, RssAnon and PSS of `pid`, or `None` where `/proc` does not have them.
pub fn memory(pid: u32) -> Option<Memory> {
    let status = format!("/proc/{pid}/status");
    Some(Memory {
        rss: proc_kb(&status, "VmRSS:")? / 1024.0,
        anon: proc_kb(&status, "RssAnon:")? / 1024.0,
        pss: proc_kb(&format!("/proc/{pid}/smaps_rollup"), "Pss:")? / 1024.0,
    })
}

/// The value in kB of the line starting with `key` in a `/proc` file of `key: value kB` lines.
fn proc_kb(path: &str, key: &str) -> Option<f64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find(|l| l.starts_with(key))?.split_whitespace().nth(1)?.parse().ok()
}
