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

use super::colocate::{collect_equalities, strategy_column_pairs, table_index};
use super::PlanCtx;
use crate::route::{self, Placement};
use crate::rules::{LogicalDatabase, TableRule};
use sqlparser::ast::{
    Expr, JoinConstraint, JoinOperator, SetExpr, Spanned, Statement, TableFactor,
};
use std::fmt;

mod ddl;
mod filter;
mod reduce;
pub use ddl::{derived_ddl, quoted, temporary_ddl};
use filter::{belongs_to, conjuncts, exact_text};
pub use reduce::{Reduce, MAX_KEYS};

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
    /// `SELECT * FROM <table> [AS alias] [WHERE <its own predicates>]`, or a derived
    /// table's query.
    pub fetch_sql: String,
    /// Narrow the fetch to the anchor's values of a joined column (see `reduce.rs`).
    pub reduce: Option<Reduce>,
    /// The fetch has a WHERE clause (predicates pushed into it).
    pub filtered: bool,
    /// A derived table (its copy is typed from the fetch's result metadata), and whether
    /// MariaDB would merge it into the outer query (its columns then read as the derived
    /// table's own) rather than materialise it (they read as the derived query's columns).
    pub derived: Option<bool>,
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
            if let Some(r) = &s.reduce {
                writeln!(f, "  keys {} for {}: {}", r.column, s.logical, r.keys_sql)?;
            }
            writeln!(f, "  ship {} -> {}: {}", s.logical, s.tmp, s.fetch_sql)?;
        }
        writeln!(f, "  run: {}", self.sql)
    }
}

/// One table of the top-level FROM clause.
pub(super) struct Member<'a> {
    /// Index into `refs.tables` (`None` for a derived table).
    idx: Option<usize>,
    /// A derived table: the byte range of `(SELECT ...)` and the query's text.
    derived: Option<(std::ops::Range<usize>, String)>,
    /// A derived table MariaDB merges into the outer query (no grouping, DISTINCT, LIMIT...).
    mergeable: bool,
    /// A reference to a CTE of the statement (`derived` holds its name's range and fetch).
    cte: bool,
    /// A merged derived table or CTE that is `SELECT * FROM t ...`: MariaDB reports `t` as
    /// its columns' origin (named columns report the derived table's alias).
    star_origin: Option<String>,
    /// Its rows may be replaced by NULLs (right side of LEFT JOIN, left side of RIGHT JOIN).
    null_supplying: bool,
    /// The ON condition of the LEFT JOIN that brought it in.
    own_on: Option<&'a Expr>,
    /// Its original (not lower-cased) name and alias, for the rewrite.
    base_name: String,
    alias: Option<String>,
}

