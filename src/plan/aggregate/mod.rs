//! Cross-shard grouping: GROUP BY, aggregates, DISTINCT, HAVING and ORDER BY/LIMIT after
//! grouping. Each shard runs one query that groups by the keys and returns partial aggregates
//! (AVG as SUM + COUNT; DISTINCT arguments as extra group keys), sorted by the group keys; the
//! proxy merges the sorted streams, combines partials per group, computes the select list,
//! filters by HAVING, sorts if needed and applies LIMIT. Column metadata comes from MariaDB
//! itself: the original statement runs with `LIMIT 0` on the first node.

mod builder;
mod concat;
mod sql;

use super::{NodeSql, PlanCtx};
use crate::error::{SqlError, SqlResult};
use crate::eval::{self, AggKind};
use crate::route::Route;
use crate::sql::Edits;
use builder::{item_expr, rebase, Builder, PartialSql};
use sql::{locking_clause, metadata_node, primary_key};
use sqlparser::ast::{
    Expr, FunctionArguments, GroupByExpr, OrderByKind, OrderBySort, Query, Select, SelectItem,
};
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// How a logical aggregate is finished from the shard columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AggFinal {
    /// A partial merged by its kind (COUNT sums counts, SUM sums, MIN/MAX compare).
    Partial(usize),
    /// A column neither grouped nor aggregated: some value of the group (MIN here).
    Any(usize),
    /// AVG = merged SUM / merged COUNT with MySQL's scale rules.
    Avg { sum: usize, count: usize },
    /// An aggregate over distinct values of shard group-key columns (`args` index the
    /// distinct-argument columns).
    Distinct {
        args: Vec<usize>,
        kind: DistinctKind,
    },
    /// GROUP_CONCAT: its arguments and ORDER BY items are distinct-argument columns, so each
    /// shard row is one combination of them with its multiplicity (`count`, a COUNT(*)
    /// partial); `max_len` is a partial holding the backend's `group_concat_max_len`.
    Concat(ConcatSpec),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConcatSpec {
    /// Distinct-argument columns concatenated per row (a NULL among them skips the row).
    pub args: Vec<usize>,
    /// ORDER BY items: distinct-argument column, descending.
    pub order: Vec<(usize, bool)>,
    pub distinct: bool,
    /// The argument columns are `CAST(... AS BINARY)`: their bytes are the value's text in
    /// the connection's character set, not a binary string.
    pub exact: bool,
    pub separator: Vec<u8>,
    /// Partial index of COUNT(*) (the row's multiplicity).
    pub count: usize,
    /// Partial index of MAX(@@SESSION.group_concat_max_len).
    pub max_len: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DistinctKind {
    Count,
    Sum,
    Avg,
}

/// The proxy's part of a grouped query. Shard rows are `[keys][distinct args][partials]`;
/// the proxy's group row is `[keys][outputs][aggregates]`.
#[derive(Debug, Clone)]
pub struct AggPlan {
    /// div_precision_increment of the session (AVG's precision).
    pub div_incr: u8,
    /// Group keys (shard columns `0..keys`).
    pub keys: usize,
    /// Distinct-aggregate arguments (shard columns `keys..keys+distinct_args`).
    pub distinct_args: usize,
    /// Partial aggregates: merge kind, at shard column `keys + distinct_args + i`.
    pub partials: Vec<AggKind>,
    pub aggs: Vec<AggFinal>,
    /// Select-list expressions over the group row.
    pub outputs: Vec<eval::Expr>,
    pub having: Option<eval::Expr>,
    /// Final ORDER BY over the group row; empty when the merged stream is already in order.
    pub order: Vec<(eval::Expr, bool)>,
    /// Sort of the shard streams (shard column, descending) for the k-way merge.
    pub key_order: Vec<(usize, bool)>,
    /// No GROUP BY: exactly one output row, even over no rows.
    pub scalar: bool,
    /// SELECT DISTINCT over grouped output rows.
    pub distinct_outputs: bool,
    /// One server would sort the grouped rows again for the ORDER BY.
    pub resorted: bool,
    pub offset: u64,
    pub limit: Option<u64>,
    /// Partial holding MIN(primary key): the group's representative key values are those of
    /// the shard that saw the group first in primary-key order, as one server would show.
    pub rep: Option<usize>,
    /// Per group key (shard column): the collation to group and sort by when it is not the
    /// reported one (a column's own collation, an explicit COLLATE).
    pub key_collations: Vec<Option<u16>>,
    /// Take group-key and plain-aggregate column metadata from the shard query (whose
    /// grouping runs like the original's on one server) rather than the metadata query.
    pub shard_metadata: bool,
}

impl AggPlan {
    /// Index of the first aggregate in the group row.
    pub fn first_agg(&self) -> usize {
        self.keys + self.outputs.len()
    }
    pub fn first_partial(&self) -> usize {
        self.keys + self.distinct_args
    }
}

/// Shared, comparable handle (plans are compared in tests by their printed form).
#[derive(Debug, Clone)]
pub struct AggHandle(pub Arc<AggPlan>);

impl PartialEq for AggHandle {
    fn eq(&self, other: &Self) -> bool {
        format!("{:?}", self.0) == format!("{:?}", other.0)
    }
}
impl Eq for AggHandle {}

impl fmt::Display for AggHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = &self.0;
        write!(
            f,
            "group: keys={} distinct_args={} partials={:?} having={} final_sort={} distinct={} offset={} limit={:?}",
            a.keys,
            a.distinct_args,
            a.partials,
            a.having.is_some(),
            !a.order.is_empty(),
            a.distinct_outputs,
            a.offset,
            a.limit
        )
    }
}

