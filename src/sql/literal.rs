//! Rendering values as SQL literals (prepared-statement parameters spliced into SQL text).

use mysql_common::constants::ColumnType;
use mysql_common::value::Value;
use std::fmt::Write;

/// Quote bytes as a string literal; bytes that are not UTF-8 become a hex literal.
pub fn quote_bytes(b: &[u8], no_backslash_escapes: bool) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => quote_str(s, no_backslash_escapes),
        Err(_) => {
            let mut out = String::with_capacity(3 + b.len() * 2);
            out.push_str("X'");
            for byte in b {
                let _ = write!(out, "{byte:02X}");
            }
            out.push('\'');
            out
        }
    }
}

pub fn quote_str(s: &str, no_backslash_escapes: bool) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' if !no_backslash_escapes => out.push_str("\\\\"),
            '\0' if !no_backslash_escapes => out.push_str("\\0"),
            '\x1a' if !no_backslash_escapes => out.push_str("\\Z"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// A parameter value as SQL. `ty` is the type the client declared for the parameter.
pub fn value_to_sql(v: &Value, ty: ColumnType, no_backslash_escapes: bool) -> String {
    match v {
        Value::NULL => "NULL".to_string(),
        Value::Bytes(b) => quote_bytes(b, no_backslash_escapes),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Float(f) => float_sql(*f as f64, Some(*f)),
        Value::Double(d) => float_sql(*d, None),
        Value::Date(y, mo, d, h, mi, s, us) => {
            if ty == ColumnType::MYSQL_TYPE_DATE
                || (*h == 0
                    && *mi == 0
                    && *s == 0
                    && *us == 0
                    && ty != ColumnType::MYSQL_TYPE_DATETIME
                    && ty != ColumnType::MYSQL_TYPE_TIMESTAMP)
            {
                format!("'{y:04}-{mo:02}-{d:02}'")
            } else if *us == 0 {
                format!("'{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}'")
            } else {
                format!("'{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{us:06}'")
            }
        }
        Value::Time(neg, days, h, mi, s, us) => {
            let hours = *days as u64 * 24 + *h as u64;
            let sign = if *neg { "-" } else { "" };
            if *us == 0 {
                format!("'{sign}{hours:02}:{mi:02}:{s:02}'")
            } else {
                format!("'{sign}{hours:02}:{mi:02}:{s:02}.{us:06}'")
            }
        }
    }
}

fn float_sql(d: f64, single: Option<f32>) -> String {
    if !d.is_finite() {
        return "NULL".to_string();
    }
    // Shortest round-trip digits in exponent form: `1.25e0` is a DOUBLE literal in MySQL
    // (plain `1.25` would be DECIMAL and change the result type).
    match single {
        Some(f) => format!("{f:e}"),
        None => format!("{d:e}"),
    }
}

/// Every cell of a text row as a literal of its column's type.
pub fn row_literals(
    cols: &[crate::result::ColumnDef],
    row: &crate::result::Row,
    nbe: bool,
) -> Vec<String> {
    cols.iter()
        .enumerate()
        .map(|(i, c)| cell_literal(c, row.get(i).and_then(|x| x.as_deref()), nbe))
        .collect()
}

/// `(n)` for 1..=6 fractional digits.
fn fraction(decimals: u8) -> String {
    match decimals {
        1..=6 => format!("({decimals})"),
        _ => String::new(),
    }
}

/// A value as MariaDB reported it in a text result (a user variable, a subquery's cell) as an
/// SQL literal of the same type.
pub fn cell_literal(col: &crate::result::ColumnDef, cell: Option<&[u8]>, nbe: bool) -> String {
    let Some(v) = cell else {
        return "NULL".to_string();
    };
    let text = String::from_utf8_lossy(v);
    match col.column_type {
        ColumnType::MYSQL_TYPE_TINY
        | ColumnType::MYSQL_TYPE_SHORT
        | ColumnType::MYSQL_TYPE_LONG
        | ColumnType::MYSQL_TYPE_INT24
        | ColumnType::MYSQL_TYPE_LONGLONG
        | ColumnType::MYSQL_TYPE_NEWDECIMAL
        | ColumnType::MYSQL_TYPE_DECIMAL => text.into_owned(),
        ColumnType::MYSQL_TYPE_DOUBLE | ColumnType::MYSQL_TYPE_FLOAT => {
            if text.contains(['e', 'E']) {
                text.into_owned()
            } else {
                format!("{text}e0")
            }
        }
        // Temporal values stay temporal (a string compares with a string column as text, a
        // DATETIME converts it), with their fractional digits.
        ColumnType::MYSQL_TYPE_DATE | ColumnType::MYSQL_TYPE_NEWDATE => {
            format!("CAST({} AS DATE)", quote_str(&text, nbe))
        }
        ColumnType::MYSQL_TYPE_DATETIME
        | ColumnType::MYSQL_TYPE_TIMESTAMP
        | ColumnType::MYSQL_TYPE_DATETIME2
        | ColumnType::MYSQL_TYPE_TIMESTAMP2 => format!(
            "CAST({} AS DATETIME{})",
            quote_str(&text, nbe),
            fraction(col.decimals)
        ),
        ColumnType::MYSQL_TYPE_TIME | ColumnType::MYSQL_TYPE_TIME2 => format!(
            "CAST({} AS TIME{})",
            quote_str(&text, nbe),
            fraction(col.decimals)
        ),
        ColumnType::MYSQL_TYPE_YEAR => text.into_owned(),
        // A binary string stays binary (and a string in numeric context), unlike bare X''.
        _ if col.charset == 63 => {
            let hex: String = v.iter().map(|b| format!("{b:02X}")).collect();
            format!("_binary X'{hex}'")
        }
        _ => quote_str(&text, nbe),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals() {
        let t = ColumnType::MYSQL_TYPE_VAR_STRING;
        let cases: Vec<(Value, ColumnType, bool, &str)> = vec![
            (Value::NULL, t, false, "NULL"),
            (Value::Int(-5), t, false, "-5"),
            (Value::UInt(u64::MAX), t, false, "18446744073709551615"),
            (
                Value::Bytes(b"it's \\ ok".to_vec()),
                t,
                false,
                "'it''s \\\\ ok'",
            ),
            (
                Value::Bytes(b"it's \\ ok".to_vec()),
                t,
                true,
                "'it''s \\ ok'",
            ),
            (
                Value::Bytes(vec![0xff, 0x00]),
                ColumnType::MYSQL_TYPE_BLOB,
                false,
                "X'FF00'",
            ),
            (
                Value::Bytes("Émile".as_bytes().to_vec()),
                t,
                false,
                "'Émile'",
            ),
            (Value::Double(0.1), t, false, "1e-1"),
            (Value::Double(1.25), t, false, "1.25e0"),
            (Value::Float(1.5), t, false, "1.5e0"),
            (
                Value::Date(2026, 1, 2, 3, 4, 5, 0),
                ColumnType::MYSQL_TYPE_DATETIME,
                false,
                "'2026-01-02 03:04:05'",
            ),
            (
                Value::Date(2026, 1, 2, 0, 0, 0, 0),
                ColumnType::MYSQL_TYPE_DATE,
                false,
                "'2026-01-02'",
            ),
            (
                Value::Date(2026, 1, 2, 3, 4, 5, 7),
                ColumnType::MYSQL_TYPE_DATETIME,
                false,
                "'2026-01-02 03:04:05.000007'",
            ),
            (
                Value::Time(true, 1, 2, 3, 4, 0),
                ColumnType::MYSQL_TYPE_TIME,
                false,
                "'-26:03:04'",
            ),
        ];
        for (v, ty, nbe, want) in cases {
            assert_eq!(value_to_sql(&v, ty, nbe), want, "{v:?}");
        }
    }
}

#[cfg(test)]
mod cell_tests {
    use super::*;

    #[test]
    fn cells_keep_their_type() {
        let col = |ty: ColumnType, decimals: u8, charset: u16| {
            let mut c = crate::result::ColumnDef::text("x");
            c.column_type = ty;
            c.decimals = decimals;
            c.charset = charset;
            c
        };
        let cases: &[(ColumnType, u8, u16, Option<&[u8]>, &str)] = &[
            (ColumnType::MYSQL_TYPE_LONGLONG, 0, 63, Some(b"-7"), "-7"),
            (
                ColumnType::MYSQL_TYPE_NEWDECIMAL,
                2,
                63,
                Some(b"1.50"),
                "1.50",
            ),
            (ColumnType::MYSQL_TYPE_DOUBLE, 31, 63, Some(b"1.5"), "1.5e0"),
            (
                ColumnType::MYSQL_TYPE_DATETIME,
                0,
                63,
                Some(b"2026-01-02 03:04:05"),
                "CAST('2026-01-02 03:04:05' AS DATETIME)",
            ),
            (
                ColumnType::MYSQL_TYPE_DATETIME,
                3,
                63,
                Some(b"2026-01-02 03:04:05.120"),
                "CAST('2026-01-02 03:04:05.120' AS DATETIME(3))",
            ),
            (
                ColumnType::MYSQL_TYPE_DATE,
                0,
                63,
                Some(b"0000-00-00"),
                "CAST('0000-00-00' AS DATE)",
            ),
            (
                ColumnType::MYSQL_TYPE_TIME,
                0,
                63,
                Some(b"-838:59:59"),
                "CAST('-838:59:59' AS TIME)",
            ),
            (
                ColumnType::MYSQL_TYPE_VAR_STRING,
                0,
                45,
                Some(b"it's"),
                "'it''s'",
            ),
            (
                ColumnType::MYSQL_TYPE_VAR_STRING,
                0,
                63,
                Some(b"\x00\xff"),
                "_binary X'00FF'",
            ),
            (ColumnType::MYSQL_TYPE_LONG, 0, 63, None, "NULL"),
        ];
        for (ty, dec, cs, cell, want) in cases {
            assert_eq!(
                cell_literal(&col(*ty, *dec, *cs), *cell, false),
                *want,
                "{ty:?}"
            );
        }
    }
}
