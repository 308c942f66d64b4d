//! SQL values: decoding/encoding text-protocol cells, MySQL comparison,
//! grouping keys and truthiness.

use super::decimal::{Decimal, MAX_SCALE};
use super::num::{format_double, format_double_fixed, rint, str_to_decimal, str_to_f64};
use super::temporal;
use crate::collation::Collation;
use crate::result::ColumnDef;
use bytes::Bytes;
use mysql_common::constants::{ColumnFlags, ColumnType};
use std::cmp::Ordering;

/// A SQL value as the merge engine computes with it.
#[derive(Debug, Clone)]
pub enum Val {
    Null,
    Int(i64),
    UInt(u64),
    Dec(Decimal),
    Double(f64),
    /// A string with its collation id (45 = utf8mb4_general_ci, 63 = binary).
    Str(Bytes, u16),
    /// DATE / DATETIME / TIMESTAMP / TIME / YEAR as text, compared as temporal values.
    Temporal(Bytes, ColumnType),
}

/// Collation id of binary strings.
pub const BINARY: u16 = 63;
/// Collation of string literals (the connection collation).
pub const DEFAULT_COLLATION: u16 = 45;

fn is_int_type(t: ColumnType) -> bool {
    use ColumnType::*;
    matches!(
        t,
        MYSQL_TYPE_TINY
            | MYSQL_TYPE_SHORT
            | MYSQL_TYPE_LONG
            | MYSQL_TYPE_INT24
            | MYSQL_TYPE_LONGLONG
    )
}

fn is_temporal_type(t: ColumnType) -> bool {
    use ColumnType::*;
    matches!(
        t,
        MYSQL_TYPE_DATE
            | MYSQL_TYPE_NEWDATE
            | MYSQL_TYPE_DATETIME
            | MYSQL_TYPE_DATETIME2
            | MYSQL_TYPE_TIMESTAMP
            | MYSQL_TYPE_TIMESTAMP2
            | MYSQL_TYPE_TIME
            | MYSQL_TYPE_TIME2
            | MYSQL_TYPE_YEAR
    )
}

/// The collation two strings are compared with: binary wins, then one that is
/// not the connection default (a column's beats a literal's), else the left.
fn pair_collation(a: u16, b: u16) -> Collation {
    if a == BINARY || b == BINARY {
        Collation::Binary
    } else if a == DEFAULT_COLLATION {
        Collation::from_id_lossy(b)
    } else {
        Collation::from_id_lossy(a)
    }
}

fn f64_cmp(a: f64, b: f64) -> Ordering {
    a.partial_cmp(&b).unwrap_or(Ordering::Equal)
}

impl Val {
    /// Decodes a text-protocol cell using the column's definition.
    pub fn from_cell(col: &ColumnDef, cell: Option<&[u8]>) -> Val {
        use ColumnType::*;
        let Some(b) = cell else {
            return Val::Null;
        };
        let text = std::str::from_utf8(b).unwrap_or("");
        let t = col.column_type;
        let parsed = if is_int_type(t) {
            if col.flags.contains(ColumnFlags::UNSIGNED_FLAG) {
                text.parse().ok().map(Val::UInt)
            } else {
                text.parse().ok().map(Val::Int)
            }
            .or_else(|| Decimal::parse(text).map(Val::Dec))
        } else if matches!(t, MYSQL_TYPE_DECIMAL | MYSQL_TYPE_NEWDECIMAL) {
            Decimal::parse(text).map(Val::Dec)
        } else if matches!(t, MYSQL_TYPE_FLOAT | MYSQL_TYPE_DOUBLE) {
            None
        } else if is_temporal_type(t) {
            return Val::Temporal(Bytes::copy_from_slice(b), t);
        } else if t == MYSQL_TYPE_NULL {
            return Val::Null;
        } else if t == MYSQL_TYPE_BIT {
            return Val::Str(Bytes::copy_from_slice(b), BINARY);
        } else {
            return Val::Str(Bytes::copy_from_slice(b), col.charset);
        };
        // Numbers too large for us (or FLOAT/DOUBLE): as DOUBLE.
        parsed.unwrap_or_else(|| match text.trim().parse::<f64>() {
            Ok(x) if x.is_finite() => Val::Double(x),
            _ => Val::Str(Bytes::copy_from_slice(b), BINARY),
        })
    }

