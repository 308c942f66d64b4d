//! `information_schema` as the logical view: the proxy never lets a query read the shards'
//! own information_schema (it would list physical databases and tables). A SELECT over
//! information_schema tables runs instead on temporary copies of them that hold the rows of
//! the user's logical databases only, with logical names — so MariaDB itself evaluates the
//! query (joins, functions, ordering) exactly as on one server holding those tables.
//!
//! Rows come from the data sources' own information_schema: a logical table's rows from its
//! first node (sharded), its first data source (broadcast) or its data source (single);
//! tables the rules do not name from the default data source. `TABLES` sums row counts and
//! sizes over every node of a sharded table.

use super::{FlowResult, Session};
use crate::backend::query_collect;
use crate::error::SqlError;
use crate::protocol::writer::ResultWriter;
use crate::result::{ColumnDef, Row};
use crate::rules::TableRule;
use crate::sql::refs::Refs;
use crate::sql::Edits;
use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet};

/// information_schema tables answered with the logical view.
const LOGICAL: &[&str] = &[
    "schemata",
    "tables",
    "columns",
    "statistics",
    "key_column_usage",
    "table_constraints",
    "referential_constraints",
    "check_constraints",
    "partitions",
    "views",
    "routines",
    "parameters",
    "triggers",
    "events",
    "column_privileges",
    "table_privileges",
    "schema_privileges",
];

/// Tables of those that stay empty: stored programs, triggers and events are not routed, and
/// privileges are the proxy's (SHOW GRANTS), not the backend account's.
const ALWAYS_EMPTY: &[&str] = &[
    "routines",
    "parameters",
    "triggers",
    "events",
    "column_privileges",
    "table_privileges",
    "schema_privileges",
];

/// information_schema tables without any database's rows: read from the server as they are.
const GLOBAL: &[&str] = &[
    "character_sets",
    "collations",
    "collation_character_set_applicability",
    "engines",
    "keywords",
    "sql_functions",
];

/// Columns that hold a table name, per column name.
const TABLE_NAME_COLUMNS: &[&str] = &["table_name", "referenced_table_name", "event_object_table"];

/// Columns of `TABLES` summed over a sharded table's nodes.
const SUMMED: &[&str] = &["table_rows", "data_length", "index_length", "data_free"];

fn temp_name(table: &str) -> String {
    format!("__sg_is_{table}")
}

impl Session {
    /// Whether the statement reads information_schema (and so is answered here).
    pub(crate) fn reads_information_schema(refs: &Refs) -> bool {
        refs.tables
            .iter()
            .any(|t| t.schema.as_deref() == Some(super::access::INFORMATION_SCHEMA))
    }

