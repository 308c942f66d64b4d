//! Scalar functions: ROUND, TRUNCATE, ABS, SIGN, FLOOR, CEIL, MOD, IFNULL,
//! COALESCE, IF, NULLIF, GREATEST, LEAST, CONCAT, LOWER, UPPER, LENGTH,
//! CHAR_LENGTH (and the aliases CEILING, LCASE, UCASE, OCTET_LENGTH,
//! CHARACTER_LENGTH).

use super::arith;
use super::decimal::Decimal;
use super::expr::{EvalError, Expr};
use super::num::{double_round, rint, str_to_i64};
use super::text;
use super::value::{Val, DEFAULT_COLLATION};
use std::cmp::Ordering;

/// The function names [`call`] knows, with their argument counts (min, max).
pub const FUNCTIONS: &[(&str, usize, usize)] = &[
    ("ROUND", 1, 2),
    ("TRUNCATE", 2, 2),
    ("ABS", 1, 1),
    ("SIGN", 1, 1),
    ("FLOOR", 1, 1),
    ("CEIL", 1, 1),
    ("CEILING", 1, 1),
    ("MOD", 2, 2),
    ("IFNULL", 2, 2),
    ("COALESCE", 1, usize::MAX),
    ("IF", 3, 3),
    ("NULLIF", 2, 2),
    ("GREATEST", 2, usize::MAX),
    ("LEAST", 2, usize::MAX),
    ("CONCAT", 1, usize::MAX),
    ("LOWER", 1, 1),
    ("LCASE", 1, 1),
    ("UPPER", 1, 1),
    ("UCASE", 1, 1),
    ("LENGTH", 1, 1),
    ("OCTET_LENGTH", 1, 1),
    ("CHAR_LENGTH", 1, 1),
    ("CHARACTER_LENGTH", 1, 1),
];

fn unsupported(name: &str, n: usize) -> EvalError {
    EvalError::Unsupported(format!("function {name} with {n} arguments"))
}

/// An integer argument (ROUND's digits): decimals round, doubles rint,
/// strings by their integer prefix.
fn int_arg(v: &Val) -> Option<i64> {
    Some(match v {
        Val::Null => return None,
        Val::Int(i) => *i,
        Val::UInt(u) => i64::try_from(*u).unwrap_or(i64::MAX),
        Val::Dec(d) => d
            .round(0)
            .ok()
            .and_then(|r| i64::try_from(r.mantissa).ok())
            .unwrap_or(if d.is_negative() { i64::MIN } else { i64::MAX }),
        Val::Double(x) => rint(*x) as i64,
        Val::Str(b, _) => str_to_i64(b),
        Val::Temporal(..) => return int_arg(&v.to_numeric()),
    })
}

/// An integer-valued decimal as BIGINT when it fits, else DECIMAL.
fn narrow(d: Decimal) -> Val {
    match d.to_i64_exact() {
        Some(i) if d.scale == 0 => Val::Int(i),
        _ => Val::Dec(d),
    }
}

fn round(x: &Val, d: i64, truncate: bool) -> Result<Val, EvalError> {
    Ok(match x.to_numeric() {
        Val::Null => Val::Null,
        Val::Int(_) | Val::UInt(_) if d >= 0 => x.to_numeric(),
        Val::Int(i) => {
            let r = Decimal::from_i64(i).round_to(d, truncate)?;
            narrow(r)
        }
        Val::UInt(u) => {
            let r = Decimal::from_u64(u).round_to(d, truncate)?;
            match u64::try_from(r.mantissa) {
                Ok(v) => Val::UInt(v),
                Err(_) => Val::Dec(r),
            }
        }
        Val::Dec(v) => Val::Dec(v.round_to(d, truncate)?),
        Val::Double(v) => Val::Double(double_round(v, d, truncate)),
        other => other,
    })
}

fn floor_ceil(x: &Val, ceil: bool) -> Result<Val, EvalError> {
    Ok(match x.to_numeric() {
        Val::Dec(d) => narrow(d.floor_ceil(ceil)?),
        Val::Double(v) => Val::Double(if ceil { v.ceil() } else { v.floor() }),
        other => other,
    })
}

