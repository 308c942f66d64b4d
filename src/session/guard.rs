//! What surrounds every client statement: admission (rate limits, the firewall's deny
//! list), the statement's time limit and interruption (`KILL QUERY`, a vanished client),
//! its entry in `SHOW PROCESSLIST`, and afterwards the metrics and the slow-query log.

use super::{Flow, FlowResult, Session};
use crate::backend::{Interrupt, Scope};
use crate::protocol::writer::{Outcome, ResultWriter};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long an interrupted statement may take to wind down (the servers answer a
/// `KILL QUERY` at once) before the client connection is closed instead.
const GRACE: Duration = Duration::from_secs(10);

/// Run `fut` (one statement) with `scope` current: within `timeout`, and interruptible.
/// Once interrupted, the statement normally ends with the servers' error for it; if it
/// does not within [`GRACE`], the client connection is given up.
///
/// `fut` comes boxed: a statement's future is large (every await point of dispatch), and
/// moving it into this future and into the scope's would copy tens of kilobytes per
/// statement (a memcpy that was half of a point select's instructions); boxed, only a
/// pointer moves.
pub(super) async fn run<F>(
    scope: &Arc<Scope>,
    timeout: Option<Duration>,
    client: Option<Arc<tokio::net::TcpStream>>,
    fut: std::pin::Pin<Box<F>>,
) -> FlowResult<()>
where
    F: Future<Output = FlowResult<()>>,
{
    scope.clear();
    let fut = scope.within(fut);
    tokio::pin!(fut);
    let mut rx = scope.subscribe();
    let deadline = async {
        match timeout {
            Some(t) => tokio::time::sleep(t).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        biased;
        r = &mut fut => return r,
        _ = deadline => scope.interrupt(Interrupt::Timeout),
        _ = rx.wait_for(|i| *i != Interrupt::None) => {}
        _ = client_gone(client) => scope.interrupt(Interrupt::Killed),
    }
    match tokio::time::timeout(GRACE, &mut fut).await {
        Ok(r) => r,
        Err(_) => Err(Flow::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "an interrupted statement did not end: connection closed",
        ))),
    }
}

/// Resolves when the client hangs up while a statement runs (looked at once the statement
/// has run for [`WATCH_AFTER`]). A client that sent more bytes (a pipelined command) is not
/// watched further.
async fn client_gone(client: Option<Arc<tokio::net::TcpStream>>) {
    let Some(s) = client else {
        return std::future::pending().await;
    };
    tokio::time::sleep(WATCH_AFTER).await;
    let mut b = [0u8; 1];
    match s.peek(&mut b).await {
        Ok(0) | Err(_) => {}
        Ok(_) => std::future::pending().await,
    }
}

/// Statements shorter than this are not watched for a vanished client.
const WATCH_AFTER: Duration = Duration::from_millis(200);

/// A `RESHARD` statement (cheap for every other statement: only text that starts with that
/// word or with a comment is looked at further).
fn is_reshard(sql: &str) -> bool {
    let t = sql.trim_start();
    match t.as_bytes().first() {
        Some(b'r' | b'R') => t
            .get(..7)
            .is_some_and(|w| w.eq_ignore_ascii_case("RESHARD")),
        Some(b'/' | b'-' | b'#') => crate::sql::first_keyword(sql) == "RESHARD",
        _ => false,
    }
}

impl Session {
    /// Rate limits and the firewall's deny list; the statement's processlist entry.
    pub(super) fn admit(
        &mut self,
        sql: &str,
        w: &mut ResultWriter<'_>,
    ) -> Result<(), crate::error::SqlError> {
        // A reshard's rules text holds backend credentials: not shown in the processlist.
        match is_reshard(sql).then(|| sql.find(['\'', '"'])).flatten() {
            Some(q) => self
                .registration
                .info
                .begin(&format!("{}'(rules text not shown)'", &sql[..q])),
            None => self.registration.info.begin(sql),
        }
        self.last_route = None;
        let limits = self.shared.limits.load();
        if limits.max_result_rows > 0 || limits.max_result_bytes > 0 {
            w.set_limits(crate::protocol::writer::ResultLimits {
                rows: limits.max_result_rows,
                bytes: limits.max_result_bytes,
                user: self.user.clone(),
            });
        }
        limits.admit_user(&self.user)?;
        if limits.by_fingerprint() {
            limits.admit_statement(&crate::sql::fingerprint::fingerprint(sql))?;
        }
        Ok(())
    }

