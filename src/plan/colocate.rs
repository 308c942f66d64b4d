//! Which tables of a SELECT meet on one node: binding tables equal on every sharding
//! column, broadcast tables (never the kept side of an outer join over a sharded table),
//! correlated subqueries bound to the outer table, and values carried across join
//! equalities.

use super::PlanCtx;
use crate::error::{SqlError, SqlResult};
use crate::route::{self, Placement};
use sqlparser::ast::{
    BinaryOperator, Expr, JoinConstraint, JoinOperator, Query, SetExpr, Spanned, TableFactor,
    TableWithJoins,
};

pub(super) fn inner_on(op: &JoinOperator) -> Option<&Expr> {
    match op {
        JoinOperator::Join(JoinConstraint::On(e))
        | JoinOperator::Inner(JoinConstraint::On(e))
        | JoinOperator::StraightJoin(JoinConstraint::On(e)) => Some(e),
        _ => None,
    }
}

/// Several sharded references must be binding tables joined on every sharding column, and a
/// broadcast table must not be the preserved side of an outer join with a sharded table.
pub(super) fn check_joins(
    ctx: &PlanCtx,
    from: &[TableWithJoins],
    sharding: &[Vec<String>],
    filters: &[&Expr],
) -> SqlResult<()> {
    // Nested references (subqueries) are checked by `colocated_nested`.
    let sharded: Vec<usize> = (0..sharding.len())
        .filter(|&i| !sharding[i].is_empty() && !ctx.refs.nested.get(i).copied().unwrap_or(false))
        .collect();
    if sharded.len() > 1 {
        let mut eq: Vec<((usize, String), (usize, String))> = Vec::new();
        let cc = ctx.cond_ctx(sharding);
        for f in filters {
            collect_equalities(&cc, f, &mut eq);
        }
        // An outer join's matched rows meet on one node too.
        for on in super::ship::join_ons(from) {
            collect_equalities(&cc, on, &mut eq);
        }
        let first = sharded[0];
        for &other in &sharded[1..] {
            for col_pair in strategy_column_pairs(ctx, first, other) {
                let ((a, ca), (b, cb)) = col_pair;
                let joined = eq.iter().any(|(x, y)| {
                    (x.0 == a && x.1 == ca && y.0 == b && y.1 == cb)
                        || (x.0 == b && x.1 == cb && y.0 == a && y.1 == ca)
                });
                if !joined {
                    return Err(SqlError::unsupported(format!(
                        "a join of sharded tables {} and {} without equality on sharding column {}",
                        ctx.refs.tables[first].name, ctx.refs.tables[other].name, ca
                    )));
                }
            }
        }
    }
    // Outer joins keeping a broadcast side would repeat its unmatched rows on every shard.
    for twj in from {
        let mut left_has_broadcast = is_broadcast(ctx, &twj.relation);
        let mut left_has_sharded = is_sharded(ctx, &twj.relation);
        for j in &twj.joins {
            let right_b = is_broadcast(ctx, &j.relation);
            let right_s = is_sharded(ctx, &j.relation);
            let bad = match &j.join_operator {
                JoinOperator::Left(_) | JoinOperator::LeftOuter(_) => left_has_broadcast && right_s,
                JoinOperator::Right(_) | JoinOperator::RightOuter(_) => right_b && left_has_sharded,
                JoinOperator::FullOuter(_) => {
                    (left_has_broadcast || right_b) && (left_has_sharded || right_s)
                }
                _ => false,
            };
            if bad {
                return Err(SqlError::unsupported("an outer join that keeps unmatched rows of a broadcast table over a sharded table"));
            }
            left_has_broadcast |= right_b;
            left_has_sharded |= right_s;
        }
    }
    Ok(())
}

pub(super) fn table_index(ctx: &PlanCtx, tf: &TableFactor) -> Option<usize> {
    let TableFactor::Table { name, .. } = tf else {
        return None;
    };
    let r = ctx.sm.range(name.span())?;
    ctx.refs.tables.iter().position(|t| t.range == r)
}

/// A table factor whose rows every node has in full: a broadcast table, or a derived table
/// (or nested join) over no sharded table — such as `(SELECT * FROM t_region) r` or
/// `(SELECT 1 AS x) d`.
fn is_broadcast(ctx: &PlanCtx, tf: &TableFactor) -> bool {
    if let TableFactor::Table { .. } = tf {
        return table_index(ctx, tf).is_some_and(|i| {
            matches!(
                route::placement(ctx.db, &ctx.refs.tables[i]),
                Placement::Broadcast(_)
            )
        });
    }
    let Some(r) = ctx.sm.range(tf.span()) else {
        return true;
    };
    !ctx.refs.tables.iter().any(|t| {
        r.start <= t.range.start
            && t.range.end <= r.end
            && matches!(route::placement(ctx.db, t), Placement::Sharded(_))
    })
}

fn is_sharded(ctx: &PlanCtx, tf: &TableFactor) -> bool {
    match tf {
        TableFactor::Table { .. } => table_index(ctx, tf).is_some_and(|i| {
            matches!(
                route::placement(ctx.db, &ctx.refs.tables[i]),
                Placement::Sharded(_)
            )
        }),
        _ => true,
    }
}

