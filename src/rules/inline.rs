//! Inline expressions, ShardingSphere style.
//!
//! - Node expressions: `ds_${0..1}.t_order_${0..1}`, `ds_${['a','b']}.t`, several joined by
//!   commas (`ds_0.t_0, ds_1.t_${1..2}`). `$->{...}` is accepted as a synonym of `${...}`.
//!   Groups expand left to right, leftmost slowest (`ds_0.t_0, ds_0.t_1, ds_1.t_0, ...`).
//! - Algorithm expressions: `t_order_${order_id % 2}` — integer arithmetic (`+ - * / %`,
//!   unary minus, parentheses) over the sharding column.

use std::fmt;

/// Upper bound on the number of nodes one `actual_data_nodes` value may expand to.
pub(crate) const MAX_EXPANSION: usize = 100_000;

enum Piece<'a> {
    Literal(&'a str),
    Group(&'a str),
}

/// Splits `a${x}b$->{y}` into literal and group pieces.
fn pieces(text: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    loop {
        let start = match rest.find('$') {
            Some(i) => i,
            None => {
                if !rest.is_empty() {
                    out.push(Piece::Literal(rest));
                }
                return Ok(out);
            }
        };
        let open_len = if rest[start..].starts_with("${") {
            2
        } else if rest[start..].starts_with("$->{") {
            4
        } else {
            return Err(format!("`$` must start `${{...}}` in `{text}`"));
        };
        if start > 0 {
            out.push(Piece::Literal(&rest[..start]));
        }
        let body_start = start + open_len;
        let close = match rest[body_start..].find('}') {
            Some(i) => body_start + i,
            None => return Err(format!("unclosed `${{` in `{text}`")),
        };
        let body = &rest[body_start..close];
        if body.contains('{') {
            return Err(format!("nested `{{` in `{text}`"));
        }
        out.push(Piece::Group(body));
        rest = &rest[close + 1..];
    }
}

/// Splits on commas that are outside `${...}` / `[...]`.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '{' | '[' => depth += 1,
            '}' | ']' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out
}

fn unquote(item: &str) -> Result<String, String> {
    let item = item.trim();
    for q in ['\'', '"'] {
        if let Some(inner) = item.strip_prefix(q).and_then(|s| s.strip_suffix(q)) {
            if inner.contains(q) {
                return Err(format!("bad list item `{item}`"));
            }
            return Ok(inner.to_string());
        }
    }
    if !item.is_empty()
        && item
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        Ok(item.to_string())
    } else {
        Err(format!("bad list item `{item}`"))
    }
}

/// Values of one `${...}` group of a node expression.
fn group_values(body: &str) -> Result<Vec<String>, String> {
    let b = body.trim();
    if let Some(inner) = b.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        if inner.trim().is_empty() {
            return Err("empty list `${[]}`".to_string());
        }
        return inner.split(',').map(unquote).collect();
    }
    if let Some((lo, hi)) = b.split_once("..") {
        let lo_t = lo.trim();
        let hi_t = hi.trim();
        let lo_n: i64 = lo_t
            .parse()
            .map_err(|_| format!("bad range `${{{body}}}`: `{lo_t}` is not an integer"))?;
        let hi_n: i64 = hi_t
            .parse()
            .map_err(|_| format!("bad range `${{{body}}}`: `{hi_t}` is not an integer"))?;
        if lo_n > hi_n {
            return Err(format!("empty range `${{{body}}}`"));
        }
        if hi_n
            .checked_sub(lo_n)
            .is_none_or(|d| d >= MAX_EXPANSION as i64)
        {
            return Err(format!("range `${{{body}}}` is too large"));
        }
        // `${00..03}` keeps the zero padding of the lower bound.
        let width = if lo_t.len() > 1 && lo_t.starts_with('0') {
            lo_t.len()
        } else {
            0
        };
        return Ok((lo_n..=hi_n).map(|i| format!("{i:0width$}")).collect());
    }
    Ok(vec![unquote(b)?])
}