    /// The statement's time limit (see [`crate::limits::Limits::timeout_for`]).
    pub(super) fn statement_timeout(&self, sql: &str) -> Option<Duration> {
        let hint = crate::sql::hints::max_execution_time(sql);
        self.shared
            .limits
            .load()
            .timeout_for(&self.user, self.db.as_deref(), hint)
    }

    pub(super) fn client_watch(&self) -> Option<Arc<tokio::net::TcpStream>> {
        self.client_watch.clone()
    }

    pub(super) fn scope(&self) -> Arc<Scope> {
        self.registration.info.scope.clone()
    }

    /// After the answer: metrics and the slow-query log.
    pub(super) fn account(&mut self, sql: &str, started: Instant, w: &ResultWriter<'_>) {
        self.registration.info.end();
        let took = started.elapsed();
        let kind = crate::metrics::kind_label(&crate::sql::first_keyword(sql));
        let route = self.last_route.map(|(k, _)| k.name());
        let error = w.last_error;
        self.shared.metrics.statement(kind, route, took, error);
        if !self.shared.slow.is_slow(took) {
            return;
        }
        self.shared.metrics.slow.with_label_values(&[kind]).inc();
        let fp = crate::sql::fingerprint::fingerprint(sql);
        let rows = match w.outcome {
            Outcome::Rows(n) | Outcome::Ok(n) => n,
            _ => 0,
        };
        self.shared.slow.record(&crate::slowlog::SlowEntry {
            session: self.conn_id,
            user: &self.user,
            db: self.db.as_deref(),
            fingerprint: &fp,
            route,
            nodes: self.last_route.map(|(_, n)| n).unwrap_or(0),
            rows,
            took,
            error,
        });
    }
}

impl Session {
    /// The firewall's rules that need the plan: UPDATE / DELETE without WHERE on sharded
    /// tables (`require_where`), full scatters over protected tables.
    pub(super) fn firewall(
        &self,
        stmt: Option<&sqlparser::ast::Statement>,
        refs: &crate::sql::refs::Refs,
        plan: &crate::plan::Plan,
    ) -> Result<(), crate::error::SqlError> {
        use sqlparser::ast::Statement;
        let l = self.shared.limits.load();
        let has_where = match stmt {
            Some(Statement::Update(u)) => Some(u.selection.is_some()),
            Some(Statement::Delete(d)) => Some(d.selection.is_some()),
            _ => None,
        };
        if let Some(has_where) = has_where {
            let db = self.plan_db(refs)?;
            let tables: Vec<(&str, &crate::rules::TableRule)> = refs
                .tables
                .iter()
                .filter_map(|t| db.tables.get(&t.name).map(|r| (t.name.as_str(), r)))
                .collect();
            l.check_where(has_where, &tables)?;
        }
        if plan.kind == crate::route::RouteKind::Scatter {
            self.firewall_scatter(refs)?;
        }
        Ok(())
    }

    /// Full scatters over protected tables: for a plan that scatters, and before a join is
    /// answered by shipping (which reads whole tables of several nodes).
    pub(super) fn firewall_scatter(
        &self,
        refs: &crate::sql::refs::Refs,
    ) -> Result<(), crate::error::SqlError> {
        let l = self.shared.limits.load();
        if l.denies_scatter() {
            let db = self.plan_db(refs)?;
            let names: Vec<&str> = refs.tables.iter().map(|t| t.name.as_str()).collect();
            l.check_scatter(&db.name, &names)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod reshard_text_tests {
    #[test]
    fn reshard_statements_are_told_apart_cheaply() {
        for (sql, want) in [
            ("RESHARD START 'x'", true),
            ("  reshard plan 'x'", true),
            ("/* c */ RESHARD START 'x'", true),
            ("SELECT 'RESHARD'", false),
            ("REPLACE INTO t VALUES (1)", false),
            ("", false),
        ] {
            assert_eq!(super::is_reshard(sql), want, "{sql}");
        }
    }
}
