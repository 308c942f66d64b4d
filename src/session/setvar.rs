//! SET statements, read as MariaDB reads them and kept as session state the proxy owns.
//!
//! A SET is split into its assignments (`SET a = 1, @b := 2, SESSION c = DEFAULT`), each
//! handled on its own, in order:
//!
//! - `autocommit` (any scope, any expression) is the proxy's own state, never sent on;
//! - `SET TRANSACTION ...` (no scope) sets the characteristics of the next transaction
//!   only; `SET SESSION TRANSACTION ...` those of the session;
//! - any other variable: an assignment whose value is a constant (a literal, a keyword such
//!   as `ON` or `DEFAULT`) is kept as written; any other value is evaluated once — through
//!   the proxy, so a subquery over sharded tables works — and kept as the literal it gave,
//!   so replaying the state on another backend connection never evaluates it again
//!   (`SET @x = @x + 1`, `SET @u = UUID()`, `SET @n = (SELECT COUNT(*) ...)`);
//! - `SET STATEMENT ... FOR <statement>` is a per-statement modifier: the statement runs
//!   with it, and nothing is kept.
//!
//! Kept assignments are validated on a backend first (errors such as 1193 and 1231 come
//! from MariaDB itself), then replayed on every backend connection the session uses.

use super::{FlowResult, Session};
use crate::backend::{exec_drop, query_collect};
use crate::error::SqlError;
use crate::protocol::writer::ResultWriter;
use crate::sql::classify::Refusal;

/// One assignment of a SET statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Assignment {
    /// `GLOBAL` / `SESSION` / `LOCAL` written before the name, upper-cased.
    pub scope: Option<String>,
    /// The variable as written (`@x`, `@@session.sql_mode`, `sql_mode`, `@'a b'`).
    pub name: String,
    /// The value's text.
    pub value: String,
}

impl Assignment {
    /// (global, lower-cased name without scope prefixes). User variables keep their `@`.
    fn target(&self) -> (bool, String) {
        let n = self.name.trim().to_ascii_lowercase();
        let global_scope = self.scope.as_deref() == Some("GLOBAL");
        if let Some(r) = n.strip_prefix("@@global.") {
            return (true, r.trim_matches('`').to_string());
        }
        let r = n
            .strip_prefix("@@session.")
            .or_else(|| n.strip_prefix("@@local."))
            .or_else(|| n.strip_prefix("@@"))
            .unwrap_or(&n);
        if r.starts_with('@') {
            return (false, r.to_string());
        }
        if let Some(g) = r.strip_prefix("global.") {
            return (true, g.trim_matches('`').to_string());
        }
        let r = r
            .strip_prefix("session.")
            .or_else(|| r.strip_prefix("local."))
            .unwrap_or(r);
        (global_scope, r.trim_matches('`').to_string())
    }

    /// The assignment with another value, as a statement of its own.
    fn statement(&self, value: &str) -> String {
        match &self.scope {
            Some(s) => format!("SET {s} {} = {value}", self.name),
            None => format!("SET {} = {value}", self.name),
        }
    }
}

/// What a SET statement is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SetStmt {
    /// `SET NAMES ...`, `SET CHARACTER SET ...`, `SET CHARSET ...` as the proxy rebuilt it,
    /// and the assignments after it.
    Names {
        sql: String,
        rest: Vec<Assignment>,
    },
    /// `SET TRANSACTION ...`: the next transaction's characteristics (rebuilt by the
    /// proxy).
    NextTransaction(String),
    /// `SET SESSION TRANSACTION ...`, rebuilt by the proxy.
    SessionTransaction(String),
    /// `SET STATEMENT <assignments> FOR <statement>`.
    Statement {
        modifier: String,
        inner: String,
    },
    Assignments(Vec<Assignment>),
}

pub(crate) use crate::sql::scan::Quoting;

/// The index of the quote closing the one at `open` in `b` (`b.len()` when unterminated),
/// read as the backend reads the text in the session's sql_mode.
fn quote_close(m: Quoting, b: &[u8], open: usize) -> usize {
    crate::sql::scan::quote_end(b, open, m).map_or(b.len(), |after| after - 1)
}

