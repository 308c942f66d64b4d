//! Running a shipped join (see `plan/ship.rs`): read each shipped table's rows, copy them into
//! a temporary table on every data source the statement runs on, run the rewritten statement
//! there over the session's pinned connections, then drop the copies.

use super::query::Bound;
use super::{FlowResult, Session};
use crate::error::SqlError;
use crate::plan::ship::{self, ShipPlan};
use crate::plan::PlanCtx;
use crate::protocol::writer::ResultWriter;
use crate::result::{ColumnDef, Row};
use crate::sql::refs::Refs;
use crate::sql::SourceMap;
use sqlparser::ast::Statement;

/// Rows per INSERT into a temporary table stay under this many bytes of SQL.
const INSERT_BYTES: usize = 1 << 20;

impl Session {
    /// The ship plan for a statement that cannot run as one routed query, if it is a join
    /// shipping can answer. Bound parameters are inlined first.
    pub(crate) fn ship_plan_for(
        &self,
        sql: &str,
        stmt: &Statement,
        bound: &Bound,
    ) -> Result<Option<ShipPlan>, SqlError> {
        if self.no_backslash_escapes || !matches!(stmt, Statement::Query(_)) {
            return Ok(None);
        }
        let sm = SourceMap::new(sql);
        let refs = Refs::collect(stmt, &sm);
        if !refs.placeholders.is_empty() {
            let Some((text, stmt2)) = bound.inline(sql, &refs) else {
                return Ok(None);
            };
            return self.ship_plan_for(&text, &stmt2, &Bound::default());
        }
        let db = self.plan_db(&refs)?;
        let db = db.as_ref();
        let catalog = self.shared.catalog.snapshot();
        let ctx = PlanCtx {
            catalog: Some(&catalog),
            ..PlanCtx::bare(db, sql, &sm, &refs)
        };
        Ok(ship::ship_plan(&ctx, stmt))
    }

    /// The plan of a ship plan's rewritten statement (temporary tables as broadcast tables).
    pub(crate) fn shipped_statement_plan(
        &self,
        sp: &ShipPlan,
    ) -> Result<crate::plan::Plan, SqlError> {
        let stmt = crate::sql::parse_one(&crate::sql::tolerant_text(&sp.sql))
            .map_err(SqlError::internal)?;
        let sm = SourceMap::new(&sp.sql);
        let refs = Refs::collect(&stmt, &sm);
        let db = self.plan_db(&refs)?;
        let db = db.as_ref();
        let overlay_db = sp.database(db);
        // The copies have their originals' columns (collations, keys) in the catalog.
        let mut catalog = (*self.shared.catalog.snapshot()).clone();
        for s in &sp.shipped {
            let schema = s.schema.clone().unwrap_or_else(|| db.name.clone());
            let key = (schema, s.logical.to_ascii_lowercase());
            if let Some(ts) = catalog.get(&key).cloned() {
                catalog.insert((db.name.clone(), s.tmp.clone()), ts);
            }
        }
        let (plan, _) = self.plan_with(
            &sp.sql,
            &stmt,
            None,
            &Bound::default(),
            Some((&overlay_db, &catalog)),
            true,
        )?;
        Ok(plan)
    }