    /// Answer a SELECT over information_schema tables with the logical view.
    pub(crate) async fn information_schema(
        &mut self,
        sql: &str,
        stmt: &sqlparser::ast::Statement,
        refs: &Refs,
        bound: &super::query::Bound,
        w: &mut ResultWriter<'_>,
    ) -> FlowResult<()> {
        let mut wanted = BTreeSet::new();
        for t in &refs.tables {
            let Some(schema) = t.schema.as_deref() else {
                return Err(SqlError::unsupported(
                    "information_schema and other tables in one statement",
                )
                .into());
            };
            if schema != super::access::INFORMATION_SCHEMA {
                return Err(SqlError::unsupported(
                    "information_schema and other tables in one statement",
                )
                .into());
            }
            let name = t.name.as_str();
            if !LOGICAL.contains(&name) && !GLOBAL.contains(&name) {
                return Err(self
                    .refuse(crate::sql::classify::Refusal::Table {
                        command: "SELECT".into(),
                        table: format!("information_schema`.`{}", t.name.to_uppercase()),
                    })
                    .into());
            }
            if LOGICAL.contains(&name) {
                wanted.insert(name.to_string());
            }
        }
        let ds = self.default_ds()?;
        let backend = self.shared.backends.get(&ds)?.clone();
        let mut lease = backend.acquire().await?;
        // The query runs in the session's state (sql_mode, character sets, ...). The copies
        // are temporary tables: the server reports them as session state, so the connection
        // is reset before anyone else uses it, whatever happens here.
        lease.apply_state(&self.state).await?;
        let nbe = self.no_backslash_escapes;
        for table in &wanted {
            let rows = self.logical_rows(table).await?;
            let tmp = temp_name(table);
            crate::backend::exec_drop(&mut lease, &format!("DROP TEMPORARY TABLE IF EXISTS {tmp}"))
                .await?;
            crate::backend::exec_drop(
                &mut lease,
                &format!(
                    "CREATE TEMPORARY TABLE {tmp} AS SELECT * FROM information_schema.{} WHERE 0",
                    table.to_uppercase()
                ),
            )
            .await?;
            insert_rows(&mut lease, &tmp, &rows, nbe).await?;
        }
        // The statement, on the copies: `information_schema.X [alias]` becomes
        // `__sg_is_x AS <alias or X>`, qualifiers `information_schema.X.col` become `X.col`;
        // DATABASE() and the other session functions answer for the proxy session.
        let sm = crate::sql::SourceMap::new(sql);
        let mut e = match self.user_databases().first() {
            Some(db) => self.function_edits(stmt, &sm, db),
            None => Edits::new(),
        };
        for t in &refs.tables {
            if !wanted.contains(&t.name) {
                continue;
            }
            let written = sql[t.range.clone()]
                .rsplit('.')
                .next()
                .unwrap_or_default()
                .to_string();
            let replacement = match &t.alias {
                Some(_) => temp_name(&t.name),
                None => format!("{} AS {written}", temp_name(&t.name)),
            };
            e.replace(t.range.clone(), replacement);
        }
        for q in &refs.qualified {
            if q.schema.as_deref() == Some(super::access::INFORMATION_SCHEMA)
                && wanted.contains(&q.table)
            {
                let written = sql[q.range.clone()]
                    .rsplit('.')
                    .next()
                    .unwrap_or_default()
                    .to_string();
                e.replace(q.range.clone(), written);
            }
        }
        if refs.placeholders.len() != bound.sql.len() {
            return Err(
                SqlError::new(1210, "HY000", "Incorrect arguments to mysqld_stmt_execute").into(),
            );
        }
        for (range, v) in refs.placeholders.iter().zip(&bound.sql) {
            e.replace(range.clone(), v.clone());
        }
        let text = e.apply(sql);
        let r = query_collect(&mut lease, &text).await;
        for table in &wanted {
            let _ = crate::backend::exec_drop(
                &mut lease,
                &format!("DROP TEMPORARY TABLE IF EXISTS {}", temp_name(table)),
            )
            .await;
        }
        lease.mark_dirty();
        let (cols, rows) = r.map_err(|e| self.map_error(e))?;
        let cols: Vec<ColumnDef> = cols.iter().map(info_column).collect();
        if cols.is_empty() {
            w.ok(&Default::default()).await?;
        } else {
            w.rows(&cols, &rows).await?;
        }
        Ok(())
    }

