//! Per-connection session: database, autocommit and transaction state, session variables,
//! prepared statements, and the backend connections pinned while a transaction is open.

mod access;
mod admin;
mod charsets;
mod effects;
mod exec;
mod grouped;
mod guard;
mod infoschema;
mod insert_select;
mod names;
mod query;
mod reshard;
mod selectinto;
mod sessfns;
mod setvar;
mod ship;
mod show;
mod sqlprep;
mod stmt;
pub mod stmtcache;
mod subquery;
mod template;
mod txn;
mod union;

use crate::backend::{Lease, SessionState};
use crate::error::SqlError;
use crate::server::Shared;
use bytes::Bytes;
use mysql_common::constants::StatusFlags;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

pub use stmt::Prepared;

/// A backend connection pinned to the session, and whether it has joined the open transaction.
pub(crate) struct Pinned {
    pub lease: Lease,
    pub in_txn: bool,
}

/// Either an error to answer the client with, or a broken client connection.
#[derive(Debug)]
pub enum Flow {
    Sql(SqlError),
    Io(std::io::Error),
}

impl From<SqlError> for Flow {
    fn from(e: SqlError) -> Flow {
        Flow::Sql(e)
    }
}

impl From<std::io::Error> for Flow {
    fn from(e: std::io::Error) -> Flow {
        Flow::Io(e)
    }
}

pub type FlowResult<T> = Result<T, Flow>;

pub struct Session {
    shared: Arc<Shared>,
    conn_id: u32,
    user: String,
    db: Option<String>,
    autocommit: bool,
    in_txn: bool,
    /// How the client opened the transaction (replayed on each backend that joins it).
    begin_sql: String,
    /// Global id of the open XA transaction (None: local transaction or none open).
    xa_gtrid: Option<String>,
    /// The open XA transaction's registration in the coordinator (recovery leaves it alone
    /// while this is held; dropped when the transaction ends or the session goes away).
    xa_in_flight: Option<crate::txn::InFlight>,
    /// Savepoint names of the open transaction, in order.
    savepoints: Vec<String>,
    /// SET statements replayed on backend connections (keys name the variables they set).
    state: SessionState,
    state_keys: Vec<String>,
    no_backslash_escapes: bool,
    /// sql_mode has ANSI_QUOTES: `"x"` is an identifier, not a string.
    ansi_quotes: bool,
    /// sql_mode has PIPES_AS_CONCAT: `||` concatenates in what the proxy evaluates.
    pipes_as_concat: bool,
    /// `SET TRANSACTION ...` (no scope): the next transaction's characteristics.
    next_txn: Option<String>,
    /// While a `SET STATEMENT ... FOR` runs its statement: its assignments, put before
    /// every statement sent for it.
    stmt_modifier: Option<String>,
    /// Characteristics of the open transaction from `SET TRANSACTION ...`.
    txn_modes: Option<String>,
    /// The rules the open transaction started with (see [`crate::served`]).
    txn_served: Option<Arc<crate::served::Served>>,
    /// Counted by the cutover gate while the transaction is open.
    txn_pass: Option<crate::gate::TxnPass>,
    /// The cutover gate's pass of the client statement running now.
    stmt_pass: Option<crate::gate::Pass>,
    /// The session's sql_select_limit when not the default (unlimited).
    select_limit: Option<u64>,
    /// The session's div_precision_increment when not the default 4.
    div_precision: Option<u8>,
    /// sql_mode has TIME_ROUND_FRACTIONAL.
    round_fractional: bool,
    /// The session's time zone as an offset from UTC (None: a named zone).
    utc_offset: Option<i64>,
    /// What the running statement changes in the session beyond its answer.
    effects: effects::Effects,
    /// What the last statement reported (ROW_COUNT(), warnings, ...).
    diag: effects::Diagnostics,
    /// The running statement is SHOW WARNINGS or the like (it keeps the diagnostics).
    diagnostic_statement: bool,
    /// The client's address, as USER() reports it.
    client_host: String,
    /// character_set_client.
    client_cs: crate::charset::Charset,
    /// The character set the client logged in with (restored by a connection reset).
    login_cs: crate::charset::Charset,
    /// character_set_results (None: NULL, no conversion).
    results_cs: Option<crate::charset::Charset>,
    /// The session holds named locks: its connection to the lock data source stays pinned.
    lock_pinned: bool,
    /// The running statement is `DO expr`, planned as `SELECT expr`.
    do_statement: bool,
    last_insert_id: u64,
    /// One backend connection per data source while a transaction is open (or for the rest
    /// of the session once it created a temporary table).
    pinned: BTreeMap<String, Pinned>,
    /// The session created temporary tables: its connections stay pinned until it ends.
    sticky: bool,
    /// SQL-level prepared statements (PREPARE name FROM ...).
    sql_stmts: HashMap<String, String>,
    stmts: HashMap<u32, Prepared>,
    next_stmt: u32,
    /// While a shipped join runs: temporary table → the logical table it copies (for result
    /// metadata and error messages).
    shipped_names: Vec<(String, String)>,
    /// While a shipped join runs: each derived table's copy and its query's columns.
    shipped_derived: Vec<(Bytes, Vec<crate::result::ColumnDef>)>,
    /// Parsed templates of repeated text SELECTs.
    templates: template::Templates,
    /// The session's entry among the proxy's sessions (processlist, KILL, interrupts).
    registration: crate::sessions::Registration,
    /// Route kind and node count of the statement's last plan (metrics, slow log).
    last_route: Option<(crate::route::RouteKind, usize)>,
    /// A second handle on the client's socket, watched for the client hanging up.
    client_watch: Option<Arc<tokio::net::TcpStream>>,
}

