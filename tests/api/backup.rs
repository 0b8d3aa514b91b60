//! Backups and restore: `backup --out` while the server runs, scheduled backups with rotation,
//! the SHA-256 sidecar of every backup, and `restore` with every check of `ops.md` §7.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use agent_kanban::Server;
use agent_kanban::backup::BackupError;
use agent_kanban::config::Config;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::Connection;

use crate::binary::{Site, WriteLoad, corrupt_table, names_in};
use crate::helpers::{id, spawn_app, spawn_app_with};

const LOAD_TIMEOUT: Duration = Duration::from_secs(60);

/// The database inside a `.db` or `.db.gz` backup, as a plain file in `scratch`.
fn plain_copy(backup: &Path, scratch: &Path) -> PathBuf {
    let plain = scratch.join("plain.db");
    let bytes = std::fs::read(backup).expect("read backup");
    let bytes = if backup.extension().is_some_and(|e| e == "gz") {
        assert_eq!(&bytes[..2], &[0x1f, 0x8b], "a .gz backup is gzip");
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..]).read_to_end(&mut out).expect("gunzip");
        out
    } else {
        bytes
    };
    std::fs::write(&plain, bytes).expect("write plain copy");
    plain
}

/// The path of `file`'s SHA-256 sidecar.
fn sidecar_of(file: &Path) -> PathBuf {
    PathBuf::from(format!("{}.sha256", file.display()))
}

/// The line `sha256sum FILE` prints for `file` (run in its directory).
fn sha256sum_line(file: &Path) -> String {
    let digest = hex::encode(Sha256::digest(std::fs::read(file).expect("read")));
    format!("{digest}  {}\n", file.file_name().expect("name").to_string_lossy())
}

/// Give `file` a correct sidecar, as a backup would have.
fn write_sidecar(file: &Path) {
    std::fs::write(sidecar_of(file), sha256sum_line(file)).expect("write sidecar");
}

/// Assert `file` has a sidecar in `sha256sum` format that matches it.
fn assert_sidecar_matches(file: &Path) {
    let recorded = std::fs::read_to_string(sidecar_of(file)).expect("the backup has a .sha256 sidecar");
    assert_eq!(recorded, sha256sum_line(file), "sha256sum's format and the file's digest");
}

async fn open(db: &Path) -> sqlx::SqliteConnection {
    let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(db);
    sqlx::SqliteConnection::connect_with(&opts).await.expect("open database")
}

async fn integrity(db: &Path) -> Vec<String> {
    let mut conn = open(db).await;
    let lines = sqlx::query_scalar("PRAGMA integrity_check").fetch_all(&mut conn).await.expect("integrity_check");
    conn.close().await.expect("close");
    lines
}

async fn board_names_in_file(db: &Path) -> Vec<String> {
    let mut conn = open(db).await;
    let names = sqlx::query_scalar("SELECT name FROM boards ORDER BY id").fetch_all(&mut conn).await.expect("boards");
    conn.close().await.expect("close");
    names
}

async fn board_names(client: &reqwest::Client, base: &str) -> Vec<String> {
    let boards: Value =
        client.get(format!("{base}/api/boards/")).send().await.expect("GET").json().await.expect("json");
    boards.as_array().expect("list").iter().map(|b| b["name"].as_str().expect("name").to_owned()).collect()
}

/// A site with a stopped database holding the default board and `boards`.
async fn stopped_site(boards: &[&str]) -> (Site, Config) {
    let site = Site::new();
    let config = site.config();
    let server = Server::start(config.clone()).await.expect("server starts");
    let client = reqwest::Client::new();
    for name in boards {
        let resp = client
            .post(format!("http://{}/api/boards/", server.local_addr()))
            .json(&json!({ "name": name }))
            .send()
            .await
            .expect("POST board");
        assert_eq!(resp.status(), StatusCode::CREATED);
    }
    server.stop().await.expect("server stops");
    (site, config)
}

