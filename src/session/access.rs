//! What this session's user may run: statement kinds (see [`crate::sql::classify`]), the
//! logical databases its names resolve in, and writes by read-only users.

use super::Session;
use crate::error::SqlError;
use crate::sql::classify::{self, Effect, Refusal};
use crate::sql::refs::Refs;
use sqlparser::ast::Statement;

/// Schemas that are never addressable through the proxy (information_schema is answered by
/// the proxy itself from its catalog).
pub(crate) const INFORMATION_SCHEMA: &str = "information_schema";

impl Session {
    pub(crate) fn refuse(&self, r: Refusal) -> SqlError {
        r.to_sql(&self.user)
    }

    /// The checks every parsed statement passes before anything is sent for it: its kind,
    /// its functions and options, its names and the user's rights.
    pub(crate) fn check_statement(
        &self,
        sql: &str,
        stmt: &Statement,
        refs: &Refs,
    ) -> Result<(), SqlError> {
        if let Some(r) = classify::statement(stmt, sql) {
            return Err(self.refuse(r));
        }
        self.check_effect(stmt, refs, classify::effect(stmt, sql))
    }

    /// [`Session::check_statement`] from what the statement's [`Analysis`] holds.
    pub(crate) fn check_analysed(
        &self,
        stmt: &Statement,
        refs: &Refs,
        a: &super::stmt::Analysis,
    ) -> Result<(), SqlError> {
        if let Some(r) = &a.refusal {
            return Err(self.refuse(r.clone()));
        }
        self.check_effect(stmt, refs, a.effect)
    }

    fn check_effect(&self, stmt: &Statement, refs: &Refs, effect: Effect) -> Result<(), SqlError> {
        let db = self.check_names(refs, effect)?;
        if let Effect::Write(cmd) | Effect::Ddl(cmd) = effect {
            let temporary = matches!(stmt, Statement::CreateTable(c) if c.temporary)
                || matches!(
                    stmt,
                    Statement::Drop {
                        temporary: true,
                        ..
                    }
                );
            let read_only = self
                .shared
                .account(&self.user)
                .is_none_or(|a| a.read_only_in(&db));
            if read_only && !temporary {
                let table = refs
                    .tables
                    .first()
                    .map(|t| t.name.clone())
                    .unwrap_or_default();
                return Err(self.refuse(Refusal::Table {
                    command: cmd.to_string(),
                    table,
                }));
            }
        }
        Ok(())
    }

    /// Names resolve only in the session's logical database: a schema qualifier naming
    /// anything else (a physical database, `mysql`, another user's database) is refused.
    /// Returns the logical database the statement is in.
    pub(crate) fn check_names(&self, refs: &Refs, effect: Effect) -> Result<String, SqlError> {
        let command = match effect {
            Effect::Read => "SELECT",
            Effect::Write(c) | Effect::Ddl(c) => c,
        };
        let current = self.db.as_deref();
        let mut named: Option<&str> = None;
        for t in &refs.tables {
            let Some(schema) = t.schema.as_deref() else {
                continue;
            };
            if current.is_some_and(|c| c.eq_ignore_ascii_case(schema)) {
                continue;
            }
            let allowed = self
                .shared
                .account(&self.user)
                .is_some_and(|a| a.may_use(schema))
                && self.shared.database(schema).is_some();
            if !allowed || schema.eq_ignore_ascii_case(INFORMATION_SCHEMA) {
                return Err(self.refuse(Refusal::Table {
                    command: command.to_string(),
                    table: format!("{schema}`.`{}", t.name),
                }));
            }
            match (current, named) {
                // No database selected: the qualified names pick it (all must agree).
                (None, None) => named = Some(schema),
                (None, Some(n)) if n.eq_ignore_ascii_case(schema) => {}
                _ => {
                    return Err(self.refuse(Refusal::Unsupported(format!(
                        "one statement over two logical databases ({} and {schema})",
                        current.or(named).unwrap_or_default()
                    ))))
                }
            }
        }
        for q in &refs.qualified {
            let Some(schema) = q.schema.as_deref() else {
                continue;
            };
            let ok = current.is_some_and(|c| c.eq_ignore_ascii_case(schema))
                || named.is_some_and(|n| n.eq_ignore_ascii_case(schema));
            if !ok {
                return Err(self.refuse(Refusal::Table {
                    command: command.to_string(),
                    table: format!("{schema}`.`{}", q.table),
                }));
            }
        }
        Ok(current.or(named).unwrap_or_default().to_string())
    }

    /// Whether this session's user may run the proxy's administration statements.
    pub(crate) fn is_admin(&self) -> bool {
        self.shared.account(&self.user).is_some_and(|a| a.admin)
    }
}
