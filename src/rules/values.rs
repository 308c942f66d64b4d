//! Values of sharding columns as the router extracts them from predicates, and their
//! canonical numeric / hash forms.

use std::fmt;
use std::ops::Bound;

use super::datetime;

/// One value compared with a sharding column.
#[derive(Debug, Clone, PartialEq)]
pub enum ShardValue {
    /// Integer literal (also a string literal compared with an integer column).
    Int(i128),
    /// Exact decimal literal as text, e.g. `"12.50"`, `"-0.5"`.
    Decimal(String),
    /// String literal (raw bytes in the connection character set, utf8mb4).
    Str(Vec<u8>),
    /// Approximate number.
    Float(f64),
    /// `"YYYY-MM-DD HH:MM:SS[.ffffff]"` or `"YYYY-MM-DD"`.
    DateTime(String),
    /// SQL NULL (`col = NULL` matches nothing).
    Null,
}

impl ShardValue {
    /// Convenience: a string value.
    pub fn str(s: &str) -> ShardValue {
        ShardValue::Str(s.as_bytes().to_vec())
    }
}

impl fmt::Display for ShardValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShardValue::Int(i) => write!(f, "{i}"),
            ShardValue::Decimal(d) => write!(f, "{d}"),
            ShardValue::Str(s) => write!(f, "'{}'", String::from_utf8_lossy(s)),
            ShardValue::Float(x) => write!(f, "{x:?}"),
            ShardValue::DateTime(d) => write!(f, "'{d}'"),
            ShardValue::Null => write!(f, "NULL"),
        }
    }
}

/// The set of values a predicate allows for one sharding column.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// Unconstrained.
    Any,
    /// `col = v` / `col IN (...)`. An empty list matches nothing.
    List(Vec<ShardValue>),
    /// `col > a AND col <= b`, `BETWEEN`, ...
    Range {
        lower: Bound<ShardValue>,
        upper: Bound<ShardValue>,
    },
    /// OR of the members.
    Union(Vec<Values>),
}

impl Values {
    /// `col = v`.
    pub fn eq(v: ShardValue) -> Values {
        Values::List(vec![v])
    }

    /// `col BETWEEN lo AND hi` (both inclusive).
    pub fn between(lo: ShardValue, hi: ShardValue) -> Values {
        Values::Range {
            lower: Bound::Included(lo),
            upper: Bound::Included(hi),
        }
    }
}

/// A real number reduced to what integer-boundary algorithms need: `floor` and whether
/// there is a fractional part (`x = floor + f`, `0 <= f < 1`, `frac` iff `f > 0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Num {
    pub floor: i128,
    pub frac: bool,
}

impl Num {
    /// The integer value, if integral.
    pub fn as_int(self) -> Option<i128> {
        if self.frac {
            None
        } else {
            Some(self.floor)
        }
    }

    /// `b <= x`
    pub fn ge_int(self, b: i128) -> bool {
        b <= self.floor
    }

    /// `b < x`
    pub fn gt_int(self, b: i128) -> bool {
        b < self.floor || (b == self.floor && self.frac)
    }
}

/// Numeric view of a value. `None` for NULL, datetimes, non-numeric strings, NaN/inf and
/// numbers too large for i128 — callers then fall back to "all targets" (or none for NULL).
pub(crate) fn to_num(v: &ShardValue) -> Option<Num> {
    match v {
        ShardValue::Int(i) => Some(Num {
            floor: *i,
            frac: false,
        }),
        ShardValue::Decimal(d) => parse_decimal_num(d),
        ShardValue::Str(s) => {
            let text = std::str::from_utf8(s).ok()?;
            parse_decimal_num(text.trim())
        }
        ShardValue::Float(x) => float_num(*x),
        ShardValue::DateTime(_) | ShardValue::Null => None,
    }
}

fn float_num(x: f64) -> Option<Num> {
    if !x.is_finite() || x.abs() > 1e30 {
        return None;
    }
    let fl = x.floor();
    Some(Num {
        floor: fl as i128,
        frac: fl != x,
    })
}

/// A decimal literal split into sign, integer digits and fraction digits, normalised:
/// no leading zeros in the integer part (empty = 0), no trailing zeros in the fraction.
struct DecimalParts<'a> {
    negative: bool,
    int: &'a str,
    frac: &'a str,
}

