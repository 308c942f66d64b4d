//! Table shapes and row values for the reshard job: a table's columns and primary key (from
//! `information_schema`), values as SQL literals, and values as sharding values. Pure.

use crate::rules::ShardValue;
use mysql_common::value::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// As the server spells it.
    pub name: String,
    pub lower: String,
    /// `information_schema.COLUMNS.DATA_TYPE`, lower case (`int`, `varchar`, `timestamp`...).
    pub data_type: String,
    pub unsigned: bool,
}

impl Column {
    pub fn new(name: &str, data_type: &str, column_type: &str) -> Column {
        Column {
            name: name.to_string(),
            lower: name.to_lowercase(),
            data_type: data_type.to_ascii_lowercase(),
            unsigned: column_type.to_ascii_lowercase().contains("unsigned"),
        }
    }

    /// Width in bits of an integer type.
    fn int_bits(&self) -> Option<u32> {
        Some(match self.data_type.as_str() {
            "tinyint" => 8,
            "smallint" => 16,
            "mediumint" => 24,
            "int" | "integer" => 32,
            "bigint" => 64,
            _ => return None,
        })
    }

    fn is_temporal(&self) -> bool {
        matches!(self.data_type.as_str(), "date" | "datetime" | "timestamp")
    }
}

/// A table's columns in order and the positions of its primary key columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    pub columns: Vec<Column>,
    pub pk: Vec<usize>,
}

