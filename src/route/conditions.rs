//! Extract, from WHERE / ON expressions, the values each sharding column may take.
//! Pure and conservative: anything not understood leaves the column unconstrained (`Any`).

use crate::rules::{ShardValue, Values};
use crate::sql::refs::Refs;
use crate::sql::SourceMap;
use sqlparser::ast::{BinaryOperator, Expr, InTarget, UnaryOperator, Value};
use std::collections::HashMap;
use std::ops::Bound;

/// (index into `Refs::tables`, lower-cased column) → allowed values. Absent = `Any`.
pub type Conditions = HashMap<(usize, String), Values>;

pub struct CondCtx<'a> {
    pub refs: &'a Refs,
    pub sm: &'a SourceMap<'a>,
    /// Sharding columns per table reference (empty for unsharded tables).
    pub sharding_columns: &'a [Vec<String>],
    /// Prepared-statement parameters, in placeholder order.
    pub params: &'a [ShardValue],
    /// Column types of the logical tables (values are compared as the column's type).
    pub catalog: Option<&'a crate::catalog::Snapshot>,
    pub db: &'a str,
    /// Session settings value conversions depend on.
    pub conv: crate::convert::ConvCtx,
}

/// A value compared with a column, for routing.
enum Cmp {
    /// Route by this value.
    Value(ShardValue),
    /// No row can match.
    Nothing,
    /// Cannot route by it.
    Unknown,
}