/// The ship plan for a SELECT whose tables cannot meet on one node, or `None` when the
/// statement is not such a join (or is a shape shipping does not handle). The statement must
/// have no `?` placeholders (the caller inlines bound parameters first).
pub fn ship_plan(ctx: &PlanCtx, stmt: &Statement) -> Option<ShipPlan> {
    let Statement::Query(q) = stmt else {
        return None;
    };
    if !ctx.refs.placeholders.is_empty() || ctx.refs.unmapped {
        return None;
    }
    let SetExpr::Select(select) = q.body.as_ref() else {
        return None;
    };
    let ctes = ctes(ctx, q)?;
    let members = members(ctx, select, &ctes)?;
    let in_with = |r: &std::ops::Range<usize>| {
        ctes.first()
            .is_some_and(|c| c.with_range.start <= r.start && r.end <= c.with_range.end)
    };
    // A CTE named inside a subquery would lose its definition.
    for (t, nested) in ctx.refs.tables.iter().zip(&ctx.refs.nested) {
        if *nested
            && !in_with(&t.range)
            && t.schema.is_none()
            && ctes.iter().any(|c| c.name == t.name)
        {
            return None;
        }
    }
    let placement = |i: usize| route::placement(ctx.db, &ctx.refs.tables[i]);
    if members
        .iter()
        .filter_map(|m| m.idx)
        .any(|i| matches!(placement(i), Placement::Foreign))
    {
        return None;
    }
    // The anchor: the first sharded table no outer join can null-extend, else the first such
    // table that is not broadcast, else such a broadcast table; derived tables are always
    // shipped. Without an anchor, everything is shipped to one node.
    let eligible = || {
        members
            .iter()
            .filter(|m| !m.null_supplying)
            .filter_map(|m| Some((m.idx?, m)))
    };
    let anchor = eligible()
        .find(|(i, _)| matches!(placement(*i), Placement::Sharded(_)))
        .or_else(|| eligible().find(|(i, _)| !matches!(placement(*i), Placement::Broadcast(_))))
        .or_else(|| eligible().next());

    // Equalities that make binding tables meet: WHERE, and every join's ON (an outer join's
    // matched rows meet on one node as well).
    let sharding = route::sharding_columns(ctx.db, ctx.refs);
    let cc = ctx.cond_ctx(&sharding);
    let mut eq = Vec::new();
    for e in select.selection.iter().chain(join_ons(&select.from)) {
        collect_equalities(&cc, e, &mut eq);
    }
    let anchor_ds = anchor.and_then(|(a, _)| single_ds(ctx.db, &placement(a)));
    let colocated = |idx: usize| -> bool {
        match placement(idx) {
            Placement::Broadcast(_) => true,
            Placement::Sharded(_) => {
                let Some((a, _)) = anchor else {
                    return false;
                };
                let (Some(ga), Some(gm)) = (
                    ctx.db.binding_group_of(&ctx.refs.tables[a].name),
                    ctx.db.binding_group_of(&ctx.refs.tables[idx].name),
                ) else {
                    return false;
                };
                let pairs = strategy_column_pairs(ctx, a, idx);
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
    // The anchor's own predicates and FROM text, for reductions.
    let anchor_side = anchor.and_then(|(a, am)| {
        let pushed: Vec<String> = conjuncts_where
            .iter()
            .filter(|e| belongs_to(ctx, &members, a, e))
            .filter_map(|e| exact_text(ctx, e))
            .collect();
        let name = ctx.sql.get(ctx.refs.tables[a].range.clone())?;
        let alias = am
            .alias
            .as_deref()
            .map(|x| format!(" AS {}", crate::rewrite::ident(x)))
            .unwrap_or_default();
        Some(((a, am), format!("{name}{alias}"), pushed))
    });
    let mut edits = crate::sql::Edits::new();
    let mut shipped = Vec::new();
    for m in &members {
        let Some(idx) = m.idx else {
            // A derived table or CTE: its query's rows, in a table typed from its result.
            let (range, query) = m.derived.as_ref()?;
            let tmp = format!("{TMP_PREFIX}{}", shipped.len());
            let alias = match (&m.alias, m.cte) {
                (Some(a), _) => {
                    edits.replace(range.clone(), tmp.clone());
                    a.clone()
                }
                (None, true) => {
                    // An unaliased CTE reference keeps the CTE's name as its alias.
                    edits.replace(
                        range.clone(),
                        format!("{tmp} AS {}", crate::rewrite::ident(&m.base_name)),
                    );
                    m.base_name.clone()
                }
                (None, false) => return None,
            };
            shipped.push(Shipped {
                logical: match &m.star_origin {
                    Some(t) if m.mergeable => t.clone(),
                    _ => alias,
                },
                schema: None,
                tmp,
                fetch_sql: query.clone(),
                reduce: None,
                filtered: false,
                derived: Some(m.mergeable),
            });
            continue;
        };
        if anchor.is_some_and(|(a, _)| a == idx) || colocated(idx) {
            continue;
        }
        let t = &ctx.refs.tables[idx];
        let mut own: Vec<&Expr> = Vec::new();
        if !m.null_supplying {
            own.extend(conjuncts_where.iter().copied());
        }
        if let Some(on) = m.own_on {
            own.extend(conjuncts(on));
        }
        let reduce = anchor_side
            .as_ref()
            .and_then(|(a, from, preds)| reduce::reduction(ctx, idx, *a, from, preds, &own));
        let pushed: Vec<String> = own
            .into_iter()
            .filter(|e| belongs_to(ctx, &members, idx, e))
            .filter_map(|e| exact_text(ctx, e))
            .collect();
        let (mut sh, replacement) = ship_one(
            ctx,
            idx,
            shipped.len(),
            m.alias.as_deref(),
            &m.base_name,
            &pushed,
        )?;
        sh.reduce = reduce;
        edits.replace(t.range.clone(), replacement);
        shipped.push(sh);
    }
    // Subqueries over sharded tables not co-located with the outer row (a correlated
    // subquery joined on part of the key, say): a full copy answers them on every node.
    let nested = super::colocate::colocated_nested(ctx, q, &sharding);
    let in_derived = |r: &std::ops::Range<usize>| {
        members
            .iter()
            .filter_map(|m| m.derived.as_ref())
            .any(|(d, _)| d.start <= r.start && r.end <= d.end)
    };
    for (i, t) in ctx.refs.tables.iter().enumerate() {
        if !nested[i]
            || !matches!(placement(i), Placement::Sharded(_))
            || in_derived(&t.range)
            || in_with(&t.range)
        {
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
    // The WITH clause goes: its tables are shipped.
    if let Some(c) = ctes.first() {
        edits.replace(c.with_range.clone(), String::new());
    }
    let anchor = match anchor {
        Some((a, m)) => ctx
            .db
            .table(&ctx.refs.tables[a].name)
            .map(|r| r.name().to_string())
            .unwrap_or_else(|| m.base_name.clone()),
        None => "(one node)".to_string(),
    };
    Some(ShipPlan {
        anchor,
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
            reduce: None,
            filtered: !pushed.is_empty(),
            derived: None,
        },
        replacement,
    ))
}

/// `SELECT * FROM t [WHERE ...]` (one table, only `*`): the logical name of `t`.
fn star_origin(ctx: &PlanCtx, q: &sqlparser::ast::Query, ctes: &[&str]) -> Option<String> {
    let SetExpr::Select(s) = q.body.as_ref() else {
        return None;
    };
    let [twj] = s.from.as_slice() else {
        return None;
    };
    if !twj.joins.is_empty()
        || s.projection.len() != 1
        || !matches!(s.projection[0], sqlparser::ast::SelectItem::Wildcard(_))
    {
        return None;
    }
    let TableFactor::Table { name, .. } = &twj.relation else {
        return None;
    };
    let base = crate::sql::name_parts(name).last()?.value.clone();
    // A CTE is no table: its columns' origin is its own business.
    if ctes.contains(&base.to_ascii_lowercase().as_str()) {
        return None;
    }
    Some(
        ctx.db
            .table(&base.to_ascii_lowercase())
            .map(|r| r.name().to_string())
            .unwrap_or(base),
    )
}

/// Would MariaDB merge this derived table into the outer query (`derived_merge`)? Not with
/// grouping, aggregates, DISTINCT, HAVING, LIMIT, set operations or window functions, nor
/// without a table (`SELECT 1 AS x`).
fn mergeable(q: &sqlparser::ast::Query) -> bool {
    let SetExpr::Select(s) = q.body.as_ref() else {
        return false;
    };
    !s.from.is_empty()
        && q.limit_clause.is_none()
        && q.with.is_none()
        && !super::aggregate::is_grouped(q, s)
        && super::select::window_function(q).is_none()
}

/// A common table expression of the statement, shipped like a derived table.
struct CteDef {
    /// Lower case.
    name: String,
    /// Its query, preceded by the CTEs before it (`WITH a AS (...) SELECT ... FROM a`).
    fetch_sql: String,
    mergeable: bool,
    star_origin: Option<String>,
    /// The whole `WITH ...` clause (the same in every entry).
    with_range: std::ops::Range<usize>,
}

/// The statement's CTEs; `None` for shapes not shipped (RECURSIVE, column lists, text that
/// does not read back).
fn ctes(ctx: &PlanCtx, q: &sqlparser::ast::Query) -> Option<Vec<CteDef>> {
    let Some(with) = &q.with else {
        return Some(Vec::new());
    };
    if with.recursive {
        return None;
    }
    let start = ctx.sm.range(with.with_token.0.span)?.start;
    let mut ends = Vec::new();
    for c in &with.cte_tables {
        ends.push(ctx.sm.range(c.closing_paren_token.0.span)?.end);
    }
    let end = *ends.last()?;
    let mut out = Vec::new();
    let mut defs: Vec<(String, String, String)> = Vec::new(); // (name, definition, query)
    for (i, c) in with.cte_tables.iter().enumerate() {
        if !c.alias.columns.is_empty() || c.from.is_some() {
            return None;
        }
        let (_, text) = derived_text(ctx, &c.query)?;
        let def_start = ctx.sm.range(c.alias.name.span)?.start;
        let name = c.alias.name.value.to_ascii_lowercase();
        // The earlier CTEs it names, directly or through each other, in order.
        let mut needed = vec![false; i];
        let mut todo = vec![text.clone()];
        while let Some(t) = todo.pop() {
            let words: std::collections::HashSet<String> =
                crate::sql::words(&t).into_iter().collect();
            for (j, (n, _, q)) in defs.iter().enumerate() {
                if !needed[j] && words.contains(n) {
                    needed[j] = true;
                    todo.push(q.clone());
                }
            }
        }
        let used: Vec<&str> = defs
            .iter()
            .zip(&needed)
            .filter(|(_, n)| **n)
            .map(|(d, _)| d.1.as_str())
            .collect();
        let fetch_sql = if used.is_empty() {
            text.clone()
        } else {
            format!("WITH {} {text}", used.join(", "))
        };
        defs.push((name, ctx.sql.get(def_start..ends[i])?.to_string(), text));
        out.push(CteDef {
            name: c.alias.name.value.to_ascii_lowercase(),
            fetch_sql,
            mergeable: mergeable(&c.query),
            star_origin: star_origin(
                ctx,
                &c.query,
                &defs.iter().map(|d| d.0.as_str()).collect::<Vec<_>>(),
            ),
            with_range: start..end,
        });
    }
    Some(out)
}

/// A derived table's `(SELECT ...)` range and its query text (when the text reads back as
/// the same query).
fn derived_text(
    ctx: &PlanCtx,
    q: &sqlparser::ast::Query,
) -> Option<(std::ops::Range<usize>, String)> {
    let r = ctx.sm.range(q.span())?;
    let open = crate::sql::clauses::open_paren_before(ctx.sql, r.start)?;
    let inner = crate::sql::clauses::paren_group(ctx.sql, open)?;
    let text = ctx.sql.get(inner.clone())?.trim().to_string();
    let Ok(Statement::Query(back)) = crate::sql::parse_one(&crate::sql::tolerant_text(&text))
    else {
        return None;
    };
    (back.to_string() == q.to_string()).then_some((open..inner.end + 1, text))
}

/// The tables of the top-level FROM, with outer-join roles; `None` for shapes not handled
/// (derived tables, nested joins, table functions, FULL/NATURAL joins...).
fn members<'a>(
    ctx: &PlanCtx,
    select: &'a sqlparser::ast::Select,
    ctes: &[CteDef],
) -> Option<Vec<Member<'a>>> {
    let mut out: Vec<Member<'a>> = Vec::new();
    let member = |tf: &'a TableFactor, null_supplying: bool, own_on: Option<&'a Expr>| {
        if let TableFactor::Table { name, alias, .. } = tf {
            let parts = crate::sql::name_parts(name);
            if let [one] = parts.as_slice() {
                if let Some(c) = ctes
                    .iter()
                    .find(|c| c.name == one.value.to_ascii_lowercase())
                {
                    let idx = table_index(ctx, tf)?;
                    return Some(Member {
                        idx: None,
                        derived: Some((ctx.refs.tables[idx].range.clone(), c.fetch_sql.clone())),
                        mergeable: c.mergeable,
                        cte: true,
                        star_origin: c.star_origin.clone(),
                        null_supplying,
                        own_on,
                        base_name: one.value.clone(),
                        alias: alias.as_ref().map(|a| a.name.value.clone()),
                    });
                }
            }
        }
        if let TableFactor::Derived {
            lateral: false,
            subquery,
            alias: Some(alias),
            ..
        } = tf
        {
            if !alias.columns.is_empty() {
                return None;
            }
            let (range, text) = derived_text(ctx, subquery)?;
            return Some(Member {
                idx: None,
                derived: Some((range, text)),
                mergeable: mergeable(subquery),
                cte: false,
                star_origin: star_origin(
                    ctx,
                    subquery,
                    &ctes.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
                ),
                null_supplying,
                own_on,
                base_name: alias.name.value.clone(),
                alias: Some(alias.name.value.clone()),
            });
        }
        let TableFactor::Table { name, alias, .. } = tf else {
            return None;
        };
        Some(Member {
            idx: Some(table_index(ctx, tf)?),
            derived: None,
            mergeable: false,
            cte: false,
            star_origin: None,
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

pub(super) fn join_ons(from: &[sqlparser::ast::TableWithJoins]) -> impl Iterator<Item = &Expr> {
    from.iter()
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

fn single_ds<'a>(db: &'a LogicalDatabase, p: &Placement<'a>) -> Option<&'a str> {
    match p {
        Placement::Single(ds) => Some(ds),
        Placement::Default => Some(db.default_data_source.as_str()),
        _ => None,
    }
}
