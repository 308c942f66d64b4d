//! Comparison of text-protocol result cells by column type.
//!
//! Numbers, decimals and temporals are compared by value from their ASCII
//! text, never through floating point (except FLOAT/DOUBLE). A cell that does
//! not parse as its kind sorts after every one that does, and such cells
//! compare by bytes, so the order is total and never panics.
//!
//! Known deviations from MariaDB:
//! - ENUM/SET columns arrive as strings; MariaDB sorts ENUM by index (and SET
//!   by bit value), we can only sort them as text. A planner that needs the
//!   server's order must sort on a hidden `col+0` column instead.
//! - FLOAT/DOUBLE text is rounded by the server (FLOAT to ~6 digits), so two
//!   values equal in text may differ on the server.
//! - Text columns use the collation of the column definition, which is the
//!   connection's `character_set_results` collation (see the module docs of
//!   [`super`]).

use super::Collation;
use mysql_common::constants::{ColumnFlags, ColumnType};
use std::cmp::Ordering;

/// How to compare the cells of one result column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortKind {
    /// Signed integer types (any size; compared exactly as decimal text).
    Signed,
    /// Unsigned integer types and YEAR.
    Unsigned,
    /// DECIMAL/NEWDECIMAL: exact decimal comparison ("1.50" = "1.5").
    Decimal,
    /// FLOAT/DOUBLE: compared as f64 (-0 = 0).
    Float,
    /// DATE, DATETIME, TIMESTAMP, TIME (TIME may be negative or >99 hours).
    Temporal,
    /// Character strings in a collation.
    Text(Collation),
    /// Binary strings, BIT, GEOMETRY: plain byte order.
    Binary,
}

/// Chooses how to compare a column's text-protocol cells from its column
/// definition. Text columns whose collation id is not supported use
/// [`Collation::from_id_lossy`].
pub fn sort_kind(column_type: ColumnType, flags: ColumnFlags, charset: u16) -> SortKind {
    use ColumnType::*;
    match column_type {
        MYSQL_TYPE_TINY | MYSQL_TYPE_SHORT | MYSQL_TYPE_LONG | MYSQL_TYPE_INT24
        | MYSQL_TYPE_LONGLONG | MYSQL_TYPE_YEAR => {
            if flags.contains(ColumnFlags::UNSIGNED_FLAG) {
                SortKind::Unsigned
            } else {
                SortKind::Signed
            }
        }
        MYSQL_TYPE_DECIMAL | MYSQL_TYPE_NEWDECIMAL => SortKind::Decimal,
        MYSQL_TYPE_FLOAT | MYSQL_TYPE_DOUBLE => SortKind::Float,
        MYSQL_TYPE_DATE
        | MYSQL_TYPE_NEWDATE
        | MYSQL_TYPE_DATETIME
        | MYSQL_TYPE_DATETIME2
        | MYSQL_TYPE_TIMESTAMP
        | MYSQL_TYPE_TIMESTAMP2
        | MYSQL_TYPE_TIME
        | MYSQL_TYPE_TIME2 => SortKind::Temporal,
        MYSQL_TYPE_BIT | MYSQL_TYPE_GEOMETRY | MYSQL_TYPE_NULL => SortKind::Binary,
        // VARCHAR, VAR_STRING, STRING, ENUM, SET, *BLOB, JSON, ...
        _ if charset == 63 => SortKind::Binary,
        _ => SortKind::Text(Collation::from_id_lossy(charset)),
    }
}

/// Compares two cells (`None` = SQL NULL). NULL sorts first (smallest), as
/// MariaDB does for ASC; two NULLs are equal.
pub fn compare_cells(kind: &SortKind, a: Option<&[u8]>, b: Option<&[u8]>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(a), Some(b)) => compare_values(kind, a, b),
    }
}

fn compare_values(kind: &SortKind, a: &[u8], b: &[u8]) -> Ordering {
    match kind {
        SortKind::Signed | SortKind::Unsigned | SortKind::Decimal => {
            by_parsed(a, b, parse_decimal, Decimal::cmp)
        }
        SortKind::Float => by_parsed(a, b, parse_float, |x, y| {
            x.partial_cmp(y).unwrap_or(Ordering::Equal)
        }),
        SortKind::Temporal => by_parsed(a, b, parse_temporal, Temporal::cmp),
        SortKind::Text(c) => c.compare(a, b),
        SortKind::Binary => a.cmp(b),
    }
}

