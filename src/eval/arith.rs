//! MySQL arithmetic on values: result types, overflow and division by zero.
//!
//! - any DOUBLE operand (strings count as DOUBLE) -> DOUBLE; overflow is an error;
//! - else any DECIMAL -> DECIMAL (`+ -`: scale max(s1,s2); `*`: s1+s2; `/`: s1+4);
//! - else integers: BIGINT, or BIGINT UNSIGNED when an operand is unsigned;
//!   out of range is error 1690;
//! - `/` on exact types is DECIMAL; `/`, `DIV`, `%` by zero give NULL.

use super::decimal::Decimal;
use super::expr::EvalError;
use super::value::Val;

/// Division precision increment (`div_precision_increment`, default 4).
pub const DIV_INCR: u8 = 4;

/// An operand in numeric context.
enum Num {
    Null,
    /// An integer and whether it is unsigned.
    Int(i128, bool),
    Dec(Decimal),
    Double(f64),
}

fn num(v: &Val) -> Num {
    match v.to_numeric() {
        Val::Int(i) => Num::Int(i.into(), false),
        Val::UInt(u) => Num::Int(u.into(), true),
        Val::Dec(d) => Num::Dec(d),
        Val::Double(x) => Num::Double(x),
        _ => Num::Null,
    }
}

fn to_dec(n: &Num) -> Option<Decimal> {
    match n {
        Num::Int(i, _) => Some(Decimal::new(*i, 0)),
        Num::Dec(d) => Some(*d),
        Num::Double(x) => Decimal::from_f64(*x),
        Num::Null => None,
    }
}

fn to_f64(n: &Num) -> f64 {
    match n {
        Num::Int(i, _) => *i as f64,
        Num::Dec(d) => d.to_f64(),
        Num::Double(x) => *x,
        Num::Null => 0.0,
    }
}

/// An integer result: BIGINT UNSIGNED when `unsigned`, else BIGINT.
fn int_result(v: Option<i128>, unsigned: bool) -> Result<Val, EvalError> {
    let v = v.ok_or_else(|| {
        EvalError::overflow(if unsigned {
            "BIGINT UNSIGNED"
        } else {
            "BIGINT"
        })
    })?;
    if unsigned {
        u64::try_from(v)
            .map(Val::UInt)
            .map_err(|_| EvalError::overflow("BIGINT UNSIGNED"))
    } else {
        i64::try_from(v)
            .map(Val::Int)
            .map_err(|_| EvalError::overflow("BIGINT"))
    }
}

fn double_result(x: f64) -> Result<Val, EvalError> {
    if x.is_finite() {
        Ok(Val::Double(x))
    } else {
        Err(EvalError::overflow("DOUBLE"))
    }
}

#[derive(Clone, Copy)]
enum Op {
    Add,
    Sub,
    Mul,
}

fn additive(a: &Val, b: &Val, op: Op) -> Result<Val, EvalError> {
    let (x, y) = (num(a), num(b));
    match (&x, &y) {
        (Num::Null, _) | (_, Num::Null) => Ok(Val::Null),
        (Num::Double(_), _) | (_, Num::Double(_)) => {
            let (p, q) = (to_f64(&x), to_f64(&y));
            double_result(match op {
                Op::Add => p + q,
                Op::Sub => p - q,
                Op::Mul => p * q,
            })
        }
        (Num::Int(p, pu), Num::Int(q, qu)) => {
            let r = match op {
                Op::Add => p.checked_add(*q),
                Op::Sub => p.checked_sub(*q),
                Op::Mul => p.checked_mul(*q),
            };
            int_result(r, *pu || *qu)
        }
        _ => {
            let err = || EvalError::overflow("DECIMAL");
            let (p, q) = (to_dec(&x).ok_or_else(err)?, to_dec(&y).ok_or_else(err)?);
            Ok(Val::Dec(match op {
                Op::Add => p.checked_add(&q)?,
                Op::Sub => p.checked_sub(&q)?,
                Op::Mul => p.checked_mul(&q)?,
            }))
        }
    }
}

pub fn add(a: &Val, b: &Val) -> Result<Val, EvalError> {
    additive(a, b, Op::Add)
}

