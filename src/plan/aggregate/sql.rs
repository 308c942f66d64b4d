//! The SQL around a grouped plan: the metadata query, locking clauses, LIMIT values and the
//! primary key used for representative values.

use crate::error::{SqlError, SqlResult};
use crate::plan::{NodeSql, PlanCtx};
use crate::route::Route;
use crate::sql::Edits;
use sqlparser::ast::Query;
use std::ops::Range;

/// The original statement on the first node with `LIMIT 0`: MariaDB's own column metadata.
pub(super) fn metadata_node(
    ctx: &PlanCtx,
    q: &Query,
    route: &Route,
    shared: &Edits,
    lock: Option<Range<usize>>,
) -> SqlResult<NodeSql> {
    let u = route
        .units
        .first()
        .ok_or_else(|| SqlError::internal("empty route"))?;
    let mut e = crate::rewrite::table_edits(ctx.refs, u, &ctx.db.name);
    e.extend(shared);
    if let Some(r) = lock {
        // Metadata needs no locks (and LIMIT 0 must not follow the locking clause).
        e.replace(r, "");
    }
    let mut limit_done = false;
    {
        let (limit, offset) = crate::plan::select::limit_exprs(q)?;
        if let Some(l) = limit {
            let r = crate::plan::select::expr_range(ctx, l)?;
            e.replace(r, "0");
            limit_done = true;
        }
        if let Some(o) = offset {
            let r = crate::plan::select::expr_range(ctx, o)?;
            e.replace(r, "0");
        }
    }
    let mut sql = e.apply(ctx.sql);
    if !limit_done {
        let trimmed = sql
            .trim_end_matches(|c: char| c.is_whitespace() || c == ';')
            .len();
        sql.truncate(trimmed);
        sql.push_str("\nLIMIT 0");
    }
    Ok(NodeSql {
        data_source: u.data_source.clone(),
        sql,
    })
}

/// The statement's trailing locking clause (`FOR UPDATE`, `FOR SHARE`, `LOCK IN SHARE MODE`):
/// its source range and text.
pub(super) fn locking_clause(ctx: &PlanCtx, q: &Query) -> Option<(Range<usize>, String)> {
    let trimmed = ctx.sql.trim_end().trim_end_matches(';').trim_end();
    let upper = trimmed.to_ascii_uppercase();
    let candidates: &[&str] = if q.locks.is_empty() {
        &["LOCK IN SHARE MODE"]
    } else {
        &["FOR UPDATE", "FOR SHARE", "LOCK IN SHARE MODE"]
    };
    if !q.locks.is_empty() && q.locks.len() != 1 {
        return None;
    }
    for c in candidates {
        if upper.ends_with(c) {
            let start = trimmed.len() - c.len();
            return Some((start..trimmed.len(), c.to_string()));
        }
    }
    None
}

/// The single-column primary key of the statement's only table, from the catalog.
pub(super) fn primary_key(ctx: &PlanCtx) -> Option<String> {
    let t = ctx.refs.tables.first()?;
    let schema = t.schema.clone().unwrap_or_else(|| ctx.db.name.clone());
    let snap = ctx.catalog?;
    let table = snap.get(&(schema, t.name.to_ascii_lowercase()))?;
    let mut pks = table.columns.iter().filter(|c| c.primary_key);
    let first = pks.next()?;
    pks.next().is_none().then(|| first.name.clone())
}
