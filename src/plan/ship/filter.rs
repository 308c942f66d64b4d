//! Which predicates of a join belong to one shipped table alone (pushed into its fetch), and
//! their exact source text.

use super::{Member, PlanCtx};
use sqlparser::ast::{BinaryOperator, Expr, SetExpr, Spanned, Statement, Visit, Visitor};
use std::ops::ControlFlow;

/// Functions whose value differs between the fetch and the statement, or that act.
const VOLATILE: &[&str] = &[
    "rand",
    "uuid",
    "uuid_short",
    "sysdate",
    "sleep",
    "last_insert_id",
    "row_count",
    "found_rows",
    "get_lock",
    "release_lock",
    "is_free_lock",
    "is_used_lock",
    "benchmark",
    "nextval",
    "lastval",
    "setval",
    "connection_id",
    "master_pos_wait",
];

/// The AND-ed parts of a condition.
pub(super) fn conjuncts(e: &Expr) -> Vec<&Expr> {
    match e {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            let mut v = conjuncts(left);
            v.extend(conjuncts(right));
            v
        }
        Expr::Nested(inner)
            if matches!(
                inner.as_ref(),
                Expr::BinaryOp {
                    op: BinaryOperator::And,
                    ..
                }
            ) =>
        {
            conjuncts(inner)
        }
        _ => vec![e],
    }
}

/// Does the condition read only columns of table `idx` (and nothing volatile, no subquery,
/// no variable)? Unqualified columns must belong to that table alone among the FROM tables.
pub(super) fn belongs_to(ctx: &PlanCtx, members: &[Member], idx: usize, e: &Expr) -> bool {
    struct Check<'c, 'a> {
        ctx: &'c PlanCtx<'a>,
        members: &'c [Member<'c>],
        idx: usize,
        ok: bool,
        any_column: bool,
    }
    impl Check<'_, '_> {
        fn has_column(&self, i: usize, col: &str) -> Option<bool> {
            let t = &self.ctx.refs.tables[i];
            let schema = t.schema.as_deref().unwrap_or(&self.ctx.db.name);
            let snap = self.ctx.catalog?;
            let ts = snap
                .get(&(schema.to_string(), t.name.clone()))
                .or_else(|| snap.get(&(self.ctx.db.name.clone(), t.name.clone())))?;
            Some(ts.column(col).is_some())
        }
        fn unqualified(&mut self, col: &str) {
            self.any_column = true;
            for m in self.members {
                // A derived table's columns are not in the catalog: unknown.
                let has = m.idx.and_then(|i| self.has_column(i, col));
                match has {
                    Some(false) => {}
                    Some(true) if m.idx == Some(self.idx) => {}
                    _ => self.ok = false,
                }
            }
            if self.has_column(self.idx, col) != Some(true) {
                self.ok = false;
            }
        }
        fn qualified(&mut self, schema: Option<&str>, table: &str) {
            self.any_column = true;
            let refs = self.ctx.refs;
            let found = refs
                .resolve_qualifier(schema, table)
                .and_then(|t| refs.tables.iter().position(|x| x.range == t.range));
            if found != Some(self.idx) {
                self.ok = false;
            }
        }
    }
    impl Visitor for Check<'_, '_> {
        type Break = ();
        fn pre_visit_query(&mut self, _q: &sqlparser::ast::Query) -> ControlFlow<()> {
            self.ok = false;
            ControlFlow::Break(())
        }
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
            match e {
                Expr::Identifier(id) => {
                    if id.value.starts_with('@') {
                        self.ok = false;
                    } else {
                        self.unqualified(&id.value.to_ascii_lowercase());
                    }
                }
                Expr::CompoundIdentifier(parts) => {
                    let lower: Vec<String> =
                        parts.iter().map(|p| p.value.to_ascii_lowercase()).collect();
                    match lower.as_slice() {
                        [t, _] => self.qualified(None, t),
                        [s, t, _] => self.qualified(Some(s), t),
                        _ => self.ok = false,
                    }
                }
                Expr::Function(f) => {
                    let (name, _) = crate::sql::function_name(&f.name);
                    if VOLATILE.contains(&name.as_str()) {
                        self.ok = false;
                    }
                }
                Expr::Subquery(_) | Expr::Exists { .. } => self.ok = false,
                Expr::Value(v) if matches!(v.value, sqlparser::ast::Value::Placeholder(_)) => {
                    self.ok = false
                }
                _ => {}
            }
            if self.ok {
                ControlFlow::Continue(())
            } else {
                ControlFlow::Break(())
            }
        }
    }
    let mut c = Check {
        ctx,
        members,
        idx,
        ok: true,
        any_column: false,
    };
    let _ = e.visit(&mut c);
    c.ok && c.any_column
}

/// The condition's source text, when it reads back as the same expression.
pub(super) fn exact_text(ctx: &PlanCtx, e: &Expr) -> Option<String> {
    let r = ctx.sm.range(e.span())?;
    let text = ctx
        .sql
        .get(crate::sql::edit::balanced(ctx.sql, r))?
        .to_string();
    let probe = format!("SELECT 1 FROM t WHERE {text}");
    let Ok(Statement::Query(q)) = crate::sql::parse_one(&probe) else {
        return None;
    };
    let SetExpr::Select(s) = q.body.as_ref() else {
        return None;
    };
    (s.selection.as_ref()?.to_string() == e.to_string()).then_some(text)
}