/// Split `text` at top-level occurrences of `sep` (outside quotes and parentheses). The
/// text is scanned already: it has no comments.
fn split_top(text: &str, sep: u8, m: Quoting) -> Vec<&str> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let (mut depth, mut start, mut i) = (0i32, 0usize, 0usize);
    while i < b.len() {
        match b[i] {
            b'\'' | b'"' | b'`' => i = quote_close(m, b, i),
            b'(' => depth += 1,
            b')' => depth -= 1,
            c if c == sep && depth == 0 => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    out.push(text.get(start..).unwrap_or(""));
    out
}

/// The byte offset of the first top-level word `kw` (outside quotes and parentheses).
fn find_top_word(text: &str, kw: &str, m: Quoting) -> Option<usize> {
    let b = text.as_bytes();
    let (mut depth, mut i) = (0i32, 0usize);
    let word_char = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'@' || c >= 0x80;
    while i < b.len() {
        match b[i] {
            b'\'' | b'"' | b'`' => i = quote_close(m, b, i),
            b'(' => depth += 1,
            b')' => depth -= 1,
            _ if depth == 0
                && text.is_char_boundary(i)
                && text.is_char_boundary(i + kw.len())
                && text[i..i + kw.len()].eq_ignore_ascii_case(kw)
                && (i == 0 || !word_char(b[i - 1]))
                && b.get(i + kw.len()).is_none_or(|&c| !word_char(c)) =>
            {
                return Some(i);
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// `word` (ASCII, case-insensitive) at the start of `text`, followed by a space or the end.
fn strip_word<'a>(text: &'a str, word: &str) -> Option<&'a str> {
    let head = text.get(..word.len())?;
    let rest = &text[word.len()..];
    (head.eq_ignore_ascii_case(word) && rest.as_bytes().first().is_none_or(u8::is_ascii_whitespace))
        .then(|| rest.trim_start())
}

/// An identifier: plain (letters, digits, `_`, `$`) or backtick-quoted without backticks
/// inside; its text without quotes.
fn identifier(text: &str) -> Option<&str> {
    let t = text.trim();
    let inner = t
        .strip_prefix('`')
        .and_then(|r| r.strip_suffix('`'))
        .filter(|r| !r.contains('`'))
        .unwrap_or(t);
    (!inner.is_empty()
        && inner
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'$'))
    .then_some(inner)
}

/// The variable an assignment names, as the proxy writes it to the backends: a user
/// variable (`@x`, `@'a b'`, `@`x``) as written, a system variable as `name`,
/// `@@session.name` or `@@global.name`. Anything else (spaces inside the name, structured
/// variables, expressions) is not a variable name the proxy accepts.
fn variable_name(name: &str, m: Quoting) -> Option<String> {
    let n = name.trim();
    if let Some(user) = n.strip_prefix('@').filter(|r| !r.starts_with('@')) {
        let b = user.as_bytes();
        let whole = match b.first() {
            Some(b'\'' | b'"' | b'`') => quote_close(m, b, 0) + 1 == b.len(),
            Some(_) => user
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'$' | b'.')),
            None => false,
        };
        return whole.then(|| n.to_string());
    }
    let (sys, rest) = match n.strip_prefix("@@") {
        Some(r) => (true, r),
        None => (false, n),
    };
    let parts: Vec<&str> = rest.split('.').collect();
    match parts.as_slice() {
        [v] => {
            let v = identifier(v)?.to_ascii_lowercase();
            Some(if sys { format!("@@{v}") } else { v })
        }
        [scope, v] => {
            let scope = identifier(scope)?.to_ascii_lowercase();
            let v = identifier(v)?.to_ascii_lowercase();
            if !matches!(scope.as_str(), "session" | "local" | "global") {
                return None;
            }
            Some(if sys {
                format!("@@{scope}.{v}")
            } else {
                format!("{scope}.{v}")
            })
        }
        _ => None,
    }
}

