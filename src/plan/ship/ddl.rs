//! Definitions of the temporary tables holding shipped rows.

use crate::result::ColumnDef;
use mysql_common::constants::{ColumnFlags, ColumnType};

/// The DDL of a physical table turned into a temporary table named `tmp`: same columns,
/// types, collations and indexes; no foreign keys or partitioning (temporary tables take
/// neither). `None` when the text does not look like `SHOW CREATE TABLE` output.
pub fn temporary_ddl(ddl: &str, tmp: &str) -> Option<String> {
    let rest = ddl.trim_start().strip_prefix("CREATE TABLE ")?;
    // The name: one quoted identifier (backticks, or double quotes under ANSI_QUOTES).
    let q = rest.chars().next()?;
    if q != '`' && q != '"' {
        return None;
    }
    let mut end = None;
    let b = rest.as_bytes();
    let mut i = 1;
    while i < b.len() {
        if b[i] == q as u8 {
            if b.get(i + 1) == Some(&(q as u8)) {
                i += 2;
                continue;
            }
            end = Some(i);
            break;
        }
        i += 1;
    }
    let body = &rest[end? + 1..];
    let mut lines: Vec<&str> = Vec::new();
    for line in body.lines() {
        let t = line.trim_start();
        if t.starts_with("CONSTRAINT") && t.contains("FOREIGN KEY") || t.starts_with("FOREIGN KEY")
        {
            continue;
        }
        if t.starts_with("PARTITION BY") || t.starts_with("/*!50100 PARTITION BY") {
            break;
        }
        lines.push(line);
    }
    // A dropped last definition leaves a trailing comma before `)`.
    let mut out = String::new();
    for (k, line) in lines.iter().enumerate() {
        let next_closes = lines
            .get(k + 1)
            .is_some_and(|n| n.trim_start().starts_with(')'));
        let l = if next_closes {
            line.trim_end().trim_end_matches(',')
        } else {
            line
        };
        out.push_str(l);
        out.push('\n');
    }
    Some(format!(
        "CREATE TEMPORARY TABLE {q}{tmp}{q}{}",
        out.trim_end()
    ))
}

/// A temporary table for a derived table's rows, typed from the result metadata of its
/// query (what MariaDB would materialise): integer widths and signedness, DECIMAL(p,s),
/// temporal precision, string lengths in characters with the reported character set,
/// binary strings, NOT NULL. `None` for a type it cannot spell.
pub fn derived_ddl(tmp: &str, cols: &[ColumnDef]) -> Option<String> {
    let mut defs = Vec::with_capacity(cols.len());
    for c in cols {
        let name = String::from_utf8_lossy(&c.name);
        let mut def = format!("{} {}", quoted(&name), column_type(c)?);
        if c.flags.contains(ColumnFlags::NOT_NULL_FLAG) {
            def.push_str(" NOT NULL");
        } else {
            def.push_str(" NULL");
        }
        defs.push(def);
    }
    Some(format!(
        "CREATE TEMPORARY TABLE {} ({})",
        crate::rewrite::ident(tmp),
        defs.join(", ")
    ))
}

/// An identifier in backticks (also right for reserved words, and under ANSI_QUOTES).
pub fn quoted(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

fn column_type(c: &ColumnDef) -> Option<String> {
    use ColumnType::*;
    let unsigned = c.flags.contains(ColumnFlags::UNSIGNED_FLAG);
    let sign = if unsigned { " UNSIGNED" } else { "" };
    let frac = |d: u8| {
        if d > 0 && d <= 6 {
            format!("({d})")
        } else {
            String::new()
        }
    };
    let binary = c.charset == 63;
    let collation = crate::collation::Collation::from_id_lossy(c.charset);
    let mbmax: u32 = match collation.name() {
        n if n.starts_with("utf8mb4") => 4,
        n if n.starts_with("utf8mb3") => 3,
        _ => 1,
    };
    let chars = c.column_length / mbmax;
    let text_attrs = || format!(" COLLATE {}", collation.name());
    Some(match c.column_type {
        MYSQL_TYPE_TINY => format!("TINYINT{sign}"),
        MYSQL_TYPE_SHORT => format!("SMALLINT{sign}"),
        MYSQL_TYPE_INT24 => format!("MEDIUMINT{sign}"),
        MYSQL_TYPE_LONG => format!("INT{sign}"),
        MYSQL_TYPE_LONGLONG => format!("BIGINT{sign}"),
        MYSQL_TYPE_NEWDECIMAL | MYSQL_TYPE_DECIMAL => {
            // The display length counts the point and the sign.
            let d = u32::from(c.decimals);
            let p = c
                .column_length
                .saturating_sub(u32::from(d > 0) + u32::from(!unsigned))
                .clamp(d.max(1), 65);
            format!("DECIMAL({p},{d}){sign}")
        }
        MYSQL_TYPE_FLOAT => format!("FLOAT{sign}"),
        MYSQL_TYPE_DOUBLE => format!("DOUBLE{sign}"),
        MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE => "DATE".into(),
        MYSQL_TYPE_DATETIME | MYSQL_TYPE_DATETIME2 => format!("DATETIME{}", frac(c.decimals)),
        MYSQL_TYPE_TIMESTAMP | MYSQL_TYPE_TIMESTAMP2 => {
            format!("TIMESTAMP{} NULL DEFAULT NULL", frac(c.decimals))
        }
        MYSQL_TYPE_TIME | MYSQL_TYPE_TIME2 => format!("TIME{}", frac(c.decimals)),
        MYSQL_TYPE_YEAR => "YEAR".into(),
        MYSQL_TYPE_BIT => format!("BIT({})", c.column_length.clamp(1, 64)),
        MYSQL_TYPE_NULL => "BINARY(0)".into(),
        MYSQL_TYPE_VAR_STRING | MYSQL_TYPE_VARCHAR | MYSQL_TYPE_STRING
            if c.column_length <= 65_532 =>
        {
            let fixed = c.column_type == MYSQL_TYPE_STRING
                && !c.flags.contains(ColumnFlags::ENUM_FLAG)
                && !c.flags.contains(ColumnFlags::SET_FLAG);
            match (binary, fixed) {
                (true, true) => format!("BINARY({})", c.column_length.min(255)),
                (true, false) => format!("VARBINARY({})", c.column_length),
                (false, true) if chars <= 255 => format!("CHAR({chars}){}", text_attrs()),
                (false, _) => format!("VARCHAR({chars}){}", text_attrs()),
            }
        }
        MYSQL_TYPE_VAR_STRING
        | MYSQL_TYPE_VARCHAR
        | MYSQL_TYPE_STRING
        | MYSQL_TYPE_TINY_BLOB
        | MYSQL_TYPE_BLOB
        | MYSQL_TYPE_MEDIUM_BLOB
        | MYSQL_TYPE_LONG_BLOB
        | MYSQL_TYPE_JSON => {
            let size = match c.column_length {
                0..=255 => "TINY",
                256..=65_535 => "",
                65_536..=16_777_215 => "MEDIUM",
                _ => "LONG",
            };
            if binary {
                format!("{size}BLOB")
            } else {
                format!("{size}TEXT{}", text_attrs())
            }
        }
        _ => return None,
    })
}
