//! The database figures of `/api/health/`: table counts, ticket distributions, active anonymous
//! sessions and the newest history rows. Read pool only; nothing that names a user, a session or
//! a client leaves this module.

use std::collections::BTreeMap;

use sqlx::SqlitePool;

use crate::error::ApiResult;

/// Row counts of the main tables, and the anonymous sessions active since a cutoff.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct Counts {
    pub boards: i64,
    pub tickets: i64,
    pub comments: i64,
    pub users: i64,
    pub history_entries: i64,
    pub events: i64,
    pub active_sessions: i64,
}

/// One history row without its values or author.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Activity {
    pub ticket_id: i64,
    pub field: String,
    pub changed_at: String,
}

/// Everything `/api/health/` reads from the database.
#[derive(Debug, Clone)]
pub struct HealthFacts {
    pub counts: Counts,
    /// Tickets per column name.
    pub by_column: BTreeMap<String, i64>,
    /// Tickets per priority.
    pub by_priority: BTreeMap<String, i64>,
    /// Up to 5 newest history rows.
    pub recent: Vec<Activity>,
}

/// Read the facts in three statements on one read connection (`sessions_since`: the oldest
/// `last_activity` of a live anonymous session).
pub async fn facts(pool: &SqlitePool, sessions_since: &str) -> ApiResult<HealthFacts> {
    let mut conn = pool.acquire().await?;
    let counts: Counts = sqlx::query_as(
        "SELECT (SELECT count(*) FROM boards) AS boards, (SELECT count(*) FROM tickets) AS tickets,
                (SELECT count(*) FROM comments) AS comments, (SELECT count(*) FROM users) AS users,
                (SELECT count(*) FROM ticket_history) AS history_entries,
                (SELECT count(*) FROM board_events) AS events,
                (SELECT count(*) FROM anon_sessions WHERE last_activity >= ?) AS active_sessions",
    )
    .bind(sessions_since)
    .fetch_one(&mut *conn)
    .await?;
    let groups: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT 'column', current_column, count(*) FROM tickets GROUP BY current_column
         UNION ALL
         SELECT 'priority', priority, count(*) FROM tickets GROUP BY priority",
    )
    .fetch_all(&mut *conn)
    .await?;
    let recent: Vec<Activity> = sqlx::query_as(
        "SELECT ticket_id, field_name AS field, changed_at FROM ticket_history
         ORDER BY changed_at DESC, id DESC LIMIT 5",
    )
    .fetch_all(&mut *conn)
    .await?;
    let (mut by_column, mut by_priority) = (BTreeMap::new(), BTreeMap::new());
    for (kind, key, n) in groups {
        let map = if kind == "column" { &mut by_column } else { &mut by_priority };
        map.insert(key, n);
    }
    Ok(HealthFacts { counts, by_column, by_priority, recent })
}

/// `SELECT 1` on a read connection (the readiness probe's database check).
pub async fn ping(pool: &SqlitePool) -> ApiResult<()> {
    sqlx::query("SELECT 1").execute(pool).await?;
    Ok(())
}
