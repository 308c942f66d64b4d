//! Set operations over sharded tables — `UNION [ALL|DISTINCT]`, `INTERSECT [ALL]`,
//! `EXCEPT [ALL]`, mixed as MariaDB allows: each branch runs as a statement of its own (with
//! every cross-shard merge), the proxy combines the rows by their values (strings by
//! collation, NULLs equal), INTERSECT first, then UNION and EXCEPT from left to right, then
//! applies the ORDER BY / LIMIT. Column metadata comes from MariaDB: the whole statement
//! with `LIMIT 0` on a data source holding a node of every table.

use super::{FlowResult, Session};
use crate::error::SqlError;
use crate::eval::Val;
use crate::protocol::writer::ResultWriter;
use crate::result::{ColumnDef, Row};
use crate::route::{self, Placement};
use crate::rules::LogicalDatabase;
use crate::sql::clauses::{union_text, SetOp, UnionText};
use crate::sql::refs::Refs;
use crate::sql::SourceMap;
use sqlparser::ast::{
    Expr, LimitClause, OrderByKind, OrderBySort, SetExpr, SetOperator, SetQuantifier, Statement,
    Value,
};
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Only UNION, INTERSECT and EXCEPT (ALL or DISTINCT) in the tree.
fn supported_set_ops(e: &SetExpr) -> bool {
    match e {
        SetExpr::SetOperation {
            op,
            left,
            right,
            set_quantifier,
        } => {
            matches!(
                op,
                SetOperator::Union | SetOperator::Intersect | SetOperator::Except
            ) && matches!(
                set_quantifier,
                SetQuantifier::All | SetQuantifier::Distinct | SetQuantifier::None
            ) && supported_set_ops(left)
                && supported_set_ops(right)
        }
        SetExpr::Select(_) | SetExpr::Query(_) => true,
        _ => false,
    }
}

/// A row's identity for set operations: values as MariaDB compares them.
fn row_key(columns: &[ColumnDef], r: &Row) -> Vec<u8> {
    let mut k = Vec::new();
    for (c, cell) in columns.iter().zip(r) {
        Val::from_cell(c, cell.as_deref()).group_key(&mut k);
        k.push(0xff);
    }
    k
}

fn dedupe(columns: &[ColumnDef], rows: &mut Vec<Row>) {
    let mut seen = HashSet::new();
    rows.retain(|r| seen.insert(row_key(columns, r)));
}

/// `a INTERSECT [ALL] b` (keep = true) or `a EXCEPT [ALL] b` (keep = false), in `a`'s order.
fn filter_by(columns: &[ColumnDef], a: Vec<Row>, b: &[Row], all: bool, keep: bool) -> Vec<Row> {
    let mut counts: HashMap<Vec<u8>, usize> = HashMap::new();
    for r in b {
        *counts.entry(row_key(columns, r)).or_default() += 1;
    }
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for r in a {
        let k = row_key(columns, &r);
        let n = counts.get(&k).copied().unwrap_or(0);
        let take = match (all, keep) {
            // INTERSECT ALL: min(count in a, count in b) copies.
            (true, true) => {
                if n > 0 {
                    counts.insert(k, n - 1);
                    true
                } else {
                    false
                }
            }
            // EXCEPT ALL: count in a minus count in b copies.
            (true, false) => {
                if n > 0 {
                    counts.insert(k, n - 1);
                    false
                } else {
                    true
                }
            }
            (false, true) => n > 0 && seen.insert(k),
            (false, false) => n == 0 && seen.insert(k),
        };
        if take {
            out.push(r);
        }
    }
    out
}

/// Combine the branches' rows: INTERSECT binds tighter than UNION and EXCEPT, which go left
/// to right; a DISTINCT operator de-duplicates everything to its left too.
fn combine(
    columns: &[ColumnDef],
    mut sets: Vec<Vec<Row>>,
    ops: &[SetOp],
    all: &[bool],
) -> Vec<Row> {
    let mut rest = sets.drain(..);
    let Some(first) = rest.next() else {
        return Vec::new();
    };
    let mut terms: Vec<(Option<(SetOp, bool)>, Vec<Row>)> = vec![(None, first)];
    for ((rows, op), all) in rest.zip(ops).zip(all) {
        match op {
            SetOp::Intersect => {
                if let Some(last) = terms.last_mut() {
                    let a = std::mem::take(&mut last.1);
                    last.1 = filter_by(columns, a, &rows, *all, true);
                }
            }
            _ => terms.push((Some((*op, *all)), rows)),
        }
    }
    let mut it = terms.into_iter();
    let mut acc = it.next().map(|t| t.1).unwrap_or_default();
    for (op, rows) in it {
        match op {
            Some((SetOp::Except, all)) => acc = filter_by(columns, acc, &rows, all, false),
            Some((_, all)) => {
                acc.extend(rows);
                if !all {
                    dedupe(columns, &mut acc);
                }
            }
            None => acc.extend(rows),
        }
    }
    acc
}