/// One `[scope] name = value` (or `name := value`), its name rewritten as
/// [`variable_name`] reads it.
fn assignment(part: &str, m: Quoting) -> Option<Assignment> {
    let part = part.trim();
    let mut scope = None;
    let mut rest = part;
    for s in ["GLOBAL", "SESSION", "LOCAL"] {
        if let Some(r) = strip_word(rest, s).filter(|r| !r.is_empty()) {
            scope = Some(s.to_string());
            rest = r;
            break;
        }
    }
    // The name ends at the first `=` or `:=` outside quotes.
    let b = rest.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\'' | b'"' | b'`' => i = quote_close(m, b, i),
            b'=' => break,
            b':' if b.get(i + 1) == Some(&b'=') => break,
            _ => {}
        }
        i += 1;
    }
    if i >= b.len() {
        return None;
    }
    let name = variable_name(&rest[..i], m)?;
    let value = rest[i..]
        .trim_start_matches(':')
        .trim_start_matches('=')
        .trim()
        .to_string();
    (!value.is_empty()).then_some(Assignment { scope, name, value })
}

/// A character set or collation name in `SET NAMES`: an identifier or a quoted string of
/// identifier characters, or `DEFAULT`.
fn charset_word(text: &str) -> Option<String> {
    let t = text.trim();
    let inner = ['\'', '"', '`']
        .iter()
        .find_map(|&q| t.strip_prefix(q).and_then(|r| r.strip_suffix(q)))
        .unwrap_or(t);
    (!inner.is_empty()
        && inner
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_'))
    .then(|| inner.to_ascii_lowercase())
}

/// `NAMES cs [COLLATE c]`, `CHARACTER SET cs`, `CHARSET cs` (the text after SET) rebuilt
/// by the proxy: nothing the client wrote beyond the names reaches a backend.
fn names_clause(part: &str) -> Result<String, SqlError> {
    let bad = || SqlError::parse(format!("SET near '{}'", part.trim()));
    let words: Vec<&str> = part.split_whitespace().collect();
    let (at, keyword) = match words.first().map(|w| w.to_ascii_uppercase()).as_deref() {
        Some("NAMES") => (1, "NAMES"),
        Some("CHARSET") => (1, "CHARACTER SET"),
        Some("CHARACTER") if words.get(1).is_some_and(|w| w.eq_ignore_ascii_case("SET")) => {
            (2, "CHARACTER SET")
        }
        _ => return Err(bad()),
    };
    let cs = words
        .get(at)
        .and_then(|w| charset_word(w))
        .ok_or_else(bad)?;
    match &words[at + 1..] {
        [] => Ok(format!("SET {keyword} {cs}")),
        [c, coll] if keyword == "NAMES" && c.eq_ignore_ascii_case("COLLATE") => {
            let coll = charset_word(coll).ok_or_else(bad)?;
            Ok(format!("SET NAMES {cs} COLLATE {coll}"))
        }
        _ => Err(bad()),
    }
}

/// Transaction characteristics (`ISOLATION LEVEL ...`, `READ WRITE`, `READ ONLY`,
/// comma-separated) rebuilt by the proxy.
fn transaction_modes(text: &str) -> Result<String, SqlError> {
    let bad = || SqlError::parse(format!("SET TRANSACTION near '{}'", text.trim()));
    let mut out = Vec::new();
    for part in text.split(',') {
        let words: Vec<String> = part
            .split_whitespace()
            .map(|w| w.to_ascii_uppercase())
            .collect();
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        let mode = match words.as_slice() {
            ["ISOLATION", "LEVEL", "READ", "UNCOMMITTED"] => "ISOLATION LEVEL READ UNCOMMITTED",
            ["ISOLATION", "LEVEL", "READ", "COMMITTED"] => "ISOLATION LEVEL READ COMMITTED",
            ["ISOLATION", "LEVEL", "REPEATABLE", "READ"] => "ISOLATION LEVEL REPEATABLE READ",
            ["ISOLATION", "LEVEL", "SERIALIZABLE"] => "ISOLATION LEVEL SERIALIZABLE",
            ["READ", "WRITE"] => "READ WRITE",
            ["READ", "ONLY"] => "READ ONLY",
            _ => return Err(bad()),
        };
        out.push(mode);
    }
    Ok(out.join(", "))
}

/// Read a SET statement (scanned text, starting with `SET`).
pub(crate) fn parse_set(sql: &str, m: Quoting) -> Result<SetStmt, SqlError> {
    let body = sql.trim().get(3..).unwrap_or("").trim();
    let words = crate::sql::classify::leading_words(body, 3);
    let w = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
    if matches!(w(0), "NAMES" | "CHARSET") || (w(0) == "CHARACTER" && w(1) == "SET") {
        // `SET NAMES x, a = 1` is one statement in MariaDB: the names, then assignments.
        let parts = split_top(body, b',', m);
        let names = names_clause(parts[0])?;
        let mut rest = Vec::new();
        for part in &parts[1..] {
            rest.push(
                assignment(part, m)
                    .ok_or_else(|| SqlError::parse(format!("SET near '{}'", part.trim())))?,
            );
        }
        return Ok(SetStmt::Names { sql: names, rest });
    }
    if w(0) == "TRANSACTION" {
        let modes = transaction_modes(body.get("TRANSACTION".len()..).unwrap_or(""))?;
        return Ok(SetStmt::NextTransaction(modes));
    }
    if matches!(w(0), "SESSION" | "LOCAL") && w(1) == "TRANSACTION" {
        let after = strip_word(body, w(0))
            .and_then(|r| strip_word(r, "TRANSACTION"))
            .unwrap_or("");
        let modes = transaction_modes(after)?;
        return Ok(SetStmt::SessionTransaction(format!(
            "SET SESSION TRANSACTION {modes}"
        )));
    }
    if w(0) == "STATEMENT" {
        let rest = strip_word(body, "STATEMENT").unwrap_or("");
        let at = find_top_word(rest, "FOR", m)
            .ok_or_else(|| SqlError::parse("SET STATEMENT ... FOR <statement>"))?;
        let modifier = rest[..at].trim();
        let inner = rest[at + 3..].trim().to_string();
        if modifier.is_empty() || inner.is_empty() {
            return Err(SqlError::parse("SET STATEMENT ... FOR <statement>"));
        }
        // The modifier is rebuilt from its assignments (each name checked).
        let mut rebuilt = Vec::new();
        for part in split_top(modifier, b',', m) {
            let a = assignment(part, m)
                .ok_or_else(|| SqlError::parse(format!("SET STATEMENT near '{}'", part.trim())))?;
            rebuilt.push(format!("{} = {}", a.name, a.value));
        }
        return Ok(SetStmt::Statement {
            modifier: rebuilt.join(", "),
            inner,
        });
    }
    let mut out = Vec::new();
    for part in split_top(body, b',', m) {
        let a = assignment(part, m)
            .ok_or_else(|| SqlError::parse(format!("SET near '{}'", part.trim())))?;
        out.push(a);
    }
    Ok(SetStmt::Assignments(out))
}

/// The variables of a SET statement refused through the proxy (see
/// [`crate::sql::classify::refused_variable`]).
pub(crate) fn refused(sql: &str, m: Quoting) -> Option<Refusal> {
    use crate::sql::classify::refused_variable;
    match parse_set(sql, m).ok()? {
        SetStmt::Assignments(v) | SetStmt::Names { rest: v, .. } => v.iter().find_map(|a| {
            let (global, name) = a.target();
            if global {
                Some(Refusal::Admin {
                    what: "SET GLOBAL".into(),
                    privilege: "SUPER",
                })
            } else {
                refused_variable(&name)
            }
        }),
        SetStmt::Statement { modifier, .. } => split_top(&modifier, b',', m)
            .into_iter()
            .filter_map(|p| assignment(p, m))
            .find_map(|a| refused_variable(&a.target().1)),
        _ => None,
    }
}

/// A value that evaluates to itself wherever it is evaluated: a number, a string (with an
/// optional charset introducer or `N` / `X` / `B` prefix), or a bare word such as `ON`,
/// `OFF`, `DEFAULT`, `NULL`, `SYSTEM` or a sql_mode name.
fn constant(value: &str, m: Quoting) -> bool {
    let v = value.trim();
    let Some(&first) = v.as_bytes().first() else {
        return false;
    };
    let prefix = v
        .bytes()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
        .count();
    let rest = &v[prefix..];
    if let Some(&q) = rest
        .as_bytes()
        .first()
        .filter(|q| matches!(q, b'\'' | b'"'))
    {
        // Exactly one quoted string (with ANSI_QUOTES `"` quotes a name, not a value).
        if q == b'"' && m.ansi_quotes {
            return false;
        }
        let b = rest.as_bytes();
        let end = quote_close(m, b, 0);
        return end < b.len() && end + 1 == b.len();
    }
    let num = v
        .strip_prefix('-')
        .or_else(|| v.strip_prefix('+'))
        .unwrap_or(v);
    if num.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        return num
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'));
    }
    first.is_ascii_alphabetic() && prefix == v.len()
}

