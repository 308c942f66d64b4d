//! Expression trees over a row of values, evaluated with MySQL semantics.

use super::arith;
use super::func;
use super::value::Val;
use crate::error::SqlError;
use std::cmp::Ordering;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnOp {
    Neg,
    Not,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    /// `/` under a div_precision_increment other than the default 4.
    DivP(u8),
    IntDiv,
    Mod,
    Eq,
    NotEq,
    NullSafeEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    And,
    Or,
    Xor,
}

/// An expression over an input row (group keys and finished aggregates).
#[derive(Debug, Clone)]
pub enum Expr {
    Lit(Val),
    /// Index into the input row.
    Col(usize),
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `expr IS [NOT] NULL` (the bool is `negated`).
    IsNull(Box<Expr>, bool),
    Between {
        expr: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        negated: bool,
    },
    InList {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    Case {
        operand: Option<Box<Expr>>,
        whens: Vec<(Expr, Expr)>,
        else_: Option<Box<Expr>>,
    },
    /// Upper-case function name and arguments: ROUND, TRUNCATE, ABS, SIGN,
    /// FLOOR, CEIL, MOD, IFNULL, COALESCE, IF, NULLIF, GREATEST, LEAST, CONCAT,
    /// LOWER, UPPER, LENGTH, CHAR_LENGTH (and CEILING, LCASE, UCASE,
    /// OCTET_LENGTH, CHARACTER_LENGTH).
    Func(String, Vec<Expr>),
}

/// An evaluation error, answered to the client like MariaDB would.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    /// ER_DATA_OUT_OF_RANGE (1690); `ty` is BIGINT, BIGINT UNSIGNED, DECIMAL or DOUBLE.
    #[error("{ty} value is out of range in '{expr}'")]
    Overflow { ty: &'static str, expr: String },
    /// Something the proxy cannot evaluate (1235).
    #[error("{0}")]
    Unsupported(String),
}

impl EvalError {
    pub fn overflow(ty: &'static str) -> EvalError {
        EvalError::Overflow {
            ty,
            expr: String::new(),
        }
    }

    /// Names the expression that overflowed (the innermost one wins).
    fn within(self, e: &Expr) -> EvalError {
        match self {
            EvalError::Overflow { ty, expr } if expr.is_empty() => EvalError::Overflow {
                ty,
                expr: e.to_string(),
            },
            other => other,
        }
    }

    /// 1690 / 22003 for overflow, 1235 / 42000 for unsupported.
    pub fn to_sql_error(&self) -> SqlError {
        match self {
            EvalError::Overflow { .. } => SqlError::new(1690, "22003", self.to_string()),
            EvalError::Unsupported(what) => SqlError::unsupported(what),
        }
    }
}

/// Three-valued NOT / AND / OR / XOR.
pub(crate) fn not3(a: Option<bool>) -> Option<bool> {
    a.map(|x| !x)
}

fn and3(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

fn or3(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(true), _) | (_, Some(true)) => Some(true),
        (Some(false), Some(false)) => Some(false),
        _ => None,
    }
}

fn tri(b: Option<bool>) -> Val {
    b.map_or(Val::Null, Val::bool)
}

/// A value at MariaDB's internal precision and, for a DECIMAL with more
/// fraction digits than its result type has (`1/3` is 0.333333333 of
/// DECIMAL(.,4)), that declared scale. Arithmetic, BETWEEN, multi-value IN,
/// CASE and truth tests use the internal value; `=`/`<`-style comparisons,
/// string conversion and the final result use it rounded to the declared scale.
pub(crate) type Typed = (Val, Option<u8>);

/// The declared scale of a value (its own scale unless given).
pub(crate) fn declared(v: &Val, decl: Option<u8>) -> u8 {
    decl.unwrap_or(match v.to_numeric() {
        Val::Dec(d) => d.scale,
        _ => 0,
    })
}

/// The declared scale to record for `result` given the scale it should have.
pub(crate) fn decl_for(result: &Val, want: u8) -> Option<u8> {
    match result {
        Val::Dec(d) if d.scale > want => Some(want),
        _ => None,
    }
}

