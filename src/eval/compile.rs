//! sqlparser AST -> [`Expr`].

use super::decimal::Decimal;
use super::expr::{BinOp, Expr, UnOp};
use super::func::FUNCTIONS;
use super::value::{Val, DEFAULT_COLLATION};
use bytes::Bytes;
use sqlparser::ast::{
    self, BinaryOperator, CeilFloorKind, DateTimeField, FunctionArg, FunctionArgExpr,
    FunctionArguments, InTarget, UnaryOperator, Value,
};

/// What could not be compiled, described for an ER_NOT_SUPPORTED_YET message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported(pub String);

type Resolve<'a> = dyn FnMut(&ast::Expr) -> Option<usize> + 'a;

/// Converts a sqlparser expression. `resolve` sees every node first
/// (pre-order); `Some(i)` turns that node into `Expr::Col(i)` without
/// visiting its children.
pub fn compile(
    e: &ast::Expr,
    resolve: &mut dyn FnMut(&ast::Expr) -> Option<usize>,
) -> Result<Expr, Unsupported> {
    compile_with(e, resolve, &Options::default())
}

/// Session settings that change what an expression means.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// sql_mode PIPES_AS_CONCAT: `||` is CONCAT, not OR.
    pub pipes_as_concat: bool,
    /// div_precision_increment when not the default 4 (None).
    pub div_precision: Option<u8>,
}

/// [`compile`] under the session's settings.
pub fn compile_with(
    e: &ast::Expr,
    resolve: &mut dyn FnMut(&ast::Expr) -> Option<usize>,
    opts: &Options,
) -> Result<Expr, Unsupported> {
    if let Some(i) = resolve(e) {
        return Ok(Expr::Col(i));
    }
    if let ast::Expr::Function(f) = e {
        return function(f, resolve, opts);
    }
    let mut sub = |x: &ast::Expr| compile_with(x, &mut *resolve, opts).map(Box::new);
    use ast::Expr as A;
    Ok(match e {
        A::Nested(x) => *sub(x)?,
        A::Value(v) => Expr::Lit(literal(&v.value)?),
        A::UnaryOp { op, expr } => match op {
            UnaryOperator::Plus => *sub(expr)?,
            UnaryOperator::Minus => match *sub(expr)? {
                Expr::Lit(v) => Expr::Lit(negate_literal(v)),
                x => Expr::Unary(UnOp::Neg, Box::new(x)),
            },
            UnaryOperator::Not | UnaryOperator::BangNot => Expr::Unary(UnOp::Not, sub(expr)?),
            other => return Err(unsupported(format!("operator {other}"))),
        },
        A::BinaryOp {
            left,
            op: ast::BinaryOperator::StringConcat,
            right,
        } if opts.pipes_as_concat => Expr::Func("CONCAT".into(), vec![*sub(left)?, *sub(right)?]),
        A::BinaryOp { left, op, right } => {
            let op = match (binary_op(op)?, opts.div_precision) {
                (BinOp::Div, Some(incr)) => BinOp::DivP(incr),
                (op, _) => op,
            };
            Expr::Binary(op, sub(left)?, sub(right)?)
        }
        A::IsNull(x) => Expr::IsNull(sub(x)?, false),
        A::IsNotNull(x) => Expr::IsNull(sub(x)?, true),
        A::IsUnknown(x) => Expr::IsNull(sub(x)?, false),
        A::IsNotUnknown(x) => Expr::IsNull(sub(x)?, true),
        A::IsTrue(x) => is_bool(*sub(x)?, true, false),
        A::IsNotTrue(x) => is_bool(*sub(x)?, true, true),
        A::IsFalse(x) => is_bool(*sub(x)?, false, false),
        A::IsNotFalse(x) => is_bool(*sub(x)?, false, true),
        A::IsNotDistinctFrom(a, b) => Expr::Binary(BinOp::NullSafeEq, sub(a)?, sub(b)?),
        A::IsDistinctFrom(a, b) => Expr::Unary(
            UnOp::Not,
            Box::new(Expr::Binary(BinOp::NullSafeEq, sub(a)?, sub(b)?)),
        ),
        A::Between {
            expr,
            negated,
            low,
            high,
        } => Expr::Between {
            expr: sub(expr)?,
            low: sub(low)?,
            high: sub(high)?,
            negated: *negated,
        },
        A::In {
            expr,
            target: InTarget::List(list),
            negated,
            ..
        } => Expr::InList {
            expr: sub(expr)?,
            list: list
                .iter()
                .map(|x| sub(x).map(|b| *b))
                .collect::<Result<_, _>>()?,
            negated: *negated,
        },
        A::Case {
            operand,
            conditions,
            else_result,
            ..
        } => Expr::Case {
            operand: operand.as_deref().map(&mut sub).transpose()?,
            whens: conditions
                .iter()
                .map(|w| Ok((*sub(&w.condition)?, *sub(&w.result)?)))
                .collect::<Result<_, Unsupported>>()?,
            else_: else_result.as_deref().map(&mut sub).transpose()?,
        },
        A::Ceil {
            expr,
            field: CeilFloorKind::DateTimeField(DateTimeField::NoDateTime),
        } => Expr::Func("CEIL".into(), vec![*sub(expr)?]),
        A::Floor {
            expr,
            field: CeilFloorKind::DateTimeField(DateTimeField::NoDateTime),
        } => Expr::Func("FLOOR".into(), vec![*sub(expr)?]),
        A::Identifier(_) | A::CompoundIdentifier(_) => {
            return Err(unsupported(format!("column {e}")))
        }
        other => return Err(unsupported(format!("expression {other}"))),
    })
}

