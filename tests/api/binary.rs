//! Running the real `agent-kanban` binary: one-shot subcommands (`backup`, `restore`) and a
//! served process whose log lines the test can wait for and which it can signal. Each process
//! gets only the configuration the test gives it (`--config-dir` and `KANBAN__*` variables).

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use agent_kanban::config::Config;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

/// How long a one-shot subcommand or a server start may take on a busy machine.
pub const PROCESS_TIMEOUT: Duration = Duration::from_secs(120);

/// A temp directory with an empty config dir and a database path inside it.
pub struct Site {
    pub dir: tempfile::TempDir,
    pub config_dir: PathBuf,
    pub db: PathBuf,
}

impl Site {
    pub fn new() -> Site {
        let dir = tempfile::tempdir().expect("temp dir");
        let config_dir = dir.path().join("config");
        std::fs::create_dir_all(&config_dir).expect("config dir");
        let db = dir.path().join("data").join("kanban.db");
        Site { dir, config_dir, db }
    }

    /// The in-process test profile for this site's database (port 0, anonymous pm, no rate limit).
    pub fn config(&self) -> Config {
        crate::helpers::test_config(&self.db)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.db.parent().expect("db has a parent").to_path_buf()
    }

    /// The binary with this site's config dir and database, and the test profile.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_agent-kanban"));
        cmd.env_clear()
            .arg("--config-dir")
            .arg(&self.config_dir)
            .env("KANBAN__DATABASE__PATH", &self.db)
            .env("KANBAN__AUTH__ANONYMOUS_ROLE", "pm")
            .env("KANBAN__RATE_LIMIT__ENABLED", "false")
            .env("KANBAN__LOGGING__FORMAT", "json")
            .kill_on_drop(true);
        cmd
    }

    /// Run a one-shot subcommand to completion.
    pub async fn run(&self, args: &[&str]) -> Output {
        let child = self.command().args(args).stdin(Stdio::null()).output();
        tokio::time::timeout(PROCESS_TIMEOUT, child).await.expect("the subcommand finishes in time").expect("run")
    }

    /// `serve` with extra `KANBAN__*` settings; returns once it logged `listening on`.
    pub async fn serve(&self, env: &[(&str, &str)]) -> Served {
        let port = free_port();
        let mut cmd = self.command();
        cmd.arg("serve").env("KANBAN__SERVER__PORT", port.to_string());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
        let (tx, lines) = mpsc::unbounded_channel();
        forward_lines(child.stdout.take().expect("stdout"), tx.clone());
        forward_lines(child.stderr.take().expect("stderr"), tx);
        let mut served = Served { child, lines, seen: Vec::new(), base: String::new() };
        let line = served.line_containing("listening on ", PROCESS_TIMEOUT).await;
        let line = line.unwrap_or_else(|| panic!("the server did not start; output: {:?}", served.seen));
        let addr = listening_addr(&line).unwrap_or_else(|| panic!("no address in {line}"));
        served.base = format!("http://{addr}");
        served
    }
}

/// A port nobody listens on right now (the binary's config does not accept port 0).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

fn forward_lines(stream: impl tokio::io::AsyncRead + Unpin + Send + 'static, tx: mpsc::UnboundedSender<String>) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
}

/// `127.0.0.1:PORT` from a `listening on 127.0.0.1:PORT` log line (JSON or plain).
fn listening_addr(line: &str) -> Option<String> {
    let rest = &line[line.find("listening on ")? + "listening on ".len()..];
    let addr: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':')).collect();
    (!addr.is_empty()).then_some(addr)
}

/// A running `serve` process.
pub struct Served {
    child: Child,
    lines: mpsc::UnboundedReceiver<String>,
    /// Every output line read so far (for failure messages).
    pub seen: Vec<String>,
    pub base: String,
}

impl Served {
    /// The next output line containing `needle`, within `limit`.
    pub async fn line_containing(&mut self, needle: &str, limit: Duration) -> Option<String> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let line = tokio::time::timeout_at(deadline, self.lines.recv()).await.ok()??;
            self.seen.push(line.clone());
            if line.contains(needle) {
                return Some(line);
            }
        }
    }

    /// Every output line until the process closes its output (within `limit`), after those
    /// already read (`seen`).
    pub async fn all_output(&mut self, limit: Duration) -> Vec<String> {
        let deadline = tokio::time::Instant::now() + limit;
        while let Ok(Some(line)) = tokio::time::timeout_at(deadline, self.lines.recv()).await {
            self.seen.push(line);
        }
        self.seen.clone()
    }

    /// Send `signal` (e.g. `libc::SIGTERM`) to the process.
    pub fn signal(&self, signal: i32) {
        let pid = self.child.id().expect("the process is running");
        let pid = libc::pid_t::try_from(pid).expect("pid fits");
        // SAFETY: kill(2) with a pid this test spawned and has not reaped yet.
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(rc, 0, "kill({pid}, {signal})");
    }

    /// Wait for the process to exit within `limit`; returns its status and how long it took.
    pub async fn exit_within(&mut self, limit: Duration) -> Option<(ExitStatus, Duration)> {
        let start = Instant::now();
        let status = tokio::time::timeout(limit, self.child.wait()).await.ok()?.expect("wait");
        Some((status, start.elapsed()))
    }
}

