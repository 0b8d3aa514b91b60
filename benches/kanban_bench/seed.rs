//! Test data created over REST, many requests in flight at once. Seeding is setup, never measured;
//! its speed goes to stderr.

use std::time::Instant;

use futures_util::{StreamExt, TryStreamExt, stream};
use serde_json::{Value, json};

use crate::api::Api;

/// Creates in flight while seeding tickets.
const TICKET_IN_FLIGHT: usize = 64;
/// Creates in flight while seeding boards.
const BOARD_IN_FLIGHT: usize = 16;

/// Create `n` boards with the default columns; their ids in creation order.
pub async fn boards(api: &Api, n: usize, name: &str) -> Result<Vec<i64>, String> {
    stream::iter(0..n)
        .map(|i| {
            let body = json!({ "name": format!("{name} {i}") });
            async move { id_of(&api.post_json("/api/boards/", &body).await?) }
        })
        .buffered(BOARD_IN_FLIGHT)
        .try_collect()
        .await
}

/// Create `total` tickets spread round-robin over `boards`; their ids.
pub async fn tickets(api: &Api, boards: &[i64], total: usize) -> Result<Vec<i64>, String> {
    if boards.is_empty() {
        return Err("no board to seed".into());
    }
    let started = Instant::now();
    let ids: Vec<i64> = stream::iter(0..total)
        .map(|i| {
            let body = json!({ "board_id": boards[i % boards.len()], "title": format!("seed ticket {i}") });
            async move { id_of(&api.post_json("/api/tickets/", &body).await?) }
        })
        .buffer_unordered(TICKET_IN_FLIGHT)
        .try_collect()
        .await?;
    let secs = started.elapsed().as_secs_f64();
    if total >= 1000 {
        eprintln!("  seeded {total} tickets in {secs:.1} s ({:.0}/s)", total as f64 / secs.max(1e-9));
    }
    Ok(ids)
}

/// The live ticket count of a board.
pub async fn ticket_count(api: &Api, board: i64) -> Result<u64, String> {
    let b = api.get_json(&format!("/api/boards/{board}")).await?;
    b["ticket_count"].as_u64().ok_or_else(|| format!("board {board} has no ticket_count: {b}"))
}

/// The first two columns of a board: the pair moves alternate between.
pub async fn two_columns(api: &Api, board: i64) -> Result<[String; 2], String> {
    let b = api.get_json(&format!("/api/boards/{board}")).await?;
    let cols: Vec<String> =
        b["columns"].as_array().into_iter().flatten().filter_map(|c| c.as_str().map(str::to_owned)).collect();
    match cols.as_slice() {
        [a, b, ..] => Ok([a.clone(), b.clone()]),
        _ => Err(format!("board {board} has fewer than two columns: {b}")),
    }
}

fn id_of(v: &Value) -> Result<i64, String> {
    v["id"].as_i64().ok_or_else(|| format!("no id in {v}"))
}
