//! SELECT planning: route by WHERE/ON predicates; across several nodes, push ORDER BY and
//! LIMIT down and describe the merge.

use super::colocate::{check_joins, colocated_nested, inner_on, linked_conditions, table_index};
use super::{MergeSpec, OrderKey, Plan, PlanCtx};
use crate::error::{SqlError, SqlResult};
use crate::route::{self, RouteInput};
use crate::rules::ShardValue;
use sqlparser::ast::{
    Expr, LimitClause, OrderByKind, OrderBySort, Query, Select, SelectItem, SetExpr, Spanned,
    TableFactor, Value,
};

pub fn plan_query(ctx: &PlanCtx, q: &Query) -> SqlResult<Plan> {
    let db = ctx.db;
    let sharding = route::sharding_columns(db, ctx.refs);
    let any_sharded = sharding.iter().any(|c| !c.is_empty());
    let select = match q.body.as_ref() {
        SetExpr::Select(s) if q.with.is_none() => Some(s.as_ref()),
        _ => None,
    };
    let Some(select) = select else {
        if any_sharded {
            let what = if q.with.is_some() {
                "WITH (common table expressions)"
            } else {
                "UNION / set operations"
            };
            return Err(SqlError::unsupported(format!("{what} over sharded tables")));
        }
        return unicast_plan(ctx, &route::Conditions::new());
    };

    // Predicates that filter every row: WHERE and the ON of inner joins.
    let cc = ctx.cond_ctx(&sharding);
    let mut filters: Vec<&Expr> = select.selection.iter().collect();
    for twj in &select.from {
        for j in &twj.joins {
            if let Some(on) = inner_on(&j.join_operator) {
                filters.push(on);
            }
        }
    }
    let mut conds = route::Conditions::new();
    for f in &filters {
        for (k, v) in cc.extract(f) {
            conds.insert(k, v);
        }
    }
    // Sharded tables that each route to one node of one data source meet there, joined
    // however they are (only a question with two sharded tables or more: the common
    // one-table statement skips it).
    let sharded_refs = sharding.iter().filter(|c| !c.is_empty()).count();
    let single = (sharded_refs >= 2)
        .then(|| {
            let linked = linked_conditions(ctx, &cc, &conds, &filters);
            route::single_node(&RouteInput {
                db,
                refs: ctx.refs,
                conditions: &linked,
                write: false,
                nested: &ctx.refs.nested,
            })
        })
        .flatten();
    let route = match single {
        Some(r) => r,
        None => {
            check_joins(ctx, &select.from, &sharding, &filters)?;
            // Correlated subqueries over tables bound to the outer one, correlated on every
            // sharding column, find their rows on the outer row's node: push them down with it.
            let nested = colocated_nested(ctx, q, &sharding);
            route::route(&RouteInput {
                db,
                refs: ctx.refs,
                conditions: &conds,
                write: false,
                nested: &nested,
            })?
        }
    };
    let params = ctx.param_edits()?;
    // Unaliased select items naming a table (`AVG(t_order.amount)`) keep their written text
    // as the column name, not the physical one.
    let names = route
        .units
        .first()
        .map(|u| item_names(ctx, select, u))
        .unwrap_or_default();
    if route.units.len() == 1 {
        let mut shared = params.clone();
        shared.extend(&names);
        return Ok(Plan {
            kind: route.kind,
            copies: route.copies.clone(),
            nodes: ctx.node_sql(&route, &shared),
            merge: MergeSpec::default(),
            write: false,
            ddl: false,
        });
    }

    if let Some(f) = window_function(q) {
        return Err(SqlError::unsupported(format!(
            "window function {f} OVER (...) across shards"
        )));
    }
    if super::aggregate::is_grouped(q, select) {
        // `SELECT DISTINCT *`: the columns, as the catalog lists them, then plan that.
        if let Some(text) = expand_wildcards(ctx, select) {
            return super::plan_text(ctx, &text);
        }
        let (nodes, agg) = super::aggregate::plan_grouped(ctx, q, select, &route, &params, &names)?;
        return Ok(Plan {
            kind: route.kind,
            copies: Vec::new(),
            nodes,
            merge: MergeSpec {
                aggregate: Some(agg),
                ..MergeSpec::default()
            },
            write: false,
            ddl: false,
        });
    }
    if select.into.is_some() {
        return Err(SqlError::unsupported("SELECT ... INTO across shards"));
    }
    let mut shared = params;
    shared.extend(&names);
    let mut merge = MergeSpec::default();
    let mut hidden_exprs: Vec<std::ops::Range<usize>> = Vec::new();
    if let Some(ob) = &q.order_by {
        let OrderByKind::Expressions(exprs) = &ob.kind else {
            return Err(SqlError::unsupported("ORDER BY ALL"));
        };
        let st = crate::sql::clauses::select_text(ctx.sql);
        for (oi, o) in exprs.iter().enumerate() {
            let desc = matches!(o.options.sort, Some(OrderBySort::Desc));
            let key = match order_target(select, &o.expr) {
                Some(i) => OrderKey::Index(i, desc),
                None => {
                    // The item's text by tokens (spans of SUBSTRING(...), -x are incomplete);
                    // an alias of a select item (after a `*`) orders by that item's expression.
                    let aliased = alias_item(select, &o.expr).and_then(|(j, alias)| {
                        let r = st.as_ref()?.items.get(j)?.clone();
                        Some(crate::sql::clauses::without_alias(ctx.sql, r, alias))
                    });
                    let r = aliased
                        .or_else(|| st.as_ref().and_then(|t| t.order_by.get(oi).cloned()))
                        .or_else(|| {
                            ctx.sm
                                .range(o.expr.span())
                                .filter(|r| !r.is_empty())
                                .map(|r| crate::sql::edit::balanced(ctx.sql, r))
                        })
                        .ok_or_else(|| {
                            SqlError::unsupported(format!("ORDER BY {} across shards", o.expr))
                        })?;
                    hidden_exprs.push(r);
                    OrderKey::Hidden(hidden_exprs.len() - 1, desc)
                }
            };
            merge.order_by.push(key);
            // The collation strings compare by (the item's own, when ordering by position
            // or alias).
            let target_expr = match key {
                OrderKey::Index(i, _) => match select.projection.get(i) {
                    Some(SelectItem::UnnamedExpr(x))
                    | Some(SelectItem::ExprWithAlias { expr: x, .. }) => x,
                    _ => &o.expr,
                },
                OrderKey::Hidden(..) => &o.expr,
            };
            merge.key_collations.push(ctx.expr_collation(target_expr));
        }
    }
    merge.hidden = hidden_exprs.len();
    let insert_at = if hidden_exprs.is_empty() {
        None
    } else {
        Some(hidden_insert_point(ctx, select)?)
    };

    if q.limit_clause.is_some() {
        let (limit, offset) = limit_exprs(q)?;
        let (off, lim) = limit_values(ctx, q)?;
        merge.offset = off;
        merge.limit = lim;
        // Each node returns its first offset+limit rows; the merge skips and cuts.
        if let (Some(e), Some(l)) = (limit, lim) {
            let r = expr_range(ctx, e)?;
            shared.replace(r, off.saturating_add(l).to_string());
        }
        if let Some(e) = offset {
            let r = expr_range(ctx, e)?;
            shared.replace(r, "0");
        }
    }

    let mut nodes = Vec::with_capacity(route.units.len());
    for u in &route.units {
        let mut e = crate::rewrite::table_edits(ctx.refs, u, &db.name);
        if let Some(at) = insert_at {
            let mut text = String::new();
            for (k, r) in hidden_exprs.iter().enumerate() {
                let mut inner = e.clone();
                inner.extend(&shared);
                text.push_str(&format!(
                    ", {} AS __sg_o{k}",
                    crate::rewrite::rewrite_slice(ctx.sql, r.clone(), &inner)
                ));
            }
            text.push(' ');
            e.insert(at, text);
        }
        e.extend(&shared);
        nodes.push(super::NodeSql {
            data_source: u.data_source.clone(),
            sql: e.apply(ctx.sql),
        });
    }
    Ok(Plan {
        kind: route.kind,
        copies: Vec::new(),
        nodes,
        merge,
        write: false,
        ddl: false,
    })
}