    /// Answer a SELECT whose tables cannot meet on one node by shipping tables to the anchor's
    /// data sources. `Ok(false)`: the statement is not such a join (nothing was sent).
    pub(crate) async fn ship_join(
        &mut self,
        sql: &str,
        stmt: &Statement,
        bound: &Bound,
        w: &mut ResultWriter<'_>,
    ) -> FlowResult<bool> {
        let Some(sp) = self.ship_plan_for(sql, stmt, bound)? else {
            return Ok(false);
        };
        let plan = self.shipped_statement_plan(&sp)?;
        // Read everything before taking the statement's connections.
        let mut copies = Vec::with_capacity(sp.shipped.len());
        let mut derived_cols = Vec::new();
        for s in &sp.shipped {
            let fetch = match &s.reduce {
                Some(r) => self.reduced_fetch(s, r, w).await?,
                None => s.fetch_sql.clone(),
            };
            let (cols, rows) = self.fetch_rows(&fetch, w).await?;
            let ddl = if s.derived.is_some() {
                ship::derived_ddl(&s.tmp, &cols).ok_or_else(|| {
                    SqlError::unsupported(format!(
                        "derived table {} with a column type the proxy cannot copy",
                        s.logical
                    ))
                })?
            } else {
                self.temporary_ddl(s).await?
            };
            copies.push((ddl, self.insert_sql(&s.tmp, &cols, &rows)));
            if s.derived == Some(false) {
                derived_cols.push((bytes::Bytes::from(s.tmp.clone()), cols));
            }
        }
        let mut data_sources: Vec<String> =
            plan.nodes.iter().map(|n| n.data_source.clone()).collect();
        data_sources.sort();
        data_sources.dedup();

        let was_sticky = self.sticky;
        self.sticky = true;
        let mut created: Vec<String> = Vec::new();
        let mut result: FlowResult<()> = Ok(());
        'setup: for ds in &data_sources {
            let mut lease = match self.txn_lease(ds).await {
                Ok(l) => l,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            };
            created.push(ds.clone());
            for (ddl, inserts) in &copies {
                for sql in std::iter::once(ddl).chain(inserts) {
                    if let Err(e) = crate::backend::exec_drop(&mut lease, sql).await {
                        self.repin(lease);
                        result = Err(e.into());
                        break 'setup;
                    }
                }
            }
            self.repin(lease);
        }
        if result.is_ok() {
            self.shipped_names = sp
                .shipped
                .iter()
                .map(|s| (s.tmp.clone(), s.logical.clone()))
                .collect();
            self.shipped_derived = derived_cols;
            result = self.run_plan(&plan, w).await;
            self.shipped_names.clear();
            self.shipped_derived.clear();
        }
        // Drop the copies; a connection that cannot drop them is not reused.
        let names: Vec<&str> = sp.shipped.iter().map(|s| s.tmp.as_str()).collect();
        let drop_sql = format!("DROP TEMPORARY TABLE IF EXISTS {}", names.join(", "));
        for ds in &created {
            if let Some(p) = self.pinned.get_mut(ds) {
                if crate::backend::exec_drop(&mut p.lease, &drop_sql)
                    .await
                    .is_err()
                {
                    p.lease.mark_broken();
                }
            }
        }
        self.sticky = was_sticky;
        if !self.sticky && !self.in_txn {
            self.pinned.clear();
        }
        result.map(|()| true)
    }

    /// `CREATE TEMPORARY TABLE` with the shipped table's definition (from its first node).
    async fn temporary_ddl(&mut self, s: &ship::Shipped) -> FlowResult<String> {
        let mut name = Vec::new();
        if let Some(schema) = &s.schema {
            name.push(sqlparser::ast::Ident::new(schema.clone()));
        }
        name.push(sqlparser::ast::Ident::new(s.logical.clone()));
        let (ds, physical) = self.first_node(&sqlparser::ast::ObjectName::from(name))?;
        let backend = self.shared.backends.get(&ds)?.clone();
        let mut lease = backend.acquire().await?;
        lease.apply_state(&self.state).await?;
        let show = format!("SHOW CREATE TABLE {}", crate::rewrite::ident(&physical));
        let (_, rows) = crate::backend::query_collect(&mut lease, &show).await?;
        let ddl = rows
            .first()
            .and_then(|r| r.get(1))
            .and_then(|c| c.as_ref())
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .and_then(|text| ship::temporary_ddl(&text, &s.tmp))
            .ok_or_else(|| {
                SqlError::internal(format!("cannot read the definition of {}", s.logical))
            })?;
        Ok(ddl)
    }

    /// The fetch narrowed to the anchor's values of the joined column, or as it is when the
    /// anchor has more than `MAX_KEYS` of them.
    async fn reduced_fetch(
        &mut self,
        s: &ship::Shipped,
        r: &ship::Reduce,
        w: &mut ResultWriter<'_>,
    ) -> FlowResult<String> {
        let capture = self.capture(&r.keys_sql, ship::MAX_KEYS, w).await?;
        match capture.error {
            // Too many values: ship the table unreduced.
            Some(e) if e.code == 1038 => return Ok(s.fetch_sql.clone()),
            Some(e) => return Err(e.into()),
            None => {}
        }
        let Some(col) = capture.columns.first() else {
            return Ok(s.fetch_sql.clone());
        };
        let nbe = self.no_backslash_escapes;
        // NULL equals nothing.
        let values: Vec<String> = capture
            .rows
            .iter()
            .filter_map(|row| row.first().and_then(|c| c.as_deref()))
            .map(|v| crate::sql::literal::cell_literal(col, Some(v), nbe))
            .collect();
        let cond = if values.is_empty() {
            "0".to_string()
        } else {
            format!("{} IN ({})", r.column, values.join(", "))
        };
        let joiner = if s.filtered { " AND " } else { " WHERE " };
        Ok(format!("{}{joiner}({cond})", s.fetch_sql))
    }

    /// Run a fetch through the proxy (every merge applies), keeping at most `max_memory_rows`.
    pub(super) async fn fetch_rows(
        &mut self,
        sql: &str,
        w: &mut ResultWriter<'_>,
    ) -> FlowResult<(Vec<ColumnDef>, Vec<Row>)> {
        let max = self.shared.config.server.max_memory_rows;
        let capture = self.capture(sql, max, w).await?;
        if let Some(e) = capture.error {
            return Err(e.into());
        }
        Ok((capture.columns, capture.rows))
    }

    /// INSERT statements copying `rows` into `tmp`, each under `INSERT_BYTES`.
    fn insert_sql(&self, tmp: &str, cols: &[ColumnDef], rows: &[Row]) -> Vec<String> {
        let nbe = self.no_backslash_escapes;
        let names: Vec<String> = cols
            .iter()
            .map(|c| ship::quoted(&String::from_utf8_lossy(&c.name)))
            .collect();
        let head = format!(
            "INSERT INTO {} ({}) VALUES ",
            crate::rewrite::ident(tmp),
            names.join(", ")
        );
        let mut out = Vec::new();
        let mut cur = String::new();
        for r in rows {
            let vals = crate::sql::literal::row_literals(cols, r, nbe);
            let tuple = format!("({})", vals.join(", "));
            if !cur.is_empty() && cur.len() + tuple.len() > INSERT_BYTES {
                out.push(std::mem::take(&mut cur));
            }
            if cur.is_empty() {
                cur.push_str(&head);
            } else {
                cur.push_str(", ");
            }
            cur.push_str(&tuple);
        }
        if !cur.is_empty() {
            out.push(cur);
        }
        out
    }
}