fn unsupported(s: String) -> Unsupported {
    Unsupported(s)
}

/// `x IS [NOT] TRUE/FALSE` as CASE: never NULL.
fn is_bool(x: Expr, truth: bool, negated: bool) -> Expr {
    let one = || Expr::Lit(Val::Int(1));
    let zero = || Expr::Lit(Val::Int(0));
    let (hit, miss) = if negated {
        (zero(), one())
    } else {
        (one(), zero())
    };
    let cond = if truth {
        x
    } else {
        Expr::Binary(
            BinOp::And,
            Box::new(Expr::IsNull(Box::new(x.clone()), true)),
            Box::new(Expr::Unary(UnOp::Not, Box::new(x))),
        )
    };
    Expr::Case {
        operand: None,
        whens: vec![(cond, hit)],
        else_: Some(Box::new(miss)),
    }
}

fn binary_op(op: &BinaryOperator) -> Result<BinOp, Unsupported> {
    use BinaryOperator as B;
    Ok(match op {
        B::Plus => BinOp::Add,
        B::Minus => BinOp::Sub,
        B::Multiply => BinOp::Mul,
        B::Divide => BinOp::Div,
        B::MyIntegerDivide => BinOp::IntDiv,
        B::Modulo => BinOp::Mod,
        B::Eq => BinOp::Eq,
        B::NotEq => BinOp::NotEq,
        B::Spaceship => BinOp::NullSafeEq,
        B::Lt => BinOp::Lt,
        B::LtEq => BinOp::LtEq,
        B::Gt => BinOp::Gt,
        B::GtEq => BinOp::GtEq,
        B::And => BinOp::And,
        // `||` is OR in MariaDB's default sql_mode (no PIPES_AS_CONCAT).
        B::Or | B::StringConcat => BinOp::Or,
        B::Xor => BinOp::Xor,
        other => return Err(unsupported(format!("operator {other}"))),
    })
}

/// A literal typed as MySQL types it: 1 BIGINT, 18446744073709551615
/// BIGINT UNSIGNED, larger or 1.5 DECIMAL, 1e3 DOUBLE.
pub fn literal(v: &Value) -> Result<Val, Unsupported> {
    Ok(match v {
        Value::Number(s, _) => number(s).ok_or_else(|| unsupported(format!("number {s}")))?,
        Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => {
            Val::Str(Bytes::from(s.clone().into_bytes()), DEFAULT_COLLATION)
        }
        Value::Boolean(b) => Val::bool(*b),
        Value::Null => Val::Null,
        other => return Err(unsupported(format!("literal {other}"))),
    })
}

fn number(s: &str) -> Option<Val> {
    if s.contains(['e', 'E']) {
        let x: f64 = s.parse().ok()?;
        return x.is_finite().then_some(Val::Double(x));
    }
    if s.contains('.') {
        return Decimal::parse(s).map(Val::Dec);
    }
    if !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    match s.parse::<u64>() {
        Ok(u) => Some(i64::try_from(u).map_or(Val::UInt(u), Val::Int)),
        Err(_) => Decimal::parse(s).map(Val::Dec),
    }
}

/// `-literal` folded as MariaDB does for constants: -9223372036854775808 is
/// BIGINT, -(-9223372036854775808) and -18446744073709551615 are DECIMAL.
fn negate_literal(v: Val) -> Val {
    match v {
        Val::Int(i) => match i.checked_neg() {
            Some(n) => Val::Int(n),
            None => Val::Dec(Decimal::new(-i128::from(i), 0)),
        },
        Val::UInt(u) => {
            let n = -i128::from(u);
            i64::try_from(n).map_or(Val::Dec(Decimal::new(n, 0)), Val::Int)
        }
        Val::Dec(d) => Val::Dec(Decimal::new(-d.mantissa, d.scale)),
        Val::Double(x) => Val::Double(-x),
        Val::Str(b, _) => Val::Double(-super::num::str_to_f64(&b)),
        other => other,
    }
}

fn function(
    f: &ast::Function,
    resolve: &mut Resolve<'_>,
    opts: &Options,
) -> Result<Expr, Unsupported> {
    let name = f.name.to_string().to_ascii_uppercase();
    let bad = || unsupported(format!("function {}", f));
    if f.filter.is_some() || f.over.is_some() || !f.within_group.is_empty() {
        return Err(bad());
    }
    if !matches!(f.parameters, FunctionArguments::None) {
        return Err(bad());
    }
    let args: &[FunctionArg] = match &f.args {
        FunctionArguments::List(l) if l.duplicate_treatment.is_none() && l.clauses.is_empty() => {
            &l.args
        }
        FunctionArguments::None => &[],
        _ => return Err(bad()),
    };
    let mut out = Vec::with_capacity(args.len());
    for a in args {
        match a {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => {
                out.push(compile_with(x, &mut *resolve, opts)?)
            }
            _ => return Err(bad()),
        }
    }
    let n = out.len();
    if !FUNCTIONS
        .iter()
        .any(|(name2, lo, hi)| *name2 == name && (*lo..=*hi).contains(&n))
    {
        return Err(bad());
    }
    let canonical = match name.as_str() {
        "CEILING" => "CEIL",
        "LCASE" => "LOWER",
        "UCASE" => "UPPER",
        "OCTET_LENGTH" => "LENGTH",
        "CHARACTER_LENGTH" => "CHAR_LENGTH",
        other => other,
    };
    Ok(Expr::Func(canonical.to_string(), out))
}
