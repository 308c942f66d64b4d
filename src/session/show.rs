//! SHOW statements: databases and tables are answered with logical names; statements about
//! one table run on its first data node; the rest go to the default data source.

use super::{FlowResult, Session};
use crate::backend::query_collect;
use crate::error::SqlError;
use crate::plan::{NodeSql, Plan};
use crate::protocol::writer::ResultWriter;
use crate::result::{ColumnDef, Row};
use crate::route::RouteKind;
use crate::rules::TableRule;
use crate::sql::{name_parts, object_base_name, Edits, SourceMap};
use bytes::Bytes;
use sqlparser::ast::{ObjectName, ShowCreateObject, Spanned, Statement};

impl Session {
    pub(crate) async fn show(&mut self, sql: &str, w: &mut ResultWriter<'_>) -> FlowResult<()> {
        let words: Vec<String> = sql
            .split_whitespace()
            .take(4)
            .map(|s| s.trim_end_matches(';').to_ascii_uppercase())
            .collect();
        let w1 = words.get(1).map(String::as_str).unwrap_or("");
        let w2 = words.get(2).map(String::as_str).unwrap_or("");
        if w1 == "DATABASES" || w1 == "SCHEMAS" {
            return self.show_databases(sql, w).await;
        }
        if w1 == "TABLES" || (w1 == "FULL" && w2 == "TABLES") {
            return self.show_tables(sql, w1 == "FULL", w).await;
        }
        let parsed = crate::sql::parse_one(sql).ok();
        let table_name: Option<ObjectName> = match &parsed {
            Some(Statement::ShowCreate {
                obj_type: ShowCreateObject::Table,
                obj_name,
            }) => Some(obj_name.clone()),
            Some(Statement::ShowColumns { show_options, .. }) => show_options
                .show_in
                .as_ref()
                .and_then(|i| i.parent_name.clone()),
            _ => None,
        };
        let show_create = matches!(
            &parsed,
            Some(Statement::ShowCreate {
                obj_type: ShowCreateObject::Table,
                ..
            })
        );
        match table_name {
            Some(name) => self.show_for_table(sql, &name, show_create, w).await,
            None => {
                let plan = self.default_plan(sql)?;
                self.run_plan(&plan, w).await
            }
        }
    }

    pub(crate) fn default_plan(&self, sql: &str) -> Result<Plan, SqlError> {
        Ok(Plan {
            kind: RouteKind::Unicast,
            nodes: vec![NodeSql {
                data_source: self.default_ds()?,
                sql: sql.to_string(),
            }],
            merge: Default::default(),
            write: false,
            ddl: false,
        })
    }

    /// The data source and physical name holding a logical table (its first node).
    pub(crate) fn first_node(&self, name: &ObjectName) -> Result<(String, String), SqlError> {
        let parts = name_parts(name);
        let table = object_base_name(name).unwrap_or_default();
        let schema = (parts.len() >= 2).then(|| parts[parts.len() - 2].value.clone());
        let db_name = schema
            .or_else(|| self.db.clone())
            .ok_or_else(SqlError::no_database)?;
        let db = self
            .shared
            .database(&db_name)
            .ok_or_else(|| SqlError::unknown_database(&db_name))?;
        Ok(match db.table(&table) {
            Some(TableRule::Sharded(s)) => {
                let n = s
                    .nodes
                    .first()
                    .ok_or_else(|| SqlError::internal("table without nodes"))?;
                (n.data_source.clone(), n.table.clone())
            }
            Some(TableRule::Broadcast { data_sources, .. }) => (
                data_sources
                    .first()
                    .cloned()
                    .unwrap_or_else(|| db.default_data_source.clone()),
                table,
            ),
            Some(TableRule::Single { data_source, .. }) => (data_source.clone(), table),
            None => (
                db.default_data_source.clone(),
                parts.last().map(|i| i.value.clone()).unwrap_or_default(),
            ),
        })
    }

    async fn show_for_table(
        &mut self,
        sql: &str,
        name: &ObjectName,
        show_create: bool,
        w: &mut ResultWriter<'_>,
    ) -> FlowResult<()> {
        let (ds, physical) = self.first_node(name)?;
        let sm = SourceMap::new(sql);
        let range = sm
            .range(name.span())
            .ok_or_else(|| SqlError::unsupported("this SHOW statement"))?;
        let mut e = Edits::new();
        e.replace(range, crate::rewrite::ident(&physical));
        let node_sql = e.apply(sql);
        if !show_create {
            let plan = Plan {
                kind: RouteKind::Unicast,
                nodes: vec![NodeSql {
                    data_source: ds,
                    sql: node_sql,
                }],
                merge: Default::default(),
                write: false,
                ddl: false,
            };
            return self.run_plan(&plan, w).await;
        }
        let logical = name_parts(name)
            .last()
            .map(|i| i.value.clone())
            .unwrap_or_default();
        let backend = self.shared.backends.get(&ds)?.clone();
        let mut lease = backend.acquire().await?;
        lease.apply_state(&self.state).await?;
        let (cols, rows) = query_collect(&mut lease, &node_sql).await?;
        let cols: Vec<ColumnDef> = cols.iter().map(|c| self.map_column(c)).collect();
        let rows: Vec<Row> = rows
            .into_iter()
            .map(|mut r| {
                if let Some(c) = r.get_mut(0) {
                    *c = Some(Bytes::from(logical.clone()));
                }
                if let Some(Some(text)) = r.get(1) {
                    let s = String::from_utf8_lossy(text);
                    // The name is quoted with backticks, or double quotes under ANSI_QUOTES.
                    let mut out = s.into_owned();
                    for q in ['`', '"'] {
                        let from =
                            format!("TABLE {q}{}{q}", physical.replace(q, &format!("{q}{q}")));
                        let to = format!("TABLE {q}{}{q}", logical.replace(q, &format!("{q}{q}")));
                        if out.contains(&from) {
                            out = out.replacen(&from, &to, 1);
                            break;
                        }
                    }
                    r[1] = Some(Bytes::from(out));
                }
                r
            })
            .collect();
        w.rows(&cols, &rows).await?;
        Ok(())
    }

