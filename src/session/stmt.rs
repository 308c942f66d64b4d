//! Prepared statements (COM_STMT_*). Parameters are decoded here and spliced into the SQL as
//! literals at the placeholders' exact positions, so they route exactly like literals.

use super::query::Bound;
use super::{Flow, Session};
use crate::error::SqlError;
use crate::protocol::binary::parse_execute;
use crate::protocol::wire;
use crate::protocol::writer::ResultWriter;
use crate::result::ColumnDef;
use crate::sql::{Edits, SourceMap};
use mysql_common::constants::ColumnType;

/// A statement parsed once for repeated planning: the tree, the ANSI_QUOTES setting it was
/// read under, and its table references and placeholders (which depend on the text only).
#[derive(Clone)]
pub(crate) struct ParsedStmt {
    pub stmt: std::sync::Arc<sqlparser::ast::Statement>,
    pub ansi: bool,
    pub refs: std::sync::Arc<crate::sql::refs::Refs>,
    /// What the checks and the session effects read from the statement alone.
    pub analysis: std::sync::Arc<Analysis>,
}

/// What a statement's checks and session effects read from its text and AST alone, worked
/// out once per parse rather than per execute.
#[derive(Debug, Clone)]
pub(crate) struct Analysis {
    pub refusal: Option<crate::sql::classify::Refusal>,
    pub effect: crate::sql::classify::Effect,
    pub effects: super::effects::Effects,
    /// It names session functions or variables the proxy answers (see `sessfns`).
    pub session_fns: bool,
}

impl Analysis {
    pub fn of(stmt: &sqlparser::ast::Statement, sql: &str) -> Analysis {
        Analysis {
            refusal: crate::sql::classify::statement(stmt, sql),
            effect: crate::sql::classify::effect(stmt, sql),
            effects: super::effects::Effects::of(stmt, sql),
            session_fns: super::sessfns::names_session_fns(stmt, sql),
        }
    }
}

pub struct Prepared {
    sql: String,
    /// Parsed once at PREPARE (plain SELECT / INSERT / UPDATE / DELETE without subqueries),
    /// with the ANSI_QUOTES setting it was read under; executes plan it with bound values.
    parsed: Option<ParsedStmt>,
    /// Byte ranges of the `?` placeholders in `sql`.
    placeholders: Vec<std::ops::Range<usize>>,
    param_types: Option<Vec<(ColumnType, bool)>>,
    long_data: Vec<Option<Vec<u8>>>,
    /// A parameter's long data grew past max_allowed_packet (reported at execute).
    long_data_overflow: bool,
}

/// `?` placeholders found by the tokenizer (never inside strings, comments or quoted names).
pub(crate) fn placeholders(sql: &str) -> Result<Vec<std::ops::Range<usize>>, SqlError> {
    use sqlparser::tokenizer::{Token, Tokenizer};
    let dialect = sqlparser::dialect::MySqlDialect {};
    let toks = Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .map_err(SqlError::parse)?;
    let sm = SourceMap::new(sql);
    let mut v = Vec::new();
    for t in toks {
        if matches!(&t.token, Token::Placeholder(p) if p == "?") {
            v.push(
                sm.range(t.span)
                    .ok_or_else(|| SqlError::unsupported("a placeholder that cannot be located"))?,
            );
        }
    }
    Ok(v)
}

/// A bound parameter as a routing value.
fn shard_value(v: &mysql_common::value::Value, literal: &str) -> crate::rules::ShardValue {
    use crate::rules::ShardValue;
    use mysql_common::value::Value;
    match v {
        Value::NULL => ShardValue::Null,
        Value::Int(i) => ShardValue::Int(i128::from(*i)),
        Value::UInt(u) => ShardValue::Int(i128::from(*u)),
        Value::Float(f) => ShardValue::Float(f64::from(*f)),
        Value::Double(d) => ShardValue::Float(*d),
        Value::Bytes(b) => ShardValue::Str(b.clone()),
        Value::Date(..) => ShardValue::DateTime(literal.trim_matches('\'').to_string()),
        Value::Time(..) => ShardValue::Str(literal.trim_matches('\'').as_bytes().to_vec()),
    }
}

