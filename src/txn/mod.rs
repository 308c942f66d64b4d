//! Distributed transactions: XA ids, the durable decision log, and recovery.
//!
//! A transaction that touches one data source ends with `XA COMMIT ... ONE PHASE` (no log
//! write). With several, every participant is prepared, the commit decision is appended to
//! the log and fsync'ed, then each participant is committed. Recovery (at start and via
//! `shardgate recover`) runs `XA RECOVER` on every data source and resolves this proxy's
//! prepared xids: committed if the log holds the decision, rolled back otherwise.

pub mod log;

use crate::backend::Backends;
use crate::error::SqlError;
use log::DecisionLog;
use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Crash points for fault tests: the process aborts (as `kill -9` would stop it) when the
/// environment variable `SHARDGATE_FAILPOINT` names this point.
pub fn failpoint(name: &str) {
    static POINT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let p = POINT.get_or_init(|| std::env::var("SHARDGATE_FAILPOINT").ok());
    if p.as_deref() == Some(name) {
        eprintln!("shardgate: failpoint {name}: aborting");
        std::process::abort();
    }
}

/// LOCAL: each data source commits on its own. XA: two-phase commit across data sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TxnMode {
    Local,
    #[default]
    Xa,
}

/// One XA branch id: `gtrid` names the transaction, `bqual` the data source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Xid {
    pub gtrid: String,
    pub bqual: String,
}

impl Xid {
    /// `'gtrid','bqual'` as XA statements take it (our ids need no escaping).
    pub fn sql(&self) -> String {
        format!("'{}','{}'", self.gtrid, self.bqual)
    }
}

pub struct Coordinator {
    pub mode: TxnMode,
    /// Prefix of every gtrid this proxy creates: `sg<worker>-`. Recovery touches only these.
    prefix: String,
    /// Distinguishes incarnations of the same proxy (ms at start).
    boot: u64,
    seq: AtomicU64,
    log: Option<DecisionLog>,
    /// Global ids of this process's open transactions: background recovery never touches
    /// them (one may be between its XA PREPAREs and its commit decision).
    in_flight: Arc<Mutex<HashSet<String>>>,
}

/// Registration of an open transaction in the coordinator; dropping it (when the
/// transaction ends, or its session goes away in a panic) hands its branches to recovery.
pub struct InFlight {
    gtrid: String,
    set: Arc<Mutex<HashSet<String>>>,
}

impl InFlight {
    pub fn gtrid(&self) -> &str {
        &self.gtrid
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        match self.set.lock() {
            Ok(mut s) => {
                s.remove(&self.gtrid);
            }
            Err(p) => {
                p.into_inner().remove(&self.gtrid);
            }
        }
    }
}

impl Coordinator {
    pub fn new(mode: TxnMode, worker_id: u16, log_path: Option<&Path>) -> Result<Self, SqlError> {
        let log = match log_path {
            Some(p) => Some(
                DecisionLog::open(p).map_err(|e| SqlError::new(1105, "HY000", e.to_string()))?,
            ),
            None => None,
        };
        let boot = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        Ok(Coordinator {
            mode,
            prefix: format!("sg{worker_id}-"),
            boot,
            seq: AtomicU64::new(1),
            log,
            in_flight: Default::default(),
        })
    }

    pub fn from_config(server: &crate::rules::ServerConfig) -> Result<Self, SqlError> {
        let path = server.xa_log_path();
        let path = (server.transaction_mode == TxnMode::Xa).then_some(path.as_path());
        Coordinator::new(server.transaction_mode, server.worker_id, path)
    }

    /// A fresh global transaction id, registered as in flight until the returned token is
    /// dropped.
    pub fn begin(&self) -> InFlight {
        let gtrid = self.next_gtrid();
        if let Ok(mut s) = self.in_flight.lock() {
            s.insert(gtrid.clone());
        }
        InFlight {
            gtrid,
            set: self.in_flight.clone(),
        }
    }

