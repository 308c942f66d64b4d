//! SQL-like text of values and expressions (for error messages).

use super::expr::{Expr, UnOp};
use super::num::format_double;
use super::value::Val;
use std::fmt;

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
