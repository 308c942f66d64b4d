//! Which statements a client may run through the proxy (pure: no I/O).
//!
//! shardgate answers only statement kinds it parses and routes, or answers itself. This
//! module names what it refuses and why:
//!
//! - [`by_keyword`] looks at the first words of a scanned statement and refuses server
//!   administration (accounts and grants, shutdown, plugins, replication and binary logs,
//!   FLUSH, file access) and statement kinds the proxy cannot route (routines, HANDLER, ...);
//! - [`statement`] looks at a parsed statement: file functions (`LOAD_FILE`), server-side
//!   files (`INTO OUTFILE`, `DATA DIRECTORY`), storage engines that reach outside the server,
//!   databases (`CREATE/DROP DATABASE`), `GRANT`/`REVOKE`, and writes by read-only users.
//!
//! The MySQL error each refusal becomes is chosen by [`Refusal::to_sql`].

use crate::error::SqlError;
use sqlparser::ast::{Expr, ObjectType, Statement, Visit, Visitor};
use std::ops::ControlFlow;

/// Why a statement is not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Server administration, never available to proxy users: 1227 naming the privilege.
    Admin {
        what: String,
        privilege: &'static str,
    },
    /// A statement kind or feature the proxy does not route: 1235.
    Unsupported(String),
    /// A database outside the user's logical databases: 1044.
    Database(String),
    /// A table outside the user's logical databases, or a write by a read-only user: 1142.
    Table { command: String, table: String },
}

impl Refusal {
    fn admin(what: impl Into<String>, privilege: &'static str) -> Refusal {
        Refusal::Admin {
            what: what.into(),
            privilege,
        }
    }

    /// The error the client gets (`user`: the proxy user, as MySQL names it).
    pub fn to_sql(&self, user: &str) -> SqlError {
        match self {
            Refusal::Admin { what, privilege } => SqlError::new(
                1227,
                "42000",
                format!("Access denied; you need (at least one of) the {privilege} privilege(s) for this operation ({what} is not available through shardgate)"),
            ),
            Refusal::Unsupported(what) => SqlError::unsupported(what),
            Refusal::Database(db) => SqlError::new(
                1044,
                "42000",
                format!("Access denied for user '{user}'@'%' to database '{db}'"),
            ),
            Refusal::Table { command, table } => SqlError::new(
                1142,
                "42000",
                format!("{command} command denied to user '{user}'@'%' for table `{table}`"),
            ),
        }
    }
}

/// The first `n` words of a scanned statement, upper-cased.
pub fn leading_words(text: &str, n: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(n);
    let mut rest = text;
    while out.len() < n {
        rest = rest.trim_start_matches(|c: char| !(c.is_ascii_alphanumeric() || c == '_'));
        if rest.is_empty() {
            break;
        }
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        out.push(rest[..end].to_ascii_uppercase());
        rest = &rest[end..];
    }
    out
}

/// `INTO OUTFILE` / `INTO DUMPFILE` anywhere outside quotes (a cheap byte search first).
fn writes_server_file(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    if !lower.contains("outfile") && !lower.contains("dumpfile") {
        return false;
    }
    let w = crate::sql::words(text);
    w.windows(2)
        .any(|p| p[0] == "into" && matches!(p[1].as_str(), "outfile" | "dumpfile"))
}