    fn is_in_flight(&self, gtrid: &str) -> bool {
        self.in_flight
            .lock()
            .map(|s| s.contains(gtrid))
            .unwrap_or(true)
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// A fresh global transaction id.
    pub fn next_gtrid(&self) -> String {
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        format!("{}{}-{}", self.prefix, self.boot, n)
    }

    fn log(&self) -> Result<&DecisionLog, SqlError> {
        self.log.as_ref().ok_or_else(|| {
            SqlError::new(
                1105,
                "HY000",
                "XA transactions need a decision log ([server] xa_log)",
            )
        })
    }

    /// Record the commit decision durably (before any XA COMMIT).
    pub fn decide_commit(&self, gtrid: &str) -> Result<(), SqlError> {
        self.log()?
            .commit(gtrid)
            .map_err(|e| SqlError::new(1105, "HY000", e.to_string()))
    }

    pub fn mark_done(&self, gtrid: &str) {
        if let Some(l) = &self.log {
            if let Err(e) = l.done(gtrid) {
                tracing::warn!("{e}");
            }
        }
    }

    /// Resolve this proxy's in-doubt XA transactions on every data source: prepared branches
    /// with this proxy's prefix, except transactions this process has in flight. Runs on
    /// connections of its own (the server's default session state, never a client's).
    pub async fn recover(&self, backends: &Backends) -> Result<RecoveryReport, SqlError> {
        let log = self.log()?;
        let decided = log
            .pending()
            .map_err(|e| SqlError::new(1105, "HY000", e.to_string()))?;
        let mut report = RecoveryReport::default();
        let mut all_reached = true;
        let mut still_prepared = std::collections::BTreeSet::new();
        for ds in backends.names() {
            let backend = backends.get(&ds)?.clone();
            let mut conn = match backend.connect_unpooled().await {
                Ok(c) => c,
                Err(e) => {
                    all_reached = false;
                    report.errors.push(format!("{ds}: {}", e.to_sql().message));
                    continue;
                }
            };
            let rows = match conn.collect("XA RECOVER").await {
                Ok((_, r)) => r,
                Err(e) => {
                    all_reached = false;
                    report.errors.push(format!("{ds}: {}", e.to_sql().message));
                    continue;
                }
            };
            for xid in rows.iter().filter_map(parse_recover_row) {
                if !xid.gtrid.starts_with(&self.prefix) {
                    report.foreign += 1;
                    continue;
                }
                if self.is_in_flight(&xid.gtrid) {
                    still_prepared.insert(xid.gtrid.clone());
                    report.in_flight += 1;
                    continue;
                }
                let commit = decided.contains(&xid.gtrid);
                let sql = if commit {
                    format!("XA COMMIT {}", xid.sql())
                } else {
                    format!("XA ROLLBACK {}", xid.sql())
                };
                match conn.exec_drop(&sql).await {
                    Ok(_) if commit => report.committed.push(format!("{ds}:{}", xid.gtrid)),
                    Ok(_) => report.rolled_back.push(format!("{ds}:{}", xid.gtrid)),
                    Err(e) => {
                        still_prepared.insert(xid.gtrid.clone());
                        let e = e.to_sql();
                        report
                            .errors
                            .push(format!("{ds}: {sql}: {} ({})", e.message, e.code));
                    }
                }
            }
            conn.quit().await;
        }
        if all_reached {
            for g in decided.difference(&still_prepared) {
                self.mark_done(g);
            }
        }
        Ok(report)
    }
}

/// What recovery did.
#[derive(Debug, Default, Clone)]
pub struct RecoveryReport {
    pub committed: Vec<String>,
    pub rolled_back: Vec<String>,
    /// Prepared xids of other proxies (left alone).
    pub foreign: usize,
    /// Prepared branches of this process's open transactions (left alone).
    pub in_flight: usize,
    pub errors: Vec<String>,
}

impl RecoveryReport {
    /// Nothing was resolved and nothing failed.
    pub fn is_quiet(&self) -> bool {
        self.committed.is_empty() && self.rolled_back.is_empty() && self.errors.is_empty()
    }
}

impl std::fmt::Display for RecoveryReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "recovery: {} committed, {} rolled back, {} of other proxies left alone",
            self.committed.len(),
            self.rolled_back.len(),
            self.foreign
        )?;
        for c in &self.committed {
            write!(f, "\n  committed {c}")?;
        }
        for r in &self.rolled_back {
            write!(f, "\n  rolled back {r}")?;
        }
        for e in &self.errors {
            write!(f, "\n  error: {e}")?;
        }
        Ok(())
    }
}

/// `XA RECOVER` row: formatID, gtrid_length, bqual_length, data (gtrid then bqual).
fn parse_recover_row(r: &crate::result::Row) -> Option<Xid> {
    let num =
        |i: usize| -> Option<usize> { std::str::from_utf8(r.get(i)?.as_ref()?).ok()?.parse().ok() };
    let (g, b) = (num(1)?, num(2)?);
    let data = r.get(3)?.as_ref()?;
    if data.len() < g + b {
        return None;
    }
    Some(Xid {
        gtrid: String::from_utf8(data[..g].to_vec()).ok()?,
        bqual: String::from_utf8(data[g..g + b].to_vec()).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn recover_rows_parse() {
        let row = vec![
            Some(Bytes::from("1")),
            Some(Bytes::from("7")),
            Some(Bytes::from("4")),
            Some(Bytes::from("sg3-1-7ds_1")),
        ];
        let x = parse_recover_row(&row).unwrap();
        assert_eq!((x.gtrid.as_str(), x.bqual.as_str()), ("sg3-1-7", "ds_1"));
        assert_eq!(x.sql(), "'sg3-1-7','ds_1'");
        assert!(parse_recover_row(&vec![None, None, None, None]).is_none());
    }

    #[test]
    fn gtrids_carry_the_proxy_prefix() {
        let c = Coordinator::new(TxnMode::Xa, 7, None).unwrap();
        let a = c.next_gtrid();
        let b = c.next_gtrid();
        assert!(a.starts_with("sg7-") && b.starts_with("sg7-") && a != b);
        assert!(c.decide_commit(&a).is_err(), "no log configured");
        let t = c.begin();
        assert!(c.is_in_flight(t.gtrid()));
        let g = t.gtrid().to_string();
        drop(t);
        assert!(!c.is_in_flight(&g));
    }
}
