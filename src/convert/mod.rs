//! Values of sharding columns converted exactly as MariaDB converts them — the one place
//! the router learns what a literal *is* in a column:
//!
//! - [`store`]: the value MariaDB stores when the literal is written into the column
//!   (INSERT / REPLACE): integers rounded half away from zero from decimals and strings,
//!   half to even from doubles, clamped to the type's range; DECIMAL rounded to its scale;
//!   strings from numbers as MariaDB prints them; temporal values from every literal form
//!   MariaDB reads, their fractions truncated to the column's precision (or rounded under
//!   sql_mode TIME_ROUND_FRACTIONAL), TIMESTAMPs in UTC from the session's time zone;
//! - [`compare`]: what `column = literal` matches: a string compared with a number column
//!   compares as the number its prefix reads as (`'17abc'` = 17); a value no row of the
//!   column can equal matches nothing; a comparison MariaDB makes in a way the rules cannot
//!   follow (a number against a string column: as doubles) is [`Converted::Unknown`], and
//!   routes to every candidate node.
//!
//! Table tests generated from a real MariaDB pin both (`tests_ref.rs`).

pub mod number;
pub mod temporal;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_ref;

use crate::rules::ShardValue;
use number::{clamp_int, prefix, Exact};

/// The type of a column, as far as conversions go (from information_schema.COLUMNS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SqlType {
    /// TINYINT .. BIGINT (bits), signed or not.
    Int {
        bits: u32,
        unsigned: bool,
    },
    Decimal {
        precision: u32,
        scale: u32,
    },
    Float,
    Str,
    Date,
    DateTime {
        fsp: u8,
    },
    Timestamp {
        fsp: u8,
    },
    /// Anything else (TIME, YEAR, BIT, ENUM, JSON, ...): values are used as written.
    #[default]
    Other,
}

impl SqlType {
    /// From information_schema.COLUMNS: DATA_TYPE, COLUMN_TYPE, NUMERIC_PRECISION,
    /// NUMERIC_SCALE, DATETIME_PRECISION.
    pub fn from_info(
        data_type: &str,
        column_type: &str,
        precision: Option<u32>,
        scale: Option<u32>,
        fsp: Option<u32>,
    ) -> SqlType {
        let unsigned = column_type.to_ascii_lowercase().contains("unsigned");
        let fsp = fsp.unwrap_or(0).min(6) as u8;
        match data_type.to_ascii_lowercase().as_str() {
            "tinyint" => SqlType::Int { bits: 8, unsigned },
            "smallint" => SqlType::Int { bits: 16, unsigned },
            "mediumint" => SqlType::Int { bits: 24, unsigned },
            "int" | "integer" => SqlType::Int { bits: 32, unsigned },
            "bigint" => SqlType::Int { bits: 64, unsigned },
            "decimal" | "numeric" => SqlType::Decimal {
                precision: precision.unwrap_or(10),
                scale: scale.unwrap_or(0),
            },
            "float" | "double" | "real" => SqlType::Float,
            "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" => SqlType::Str,
            "date" => SqlType::Date,
            "datetime" => SqlType::DateTime { fsp },
            "timestamp" => SqlType::Timestamp { fsp },
            _ => SqlType::Other,
        }
    }
}

/// Session settings conversions depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConvCtx {
    /// sql_mode TIME_ROUND_FRACTIONAL.
    pub round_fractional: bool,
    /// The session's time zone as an offset from UTC in seconds; `None` when it is a named
    /// zone (or SYSTEM on a server that is not on UTC): TIMESTAMP values then cannot be
    /// placed exactly.
    pub utc_offset: Option<i64>,
    /// The statement was read under NO_BACKSLASH_ESCAPES: its backslashes in strings stand
    /// as [`crate::sql::NBE_BACKSLASH`] in the parsed text (and only then).
    pub nbe_standin: bool,
}

/// A value as the column holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum Converted {
    Value(ShardValue),
    /// No value of the column equals it (`int_col = 17.5`).
    Nothing,
    /// Not known exactly: route to every candidate node.
    Unknown,
}

/// The literal's number, as MariaDB reads it in a numeric context: exact for integers,
/// decimals and strings; the double for approximate numbers (`Err`).
fn numeric(v: &ShardValue) -> Option<Result<Exact, f64>> {
    Some(match v {
        ShardValue::Int(i) => Ok(Exact::from_int(*i)),
        ShardValue::Decimal(d) => Ok(Exact::parse(d)?),
        ShardValue::Str(b) => Ok(prefix(b).0),
        ShardValue::Float(f) => Err(*f),
        _ => return None,
    })
}

