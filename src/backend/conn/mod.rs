//! One backend connection, spoken on mysql_common's packet types: handshake and
//! authentication, text queries streamed row by row, statement metadata, reset and ping.
//!
//! The capabilities are the proxy's choice, not a driver's: no CLIENT_MULTI_STATEMENTS (one
//! COM_QUERY is one statement on the server, whatever its text), no CLIENT_LOCAL_FILES (a
//! server cannot read files of the proxy's machine), and CLIENT_SESSION_TRACK, so every
//! change of session state is reported by the server and the pool knows when a connection
//! is no longer clean.

mod auth;

use super::interrupt::{self, Interrupt};
use super::packets::{self, Cursor};
use super::wire::Framed;
use super::BackendError;
use crate::result::{ColumnDef, OkInfo, Row};
use bytes::Bytes;
use mysql_common::constants::{CapabilityFlags, StatusFlags};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::sync::watch;

const COM_QUIT: u8 = 0x01;
const COM_QUERY: u8 = 0x03;
const COM_PING: u8 = 0x0e;
const COM_STMT_PREPARE: u8 = 0x16;
const COM_STMT_CLOSE: u8 = 0x19;
const COM_RESET_CONNECTION: u8 = 0x1f;

/// Where and how to connect (from a data source of the rules).
#[derive(Clone, Debug)]
pub struct ConnOpts {
    /// The data source's name in the rules (named in errors).
    pub name: String,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    pub database: String,
    pub connect_timeout: Duration,
    /// Largest packet accepted from the server.
    pub max_packet: usize,
    /// Turns true when the data source's circuit breaker opens: reads in flight give up.
    pub trip: Option<tokio::sync::watch::Receiver<bool>>,
    /// See [`init_sql`].
    pub init_sql: String,
}

/// The statement run once on every new (or reset) connection. `net_write_timeout`: a slow
/// client must not make the server abort a stream the proxy cannot write yet. The
/// session-tracking settings make the server report every change of session state (and what
/// a transaction did) in its OK packets. `[server] lock_wait_timeout` becomes the
/// connection's `innodb_lock_wait_timeout` here, once, not per transaction; a client's own
/// `SET innodb_lock_wait_timeout` is session state replayed after it.
pub fn init_sql(lock_wait_timeout: Option<u32>) -> String {
    let mut s = String::from(
        "SET SESSION net_write_timeout = 3600, session_track_state_change = ON, \
         session_track_system_variables = '*', session_track_transaction_info = 'CHARACTERISTICS'",
    );
    if let Some(t) = lock_wait_timeout {
        s.push_str(&format!(", innodb_lock_wait_timeout = {t}"));
    }
    s
}

/// Where a connection is in the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Between commands: the next command may be sent.
    Idle,
    /// Rows of a result set with this many columns are still to be read.
    Rows(usize),
    /// Another result set follows (a CALL's): it must be read or drained.
    MoreResults,
}

/// The start of a statement's answer.
pub enum Head {
    /// No result set.
    Ok(OkInfo),
    /// A result set: its rows follow ([`BackendConn::next_row`]).
    Rows(Arc<[ColumnDef]>),
}

pub struct BackendConn {
    io: Framed,
    name: Arc<str>,
    caps: CapabilityFlags,
    thread_id: u32,
    /// Status flags of the last OK / EOF (autocommit, in transaction, ...).
    status: StatusFlags,
    phase: Phase,
    /// The server reported a session-state change since [`BackendConn::take_state_change`].
    state_changed: bool,
    /// Variables the server reported as changed since the last take.
    changed_vars: Vec<(String, String)>,
    /// The server's transaction-state tracker reported writes since
    /// [`BackendConn::take_txn_writes`].
    txn_writes: bool,
    /// Set when a command failed at the I/O or protocol level: never reuse.
    broken: bool,
    /// Warnings of the last result set's terminator.
    last_warnings: u16,
    /// A command was sent and no byte of its reply has been read yet.
    awaiting_reply: bool,
    /// The last command could not even be sent.
    send_failed: bool,
    version: (u16, u16, u16),
    opened: Instant,
    opts: Arc<ConnOpts>,
    /// The breaker of the data source (see [`ConnOpts::trip`]).
    trip: Option<watch::Receiver<bool>>,
    /// The leasing session's interrupt signal (see [`super::interrupt`]).
    interrupt: Option<watch::Receiver<Interrupt>>,
    /// The interrupt acted on for the command in flight (a `KILL QUERY` was sent).
    interrupted: Interrupt,
    /// The command in flight must not be stopped (transaction control).
    shielded: bool,
    /// A `KILL QUERY` for this connection's thread that may not have reached the server.
    kill: Option<tokio::task::JoinHandle<bool>>,
}

