//! Uncorrelated subquery predicates (the proxy runs the subquery first and substitutes its
//! answer): `x [NOT] IN (SELECT ...)`, `(a, b) [NOT] IN (SELECT c, d ...)`, comparisons with
//! a scalar `(SELECT agg ...)`, `[NOT] EXISTS (SELECT ...)`, and a scalar subquery in HAVING.
//! The subquery is a single-table SELECT over any example table with a WHERE from the usual
//! generator (so it may hold a subquery of its own, rarely), never ORDER BY / LIMIT (MariaDB
//! rejects LIMIT in IN subqueries, and without it the order does not matter).

use super::super::ast::*;
use super::Kind::*;
use super::{ColDef, Gen, Pool, TableDef, CMP, TABLES};

/// Deepest subquery nesting generated (1 = subqueries without subqueries inside).
const MAX_DEPTH: usize = 2;

impl Gen<'_> {
    /// Percent of WHERE conditions that are subquery predicates at the current depth.
    pub(super) fn sub_pct(&self) -> u64 {
        match self.depth {
            0 => 15,
            d if d < MAX_DEPTH => 4,
            _ => 0,
        }
    }

    /// A WHERE condition with a subquery: mostly bare, sometimes under OR / NOT.
    pub(super) fn sub_cond(&mut self) -> Expr {
        let e = self.sub_pred();
        match self.r.below(100) {
            0..=79 => e,
            80..=91 => {
                let p = self.pred();
                if self.r.chance(50) {
                    bin(e, "OR", p)
                } else {
                    bin(p, "OR", e)
                }
            }
            _ => Expr::Not(Box::new(e)),
        }
    }

    fn sub_pred(&mut self) -> Expr {
        match self.r.below(100) {
            0..=37 => self.in_sub(),
            38..=47 => self.tuple_in_sub(),
            48..=69 => self.scalar_cmp(),
            70..=97 => self.exists(),
            _ => self.correlated(),
        }
    }

    /// Run `f` with `t` as the current table, one subquery level deeper.
    fn inside<R>(&mut self, t: &'static TableDef, f: impl FnOnce(&mut Self) -> R) -> R {
        let outer = std::mem::replace(&mut self.t, t);
        self.depth += 1;
        let r = f(self);
        self.depth -= 1;
        self.t = outer;
        r
    }

    fn sub_table(&mut self) -> &'static TableDef {
        &TABLES[match self.r.below(100) {
            0..=29 => 0,
            30..=54 => 1,
            55..=74 => 2,
            75..=89 => 3,
            _ => 4,
        }]
    }

    /// A table with a column named `name` (most of the time), else any.
    fn table_with(&mut self, name: &str) -> &'static TableDef {
        let with: Vec<&'static TableDef> = TABLES
            .iter()
            .filter(|t| t.cols.iter().any(|c| c.name == name))
            .collect();
        if !with.is_empty() && self.r.chance(75) {
            with[self.r.below(with.len() as u64) as usize]
        } else {
            self.sub_table()
        }
    }

    /// A column of the current table to compare with `c`: the same name, else the same
    /// kind (nullable ones when `nullable`), rarely anything.
    fn partner(&mut self, c: &ColDef, nullable: bool) -> &'static ColDef {
        if nullable && self.r.chance(70) {
            if let Some(p) = self.col_where(|p| p.nullable && p.kind == c.kind) {
                return p;
            }
        }
        if self.r.chance(70) {
            if let Some(p) = self.coldef(c.name) {
                return p;
            }
        }
        if self.r.chance(92) {
            if let Some(p) = self.col_where(|p| p.kind == c.kind) {
                return p;
            }
        }
        self.col()
    }

    /// A subquery over the current table with these select items; its WHERE from the
    /// usual generator, sometimes with a conjunct no row satisfies (`empty_pct`).
    fn sub_of(&mut self, items: Vec<Item>, empty_pct: u64) -> Sub {
        self.sub_narrow(items, empty_pct, 0)
    }

    /// `sub_of`, and with `narrow_pct` also sharding-key conditions (few rows): the proxy
    /// substitutes every value of an IN subquery, and long lists (hundreds of dates or
    /// pairs) cost it about a millisecond per value in a debug build.
    fn sub_narrow(&mut self, items: Vec<Item>, empty_pct: u64, narrow_pct: u64) -> Sub {
        let t = self.t;
        let qual = match self.r.below(100) {
            0..=69 => Qual::None,
            70..=84 => Qual::Alias,
            85..=89 => Qual::AliasOnly,
            _ => Qual::Table,
        };
        let mut where_ = self.where_clause();
        if self.r.chance(narrow_pct) {
            let mut k = self.shard_conds();
            k.append(&mut where_);
            where_ = k;
        }
        if self.r.chance(empty_pct) {
            let e = self.nothing();
            let at = self.r.below(where_.len() as u64 + 1) as usize;
            where_.insert(at, e);
        }
        Sub {
            table: t.name,
            alias: if self.depth <= 1 { "sq" } else { "sq2" },
            pk: t.pk,
            qual,
            distinct: false,
            items,
            where_,
            group_by: Vec::new(),
            having: Vec::new(),
        }
    }

    /// A condition on the current table that no row satisfies.
    fn nothing(&mut self) -> Expr {
        let c = self.col();
        let e = col(c.name);
        match c.pool {
            Pool::Int(lo, hi) => {
                if self.r.chance(50) {
                    bin(e, ">", param(Lit::Int(hi + self.r.range(0, 50))))
                } else {
                    bin(e, "=", param(Lit::Int(lo - self.r.range(1, 50))))
                }
            }
            Pool::Dec(max) => bin(e, if self.r.chance(50) { "<" } else { ">" }, {
                if self.r.chance(50) {
                    param(Lit::Int(-1))
                } else {
                    param(Lit::Dec(format!("{max}.00")))
                }
            }),
            Pool::Str(_) | Pool::Email | Pool::Product => {
                bin(e, "=", param(Lit::Str("nothing like it".into())))
            }
            Pool::Time => bin(e, "<", param(Lit::Time("2025-06-30".into()))),
        }
    }

    fn key_col(&mut self) -> &'static ColDef {
        self.col_where(|c| c.low).unwrap_or_else(|| self.col())
    }

    /// `x [NOT] IN (SELECT y ...)`, often over a nullable column on either side.
    fn in_sub(&mut self) -> Expr {
        let nullable = self.r.chance(40);
        let c = if nullable {
            self.col_where(|c| c.nullable).unwrap_or_else(|| self.col())
        } else if self.r.chance(40) {
            self.col_where(|c| c.shard).unwrap_or_else(|| self.col())
        } else {
            self.col()
        };
        let lhs = if self.r.chance(90) {
            col(c.name)
        } else {
            self.scalar()
        };
        let t = self.table_with(c.name);
        let not = self.r.chance(if nullable { 55 } else { 35 });
        let sub = self.inside(t, |g| {
            let ic = g.partner(c, nullable);
            let item = if g.r.chance(92) {
                col(ic.name)
            } else {
                g.scalar()
            };
            let mut alias = None;
            if g.r.chance(5) {
                alias = Some("sk".to_string());
            }
            let shape = g.r.below(100);
            let narrow = if ic.low { 0 } else { 60 };
            let mut sub = g.sub_narrow(vec![Item::Expr(item.clone(), alias.clone())], 12, narrow);
            match shape {
                0..=54 => {}
                55..=69 => sub.distinct = true,
                70..=84 => {
                    // One row per value of the item, maybe filtered by a group count.
                    sub.group_by.push(item);
                    if g.r.chance(50) {
                        let n = g.r.range(1, 6);
                        sub.having.push(bin(count_star(), ">", param(Lit::Int(n))));
                    }
                }
                _ => {
                    // An aggregate of the partner column, per group or over all rows.
                    let f = match ic.kind {
                        Int | Dec if g.r.chance(30) => AggFn::Sum,
                        _ if g.r.chance(50) => AggFn::Min,
                        _ => AggFn::Max,
                    };
                    sub.items = vec![Item::Expr(agg(f, false, vec![col(ic.name)]), alias)];
                    if g.r.chance(75) {
                        let k = g.key_col();
                        sub.group_by.push(col(k.name));
                    }
                }
            }
            sub
        });
        Expr::InSub(vec![lhs], Box::new(sub), not)
    }

    /// `(a, b) [NOT] IN (SELECT c, d ...)` over columns both tables have (a table always
    /// shares its own columns).
    fn tuple_in_sub(&mut self) -> Expr {
        let outer = self.t;
        let shared = |t: &TableDef| -> Vec<&'static ColDef> {
            outer
                .cols
                .iter()
                .filter(|c| t.cols.iter().any(|d| d.name == c.name))
                .collect()
        };
        let tables: Vec<&'static TableDef> =
            TABLES.iter().filter(|t| shared(t).len() >= 2).collect();
        let t = *self.r.pick(&tables);
        let cols = shared(t);
        let a = *self.r.pick(&cols);
        let b = loop {
            let b = *self.r.pick(&cols);
            if b.name != a.name {
                break b;
            }
        };
        let not = self.r.chance(40);
        let sub = self.inside(t, |g| {
            let items = vec![Item::Expr(col(a.name), None), Item::Expr(col(b.name), None)];
            let mut sub = g.sub_narrow(items, 10, 75);
            match g.r.below(100) {
                0..=64 => {}
                65..=79 => sub.distinct = true,
                _ => {
                    // One row per value of the first column, with the MIN/MAX of the second.
                    let f = if g.r.chance(50) {
                        AggFn::Min
                    } else {
                        AggFn::Max
                    };
                    sub.items[1] = Item::Expr(agg(f, false, vec![col(b.name)]), None);
                    sub.group_by.push(col(a.name));
                }
            }
            sub
        });
        Expr::InSub(vec![col(a.name), col(b.name)], Box::new(sub), not)
    }

    /// One-row subquery over the current table whose value compares with `kind`: an
    /// aggregate without GROUP BY, or a column looked up by primary key.
    fn scalar_sub(&mut self, like: Option<&ColDef>) -> Sub {
        let ic = match like {
            Some(c) => self.partner(c, false),
            None => self.col(),
        };
        if self.r.chance(15) {
            let item = Item::Expr(col(ic.name), None);
            let mut sub = self.sub_of(vec![item], 0);
            let pk = self.coldef(self.t.pk).expect("primary key");
            let l = self.lit(pk);
            let at = self.r.below(sub.where_.len() as u64 + 1) as usize;
            sub.where_.insert(at, bin(col(pk.name), "=", param(l)));
            return sub;
        }
        let e = match ic.kind {
            Int | Dec => match self.r.below(100) {
                0..=21 => agg(AggFn::Max, false, vec![col(ic.name)]),
                22..=43 => agg(AggFn::Min, false, vec![col(ic.name)]),
                44..=63 => agg(AggFn::Avg, false, vec![col(ic.name)]),
                64..=77 => agg(AggFn::Sum, false, vec![col(ic.name)]),
                78..=89 => count_star(),
                _ => agg(AggFn::Count, true, vec![col(ic.name)]),
            },
            Str | Time => match self.r.below(100) {
                0..=44 => agg(AggFn::Max, false, vec![col(ic.name)]),
                45..=89 => agg(AggFn::Min, false, vec![col(ic.name)]),
                _ => count_star(),
            },
        };
        self.sub_of(vec![Item::Expr(e, None)], 8)
    }

    /// `x op (SELECT agg ...)`, sometimes with the subquery first or inside arithmetic.
    fn scalar_cmp(&mut self) -> Expr {
        let c = self.col();
        let t = self.table_with(c.name);
        let sub = self.inside(t, |g| g.scalar_sub(Some(c)));
        let mut v = Expr::Scalar(Box::new(sub));
        if matches!(c.kind, Int | Dec) && self.r.chance(12) {
            v = match self.r.below(3) {
                0 => bin(v, "*", int(2)),
                1 => bin(v, "-", int(self.r.range(1, 20))),
                _ => bin(v, "/", int(2)),
            };
        }
        let op = *self.r.pick(CMP);
        if self.r.chance(20) {
            bin(v, op, col(c.name))
        } else {
            bin(col(c.name), op, v)
        }
    }

    /// `[NOT] EXISTS (SELECT ...)`, often over a WHERE that nothing satisfies.
    fn exists(&mut self) -> Expr {
        let t = self.sub_table();
        let not = self.r.chance(40);
        let sub = self.inside(t, |g| {
            let shape = g.r.below(100);
            let items = match shape {
                0..=49 => vec![Item::Expr(int(1), None)],
                50..=69 => vec![Item::Star],
                _ => vec![Item::Expr(col(g.col().name), None)],
            };
            let mut sub = g.sub_of(items, 35);
            match shape {
                70..=79 => sub.distinct = true,
                80..=89 => {
                    // Groups with more than n rows (none for large n).
                    let k = g.key_col();
                    sub.items = vec![Item::Expr(col(k.name), None)];
                    sub.group_by.push(col(k.name));
                    let n = *g.r.pick(&[1, 3, 10, 50, 1000]);
                    sub.having.push(bin(count_star(), ">", param(Lit::Int(n))));
                }
                90..=94 => {
                    // An aggregate without GROUP BY: always one row.
                    sub.items = vec![Item::Expr(count_star(), None)];
                }
                _ => {}
            }
            sub
        });
        Expr::Exists(Box::new(sub), not)
    }

    /// A correlated subquery (rare): over a sharded table the proxy answers 1235; over the
    /// broadcast t_region every node can answer it.
    fn correlated(&mut self) -> Expr {
        let outer = self.t;
        let t = if self.r.chance(50) {
            &TABLES[4]
        } else {
            self.sub_table()
        };
        let not = self.r.chance(40);
        let (oc, ic) = match outer
            .cols
            .iter()
            .find(|c| t.cols.iter().any(|d| d.name == c.name))
        {
            Some(c) => (c, t.cols.iter().find(|d| d.name == c.name).expect("column")),
            None => (&outer.cols[0], &t.cols[0]),
        };
        let sub = self.inside(t, |g| {
            let mut sub = g.sub_of(vec![Item::Expr(int(1), None)], 0);
            sub.where_
                .push(bin(col(ic.name), "=", Expr::Outer(oc.name)));
            sub
        });
        Expr::Exists(Box::new(sub), not)
    }

    /// A HAVING condition comparing an aggregate with a scalar subquery.
    pub(super) fn having_sub(&mut self) -> Expr {
        let a = if self.r.chance(40) {
            count_star()
        } else {
            self.agg()
        };
        let like: Option<&'static ColDef> = match &a {
            Expr::Agg(AggFn::Count, ..) => None,
            Expr::Agg(_, _, args) => match args.first() {
                Some(Expr::Col(n)) => self.coldef(n),
                _ => None,
            },
            _ => None,
        };
        let t = match like {
            Some(c) => self.table_with(c.name),
            None => self.sub_table(),
        };
        let sub = self.inside(t, |g| match like {
            Some(c) => g.scalar_sub(Some(c)),
            None => {
                let e = if g.r.chance(60) {
                    count_star()
                } else {
                    let c = g.col_where(|c| c.kind == Int).unwrap_or_else(|| g.col());
                    agg(AggFn::Max, false, vec![col(c.name)])
                };
                let mut sub = g.sub_of(vec![Item::Expr(e, None)], 8);
                if g.r.chance(30) {
                    // Keep the count small enough to be near some group sizes.
                    let k = g.key_col();
                    let l = g.lit(k);
                    sub.where_.push(bin(col(k.name), "=", param(l)));
                }
                sub
            }
        });
        let mut v = Expr::Scalar(Box::new(sub));
        if matches!(a, Expr::Agg(AggFn::Count, ..)) && self.r.chance(30) {
            v = bin(v, "DIV", int(*self.r.pick(&[4, 10, 40])));
        }
        let op = *self.r.pick(CMP);
        bin(a, op, v)
    }
}
