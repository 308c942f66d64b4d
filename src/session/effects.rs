//! What a statement leaves in its session beyond its answer, kept by the proxy so that it
//! holds on whichever backend connection the session's next statement runs:
//!
//! - user variables assigned inside expressions (`SELECT @rn := @rn + 1 ...`) and
//!   `LAST_INSERT_ID(expr)`: read back from the connection that ran the statement and kept
//!   as session state (a statement over several nodes would assign them once per node, so
//!   it is refused);
//! - named locks (`GET_LOCK` and friends): the statement runs on the session's own
//!   connection to one designated data source (the first in the rules), kept for the rest
//!   of the session, so a lock is held by exactly the session that took it;
//! - diagnostics: `ROW_COUNT()`, `FOUND_ROWS()`, `SHOW WARNINGS` / `SHOW ERRORS` /
//!   `@@warning_count` / `@@error_count` answer from the session's own last statement.

use super::Session;
use crate::backend::Lease;
use crate::error::SqlError;
use crate::plan::Plan;
use crate::protocol::writer::{Outcome, ResultWriter};
use crate::result::{ColumnDef, Row};
use bytes::Bytes;
use sqlparser::ast::{BinaryOperator, Expr, FunctionArguments, Statement, Visit, Visitor};
use std::ops::ControlFlow;

/// Functions of MariaDB's named locks.
const LOCK_FUNCTIONS: &[&str] = &[
    "get_lock",
    "release_lock",
    "release_all_locks",
    "is_free_lock",
    "is_used_lock",
];

/// What a statement changes in its session beyond its answer.
#[derive(Debug, Default, Clone)]
pub(crate) struct Effects {
    /// User variables assigned in expressions (lower-cased, without `@`).
    pub assigned_vars: Vec<String>,
    /// `LAST_INSERT_ID(expr)` sets the session's value.
    pub sets_last_insert_id: bool,
    /// Named lock functions.
    pub named_locks: bool,
    /// `SELECT SQL_CALC_FOUND_ROWS ...`: FOUND_ROWS() is the count without LIMIT.
    pub calc_found_rows: bool,
}

impl Effects {
    pub fn of(stmt: &Statement, text: &str) -> Effects {
        let mut v = EffectsVisitor(Effects::default());
        let _ = stmt.visit(&mut v);
        v.0.calc_found_rows = text.to_ascii_lowercase().contains("sql_calc_found_rows")
            && crate::sql::words(text)
                .iter()
                .any(|w| w == "sql_calc_found_rows");
        v.0
    }

    /// Something must be read back from the connection after the statement.
    pub fn reads_back(&self) -> bool {
        !self.assigned_vars.is_empty() || self.sets_last_insert_id || self.calc_found_rows
    }
}

struct EffectsVisitor(Effects);