/// Statements refused by their first words (before parsing). `None`: go on.
pub fn by_keyword(text: &str) -> Option<Refusal> {
    if writes_server_file(text) {
        return Some(Refusal::admin("SELECT ... INTO OUTFILE", "FILE"));
    }
    let w = leading_words(text, 4);
    let at = |i: usize| w.get(i).map(String::as_str).unwrap_or("");
    let (w0, w1, w2) = (at(0), at(1), at(2));
    let r = match w0 {
        "SHUTDOWN" | "RESTART" => Refusal::admin(w0, "SHUTDOWN"),
        "INSTALL" | "UNINSTALL" => Refusal::admin(format!("{w0} {w1}"), "SUPER"),
        "GRANT" | "REVOKE" => Refusal::admin(w0, "GRANT OPTION"),
        "CHANGE" => Refusal::admin(format!("CHANGE {w1}"), "REPLICATION SLAVE ADMIN"),
        "START" | "STOP" if matches!(w1, "SLAVE" | "REPLICA" | "ALL") => {
            Refusal::admin(format!("{w0} {w1}"), "REPLICATION SLAVE ADMIN")
        }
        "RESET" => Refusal::admin(format!("RESET {w1}"), "RELOAD"),
        "PURGE" => Refusal::admin("PURGE BINARY LOGS", "BINLOG ADMIN"),
        "BINLOG" => Refusal::admin("BINLOG", "BINLOG REPLAY"),
        "FLUSH" => Refusal::admin(format!("FLUSH {w1}"), "RELOAD"),
        "BACKUP" => Refusal::admin(format!("BACKUP {w1}"), "RELOAD"),
        "LOAD" if matches!(w1, "DATA" | "XML") => Refusal::admin(format!("LOAD {w1}"), "FILE"),
        "LOAD" | "CACHE" => Refusal::Unsupported(format!("{w0} INDEX")),
        "CALL" => Refusal::Unsupported("CALL (stored procedures)".into()),
        "HANDLER" => Refusal::Unsupported("HANDLER".into()),
        "HELP" => Refusal::Unsupported("HELP".into()),
        "OPTIMIZE" | "CHECK" | "REPAIR" | "CHECKSUM" => Refusal::Unsupported(format!("{w0} TABLE")),
        "SIGNAL" | "RESIGNAL" | "GET" | "DECLARE" => Refusal::Unsupported(w0.to_string()),
        "CREATE" | "ALTER" | "DROP" | "RENAME" => {
            // CREATE OR REPLACE ..., CREATE DEFINER=x PROCEDURE, DROP TEMPORARY TABLE, ...:
            // the first word naming an object type says what is created.
            let object = leading_words(text, 10)
                .into_iter()
                .skip(1)
                .find(|x| OBJECT_TYPES.contains(&x.as_str()))
                .unwrap_or_default();
            let object = object.as_str();
            match object {
                "USER" | "ROLE" => Refusal::admin(format!("{w0} {object}"), "CREATE USER"),
                "SERVER" => Refusal::admin(format!("{w0} SERVER"), "FEDERATED ADMIN"),
                "DATABASE" | "SCHEMA" => {
                    return Some(Refusal::Database(database_name(text).unwrap_or_default()));
                }
                "PROCEDURE" | "FUNCTION" | "TRIGGER" | "EVENT" | "PACKAGE" => {
                    Refusal::Unsupported(format!("{w0} {object} (stored programs)"))
                }
                "SEQUENCE" => Refusal::Unsupported(format!("{w0} SEQUENCE")),
                "TABLESPACE" | "LOGFILE" => Refusal::admin(format!("{w0} {object}"), "SUPER"),
                _ => return None,
            }
        }
        "SET" => match (w1, w2) {
            ("PASSWORD", _) => Refusal::admin("SET PASSWORD", "CREATE USER"),
            ("ROLE", _) | ("DEFAULT", "ROLE") => Refusal::admin("SET ROLE", "CREATE USER"),
            ("GLOBAL", _) => Refusal::admin("SET GLOBAL", "SUPER"),
            _ => return None,
        },
        _ => return None,
    };
    Some(r)
}

/// Words naming what a CREATE / ALTER / DROP / RENAME statement is about.
const OBJECT_TYPES: &[&str] = &[
    "TABLE",
    "VIEW",
    "INDEX",
    "USER",
    "ROLE",
    "SERVER",
    "DATABASE",
    "SCHEMA",
    "PROCEDURE",
    "FUNCTION",
    "TRIGGER",
    "EVENT",
    "PACKAGE",
    "SEQUENCE",
    "TABLESPACE",
    "LOGFILE",
];

/// The name after `CREATE|DROP|ALTER DATABASE|SCHEMA [IF [NOT] EXISTS]`.
fn database_name(text: &str) -> Option<String> {
    let toks: Vec<&str> = text.split_whitespace().collect();
    let i = toks
        .iter()
        .position(|t| t.eq_ignore_ascii_case("DATABASE") || t.eq_ignore_ascii_case("SCHEMA"))?;
    toks[i + 1..]
        .iter()
        .find(|t| {
            !t.eq_ignore_ascii_case("IF")
                && !t.eq_ignore_ascii_case("NOT")
                && !t.eq_ignore_ascii_case("EXISTS")
        })
        .map(|t| t.trim_matches(['`', ';']).to_string())
}

