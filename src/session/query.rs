//! COM_QUERY (and bound prepared statements): classify, parse, plan, run.

use super::stmt::Analysis;
use super::{Flow, FlowResult, Session};
use crate::error::SqlError;
use crate::plan::{self, PlanCtx};
use crate::protocol::writer::ResultWriter;
use crate::result::ColumnDef;
use crate::rules::{LogicalDatabase, ShardValue};
use crate::sql::refs::Refs;
use crate::sql::{first_keyword, Edits, SourceMap};
use bytes::Bytes;
use sqlparser::ast::Statement;
use std::sync::Arc;

/// Prepared-statement parameters, as routing values and as SQL literals.
#[derive(Debug, Default, Clone)]
pub(crate) struct Bound {
    pub values: Vec<ShardValue>,
    pub sql: Vec<String>,
}

impl Bound {
    /// The statement with its `?` placeholders replaced by the bound values, parsed again;
    /// `None` when the counts differ or the text does not parse.
    pub(crate) fn inline(&self, sql: &str, refs: &Refs) -> Option<(String, Statement)> {
        if refs.placeholders.len() != self.sql.len() {
            return None;
        }
        let mut e = Edits::new();
        for (r, v) in refs.placeholders.iter().zip(&self.sql) {
            e.replace(r.clone(), v.clone());
        }
        let text = e.apply(sql);
        let stmt = crate::sql::parse_one(&tolerant_text(&text)).ok()?;
        Some((text, stmt))
    }
}

impl Session {
    /// COM_QUERY: a query packet's bytes. String literals that are not UTF-8 (raw binary
    /// parameters inlined by a driver) become hex literals (see [`crate::sql::binlit`]).
    pub async fn query_bytes(
        &mut self,
        sql: &[u8],
        w: &mut ResultWriter<'_>,
    ) -> std::io::Result<()> {
        if !self.client_cs.converts() {
            if let Ok(text) = std::str::from_utf8(sql) {
                return self.query(text, w).await;
            }
        }
        let text = self.query_text(sql);
        self.query(&text, w).await
    }

    pub async fn query(&mut self, sql: &str, w: &mut ResultWriter<'_>) -> std::io::Result<()> {
        self.shared
            .questions
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let started = std::time::Instant::now();
        // Held here while a reshard cuts over (statements of open transactions go on).
        self.stmt_pass = Some(self.shared.gate.enter(self.in_txn).await);
        let r = match self.admit(sql, w).and_then(|()| self.scan(sql)) {
            Ok(text) => {
                let timeout = self.statement_timeout(sql);
                let scope = self.scope();
                let client = self.client_watch();
                let bound = Bound::default();
                let run = Box::pin(self.dispatch(&text, &bound, w));
                super::guard::run(&scope, timeout, client, run).await
            }
            Err(e) => Err(e.into()),
        };
        self.stmt_pass = None;
        let out = self.finish(r, w).await;
        self.account(sql, started, w);
        out
    }

    /// The client's text as the server reads it (comments gone, version comments resolved:
    /// see [`crate::sql::scan`]), if it is exactly one statement.
    pub(crate) fn scan(&self, sql: &str) -> Result<String, SqlError> {
        let scanned = crate::sql::scan::scan(sql, &self.scan_mode()).map_err(SqlError::parse)?;
        if self.no_backslash_escapes && scanned.text.contains(crate::sql::NBE_BACKSLASH) {
            // The byte stands for backslashes while such a statement is parsed.
            return Err(SqlError::unsupported(
                "the control character U+001F in a statement under sql_mode NO_BACKSLASH_ESCAPES",
            ));
        }
        let limit = crate::server::MAX_EXPRESSION_DEPTH;
        if scanned.depth > limit {
            return Err(SqlError::new(
                1436,
                "HY000",
                format!("Thread stack overrun: an expression nests {} levels deep, more than shardgate's limit of {limit} (split the condition, or use IN (...) lists)", scanned.depth),
            ));
        }
        match scanned.statements.len() {
            0 => Err(SqlError::new(1065, "42000", "Query was empty")),
            1 => Ok(scanned.single().unwrap_or_default().to_string()),
            _ => {
                let second = scanned.statements[1].clone();
                let near: String = scanned.text[second].chars().take(80).collect();
                Err(SqlError::new(
                    1064,
                    "42000",
                    format!("You have an error in your SQL syntax; multi-statements are not enabled (send one statement per query) near '{near}'"),
                ))
            }
        }
    }