/// A value as a literal every sql_mode reads the same: strings as hexadecimal bytes (with
/// the utf8mb4 introducer of the backend connections unless binary).
fn mode_independent(col: &crate::result::ColumnDef, cell: Option<&[u8]>) -> String {
    use mysql_common::constants::ColumnType as T;
    let Some(bytes) = cell else {
        return "NULL".into();
    };
    let stringy = matches!(
        col.column_type,
        T::MYSQL_TYPE_VAR_STRING
            | T::MYSQL_TYPE_STRING
            | T::MYSQL_TYPE_VARCHAR
            | T::MYSQL_TYPE_BLOB
            | T::MYSQL_TYPE_TINY_BLOB
            | T::MYSQL_TYPE_MEDIUM_BLOB
            | T::MYSQL_TYPE_LONG_BLOB
    );
    if !stringy {
        return crate::sql::literal::cell_literal(col, Some(bytes), false);
    }
    let hex: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
    if col.charset == 63 {
        format!("X'{hex}'")
    } else {
        format!("_utf8mb4 X'{hex}'")
    }
}

impl Session {
    /// How quotes end in this session's sql_mode.
    pub(crate) fn quoting(&self) -> Quoting {
        Quoting {
            no_backslash_escapes: self.no_backslash_escapes,
            ansi_quotes: self.ansi_quotes,
        }
    }