fn abs(x: &Val) -> Result<Val, EvalError> {
    Ok(match x.to_numeric() {
        Val::Int(i) => Val::Int(
            i.checked_abs()
                .ok_or_else(|| EvalError::overflow("BIGINT"))?,
        ),
        Val::Dec(d) if d.is_negative() => arith::neg(&Val::Dec(d))?,
        Val::Double(v) => Val::Double(v.abs()),
        other => other,
    })
}

fn sign(x: &Val) -> Val {
    let s = match x.to_numeric() {
        Val::Null => return Val::Null,
        Val::Int(i) => i.signum(),
        Val::UInt(u) => i64::from(u > 0),
        Val::Dec(d) => d.mantissa.signum() as i64,
        Val::Double(v) if v > 0.0 => 1,
        Val::Double(v) if v < 0.0 => -1,
        _ => 0,
    };
    Val::Int(s)
}

/// The result of IF / IFNULL / COALESCE / CASE: the chosen value converted to
/// the type MariaDB aggregates from all candidates (e.g. `IF(c, 1.5, 1)` is
/// DECIMAL(.,1), so 1 becomes 1.0). Other candidates are evaluated only for
/// their type; their errors are ignored.
pub(crate) fn choose(cands: &[&Expr], pick: Option<usize>, row: &[Val]) -> Result<Val, EvalError> {
    let Some(p) = pick else {
        return Ok(Val::Null);
    };
    let Some(e) = cands.get(p) else {
        return Ok(Val::Null);
    };
    let chosen = e.eval(row)?;
    if chosen.is_null() || cands.len() < 2 {
        return Ok(chosen);
    }
    let mut others = Vec::with_capacity(cands.len());
    for (i, c) in cands.iter().enumerate() {
        if i != p {
            if let Ok(v) = c.eval(row) {
                others.push(v);
            }
        }
    }
    Ok(unify(chosen, &others))
}

/// Converts `chosen` to the aggregate type of itself and `others`.
fn unify(chosen: Val, others: &[Val]) -> Val {
    let all = || {
        std::iter::once(&chosen)
            .chain(others)
            .filter(|v| !v.is_null())
    };
    let any_str = all().any(|v| matches!(v, Val::Str(..)));
    let any_temporal = all().any(|v| matches!(v, Val::Temporal(..)));
    let any_number =
        all().any(|v| matches!(v, Val::Int(_) | Val::UInt(_) | Val::Dec(_) | Val::Double(_)));
    if any_str || (any_temporal && any_number) {
        return match &chosen {
            Val::Str(..) => chosen,
            v => v
                .to_text()
                .map_or(Val::Null, |b| Val::Str(b, DEFAULT_COLLATION)),
        };
    }
    if !any_number {
        return chosen;
    }
    if all().any(|v| matches!(v, Val::Double(_))) {
        return chosen.to_f64().map_or(Val::Null, Val::Double);
    }
    let scale = all()
        .map(|v| match v {
            Val::Dec(d) => d.scale,
            _ => 0,
        })
        .max()
        .unwrap_or(0);
    let any_dec = all().any(|v| matches!(v, Val::Dec(_)));
    match chosen.to_decimal() {
        Some(d) if any_dec => d.rescale(scale).map_or(chosen, Val::Dec),
        _ => chosen,
    }
}