    /// Session settings value conversions depend on.
    pub(crate) fn conv_ctx(&self) -> crate::convert::ConvCtx {
        crate::convert::ConvCtx {
            round_fractional: self.round_fractional,
            utc_offset: self.utc_offset,
            nbe_standin: self.no_backslash_escapes,
        }
    }

    /// Session settings for what the proxy evaluates itself.
    pub(crate) fn eval_options(&self) -> crate::eval::CompileOptions {
        crate::eval::CompileOptions {
            pipes_as_concat: self.pipes_as_concat,
            div_precision: self.div_precision,
        }
    }

    pub(crate) fn scan_mode(&self) -> crate::sql::scan::ScanMode {
        crate::sql::scan::ScanMode {
            version: self.shared.backend_version_id,
            mariadb: self.shared.backend_is_mariadb,
            no_backslash_escapes: self.no_backslash_escapes,
            ansi_quotes: self.ansi_quotes,
        }
    }

    pub(crate) async fn finish(
        &mut self,
        r: FlowResult<()>,
        w: &mut ResultWriter<'_>,
    ) -> std::io::Result<()> {
        let out = self.finish_inner(r, w).await;
        let diagnostic = std::mem::take(&mut self.diagnostic_statement);
        self.note_outcome(w, diagnostic);
        // A deadlock or lock wait timeout on any shard aborts the whole transaction: the
        // other shards' locks would otherwise keep the deadlock alive.
        if self.in_txn
            && w.last_error
                .is_some_and(|c| super::txn::ABORTS_TXN.contains(&c))
        {
            self.rollback_all().await;
        }
        out
    }

    async fn finish_inner(
        &mut self,
        r: FlowResult<()>,
        w: &mut ResultWriter<'_>,
    ) -> std::io::Result<()> {
        match r {
            Ok(()) => Ok(()),
            Err(Flow::Sql(e)) => {
                w.status = self.status();
                let e = self.map_error(e);
                w.error(&e).await
            }
            Err(Flow::Io(e)) => Err(e),
        }
    }

    /// Run a statement through the proxy (every merge applies) and keep its answer in
    /// memory, at most `max_rows` rows (past that the capture holds error 1038).
    pub(crate) async fn capture(
        &mut self,
        sql: &str,
        max_rows: usize,
        w: &mut ResultWriter<'_>,
    ) -> FlowResult<crate::protocol::writer::Capture> {
        let status = self.status();
        let mut cw = ResultWriter::capturing(w.io(), status, max_rows);
        Box::pin(self.dispatch(sql, &Bound::default(), &mut cw)).await?;
        Ok(cw.take_capture().unwrap_or_default())
    }