    pub(crate) async fn set_statement(
        &mut self,
        sql: &str,
        w: &mut ResultWriter<'_>,
    ) -> FlowResult<()> {
        let m = self.quoting();
        if let Some(r) = refused(sql, m) {
            return Err(self.refuse(r).into());
        }
        match parse_set(sql, m)? {
            SetStmt::Names { sql, rest } => {
                let backend_sql = self.names(&sql)?;
                self.apply_session_set("names", &backend_sql).await?;
                for a in rest {
                    self.assign(&a, w).await?;
                }
            }
            SetStmt::SessionTransaction(s) => {
                let key = crate::sql::classify::leading_words(&s, 3)[1..]
                    .join(" ")
                    .to_lowercase();
                self.apply_session_set(&key, &s).await?;
            }
            SetStmt::NextTransaction(_) if self.in_txn => {
                return Err(SqlError::new(
                    1568,
                    "25001",
                    "Transaction characteristics can't be changed while a transaction is in progress",
                )
                .into());
            }
            SetStmt::NextTransaction(modes) => {
                // Checked on a backend (the one-shot characteristic it leaves there is
                // reported by session tracking, so that connection is reset after).
                let ds = self.default_ds()?;
                let backend = self.shared.backends.get(&ds)?.clone();
                let mut lease = backend.acquire().await?;
                lease.apply_state(&self.state).await?;
                exec_drop(&mut lease, &format!("SET TRANSACTION {modes}")).await?;
                lease.mark_dirty();
                self.next_txn = Some(modes);
            }
            SetStmt::Statement { modifier, inner } => {
                let prev = self.stmt_modifier.replace(modifier);
                let r = Box::pin(self.dispatch(&inner, &super::query::Bound::default(), w)).await;
                self.stmt_modifier = prev;
                return r;
            }
            SetStmt::Assignments(parts) => {
                for a in parts {
                    self.assign(&a, w).await?;
                }
            }
        }
        w.status = self.status();
        w.ok(&Default::default()).await?;
        Ok(())
    }

