//! Joins whose tables cannot meet on one node (跨库联查): tables sharded differently, single
//! tables on other data sources, binding tables joined without their full sharding key.
//!
//! Strategy (a broadcast join over intermediate results, as Citus does it): one table, the
//! *anchor*, stays where it is, with every table co-located with it (broadcast tables, binding
//! tables joined on all sharding columns, single tables on its data source). Every other table
//! is *shipped*: the proxy reads its rows (filtered by the predicates that belong to it alone),
//! copies them into a temporary table on each of the anchor's data sources, and runs the whole
//! statement there with the shipped names pointing at the copies. MariaDB then evaluates the
//! join, its conditions and everything above it with its own semantics, and the usual merges
//! (ORDER BY, GROUP BY, DISTINCT, LIMIT) glue the anchor's nodes together.
//!
//! The result is exact as long as every result row holds exactly one anchor row, so the anchor
//! is never the null-supplying side of an outer join. This module is pure: it picks the anchor
//! and the shipped tables, writes each shipped table's fetch and rewrites the statement; the
//! session (`session/ship.rs`) runs it.

use super::select::{collect_equalities, strategy_column_pairs, table_index};
use super::PlanCtx;
use crate::route::{self, Placement};
use crate::rules::{LogicalDatabase, TableRule};
use sqlparser::ast::{
    BinaryOperator, Expr, JoinConstraint, JoinOperator, SetExpr, Spanned, Statement, TableFactor,
    Visit, Visitor,
};
use std::fmt;
use std::ops::ControlFlow;

/// Names of the temporary tables holding shipped rows start with this.
pub const TMP_PREFIX: &str = "__sg_ship_";

/// A table whose rows go to the anchor's data sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shipped {
    /// The logical table name (as the rules spell it, or as written for unruled tables).
    pub logical: String,
    /// Schema qualifier as written (lower case), if any.
    pub schema: Option<String>,
    /// The temporary table on each anchor data source.
    pub tmp: String,
    /// `SELECT * FROM <table> [AS alias] [WHERE <its own predicates>]`.
    pub fetch_sql: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipPlan {
    /// Logical name of the anchor table.
    pub anchor: String,
    pub shipped: Vec<Shipped>,
    /// The statement with every shipped table replaced by its temporary table.
    pub sql: String,
}

impl ShipPlan {
    /// The logical database with each temporary table as a broadcast table (it exists on
    /// every data source the statement runs on).
    pub fn database(&self, db: &LogicalDatabase) -> LogicalDatabase {
        let mut d = db.clone();
        for s in &self.shipped {
            d.tables.insert(
                s.tmp.clone(),
                TableRule::Broadcast {
                    name: s.tmp.clone(),
                    data_sources: d.data_sources.clone(),
                },
            );
        }
        d
    }
}

impl fmt::Display for ShipPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "ShipJoin anchor={}", self.anchor)?;
        for s in &self.shipped {
            writeln!(f, "  ship {} -> {}: {}", s.logical, s.tmp, s.fetch_sql)?;
        }
        writeln!(f, "  run: {}", self.sql)
    }
}

/// One table of the top-level FROM clause.
struct Member<'a> {
    /// Index into `refs.tables`.
    idx: usize,
    /// Its rows may be replaced by NULLs (right side of LEFT JOIN, left side of RIGHT JOIN).
    null_supplying: bool,
    /// The ON condition of the LEFT JOIN that brought it in.
    own_on: Option<&'a Expr>,
    /// Its original (not lower-cased) name and alias, for the rewrite.
    base_name: String,
    alias: Option<String>,
}

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