    pub(crate) async fn dispatch(
        &mut self,
        sql: &str,
        bound: &Bound,
        w: &mut ResultWriter<'_>,
    ) -> FlowResult<()> {
        if self.shared.inject_panic.get().is_some_and(|p| p == sql) {
            panic!("injected panic (tests)");
        }
        // Under ANSI_QUOTES, double-quoted names are identifiers: read them as such.
        let converted;
        let sql = if self.ansi_quotes {
            converted = crate::sql::ansi_quotes_to_backticks(sql);
            converted.as_ref()
        } else {
            sql
        };
        let kw = first_keyword(sql);
        let second = || first_keyword(sql.trim_start().get(kw.len()..).unwrap_or(""));
        if matches!(kw.as_str(), "SHOW" | "KILL" | "RELOAD") {
            if let Some(cmd) = super::admin::parse(sql) {
                return Box::pin(self.admin(cmd, w)).await;
            }
        }
        if matches!(kw.as_str(), "SHOW" | "RESHARD") {
            if let Some(cmd) = super::reshard::parse(sql) {
                return Box::pin(self.reshard(cmd?, w)).await;
            }
        }
        if let Some(r) = crate::sql::classify::by_keyword(sql) {
            return Err(self.refuse(r).into());
        }
        match kw.as_str() {
            "" if sql.trim().trim_end_matches(';').trim().is_empty() => {
                return Err(SqlError::new(1065, "42000", "Query was empty").into());
            }
            "BEGIN" => return self.begin(sql, w).await,
            "START" if second() == "TRANSACTION" => return self.begin(sql, w).await,
            "COMMIT" => return self.commit(w).await,
            "ROLLBACK" => {
                let upper = sql.to_ascii_uppercase();
                if upper.split_whitespace().any(|t| t == "TO") {
                    return self.savepoint(sql, w).await;
                }
                return self.rollback(w).await;
            }
            "SAVEPOINT" | "RELEASE" => return self.savepoint(sql, w).await,
            "SET" => return Box::pin(self.set_statement(sql, w)).await,
            "USE" => {
                let name = after_word(sql.trim().trim_end_matches(';'), 3)
                    .trim()
                    .to_string();
                self.use_db(&name)?;
                w.ok(&Default::default()).await?;
                return Ok(());
            }
            "SHOW" => return Box::pin(self.show(sql, w)).await,
            "PREVIEW" => {
                return Box::pin(self.explain_sharding(after_word(sql, 7), bound, w)).await
            }
            "EXPLAIN" | "DESCRIBE" | "DESC" if second() == "SHARDING" => {
                let rest = after_word(sql, kw.len());
                return Box::pin(self.explain_sharding(
                    after_word(rest, "SHARDING".len()),
                    bound,
                    w,
                ))
                .await;
            }
            "XA" => {
                return Err(SqlError::unsupported(
                    "XA statements from clients (shardgate coordinates XA itself)",
                )
                .into())
            }
            "LOCK" => return Err(SqlError::unsupported("LOCK TABLES").into()),
            // Sent on, the id would name some backend thread of the default data source (maybe
            // another client's pooled connection), not a shardgate session.
            "KILL" => {
                return Err(SqlError::unsupported(
                    "KILL (ids name shardgate sessions, which cannot be killed yet)",
                )
                .into())
            }
            // LOCK TABLES and FLUSH TABLES WITH READ LOCK are refused, so no lock is held.
            "UNLOCK" => {
                w.ok(&Default::default()).await?;
                return Ok(());
            }
            "PREPARE" | "EXECUTE" | "DEALLOCATE" => {
                return Box::pin(self.sql_prepared(sql, w)).await
            }
            // `DO expr`: planned and checked as `SELECT expr`, sent as DO.
            "DO" => {
                let select = format!("SELECT {}", after_word(sql, 2));
                let prev = std::mem::replace(&mut self.do_statement, true);
                let r = Box::pin(self.dispatch(&select, bound, w)).await;
                self.do_statement = prev;
                return r;
            }
            "DROP" if second() == "PREPARE" => return Box::pin(self.sql_prepared(sql, w)).await,
            "SELECT" if sql.contains('@') && Box::pin(self.select_into_vars(sql, w)).await? => {
                return Ok(())
            }
            _ => {}
        }
        if kw == "SELECT" && bound.sql.is_empty() && self.run_template(sql, w).await? {
            return Ok(());
        }
        // Under NO_BACKSLASH_ESCAPES backslashes in strings are plain characters: plan on a
        // same-length reading of the text (plans put the backslashes back in what they send).
        let original = sql;
        let readable = self.tokenizable(sql);
        let sql: &str = &readable;
        let text = tolerant_text(sql);
        let stmt = match crate::sql::parse_one(&text) {
            Ok(s) => s,
            Err(e) => return Box::pin(self.unparseable(original, &e.to_string(), w)).await,
        };
        if Box::pin(self.union_query(sql, &stmt, w)).await? {
            return Ok(());
        }
        if let Some(inlined) = Box::pin(self.inline_subqueries(sql, &stmt, w)).await? {
            // Subqueries over shards answered by the proxy; their values are literals now.
            return Box::pin(self.dispatch(&inlined, bound, w)).await;
        }
        self.run_statement(sql, &stmt, None, bound, w).await
    }