    /// One assignment (see the module documentation).
    async fn assign(&mut self, a: &Assignment, w: &mut ResultWriter<'_>) -> FlowResult<()> {
        let (_, name) = a.target();
        if name == "autocommit" {
            let on = match a.value.trim().to_ascii_lowercase().as_str() {
                "1" | "on" | "true" | "default" => true,
                "0" | "off" | "false" => false,
                _ => {
                    let v = self.evaluate_text(&a.value, w).await?;
                    match v.as_deref() {
                        Some("1") => true,
                        Some("0") => false,
                        other => {
                            return Err(SqlError::new(
                                1231,
                                "42000",
                                format!(
                                    "Variable 'autocommit' can't be set to the value of '{}'",
                                    other.unwrap_or("NULL")
                                ),
                            )
                            .into())
                        }
                    }
                }
            };
            if on && !self.autocommit && self.in_txn {
                // Turning autocommit on commits the open transaction.
                self.commit_all().await?;
            }
            self.autocommit = on;
            return Ok(());
        }
        let charset_var = matches!(
            name.as_str(),
            "character_set_client" | "character_set_results" | "character_set_connection"
        );
        let m = self.quoting();
        let value = if constant(&a.value, m) {
            a.value.clone()
        } else {
            let (cols, row) = self.evaluate_cell(&a.value, w).await?;
            let col = cols
                .first()
                .cloned()
                .ok_or_else(|| SqlError::internal("a SET value without a column"))?;
            crate::sql::literal::cell_literal(
                &col,
                row.first().and_then(|c| c.as_deref()),
                self.no_backslash_escapes,
            )
        };
        let value = if charset_var {
            self.charset_variable(&name, &value)?
        } else {
            value
        };
        // Under NO_BACKSLASH_ESCAPES a backslash in a kept literal would be read otherwise
        // when the state is replayed after a later sql_mode change: keep such a value as
        // hexadecimal bytes instead, which every mode reads alike.
        let value = if self.no_backslash_escapes && value.contains('\\') {
            let (cols, row) = self.evaluate_cell(&value, w).await?;
            let col = cols
                .first()
                .ok_or_else(|| SqlError::internal("a SET value without a column"))?;
            mode_independent(col, row.first().and_then(|c| c.as_deref()))
        } else {
            value
        };
        let stmt = a.statement(&value);
        self.apply_session_set(&name, &stmt).await?;
        if name == "sql_select_limit" {
            self.select_limit = self
                .read_variable("sql_select_limit")
                .await?
                .filter(|&n| n != u64::MAX);
        }
        if name == "div_precision_increment" {
            self.div_precision = self
                .read_variable("div_precision_increment")
                .await?
                .and_then(|n| u8::try_from(n).ok())
                .filter(|&n| n != crate::eval::DIV_INCR);
        }
        Ok(())
    }

    /// A SET value evaluated once, through the proxy (`SELECT <value>`): its column and row.
    async fn evaluate_cell(
        &mut self,
        value: &str,
        w: &mut ResultWriter<'_>,
    ) -> FlowResult<(Vec<crate::result::ColumnDef>, crate::result::Row)> {
        let capture = self.capture(&format!("SELECT {value}"), 2, w).await?;
        if let Some(e) = capture.error {
            return Err(e.into());
        }
        let row = capture.rows.into_iter().next().unwrap_or_default();
        Ok((capture.columns, row))
    }

    /// A SET value evaluated once, as text (None: NULL).
    async fn evaluate_text(
        &mut self,
        value: &str,
        w: &mut ResultWriter<'_>,
    ) -> FlowResult<Option<String>> {
        let (_, row) = self.evaluate_cell(value, w).await?;
        Ok(row
            .first()
            .cloned()
            .flatten()
            .map(|b| String::from_utf8_lossy(&b).into_owned()))
    }

    /// A numeric session variable as the server has it in this session's state.
    async fn read_variable(&mut self, name: &str) -> Result<Option<u64>, SqlError> {
        let ds = self.default_ds()?;
        let backend = self.shared.backends.get(&ds)?.clone();
        let mut lease = backend.acquire().await?;
        lease.apply_state(&self.state).await?;
        let (_, rows) = query_collect(&mut lease, &format!("SELECT @@SESSION.{name}")).await?;
        Ok(rows
            .first()
            .and_then(|r| r.first().cloned().flatten())
            .and_then(|b| String::from_utf8_lossy(&b).parse::<u64>().ok()))
    }