/// The database file's bytes and the data directory's names: what "unchanged" means.
fn snapshot(site: &Site) -> (Vec<u8>, Vec<String>) {
    (std::fs::read(&site.db).expect("read db"), names_in(&site.data_dir()))
}

async fn backup_round_trip_under_load(file_name: &str) {
    // Arrange: a server taking writes from a loop
    let app = spawn_app().await;
    let board = id(&app.create_board("Load").await);
    let mut load = WriteLoad::start(&app.base, board, 2);
    load.wait_for(20, LOAD_TIMEOUT).await;
    let site = Site { db: app.config.database.path.clone(), ..Site::new() };
    let out = site.dir.path().join(file_name);

    // Act: back up while the loop keeps writing
    let before = load.acked();
    let output = site.run(&["backup", "--out", out.to_str().expect("utf-8")]).await;
    let during = load.acked().len();
    load.wait_for(during + 5, LOAD_TIMEOUT).await;
    load.finish().await;

    // Assert: a sound file holding every write acknowledged before the backup started
    assert!(output.status.success(), "backup failed: {}", String::from_utf8_lossy(&output.stderr));
    assert_sidecar_matches(&out);
    let plain = plain_copy(&out, site.dir.path());
    assert_eq!(integrity(&plain).await, ["ok"]);
    let mut conn = open(&plain).await;
    let ids: HashSet<i64> =
        sqlx::query_scalar("SELECT id FROM tickets").fetch_all(&mut conn).await.expect("ids").into_iter().collect();
    conn.close().await.expect("close");
    let missing: Vec<i64> = before.iter().copied().filter(|i| !ids.contains(i)).collect();
    assert!(missing.is_empty(), "acknowledged before the backup but missing: {missing:?}");
    assert!(names_in(site.dir.path()).iter().all(|n| !n.starts_with('.')), "no temporary file is left");

    // And: restored on a fresh site, a server serves those tickets and adds no board
    let fresh = Site::new();
    let restored = fresh.run(&["restore", out.to_str().expect("utf-8")]).await;
    assert!(restored.status.success(), "restore failed: {}", String::from_utf8_lossy(&restored.stderr));
    let server = Server::start(fresh.config()).await.expect("server starts on the restored database");
    let base = format!("http://{}", server.local_addr());
    let client = reqwest::Client::new();
    assert_eq!(board_names(&client, &base).await, ["My First Board", "Load"]);
    let served: HashSet<i64> = crate::binary::ticket_ids(&client, &base, board).await.into_iter().collect();
    assert!(before.iter().all(|i| served.contains(i)), "every acknowledged ticket is served after restore");
    server.stop().await.expect("stops");
}

#[tokio::test]
async fn a_plain_backup_taken_under_write_load_holds_every_acknowledged_write() {
    backup_round_trip_under_load("manual.db").await;
}

#[tokio::test]
async fn a_gzip_backup_taken_under_write_load_holds_every_acknowledged_write() {
    backup_round_trip_under_load("manual.db.gz").await;
}

#[tokio::test]
async fn backup_refuses_to_overwrite_an_existing_file() {
    // Arrange
    let app = spawn_app().await;
    let site = Site { db: app.config.database.path.clone(), ..Site::new() };
    let out = site.dir.path().join("taken.db.gz");
    std::fs::write(&out, b"precious").expect("write");

    // Act
    let output = site.run(&["backup", "--out", out.to_str().expect("utf-8")]).await;

    // Assert
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("already exists"));
    assert_eq!(std::fs::read(&out).expect("read"), b"precious");
    assert_eq!(names_in(site.dir.path()).iter().filter(|n| n.starts_with('.')).count(), 0, "no temp file left");
}