fn unicast_plan(ctx: &PlanCtx, conds: &route::Conditions) -> SqlResult<Plan> {
    let route = route::route(&RouteInput {
        db: ctx.db,
        refs: ctx.refs,
        conditions: conds,
        write: false,
        nested: &ctx.refs.nested,
    })?;
    let params = ctx.param_edits()?;
    Ok(Plan {
        kind: route.kind,
        copies: route.copies.clone(),
        nodes: ctx.node_sql(&route, &params),
        merge: MergeSpec::default(),
        write: false,
        ddl: false,
    })
}

/// The statement with each `*` / `t.*` of its select list replaced by the columns of the
/// tables it stands for (catalog order, qualified), or `None` without a `*` or when a table
/// is not in the catalog (a derived table, say).
fn expand_wildcards(ctx: &PlanCtx, select: &Select) -> Option<String> {
    let wild = |i: &SelectItem| {
        matches!(
            i,
            SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..)
        )
    };
    if !select.projection.iter().any(wild) {
        return None;
    }
    let catalog = ctx.catalog?;
    let st = crate::sql::clauses::select_text(ctx.sql)?;
    if st.items.len() != select.projection.len() {
        return None;
    }
    // The top-level FROM tables in order, each as (qualifier text, reference index).
    let mut from: Vec<(String, usize)> = Vec::new();
    for twj in &select.from {
        for tf in std::iter::once(&twj.relation).chain(twj.joins.iter().map(|j| &j.relation)) {
            let TableFactor::Table { name, alias, .. } = tf else {
                return None;
            };
            let qual = match alias {
                Some(a) => crate::rewrite::ident(&a.name.value),
                None => crate::rewrite::ident(&crate::sql::name_parts(name).last()?.value),
            };
            from.push((qual, table_index(ctx, tf)?));
        }
    }
    let columns = |qual: &str, i: usize| -> Option<Vec<String>> {
        let t = &ctx.refs.tables[i];
        let schema = t.schema.clone().unwrap_or_else(|| ctx.db.name.clone());
        let ts = catalog.get(&(schema, t.name.clone()))?;
        Some(
            ts.columns
                .iter()
                .map(|c| format!("{qual}.`{}`", c.name.replace('`', "``")))
                .collect(),
        )
    };
    let mut edits = crate::sql::Edits::new();
    for (item, r) in select.projection.iter().zip(&st.items) {
        let cols: Vec<String> = match item {
            SelectItem::Wildcard(_) => {
                let mut v = Vec::new();
                for (q, i) in &from {
                    v.extend(columns(q, *i)?);
                }
                v
            }
            SelectItem::QualifiedWildcard(..) => {
                let text = ctx.sql.get(r.clone())?;
                let qual = text
                    .trim()
                    .strip_suffix('*')?
                    .trim_end()
                    .strip_suffix('.')?;
                let (_, i) = from.iter().find(|(q, _)| {
                    q.trim_matches('`')
                        .eq_ignore_ascii_case(qual.trim_matches('`'))
                })?;
                columns(qual, *i)?
            }
            _ => continue,
        };
        edits.replace(r.clone(), cols.join(", "));
    }
    Some(edits.apply(ctx.sql))
}

