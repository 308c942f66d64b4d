//! SHOW statements: databases and tables are answered with logical names; statements about
//! one table run on its first data node; the rest go to the default data source.

use super::{FlowResult, Session};
use crate::backend::query_collect;
use crate::error::SqlError;
use crate::plan::{NodeSql, Plan};
use crate::protocol::writer::ResultWriter;
use crate::result::{ColumnDef, Row};
use crate::route::RouteKind;
use crate::rules::LogicalDatabase;
use crate::rules::TableRule;
use crate::sql::{name_parts, object_base_name, Edits, SourceMap};
use bytes::Bytes;
use sqlparser::ast::{Ident, ObjectName, Spanned, Statement};
use std::sync::Arc;

impl Session {
    pub(crate) async fn show(&mut self, sql: &str, w: &mut ResultWriter<'_>) -> FlowResult<()> {
        use crate::sql::classify::{show_kind, ShowKind};
        if let Some(kind) = super::effects::DiagKind::of(sql) {
            // The session's own diagnostics, never a pooled connection's.
            self.diagnostic_statement = true;
            self.show_diagnostics(kind, sql, w).await?;
            return Ok(());
        }
        match show_kind(sql) {
            ShowKind::Databases => self.show_databases(sql, w).await,
            ShowKind::Tables { full } => self.show_tables(sql, full, w).await,
            ShowKind::CreateTable => {
                let name = match crate::sql::parse_one(sql) {
                    Ok(Statement::ShowCreate { obj_name, .. }) => obj_name,
                    _ => return Err(SqlError::parse("SHOW CREATE TABLE / VIEW").into()),
                };
                let sm = SourceMap::new(sql);
                let range = sm
                    .range(name.span())
                    .ok_or_else(|| SqlError::unsupported("this SHOW statement"))?;
                let (ds, physical) = self.first_node(&name)?;
                let mut e = Edits::new();
                e.replace(range, crate::rewrite::ident(&physical));
                let logical = name_parts(&name)
                    .last()
                    .map(|i| i.value.clone())
                    .unwrap_or_default();
                self.show_create(&ds, &e.apply(sql), &physical, &logical, w)
                    .await
            }
            ShowKind::Columns | ShowKind::Index => {
                let target = show_target(sql)
                    .ok_or_else(|| SqlError::parse("SHOW ... FROM <table> [FROM <database>]"))?;
                let mut parts = target
                    .db
                    .iter()
                    .map(|d| Ident::new(d.clone()))
                    .collect::<Vec<_>>();
                parts.push(Ident::new(target.table.clone()));
                let name = ObjectName::from(parts);
                let (ds, physical) = self.first_node(&name)?;
                let node_sql = format!(
                    "{} FROM {} {}",
                    target.head,
                    crate::rewrite::ident(&physical),
                    target.rest
                );
                let plan = Plan {
                    kind: RouteKind::Unicast,
                    copies: Vec::new(),
                    nodes: vec![NodeSql {
                        data_source: ds,
                        sql: node_sql,
                    }],
                    merge: Default::default(),
                    write: false,
                    ddl: false,
                };
                // SHOW INDEX names the table in its first column: the physical table's name
                // is mapped back like any result metadata (see map_column) — and the cell too.
                self.show_rows_as(plan, &physical, &target.table, w).await
            }
            ShowKind::ServerInfo => {
                let plan = self.default_plan(sql)?;
                self.run_plan(&plan, w).await
            }
            ShowKind::Grants => self.show_grants(sql, w).await,
            ShowKind::CreateDatabase => self.show_create_database(sql, w).await,
            ShowKind::TableStatus => {
                let sql = self.table_status_query(sql)?;
                Box::pin(self.dispatch(&sql, &super::query::Bound::default(), w)).await
            }
            ShowKind::Empty => {
                let words = crate::sql::classify::leading_words(sql, 3);
                let head = match words.get(1).map(String::as_str) {
                    Some("TRIGGERS" | "EVENTS") => words[..2].join(" "),
                    _ => words.join(" "),
                };
                let plan = self.default_plan(&format!("{head} WHERE 1 = 0"))?;
                self.run_plan(&plan, w).await
            }
            ShowKind::Refused(r) => Err(self.refuse(r).into()),
        }
    }