/// The ship plan for a SELECT whose tables cannot meet on one node, or `None` when the
/// statement is not such a join (or is a shape shipping does not handle). The statement must
/// have no `?` placeholders (the caller inlines bound parameters first).
pub fn ship_plan(ctx: &PlanCtx, stmt: &Statement) -> Option<ShipPlan> {
    let Statement::Query(q) = stmt else {
        return None;
    };
    if q.with.is_some() || !ctx.refs.placeholders.is_empty() || ctx.refs.unmapped {
        return None;
    }
    let SetExpr::Select(select) = q.body.as_ref() else {
        return None;
    };
    let members = members(ctx, select)?;
    let placement = |i: usize| route::placement(ctx.db, &ctx.refs.tables[i]);
    if members
        .iter()
        .any(|m| matches!(placement(m.idx), Placement::Foreign))
    {
        return None;
    }
    // The anchor: the first sharded table no outer join can null-extend, else the first such
    // table that is not broadcast, else such a broadcast table (then one node runs it all).
    let eligible = || members.iter().filter(|m| !m.null_supplying);
    let anchor = eligible()
        .find(|m| matches!(placement(m.idx), Placement::Sharded(_)))
        .or_else(|| eligible().find(|m| !matches!(placement(m.idx), Placement::Broadcast(_))))
        .or_else(|| eligible().next())?;

    // Equalities that make binding tables meet: WHERE, and every join's ON (an outer join's
    // matched rows meet on one node as well).
    let sharding = route::sharding_columns(ctx.db, ctx.refs);
    let cc = ctx.cond_ctx(&sharding);
    let mut eq = Vec::new();
    for e in select.selection.iter().chain(join_ons(select)) {
        collect_equalities(&cc, e, &mut eq);
    }
    let anchor_ds = single_ds(ctx.db, &placement(anchor.idx));
    let colocated = |m: &Member| -> bool {
        match placement(m.idx) {
            Placement::Broadcast(_) => true,
            Placement::Sharded(_) => {
                let (Some(ga), Some(gm)) = (
                    ctx.db.binding_group_of(&ctx.refs.tables[anchor.idx].name),
                    ctx.db.binding_group_of(&ctx.refs.tables[m.idx].name),
                ) else {
                    return false;
                };
                let pairs = strategy_column_pairs(ctx, anchor.idx, m.idx);
                ga == gm
                    && !pairs.is_empty()
                    && pairs.iter().all(|((a, ca), (b, cb))| {
                        eq.iter().any(|(x, y)| {
                            (x.0 == *a && x.1 == *ca && y.0 == *b && y.1 == *cb)
                                || (x.0 == *b && x.1 == *cb && y.0 == *a && y.1 == *ca)
                        })
                    })
            }
            p => anchor_ds.is_some() && single_ds(ctx.db, &p) == anchor_ds,
        }
    };

    let conjuncts_where: Vec<&Expr> = select
        .selection
        .iter()
        .chain(inner_ons(select))
        .flat_map(conjuncts)
        .collect();
    let mut edits = crate::sql::Edits::new();
    let mut shipped = Vec::new();
    for m in &members {
        if m.idx == anchor.idx || colocated(m) {
            continue;
        }
        let t = &ctx.refs.tables[m.idx];
        let mut own: Vec<&Expr> = Vec::new();
        if !m.null_supplying {
            own.extend(conjuncts_where.iter().copied());
        }
        if let Some(on) = m.own_on {
            own.extend(conjuncts(on));
        }
        let pushed: Vec<String> = own
            .into_iter()
            .filter(|e| belongs_to(ctx, &members, m.idx, e))
            .filter_map(|e| exact_text(ctx, e))
            .collect();
        let (sh, replacement) = ship_one(
            ctx,
            m.idx,
            shipped.len(),
            m.alias.as_deref(),
            &m.base_name,
            &pushed,
        )?;
        edits.replace(t.range.clone(), replacement);
        shipped.push(sh);
    }
    // Subqueries over sharded tables not co-located with the outer row (a correlated
    // subquery joined on part of the key, say): a full copy answers them on every node.
    let nested = super::select::colocated_nested(ctx, q, &sharding);
    for (i, t) in ctx.refs.tables.iter().enumerate() {
        if !nested[i] || !matches!(placement(i), Placement::Sharded(_)) {
            continue;
        }
        let text = ctx.sql.get(t.range.clone())?;
        let base = text.rsplit('.').next()?.trim_matches('`').to_string();
        let (sh, replacement) = ship_one(ctx, i, shipped.len(), t.alias.as_deref(), &base, &[])?;
        edits.replace(t.range.clone(), replacement);
        shipped.push(sh);
    }
    if shipped.is_empty() {
        return None;
    }
    let anchor_t = &ctx.refs.tables[anchor.idx];
    Some(ShipPlan {
        anchor: ctx
            .db
            .table(&anchor_t.name)
            .map(|r| r.name().to_string())
            .unwrap_or_else(|| anchor.base_name.clone()),
        shipped,
        sql: edits.apply(ctx.sql),
    })
}