impl BackendConn {
    /// Open and authenticate a connection, then run the session setup.
    pub async fn connect(opts: &Arc<ConnOpts>) -> Result<BackendConn, BackendError> {
        let name: Arc<str> = Arc::from(opts.name.as_str());
        let fail = |detail: String| BackendError::Connect {
            data_source: opts.name.clone(),
            detail,
        };
        let addr = format!("{}:{}", opts.host, opts.port);
        let stream =
            match tokio::time::timeout(opts.connect_timeout, TcpStream::connect(&addr)).await {
                Err(_) => {
                    return Err(fail(format!(
                        "{addr}: no answer within {} ms",
                        opts.connect_timeout.as_millis()
                    )))
                }
                Ok(Err(e)) => return Err(fail(format!("{addr}: {e}"))),
                Ok(Ok(s)) => s,
            };
        let _ = stream.set_nodelay(true);
        let mut conn = BackendConn {
            io: Framed::new(stream, opts.max_packet),
            name,
            caps: CapabilityFlags::empty(),
            thread_id: 0,
            status: StatusFlags::empty(),
            phase: Phase::Idle,
            state_changed: false,
            changed_vars: Vec::new(),
            txn_writes: false,
            broken: false,
            last_warnings: 0,
            awaiting_reply: false,
            send_failed: false,
            version: (0, 0, 0),
            opened: Instant::now(),
            opts: opts.clone(),
            trip: opts.trip.clone(),
            interrupt: None,
            interrupted: Interrupt::None,
            shielded: false,
            kill: None,
        };
        match tokio::time::timeout(opts.connect_timeout, conn.handshake(opts)).await {
            Err(_) => Err(fail(format!(
                "{addr}: no login within {} ms",
                opts.connect_timeout.as_millis()
            ))),
            Ok(Err(BackendError::Lost { detail, .. })) => Err(fail(format!("{addr}: {detail}"))),
            Ok(Err(e)) => Err(e),
            Ok(Ok(())) => {
                conn.exec_drop(&opts.init_sql).await?;
                conn.take_state_change();
                Ok(conn)
            }
        }
    }

    fn track(&self) -> bool {
        self.caps.contains(CapabilityFlags::CLIENT_SESSION_TRACK)
    }

    fn protocol(&mut self, detail: String) -> BackendError {
        self.broken = true;
        BackendError::Lost {
            data_source: self.name.to_string(),
            detail: format!("protocol error: {detail}"),
        }
    }

    fn lost(&mut self, e: std::io::Error) -> BackendError {
        self.broken = true;
        BackendError::Lost {
            data_source: self.name.to_string(),
            detail: e.to_string(),
        }
    }

    async fn read(&mut self) -> Result<Bytes, BackendError> {
        let r = if self.trip.is_none() && self.interrupt.is_none() {
            self.io.read_packet().await
        } else {
            self.watched_read().await?
        };
        match r {
            Ok(p) => {
                self.awaiting_reply = false;
                Ok(p)
            }
            Err(e) => Err(self.lost(e)),
        }
    }

