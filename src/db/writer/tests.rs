use super::*;

struct NoEvents;

impl EventSink for NoEvents {
    fn publish(&self, _events: Vec<BoardEvent>) {}
}

async fn writer() -> (WriterHandle, WriterTask) {
    let mut conn = SqliteConnection::connect("sqlite::memory:").await.expect("in-memory database");
    sqlx::query(
        "CREATE TABLE t (v INTEGER NOT NULL); CREATE TABLE n (c INTEGER NOT NULL); INSERT INTO n VALUES (0);
         CREATE TRIGGER t_counted AFTER INSERT ON t BEGIN UPDATE n SET c = c + 1; END",
    )
    .execute(&mut conn)
    .await
    .expect("tables");
    let opts = WriterOptions { queue_capacity: 16, max_batch: 8, queue_wait: Duration::from_millis(100), cpu: None };
    spawn(conn, opts, Arc::new(NoEvents))
}

async fn insert(w: &WriterHandle, v: i64) -> ApiResult<i64> {
    w.run(move |conn, _ctx| {
        Box::pin(async move {
            sqlx::query("INSERT INTO t (v) VALUES (?)").bind(v).execute(&mut *conn).await?;
            Ok(sqlx::query_scalar("SELECT count(*) FROM t").fetch_one(&mut *conn).await?)
        })
    })
    .await
}

#[test]
fn storage_full_is_logged_once_per_episode() {
    let stats = Counters::default();
    let outcomes: Vec<Option<bool>> =
        [(true, false), (true, false), (false, false), (false, true), (false, true), (true, false)]
            .into_iter()
            .map(|(full, ok)| stats.note_outcome(full, ok))
            .collect();
    assert_eq!(outcomes, [Some(true), None, None, Some(false), None, Some(true)]);
}

#[tokio::test]
async fn stats_count_batches_commands_statements_and_trigger_runs() {
    let (w, task) = writer().await;
    assert_eq!(insert(&w, 1).await.expect("write"), 1);
    let stats = w.stats();
    assert_eq!((stats.batches, stats.commands, stats.max_batch_size), (1, 1, 1));
    // BEGIN IMMEDIATE and SAVEPOINT (one round trip), the INSERT and the count, COMMIT.
    assert_eq!(stats.statements, 5);
    assert_eq!(stats.trigger_runs, 1, "the insert ran the trigger once");
    assert!(stats.command_seconds > 0.0);
    drop(w);
    task.shutdown().await;
}

#[tokio::test]
async fn a_panicking_command_fails_alone_and_the_writer_keeps_working() {
    let (w, task) = writer().await;
    assert_eq!(insert(&w, 1).await.expect("first write"), 1);
    let panicked = w
        .run(|conn, _ctx| {
            Box::pin(async move {
                sqlx::query("INSERT INTO t (v) VALUES (99)").execute(&mut *conn).await?;
                panic!("bug in a command");
                #[allow(unreachable_code)]
                Ok(())
            })
        })
        .await;
    assert!(matches!(panicked, Err(ApiError::Internal(_))));
    assert_eq!(insert(&w, 2).await.expect("the writer survived"), 2, "the panicked insert was rolled back");
    drop(w);
    task.shutdown().await;
}

#[tokio::test]
async fn a_failing_command_rolls_back_only_its_own_savepoint() {
    let (w, task) = writer().await;
    let pause = w.pause().await.expect("pause");
    let good = tokio::spawn({
        let w = w.clone();
        async move { insert(&w, 1).await }
    });
    let bad = tokio::spawn({
        let w = w.clone();
        async move {
            w.run(|conn, _ctx| {
                Box::pin(async move {
                    sqlx::query("INSERT INTO t (v) VALUES (7)").execute(&mut *conn).await?;
                    Err::<(), _>(ApiError::NotFound("nope".into()))
                })
            })
            .await
        }
    });
    assert!(pause.wait_queued(2).await);
    let before = w.committed_batches();
    pause.release().await;
    assert!(matches!(bad.await.expect("task"), Err(ApiError::NotFound(_))));
    assert_eq!(good.await.expect("task").expect("good write"), 1);
    assert_eq!(w.committed_batches(), before + 2, "the pause's batch, then one batch with both");
    assert_eq!(insert(&w, 3).await.expect("later write"), 2, "the failed command left no row");
    drop(w);
    task.shutdown().await;
}
