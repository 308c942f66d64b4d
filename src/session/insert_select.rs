//! `INSERT ... SELECT` whose SELECT cannot run where the rows go (it reads sharded tables, or
//! the target is sharded): the proxy runs the SELECT (every cross-shard merge applies), then
//! sends the rows as one multi-row `INSERT ... VALUES`, which routes each row by its key and
//! runs as one (XA) transaction across nodes. The rows are held in memory, up to
//! `max_memory_rows`.

use super::query::Bound;
use super::{FlowResult, Session};
use crate::sql::SourceMap;
use sqlparser::ast::{SetExpr, Spanned, Statement};

impl Session {
    /// `Ok(false)`: not an INSERT ... SELECT this can answer (nothing was sent).
    pub(crate) async fn insert_select(
        &mut self,
        sql: &str,
        stmt: &Statement,
        bound: &Bound,
        w: &mut crate::protocol::writer::ResultWriter<'_>,
    ) -> FlowResult<bool> {
        let Some(source) = self.select_source(stmt) else {
            return Ok(false);
        };
        let sm = SourceMap::new(sql);
        let refs = crate::sql::refs::Refs::collect(stmt, &sm);
        if !refs.placeholders.is_empty() {
            // Parameters become literals first.
            let Some((text, stmt2)) = bound.inline(sql, &refs) else {
                return Ok(false);
            };
            return Box::pin(self.insert_select(&text, &stmt2, &Bound::default(), w)).await;
        }
        let Some(range) = source_range(sql, &sm, source) else {
            return Ok(false);
        };
        let (cols, rows) = self.fetch_rows(&sql[range.clone()], w).await?;
        if rows.is_empty() {
            w.status = self.status();
            w.ok(&crate::result::OkInfo {
                info: "Records: 0  Duplicates: 0  Warnings: 0".into(),
                ..Default::default()
            })
            .await?;
            return Ok(true);
        }
        let nbe = self.no_backslash_escapes;
        let tuples: Vec<String> = rows
            .iter()
            .map(|r| {
                format!(
                    "({})",
                    crate::sql::literal::row_literals(&cols, r, nbe).join(", ")
                )
            })
            .collect();
        let values_sql = format!(
            "{}VALUES {}{}",
            &sql[..range.start],
            tuples.join(", "),
            &sql[range.end..]
        );
        Box::pin(self.dispatch(&values_sql, &Bound::default(), w)).await?;
        Ok(true)
    }
}

impl Session {
    /// EXPLAIN SHARDING of an INSERT ... SELECT that [`Session::insert_select`] answers: the
    /// SELECT's own plan (`Select: ...` rows), then the INSERT the proxy sends with its rows.
    /// `None`: not such a statement.
    pub(crate) async fn explain_insert_select(
        &mut self,
        sql: &str,
        stmt: &Statement,
        w: &mut crate::protocol::writer::ResultWriter<'_>,
    ) -> FlowResult<Option<Vec<crate::result::Row>>> {
        let Some(source) = self.select_source(stmt) else {
            return Ok(None);
        };
        let sm = SourceMap::new(sql);
        if !crate::sql::refs::Refs::collect(stmt, &sm)
            .placeholders
            .is_empty()
        {
            return Ok(None);
        }
        let Some(range) = source_range(sql, &sm, source) else {
            return Ok(None);
        };
        let cell = |s: String| Some(bytes::Bytes::from(s));
        let mut rows = self
            .explain_part(&sql[range.clone()], "Select", &Bound::default(), w)
            .await?;
        rows.push(vec![
            cell("Insert".into()),
            cell("(proxy)".into()),
            cell(format!(
                "{}VALUES <the rows of the SELECT>{} (each row to its node; one transaction)",
                &sql[..range.start],
                &sql[range.end..]
            )),
        ]);
        Ok(Some(rows))
    }
}

impl Session {
    /// The SELECT of an INSERT ... SELECT (not `VALUES`) the proxy may run in two steps.
    fn select_source<'s>(&self, stmt: &'s Statement) -> Option<&'s sqlparser::ast::Query> {
        let Statement::Insert(ins) = stmt else {
            return None;
        };
        let source = ins.source.as_deref()?;
        let values = matches!(source.body.as_ref(), SetExpr::Values(_));
        (!self.no_backslash_escapes && !values).then_some(source)
    }
}

/// The byte range of the INSERT's source query, when that text reads back as the same query.
fn source_range(
    sql: &str,
    sm: &SourceMap,
    source: &sqlparser::ast::Query,
) -> Option<std::ops::Range<usize>> {
    let r = sm.range(source.span())?;
    let r = crate::sql::edit::balanced(sql, r);
    // A parenthesized source: take the parentheses too.
    let text = sql.get(r.clone())?;
    let Ok(Statement::Query(q)) = crate::sql::parse_one(&crate::sql::tolerant_text(text)) else {
        return None;
    };
    (q.to_string() == source.to_string()).then_some(r)
}