/// The shipped entry for table reference `idx` (the `k`-th copy) and the text replacing its
/// name in the statement. `pushed`: its own predicates, for the fetch.
fn ship_one(
    ctx: &PlanCtx,
    idx: usize,
    k: usize,
    alias: Option<&str>,
    base_name: &str,
    pushed: &[String],
) -> Option<(Shipped, String)> {
    let t = &ctx.refs.tables[idx];
    let tmp = format!("{TMP_PREFIX}{k}");
    let name_text = ctx.sql.get(t.range.clone())?;
    let alias_sql = alias
        .map(|a| format!(" AS {}", crate::rewrite::ident(a)))
        .unwrap_or_default();
    let mut fetch_sql = format!("SELECT * FROM {name_text}{alias_sql}");
    if !pushed.is_empty() {
        fetch_sql.push_str(" WHERE ");
        fetch_sql.push_str(
            &pushed
                .iter()
                .map(|p| format!("({p})"))
                .collect::<Vec<_>>()
                .join(" AND "),
        );
    }
    // Unaliased references keep their name as the alias, so `t.col` still resolves.
    let replacement = match alias {
        Some(_) => tmp.clone(),
        None => format!("{tmp} AS {}", crate::rewrite::ident(base_name)),
    };
    let logical = ctx
        .db
        .table(&t.name)
        .map(|r| r.name().to_string())
        .unwrap_or_else(|| base_name.to_string());
    Some((
        Shipped {
            logical,
            schema: t.schema.clone(),
            tmp,
            fetch_sql,
        },
        replacement,
    ))
}

/// The tables of the top-level FROM, with outer-join roles; `None` for shapes not handled
/// (derived tables, nested joins, table functions, FULL/NATURAL joins...).
fn members<'a>(ctx: &PlanCtx, select: &'a sqlparser::ast::Select) -> Option<Vec<Member<'a>>> {
    let mut out: Vec<Member<'a>> = Vec::new();
    let member = |tf: &'a TableFactor, null_supplying: bool, own_on: Option<&'a Expr>| {
        let TableFactor::Table { name, alias, .. } = tf else {
            return None;
        };
        Some(Member {
            idx: table_index(ctx, tf)?,
            null_supplying,
            own_on,
            base_name: crate::sql::name_parts(name).last()?.value.clone(),
            alias: alias.as_ref().map(|a| a.name.value.clone()),
        })
    };
    for twj in &select.from {
        let start = out.len();
        out.push(member(&twj.relation, false, None)?);
        for j in &twj.joins {
            match &j.join_operator {
                JoinOperator::Join(c)
                | JoinOperator::Inner(c)
                | JoinOperator::StraightJoin(c)
                | JoinOperator::CrossJoin(c)
                    if !matches!(c, JoinConstraint::Natural) =>
                {
                    out.push(member(&j.relation, false, None)?)
                }
                JoinOperator::Left(c) | JoinOperator::LeftOuter(c) => {
                    let on = match c {
                        JoinConstraint::On(e) => Some(e),
                        JoinConstraint::Using(_) => None,
                        _ => return None,
                    };
                    out.push(member(&j.relation, true, on)?)
                }
                JoinOperator::Right(c) | JoinOperator::RightOuter(c)
                    if !matches!(c, JoinConstraint::Natural) =>
                {
                    for m in &mut out[start..] {
                        m.null_supplying = true;
                    }
                    out.push(member(&j.relation, false, None)?)
                }
                _ => return None,
            }
        }
    }
    Some(out)
}