/// The value as MariaDB shows and compares it: rounded to its declared scale.
pub(crate) fn rounded((v, decl): Typed) -> Val {
    match (v, decl) {
        (Val::Dec(d), Some(s)) if d.scale > s => Val::Dec(d.rescale(s).unwrap_or(d)),
        (v, _) => v,
    }
}

/// Compares two evaluated operands. MariaDB converts a string constant to
/// the type of a DECIMAL it is compared with (otherwise string vs DECIMAL
/// compares as DOUBLE).
fn compare_ops(a: &Expr, x: &Val, b: &Expr, y: &Val) -> Option<Ordering> {
    let str_lit = |e: &Expr| matches!(e, Expr::Lit(Val::Str(..)));
    let dec = |e: &Expr, v: &Val| matches!(v, Val::Dec(_)) && !matches!(e, Expr::Lit(_));
    if (str_lit(a) && dec(b, y)) || (dec(a, x) && str_lit(b)) {
        if let (Some(p), Some(q)) = (x.to_decimal(), y.to_decimal()) {
            return Some(p.cmp_value(&q));
        }
    }
    x.compare(y)
}

impl Expr {
    /// Evaluates over `row`; a column index past the row's end reads NULL.
    /// A DECIMAL result is rounded to its result type's scale (as MariaDB
    /// shows, sorts and compares it).
    pub fn eval(&self, row: &[Val]) -> Result<Val, EvalError> {
        self.eval_t(row).map(rounded)
    }

    /// MySQL truthiness (WHERE/HAVING) of the value at internal precision.
    pub fn eval_bool(&self, row: &[Val]) -> Result<Option<bool>, EvalError> {
        Ok(self.internal(row)?.truthy())
    }

    pub(crate) fn eval_t(&self, row: &[Val]) -> Result<Typed, EvalError> {
        self.eval_inner(row).map_err(|e| e.within(self))
    }

    /// The value at internal precision.
    pub(crate) fn internal(&self, row: &[Val]) -> Result<Val, EvalError> {
        Ok(self.eval_t(row)?.0)
    }

    fn eval_inner(&self, row: &[Val]) -> Result<Typed, EvalError> {
        let v = match self {
            Expr::Lit(v) => v.clone(),
            Expr::Col(i) => row.get(*i).cloned().unwrap_or(Val::Null),
            Expr::Unary(UnOp::Neg, a) => {
                let (v, d) = a.eval_t(row)?;
                return Ok((arith::neg(&v)?, d));
            }
            Expr::Unary(UnOp::Not, a) => tri(not3(a.internal(row)?.truthy())),
            Expr::Binary(op, a, b) => return binary(*op, a, b, row),
            Expr::IsNull(a, negated) => Val::bool(a.internal(row)?.is_null() != *negated),
            Expr::Between {
                expr,
                low,
                high,
                negated,
            } => {
                let v = expr.internal(row)?;
                let (l, h) = (low.internal(row)?, high.internal(row)?);
                // One comparison type for all three: string vs DECIMAL is DOUBLE.
                let ge = v.compare(&l).map(|o| o != Ordering::Less);
                let le = v.compare(&h).map(|o| o != Ordering::Greater);
                let r = and3(ge, le);
                tri(if *negated { not3(r) } else { r })
            }
            Expr::InList {
                expr,
                list,
                negated,
            } => {
                // `x IN (a)` is `x = a`; longer lists use one comparison type
                // and internal precision.
                let single = list.len() == 1;
                let v = if single {
                    expr.eval(row)?
                } else {
                    expr.internal(row)?
                };
                let mut r = Some(false);
                if v.is_null() {
                    r = None;
                } else {
                    for e in list {
                        let o = if single {
                            compare_ops(expr, &v, e, &e.eval(row)?)
                        } else {
                            v.compare(&e.internal(row)?)
                        };
                        match o {
                            Some(Ordering::Equal) => {
                                r = Some(true);
                                break;
                            }
                            None => r = None,
                            Some(_) => {}
                        }
                    }
                }
                tri(if *negated { not3(r) } else { r })
            }
            Expr::Case {
                operand,
                whens,
                else_,
            } => {
                let op = match operand {
                    Some(o) => Some(o.internal(row)?),
                    None => None,
                };
                let mut chosen = None;
                for (i, (w, _)) in whens.iter().enumerate() {
                    let wv = w.internal(row)?;
                    let hit = match (&op, operand) {
                        (Some(o), Some(oe)) => compare_ops(oe, o, w, &wv) == Some(Ordering::Equal),
                        _ => wv.truthy() == Some(true),
                    };
                    if hit {
                        chosen = Some(i);
                        break;
                    }
                }
                let results: Vec<&Expr> = whens
                    .iter()
                    .map(|(_, t)| t)
                    .chain(else_.as_deref())
                    .collect();
                let pick = match chosen {
                    Some(i) => Some(i),
                    None if else_.is_some() => Some(whens.len()),
                    None => None,
                };
                return func::choose(&results, pick, row);
            }
            Expr::Func(name, args) => return func::call(name, args, row),
        };
        Ok((v, None))
    }
}