    /// A read that gives up when the breaker opens, and asks the server to stop the
    /// statement (then keeps reading its answer) when the session is interrupted.
    async fn watched_read(&mut self) -> Result<std::io::Result<Bytes>, BackendError> {
        let read = self.io.read_packet();
        tokio::pin!(read);
        loop {
            // The signals first: a result that streams without pause always has a packet
            // ready, and would otherwise never let an interrupt be seen.
            tokio::select! {
                biased;
                _ = interrupt::tripped(&mut self.trip) => {
                    self.broken = true;
                    return Err(BackendError::Lost {
                        data_source: self.name.to_string(),
                        detail: "the data source stopped answering (its circuit breaker opened)".into(),
                    });
                }
                why = interrupt::raised(&mut self.interrupt),
                    if self.interrupted == Interrupt::None && !self.shielded =>
                {
                    self.interrupted = why;
                    self.kill = Some(interrupt::spawn_kill(self.opts.clone(), self.thread_id));
                }
                r = &mut read => return Ok(r),
            }
        }
    }

    /// Before the next command: a `KILL QUERY` sent for the previous one must have reached
    /// the server, or it could stop the wrong statement.
    async fn settle_kill(&mut self) -> Result<(), BackendError> {
        let Some(kill) = self.kill.take() else {
            return Ok(());
        };
        let wait = self.opts.connect_timeout + Duration::from_secs(1);
        match tokio::time::timeout(wait, kill).await {
            Ok(Ok(true)) => Ok(()),
            _ => {
                Err(self
                    .protocol("a KILL QUERY for the previous statement did not complete".into()))
            }
        }
    }

    /// Watch this session's interrupt signal while leased (None: back in the pool).
    pub fn set_interrupt(&mut self, rx: Option<watch::Receiver<Interrupt>>) {
        self.interrupt = rx;
    }

    /// The server's error for a statement, as the client gets it: a statement this proxy
    /// stopped ends with the reason it was stopped for.
    fn server_error(&self, pkt: &[u8]) -> BackendError {
        let e = packets::err_packet(pkt);
        if self.interrupted != Interrupt::None && e.code == 1317 {
            return BackendError::Server(self.interrupted.error());
        }
        BackendError::Server(e)
    }

    async fn flush(&mut self) -> Result<(), BackendError> {
        match self.io.flush().await {
            Ok(()) => Ok(()),
            Err(e) => Err(self.lost(e)),
        }
    }

    /// The server's thread id (for `KILL QUERY`).
    pub fn thread_id(&self) -> u32 {
        self.thread_id
    }

    pub fn server_version(&self) -> (u16, u16, u16) {
        self.version
    }

    /// How long ago this connection was opened.
    pub fn age(&self) -> Duration {
        self.opened.elapsed()
    }

    /// Usable for another command: not broken, between commands, and nothing unexpected
    /// waiting in the socket (a closed connection reads as end of file).
    pub fn reusable(&mut self) -> bool {
        !self.broken && self.phase == Phase::Idle && self.io.idle_ok()
    }

    pub fn is_broken(&self) -> bool {
        self.broken
    }

    pub fn mark_broken(&mut self) {
        self.broken = true;
    }

    /// Between commands (no result left to read).
    pub fn is_idle(&self) -> bool {
        self.phase == Phase::Idle
    }

    /// The server says a transaction is open on this connection.
    pub fn in_transaction(&self) -> bool {
        self.status.contains(StatusFlags::SERVER_STATUS_IN_TRANS)
    }

    /// The server's autocommit flag as last reported.
    pub fn autocommit(&self) -> bool {
        self.status.contains(StatusFlags::SERVER_STATUS_AUTOCOMMIT)
    }

    /// Whether the server reported a session-state change since the last call, and which
    /// variables changed; clears both.
    pub fn take_state_change(&mut self) -> (bool, Vec<(String, String)>) {
        let changed = std::mem::take(&mut self.state_changed);
        (changed, std::mem::take(&mut self.changed_vars))
    }

