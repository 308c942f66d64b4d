//! Rendering the fuzzer's syntax tree as SQL text, with literals inline or as `?`
//! parameters.

use super::*;
use mysql_async::Value;

/// Where the SQL text and the parameters go.
pub struct Sql {
    pub text: String,
    pub params: Vec<Value>,
    /// Turn parameterisable literals into `?`.
    pub parametrize: bool,
    /// Column qualifier (`o.` / `t_order.`), empty for none.
    pub qual: String,
    /// Spell every other column reference in upper case.
    pub case_mix: bool,
    pub(super) cols: usize,
    /// How the current query's table can be qualified (alias, else table name), and the
    /// same for the enclosing queries (innermost last).
    pub(super) scope: String,
    pub(super) outer: Vec<String>,
}

impl Sql {
    fn lit(&mut self, l: &Lit, may_param: bool) {
        if self.parametrize && may_param && *l != Lit::Null {
            self.text.push('?');
            self.params.push(match l {
                Lit::Int(v) => Value::Int(*v),
                Lit::IntStr(v) | Lit::Dec(v) | Lit::Str(v) => Value::Bytes(v.clone().into_bytes()),
                Lit::Time(t) => time_value(t),
                Lit::Null => Value::NULL,
            });
            return;
        }
        match l {
            Lit::Int(v) => self.text.push_str(&v.to_string()),
            Lit::Dec(v) => self.text.push_str(v),
            Lit::IntStr(v) | Lit::Str(v) | Lit::Time(v) => {
                self.text.push('\'');
                self.text
                    .push_str(&v.replace('\\', "\\\\").replace('\'', "''"));
                self.text.push('\'');
            }
            Lit::Null => self.text.push_str("NULL"),
        }
    }

    fn child(&mut self, e: &Expr, parent: u8, wrap_equal: bool) {
        let p = prec(e);
        if p < parent || (wrap_equal && p == parent) {
            self.text.push('(');
            self.expr(e);
            self.text.push(')');
        } else {
            self.expr(e);
        }
    }