/// The first window function (`f(...) OVER ...`) in the statement, by name.
pub(super) fn window_function(q: &Query) -> Option<String> {
    use sqlparser::ast::{Visit, Visitor};
    use std::ops::ControlFlow;
    struct W(Option<String>);
    impl Visitor for W {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
            if let Expr::Function(f) = e {
                if f.over.is_some() {
                    self.0 = Some(f.name.to_string().to_ascii_uppercase());
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut w = W(None);
    let _ = q.visit(&mut w);
    w.0
}

/// `AS <written text>` for unaliased select items whose text changes when table names are
/// rewritten (MySQL names such a column by the text as written).
fn item_names(ctx: &PlanCtx, select: &Select, unit: &route::RouteUnit) -> crate::sql::Edits {
    let mut e = crate::sql::Edits::new();
    // Only unaliased items that are neither a plain column nor `*` can need a name; most
    // statements have none, and then the statement need not be tokenized again.
    let needs_name = |item: &SelectItem| match item {
        SelectItem::UnnamedExpr(x) => {
            !matches!(x, Expr::Identifier(_) | Expr::CompoundIdentifier(_))
        }
        _ => false,
    };
    if !select.projection.iter().any(needs_name) {
        return e;
    }
    let Some(st) = crate::sql::clauses::select_text(ctx.sql) else {
        return e;
    };
    let tables = crate::rewrite::table_edits(ctx.refs, unit, &ctx.db.name);
    for (item, r) in select.projection.iter().zip(&st.items) {
        let SelectItem::UnnamedExpr(x) = item else {
            continue;
        };
        if matches!(x, Expr::Identifier(_) | Expr::CompoundIdentifier(_)) {
            continue;
        }
        let written = &ctx.sql[r.clone()];
        if crate::rewrite::rewrite_slice(ctx.sql, r.clone(), &tables) != written {
            e.insert(r.end, format!(" AS `{}`", written.replace('`', "``")));
        }
    }
    e
}

/// The select item an ORDER BY identifier names by its alias: (index, alias).
fn alias_item<'a>(select: &'a Select, e: &Expr) -> Option<(usize, &'a str)> {
    let Expr::Identifier(id) = e else { return None };
    select
        .projection
        .iter()
        .enumerate()
        .find_map(|(j, item)| match item {
            SelectItem::ExprWithAlias { alias, .. }
                if alias.value.eq_ignore_ascii_case(&id.value) =>
            {
                Some((j, alias.value.as_str()))
            }
            _ => None,
        })
}

/// The select-list position an ORDER BY item refers to, when it can be known without the
/// result (position, alias, or the same plain column written in the list before any `*`).
fn order_target(select: &Select, e: &Expr) -> Option<usize> {
    if let Expr::Value(v) = e {
        if let Value::Number(n, _) = &v.value {
            let p: usize = n.parse().ok()?;
            return p.checked_sub(1);
        }
    }
    for (i, item) in select.projection.iter().enumerate() {
        match item {
            SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => return None,
            SelectItem::ExprWithAlias { alias, .. } => {
                if let Expr::Identifier(id) = e {
                    if id.value.eq_ignore_ascii_case(&alias.value) {
                        return Some(i);
                    }
                }
            }
            SelectItem::UnnamedExpr(x) if same_column(x, e) => {
                return Some(i);
            }
            _ => {}
        }
    }
    None
}

fn same_column(a: &Expr, b: &Expr) -> bool {
    let parts = |e: &Expr| -> Option<Vec<String>> {
        match e {
            Expr::Identifier(i) => Some(vec![i.value.to_ascii_lowercase()]),
            Expr::CompoundIdentifier(v) => {
                Some(v.iter().map(|i| i.value.to_ascii_lowercase()).collect())
            }
            _ => None,
        }
    };
    matches!((parts(a), parts(b)), (Some(x), Some(y)) if x == y)
}

/// Where to insert hidden columns: just before the FROM keyword of the top select.
pub(crate) fn hidden_insert_point(ctx: &PlanCtx, select: &Select) -> SqlResult<usize> {
    let no =
        || SqlError::unsupported("ORDER BY on a column not in the select list of this statement");
    let first = select.from.first().ok_or_else(no)?;
    let start = ctx.sm.range(first.relation.span()).ok_or_else(no)?.start;
    let before = ctx.sql[..start].trim_end_matches(|c: char| c.is_whitespace() || c == '(');
    let n = before.len();
    if n >= 4 && before[n - 4..].eq_ignore_ascii_case("from") {
        Ok(n - 4)
    } else {
        Err(no())
    }
}

pub(crate) fn expr_range(ctx: &PlanCtx, e: &Expr) -> SqlResult<std::ops::Range<usize>> {
    ctx.sm
        .range(e.span())
        .filter(|r| !r.is_empty())
        .ok_or_else(|| SqlError::unsupported(format!("LIMIT {e}")))
}

/// The LIMIT and OFFSET expressions of a query, in either spelling.
pub(crate) fn limit_exprs(q: &Query) -> SqlResult<(Option<&Expr>, Option<&Expr>)> {
    Ok(match &q.limit_clause {
        None => (None, None),
        Some(LimitClause::LimitOffset {
            limit,
            offset,
            limit_by,
        }) => {
            if !limit_by.is_empty() {
                return Err(SqlError::unsupported("LIMIT BY"));
            }
            (limit.as_ref(), offset.as_ref().map(|o| &o.value))
        }
        Some(LimitClause::OffsetCommaLimit { offset, limit }) => (Some(limit), Some(offset)),
    })
}

/// (offset, limit) of a query: literals or prepared-statement parameters.
pub(crate) fn limit_values(ctx: &PlanCtx, q: &Query) -> SqlResult<(u64, Option<u64>)> {
    let (limit, offset) = limit_exprs(q)?;
    let off = match offset {
        Some(e) => const_u64(ctx, e)?,
        None => 0,
    };
    let lim = match limit {
        Some(e) => Some(const_u64(ctx, e)?),
        None => None,
    };
    Ok((off, lim))
}

/// A LIMIT/OFFSET value: a literal or a prepared-statement parameter.
pub(crate) fn const_u64(ctx: &PlanCtx, e: &Expr) -> SqlResult<u64> {
    let v = match e {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => n.parse::<u64>().ok(),
            Value::Placeholder(_) => {
                let r = ctx.sm.range(v.span);
                let i = r.and_then(|r| ctx.refs.placeholders.iter().position(|x| *x == r));
                match i.and_then(|i| ctx.params.get(i)) {
                    Some(ShardValue::Int(n)) => u64::try_from(*n).ok(),
                    Some(ShardValue::Str(s)) => std::str::from_utf8(s)
                        .ok()
                        .and_then(|s| s.trim().parse().ok()),
                    _ => None,
                }
            }
            _ => None,
        },
        _ => None,
    };
    v.ok_or_else(|| SqlError::unsupported(format!("LIMIT/OFFSET value {e} across shards")))
}