impl CondCtx<'_> {
    pub fn extract(&self, expr: &Expr) -> Conditions {
        match expr {
            Expr::Nested(e) => self.extract(e),
            Expr::BinaryOp {
                left,
                op: BinaryOperator::And,
                right,
            } => and(self.extract(left), self.extract(right)),
            Expr::BinaryOp {
                left,
                op: BinaryOperator::Or,
                right,
            } => or(self.extract(left), self.extract(right)),
            Expr::BinaryOp { left, op, right } => {
                let (cols, v, flipped) =
                    if let (Some(c), Some(v)) = (self.columns(left), self.value(right)) {
                        (c, v, false)
                    } else if let (Some(v), Some(c)) = (self.value(left), self.columns(right)) {
                        (c, v, true)
                    } else {
                        return Conditions::new();
                    };
                let mut m = Conditions::new();
                let equality = matches!(op, BinaryOperator::Eq | BinaryOperator::Spaceship);
                for c in cols {
                    if equality {
                        match self.coerce_eq(&c, &v) {
                            Cmp::Value(v) => {
                                if let Some(vals) = compare(op, v, flipped) {
                                    m.insert(c, vals);
                                }
                            }
                            Cmp::Nothing => {
                                m.insert(c, Values::List(Vec::new()));
                            }
                            Cmp::Unknown => {}
                        }
                    } else if let Some(v) = self.coerce_bound(&c, &v) {
                        if let Some(vals) = compare(op, v, flipped) {
                            m.insert(c, vals);
                        }
                    }
                }
                m
            }
            Expr::In {
                expr,
                target: InTarget::List(list),
                negated: false,
                ..
            } => {
                let Some(cols) = self.columns(expr) else {
                    return Conditions::new();
                };
                let Some(vals) = list
                    .iter()
                    .map(|e| self.value(e))
                    .collect::<Option<Vec<_>>>()
                else {
                    return Conditions::new();
                };
                let mut m = Conditions::new();
                'cols: for c in cols {
                    let mut typed = Vec::with_capacity(vals.len());
                    for v in &vals {
                        match self.coerce_eq(&c, v) {
                            Cmp::Value(x) => typed.push(x),
                            // A value no row can equal takes no node.
                            Cmp::Nothing => {}
                            Cmp::Unknown => continue 'cols,
                        }
                    }
                    m.insert(c, Values::List(typed));
                }
                m
            }
            Expr::Between {
                expr,
                negated: false,
                low,
                high,
            } => match (self.columns(expr), self.value(low), self.value(high)) {
                (Some(cols), Some(lo), Some(hi)) => {
                    let mut m = Conditions::new();
                    for c in cols {
                        if let (Some(l), Some(h)) =
                            (self.coerce_bound(&c, &lo), self.coerce_bound(&c, &hi))
                        {
                            m.insert(c, Values::between(l, h));
                        }
                    }
                    m
                }
                _ => Conditions::new(),
            },
            _ => Conditions::new(),
        }
    }

    /// The single sharding column an expression names, if any.
    pub fn column_of(&self, e: &Expr) -> Option<(usize, String)> {
        let mut v = self.columns(e)?;
        (v.len() == 1).then(|| v.remove(0))
    }

    /// A literal or parameter as a sharding value.
    pub fn value_of(&self, e: &Expr) -> Option<ShardValue> {
        self.value(e)
    }

    /// Whether the column is AUTO_INCREMENT (per the catalog).
    pub fn auto_increment(&self, table: usize, col: &str) -> bool {
        let Some(t) = self.refs.tables.get(table) else {
            return false;
        };
        let schema = t.schema.as_deref().unwrap_or(self.db);
        self.catalog
            .and_then(|snap| snap.get(&(schema.to_string(), t.name.to_ascii_lowercase())))
            .and_then(|ts| ts.column(col))
            .is_some_and(|c| c.auto_increment)
    }

    /// The column's type, when the catalog knows the table.
    pub fn column_kind(&self, table: usize, col: &str) -> Option<crate::catalog::ColKind> {
        let t = self.refs.tables.get(table)?;
        let schema = t.schema.as_deref().unwrap_or(self.db);
        let snap = self.catalog?;
        snap.get(&(schema.to_string(), t.name.to_ascii_lowercase()))
            .or_else(|| snap.get(&(self.db.to_string(), t.name.to_ascii_lowercase())))?
            .column(col)
            .map(|c| c.kind)
    }

    /// The column's type, when the catalog knows the table.
    pub fn column_type(&self, table: usize, col: &str) -> Option<crate::convert::SqlType> {
        let t = self.refs.tables.get(table)?;
        let schema = t.schema.as_deref().unwrap_or(self.db);
        let snap = self.catalog?;
        snap.get(&(schema.to_string(), t.name.to_ascii_lowercase()))
            .or_else(|| snap.get(&(self.db.to_string(), t.name.to_ascii_lowercase())))?
            .column(col)
            .map(|c| c.ty)
    }

    /// The value MariaDB stores when `v` is written into the column (see
    /// [`crate::convert::store`]): `Ok(None)` when the catalog does not know the column
    /// (the value is used as written), `Err(())` when the stored value cannot be known.
    pub fn store_value(
        &self,
        table: usize,
        col: &str,
        v: &ShardValue,
    ) -> Result<Option<ShardValue>, ()> {
        use crate::convert::{store, Converted};
        match self.column_type(table, col) {
            Some(t) => match store(t, v, &self.conv) {
                Converted::Value(x) => Ok(Some(x)),
                _ => Err(()),
            },
            None => Ok(None),
        }
    }

    /// `column = v` as MariaDB compares it (see [`crate::convert::compare`]). Without the
    /// column's type the value routes as written.
    fn coerce_eq(&self, col: &(usize, String), v: &ShardValue) -> Cmp {
        use crate::convert::{compare, Converted};
        match self.column_type(col.0, &col.1) {
            Some(t) => match compare(t, v, &self.conv) {
                Converted::Value(x) => Cmp::Value(x),
                Converted::Nothing => Cmp::Nothing,
                Converted::Unknown => Cmp::Unknown,
            },
            None => Cmp::Value(v.clone()),
        }
    }

    /// A bound of `column < v` (and the like): the number or time the comparison uses;
    /// `None` where the column compares in a way range pruning cannot follow (strings
    /// compare by collation, not as numbers).
    fn coerce_bound(&self, col: &(usize, String), v: &ShardValue) -> Option<ShardValue> {
        use crate::convert::{compare, number, Converted, SqlType};
        let Some(t) = self.column_type(col.0, &col.1) else {
            return Some(v.clone());
        };
        match t {
            SqlType::Str => None,
            SqlType::Int { .. } | SqlType::Decimal { .. } => match v {
                ShardValue::Int(_) | ShardValue::Decimal(_) | ShardValue::Float(_) => {
                    Some(v.clone())
                }
                // A string against a number column compares as the double its prefix reads.
                ShardValue::Str(b) => {
                    let f = number::prefix(b).0.to_f64();
                    (f.is_finite() && f.abs() < 9.0e15).then_some(ShardValue::Float(f))
                }
                _ => None,
            },
            SqlType::Date | SqlType::DateTime { .. } | SqlType::Timestamp { .. } => {
                match compare(t, v, &self.conv) {
                    Converted::Value(x) => Some(x),
                    _ => None,
                }
            }
            SqlType::Float | SqlType::Other => Some(v.clone()),
        }
    }

    /// The sharding columns an expression names (several when an unqualified name is a
    /// sharding column of several tables).
    fn columns(&self, e: &Expr) -> Option<Vec<(usize, String)>> {
        match e {
            Expr::Nested(e) => self.columns(e),
            Expr::Identifier(id) => {
                let col = id.value.to_ascii_lowercase();
                let v: Vec<(usize, String)> = self
                    .sharding_columns
                    .iter()
                    .enumerate()
                    .filter(|(_, cols)| cols.contains(&col))
                    .map(|(i, _)| (i, col.clone()))
                    .collect();
                (!v.is_empty()).then_some(v)
            }
            Expr::CompoundIdentifier(ids) if ids.len() >= 2 => {
                let col = ids[ids.len() - 1].value.to_ascii_lowercase();
                let qual = ids[ids.len() - 2].value.to_ascii_lowercase();
                let schema =
                    (ids.len() >= 3).then(|| ids[ids.len() - 3].value.to_ascii_lowercase());
                let t = self.refs.resolve_qualifier(schema.as_deref(), &qual)?;
                let idx = self.refs.tables.iter().position(|x| std::ptr::eq(x, t))?;
                self.sharding_columns
                    .get(idx)?
                    .contains(&col)
                    .then(|| vec![(idx, col)])
            }
            _ => None,
        }
    }

    fn value(&self, e: &Expr) -> Option<ShardValue> {
        match e {
            Expr::Nested(e) => self.value(e),
            Expr::Value(v) => match &v.value {
                Value::Placeholder(p) if p == "?" => {
                    let r = self.sm.range(v.span)?;
                    let i = self.refs.placeholders.iter().position(|x| *x == r)?;
                    self.params.get(i).cloned()
                }
                other => {
                    let v = literal(other)?;
                    Some(if self.conv.nbe_standin {
                        crate::sql::restore_standin(v)
                    } else {
                        v
                    })
                }
            },
            Expr::UnaryOp {
                op: UnaryOperator::Minus,
                expr,
            } => match self.value(expr)? {
                ShardValue::Int(i) => Some(ShardValue::Int(-i)),
                ShardValue::Decimal(d) => Some(ShardValue::Decimal(format!("-{d}"))),
                ShardValue::Float(f) => Some(ShardValue::Float(-f)),
                _ => None,
            },
            Expr::UnaryOp {
                op: UnaryOperator::Plus,
                expr,
            } => self.value(expr),
            // DATE '...', TIMESTAMP '...', TIME '...'.
            Expr::TypedString(t) => match &t.value.value {
                Value::SingleQuotedString(s) => Some(ShardValue::DateTime(s.clone())),
                _ => None,
            },
            _ => None,
        }
    }
}