    /// Run a one-node SHOW and relay its rows with cells equal to `physical` (the table's
    /// physical name) shown as `logical`.
    async fn show_rows_as(
        &mut self,
        plan: Plan,
        physical: &str,
        logical: &str,
        w: &mut ResultWriter<'_>,
    ) -> FlowResult<()> {
        let n = &plan.nodes[0];
        let backend = self.shared.backends.get(&n.data_source)?.clone();
        let mut lease = backend.acquire().await?;
        lease.apply_state(&self.state).await?;
        let (cols, rows) = query_collect(&mut lease, &n.sql).await?;
        let cols: Vec<ColumnDef> = cols.iter().map(|c| self.map_column(c)).collect();
        let rows: Vec<Row> = rows
            .into_iter()
            .map(|r| {
                r.into_iter()
                    .map(|c| match c {
                        Some(b) if b.as_ref() == physical.as_bytes() => {
                            Some(Bytes::copy_from_slice(logical.as_bytes()))
                        }
                        other => other,
                    })
                    .collect()
            })
            .collect();
        w.rows(&cols, &rows).await?;
        Ok(())
    }

    /// SHOW GRANTS [FOR user]: the proxy's privileges of the user, as MySQL prints grants.
    async fn show_grants(&mut self, sql: &str, w: &mut ResultWriter<'_>) -> FlowResult<()> {
        let words = crate::sql::classify::leading_words(sql, 4);
        let named = match (words.get(2).map(String::as_str), words.get(3)) {
            (Some("FOR"), Some(u)) if u != "CURRENT_USER" => {
                let toks: Vec<&str> = sql.split_whitespace().collect();
                let raw = toks.get(3).copied().unwrap_or_default();
                Some(
                    raw.split('@')
                        .next()
                        .unwrap_or_default()
                        .trim_matches(['`', '\'', '"'])
                        .to_string(),
                )
            }
            _ => None,
        };
        let user = named.unwrap_or_else(|| self.user.clone());
        if user != self.user && !self.is_admin() {
            return Err(self
                .refuse(crate::sql::classify::Refusal::Database("mysql".into()))
                .into());
        }
        let Some(account) = self.shared.account(&user) else {
            return Err(SqlError::new(
                1141,
                "42000",
                format!("There is no such grant defined for user '{user}' on host '%'"),
            )
            .into());
        };
        let mut lines = vec![format!("GRANT USAGE ON *.* TO `{user}`@`%`")];
        for (db, read_only) in &account.databases {
            let privs = if *read_only {
                "SELECT"
            } else {
                "ALL PRIVILEGES"
            };
            lines.push(format!("GRANT {privs} ON `{db}`.* TO `{user}`@`%`"));
        }
        let title = format!("Grants for {user}@%");
        let rows: Vec<Row> = lines
            .into_iter()
            .map(|l| vec![Some(Bytes::from(l))])
            .collect();
        w.rows(&[ColumnDef::text(&title)], &rows).await?;
        Ok(())
    }

    /// SHOW CREATE DATABASE <logical>: the default data source's physical database, named
    /// as the logical one.
    async fn show_create_database(
        &mut self,
        sql: &str,
        w: &mut ResultWriter<'_>,
    ) -> FlowResult<()> {
        let toks: Vec<&str> = sql.split_whitespace().collect();
        let name = toks
            .last()
            .map(|t| t.trim_matches('`').to_string())
            .unwrap_or_default();
        let db = self.accessible_db(&name)?;
        let ds = db.default_data_source.clone();
        let physical = self
            .shared
            .config
            .data_sources
            .get(&ds)
            .map(|d| d.database.clone())
            .unwrap_or_default();
        let logical = db.name.clone();
        let backend = self.shared.backends.get(&ds)?.clone();
        let mut lease = backend.acquire().await?;
        lease.apply_state(&self.state).await?;
        let (cols, rows) = query_collect(
            &mut lease,
            &format!("SHOW CREATE DATABASE {}", crate::rewrite::ident(&physical)),
        )
        .await?;
        let rows: Vec<Row> = rows
            .into_iter()
            .map(|mut r| {
                if let Some(c) = r.get_mut(0) {
                    *c = Some(Bytes::from(logical.clone()));
                }
                if let Some(Some(text)) = r.get(1) {
                    let s = String::from_utf8_lossy(text).replacen(
                        &format!("`{physical}`"),
                        &format!("`{logical}`"),
                        1,
                    );
                    r[1] = Some(Bytes::from(s));
                }
                r
            })
            .collect();
        w.rows(&cols, &rows).await?;
        Ok(())
    }