    /// Whether the server reported writes (transactional or not) since the last call; clears
    /// it. Taken when a transaction branch starts and when it ends: a branch that wrote
    /// nothing need not take part in two-phase commit.
    /// Without session tracking on every terminator the server cannot tell: true.
    pub fn take_txn_writes(&mut self) -> bool {
        let reported = self.track() && self.caps.contains(CapabilityFlags::CLIENT_DEPRECATE_EOF);
        std::mem::take(&mut self.txn_writes) || !reported
    }

    fn note_ok(&mut self, ok: &packets::Ok) {
        self.status = ok.status;
        self.txn_writes |= ok.txn_wrote;
        if ok.state_changed {
            self.state_changed = true;
            self.changed_vars.extend(ok.changed_vars.iter().cloned());
        }
    }

    /// Send one statement and read the start of its answer.
    pub async fn query(&mut self, sql: &str) -> Result<Head, BackendError> {
        if self.broken || self.phase != Phase::Idle {
            return Err(self.protocol("command sent while a result is pending".into()));
        }
        self.settle_kill().await?;
        self.interrupted = Interrupt::None;
        self.shielded = interrupt::is_transaction_control(sql);
        self.io.write_command(COM_QUERY, sql.as_bytes());
        self.send_failed = false;
        if let Err(e) = self.flush().await {
            self.send_failed = true;
            return Err(e);
        }
        self.awaiting_reply = true;
        let head = self.read_head().await;
        head
    }

    /// The last command failed before any byte of its reply arrived (it may or may not have
    /// reached the server), or could not be sent at all (second value).
    pub fn failed_before_reply(&self) -> (bool, bool) {
        (
            self.broken && self.awaiting_reply,
            self.broken && self.send_failed,
        )
    }

    /// The start of the next result (after COM_QUERY, or of a further result set).
    async fn read_head(&mut self) -> Result<Head, BackendError> {
        let pkt = self.read().await?;
        match pkt.first() {
            Some(0x00) => {
                let ok = packets::ok_packet(pkt, self.track())
                    .map_err(|e| self.protocol(e.to_string()))?;
                self.note_ok(&ok);
                self.phase = if ok.status.contains(StatusFlags::SERVER_MORE_RESULTS_EXISTS) {
                    Phase::MoreResults
                } else {
                    Phase::Idle
                };
                Ok(Head::Ok(OkInfo {
                    affected_rows: ok.affected_rows,
                    last_insert_id: ok.last_insert_id,
                    warnings: ok.warnings,
                    info: ok.info,
                    found_rows: None,
                }))
            }
            Some(0xff) => {
                self.phase = Phase::Idle;
                Err(self.server_error(&pkt))
            }
            Some(0xfb) => {
                // LOCAL INFILE request: never asked for (no CLIENT_LOCAL_FILES). Refuse it
                // with an empty file; the server then answers with its result.
                self.io.write_packet(&[]);
                self.flush().await?;
                Box::pin(self.read_head()).await
            }
            Some(_) => {
                let n = Cursor::new(pkt)
                    .lenenc_int()
                    .ok_or_else(|| self.protocol("column count".into()))?;
                // A result set has at most 65535 columns (the prepared-statement protocol's
                // count is 16 bits); more is a broken stream, not something to allocate for.
                let n = usize::try_from(n)
                    .ok()
                    .filter(|&n| n <= usize::from(u16::MAX))
                    .ok_or_else(|| self.protocol(format!("column count {n}")))?;
                let mut cols = Vec::with_capacity(n.min(1024));
                for _ in 0..n {
                    let p = self.read().await?;
                    cols.push(packets::column_def(p).map_err(|e| self.protocol(e.to_string()))?);
                }
                if !self.caps.contains(CapabilityFlags::CLIENT_DEPRECATE_EOF) {
                    let eof = self.read().await?;
                    if !packets::is_eof(&eof) {
                        return Err(self.protocol("EOF after column definitions".into()));
                    }
                }
                self.phase = Phase::Rows(n);
                Ok(Head::Rows(cols.into()))
            }
            None => Err(self.protocol("empty packet".into())),
        }
    }