#[tokio::test]
async fn rotation_keeps_exactly_keep_scheduled_backups_and_leaves_other_files_alone() {
    // Arrange: older scheduled backups and files that merely look similar
    let backups = tempfile::tempdir().expect("temp dir");
    let dir = backups.path().to_path_buf();
    let app = spawn_app_with(|c| {
        c.backup.keep = 2;
        c.backup.dir = dir.clone();
    })
    .await;
    let old = ["kanban-20200101T000000Z.db.gz", "kanban-20200102T000000Z.db.gz", "kanban-20200103T000000Z.db"];
    let others =
        ["notes.txt", "kanban-manual.db.gz", "kanban-20200101T000000Z.db.gz.bak", "kanban-manual.db.gz.sha256"];
    for name in old.iter().chain(&others) {
        std::fs::write(dir.join(name), name).expect("write");
    }
    for name in old {
        write_sidecar(&dir.join(name));
    }

    // Act
    let written = app.run_scheduled_backup().await.expect("scheduled backup");

    // Assert: the new file and the newest old one remain with their sidecars, plus every unrelated file
    let name = written.file_name().expect("name").to_string_lossy().into_owned();
    assert!(name.starts_with("kanban-") && name.ends_with("Z.db.gz"), "{name}");
    let sidecars = [format!("{name}.sha256"), format!("{}.sha256", old[2])];
    let mut expected: Vec<String> =
        [name.as_str(), old[2]].iter().chain(&others).map(|s| s.to_string()).chain(sidecars).collect();
    expected.sort();
    assert_eq!(names_in(&dir), expected);
    assert_sidecar_matches(&written);
    let plain = plain_copy(&written, app.config.database.path.parent().expect("data dir"));
    assert_eq!(integrity(&plain).await, ["ok"]);
}

#[tokio::test]
async fn stopping_the_server_cancels_a_running_backup_and_removes_its_temporary_file() {
    // Arrange: enough incompressible data that the backup takes a while
    let site = Site::new();
    let mut config = site.config();
    let backups = site.dir.path().join("backups");
    config.backup.dir = backups.clone();
    let server = Server::start(config).await.expect("server starts");
    let mut conn = open(&site.db).await;
    sqlx::query("CREATE TABLE padding (data BLOB)").execute(&mut conn).await.expect("create");
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 96)
         INSERT INTO padding SELECT randomblob(524288) FROM n",
    )
    .execute(&mut conn)
    .await
    .expect("fill");
    conn.close().await.expect("close");

    // Act: stop while the backup's temporary file exists
    let pending = tokio::spawn(server.run_scheduled_backup());
    let mut seen_temp = false;
    for _ in 0..2000 {
        if names_in(&backups).iter().any(|n| n.starts_with('.')) {
            seen_temp = true;
            break;
        }
        if pending.is_finished() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(seen_temp, "the backup's temporary file appeared");
    server.stop().await.expect("server stops");

    // Assert
    let result = pending.await.expect("join");
    assert!(matches!(result, Err(BackupError::Cancelled)), "{result:?}");
    assert_eq!(names_in(&backups), Vec::<String>::new(), "neither a temporary nor a partial backup is left");
}

#[tokio::test]
async fn restore_refuses_a_corrupt_file_and_changes_nothing() {
    // Arrange: garbage, a truncated gzip, and a real database with a broken page
    let (site, _) = stopped_site(&["Current"]).await;
    let scratch = tempfile::tempdir().expect("temp dir");
    let garbage = scratch.path().join("garbage.db");
    std::fs::write(&garbage, b"this is not a database".repeat(500)).expect("write");
    let bad_gz = scratch.path().join("bad.db.gz");
    std::fs::write(&bad_gz, [0x1f, 0x8b, 8, 0, 0, 0]).expect("write");
    let broken = scratch.path().join("broken.db");
    std::fs::copy(&site.db, &broken).expect("copy");
    corrupt_table(&broken, "boards").await;
    for file in [&garbage, &bad_gz, &broken] {
        // A matching checksum: the file is refused for what it holds, not for the sidecar.
        write_sidecar(file);
    }
    let before = snapshot(&site);

    for file in [&garbage, &bad_gz, &broken] {
        // Act
        let output = site.run(&["restore", file.to_str().expect("utf-8")]).await;

        // Assert
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{}: {stderr}", file.display());
        assert!(stderr.contains("not a usable backup"), "{stderr}");
        assert_eq!(snapshot(&site), before, "the current database is unchanged");
    }
}

