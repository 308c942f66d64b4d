//! The one place that turns protocol-neutral results into client packets.

use super::binary::binary_row;
use super::packet::PacketIo;
use super::wire;
use crate::error::SqlError;
use crate::result::{ColumnDef, OkInfo, Row};
use mysql_common::constants::StatusFlags;
use std::io;

/// A client connection's packet layer (plain TCP or TLS).
pub type ClientIo = PacketIo<super::stream::ClientStream>;

/// Flush to the socket once this much is buffered (rows stream; memory stays bounded).
const FLUSH_AT: usize = 64 * 1024;

pub struct ResultWriter<'a> {
    io: &'a mut ClientIo,
    deprecate_eof: bool,
    binary: bool,
    columns: Vec<ColumnDef>,
    pub status: StatusFlags,
    /// Last-insert-id for the next OK packet instead of the backend's (keys the proxy
    /// generated), and whether an OK packet carried it.
    insert_id: Option<u64>,
    insert_id_sent: bool,
    /// Code of the last error packet sent (the session's transaction abort rule reads it).
    pub last_error: Option<u16>,
    /// Hold the next OK packet instead of sending it (a statement's implicit transaction
    /// must commit first).
    defer_ok: bool,
    deferred: Option<OkInfo>,
    /// Keep the answer in memory instead of sending it (a subquery the proxy evaluates).
    capture: Option<Capture>,
    /// What the statement answered, for the session's diagnostics (ROW_COUNT(),
    /// FOUND_ROWS(), warnings).
    pub outcome: Outcome,
    last_warnings: u16,
    /// The last error packet sent (for SHOW WARNINGS / SHOW ERRORS).
    pub last_error_detail: Option<SqlError>,
    /// Send at most this many rows of the result set (the session's sql_select_limit when
    /// the proxy merged the rows itself); the rest are read and dropped.
    pub row_cap: Option<u64>,
    /// The client's character_set_results when the proxy converts text for it (latin1):
    /// text columns are sent in it, as MariaDB would send them.
    pub transcode: Option<crate::charset::Charset>,
    /// Per column of the current result set: its cells are text to convert.
    text_cols: Vec<bool>,
    /// `[limits] max_result_rows` / `max_result_bytes` (0: none) and the error a result past
    /// them ends with instead of its end packet.
    limits: ResultLimits,
    result_bytes: u64,
    over_limit: Option<SqlError>,
}

/// Most rows and bytes one result may have (0: no limit), and the user named in the error.
#[derive(Debug, Clone, Default)]
pub struct ResultLimits {
    pub rows: u64,
    pub bytes: u64,
    pub user: String,
}

/// What the last answer was.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Outcome {
    #[default]
    None,
    /// A result set of this many rows.
    Rows(u64),
    /// An OK packet with these affected rows.
    Ok(u64),
    Error,
}

/// An answer kept in memory by a capturing writer.
#[derive(Debug, Default)]
pub struct Capture {
    pub columns: Vec<ColumnDef>,
    pub rows: Vec<Row>,
    pub ok: Option<OkInfo>,
    pub error: Option<SqlError>,
    /// Rows beyond this fail the capture (memory bound).
    pub max_rows: usize,
}

