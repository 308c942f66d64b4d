//! Change capture: one task per source server streams its binlog (mysql_async's binlog
//! client, mysql_common's event types) from a recorded position and applies the row changes
//! of the moving tables to their target nodes, idempotently (a row image is written whole
//! with REPLACE, a delete is by primary key), so that replaying from an earlier position
//! after a restart changes nothing.
//!
//! XA: MariaDB writes an XA transaction's rows when it is prepared, between `XA START` and
//! an XA_PREPARE event; they are applied when its `XA COMMIT` arrives and dropped on
//! `XA ROLLBACK`. `XA COMMIT ... ONE PHASE` applies at once. The applied position never
//! passes a prepared transaction whose outcome is not known yet.

use super::conn::{err, JobResult, Pos};
use super::copy::Conns;
use super::plan::Move;
use super::values::Shape;
use super::Flow;
use futures_util::{FutureExt, StreamExt};
use mysql_async::binlog::events::EventData;
use mysql_async::prelude::Queryable;
use mysql_async::BinlogStreamRequest;
use mysql_common::binlog::row::BinlogRow;
use mysql_common::binlog::value::BinlogValue;
use mysql_common::value::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use tokio::sync::watch;

/// MariaDB's GTID event (type 162) and its flags2 bits.
const MARIADB_GTID_EVENT: u8 = 162;
const FL_STANDALONE: u8 = 0x01;
const FL_PREPARED_XA: u8 = 0x40;

/// One row change of a moving table.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub mv: usize,
    pub before: Option<Vec<Value>>,
    pub after: Option<Vec<Value>>,
}

/// The statements a change makes on the target nodes: (node index, SQL).
pub fn statements(mv: &Move, shape: &Shape, ch: &Change) -> JobResult<Vec<(usize, String)>> {
    let route = |row: &Vec<Value>| {
        mv.to
            .nodes_for(&|c| shape.shard_value(row, c, true))
            .map(|v| {
                v.into_iter()
                    .filter(|i| !mv.kept.contains(i))
                    .collect::<Vec<_>>()
            })
            .map_err(|e| format!("{}: {e}", mv.table))
    };
    let mut out = Vec::new();
    let delete = |row: &Vec<Value>, nodes: &[usize], out: &mut Vec<(usize, String)>| {
        let key = shape.key_of(row, true);
        for &i in nodes {
            out.push((
                i,
                format!(
                    "DELETE FROM {} WHERE {}",
                    mv.to.nodes[i].qualified(),
                    shape.key_match(&key)
                ),
            ));
        }
    };
    if let Some(b) = &ch.before {
        let from = route(b)?;
        let moved = match &ch.after {
            Some(a) => route(a)? != from || shape.key_of(a, true) != shape.key_of(b, true),
            None => true,
        };
        if moved {
            delete(b, &from, &mut out);
        }
    }
    if let Some(a) = &ch.after {
        for i in route(a)? {
            out.push((
                i,
                format!(
                    "REPLACE INTO {} ({}) VALUES {}",
                    mv.to.nodes[i].qualified(),
                    shape.column_list(),
                    shape.tuple(a, true)
                ),
            ));
        }
    }
    Ok(out)
}

fn row_values(row: BinlogRow) -> JobResult<Vec<Value>> {
    row.unwrap()
        .into_iter()
        .map(|v| match v {
            BinlogValue::Value(v) => Ok(v),
            _ => Err("a JSON column image (MySQL binary JSON) cannot be applied".to_string()),
        })
        .collect()
}

/// What the applier reports to the job.
pub trait Progress: Send + Sync {
    /// Everything up to `pos` is applied (`changes` more row changes since the last call).
    fn applied(&self, server: &str, pos: &Pos, changes: u64);
    fn stream_error(&self, server: &str, e: &str);
}

/// Replica server ids reserved per stream: `run` is given the first of 8 and tries them
/// in turn as it reconnects (see [`super::Job::start_appliers`]).
pub const IDS_PER_STREAM: u32 = 64;

