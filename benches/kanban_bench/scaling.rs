//! `write-scaling`: do writes slow down as a board grows? One board is grown to each `--sizes`
//! entry, and at each size a fixed number of creates and then moves is measured. The measured
//! creates stay on the board, so `tickets_on_board` (read from the server before each
//! measurement) is the honest size.

use serde_json::json;

use crate::api::Api;
use crate::args::Opts;
use crate::load::{self, Until};
use crate::report;
use crate::writes::{create_op, move_op};
use crate::{seed, server};

/// Grow one board through `--sizes`, measuring `--ops` creates and moves at `--concurrency` each.
pub async fn run(opts: &Opts) -> Result<(), String> {
    let server = server::start(&opts.common).await?;
    let levels = opts.concurrency_or(&[64]);
    let max_c = levels.iter().copied().max().unwrap_or(1);
    let api = Api::new(&server.base, max_c.max(64))?;
    let ops = opts.ops.unwrap_or(3000) as u64;
    let board = seed::boards(&api, 1, "write-scaling").await?[0];
    // One ticket per worker of the largest level to move; they are part of the board's count.
    let movers = seed::tickets(&api, &[board], max_c).await?;
    let moves = move_op(&api, movers, seed::two_columns(&api, board).await?);
    let creates = create_op(&api, board);
    for size in opts.sizes_or(&[1_000, 10_000, 100_000]) {
        let have = seed::ticket_count(&api, board).await? as usize;
        if have < size {
            seed::tickets(&api, &[board], size - have).await?;
        }
        for &c in &levels {
            for (name, op) in [("create", &creates), ("move", &moves)] {
                let on_board = seed::ticket_count(&api, board).await?;
                eprintln!("write-scaling: {ops} {name}s at C={c} on a board of {on_board} tickets");
                let probe = server.probe();
                let result = load::run(c, Until::Ops(ops), op.clone()).await;
                let mut line = report::load_line("write-scaling", &result, &probe.finish());
                line.insert("op".into(), json!(name));
                line.insert("tickets_on_board".into(), json!(on_board));
                report::emit(line);
            }
        }
    }
    Ok(())
}
