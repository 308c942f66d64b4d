//! The fuzzer's tiny SELECT syntax tree: rendering (inline literals or `?` parameters),
//! the determinism rules every generated (or shrunk) query must obey, and how much of the
//! row order the statement fixes.

use mysql_async::Value;

mod render;
pub use render::*;

#[derive(Clone, Debug, PartialEq)]
pub enum Lit {
    Int(i64),
    /// A number spelled as a string literal (`user_id = '3'`).
    IntStr(String),
    Dec(String),
    Str(String),
    /// A DATETIME or DATE literal (without quotes).
    Time(String),
    Null,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggFn {
    Count,
    Sum,
    Min,
    Max,
    Avg,
}

impl AggFn {
    fn name(self) -> &'static str {
        match self {
            AggFn::Count => "COUNT",
            AggFn::Sum => "SUM",
            AggFn::Min => "MIN",
            AggFn::Max => "MAX",
            AggFn::Avg => "AVG",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Col(&'static str),
    /// A literal; `true` = it may become a `?` parameter in a prepared statement.
    Lit(Lit, bool),
    /// A select-list alias (in HAVING).
    Alias(String),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    /// `a op b`: arithmetic, comparison, AND, OR, LIKE, NOT LIKE.
    Bin(Box<Expr>, &'static str, Box<Expr>),
    Func(&'static str, Vec<Expr>),
    /// `f([DISTINCT] args)`; no args = `COUNT(*)`.
    Agg(AggFn, bool, Vec<Expr>),
    IsNull(Box<Expr>, bool),
    In(Box<Expr>, Vec<Expr>, bool),
    Between(Box<Expr>, Box<Expr>, Box<Expr>, bool),
    /// `CASE WHEN c THEN a ELSE b END`
    Case(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `a [NOT] IN (SELECT ...)`, or `(a, b) [NOT] IN (SELECT c, d ...)` for two operands.
    InSub(Vec<Expr>, Box<Sub>, bool),
    /// `[NOT] EXISTS (SELECT ...)`.
    Exists(Box<Sub>, bool),
    /// `(SELECT ...)` as a value (one column, at most one row).
    Scalar(Box<Sub>),
    /// Inside a subquery: a column of the enclosing query, always qualified (a correlated
    /// subquery; the proxy answers 1235 unless the subquery's table is unsharded).
    Outer(&'static str),
}

/// An uncorrelated single-table subquery (its expressions name its own table's columns).
#[derive(Clone, Debug, PartialEq)]
pub struct Sub {
    pub table: &'static str,
    /// Alias for `Qual::Alias` / `Qual::AliasOnly`.
    pub alias: &'static str,
    pub pk: &'static str,
    pub qual: Qual,
    pub distinct: bool,
    pub items: Vec<Item>,
    pub where_: Vec<Expr>,
    pub group_by: Vec<Expr>,
    pub having: Vec<Expr>,
}

impl Sub {
    pub fn is_aggregate(&self) -> bool {
        !self.group_by.is_empty()
            || !self.having.is_empty()
            || self
                .items
                .iter()
                .any(|i| matches!(i, Item::Expr(e, _) if e.has_agg()))
    }

    /// Column count of the select list (`*` counts as many).
    pub fn width(&self) -> usize {
        if self.items.contains(&Item::Star) {
            usize::MAX
        } else {
            self.items.len()
        }
    }

    /// Is the answer unique (as a set of rows), and one row at most when `scalar`?
    pub fn validate(&self, scalar: bool) -> Result<(), String> {
        if self.items.is_empty() {
            return Err("subquery: empty select list".into());
        }
        if self.where_.iter().any(|w| w.has_agg() || w.has_alias()) {
            return Err("subquery: aggregate in WHERE".into());
        }
        for w in self.where_.iter().chain(&self.having) {
            w.validate_subs()?;
        }
        if self.is_aggregate() {
            for it in &self.items {
                match it {
                    Item::Star => return Err("subquery: * in an aggregate".into()),
                    Item::Expr(e, _) => {
                        if !determined_by(e, &self.group_by) {
                            return Err("subquery: select item not a group key".into());
                        }
                    }
                }
            }
            for h in &self.having {
                if !determined_by(h, &self.group_by) {
                    return Err("subquery: HAVING not a group key".into());
                }
            }
        }
        if scalar {
            if self.width() != 1 {
                return Err("scalar subquery: not one column".into());
            }
            let one_row = if self.is_aggregate() {
                self.group_by.is_empty()
            } else {
                self.where_.iter().any(|w| match w {
                    Expr::Bin(a, "=", b) => {
                        **a == Expr::Col(self.pk) && matches!(**b, Expr::Lit(..))
                    }
                    _ => false,
                })
            };
            if !one_row {
                return Err("scalar subquery: may return several rows".into());
            }
        }
        Ok(())
    }
}

/// Is `e` fixed per group of `keys` (aggregates, literals, keys and functions of them)?
fn determined_by(e: &Expr, keys: &[Expr]) -> bool {
    if keys.contains(e) {
        return true;
    }
    match e {
        Expr::Agg(..) | Expr::Lit(..) | Expr::Exists(..) | Expr::Scalar(..) => true,
        Expr::Col(_) | Expr::Alias(_) | Expr::Outer(_) => false,
        _ => e.children().iter().all(|c| determined_by(c, keys)),
    }
}

pub fn col(c: &'static str) -> Expr {
    Expr::Col(c)
}
pub fn lit(l: Lit) -> Expr {
    Expr::Lit(l, false)
}
pub fn param(l: Lit) -> Expr {
    Expr::Lit(l, true)
}
pub fn int(v: i64) -> Expr {
    Expr::Lit(Lit::Int(v), false)
}
pub fn s(v: &str) -> Expr {
    Expr::Lit(Lit::Str(v.to_string()), false)
}
pub fn bin(a: Expr, op: &'static str, b: Expr) -> Expr {
    Expr::Bin(Box::new(a), op, Box::new(b))
}
pub fn func(f: &'static str, args: Vec<Expr>) -> Expr {
    Expr::Func(f, args)
}
pub fn agg(f: AggFn, distinct: bool, args: Vec<Expr>) -> Expr {
    Expr::Agg(f, distinct, args)
}
pub fn count_star() -> Expr {
    Expr::Agg(AggFn::Count, false, Vec::new())
}

/// Binding strength, as the renderer uses it to decide on parentheses.
pub fn prec(e: &Expr) -> u8 {
    match e {
        Expr::Bin(_, op, _) => match *op {
            "OR" => 1,
            "AND" => 2,
            "=" | "<>" | "!=" | "<" | "<=" | ">" | ">=" | "LIKE" | "NOT LIKE" => 4,
            "+" | "-" => 6,
            _ => 7, // * / DIV %
        },
        Expr::Not(_) => 3,
        Expr::IsNull(..) | Expr::In(..) | Expr::InSub(..) | Expr::Between(..) => 4,
        Expr::Exists(_, true) => 3,
        Expr::Neg(_) => 8,
        Expr::Lit(Lit::Int(v), _) if *v < 0 => 8,
        _ => 9,
    }
}

impl Expr {
    pub fn children(&self) -> Vec<&Expr> {
        match self {
            // A subquery's own expressions are not part of the outer statement's.
            Expr::Col(_)
            | Expr::Outer(_)
            | Expr::Lit(..)
            | Expr::Alias(_)
            | Expr::Exists(..)
            | Expr::Scalar(_) => vec![],
            Expr::InSub(v, _, _) => v.iter().collect(),
            Expr::Neg(a) | Expr::Not(a) | Expr::IsNull(a, _) => vec![a],
            Expr::Bin(a, _, b) => vec![a, b],
            Expr::Func(_, v) | Expr::Agg(_, _, v) => v.iter().collect(),
            Expr::In(a, v, _) => std::iter::once(&**a).chain(v.iter()).collect(),
            Expr::Between(a, b, c, _) | Expr::Case(a, b, c) => vec![a, b, c],
        }
    }

    /// Does `f` hold for this expression or any part of it?
    #[allow(dead_code)]
    pub fn any(&self, f: &dyn Fn(&Expr) -> bool) -> bool {
        f(self) || self.children().iter().any(|c| c.any(f))
    }

    pub fn has_agg(&self) -> bool {
        matches!(self, Expr::Agg(..)) || self.children().iter().any(|c| c.has_agg())
    }

    pub fn has_alias(&self) -> bool {
        matches!(self, Expr::Alias(..)) || self.children().iter().any(|c| c.has_alias())
    }

    /// Every subquery in the expression obeys `Sub::validate`, with matching widths.
    pub fn validate_subs(&self) -> Result<(), String> {
        match self {
            Expr::InSub(lhs, s, _) => {
                if s.width() != lhs.len() {
                    return Err("IN subquery: column count differs".into());
                }
                s.validate(false)?;
            }
            Expr::Exists(s, _) => s.validate(false)?,
            Expr::Scalar(s) => s.validate(true)?,
            _ => {}
        }
        self.children().iter().try_for_each(|c| c.validate_subs())
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    Star,
    Expr(Expr, Option<String>),
}

/// A GROUP BY / ORDER BY reference.
#[derive(Clone, Debug, PartialEq)]
pub enum Ref {
    Expr(Expr),
    /// 1-based select-list position.
    Pos(usize),
    Alias(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Limit {
    pub offset: Option<u64>,
    pub count: u64,
    /// `LIMIT n OFFSET m` rather than `LIMIT m, n`.
    pub offset_kw: bool,
    pub param: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Qual {
    None,
    /// `FROM t_order o` and `o.col`.
    Alias,
    /// `FROM t_order AS o`, columns unqualified.
    AliasOnly,
    /// `t_order.col`.
    Table,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    pub table: &'static str,
    pub alias: &'static str,
    /// All columns of the table, in order (what `*` expands to).
    pub columns: &'static [&'static str],
    pub pk: &'static str,
    pub qual: Qual,
    /// Column names spelled in mixed case (`status` and `STATUS`).
    pub case_mix: bool,
    pub distinct: bool,
    pub items: Vec<Item>,
    pub where_: Vec<Expr>,
    pub group_by: Vec<Ref>,
    pub having: Vec<Expr>,
    pub order_by: Vec<(Ref, Option<bool>)>,
    pub limit: Option<Limit>,
}

/// How much of the row order a statement fixes.
#[derive(Clone, Debug, PartialEq)]
pub enum Order {
    /// Completely (up to rows that are equal under the collation).
    Total,
    /// Only the sequence of these select-list columns (0-based) is fixed.
    Prefix(Vec<usize>),
    Unordered,
}

/// The WHERE / HAVING conjuncts joined with AND, as rendered.
pub fn and_all(v: &[Expr]) -> Option<Expr> {
    let mut it = v.iter().cloned();
    let first = it.next()?;
    Some(it.fold(first, |a, b| bin(a, "AND", b)))
}

impl Query {
    /// SQL text and (when `parametrize`) the parameters of its `?` markers.
    pub fn render(&self, parametrize: bool) -> (String, Vec<Value>) {
        let mut q = Sql {
            text: String::from("SELECT "),
            params: Vec::new(),
            parametrize,
            qual: match self.qual {
                Qual::Alias => format!("{}.", self.alias),
                Qual::Table => format!("{}.", self.table),
                Qual::None | Qual::AliasOnly => String::new(),
            },
            case_mix: self.case_mix,
            cols: 0,
            scope: match self.qual {
                Qual::Alias | Qual::AliasOnly => self.alias.to_string(),
                Qual::None | Qual::Table => self.table.to_string(),
            },
            outer: Vec::new(),
        };
        if self.distinct {
            q.text.push_str("DISTINCT ");
        }
        for (i, it) in self.items.iter().enumerate() {
            if i > 0 {
                q.text.push_str(", ");
            }
            match it {
                Item::Star => q.text.push('*'),
                Item::Expr(e, alias) => {
                    q.expr(e);
                    if let Some(a) = alias {
                        q.text.push_str(" AS ");
                        q.text.push_str(a);
                    }
                }
            }
        }
        q.text.push_str(" FROM ");
        q.text.push_str(self.table);
        match self.qual {
            Qual::Alias => {
                q.text.push(' ');
                q.text.push_str(self.alias);
            }
            Qual::AliasOnly => {
                q.text.push_str(" AS ");
                q.text.push_str(self.alias);
            }
            _ => {}
        }
        if let Some(w) = and_all(&self.where_) {
            q.text.push_str(" WHERE ");
            q.expr(&w);
        }
        let refs = |q: &mut Sql, v: &mut dyn Iterator<Item = (&Ref, Option<bool>)>| {
            for (i, (r, dir)) in v.enumerate() {
                if i > 0 {
                    q.text.push_str(", ");
                }
                match r {
                    Ref::Expr(e) => q.expr(e),
                    Ref::Pos(n) => q.text.push_str(&n.to_string()),
                    Ref::Alias(a) => q.text.push_str(a),
                }
                match dir {
                    Some(true) => q.text.push_str(" DESC"),
                    Some(false) => q.text.push_str(" ASC"),
                    None => {}
                }
            }
        };
        if !self.group_by.is_empty() {
            q.text.push_str(" GROUP BY ");
            refs(&mut q, &mut self.group_by.iter().map(|r| (r, None)));
        }
        if let Some(h) = and_all(&self.having) {
            q.text.push_str(" HAVING ");
            q.expr(&h);
        }
        if !self.order_by.is_empty() {
            q.text.push_str(" ORDER BY ");
            refs(&mut q, &mut self.order_by.iter().map(|(r, d)| (r, *d)));
        }
        if let Some(l) = &self.limit {
            q.text.push_str(" LIMIT ");
            let num = |q: &mut Sql, v: u64| {
                if parametrize && l.param {
                    q.text.push('?');
                    q.params.push(Value::UInt(v));
                } else {
                    q.text.push_str(&v.to_string());
                }
            };
            match (l.offset, l.offset_kw) {
                (None, _) => num(&mut q, l.count),
                (Some(o), false) => {
                    num(&mut q, o);
                    q.text.push_str(", ");
                    num(&mut q, l.count);
                }
                (Some(o), true) => {
                    num(&mut q, l.count);
                    q.text.push_str(" OFFSET ");
                    num(&mut q, o);
                }
            }
        }
        (q.text, q.params)
    }

    /// The select list with `*` expanded: (expression, alias).
    pub fn expanded(&self) -> Vec<(Expr, Option<String>)> {
        let mut v = Vec::new();
        for it in &self.items {
            match it {
                Item::Star => v.extend(self.columns.iter().map(|c| (Expr::Col(c), None))),
                Item::Expr(e, a) => v.push((e.clone(), a.clone())),
            }
        }
        v
    }

    /// What a GROUP BY / ORDER BY reference stands for.
    pub fn resolve(&self, r: &Ref) -> Option<Expr> {
        let items = self.expanded();
        match r {
            Ref::Expr(e) => Some(e.clone()),
            Ref::Pos(n) => items.get(n.checked_sub(1)?).map(|(e, _)| e.clone()),
            Ref::Alias(a) => items
                .iter()
                .find(|(_, al)| al.as_deref() == Some(a.as_str()))
                .map(|(e, _)| e.clone()),
        }
    }

    fn unalias(&self, e: &Expr) -> Option<Expr> {
        match e {
            Expr::Alias(a) => self.resolve(&Ref::Alias(a.clone())),
            _ => Some(e.clone()),
        }
    }

    pub fn group_keys(&self) -> Option<Vec<Expr>> {
        self.group_by.iter().map(|r| self.resolve(r)).collect()
    }

    pub fn is_aggregate(&self) -> bool {
        !self.group_by.is_empty()
            || self.expanded().iter().any(|(e, _)| e.has_agg())
            || self.having.iter().any(|e| e.has_agg() || e.has_alias())
            || self
                .order_by
                .iter()
                .any(|(r, _)| self.resolve(r).is_some_and(|e| e.has_agg()))
    }

    /// Is `e` a function of the group keys and aggregates only (so its value per group is
    /// fixed)? Aliases are resolved through the select list.
    fn determined(&self, e: &Expr, keys: &[Expr]) -> bool {
        if keys.contains(e) {
            return true;
        }
        match e {
            Expr::Agg(..) | Expr::Lit(..) => true,
            Expr::Col(_) => false,
            Expr::Alias(_) => match self.unalias(e) {
                Some(x) if !x.has_alias() => self.determined(&x, keys),
                _ => false,
            },
            _ => e.children().iter().all(|c| self.determined(c, keys)),
        }
    }

    /// The rules every query must obey so that MariaDB's answer is unique (up to
    /// collation-equal spellings): checked for generated and for shrunk queries.
    pub fn validate(&self) -> Result<(), String> {
        if self.items.is_empty() {
            return Err("empty select list".into());
        }
        let items = self.expanded();
        let keys = self.group_keys().ok_or("GROUP BY reference out of range")?;
        if keys.iter().any(|k| k.has_agg() || k.has_alias()) {
            return Err("GROUP BY on an aggregate".into());
        }
        let order: Vec<Expr> = self
            .order_by
            .iter()
            .map(|(r, _)| self.resolve(r))
            .collect::<Option<_>>()
            .ok_or("ORDER BY reference out of range")?;
        for h in &self.having {
            if let Expr::Alias(a) = h {
                return Err(format!("bare alias {a} in HAVING"));
            }
            if self.unalias_all(h).is_none() {
                return Err("HAVING alias unknown".into());
            }
        }
        if self.where_.iter().any(|w| w.has_agg() || w.has_alias()) {
            return Err("aggregate in WHERE".into());
        }
        for e in self.where_.iter().chain(&self.having) {
            e.validate_subs()?;
        }
        if self.is_aggregate() {
            if self.items.contains(&Item::Star) {
                return Err("* in an aggregate query".into());
            }
            for (e, _) in &items {
                if !self.determined(e, &keys) {
                    return Err(format!("select item {e:?} is not a group key"));
                }
            }
            for h in &self.having {
                if !self.determined(h, &keys) {
                    return Err(format!("HAVING {h:?} is not a group key"));
                }
            }
            for o in &order {
                if !self.determined(o, &keys) {
                    return Err(format!("ORDER BY {o:?} is not a group key"));
                }
            }
        } else if !self.having.is_empty() {
            return Err("HAVING in a plain query".into());
        }
        if self.distinct && !self.group_by.is_empty() {
            // MariaDB 10.11 keeps duplicates / averages the wrong group for some of these:
            // `SELECT DISTINCT qty, AVG(qty) FROM t_order_item GROUP BY product_id, qty`.
            return Err("DISTINCT over GROUP BY (MariaDB answers it wrongly)".into());
        }
        if self.distinct {
            for o in &order {
                if !items.iter().any(|(e, _)| e == o) {
                    return Err("DISTINCT with ORDER BY on a column not selected".into());
                }
            }
        }
        if self.limit.is_some() && self.order() != Order::Total {
            return Err("LIMIT without a total order".into());
        }
        Ok(())
    }

    fn unalias_all(&self, e: &Expr) -> Option<()> {
        if let Expr::Alias(_) = e {
            self.unalias(e)?;
        }
        for c in e.children() {
            self.unalias_all(c)?;
        }
        Some(())
    }

    /// How much of the row order the ORDER BY fixes.
    pub fn order(&self) -> Order {
        let items: Vec<Expr> = self.expanded().into_iter().map(|(e, _)| e).collect();
        let grouped = !self.group_by.is_empty();
        if self.is_aggregate() && !grouped && !self.distinct {
            return Order::Total; // at most one row
        }
        let order: Vec<Option<Expr>> = self.order_by.iter().map(|(r, _)| self.resolve(r)).collect();
        let covered = |e: &Expr| order.iter().any(|o| o.as_ref() == Some(e));
        let all_items = items.iter().all(covered);
        let total = if self.distinct {
            all_items || (self.is_aggregate() && !grouped)
        } else if grouped {
            all_items || self.group_keys().is_some_and(|k| k.iter().all(covered))
        } else {
            all_items || covered(&Expr::Col(self.pk))
        };
        if total {
            return Order::Total;
        }
        let prefix: Vec<usize> = order
            .iter()
            .map_while(|o| items.iter().position(|e| Some(e) == o.as_ref()))
            .collect();
        if prefix.is_empty() {
            Order::Unordered
        } else {
            Order::Prefix(prefix)
        }
    }
}