fn expand_one(expr: &str) -> Result<Vec<String>, String> {
    let mut acc = vec![String::new()];
    for piece in pieces(expr)? {
        match piece {
            Piece::Literal(l) => acc.iter_mut().for_each(|s| s.push_str(l)),
            Piece::Group(body) => {
                let vals = group_values(body)?;
                if acc.len().saturating_mul(vals.len()) > MAX_EXPANSION {
                    return Err(format!(
                        "`{expr}` expands to more than {MAX_EXPANSION} nodes"
                    ));
                }
                let mut next = Vec::with_capacity(acc.len() * vals.len());
                for prefix in &acc {
                    for v in &vals {
                        next.push(format!("{prefix}{v}"));
                    }
                }
                acc = next;
            }
        }
    }
    Ok(acc)
}

/// Expands a (comma-separated) node expression into `(data_source, table)` pairs, in order.
/// Every expanded name must have the form `data_source.table`.
pub fn expand_node_expression(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for part in split_top_level(text) {
        let part = part.trim();
        if part.is_empty() {
            return Err(format!("empty node expression in `{text}`"));
        }
        for name in expand_one(part)? {
            let (ds, table) = match name.split_once('.') {
                Some((d, t)) if !d.is_empty() && !t.is_empty() && !t.contains('.') => (d, t),
                _ => {
                    return Err(format!(
                        "node `{name}` must have the form `data_source.table`"
                    ))
                }
            };
            if name.contains(char::is_whitespace) {
                return Err(format!("node `{name}` contains whitespace"));
            }
            out.push((ds.to_string(), table.to_string()));
            if out.len() > MAX_EXPANSION {
                return Err(format!(
                    "`{text}` expands to more than {MAX_EXPANSION} nodes"
                ));
            }
        }
    }
    Ok(out)
}

/// Integer arithmetic expression over one column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expr {
    Num(i128),
    Column(String),
    Neg(Box<Expr>),
    Bin(Box<Expr>, char, Box<Expr>),
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Num(n) => write!(f, "{n}"),
            Expr::Column(c) => write!(f, "{c}"),
            Expr::Neg(e) => write!(f, "-({e})"),
            Expr::Bin(a, op, b) => write!(f, "({a} {op} {b})"),
        }
    }
}

impl Expr {
    fn columns<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Expr::Num(_) => {}
            Expr::Column(c) => out.push(c),
            Expr::Neg(e) => e.columns(out),
            Expr::Bin(a, _, b) => {
                a.columns(out);
                b.columns(out);
            }
        }
    }

    /// `%` is the non-negative remainder and `/` the matching floor division (Euclidean), so
    /// negative keys still land on an existing target.
    pub(crate) fn eval(&self, x: i128) -> Result<i128, String> {
        match self {
            Expr::Num(n) => Ok(*n),
            Expr::Column(_) => Ok(x),
            Expr::Neg(e) => e
                .eval(x)?
                .checked_neg()
                .ok_or_else(|| "arithmetic overflow".to_string()),
            Expr::Bin(a, op, b) => {
                let (a, b) = (a.eval(x)?, b.eval(x)?);
                let r = match op {
                    '+' => a.checked_add(b),
                    '-' => a.checked_sub(b),
                    '*' => a.checked_mul(b),
                    '/' | '%' if b == 0 => return Err("division by zero".to_string()),
                    '/' => a.checked_div_euclid(b),
                    _ => a.checked_rem_euclid(b),
                };
                r.ok_or_else(|| "arithmetic overflow".to_string())
            }
        }
    }
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn skip_ws(&mut self) {
        while let Some(c) = self.src[self.pos..].chars().next() {
            if c.is_whitespace() {
                self.pos += c.len_utf8();
            } else {
                break;
            }
        }
    }

    fn peek(&mut self) -> Option<char> {
        self.skip_ws();
        self.src[self.pos..].chars().next()
    }

    fn expr(&mut self) -> Result<Expr, String> {
        let mut lhs = self.term()?;
        while let Some(op @ ('+' | '-')) = self.peek() {
            self.pos += 1;
            lhs = Expr::Bin(Box::new(lhs), op, Box::new(self.term()?));
        }
        Ok(lhs)
    }

    fn term(&mut self) -> Result<Expr, String> {
        let mut lhs = self.unary()?;
        while let Some(op @ ('*' | '/' | '%')) = self.peek() {
            self.pos += 1;
            lhs = Expr::Bin(Box::new(lhs), op, Box::new(self.unary()?));
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        match self.peek() {
            Some('-') => {
                self.pos += 1;
                Ok(Expr::Neg(Box::new(self.unary()?)))
            }
            Some('+') => {
                self.pos += 1;
                self.unary()
            }
            _ => self.atom(),
        }
    }

    fn atom(&mut self) -> Result<Expr, String> {
        match self.peek() {
            Some('(') => {
                self.pos += 1;
                let e = self.expr()?;
                if self.peek() != Some(')') {
                    return Err(format!("expected `)` at offset {}", self.pos));
                }
                self.pos += 1;
                Ok(e)
            }
            Some(c) if c.is_ascii_digit() => {
                let start = self.pos;
                while self.src[self.pos..].starts_with(|c: char| c.is_ascii_digit()) {
                    self.pos += 1;
                }
                let lit = &self.src[start..self.pos];
                lit.parse()
                    .map(Expr::Num)
                    .map_err(|_| format!("integer `{lit}` is too large"))
            }
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                let start = self.pos;
                while self.src[self.pos..]
                    .starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                {
                    self.pos += 1;
                }
                Ok(Expr::Column(self.src[start..self.pos].to_ascii_lowercase()))
            }
            Some(c) => Err(format!("unexpected `{c}` at offset {}", self.pos)),
            None => Err("unexpected end of expression".to_string()),
        }
    }
}

