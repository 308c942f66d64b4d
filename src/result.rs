//! Protocol-neutral result types shared by backend, execute, merge and protocol.

use bytes::Bytes;
use mysql_common::constants::{ColumnFlags, ColumnType};

/// One result column, carrying the backend's metadata unchanged (names mapped to logical ones).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDef {
    pub schema: Bytes,
    pub table: Bytes,
    pub org_table: Bytes,
    pub name: Bytes,
    pub org_name: Bytes,
    pub charset: u16,
    pub column_length: u32,
    pub column_type: ColumnType,
    pub flags: ColumnFlags,
    pub decimals: u8,
}

impl ColumnDef {
    /// A plain column for answers the proxy computes itself (SHOW DATABASES, EXPLAIN ...).
    pub fn text(name: &str) -> ColumnDef {
        ColumnDef {
            schema: Bytes::new(),
            table: Bytes::new(),
            org_table: Bytes::new(),
            name: Bytes::copy_from_slice(name.as_bytes()),
            org_name: Bytes::copy_from_slice(name.as_bytes()),
            charset: 45,
            column_length: 1024,
            column_type: ColumnType::MYSQL_TYPE_VAR_STRING,
            flags: ColumnFlags::empty(),
            decimals: 31,
        }
    }

    pub fn bigint(name: &str) -> ColumnDef {
        ColumnDef {
            charset: 63,
            column_length: 21,
            column_type: ColumnType::MYSQL_TYPE_LONGLONG,
            flags: ColumnFlags::BINARY_FLAG | ColumnFlags::NUM_FLAG,
            decimals: 0,
            ..ColumnDef::text(name)
        }
    }

    pub fn name_str(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }
}

/// One row of text-protocol cells (`None` = SQL NULL).
pub type Row = Vec<Option<Bytes>>;

/// What a statement that returns no rows reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OkInfo {
    pub affected_rows: u64,
    pub last_insert_id: u64,
    pub warnings: u16,
    pub info: String,
    /// A node's `FOUND_ROWS()` after its `SELECT SQL_CALC_FOUND_ROWS` (read on its
    /// connection right after the result).
    pub found_rows: Option<u64>,
}
