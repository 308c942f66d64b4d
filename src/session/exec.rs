//! Running plans: leases (pinned inside transactions), parallel node queries, and delivering
//! their results to the client — relayed for one node, merged for several.

use super::{FlowResult, Session};
use crate::backend::{
    query_text, spawn_query, BackendError, Lease, NodeMsg, RowStream, SessionState,
};
use crate::error::SqlError;
use crate::merge::{KWayMerge, LimitState, SortSpec};
use crate::plan::Plan;
use crate::protocol::writer::ResultWriter;
use crate::result::{ColumnDef, OkInfo, Row};
use std::sync::Arc;

impl Session {
    /// Execute a plan and answer the client.
    pub(crate) async fn run_plan(
        &mut self,
        plan: &Plan,
        w: &mut ResultWriter<'_>,
    ) -> FlowResult<()> {
        let placed = self.place_reference(plan);
        let plan = placed.as_ref().unwrap_or(plan);
        let adjusted = self.adjust_plan(plan, w);
        let plan = adjusted.as_ref().unwrap_or(plan);
        self.last_route = Some((plan.kind, plan.nodes.len()));
        if self.next_txn.is_some() && !self.in_txn && !plan.ddl {
            // `SET TRANSACTION ...` applies to the next transaction: in autocommit mode the
            // statement's own, so it runs as a transaction of its own.
            self.begin_sql = "START TRANSACTION".into();
            self.start_txn();
            let r = Box::pin(self.run_plan_inner(plan, w)).await;
            if r.is_err() || w.last_error.is_some() {
                self.rollback_all().await;
            } else if self.autocommit {
                self.commit_all().await?;
            }
            return r;
        }
        if plan.ddl && self.in_txn {
            // DDL commits the open transaction first, as in MySQL.
            self.commit_all().await?;
        }
        if !plan.ddl && !self.autocommit && !self.in_txn {
            // autocommit=0: every statement runs inside a transaction.
            self.start_txn();
        }
        // A write over several nodes outside a transaction is one: all nodes or none.
        let implicit = plan.write
            && !plan.ddl
            && !self.in_txn
            && plan.nodes.len() > 1
            && self.shared.txn.mode == crate::txn::TxnMode::Xa;
        if implicit {
            self.begin_sql = "START TRANSACTION".into();
            self.start_txn();
            w.defer_ok(true);
            let r = Box::pin(self.run_plan_inner(plan, w)).await;
            let held = w.take_deferred();
            if let Err(e) = r {
                self.rollback_all().await;
                return Err(e);
            }
            match held {
                Some(ok) => match self.commit_all().await {
                    Ok(()) => {
                        w.status = self.status();
                        w.ok(&ok).await?;
                    }
                    Err(e) => return Err(e),
                },
                // The statement failed (its error is sent): undo what other nodes did.
                None => self.rollback_all().await,
            }
            return Ok(());
        }
        self.run_plan_inner(plan, w).await
    }