pub fn sub(a: &Val, b: &Val) -> Result<Val, EvalError> {
    additive(a, b, Op::Sub)
}

pub fn mul(a: &Val, b: &Val) -> Result<Val, EvalError> {
    additive(a, b, Op::Mul)
}

/// `/`: DOUBLE if either side is, else DECIMAL at MariaDB's internal
/// precision ([`Decimal::div_internal`]; it shows with scale s1 + 4).
pub fn div(a: &Val, b: &Val) -> Result<Val, EvalError> {
    div_with(a, b, DIV_INCR)
}

/// [`div`] under `div_precision_increment = incr`.
pub fn div_with(a: &Val, b: &Val, incr: u8) -> Result<Val, EvalError> {
    let (x, y) = (num(a), num(b));
    match (&x, &y) {
        (Num::Null, _) | (_, Num::Null) => Ok(Val::Null),
        (Num::Double(_), _) | (_, Num::Double(_)) => {
            let q = to_f64(&y);
            if q == 0.0 {
                return Ok(Val::Null);
            }
            double_result(to_f64(&x) / q)
        }
        _ => {
            let err = || EvalError::overflow("DECIMAL");
            let (p, q) = (to_dec(&x).ok_or_else(err)?, to_dec(&y).ok_or_else(err)?);
            Ok(p.div_internal(&q, incr)?.map_or(Val::Null, Val::Dec))
        }
    }
}

/// `DIV`: the truncated quotient as BIGINT (UNSIGNED if an operand is).
pub fn int_div(a: &Val, b: &Val) -> Result<Val, EvalError> {
    let (x, y) = (num(a), num(b));
    let unsigned = matches!(x, Num::Int(_, true)) || matches!(y, Num::Int(_, true));
    match (&x, &y) {
        (Num::Null, _) | (_, Num::Null) => Ok(Val::Null),
        (Num::Int(_, _), Num::Int(0, _)) => Ok(Val::Null),
        (Num::Int(p, _), Num::Int(q, _)) => int_result(p.checked_div(*q), unsigned),
        _ => {
            let err = || EvalError::overflow("BIGINT");
            let (p, q) = (to_dec(&x).ok_or_else(err)?, to_dec(&y).ok_or_else(err)?);
            match p.int_div(&q) {
                Ok(Some(v)) => int_result(Some(v), unsigned),
                Ok(None) => Ok(Val::Null),
                Err(_) => Err(err()),
            }
        }
    }
}

/// `%` / MOD: the sign of the dividend; unsigned only if the dividend is.
pub fn rem(a: &Val, b: &Val) -> Result<Val, EvalError> {
    let (x, y) = (num(a), num(b));
    match (&x, &y) {
        (Num::Null, _) | (_, Num::Null) => Ok(Val::Null),
        (Num::Double(_), _) | (_, Num::Double(_)) => {
            let q = to_f64(&y);
            if q == 0.0 {
                return Ok(Val::Null);
            }
            double_result(to_f64(&x) % q)
        }
        (Num::Int(_, _), Num::Int(0, _)) => Ok(Val::Null),
        (Num::Int(p, pu), Num::Int(q, _)) => int_result(p.checked_rem(*q), *pu),
        _ => {
            let err = || EvalError::overflow("DECIMAL");
            let (p, q) = (to_dec(&x).ok_or_else(err)?, to_dec(&y).ok_or_else(err)?);
            Ok(p.checked_rem(&q)?.map_or(Val::Null, Val::Dec))
        }
    }
}

/// Unary minus: BIGINT (an unsigned operand becomes signed), DECIMAL or DOUBLE.
pub fn neg(a: &Val) -> Result<Val, EvalError> {
    match num(a) {
        Num::Null => Ok(Val::Null),
        Num::Int(i, _) => int_result(Some(-i), false),
        Num::Dec(d) => d
            .mantissa
            .checked_neg()
            .map(|m| Val::Dec(Decimal::new(m, d.scale)))
            .ok_or_else(|| EvalError::overflow("DECIMAL")),
        Num::Double(x) => Ok(Val::Double(-x)),
    }
}