#[tokio::test]
async fn restore_refuses_a_database_with_an_unknown_migration_version() {
    // Arrange: a backup that a newer binary would have migrated further
    let (site, _) = stopped_site(&["Current"]).await;
    let newer = site.dir.path().join("newer.db");
    std::fs::copy(&site.db, &newer).expect("copy");
    let mut conn = open(&newer).await;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, execution_time)
         VALUES (99990101000000, 'from the future', '2099-01-01', 1, x'00', 0)",
    )
    .execute(&mut conn)
    .await
    .expect("insert");
    conn.close().await.expect("close");
    write_sidecar(&newer);
    let before = snapshot(&site);

    // Act
    let output = site.run(&["restore", newer.to_str().expect("utf-8")]).await;

    // Assert
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("99990101000000"), "the message names the version: {stderr}");
    assert_eq!(snapshot(&site), before);
}

#[tokio::test]
async fn restore_refuses_while_a_server_holds_the_lock() {
    // Arrange: a running server and a valid backup of it
    let app = spawn_app().await;
    app.create_board("Live").await;
    let site = Site { db: app.config.database.path.clone(), ..Site::new() };
    let out = site.dir.path().join("live.db");
    assert!(site.run(&["backup", "--out", out.to_str().expect("utf-8")]).await.status.success());
    let before = names_in(&site.data_dir());

    // Act
    let output = site.run(&["restore", out.to_str().expect("utf-8")]).await;

    // Assert
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("kanban.lock"), "{stderr}");
    assert_eq!(names_in(&site.data_dir()), before, "nothing was renamed or added");
    assert_eq!(board_names(&app.client, &app.base).await, ["My First Board", "Live"]);
}

#[tokio::test]
async fn a_restore_keeps_the_previous_database_and_serve_starts_on_the_restored_data() {
    // Arrange: a backup of a database whose boards were all replaced by "Alpha"
    let site = Site::new();
    let server = Server::start(site.config()).await.expect("server starts");
    let base = format!("http://{}", server.local_addr());
    let client = reqwest::Client::new();
    assert_eq!(client.delete(format!("{base}/api/boards/1")).send().await.expect("DELETE").status(), 200);
    let post = |name: &'static str| client.post(format!("{base}/api/boards/")).json(&json!({ "name": name })).send();
    assert_eq!(post("Alpha").await.expect("POST").status(), StatusCode::CREATED);
    let out = site.dir.path().join("alpha.db.gz");
    assert!(site.run(&["backup", "--out", out.to_str().expect("utf-8")]).await.status.success());
    assert_eq!(post("Beta").await.expect("POST").status(), StatusCode::CREATED);
    server.stop().await.expect("server stops");

    // Act
    let output = site.run(&["restore", out.to_str().expect("utf-8")]).await;

    // Assert: the old database is kept aside, and the next start serves the backup as it was
    assert!(output.status.success(), "restore failed: {}", String::from_utf8_lossy(&output.stderr));
    let aside: Vec<String> =
        names_in(&site.data_dir()).into_iter().filter(|n| n.starts_with("kanban.db.pre-restore-")).collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    let stamp = aside[0].trim_start_matches("kanban.db.pre-restore-");
    assert!(stamp.len() == 16 && stamp.ends_with('Z') && stamp.as_bytes()[8] == b'T', "{stamp}");
    assert_eq!(board_names_in_file(&site.data_dir().join(&aside[0])).await, ["Alpha", "Beta"]);
    let server = Server::start(site.config()).await.expect("server starts on the restored database");
    let base = format!("http://{}", server.local_addr());
    assert_eq!(board_names(&client, &base).await, ["Alpha"], "no default board is added to a restored database");
    server.stop().await.expect("server stops");
}