impl<'a> ResultWriter<'a> {
    pub fn new(
        io: &'a mut ClientIo,
        deprecate_eof: bool,
        binary: bool,
        status: StatusFlags,
    ) -> ResultWriter<'a> {
        ResultWriter {
            io,
            deprecate_eof,
            binary,
            columns: Vec::new(),
            status,
            insert_id: None,
            insert_id_sent: false,
            last_error: None,
            defer_ok: false,
            deferred: None,
            capture: None,
            outcome: Outcome::None,
            last_warnings: 0,
            last_error_detail: None,
            row_cap: None,
            transcode: None,
            text_cols: Vec::new(),
            limits: ResultLimits::default(),
            result_bytes: 0,
            over_limit: None,
        }
    }

    /// Apply result limits to what this writer sends (not to captures).
    pub fn set_limits(&mut self, limits: ResultLimits) {
        self.limits = limits;
    }

    /// Whether the answer is kept in memory (a subquery the proxy evaluates).
    pub fn is_capturing(&self) -> bool {
        self.capture.is_some()
    }

    /// Warnings the last result set's end or OK packet reported.
    pub fn warnings(&self) -> u16 {
        self.last_warnings
    }

    /// A writer that keeps the answer in memory (text rows), up to `max_rows` rows.
    pub fn capturing(io: &'a mut ClientIo, status: StatusFlags, max_rows: usize) -> Self {
        let mut w = ResultWriter::new(io, true, false, status);
        w.capture = Some(Capture {
            max_rows,
            ..Capture::default()
        });
        w
    }

    /// What a capturing writer kept.
    pub fn take_capture(&mut self) -> Option<Capture> {
        self.capture.take()
    }

    /// Start a result set with these (visible) columns.
    pub async fn begin(&mut self, columns: &[ColumnDef]) -> io::Result<()> {
        if let Some(c) = self.capture.as_mut() {
            c.columns = columns.to_vec();
            self.columns = columns.to_vec();
            return Ok(());
        }
        self.result_bytes = 0;
        self.over_limit = None;
        let converted;
        let columns = match self.transcode {
            Some(cs) => {
                self.text_cols = columns.iter().map(|c| c.charset != 63).collect();
                converted = columns
                    .iter()
                    .map(|c| {
                        let mut c = c.clone();
                        if c.charset != 63 {
                            let from = crate::charset::Charset::from_collation_id(c.charset);
                            c.column_length = c.column_length / from.max_len() * cs.max_len();
                            c.charset = cs.collation_id();
                        }
                        c
                    })
                    .collect::<Vec<_>>();
                &converted[..]
            }
            None => columns,
        };
        self.io
            .write_with(|b| wire::put_lenenc_int(b, columns.len() as u64));
        for c in columns {
            self.io.write_with(|b| wire::column_definition(b, c));
        }
        if !self.deprecate_eof {
            let st = self.status;
            self.io.write_with(|b| wire::eof_packet(b, st, 0));
        }
        self.columns = columns.to_vec();
        self.outcome = Outcome::Rows(0);
        if self.io.buffered() >= FLUSH_AT {
            self.io.flush().await?;
        }
        Ok(())
    }

    /// One row; only the first `columns.len()` cells are sent (hidden helper columns are cut).
    pub async fn row(&mut self, row: &Row) -> io::Result<()> {
        let n = self.columns.len().min(row.len());
        let cells = &row[..n];
        if let Some(c) = self.capture.as_mut() {
            if c.rows.len() >= c.max_rows {
                if c.error.is_none() {
                    c.error = Some(SqlError::new(
                        1038,
                        "HY001",
                        format!(
                            "Out of sort memory: a subquery evaluated by the proxy returned more than {} rows (raise [server] max_memory_rows)",
                            c.max_rows
                        ),
                    ));
                }
                return Ok(());
            }
            c.rows.push(cells.to_vec());
            return Ok(());
        }
        if self.over_limit.is_some() {
            return Ok(());
        }
        if let Outcome::Rows(n) = &mut self.outcome {
            if self.row_cap.is_some_and(|cap| *n >= cap) {
                return Ok(());
            }
            if self.limits.rows > 0 && *n >= self.limits.rows {
                self.over_limit = Some(crate::limits::Limits::result_error(
                    &self.limits.user,
                    "max_result_rows",
                    self.limits.rows,
                ));
                stop_backend_work();
                return Ok(());
            }
            *n += 1;
        }
        if self.limits.bytes > 0 {
            self.result_bytes += cells
                .iter()
                .map(|c| c.as_ref().map_or(1, |b| b.len() as u64 + 1))
                .sum::<u64>();
            if self.result_bytes > self.limits.bytes {
                self.over_limit = Some(crate::limits::Limits::result_error(
                    &self.limits.user,
                    "max_result_bytes",
                    self.limits.bytes,
                ));
                stop_backend_work();
                return Ok(());
            }
        }
        let converted: Row;
        let cells = match self.transcode {
            Some(cs) => {
                converted = cells
                    .iter()
                    .enumerate()
                    .map(|(i, c)| match c {
                        Some(b) if self.text_cols.get(i).copied().unwrap_or(false) => {
                            Some(bytes::Bytes::from(cs.encode(b).into_owned()))
                        }
                        other => other.clone(),
                    })
                    .collect();
                &converted[..]
            }
            None => cells,
        };
        if self.binary {
            let cols = &self.columns;
            self.io.write_with(|b| binary_row(b, cols, cells));
        } else {
            self.io.write_with(|b| wire::text_row(b, cells));
        }
        if self.io.buffered() >= FLUSH_AT {
            self.io.flush().await?;
        }
        Ok(())
    }

    /// The result went past a result limit (its rows are dropped from here on).
    pub fn over_limit(&self) -> bool {
        self.over_limit.is_some()
    }

    /// End the current result set.
    pub async fn end(&mut self, warnings: u16) -> io::Result<()> {
        self.last_warnings = warnings;
        if self.capture.is_some() {
            return Ok(());
        }
        if let Some(e) = self.over_limit.take() {
            // The rows past the limit were dropped: the result ends with the error.
            return self.error(&e).await;
        }
        let st = self.status;
        if self.deprecate_eof {
            self.io
                .write_with(|b| wire::ok_packet(b, 0xfe, 0, 0, st, warnings, ""));
        } else {
            self.io.write_with(|b| wire::eof_packet(b, st, warnings));
        }
        self.io.flush().await
    }

    /// The next OK packet reports `id` as its last-insert-id, whatever the backend said.
    pub fn override_insert_id(&mut self, id: Option<u64>) {
        self.insert_id = id;
        self.insert_id_sent = false;
    }

    /// Whether an OK packet carried the overriding id; ends the override.
    pub fn insert_id_sent(&mut self) -> bool {
        self.insert_id = None;
        std::mem::take(&mut self.insert_id_sent)
    }

    /// Hold OK packets until [`ResultWriter::take_deferred`].
    pub fn defer_ok(&mut self, on: bool) {
        self.defer_ok = on;
    }

    /// OK packets are being held: the statement runs as a transaction of its own.
    pub fn is_deferring(&self) -> bool {
        self.defer_ok
    }

    /// The held OK packet (if the statement succeeded); ends deferral.
    pub fn take_deferred(&mut self) -> Option<OkInfo> {
        self.defer_ok = false;
        self.deferred.take()
    }

    pub async fn ok(&mut self, ok: &OkInfo) -> io::Result<()> {
        self.outcome = Outcome::Ok(ok.affected_rows);
        self.last_warnings = ok.warnings;
        if self.defer_ok {
            self.deferred = Some(ok.clone());
            return Ok(());
        }
        if let Some(c) = self.capture.as_mut() {
            c.ok = Some(ok.clone());
            return Ok(());
        }
        let st = self.status;
        let last_insert_id = match self.insert_id.take() {
            Some(id) => {
                self.insert_id_sent = true;
                id
            }
            None => ok.last_insert_id,
        };
        self.io.write_with(|b| {
            wire::ok_packet(
                b,
                0x00,
                ok.affected_rows,
                last_insert_id,
                st,
                ok.warnings,
                &ok.info,
            )
        });
        self.io.flush().await
    }

    pub async fn error(&mut self, e: &SqlError) -> io::Result<()> {
        // The backend work a result limit stopped ends with the server's 1317: the client
        // gets the limit's error instead.
        let limit = self.over_limit.take();
        let e = limit.as_ref().unwrap_or(e);
        self.last_error = Some(e.code);
        self.outcome = Outcome::Error;
        self.last_error_detail = Some(e.clone());
        if let Some(c) = self.capture.as_mut() {
            c.error.get_or_insert_with(|| e.clone());
            return Ok(());
        }
        self.io
            .write_with(|b| wire::err_packet(b, e.code, &e.state, &e.message));
        self.io.flush().await
    }

    /// A small result computed by the proxy.
    pub async fn rows(&mut self, columns: &[ColumnDef], rows: &[Row]) -> io::Result<()> {
        self.begin(columns).await?;
        for r in rows {
            self.row(r).await?;
        }
        self.end(0).await
    }

    /// Raw access for prepared-statement replies.
    pub fn io(&mut self) -> &mut ClientIo {
        self.io
    }

    pub fn deprecate_eof(&self) -> bool {
        self.deprecate_eof
    }
}

/// A result went past its limit: the statement's backend work is stopped (`KILL QUERY` on
/// the connections still running it, see [`crate::backend::interrupt`]), so a huge scan
/// does not go on for rows nobody will get.
fn stop_backend_work() {
    if let Some(scope) = crate::backend::Scope::current() {
        scope.interrupt(crate::backend::Interrupt::ResultLimit);
    }
}
