//! Verification: every row of every source node is looked up on the target node(s) the new
//! rules give it, and every row of every target node in the sources, by primary key in
//! chunks, comparing a CRC32 of the whole row. Rows that differ are checked again once
//! the binlog is applied up to the sources' current position (a write in flight is not a
//! difference); what still differs is reported by primary key.

use super::conn::{err, JobResult};
use super::copy::Conns;
use super::values::Shape;
use super::Flow;
use mysql_async::prelude::Queryable;
use mysql_common::value::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Keys looked up per statement.
const CHUNK: usize = 1000;
/// Keys listed per kind of difference.
const LISTED: usize = 20;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableReport {
    pub table: String,
    pub source_rows: u64,
    pub missing: Vec<String>,
    pub extra: Vec<String>,
    pub different: Vec<String>,
}

impl TableReport {
    pub fn equal(&self) -> bool {
        self.missing.is_empty() && self.extra.is_empty() && self.different.is_empty()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub tables: Vec<TableReport>,
}

impl Report {
    pub fn equal(&self) -> bool {
        self.tables.iter().all(TableReport::equal)
    }
}

/// `CRC32` of a whole row (NULL told apart from '').
fn crc_expr(shape: &Shape) -> String {
    let cols: Vec<String> = shape
        .columns
        .iter()
        .map(|c| crate::plan::ship::quoted(&c.name))
        .collect();
    let nulls: Vec<String> = cols.iter().map(|c| format!("ISNULL({c})")).collect();
    format!(
        "CRC32(CONCAT_WS('#', {}, CONCAT({})))",
        cols.join(", "),
        nulls.join(", ")
    )
}

fn key_in(shape: &Shape, keys: &[Vec<String>]) -> String {
    let tuples: Vec<String> = keys
        .iter()
        .map(|k| {
            if k.len() == 1 {
                k[0].clone()
            } else {
                format!("({})", k.join(", "))
            }
        })
        .collect();
    let cols = shape.pk_list();
    if shape.pk.len() == 1 {
        format!("{cols} IN ({})", tuples.join(", "))
    } else {
        format!("({cols}) IN ({})", tuples.join(", "))
    }
}

/// A row on a node: (primary key literals, data source).
type At = (Vec<String>, String);
/// Differences found for a set of keys: (missing, extra, different).
type Found = (BTreeSet<At>, BTreeSet<At>, BTreeSet<At>);

/// Where the keys of a chunk come from: a source node (its rows are looked up there and on
/// the targets they route to) or a target node (only rows that should not be there are
/// looked for: the sources' scans find the rest).
#[derive(Debug, Clone, Copy)]
enum From {
    Source(usize),
    Target(usize),
    /// Keys found different before: look everywhere.
    Anywhere,
}

/// A CRC32 cell (text protocol) as a number.
fn number(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        Value::UInt(u) => *u as i64,
        Value::Bytes(b) => std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(-1),
        _ => -1,
    }
}

/// `SELECT <cols>, <crc> FROM node WHERE filter`: each row's cells and its checksum.
async fn with_crc(
    conns: &mut Conns<'_>,
    node: &super::plan::Phys,
    cols: &str,
    crc: &str,
    filter: &str,
) -> JobResult<Vec<(Vec<Value>, i64)>> {
    let sql = format!(
        "SELECT {cols}, {crc} FROM {} WHERE {filter}",
        node.qualified()
    );
    let rows = fetch(conns.get(&node.ds).await?, node, sql).await?;
    Ok(rows
        .into_iter()
        .map(|mut v| {
            let c = v.pop().map(|c| number(&c)).unwrap_or(-1);
            (v, c)
        })
        .collect())
}

/// A verification query's rows (text protocol).
async fn fetch(
    c: &mut mysql_async::Conn,
    node: &super::plan::Phys,
    sql: String,
) -> JobResult<Vec<Vec<Value>>> {
    let rows: Vec<mysql_async::Row> = c
        .query(sql)
        .await
        .map_err(|e| err(&format!("verify {node}"), e))?;
    Ok(rows.into_iter().map(mysql_async::Row::unwrap).collect())
}

async fn check_keys(
    flow: &Flow,
    m: usize,
    keys: &[Vec<String>],
    from: From,
    src: &mut Conns<'_>,
    dst: &mut Conns<'_>,
) -> JobResult<Found> {
    let mv = &flow.plan.moves[m];
    let shape = &flow.shapes[m];
    let crc = crc_expr(shape);
    let filter = key_in(shape, keys);
    let sharded_source = matches!(mv.from.spread, super::plan::Spread::Sharded(_));
    let sources: Vec<&super::plan::Phys> = match from {
        // A sharded source's row lives on that node only.
        From::Source(k) if sharded_source => vec![&mv.read_from()[k]],
        _ => mv.read_from().iter().collect(),
    };
    // key → (target nodes, crc)
    let mut expected: BTreeMap<Vec<String>, (Vec<usize>, i64)> = BTreeMap::new();
    for node in sources {
        let cols = shape.column_list();
        for (v, c) in with_crc(src, node, &cols, &crc, &filter).await? {
            let nodes = mv
                .to
                .nodes_for(&|col| shape.shard_value(&v, col, false))
                .map_err(|e| format!("{}: {e}", mv.table))?
                .into_iter()
                .filter(|i| !mv.kept.contains(i))
                .collect();
            expected.insert(shape.key_of(&v, false), (nodes, c));
        }
    }
    let targets: BTreeSet<usize> = match from {
        From::Target(i) => [i].into(),
        From::Source(_) => expected
            .values()
            .flat_map(|(n, _)| n.iter().copied())
            .collect(),
        From::Anywhere => mv.filled().map(|(i, _)| i).collect(),
    };
    let mut actual: BTreeMap<(Vec<String>, usize), i64> = BTreeMap::new();
    for i in targets {
        let node = &mv.to.nodes[i];
        for (v, c) in with_crc(dst, node, &shape.pk_list(), &crc, &filter).await? {
            actual.insert((shape.pk_literals(&v), i), c);
        }
    }
    let name = |k: &[String], i: usize| (k.to_vec(), mv.to.nodes[i].ds.clone());
    let (mut missing, mut extra, mut different) = Found::default();
    if !matches!(from, From::Target(_)) {
        for (k, (nodes, c)) in &expected {
            for &i in nodes {
                match actual.get(&(k.clone(), i)) {
                    None => {
                        missing.insert(name(k, i));
                    }
                    Some(a) if a != c => {
                        different.insert(name(k, i));
                    }
                    _ => {}
                }
            }
        }
    }
    for (k, i) in actual.keys() {
        if !expected.get(k).is_some_and(|(n, _)| n.contains(i)) {
            extra.insert(name(k, *i));
        }
    }
    Ok((missing, extra, different))
}