/// A number written into an integer column.
fn to_int(x: Result<Exact, f64>, bits: u32, unsigned: bool) -> Option<i128> {
    let i = match x {
        Ok(e) => {
            e.round_half_away(0)
                .to_i128()
                .unwrap_or(if e.negative { i128::MIN } else { i128::MAX })
        }
        // DOUBLE to integer: round half to even (rint).
        Err(f) => {
            if !f.is_finite() {
                return None;
            }
            let r = f.round_ties_even();
            if r >= 1e38 {
                i128::MAX
            } else if r <= -1e38 {
                i128::MIN
            } else {
                r as i128
            }
        }
    };
    Some(clamp_int(i, bits, unsigned))
}

/// A number written into DECIMAL(p, s): rounded to s, clamped to the largest value.
fn to_decimal(x: Result<Exact, f64>, precision: u32, scale: u32) -> Option<String> {
    let e = match x {
        Ok(e) => e,
        Err(f) => Exact::from_f64(f)?,
    };
    let r = e.round_half_away(scale as usize);
    let int_digits = r.digits.len().saturating_sub(r.scale);
    if int_digits as u32 > precision.saturating_sub(scale) {
        let nines = "9".repeat(precision.saturating_sub(scale) as usize);
        let frac = "9".repeat(scale as usize);
        let sign = if r.negative { "-" } else { "" };
        return Some(if scale > 0 {
            format!(
                "{sign}{}.{frac}",
                if nines.is_empty() { "0" } else { &nines }
            )
        } else {
            format!("{sign}{nines}")
        });
    }
    Some(r.to_text())
}

/// A temporal value of the literal (strings, numbers, typed literals), as civil micros.
fn temporal_of(v: &ShardValue) -> Option<temporal::Stamp> {
    match v {
        ShardValue::Str(b) => temporal::parse_str(b),
        ShardValue::DateTime(s) => temporal::parse_str(s.as_bytes()),
        ShardValue::Int(i) if *i >= 0 => temporal::parse_number(&i.to_string(), ""),
        ShardValue::Decimal(d) => {
            let (int, frac) = d.split_once('.').unwrap_or((d, ""));
            temporal::parse_number(int, frac)
        }
        _ => None,
    }
}

/// The text MariaDB stores for a number written into a string column.
fn number_text(v: &ShardValue) -> Option<String> {
    Some(match v {
        ShardValue::Int(i) => i.to_string(),
        // A decimal literal keeps its digits (`1.50`), a lone sign goes (`-0.0` → `0.0`).
        ShardValue::Decimal(d) => {
            let e = Exact::parse(d)?;
            e.round_half_away(e.scale).to_text()
        }
        ShardValue::Float(f) => crate::eval::format_double(*f),
        _ => return None,
    })
}

/// The value MariaDB stores when `v` is written into a column of type `ty`.
pub fn store(ty: SqlType, v: &ShardValue, ctx: &ConvCtx) -> Converted {
    if *v == ShardValue::Null {
        return Converted::Value(ShardValue::Null);
    }
    let value = match ty {
        // A temporal value becomes an integer by dropping its fraction.
        SqlType::Int { bits, unsigned } => numeric(v)
            .or_else(|| temporal_number(v).map(|e| Ok(e.truncated())))
            .and_then(|x| to_int(x, bits, unsigned))
            .map(ShardValue::Int),
        SqlType::Decimal { precision, scale } => numeric(v)
            .or_else(|| temporal_number(v).map(Ok))
            .and_then(|x| to_decimal(x, precision, scale))
            .map(ShardValue::Decimal),
        SqlType::Str => match v {
            ShardValue::Str(_) => Some(v.clone()),
            ShardValue::DateTime(s) => Some(ShardValue::Str(s.clone().into_bytes())),
            other => number_text(other).map(|t| ShardValue::Str(t.into_bytes())),
        },
        SqlType::Date => temporal_of(v).map(|s| {
            let day = s.micros.div_euclid(temporal::MICROS_PER_DAY) * temporal::MICROS_PER_DAY;
            ShardValue::DateTime(temporal::format(day))
        }),
        SqlType::DateTime { fsp } => temporal_of(v).map(|s| {
            ShardValue::DateTime(temporal::format(temporal::fit(
                s,
                fsp,
                ctx.round_fractional,
            )))
        }),
        SqlType::Timestamp { fsp } => {
            let Some(offset) = ctx.utc_offset else {
                return Converted::Unknown;
            };
            temporal_of(v).map(|s| {
                let local = temporal::fit(s, fsp, ctx.round_fractional);
                ShardValue::DateTime(temporal::format(local - offset * 1_000_000))
            })
        }
        SqlType::Float | SqlType::Other => Some(v.clone()),
    };
    match value {
        Some(v) => Converted::Value(v),
        None => Converted::Unknown,
    }
}