    async fn run_plan_inner(&mut self, plan: &Plan, w: &mut ResultWriter<'_>) -> FlowResult<()> {
        // Inside a transaction, or once the session has temporary tables, statements use the
        // session's own pinned connection per data source.
        let txn = !plan.ddl && (self.in_txn || self.sticky) || (plan.ddl && self.sticky);
        w.status = self.status();
        if plan.nodes.len() == 1 && plan.merge.aggregate.is_none() {
            // One node: run it on this task and relay as rows arrive (no task, no channel,
            // no cross-thread wakeup per statement).
            let n = &plan.nodes[0];
            let pinned = txn
                || (self.lock_pinned
                    && Some(&n.data_source) == self.lock_data_source().ok().as_ref());
            if pinned {
                let mut lease = self.txn_lease(&n.data_source).await?;
                let r = self.relay_direct(&mut lease, &n.sql, None, w).await;
                if r.is_ok() {
                    self.after_statement(&mut lease, w.warnings()).await;
                }
                self.repin(lease);
                r?;
            } else {
                let backend = self.shared.backends.get(&n.data_source)?.clone();
                let mut lease = backend.acquire().await?;
                match lease.apply_state(&self.state).await {
                    Ok(()) => {
                        let state = self.state.clone();
                        let retry = Some((&state, !plan.write));
                        self.relay_direct(&mut lease, &n.sql, retry, w).await?;
                        self.after_statement(&mut lease, w.warnings()).await;
                    }
                    Err(e) => {
                        lease.mark_broken();
                        w.error(&self.map_error(e)).await?;
                    }
                }
            }
            self.after_plan(plan).await;
            return Ok(());
        }
        let mut streams: Vec<RowStream> = Vec::with_capacity(plan.nodes.len());
        // A write over several nodes inside the client's transaction is one statement: when
        // a node fails, what the others did is undone too (a savepoint on each data
        // source), as one server rolls back a failed statement. A statement that is its own
        // transaction (implicit XA) is rolled back whole instead.
        let statement_savepoint = txn
            && self.in_txn
            && plan.write
            && !plan.ddl
            && plan.nodes.len() > 1
            && !w.is_deferring();
        // The statement's data sources in name order (for the pinned connections).
        let dss: std::collections::BTreeSet<&str> = if txn {
            plan.nodes.iter().map(|n| n.data_source.as_str()).collect()
        } else {
            Default::default()
        };
        if txn {
            // Every data source joins before any node runs (name order, as outside a
            // transaction): a 1040 for one of them then comes before the statement did
            // anything anywhere.
            for &ds in &dss {
                let lease = self.txn_lease(ds).await?;
                self.repin(lease);
            }
            if statement_savepoint {
                for &ds in &dss {
                    self.run_on(ds, &format!("SAVEPOINT {STATEMENT_SAVEPOINT}"))
                        .await?;
                }
            }
            for n in &plan.nodes {
                let lease = self.txn_lease(&n.data_source).await?;
                let rx = spawn_query(
                    lease,
                    n.sql.clone(),
                    None,
                    !plan.write,
                    self.effects.calc_found_rows,
                );
                // Several queries share the pinned connections: run them one at a time, each
                // read whole (at most max_memory_rows rows) so that its connection comes back
                // even when the merge stops early.
                streams.push(self.buffer_and_repin(rx).await?);
            }
        } else {
            // Take the statement's connections per data source in one batch, data sources in
            // name order: statements never wait for a connection while holding one.
            // A grouped plan's metadata query (its last node, `LIMIT 0`) runs first, on one of
            // the statement's connections, so it never needs a connection of its own.
            let meta = plan
                .merge
                .aggregate
                .as_ref()
                .and_then(|_| plan.nodes.len().checked_sub(1));
            let mut per_ds: std::collections::BTreeMap<&str, usize> = Default::default();
            for (i, n) in plan.nodes.iter().enumerate() {
                let c = per_ds.entry(n.data_source.as_str()).or_default();
                if Some(i) != meta {
                    *c += 1;
                }
            }
            let mut leases: std::collections::HashMap<&str, Vec<Lease>> = Default::default();
            for (ds, count) in per_ds {
                let backend = self.shared.backends.get(ds)?.clone();
                // More nodes than the pool holds: the rest reuse these (see below).
                let batch = count.max(1).min(backend.size());
                leases.insert(ds, backend.acquire_many(batch).await?);
            }
            let mut meta_stream = None;
            if let Some(n) = meta.and_then(|i| plan.nodes.get(i)) {
                let lease = self.lease_from(&mut leases, &n.data_source).await?;
                let rx = spawn_query(lease, n.sql.clone(), Some(self.state.clone()), true, false);
                let (msgs, back, _) = drain(rx, usize::MAX).await;
                if let Some(l) = back {
                    leases.entry(n.data_source.as_str()).or_default().push(l);
                }
                meta_stream = Some(replay(msgs));
            }
            // The stream that last took a connection of each data source.
            let mut last: std::collections::HashMap<&str, usize> = Default::default();
            for (i, n) in plan.nodes.iter().enumerate() {
                if Some(i) == meta {
                    continue;
                }
                let ds = n.data_source.as_str();
                let spare = leases.get_mut(ds).and_then(|v| v.pop());
                let lease = match (spare, last.get(ds)) {
                    (Some(l), _) => l,
                    // More nodes than the pool holds: read an earlier node of this data
                    // source whole (at most max_memory_rows rows) and reuse its connection,
                    // rather than wait for one that only comes back when it is read.
                    (None, Some(&j)) => {
                        let max = self.shared.config.server.max_memory_rows;
                        let earlier = std::mem::replace(&mut streams[j], replay(Vec::new()));
                        let (msgs, back, overflow) = drain(earlier, max).await;
                        if overflow {
                            return Err(SqlError::new(
                                1038,
                                "HY001",
                                format!("Out of sort memory: a statement over more nodes of data source {ds} than its pool_size held more than {max} rows of one node in the proxy (raise [server] max_memory_rows or pool_size)"),
                            )
                            .into());
                        }
                        streams[j] = replay(msgs);
                        match back {
                            Some(l) => l,
                            None => self.lease_from(&mut leases, ds).await?,
                        }
                    }
                    (None, None) => self.lease_from(&mut leases, ds).await?,
                };
                last.insert(ds, streams.len());
                streams.push(spawn_query(
                    lease,
                    n.sql.clone(),
                    Some(self.state.clone()),
                    !plan.write,
                    self.effects.calc_found_rows,
                ));
            }
            streams.extend(meta_stream);
        }
        let mut leases = self.deliver(plan, streams, w).await?;
        if w.warnings() > 0 {
            for l in leases.iter_mut() {
                self.after_statement(l, 1).await;
            }
            if txn {
                // The nodes ran on the session's pinned connections: read their warnings
                // there (each connection keeps those of the last node it ran).
                for &ds in &dss {
                    if let Some(mut p) = self.pinned.remove(ds) {
                        self.after_statement(&mut p.lease, 1).await;
                        self.pinned.insert(ds.to_string(), p);
                    }
                }
            }
        }
        if statement_savepoint {
            let sql = if w.last_error.is_some() {
                format!("ROLLBACK TO SAVEPOINT {STATEMENT_SAVEPOINT}")
            } else {
                format!("RELEASE SAVEPOINT {STATEMENT_SAVEPOINT}")
            };
            for &ds in &dss {
                // After an error that ended the whole transaction the savepoint is gone.
                let _ = self.run_on(ds, &sql).await;
            }
        }
        if txn {
            for l in leases {
                self.repin(l);
            }
        }
        self.after_plan(plan).await;
        Ok(())
    }

