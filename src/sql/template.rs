//! Statement templates for repeated text queries: the literals compared with columns in a
//! SELECT's WHERE clause become `?`, so statements that differ only in those values share one
//! parsed statement (planned like a prepared statement with the literals bound).
//!
//! The scanner is deliberately narrow: it gives up on anything it does not fully understand
//! (comments, backslashes, doubled quotes, `?`), and a template is only used when every `?` in
//! its parse is a plain operand compared with a column (see [`only_compared_values`]).

use crate::rules::ShardValue;
use sqlparser::ast::{BinaryOperator, Expr, InTarget, SetExpr, Statement, UnaryOperator, Value};
use std::ops::Range;

/// A literal taken out of a statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// Decimal digits only.
    Int(Range<usize>),
    /// A single-quoted string without escapes or doubled quotes (range includes the quotes).
    Str(Range<usize>),
}

impl Literal {
    pub fn range(&self) -> Range<usize> {
        match self {
            Literal::Int(r) | Literal::Str(r) => r.clone(),
        }
    }

    /// The routing value, exactly as the planner reads the same literal from the parse.
    pub fn value(&self, sql: &str) -> ShardValue {
        match self {
            Literal::Int(r) => crate::route::conditions::number(&sql[r.clone()]),
            Literal::Str(r) => ShardValue::Str(sql.as_bytes()[r.start + 1..r.end - 1].to_vec()),
        }
    }
}

/// A statement with its comparison literals replaced by `?`.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub text: String,
    pub literals: Vec<Literal>,
}

fn ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// What came before a literal (the last significant token).
#[derive(Clone, Copy, PartialEq)]
enum Prev {
    Other,
    /// `=`, `<`, `>`, `<=`, `>=`, `<>`, `!=`, `<=>`
    Compare,
    /// BETWEEN, or the AND of a BETWEEN
    Between,
    /// `(` right after IN, or `,` inside such a list
    InList,
}

/// The template of `sql`, or `None` when the scanner cannot be sure of every token (or the
/// statement has no literal to take out).
pub fn extract(sql: &str) -> Option<Template> {
    let b = sql.as_bytes();
    let mut text = String::with_capacity(sql.len());
    let mut literals = Vec::new();
    let mut copied = 0;
    let mut prev = Prev::Other;
    let mut last_word_in = false;
    let mut in_list = false;
    let mut between = false;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'?' | b'\\' | b'#' => return None,
            b'-' if b.get(i + 1) == Some(&b'-') => return None,
            b'/' if b.get(i + 1) == Some(&b'*') => return None,
            b'"' | b'`' => {
                let end = i + 1 + b[i + 1..].iter().position(|&x| x == c)?;
                if c == b'"' && b[i + 1..end].contains(&b'\\') {
                    return None;
                }
                // A doubled quote continues the name or string: give up.
                if b.get(end + 1) == Some(&c) {
                    return None;
                }
                i = end + 1;
                prev = Prev::Other;
                last_word_in = false;
            }
            b'\'' => {
                let end = i + 1 + b[i + 1..].iter().position(|&x| x == b'\'')?;
                if b[i + 1..end].contains(&b'\\') || b.get(end + 1) == Some(&b'\'') {
                    return None;
                }
                // An introducer or prefix (_utf8'x', N'x', X'..') sticks to the quote.
                let glued = i > 0 && ident_byte(b[i - 1]);
                if prev != Prev::Other && !glued {
                    text.push_str(&sql[copied..i]);
                    text.push('?');
                    copied = end + 1;
                    literals.push(Literal::Str(i..end + 1));
                }
                i = end + 1;
                prev = Prev::Other;
                last_word_in = false;
            }
            b'0'..=b'9' => {
                let start = i;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                let glued_before = start > 0 && (ident_byte(b[start - 1]) || b[start - 1] == b'.');
                let glued_after = i < b.len() && (ident_byte(b[i]) || b[i] == b'.');
                if glued_after || glued_before {
                    // 1.5, 1e3, 0x1f, 12abc (an identifier), t1: part of a longer token.
                    while i < b.len() && (ident_byte(b[i]) || b[i] == b'.') {
                        i += 1;
                    }
                } else if prev != Prev::Other {
                    text.push_str(&sql[copied..start]);
                    text.push('?');
                    copied = i;
                    literals.push(Literal::Int(start..i));
                }
                prev = Prev::Other;
                last_word_in = false;
            }
            b'=' | b'<' | b'>' | b'!' => {
                while i < b.len() && matches!(b[i], b'=' | b'<' | b'>' | b'!') {
                    i += 1;
                }
                prev = Prev::Compare;
                last_word_in = false;
            }
            b'(' => {
                i += 1;
                if in_list {
                    // Nested parentheses in a list: row constructors, expressions.
                    return None;
                }
                in_list = last_word_in;
                prev = if in_list { Prev::InList } else { Prev::Other };
                last_word_in = false;
            }
            b')' => {
                i += 1;
                in_list = false;
                prev = Prev::Other;
                last_word_in = false;
            }
            b',' => {
                i += 1;
                prev = if in_list { Prev::InList } else { Prev::Other };
                last_word_in = false;
            }
            _ if ident_byte(c) || c == b'@' => {
                let start = i;
                i += 1;
                while i < b.len() && (ident_byte(b[i]) || b[i] == b'@') {
                    i += 1;
                }
                let w = &sql[start..i];
                last_word_in = w.eq_ignore_ascii_case("IN");
                prev = Prev::Other;
                if w.eq_ignore_ascii_case("BETWEEN") {
                    between = true;
                    prev = Prev::Between;
                } else if between && w.eq_ignore_ascii_case("AND") {
                    between = false;
                    prev = Prev::Between;
                }
            }
            _ => {
                i += 1;
                prev = Prev::Other;
                last_word_in = false;
            }
        }
    }
    if literals.is_empty() {
        return None;
    }
    text.push_str(&sql[copied..]);
    Some(Template { text, literals })
}