/// A SQL literal as a sharding value.
pub fn literal(v: &Value) -> Option<ShardValue> {
    match v {
        Value::Number(n, _) => Some(number(n)),
        Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => {
            Some(ShardValue::Str(s.clone().into_bytes()))
        }
        Value::Boolean(b) => Some(ShardValue::Int(*b as i128)),
        Value::Null => Some(ShardValue::Null),
        _ => None,
    }
}

pub fn number(n: &str) -> ShardValue {
    if let Ok(i) = n.parse::<i128>() {
        ShardValue::Int(i)
    } else if n.contains(['e', 'E']) {
        n.parse::<f64>()
            .map(ShardValue::Float)
            .unwrap_or_else(|_| ShardValue::Decimal(n.to_string()))
    } else {
        ShardValue::Decimal(n.to_string())
    }
}

fn compare(op: &BinaryOperator, v: ShardValue, flipped: bool) -> Option<Values> {
    use BinaryOperator::*;
    let op = match (op, flipped) {
        (Gt, true) => Lt,
        (Lt, true) => Gt,
        (GtEq, true) => LtEq,
        (LtEq, true) => GtEq,
        (o, _) => o.clone(),
    };
    match op {
        Eq => Some(Values::eq(v)),
        // `<=>` is NULL-safe equality: `col <=> NULL` means IS NULL, which we do not prune.
        Spaceship if v != ShardValue::Null => Some(Values::eq(v)),
        Gt => Some(Values::Range {
            lower: Bound::Excluded(v),
            upper: Bound::Unbounded,
        }),
        GtEq => Some(Values::Range {
            lower: Bound::Included(v),
            upper: Bound::Unbounded,
        }),
        Lt => Some(Values::Range {
            lower: Bound::Unbounded,
            upper: Bound::Excluded(v),
        }),
        LtEq => Some(Values::Range {
            lower: Bound::Unbounded,
            upper: Bound::Included(v),
        }),
        _ => None,
    }
}

