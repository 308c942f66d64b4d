use super::conn::Head;
use super::pool::{Lease, SessionState};
use super::BackendError;
use crate::error::SqlError;
use crate::result::{ColumnDef, OkInfo, Row};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Events of one backend statement, in order: optional `Columns`, `Row`s, then `Done` or `Error`.
pub enum NodeMsg {
    Columns(Arc<[ColumnDef]>),
    Row(Row),
    Done { ok: OkInfo, lease: Option<Lease> },
    Error { err: SqlError, lease: Option<Lease> },
}

/// What a backend task sends: rows in batches, so a stream costs one channel operation (and
/// at most one wakeup of its reader) per batch rather than per row.
enum Wire {
    Columns(Arc<[ColumnDef]>),
    Rows(Vec<Row>),
    Done { ok: OkInfo, lease: Option<Lease> },
    Error { err: SqlError, lease: Option<Lease> },
}

/// A node's events, rows one at a time: from its backend task, or replayed from memory.
pub struct RowStream {
    source: Source,
}

enum Source {
    Live {
        rx: mpsc::Receiver<Wire>,
        pending: std::vec::IntoIter<Row>,
    },
    Replay(std::collections::VecDeque<NodeMsg>),
}

impl RowStream {
    /// A stream that hands out messages already read.
    pub fn replay(msgs: Vec<NodeMsg>) -> RowStream {
        RowStream {
            source: Source::Replay(msgs.into()),
        }
    }

    /// The next event; `None` once the node's task has ended.
    pub async fn recv(&mut self) -> Option<NodeMsg> {
        match &mut self.source {
            Source::Replay(q) => q.pop_front(),
            Source::Live { rx, pending } => loop {
                if let Some(r) = pending.next() {
                    return Some(NodeMsg::Row(r));
                }
                return match rx.recv().await? {
                    Wire::Rows(v) => {
                        *pending = v.into_iter();
                        continue;
                    }
                    Wire::Columns(c) => Some(NodeMsg::Columns(c)),
                    Wire::Done { ok, lease } => Some(NodeMsg::Done { ok, lease }),
                    Wire::Error { err, lease } => Some(NodeMsg::Error { err, lease }),
                };
            },
        }
    }
}

/// Rows per message from a backend task.
const ROW_BATCH: usize = 64;

/// Batches buffered per shard stream before the backend read waits (backpressure): about
/// 256 rows.
const STREAM_DEPTH: usize = 4;

/// Send `sql` on the lease's connection. A pooled connection found dead before the
/// statement could have run (it could not be sent; or, for a statement without effects
/// (`read_only`), no reply came at all) is replaced once by a newly opened connection —
/// never by another pooled one, which may be just as dead — brought to `state` first.
/// `state` None: the connection is pinned (a transaction): no retry.
async fn start(
    lease: &mut Lease,
    sql: &str,
    state: Option<&SessionState>,
    read_only: bool,
) -> Result<Head, BackendError> {
    match lease.conn().query(sql).await {
        Err(e @ BackendError::Lost { .. }) => {
            let (no_reply, not_sent) = lease.conn().failed_before_reply();
            let retry = lease.reused() && (not_sent || (read_only && no_reply));
            let Some(state) = state.filter(|_| retry) else {
                lease.mark_broken();
                return Err(e);
            };
            tracing::debug!(
                "data source {}: pooled connection was dead ({e:?}); retrying on a new one",
                lease.data_source()
            );
            lease.reconnect().await?;
            lease
                .apply_state(state)
                .await
                .map_err(BackendError::Server)?;
            let r = lease.conn().query(sql).await;
            if matches!(r, Err(BackendError::Lost { .. })) {
                lease.mark_broken();
            }
            r
        }
        other => other,
    }
}

/// Run `sql` on the leased connection in its own task, streaming the result. `state`: the
/// session state to apply first (None: a pinned connection, already in it). `found_rows`:
/// the statement is a `SELECT SQL_CALC_FOUND_ROWS`, whose `FOUND_ROWS()` its end reports.
pub fn spawn_query(
    mut lease: Lease,
    sql: String,
    state: Option<SessionState>,
    read_only: bool,
    found_rows: bool,
) -> RowStream {
    let (tx, rx) = mpsc::channel(STREAM_DEPTH);
    let stream = RowStream {
        source: Source::Live {
            rx,
            pending: Vec::new().into_iter(),
        },
    };
    tokio::spawn(async move {
        if let Some(state) = &state {
            if let Err(err) = lease.apply_state(state).await {
                lease.mark_broken();
                let _ = tx
                    .send(Wire::Error {
                        err,
                        lease: Some(lease),
                    })
                    .await;
                return;
            }
        }
        let outcome = run(&mut lease, &sql, state.as_ref(), read_only, found_rows, &tx).await;
        match outcome {
            Ok(Some(ok)) => {
                let _ = tx
                    .send(Wire::Done {
                        ok,
                        lease: Some(lease),
                    })
                    .await;
            }
            Ok(None) => {
                // The receiver went away mid-stream: the connection still has rows in flight.
                lease.mark_broken();
            }
            Err(err) => {
                if err.fatal() {
                    lease.mark_broken();
                }
                let _ = tx
                    .send(Wire::Error {
                        err: err.into(),
                        lease: Some(lease),
                    })
                    .await;
            }
        }
    });
    stream
}

