//! Process lifecycle of the real binary: start refuses a corrupt database; SIGTERM drains and
//! exits 0 keeping every acknowledged write; a second signal during shutdown exits 1 at once.

use std::collections::HashSet;
use std::time::Duration;

use agent_kanban::Server;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::binary::{PROCESS_TIMEOUT, Site, WriteLoad, corrupt_table, ticket_ids};

#[tokio::test]
async fn start_exits_1_naming_the_problem_when_quick_check_fails() {
    // Arrange: a database whose boards table has a broken page
    let site = Site::new();
    let server = Server::start(site.config()).await.expect("server starts");
    server.stop().await.expect("server stops");
    corrupt_table(&site.db, "boards").await;

    // Act
    let output = site.run(&["serve"]).await;

    // Assert
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("database check failed: quick_check"), "the message names the check: {stderr}");
    assert!(stderr.contains("malformed") || stderr.contains("page"), "and SQLite's finding: {stderr}");
}

#[tokio::test]
async fn sigterm_during_a_write_load_exits_0_within_the_grace_and_keeps_every_acknowledged_write() {
    // Arrange
    let site = Site::new();
    let grace = Duration::from_secs(10);
    let mut served = site.serve(&[("KANBAN__SERVER__SHUTDOWN_GRACE_SECONDS", "10")]).await;
    let mut load = WriteLoad::start(&served.base, 1, 3);
    load.wait_for(30, Duration::from_secs(60)).await;

    // Act
    served.signal(libc::SIGTERM);
    let exit = served.exit_within(grace + Duration::from_secs(5)).await;
    let acked = load.finish().await;

    // Assert
    let (status, took) = exit.unwrap_or_else(|| panic!("no exit in time; output: {:?}", served.seen));
    assert_eq!(status.code(), Some(0), "output: {:?}", served.seen);
    assert!(took < grace, "exited after {took:?}");
    let restarted = site.serve(&[]).await;
    let stored: HashSet<i64> = ticket_ids(&reqwest::Client::new(), &restarted.base, 1).await.into_iter().collect();
    let lost: Vec<i64> = acked.iter().copied().filter(|i| !stored.contains(i)).collect();
    assert!(lost.is_empty(), "{} of {} acknowledged writes lost: {lost:?}", lost.len(), acked.len());
}

#[tokio::test]
async fn a_second_signal_during_a_held_open_shutdown_exits_1_at_once() {
    // Arrange: a request in flight whose body never completes holds the drain for the grace
    let site = Site::new();
    let mut served = site
        .serve(&[
            ("KANBAN__SERVER__SHUTDOWN_GRACE_SECONDS", "120"),
            ("KANBAN__SERVER__REQUEST_BODY_TIMEOUT_SECONDS", "300"),
        ])
        .await;
    let addr = served.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.expect("connect");
    let head = format!(
        "POST /api/boards/ HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: 100\r\nExpect: 100-continue\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("send head");
    // The server asks for the body once the handler reads it: the request is in flight.
    let mut buf = [0u8; 64];
    let n =
        tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buf)).await.expect("100 in time").expect("read");
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 100"), "{:?}", String::from_utf8_lossy(&buf[..n]));
    stream.write_all(b"{\"name\":").await.expect("send part of the body");
    served.signal(libc::SIGTERM);
    let draining = served.line_containing("shutdown signal received", PROCESS_TIMEOUT).await;
    assert!(draining.is_some(), "the first signal started the shutdown; output: {:?}", served.seen);

    // Act
    served.signal(libc::SIGTERM);

    // Assert
    let exit = served.exit_within(Duration::from_secs(10)).await;
    let (status, _) = exit.unwrap_or_else(|| panic!("the second signal did not end the process: {:?}", served.seen));
    assert_eq!(status.code(), Some(1));
    drop(stream);
}