/// AND: both constraints hold. Any superset of the true intersection is safe, so when the
/// lists share nothing (values written in different forms) the shorter list is kept.
fn and(mut a: Conditions, b: Conditions) -> Conditions {
    for (k, vb) in b {
        let merged = match a.remove(&k) {
            None => vb,
            Some(va) => and_values(va, vb),
        };
        a.insert(k, merged);
    }
    a
}

fn and_values(a: Values, b: Values) -> Values {
    match (a, b) {
        (Values::List(x), Values::List(y)) => {
            let common: Vec<ShardValue> = x.iter().filter(|v| y.contains(v)).cloned().collect();
            if !common.is_empty() {
                Values::List(common)
            } else if x.len() <= y.len() {
                Values::List(x)
            } else {
                Values::List(y)
            }
        }
        (l @ Values::List(_), _) | (_, l @ Values::List(_)) => l,
        (
            Values::Range {
                lower: l1,
                upper: u1,
            },
            Values::Range {
                lower: l2,
                upper: u2,
            },
        ) => Values::Range {
            lower: if matches!(l1, Bound::Unbounded) {
                l2
            } else {
                l1
            },
            upper: if matches!(u1, Bound::Unbounded) {
                u2
            } else {
                u1
            },
        },
        (r @ Values::Range { .. }, _) | (_, r @ Values::Range { .. }) => r,
        (x, _) => x,
    }
}

/// OR: either holds; a column unconstrained on one side is unconstrained overall.
fn or(mut a: Conditions, b: Conditions) -> Conditions {
    let mut out = Conditions::new();
    for (k, vb) in b {
        if let Some(va) = a.remove(&k) {
            let merged = match (va, vb) {
                (Values::Any, _) | (_, Values::Any) => continue,
                (Values::List(mut x), Values::List(y)) => {
                    x.extend(y);
                    Values::List(x)
                }
                (Values::Union(mut x), Values::Union(y)) => {
                    x.extend(y);
                    Values::Union(x)
                }
                (Values::Union(mut x), v) | (v, Values::Union(mut x)) => {
                    x.push(v);
                    Values::Union(x)
                }
                (x, y) => Values::Union(vec![x, y]),
            };
            out.insert(k, merged);
        }
    }
    out
}