/// A typed temporal literal in a number context: `DATE '2026-03-01'` is 20260301,
/// `TIMESTAMP '2026-03-01 10:20:30.5'` is 20260301102030.5.
fn temporal_number(v: &ShardValue) -> Option<Exact> {
    let ShardValue::DateTime(text) = v else {
        return None;
    };
    let s = temporal::parse_str(text.as_bytes())?;
    let t = temporal::format(s.micros);
    let (base, frac) = t.split_once('.').unwrap_or((&t, ""));
    let digits: String = base.chars().filter(|c| c.is_ascii_digit()).collect();
    let date_only = !text.trim().contains(':') && frac.is_empty();
    let int = if date_only { &digits[..8] } else { &digits[..] };
    Exact::parse(&if frac.is_empty() {
        int.to_string()
    } else {
        format!("{int}.{frac}")
    })
}

/// What `column = v` can match, for routing.
pub fn compare(ty: SqlType, v: &ShardValue, ctx: &ConvCtx) -> Converted {
    if *v == ShardValue::Null {
        return Converted::Value(ShardValue::Null);
    }
    match ty {
        SqlType::Int { bits, unsigned } => match v {
            ShardValue::Int(i) => {
                if clamp_int(*i, bits, unsigned) == *i {
                    Converted::Value(v.clone())
                } else {
                    Converted::Nothing
                }
            }
            // Exact decimals compare exactly: only an integral one can match.
            ShardValue::Decimal(d) => match Exact::parse(d) {
                Some(e) if e.is_integral() => match e.round_half_away(0).to_i128() {
                    Some(i) if clamp_int(i, bits, unsigned) == i => {
                        Converted::Value(ShardValue::Int(i))
                    }
                    _ => Converted::Nothing,
                },
                Some(_) => Converted::Nothing,
                None => Converted::Unknown,
            },
            // A string, or a double, against an integer column compares as doubles: exact
            // for integers below 2^53.
            ShardValue::Str(b) => {
                let (e, _) = prefix(b);
                double_to_int(e.to_f64(), bits, unsigned)
            }
            ShardValue::Float(f) => double_to_int(*f, bits, unsigned),
            _ => Converted::Unknown,
        },
        SqlType::Decimal { scale, .. } => match v {
            ShardValue::Int(_) | ShardValue::Decimal(_) => match numeric(v) {
                Some(Ok(e)) => {
                    let n = e.normalized();
                    if n.scale > scale as usize {
                        Converted::Nothing
                    } else {
                        Converted::Value(ShardValue::Decimal(
                            n.round_half_away(scale as usize).to_text(),
                        ))
                    }
                }
                _ => Converted::Unknown,
            },
            _ => Converted::Unknown,
        },
        SqlType::Str => match v {
            ShardValue::Str(_) => Converted::Value(v.clone()),
            // MariaDB compares a number with a string column as doubles.
            _ => Converted::Unknown,
        },
        SqlType::Date | SqlType::DateTime { .. } => match temporal_of(v) {
            Some(s) => Converted::Value(ShardValue::DateTime(temporal::format(s.micros))),
            None => Converted::Unknown,
        },
        SqlType::Timestamp { .. } => match (temporal_of(v), ctx.utc_offset) {
            (Some(s), Some(offset)) => Converted::Value(ShardValue::DateTime(temporal::format(
                s.micros - offset * 1_000_000,
            ))),
            _ => Converted::Unknown,
        },
        SqlType::Float | SqlType::Other => Converted::Value(v.clone()),
    }
}

fn double_to_int(f: f64, bits: u32, unsigned: bool) -> Converted {
    if !f.is_finite() || f.abs() >= 9_007_199_254_740_992.0 {
        return Converted::Unknown;
    }
    if f.fract() != 0.0 {
        return Converted::Nothing;
    }
    let i = f as i128;
    if clamp_int(i, bits, unsigned) == i {
        Converted::Value(ShardValue::Int(i))
    } else {
        Converted::Nothing
    }
}

/// The session's time zone as an offset, when it is one: `+08:00`, `-05:30`, `UTC`;
/// `SYSTEM` when the server's system zone is UTC (`system_utc`).
pub fn utc_offset(time_zone: &str, system_utc: bool) -> Option<i64> {
    let tz = time_zone.trim().trim_matches('\'');
    match tz.to_ascii_uppercase().as_str() {
        "UTC" | "GMT" | "+00:00" | "-00:00" | "UNIVERSAL" | "ZULU" => return Some(0),
        "SYSTEM" => return system_utc.then_some(0),
        _ => {}
    }
    let (sign, rest) = match tz.as_bytes().first()? {
        b'+' => (1, &tz[1..]),
        b'-' => (-1, &tz[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    let h: i64 = h.parse().ok()?;
    let m: i64 = m.parse().ok()?;
    (h <= 14 && m < 60).then_some(sign * (h * 3600 + m * 60))
}