fn split_decimal(text: &str) -> Option<DecimalParts<'_>> {
    let (negative, rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (int, frac) = match rest.split_once('.') {
        Some((i, f)) => (i, f),
        None => (rest, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    let negative = negative && !(int.is_empty() && frac.is_empty());
    Some(DecimalParts {
        negative,
        int,
        frac,
    })
}

fn parse_decimal_num(text: &str) -> Option<Num> {
    let p = split_decimal(text)?;
    let magnitude: i128 = if p.int.is_empty() {
        0
    } else {
        p.int.parse().ok()?
    };
    let frac = !p.frac.is_empty();
    let floor = match (p.negative, frac) {
        (false, _) => magnitude,
        (true, false) => -magnitude,
        (true, true) => -magnitude - 1,
    };
    Some(Num { floor, frac })
}

/// Normalised decimal text: `"+007.50"` → `"7.5"`, `"-0.00"` → `"0"`.
pub(crate) fn normalize_decimal(text: &str) -> Option<String> {
    let p = split_decimal(text.trim())?;
    let mut out = String::new();
    if p.negative {
        out.push('-');
    }
    out.push_str(if p.int.is_empty() { "0" } else { p.int });
    if !p.frac.is_empty() {
        out.push('.');
        out.push_str(p.frac);
    }
    Some(out)
}

/// Canonical bytes a value hashes as (see `docs/rules.md`).
pub(crate) enum Canonical {
    /// NULL: matches no shard.
    Null,
    /// Cannot be canonicalised (NaN, malformed decimal, ...): route to all targets.
    Unknown,
    Bytes(Vec<u8>),
}

fn int_bytes(i: i128) -> Vec<u8> {
    if let Ok(v) = i64::try_from(i) {
        v.to_le_bytes().to_vec()
    } else if let Ok(v) = u64::try_from(i) {
        // BIGINT UNSIGNED above i64::MAX
        v.to_le_bytes().to_vec()
    } else {
        i.to_le_bytes().to_vec()
    }
}

fn decimal_bytes(text: &str) -> Canonical {
    match normalize_decimal(text) {
        Some(norm) => match norm.parse::<i128>() {
            Ok(i) => Canonical::Bytes(int_bytes(i)),
            Err(_) => Canonical::Bytes(norm.into_bytes()),
        },
        None => Canonical::Unknown,
    }
}

/// The canonical encoding: integers (and integral decimals/floats) as 8-byte little-endian
/// i64; other decimals as normalised text; strings as the collation's sort key; datetimes as
/// normalised text `YYYY-MM-DD HH:MM:SS[.ffffff]` (trailing fraction zeros removed).
pub(crate) fn canonical(v: &ShardValue, collation: &str) -> Canonical {
    match v {
        ShardValue::Null => Canonical::Null,
        ShardValue::Int(i) => Canonical::Bytes(int_bytes(*i)),
        ShardValue::Decimal(d) => decimal_bytes(d),
        ShardValue::Float(x) => {
            if !x.is_finite() {
                Canonical::Unknown
            } else if x.fract() == 0.0 && x.abs() < 1e30 {
                Canonical::Bytes(int_bytes(*x as i128))
            } else {
                decimal_bytes(&format!("{x}"))
            }
        }
        ShardValue::Str(s) => match crate::collation::Collation::from_name(collation) {
            Some(c) => Canonical::Bytes(c.sort_key(s)),
            None => Canonical::Unknown,
        },
        ShardValue::DateTime(d) => match datetime::parse(d) {
            Some(micros) => Canonical::Bytes(datetime::format(micros).into_bytes()),
            None => Canonical::Unknown,
        },
    }
}

/// CRC32 (IEEE) of the canonical encoding of `value`; `None` for NULL or values that cannot
/// be canonicalised (NaN, malformed decimal/datetime, unknown collation).
pub fn shard_hash(value: &ShardValue, collation: &str) -> Option<u32> {
    match canonical(value, collation) {
        Canonical::Bytes(b) => Some(crc32fast::hash(&b)),
        Canonical::Null | Canonical::Unknown => None,
    }
}