    /// Plan and run a parsed statement (prepared statements come here directly with their
    /// parameters bound, without re-parsing).
    pub(crate) async fn run_statement(
        &mut self,
        sql: &str,
        stmt: &Statement,
        known: Option<(&Refs, &Analysis)>,
        bound: &Bound,
        w: &mut ResultWriter<'_>,
    ) -> FlowResult<()> {
        let collected;
        let analysed;
        let (r, analysis) = match known {
            Some(k) => k,
            None => {
                collected = Refs::collect(stmt, &SourceMap::new(sql));
                analysed = Analysis::of(stmt, sql);
                (&collected, &analysed)
            }
        };
        self.touch_gate(r).await?;
        if Self::reads_information_schema(r) {
            if let Some(refusal) = crate::sql::classify::statement(stmt, sql) {
                return Err(self.refuse(refusal).into());
            }
            if !matches!(stmt, Statement::Query(_)) {
                return Err(self
                    .refuse(crate::sql::classify::Refusal::Table {
                        command: "UPDATE".into(),
                        table: "information_schema".into(),
                    })
                    .into());
            }
            return Box::pin(self.information_schema(sql, stmt, r, bound, w)).await;
        }
        self.check_analysed(stmt, r, analysis)?;
        let tableless = r.tables.is_empty();
        let planned = self.plan_with(sql, stmt, Some(r), bound, None, analysis.session_fns);
        let (mut plan, generated) = match planned {
            Ok(p) => p,
            // Tables that cannot meet on one node: ship some of them to the others.
            Err(e) if e.code == 1235 => {
                self.firewall_scatter(r)?;
                if Box::pin(self.ship_join(sql, stmt, bound, w)).await?
                    || Box::pin(self.insert_select(sql, stmt, bound, w)).await?
                {
                    return Ok(());
                }
                return Err(e.into());
            }
            Err(e) => return Err(e.into()),
        };
        self.firewall(Some(stmt), r, &plan)?;
        let effects = analysis.effects.clone();
        let several = plan.nodes.len() > 1;
        if several && (!effects.assigned_vars.is_empty() || effects.sets_last_insert_id) {
            return Err(SqlError::unsupported(
                "a user variable assignment or LAST_INSERT_ID(expr) in a statement over several nodes",
            )
            .into());
        }
        // Over several nodes FOUND_ROWS() is the sum of the nodes' own, which counts rows,
        // not groups.
        if several && effects.calc_found_rows && plan.merge.aggregate.is_some() {
            return Err(SqlError::unsupported(
                "SQL_CALC_FOUND_ROWS with GROUP BY, DISTINCT or aggregates over several nodes",
            )
            .into());
        }
        if effects.named_locks {
            if !tableless || plan.nodes.len() != 1 {
                return Err(SqlError::unsupported(
                    "named lock functions (GET_LOCK, ...) in a statement that reads tables",
                )
                .into());
            }
            // Named locks live on the session's own connection to one designated data
            // source, for the rest of the session.
            plan.nodes[0].data_source = self.lock_data_source()?;
            self.lock_pinned = true;
        } else if tableless && plan.nodes.len() == 1 && !self.in_txn && !self.sticky {
            // A statement without tables runs the same anywhere: not on a data source that
            // is down.
            plan.nodes[0].data_source = self.default_ds()?;
        }
        self.effects = effects;
        self.diag.uses_tables = !tableless;
        let temporary = match stmt {
            Statement::CreateTable(ct) => ct.temporary,
            Statement::Drop { temporary, .. } => *temporary,
            _ => false,
        };
        if temporary {
            // Temporary tables live on one backend connection: pin the session to it from now
            // on. They do not commit an open transaction.
            self.sticky = true;
            plan.ddl = false;
        }
        let Some(id) = generated else {
            return self.run_plan(&plan, w).await;
        };
        // Generated keys: the OK packet and LAST_INSERT_ID() report the first one, as with
        // AUTO_INCREMENT, once the write succeeded.
        w.override_insert_id(Some(id));
        let r = self.run_plan(&plan, w).await;
        if w.insert_id_sent() {
            self.last_insert_id = id;
        }
        r
    }