    /// Encodes as a text-protocol cell for a result column with definition `col`.
    pub fn to_cell(&self, col: &ColumnDef) -> Option<Bytes> {
        use ColumnType::*;
        let t = col.column_type;
        if self.is_null() || t == MYSQL_TYPE_NULL {
            return None;
        }
        let text = match t {
            MYSQL_TYPE_DECIMAL | MYSQL_TYPE_NEWDECIMAL => {
                let scale = col.decimals.min(MAX_SCALE);
                match self.to_decimal().map(|d| d.rescale(scale)) {
                    Some(Ok(d)) => pad_decimal(&d, usize::from(col.decimals)),
                    _ => format_double_fixed(self.to_f64()?, usize::from(col.decimals)),
                }
            }
            _ if is_int_type(t) => match self.to_numeric() {
                Val::Int(i) => i.to_string(),
                Val::UInt(u) => u.to_string(),
                Val::Dec(d) => d
                    .round(0)
                    .map(|d| d.to_string())
                    .unwrap_or_else(|_| d.to_string()),
                Val::Double(x) => format_double_fixed(rint(x), 0),
                _ => return self.to_text(),
            },
            MYSQL_TYPE_FLOAT | MYSQL_TYPE_DOUBLE => {
                let x = self.to_f64()?;
                if col.decimals >= 31 {
                    format_double(x)
                } else {
                    format_double_fixed(x, usize::from(col.decimals))
                }
            }
            _ => return self.to_text(),
        };
        Some(Bytes::from(text))
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Val::Null)
    }

    /// The value as a string (as CONCAT sees it); None for NULL.
    pub fn to_text(&self) -> Option<Bytes> {
        Some(match self {
            Val::Null => return None,
            Val::Int(i) => Bytes::from(i.to_string()),
            Val::UInt(u) => Bytes::from(u.to_string()),
            Val::Dec(d) => Bytes::from(d.to_string()),
            Val::Double(x) => Bytes::from(format_double(*x)),
            Val::Str(b, _) | Val::Temporal(b, _) => b.clone(),
        })
    }

    /// The value in numeric context: Null, Int, UInt, Dec or Double. Strings
    /// become DOUBLE (numeric prefix); temporals their number (20240105).
    pub fn to_numeric(&self) -> Val {
        match self {
            Val::Str(b, _) => Val::Double(str_to_f64(b)),
            Val::Temporal(b, _) => temporal::to_number(b),
            v => v.clone(),
        }
    }

    pub fn to_f64(&self) -> Option<f64> {
        Some(match self.to_numeric() {
            Val::Int(i) => i as f64,
            Val::UInt(u) => u as f64,
            Val::Dec(d) => d.to_f64(),
            Val::Double(x) => x,
            _ => return None,
        })
    }

    /// The value as DECIMAL (strings by their numeric prefix); None for NULL
    /// and numbers out of our range.
    pub fn to_decimal(&self) -> Option<Decimal> {
        match self {
            Val::Null => None,
            Val::Int(i) => Some(Decimal::from_i64(*i)),
            Val::UInt(u) => Some(Decimal::from_u64(*u)),
            Val::Dec(d) => Some(*d),
            Val::Double(x) => Decimal::from_f64(*x),
            Val::Str(b, _) => str_to_decimal(b),
            Val::Temporal(..) => self.to_numeric().to_decimal(),
        }
    }

    /// MySQL comparison; None when either side is NULL.
    pub fn compare(&self, other: &Val) -> Option<Ordering> {
        use Val::*;
        Some(match (self, other) {
            (Null, _) | (_, Null) => return None,
            (Str(a, ca), Str(b, cb)) => pair_collation(*ca, *cb).compare(a, b),
            (Temporal(a, ta), b) if *ta == ColumnType::MYSQL_TYPE_YEAR => {
                return temporal::to_number(a).compare(b)
            }
            (a, Temporal(b, tb)) if *tb == ColumnType::MYSQL_TYPE_YEAR => {
                return a.compare(&temporal::to_number(b))
            }
            (Temporal(a, ta), b) => return temporal::compare(a, *ta, b),
            (a, Temporal(b, tb)) => return temporal::compare(b, *tb, a).map(Ordering::reverse),
            // A string against a DECIMAL compares as DOUBLE, against an integer
            // as DECIMAL (MariaDB 10.11).
            (Double(_), _) | (_, Double(_)) | (Str(..), Dec(_)) | (Dec(_), Str(..)) => {
                f64_cmp(self.to_f64()?, other.to_f64()?)
            }
            _ => match (self.to_decimal(), other.to_decimal()) {
                (Some(a), Some(b)) => a.cmp_value(&b),
                _ => f64_cmp(self.to_f64()?, other.to_f64()?),
            },
        })
    }

    /// Appends a self-delimiting key: equal keys iff equal GROUP BY values.
    pub fn group_key(&self, out: &mut Vec<u8>) {
        let mut put = |tag: u8, body: &[u8]| {
            out.push(tag);
            out.extend_from_slice(&u32::try_from(body.len()).unwrap_or(u32::MAX).to_be_bytes());
            out.extend_from_slice(body);
        };
        match self {
            Val::Null => put(0, &[]),
            Val::Str(b, c) => put(3, &Collation::from_id_lossy(*c).sort_key(b)),
            Val::Temporal(b, t) if *t != ColumnType::MYSQL_TYPE_YEAR => {
                match temporal::key(b, *t) {
                    Some(k) => put(4, &k),
                    None => put(5, b),
                }
            }
            v => match v.to_numeric() {
                Val::Double(x) => match Decimal::from_f64(x) {
                    Some(d) => put(1, d.normalized().to_string().as_bytes()),
                    None => put(2, &(x + 0.0).to_bits().to_be_bytes()),
                },
                n => match n.to_decimal() {
                    Some(d) => put(1, d.normalized().to_string().as_bytes()),
                    None => put(6, &v.to_text().unwrap_or_default()),
                },
            },
        }
    }

    /// MySQL truthiness (WHERE/HAVING): None for NULL.
    pub fn truthy(&self) -> Option<bool> {
        Some(match self.to_numeric() {
            Val::Null => return None,
            Val::Int(i) => i != 0,
            Val::UInt(u) => u != 0,
            Val::Dec(d) => !d.is_zero(),
            Val::Double(x) => x != 0.0,
            _ => false,
        })
    }

    /// Int 1/0 for a boolean.
    pub fn bool(b: bool) -> Val {
        Val::Int(i64::from(b))
    }
}

/// A decimal with exactly `decimals` fraction digits (zeros appended past 38).
fn pad_decimal(d: &Decimal, decimals: usize) -> String {
    let s = d.to_string();
    let have = usize::from(d.scale);
    if decimals <= have {
        return s;
    }
    let dot = if have == 0 { "." } else { "" };
    format!("{s}{dot}{}", "0".repeat(decimals - have))
}