/// Does this SELECT need grouping in the proxy when it spans several nodes?
pub fn is_grouped(q: &Query, select: &Select) -> bool {
    let order_agg = match &q.order_by {
        Some(ob) => match &ob.kind {
            OrderByKind::Expressions(v) => v.iter().any(|o| contains_aggregate(&o.expr)),
            _ => false,
        },
        None => false,
    };
    let grouped = match &select.group_by {
        GroupByExpr::All(_) => true,
        GroupByExpr::Expressions(e, _) => !e.is_empty(),
    };
    grouped
        || order_agg
        || select.distinct.is_some()
        || select.having.is_some()
        || select.projection.iter().any(|i| match i {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                contains_aggregate(e)
            }
            _ => false,
        })
}

pub(super) const SUPPORTED: &[&str] = &["count", "sum", "avg", "min", "max", "group_concat"];
pub(super) const AGGREGATES: &[&str] = &[
    "count",
    "sum",
    "avg",
    "min",
    "max",
    "group_concat",
    "std",
    "stddev",
    "stddev_pop",
    "stddev_samp",
    "variance",
    "var_pop",
    "var_samp",
    "bit_and",
    "bit_or",
    "bit_xor",
    "json_arrayagg",
    "json_objectagg",
];

pub(super) fn aggregate_name(e: &Expr) -> Option<String> {
    let Expr::Function(f) = e else { return None };
    let name = f.name.to_string().to_ascii_lowercase();
    (AGGREGATES.contains(&name.as_str()) && !matches!(f.args, FunctionArguments::None))
        .then_some(name)
}

pub(super) fn contains_aggregate(e: &Expr) -> bool {
    use sqlparser::ast::{Visit, Visitor};
    use std::ops::ControlFlow;
    /// Depth of subqueries entered: aggregates inside a subquery belong to it.
    struct F(usize);
    impl Visitor for F {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
            if self.0 == 0 && aggregate_name(e).is_some() {
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        }
        fn pre_visit_query(&mut self, _q: &Query) -> ControlFlow<()> {
            self.0 += 1;
            ControlFlow::Continue(())
        }
        fn post_visit_query(&mut self, _q: &Query) -> ControlFlow<()> {
            self.0 = self.0.saturating_sub(1);
            ControlFlow::Continue(())
        }
    }
    e.visit(&mut F(0)).is_break()
}

