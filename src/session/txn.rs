//! Transactions across the data sources a session touches. Each data source joins on first
//! use over the session's pinned connection: `XA START` in XA mode (the default), the
//! client's own `START TRANSACTION ...` otherwise. At COMMIT the server's transaction-state
//! tracker tells which branches wrote: with one writer (or none) every branch commits with
//! `XA COMMIT ... ONE PHASE`; with several writers, those go through two-phase commit and
//! the decision log, and the read-only branches commit in one phase after them.

use super::{FlowResult, Session};
use crate::backend::exec_drop;
use crate::error::SqlError;
use crate::protocol::writer::ResultWriter;
use crate::txn::{failpoint, TxnMode, Xid};

/// Errors after which the whole distributed transaction is rolled back: deadlock, lock wait
/// timeout (cross-shard deadlocks surface as one), and XA branches the server rolled back.
pub(crate) const ABORTS_TXN: &[u16] = &[1205, 1213, 1612, 1613, 1614];

impl Session {
    pub(crate) async fn begin(&mut self, sql: &str, w: &mut ResultWriter<'_>) -> FlowResult<()> {
        if self.in_txn {
            self.commit_all().await?;
        }
        let upper = sql.trim().trim_end_matches(';').to_ascii_uppercase();
        self.begin_sql = if upper.starts_with("START") {
            sql.trim().trim_end_matches(';').to_string()
        } else {
            "START TRANSACTION".into()
        };
        self.start_txn();
        w.status = self.status();
        w.ok(&Default::default()).await?;
        Ok(())
    }

    /// Open a transaction; data sources join it on first use.
    pub(crate) fn start_txn(&mut self) {
        self.in_txn = true;
        // The transaction plans against the rules it started with, whatever a reload does.
        self.txn_served = Some(self.shared.served.load_full());
        self.txn_pass = Some(self.shared.gate.transaction(self.stmt_pass.as_ref()));
        self.savepoints.clear();
        self.txn_modes = self.next_txn.take();
        // XA START takes no characteristics (READ ONLY, WITH CONSISTENT SNAPSHOT): such
        // transactions stay local.
        let plain = self.begin_sql.eq_ignore_ascii_case("START TRANSACTION");
        self.xa_in_flight =
            (self.shared.txn.mode == TxnMode::Xa && plain).then(|| self.shared.txn.begin());
        self.xa_gtrid = self.xa_in_flight.as_ref().map(|t| t.gtrid().to_string());
    }

    fn xid(&self, ds: &str) -> Option<Xid> {
        self.xa_gtrid.as_ref().map(|g| Xid {
            gtrid: g.clone(),
            bqual: ds.to_string(),
        })
    }

    /// What a data source runs to join the open transaction.
    pub(crate) fn join_sql(&self, ds: &str) -> Vec<String> {
        let mut v = Vec::new();
        if let Some(m) = &self.txn_modes {
            v.push(format!("SET TRANSACTION {m}"));
        }
        v.push(match self.xid(ds) {
            Some(x) => format!("XA START {}", x.sql()),
            None => self.begin_sql.clone(),
        });
        // Savepoints set before this data source joined: rolling back to them undoes all
        // of its work, as it would have on one server.
        for s in &self.savepoints {
            v.push(format!("SAVEPOINT {}", crate::rewrite::ident(s)));
        }
        v
    }

    pub(crate) async fn commit(&mut self, w: &mut ResultWriter<'_>) -> FlowResult<()> {
        let r = self.commit_all().await;
        w.status = self.status();
        match r {
            Ok(()) => w.ok(&Default::default()).await?,
            Err(super::Flow::Sql(e)) => w.error(&e).await?,
            Err(e) => return Err(e),
        }
        Ok(())
    }

    pub(crate) async fn rollback(&mut self, w: &mut ResultWriter<'_>) -> FlowResult<()> {
        self.rollback_all().await;
        w.status = self.status();
        w.ok(&Default::default()).await?;
        Ok(())
    }

    /// The data sources that joined the open transaction.
    fn participants(&self) -> Vec<String> {
        self.pinned
            .iter()
            .filter(|(_, p)| p.in_txn)
            .map(|(ds, _)| ds.clone())
            .collect()
    }

    /// Commit every connection in the transaction. The first failure is reported and the
    /// transaction rolled back where it still can be.
    pub(crate) async fn commit_all(&mut self) -> FlowResult<()> {
        let parts = self.participants();
        let gtrid = self.xa_gtrid.take();
        self.in_txn = false;
        self.txn_served = None;
        self.txn_pass = None;
        self.savepoints.clear();
        let r = match gtrid {
            None => self.commit_local(&parts).await,
            Some(g) => self.commit_xa(&g, &parts).await,
        };
        for p in self.pinned.values_mut() {
            p.in_txn = false;
        }
        self.unpin_unless_sticky();
        self.xa_in_flight = None;
        r.map_err(|e| self.map_error(e).into())
    }

