//! `UNION [ALL]` over sharded tables: each branch runs as a statement of its own (with every
//! cross-shard merge), the proxy concatenates (UNION ALL) or de-duplicates by collation
//! (UNION), then applies the union's ORDER BY / LIMIT. Column metadata comes from MariaDB:
//! the whole union with `LIMIT 0` on a data source holding a node of every table.

use super::query::Bound;
use super::{FlowResult, Session};
use crate::error::SqlError;
use crate::eval::Val;
use crate::protocol::writer::ResultWriter;
use crate::result::{ColumnDef, Row};
use crate::route::{self, Placement};
use crate::sql::clauses::union_text;
use crate::sql::refs::Refs;
use crate::sql::SourceMap;
use sqlparser::ast::{
    Expr, LimitClause, OrderByKind, OrderBySort, SetExpr, SetOperator, SetQuantifier, Statement,
    Value,
};
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashSet};

/// Only UNION (ALL or DISTINCT) operators in the tree.
fn only_unions(e: &SetExpr) -> bool {
    match e {
        SetExpr::SetOperation {
            op,
            left,
            right,
            set_quantifier,
            ..
        } => {
            *op == SetOperator::Union
                && matches!(
                    set_quantifier,
                    SetQuantifier::All | SetQuantifier::Distinct | SetQuantifier::None
                )
                && only_unions(left)
                && only_unions(right)
        }
        SetExpr::Select(_) | SetExpr::Query(_) => true,
        _ => false,
    }
}