pub(crate) fn parse_expr(src: &str) -> Result<Expr, String> {
    let mut p = Parser { src, pos: 0 };
    let e = p.expr()?;
    match p.peek() {
        None => Ok(e),
        Some(c) => Err(format!("unexpected `{c}` at offset {}", p.pos)),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Expr(Expr),
}

/// A compiled inline algorithm expression such as `t_order_${order_id % 2}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineTemplate {
    source: String,
    parts: Vec<Part>,
}

impl InlineTemplate {
    /// Compiles a template; it must contain at least one `${...}` group.
    pub fn parse(source: &str) -> Result<InlineTemplate, String> {
        let mut parts = Vec::new();
        for piece in pieces(source)? {
            match piece {
                Piece::Literal(l) => parts.push(Part::Text(l.to_string())),
                Piece::Group(body) => {
                    let e = parse_expr(body).map_err(|m| format!("`${{{body}}}`: {m}"))?;
                    parts.push(Part::Expr(e));
                }
            }
        }
        if !parts.iter().any(|p| matches!(p, Part::Expr(_))) {
            return Err(format!("`{source}` has no `${{...}}` expression"));
        }
        Ok(InlineTemplate {
            source: source.to_string(),
            parts,
        })
    }

    /// The template as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Distinct (lower-case) column names referenced, in order of appearance.
    pub fn columns(&self) -> Vec<&str> {
        let mut all = Vec::new();
        for p in &self.parts {
            if let Part::Expr(e) = p {
                e.columns(&mut all);
            }
        }
        let mut out: Vec<&str> = Vec::new();
        for c in all {
            if !out.contains(&c) {
                out.push(c);
            }
        }
        out
    }