impl Session {
    pub fn new(shared: Arc<Shared>, conn_id: u32, user: String) -> Session {
        let utc_offset = shared.initial_utc_offset;
        let registration = shared.sessions.register(conn_id, &user, "%");
        Session {
            registration,
            last_route: None,
            client_watch: None,
            shared,
            conn_id,
            user,
            db: None,
            autocommit: true,
            in_txn: false,
            begin_sql: "START TRANSACTION".into(),
            xa_gtrid: None,
            xa_in_flight: None,
            savepoints: Vec::new(),
            state: SessionState::default(),
            state_keys: Vec::new(),
            no_backslash_escapes: false,
            ansi_quotes: false,
            pipes_as_concat: false,
            next_txn: None,
            stmt_modifier: None,
            txn_modes: None,
            txn_served: None,
            txn_pass: None,
            stmt_pass: None,
            select_limit: None,
            div_precision: None,
            round_fractional: false,
            utc_offset,
            effects: Default::default(),
            diag: Default::default(),
            diagnostic_statement: false,
            client_host: "%".into(),
            client_cs: Default::default(),
            login_cs: Default::default(),
            results_cs: Some(Default::default()),
            lock_pinned: false,
            do_statement: false,
            last_insert_id: 0,
            pinned: BTreeMap::new(),
            sticky: false,
            sql_stmts: HashMap::new(),
            stmts: HashMap::new(),
            next_stmt: 1,
            shipped_names: Vec::new(),
            shipped_derived: Vec::new(),
            templates: Default::default(),
        }
    }

    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Turns true when the session is killed (`KILL <id>`): the connection closes.
    pub fn killed(&self) -> tokio::sync::watch::Receiver<bool> {
        self.registration.info.killed()
    }

    /// Watch this handle on the client's socket while statements run (see
    /// [`guard`]).
    pub fn set_client_watch(&mut self, s: Option<tokio::net::TcpStream>) {
        self.client_watch = s.map(Arc::new);
    }

    /// The client's host, as USER() reports it.
    pub fn set_client_host(&mut self, host: String) {
        self.registration.info.set_host(&host);
        self.client_host = host;
    }

    pub fn status(&self) -> StatusFlags {
        let mut s = StatusFlags::empty();
        if self.autocommit {
            s |= StatusFlags::SERVER_STATUS_AUTOCOMMIT;
        }
        if self.in_txn {
            s |= StatusFlags::SERVER_STATUS_IN_TRANS;
        }
        if self.no_backslash_escapes {
            s |= StatusFlags::SERVER_STATUS_NO_BACKSLASH_ESCAPES;
        }
        s
    }

