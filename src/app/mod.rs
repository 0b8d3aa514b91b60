//! The server lifecycle: start (open storage, migrate, seed, spawn the writer, bind) and graceful
//! stop (`ops.md` §5 and §8). The router and its layer stack are `router.rs`.

mod router;

use std::fs::File;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::middleware;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tower::Layer;

use crate::auth::AuthContext;
use crate::auth::jwt::{JwtKeys, load_or_create_secret};
use crate::auth::password::PasswordHasherPool;
use crate::backup::BackupError;
use crate::backup::schedule::{ScheduleSettings, Scheduler};
use crate::config::{Config, EventsConfig};
use crate::db::writer::{self, WriterHandle, WriterOptions, WriterPause, WriterTask};
use crate::db::{self, OpenError};
use crate::error::{ApiError, ApiResult};
use crate::jobs;
use crate::ops::{Sampler, SamplerSettings, SamplerTask, ShutdownFlag};
use crate::ratelimit::{Limiters, TrustedProxies};
use crate::serve::{self, ConnectionLimits, OpenConnections};
use crate::state::AppState;
use crate::ws::Hub;
use crate::ws::hub::HubSettings;

pub use router::build_router;
use router::{cors_layer, trim_trailing_slash};

fn connection_limits(config: &Config) -> ConnectionLimits {
    ConnectionLimits {
        max_connections: config.server.max_connections,
        header_read_timeout: Duration::from_secs(config.server.header_read_timeout_seconds),
        keep_alive_idle: Duration::from_secs(config.server.keep_alive_idle_seconds),
    }
}

fn sampler_settings(config: &Config) -> SamplerSettings {
    SamplerSettings {
        interval: Duration::from_secs(config.ops.memory_sample_interval_seconds),
        kept: config.ops.memory_samples_kept,
        threshold_mb: config.ops.memory_threshold_mb,
        data_dir: config.data_dir(),
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot create data directory {0}: {1}")]
    DataDir(String, std::io::Error),
    #[error("cannot create backup directory {0}: {1}")]
    BackupDir(String, std::io::Error),
    #[error("another process holds {0}: is a server already running on this database?")]
    Locked(String),
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error("cannot listen on {0}: {1}")]
    Bind(String, std::io::Error),
    #[error("server error: {0}")]
    Serve(std::io::Error),
    #[error("cannot load the JWT secret: {0}")]
    Secret(std::io::Error),
    #[error("cannot prepare password hashing: {0}")]
    Passwords(ApiError),
    #[error("cannot start the resource sampler: {0}")]
    Sampler(std::io::Error),
}

/// Take the exclusive lock on `<data dir>/kanban.lock` (released when the file is dropped).
pub fn lock_data_dir(config: &Config) -> Result<File, StartError> {
    let dir = config.data_dir();
    std::fs::create_dir_all(&dir).map_err(|e| StartError::DataDir(dir.display().to_string(), e))?;
    let path = dir.join("kanban.lock");
    let file = File::create(&path).map_err(|e| StartError::DataDir(path.display().to_string(), e))?;
    file.try_lock().map_err(|_| StartError::Locked(path.display().to_string()))?;
    Ok(file)
}

/// Create the backup directory when scheduled backups are on (`ops.md` §5 step 3).
fn create_backup_dir(config: &Config) -> Result<(), StartError> {
    if !config.backup.enabled {
        return Ok(());
    }
    let dir = config.backup_dir();
    std::fs::create_dir_all(&dir).map_err(|e| StartError::BackupDir(dir.display().to_string(), e))
}

/// Token keys (from the configured or persisted secret) and the password hasher.
pub async fn auth_context(config: &Config) -> Result<AuthContext, StartError> {
    let secret =
        load_or_create_secret(config.auth.jwt_secret.expose(), &config.data_dir()).map_err(StartError::Secret)?;
    let keys = JwtKeys::new(
        &secret,
        Duration::from_secs(config.auth.access_token_ttl_minutes * 60),
        Duration::from_secs(config.auth.refresh_token_ttl_days * 86_400),
    );
    let passwords = PasswordHasherPool::new(config.auth.max_concurrent_hashes).await.map_err(StartError::Passwords)?;
    Ok(AuthContext { keys: Arc::new(keys), passwords })
}