    /// The target name for column value `x`.
    pub fn eval(&self, x: i128) -> Result<String, String> {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Expr(e) => out.push_str(&e.eval(x)?.to_string()),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_expressions() {
        let cases: &[(&str, &[&str])] = &[
            ("ds_0.t", &["ds_0.t"]),
            ("ds_${0..1}.t_user", &["ds_0.t_user", "ds_1.t_user"]),
            (
                "ds_${0..1}.t_order_${0..1}",
                &[
                    "ds_0.t_order_0",
                    "ds_0.t_order_1",
                    "ds_1.t_order_0",
                    "ds_1.t_order_1",
                ],
            ),
            ("ds_$->{0..1}.t", &["ds_0.t", "ds_1.t"]),
            (
                "ds_${['a', \"b\"]}.t_${[0,2]}",
                &["ds_a.t_0", "ds_a.t_2", "ds_b.t_0", "ds_b.t_2"],
            ),
            (
                "ds_0.t_${[0, 2]}, ds_1.t_${[1,3]}",
                &["ds_0.t_0", "ds_0.t_2", "ds_1.t_1", "ds_1.t_3"],
            ),
            ("ds_0.t_${00..02}", &["ds_0.t_00", "ds_0.t_01", "ds_0.t_02"]),
            ("ds_0.t_${7}", &["ds_0.t_7"]),
        ];
        for (expr, want) in cases {
            let got: Vec<String> = expand_node_expression(expr)
                .unwrap_or_else(|e| panic!("{expr}: {e}"))
                .into_iter()
                .map(|(d, t)| format!("{d}.{t}"))
                .collect();
            assert_eq!(got, *want, "{expr}");
        }
    }

    #[test]
    fn node_expression_errors() {
        let cases: &[(&str, &str)] = &[
            ("ds_${1..0}.t", "empty range `${1..0}`"),
            ("ds_${0..1.t", "unclosed `${` in `ds_${0..1.t`"),
            ("ds_${0..x}.t", "bad range `${0..x}`: `x` is not an integer"),
            ("ds_${[]}.t", "empty list `${[]}`"),
            (
                "ds_0t",
                "node `ds_0t` must have the form `data_source.table`",
            ),
            (
                "ds.a.b",
                "node `ds.a.b` must have the form `data_source.table`",
            ),
            ("ds_0.t,", "empty node expression in `ds_0.t,`"),
            ("ds_$0.t", "`$` must start `${...}` in `ds_$0.t`"),
            ("ds_${0..999999}.t", "range `${0..999999}` is too large"),
            (
                "ds_${-9000000000000000000..9000000000000000000}.t",
                "range `${-9000000000000000000..9000000000000000000}` is too large",
            ),
        ];
        for (expr, want) in cases {
            assert_eq!(
                expand_node_expression(expr).err().as_deref(),
                Some(*want),
                "{expr}"
            );
        }
    }

    #[test]
    fn inline_templates() {
        let cases: &[(&str, i128, &str)] = &[
            ("t_order_${order_id % 2}", 17, "t_order_1"),
            ("t_order_${order_id % 2}", -3, "t_order_1"),
            ("t_order_${order_id % 2}", 0, "t_order_0"),
            ("ds_${(user_id / 10) % 4}", 35, "ds_3"),
            ("ds_${(user_id / 10) % 4}", -1, "ds_3"),
            ("t_${ id * 2 + 1 - (3 - 1) }", 5, "t_9"),
            ("t_${-x % 3}", 4, "t_2"),
            ("t_$->{ID % 3}_${id % 2}", 5, "t_2_1"),
        ];
        for (src, x, want) in cases {
            let t = InlineTemplate::parse(src).unwrap_or_else(|e| panic!("{src}: {e}"));
            assert_eq!(t.eval(*x).as_deref(), Ok(*want), "{src} @ {x}");
        }
        let t = InlineTemplate::parse("t_${a % 2 + b}").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.columns(), vec!["a", "b"]);
        let t = InlineTemplate::parse("t_${a / 0}").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.eval(1), Err("division by zero".to_string()));
    }

    #[test]
    fn inline_template_errors() {
        let cases: &[(&str, &str)] = &[
            ("t_order_1", "`t_order_1` has no `${...}` expression"),
            ("t_${id %}", "`${id %}`: unexpected end of expression"),
            ("t_${(id % 2}", "`${(id % 2}`: expected `)` at offset 7"),
            (
                "t_${id.hashCode() % 2}",
                "`${id.hashCode() % 2}`: unexpected `.` at offset 2",
            ),
            ("t_${id % 2", "unclosed `${` in `t_${id % 2`"),
        ];
        for (src, want) in cases {
            assert_eq!(
                InlineTemplate::parse(src).err().as_deref(),
                Some(*want),
                "{src}"
            );
        }
    }
}
