//! Series whose values live with their owners (the writer, the hub, the read pool, the rate
//! limiters), read at scrape time as plain metric families: nothing here counts anything itself.

use prometheus::proto::{Counter, Gauge as GaugeValue, LabelPair, Metric, MetricFamily, MetricType};

use super::Sources;
use crate::db::writer::WriterHandle;
use crate::ws::Hub;

/// One sample: its labels and value.
pub(super) type Sample = (Vec<(&'static str, String)>, f64);

pub(super) fn family(name: &str, help: &str, kind: MetricType, samples: Vec<Sample>) -> MetricFamily {
    let metrics = samples
        .into_iter()
        .map(|(labels, value)| {
            let pairs = labels
                .into_iter()
                .map(|(k, v)| {
                    let mut pair = LabelPair::default();
                    pair.set_name(k.to_owned());
                    pair.set_value(v);
                    pair
                })
                .collect();
            let mut m = Metric::from_label(pairs);
            if kind == MetricType::COUNTER {
                let mut c = Counter::default();
                c.set_value(value);
                m.set_counter(c);
            } else {
                let mut g = GaugeValue::default();
                g.set_value(value);
                m.set_gauge(g);
            }
            m
        })
        .collect();
    let mut f = MetricFamily::default();
    f.set_name(name.to_owned());
    f.set_help(help.to_owned());
    f.set_field_type(kind);
    f.set_metric(metrics);
    f
}

fn single(name: &str, help: &str, kind: MetricType, value: f64) -> MetricFamily {
    family(name, help, kind, vec![(Vec::new(), value)])
}

/// Series whose values live with their owners, read now.
pub(super) fn scraped(s: &Sources<'_>) -> Vec<MetricFamily> {
    let mut out = writer_families(s.writer);
    out.extend(hub_families(s.hub));
    let keys = s.limiters.key_counts().into_iter().map(|(class, n)| (vec![("class", class.to_owned())], n as f64));
    out.push(family(
        "kanban_rate_limiter_keys",
        "Clients (user ids and addresses) a rate-limit class holds state for",
        MetricType::GAUGE,
        keys.collect(),
    ));
    let size = s.read_pool.size() as f64;
    let idle = s.read_pool.num_idle() as f64;
    out.push(family(
        "kanban_db_read_pool_connections",
        "Read pool connections by state",
        MetricType::GAUGE,
        vec![(vec![("state", "idle".into())], idle), (vec![("state", "in_use".into())], (size - idle).max(0.0))],
    ));
    out
}

fn writer_families(writer: &WriterHandle) -> Vec<MetricFamily> {
    use MetricType::{COUNTER, GAUGE};
    let s = writer.stats();
    let mut out = vec![
        single("kanban_db_writer_batches_total", "Transactions committed by the writer", COUNTER, s.batches as f64),
        single("kanban_db_writer_commands_total", "Commands run by the writer", COUNTER, s.commands as f64),
        single(
            "kanban_db_writer_command_seconds_total",
            "Time spent inside writer commands",
            COUNTER,
            s.command_seconds,
        ),
        single(
            "kanban_db_writer_max_batch_size",
            "Largest batch committed since start",
            GAUGE,
            s.max_batch_size as f64,
        ),
        single("kanban_db_writer_queue_depth", "Commands waiting for the writer", GAUGE, writer.queue_depth() as f64),
    ];
    // Counted only in builds with the `statement-stats` feature (the tests and the benchmark).
    if cfg!(feature = "statement-stats") {
        out.push(single(
            "kanban_db_writer_statements_total",
            "SQL statements started on the write connection",
            COUNTER,
            s.statements as f64,
        ));
        out.push(single(
            "kanban_db_writer_trigger_runs_total",
            "Trigger programs run on the write connection",
            COUNTER,
            s.trigger_runs as f64,
        ));
    }
    out.extend(writer.histograms());
    out
}

fn hub_families(hub: &Hub) -> Vec<MetricFamily> {
    use MetricType::{COUNTER, GAUGE};
    let c = hub.counters();
    let by = |label: &'static str, pairs: Vec<(String, u64)>| -> Vec<Sample> {
        pairs.into_iter().map(|(k, v)| (vec![(label, k)], v as f64)).collect()
    };
    vec![
        single("kanban_ws_connections", "Open WebSockets", GAUGE, c.connections as f64),
        single("kanban_ws_connections_total", "Accepted WebSocket handshakes", COUNTER, c.accepted as f64),
        family(
            "kanban_ws_closed_total",
            "Server-side WebSocket closes by close code",
            COUNTER,
            by("code", c.closed.into_iter().map(|(code, n)| (code.to_string(), n)).collect()),
        ),
        single("kanban_ws_messages_sent_total", "WebSocket frames sent", COUNTER, c.messages_sent as f64),
        family(
            "kanban_events_published_total",
            "Board events published after commit",
            COUNTER,
            by("event", c.published.into_iter().collect()),
        ),
        family(
            "kanban_events_dropped_total",
            "Events a connection could not receive",
            COUNTER,
            by("reason", c.dropped.into_iter().map(|(r, n)| (r.to_owned(), n)).collect()),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use prometheus::Encoder;

    use super::*;

    #[test]
    fn scrape_time_families_are_typed_and_labelled() {
        let f = family("x_total", "h", MetricType::COUNTER, vec![(vec![("code", "4001".into())], 2.0)]);
        let mut text = Vec::new();
        prometheus::TextEncoder::new().encode(&[f], &mut text).expect("encodes");
        assert_eq!(
            String::from_utf8(text).expect("utf-8"),
            "# HELP x_total h\n# TYPE x_total counter\nx_total{code=\"4001\"} 2\n"
        );
    }
}