/// Variables a client may not set on pooled backend connections: replication, binary
/// logging and debugging controls (server administration), the connection-level timeouts
/// the pool relies on, and the session tracking the proxy reads.
pub fn refused_variable(name: &str) -> Option<Refusal> {
    let n = name.trim_matches('`').to_ascii_lowercase();
    let n = n
        .strip_prefix("@@session.")
        .or_else(|| n.strip_prefix("@@local."))
        .or_else(|| n.strip_prefix("@@"))
        .or_else(|| n.strip_prefix("session."))
        .or_else(|| n.strip_prefix("local."))
        .unwrap_or(&n)
        .to_string();
    if n.starts_with('@') {
        return None;
    }
    let admin = matches!(
        n.as_str(),
        "sql_log_bin"
            | "sql_log_off"
            | "server_id"
            | "pseudo_thread_id"
            | "pseudo_slave_mode"
            | "skip_replication"
            | "slave_skip_errors"
            | "enforce_storage_engine"
    ) || n.starts_with("gtid_")
        || n.starts_with("binlog_")
        || n.starts_with("wsrep_")
        || n.starts_with("debug");
    if admin {
        return Some(Refusal::admin(format!("SET {n}"), "SUPER"));
    }
    let pooled = matches!(
        n.as_str(),
        "wait_timeout"
            | "interactive_timeout"
            | "net_read_timeout"
            | "net_write_timeout"
            | "net_retry_count"
            | "net_buffer_length"
            | "max_allowed_packet"
    ) || n.starts_with("session_track_");
    if pooled {
        return Some(Refusal::Unsupported(format!(
            "SET {n} (a setting of the pooled backend connections)"
        )));
    }
    None
}

/// Functions refused anywhere in a statement: they read server files or wait on
/// replication.
const REFUSED_FUNCTIONS: &[(&str, &str)] = &[
    ("load_file", "FILE"),
    ("master_pos_wait", "REPLICATION SLAVE ADMIN"),
    ("source_pos_wait", "REPLICATION SLAVE ADMIN"),
    ("master_gtid_wait", "REPLICATION SLAVE ADMIN"),
    ("binlog_gtid_pos", "REPLICATION SLAVE ADMIN"),
];

/// Storage engines that reach outside the server (files, other servers).
const REFUSED_ENGINES: &[&str] = &["connect", "federated", "federatedx", "spider", "oqgraph"];

struct Functions(Option<Refusal>);

