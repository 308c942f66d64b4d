//! Expression trees over a row of values, evaluated with MySQL semantics.

use super::arith;
use super::func;
use super::num::format_double;
use super::value::Val;
use crate::error::SqlError;
use std::cmp::Ordering;
use std::fmt;

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
    /// Upper-case function name and arguments (see [`super::func`]).
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
    pub fn eval(&self, row: &[Val]) -> Result<Val, EvalError> {
        self.eval_inner(row).map_err(|e| e.within(self))
    }

    fn eval_inner(&self, row: &[Val]) -> Result<Val, EvalError> {
        Ok(match self {
            Expr::Lit(v) => v.clone(),
            Expr::Col(i) => row.get(*i).cloned().unwrap_or(Val::Null),
            Expr::Unary(UnOp::Neg, a) => arith::neg(&a.eval(row)?)?,
            Expr::Unary(UnOp::Not, a) => tri(not3(a.eval(row)?.truthy())),
            Expr::Binary(op, a, b) => binary(*op, a, b, row)?,
            Expr::IsNull(a, negated) => Val::bool(a.eval(row)?.is_null() != *negated),
            Expr::Between {
                expr,
                low,
                high,
                negated,
            } => {
                let v = expr.eval(row)?;
                let (l, h) = (low.eval(row)?, high.eval(row)?);
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
                let v = expr.eval(row)?;
                let mut r = Some(false);
                if v.is_null() {
                    r = None;
                } else {
                    for e in list {
                        // `x IN (a)` is `x = a`; longer lists use one comparison type.
                        let o = if list.len() == 1 {
                            compare_ops(expr, &v, e, &e.eval(row)?)
                        } else {
                            v.compare(&e.eval(row)?)
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
                    Some(o) => Some(o.eval(row)?),
                    None => None,
                };
                let mut chosen = None;
                for (i, (w, _)) in whens.iter().enumerate() {
                    let wv = w.eval(row)?;
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
                func::choose(&results, pick, row)?
            }
            Expr::Func(name, args) => func::call(name, args, row)?,
        })
    }
}

fn binary(op: BinOp, a: &Expr, b: &Expr, row: &[Val]) -> Result<Val, EvalError> {
    use BinOp::*;
    // AND / OR short-circuit like MariaDB (a decided left side skips the right).
    match op {
        And => {
            let l = a.eval(row)?.truthy();
            if l == Some(false) {
                return Ok(Val::bool(false));
            }
            return Ok(tri(and3(l, b.eval(row)?.truthy())));
        }
        Or => {
            let l = a.eval(row)?.truthy();
            if l == Some(true) {
                return Ok(Val::bool(true));
            }
            return Ok(tri(or3(l, b.eval(row)?.truthy())));
        }
        _ => {}
    }
    let (x, y) = (a.eval(row)?, b.eval(row)?);
    let cmp = |f: fn(Ordering) -> bool| tri(compare_ops(a, &x, b, &y).map(f));
    Ok(match op {
        Add => arith::add(&x, &y)?,
        Sub => arith::sub(&x, &y)?,
        Mul => arith::mul(&x, &y)?,
        Div => arith::div(&x, &y)?,
        IntDiv => arith::int_div(&x, &y)?,
        Mod => arith::rem(&x, &y)?,
        Eq => cmp(|o| o == Ordering::Equal),
        NotEq => cmp(|o| o != Ordering::Equal),
        Lt => cmp(|o| o == Ordering::Less),
        LtEq => cmp(|o| o != Ordering::Greater),
        Gt => cmp(|o| o == Ordering::Greater),
        GtEq => cmp(|o| o != Ordering::Less),
        NullSafeEq => Val::bool(match (x.is_null(), y.is_null()) {
            (true, true) => true,
            (false, false) => compare_ops(a, &x, b, &y) == Some(Ordering::Equal),
            _ => false,
        }),
        Xor => match (x.truthy(), y.truthy()) {
            (Some(p), Some(q)) => Val::bool(p != q),
            _ => Val::Null,
        },
        And | Or => Val::Null,
    })
}

impl BinOp {
    pub fn symbol(&self) -> &'static str {
        use BinOp::*;
        match self {
            Add => "+",
            Sub => "-",
            Mul => "*",
            Div => "/",
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

impl fmt::Display for Val {
    /// SQL-literal-like text (used in error messages).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Val::Null => f.write_str("NULL"),
            Val::Int(i) => write!(f, "{i}"),
            Val::UInt(u) => write!(f, "{u}"),
            Val::Dec(d) => write!(f, "{d}"),
            Val::Double(x) => f.write_str(&format_double(*x)),
            Val::Str(b, _) | Val::Temporal(b, _) => {
                write!(f, "'{}'", String::from_utf8_lossy(b).replace('\'', "\\'"))
            }
        }
    }
}

fn paren(e: &Expr, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match e {
        Expr::Binary(..) | Expr::Between { .. } | Expr::InList { .. } | Expr::IsNull(..) => {
            write!(f, "({e})")
        }
        _ => write!(f, "{e}"),
    }
}

fn list(f: &mut fmt::Formatter<'_>, items: &[Expr]) -> fmt::Result {
    for (i, a) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(",")?;
        }
        write!(f, "{a}")?;
    }
    Ok(())
}

impl fmt::Display for Expr {
    /// MariaDB-like text; input columns print as `col<i>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Lit(v) => write!(f, "{v}"),
            Expr::Col(i) => write!(f, "col{i}"),
            Expr::Unary(UnOp::Neg, a) => {
                f.write_str("-")?;
                paren(a, f)
            }
            Expr::Unary(UnOp::Not, a) => {
                f.write_str("!")?;
                paren(a, f)
            }
            Expr::Binary(op, a, b) => {
                paren(a, f)?;
                write!(f, " {} ", op.symbol())?;
                paren(b, f)
            }
            Expr::IsNull(a, neg) => {
                paren(a, f)?;
                f.write_str(if *neg { " is not null" } else { " is null" })
            }
            Expr::Between {
                expr,
                low,
                high,
                negated,
            } => {
                paren(expr, f)?;
                let not = if *negated { " not" } else { "" };
                write!(f, "{not} between ")?;
                paren(low, f)?;
                f.write_str(" and ")?;
                paren(high, f)
            }
            Expr::InList {
                expr,
                list: items,
                negated,
            } => {
                paren(expr, f)?;
                f.write_str(if *negated { " not in (" } else { " in (" })?;
                list(f, items)?;
                f.write_str(")")
            }
            Expr::Case {
                operand,
                whens,
                else_,
            } => {
                f.write_str("case ")?;
                if let Some(o) = operand {
                    write!(f, "{o} ")?;
                }
                for (w, t) in whens {
                    write!(f, "when {w} then {t} ")?;
                }
                if let Some(e) = else_ {
                    write!(f, "else {e} ")?;
                }
                f.write_str("end")
            }
            Expr::Func(name, args) => {
                write!(f, "{}(", name.to_ascii_lowercase())?;
                list(f, args)?;
                f.write_str(")")
            }
        }
    }
}