    /// The logical rows of one information_schema table for the user's databases.
    async fn logical_rows(&self, table: &str) -> Result<(Vec<ColumnDef>, Vec<Row>), SqlError> {
        if ALWAYS_EMPTY.contains(&table) {
            return Ok((Vec::new(), Vec::new()));
        }
        let mut out: Vec<Row> = Vec::new();
        let mut columns: Vec<ColumnDef> = Vec::new();
        let upper = table.to_uppercase();
        let served = self.served();
        for db in self.user_databases() {
            // physical database per data source of this logical database
            let mut physical: BTreeMap<String, String> = BTreeMap::new();
            for ds in db
                .data_sources
                .iter()
                .chain(std::iter::once(&db.default_data_source))
            {
                if let Ok(b) = self.shared.backends.get(ds) {
                    physical.insert(ds.clone(), b.config().database.clone());
                }
            }
            // Which physical tables of each data source belong to the logical database, and
            // as which logical table: rule tables at their first node, unnamed tables at the
            // default data source.
            let mut owner: BTreeMap<(String, String), String> = BTreeMap::new();
            let mut extra_nodes: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
            for rule in db.tables.values() {
                match rule {
                    TableRule::Sharded(s) => {
                        if let Some(n) = s.nodes.first() {
                            owner.insert(
                                (n.data_source.clone(), n.table.to_ascii_lowercase()),
                                s.name.clone(),
                            );
                        }
                        extra_nodes.insert(
                            s.name.clone(),
                            s.nodes
                                .iter()
                                .skip(1)
                                .map(|n| (n.data_source.clone(), n.table.clone()))
                                .collect(),
                        );
                    }
                    TableRule::Broadcast { name, data_sources } => {
                        let ds = data_sources.first().unwrap_or(&db.default_data_source);
                        owner.insert((ds.clone(), name.to_ascii_lowercase()), name.clone());
                    }
                    TableRule::Single { name, data_source } => {
                        owner.insert(
                            (data_source.clone(), name.to_ascii_lowercase()),
                            name.clone(),
                        );
                    }
                }
            }
            let rule_physical: BTreeSet<String> = served
                .physical_to_logical
                .keys()
                .map(|k| k.to_ascii_lowercase())
                .chain(db.tables.keys().cloned())
                .collect();
            let sources: Vec<String> = if table == "schemata" {
                vec![db.default_data_source.clone()]
            } else {
                physical.keys().cloned().collect()
            };
            // Summed figures of sharded tables' other nodes: (ds, physical) → logical.
            let mut sums: BTreeMap<String, Vec<u128>> = BTreeMap::new();
            for ds in sources {
                let Some(phys_db) = physical.get(&ds) else {
                    continue;
                };
                let where_col = if table == "schemata" {
                    "SCHEMA_NAME"
                } else {
                    "TABLE_SCHEMA"
                };
                let sql = format!(
                    "SELECT * FROM information_schema.{upper} WHERE {where_col} = {}",
                    crate::sql::literal::quote_str(phys_db, false)
                );
                let backend = self.shared.backends.get(&ds)?.clone();
                let mut conn = backend.connect_unpooled().await?;
                let (cols, rows) = conn.collect(&sql).await?;
                conn.quit().await;
                if columns.is_empty() {
                    columns = cols.clone();
                }
                let idx = |name: &str| {
                    cols.iter()
                        .position(|c| c.name_str().eq_ignore_ascii_case(name))
                };
                let table_col = idx("table_name");
                for mut row in rows {
                    // Does the row belong to the logical database, and as which table?
                    let logical_table = match table_col.and_then(|i| row.get(i).cloned().flatten())
                    {
                        Some(t) => {
                            let t = String::from_utf8_lossy(&t).to_ascii_lowercase();
                            match owner.get(&(ds.clone(), t.clone())) {
                                Some(l) => Some(l.clone()),
                                None if ds == db.default_data_source
                                    && !rule_physical.contains(&t) =>
                                {
                                    Some(t)
                                }
                                None => {
                                    // Another node of a sharded table: count its figures.
                                    if table == "tables" {
                                        if let Some((l, _)) = extra_nodes.iter().find(|(_, v)| {
                                            v.iter().any(|(d, p)| {
                                                *d == ds && p.eq_ignore_ascii_case(&t)
                                            })
                                        }) {
                                            let s = sums
                                                .entry(l.clone())
                                                .or_insert_with(|| vec![0; SUMMED.len()]);
                                            for (k, name) in SUMMED.iter().enumerate() {
                                                if let Some(v) = idx(name)
                                                    .and_then(|i| row.get(i).cloned().flatten())
                                                {
                                                    s[k] += String::from_utf8_lossy(&v)
                                                        .parse::<u128>()
                                                        .unwrap_or(0);
                                                }
                                            }
                                        }
                                    }
                                    continue;
                                }
                            }
                        }
                        None => None,
                    };
                    for (i, c) in cols.iter().enumerate() {
                        let name = c.name_str().to_ascii_lowercase();
                        let Some(Some(v)) = row.get(i).cloned() else {
                            continue;
                        };
                        let text = String::from_utf8_lossy(&v).into_owned();
                        if name.ends_with("_schema") || name == "schema_name" {
                            if text.eq_ignore_ascii_case(phys_db) {
                                row[i] = Some(Bytes::copy_from_slice(db.name.as_bytes()));
                            }
                        } else if TABLE_NAME_COLUMNS.contains(&name.as_str()) {
                            let mapped = if name == "table_name" {
                                logical_table.clone()
                            } else {
                                served.physical_to_logical.get(&text).cloned()
                            };
                            if let Some(m) = mapped {
                                row[i] = Some(Bytes::from(m));
                            }
                        }
                    }
                    out.push(row);
                }
            }
            if table == "tables" && !sums.is_empty() {
                let idx = |name: &str| {
                    columns
                        .iter()
                        .position(|c| c.name_str().eq_ignore_ascii_case(name))
                };
                let name_i = idx("table_name");
                for row in out.iter_mut() {
                    let Some(Some(n)) = name_i.and_then(|i| row.get(i).cloned()) else {
                        continue;
                    };
                    let Some(s) = sums.get(&String::from_utf8_lossy(&n).to_string()) else {
                        continue;
                    };
                    for (k, col) in SUMMED.iter().enumerate() {
                        if let Some(i) = idx(col) {
                            let base = row[i]
                                .as_ref()
                                .and_then(|b| String::from_utf8_lossy(b).parse::<u128>().ok());
                            if let Some(b) = base {
                                row[i] = Some(Bytes::from((b + s[k]).to_string()));
                            }
                        }
                    }
                }
            }
        }
        if table == "schemata" {
            // MariaDB lists information_schema itself.
            if let Some(pos) = columns
                .iter()
                .position(|c| c.name_str().eq_ignore_ascii_case("schema_name"))
            {
                let mut row: Row = vec![None; columns.len()];
                for (i, c) in columns.iter().enumerate() {
                    let v = match c.name_str().to_ascii_lowercase().as_str() {
                        "catalog_name" => Some("def"),
                        "default_character_set_name" => Some("utf8mb3"),
                        "default_collation_name" => Some("utf8mb3_general_ci"),
                        "schema_comment" => Some(""),
                        _ => None,
                    };
                    row[i] = v.map(|s| Bytes::from(s.to_string()));
                }
                row[pos] = Some(Bytes::from_static(b"information_schema"));
                out.insert(0, row);
            }
        }
        Ok((columns, out))
    }
}