/// Stream `server`'s binlog from `from` and apply it until `stop` turns true. Reconnects
/// (from the last applied position) when the stream breaks.
pub async fn run(
    flow: Arc<Flow>,
    server: String,
    mut from: Pos,
    server_id: u32,
    progress: Arc<dyn Progress>,
    mut stop: watch::Receiver<bool>,
) {
    for attempt in 0u32.. {
        if *stop.borrow() {
            return;
        }
        match run_once(
            &flow,
            &server,
            &from,
            server_id + attempt % 8,
            progress.as_ref(),
            &mut stop,
        )
        .await
        {
            Ok(last) => {
                from = last;
                if *stop.borrow() {
                    return;
                }
            }
            Err((last, e)) => {
                from = last;
                progress.stream_error(&server, &e);
                tokio::select! {
                    _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }
}

/// An XA transaction whose rows were read and whose outcome is not known yet.
struct Prepared {
    /// Where its group started (the applied position cannot pass it).
    start: Pos,
    changes: Vec<Change>,
}

struct Applier<'a> {
    flow: &'a Flow,
    dst: Conns<'a>,
    /// (physical database, physical table) → move index.
    watched: HashMap<(String, String), usize>,
    /// The XA group being read: its xid, start and changes.
    xa: Option<(String, Pos, Vec<Change>)>,
    prepared: BTreeMap<String, Prepared>,
    pending_changes: u64,
    /// Statements not sent yet, per target data source, and how many.
    queued: BTreeMap<String, Vec<String>>,
    queued_n: usize,
    /// The last transaction boundary read (reported once what is queued is sent).
    boundary: Option<Pos>,
    /// The last position reported applied (where a new stream starts after an error).
    reported: Pos,
}

/// Statements queued past which they are sent without waiting for a pause in the stream.
const FLUSH_AT: usize = 500;

/// The xid as the server prints it after `XA START` / `XA COMMIT` / `XA ROLLBACK`.
fn xa_statement(q: &str) -> Option<(&'static str, String)> {
    let t = q.trim();
    let upper = t.to_ascii_uppercase();
    for kw in [
        "XA START",
        "XA BEGIN",
        "XA END",
        "XA PREPARE",
        "XA COMMIT",
        "XA ROLLBACK",
    ] {
        if upper.starts_with(kw) {
            let mut xid = t[kw.len()..].trim().to_string();
            let one_phase = xid.to_ascii_uppercase().ends_with("ONE PHASE");
            if one_phase {
                xid.truncate(xid.len() - "ONE PHASE".len());
                xid = xid.trim().to_string();
            }
            let kind = match (kw, one_phase) {
                ("XA BEGIN", _) => "XA START",
                ("XA COMMIT", true) => "XA COMMIT ONE PHASE",
                ("XA START", _) => "XA START",
                ("XA END", _) => "XA END",
                ("XA PREPARE", _) => "XA PREPARE",
                ("XA COMMIT", false) => "XA COMMIT",
                _ => "XA ROLLBACK",
            };
            return Some((kind, xid));
        }
    }
    None
}

impl Applier<'_> {
    /// Queue a change's statements (sent by [`Applier::flush`], in order per data source).
    async fn apply(&mut self, ch: &Change) -> JobResult<()> {
        let mv = &self.flow.plan.moves[ch.mv];
        let shape = &self.flow.shapes[ch.mv];
        for (i, sql) in statements(mv, shape, ch)? {
            self.queued
                .entry(mv.to.nodes[i].ds.clone())
                .or_default()
                .push(sql);
            self.queued_n += 1;
        }
        self.pending_changes += 1;
        Ok(())
    }

    /// Send what is queued: one transaction (one round trip) per target data source.
    async fn flush(&mut self) -> JobResult<()> {
        for (ds, stmts) in std::mem::take(&mut self.queued) {
            let sql = format!("BEGIN;{};COMMIT", stmts.join(";"));
            self.dst
                .get(&ds)
                .await?
                .query_drop(sql)
                .await
                .map_err(|e| err(&format!("apply to {ds}"), e))?;
        }
        self.queued_n = 0;
        Ok(())
    }

    /// Flush, then report the last transaction boundary reached.
    async fn settle(&mut self, server: &str, progress: &dyn Progress) -> JobResult<()> {
        self.flush().await?;
        if let Some(b) = self.boundary.take() {
            progress.applied(server, &b, std::mem::take(&mut self.pending_changes));
            self.reported = b;
        }
        Ok(())
    }

    async fn change(&mut self, ch: Change) -> JobResult<()> {
        match &mut self.xa {
            Some((_, _, buf)) => {
                buf.push(ch);
                Ok(())
            }
            None => self.apply(&ch).await,
        }
    }

    async fn query(&mut self, q: &str, before: &Pos) -> JobResult<()> {
        let Some((kind, xid)) = xa_statement(q) else {
            return Ok(());
        };
        match kind {
            "XA START" => self.xa = Some((xid, before.clone(), Vec::new())),
            // The prepare group's xid (its GTID event opened the group).
            "XA END" => {
                if let Some((x, _, _)) = &mut self.xa {
                    *x = xid;
                }
            }
            "XA COMMIT ONE PHASE" => {
                let changes = match self.xa.take() {
                    Some((_, _, c)) => c,
                    None => self
                        .prepared
                        .remove(&xid)
                        .map(|p| p.changes)
                        .unwrap_or_default(),
                };
                for c in &changes {
                    self.apply(c).await?;
                }
            }
            "XA COMMIT" => {
                if let Some(p) = self.prepared.remove(&xid) {
                    for c in &p.changes {
                        self.apply(c).await?;
                    }
                }
            }
            "XA ROLLBACK" => {
                if self.xa.as_ref().is_some_and(|(x, _, _)| *x == xid) {
                    self.xa = None;
                }
                self.prepared.remove(&xid);
            }
            _ => {}
        }
        Ok(())
    }

    /// The XA group read so far is prepared.
    fn prepared_group(&mut self) {
        if let Some((xid, start, changes)) = self.xa.take() {
            self.prepared.insert(xid, Prepared { start, changes });
        }
    }

    /// The position everything before which is applied.
    fn safe(&self, at: &Pos) -> Pos {
        let oldest = self.prepared.values().map(|p| &p.start).min();
        let open = self.xa.as_ref().map(|(_, s, _)| s);
        [Some(at), oldest, open]
            .into_iter()
            .flatten()
            .min()
            .cloned()
            .unwrap_or_else(|| at.clone())
    }
}

/// One connection's worth of streaming. Returns the last applied position, with the error
/// that ended it.
async fn run_once(
    flow: &Flow,
    server: &str,
    from: &Pos,
    server_id: u32,
    progress: &dyn Progress,
    stop: &mut watch::Receiver<bool>,
) -> Result<Pos, (Pos, String)> {
    let fail = |e: String| (from.clone(), e);
    let ds = flow
        .source_on(server)
        .ok_or_else(|| fail(format!("no data source on {server}")))?;
    let mut conn = super::conn::connect(&ds.0, &ds.1).await.map_err(fail)?;
    // GTID events as they are (a server that must rewrite them for an older replica
    // cannot rewrite an XA transaction's and ends the stream).
    conn.query_drop("SET @mariadb_slave_capability = 4")
        .await
        .map_err(|e| fail(err("binlog capability", e)))?;
    let req = BinlogStreamRequest::new(server_id)
        .with_filename(from.file.as_bytes())
        .with_pos(from.pos);
    let mut stream = conn
        .get_binlog_stream(req)
        .await
        .map_err(|e| fail(err("binlog stream", e)))?;
    let mut a = Applier {
        flow,
        dst: Conns::new(&flow.to),
        watched: flow.watched(server),
        xa: None,
        prepared: BTreeMap::new(),
        pending_changes: 0,
        queued: BTreeMap::new(),
        queued_n: 0,
        boundary: None,
        reported: from.clone(),
    };
    let mut file = from.file.clone();
    let mut at = from.clone();
    let mut in_txn = false;
    let result = loop {
        // Changes are sent in batches: whenever the stream has nothing more to give at once.
        let ev = match stream.next().now_or_never() {
            Some(ev) => ev,
            None => {
                if let Err(e) = a.settle(server, progress).await {
                    break Err(e);
                }
                tokio::select! {
                    ev = stream.next() => ev,
                    _ = stop.changed() => {
                        if *stop.borrow() { break Ok(()); }
                        continue;
                    }
                }
            }
        };
        let ev = match ev {
            Some(Ok(ev)) => ev,
            Some(Err(e)) => break Err(err("binlog stream", e)),
            None => break Err("binlog stream ended".into()),
        };
        let before = at.clone();
        let log_pos = ev.header().log_pos() as u64;
        let data = match ev.read_data() {
            Ok(d) => d,
            Err(e) => break Err(err("binlog event", e)),
        };
        let mut boundary = false;
        if ev.header().event_type_raw() == MARIADB_GTID_EVENT {
            // flags2 after seq_no (8 bytes) and domain_id (4).
            let flags2 = ev.data().get(12).copied().unwrap_or(0);
            if flags2 & FL_PREPARED_XA != 0 {
                a.xa = Some((String::new(), before.clone(), Vec::new()));
                in_txn = true;
            } else {
                in_txn = flags2 & FL_STANDALONE == 0;
            }
        }
        let step: JobResult<()> = async {
            match data {
                Some(EventData::RotateEvent(r)) => {
                    file = if log_pos == 0 {
                        rotated_to(&r.name(), &from.file)
                    } else {
                        r.name().into_owned()
                    };
                    at = Pos {
                        file: file.clone(),
                        pos: r.position(),
                    };
                    boundary = !in_txn;
                }
                Some(EventData::QueryEvent(q)) => {
                    let text = q.query();
                    let t = text.trim();
                    if t.eq_ignore_ascii_case("BEGIN") {
                        in_txn = true;
                    } else if t.eq_ignore_ascii_case("COMMIT") || t.eq_ignore_ascii_case("ROLLBACK")
                    {
                        in_txn = false;
                        boundary = true;
                    } else {
                        if xa_statement(t).is_some_and(|(k, _)| k == "XA START") {
                            in_txn = true;
                        }
                        a.query(t, &before).await?;
                        if xa_statement(t).is_some_and(|(k, _)| k != "XA START" && k != "XA END") {
                            in_txn = false;
                        }
                        boundary = !in_txn;
                    }
                }
                Some(EventData::XidEvent(_)) => {
                    in_txn = false;
                    boundary = true;
                }
                Some(EventData::XaPrepareLogEvent(_)) => {
                    a.prepared_group();
                    in_txn = false;
                    boundary = true;
                }
                Some(EventData::RowsEvent(rows)) => {
                    let Some(tme) = stream.get_tme(rows.table_id()) else {
                        return Err("rows event without its table map".into());
                    };
                    let key = (
                        tme.database_name().into_owned(),
                        tme.table_name().into_owned(),
                    );
                    if let Some(&mv) = a.watched.get(&key) {
                        let mut changes = Vec::new();
                        for r in rows.rows(tme) {
                            let (b, af) = r.map_err(|e| err("row image", e))?;
                            changes.push(Change {
                                mv,
                                before: b.map(row_values).transpose()?,
                                after: af.map(row_values).transpose()?,
                            });
                        }
                        for c in changes {
                            a.change(c).await?;
                        }
                    }
                }
                _ => {}
            }
            Ok(())
        }
        .await;
        if let Err(e) = step {
            break Err(e);
        }
        if log_pos != 0
            && !matches!(ev.header().event_type(), Ok(t) if t == mysql_common::binlog::consts::EventType::ROTATE_EVENT)
        {
            at = Pos {
                file: file.clone(),
                pos: log_pos,
            };
        }
        if boundary && !in_txn {
            a.boundary = Some(a.safe(&at));
            if a.queued_n == 0 {
                a.settle(server, progress).await.ok();
            } else if a.queued_n >= FLUSH_AT {
                if let Err(e) = a.settle(server, progress).await {
                    break Err(e);
                }
            }
        }
    };
    // Stopped: send what is queued; after an error, go on from the last boundary sent.
    let result = match result {
        Ok(()) => a.settle(server, progress).await,
        Err(e) => Err(e),
    };
    a.dst.close().await;
    drop(stream);
    let last = a.reported.clone();
    result.map(|()| last.clone()).map_err(|e| (last, e))
}

/// The file a stream's first (fake) rotate event names. It is parsed before the format
/// description says whether events carry checksums, so its name may end with the CRC's
/// four bytes (which can look like digits): the file asked for when the name starts with
/// it, otherwise the name without those bytes.
fn rotated_to(raw: &str, asked: &str) -> String {
    if !asked.is_empty() && raw.starts_with(asked) {
        return asked.to_string();
    }
    let b = raw.as_bytes();
    for (i, _) in raw.match_indices('.') {
        let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits >= 6 {
            return raw[..i + 1 + 6].to_string();
        }
    }
    raw.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotate_names_lose_trailing_bytes() {
        // The CRC's bytes may read as a digit: the file asked for wins.
        assert_eq!(
            rotated_to("binlog.0000011", "binlog.000001"),
            "binlog.000001"
        );
        assert_eq!(
            rotated_to("binlog.000001\u{fffd}<}", "binlog.000001"),
            "binlog.000001"
        );
        assert_eq!(rotated_to("binlog.0000027\u{fffd}", ""), "binlog.000002");
        assert_eq!(rotated_to("my.bin.000003.\u{fffd}.9", "x"), "my.bin.000003");
    }

    /// t_order from the example to the four-data-source rules: user_id % 4, order_id % 2.
    fn order_move() -> (Move, Shape) {
        let old = crate::rules::parse(include_str!("../../examples/ecommerce/rules.toml"), "a")
            .expect("rules");
        let new = crate::rules::parse(include_str!("../../examples/ecommerce/rules-4ds.toml"), "b")
            .expect("rules");
        let p = super::super::plan::plan(&old, &new, &|_| vec![]).expect("plan");
        let mv = p
            .moves
            .into_iter()
            .find(|m| m.table == "t_order")
            .expect("t_order");
        let col = |n: &str, t: &str| super::super::values::Column::new(n, t, t);
        let shape = Shape {
            columns: vec![
                col("order_id", "bigint"),
                col("user_id", "bigint"),
                col("amount", "decimal"),
            ],
            pk: vec![0],
        };
        (mv, shape)
    }

    fn row(order: i64, user: i64, amount: &str) -> Option<Vec<Value>> {
        Some(vec![
            Value::Int(order),
            Value::Int(user),
            Value::Bytes(amount.into()),
        ])
    }

    #[test]
    fn row_changes_become_idempotent_statements_on_their_target_nodes() {
        let (mv, shape) = order_move();
        let ins = "REPLACE INTO `shop4_3`.`t_order_1` (`order_id`, `user_id`, `amount`) VALUES";
        let cases: Vec<(Change, Vec<(usize, String)>)> = vec![
            (
                Change { mv: 0, before: None, after: row(11, 3, "1.50") },
                vec![(7, format!("{ins} (11, 3, '1.50')"))],
            ),
            (
                Change { mv: 0, before: row(11, 3, "1.50"), after: row(11, 3, "2.00") },
                vec![(7, format!("{ins} (11, 3, '2.00')"))],
            ),
            // The user changes: the row leaves ds_3 for ds_1.
            (
                Change { mv: 0, before: row(11, 3, "2.00"), after: row(11, 1, "2.00") },
                vec![
                    (7, "DELETE FROM `shop4_3`.`t_order_1` WHERE `order_id` = 11".into()),
                    (3, "REPLACE INTO `shop4_1`.`t_order_1` (`order_id`, `user_id`, `amount`) VALUES (11, 1, '2.00')".into()),
                ],
            ),
            (
                Change { mv: 0, before: row(11, 1, "2.00"), after: None },
                vec![(3, "DELETE FROM `shop4_1`.`t_order_1` WHERE `order_id` = 11".into())],
            ),
        ];
        for (ch, want) in cases {
            assert_eq!(
                statements(&mv, &shape, &ch).expect("statements"),
                want,
                "{ch:?}"
            );
        }
        // A row whose sharding value is NULL has no node: an error, not a guess.
        let bad = Change {
            mv: 0,
            before: None,
            after: Some(vec![Value::Int(1), Value::NULL, Value::NULL]),
        };
        assert!(statements(&mv, &shape, &bad).is_err());
    }

    #[test]
    fn xa_statements_and_their_xids() {
        assert_eq!(
            xa_statement("XA START X'6731',X'6231',1"),
            Some(("XA START", "X'6731',X'6231',1".into()))
        );
        assert_eq!(
            xa_statement("XA COMMIT X'6731',X'6231',1 ONE PHASE"),
            Some(("XA COMMIT ONE PHASE", "X'6731',X'6231',1".into()))
        );
        assert_eq!(
            xa_statement("XA ROLLBACK X'67',X'',1"),
            Some(("XA ROLLBACK", "X'67',X'',1".into()))
        );
        assert_eq!(xa_statement("COMMIT"), None);
    }
}