    /// Tell the cutover gate which tables the statement touches: waits while a cutover
    /// switches one of them; 1412 for a transaction whose rules the cutover replaced.
    pub(super) async fn touch_gate(&mut self, r: &Refs) -> Result<(), SqlError> {
        use crate::gate::Touch;
        let Some(pass) = self.stmt_pass.as_mut() else {
            return Ok(());
        };
        let db = self.db.as_deref().unwrap_or("");
        loop {
            let tables = r
                .tables
                .iter()
                .map(|t| (t.schema.as_deref().unwrap_or(db), t.name.as_str()));
            let txn = if self.in_txn {
                self.txn_pass.as_mut()
            } else {
                None
            };
            match pass.try_touch(tables, txn) {
                Touch::Go => return Ok(()),
                Touch::Wait => pass.wait_open().await,
                Touch::Stale => return Err(SqlError::new(
                    1412,
                    "HY000",
                    "Table definition has changed, please retry transaction (a reshard moved a table this transaction had not used yet)",
                )),
            }
        }
    }

    /// The logical database to plan against (table references need one selected).
    pub(super) fn plan_db(&self, refs: &Refs) -> Result<Arc<LogicalDatabase>, SqlError> {
        let has_local_tables = refs.tables.iter().any(|t| t.schema.is_none());
        match &self.db {
            Some(d) => self
                .database(d)
                .ok_or_else(|| SqlError::unknown_database(d)),
            None if has_local_tables => Err(SqlError::no_database()),
            None => {
                // Schema-qualified names pick their database; otherwise the user's first one.
                let named = refs
                    .tables
                    .iter()
                    .filter_map(|t| t.schema.as_deref())
                    .find_map(|s| self.database(s));
                named
                    .or_else(|| self.user_databases().first().cloned())
                    .ok_or_else(|| SqlError::internal("no logical database configured"))
            }
        }
    }

    pub(crate) fn plan_for(
        &self,
        sql: &str,
        stmt: &Statement,
        bound: &Bound,
    ) -> Result<plan::Plan, SqlError> {
        self.plan_with_keys(sql, stmt, bound).map(|(p, _)| p)
    }

    /// Plan, filling in snowflake keys (issue 4); also returns the first generated key, for
    /// LAST_INSERT_ID().
    pub(crate) fn plan_with_keys(
        &self,
        sql: &str,
        stmt: &Statement,
        bound: &Bound,
    ) -> Result<(plan::Plan, Option<u64>), SqlError> {
        self.plan_with(sql, stmt, None, bound, None, true)
    }