    async fn after_plan(&self, plan: &Plan) {
        if plan.ddl {
            // Column types and order may have changed.
            let sh = &self.shared;
            if let Err(e) = sh.catalog.load(&self.served(), &sh.backends).await {
                tracing::warn!("catalog refresh after DDL failed: {e}");
            }
        }
    }

    /// Run one node's statement on `lease` and relay its result as it arrives (same packets
    /// as [`Session::relay`]). A connection left mid-result is marked broken.
    async fn relay_direct(
        &mut self,
        lease: &mut Lease,
        sql: &str,
        retry: Option<(&SessionState, bool)>,
        w: &mut ResultWriter<'_>,
    ) -> FlowResult<()> {
        let mut broken = false;
        let r = self
            .relay_direct_inner(lease, sql, retry, w, &mut broken)
            .await;
        if broken || matches!(r, Err(super::Flow::Io(_))) {
            // A client that went away mid-result leaves rows in flight on the connection.
            lease.mark_broken();
        }
        r
    }

    async fn relay_direct_inner(
        &mut self,
        lease: &mut Lease,
        sql: &str,
        retry: Option<(&SessionState, bool)>,
        w: &mut ResultWriter<'_>,
        broken: &mut bool,
    ) -> FlowResult<()> {
        let failed = |e: BackendError, broken: &mut bool| {
            *broken |= e.fatal();
            e.to_sql()
        };
        let (state, read_only) = match retry {
            Some((s, r)) => (Some(s), r),
            None => (None, false),
        };
        let mut res = match query_text(lease, sql, state, read_only).await {
            Ok(r) => r,
            Err(e) => {
                let e = failed(e, broken);
                w.error(&self.map_error(e)).await?;
                return Ok(());
            }
        };
        let mut started = false;
        if let Some(cols) = res.columns() {
            let cols: Vec<ColumnDef> = cols.iter().map(|c| self.map_column(c)).collect();
            w.begin(&cols).await?;
            started = true;
            loop {
                match res.next_row().await {
                    Ok(Some(r)) => {
                        w.row(&r).await?;
                        if w.over_limit() && retry.is_some() {
                            // Past a result limit on a pooled connection: close it rather
                            // than read the rest (the server stops at its next write); the
                            // client gets the limit's error. A pinned connection (no
                            // `retry`) is stopped by KILL QUERY and read to its end.
                            *broken = true;
                            w.end(0).await?;
                            return Ok(());
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        let e = failed(e, broken);
                        w.error(&self.map_error(e)).await?;
                        return Ok(());
                    }
                }
            }
        }
        match res.finish().await {
            Ok(ok) if started => w.end(ok.warnings).await?,
            Ok(ok) => {
                if ok.last_insert_id != 0 {
                    self.last_insert_id = ok.last_insert_id;
                }
                w.ok(&ok).await?;
            }
            Err(e) => {
                let e = failed(e, broken);
                w.error(&self.map_error(e)).await?;
            }
        }
        Ok(())
    }

    /// The session's connection to `ds` inside a transaction (joined on first use). A
    /// session that holds temporary tables or named locks gets a connection of its own,
    /// outside the pool, so what it holds for its lifetime never starves other sessions.
    pub(super) async fn txn_lease(&mut self, ds: &str) -> FlowResult<Lease> {
        let mut p = match self.pinned.remove(ds) {
            Some(p) => p,
            None => {
                let backend = self.shared.backends.get(ds)?.clone();
                let lifetime = self.sticky
                    || (self.lock_pinned && self.lock_data_source().ok().as_deref() == Some(ds));
                let mut lease = if lifetime {
                    backend.dedicated().await?
                } else {
                    // Admission first, then the connection: never hold one while waiting.
                    let slot = self.transaction_slot(&backend).await?;
                    let mut lease = backend.acquire().await?;
                    lease.hold_slot(slot);
                    lease
                };
                lease.apply_state(&self.state).await?;
                super::Pinned {
                    lease,
                    in_txn: false,
                }
            }
        };
        if self.in_txn && !p.in_txn {
            // The data source joins the open transaction on first use.
            for sql in self.join_sql(ds) {
                if let Err(e) = crate::backend::exec_drop(&mut p.lease, &sql).await {
                    self.pinned.insert(ds.to_string(), p);
                    return Err(e.into());
                }
            }
            // What the connection wrote before the branch began is not the branch's.
            p.lease.take_txn_writes();
        }
        Ok(p.lease)
    }

    /// The session's transaction slot (see [`crate::limits::Limits::transactions`]): the one
    /// its pinned connections hold, or a new one, waited for like a pooled connection.
    async fn transaction_slot(
        &self,
        backend: &crate::backend::Backend,
    ) -> Result<Arc<tokio::sync::OwnedSemaphorePermit>, SqlError> {
        if let Some(s) = self.pinned.values().find_map(|p| p.lease.slot().cloned()) {
            return Ok(s);
        }
        let sem = self.shared.limits.load().transactions.clone();
        if let Ok(p) = sem.clone().try_acquire_owned() {
            return Ok(Arc::new(p));
        }
        let wait = backend.pool_timeout();
        let mut raised = self.scope().subscribe();
        tokio::select! {
            p = tokio::time::timeout(wait, sem.acquire_owned()) => match p {
                Ok(Ok(p)) => Ok(Arc::new(p)),
                Ok(Err(_)) => Err(SqlError::internal("transaction admission closed")),
                Err(_) => Err(SqlError::new(
                    1040,
                    "HY000",
                    format!(
                        "Too many connections: {} transactions hold connections (the [limits] max_transactions) and none ended within {} ms",
                        self.shared.limits.load().max_transactions,
                        wait.as_millis()
                    ),
                )),
            },
            why = raised.wait_for(|i| *i != crate::backend::Interrupt::None) => {
                Err(why.map(|v| v.error()).unwrap_or_else(|_| SqlError::internal("interrupt")))
            }
        }
    }

    pub(super) fn repin(&mut self, lease: Lease) {
        let ds = lease.data_source().to_string();
        let in_txn = self.in_txn;
        self.pinned.insert(ds, super::Pinned { lease, in_txn });
    }

    /// Drain a node's stream into memory (transactions with several queries per connection).
    async fn buffer_and_repin(&mut self, rx: RowStream) -> FlowResult<RowStream> {
        let max = self.shared.config.server.max_memory_rows;
        let (msgs, lease, overflow) = drain(rx, max).await;
        if let Some(l) = lease {
            self.repin(l);
        }
        if overflow {
            return Err(SqlError::new(
                1038,
                "HY001",
                format!("Out of sort memory: a statement over several nodes sharing a pinned connection held more than {max} rows in the proxy (raise [server] max_memory_rows)"),
            )
            .into());
        }
        Ok(replay(msgs))
    }

    /// One of the statement's connections to `ds`, or a new one when they are all in use.
    async fn lease_from(
        &self,
        leases: &mut std::collections::HashMap<&str, Vec<Lease>>,
        ds: &str,
    ) -> FlowResult<Lease> {
        if let Some(l) = leases.get_mut(ds).and_then(|v| v.pop()) {
            return Ok(l);
        }
        let backend = self.shared.backends.get(ds)?.clone();
        Ok(backend.acquire().await?)
    }

    /// Send the results of the node streams to the client; returns the leases that came back.
    async fn deliver(
        &mut self,
        plan: &Plan,
        mut streams: Vec<RowStream>,
        w: &mut ResultWriter<'_>,
    ) -> FlowResult<Vec<Lease>> {
        let mut leases = Vec::new();
        // A grouped plan's last node answers the metadata query.
        let meta = match plan.merge.aggregate {
            Some(_) => streams.pop(),
            None => None,
        };
        if streams.len() == 1 {
            let mut rx = streams.remove(0);
            self.relay(&mut rx, w, &mut leases).await?;
            return Ok(leases);
        }
        // Several nodes: look at the first message of each.
        let mut firsts = Vec::with_capacity(streams.len());
        for rx in streams.iter_mut() {
            firsts.push(rx.recv().await);
        }
        let mut first_err: Option<(usize, SqlError)> = None;
        for (i, m) in firsts.iter_mut().enumerate() {
            match m {
                Some(NodeMsg::Error { err, lease }) => {
                    if let Some(l) = lease.take() {
                        leases.push(l);
                    }
                    if first_err.is_none() {
                        first_err = Some((i, err.clone()));
                    }
                }
                None if first_err.is_none() => {
                    first_err = Some((i, SqlError::internal("backend task ended early")))
                }
                _ => {}
            }
        }
        if let Some((i, e)) = first_err {
            // Inside a transaction the other nodes' (buffered) results hold pinned connections
            // to keep; otherwise dropping their streams abandons those queries.
            if self.in_txn {
                for (j, (m, rx)) in firsts.into_iter().zip(streams.iter_mut()).enumerate() {
                    if j != i {
                        collect_leases(m, rx, &mut leases).await;
                    }
                }
            }
            let e = self
                .map_error(e)
                .with_suffix(&format!(" (data source {})", plan.nodes[i].data_source));
            w.error(&e).await?;
            return Ok(leases);
        }
        let columns = match &firsts[0] {
            Some(NodeMsg::Columns(c)) => Some(c.clone()),
            _ => None,
        };
        let Some(columns) = columns else {
            // No result set: a write on several nodes. Sum what they report.
            // Copies of a broadcast table each report the same change: count it once.
            let copies = plan.kind == crate::route::RouteKind::Broadcast;
            let mut total = OkInfo::default();
            for (idx, (m, rx)) in firsts.into_iter().zip(streams.iter_mut()).enumerate() {
                let mut m = m;
                loop {
                    match m {
                        Some(NodeMsg::Done { ok, lease }) => {
                            if !copies || idx == 0 {
                                total.affected_rows += ok.affected_rows;
                                total.warnings = total.warnings.saturating_add(ok.warnings);
                                total.info = ok.info.clone();
                            }
                            if total.last_insert_id == 0 {
                                total.last_insert_id = ok.last_insert_id;
                            }
                            leases.extend(lease);
                            break;
                        }
                        Some(NodeMsg::Error { err, lease }) => {
                            leases.extend(lease);
                            if first_err.is_none() {
                                first_err = Some((0, err));
                            }
                            break;
                        }
                        Some(_) => m = rx.recv().await,
                        None => break,
                    }
                }
            }
            if let Some((_, e)) = first_err {
                w.error(&self.map_error(e)).await?;
            } else {
                if total.last_insert_id != 0 {
                    self.last_insert_id = total.last_insert_id;
                }
                w.ok(&total).await?;
            }
            return Ok(leases);
        };

        if let (Some(agg), Some(meta)) = (&plan.merge.aggregate, meta) {
            self.deliver_grouped(agg, columns.to_vec(), streams, meta, w, &mut leases)
                .await?;
            return Ok(leases);
        }
        let keys = plan.merge.resolve(columns.len());
        let mut spec = SortSpec::new(&keys, &columns);
        crate::plan::override_collations(&mut spec, &columns, &plan.merge.key_collations);
        let visible = columns.len().saturating_sub(plan.merge.hidden);
        let client_cols: Vec<ColumnDef> = columns[..visible]
            .iter()
            .map(|c| self.map_column(c))
            .collect();
        w.begin(&client_cols).await?;
        let mut merge = KWayMerge::new(spec);
        let mut limit = LimitState::new(plan.merge.offset, plan.merge.limit);
        let mut tally = Tally::default();
        for (i, rx) in streams.iter_mut().enumerate() {
            match next_row(rx, &mut leases, &mut tally).await {
                Ok(Some(r)) => merge.push(i, r),
                Ok(None) => {}
                Err(e) => {
                    w.error(&self.map_error(e)).await?;
                    return Ok(leases);
                }
            }
        }
        while !limit.done() {
            let Some((src, row)) = merge.pop() else { break };
            if limit.offer() {
                w.row(&row).await?;
            }
            match next_row(&mut streams[src], &mut leases, &mut tally).await {
                Ok(Some(r)) => merge.push(src, r),
                Ok(None) => {}
                Err(e) => {
                    w.error(&self.map_error(e)).await?;
                    return Ok(leases);
                }
            }
        }
        // Streams still open here were cut by LIMIT. Each node was sent `LIMIT offset+n`, so
        // what is left is bounded: read it off and keep the connections, rather than
        // closing them mid-result and reconnecting; their ends also bring the nodes'
        // FOUND_ROWS() for SQL_CALC_FOUND_ROWS.
        let calc = self.effects.calc_found_rows;
        if !calc {
            w.end(tally.warnings).await?;
        }
        for rx in streams.iter_mut() {
            while let Some(m) = rx.recv().await {
                match m {
                    NodeMsg::Done { ok, lease } => {
                        tally.add(&ok);
                        leases.extend(lease)
                    }
                    NodeMsg::Error { lease, .. } => leases.extend(lease),
                    _ => {}
                }
            }
        }
        if calc {
            w.end(tally.warnings).await?;
            self.diag.found_rows_override = tally.found_rows;
        }
        Ok(leases)
    }

    /// One node's result, relayed as it arrives.
    async fn relay(
        &mut self,
        rx: &mut RowStream,
        w: &mut ResultWriter<'_>,
        leases: &mut Vec<Lease>,
    ) -> FlowResult<()> {
        let mut started = false;
        while let Some(m) = rx.recv().await {
            match m {
                NodeMsg::Columns(c) => {
                    let cols: Vec<ColumnDef> = c.iter().map(|c| self.map_column(c)).collect();
                    w.begin(&cols).await?;
                    started = true;
                }
                NodeMsg::Row(r) => w.row(&r).await?,
                NodeMsg::Done { ok, lease } => {
                    leases.extend(lease);
                    if started {
                        w.end(ok.warnings).await?;
                    } else {
                        if ok.last_insert_id != 0 {
                            self.last_insert_id = ok.last_insert_id;
                        }
                        w.ok(&ok).await?;
                    }
                    return Ok(());
                }
                NodeMsg::Error { err, lease } => {
                    leases.extend(lease);
                    w.error(&self.map_error(err)).await?;
                    return Ok(());
                }
            }
        }
        w.error(&SqlError::internal("backend task ended early"))
            .await?;
        Ok(())
    }
}

/// Read a node's whole stream: its messages (at most `max` rows kept; past that the rest
/// are read and dropped, and the third value says so) and the connection it gives back.
async fn drain(mut rx: RowStream, max: usize) -> (Vec<NodeMsg>, Option<Lease>, bool) {
    let mut msgs = Vec::new();
    let mut back = None;
    let mut rows = 0usize;
    let mut overflow = false;
    while let Some(m) = rx.recv().await {
        match m {
            NodeMsg::Row(_) if rows >= max => overflow = true,
            NodeMsg::Row(r) => {
                rows += 1;
                msgs.push(NodeMsg::Row(r));
            }
            NodeMsg::Done { ok, lease } => {
                back = back.or(lease);
                msgs.push(NodeMsg::Done { ok, lease: None });
            }
            NodeMsg::Error { err, lease } => {
                back = back.or(lease);
                msgs.push(NodeMsg::Error { err, lease: None });
            }
            other => msgs.push(other),
        }
    }
    (msgs, back, overflow)
}

/// A stream that replays drained messages.
fn replay(msgs: Vec<NodeMsg>) -> RowStream {
    RowStream::replay(msgs)
}

/// The savepoint that makes a write over several nodes one statement in a transaction.
const STATEMENT_SAVEPOINT: &str = "`__sg_statement`";

/// What the nodes of one result reported at their ends.
#[derive(Default)]
pub(super) struct Tally {
    pub warnings: u16,
    /// The sum of the nodes' `FOUND_ROWS()` (`SQL_CALC_FOUND_ROWS`), when they report one.
    pub found_rows: Option<u64>,
}

impl Tally {
    fn add(&mut self, ok: &OkInfo) {
        self.warnings = self.warnings.saturating_add(ok.warnings);
        if let Some(n) = ok.found_rows {
            *self.found_rows.get_or_insert(0) += n;
        }
    }
}

pub(super) async fn next_row(
    rx: &mut RowStream,
    leases: &mut Vec<Lease>,
    tally: &mut Tally,
) -> Result<Option<Row>, SqlError> {
    loop {
        match rx.recv().await {
            Some(NodeMsg::Row(r)) => return Ok(Some(r)),
            Some(NodeMsg::Columns(_)) => continue,
            Some(NodeMsg::Done { ok, lease }) => {
                tally.add(&ok);
                leases.extend(lease);
                return Ok(None);
            }
            Some(NodeMsg::Error { err, lease }) => {
                leases.extend(lease);
                return Err(err);
            }
            None => return Err(SqlError::internal("backend task ended early")),
        }
    }
}

/// Drain a stream that will not be delivered, keeping its lease.
pub(super) async fn collect_leases(
    first: Option<NodeMsg>,
    rx: &mut RowStream,
    leases: &mut Vec<Lease>,
) {
    let mut m = first;
    loop {
        match m {
            Some(NodeMsg::Done { lease, .. }) | Some(NodeMsg::Error { lease, .. }) => {
                leases.extend(lease);
                return;
            }
            Some(_) => m = rx.recv().await,
            None => return,
        }
    }
}