impl Visitor for EffectsVisitor {
    type Break = ();
    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        match e {
            Expr::BinaryOp {
                left,
                op: BinaryOperator::Assignment,
                ..
            } => {
                if let Expr::Identifier(i) = left.as_ref() {
                    if let Some(name) = i.value.strip_prefix('@') {
                        let n = name.trim_matches('`').to_ascii_lowercase();
                        if !self.0.assigned_vars.contains(&n) {
                            self.0.assigned_vars.push(n);
                        }
                    }
                }
            }
            Expr::Function(f) => {
                let (name, _) = crate::sql::function_name(&f.name);
                let has_args = match &f.args {
                    FunctionArguments::List(l) => !l.args.is_empty(),
                    _ => false,
                };
                if name == "last_insert_id" && has_args {
                    self.0.sets_last_insert_id = true;
                }
                if LOCK_FUNCTIONS.contains(&name.as_str()) {
                    self.0.named_locks = true;
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

/// The session's diagnostics: what its last statement reported.
#[derive(Debug, Clone)]
pub(crate) struct Diagnostics {
    /// (level, code, message), as SHOW WARNINGS lists them.
    pub conditions: Vec<(String, u16, String)>,
    /// ROW_COUNT(): affected rows of the last statement, -1 after a result set or error.
    pub row_count: i64,
    /// FOUND_ROWS(): rows the last result set had.
    pub found_rows: u64,
    /// Conditions the running statement collected from its connections.
    pub pending: Vec<(String, u16, String)>,
    /// The running statement reads or writes tables (it then replaces the diagnostics even
    /// when it has none, as MariaDB's statements that use tables do).
    pub uses_tables: bool,
    /// FOUND_ROWS() of a `SQL_CALC_FOUND_ROWS` statement, read from its connection.
    pub found_rows_override: Option<u64>,
}

impl Default for Diagnostics {
    fn default() -> Diagnostics {
        Diagnostics {
            conditions: Vec::new(),
            row_count: -1,
            found_rows: 0,
            pending: Vec::new(),
            uses_tables: false,
            found_rows_override: None,
        }
    }
}

impl Diagnostics {
    pub fn warning_count(&self) -> usize {
        self.conditions.len()
    }

    pub fn error_count(&self) -> usize {
        self.conditions.iter().filter(|c| c.0 == "Error").count()
    }
}

/// Which diagnostics statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DiagKind {
    Warnings,
    Errors,
    CountWarnings,
    CountErrors,
}

/// The `LIMIT [offset,] row_count` of `SHOW WARNINGS` / `SHOW ERRORS`: (offset, count);
/// `Err` for any other text after the two words (MariaDB answers 1064).
fn diag_limit(sql: &str) -> Result<(usize, Option<usize>), SqlError> {
    let text = sql.trim().trim_end_matches(';').trim();
    let words: Vec<&str> = text.split_ascii_whitespace().collect();
    let tail = words.get(2..).unwrap_or_default().join(" ");
    if tail.is_empty() {
        return Ok((0, None));
    }
    let bad = || SqlError::parse(format!("near '{tail}'"));
    let Some(rest) = tail
        .get(..5)
        .filter(|w| w.eq_ignore_ascii_case("LIMIT"))
        .map(|_| tail[5..].trim())
    else {
        return Err(bad());
    };
    let num = |s: &str| {
        let s = s.trim();
        s.parse::<usize>().map_err(|_| {
            // A name there is a (stored-program) variable to MariaDB.
            if s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                SqlError::new(1327, "42000", format!("Undeclared variable: {s}"))
            } else {
                bad()
            }
        })
    };
    match rest.split_once(',') {
        Some((o, n)) => Ok((num(o)?, Some(num(n)?))),
        None => Ok((0, Some(num(rest)?))),
    }
}

impl DiagKind {
    pub fn of(sql: &str) -> Option<DiagKind> {
        let w = crate::sql::classify::leading_words(sql, 4);
        let w: Vec<&str> = w.iter().map(String::as_str).collect();
        match w.as_slice() {
            ["SHOW", "WARNINGS", ..] => Some(DiagKind::Warnings),
            ["SHOW", "ERRORS", ..] => Some(DiagKind::Errors),
            ["SHOW", "COUNT", "WARNINGS", ..] => Some(DiagKind::CountWarnings),
            ["SHOW", "COUNT", "ERRORS", ..] => Some(DiagKind::CountErrors),
            _ => None,
        }
    }
}

impl Session {
    /// The plan as it must run in this session: every node's statement under the session's
    /// `SET STATEMENT ... FOR` modifier, and, when the proxy itself combines the nodes'
    /// rows (several nodes, grouping, or a subquery it evaluates), with sql_select_limit
    /// lifted on the nodes — it applies to the final result, which the writer caps.
    pub(crate) fn adjust_plan(&self, plan: &Plan, w: &mut ResultWriter<'_>) -> Option<Plan> {
        let merged = plan.nodes.len() > 1 || plan.merge.aggregate.is_some() || w.is_capturing();
        let lift_limit = self.select_limit.is_some() && merged && !plan.write;
        if lift_limit && !w.is_capturing() && plan.merge.limit.is_none() {
            w.row_cap = self.select_limit;
        }
        let mut vars: Vec<&str> = Vec::new();
        if let Some(m) = &self.stmt_modifier {
            vars.push(m);
        }
        if lift_limit {
            vars.push("sql_select_limit = 18446744073709551615");
        }
        if vars.is_empty() && !self.do_statement {
            return None;
        }
        let prefix = if vars.is_empty() {
            String::new()
        } else {
            format!("SET STATEMENT {} FOR ", vars.join(", "))
        };
        let mut p = plan.clone();
        for n in p.nodes.iter_mut() {
            let body = match n.sql.get(..6) {
                Some(s) if self.do_statement && s.eq_ignore_ascii_case("SELECT") => {
                    format!("DO{}", &n.sql[6..])
                }
                _ => n.sql.clone(),
            };
            n.sql = format!("{prefix}{body}");
        }
        Some(p)
    }

    /// A [`RouteKind::Reference`](crate::route::RouteKind) plan moved to the copy this
    /// session should read (see [`crate::route::pick_copy`]); `None` when it stays where
    /// it was planned.
    pub(crate) fn place_reference(&self, plan: &Plan) -> Option<Plan> {
        if plan.kind != crate::route::RouteKind::Reference || plan.nodes.len() != 1 {
            return None;
        }
        let planned = plan.nodes[0].data_source.as_str();
        let held = |ds: &str| {
            self.pinned
                .get(ds)
                .is_some_and(|p| (self.in_txn && p.in_txn) || self.sticky)
        };
        let down = |ds: &str| self.shared.backends.get(ds).map_or(true, |b| b.is_down());
        let ds = crate::route::pick_copy(&plan.copies, planned, held, down);
        if ds == planned {
            return None;
        }
        let mut p = plan.clone();
        p.nodes[0].data_source = ds.to_string();
        Some(p)
    }

    /// The designated data source for named locks: the first in the rules, the same for
    /// every session and every proxy on these rules.
    pub(crate) fn lock_data_source(&self) -> Result<String, SqlError> {
        self.shared
            .config
            .data_sources
            .keys()
            .next()
            .cloned()
            .ok_or_else(|| SqlError::internal("no data source configured"))
    }

    /// After a statement ran on `lease`: read back what it assigned, and collect its
    /// warnings (`warnings` of them were reported).
    pub(crate) async fn after_statement(&mut self, lease: &mut Lease, warnings: u16) {
        let effects = std::mem::take(&mut self.effects);
        if warnings > 0 {
            if let Ok((_, rows)) = crate::backend::query_collect(lease, "SHOW WARNINGS").await {
                self.diag.pending.extend(rows.iter().map(condition));
            }
        }
        if !effects.reads_back() {
            return;
        }
        let mut items: Vec<String> = effects
            .assigned_vars
            .iter()
            .map(|v| format!("@`{}`", v.replace('`', "``")))
            .collect();
        if effects.sets_last_insert_id {
            items.push("LAST_INSERT_ID()".into());
        }
        // Over several nodes the nodes' counts were summed already.
        let calc_found_rows = effects.calc_found_rows && self.diag.found_rows_override.is_none();
        if calc_found_rows {
            items.push("FOUND_ROWS()".into());
        }
        if items.is_empty() {
            return;
        }
        let Ok((cols, rows)) =
            crate::backend::query_collect(lease, &format!("SELECT {}", items.join(", "))).await
        else {
            // The connection's variables are unknown now: never reuse it for another session.
            lease.mark_dirty();
            return;
        };
        let Some(row) = rows.first() else { return };
        let nbe = self.no_backslash_escapes;
        for (i, var) in effects.assigned_vars.iter().enumerate() {
            let (Some(col), cell) = (cols.get(i), row.get(i).and_then(|c| c.as_deref())) else {
                continue;
            };
            let lit = crate::sql::literal::cell_literal(col, cell, nbe);
            let stmt = format!("SET @`{}` = {lit}", var.replace('`', "``"));
            self.record_state(&format!("@{var}"), &stmt);
        }
        let num = |i: usize| {
            row.get(i)
                .cloned()
                .flatten()
                .and_then(|b| String::from_utf8_lossy(&b).parse::<u64>().ok())
        };
        if calc_found_rows {
            let i = effects.assigned_vars.len() + usize::from(effects.sets_last_insert_id);
            self.diag.found_rows_override = num(i);
        }
        if effects.sets_last_insert_id {
            let i = effects.assigned_vars.len();
            if let Some(v) = row
                .get(i)
                .cloned()
                .flatten()
                .and_then(|b| String::from_utf8_lossy(&b).parse::<u64>().ok())
            {
                self.last_insert_id = v;
            }
        }
        // The connection holds exactly the session's state now.
        lease.set_state(self.state.fingerprint);
        // Pinned connections of other data sources learn the new values.
        let stmts: Vec<String> = effects
            .assigned_vars
            .iter()
            .filter_map(|v| {
                let key = format!("@{v}");
                self.state_keys
                    .iter()
                    .position(|k| *k == key)
                    .map(|i| self.state.statements[i].clone())
            })
            .collect();
        let fp = self.state.fingerprint;
        for p in self.pinned.values_mut() {
            if p.lease.data_source() == lease.data_source() {
                continue;
            }
            for s in &stmts {
                if crate::backend::exec_drop(&mut p.lease, s).await.is_err() {
                    p.lease.mark_dirty();
                }
            }
            p.lease.set_state(fp);
        }
    }

    /// Record what a statement answered, at its end (`diagnostic`: it was SHOW WARNINGS or
    /// the like, which leaves the diagnostics as they are).
    pub(crate) fn note_outcome(&mut self, w: &ResultWriter<'_>, diagnostic: bool) {
        let pending = std::mem::take(&mut self.diag.pending);
        let uses_tables = std::mem::take(&mut self.diag.uses_tables);
        let found_override = self.diag.found_rows_override.take();
        self.effects = Effects::default();
        if diagnostic {
            return;
        }
        match w.outcome {
            Outcome::Rows(n) => {
                self.diag.row_count = -1;
                self.diag.found_rows = found_override.unwrap_or(n);
            }
            Outcome::Ok(n) => self.diag.row_count = n as i64,
            Outcome::Error => self.diag.row_count = -1,
            Outcome::None => {}
        }
        if w.outcome == Outcome::Error {
            let mut c = pending;
            if let Some(e) = &w.last_error_detail {
                c.push(("Error".into(), e.code, e.message.clone()));
            }
            self.diag.conditions = c;
        } else if !pending.is_empty() || uses_tables {
            self.diag.conditions = pending;
        }
    }

    /// SHOW WARNINGS / ERRORS / COUNT(*) ...: the session's own diagnostics.
    pub(crate) async fn show_diagnostics(
        &mut self,
        kind: DiagKind,
        sql: &str,
        w: &mut ResultWriter<'_>,
    ) -> std::io::Result<()> {
        let (offset, count) = match kind {
            DiagKind::Warnings | DiagKind::Errors => match diag_limit(sql) {
                Ok(l) => l,
                Err(e) => return w.error(&e).await,
            },
            _ => (0, None),
        };
        let conds: Vec<&(String, u16, String)> = match kind {
            DiagKind::Errors | DiagKind::CountErrors => self
                .diag
                .conditions
                .iter()
                .filter(|c| c.0 == "Error")
                .collect(),
            _ => self.diag.conditions.iter().collect(),
        };
        match kind {
            DiagKind::CountWarnings | DiagKind::CountErrors => {
                let name = if kind == DiagKind::CountWarnings {
                    "@@session.warning_count"
                } else {
                    "@@session.error_count"
                };
                let col = ColumnDef {
                    flags: mysql_common::constants::ColumnFlags::UNSIGNED_FLAG
                        | mysql_common::constants::ColumnFlags::NUM_FLAG,
                    ..ColumnDef::bigint(name)
                };
                w.rows(&[col], &[vec![Some(Bytes::from(conds.len().to_string()))]])
                    .await
            }
            _ => {
                let cols = [
                    ColumnDef::text("Level"),
                    ColumnDef {
                        column_length: 4,
                        column_type: mysql_common::constants::ColumnType::MYSQL_TYPE_LONG,
                        flags: mysql_common::constants::ColumnFlags::UNSIGNED_FLAG
                            | mysql_common::constants::ColumnFlags::NUM_FLAG
                            | mysql_common::constants::ColumnFlags::NOT_NULL_FLAG,
                        charset: 63,
                        decimals: 0,
                        ..ColumnDef::text("Code")
                    },
                    ColumnDef::text("Message"),
                ];
                let rows: Vec<Row> = conds
                    .iter()
                    .skip(offset)
                    .take(count.unwrap_or(usize::MAX))
                    .map(|(l, c, m)| {
                        vec![
                            Some(Bytes::from(l.clone())),
                            Some(Bytes::from(c.to_string())),
                            Some(Bytes::from(m.clone())),
                        ]
                    })
                    .collect();
                w.rows(&cols, &rows).await
            }
        }
    }
}

/// One row of SHOW WARNINGS.
fn condition(r: &Row) -> (String, u16, String) {
    let text = |i: usize| {
        r.get(i)
            .cloned()
            .flatten()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    };
    (text(0), text(1).parse().unwrap_or(0), text(2))
}

#[cfg(test)]
mod tests {
    use super::Effects;

    #[test]
    fn quoted_native_function_names_count() {
        let cases = [
            ("SELECT GET_LOCK('a', 1)", true, false),
            ("SELECT `get_lock`('a', 1)", true, false),
            ("SELECT `IS_USED_LOCK`('a')", true, false),
            ("SELECT `last_insert_id`(5)", false, true),
            ("SELECT LAST_INSERT_ID()", false, false),
            ("SELECT 1", false, false),
        ];
        for (sql, locks, sets_id) in cases {
            let stmt = crate::sql::parse_one(sql).unwrap();
            let e = Effects::of(&stmt, sql);
            assert_eq!(
                (e.named_locks, e.sets_last_insert_id),
                (locks, sets_id),
                "{sql}"
            );
        }
    }
}

#[cfg(test)]
mod diag_tests {
    #[test]
    fn show_warnings_limits() {
        let cases: &[(&str, Option<(usize, Option<usize>)>)] = &[
            ("SHOW WARNINGS", Some((0, None))),
            ("show errors;", Some((0, None))),
            ("SHOW WARNINGS LIMIT 2", Some((0, Some(2)))),
            ("SHOW WARNINGS limit 1, 3", Some((1, Some(3)))),
            ("SHOW WARNINGS LIMIT 1 ,3 ;", Some((1, Some(3)))),
            ("SHOW WARNINGS LIMIT x", None),
            ("SHOW WARNINGS extra", None),
            ("SHOW WARNINGS LIMIT", None),
        ];
        for (sql, want) in cases {
            assert_eq!(super::diag_limit(sql).ok(), *want, "{sql}");
        }
    }
}