/// Whether `n` placeholders of a parsed template are all plain operands compared with a
/// column in the WHERE clause of a plain SELECT (`col = ?`, `col IN (?, ...)`, `col BETWEEN
/// ? AND ?`, under AND / OR / NOT / parentheses). Only there does a bound value plan exactly
/// like the literal it replaced.
pub fn only_compared_values(stmt: &Statement, n: usize) -> bool {
    let Statement::Query(q) = stmt else {
        return false;
    };
    let SetExpr::Select(s) = q.body.as_ref() else {
        return false;
    };
    match &s.selection {
        Some(e) => compared_placeholders(e) == n,
        None => false,
    }
}

fn is_placeholder(e: &Expr) -> bool {
    matches!(e, Expr::Value(v) if matches!(&v.value, Value::Placeholder(p) if p == "?"))
}

fn is_column(e: &Expr) -> bool {
    matches!(e, Expr::Identifier(_) | Expr::CompoundIdentifier(_))
}

fn compared_placeholders(e: &Expr) -> usize {
    use BinaryOperator::*;
    match e {
        Expr::Nested(x) => compared_placeholders(x),
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr,
        } => compared_placeholders(expr),
        Expr::BinaryOp { left, op, right } => match op {
            And | Or => compared_placeholders(left) + compared_placeholders(right),
            Eq | NotEq | Lt | LtEq | Gt | GtEq | Spaceship => {
                let pair = (is_column(left) && is_placeholder(right))
                    || (is_placeholder(left) && is_column(right));
                usize::from(pair)
            }
            _ => 0,
        },
        Expr::In {
            expr,
            target: InTarget::List(list),
            ..
        } if is_column(expr) => list.iter().filter(|x| is_placeholder(x)).count(),
        Expr::Between {
            expr, low, high, ..
        } if is_column(expr) => {
            usize::from(is_placeholder(low)) + usize::from(is_placeholder(high))
        }
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tpl(sql: &str) -> Option<String> {
        extract(sql).map(|t| t.text)
    }

    #[test]
    fn comparison_literals_become_placeholders() {
        assert_eq!(
            tpl("SELECT c FROM sbtest1 WHERE id=42").as_deref(),
            Some("SELECT c FROM sbtest1 WHERE id=?")
        );
        let t = extract(
            "SELECT * FROM t1 WHERE a >= 'x y' AND b IN (1, 22) AND c BETWEEN 3 AND 4 LIMIT 10",
        )
        .unwrap();
        assert_eq!(
            t.text,
            "SELECT * FROM t1 WHERE a >= ? AND b IN (?, ?) AND c BETWEEN ? AND ? LIMIT 10"
        );
        assert_eq!(t.literals.len(), 5);
        let sql = "SELECT * FROM t WHERE a = 'x y'";
        let t = extract(sql).unwrap();
        assert_eq!(t.literals[0].value(sql), ShardValue::Str(b"x y".to_vec()));
    }

    #[test]
    fn gives_up_or_keeps_what_it_cannot_be_sure_of() {
        for sql in [
            "SELECT 1 FROM t WHERE a = 'it''s'",
            "SELECT 1 FROM t WHERE a = 'a\\'b'",
            "SELECT 1 FROM t WHERE a = ? ",
            "SELECT 1 FROM t WHERE a = 1 -- c",
            "SELECT 1 FROM t WHERE a = 1 /* c */",
            "SELECT 1 FROM t WHERE a = 1 # c",
            "SELECT 1 FROM t WHERE (a, b) IN ((1, 2))",
        ] {
            assert_eq!(tpl(sql), None, "{sql}");
        }
        // Literals elsewhere, decimals, hex, prefixed strings and names stay as written.
        assert_eq!(
            tpl("SELECT 5, t1.a FROM t1 WHERE a = 1.5 OR b = 0x1f OR c = _utf8mb4'x' OR d = 7 ORDER BY 1"),
            Some("SELECT 5, t1.a FROM t1 WHERE a = 1.5 OR b = 0x1f OR c = _utf8mb4'x' OR d = ? ORDER BY 1".into())
        );
        assert_eq!(tpl("SELECT f(1, 2) FROM t"), None);
    }

    #[test]
    fn only_plain_compared_operands_qualify() {
        let check = |sql: &str| {
            let t = extract(sql).unwrap();
            let stmt = crate::sql::parse_one(&t.text).unwrap();
            only_compared_values(&stmt, t.literals.len())
        };
        assert!(check("SELECT c FROM t WHERE id = 1"));
        assert!(check(
            "SELECT c FROM t WHERE (id = 1 OR t.k IN (2, 3)) AND NOT x BETWEEN 1 AND 2"
        ));
        // Literals the scanner keeps (negative numbers, LIMIT) are part of the template.
        assert!(check("SELECT c FROM t WHERE id = 1 AND k = -1 LIMIT 1"));
        assert!(!check("SELECT c FROM t WHERE id + 1 = 1"));
        assert!(!check("SELECT c FROM t WHERE 1 = 1"));
        assert!(!check("SELECT c FROM t WHERE id = 'a' COLLATE utf8mb4_bin"));
    }
}