    /// The rules this session's statements plan against: its transaction's, else the
    /// proxy's current ones.
    pub(crate) fn served(&self) -> Arc<crate::served::Served> {
        match &self.txn_served {
            Some(s) => s.clone(),
            None => self.shared.served.load_full(),
        }
    }

    /// [`Session::served`] borrowed, for the per-column and per-row paths: no reference count
    /// is taken on the snapshot every session shares.
    pub(crate) fn served_ref(&self) -> ServedRef<'_> {
        match &self.txn_served {
            Some(s) => ServedRef::Txn(s),
            None => ServedRef::Now(self.shared.served.load()),
        }
    }

    pub(crate) fn database(&self, name: &str) -> Option<Arc<crate::rules::LogicalDatabase>> {
        self.served().database(name)
    }

    /// The logical databases the session's user may use.
    pub(crate) fn user_databases(&self) -> Vec<Arc<crate::rules::LogicalDatabase>> {
        self.shared.databases_of(&self.served(), &self.user)
    }

    pub fn use_db(&mut self, name: &str) -> Result<(), SqlError> {
        let name = name.trim().trim_matches('`');
        let allowed = self.user_databases();
        match allowed.iter().find(|d| d.name.eq_ignore_ascii_case(name)) {
            Some(d) => {
                self.db = Some(d.name.clone());
                self.registration.info.set_db(Some(&d.name));
                Ok(())
            }
            None if self.database(name).is_some() => Err(SqlError::new(
                1044,
                "42000",
                format!(
                    "Access denied for user '{}'@'%' to database '{name}'",
                    self.user
                ),
            )),
            None => Err(SqlError::unknown_database(name)),
        }
    }

    pub fn statistics(&self) -> String {
        let up = self.shared.started.elapsed().as_secs();
        let threads = self
            .shared
            .connections
            .load(std::sync::atomic::Ordering::Relaxed);
        let q = self
            .shared
            .questions
            .load(std::sync::atomic::Ordering::Relaxed);
        format!("Uptime: {up}  Threads: {threads}  Questions: {q}  Slow queries: 0  Opens: 0  Open tables: 0  Queries per second avg: {:.3}", q as f64 / up.max(1) as f64)
    }

    /// COM_RESET_CONNECTION: roll back, forget variables and statements, keep user and db.
    pub async fn reset(&mut self) {
        self.rollback_all().await;
        self.release_pinned();
        self.sql_stmts.clear();
        self.autocommit = true;
        self.state = SessionState::default();
        self.state_keys.clear();
        self.no_backslash_escapes = false;
        self.ansi_quotes = false;
        self.pipes_as_concat = false;
        self.next_txn = None;
        self.stmt_modifier = None;
        self.select_limit = None;
        self.div_precision = None;
        self.round_fractional = false;
        self.utc_offset = self.shared.initial_utc_offset;
        self.diag = Default::default();
        self.last_insert_id = 0;
        self.stmts.clear();
        self.txn_modes = None;
        self.effects = Default::default();
        // Templates were checked against this user's rights and state: a reset or another
        // user starts without them.
        self.templates = Default::default();
        let cs = self.login_cs;
        self.set_charset(cs);
    }

    pub async fn change_user(&mut self, user: String) {
        self.reset().await;
        self.registration.info.set_user(&user);
        self.registration.info.set_db(None);
        self.user = user;
        self.db = None;
    }

    /// The client went away: anything uncommitted is rolled back.
    pub async fn close(&mut self) {
        self.rollback_all().await;
        self.release_pinned();
    }

    /// Give up pinned connections; ones holding temporary tables or named locks are
    /// closed, not pooled.
    fn release_pinned(&mut self) {
        for (_, mut p) in std::mem::take(&mut self.pinned) {
            if self.sticky || self.lock_pinned {
                p.lease.mark_broken();
            }
        }
        self.sticky = false;
        self.lock_pinned = false;
    }
}

/// See [`Session::served_ref`].
pub(crate) enum ServedRef<'a> {
    Txn(&'a crate::served::Served),
    Now(arc_swap::Guard<Arc<crate::served::Served>>),
}

impl std::ops::Deref for ServedRef<'_> {
    type Target = crate::served::Served;
    fn deref(&self) -> &crate::served::Served {
        match self {
            ServedRef::Txn(s) => s,
            ServedRef::Now(g) => g,
        }
    }
}
