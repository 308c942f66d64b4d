//! Cross-shard aggregate merging: each shard returns a partial aggregate,
//! [`Acc`] combines them, [`avg`] finishes AVG from merged SUM and COUNT.

use super::arith::DIV_INCR;
use super::decimal::Decimal;
use super::expr::EvalError;
use super::value::Val;
use std::cmp::Ordering;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AggKind {
    Count,
    Sum,
    Min,
    Max,
}

#[derive(Debug, Clone)]
enum State {
    Count(i128),
    /// Exact sum (DECIMAL) until a DOUBLE (or string) partial turns it into DOUBLE.
    Sum(Option<Decimal>),
    SumDouble(f64),
    /// MIN / MAX so far (the first of equal values is kept).
    Best(Option<Val>),
}

/// A merging accumulator for one aggregate.
#[derive(Debug, Clone)]
pub struct Acc {
    kind: AggKind,
    state: State,
}

impl Acc {
    pub fn new(kind: AggKind) -> Acc {
        let state = match kind {
            AggKind::Count => State::Count(0),
            AggKind::Sum => State::Sum(None),
            AggKind::Min | AggKind::Max => State::Best(None),
        };
        Acc { kind, state }
    }

    pub fn kind(&self) -> AggKind {
        self.kind
    }

    /// Merges one shard's partial value; NULL partials are skipped.
    pub fn merge(&mut self, v: &Val) -> Result<(), EvalError> {
        if v.is_null() {
            return Ok(());
        }
        match &mut self.state {
            State::Count(n) => {
                let add = match v.to_numeric() {
                    Val::Int(i) => i128::from(i),
                    Val::UInt(u) => i128::from(u),
                    other => other
                        .to_decimal()
                        .and_then(|d| d.round(0).ok())
                        .map_or(0, |d| d.mantissa),
                };
                *n = n
                    .checked_add(add)
                    .ok_or_else(|| EvalError::overflow("BIGINT"))?;
            }
            State::Sum(sum) => match v.to_numeric() {
                Val::Double(x) => {
                    let base = sum.map_or(0.0, |d| d.to_f64());
                    self.state = State::SumDouble(base + x);
                }
                n => {
                    let d = n
                        .to_decimal()
                        .ok_or_else(|| EvalError::overflow("DECIMAL"))?;
                    *sum = Some(match sum {
                        Some(s) => s.checked_add(&d)?,
                        None => d,
                    });
                }
            },
            State::SumDouble(s) => {
                *s += v.to_f64().unwrap_or(0.0);
                if !s.is_finite() {
                    return Err(EvalError::overflow("DOUBLE"));
                }
            }
            State::Best(best) => {
                let want = if self.kind == AggKind::Min {
                    Ordering::Less
                } else {
                    Ordering::Greater
                };
                let replace = match best {
                    None => true,
                    Some(b) => v.compare(b) == Some(want),
                };
                if replace {
                    *best = Some(v.clone());
                }
            }
        }
        Ok(())
    }

    /// The final value: COUNT of nothing is 0; SUM/MIN/MAX of nothing is NULL.
    /// SUM of exact values is DECIMAL (also for integer partials).
    pub fn finish(&self) -> Val {
        match &self.state {
            State::Count(n) => match i64::try_from(*n) {
                Ok(i) => Val::Int(i),
                Err(_) => u64::try_from(*n).map_or(Val::Dec(Decimal::new(*n, 0)), Val::UInt),
            },
            State::Sum(s) => s.map_or(Val::Null, Val::Dec),
            State::SumDouble(x) => Val::Double(*x),
            State::Best(b) => b.clone().unwrap_or(Val::Null),
        }
    }
}

/// AVG from merged SUM and COUNT as MySQL computes it: a DECIMAL sum gives a
/// DECIMAL shown with the sum's scale + 4 (rounded half away from zero by
/// [`Val::to_cell`]) but kept, like MariaDB does inside expressions, at its
/// internal precision ([`Decimal::div_internal`]: `AVG` of 1, 1, 2 is
/// 1.333333333, so `AVG(x) * 3` is 4.0000); a DOUBLE sum gives a DOUBLE.
/// NULL when the count is 0 or the sum NULL.
pub fn avg(sum: &Val, count: &Val) -> Result<Val, EvalError> {
    avg_with(sum, count, DIV_INCR)
}

/// [`avg`] under `div_precision_increment = incr`.
pub fn avg_with(sum: &Val, count: &Val, incr: u8) -> Result<Val, EvalError> {
    let n = match count.to_numeric() {
        Val::Int(i) => i128::from(i),
        Val::UInt(u) => i128::from(u),
        other => other.to_decimal().map_or(0, |d| d.mantissa),
    };
    if n == 0 || sum.is_null() {
        return Ok(Val::Null);
    }
    match sum.to_numeric() {
        Val::Double(x) => Ok(Val::Double(x / n as f64)),
        s => {
            let d = s
                .to_decimal()
                .ok_or_else(|| EvalError::overflow("DECIMAL"))?;
            Ok(d.div_internal(&Decimal::new(n, 0), incr)?
                .map_or(Val::Null, Val::Dec))
        }
    }
}
