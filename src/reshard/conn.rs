//! The reshard job's own connections to the data sources (mysql_async; never a client's
//! pooled connection): session settings that copy values exactly, table shapes, binlog
//! positions and settings.

use super::plan::Phys;
use super::values::{Column, Shape};
use crate::rules::DataSourceConfig;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder};

pub type JobResult<T> = Result<T, String>;

/// Connect without a default database (targets may not exist yet; every name is
/// qualified), in UTC, utf8mb4, with a permissive sql_mode so that whatever a source holds
/// is written back unchanged.
pub async fn connect(ds_name: &str, ds: &DataSourceConfig) -> JobResult<Conn> {
    let opts = OptsBuilder::default()
        .ip_or_hostname(ds.host.clone())
        .tcp_port(ds.port)
        .user(Some(ds.user.clone()))
        .pass(Some(ds.password.clone()))
        .prefer_socket(false)
        .stmt_cache_size(0);
    let mut c = Conn::new(opts).await.map_err(|e| {
        format!(
            "data source {ds_name} ({}:{}): cannot connect: {e}",
            ds.host, ds.port
        )
    })?;
    c.query_drop(
        "SET NAMES utf8mb4 COLLATE utf8mb4_general_ci, time_zone = '+00:00', \
         sql_mode = 'NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION', foreign_key_checks = 0, \
         unique_checks = 1",
    )
    .await
    .map_err(|e| format!("data source {ds_name}: session setup: {e}"))?;
    Ok(c)
}

pub fn err(what: &str, e: impl std::fmt::Display) -> String {
    format!("{what}: {e}")
}

/// Columns and primary key of a physical table.
pub async fn shape(c: &mut Conn, p: &Phys) -> JobResult<Shape> {
    let cols: Vec<(String, String, String)> = c
        .exec(
            "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
            (&p.database, &p.table),
        )
        .await
        .map_err(|e| err(&format!("columns of {p}"), e))?;
    if cols.is_empty() {
        return Err(format!("table {p} does not exist"));
    }
    let columns: Vec<Column> = cols
        .iter()
        .map(|(n, t, ct)| Column::new(n, t, ct))
        .collect();
    let keys: Vec<String> = c
        .exec(
            "SELECT COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? \
             AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX",
            (&p.database, &p.table),
        )
        .await
        .map_err(|e| err(&format!("primary key of {p}"), e))?;
    if keys.is_empty() {
        return Err(format!(
            "table {p} has no primary key: rows are copied and changes applied by primary key"
        ));
    }
    let pk = keys
        .iter()
        .map(|k| {
            columns
                .iter()
                .position(|c| c.name.eq_ignore_ascii_case(k))
                .ok_or_else(|| format!("primary key column {k} of {p} not found"))
        })
        .collect::<JobResult<Vec<usize>>>()?;
    Ok(Shape { columns, pk })
}

/// The table's `CREATE TABLE` from the source, named as the target.
pub async fn create_statement(c: &mut Conn, src: &Phys, dst: &Phys) -> JobResult<String> {
    let row: Option<(String, String)> = c
        .query_first(format!("SHOW CREATE TABLE {}", src.qualified()))
        .await
        .map_err(|e| err(&format!("SHOW CREATE TABLE {src}"), e))?;
    let Some((_, ddl)) = row else {
        return Err(format!("SHOW CREATE TABLE {src}: no answer"));
    };
    // The server's own text always starts `CREATE TABLE `name` (`.
    let head = format!("CREATE TABLE {} ", crate::plan::ship::quoted(&src.table));
    let Some(rest) = ddl.strip_prefix(&head) else {
        return Err(format!("SHOW CREATE TABLE {src}: unexpected text"));
    };
    Ok(format!(
        "CREATE TABLE IF NOT EXISTS {} {rest}",
        dst.qualified()
    ))
}

/// A binlog position.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Pos {
    pub file: String,
    pub pos: u64,
}

impl std::fmt::Display for Pos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.pos)
    }
}

/// The server's current binlog position.
pub async fn master_position(c: &mut Conn) -> JobResult<Pos> {
    let row: Option<mysql_async::Row> = c
        .query_first("SHOW MASTER STATUS")
        .await
        .map_err(|e| err("SHOW MASTER STATUS", e))?;
    let row = row.ok_or("SHOW MASTER STATUS: the binary log is off")?;
    let file: String = row.get(0).ok_or("SHOW MASTER STATUS: no file")?;
    let pos: u64 = row.get(1).ok_or("SHOW MASTER STATUS: no position")?;
    Ok(Pos { file, pos })
}

/// The binlog settings change data capture needs.
pub async fn check_binlog(c: &mut Conn, server: &str) -> JobResult<()> {
    let row: Option<(String, String, String)> = c
        .query_first("SELECT @@log_bin, @@binlog_format, @@binlog_row_image")
        .await
        .map_err(|e| err(server, e))?;
    let (on, format, image) = row.unwrap_or_default();
    if on != "1" || !format.eq_ignore_ascii_case("ROW") || !image.eq_ignore_ascii_case("FULL") {
        return Err(format!(
            "server {server} has log_bin = {on}, binlog_format = {format}, binlog_row_image = \
             {image}; resharding needs log_bin = ON, binlog_format = ROW and \
             binlog_row_image = FULL (set them in the server's configuration and restart it)"
        ));
    }
    Ok(())
}