/// A stopped site whose database holds a ticket titled `title`, and a plain `.db` backup of it
/// taken by `backup --out` while the server ran.
async fn site_with_a_plain_backup(title: &str) -> (Site, PathBuf) {
    let site = Site::new();
    let server = Server::start(site.config()).await.expect("server starts");
    let client = reqwest::Client::new();
    let resp = client
        .post(format!("http://{}/api/tickets/", server.local_addr()))
        .json(&json!({"board_id": 1, "title": title}))
        .send()
        .await
        .expect("POST ticket");
    assert_eq!(resp.status(), StatusCode::CREATED);
    let out = site.dir.path().join("plain.db");
    let output = site.run(&["backup", "--out", out.to_str().expect("utf-8")]).await;
    assert!(output.status.success(), "backup failed: {}", String::from_utf8_lossy(&output.stderr));
    server.stop().await.expect("server stops");
    (site, out)
}

/// Change one byte of the first `needle` inside `file`.
fn flip_a_byte_of(file: &Path, needle: &str) {
    let mut bytes = std::fs::read(file).expect("read backup");
    let at = bytes.windows(needle.len()).position(|w| w == needle.as_bytes()).expect("the title is in the file");
    bytes[at] ^= 0x20;
    std::fs::write(file, bytes).expect("write backup");
}

#[tokio::test]
async fn restore_refuses_a_plain_backup_with_a_flipped_byte_inside_a_ticket_title() {
    // Arrange: a backup whose ticket title was altered afterwards, which SQLite's structure check cannot see
    let (site, out) = site_with_a_plain_backup("Quarterly invoice run").await;
    flip_a_byte_of(&out, "Quarterly invoice run");
    assert_eq!(integrity(&out).await, ["ok"], "integrity_check alone passes the altered file");
    let before = snapshot(&site);

    // Act
    let output = site.run(&["restore", out.to_str().expect("utf-8")]).await;

    // Assert
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("not a usable backup") && stderr.contains("SHA-256"), "{stderr}");
    assert!(stderr.contains(&sidecar_of(&out).display().to_string()), "names the sidecar: {stderr}");
    assert_eq!(snapshot(&site), before, "the current database is unchanged");
}

#[tokio::test]
async fn a_backup_without_its_sidecar_is_refused_unless_the_check_is_skipped() {
    // Arrange: a sound backup whose sidecar is gone
    let (site, out) = site_with_a_plain_backup("Sidecar gone").await;
    std::fs::remove_file(sidecar_of(&out)).expect("remove sidecar");
    let before = snapshot(&site);

    // Act
    let refused = site.run(&["restore", out.to_str().expect("utf-8")]).await;
    let forced = site.run(&["restore", "--no-verify", out.to_str().expect("utf-8")]).await;

    // Assert: refused with the way out named; with --no-verify restored, with a warning
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("missing") && stderr.contains("--no-verify"), "{stderr}");
    let stderr = String::from_utf8_lossy(&forced.stderr);
    assert!(forced.status.success(), "{stderr}");
    assert!(stderr.contains("warning") && stderr.contains("SHA-256"), "{stderr}");
    assert_ne!(snapshot(&site).1, before.1, "the previous database was moved aside");
}

#[tokio::test]
async fn backup_refuses_when_only_the_sidecar_name_is_taken() {
    // Arrange
    let app = spawn_app().await;
    let site = Site { db: app.config.database.path.clone(), ..Site::new() };
    let out = site.dir.path().join("fresh.db");
    std::fs::write(sidecar_of(&out), b"precious").expect("write");

    // Act
    let output = site.run(&["backup", "--out", out.to_str().expect("utf-8")]).await;

    // Assert
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("fresh.db.sha256 already exists"));
    assert!(!out.exists(), "no backup without its sidecar");
    assert_eq!(std::fs::read(sidecar_of(&out)).expect("read"), b"precious");
}