/// Pairs of (ref, column) that must be equal for two binding references to meet on one node.
pub(super) fn strategy_column_pairs(
    ctx: &PlanCtx,
    a: usize,
    b: usize,
) -> Vec<((usize, String), (usize, String))> {
    let (Placement::Sharded(ta), Placement::Sharded(tb)) = (
        route::placement(ctx.db, &ctx.refs.tables[a]),
        route::placement(ctx.db, &ctx.refs.tables[b]),
    ) else {
        return Vec::new();
    };
    let mut v = Vec::new();
    for (sa, sb) in [
        (&ta.database_strategy, &tb.database_strategy),
        (&ta.table_strategy, &tb.table_strategy),
    ] {
        if let (Some(sa), Some(sb)) = (sa, sb) {
            let pair = ((a, sa.column.clone()), (b, sb.column.clone()));
            if !v.contains(&pair) {
                v.push(pair);
            }
        }
    }
    v
}

/// `conds` with values carried across equalities between integer sharding columns:
/// `u.user_id = 3 AND o.user_id = u.user_id` pins `o.user_id` to 3 too. Only with a
/// catalog, and only integers, whose equality is exact (strings compare by collation, and
/// a string and a number compare as numbers).
pub(super) fn linked_conditions(
    ctx: &PlanCtx,
    cc: &route::CondCtx,
    conds: &route::Conditions,
    filters: &[&Expr],
) -> route::Conditions {
    let mut out = conds.clone();
    if ctx.catalog.is_none() {
        return out;
    }
    let mut eq = Vec::new();
    for f in filters {
        collect_equalities(cc, f, &mut eq);
    }
    let int =
        |c: &(usize, String)| cc.column_kind(c.0, &c.1) == Some(crate::catalog::ColKind::Integer);
    loop {
        let mut changed = false;
        for (a, b) in &eq {
            for (x, y) in [(a, b), (b, a)] {
                if out.contains_key(y) || !int(x) || !int(y) {
                    continue;
                }
                if let Some(v) = out.get(x).cloned() {
                    out.insert(y.clone(), v);
                    changed = true;
                }
            }
        }
        if !changed {
            return out;
        }
    }
}

pub(super) fn collect_equalities(
    cc: &route::CondCtx,
    e: &Expr,
    out: &mut Vec<((usize, String), (usize, String))>,
) {
    match e {
        Expr::Nested(e) => collect_equalities(cc, e, out),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            collect_equalities(cc, left, out);
            collect_equalities(cc, right, out);
        }
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Eq,
            right,
        } => {
            if let (Some(a), Some(b)) = (cc.column_of(left), cc.column_of(right)) {
                if a.0 != b.0 {
                    out.push((a, b));
                }
            }
        }
        _ => {}
    }
}

/// `refs.nested` with the nested references that are co-located with the outer query
/// cleared: a nested sharded table in the outer sharded table's binding group, equal on
/// every sharding column, by AND-ed equalities in the WHERE clauses of the statement, to
/// the outer table or to a nested table already found co-located (followed transitively:
/// `order_line` = `orders` = `customer` on the warehouse column, as TPC-C's checks write).
pub(super) fn colocated_nested(ctx: &PlanCtx, q: &Query, sharding: &[Vec<String>]) -> Vec<bool> {
    use sqlparser::ast::{Visit, Visitor};
    use std::ops::ControlFlow;
    let mut nested = ctx.refs.nested.clone();
    let refs = &ctx.refs.tables;
    let outer: Vec<usize> = (0..refs.len())
        .filter(|&i| !nested[i] && !sharding[i].is_empty())
        .collect();
    let candidates: Vec<usize> = (0..refs.len())
        .filter(|&i| nested[i] && !sharding[i].is_empty())
        .collect();
    if candidates.is_empty() || outer.is_empty() {
        return nested;
    }
    // Every WHERE's AND-ed equalities between columns of two references.
    let mut selections: Vec<Expr> = Vec::new();
    struct Sel<'v>(&'v mut Vec<Expr>);
    impl Visitor for Sel<'_> {
        type Break = ();
        fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
            if let SetExpr::Select(s) = q.body.as_ref() {
                if let Some(w) = &s.selection {
                    self.0.push(w.clone());
                }
            }
            ControlFlow::Continue(())
        }
    }
    let _ = q.visit(&mut Sel(&mut selections));
    let cc = ctx.cond_ctx(sharding);
    let mut eq = Vec::new();
    for w in &selections {
        collect_equalities(&cc, w, &mut eq);
    }
    let mut anchored = outer;
    loop {
        let mut grew = false;
        for &i in &candidates {
            if !nested[i] {
                continue;
            }
            let Some(group) = ctx.db.binding_group_of(&refs[i].name) else {
                continue;
            };
            let bound = anchored.iter().any(|&o| {
                ctx.db.binding_group_of(&refs[o].name) == Some(group)
                    && strategy_column_pairs(ctx, o, i)
                        .iter()
                        .all(|((a, ca), (b, cb))| {
                            eq.iter().any(|(x, y)| {
                                (x.0 == *a && x.1 == *ca && y.0 == *b && y.1 == *cb)
                                    || (x.0 == *b && x.1 == *cb && y.0 == *a && y.1 == *ca)
                            })
                        })
            });
            if bound {
                nested[i] = false;
                anchored.push(i);
                grew = true;
            }
        }
        if !grew {
            return nested;
        }
    }
}
