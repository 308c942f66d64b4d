//! Schema catalog of the logical tables: columns (in order), their types and keys, read from
//! `information_schema` on the first node of each table at start and after DDL through the
//! proxy. Routing uses column types (`user_id = '17'` routes like `17`); INSERT without a
//! column list uses the column order.

use crate::backend::Backends;
use crate::error::SqlResult;
use crate::rules::TableRule;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// How values of a column compare, for routing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColKind {
    Integer,
    Decimal,
    Float,
    String,
    Temporal,
    Other,
}

impl ColKind {
    pub fn from_data_type(t: &str) -> ColKind {
        match t.to_ascii_lowercase().as_str() {
            "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" | "year"
            | "bit" => ColKind::Integer,
            "decimal" | "numeric" => ColKind::Decimal,
            "float" | "double" | "real" => ColKind::Float,
            "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" | "enum"
            | "set" => ColKind::String,
            "date" | "datetime" | "timestamp" | "time" => ColKind::Temporal,
            _ => ColKind::Other,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Lower case.
    pub name: String,
    pub kind: ColKind,
    pub primary_key: bool,
    /// The column's collation id (MariaDB reports the connection's in result metadata, so
    /// merges compare strings by this instead).
    pub collation: Option<u16>,
    /// AUTO_INCREMENT: the server picks the value for NULL or 0.
    pub auto_increment: bool,
    /// The type as value conversions need it (see [`crate::convert`]).
    pub ty: crate::convert::SqlType,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableSchema {
    pub columns: Vec<Column>,
}

impl TableSchema {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }
}

/// (logical database, lower-case logical table) → schema.
pub type Snapshot = HashMap<(String, String), TableSchema>;

#[derive(Default)]
pub struct Catalog {
    current: RwLock<Arc<Snapshot>>,
    /// Data sources whose tables could not be read at the last load (down at start, say):
    /// the upkeep task loads again until there are none.
    missing: std::sync::Mutex<std::collections::BTreeSet<String>>,
}

impl Catalog {
    pub fn snapshot(&self) -> Arc<Snapshot> {
        match self.current.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn replace(&self, s: Snapshot) {
        match self.current.write() {
            Ok(mut g) => *g = Arc::new(s),
            Err(p) => *p.into_inner() = Arc::new(s),
        }
    }

    /// Data sources the last load could not read.
    pub fn missing(&self) -> Vec<String> {
        self.missing
            .lock()
            .map(|m| m.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// (Re)load every table the rules name, one query per data source, on connections of
    /// its own (the server's default session state, never a client's). Tables that do not
    /// exist yet are simply absent; the tables of a data source that cannot be reached keep
    /// what the previous load knew of them, and the data source is listed in [`missing`].
    ///
    /// [`missing`]: Catalog::missing
    pub async fn load(&self, served: &crate::served::Served, backends: &Backends) -> SqlResult<()> {
        // data source → [(logical db, logical table, physical table)]
        let mut wanted: HashMap<String, Vec<(String, String, String)>> = HashMap::new();
        for db in served.all() {
            for (name, rule) in &db.tables {
                let first = match rule {
                    TableRule::Sharded(s) => s
                        .nodes
                        .first()
                        .map(|n| (n.data_source.clone(), n.table.clone())),
                    TableRule::Broadcast { .. } => {
                        db.data_sources.first().map(|d| (d.clone(), name.clone()))
                    }
                    TableRule::Single { data_source, .. } => {
                        Some((data_source.clone(), name.clone()))
                    }
                };
                if let Some((ds, phys)) = first {
                    wanted.entry(ds).or_default().push((
                        db.name.clone(),
                        name.to_ascii_lowercase(),
                        phys,
                    ));
                }
            }
        }
        let mut snap = Snapshot::new();
        let previous = self.snapshot();
        let mut missing = std::collections::BTreeSet::new();
        for (ds, tables) in wanted {
            let backend = backends.get(&ds)?.clone();
            let mut conn = match backend.connect_unpooled().await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(
                        "catalog: data source {ds} not reachable: {}",
                        e.to_sql().message
                    );
                    for (db, logical, _) in &tables {
                        let key = (db.clone(), logical.clone());
                        if let Some(t) = previous.get(&key) {
                            snap.insert(key, t.clone());
                        }
                    }
                    missing.insert(ds);
                    continue;
                }
            };
            let list: Vec<String> = tables
                .iter()
                .map(|t| crate::sql::literal::quote_str(&t.2, false))
                .collect();
            let sql = format!(
                "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_KEY, COLLATION_NAME, EXTRA, COLUMN_TYPE, \
                 NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN ({}) ORDER BY TABLE_NAME, ORDINAL_POSITION",
                list.join(", ")
            );
            let rows = match conn.collect(&sql).await {
                Ok((_, rows)) => rows,
                Err(e) => {
                    tracing::warn!("catalog: {}", e.to_sql().message);
                    for (db, logical, _) in &tables {
                        let key = (db.clone(), logical.clone());
                        if let Some(t) = previous.get(&key) {
                            snap.insert(key, t.clone());
                        }
                    }
                    missing.insert(ds);
                    continue;
                }
            };
            conn.quit().await;
            let text = |c: &Option<bytes::Bytes>| {
                c.as_ref()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default()
            };
            let num = |c: &Option<bytes::Bytes>| -> Option<u32> {
                c.as_ref()
                    .and_then(|b| std::str::from_utf8(b).ok()?.parse().ok())
            };
            for r in rows {
                if r.len() < 10 {
                    continue;
                }
                let phys = text(&r[0]);
                for (db, logical, p) in &tables {
                    if p.eq_ignore_ascii_case(&phys) {
                        snap.entry((db.clone(), logical.clone()))
                            .or_default()
                            .columns
                            .push(Column {
                                name: text(&r[1]).to_ascii_lowercase(),
                                kind: ColKind::from_data_type(&text(&r[2])),
                                primary_key: text(&r[3]) == "PRI",
                                collation: crate::collation::Collation::from_name(&text(&r[4]))
                                    .map(|c| c.id()),
                                auto_increment: text(&r[5])
                                    .to_ascii_lowercase()
                                    .contains("auto_increment"),
                                ty: crate::convert::SqlType::from_info(
                                    &text(&r[2]),
                                    &text(&r[6]),
                                    num(&r[7]),
                                    num(&r[8]),
                                    num(&r[9]),
                                ),
                            });
                    }
                }
            }
        }
        self.replace(snap);
        if let Ok(mut m) = self.missing.lock() {
            *m = missing;
        }
        Ok(())
    }
}
