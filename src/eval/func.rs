//! Scalar functions: ROUND, TRUNCATE, ABS, SIGN, FLOOR, CEIL, MOD, IFNULL,
//! COALESCE, IF, NULLIF, GREATEST, LEAST, CONCAT, LOWER, UPPER, LENGTH,
//! CHAR_LENGTH (and the aliases CEILING, LCASE, UCASE, OCTET_LENGTH,
//! CHARACTER_LENGTH).

use super::arith;
use super::decimal::Decimal;
use super::expr::{decl_for, declared, rounded, EvalError, Expr, Typed};
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
pub(crate) fn choose(
    cands: &[&Expr],
    pick: Option<usize>,
    row: &[Val],
) -> Result<Typed, EvalError> {
    let Some(e) = pick.and_then(|p| cands.get(p)) else {
        return Ok((Val::Null, None));
    };
    let chosen = e.eval_t(row)?;
    if chosen.0.is_null() || cands.len() < 2 {
        return Ok(chosen);
    }
    let others: Vec<Typed> = cands
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != pick)
        .filter_map(|(_, c)| c.eval_t(row).ok())
        .collect();
    Ok(unify_typed(chosen, &others))
}

/// [`unify`] keeping track of the declared scale (the largest of the candidates').
fn unify_typed(chosen: Typed, others: &[Typed]) -> Typed {
    let want = std::iter::once(&chosen)
        .chain(others)
        .filter(|(v, _)| matches!(v, Val::Int(_) | Val::UInt(_) | Val::Dec(_)))
        .map(|(v, d)| declared(v, *d))
        .max()
        .unwrap_or(0);
    let vals: Vec<Val> = others.iter().map(|t| t.0.clone()).collect();
    // A number that becomes a string is converted as shown.
    let textual = vals
        .iter()
        .any(|v| matches!(v, Val::Str(..) | Val::Temporal(..)));
    let chosen = if textual { rounded(chosen) } else { chosen.0 };
    let v = unify(chosen, &vals);
    let d = decl_for(&v, want);
    (v, d)
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
fn extreme(args: Vec<Typed>, greatest: bool) -> Typed {
    if args.iter().any(|t| t.0.is_null()) {
        return (Val::Null, None);
    }
    let is = |f: fn(&Val) -> bool| args.iter().all(|t| f(&t.0));
    let all_str = is(|v| matches!(v, Val::Str(..)));
    let all_temporal = is(|v| matches!(v, Val::Temporal(..) | Val::Str(..)));
    let numeric = !all_str && !all_temporal;
    let as_double = numeric
        && args
            .iter()
            .any(|t| matches!(t.0, Val::Double(_) | Val::Str(..)));
    let args: Vec<Typed> = if as_double {
        args.iter()
            .map(|(v, _)| (v.to_f64().map_or(Val::Null, Val::Double), None))
            .collect()
    } else if numeric {
        args.iter().map(|(v, d)| (v.to_numeric(), *d)).collect()
    } else {
        args
    };
    let mut best: Option<&Typed> = None;
    for t in &args {
        best = match best {
            None => Some(t),
            Some(b) => {
                let o = t.0.compare(&b.0).unwrap_or(Ordering::Equal);
                let better = if greatest {
                    o == Ordering::Greater
                } else {
                    o == Ordering::Less
                };
                Some(if better { t } else { b })
            }
        };
    }
    let Some(best) = best.cloned() else {
        return (Val::Null, None);
    };
    if numeric && !as_double {
        unify_typed(best, &args)
    } else {
        best
    }
}

fn eval_all(args: &[Expr], row: &[Val]) -> Result<Vec<Val>, EvalError> {
    args.iter().map(|a| a.eval(row)).collect()
}

/// Calls function `name` (upper case).
pub fn call(name: &str, args: &[Expr], row: &[Val]) -> Result<Typed, EvalError> {
    let n = args.len();
    let arity_ok = FUNCTIONS
        .iter()
        .any(|(f, lo, hi)| *f == name && (*lo..=*hi).contains(&n));
    if !arity_ok {
        return Err(unsupported(name, n));
    }
    // Shown / compared value, and the value at internal precision.
    let shown = |i: usize| args.get(i).map_or(Ok(Val::Null), |a| a.eval(row));
    let typed = |i: usize| args.get(i).map_or(Ok((Val::Null, None)), |a| a.eval_t(row));
    let v = match name {
        "ROUND" | "TRUNCATE" => {
            let x = typed(0)?.0;
            let d = if n > 1 { shown(1)? } else { Val::Int(0) };
            match int_arg(&d) {
                Some(d) if !x.is_null() => round(&x, d, name == "TRUNCATE")?,
                _ => Val::Null,
            }
        }
        "ABS" => {
            let (x, d) = typed(0)?;
            return Ok((abs(&x)?, d));
        }
        "SIGN" => sign(&typed(0)?.0),
        "FLOOR" => floor_ceil(&typed(0)?.0, false)?,
        "CEIL" | "CEILING" => floor_ceil(&typed(0)?.0, true)?,
        "MOD" => {
            let ((x, dx), (y, dy)) = (typed(0)?, typed(1)?);
            let r = arith::rem(&x, &y)?;
            let d = decl_for(&r, declared(&x, dx).max(declared(&y, dy)));
            return Ok((r, d));
        }
        "IF" => {
            let c = args[0].eval_bool(row)? == Some(true);
            return choose(&[&args[1], &args[2]], Some(if c { 0 } else { 1 }), row);
        }
        "IFNULL" | "COALESCE" => {
            let mut vals = Vec::with_capacity(n);
            let mut pick = None;
            for (i, a) in args.iter().enumerate() {
                if pick.is_some() {
                    // Later candidates only contribute their type.
                    if let Ok(t) = a.eval_t(row) {
                        vals.push(t);
                    }
                    continue;
                }
                let t = a.eval_t(row)?;
                if !t.0.is_null() {
                    pick = Some(i);
                }
                vals.push(t);
            }
            let Some(p) = pick else {
                return Ok((Val::Null, None));
            };
            let chosen = vals.remove(p);
            return Ok(unify_typed(chosen, &vals));
        }
        "NULLIF" => {
            let a = typed(0)?;
            if rounded(a.clone()).compare(&shown(1)?) == Some(Ordering::Equal) {
                Val::Null
            } else {
                return Ok(a);
            }
        }
        "GREATEST" | "LEAST" => {
            let all: Result<Vec<Typed>, EvalError> = args.iter().map(|a| a.eval_t(row)).collect();
            return Ok(extreme(all?, name == "GREATEST"));
        }
        "CONCAT" => text::concat(&eval_all(args, row)?),
        "LOWER" | "LCASE" => text::case(&shown(0)?, false),
        "UPPER" | "UCASE" => text::case(&shown(0)?, true),
        "LENGTH" | "OCTET_LENGTH" => text::length(&shown(0)?, false),
        "CHAR_LENGTH" | "CHARACTER_LENGTH" => text::length(&shown(0)?, true),
        _ => return Err(unsupported(name, n)),
    };
    Ok((v, None))
}