    /// Plan against the session's database, or against `overlay` (a database and catalog
    /// with extra tables: a shipped join's temporary tables). `session_fns`: the statement
    /// may name session functions (false when its [`Analysis`] says it names none).
    pub(crate) fn plan_with(
        &self,
        sql: &str,
        stmt: &Statement,
        known: Option<&Refs>,
        bound: &Bound,
        overlay: Option<(&LogicalDatabase, &crate::catalog::Snapshot)>,
        session_fns: bool,
    ) -> Result<(plan::Plan, Option<u64>), SqlError> {
        let sm = SourceMap::new(sql);
        let collected;
        let refs = match known {
            Some(r) => r,
            None => {
                collected = Refs::collect(stmt, &sm);
                &collected
            }
        };
        let own_catalog;
        let own_db;
        let (db, catalog) = match overlay {
            Some((db, cat)) => (db, cat),
            None => {
                own_catalog = self.shared.catalog.snapshot();
                own_db = self.plan_db(refs)?;
                (own_db.as_ref(), own_catalog.as_ref())
            }
        };
        let fn_edits = if session_fns {
            self.function_edits(stmt, &sm, db)
        } else {
            crate::sql::Edits::new()
        };
        let keys = plan::KeySource::new(&self.shared.ids);
        // Session functions are answered by the proxy: plan with their values spliced in
        // (only that text, so that keys are generated once).
        let p = if fn_edits.is_empty() {
            let ctx = PlanCtx {
                db,
                sql,
                sm: &sm,
                refs,
                params: &bound.values,
                param_sql: &bound.sql,
                catalog: Some(catalog),
                keys: Some(&keys),
                eval: self.eval_options(),
                conv: self.conv_ctx(),
            };
            plan::plan(&ctx, stmt)?
        } else {
            let text = fn_edits.apply(sql);
            let stmt2 = crate::sql::parse_one(&tolerant_text(&text)).map_err(SqlError::internal)?;
            let sm2 = SourceMap::new(&text);
            let refs2 = Refs::collect(&stmt2, &sm2);
            let ctx2 = PlanCtx {
                db,
                sql: &text,
                sm: &sm2,
                refs: &refs2,
                params: &bound.values,
                param_sql: &bound.sql,
                catalog: Some(catalog),
                keys: Some(&keys),
                eval: self.eval_options(),
                conv: self.conv_ctx(),
            };
            plan::plan(&ctx2, &stmt2)?
        };
        let mut p = p;
        // Backslashes read under NO_BACKSLASH_ESCAPES go back into the SQL sent (and only
        // then: a U+001F the client wrote is data).
        if self.no_backslash_escapes {
            crate::sql::restore_backslashes(&mut p);
        }
        Ok((p, keys.first_generated()))
    }

    /// SQL the parser cannot read is never sent on. The client gets 1064 when MariaDB also
    /// rejects its syntax (checked with `PREPARE`, which parses without executing, on a
    /// connection of the default data source), else 1235 naming the parser's complaint.
    pub(crate) async fn unparseable(
        &mut self,
        sql: &str,
        parse_err: &str,
        _w: &mut ResultWriter<'_>,
    ) -> FlowResult<()> {
        let ds = self.default_ds()?;
        let backend = self.shared.backends.get(&ds)?.clone();
        let mut lease = backend.acquire().await?;
        // Read in the session's sql_mode, as the statement itself would be.
        lease.apply_state(&self.state).await?;
        let check = format!(
            "PREPARE __sg_syntax_check FROM {}",
            crate::sql::literal::quote_str(sql, self.no_backslash_escapes)
        );
        let outcome = crate::backend::exec_drop(&mut lease, &check).await;
        // The check leaves a prepared statement (or nothing) behind: reset before reuse.
        lease.mark_dirty();
        match outcome {
            Err(e) if e.code == 1064 => Err(e.into()),
            _ => Err(SqlError::unsupported(format!("this SQL syntax ({parse_err})")).into()),
        }
    }

    /// EXPLAIN SHARDING / PREVIEW: the plan as a result set.
    async fn explain_sharding(
        &mut self,
        inner: &str,
        bound: &Bound,
        w: &mut ResultWriter<'_>,
    ) -> FlowResult<()> {
        let rows = Box::pin(self.explain_rows(inner, bound, w)).await?;
        let cols = [
            ColumnDef::text("route"),
            ColumnDef::text("data_source"),
            ColumnDef::text("actual_sql"),
        ];
        w.rows(&cols, &rows).await?;
        Ok(())
    }

    /// [`Session::explain_rows`] of a part of a statement (a union branch, the SELECT of an
    /// INSERT ... SELECT), each step named `{label}: {step}`.
    pub(super) async fn explain_part(
        &mut self,
        sql: &str,
        label: &str,
        bound: &Bound,
        w: &mut ResultWriter<'_>,
    ) -> FlowResult<Vec<crate::result::Row>> {
        let mut rows = Box::pin(self.explain_rows(sql, bound, w)).await?;
        for r in &mut rows {
            let step = r[0]
                .as_deref()
                .map(String::from_utf8_lossy)
                .unwrap_or_default();
            r[0] = Some(Bytes::from(format!("{label}: {step}")));
        }
        Ok(rows)
    }