impl Session {
    /// The branches of a set operation over sharded tables; `None` when the statement is no
    /// such set operation (it plans like any other).
    fn sharded_union(
        &self,
        sql: &str,
        stmt: &Statement,
    ) -> Result<Option<(UnionText, Refs, std::sync::Arc<LogicalDatabase>)>, SqlError> {
        let Statement::Query(q) = stmt else {
            return Ok(None);
        };
        if !matches!(q.body.as_ref(), SetExpr::SetOperation { .. }) || q.with.is_some() {
            return Ok(None);
        }
        let Some(db) = self.db.as_deref().and_then(|d| self.database(d)) else {
            return Ok(None);
        };
        let refs = Refs::collect(stmt, &SourceMap::new(sql));
        let sharded = refs
            .tables
            .iter()
            .any(|t| matches!(route::placement(&db, t), Placement::Sharded(_)));
        if !sharded {
            return Ok(None);
        }
        if !supported_set_ops(&q.body) {
            return Err(SqlError::unsupported(
                "this set operation over sharded tables",
            ));
        }
        let Some(parts) = union_text(sql) else {
            return Err(SqlError::unsupported("this UNION over sharded tables"));
        };
        Ok(Some((parts, refs, db)))
    }

    /// EXPLAIN SHARDING of a set operation over sharded tables: the metadata query, each
    /// branch's own plan, then the combination in the proxy. `None`: no such statement.
    pub(crate) async fn explain_union(
        &mut self,
        sql: &str,
        stmt: &Statement,
        bound: &super::query::Bound,
        w: &mut ResultWriter<'_>,
    ) -> FlowResult<Option<Vec<Row>>> {
        let Some((parts, refs, db)) = self.sharded_union(sql, stmt)? else {
            return Ok(None);
        };
        let cell = |s: String| Some(bytes::Bytes::from(s));
        let (ds, meta) = self.union_metadata_sql(sql, &refs, &parts, &db)?;
        let mut rows = vec![vec![cell("Metadata".into()), cell(ds), cell(meta)]];
        let mut combined = String::from("branch 1");
        for (i, b) in parts.branches.iter().enumerate() {
            let label = format!("Branch {}", i + 1);
            rows.extend(self.explain_part(&sql[b.clone()], &label, bound, w).await?);
            if i > 0 {
                let op = match parts.ops[i - 1] {
                    SetOp::Union => "UNION",
                    SetOp::Intersect => "INTERSECT",
                    SetOp::Except => "EXCEPT",
                };
                let all = if parts.all[i - 1] { " ALL" } else { "" };
                combined.push_str(&format!(" {op}{all} branch {}", i + 1));
            }
        }
        if let Some(t) = &parts.tail {
            combined.push_str(&format!(", then {}", sql[t.clone()].trim()));
        }
        rows.push(vec![
            cell("SetOp".into()),
            cell("(proxy)".into()),
            cell(combined),
        ]);
        Ok(Some(rows))
    }