    /// SHOW TABLE STATUS [FROM db] [LIKE 'p' | WHERE expr], as the query over
    /// information_schema.TABLES it is (answered with the logical view).
    fn table_status_query(&self, sql: &str) -> Result<String, SqlError> {
        let toks: Vec<&str> = sql.split_whitespace().collect();
        let from = toks
            .iter()
            .position(|t| t.eq_ignore_ascii_case("FROM") || t.eq_ignore_ascii_case("IN"))
            .and_then(|i| toks.get(i + 1))
            .map(|s| s.trim_matches('`').to_string());
        let db_name = from
            .or_else(|| self.db.clone())
            .ok_or_else(SqlError::no_database)?;
        let db = self.accessible_db(&db_name)?;
        let upper = sql.to_ascii_uppercase();
        let filter = if let Some(p) = like_pattern(sql) {
            format!(
                "WHERE `Name` LIKE {}",
                crate::sql::literal::quote_str(&p, self.no_backslash_escapes)
            )
        } else if let Some(i) = upper.find(" WHERE ") {
            sql[i..].to_string()
        } else {
            String::new()
        };
        Ok(format!(
            "SELECT * FROM (SELECT TABLE_NAME AS `Name`, ENGINE AS `Engine`, VERSION AS `Version`, \
             ROW_FORMAT AS `Row_format`, TABLE_ROWS AS `Rows`, AVG_ROW_LENGTH AS `Avg_row_length`, \
             DATA_LENGTH AS `Data_length`, MAX_DATA_LENGTH AS `Max_data_length`, \
             INDEX_LENGTH AS `Index_length`, DATA_FREE AS `Data_free`, \
             AUTO_INCREMENT AS `Auto_increment`, CREATE_TIME AS `Create_time`, \
             UPDATE_TIME AS `Update_time`, CHECK_TIME AS `Check_time`, \
             TABLE_COLLATION AS `Collation`, CHECKSUM AS `Checksum`, \
             CREATE_OPTIONS AS `Create_options`, TABLE_COMMENT AS `Comment`, \
             MAX_INDEX_LENGTH AS `Max_index_length`, TEMPORARY AS `Temporary` \
             FROM information_schema.TABLES WHERE TABLE_SCHEMA = {}) AS `__sg_status` {filter} ORDER BY `Name`",
            crate::sql::literal::quote_str(&db.name, self.no_backslash_escapes)
        ))
    }

    /// A logical database the user may use (1049 when there is none by that name, 1044
    /// when it is not the user's).
    pub(crate) fn accessible_db(&self, name: &str) -> Result<Arc<LogicalDatabase>, SqlError> {
        let db = self
            .database(name)
            .ok_or_else(|| SqlError::unknown_database(name))?;
        let ok = self
            .shared
            .account(&self.user)
            .is_some_and(|a| a.may_use(&db.name));
        if ok {
            Ok(db)
        } else {
            Err(self.refuse(crate::sql::classify::Refusal::Database(name.to_string())))
        }
    }

