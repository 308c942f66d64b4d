//! Uncorrelated subqueries over sharded tables (`x IN (SELECT ...)`, `x NOT IN (...)`,
//! scalar `(SELECT MAX(...) ...)`, `EXISTS (...)`): the proxy runs each subquery once (as a
//! statement of its own, so it gets every cross-shard merge), then substitutes its answer as
//! literals and plans the outer statement as usual. `NOT IN` keeps MySQL's NULL semantics
//! because NULLs are substituted as NULL literals; an empty answer becomes an empty subquery.
//! Correlated subqueries are left alone (the router then answers 1235). Like MariaDB (10.3+),
//! an UPDATE/DELETE may read its own target in a subquery: the subquery's answer is taken
//! before the write.

use super::{FlowResult, Session};
use crate::error::SqlError;
use crate::protocol::writer::ResultWriter;
use crate::route::{self, Placement};
use crate::sql::refs::Refs;
use crate::sql::{Edits, SourceMap};
use sqlparser::ast::{Expr, Query, SetExpr, Spanned, Statement, Visit, Visitor};
use std::collections::HashSet;
use std::ops::ControlFlow;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `x [NOT] IN (subquery)`: a value list.
    In,
    /// `(subquery)` as a value.
    Scalar,
    /// `[NOT] EXISTS (subquery)`.
    Exists,
}

/// Where the outermost subqueries of a statement start (the span of their query), by kind.
/// Subqueries inside them are left to the subquery's own run.
fn outermost_subqueries(stmt: &Statement) -> Vec<(Kind, sqlparser::tokenizer::Span)> {
    struct Collect {
        out: Vec<(Kind, sqlparser::tokenizer::Span)>,
        depth: usize,
        top: usize,
    }
    impl Visitor for Collect {
        type Break = ();
        fn pre_visit_query(&mut self, _q: &Query) -> ControlFlow<()> {
            self.depth += 1;
            ControlFlow::Continue(())
        }
        fn post_visit_query(&mut self, _q: &Query) -> ControlFlow<()> {
            self.depth = self.depth.saturating_sub(1);
            ControlFlow::Continue(())
        }
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
            if self.depth != self.top {
                return ControlFlow::Continue(());
            }
            let (kind, q) = match e {
                Expr::In {
                    target: sqlparser::ast::InTarget::Subquery(subquery),
                    ..
                } => (Kind::In, subquery.as_ref()),
                Expr::Subquery(q) => (Kind::Scalar, q.as_ref()),
                Expr::Exists { subquery, .. } => (Kind::Exists, subquery.as_ref()),
                _ => return ControlFlow::Continue(()),
            };
            self.out.push((kind, q.span()));
            ControlFlow::Continue(())
        }
    }
    let mut c = Collect {
        out: Vec::new(),
        depth: 0,
        top: usize::from(matches!(stmt, Statement::Query(_))),
    };
    let _ = stmt.visit(&mut c);
    c.out
}

impl Session {
    /// Run the statement's uncorrelated subqueries over sharded tables and return the
    /// statement with their answers substituted; `None` when there is nothing to do.
    pub(crate) async fn inline_subqueries(
        &mut self,
        sql: &str,
        stmt: &Statement,
        w: &mut ResultWriter<'_>,
    ) -> FlowResult<Option<String>> {
        // Cheap exit for the common case: no nested SELECT at all.
        let own = usize::from(matches!(stmt, Statement::Query(_)));
        if count_selects(sql) <= own {
            return Ok(None);
        }
        let sm = SourceMap::new(sql);
        let refs = Refs::collect(stmt, &sm);
        let Some(db_name) = self.db.clone() else {
            return Ok(None);
        };
        let Some(db) = self.database(&db_name) else {
            return Ok(None);
        };
        let db = db.as_ref();
        let nested_sharded = refs
            .tables
            .iter()
            .zip(&refs.nested)
            .any(|(t, n)| *n && matches!(route::placement(db, t), Placement::Sharded(_)));
        if !nested_sharded {
            return Ok(None);
        }
        let subqueries = outermost_subqueries(stmt);
        let catalog = self.shared.catalog.snapshot();
        let mut edits = Edits::new();
        let mut any = false;
        for (kind, span) in subqueries {
            let Some(start) = sm.range(span).map(|r| r.start) else {
                continue;
            };
            let Some(open) = crate::sql::clauses::open_paren_before(sql, start) else {
                continue;
            };
            let Some(inner) = crate::sql::clauses::paren_group(sql, open) else {
                continue;
            };
            let text = sql[inner.clone()].trim().to_string();
            let Ok(sub) = crate::sql::parse_one(&crate::sql::tolerant_text(&text)) else {
                continue;
            };
            let sub_sm = SourceMap::new(&text);
            let sub_refs = Refs::collect(&sub, &sub_sm);
            let sharded = sub_refs
                .tables
                .iter()
                .any(|t| matches!(route::placement(db, t), Placement::Sharded(_)));
            if !sharded || correlated(&sub, &sub_refs, &catalog, &db_name) {
                continue;
            }
            let replacement = self.evaluate(&text, kind, w).await?;
            edits.replace(inner, replacement);
            any = true;
        }
        Ok(any.then(|| edits.apply(sql)))
    }