/// Primary keys of a node in order, chunk by chunk.
async fn keys_chunk(
    c: &mut mysql_async::Conn,
    node: &super::plan::Phys,
    shape: &Shape,
    after: &Option<Vec<String>>,
) -> JobResult<Vec<Vec<String>>> {
    let filter = match after {
        Some(l) => format!(" WHERE {}", shape.after(l)),
        None => String::new(),
    };
    let sql = format!(
        "SELECT {pk} FROM {}{filter} ORDER BY {pk} LIMIT {CHUNK}",
        node.qualified(),
        pk = shape.pk_list()
    );
    Ok(fetch(c, node, sql)
        .await?
        .into_iter()
        .map(|row| shape.pk_literals(&row))
        .collect())
}

/// The distinct keys of some differences.
fn keys_of(found: &Found) -> Vec<Vec<String>> {
    let keys: BTreeSet<&Vec<String>> = [&found.0, &found.1, &found.2]
        .into_iter()
        .flatten()
        .map(|(k, _)| k)
        .collect();
    keys.into_iter().cloned().collect()
}

/// Compare every moving table. `settle` is awaited before differences are checked again
/// (it waits until the binlog is applied up to now).
pub async fn verify<F, Fut>(flow: &Flow, settle: F) -> JobResult<Report>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = JobResult<()>>,
{
    let mut src = Conns::new(&flow.from);
    let mut dst = Conns::new(&flow.to);
    let mut report = Report::default();
    for (m, mv) in flow.plan.moves.iter().enumerate() {
        let shape = &flow.shapes[m];
        let mut found = Found::default();
        let mut source_rows = 0u64;
        let add = |f: Found, found: &mut Found| {
            found.0.extend(f.0);
            found.1.extend(f.1);
            found.2.extend(f.2);
        };
        let sides: Vec<(From, &super::plan::Phys)> = mv
            .read_from()
            .iter()
            .enumerate()
            .map(|(k, p)| (From::Source(k), p))
            .chain(mv.filled().map(|(i, p)| (From::Target(i), p)))
            .collect();
        for (side, node) in sides {
            let is_source = matches!(side, From::Source(_));
            let mut after = None;
            loop {
                let c = if is_source {
                    src.get(&node.ds).await?
                } else {
                    dst.get(&node.ds).await?
                };
                let keys = keys_chunk(c, node, shape, &after).await?;
                if keys.is_empty() {
                    break;
                }
                if is_source {
                    source_rows += keys.len() as u64;
                }
                let f = check_keys(flow, m, &keys, side, &mut src, &mut dst).await?;
                add(f, &mut found);
                let full = keys.len() == CHUNK;
                after = keys.into_iter().last();
                if !full {
                    break;
                }
            }
        }
        // Writes in flight: look again once they are applied.
        for _ in 0..3 {
            if found.0.is_empty() && found.1.is_empty() && found.2.is_empty() {
                break;
            }
            settle().await?;
            let mut again = Found::default();
            for keys in keys_of(&found).chunks(CHUNK) {
                let f = check_keys(flow, m, keys, From::Anywhere, &mut src, &mut dst).await?;
                add(f, &mut again);
            }
            found = again;
        }
        let list = |s: BTreeSet<At>| {
            s.into_iter()
                .take(LISTED)
                .map(|(k, ds)| format!("{}@{ds}", k.join(",")))
                .collect::<Vec<_>>()
        };
        report.tables.push(TableReport {
            table: format!("{}.{}", mv.db, mv.table),
            source_rows,
            missing: list(found.0),
            extra: list(found.1),
            different: list(found.2),
        });
    }
    src.close().await;
    dst.close().await;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reshard::values::Column;

    #[test]
    fn row_checksums_and_key_lists() {
        let shape = Shape {
            columns: vec![
                Column::new("id", "int", "int(11)"),
                Column::new("v", "varchar", "varchar(5)"),
            ],
            pk: vec![0],
        };
        assert_eq!(
            crc_expr(&shape),
            "CRC32(CONCAT_WS('#', `id`, `v`, CONCAT(ISNULL(`id`), ISNULL(`v`))))"
        );
        assert_eq!(
            key_in(&shape, &[vec!["1".into()], vec!["2".into()]]),
            "`id` IN (1, 2)"
        );
        let at = |k: &str, ds: &str| (vec![k.to_string()], ds.to_string());
        let found: Found = (
            [at("1", "ds_0")].into(),
            [at("1", "ds_1"), at("'a,b'", "ds_1")].into(),
            [at("7", "ds_2")].into(),
        );
        assert_eq!(
            keys_of(&found),
            [
                vec!["'a,b'".to_string()],
                vec!["1".to_string()],
                vec!["7".to_string()]
            ]
        );
    }
}
