//! Local transactions across the data sources a session touches (XA comes with its own issue).

use super::{FlowResult, Session};
use crate::error::SqlError;
use crate::protocol::writer::ResultWriter;

impl Session {
    pub(crate) async fn begin(&mut self, sql: &str, w: &mut ResultWriter<'_>) -> FlowResult<()> {
        if self.in_txn {
            self.commit_all().await?;
        }
        self.in_txn = true;
        let upper = sql.trim().trim_end_matches(';').to_ascii_uppercase();
        self.begin_sql = if upper.starts_with("START") {
            sql.trim().trim_end_matches(';').to_string()
        } else {
            "START TRANSACTION".into()
        };
        w.status = self.status();
        w.ok(&Default::default()).await?;
        Ok(())
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

    /// Commit every connection in the transaction. The first failure is reported; the
    /// connections after it are rolled back.
    pub(crate) async fn commit_all(&mut self) -> FlowResult<()> {
        self.in_txn = false;
        let mut first_err: Option<SqlError> = None;
        for (ds, p) in self.pinned.iter_mut() {
            if !p.in_txn {
                continue;
            }
            p.in_txn = false;
            let sql = if first_err.is_none() {
                "COMMIT"
            } else {
                "ROLLBACK"
            };
            if let Err(e) = crate::backend::exec_drop(&mut p.lease, sql).await {
                p.lease.mark_broken();
                if first_err.is_none() {
                    first_err = Some(e.with_suffix(&format!(" (data source {ds})")));
                }
            }
        }
        self.unpin_unless_sticky();
        match first_err {
            Some(e) => Err(self.map_error(e).into()),
            None => Ok(()),
        }
    }

    pub(crate) async fn rollback_all(&mut self) {
        self.in_txn = false;
        for p in self.pinned.values_mut() {
            if !p.in_txn {
                continue;
            }
            p.in_txn = false;
            if crate::backend::exec_drop(&mut p.lease, "ROLLBACK")
                .await
                .is_err()
            {
                p.lease.mark_broken();
            }
        }
        self.unpin_unless_sticky();
    }

    /// After a transaction, connections return to the pool unless temporary tables hold them.
    fn unpin_unless_sticky(&mut self) {
        if !self.sticky {
            self.pinned.clear();
        }
    }

    /// SAVEPOINT / ROLLBACK TO / RELEASE SAVEPOINT go to every connection in the transaction.
    pub(crate) async fn savepoint(
        &mut self,
        sql: &str,
        w: &mut ResultWriter<'_>,
    ) -> FlowResult<()> {
        if !self.in_txn && self.autocommit {
            w.ok(&Default::default()).await?;
            return Ok(());
        }
        self.in_txn = true;
        let mut first_err = None;
        for p in self.pinned.values_mut() {
            if let Err(e) = crate::backend::exec_drop(&mut p.lease, sql).await {
                first_err.get_or_insert(e);
            }
        }
        w.status = self.status();
        match first_err {
            Some(e) => w.error(&self.map_error(e)).await?,
            None => w.ok(&Default::default()).await?,
        }
        Ok(())
    }
}