impl Session {
    /// The statement as the tokenizer should read it in this session's sql_mode (same
    /// length, so positions found in it hold for the original).
    pub(crate) fn tokenizable<'s>(&self, sql: &'s str) -> std::borrow::Cow<'s, str> {
        if self.no_backslash_escapes {
            crate::sql::nbe_for_parsing(sql)
        } else {
            std::borrow::Cow::Borrowed(sql)
        }
    }

    /// Parse a prepared statement once if executes can skip re-parsing it: plain SELECT,
    /// INSERT, UPDATE, DELETE without subqueries (those are answered by re-dispatching text).
    pub(super) fn parse_for_execute(&self, sql: &str) -> Option<ParsedStmt> {
        if self.no_backslash_escapes {
            // Executes of such statements go through the text path (re-read in that mode).
            return None;
        }
        self.shared
            .statements
            .get_or_parse(sql, self.ansi_quotes, || self.parse_uncached(sql))
    }

    fn parse_uncached(&self, sql: &str) -> Option<ParsedStmt> {
        use sqlparser::ast::{Expr, SetExpr, Statement, Visit, Visitor};
        let text = if self.ansi_quotes {
            crate::sql::ansi_quotes_to_backticks(sql)
        } else {
            std::borrow::Cow::Borrowed(sql)
        };
        let stmt = crate::sql::parse_one(&super::query::tolerant_text(&text)).ok()?;
        let plain = match &stmt {
            Statement::Query(q) => {
                q.with.is_none() && matches!(q.body.as_ref(), SetExpr::Select(_))
            }
            Statement::Insert(_) | Statement::Update(_) | Statement::Delete(_) => true,
            _ => false,
        };
        struct Sub(bool);
        impl Visitor for Sub {
            type Break = ();
            fn pre_visit_expr(&mut self, e: &Expr) -> std::ops::ControlFlow<()> {
                if matches!(
                    e,
                    Expr::Subquery(_)
                        | Expr::Exists { .. }
                        | Expr::In {
                            target: sqlparser::ast::InTarget::Subquery(_),
                            ..
                        }
                ) {
                    self.0 = true;
                    return std::ops::ControlFlow::Break(());
                }
                std::ops::ControlFlow::Continue(())
            }
            fn pre_visit_query(&mut self, _q: &sqlparser::ast::Query) -> std::ops::ControlFlow<()> {
                std::ops::ControlFlow::Continue(())
            }
        }
        let mut v = Sub(false);
        let _ = stmt.visit(&mut v);
        // Derived tables and INSERT ... SELECT count as nested queries too.
        let sm = SourceMap::new(&text);
        let refs = crate::sql::refs::Refs::collect(&stmt, &sm);
        let nested = refs.nested.iter().any(|n| *n);
        (plain && !v.0 && !nested).then(|| ParsedStmt {
            analysis: std::sync::Arc::new(Analysis::of(&stmt, &text)),
            stmt: std::sync::Arc::new(stmt),
            ansi: self.ansi_quotes,
            refs: std::sync::Arc::new(refs),
        })
    }

    pub async fn prepare(&mut self, sql: &str, w: &mut ResultWriter<'_>) -> std::io::Result<()> {
        let r = match self.scan(sql) {
            Ok(text) => self.prepare_inner(&text, w).await,
            Err(e) => Err(e.into()),
        };
        self.finish(r, w).await
    }

    /// A statement is prepared only if it would be allowed as a query: nothing refused
    /// reaches a backend, not even to be prepared there.
    pub(super) async fn check_preparable(
        &mut self,
        sql: &str,
        w: &mut ResultWriter<'_>,
    ) -> Result<(), Flow> {
        let kw = crate::sql::first_keyword(sql);
        let words = crate::sql::classify::leading_words(sql, 2);
        let nested = matches!(kw.as_str(), "PREPARE" | "EXECUTE" | "DEALLOCATE")
            || (kw == "DROP" && words.get(1).is_some_and(|w| w == "PREPARE"));
        if nested {
            // As MariaDB: prepared-statement commands cannot themselves be prepared.
            return Err(SqlError::new(
                1295,
                "HY000",
                "This command is not supported in the prepared statement protocol yet",
            )
            .into());
        }
        if let Some(r) = crate::sql::classify::by_keyword(sql) {
            return Err(self.refuse(r).into());
        }
        if matches!(kw.as_str(), "SET") {
            if let Some(r) = super::setvar::refused(sql, self.quoting()) {
                return Err(self.refuse(r).into());
            }
        }
        if matches!(
            kw.as_str(),
            "SET"
                | "SHOW"
                | "BEGIN"
                | "START"
                | "COMMIT"
                | "ROLLBACK"
                | "SAVEPOINT"
                | "RELEASE"
                | "USE"
        ) {
            // Answered by keyword at execute time, where their own checks apply.
            return Ok(());
        }
        let readable = self.tokenizable(sql);
        let text = super::query::tolerant_text(&readable);
        match crate::sql::parse_one(&text) {
            Ok(stmt) => {
                let refs = crate::sql::refs::Refs::collect(&stmt, &SourceMap::new(&readable));
                if Self::reads_information_schema(&refs) {
                    // Answered with the logical view at execute time.
                    if let Some(r) = crate::sql::classify::statement(&stmt, &readable) {
                        return Err(self.refuse(r).into());
                    }
                    return Ok(());
                }
                self.check_statement(&readable, &stmt, &refs)?;
                Ok(())
            }
            Err(e) => {
                let e = e.to_string();
                self.unparseable(sql, &e, w).await
            }
        }
    }

    async fn prepare_inner(&mut self, sql: &str, w: &mut ResultWriter<'_>) -> Result<(), Flow> {
        self.check_preparable(sql, w).await?;
        let holes = placeholders(&self.tokenizable(sql))?;
        let (params, columns) = self.describe(sql, holes.len()).await?;
        let id = self.next_stmt;
        self.next_stmt = self.next_stmt.wrapping_add(1).max(1);
        let n = holes.len();
        let parsed = self.parse_for_execute(sql);
        self.stmts.insert(
            id,
            Prepared {
                parsed,
                sql: sql.to_string(),
                placeholders: holes,
                param_types: None,
                long_data: vec![None; n],
                long_data_overflow: false,
            },
        );
        let deprecate_eof = w.deprecate_eof();
        let status = self.status();
        let io = w.io();
        io.write_with(|b| {
            b.push(0);
            b.extend_from_slice(&id.to_le_bytes());
            b.extend_from_slice(&(columns.len() as u16).to_le_bytes());
            b.extend_from_slice(&(n as u16).to_le_bytes());
            b.push(0);
            b.extend_from_slice(&0u16.to_le_bytes());
        });
        for defs in [&params, &columns] {
            if defs.is_empty() {
                continue;
            }
            for c in defs.iter() {
                io.write_with(|b| wire::column_definition(b, c));
            }
            if !deprecate_eof {
                io.write_with(|b| wire::eof_packet(b, status, 0));
            }
        }
        io.flush().await?;
        Ok(())
    }

    /// Parameter and result metadata, from MariaDB preparing the statement on the data node
    /// that holds the first table it names.
    async fn describe(
        &mut self,
        sql: &str,
        n_params: usize,
    ) -> Result<(Vec<ColumnDef>, Vec<ColumnDef>), SqlError> {
        let readable = self.tokenizable(sql);
        let text = super::query::tolerant_text(&readable);
        let mut ds = self.default_ds()?;
        let mut node_sql = sql.to_string();
        if let Ok(stmt) = crate::sql::parse_one(&text) {
            let sm = SourceMap::new(sql);
            let refs = crate::sql::refs::Refs::collect(&stmt, &sm);
            let mut unit = crate::route::RouteUnit {
                data_source: ds.clone(),
                tables: Default::default(),
            };
            for (i, t) in refs.tables.iter().enumerate() {
                let name = sqlparser::ast::ObjectName::from(vec![sqlparser::ast::Ident::new(
                    t.name.clone(),
                )]);
                if let Ok((d, phys)) = self.first_node(&name) {
                    if i == 0 {
                        ds = d.clone();
                        unit.data_source = d;
                    }
                    unit.tables.insert(t.name.clone(), phys);
                }
            }
            if let Some(db) = self.db.clone() {
                node_sql = crate::rewrite::table_edits(&refs, &unit, &db).apply(sql);
            }
        }
        let backend = self.shared.backends.get(&ds)?.clone();
        let mut lease = backend.acquire().await?;
        lease.apply_state(&self.state).await?;
        match crate::backend::describe(&mut lease, &node_sql).await {
            Ok((p, c)) => {
                let mut params: Vec<ColumnDef> = p.iter().map(|c| self.map_column(c)).collect();
                params.resize(n_params, ColumnDef::text("?"));
                Ok((params, c.iter().map(|c| self.map_column(c)).collect()))
            }
            // Statements MariaDB cannot prepare (BEGIN, SHOW ..., SET ...) still run per execute.
            Err(e) if e.code == 1295 => Ok((vec![ColumnDef::text("?"); n_params], Vec::new())),
            Err(e) => Err(e),
        }
    }

    pub async fn execute(&mut self, body: &[u8], w: &mut ResultWriter<'_>) -> std::io::Result<()> {
        self.shared
            .questions
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let started = std::time::Instant::now();
        let id = body
            .get(..4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .unwrap_or(0);
        let sql = self
            .stmts
            .get(&id)
            .map(|s| s.sql.clone())
            .unwrap_or_default();
        self.stmt_pass = Some(self.shared.gate.enter(self.in_txn).await);
        let r = match self.admit(&sql, w) {
            Ok(()) => {
                let timeout = self.statement_timeout(&sql);
                let scope = self.scope();
                let client = self.client_watch();
                let run = Box::pin(self.execute_inner(body, w));
                super::guard::run(&scope, timeout, client, run).await
            }
            Err(e) => Err(e.into()),
        };
        self.stmt_pass = None;
        let out = self.finish(r, w).await;
        self.account(&sql, started, w);
        out
    }

    async fn execute_inner(&mut self, body: &[u8], w: &mut ResultWriter<'_>) -> Result<(), Flow> {
        let id = body
            .get(..4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .unwrap_or(0);
        let nbe = self.no_backslash_escapes;
        let Some(st) = self.stmts.get_mut(&id) else {
            return Err(SqlError::unknown_stmt(id, "mysqld_stmt_execute").into());
        };
        if std::mem::take(&mut st.long_data_overflow) {
            for d in st.long_data.iter_mut() {
                *d = None;
            }
            return Err(SqlError::new(
                1105,
                "HY000",
                "Parameter of prepared statement which is set through mysql_send_long_data() is longer than 'max_allowed_packet' bytes",
            )
            .into());
        }
        let mut p = parse_execute(
            body,
            st.placeholders.len(),
            st.param_types.as_deref(),
            &st.long_data,
        )
        .map_err(|m| SqlError::new(1210, "HY000", m))?;
        if let Some(t) = p.types.take() {
            st.param_types = Some(t);
        }
        let types = st.param_types.clone().unwrap_or_default();
        if self.client_cs.converts() {
            // Text parameters arrive in the client's character set.
            for (i, v) in p.values.iter_mut().enumerate() {
                let ty = types.get(i).map(|t| t.0);
                let text = !matches!(
                    ty,
                    Some(
                        ColumnType::MYSQL_TYPE_BLOB
                            | ColumnType::MYSQL_TYPE_TINY_BLOB
                            | ColumnType::MYSQL_TYPE_MEDIUM_BLOB
                            | ColumnType::MYSQL_TYPE_LONG_BLOB
                    )
                );
                if let (true, mysql_common::value::Value::Bytes(b)) = (text, &*v) {
                    let utf8 = self.client_cs.decode(b).into_owned().into_bytes();
                    *v = mysql_common::value::Value::Bytes(utf8);
                }
            }
        }
        if let Some(ParsedStmt {
            stmt,
            ansi,
            refs,
            analysis,
        }) = st.parsed.clone()
        {
            if ansi == self.ansi_quotes {
                // Parsed at PREPARE: plan with the parameters bound (they route like literals).
                let mut bound = Bound::default();
                for (i, v) in p.values.iter().enumerate() {
                    let ty = types
                        .get(i)
                        .map(|t| t.0)
                        .unwrap_or(ColumnType::MYSQL_TYPE_VAR_STRING);
                    bound
                        .sql
                        .push(crate::sql::literal::value_to_sql(v, ty, nbe));
                    bound.values.push(shard_value(v, &bound.sql[i]));
                }
                for d in st.long_data.iter_mut() {
                    *d = None;
                }
                let sql = if ansi {
                    crate::sql::ansi_quotes_to_backticks(&st.sql).into_owned()
                } else {
                    st.sql.clone()
                };
                return self
                    .run_statement(&sql, &stmt, Some((&refs, &analysis)), &bound, w)
                    .await;
            }
        }
        let mut e = Edits::new();
        for (i, (r, v)) in st.placeholders.iter().zip(&p.values).enumerate() {
            let ty = types
                .get(i)
                .map(|t| t.0)
                .unwrap_or(ColumnType::MYSQL_TYPE_VAR_STRING);
            e.replace(r.clone(), crate::sql::literal::value_to_sql(v, ty, nbe));
        }
        let sql = e.apply(&st.sql);
        for d in st.long_data.iter_mut() {
            *d = None;
        }
        // The text path of an execute: boxed, so the parsed path's future stays small.
        Box::pin(self.dispatch(&sql, &Bound::default(), w)).await
    }

    pub fn send_long_data(&mut self, body: &[u8]) {
        if body.len() < 6 {
            return;
        }
        let id = u32::from_le_bytes([body[0], body[1], body[2], body[3]]);
        let param = u16::from_le_bytes([body[4], body[5]]) as usize;
        let max = self.shared.max_allowed_packet;
        if let Some(st) = self.stmts.get_mut(&id) {
            if st.long_data_overflow {
                return;
            }
            if let Some(slot) = st.long_data.get_mut(param) {
                let data = slot.get_or_insert_with(Vec::new);
                if data.len() + body.len() - 6 > max {
                    // As MariaDB: the data is dropped and the execute fails.
                    *slot = None;
                    st.long_data_overflow = true;
                    return;
                }
                data.extend_from_slice(&body[6..]);
            }
        }
    }

    pub fn close_stmt(&mut self, body: &[u8]) {
        if let Some(b) = body.get(..4) {
            self.stmts
                .remove(&u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        }
    }

    pub async fn reset_stmt(
        &mut self,
        body: &[u8],
        w: &mut ResultWriter<'_>,
    ) -> std::io::Result<()> {
        let id = body
            .get(..4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .unwrap_or(0);
        match self.stmts.get_mut(&id) {
            Some(st) => {
                for d in st.long_data.iter_mut() {
                    *d = None;
                }
                w.ok(&Default::default()).await
            }
            None => {
                w.error(&SqlError::unknown_stmt(id, "mysqld_stmt_reset"))
                    .await
            }
        }
    }

    /// COM_FIELD_LIST: the columns of a table (the mariadb CLI asks at connect unless -A).
    pub async fn field_list(
        &mut self,
        table: &str,
        w: &mut ResultWriter<'_>,
    ) -> std::io::Result<()> {
        let r = self.field_list_inner(table, w).await;
        self.finish(r, w).await
    }

    async fn field_list_inner(
        &mut self,
        table: &str,
        w: &mut ResultWriter<'_>,
    ) -> Result<(), Flow> {
        let name = sqlparser::ast::ObjectName::from(vec![sqlparser::ast::Ident::new(table)]);
        let (ds, phys) = self.first_node(&name)?;
        let backend = self.shared.backends.get(&ds)?.clone();
        let mut lease = backend.acquire().await?;
        lease.apply_state(&self.state).await?;
        let (cols, _) = crate::backend::query_collect(
            &mut lease,
            &format!("SELECT * FROM {} LIMIT 0", crate::rewrite::ident(&phys)),
        )
        .await?;
        let io = w.io();
        for c in &cols {
            let c = self.map_column(c);
            io.write_with(|b| {
                wire::column_definition(b, &c);
                b.push(0xfb);
            });
        }
        w.end(0).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_skip_strings_and_comments() {
        let sql = "SELECT '?', `?`, ? /* ? */ FROM t WHERE a = ? -- ?\n";
        let p = super::placeholders(sql).unwrap();
        assert_eq!(p.len(), 2);
        assert!(p.iter().all(|r| &sql[r.clone()] == "?"));
    }
}