impl Visitor for Functions {
    type Break = ();
    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        if let Expr::Function(f) = e {
            let name = f
                .name
                .0
                .last()
                .map(|p| p.to_string().trim_matches('`').to_ascii_lowercase())
                .unwrap_or_default();
            if let Some((_, privilege)) = REFUSED_FUNCTIONS.iter().find(|(n, _)| *n == name) {
                self.0 = Some(Refusal::admin(
                    format!("{}()", name.to_uppercase()),
                    privilege,
                ));
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    }
}

/// What a parsed statement does, for the privilege check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Read,
    /// Changes rows (INSERT, UPDATE, DELETE, REPLACE; `SELECT ... FOR UPDATE` locks them).
    Write(&'static str),
    /// Changes schema.
    Ddl(&'static str),
}

pub fn effect(stmt: &Statement, text: &str) -> Effect {
    match stmt {
        Statement::Insert(_) => Effect::Write("INSERT"),
        Statement::Update(_) => Effect::Write("UPDATE"),
        Statement::Delete(_) => Effect::Write("DELETE"),
        Statement::CreateTable(_) | Statement::CreateView(_) => Effect::Ddl("CREATE"),
        Statement::AlterView { .. } => Effect::Ddl("ALTER"),
        Statement::CreateIndex(_) => Effect::Ddl("INDEX"),
        Statement::AlterTable(_) => Effect::Ddl("ALTER"),
        Statement::Drop { .. } => Effect::Ddl("DROP"),
        Statement::Truncate(_) => Effect::Ddl("DROP"),
        Statement::RenameTable(_) => Effect::Ddl("ALTER"),
        // The words are read only when they can be there.
        Statement::Query(_)
            if !contains_ascii_ci(text, b"update") && !contains_ascii_ci(text, b"share") =>
        {
            Effect::Read
        }
        Statement::Query(_) => {
            let w = crate::sql::words(text);
            let locking = w.windows(2).any(|p| p[0] == "for" && p[1] == "update")
                || w.windows(3)
                    .any(|p| p[0] == "lock" && p[1] == "in" && p[2] == "share");
            if locking {
                Effect::Write("UPDATE")
            } else {
                Effect::Read
            }
        }
        _ => Effect::Read,
    }
}

/// `needle` (lower-case ASCII) occurs in `text`, ignoring ASCII case.
fn contains_ascii_ci(text: &str, needle: &[u8]) -> bool {
    text.as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// Checks of a parsed statement (see the module documentation). `text`: the scanned
/// statement the AST was parsed from.
pub fn statement(stmt: &Statement, text: &str) -> Option<Refusal> {
    match stmt {
        Statement::Grant(_) | Statement::Revoke(_) => {
            return Some(Refusal::admin("GRANT / REVOKE", "GRANT OPTION"))
        }
        Statement::CreateDatabase { db_name, .. } => {
            return Some(Refusal::Database(db_name.to_string()))
        }
        Statement::Drop {
            object_type: ObjectType::Database | ObjectType::Schema,
            names,
            ..
        } => {
            return Some(Refusal::Database(
                names.first().map(|n| n.to_string()).unwrap_or_default(),
            ))
        }
        Statement::Drop {
            object_type: ObjectType::User | ObjectType::Role,
            ..
        }
        | Statement::CreateRole(_) => return Some(Refusal::admin("DROP USER", "CREATE USER")),
        Statement::CreateServer(_) => {
            return Some(Refusal::admin("CREATE SERVER", "FEDERATED ADMIN"))
        }
        Statement::Flush { .. } => return Some(Refusal::admin("FLUSH", "RELOAD")),
        Statement::Kill { .. } => {
            return Some(Refusal::Unsupported(
                "this form of KILL (shardgate kills by its own session id: KILL [HARD | SOFT] [CONNECTION | QUERY] <id>)".into(),
            ))
        }
        Statement::LockTables { .. } => return Some(Refusal::Unsupported("LOCK TABLES".into())),
        Statement::Call(_) => return Some(Refusal::Unsupported("CALL (stored procedures)".into())),
        Statement::CreateSequence { .. } => {
            return Some(Refusal::Unsupported("CREATE SEQUENCE".into()))
        }
        Statement::Reset(_) => return Some(Refusal::admin("RESET", "RELOAD")),
        Statement::CreateUser(_) | Statement::AlterUser(_) => {
            return Some(Refusal::admin("CREATE / ALTER USER", "CREATE USER"))
        }
        Statement::CreateFunction(_)
        | Statement::CreateProcedure { .. }
        | Statement::CreateTrigger(_)
        | Statement::AlterFunction(_)
        | Statement::AlterTrigger(_)
        | Statement::DropFunction(_)
        | Statement::DropProcedure { .. }
        | Statement::DropTrigger(_) => {
            return Some(Refusal::Unsupported("stored programs and triggers".into()))
        }
        _ => {}
    }
    if let Some(r) = not_allowed(stmt) {
        return Some(r);
    }
    let mut f = Functions(None);
    let _ = stmt.visit(&mut f);
    if let Some(r) = f.0 {
        return Some(r);
    }
    if writes_server_file(text) {
        return Some(Refusal::admin("SELECT ... INTO OUTFILE", "FILE"));
    }
    if matches!(stmt, Statement::CreateTable(_) | Statement::AlterTable(_)) {
        let w = crate::sql::words(text);
        if w.windows(2)
            .any(|p| matches!(p[0].as_str(), "data" | "index") && p[1] == "directory")
        {
            return Some(Refusal::admin("DATA / INDEX DIRECTORY", "FILE"));
        }
        // Every `ENGINE x` / `TYPE x` pair: a column named `type` before the option must not
        // hide it (no column type is named like a refused engine).
        let engine = w
            .windows(2)
            .filter(|p| p[0] == "engine" || p[0] == "type")
            .map(|p| p[1].clone())
            .find(|e| REFUSED_ENGINES.contains(&e.as_str()));
        if let Some(e) = engine {
            return Some(Refusal::Unsupported(format!("ENGINE={}", e.to_uppercase())));
        }
    }
    None
}

/// The allowlist: the statement kinds the proxy plans and routes itself. Everything else a
/// parser may accept (other dialects' statements, statements answered elsewhere by keyword)
/// is refused naming its kind, so nothing unplanned is ever sent on.
fn not_allowed(stmt: &Statement) -> Option<Refusal> {
    let allowed = match stmt {
        Statement::Query(_)
        | Statement::Insert(_)
        | Statement::Update(_)
        | Statement::Delete(_)
        | Statement::CreateTable(_)
        | Statement::CreateView(_)
        | Statement::AlterView { .. }
        | Statement::CreateIndex(_)
        | Statement::AlterTable(_)
        | Statement::Truncate(_)
        | Statement::RenameTable(_)
        | Statement::Explain { .. }
        | Statement::ExplainTable { .. }
        | Statement::Analyze(_) => true,
        Statement::Drop { object_type, .. } => {
            matches!(
                object_type,
                ObjectType::Table | ObjectType::View | ObjectType::Index
            )
        }
        _ => false,
    };
    if allowed {
        return None;
    }
    // The statement's kind, from its variant's name (never its text).
    let debug = format!("{stmt:?}");
    let kind: String = debug
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .take(40)
        .collect();
    Some(Refusal::Unsupported(format!("the statement kind {kind}")))
}

/// What a `SHOW` statement is, for the proxy: answered from its own state, run on a
/// table's first node, run on the default data source, or refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShowKind {
    Databases,
    Tables {
        full: bool,
    },
    /// SHOW CREATE TABLE / VIEW.
    CreateTable,
    /// SHOW [FULL] COLUMNS / FIELDS FROM t [FROM db].
    Columns,
    /// SHOW INDEX / INDEXES / KEYS FROM t [FROM db].
    Index,
    /// Read-only server information (variables, status, warnings, collations, ...): the
    /// default data source answers, with the session's state.
    ServerInfo,
    Grants,
    CreateDatabase,
    TableStatus,
    /// Objects the proxy does not route (stored programs, triggers, events): an empty answer
    /// with the server's columns (`SHOW ... WHERE 1 = 0` on the default data source).
    Empty,
    Refused(Refusal),
}

/// Classify a scanned `SHOW` statement.
pub fn show_kind(text: &str) -> ShowKind {
    let w = leading_words(text, 4);
    let at = |i: usize| w.get(i).map(String::as_str).unwrap_or("");
    let (w1, w2, w3) = (at(1), at(2), at(3));
    // A SHOW's WHERE is evaluated by the server: no subqueries there.
    if crate::sql::words(text).iter().any(|x| x == "select") {
        return ShowKind::Refused(Refusal::Unsupported("a subquery in SHOW ... WHERE".into()));
    }
    let scoped = matches!(w1, "GLOBAL" | "SESSION" | "LOCAL");
    let (k1, k2) = if scoped { (w2, w3) } else { (w1, w2) };
    match (k1, k2) {
        ("DATABASES" | "SCHEMAS", _) => ShowKind::Databases,
        ("TABLES", _) if !scoped => ShowKind::Tables { full: false },
        ("FULL", "TABLES") => ShowKind::Tables { full: true },
        ("CREATE", "TABLE" | "VIEW") => ShowKind::CreateTable,
        ("CREATE", "DATABASE" | "SCHEMA") => ShowKind::CreateDatabase,
        ("CREATE", "USER") => ShowKind::Refused(Refusal::admin("SHOW CREATE USER", "CREATE USER")),
        ("CREATE", other) => ShowKind::Refused(Refusal::Unsupported(format!(
            "SHOW CREATE {other} (stored programs are not routed)"
        ))),
        ("COLUMNS" | "FIELDS", _) | ("FULL", "COLUMNS" | "FIELDS") => ShowKind::Columns,
        ("EXTENDED", _) => ShowKind::Columns,
        ("INDEX" | "INDEXES" | "KEYS", _) => ShowKind::Index,
        (
            "VARIABLES" | "STATUS" | "WARNINGS" | "ERRORS" | "COUNT" | "COLLATION" | "CHARACTER"
            | "CHARSET" | "ENGINES" | "STORAGE" | "PRIVILEGES" | "PLUGINS" | "AUTHORS"
            | "CONTRIBUTORS",
            _,
        ) => ShowKind::ServerInfo,
        ("GRANTS", _) => ShowKind::Grants,
        ("TABLE", "STATUS") => ShowKind::TableStatus,
        ("TRIGGERS" | "EVENTS", _) | ("PROCEDURE" | "FUNCTION" | "PACKAGE", "STATUS") => {
            ShowKind::Empty
        }
        ("PROCESSLIST", _) | ("FULL", "PROCESSLIST") => {
            ShowKind::Refused(Refusal::admin("SHOW PROCESSLIST", "PROCESS"))
        }
        ("BINLOG" | "BINARY" | "MASTER" | "SLAVE" | "REPLICA" | "RELAYLOG" | "ALL", _) => {
            ShowKind::Refused(Refusal::admin(
                format!("SHOW {k1} {k2}"),
                "REPLICATION CLIENT",
            ))
        }
        ("ENGINE" | "MUTEX", _) => ShowKind::Refused(Refusal::admin("SHOW ENGINE", "PROCESS")),
        _ => ShowKind::Refused(Refusal::Unsupported(
            format!("SHOW {k1} {k2}").trim().to_string(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_refusals() {
        let admin = [
            "SHUTDOWN",
            "shutdown wait for all replicas",
            "RESTART",
            "INSTALL PLUGIN x SONAME 'y'",
            "INSTALL SONAME 'y'",
            "UNINSTALL PLUGIN x",
            "CREATE USER x IDENTIFIED BY 'a'",
            "create or replace user x",
            "ALTER USER x IDENTIFIED BY 'y'",
            "RENAME USER a TO b",
            "DROP USER x",
            "CREATE ROLE r",
            "GRANT ALL ON *.* TO x",
            "REVOKE ALL ON *.* FROM x",
            "SET PASSWORD = PASSWORD('x')",
            "SET PASSWORD FOR x = 'y'",
            "SET ROLE r",
            "SET DEFAULT ROLE r",
            "SET GLOBAL max_connections = 1",
            "CHANGE MASTER TO MASTER_HOST='x'",
            "START SLAVE",
            "STOP REPLICA",
            "START ALL SLAVES",
            "RESET MASTER",
            "PURGE BINARY LOGS TO 'x'",
            "BINLOG 'abc'",
            "FLUSH TABLES WITH READ LOCK",
            "FLUSH PRIVILEGES",
            "BACKUP STAGE START",
            "LOAD DATA INFILE '/etc/passwd' INTO TABLE t",
            "LOAD DATA LOCAL INFILE 'x' INTO TABLE t",
            "LOAD XML INFILE 'x' INTO TABLE t",
            "CREATE SERVER s FOREIGN DATA WRAPPER mysql OPTIONS (HOST 'x')",
        ];
        for sql in admin {
            assert!(
                matches!(by_keyword(sql), Some(Refusal::Admin { .. })),
                "{sql}: {:?}",
                by_keyword(sql)
            );
        }
        for sql in [
            "CREATE DATABASE x",
            "DROP SCHEMA IF EXISTS x",
            "ALTER DATABASE x CHARACTER SET utf8",
        ] {
            assert_eq!(
                by_keyword(sql),
                Some(Refusal::Database("x".into())),
                "{sql}"
            );
        }
        for sql in [
            "CALL p()",
            "CREATE PROCEDURE p() BEGIN END",
            "CREATE DEFINER=root PROCEDURE p() BEGIN END",
            "DROP FUNCTION f",
            "CREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW SET @a=1",
            "HANDLER t OPEN",
            "OPTIMIZE TABLE t",
            "CHECK TABLE t",
            "CREATE SEQUENCE s",
        ] {
            assert!(
                matches!(by_keyword(sql), Some(Refusal::Unsupported(_))),
                "{sql}"
            );
        }
        for sql in [
            "SELECT 1",
            "SET NAMES utf8mb4",
            "SET @a = 1",
            "SET SESSION sql_mode = 'ANSI'",
            "CREATE TABLE t (a int)",
            "CREATE TEMPORARY TABLE t (a int)",
            "DROP TABLE t",
            "CREATE OR REPLACE VIEW v AS SELECT 1",
            "ALTER TABLE t ADD b int",
            "START TRANSACTION",
            "RENAME TABLE a TO b",
        ] {
            assert_eq!(by_keyword(sql), None, "{sql}");
        }
    }

    #[test]
    fn statement_refusals() {
        let cases = [
            ("SELECT LOAD_FILE('/etc/passwd')", true),
            ("SELECT a FROM t WHERE b = load_file('x')", true),
            ("SELECT MASTER_POS_WAIT('f', 4)", true),
            ("SELECT 1 INTO @x", false),
            ("SELECT * FROM t", false),
            ("CREATE TABLE t (a int) DATA DIRECTORY='/tmp'", true),
            ("CREATE TABLE t (a int) ENGINE=FEDERATED", true),
            ("CREATE TABLE t (a int) ENGINE=InnoDB", false),
            ("CREATE DATABASE x", true),
            ("DROP DATABASE x", true),
            ("GRANT ALL ON *.* TO x", true),
            ("FLUSH TABLES", true),
            ("KILL 5", true),
            ("LOCK TABLES t READ", true),
            ("CREATE TABLE t (type int) ENGINE=FEDERATED", true),
            ("CREATE TABLE t (engine int, type int)", false),
            ("CREATE USER x", true),
            ("CREATE FUNCTION f() RETURNS INT RETURN 1", true),
            (
                "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1",
                true,
            ),
            ("DROP PROCEDURE p", true),
            ("DROP SEQUENCE s", true),
            ("ALTER VIEW v AS SELECT 1", false),
            ("DROP VIEW v", false),
            ("DROP INDEX i ON t", false),
            ("EXPLAIN SELECT 1", false),
            ("DESCRIBE t", false),
            ("TRUNCATE TABLE t", false),
            ("ANALYZE TABLE t", false),
            ("USE x", true),
            ("COMMIT", true),
        ];
        for (sql, refused) in cases {
            let Ok(stmt) = crate::sql::parse_one(sql) else {
                // Not parsed: refused by its keywords before any parse.
                assert!(refused && by_keyword(sql).is_some(), "{sql}");
                continue;
            };
            assert_eq!(statement(&stmt, sql).is_some(), refused, "{sql}");
        }
    }

    #[test]
    fn variables_the_pool_depends_on() {
        for v in [
            "sql_log_bin",
            "@@session.sql_log_bin",
            "gtid_seq_no",
            "wait_timeout",
            "SESSION.net_write_timeout",
            "session_track_state_change",
            "debug_dbug",
        ] {
            assert!(refused_variable(v).is_some(), "{v}");
        }
        for v in [
            "sql_mode",
            "time_zone",
            "@x",
            "autocommit",
            "innodb_lock_wait_timeout",
            "max_statement_time",
        ] {
            assert!(refused_variable(v).is_none(), "{v}");
        }
    }

    #[test]
    fn show_kinds() {
        use ShowKind::*;
        for (sql, want) in [
            ("SHOW DATABASES", Databases),
            (
                "SHOW FULL TABLES FROM shop LIKE 't%'",
                Tables { full: true },
            ),
            ("SHOW TABLES", Tables { full: false }),
            ("SHOW CREATE TABLE t", CreateTable),
            ("SHOW FULL COLUMNS FROM t", Columns),
            ("SHOW INDEX FROM t", Index),
            ("SHOW SESSION VARIABLES LIKE 'x'", ServerInfo),
            ("SHOW GLOBAL STATUS", ServerInfo),
            ("SHOW COUNT(*) WARNINGS", ServerInfo),
            ("SHOW CHARACTER SET", ServerInfo),
            ("SHOW GRANTS FOR CURRENT_USER()", Grants),
            ("SHOW TABLE STATUS", TableStatus),
            ("SHOW PROCEDURE STATUS", Empty),
            ("SHOW TRIGGERS", Empty),
        ] {
            assert_eq!(show_kind(sql), want, "{sql}");
        }
        for sql in [
            "SHOW PROCESSLIST",
            "SHOW FULL PROCESSLIST",
            "SHOW BINLOG EVENTS",
            "SHOW MASTER STATUS",
            "SHOW SLAVE STATUS",
            "SHOW BINARY LOGS",
            "SHOW ENGINE INNODB STATUS",
            "SHOW OPEN TABLES",
            "SHOW PROFILES",
            "SHOW VARIABLES WHERE Variable_name IN (SELECT User FROM mysql.user)",
            "SHOW CREATE PROCEDURE p",
        ] {
            assert!(matches!(show_kind(sql), Refused(_)), "{sql}");
        }
    }

    #[test]
    fn write_effects() {
        for (sql, e) in [
            ("SELECT 1", Effect::Read),
            ("SELECT * FROM t FOR UPDATE", Effect::Write("UPDATE")),
            ("INSERT INTO t VALUES (1)", Effect::Write("INSERT")),
            ("REPLACE INTO t VALUES (1)", Effect::Write("INSERT")),
            ("DELETE FROM t", Effect::Write("DELETE")),
            ("DROP TABLE t", Effect::Ddl("DROP")),
        ] {
            let stmt = crate::sql::parse_one(sql).unwrap();
            assert_eq!(effect(&stmt, sql), e, "{sql}");
        }
    }
}