    pub(crate) fn default_plan(&self, sql: &str) -> Result<Plan, SqlError> {
        Ok(Plan {
            kind: RouteKind::Unicast,
            copies: Vec::new(),
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
        let db = self.accessible_db(&db_name)?;
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

    /// SHOW CREATE TABLE / VIEW on the first node, the physical name shown as the logical one.
    async fn show_create(
        &mut self,
        ds: &str,
        node_sql: &str,
        physical: &str,
        logical: &str,
        w: &mut ResultWriter<'_>,
    ) -> FlowResult<()> {
        let backend = self.shared.backends.get(ds)?.clone();
        let mut lease = backend.acquire().await?;
        lease.apply_state(&self.state).await?;
        let (cols, rows) = query_collect(&mut lease, node_sql).await?;
        let cols: Vec<ColumnDef> = cols.iter().map(|c| self.map_column(c)).collect();
        let rows: Vec<Row> = rows
            .into_iter()
            .map(|mut r| {
                if let Some(c) = r.get_mut(0) {
                    *c = Some(Bytes::copy_from_slice(logical.as_bytes()));
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
        names.extend(self.user_databases().iter().map(|d| d.name.clone()));
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
        let db = self.accessible_db(&db_name)?;
        let db_name = db.name.clone();
        let mut tables: Vec<(String, String)> = db
            .tables
            .values()
            .map(|t| (t.name().to_string(), "BASE TABLE".to_string()))
            .collect();
        // Tables the rules do not name live on the default data source.
        let backend = self.shared.backends.get(&db.default_data_source)?.clone();
        let mut lease = backend.acquire().await?;
        lease.apply_state(&self.state).await?;
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
                db.table(&name).is_some() || self.served().physical_to_logical.contains_key(&name);
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

/// SQL LIKE with `%`, `_` and `\\` escapes, case-insensitive (as for identifiers here).
/// Linear in the pattern times the text at worst (no backtracking blow-up on many `%`).
pub(crate) fn like_match(pattern: &str, s: &str) -> bool {
    #[derive(PartialEq)]
    enum Tok {
        Any,
        One,
        Lit(char),
    }
    let mut p = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        p.push(match c {
            '%' => Tok::Any,
            '_' => Tok::One,
            '\\' => match chars.next() {
                Some(e) => Tok::Lit(e.to_lowercase().next().unwrap_or(e)),
                None => Tok::Lit('\\'),
            },
            c => Tok::Lit(c.to_lowercase().next().unwrap_or(c)),
        });
    }
    let s: Vec<char> = s
        .chars()
        .map(|c| c.to_lowercase().next().unwrap_or(c))
        .collect();
    let (mut i, mut j) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        match p.get(j) {
            Some(Tok::One) => {
                i += 1;
                j += 1;
            }
            Some(Tok::Lit(c)) if *c == s[i] => {
                i += 1;
                j += 1;
            }
            Some(Tok::Any) => {
                star = Some((j + 1, i));
                j += 1;
            }
            _ => match star {
                Some((pj, si)) => {
                    star = Some((pj, si + 1));
                    j = pj;
                    i = si + 1;
                }
                None => return false,
            },
        }
    }
    while p.get(j) == Some(&Tok::Any) {
        j += 1;
    }
    j == p.len()
}

/// The parts of `SHOW ... {FROM|IN} table [{FROM|IN} db] [LIKE ... | WHERE ...]`.
struct ShowTarget {
    /// The words before the first FROM / IN, as written.
    head: String,
    db: Option<String>,
    table: String,
    /// What follows the names, as written.
    rest: String,
}

fn show_target(sql: &str) -> Option<ShowTarget> {
    use sqlparser::tokenizer::{Token, Tokenizer};
    let toks = Tokenizer::new(&sqlparser::dialect::MySqlDialect {}, sql)
        .tokenize_with_location()
        .ok()?;
    let sm = SourceMap::new(sql);
    let sig: Vec<_> = toks
        .iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .collect();
    let is_kw = |t: &Token, k: &str| matches!(t, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(k));
    let name = |t: &Token| match t {
        Token::Word(w) => Some(w.value.clone()),
        _ => None,
    };
    let from = sig
        .iter()
        .position(|t| is_kw(&t.token, "FROM") || is_kw(&t.token, "IN"))?;
    let head_end = sm.range(sig[from].span)?.start;
    let mut k = from + 1;
    let first = name(&sig.get(k)?.token)?;
    k += 1;
    let (mut db, table) = if sig.get(k).is_some_and(|t| t.token == Token::Period) {
        let t = name(&sig.get(k + 1)?.token)?;
        k += 2;
        (Some(first), t)
    } else {
        (None, first)
    };
    if sig
        .get(k)
        .is_some_and(|t| is_kw(&t.token, "FROM") || is_kw(&t.token, "IN"))
    {
        db = Some(name(&sig.get(k + 1)?.token)?);
        k += 2;
    }
    let rest = match sig.get(k) {
        Some(t) => sql[sm.range(t.span)?.start..].to_string(),
        None => String::new(),
    };
    Some(ShowTarget {
        head: sql[..head_end].trim_end().to_string(),
        db,
        table,
        rest,
    })
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
        // Many `%` against a long name: no exponential backtracking.
        let p = "%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%b";
        let s = "a".repeat(5000);
        assert!(!like_match(p, &s));
        assert!(like_match("%a%", "xxaxx"));
        assert!(like_match("%", ""));
        assert!(!like_match("_", ""));
    }

    #[test]
    fn show_targets() {
        let t = show_target("SHOW FULL COLUMNS FROM `t_user` FROM shop LIKE 'a%'").unwrap();
        assert_eq!(
            (
                t.head.as_str(),
                t.db.as_deref(),
                t.table.as_str(),
                t.rest.as_str()
            ),
            ("SHOW FULL COLUMNS", Some("shop"), "t_user", "LIKE 'a%'")
        );
        let t = show_target("SHOW INDEX IN shop.t_order WHERE Key_name = 'PRIMARY'").unwrap();
        assert_eq!(
            (t.db.as_deref(), t.table.as_str(), t.rest.as_str()),
            (Some("shop"), "t_order", "WHERE Key_name = 'PRIMARY'")
        );
        let t = show_target("SHOW KEYS FROM t").unwrap();
        assert_eq!(
            (t.head.as_str(), t.db, t.table.as_str(), t.rest.as_str()),
            ("SHOW KEYS", None, "t", "")
        );
    }
}