/// Every ticket id on `board_id`, through the paginated ticket list.
pub async fn ticket_ids(client: &reqwest::Client, base: &str, board_id: i64) -> Vec<i64> {
    let mut ids = Vec::new();
    for page in 1..=1000 {
        let url = format!("{base}/api/tickets/?board_id={board_id}&page_size=1000&page={page}");
        let body: Value = client.get(url).send().await.expect("GET tickets").json().await.expect("json");
        let items = body["items"].as_array().expect("items");
        ids.extend(items.iter().map(|t| t["id"].as_i64().expect("id")));
        if page >= body["total_pages"].as_i64().expect("total_pages") {
            break;
        }
    }
    ids
}

/// Overwrite the b-tree page header of `table`'s root page with garbage, so `quick_check` and
/// `integrity_check` fail while the schema stays readable. The database must not be open.
pub async fn corrupt_table(db: &Path, table: &str) {
    use sqlx::Connection;
    let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(db);
    let mut conn = sqlx::SqliteConnection::connect_with(&opts).await.expect("open");
    let root: i64 = sqlx::query_scalar("SELECT rootpage FROM sqlite_master WHERE type = 'table' AND name = ?")
        .bind(table)
        .fetch_one(&mut conn)
        .await
        .expect("root page");
    let page_size: i64 = sqlx::query_scalar("PRAGMA page_size").fetch_one(&mut conn).await.expect("page size");
    conn.close().await.expect("close");
    let mut bytes = std::fs::read(db).expect("read db");
    let start = usize::try_from((root - 1) * page_size).expect("offset");
    bytes[start..start + 16].fill(0xEE);
    std::fs::write(db, bytes).expect("write db");
}

/// Sorted names in `dir`.
pub fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("list dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Concurrent clients creating tickets until stopped, remembering every acknowledged (201) one.
pub struct WriteLoad {
    acked: std::sync::Arc<std::sync::Mutex<Vec<i64>>>,
    count: tokio::sync::watch::Receiver<usize>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Most requests one writer sends, and the longest it runs.
const WRITES_PER_WORKER: usize = 5000;
const WRITE_LOAD_LIMIT: Duration = Duration::from_secs(120);

impl WriteLoad {
    /// `workers` clients posting tickets to `board_id` at `base`. A worker ends on its first
    /// transport error (the server went away), at its write cap, or at the time limit.
    pub fn start(base: &str, board_id: i64, workers: usize) -> WriteLoad {
        use std::sync::atomic::Ordering;
        let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (count_tx, count) = tokio::sync::watch::channel(0usize);
        let count_tx = std::sync::Arc::new(count_tx);
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let deadline = Instant::now() + WRITE_LOAD_LIMIT;
        let tasks = (0..workers)
            .map(|w| {
                let (acked, count_tx, stop) = (acked.clone(), count_tx.clone(), stop.clone());
                let url = format!("{base}/api/tickets/");
                tokio::spawn(async move {
                    let client = reqwest::Client::new();
                    for i in 0..WRITES_PER_WORKER {
                        if stop.load(Ordering::Relaxed) || Instant::now() > deadline {
                            return;
                        }
                        let body = serde_json::json!({ "board_id": board_id, "title": format!("load {w}-{i}") });
                        let Ok(resp) = client.post(&url).json(&body).send().await else { return };
                        if resp.status() != reqwest::StatusCode::CREATED {
                            continue;
                        }
                        let Ok(ticket) = resp.json::<Value>().await else { return };
                        let id = ticket["id"].as_i64().expect("ticket id");
                        let n = {
                            let mut acked = acked.lock().expect("acked lock");
                            acked.push(id);
                            acked.len()
                        };
                        count_tx.send_replace(n);
                    }
                })
            })
            .collect();
        WriteLoad { acked, count, stop, tasks }
    }

    /// The ids acknowledged so far.
    pub fn acked(&self) -> Vec<i64> {
        self.acked.lock().expect("acked lock").clone()
    }

    /// Wait until at least `n` writes were acknowledged (panics after `limit`).
    pub async fn wait_for(&mut self, n: usize, limit: Duration) {
        let reached = tokio::time::timeout(limit, self.count.wait_for(|c| *c >= n)).await.is_ok_and(|r| r.is_ok());
        assert!(reached, "only {} writes acknowledged in {limit:?}", self.acked().len());
    }

    /// Stop the workers (or wait for them to end on their own) and return every acknowledged id.
    pub async fn finish(self) -> Vec<i64> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for task in self.tasks {
            tokio::time::timeout(WRITE_LOAD_LIMIT, task).await.expect("writer ends").expect("writer task");
        }
        self.acked.lock().expect("acked lock").clone()
    }
}
