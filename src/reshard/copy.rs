//! The copy phase: target databases and tables created from the sources' own DDL, then
//! every row read in primary-key order in chunks and written to its target node(s) with
//! REPLACE (a chunk copied twice after a resume changes nothing).

use super::conn::{connect, create_statement, err, JobResult};
use super::{Flow, Job};
use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use mysql_common::value::Value;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// Rows read per chunk.
pub const CHUNK: usize = 2000;
/// Largest REPLACE statement written (bytes of values).
const MAX_STATEMENT: usize = 4 << 20;

/// Connections by data source name, opened on first use.
pub struct Conns<'a> {
    config: &'a crate::rules::Config,
    open: HashMap<String, Conn>,
}

impl<'a> Conns<'a> {
    pub fn new(config: &'a crate::rules::Config) -> Conns<'a> {
        Conns {
            config,
            open: HashMap::new(),
        }
    }

    pub async fn get(&mut self, ds: &str) -> JobResult<&mut Conn> {
        if !self.open.contains_key(ds) {
            let cfg = self
                .config
                .data_sources
                .get(ds)
                .ok_or_else(|| format!("unknown data source {ds}"))?;
            let c = connect(ds, cfg).await?;
            self.open.insert(ds.to_string(), c);
        }
        self.open
            .get_mut(ds)
            .ok_or_else(|| format!("data source {ds}: no connection"))
    }

    pub async fn close(self) {
        for (_, c) in self.open {
            let _ = c.disconnect().await;
        }
    }
}

/// Create the physical databases and tables the targets need.
pub async fn create_targets(flow: &Flow) -> JobResult<()> {
    let mut src = Conns::new(&flow.from);
    let mut dst = Conns::new(&flow.to);
    for (ds, db) in flow.plan.target_databases() {
        let sql = format!(
            "CREATE DATABASE IF NOT EXISTS {} CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci",
            crate::plan::ship::quoted(&db)
        );
        dst.get(&ds)
            .await?
            .query_drop(sql)
            .await
            .map_err(|e| err(&format!("create database {db} on {ds}"), e))?;
    }
    for m in &flow.plan.moves {
        let Some(first) = m.read_from().first() else {
            continue;
        };
        let ddl_src = src.get(&first.ds).await?;
        for (_, t) in m.filled() {
            let ddl = create_statement(ddl_src, first, t).await?;
            dst.get(&t.ds)
                .await?
                .query_drop(ddl)
                .await
                .map_err(|e| err(&format!("create table {t}"), e))?;
        }
    }
    src.close().await;
    dst.close().await;
    Ok(())
}

/// A new job's targets hold no rows (a table left by an earlier job that rolled back would
/// keep rows the sources no longer have).
pub async fn check_targets_empty(flow: &Flow) -> JobResult<()> {
    let mut dst = Conns::new(&flow.to);
    for m in &flow.plan.moves {
        for (_, t) in m.filled() {
            let c = dst.get(&t.ds).await?;
            let exists: Option<u8> = c
                .exec_first(
                    "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
                    (&t.database, &t.table),
                )
                .await
                .map_err(|e| err(&format!("look for {t}"), e))?;
            if exists.is_none() {
                continue;
            }
            let any: Option<u8> = c
                .query_first(format!("SELECT 1 FROM {} LIMIT 1", t.qualified()))
                .await
                .map_err(|e| err(&format!("look into {t}"), e))?;
            if any.is_some() {
                return Err(format!(
                    "target table {t} already holds rows; empty or drop it first (an earlier \
                     job that rolled back leaves its targets)"
                ));
            }
        }
    }
    dst.close().await;
    Ok(())
}

/// Copy one moving table, from where an earlier run stopped: its source nodes at once,
/// each on connections of its own.
pub async fn copy_move(job: &std::sync::Arc<Job>, m: usize) -> JobResult<()> {
    let nodes = job.forward.plan.moves[m].read_from().len();
    let tasks: Vec<_> = (0..nodes)
        .map(|k| tokio::spawn(copy_node(job.clone(), m, k, nodes as u64)))
        .collect();
    let mut first_error = None;
    for t in tasks {
        let r = t.await.unwrap_or_else(|e| Err(format!("copy task: {e}")));
        if let Err(e) = r {
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Attempts at a chunk that fails (the server restarted, closed the connection, froze)
/// before the job fails: each on new connections, from the last chunk written.
const RETRIES: u32 = 10;
/// Longest wait for one statement of the copy or one connection: past it the server counts
/// as frozen and the chunk is tried again.
const OP_TIMEOUT: Duration = Duration::from_secs(30);

/// `fut`, or an error after [`OP_TIMEOUT`].
async fn bounded<T>(
    what: &str,
    fut: impl std::future::Future<Output = JobResult<T>>,
) -> JobResult<T> {
    tokio::time::timeout(OP_TIMEOUT, fut)
        .await
        .unwrap_or_else(|_| Err(format!("{what}: no answer in {} s", OP_TIMEOUT.as_secs())))
}

/// Where a node's copy is.
struct Cursor {
    /// The last key written (as saved), None before the first chunk.
    last: Option<Vec<String>>,
    /// The last key written in this attempt, as values (the next chunk's parameters).
    last_values: Option<Vec<Value>>,
    /// The prepared "next chunk" statement of this attempt's source connection.
    next: Option<mysql_async::Statement>,
    copied_here: u64,
}

/// Copy source node `k` of move `m` (`of`: nodes copied at once, sharing the rate limit).
/// A failing chunk is tried again on new connections, up to [`RETRIES`] times in a row.
async fn copy_node(job: std::sync::Arc<Job>, m: usize, k: usize, of: u64) -> JobResult<()> {
    let flow = &job.forward;
    let Some(last) = job.resume_point(m, k) else {
        return Ok(());
    };
    let node = &flow.plan.moves[m].read_from()[k];
    let mut at = Cursor {
        last,
        last_values: None,
        next: None,
        copied_here: 0,
    };
    let started = Instant::now();
    let mut failures = 0;
    loop {
        let mut src = Conns::new(&flow.from);
        let mut dst = Conns::new(&flow.to);
        let before = at.copied_here;
        let r = copy_chunks(&job, m, k, of, started, &mut src, &mut dst, &mut at).await;
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            src.close().await;
            dst.close().await;
        })
        .await;
        match r {
            Ok(()) => {
                job.copied(m, k, at.last, 0, true);
                return Ok(());
            }
            Err(e) if e == "cancelled" => return Err(e),
            Err(e) => {
                if at.copied_here > before {
                    failures = 0;
                }
                failures += 1;
                if failures > RETRIES {
                    return Err(format!("{e} (after {RETRIES} retries)"));
                }
                tracing::warn!("reshard: copy of {node}: {e}; trying again ({failures}/{RETRIES})");
                // From the last chunk written, on new connections.
                at.last_values = None;
                at.next = None;
                for _ in 0..failures.min(5) {
                    job.check_cancelled()?;
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }
}

/// Copy chunks of node `k` of move `m` from `at` to the end of the node.
#[allow(clippy::too_many_arguments)]
async fn copy_chunks(
    job: &Job,
    m: usize,
    k: usize,
    of: u64,
    started: Instant,
    src: &mut Conns<'_>,
    dst: &mut Conns<'_>,
    at: &mut Cursor,
) -> JobResult<()> {
    let flow = &job.forward;
    let mv = &flow.plan.moves[m];
    let shape = &flow.shapes[m];
    let node = &mv.read_from()[k];
    let cols = shape.column_list();
    let pk = shape.pk_list();
    let rate = job.opts.max_rows_per_sec.map(|r| (r / of).max(1));
    loop {
        job.check_cancelled()?;
        let c = bounded(&format!("connect {node}"), src.get(&node.ds)).await?;
        let read = |e| err(&format!("read {node}"), e);
        let rows: Vec<mysql_async::Row> = match (&at.last_values, &at.last) {
            // After a chunk of this attempt: one prepared statement, the key as parameters.
            (Some(v), _) => {
                let stmt = match &at.next {
                    Some(s) => s.clone(),
                    None => {
                        let (cond, _) = shape.after_params(v);
                        let sql = format!(
                            "SELECT {cols} FROM {} WHERE {cond} ORDER BY {pk} LIMIT {CHUNK}",
                            node.qualified()
                        );
                        let s =
                            bounded("prepare", async { c.prep(sql).await.map_err(read) }).await?;
                        at.next = Some(s.clone());
                        s
                    }
                };
                let (_, params) = shape.after_params(v);
                bounded("read", async { c.exec(&stmt, params).await.map_err(read) }).await?
            }
            // The first chunk, or the first after a restart (the saved key as literals).
            (None, l) => {
                let filter = match l {
                    Some(l) => format!(" WHERE {}", shape.after(l)),
                    None => String::new(),
                };
                let sql = format!(
                    "SELECT {cols} FROM {}{filter} ORDER BY {pk} LIMIT {CHUNK}",
                    node.qualified()
                );
                bounded("read", async { c.exec(sql, ()).await.map_err(read) }).await?
            }
        };
        let n = rows.len();
        if n == 0 {
            return Ok(());
        }
        let rows: Vec<Vec<Value>> = rows.into_iter().map(mysql_async::Row::unwrap).collect();
        let mut per: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        for row in &rows {
            let nodes = mv
                .to
                .nodes_for(&|c| shape.shard_value(row, c, false))
                .map_err(|e| format!("{}: {e}", mv.table))?;
            for i in nodes.into_iter().filter(|i| !mv.kept.contains(i)) {
                per.entry(i).or_default().push(shape.tuple(row, false));
            }
        }
        for (i, tuples) in per {
            let t = &mv.to.nodes[i];
            let c = bounded(&format!("connect {t}"), dst.get(&t.ds)).await?;
            for batch in batches(&tuples) {
                let sql = format!(
                    "REPLACE INTO {} ({cols}) VALUES {}",
                    t.qualified(),
                    batch.join(",")
                );
                bounded("write", async {
                    c.query_drop(sql)
                        .await
                        .map_err(|e| err(&format!("write {t}"), e))
                })
                .await?;
            }
        }
        let key = rows.last().map(|r| shape.key_of(r, false));
        at.last_values = rows.last().map(|r| shape.key_values(r));
        at.copied_here += n as u64;
        job.copied(m, k, key.clone(), n as u64, n < CHUNK);
        at.last = key;
        throttle(rate, at.copied_here, started).await;
        if n < CHUNK {
            return Ok(());
        }
        if (at.copied_here / CHUNK as u64).is_multiple_of(10) {
            let c = bounded(&format!("connect {node}"), src.get(&node.ds)).await?;
            back_off(c).await;
        }
    }
}

/// Tuples in statements of at most MAX_STATEMENT bytes.
fn batches(tuples: &[String]) -> Vec<&[String]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut size = 0;
    for (i, t) in tuples.iter().enumerate() {
        if size > 0 && size + t.len() > MAX_STATEMENT {
            out.push(&tuples[start..i]);
            start = i;
            size = 0;
        }
        size += t.len() + 1;
    }
    if start < tuples.len() {
        out.push(&tuples[start..]);
    }
    out
}

/// Threads running on a source past which the copy pauses: the application comes first.
const BUSY_THREADS: u64 = 32;

/// While the source server is busy (`Threads_running` above [`BUSY_THREADS`]), wait (at
/// most 5 s per check).
async fn back_off(c: &mut Conn) {
    for _ in 0..25 {
        let running: Option<(String, u64)> = c
            .query_first("SHOW GLOBAL STATUS LIKE 'Threads_running'")
            .await
            .unwrap_or(None);
        match running {
            Some((_, n)) if n > BUSY_THREADS => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            _ => return,
        }
    }
}

/// Sleep so that `done` rows since `started` stay under `rate` per second.
async fn throttle(rate: Option<u64>, done: u64, started: Instant) {
    let Some(rate) = rate.filter(|r| *r > 0) else {
        return;
    };
    let due = Duration::from_secs_f64(done as f64 / rate as f64);
    let spent = started.elapsed();
    if due > spent {
        tokio::time::sleep(due - spent).await;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn batches_split_by_size() {
        let big = "x".repeat(super::MAX_STATEMENT / 2);
        let tuples = vec![big.clone(), big.clone(), big.clone(), "y".into()];
        let b = super::batches(&tuples);
        assert_eq!(b.iter().map(|b| b.len()).collect::<Vec<_>>(), [1, 1, 2]);
        assert!(super::batches(&[]).is_empty());
    }
}
