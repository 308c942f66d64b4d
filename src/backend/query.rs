use super::pool::{Lease, SessionState};
use crate::error::SqlError;
use crate::result::{ColumnDef, OkInfo, Row};
use bytes::Bytes;
use mysql_async::prelude::Queryable;
use mysql_async::Value;
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

pub fn column_def(c: &mysql_async::Column) -> ColumnDef {
    ColumnDef {
        schema: Bytes::copy_from_slice(c.schema_ref()),
        table: Bytes::copy_from_slice(c.table_ref()),
        org_table: Bytes::copy_from_slice(c.org_table_ref()),
        name: Bytes::copy_from_slice(c.name_ref()),
        org_name: Bytes::copy_from_slice(c.org_name_ref()),
        charset: c.character_set(),
        column_length: c.column_length(),
        column_type: c.column_type(),
        flags: c.flags(),
        decimals: c.decimals(),
    }
}

/// Text-protocol cells of a backend row, without copying the values.
pub fn row_cells(row: mysql_async::Row) -> Row {
    row.unwrap_raw()
        .into_iter()
        .map(|v| match v {
            None | Some(Value::NULL) => None,
            Some(Value::Bytes(b)) => Some(Bytes::from(b)),
            // The text protocol only yields bytes; keep other forms printable just in case.
            Some(other) => Some(Bytes::from(other.as_sql(true).into_bytes())),
        })
        .collect()
}

/// Run `sql` on the leased connection in its own task, streaming the result.
pub fn spawn_query(mut lease: Lease, sql: String, state: Option<SessionState>) -> RowStream {
    let (tx, rx) = mpsc::channel(STREAM_DEPTH);
    let stream = RowStream {
        source: Source::Live {
            rx,
            pending: Vec::new().into_iter(),
        },
    };
    tokio::spawn(async move {
        if let Some(state) = state {
            if let Err(err) = lease.apply_state(&state).await {
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
        let outcome = run(&mut lease, &sql, &tx).await;
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
                let fatal = !matches!(err, mysql_async::Error::Server(_));
                if fatal {
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
    tx: &mpsc::Sender<Wire>,
) -> Result<Option<OkInfo>, mysql_async::Error> {
    let mut res = lease.conn().query_iter(sql).await?;
    if let Some(cols) = res.columns() {
        if !cols.is_empty() {
            let defs: Arc<[ColumnDef]> = cols.iter().map(column_def).collect();
            if tx.send(Wire::Columns(defs)).await.is_err() {
                return Ok(None);
            }
            let mut batch = Vec::with_capacity(ROW_BATCH);
            while let Some(row) = res.next().await? {
                batch.push(row_cells(row));
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
        }
    }
    let ok = OkInfo {
        affected_rows: res.affected_rows(),
        last_insert_id: res.last_insert_id().unwrap_or(0),
        warnings: res.warnings(),
        info: res.info().into_owned(),
    };
    // Later result sets (e.g. of CALL) are not relayed; drain them so the connection stays usable.
    res.drop_result().await?;
    Ok(Some(ok))
}

/// Run a statement whose rows are collected (small metadata queries: SHOW TABLES, VERSION()).
pub async fn query_collect(
    lease: &mut Lease,
    sql: &str,
) -> Result<(Vec<ColumnDef>, Vec<Row>), SqlError> {
    let mut res = lease.conn().query_iter(sql).await.map_err(SqlError::from)?;
    let cols: Vec<ColumnDef> = res
        .columns()
        .map(|c| c.iter().map(column_def).collect())
        .unwrap_or_default();
    let mut rows = Vec::new();
    while let Some(r) = res.next().await.map_err(SqlError::from)? {
        rows.push(row_cells(r));
    }
    res.drop_result().await.map_err(SqlError::from)?;
    Ok((cols, rows))
}

/// Run a statement that returns no rows.
pub async fn exec_drop(lease: &mut Lease, sql: &str) -> Result<(), SqlError> {
    lease.conn().query_drop(sql).await.map_err(SqlError::from)
}

/// Parameter and column metadata of a statement, from the backend preparing (and closing) it.
pub async fn describe(
    lease: &mut Lease,
    sql: &str,
) -> Result<(Vec<ColumnDef>, Vec<ColumnDef>), SqlError> {
    let stmt = lease.conn().prep(sql).await.map_err(SqlError::from)?;
    let params = stmt.params().iter().map(column_def).collect();
    let cols = stmt.columns().iter().map(column_def).collect();
    lease.conn().close(stmt).await.map_err(SqlError::from)?;
    Ok((params, cols))
}

/// A backend error, and whether it leaves the connection unusable (anything but an error
/// packet from the server).
#[derive(Debug)]
pub struct BackendError {
    pub err: SqlError,
    pub fatal: bool,
}

impl From<mysql_async::Error> for BackendError {
    fn from(e: mysql_async::Error) -> BackendError {
        let fatal = !matches!(e, mysql_async::Error::Server(_));
        BackendError {
            err: e.into(),
            fatal,
        }
    }
}

/// A text-protocol result read on the caller's task (no task or channel in between): the
/// hot path for statements that run on one node.
pub struct TextResult<'a> {
    res: mysql_async::QueryResult<'a, 'static, mysql_async::TextProtocol>,
}

/// Send `sql` on the leased connection; read the result with [`TextResult`].
pub async fn query_text<'a>(
    lease: &'a mut Lease,
    sql: &'a str,
) -> Result<TextResult<'a>, BackendError> {
    let res = lease.conn().query_iter(sql).await?;
    Ok(TextResult { res })
}

impl TextResult<'_> {
    /// The result set's columns (None: the statement returned no result set).
    pub fn columns(&self) -> Option<Vec<ColumnDef>> {
        self.res
            .columns()
            .filter(|c| !c.is_empty())
            .map(|c| c.iter().map(column_def).collect())
    }

    pub async fn next_row(&mut self) -> Result<Option<Row>, BackendError> {
        Ok(self.res.next().await?.map(row_cells))
    }

    /// What the statement reported; later result sets (of CALL) are drained, not relayed.
    pub async fn finish(self) -> Result<OkInfo, BackendError> {
        let ok = OkInfo {
            affected_rows: self.res.affected_rows(),
            last_insert_id: self.res.last_insert_id().unwrap_or(0),
            warnings: self.res.warnings(),
            info: self.res.info().into_owned(),
        };
        self.res.drop_result().await?;
        Ok(ok)
    }
}