    async fn show_databases(&mut self, sql: &str, w: &mut ResultWriter<'_>) -> FlowResult<()> {
        let pattern = like_pattern(sql);
        let mut names: Vec<String> = vec!["information_schema".to_string()];
        names.extend(
            self.shared
                .databases_of(&self.user)
                .iter()
                .map(|d| d.name.clone()),
        );
        names.sort();
        let title = match &pattern {
            Some(p) => format!("Database ({p})"),
            None => "Database".to_string(),
        };
        let rows: Vec<Row> = names
            .into_iter()
            .filter(|n| pattern.as_deref().is_none_or(|p| like_match(p, n)))
            .map(|n| vec![Some(Bytes::from(n))])
            .collect();
        w.rows(&[ColumnDef::text(&title)], &rows).await?;
        Ok(())
    }

    async fn show_tables(
        &mut self,
        sql: &str,
        full: bool,
        w: &mut ResultWriter<'_>,
    ) -> FlowResult<()> {
        let upper = sql.to_ascii_uppercase();
        if upper.contains(" WHERE ") {
            return Err(SqlError::unsupported("SHOW TABLES ... WHERE").into());
        }
        let toks: Vec<&str> = sql.split_whitespace().collect();
        let from = toks
            .iter()
            .position(|t| t.eq_ignore_ascii_case("FROM") || t.eq_ignore_ascii_case("IN"))
            .and_then(|i| toks.get(i + 1))
            .map(|s| s.trim_end_matches(';').trim_matches('`').to_string());
        let db_name = from
            .or_else(|| self.db.clone())
            .ok_or_else(SqlError::no_database)?;
        let db = self
            .shared
            .database(&db_name)
            .ok_or_else(|| SqlError::unknown_database(&db_name))?;
        let db_name = db.name.clone();
        let mut tables: Vec<(String, String)> = db
            .tables
            .values()
            .map(|t| (t.name().to_string(), "BASE TABLE".to_string()))
            .collect();
        // Tables the rules do not name live on the default data source.
        let backend = self.shared.backends.get(&db.default_data_source)?.clone();
        let mut lease = backend.acquire().await?;
        let (_, rows) = query_collect(&mut lease, "SHOW FULL TABLES").await?;
        drop(lease);
        for r in rows {
            let name = r
                .first()
                .cloned()
                .flatten()
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            let kind = r
                .get(1)
                .cloned()
                .flatten()
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            let named =
                db.table(&name).is_some() || self.shared.physical_to_logical.contains_key(&name);
            if !named && !name.is_empty() {
                tables.push((name, kind));
            }
        }
        tables.sort();
        tables.dedup();
        let pattern = like_pattern(sql);
        let mut title = format!("Tables_in_{db_name}");
        if let Some(p) = &pattern {
            title = format!("{title} ({p})");
        }
        let mut cols = vec![ColumnDef::text(&title)];
        if full {
            cols.push(ColumnDef::text("Table_type"));
        }
        let rows: Vec<Row> = tables
            .into_iter()
            .filter(|(n, _)| pattern.as_deref().is_none_or(|p| like_match(p, n)))
            .map(|(n, k)| {
                let mut r = vec![Some(Bytes::from(n))];
                if full {
                    r.push(Some(Bytes::from(k)));
                }
                r
            })
            .collect();
        w.rows(&cols, &rows).await?;
        Ok(())
    }
}

/// The pattern of a `LIKE '...'` clause, if any.
fn like_pattern(sql: &str) -> Option<String> {
    let upper = sql.to_ascii_uppercase();
    let i = upper.find(" LIKE ")?;
    let rest = sql[i + 6..].trim().trim_end_matches(';').trim();
    let q = rest.chars().next()?;
    if q != '\'' && q != '"' {
        return None;
    }
    let inner = &rest[1..];
    let end = inner.rfind(q)?;
    Some(inner[..end].replace("''", "'"))
}

/// SQL LIKE with `%`, `_` and `\` escapes, case-insensitive (as for identifiers here).
pub(crate) fn like_match(pattern: &str, s: &str) -> bool {
    fn rec(p: &[char], s: &[char]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some(('%', rest)) => (0..=s.len()).any(|i| rec(rest, &s[i..])),
            Some(('_', rest)) => !s.is_empty() && rec(rest, &s[1..]),
            Some(('\\', rest)) if !rest.is_empty() => {
                !s.is_empty() && s[0].eq_ignore_ascii_case(&rest[0]) && rec(&rest[1..], &s[1..])
            }
            Some((c, rest)) => {
                !s.is_empty() && s[0].to_lowercase().eq(c.to_lowercase()) && rec(rest, &s[1..])
            }
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let s: Vec<char> = s.chars().collect();
    rec(&p, &s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like() {
        for (p, s, want) in [
            ("t\\_%", "t_order", true),
            ("t%", "x", false),
            ("T_ORDER", "t_order", true),
            ("t_o%", "tXorder", true),
        ] {
            assert_eq!(like_match(p, s), want, "{p} {s}");
        }
        assert_eq!(
            like_pattern("SHOW TABLES LIKE 't%';").as_deref(),
            Some("t%")
        );
    }
}