/// A canonical key of a cell for hash-grouping and hashing: `cell_key(a) ==
/// cell_key(b)` iff `compare_cells(a, b) == Equal` (NULLs equal each other).
/// The key's byte order follows [`compare_cells`] for Text and Binary only.
pub fn cell_key(kind: &SortKind, cell: Option<&[u8]>) -> Vec<u8> {
    let Some(v) = cell else {
        return vec![0];
    };
    let mut key = vec![1];
    let canonical = match kind {
        SortKind::Text(c) => Some(c.sort_key(v)),
        SortKind::Binary => Some(v.to_vec()),
        SortKind::Signed | SortKind::Unsigned | SortKind::Decimal => parse_decimal(v).map(|d| {
            let sign: &[u8] = if d.neg { b"-" } else { b"" };
            [sign, d.int, b".", d.frac].concat()
        }),
        SortKind::Float => parse_float(v).map(|f| (f + 0.0).to_bits().to_be_bytes().to_vec()),
        SortKind::Temporal => parse_temporal(v).map(|t| {
            let mut k = vec![u8::from(t.neg)];
            t.fields
                .iter()
                .for_each(|f| k.extend_from_slice(&f.to_be_bytes()));
            k.extend_from_slice(t.frac);
            k
        }),
    };
    match canonical {
        Some(c) => key.extend_from_slice(&c),
        None => {
            key.push(0xFF);
            key.extend_from_slice(v);
        }
    }
    key
}

/// Compares parsed values; unparsable cells sort after parsable ones.
fn by_parsed<'a, T>(
    a: &'a [u8],
    b: &'a [u8],
    parse: impl Fn(&'a [u8]) -> Option<T>,
    cmp: impl Fn(&T, &T) -> Ordering,
) -> Ordering {
    match (parse(a), parse(b)) {
        (Some(x), Some(y)) => cmp(&x, &y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

fn all_digits(s: &[u8]) -> bool {
    s.iter().all(u8::is_ascii_digit)
}

fn trim_leading_zeros(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|b| **b == b'0').count();
    s.get(n..).unwrap_or_default()
}

fn trim_trailing_zeros(s: &[u8]) -> &[u8] {
    let n = s.iter().rev().take_while(|b| **b == b'0').count();
    s.get(..s.len() - n).unwrap_or_default()
}

/// A decimal number: sign, integer digits without leading zeros, fraction
/// digits without trailing zeros. Zero is never negative.
struct Decimal<'a> {
    neg: bool,
    int: &'a [u8],
    frac: &'a [u8],
}

impl Decimal<'_> {
    fn cmp_magnitude(&self, other: &Self) -> Ordering {
        (self.int.len().cmp(&other.int.len()))
            .then_with(|| self.int.cmp(other.int))
            .then_with(|| self.frac.cmp(other.frac))
    }

    fn cmp(&self, other: &Self) -> Ordering {
        match (self.neg, other.neg) {
            (false, false) => self.cmp_magnitude(other),
            (true, true) => other.cmp_magnitude(self),
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
        }
    }
}

/// Parses `[+-]digits[.digits]` (at least one digit).
fn parse_decimal(s: &[u8]) -> Option<Decimal<'_>> {
    let (neg, rest) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, s),
    };
    let (int, frac) = match rest.iter().position(|b| *b == b'.') {
        Some(dot) => (rest.get(..dot)?, rest.get(dot + 1..)?),
        None => (rest, &[][..]),
    };
    if (int.is_empty() && frac.is_empty()) || !all_digits(int) || !all_digits(frac) {
        return None;
    }
    let (int, frac) = (trim_leading_zeros(int), trim_trailing_zeros(frac));
    let neg = neg && !(int.is_empty() && frac.is_empty());
    Some(Decimal { neg, int, frac })
}

/// Parses a FLOAT/DOUBLE text ("1.5e20", "-0", "inf"); NaN is rejected.
fn parse_float(s: &[u8]) -> Option<f64> {
    let f: f64 = std::str::from_utf8(s).ok()?.trim().parse().ok()?;
    (!f.is_nan()).then_some(f)
}