/// A running server.
pub struct Server {
    addr: SocketAddr,
    shutdown: oneshot::Sender<()>,
    serving: tokio::task::JoinHandle<std::io::Result<()>>,
    writer: WriterHandle,
    writer_task: WriterTask,
    hub: Hub,
    purge: tokio::task::JoinHandle<()>,
    housekeeping: jobs::Housekeeping,
    housekeeping_task: tokio::task::JoinHandle<()>,
    /// The periodic memory release (`ops.memory_release_interval_seconds`), when on.
    release: Option<tokio::task::JoinHandle<()>>,
    events: EventsConfig,
    grace: Duration,
    open: OpenConnections,
    sampler: SamplerTask,
    shutting_down: ShutdownFlag,
    backups: Scheduler,
    read: sqlx::SqlitePool,
    _lock: File,
}

impl Server {
    /// Open storage (migrating, and seeding a brand-new database), start the writer and listen on
    /// `server.host:server.port` (port 0 picks a free one).
    pub async fn start(config: Config) -> Result<Server, StartError> {
        create_backup_dir(&config)?;
        let lock = lock_data_dir(&config)?;
        let mut conn = db::open_writer(&config.database).await?;
        let is_new = db::migrate(&mut conn).await?;
        db::quick_check(&mut conn).await?;
        if is_new {
            db::seed_default_board(&mut conn).await?;
        }
        let read = db::open_read_pool(&config.database).await?;
        let hub = Hub::new(HubSettings {
            channel_capacity: config.realtime.board_channel_capacity,
            max_connections: config.realtime.max_connections,
            max_per_client: config.realtime.max_connections_per_client,
        });
        let (writer, writer_task) = writer::spawn(
            conn,
            WriterOptions {
                queue_capacity: config.database.writer_queue_capacity,
                max_batch: config.database.writer_max_batch,
                queue_wait: Duration::from_millis(config.database.writer_queue_wait_ms),
                cpu: db::pinning::writer_cpu(config.database.pin_writer),
            },
            Arc::new(hub.clone()),
        );
        let addr = config.listen_addr();
        let listener = TcpListener::bind(&addr).await.map_err(|e| StartError::Bind(addr.clone(), e))?;
        let local = listener.local_addr().map_err(|e| StartError::Bind(addr, e))?;
        let grace = Duration::from_secs(config.server.shutdown_grace_seconds);
        let auth = auth_context(&config).await?;
        let events = config.events.clone();
        let purge = tokio::spawn(jobs::purge_events_periodically(writer.clone(), events.clone()));
        let release = (config.ops.memory_release_interval_seconds > 0).then(|| {
            let every = Duration::from_secs(config.ops.memory_release_interval_seconds);
            tokio::spawn(jobs::release_free_memory_periodically(every))
        });
        let backups = Scheduler::spawn(ScheduleSettings {
            database: config.database.clone(),
            backup: config.backup.clone(),
            dir: config.backup_dir(),
        });
        // Validated with the rest of the configuration, so this parse cannot fail here.
        let proxies = TrustedProxies::new(config.server.trusted_networks().unwrap_or_default());
        let (sampler, sampler_task) = Sampler::start(sampler_settings(&config)).await.map_err(StartError::Sampler)?;
        let open = OpenConnections::default();
        let shutting_down = ShutdownFlag::default();
        let (metrics, limiters) = (crate::metrics::Metrics::new(), Limiters::default());
        let idle_days = config.auth.anonymous_session_idle_days;
        let housekeeping = jobs::Housekeeping::new(writer.clone(), limiters.clone(), metrics.clone(), idle_days);
        let every = Duration::from_secs(config.ops.housekeeping_interval_seconds);
        let housekeeping_task = tokio::spawn(housekeeping.clone().run_periodically(every));
        let state = AppState {
            db: read.clone(),
            writer: writer.clone(),
            config: Arc::new(config),
            auth,
            hub: hub.clone(),
            proxies,
            dragdrop: Default::default(),
            metrics,
            limiters,
            sampler,
            shutdown: shutting_down.clone(),
            open_connections: open.clone(),
            started: std::time::Instant::now(),
        };
        let limits = connection_limits(&state.config);
        let app = cors_layer(&state.config).layer(middleware::from_fn(trim_trailing_slash).layer(build_router(state)));
        let (shutdown, stop_rx) = oneshot::channel::<()>();
        let serving = tokio::spawn(serve::serve(listener, app, limits, open.clone(), async move {
            let _ = stop_rx.await;
        }));
        crate::alloc::release_free_memory();
        tracing::info!(addr = %local, "listening on {local}");
        Ok(Server {
            addr: local,
            shutdown,
            serving,
            writer,
            writer_task,
            hub,
            purge,
            housekeeping,
            housekeeping_task,
            release,
            events,
            grace,
            open,
            sampler: sampler_task,
            shutting_down,
            backups,
            read,
            _lock: lock,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Hold the writer (see [`WriterHandle::pause`]).
    pub async fn pause_writer(&self) -> ApiResult<WriterPause> {
        self.writer.pause().await
    }

    pub fn committed_batches(&self) -> u64 {
        self.writer.committed_batches()
    }

    /// Open HTTP connections (upgraded WebSockets not included).
    pub fn open_connections(&self) -> usize {
        self.open.get()
    }

    /// Test hook: let the database grow by at most `extra_pages` pages from now on (`None` lifts
    /// the cap), through the real writer connection, so `SQLITE_FULL` can be provoked without
    /// filling a disk. Returns the page cap in force.
    #[doc(hidden)]
    pub async fn limit_database_growth(&self, extra_pages: Option<u32>) -> ApiResult<i64> {
        self.writer
            .run(move |conn, _ctx| Box::pin(async move { Ok(db::limit_page_count(conn, extra_pages).await?) }))
            .await
    }

    /// The writer, for tests and benchmarks that read its statistics or recorded statements.
    pub fn writer(&self) -> &WriterHandle {
        &self.writer
    }

    /// The realtime hub (stats and close counters, for tests and benchmarks).
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// Run the event-log retention purge now (it also runs every `events.purge_interval_minutes`).
    pub async fn purge_events(&self) -> ApiResult<u64> {
        jobs::purge_events(&self.writer, &self.events).await
    }

    /// Test hook: one housekeeping pass as if the clock read `now`, at most `batch_size` rows per
    /// statement (the job itself runs every `ops.housekeeping_interval_seconds` with
    /// [`jobs::HOUSEKEEPING_BATCH`]).
    #[doc(hidden)]
    pub async fn run_housekeeping(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        batch_size: u32,
    ) -> ApiResult<jobs::Purged> {
        self.housekeeping.run(now, batch_size).await
    }

    /// Test hook: take a scheduled backup now (rotation included), as the `backup.interval_hours`
    /// timer would. The future does not borrow the server; it resolves with the new file, or
    /// `Cancelled` when the server stops first.
    #[doc(hidden)]
    pub fn run_scheduled_backup(
        &self,
    ) -> impl std::future::Future<Output = Result<std::path::PathBuf, BackupError>> + Send + 'static {
        self.backups.run_now()
    }

    /// Stop accepting, let in-flight requests finish (up to the grace period), then drain the
    /// writer queue, checkpoint the WAL and release the lock.
    pub async fn stop(self) -> Result<(), StartError> {
        // Readiness first (from here on /health/ready answers 503 on open connections), and the
        // listener stops accepting; requests in flight carry on.
        self.shutting_down.begin();
        let _ = self.shutdown.send(());
        // WebSockets next: refuse new handshakes, close every socket with 1001 (5 s for the close
        // handshakes).
        self.hub.shutdown(Duration::from_secs(5)).await;
        self.purge.abort();
        self.housekeeping_task.abort();
        if let Some(release) = &self.release {
            release.abort();
        }
        // A running backup gives up and deletes its temporary file.
        self.backups.stop().await;
        let mut serving = self.serving;
        let served = match tokio::time::timeout(self.grace, &mut serving).await {
            Ok(joined) => joined.unwrap_or_else(|e| Err(std::io::Error::other(e))),
            Err(_) => {
                tracing::warn!("in-flight requests did not finish within the grace period; aborting them");
                serving.abort();
                Ok(())
            }
        };
        self.sampler.stop().await;
        drop(self.writer);
        self.writer_task.shutdown().await;
        // Read connections close last; an aborted request may still hold one, so bounded.
        if tokio::time::timeout(Duration::from_secs(2), self.read.close()).await.is_err() {
            tracing::warn!("read connections still in use at shutdown");
        }
        served.map_err(StartError::Serve)
    }
}