    pub(super) async fn run_on(&mut self, ds: &str, sql: &str) -> Result<(), SqlError> {
        let Some(p) = self.pinned.get_mut(ds) else {
            return Err(SqlError::internal("participant without a connection"));
        };
        match exec_drop(&mut p.lease, sql).await {
            Ok(()) => Ok(()),
            Err(e) => Err(e.with_suffix(&format!(" (data source {ds})"))),
        }
    }

    fn mark_broken(&mut self, ds: &str) {
        if let Some(p) = self.pinned.get_mut(ds) {
            p.lease.mark_broken();
        }
    }

    async fn commit_local(&mut self, parts: &[String]) -> Result<(), SqlError> {
        let mut first_err: Option<SqlError> = None;
        for ds in parts {
            let sql = if first_err.is_none() {
                "COMMIT"
            } else {
                "ROLLBACK"
            };
            if let Err(e) = self.run_on(ds, sql).await {
                self.mark_broken(ds);
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// End every branch (the OK of `XA END` carries the server's last report of what the
    /// branch did), then commit: the branches that wrote take part in two-phase commit when
    /// there are several of them, or commit in one phase; branches that only read commit in
    /// one phase after them (their outcome changes no data, and locking reads hold until
    /// the writes are committed). No decision is logged unless two branches wrote.
    async fn commit_xa(&mut self, gtrid: &str, parts: &[String]) -> Result<(), SqlError> {
        for ds in parts {
            let x = xid_sql(gtrid, ds);
            if let Err(e) = self.run_on(ds, &format!("XA END {x}")).await {
                self.abort_participants(gtrid, parts).await;
                return Err(e);
            }
        }
        let (writers, readers): (Vec<String>, Vec<String>) =
            parts.iter().cloned().partition(|ds| self.branch_wrote(ds));
        let r = if writers.len() <= 1 {
            let r = self.commit_one_phase(gtrid, &writers).await;
            self.shared.metrics.xa_outcome("one_phase", r.is_ok());
            r
        } else {
            let r = self.commit_two_phase(gtrid, &writers).await;
            self.shared.metrics.xa_outcome("two_phase", r.is_ok());
            r
        };
        for ds in &readers {
            let x = xid_sql(gtrid, ds);
            let sql = if r.is_ok() {
                format!("XA COMMIT {x} ONE PHASE")
            } else {
                format!("XA ROLLBACK {x}")
            };
            if self.run_on(ds, &sql).await.is_err() {
                self.mark_broken(ds);
            }
        }
        r
    }

    /// Whether the branch on `ds` may have written (true when the server cannot tell).
    fn branch_wrote(&mut self, ds: &str) -> bool {
        self.pinned
            .get_mut(ds)
            .is_none_or(|p| p.lease.take_txn_writes())
    }

    /// Commit an ended branch in one phase (none: nothing to do).
    async fn commit_one_phase(&mut self, gtrid: &str, parts: &[String]) -> Result<(), SqlError> {
        let Some(ds) = parts.first() else {
            return Ok(());
        };
        let x = xid_sql(gtrid, ds);
        if let Err(e) = self.run_on(ds, &format!("XA COMMIT {x} ONE PHASE")).await {
            if self.run_on(ds, &format!("XA ROLLBACK {x}")).await.is_err() {
                self.mark_broken(ds);
            }
            return Err(e);
        }
        Ok(())
    }

    async fn commit_two_phase(&mut self, gtrid: &str, parts: &[String]) -> Result<(), SqlError> {
        let xid = |ds: &String| xid_sql(gtrid, ds);
        // Phase one: every participant (already ended) prepares.
        let mut failed: Option<SqlError> = None;
        for (i, ds) in parts.iter().enumerate() {
            let x = xid(ds);
            if let Err(e) = self.run_on(ds, &format!("XA PREPARE {x}")).await {
                failed = Some(e);
                break;
            }
            if i == 0 {
                failpoint("xa_after_first_prepare");
            }
        }
        if failed.is_none() {
            failpoint("xa_after_prepare");
            if let Err(e) = self.shared.txn.decide_commit(gtrid) {
                failed = Some(e);
            }
        }
        if let Some(e) = failed {
            self.abort_participants(gtrid, parts).await;
            return Err(e);
        }
        failpoint("xa_after_log");
        // Phase two: the decision is durable; a participant that cannot commit now is
        // committed by recovery (or the retry below).
        let mut all = true;
        for (i, ds) in parts.iter().enumerate() {
            let x = xid(ds);
            if let Err(e) = self.run_on(ds, &format!("XA COMMIT {x}")).await {
                tracing::warn!("XA COMMIT {x} failed after the commit decision: {e}");
                self.mark_broken(ds);
                all = false;
                self.retry_commit(ds.clone(), x);
            }
            if i == 0 {
                failpoint("xa_between_commits");
            }
        }
        if all {
            self.shared.txn.mark_done(gtrid);
        }
        Ok(())
    }

    /// Commit a decided branch from a fresh connection (its own was dropped, which leaves a
    /// prepared branch to be finished from any connection).
    fn retry_commit(&self, ds: String, xid_sql: String) {
        let shared = self.shared.clone();
        tokio::spawn(async move {
            for attempt in 0..20u64 {
                tokio::time::sleep(std::time::Duration::from_millis(200 * (attempt + 1))).await;
                let Ok(b) = shared.backends.get(&ds) else {
                    return;
                };
                // A connection of its own, in the server's default state.
                let Ok(mut conn) = b.connect_unpooled().await else {
                    continue;
                };
                let r = conn.exec_drop(&format!("XA COMMIT {xid_sql}")).await;
                conn.quit().await;
                match r {
                    Ok(_) => return,
                    // Unknown xid: already committed (by recovery or a late success).
                    Err(crate::backend::BackendError::Server(e)) if e.code == 1397 => return,
                    Err(_) => {}
                }
            }
        });
    }

    /// Roll back every participant of an XA transaction, whatever state it reached.
    async fn abort_participants(&mut self, gtrid: &str, parts: &[String]) {
        for ds in parts {
            let x = xid_sql(gtrid, ds);
            let _ = self.run_on(ds, &format!("XA END {x}")).await;
            if self.run_on(ds, &format!("XA ROLLBACK {x}")).await.is_err() {
                self.mark_broken(ds);
            }
        }
    }

    pub(crate) async fn rollback_all(&mut self) {
        let parts = self.participants();
        let gtrid = self.xa_gtrid.take();
        self.in_txn = false;
        self.txn_served = None;
        self.txn_pass = None;
        self.savepoints.clear();
        match gtrid {
            Some(g) => self.abort_participants(&g, &parts).await,
            None => {
                for ds in &parts {
                    if self.run_on(ds, "ROLLBACK").await.is_err() {
                        self.mark_broken(ds);
                    }
                }
            }
        }
        for p in self.pinned.values_mut() {
            p.in_txn = false;
        }
        self.unpin_unless_sticky();
        self.xa_in_flight = None;
    }

    /// After a transaction, connections return to the pool unless temporary tables or named
    /// locks hold them.
    fn unpin_unless_sticky(&mut self) {
        self.txn_modes = None;
        if self.sticky {
            return;
        }
        let keep = if self.lock_pinned {
            self.lock_data_source().ok()
        } else {
            None
        };
        self.pinned
            .retain(|ds, _| keep.as_deref() == Some(ds.as_str()));
    }

    /// SAVEPOINT / ROLLBACK TO / RELEASE SAVEPOINT go to every connection in the
    /// transaction; data sources joining later replay the savepoints set before.
    pub(crate) async fn savepoint(
        &mut self,
        sql: &str,
        w: &mut ResultWriter<'_>,
    ) -> FlowResult<()> {
        if !self.in_txn && self.autocommit {
            w.ok(&Default::default()).await?;
            return Ok(());
        }
        if !self.in_txn {
            self.start_txn();
        }
        let mut first_err = None;
        for p in self.pinned.values_mut().filter(|p| p.in_txn) {
            if let Err(e) = exec_drop(&mut p.lease, sql).await {
                first_err.get_or_insert(e);
            }
        }
        if first_err.is_none() {
            self.track_savepoint(sql);
        }
        w.status = self.status();
        match first_err {
            Some(e) => w.error(&self.map_error(e)).await?,
            None => w.ok(&Default::default()).await?,
        }
        Ok(())
    }

    fn track_savepoint(&mut self, sql: &str) {
        let words: Vec<String> = sql
            .trim()
            .trim_end_matches(';')
            .split_whitespace()
            .map(|w| w.trim_matches('`').to_string())
            .collect();
        let Some(name) = words.last().map(|n| n.to_ascii_lowercase()) else {
            return;
        };
        let pos = self.savepoints.iter().position(|s| *s == name);
        match words.first().map(|w| w.to_ascii_uppercase()).as_deref() {
            Some("SAVEPOINT") => {
                if let Some(p) = pos {
                    self.savepoints.remove(p);
                }
                self.savepoints.push(name);
            }
            // RELEASE drops the savepoint and later ones; ROLLBACK TO keeps it.
            Some("RELEASE") => {
                if let Some(p) = pos {
                    self.savepoints.truncate(p);
                }
            }
            _ => {
                if let Some(p) = pos {
                    self.savepoints.truncate(p + 1);
                }
            }
        }
    }
}

/// The XID of the branch on `ds`, as SQL.
fn xid_sql(gtrid: &str, ds: &str) -> String {
    Xid {
        gtrid: gtrid.to_string(),
        bqual: ds.to_string(),
    }
    .sql()
}