/// GREATEST / LEAST: NULL if any argument is; compared as strings when all
/// are strings, as temporals when all are temporal, else numerically (DOUBLE
/// when a string or DOUBLE is involved).
fn extreme(vals: Vec<Val>, greatest: bool) -> Val {
    if vals.iter().any(Val::is_null) {
        return Val::Null;
    }
    let all_str = vals.iter().all(|v| matches!(v, Val::Str(..)));
    let all_temporal = vals
        .iter()
        .all(|v| matches!(v, Val::Temporal(..) | Val::Str(..)));
    let numeric = !all_str && !all_temporal;
    let as_double = numeric
        && vals
            .iter()
            .any(|v| matches!(v, Val::Double(_) | Val::Str(..)));
    let vals: Vec<Val> = if as_double {
        vals.iter()
            .map(|v| v.to_f64().map_or(Val::Null, Val::Double))
            .collect()
    } else if numeric {
        vals.iter().map(Val::to_numeric).collect()
    } else {
        vals
    };
    let mut best: Option<&Val> = None;
    for v in &vals {
        best = match best {
            None => Some(v),
            Some(b) => {
                let o = v.compare(b).unwrap_or(Ordering::Equal);
                let better = if greatest {
                    o == Ordering::Greater
                } else {
                    o == Ordering::Less
                };
                Some(if better { v } else { b })
            }
        };
    }
    let Some(best) = best.cloned() else {
        return Val::Null;
    };
    if numeric && !as_double {
        unify(best, &vals)
    } else {
        best
    }
}

fn eval_all(args: &[Expr], row: &[Val]) -> Result<Vec<Val>, EvalError> {
    args.iter().map(|a| a.eval(row)).collect()
}

/// Calls function `name` (upper case).
pub fn call(name: &str, args: &[Expr], row: &[Val]) -> Result<Val, EvalError> {
    let n = args.len();
    let arity_ok = FUNCTIONS
        .iter()
        .any(|(f, lo, hi)| *f == name && (*lo..=*hi).contains(&n));
    if !arity_ok {
        return Err(unsupported(name, n));
    }
    let arg =
        |i: usize| -> Result<Val, EvalError> { args.get(i).map_or(Ok(Val::Null), |a| a.eval(row)) };
    Ok(match name {
        "ROUND" | "TRUNCATE" => {
            let x = arg(0)?;
            let d = if n > 1 { arg(1)? } else { Val::Int(0) };
            match int_arg(&d) {
                Some(d) if !x.is_null() => round(&x, d, name == "TRUNCATE")?,
                _ => Val::Null,
            }
        }
        "ABS" => abs(&arg(0)?)?,
        "SIGN" => sign(&arg(0)?),
        "FLOOR" => floor_ceil(&arg(0)?, false)?,
        "CEIL" | "CEILING" => floor_ceil(&arg(0)?, true)?,
        "MOD" => arith::rem(&arg(0)?, &arg(1)?)?,
        "IF" => {
            let c = arg(0)?.truthy() == Some(true);
            let cands = [&args[1], &args[2]];
            choose(&cands, Some(if c { 0 } else { 1 }), row)?
        }
        "IFNULL" | "COALESCE" => {
            let mut pick = None;
            let mut first = None;
            for (i, a) in args.iter().enumerate() {
                let v = a.eval(row)?;
                if !v.is_null() {
                    pick = Some(i);
                    first = Some(v);
                    break;
                }
            }
            match first {
                None => Val::Null,
                Some(v) => {
                    let mut others = Vec::new();
                    for (i, a) in args.iter().enumerate() {
                        if Some(i) != pick {
                            if let Ok(o) = a.eval(row) {
                                others.push(o);
                            }
                        }
                    }
                    unify(v, &others)
                }
            }
        }
        "NULLIF" => {
            let (a, b) = (arg(0)?, arg(1)?);
            if a.compare(&b) == Some(Ordering::Equal) {
                Val::Null
            } else {
                a
            }
        }
        "GREATEST" | "LEAST" => extreme(eval_all(args, row)?, name == "GREATEST"),
        "CONCAT" => text::concat(&eval_all(args, row)?),
        "LOWER" | "LCASE" => text::case(&arg(0)?, false),
        "UPPER" | "UCASE" => text::case(&arg(0)?, true),
        "LENGTH" | "OCTET_LENGTH" => text::length(&arg(0)?, false),
        "CHAR_LENGTH" | "CHARACTER_LENGTH" => text::length(&arg(0)?, true),
        _ => return Err(unsupported(name, n)),
    })
}
