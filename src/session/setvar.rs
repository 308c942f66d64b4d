//! SET statements: autocommit is the proxy's own state; other session variables are validated
//! on a backend and replayed on every backend connection the session uses.

use super::{FlowResult, Session};
use crate::backend::{exec_drop, query_collect};
use crate::error::SqlError;
use crate::protocol::writer::ResultWriter;
use sqlparser::ast::{Expr, Set, Statement, Value};

/// What a SET statement assigns, as far as the proxy cares.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SetKind {
    /// `SET autocommit = 0|1` (any spelling of the scope).
    Autocommit(bool),
    /// GLOBAL scope: not changed through the proxy.
    Global,
    /// Session / user variables, keyed by lower-cased names ("names" for SET NAMES).
    Session(String),
}

/// A SET of a variable clients may not change through the proxy (see
/// [`crate::sql::classify::refused_variable`]).
pub(crate) fn refused(sql: &str) -> Option<crate::sql::classify::Refusal> {
    use crate::sql::classify::refused_variable;
    match crate::sql::parse_one(sql) {
        Ok(Statement::Set(Set::SingleAssignment { variable, .. })) => {
            refused_variable(&variable.to_string())
        }
        Ok(Statement::Set(Set::MultipleAssignments { assignments })) => assignments
            .iter()
            .find_map(|a| refused_variable(&a.name.to_string())),
        Ok(_) => None,
        // Forms sqlparser does not read (SET CHARACTER SET x, SET STATEMENT ... FOR): the
        // words after SET, as far as they name variables.
        Err(_) => {
            let rest = sql.trim_start().get(3..).unwrap_or("");
            rest.split(',')
                .filter_map(|part| part.split(['=', ' ']).find(|w| !w.is_empty()))
                .find_map(refused_variable)
        }
    }
}

pub(crate) fn classify(sql: &str) -> SetKind {
    let parsed = crate::sql::parse_one(sql);
    let Ok(Statement::Set(set)) = parsed else {
        return classify_text(sql);
    };
    match set {
        Set::SingleAssignment {
            scope,
            variable,
            values,
            ..
        } => {
            let name = variable.to_string().to_ascii_lowercase();
            let scope_global =
                scope.is_some_and(|s| s.to_string().trim().eq_ignore_ascii_case("GLOBAL"));
            let name = strip_scope(&name);
            if scope_global || name.0 {
                return SetKind::Global;
            }
            if name.1 == "autocommit" {
                if let Some(v) = values.first().and_then(bool_value) {
                    return SetKind::Autocommit(v);
                }
            }
            SetKind::Session(name.1)
        }
        Set::MultipleAssignments { assignments } => {
            let mut keys = Vec::new();
            for a in &assignments {
                let name = strip_scope(&a.name.to_string().to_ascii_lowercase());
                if name.0
                    || a.scope
                        .is_some_and(|s| s.to_string().trim().eq_ignore_ascii_case("GLOBAL"))
                {
                    return SetKind::Global;
                }
                if name.1 == "autocommit" && assignments.len() == 1 {
                    if let Some(v) = bool_value(&a.value) {
                        return SetKind::Autocommit(v);
                    }
                }
                keys.push(name.1);
            }
            SetKind::Session(keys.join(","))
        }
        Set::SetNames { .. } | Set::SetNamesDefault {} => SetKind::Session("names".into()),
        _ => classify_text(sql),
    }
}

/// (is_global, bare name) for `@@global.x`, `@@session.x`, `@@x`, `session.x`, `x`.
fn strip_scope(name: &str) -> (bool, String) {
    let n = name.trim_matches('`');
    let (global, rest) = if let Some(r) = n.strip_prefix("@@global.") {
        (true, r)
    } else if let Some(r) = n
        .strip_prefix("@@session.")
        .or_else(|| n.strip_prefix("@@local."))
    {
        (false, r)
    } else if let Some(r) = n.strip_prefix("@@") {
        (false, r)
    } else if let Some(r) = n.strip_prefix("global.") {
        (true, r)
    } else {
        (false, n.strip_prefix("session.").unwrap_or(n))
    };
    (global, rest.to_string())
}

fn bool_value(e: &Expr) -> Option<bool> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => match n.as_str() {
                "0" => Some(false),
                "1" => Some(true),
                _ => None,
            },
            Value::Boolean(b) => Some(*b),
            Value::SingleQuotedString(s) => on_off(s),
            _ => None,
        },
        Expr::Identifier(i) => on_off(&i.value),
        _ => None,
    }
}