    pub fn expr(&mut self, e: &Expr) {
        match e {
            Expr::Col(c) => {
                self.text.push_str(&self.qual.clone());
                self.cols += 1;
                if self.case_mix && self.cols % 2 == 0 {
                    self.text.push_str(&c.to_uppercase());
                } else {
                    self.text.push_str(c);
                }
            }
            Expr::Outer(c) => {
                let q = self.outer.last().cloned().unwrap_or_default();
                self.text.push_str(&q);
                self.text.push('.');
                self.text.push_str(c);
            }
            Expr::Lit(l, p) => self.lit(l, *p),
            Expr::Alias(a) => self.text.push_str(a),
            Expr::Neg(a) => {
                self.text.push('-');
                self.child(a, 9, false);
            }
            Expr::Not(a) => {
                self.text.push_str("NOT (");
                self.expr(a);
                self.text.push(')');
            }
            Expr::Bin(a, op, b) => {
                let p = prec(e);
                let assoc = matches!(*op, "AND" | "OR");
                // Comparisons do not chain; `a - (b - c)` needs its parentheses.
                self.child(a, p, p == 4);
                self.text.push(' ');
                self.text.push_str(op);
                self.text.push(' ');
                self.child(b, p, !assoc);
            }
            Expr::Func(f, args) => {
                self.text.push_str(f);
                self.text.push('(');
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        self.text.push_str(", ");
                    }
                    self.expr(a);
                }
                self.text.push(')');
            }
            Expr::Agg(f, distinct, args) => {
                self.text.push_str(f.name());
                self.text.push('(');
                if *distinct {
                    self.text.push_str("DISTINCT ");
                }
                if args.is_empty() {
                    self.text.push('*');
                }
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        self.text.push_str(", ");
                    }
                    self.expr(a);
                }
                self.text.push(')');
            }
            Expr::IsNull(a, not) => {
                self.child(a, 5, false);
                self.text
                    .push_str(if *not { " IS NOT NULL" } else { " IS NULL" });
            }
            Expr::In(a, list, not) => {
                self.child(a, 5, false);
                self.text.push_str(if *not { " NOT IN (" } else { " IN (" });
                for (i, x) in list.iter().enumerate() {
                    if i > 0 {
                        self.text.push_str(", ");
                    }
                    self.expr(x);
                }
                self.text.push(')');
            }
            Expr::Between(a, lo, hi, not) => {
                self.child(a, 5, false);
                self.text
                    .push_str(if *not { " NOT BETWEEN " } else { " BETWEEN " });
                self.child(lo, 5, false);
                self.text.push_str(" AND ");
                self.child(hi, 5, false);
            }
            Expr::Case(c, a, b) => {
                self.text.push_str("CASE WHEN ");
                self.expr(c);
                self.text.push_str(" THEN ");
                self.expr(a);
                self.text.push_str(" ELSE ");
                self.expr(b);
                self.text.push_str(" END");
            }
            Expr::InSub(lhs, sub, not) => {
                if let [a] = lhs.as_slice() {
                    self.child(a, 5, false);
                } else {
                    self.text.push('(');
                    for (i, a) in lhs.iter().enumerate() {
                        if i > 0 {
                            self.text.push_str(", ");
                        }
                        self.expr(a);
                    }
                    self.text.push(')');
                }
                self.text.push_str(if *not { " NOT IN (" } else { " IN (" });
                self.sub(sub);
                self.text.push(')');
            }
            Expr::Exists(sub, not) => {
                self.text
                    .push_str(if *not { "NOT EXISTS (" } else { "EXISTS (" });
                self.sub(sub);
                self.text.push(')');
            }
            Expr::Scalar(sub) => {
                self.text.push('(');
                self.sub(sub);
                self.text.push(')');
            }
        }
    }

    /// `SELECT ... FROM t [WHERE] [GROUP BY] [HAVING]`, columns qualified as `sub.qual` says.
    fn sub(&mut self, sub: &Sub) {
        let outer = std::mem::replace(
            &mut self.qual,
            match sub.qual {
                Qual::Alias => format!("{}.", sub.alias),
                Qual::Table => format!("{}.", sub.table),
                Qual::None | Qual::AliasOnly => String::new(),
            },
        );
        let scope = match sub.qual {
            Qual::Alias | Qual::AliasOnly => sub.alias.to_string(),
            Qual::None | Qual::Table => sub.table.to_string(),
        };
        let scope = std::mem::replace(&mut self.scope, scope);
        self.outer.push(scope);
        self.text.push_str("SELECT ");
        if sub.distinct {
            self.text.push_str("DISTINCT ");
        }
        for (i, it) in sub.items.iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            match it {
                Item::Star => self.text.push('*'),
                Item::Expr(e, alias) => {
                    self.expr(e);
                    if let Some(a) = alias {
                        self.text.push_str(" AS ");
                        self.text.push_str(a);
                    }
                }
            }
        }
        self.text.push_str(" FROM ");
        self.text.push_str(sub.table);
        match sub.qual {
            Qual::Alias => {
                self.text.push(' ');
                self.text.push_str(sub.alias);
            }
            Qual::AliasOnly => {
                self.text.push_str(" AS ");
                self.text.push_str(sub.alias);
            }
            _ => {}
        }
        if let Some(w) = and_all(&sub.where_) {
            self.text.push_str(" WHERE ");
            self.expr(&w);
        }
        if !sub.group_by.is_empty() {
            self.text.push_str(" GROUP BY ");
            for (i, g) in sub.group_by.iter().enumerate() {
                if i > 0 {
                    self.text.push_str(", ");
                }
                self.expr(g);
            }
        }
        if let Some(h) = and_all(&sub.having) {
            self.text.push_str(" HAVING ");
            self.expr(&h);
        }
        self.qual = outer;
        self.scope = self.outer.pop().unwrap_or_default();
    }
}

fn time_value(t: &str) -> Value {
    let n = |a: usize, b: usize| t.get(a..b).and_then(|x| x.parse::<u32>().ok()).unwrap_or(0);
    if t.len() == 19 {
        Value::Date(
            n(0, 4) as u16,
            n(5, 7) as u8,
            n(8, 10) as u8,
            n(11, 13) as u8,
            n(14, 16) as u8,
            n(17, 19) as u8,
            0,
        )
    } else {
        Value::Bytes(t.as_bytes().to_vec())
    }
}

/// The SQL text of one expression (unqualified columns, literals inline).
#[allow(dead_code)]
pub fn expr_sql(e: &Expr) -> String {
    let mut q = Sql {
        text: String::new(),
        params: Vec::new(),
        parametrize: false,
        qual: String::new(),
        case_mix: false,
        cols: 0,
        scope: String::new(),
        outer: Vec::new(),
    };
    q.expr(e);
    q.text
}