    /// Validate on a backend (errors such as 1193 come from MariaDB itself), then remember it
    /// for every backend connection of this session. `key` names what it sets: a later SET of
    /// the same key replaces it.
    pub(crate) async fn apply_session_set(&mut self, key: &str, sql: &str) -> Result<(), SqlError> {
        let ds = self.default_ds()?;
        let backend = self.shared.backends.get(&ds)?.clone();
        let mut lease = backend.acquire().await?;
        lease.apply_state(&self.state).await?;
        if let Err(e) = exec_drop(&mut lease, sql).await {
            // A failed SET may have changed nothing or part of a compound one.
            lease.mark_dirty();
            return Err(e);
        }
        self.record_state(key, sql);
        lease.set_state(self.state.fingerprint);
        if key.contains("sql_mode") {
            let (_, rows) = query_collect(&mut lease, "SELECT @@SESSION.sql_mode").await?;
            let mode = rows
                .first()
                .and_then(|r| r.first().cloned().flatten())
                .unwrap_or_default();
            let mode = String::from_utf8_lossy(&mode).to_ascii_uppercase();
            self.no_backslash_escapes = mode.contains("NO_BACKSLASH_ESCAPES");
            // ANSI (and ORACLE, MSSQL, ... combination modes) include ANSI_QUOTES.
            self.ansi_quotes = mode.split(',').any(|m| m == "ANSI_QUOTES");
            self.pipes_as_concat = mode.split(',').any(|m| m == "PIPES_AS_CONCAT");
            self.round_fractional = mode.split(',').any(|m| m == "TIME_ROUND_FRACTIONAL");
        }
        if key.contains("time_zone") {
            let (_, rows) = query_collect(&mut lease, "SELECT @@SESSION.time_zone").await?;
            let tz = rows
                .first()
                .and_then(|r| r.first().cloned().flatten())
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            self.utc_offset = crate::convert::utc_offset(&tz, self.shared.system_utc);
        }
        for p in self.pinned.values_mut() {
            exec_drop(&mut p.lease, sql).await?;
            p.lease.set_state(self.state.fingerprint);
        }
        Ok(())
    }

    /// Keep `sql` as the session state for `key` (replacing what the key had).
    pub(crate) fn record_state(&mut self, key: &str, sql: &str) {
        if let Some(i) = self.state_keys.iter().position(|k| k == key) {
            self.state_keys.remove(i);
            self.state.statements.remove(i);
        }
        self.state_keys.push(key.to_string());
        self.state.statements.push(sql.to_string());
        self.state.recompute_fingerprint();
    }

    /// The data source for statements that name no table: the logical database's default
    /// one, or while that one is down, another of its data sources that is not (any of
    /// them answers a statement without tables the same).
    pub(crate) fn default_ds(&self) -> Result<String, SqlError> {
        let db = match &self.db {
            Some(d) => self.database(d),
            None => self.user_databases().first().cloned(),
        };
        let first = db
            .as_ref()
            .map(|d| d.default_data_source.clone())
            .or_else(|| self.shared.backends.names().into_iter().next())
            .ok_or_else(|| SqlError::internal("no data source configured"))?;
        let up = |ds: &str| {
            self.shared
                .backends
                .get(ds)
                .map(|b| !b.is_down())
                .unwrap_or(false)
        };
        let free = |ds: &str| {
            self.shared
                .backends
                .get(ds)
                .map(|b| b.in_use() < b.size())
                .unwrap_or(false)
        };
        let others: Vec<String> = db
            .map(|d| d.data_sources.clone())
            .unwrap_or_default()
            .into_iter()
            .chain(self.shared.backends.names())
            .collect();
        // The default data source unless it is down, or all its connections are taken
        // while another one has a free connection.
        if up(&first) && (free(&first) || !others.iter().any(|d| up(d) && free(d))) {
            return Ok(first);
        }
        Ok(others
            .iter()
            .find(|d| up(d) && free(d))
            .or_else(|| others.iter().find(|d| up(d)))
            .cloned()
            .unwrap_or(first))
    }
}

#[cfg(test)]
#[path = "setvar_tests.rs"]
mod tests;