fn on_off(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "on" | "true" => Some(true),
        "off" | "false" => Some(false),
        _ => None,
    }
}

fn classify_text(sql: &str) -> SetKind {
    let lower = sql.trim().to_ascii_lowercase();
    let rest = lower.strip_prefix("set").unwrap_or(&lower).trim_start();
    if rest.starts_with("global ") || rest.starts_with("@@global.") {
        return SetKind::Global;
    }
    SetKind::Session(rest.chars().take(64).collect())
}

impl Session {
    pub(crate) async fn set_statement(
        &mut self,
        sql: &str,
        w: &mut ResultWriter<'_>,
    ) -> FlowResult<()> {
        if let Some(r) = refused(sql) {
            return Err(self.refuse(r).into());
        }
        match classify(sql) {
            SetKind::Autocommit(on) => {
                if on && !self.autocommit && self.in_txn {
                    // Turning autocommit on commits the open transaction.
                    self.commit_all().await?;
                }
                self.autocommit = on;
                w.status = self.status();
                w.ok(&Default::default()).await?;
            }
            SetKind::Global => {
                let r = crate::sql::classify::Refusal::Admin {
                    what: "SET GLOBAL".into(),
                    privilege: "SUPER",
                };
                w.error(&self.refuse(r)).await?;
            }
            SetKind::Session(key) => {
                let sql = sql.trim().trim_end_matches(';').to_string();
                if let Err(e) = self.apply_session_set(&key, &sql).await {
                    w.error(&e).await?;
                    return Ok(());
                }
                w.status = self.status();
                w.ok(&Default::default()).await?;
            }
        }
        Ok(())
    }

    /// Validate on the default data source (errors such as 1193 come from MariaDB itself),
    /// then remember it for every backend connection of this session.
    pub(crate) async fn apply_session_set(&mut self, key: &str, sql: &str) -> Result<(), SqlError> {
        let ds = self.default_ds()?;
        let backend = self.shared.backends.get(&ds)?.clone();
        let mut lease = backend.acquire().await?;
        lease.apply_state(&self.state).await?;
        exec_drop(&mut lease, sql).await?;
        if let Some(i) = self.state_keys.iter().position(|k| k == key) {
            self.state_keys.remove(i);
            self.state.statements.remove(i);
        }
        self.state_keys.push(key.to_string());
        self.state.statements.push(sql.to_string());
        self.state.recompute_fingerprint();
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
        }
        for p in self.pinned.values_mut() {
            exec_drop(&mut p.lease, sql).await?;
            p.lease.set_state(self.state.fingerprint);
        }
        Ok(())
    }

    /// The data source for statements that name no table: the logical database's default
    /// one, or while that one is down, another of its data sources that is not (any of
    /// them answers a statement without tables the same).
    pub(crate) fn default_ds(&self) -> Result<String, SqlError> {
        let db = match &self.db {
            Some(d) => self.shared.database(d),
            None => self.shared.databases_of(&self.user).first().copied(),
        };
        let first = db
            .map(|d| d.default_data_source.clone())
            .or_else(|| self.shared.config.data_sources.keys().next().cloned())
            .ok_or_else(|| SqlError::internal("no data source configured"))?;
        let up = |ds: &str| {
            self.shared
                .backends
                .get(ds)
                .map(|b| !b.is_down())
                .unwrap_or(false)
        };
        if up(&first) {
            return Ok(first);
        }
        let others = db
            .map(|d| d.data_sources.clone())
            .unwrap_or_default()
            .into_iter()
            .chain(self.shared.config.data_sources.keys().cloned());
        Ok(others.into_iter().find(|d| up(d)).unwrap_or(first))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_set_statements() {
        let cases = [
            ("SET autocommit=0", SetKind::Autocommit(false)),
            ("set @@session.autocommit = ON", SetKind::Autocommit(true)),
            ("SET SESSION autocommit = 1", SetKind::Autocommit(true)),
            ("SET GLOBAL max_connections = 10", SetKind::Global),
            ("SET @@global.x = 1", SetKind::Global),
            ("SET NAMES utf8mb4", SetKind::Session("names".into())),
            ("SET sql_mode = 'ANSI'", SetKind::Session("sql_mode".into())),
        ];
        for (sql, want) in cases {
            assert_eq!(classify(sql), want, "{sql}");
        }
    }
}