impl Session {
    /// Answer a UNION over sharded tables; `false` when the statement is no such union.
    pub(crate) async fn union_query(
        &mut self,
        sql: &str,
        stmt: &Statement,
        w: &mut ResultWriter<'_>,
    ) -> FlowResult<bool> {
        let Statement::Query(q) = stmt else {
            return Ok(false);
        };
        if !matches!(q.body.as_ref(), SetExpr::SetOperation { .. }) || q.with.is_some() {
            return Ok(false);
        }
        let Some(db_name) = self.db.clone() else {
            return Ok(false);
        };
        let shared = self.shared.clone();
        let Some(db) = shared.database(&db_name) else {
            return Ok(false);
        };
        let sm = SourceMap::new(sql);
        let refs = Refs::collect(stmt, &sm);
        let sharded = refs
            .tables
            .iter()
            .any(|t| matches!(route::placement(db, t), Placement::Sharded(_)));
        if !sharded {
            return Ok(false);
        }
        if !only_unions(&q.body) {
            return Err(SqlError::unsupported("INTERSECT / EXCEPT over sharded tables").into());
        }
        let Some(parts) = union_text(sql) else {
            return Err(SqlError::unsupported("this UNION over sharded tables").into());
        };
        let distinct = match (parts.all.iter().all(|a| *a), parts.all.iter().all(|a| !*a)) {
            (true, _) => false,
            (_, true) => true,
            _ => {
                return Err(SqlError::unsupported(
                    "a UNION mixing ALL and DISTINCT over sharded tables",
                )
                .into())
            }
        };

        // The result's metadata, from MariaDB itself.
        let columns = self.union_metadata(sql, &refs, &parts, db).await?;

        // Each branch, in order.
        let max = self.shared.config.server.max_memory_rows;
        let mut rows: Vec<Row> = Vec::new();
        for b in &parts.branches {
            let text = sql[b.clone()].to_string();
            let status = self.status();
            let cap = {
                let mut cw = ResultWriter::capturing(w.io(), status, max);
                Box::pin(self.dispatch(&text, &Bound::default(), &mut cw)).await?;
                cw.take_capture().unwrap_or_default()
            };
            if let Some(e) = cap.error {
                return Err(e.into());
            }
            if cap.columns.len() != columns.len() {
                return Err(SqlError::new(
                    1222,
                    "21000",
                    "The used SELECT statements have a different number of columns",
                )
                .into());
            }
            rows.extend(cap.rows);
            if rows.len() > max {
                return Err(SqlError::new(
                    1038,
                    "HY001",
                    format!("Out of sort memory: a UNION over shards held more than {max} rows in the proxy (raise [server] max_memory_rows)"),
                )
                .into());
            }
        }
        if distinct {
            let mut seen = HashSet::new();
            rows.retain(|r| {
                let mut k = Vec::new();
                for (c, cell) in columns.iter().zip(r) {
                    Val::from_cell(c, cell.as_deref()).group_key(&mut k);
                    k.push(0xff);
                }
                seen.insert(k)
            });
        }
        // ORDER BY over the union: output columns by position or name.
        if let Some(ob) = &q.order_by {
            let OrderByKind::Expressions(items) = &ob.kind else {
                return Err(SqlError::unsupported("ORDER BY ALL").into());
            };
            let mut keys = Vec::new();
            for o in items {
                let idx = match &o.expr {
                    Expr::Value(v) => match &v.value {
                        Value::Number(n, _) => {
                            n.parse::<usize>().ok().and_then(|p| p.checked_sub(1))
                        }
                        _ => None,
                    },
                    Expr::Identifier(id) => columns
                        .iter()
                        .position(|c| c.name_str().eq_ignore_ascii_case(&id.value)),
                    _ => None,
                };
                let Some(i) = idx.filter(|i| *i < columns.len()) else {
                    return Err(SqlError::unsupported(format!(
                        "ORDER BY {} over a UNION across shards (order by an output column)",
                        o.expr
                    ))
                    .into());
                };
                keys.push((i, matches!(o.options.sort, Some(OrderBySort::Desc))));
            }
            let vals: Vec<Vec<Val>> = rows
                .iter()
                .map(|r| {
                    keys.iter()
                        .map(|(i, _)| {
                            Val::from_cell(&columns[*i], r.get(*i).and_then(|c| c.as_deref()))
                        })
                        .collect()
                })
                .collect();
            let mut order: Vec<usize> = (0..rows.len()).collect();
            order.sort_by(|&a, &b| {
                for (k, (_, desc)) in keys.iter().enumerate() {
                    let (x, y) = (&vals[a][k], &vals[b][k]);
                    let o = match (x.is_null(), y.is_null()) {
                        (true, true) => Ordering::Equal,
                        (true, false) => Ordering::Less,
                        (false, true) => Ordering::Greater,
                        _ => x.compare(y).unwrap_or(Ordering::Equal),
                    };
                    let o = if *desc { o.reverse() } else { o };
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                Ordering::Equal
            });
            let mut sorted = Vec::with_capacity(rows.len());
            let mut taken: Vec<Option<Row>> = rows.into_iter().map(Some).collect();
            for i in order {
                if let Some(r) = taken[i].take() {
                    sorted.push(r);
                }
            }
            rows = sorted;
        }
        let (offset, limit) = limit_of(q.limit_clause.as_ref())?;
        let client: Vec<ColumnDef> = columns.iter().map(|c| self.map_column(c)).collect();
        w.begin(&client).await?;
        for r in rows
            .iter()
            .skip(offset as usize)
            .take(limit.map_or(usize::MAX, |l| l as usize))
        {
            w.row(r).await?;
        }
        w.end(0).await?;
        Ok(true)
    }

    /// The union with `LIMIT 0` on a data source that holds a node of every table it names.
    async fn union_metadata(
        &mut self,
        sql: &str,
        refs: &Refs,
        parts: &crate::sql::clauses::UnionText,
        db: &crate::rules::LogicalDatabase,
    ) -> Result<Vec<ColumnDef>, SqlError> {
        let mut per_ds: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        let mut names = HashSet::new();
        for t in &refs.tables {
            if !names.insert(t.name.clone()) {
                continue;
            }
            let mut seen_ds = HashSet::new();
            for u in route::all_nodes(db, t).units {
                if seen_ds.insert(u.data_source.clone()) {
                    *counts.entry(u.data_source.clone()).or_default() += 1;
                }
                per_ds
                    .entry(u.data_source.clone())
                    .or_default()
                    .entry(t.name.clone())
                    .or_insert_with(|| u.tables.get(&t.name).cloned().unwrap_or(t.name.clone()));
            }
        }
        let Some(ds) = counts
            .iter()
            .find(|(_, n)| **n == names.len())
            .map(|(d, _)| d.clone())
        else {
            return Err(SqlError::unsupported(
                "a UNION over tables that share no data source",
            ));
        };
        let unit = route::RouteUnit {
            data_source: ds.clone(),
            tables: per_ds.remove(&ds).unwrap_or_default(),
        };
        let edits = crate::rewrite::table_edits(refs, &unit, &db.name);
        let body_end = parts
            .limit_at
            .unwrap_or_else(|| sql.trim_end().trim_end_matches(';').trim_end().len());
        let mut text = crate::rewrite::rewrite_slice(sql, 0..body_end, &edits);
        text.push_str("\nLIMIT 0");
        let text = text.replace(crate::sql::NBE_BACKSLASH, "\\");
        let backend = self.shared.backends.get(&ds)?.clone();
        let mut lease = backend.acquire().await?;
        lease.apply_state(&self.state).await?;
        let (cols, _) = crate::backend::query_collect(&mut lease, &text).await?;
        Ok(cols)
    }
}

fn limit_of(lc: Option<&LimitClause>) -> Result<(u64, Option<u64>), SqlError> {
    let num = |e: &Expr| -> Result<u64, SqlError> {
        match e {
            Expr::Value(v) => match &v.value {
                Value::Number(n, _) => n
                    .parse()
                    .map_err(|_| SqlError::parse(format!("near '{n}'"))),
                _ => Err(SqlError::unsupported(format!(
                    "LIMIT {e} over a UNION across shards"
                ))),
            },
            _ => Err(SqlError::unsupported(format!(
                "LIMIT {e} over a UNION across shards"
            ))),
        }
    };
    match lc {
        None => Ok((0, None)),
        Some(LimitClause::LimitOffset { limit, offset, .. }) => Ok((
            offset
                .as_ref()
                .map(|o| num(&o.value))
                .transpose()?
                .unwrap_or(0),
            limit.as_ref().map(num).transpose()?,
        )),
        Some(LimitClause::OffsetCommaLimit { offset, limit }) => {
            Ok((num(offset)?, Some(num(limit)?)))
        }
    }
}