pub(super) fn join_ons(select: &sqlparser::ast::Select) -> impl Iterator<Item = &Expr> {
    select
        .from
        .iter()
        .flat_map(|t| &t.joins)
        .filter_map(|j| match &j.join_operator {
            JoinOperator::Join(JoinConstraint::On(e))
            | JoinOperator::Inner(JoinConstraint::On(e))
            | JoinOperator::StraightJoin(JoinConstraint::On(e))
            | JoinOperator::Left(JoinConstraint::On(e))
            | JoinOperator::LeftOuter(JoinConstraint::On(e))
            | JoinOperator::Right(JoinConstraint::On(e))
            | JoinOperator::RightOuter(JoinConstraint::On(e)) => Some(e),
            _ => None,
        })
}

/// ON conditions of inner joins: they filter every result row, like WHERE.
fn inner_ons(select: &sqlparser::ast::Select) -> impl Iterator<Item = &Expr> {
    select
        .from
        .iter()
        .flat_map(|t| &t.joins)
        .filter_map(|j| match &j.join_operator {
            JoinOperator::Join(JoinConstraint::On(e))
            | JoinOperator::Inner(JoinConstraint::On(e))
            | JoinOperator::StraightJoin(JoinConstraint::On(e)) => Some(e),
            _ => None,
        })
}

/// The AND-ed parts of a condition.
fn conjuncts(e: &Expr) -> Vec<&Expr> {
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

fn single_ds<'a>(db: &'a LogicalDatabase, p: &Placement<'a>) -> Option<&'a str> {
    match p {
        Placement::Single(ds) => Some(ds),
        Placement::Default => Some(db.default_data_source.as_str()),
        _ => None,
    }
}

/// Does the condition read only columns of table `idx` (and nothing volatile, no subquery,
/// no variable)? Unqualified columns must belong to that table alone among the FROM tables.
fn belongs_to(ctx: &PlanCtx, members: &[Member], idx: usize, e: &Expr) -> bool {
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
                match self.has_column(m.idx, col) {
                    Some(false) => {}
                    Some(true) if m.idx == self.idx => {}
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
                    let name = f.name.to_string().to_ascii_lowercase();
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
fn exact_text(ctx: &PlanCtx, e: &Expr) -> Option<String> {
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

/// The DDL of a physical table turned into a temporary table named `tmp`: same columns,
/// types, collations and indexes; no foreign keys or partitioning (temporary tables take
/// neither). `None` when the text does not look like `SHOW CREATE TABLE` output.
pub fn temporary_ddl(ddl: &str, tmp: &str) -> Option<String> {
    let rest = ddl.trim_start().strip_prefix("CREATE TABLE ")?;
    // The name: one quoted identifier (backticks, or double quotes under ANSI_QUOTES).
    let q = rest.chars().next()?;
    if q != '`' && q != '"' {
        return None;
    }
    let mut end = None;
    let b = rest.as_bytes();
    let mut i = 1;
    while i < b.len() {
        if b[i] == q as u8 {
            if b.get(i + 1) == Some(&(q as u8)) {
                i += 2;
                continue;
            }
            end = Some(i);
            break;
        }
        i += 1;
    }
    let body = &rest[end? + 1..];
    let mut lines: Vec<&str> = Vec::new();
    for line in body.lines() {
        let t = line.trim_start();
        if t.starts_with("CONSTRAINT") && t.contains("FOREIGN KEY") || t.starts_with("FOREIGN KEY")
        {
            continue;
        }
        if t.starts_with("PARTITION BY") || t.starts_with("/*!50100 PARTITION BY") {
            break;
        }
        lines.push(line);
    }
    // A dropped last definition leaves a trailing comma before `)`.
    let mut out = String::new();
    for (k, line) in lines.iter().enumerate() {
        let next_closes = lines
            .get(k + 1)
            .is_some_and(|n| n.trim_start().starts_with(')'));
        let l = if next_closes {
            line.trim_end().trim_end_matches(',')
        } else {
            line
        };
        out.push_str(l);
        out.push('\n');
    }
    Some(format!(
        "CREATE TEMPORARY TABLE {q}{tmp}{q}{}",
        out.trim_end()
    ))
}