/// A temporal value: sign (TIME only), up to 6 numeric fields
/// (year, month, day, hour, minute, second or hours, minutes, seconds) and
/// fraction digits without trailing zeros. Zero is never negative.
struct Temporal<'a> {
    neg: bool,
    fields: [u64; 6],
    frac: &'a [u8],
}

impl Temporal<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        let magnitude = |a: &Self, b: &Self| a.fields.cmp(&b.fields).then(a.frac.cmp(b.frac));
        match (self.neg, other.neg) {
            (false, false) => magnitude(self, other),
            (true, true) => magnitude(other, self),
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
        }
    }
}

/// Parses `[-]d+([-: T]d+)*[.d+]`: "2024-01-31", "2024-01-31 23:59:59.5",
/// "-838:59:59", "100:00:00.000001".
fn parse_temporal(s: &[u8]) -> Option<Temporal<'_>> {
    let (neg, mut rest) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    let mut fields = [0u64; 6];
    let mut frac: &[u8] = &[];
    for field in fields.iter_mut() {
        let n = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 || n > 18 {
            return None;
        }
        let (digits, tail) = rest.split_at(n);
        *field = digits
            .iter()
            .fold(0, |acc, d| acc * 10 + u64::from(d - b'0'));
        rest = match tail.split_first() {
            None => &[],
            Some((b'.', f)) if !f.is_empty() && all_digits(f) => {
                frac = trim_trailing_zeros(f);
                &[]
            }
            Some((b'-' | b':' | b' ' | b'T', tail)) => tail,
            Some(_) => return None,
        };
        if rest.is_empty() {
            let zero = fields.iter().all(|f| *f == 0) && frac.is_empty();
            return Some(Temporal {
                neg: neg && !zero,
                fields,
                frac,
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::{Equal, Greater, Less};

    fn cmp(kind: SortKind, a: &str, b: &str) -> Ordering {
        compare_cells(&kind, Some(a.as_bytes()), Some(b.as_bytes()))
    }

    #[test]
    fn numbers_and_temporals() {
        let gci = SortKind::Text(Collation::Utf8mb4GeneralCi);
        #[rustfmt::skip]
        let cases: &[(SortKind, &str, &str, Ordering)] = &[
            (SortKind::Signed, "-5", "3", Less),
            (SortKind::Signed, "3", "10", Less),
            (SortKind::Signed, "-10", "-9", Less),
            (SortKind::Signed, "-0", "0", Equal),
            (SortKind::Signed, "007", "7", Equal),
            (SortKind::Signed, "-9223372036854775808", "9223372036854775807", Less),
            (SortKind::Unsigned, "18446744073709551615", "0", Greater),
            (SortKind::Unsigned, "18446744073709551615", "18446744073709551614", Greater),
            (SortKind::Decimal, "10.5", "9.75", Greater),
            (SortKind::Decimal, "-0.5", "0", Less),
            (SortKind::Decimal, "-12.50", "-12.5", Equal),
            (SortKind::Decimal, "3", "3.000", Equal),
            (SortKind::Decimal, "0.001", "0.01", Less),
            (SortKind::Decimal, "-0.001", "-0.01", Greater),
            (SortKind::Decimal, "-0.00", "0", Equal),
            (SortKind::Decimal, "123456789012345678901234567890.5", "123456789012345678901234567890.49", Greater),
            (SortKind::Decimal, ".5", "0.5", Equal),
            (SortKind::Decimal, "abc", "99999", Greater),
            (SortKind::Decimal, "abc", "abd", Less),
            (SortKind::Float, "1e20", "99999999", Greater),
            (SortKind::Float, "-0", "0", Equal),
            (SortKind::Float, "1.5e20", "1.5E+20", Equal),
            (SortKind::Float, "-inf", "-1e308", Less),
            (SortKind::Float, "2.5", "10", Less),
            (SortKind::Temporal, "-01:00:00", "00:00:00", Less),
            (SortKind::Temporal, "00:00:00", "100:00:00", Less),
            (SortKind::Temporal, "99:59:59", "100:00:00", Less),
            (SortKind::Temporal, "-838:59:59", "-01:00:00", Less),
            (SortKind::Temporal, "-00:00:00.5", "00:00:00", Less),
            (SortKind::Temporal, "-00:00:00", "00:00:00", Equal),
            (SortKind::Temporal, "12:00:00.5", "12:00:00.50", Equal),
            (SortKind::Temporal, "12:00:00.05", "12:00:00.5", Less),
            (SortKind::Temporal, "2024-01-31", "2024-02-01", Less),
            (SortKind::Temporal, "2024-01-31 23:59:59", "2024-02-01 00:00:00", Less),
            (SortKind::Temporal, "0000-00-00 00:00:00", "1000-01-01 00:00:00", Less),
            (SortKind::Temporal, "2024-01-31", "2024-01-31 00:00:00", Equal),
            (SortKind::Temporal, "garbage", "2024-01-31", Greater),
            (SortKind::Binary, "a", "B", Greater),
            (SortKind::Binary, "a", "a ", Less),
            (gci, "alice", "Bob", Less),
            (gci, "PAID", "paid ", Equal),
        ];
        for (kind, a, b, want) in cases {
            assert_eq!(cmp(*kind, a, b), *want, "{kind:?}: {a:?} vs {b:?}");
            assert_eq!(cmp(*kind, b, a), want.reverse(), "{kind:?}: {b:?} vs {a:?}");
            let (ka, kb) = (
                cell_key(kind, Some(a.as_bytes())),
                cell_key(kind, Some(b.as_bytes())),
            );
            assert_eq!(
                ka == kb,
                *want == Equal,
                "cell_key {kind:?}: {a:?} vs {b:?}"
            );
        }
    }

    #[test]
    fn nulls_sort_first() {
        for kind in [
            SortKind::Signed,
            SortKind::Text(Collation::Utf8mb4Bin),
            SortKind::Binary,
        ] {
            assert_eq!(compare_cells(&kind, None, None), Equal);
            assert_eq!(compare_cells(&kind, None, Some(b"")), Less);
            assert_eq!(compare_cells(&kind, Some(b"-999"), None), Greater);
            assert_eq!(cell_key(&kind, None), cell_key(&kind, None));
            assert_ne!(cell_key(&kind, None), cell_key(&kind, Some(b"")));
        }
    }

    #[test]
    fn kinds_from_column_definitions() {
        use ColumnType::*;
        let none = ColumnFlags::empty();
        let unsigned = ColumnFlags::UNSIGNED_FLAG;
        let binary = ColumnFlags::BINARY_FLAG;
        let gci = SortKind::Text(Collation::Utf8mb4GeneralCi);
        #[rustfmt::skip]
        let cases: &[(ColumnType, ColumnFlags, u16, SortKind)] = &[
            (MYSQL_TYPE_LONG, none, 63, SortKind::Signed),
            (MYSQL_TYPE_LONGLONG, unsigned, 63, SortKind::Unsigned),
            (MYSQL_TYPE_YEAR, unsigned, 63, SortKind::Unsigned),
            (MYSQL_TYPE_NEWDECIMAL, none, 63, SortKind::Decimal),
            (MYSQL_TYPE_DOUBLE, none, 63, SortKind::Float),
            (MYSQL_TYPE_TIME, binary, 63, SortKind::Temporal),
            (MYSQL_TYPE_DATETIME, binary, 63, SortKind::Temporal),
            (MYSQL_TYPE_BIT, unsigned, 63, SortKind::Binary),
            (MYSQL_TYPE_VAR_STRING, none, 45, gci),
            (MYSQL_TYPE_VAR_STRING, binary, 63, SortKind::Binary),
            (MYSQL_TYPE_BLOB, binary, 45, gci), // MariaDB JSON: BLOB + BINARY flag, charset 45
            (MYSQL_TYPE_STRING, ColumnFlags::ENUM_FLAG, 45, gci),
            (MYSQL_TYPE_VAR_STRING, none, 46, SortKind::Text(Collation::Utf8mb4Bin)),
            (MYSQL_TYPE_VAR_STRING, none, 8, SortKind::Text(Collation::Latin1SwedishCi)),
            (MYSQL_TYPE_VAR_STRING, none, 232, SortKind::Text(Collation::Utf8mb4UnicodeCi)),
            (MYSQL_TYPE_VAR_STRING, none, 9999, gci),
        ];
        for (ty, flags, cs, want) in cases {
            assert_eq!(sort_kind(*ty, *flags, *cs), *want, "{ty:?} {flags:?} {cs}");
        }
    }
}