    /// The next row of the current result set; `None` at its end (the terminator's warnings
    /// are in [`BackendConn::finish`]'s answer).
    pub async fn next_row(&mut self) -> Result<Option<Row>, BackendError> {
        let Phase::Rows(n) = self.phase else {
            return Ok(None);
        };
        match self.next_raw_row().await? {
            None => Ok(None),
            Some(pkt) => match packets::text_row(pkt, n) {
                Ok(r) => Ok(Some(r)),
                Err(e) => Err(self.protocol(e.to_string())),
            },
        }
    }

    /// The raw payload of the next row (for relaying text rows unchanged); `None` at the end.
    pub async fn next_raw_row(&mut self) -> Result<Option<Bytes>, BackendError> {
        let Phase::Rows(_) = self.phase else {
            return Ok(None);
        };
        let pkt = self.read().await?;
        match pkt.first() {
            Some(0xfe) if pkt.len() < 0xFF_FFFF => {
                self.end_rows(pkt)?;
                Ok(None)
            }
            Some(0xff) => {
                self.phase = Phase::Idle;
                Err(self.server_error(&pkt))
            }
            _ => Ok(Some(pkt)),
        }
    }

    fn end_rows(&mut self, pkt: Bytes) -> Result<(), BackendError> {
        let ok = if self.caps.contains(CapabilityFlags::CLIENT_DEPRECATE_EOF) {
            packets::ok_packet(pkt, self.track()).map_err(|e| self.protocol(e.to_string()))?
        } else {
            let mut c = Cursor::new(pkt);
            c.u8();
            let warnings = c.uint(2).unwrap_or(0) as u16;
            let status = StatusFlags::from_bits_truncate(c.uint(2).unwrap_or(0) as u16);
            packets::Ok {
                warnings,
                status,
                ..Default::default()
            }
        };
        self.note_ok(&ok);
        self.last_warnings = ok.warnings;
        self.phase = if ok.status.contains(StatusFlags::SERVER_MORE_RESULTS_EXISTS) {
            Phase::MoreResults
        } else {
            Phase::Idle
        };
        Ok(())
    }

    /// Read whatever is left of the statement's answer (rows, further result sets) and
    /// return what the first result reported.
    pub async fn finish(&mut self, head: Option<OkInfo>) -> Result<OkInfo, BackendError> {
        let mut first = head;
        loop {
            match self.phase {
                Phase::Idle => break,
                Phase::Rows(_) => {
                    while self.next_raw_row().await?.is_some() {}
                    if first.is_none() {
                        first = Some(OkInfo {
                            warnings: self.last_warnings,
                            ..Default::default()
                        });
                    }
                }
                Phase::MoreResults => {
                    // Later results (of a CALL) are not relayed.
                    match self.read_head().await? {
                        Head::Ok(ok) => {
                            if first.is_none() {
                                first = Some(ok);
                            }
                        }
                        Head::Rows(_) => {}
                    }
                }
            }
        }
        Ok(first.unwrap_or_default())
    }

    /// Warnings of the last result set's terminator.
    pub fn last_warnings(&self) -> u16 {
        self.last_warnings
    }

    /// Run a statement and discard its answer.
    pub async fn exec_drop(&mut self, sql: &str) -> Result<OkInfo, BackendError> {
        match self.query(sql).await? {
            Head::Ok(ok) => self.finish(Some(ok)).await,
            Head::Rows(_) => self.finish(None).await,
        }
    }

    /// Run a statement and keep its rows (small metadata queries).
    pub async fn collect(&mut self, sql: &str) -> Result<(Vec<ColumnDef>, Vec<Row>), BackendError> {
        match self.query(sql).await? {
            Head::Ok(ok) => {
                self.finish(Some(ok)).await?;
                Ok((Vec::new(), Vec::new()))
            }
            Head::Rows(cols) => {
                let mut rows = Vec::new();
                while let Some(r) = self.next_row().await? {
                    rows.push(r);
                }
                self.finish(None).await?;
                Ok((cols.to_vec(), rows))
            }
        }
    }