    /// The rows of EXPLAIN SHARDING: each step of the statement as it would run now.
    pub(super) async fn explain_rows(
        &mut self,
        inner: &str,
        bound: &Bound,
        w: &mut ResultWriter<'_>,
    ) -> FlowResult<Vec<crate::result::Row>> {
        let readable = self.tokenizable(inner);
        let stmt = crate::sql::parse_one(&tolerant_text(&readable)).map_err(SqlError::parse)?;
        let refs = Refs::collect(&stmt, &SourceMap::new(&readable));
        self.check_statement(&readable, &stmt, &refs)?;
        let mut rows = Vec::new();
        if let Some(rows) = self.explain_union(&readable, &stmt, bound, w).await? {
            return Ok(rows);
        }
        if bound.sql.is_empty() {
            // Uncorrelated subqueries over shards run first, as they would for the
            // statement (they are reads); the plan below has their answers as literals.
            if let Some(inlined) = self.inline_subqueries(&readable, &stmt, w).await? {
                rows.push(vec![
                    Some(Bytes::from("Subqueries")),
                    Some(Bytes::from("(proxy)")),
                    Some(Bytes::from(
                        "uncorrelated subqueries over sharded tables answered first; their values are in the statement below",
                    )),
                ]);
                rows.extend(Box::pin(self.explain_rows(&inlined, bound, w)).await?);
                return Ok(rows);
            }
        }
        let plan = match self.plan_for(&readable, &stmt, bound) {
            Ok(p) => p,
            Err(e) if e.code == 1235 => {
                // A join answered by shipping: first the copies, then the statement.
                let Some(sp) = self.ship_plan_for(&readable, &stmt, bound)? else {
                    if let Some(rows) = self.explain_insert_select(&readable, &stmt, w).await? {
                        return Ok(rows);
                    }
                    return Err(e.into());
                };
                for s in &sp.shipped {
                    if let Some(r) = &s.reduce {
                        rows.push(vec![
                            Some(Bytes::from(format!("Keys({} IN ...)", r.column))),
                            Some(Bytes::from("(proxy)")),
                            Some(Bytes::from(r.keys_sql.clone())),
                        ]);
                    }
                    rows.push(vec![
                        Some(Bytes::from(format!("Ship({} -> {})", s.logical, s.tmp))),
                        Some(Bytes::from("(proxy)")),
                        Some(Bytes::from(s.fetch_sql.clone())),
                    ]);
                }
                self.shipped_statement_plan(&sp)?
            }
            Err(e) => return Err(e.into()),
        };
        // The copy a read of broadcast tables runs on now, as the statement would.
        let plan = self.place_reference(&plan).unwrap_or(plan);
        let metadata = plan.metadata_node();
        for (i, n) in plan.nodes.iter().enumerate() {
            let step = if Some(i) == metadata {
                "Metadata".to_string()
            } else {
                plan.kind.to_string()
            };
            rows.push(vec![
                Some(Bytes::from(step)),
                Some(Bytes::from(n.data_source.clone())),
                Some(Bytes::from(n.sql.clone())),
            ]);
        }
        for (step, detail) in plan.proxy_steps() {
            rows.push(vec![
                Some(Bytes::from(step)),
                Some(Bytes::from("(proxy)")),
                Some(Bytes::from(detail)),
            ]);
        }
        Ok(rows)
    }
}

/// Hide clauses sqlparser cannot read but MariaDB accepts, keeping byte offsets (the edits
/// still apply to the original text, so the backend gets them unchanged).
pub(crate) use crate::sql::tolerant_text;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerant_text_keeps_offsets() {
        let s = "SELECT * FROM t WHERE a=1 LOCK IN SHARE MODE;";
        let t = tolerant_text(s);
        assert_eq!(t.len(), s.len());
        assert!(crate::sql::parse_one(&t).is_ok());
    }
}

/// The text after a leading keyword of `len` bytes (leading space skipped), trimmed; empty
/// when the text is shorter.
fn after_word(sql: &str, len: usize) -> &str {
    sql.trim_start().get(len..).unwrap_or("").trim_start()
}