fn binary(op: BinOp, a: &Expr, b: &Expr, row: &[Val]) -> Result<Typed, EvalError> {
    use BinOp::*;
    let plain = |v: Val| Ok((v, None));
    match op {
        // AND / OR short-circuit like MariaDB (a decided left side skips the right).
        And => {
            let l = a.eval_bool(row)?;
            if l == Some(false) {
                return plain(Val::bool(false));
            }
            plain(tri(and3(l, b.eval_bool(row)?)))
        }
        Or => {
            let l = a.eval_bool(row)?;
            if l == Some(true) {
                return plain(Val::bool(true));
            }
            plain(tri(or3(l, b.eval_bool(row)?)))
        }
        Xor => match (a.eval_bool(row)?, b.eval_bool(row)?) {
            (Some(p), Some(q)) => plain(Val::bool(p != q)),
            _ => plain(Val::Null),
        },
        Eq | NotEq | Lt | LtEq | Gt | GtEq | NullSafeEq => {
            let (x, y) = (a.eval(row)?, b.eval(row)?);
            let o = compare_ops(a, &x, b, &y);
            plain(match op {
                NullSafeEq => Val::bool(match (x.is_null(), y.is_null()) {
                    (true, true) => true,
                    (false, false) => o == Some(Ordering::Equal),
                    _ => false,
                }),
                Eq => tri(o.map(|o| o == Ordering::Equal)),
                NotEq => tri(o.map(|o| o != Ordering::Equal)),
                Lt => tri(o.map(|o| o == Ordering::Less)),
                LtEq => tri(o.map(|o| o != Ordering::Greater)),
                Gt => tri(o.map(|o| o == Ordering::Greater)),
                _ => tri(o.map(|o| o != Ordering::Less)),
            })
        }
        Add | Sub | Mul | Div | DivP(_) | IntDiv | Mod => {
            let ((x, dx), (y, dy)) = (a.eval_t(row)?, b.eval_t(row)?);
            let r = match op {
                Add => arith::add(&x, &y)?,
                Sub => arith::sub(&x, &y)?,
                Mul => arith::mul(&x, &y)?,
                Div => arith::div(&x, &y)?,
                DivP(incr) => arith::div_with(&x, &y, incr)?,
                IntDiv => arith::int_div(&x, &y)?,
                _ => arith::rem(&x, &y)?,
            };
            let (sx, sy) = (declared(&x, dx), declared(&y, dy));
            let want = match op {
                Mul => sx.saturating_add(sy),
                Div => sx.saturating_add(arith::DIV_INCR),
                DivP(incr) => sx.saturating_add(incr),
                _ => sx.max(sy),
            };
            let d = decl_for(&r, want.min(super::decimal::MAX_SCALE));
            Ok((r, d))
        }
    }
}

impl BinOp {
    pub fn symbol(&self) -> &'static str {
        use BinOp::*;
        match self {
            Add => "+",
            Sub => "-",
            Mul => "*",
            Div | DivP(_) => "/",
            IntDiv => "DIV",
            Mod => "MOD",
            Eq => "=",
            NotEq => "<>",
            NullSafeEq => "<=>",
            Lt => "<",
            LtEq => "<=",
            Gt => ">",
            GtEq => ">=",
            And => "and",
            Or => "or",
            Xor => "xor",
        }
    }
}
