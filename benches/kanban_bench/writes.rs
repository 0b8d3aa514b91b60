//! Write scenarios `create`, `move` and `comment`: a closed loop of one kind of write at each
//! concurrency level, after a short unmeasured warm-up, all on one server. Each `create` level
//! writes to a board of its own: the cost of a write grows with the size of its board, so levels
//! sharing one board would measure the board's growth rather than the concurrency.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;

use crate::api::Api;
use crate::args::Opts;
use crate::load::{self, Op, Slot, Until};
use crate::report;
use crate::{seed, server};

/// The board `move` and `comment` use: the one a brand-new database starts with.
const BOARD: i64 = 1;
const DEFAULT_CONCURRENCY: [usize; 3] = [8, 64, 256];
const WARM_UP: Duration = Duration::from_secs(1);

/// Which write a scenario repeats.
#[derive(Clone, Copy)]
pub enum Write {
    Create,
    Move,
    Comment,
}

impl Write {
    fn name(self) -> &'static str {
        match self {
            Write::Create => "create",
            Write::Move => "move",
            Write::Comment => "comment",
        }
    }
}

/// Run one write scenario at every `--concurrency` level for `--duration` seconds each.
pub async fn run(kind: Write, opts: &Opts) -> Result<(), String> {
    let server = server::start(&opts.common).await?;
    let levels = opts.concurrency_or(&DEFAULT_CONCURRENCY);
    let api = Api::new(&server.base, levels.iter().copied().max().unwrap_or(1))?;
    let duration = Duration::from_secs_f64(opts.duration.unwrap_or(10.0));
    for c in levels {
        let op = match kind {
            Write::Create => create_op(&api, seed::boards(&api, 1, &format!("create C={c}")).await?[0]),
            // Fresh tickets per level, so every worker starts from a known column.
            Write::Move => {
                move_op(&api, seed::tickets(&api, &[BOARD], c).await?, seed::two_columns(&api, BOARD).await?)
            }
            Write::Comment => comment_op(&api, seed::tickets(&api, &[BOARD], c).await?),
        };
        eprintln!("{} at C={c} for {:.0} s", kind.name(), duration.as_secs_f64());
        load::run(c, Until::Elapsed(WARM_UP), op.clone()).await;
        let probe = server.probe();
        let result = load::run(c, Until::Elapsed(duration), op).await;
        report::emit(report::load_line(kind.name(), &result, &probe.finish()));
    }
    Ok(())
}

/// POST /api/tickets/ on `board`, a new title each time.
pub fn create_op(api: &Api, board: i64) -> Op {
    let api = Arc::new(api.clone());
    Arc::new(move |s: Slot| {
        let api = api.clone();
        Box::pin(async move {
            let body = json!({ "board_id": board, "title": format!("bench ticket {} #{}", s.worker, s.seq) });
            api.post("/api/tickets/", &body).await
        })
    })
}

/// POST /api/tickets/{id}/move: worker `w` owns `tickets[w]` and flips it between `columns`, so
/// every move is a real change. Tickets start in `columns[0]`; the op keeps each one's column
/// across phases, so reuse the same `Op` for later phases on the same tickets.
pub fn move_op(api: &Api, tickets: Vec<i64>, columns: [String; 2]) -> Op {
    let api = Arc::new(api.clone());
    let tickets = Arc::new(tickets);
    let columns = Arc::new(columns);
    let at: Arc<Vec<AtomicUsize>> = Arc::new(tickets.iter().map(|_| AtomicUsize::new(0)).collect());
    Arc::new(move |s: Slot| {
        let (api, tickets, columns, at) = (api.clone(), tickets.clone(), columns.clone(), at.clone());
        Box::pin(async move {
            let Some(&id) = tickets.get(s.worker) else { return Err(format!("no ticket for worker {}", s.worker)) };
            let target = 1 - at[s.worker].load(Ordering::Relaxed);
            let out = api.post(&format!("/api/tickets/{id}/move"), &json!({ "column": columns[target] })).await;
            if out.is_ok() {
                at[s.worker].store(target, Ordering::Relaxed);
            }
            out
        })
    })
}

/// POST /api/comments/: worker `w` comments on `tickets[w]`.
pub fn comment_op(api: &Api, tickets: Vec<i64>) -> Op {
    let api = Arc::new(api.clone());
    let tickets = Arc::new(tickets);
    Arc::new(move |s: Slot| {
        let (api, tickets) = (api.clone(), tickets.clone());
        Box::pin(async move {
            let Some(&id) = tickets.get(s.worker) else { return Err(format!("no ticket for worker {}", s.worker)) };
            let body = json!({ "ticket_id": id, "text": format!("bench comment #{}", s.seq), "author": "bench" });
            api.post("/api/comments/", &body).await
        })
    })
}