    /// Run one subquery and render its answer for `kind`.
    async fn evaluate(
        &mut self,
        text: &str,
        kind: Kind,
        w: &mut ResultWriter<'_>,
    ) -> FlowResult<String> {
        let max = self.shared.config.server.max_memory_rows;
        let capture = self.capture(text, max, w).await?;
        if let Some(e) = capture.error {
            return Err(e.into());
        }
        let nbe = self.no_backslash_escapes;
        let cols = &capture.columns;
        let lit = |row: &crate::result::Row| crate::sql::literal::row_literals(cols, row, nbe);
        Ok(match kind {
            Kind::Exists => {
                if capture.rows.is_empty() {
                    "SELECT 1 FROM DUAL WHERE 0".into()
                } else {
                    "SELECT 1".into()
                }
            }
            Kind::Scalar => {
                if cols.len() != 1 {
                    return Err(
                        SqlError::new(1241, "21000", "Operand should contain 1 column(s)").into(),
                    );
                }
                match capture.rows.as_slice() {
                    [] => "SELECT NULL".into(),
                    [r] => format!("SELECT {}", lit(r).join(", ")),
                    _ => {
                        return Err(SqlError::new(
                            1242,
                            "21000",
                            "Subquery returns more than 1 row",
                        )
                        .into())
                    }
                }
            }
            Kind::In => {
                if capture.rows.is_empty() {
                    let nulls = vec!["NULL"; cols.len().max(1)].join(", ");
                    format!("SELECT {nulls} FROM DUAL WHERE 0")
                } else if cols.len() == 1 {
                    let mut seen = HashSet::new();
                    capture
                        .rows
                        .iter()
                        .map(|r| lit(r).remove(0))
                        .filter(|v| seen.insert(v.clone()))
                        .collect::<Vec<_>>()
                        .join(", ")
                } else {
                    capture
                        .rows
                        .iter()
                        .map(|r| format!("({})", lit(r).join(", ")))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            }
        })
    }
}

/// How many times the word SELECT occurs (case-insensitive; an over-count is harmless).
fn count_selects(sql: &str) -> usize {
    sql.as_bytes()
        .windows(6)
        .filter(|w| w.eq_ignore_ascii_case(b"select"))
        .count()
}

/// Does the subquery refer to columns of an outer query? Qualifiers must name its own tables
/// and unqualified columns must be columns of its tables (per the catalog) or its aliases;
/// anything unknown counts as correlated.
fn correlated(sub: &Statement, refs: &Refs, catalog: &crate::catalog::Snapshot, db: &str) -> bool {
    for q in &refs.qualified {
        if refs
            .resolve_qualifier(q.schema.as_deref(), &q.table)
            .is_none()
        {
            return true;
        }
    }
    let mut names: HashSet<String> = HashSet::new();
    for t in &refs.tables {
        let schema = t.schema.clone().unwrap_or_else(|| db.to_string());
        match catalog.get(&(schema, t.name.clone())) {
            Some(ts) => names.extend(ts.columns.iter().map(|c| c.name.clone())),
            None => return true,
        }
    }
    if let Statement::Query(q) = sub {
        if let SetExpr::Select(s) = q.body.as_ref() {
            for item in &s.projection {
                if let sqlparser::ast::SelectItem::ExprWithAlias { alias, .. } = item {
                    names.insert(alias.value.to_ascii_lowercase());
                }
            }
        }
    }
    struct Idents<'a>(&'a HashSet<String>, bool);
    impl Visitor for Idents<'_> {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
            if let Expr::Identifier(i) = e {
                let n = i.value.to_ascii_lowercase();
                if !n.starts_with('@') && !self.0.contains(&n) {
                    self.1 = true;
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut v = Idents(&names, false);
    let _ = sub.visit(&mut v);
    v.1
}