/// Plan a grouped SELECT over several nodes.
pub fn plan_grouped(
    ctx: &PlanCtx,
    q: &Query,
    select: &Select,
    route: &Route,
    shared: &Edits,
    names: &Edits,
) -> SqlResult<(Vec<NodeSql>, AggHandle)> {
    let lock = locking_clause(ctx, q);
    if select.into.is_some() {
        return Err(SqlError::unsupported("SELECT ... INTO across shards"));
    }
    if let Some(d) = &select.distinct {
        if !matches!(d, sqlparser::ast::Distinct::Distinct) {
            return Err(SqlError::unsupported("DISTINCT ON across shards"));
        }
    }
    let group_exprs: Vec<&Expr> = match &select.group_by {
        GroupByExpr::All(_) => return Err(SqlError::unsupported("GROUP BY ALL")),
        GroupByExpr::Expressions(e, modifiers) => {
            if !modifiers.is_empty() {
                return Err(SqlError::unsupported(
                    "GROUP BY ... WITH ROLLUP across shards",
                ));
            }
            e.iter().collect()
        }
    };
    if select.projection.iter().any(|i| item_expr(i).is_none()) {
        return Err(SqlError::unsupported(
            "* in a grouped or DISTINCT select list across shards",
        ));
    }
    let mut b = Builder {
        ctx,
        select,
        keys: Vec::new(),
        key_ranges: Vec::new(),
        text: crate::sql::clauses::select_text(ctx.sql),
        distinct_args: Vec::new(),
        partials: Vec::new(),
        aggs: Vec::new(),
        error: None,
    };
    let projection = b.projection();
    let grouped = !group_exprs.is_empty();
    let distinct = select.distinct.is_some();
    // Group keys: GROUP BY items (positions and aliases name select items).
    for (gi, g) in group_exprs.iter().enumerate() {
        let (e, r) = match b.select_item_for(g) {
            Some(j) => (
                projection.get(j).map(|(x, _)| *x).ok_or_else(|| {
                    SqlError::new(
                        1054,
                        "42S22",
                        format!("Unknown column '{g}' in 'group statement'"),
                    )
                })?,
                b.item_range(j),
            ),
            None => (
                *g,
                b.text.as_ref().and_then(|t| t.group_by.get(gi).cloned()),
            ),
        };
        if contains_aggregate(e) {
            return Err(SqlError::new(
                1056,
                "42000",
                format!("Can't group on '{g}'"),
            ));
        }
        if b.key_of(e).is_none() {
            b.keys.push(e);
            b.key_ranges.push(r);
        }
    }
    let order_agg = match &q.order_by {
        Some(ob) => match &ob.kind {
            OrderByKind::Expressions(v) => v.iter().any(|o| contains_aggregate(&o.expr)),
            _ => false,
        },
        None => false,
    };
    let any_aggregate = projection.iter().any(|(e, _)| contains_aggregate(e))
        || select.having.as_ref().is_some_and(contains_aggregate)
        || order_agg;
    // DISTINCT without grouping: the select list is the group key.
    if distinct && !grouped && !any_aggregate {
        for (j, (e, _)) in projection.iter().enumerate() {
            if b.key_of(e).is_none() {
                b.keys.push(e);
                b.key_ranges.push(b.item_range(j));
            }
        }
    }
    if select.having.is_some() && !grouped && !any_aggregate {
        return Err(SqlError::unsupported(
            "HAVING without GROUP BY or aggregates across shards",
        ));
    }
    let distinct_outputs = distinct && (grouped || any_aggregate);
    let n_keys = b.keys.len();

    let mut outputs = Vec::with_capacity(projection.len());
    for (e, _) in &projection {
        outputs.push(b.compile(e, false)?);
    }
    let having = match &select.having {
        Some(h) => Some(b.compile(h, true)?),
        None => None,
    };

    // ORDER BY: streaming when every item is a group key; otherwise a final sort.
    let mut key_order: Vec<(usize, bool)> = Vec::new();
    let mut order: Vec<(eval::Expr, bool)> = Vec::new();
    let mut streaming = true;
    if let Some(ob) = &q.order_by {
        let OrderByKind::Expressions(items) = &ob.kind else {
            return Err(SqlError::unsupported("ORDER BY ALL"));
        };
        for o in items {
            let desc = matches!(o.options.sort, Some(OrderBySort::Desc));
            if o.options.nulls_first.is_some() {
                return Err(SqlError::unsupported("NULLS FIRST/LAST"));
            }
            let target = b.select_item_for(&o.expr);
            let expr_for_key = match target {
                Some(j) => projection.get(j).map(|(x, _)| *x),
                None => Some(&o.expr),
            };
            match expr_for_key.and_then(|x| b.key_of(x)) {
                Some(k) if !key_order.iter().any(|(c, _)| *c == k) => key_order.push((k, desc)),
                Some(_) => {}
                None => streaming = false,
            }
            let compiled = match target {
                Some(j) if j < projection.len() => eval::Expr::Col(n_keys + j),
                Some(_) => {
                    return Err(SqlError::new(
                        1054,
                        "42S22",
                        format!("Unknown column '{}' in 'order clause'", o.expr),
                    ))
                }
                None => b.compile(&o.expr, true)?,
            };
            order.push((compiled, desc));
        }
    }
    // Whether one server sorts its grouped rows again (ORDER BY other than a prefix of
    // GROUP BY in its order; it groups in the ORDER BY's own directions).
    let resorted = q.order_by.is_some()
        && !(streaming && key_order.iter().enumerate().all(|(i, &(k, _))| k == i));
    if streaming {
        order.clear();
    } else {
        key_order.clear();
    }
    for k in 0..n_keys {
        if !key_order.iter().any(|(c, _)| *c == k) {
            key_order.push((k, false));
        }
    }
    // Distinct arguments are shard group keys too (after the proxy's keys).
    let n_distinct = b.distinct_args.len();
    for d in 0..n_distinct {
        key_order.push((n_keys + d, false));
    }

    let (offset, limit) = crate::plan::select::limit_values(ctx, q)?;
    let first_agg = n_keys + projection.len();
    for e in outputs.iter_mut() {
        rebase(e, first_agg);
    }
    let mut having = having;
    if let Some(h) = having.as_mut() {
        rebase(h, first_agg);
    }
    for (e, _) in order.iter_mut() {
        rebase(e, first_agg);
    }

    // Representative values: first row in primary-key order, as a full scan would see it.
    let rep = if n_keys > 0 && ctx.refs.tables.len() == 1 {
        primary_key(ctx).map(|pk| {
            b.partial(
                format!("min({pk}) #rep"),
                PartialSql::MinOf(pk),
                AggKind::Min,
            )
        })
    } else {
        None
    };
    let has_distinct_aggs = b
        .aggs
        .iter()
        .any(|(_, a)| matches!(a, AggFinal::Distinct { .. }));
    let has_concat = b.aggs.iter().any(|(_, a)| matches!(a, AggFinal::Concat(_)));
    let key_collations: Vec<Option<u16>> = b.keys.iter().map(|k| ctx.expr_collation(k)).collect();
    let agg = AggPlan {
        div_incr: ctx.eval.div_precision.unwrap_or(crate::eval::DIV_INCR),
        key_collations,
        keys: n_keys,
        distinct_args: n_distinct,
        partials: b.partials.iter().map(|p| p.2).collect(),
        aggs: b.aggs.iter().map(|a| a.1.clone()).collect(),
        outputs,
        having,
        order,
        key_order,
        scalar: !grouped && !(distinct && !any_aggregate),
        distinct_outputs,
        resorted,
        offset,
        limit,
        rep,
        // One server groups through a temporary table unless DISTINCT aggregates make it
        // sort instead (and an ORDER BY after grouping brings the temporary table back).
        // GROUP_CONCAT changes how one server groups: its columns are the metadata query's.
        shard_metadata: n_keys > 0 && !has_concat && (!has_distinct_aggs || !streaming),
    };

    // Per-node shard SQL.
    let Some((from_at, tail)) = b.text.as_ref().map(|t| (t.from, t.from_end)) else {
        return Err(SqlError::unsupported(
            "a grouped query whose FROM clause cannot be located",
        ));
    };
    let mut nodes = Vec::with_capacity(route.units.len() + 1);
    for u in &route.units {
        let mut e = crate::rewrite::table_edits(ctx.refs, u, &ctx.db.name);
        e.extend(shared);
        let text = |r: &Range<usize>| crate::rewrite::rewrite_slice(ctx.sql, r.clone(), &e);
        let mut cols: Vec<String> = Vec::new();
        for (k, r) in b.keys.iter().zip(&b.key_ranges) {
            let r = match r {
                Some(r) => r.clone(),
                None => b.range(k)?,
            };
            cols.push(text(&r));
        }
        for (_, r, exact) in &b.distinct_args {
            cols.push(if *exact {
                format!("CAST({} AS BINARY)", text(r))
            } else {
                text(r)
            });
        }
        for (_, sql, _) in &b.partials {
            cols.push(match sql {
                PartialSql::Whole(r) => text(&r.clone()),
                PartialSql::Wrap(f, r) => format!("{f}({})", text(&r.clone())),
                PartialSql::CountStar => "COUNT(*)".to_string(),
                PartialSql::MinOf(c) => format!("MIN({})", crate::rewrite::ident(c)),
                PartialSql::Text(t) => t.to_string(),
            });
        }
        let mut sql = String::from("SELECT ");
        for (i, c) in cols.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("{c} AS __sg_{i}"));
        }
        sql.push(' ');
        sql.push_str(&text(&(from_at..tail)));
        let n_group = n_keys + n_distinct;
        if n_group > 0 {
            let list: Vec<String> = (0..n_group).map(|i| format!("__sg_{i}")).collect();
            sql.push_str(&format!(" GROUP BY {}", list.join(", ")));
            let ord: Vec<String> = agg
                .key_order
                .iter()
                .map(|(c, d)| format!("__sg_{c}{}", if *d { " DESC" } else { "" }))
                .collect();
            sql.push_str(&format!(" ORDER BY {}", ord.join(", ")));
        }
        if let Some((_, clause)) = &lock {
            // Locking reads lock on every shard (e.g. a consistent SUM inside a transaction).
            sql.push(' ');
            sql.push_str(clause);
        }
        nodes.push(NodeSql {
            data_source: u.data_source.clone(),
            sql,
        });
    }
    let mut meta_edits = shared.clone();
    meta_edits.extend(names);
    nodes.push(metadata_node(
        ctx,
        q,
        route,
        &meta_edits,
        lock.map(|l| l.0),
    )?);
    Ok((nodes, AggHandle(Arc::new(agg))))
}