/// Insert rows into a temporary copy, in statements of bounded size.
async fn insert_rows(
    lease: &mut crate::backend::Lease,
    tmp: &str,
    rows: &(Vec<ColumnDef>, Vec<Row>),
    nbe: bool,
) -> Result<(), SqlError> {
    let mut stmt = String::new();
    for row in &rows.1 {
        if stmt.is_empty() {
            stmt = format!("INSERT INTO {tmp} VALUES ");
        } else {
            stmt.push(',');
        }
        stmt.push('(');
        for (i, c) in row.iter().enumerate() {
            if i > 0 {
                stmt.push(',');
            }
            match c {
                None => stmt.push_str("NULL"),
                Some(b) => stmt.push_str(&crate::sql::literal::quote_bytes(b, nbe)),
            }
        }
        stmt.push(')');
        if stmt.len() > 512 * 1024 {
            crate::backend::exec_drop(lease, &std::mem::take(&mut stmt)).await?;
        }
    }
    if !stmt.is_empty() {
        crate::backend::exec_drop(lease, &stmt).await?;
    }
    Ok(())
}

/// Result metadata of a query over the copies, as MariaDB describes information_schema.
fn info_column(c: &ColumnDef) -> ColumnDef {
    let mut c = c.clone();
    if let Some(t) = std::str::from_utf8(&c.org_table)
        .ok()
        .and_then(|t| t.strip_prefix("__sg_is_"))
    {
        c.org_table = Bytes::from(t.to_uppercase());
        c.schema = Bytes::from_static(b"information_schema");
    }
    if std::str::from_utf8(&c.table).is_ok_and(|t| t.starts_with("__sg_is_")) {
        c.table = c.org_table.clone();
    }
    c
}