async fn run(
    lease: &mut Lease,
    sql: &str,
    state: Option<&SessionState>,
    read_only: bool,
    found_rows: bool,
    tx: &mpsc::Sender<Wire>,
) -> Result<Option<OkInfo>, BackendError> {
    match start(lease, sql, state, read_only).await? {
        Head::Ok(ok) => Ok(Some(lease.conn().finish(Some(ok)).await?)),
        Head::Rows(defs) => {
            if tx.send(Wire::Columns(defs)).await.is_err() {
                return Ok(None);
            }
            let mut batch = Vec::with_capacity(ROW_BATCH);
            while let Some(row) = lease.conn().next_row().await? {
                batch.push(row);
                if batch.len() == ROW_BATCH {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(ROW_BATCH));
                    if tx.send(Wire::Rows(full)).await.is_err() {
                        return Ok(None);
                    }
                }
            }
            if !batch.is_empty() && tx.send(Wire::Rows(batch)).await.is_err() {
                return Ok(None);
            }
            let mut ok = lease.conn().finish(None).await?;
            if found_rows {
                // Before the connection runs anything else: the node's count without LIMIT.
                let (_, rows) = lease.conn().collect("SELECT FOUND_ROWS()").await?;
                ok.found_rows = rows
                    .first()
                    .and_then(|r| r.first().cloned().flatten())
                    .and_then(|b| std::str::from_utf8(&b).ok()?.parse().ok());
            }
            Ok(Some(ok))
        }
    }
}

/// Run a statement whose rows are collected (small metadata queries: SHOW TABLES, VERSION()).
pub async fn query_collect(
    lease: &mut Lease,
    sql: &str,
) -> Result<(Vec<ColumnDef>, Vec<Row>), SqlError> {
    let r = lease.conn().collect(sql).await;
    if matches!(r, Err(BackendError::Lost { .. })) {
        lease.mark_broken();
    }
    Ok(r?)
}

/// Run a statement that returns no rows.
pub async fn exec_drop(lease: &mut Lease, sql: &str) -> Result<(), SqlError> {
    let r = lease.conn().exec_drop(sql).await;
    if matches!(r, Err(BackendError::Lost { .. })) {
        lease.mark_broken();
    }
    r.map(|_| ()).map_err(SqlError::from)
}

/// Parameter and column metadata of a statement, from the backend preparing (and closing) it.
pub async fn describe(
    lease: &mut Lease,
    sql: &str,
) -> Result<(Vec<ColumnDef>, Vec<ColumnDef>), SqlError> {
    let r = lease.conn().describe(sql).await;
    if matches!(r, Err(BackendError::Lost { .. })) {
        lease.mark_broken();
    }
    Ok(r?)
}

/// A text-protocol result read on the caller's task (no task or channel in between): the
/// hot path for statements that run on one node.
pub struct TextResult<'a> {
    lease: &'a mut Lease,
    columns: Option<Arc<[ColumnDef]>>,
    ok: Option<OkInfo>,
}

/// Send `sql` on the leased connection; read the result with [`TextResult`]. `state`: the
/// session state a replacement connection is brought to when the pooled one was dead
/// (None: pinned, no retry).
pub async fn query_text<'a>(
    lease: &'a mut Lease,
    sql: &str,
    state: Option<&SessionState>,
    read_only: bool,
) -> Result<TextResult<'a>, BackendError> {
    let head = start(lease, sql, state, read_only).await?;
    Ok(match head {
        Head::Ok(ok) => TextResult {
            lease,
            columns: None,
            ok: Some(ok),
        },
        Head::Rows(c) => TextResult {
            lease,
            columns: Some(c),
            ok: None,
        },
    })
}

impl TextResult<'_> {
    /// The result set's columns (None: the statement returned no result set).
    pub fn columns(&self) -> Option<Arc<[ColumnDef]>> {
        self.columns.clone()
    }

    pub async fn next_row(&mut self) -> Result<Option<Row>, BackendError> {
        let r = self.lease.conn().next_row().await;
        if matches!(r, Err(BackendError::Lost { .. })) {
            self.lease.mark_broken();
        }
        r
    }

    /// What the statement reported; later result sets (of CALL) are drained, not relayed.
    pub async fn finish(self) -> Result<OkInfo, BackendError> {
        let r = self.lease.conn().finish(self.ok).await;
        if matches!(r, Err(BackendError::Lost { .. })) {
            self.lease.mark_broken();
        }
        r
    }
}