    /// Answer a UNION over sharded tables; `false` when the statement is no such union.
    pub(crate) async fn union_query(
        &mut self,
        sql: &str,
        stmt: &Statement,
        w: &mut ResultWriter<'_>,
    ) -> FlowResult<bool> {
        let Some((parts, refs, db)) = self.sharded_union(sql, stmt)? else {
            return Ok(false);
        };
        let Statement::Query(q) = stmt else {
            return Ok(false);
        };
        let db = db.as_ref();

        // The result's metadata, from MariaDB itself.
        let columns = self.union_metadata(sql, &refs, &parts, db).await?;

        // Each branch, in order.
        let max = self.shared.config.server.max_memory_rows;
        let mut sets: Vec<Vec<Row>> = Vec::new();
        let mut held = 0usize;
        for b in &parts.branches {
            let text = sql[b.clone()].to_string();
            let cap = self.capture(&text, max, w).await?;
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
            held += cap.rows.len();
            if held > max {
                return Err(SqlError::new(
                    1038,
                    "HY001",
                    format!("Out of sort memory: a UNION over shards held more than {max} rows in the proxy (raise [server] max_memory_rows)"),
                )
                .into());
            }
            sets.push(cap.rows);
        }
        let mut rows = combine(&columns, sets, &parts.ops, &parts.all);
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
        parts: &UnionText,
        db: &LogicalDatabase,
    ) -> Result<Vec<ColumnDef>, SqlError> {
        let (ds, text) = self.union_metadata_sql(sql, refs, parts, db)?;
        let backend = self.shared.backends.get(&ds)?.clone();
        let mut lease = backend.acquire().await?;
        lease.apply_state(&self.state).await?;
        let (cols, _) = crate::backend::query_collect(&mut lease, &text).await?;
        Ok(cols)
    }

    /// Where and as what [`Session::union_metadata`] runs.
    fn union_metadata_sql(
        &self,
        sql: &str,
        refs: &Refs,
        parts: &UnionText,
        db: &LogicalDatabase,
    ) -> Result<(String, String), SqlError> {
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
        let text = if self.no_backslash_escapes {
            text.replace(crate::sql::NBE_BACKSLASH, "\\")
        } else {
            text
        };
        Ok((ds, text))
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

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use mysql_common::constants::ColumnType;

    fn col() -> Vec<ColumnDef> {
        let mut c = ColumnDef::text("x");
        c.column_type = ColumnType::MYSQL_TYPE_LONGLONG;
        c.charset = 63;
        vec![c]
    }

    fn rows(v: &[Option<i64>]) -> Vec<Row> {
        v.iter()
            .map(|x| vec![x.map(|n| Bytes::from(n.to_string()))])
            .collect()
    }

    fn values(r: &[Row]) -> Vec<Option<i64>> {
        r.iter()
            .map(|c| {
                c[0].as_ref()
                    .map(|b| String::from_utf8_lossy(b).parse().unwrap_or(-1))
            })
            .collect()
    }

    #[test]
    fn set_operations_combine_like_mariadb() {
        use SetOp::*;
        let (a, b, c) = (
            rows(&[Some(1), Some(1), Some(2), None, Some(3)]),
            rows(&[Some(1), Some(1), Some(1), None, Some(4)]),
            rows(&[Some(3), Some(5)]),
        );
        type Case<'a> = (&'a [SetOp], &'a [bool], Vec<Option<i64>>);
        let cases: Vec<Case> = vec![
            (&[Intersect], &[false], vec![Some(1), None]),
            (&[Intersect], &[true], vec![Some(1), Some(1), None]),
            (&[Except], &[false], vec![Some(2), Some(3)]),
            (&[Except], &[true], vec![Some(2), Some(3)]),
            (
                &[Union],
                &[false],
                vec![Some(1), Some(2), None, Some(3), Some(4)],
            ),
            // a UNION b INTERSECT c = a UNION (b INTERSECT c): b ∩ c is empty.
            (
                &[Union, Intersect],
                &[false, false],
                vec![Some(1), Some(2), None, Some(3)],
            ),
            // (a EXCEPT b) UNION ALL c
            (
                &[Except, Union],
                &[false, true],
                vec![Some(2), Some(3), Some(3), Some(5)],
            ),
            // a UNION ALL b UNION c: the DISTINCT union de-duplicates everything.
            (
                &[Union, Union],
                &[true, false],
                vec![Some(1), Some(2), None, Some(3), Some(4), Some(5)],
            ),
        ];
        for (ops, all, want) in cases {
            let mut sets = vec![a.clone(), b.clone()];
            if ops.len() == 2 {
                sets.push(c.clone());
            }
            let got = combine(&col(), sets, ops, all);
            assert_eq!(values(&got), want, "{ops:?} {all:?}");
        }
        // EXCEPT ALL keeps the surplus copies.
        let got = combine(&col(), vec![b.clone(), a.clone()], &[Except], &[true]);
        assert_eq!(values(&got), vec![Some(1), Some(4)]);
    }
}