    /// Parameter and column metadata of a statement: prepared on the server and closed again.
    pub async fn describe(
        &mut self,
        sql: &str,
    ) -> Result<(Vec<ColumnDef>, Vec<ColumnDef>), BackendError> {
        if self.broken || self.phase != Phase::Idle {
            return Err(self.protocol("command sent while a result is pending".into()));
        }
        self.settle_kill().await?;
        self.io.write_command(COM_STMT_PREPARE, sql.as_bytes());
        self.flush().await?;
        let pkt = self.read().await?;
        if pkt.first() == Some(&0xff) {
            return Err(BackendError::Server(packets::err_packet(&pkt)));
        }
        let mut c = Cursor::new(pkt);
        let bad = "COM_STMT_PREPARE reply";
        let (Some(0), Some(id), Some(ncols), Some(nparams)) =
            (c.u8(), c.uint(4), c.uint(2), c.uint(2))
        else {
            return Err(self.protocol(bad.into()));
        };
        let mut params = Vec::new();
        for _ in 0..nparams {
            let p = self.read().await?;
            params.push(packets::column_def(p).map_err(|e| self.protocol(e.to_string()))?);
        }
        if nparams > 0 && !self.caps.contains(CapabilityFlags::CLIENT_DEPRECATE_EOF) {
            self.read().await?;
        }
        let mut cols = Vec::new();
        for _ in 0..ncols {
            let p = self.read().await?;
            cols.push(packets::column_def(p).map_err(|e| self.protocol(e.to_string()))?);
        }
        if ncols > 0 && !self.caps.contains(CapabilityFlags::CLIENT_DEPRECATE_EOF) {
            self.read().await?;
        }
        // COM_STMT_CLOSE has no answer.
        self.io
            .write_command(COM_STMT_CLOSE, &(id as u32).to_le_bytes());
        self.flush().await?;
        Ok((params, cols))
    }

    /// COM_RESET_CONNECTION, then the session setup again: the connection is as new
    /// (variables, temporary tables, locks, prepared statements and any transaction gone).
    pub async fn reset(&mut self) -> Result<(), BackendError> {
        if self.broken || self.phase != Phase::Idle {
            return Err(self.protocol("reset while a result is pending".into()));
        }
        self.settle_kill().await?;
        self.io.write_command(COM_RESET_CONNECTION, &[]);
        self.flush().await?;
        let pkt = self.read().await?;
        match pkt.first() {
            Some(0x00) => {
                let ok = packets::ok_packet(pkt, self.track())
                    .map_err(|e| self.protocol(e.to_string()))?;
                self.status = ok.status;
            }
            Some(0xff) => {
                // A server without COM_RESET_CONNECTION: this connection cannot be cleaned.
                self.broken = true;
                return Err(BackendError::Server(packets::err_packet(&pkt)));
            }
            _ => return Err(self.protocol("COM_RESET_CONNECTION reply".into())),
        }
        let opts = self.opts.clone();
        self.exec_drop(&opts.init_sql).await?;
        self.take_state_change();
        Ok(())
    }

    /// COM_PING.
    pub async fn ping(&mut self) -> Result<(), BackendError> {
        if self.broken || self.phase != Phase::Idle {
            return Err(self.protocol("ping while a result is pending".into()));
        }
        self.settle_kill().await?;
        self.io.write_command(COM_PING, &[]);
        self.flush().await?;
        let pkt = self.read().await?;
        match pkt.first() {
            Some(0x00) => Ok(()),
            Some(0xff) => Err(BackendError::Server(packets::err_packet(&pkt))),
            _ => Err(self.protocol("COM_PING reply".into())),
        }
    }

    /// COM_QUIT, without waiting for the server.
    pub async fn quit(mut self) {
        self.io.write_command(COM_QUIT, &[]);
        let _ = tokio::time::timeout(Duration::from_millis(100), self.io.flush()).await;
    }

    /// The peer address (diagnostics).
    pub fn peer(&self) -> Option<std::net::SocketAddr> {
        self.io.stream().peer_addr().ok()
    }
}