impl Shape {
    pub fn column_list(&self) -> String {
        self.columns
            .iter()
            .map(|c| crate::plan::ship::quoted(&c.name))
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn pk_list(&self) -> String {
        self.pk
            .iter()
            .map(|&i| crate::plan::ship::quoted(&self.columns[i].name))
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn position(&self, lower: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.lower == lower)
    }

    /// `(a, b) > (x, y)` written out so that the server can use the primary key's range:
    /// `a > x OR (a = x AND b > y)`.
    pub fn after(&self, last: &[String]) -> String {
        let mut ors = Vec::new();
        for k in 0..self.pk.len() {
            let mut ands: Vec<String> = (0..k)
                .map(|j| format!("{} = {}", self.pk_name(j), last[j]))
                .collect();
            ands.push(format!("{} > {}", self.pk_name(k), last[k]));
            ors.push(format!("({})", ands.join(" AND ")));
        }
        ors.join(" OR ")
    }

    /// [`Shape::after`] with placeholders, and the parameters for a row's key values.
    pub fn after_params(&self, last: &[Value]) -> (String, Vec<Value>) {
        let marks = vec!["?".to_string(); self.pk.len()];
        let mut params = Vec::new();
        for k in 0..self.pk.len() {
            params.extend(last[..k].iter().cloned());
            params.push(last[k].clone());
        }
        (self.after(&marks), params)
    }

    /// Literals of a row that holds only the primary key columns (in key order).
    pub fn pk_literals(&self, cells: &[Value]) -> Vec<String> {
        cells
            .iter()
            .zip(&self.pk)
            .map(|(v, &ci)| literal(v, &self.columns[ci], false))
            .collect()
    }

    /// A row's primary key values.
    pub fn key_values(&self, row: &[Value]) -> Vec<Value> {
        self.pk.iter().map(|&i| row[i].clone()).collect()
    }

    /// `a = x AND b = y` for a row's primary key.
    pub fn key_match(&self, key: &[String]) -> String {
        (0..self.pk.len())
            .map(|j| format!("{} = {}", self.pk_name(j), key[j]))
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    fn pk_name(&self, j: usize) -> String {
        crate::plan::ship::quoted(&self.columns[self.pk[j]].name)
    }

    /// A row's primary key as literals.
    pub fn key_of(&self, row: &[Value], binlog: bool) -> Vec<String> {
        self.pk
            .iter()
            .map(|&i| literal(&row[i], &self.columns[i], binlog))
            .collect()
    }

    /// `(v1, v2, ...)` for an INSERT.
    pub fn tuple(&self, row: &[Value], binlog: bool) -> String {
        let cells: Vec<String> = row
            .iter()
            .zip(&self.columns)
            .map(|(v, c)| literal(v, c, binlog))
            .collect();
        format!("({})", cells.join(", "))
    }

    /// The sharding value of a column of a row (None: no such column).
    pub fn shard_value(&self, row: &[Value], lower: &str, binlog: bool) -> Option<ShardValue> {
        let i = self.position(lower)?;
        Some(shard_value(&row[i], &self.columns[i], binlog))
    }
}

/// A string literal, or a hex literal for bytes that are not UTF-8 (the job's sessions never
/// set NO_BACKSLASH_ESCAPES).
pub fn string_literal(b: &[u8]) -> String {
    crate::sql::literal::quote_bytes(b, false)
}

/// An integer the binlog wrote without its signedness (no full row metadata): back to the
/// unsigned value.
fn fix_unsigned(i: i64, col: &Column) -> i128 {
    match col.int_bits() {
        Some(bits) if col.unsigned && i < 0 => i as i128 + (1i128 << bits),
        _ => i as i128,
    }
}

fn be_uint(b: &[u8]) -> u128 {
    b.iter().fold(0u128, |a, x| (a << 8) | *x as u128)
}

fn le_uint(b: &[u8]) -> u128 {
    b.iter().rev().fold(0u128, |a, x| (a << 8) | *x as u128)
}

fn datetime_text(v: &Value, col: &Column) -> Option<String> {
    let Value::Date(y, mo, d, h, mi, s, us) = v else {
        return None;
    };
    if col.data_type == "date" {
        return Some(format!("{y:04}-{mo:02}-{d:02}"));
    }
    let mut t = format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}");
    if *us != 0 {
        t.push_str(&format!(".{us:06}"));
    }
    Some(t)
}

/// A value as a literal for `col`. `binlog`: the value comes from a binlog row image (where
/// TIMESTAMP is seconds since the epoch, SET a bit mask and unsigned integers may read as
/// negative).
pub fn literal(v: &Value, col: &Column, binlog: bool) -> String {
    match v {
        Value::NULL => "NULL".into(),
        Value::Int(i) => {
            if binlog && col.data_type == "timestamp" {
                return format!("FROM_UNIXTIME({i})");
            }
            fix_unsigned(*i, col).to_string()
        }
        Value::UInt(u) => u.to_string(),
        Value::Float(f) => format!("{f:?}"),
        Value::Double(f) => format!("{f:?}"),
        Value::Bytes(b) => {
            if col.data_type == "bit" {
                return be_uint(b).to_string();
            }
            if binlog && col.data_type == "set" {
                return le_uint(b).to_string();
            }
            if binlog && col.data_type == "timestamp" {
                return format!("FROM_UNIXTIME({})", string_literal(b));
            }
            string_literal(b)
        }
        Value::Date(..) => format!("'{}'", datetime_text(v, col).unwrap_or_default()),
        Value::Time(..) => crate::sql::literal::value_to_sql(
            v,
            mysql_common::constants::ColumnType::MYSQL_TYPE_TIME,
            false,
        ),
    }
}

/// A value as the router sees a literal of it.
pub fn shard_value(v: &Value, col: &Column, binlog: bool) -> ShardValue {
    match v {
        Value::NULL => ShardValue::Null,
        Value::Int(i) => ShardValue::Int(fix_unsigned(*i, col)),
        Value::UInt(u) => ShardValue::Int(*u as i128),
        Value::Float(f) => ShardValue::Float(*f as f64),
        Value::Double(f) => ShardValue::Float(*f),
        Value::Date(..) => ShardValue::DateTime(datetime_text(v, col).unwrap_or_default()),
        Value::Bytes(b) => {
            let text = String::from_utf8_lossy(b);
            if col.int_bits().is_some() || col.data_type == "year" {
                if let Ok(i) = text.trim().parse::<i128>() {
                    return ShardValue::Int(i);
                }
            }
            if matches!(col.data_type.as_str(), "decimal" | "numeric") {
                return crate::route::conditions::number(text.trim());
            }
            if col.is_temporal() && !(binlog && col.data_type == "timestamp") {
                return ShardValue::DateTime(text.into_owned());
            }
            ShardValue::Str(b.clone())
        }
        Value::Time(..) => ShardValue::Str(literal(v, col, binlog).trim_matches('\'').into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(t: &str, ct: &str) -> Column {
        Column::new("c", t, ct)
    }

    #[test]
    fn literals_by_type() {
        let cases: Vec<(Value, Column, bool, &str)> = vec![
            (Value::NULL, col("int", "int(11)"), false, "NULL"),
            (Value::Int(-5), col("int", "int(11)"), false, "-5"),
            (
                Value::Int(-1),
                col("int", "int(10) unsigned"),
                true,
                "4294967295",
            ),
            (
                Value::Int(-1),
                col("bigint", "bigint(20) unsigned"),
                true,
                "18446744073709551615",
            ),
            (
                Value::UInt(7),
                col("bigint", "bigint(20) unsigned"),
                false,
                "7",
            ),
            (Value::Double(0.1), col("double", "double"), false, "0.1"),
            (Value::Float(1.5), col("float", "float"), false, "1.5"),
            (
                Value::Bytes(b"12.50".to_vec()),
                col("decimal", "decimal(12,2)"),
                false,
                "'12.50'",
            ),
            (
                Value::Bytes(b"it's \\ \n".to_vec()),
                col("varchar", "varchar(9)"),
                false,
                "'it''s \\\\ \n'",
            ),
            (
                Value::Bytes(vec![0xff, 0x00]),
                col("varbinary", "varbinary(2)"),
                false,
                "X'FF00'",
            ),
            (
                Value::Bytes(vec![1, 2]),
                col("bit", "bit(10)"),
                false,
                "258",
            ),
            (
                Value::Bytes(vec![5, 0]),
                col("set", "set('a','b','c')"),
                true,
                "5",
            ),
            (
                Value::Bytes(b"a,c".to_vec()),
                col("set", "set('a','b','c')"),
                false,
                "'a,c'",
            ),
            (
                Value::Bytes(b"1700000000".to_vec()),
                col("timestamp", "timestamp"),
                true,
                "FROM_UNIXTIME('1700000000')",
            ),
            (
                Value::Date(2024, 1, 2, 3, 4, 5, 0),
                col("datetime", "datetime"),
                false,
                "'2024-01-02 03:04:05'",
            ),
            (
                Value::Date(2024, 1, 2, 3, 4, 5, 60),
                col("datetime", "datetime(6)"),
                false,
                "'2024-01-02 03:04:05.000060'",
            ),
            (
                Value::Date(2024, 1, 2, 0, 0, 0, 0),
                col("date", "date"),
                false,
                "'2024-01-02'",
            ),
            (
                Value::Time(true, 1, 2, 3, 4, 0),
                col("time", "time"),
                false,
                "'-26:03:04'",
            ),
        ];
        for (v, c, binlog, want) in cases {
            assert_eq!(literal(&v, &c, binlog), want, "{v:?} as {}", c.data_type);
        }
    }

    #[test]
    fn sharding_values_by_type() {
        let cases: Vec<(Value, Column, ShardValue)> = vec![
            (
                Value::Int(-1),
                col("int", "int unsigned"),
                ShardValue::Int(4294967295),
            ),
            (
                Value::Bytes(b"12.50".to_vec()),
                col("decimal", "decimal(12,2)"),
                ShardValue::Decimal("12.50".into()),
            ),
            (
                Value::Bytes(b"PAID".to_vec()),
                col("varchar", "varchar(9)"),
                ShardValue::str("PAID"),
            ),
            (
                Value::Date(2024, 1, 2, 0, 0, 0, 0),
                col("date", "date"),
                ShardValue::DateTime("2024-01-02".into()),
            ),
            (Value::NULL, col("int", "int"), ShardValue::Null),
        ];
        for (v, c, want) in cases {
            assert_eq!(shard_value(&v, &c, true), want, "{v:?}");
        }
    }

    #[test]
    fn key_ranges_for_composite_keys() {
        let shape = Shape {
            columns: vec![col("int", "int"), col("int", "int"), col("int", "int")]
                .into_iter()
                .enumerate()
                .map(|(i, mut c)| {
                    c.name = format!("k{i}");
                    c
                })
                .collect(),
            pk: vec![0, 2],
        };
        assert_eq!(
            shape.after(&["1".into(), "2".into()]),
            "(`k0` > 1) OR (`k0` = 1 AND `k2` > 2)"
        );
        assert_eq!(
            shape.key_match(&["1".into(), "2".into()]),
            "`k0` = 1 AND `k2` = 2"
        );
        assert_eq!(shape.pk_list(), "`k0`, `k2`");
        let (sql, params) = shape.after_params(&[Value::Int(1), Value::Int(2)]);
        assert_eq!(sql, "(`k0` > ?) OR (`k0` = ? AND `k2` > ?)");
        assert_eq!(params, [Value::Int(1), Value::Int(1), Value::Int(2)]);
    }
}
