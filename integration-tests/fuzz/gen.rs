//! Seeded random SELECT generator over the example schema (single-table queries).

use super::ast::*;
use crate::data::{NAMES, NOTES, STATUSES};
use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use std::collections::BTreeMap;

/// splitmix64: one independent stream per (seed, query index).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64, index: u64) -> Rng {
        let mut r = Rng(seed);
        let a = r.next();
        Rng(a ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03))
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    /// Inclusive range.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1).max(1) as u64) as i64
    }
    pub fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
    pub fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Int,
    Dec,
    Str,
    Time,
}

#[derive(Clone, Copy, Debug)]
pub enum Pool {
    Int(i64, i64),
    /// Two decimals below this.
    Dec(i64),
    Str(&'static [&'static str]),
    Email,
    Product,
    Time,
}

pub struct ColDef {
    pub name: &'static str,
    pub kind: Kind,
    pub nullable: bool,
    pub pool: Pool,
    /// A sharding column of the table.
    pub shard: bool,
    /// Few distinct values: a good GROUP BY / DISTINCT column.
    pub low: bool,
}

pub struct TableDef {
    pub name: &'static str,
    pub alias: &'static str,
    pub pk: &'static str,
    pub names: &'static [&'static str],
    pub cols: &'static [ColDef],
}

const fn c(
    name: &'static str,
    kind: Kind,
    nullable: bool,
    pool: Pool,
    shard: bool,
    low: bool,
) -> ColDef {
    ColDef {
        name,
        kind,
        nullable,
        pool,
        shard,
        low,
    }
}

pub const CATEGORIES: &[&str] = &["Books", "books", "Toys", "Électronique", "electronique"];
pub const REGIONS: &[&str] = &["North", "South", "East", "West"];

use Kind::*;
pub static TABLES: &[TableDef] = &[
    TableDef {
        name: "t_order",
        alias: "o",
        pk: "order_id",
        names: &[
            "order_id",
            "user_id",
            "status",
            "amount",
            "region_id",
            "created_at",
            "note",
        ],
        cols: &[
            c("order_id", Int, false, Pool::Int(1000, 1299), true, false),
            c("user_id", Int, false, Pool::Int(1, 40), true, true),
            c("status", Str, false, Pool::Str(STATUSES), false, true),
            c("amount", Dec, false, Pool::Dec(2000), false, false),
            c("region_id", Int, true, Pool::Int(1, 4), false, true),
            c("created_at", Time, false, Pool::Time, false, false),
            c("note", Str, true, Pool::Str(NOTES), false, true),
        ],
    },
    TableDef {
        name: "t_user",
        alias: "u",
        pk: "user_id",
        names: &[
            "user_id",
            "name",
            "email",
            "region_id",
            "balance",
            "created_at",
        ],
        cols: &[
            c("user_id", Int, false, Pool::Int(1, 40), true, false),
            c("name", Str, false, Pool::Str(NAMES), false, true),
            c("email", Str, true, Pool::Email, false, false),
            c("region_id", Int, true, Pool::Int(1, 4), false, true),
            c("balance", Dec, false, Pool::Dec(5000), false, false),
            c("created_at", Time, false, Pool::Time, false, false),
        ],
    },
    TableDef {
        name: "t_order_item",
        alias: "i",
        pk: "item_id",
        names: &[
            "item_id",
            "order_id",
            "user_id",
            "product_id",
            "qty",
            "price",
        ],
        cols: &[
            c("item_id", Int, false, Pool::Int(50000, 50599), false, false),
            c("order_id", Int, false, Pool::Int(1000, 1299), true, false),
            c("user_id", Int, false, Pool::Int(1, 40), true, true),
            c("product_id", Int, false, Pool::Int(1, 30), false, true),
            c("qty", Int, false, Pool::Int(1, 5), false, true),
            c("price", Dec, false, Pool::Dec(300), false, false),
        ],
    },
    TableDef {
        name: "t_product",
        alias: "p",
        pk: "product_id",
        names: &["product_id", "name", "category", "price", "stock"],
        cols: &[
            c("product_id", Int, false, Pool::Int(1, 30), true, false),
            c("name", Str, false, Pool::Product, false, false),
            c("category", Str, false, Pool::Str(CATEGORIES), false, true),
            c("price", Dec, false, Pool::Dec(300), false, false),
            c("stock", Int, false, Pool::Int(0, 49), false, true),
        ],
    },
    TableDef {
        name: "t_region",
        alias: "r",
        pk: "region_id",
        names: &["region_id", "name"],
        cols: &[
            c("region_id", Int, false, Pool::Int(1, 4), false, true),
            c("name", Str, false, Pool::Str(REGIONS), false, true),
        ],
    },
];

/// Real sharding-key combinations, read from the oracle, so that single-node predicates
/// find rows.
pub struct Keys {
    /// (order_id, user_id)
    pub orders: Vec<(i64, i64)>,
    /// (item_id, order_id, user_id)
    pub items: Vec<(i64, i64, i64)>,
}

impl Keys {
    pub async fn load(conn: &mut Conn) -> Keys {
        let orders = conn
            .query("SELECT order_id, user_id FROM t_order ORDER BY order_id")
            .await
            .expect("order keys");
        let items = conn
            .query("SELECT item_id, order_id, user_id FROM t_order_item ORDER BY item_id")
            .await
            .expect("item keys");
        Keys { orders, items }
    }
}

pub struct Gen<'a> {
    pub r: Rng,
    keys: &'a Keys,
    t: &'static TableDef,
    aliases: usize,
    /// Queries generated and thrown away, by reason: `Query::validate` failed (a
    /// generator-quality figure) or a known bug (see `known_bug`).
    pub rejected: BTreeMap<&'static str, u64>,
    known_bugs: bool,
}

const CMP: &[&str] = &["=", "<>", "!=", "<", "<=", ">", ">="];

fn char_prefix(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

impl<'a> Gen<'a> {
    pub fn new(seed: u64, index: u64, keys: &'a Keys, known_bugs: bool) -> Gen<'a> {
        Gen {
            r: Rng::new(seed, index),
            keys,
            t: &TABLES[0],
            aliases: 0,
            rejected: BTreeMap::new(),
            known_bugs,
        }
    }

    /// A valid query (see `Query::validate`).
    pub fn query(&mut self) -> Query {
        loop {
            let q = self.attempt();
            let why = match q.validate() {
                Err(_) => Some("not deterministic (generator)"),
                Ok(()) if self.known_bugs => None,
                Ok(()) => super::known_bug(&q),
            };
            match why {
                None => return q,
                Some(w) => *self.rejected.entry(w).or_insert(0) += 1,
            }
        }
    }

    fn attempt(&mut self) -> Query {
        let w = self.r.below(100);
        self.t = &TABLES[match w {
            0..=34 => 0,
            35..=54 => 1,
            55..=74 => 2,
            75..=89 => 3,
            _ => 4,
        }];
        self.aliases = 0;
        let qual = match self.r.below(100) {
            0..=64 => Qual::None,
            65..=79 => Qual::Alias,
            80..=87 => Qual::AliasOnly,
            _ => Qual::Table,
        };
        let mut q = Query {
            table: self.t.name,
            alias: self.t.alias,
            columns: self.t.names,
            pk: self.t.pk,
            qual,
            case_mix: self.r.chance(8),
            distinct: false,
            items: Vec::new(),
            where_: self.where_clause(),
            group_by: Vec::new(),
            having: Vec::new(),
            order_by: Vec::new(),
            limit: None,
        };
        match self.r.below(100) {
            0..=34 => self.plain(&mut q),
            35..=54 => self.aggregate(&mut q),
            55..=89 => self.grouped(&mut q),
            _ => self.distinct(&mut q),
        }
        q
    }

    // ----- columns and literals -----

    fn col(&mut self) -> &'static ColDef {
        self.r.pick(self.t.cols)
    }

    fn col_where(&mut self, f: impl Fn(&ColDef) -> bool) -> Option<&'static ColDef> {
        let v: Vec<&'static ColDef> = self.t.cols.iter().filter(|c| f(c)).collect();
        if v.is_empty() {
            None
        } else {
            Some(*self.r.pick(&v))
        }
    }

    fn coldef(&self, name: &str) -> Option<&'static ColDef> {
        self.t.cols.iter().find(|c| c.name == name)
    }

    fn num_col(&mut self) -> &'static ColDef {
        self.col_where(|c| matches!(c.kind, Int | Dec))
            .expect("numeric column")
    }

    fn alias(&mut self, pct: u64) -> Option<String> {
        if self.r.chance(pct) {
            self.aliases += 1;
            Some(format!("a{}", self.aliases))
        } else {
            None
        }
    }

    fn int_lit(&mut self, v: i64) -> Lit {
        match self.r.below(100) {
            0..=9 => Lit::IntStr(v.to_string()),
            10 if v >= 0 => Lit::IntStr(format!("0{v}")),
            11 => Lit::IntStr(format!("{v}.0")),
            12 => Lit::Dec(format!("{v}.0")),
            _ => Lit::Int(v),
        }
    }

    fn time_lit(&mut self) -> Lit {
        let (m, d) = (self.r.range(1, 12), self.r.range(1, 28));
        if self.r.chance(60) {
            Lit::Time(format!(
                "2026-{m:02}-{d:02} {:02}:{:02}:00",
                self.r.below(24),
                self.r.below(60)
            ))
        } else {
            Lit::Time(format!("2026-{m:02}-{d:02}"))
        }
    }

    fn str_variant(&mut self, v: &str) -> String {
        match self.r.below(12) {
            0 => v.to_uppercase(),
            1 => v.to_lowercase(),
            2 => format!("{v} "),
            3 => super::compare::fold(v).to_lowercase(),
            _ => v.to_string(),
        }
    }

    fn lit(&mut self, c: &ColDef) -> Lit {
        match c.pool {
            Pool::Int(lo, hi) => {
                let v = if self.r.chance(88) {
                    self.r.range(lo, hi)
                } else if self.r.chance(50) {
                    self.r.range(lo - 10, hi + 10)
                } else {
                    -self.r.range(0, hi)
                };
                self.int_lit(v)
            }
            Pool::Dec(max) => {
                if self.r.chance(80) {
                    Lit::Dec(format!(
                        "{}.{:02}",
                        self.r.below(max as u64),
                        self.r.below(100)
                    ))
                } else {
                    Lit::Int(self.r.below(max as u64) as i64)
                }
            }
            Pool::Str(pool) => {
                let v = *self.r.pick(pool);
                Lit::Str(self.str_variant(v))
            }
            Pool::Email => {
                let v = format!("u{}@example.com", self.r.range(1, 45));
                Lit::Str(self.str_variant(&v))
            }
            Pool::Product => {
                let n = *self.r.pick(NAMES);
                let v = format!("{n} {}", self.r.range(1, 30));
                Lit::Str(self.str_variant(&v))
            }
            Pool::Time => self.time_lit(),
        }
    }

    fn like_pattern(&mut self, c: &ColDef) -> String {
        let v = match c.pool {
            Pool::Str(pool) => pool[self.r.below(pool.len() as u64) as usize].to_string(),
            Pool::Product => self.r.pick(NAMES).to_string(),
            Pool::Email => format!("u{}@", self.r.range(1, 40)),
            _ => "1".to_string(),
        };
        let v = self.str_variant(&v);
        let n = v.chars().count().max(1);
        match self.r.below(5) {
            0 | 1 => format!("{}%", char_prefix(&v, 1 + self.r.below(3) as usize)),
            2 => {
                let start = self.r.below(n as u64) as usize;
                let mid: String = v.chars().skip(start).take(2).collect();
                format!("%{mid}%")
            }
            3 => {
                let at = self.r.below(n as u64) as usize;
                v.chars()
                    .enumerate()
                    .map(|(i, ch)| if i == at { '_' } else { ch })
                    .collect()
            }
            _ => v,
        }
    }

    // ----- WHERE -----

    fn where_clause(&mut self) -> Vec<Expr> {
        let mut w = Vec::new();
        if self.r.chance(40) {
            w.extend(self.shard_conds());
        }
        let n = match self.r.below(10) {
            0..=2 => 0,
            3..=6 => 1,
            7..=8 => 2,
            _ => 3,
        };
        for _ in 0..n {
            let e = self.cond();
            w.push(e);
        }
        if w.len() > 1 && self.r.chance(30) {
            let i = self.r.below(w.len() as u64) as usize;
            w.swap(0, i);
        }
        w
    }

    fn eq(&mut self, c: &'static str, v: i64) -> Expr {
        let l = self.int_lit(v);
        bin(col(c), "=", param(l))
    }

    fn in_list(&mut self, c: &'static str, vs: Vec<i64>) -> Expr {
        let list = vs
            .into_iter()
            .map(|v| {
                let l = self.int_lit(v);
                param(l)
            })
            .collect();
        Expr::In(Box::new(col(c)), list, false)
    }

    /// Predicates on the sharding columns with real key values (often single-node).
    fn shard_conds(&mut self) -> Vec<Expr> {
        let keys = self.keys;
        match self.t.name {
            "t_order" => {
                let (o, u) = *self.r.pick(&keys.orders);
                let (o2, u2) = *self.r.pick(&keys.orders);
                match self.r.below(7) {
                    0 => vec![self.eq("user_id", u)],
                    1 | 2 => {
                        let mut v = vec![self.eq("user_id", u), self.eq("order_id", o)];
                        if self.r.chance(50) {
                            v.reverse();
                        }
                        v
                    }
                    3 => vec![self.eq("order_id", o)],
                    4 => vec![self.in_list("user_id", vec![u, u2])],
                    5 => vec![self.in_list("order_id", vec![o, o2])],
                    _ => vec![self.eq("user_id", u), self.in_list("order_id", vec![o, o2])],
                }
            }
            "t_order_item" => {
                let (it, o, u) = *self.r.pick(&keys.items);
                match self.r.below(6) {
                    0 => vec![self.eq("user_id", u)],
                    1 | 2 => vec![self.eq("user_id", u), self.eq("order_id", o)],
                    3 => vec![self.eq("item_id", it)],
                    4 => vec![self.eq("order_id", o)],
                    _ => vec![self.eq("user_id", u), self.eq("item_id", it)],
                }
            }
            "t_user" => {
                let u = self.r.range(1, 40);
                match self.r.below(4) {
                    0 | 1 => vec![self.eq("user_id", u)],
                    2 => {
                        let u2 = self.r.range(1, 40);
                        vec![self.in_list("user_id", vec![u, u2])]
                    }
                    _ => vec![Expr::Between(
                        Box::new(col("user_id")),
                        Box::new(param(Lit::Int(u))),
                        Box::new(param(Lit::Int(u + 3))),
                        false,
                    )],
                }
            }
            "t_product" => {
                let p = self.r.range(1, 30);
                if self.r.chance(70) {
                    vec![self.eq("product_id", p)]
                } else {
                    let p2 = self.r.range(1, 30);
                    vec![self.in_list("product_id", vec![p, p2])]
                }
            }
            _ => {
                let v = self.r.range(1, 4);
                vec![self.eq("region_id", v)]
            }
        }
    }

    fn cond(&mut self) -> Expr {
        match self.r.below(100) {
            0..=71 => self.pred(),
            72..=86 => {
                if self.r.chance(40) {
                    if let Some(c) = self.col_where(|c| c.shard) {
                        let (a, b) = (self.lit(c), self.lit(c));
                        return bin(
                            bin(col(c.name), "=", param(a)),
                            "OR",
                            bin(col(c.name), "=", param(b)),
                        );
                    }
                }
                let (a, b) = (self.pred(), self.pred());
                bin(a, "OR", b)
            }
            87..=91 => Expr::Not(Box::new(self.pred())),
            _ => {
                let (a, b, c) = (self.pred(), self.pred(), self.pred());
                bin(bin(a, "AND", b), "OR", c)
            }
        }
    }

    fn pred(&mut self) -> Expr {
        let c = if self.r.chance(35) {
            self.col_where(|c| c.shard).unwrap_or_else(|| self.col())
        } else {
            self.col()
        };
        let e = col(c.name);
        if self.r.chance(2) {
            return if self.r.chance(50) {
                bin(e, "=", lit(Lit::Null))
            } else {
                let l = self.lit(c);
                Expr::In(
                    Box::new(e),
                    vec![param(l), lit(Lit::Null)],
                    self.r.chance(30),
                )
            };
        }
        match self.r.below(100) {
            0..=29 => {
                let l = self.lit(c);
                bin(e, "=", param(l))
            }
            30..=35 => {
                let l = self.lit(c);
                bin(e, if self.r.chance(50) { "<>" } else { "!=" }, param(l))
            }
            36..=51 => {
                let op = *self.r.pick(&["<", "<=", ">", ">="]);
                let l = self.lit(c);
                bin(e, op, param(l))
            }
            52..=66 => {
                let n = 2 + self.r.below(3);
                let list = (0..n)
                    .map(|_| {
                        let l = self.lit(c);
                        param(l)
                    })
                    .collect();
                Expr::In(Box::new(e), list, self.r.chance(20))
            }
            67..=78 => {
                let (mut a, mut b) = (self.lit(c), self.lit(c));
                if let (Lit::Int(x), Lit::Int(y)) = (&a, &b) {
                    if x > y {
                        std::mem::swap(&mut a, &mut b);
                    }
                }
                if let (Lit::Time(x), Lit::Time(y)) = (&a, &b) {
                    if x > y {
                        std::mem::swap(&mut a, &mut b);
                    }
                }
                Expr::Between(
                    Box::new(e),
                    Box::new(param(a)),
                    Box::new(param(b)),
                    self.r.chance(15),
                )
            }
            79..=86 => {
                let c = if self.r.chance(70) {
                    self.col_where(|c| c.nullable).unwrap_or(c)
                } else {
                    c
                };
                Expr::IsNull(Box::new(col(c.name)), self.r.chance(50))
            }
            87..=94 => match self.col_where(|c| c.kind == Str) {
                Some(c) => {
                    let p = self.like_pattern(c);
                    bin(
                        col(c.name),
                        if self.r.chance(15) {
                            "NOT LIKE"
                        } else {
                            "LIKE"
                        },
                        param(Lit::Str(p)),
                    )
                }
                None => {
                    let l = self.lit(c);
                    bin(e, "=", param(l))
                }
            },
            _ => {
                let op = *self.r.pick(CMP);
                match c.kind {
                    Int => {
                        if self.r.chance(50) {
                            bin(
                                bin(e, "%", int(2)),
                                "=",
                                param(Lit::Int(self.r.range(0, 1))),
                            )
                        } else {
                            let l = self.lit(c);
                            bin(bin(e, "*", int(2)), op, param(l))
                        }
                    }
                    Dec => {
                        let l = self.lit(c);
                        bin(bin(e, "*", int(2)), op, param(l))
                    }
                    Str => bin(
                        func("LENGTH", vec![e]),
                        op,
                        param(Lit::Int(self.r.range(2, 8))),
                    ),
                    Time => {
                        if self.r.chance(50) {
                            bin(
                                func("MONTH", vec![e]),
                                op,
                                param(Lit::Int(self.r.range(1, 12))),
                            )
                        } else {
                            let d = format!(
                                "2026-{:02}-{:02}",
                                self.r.range(1, 12),
                                self.r.range(1, 28)
                            );
                            bin(func("DATE", vec![e]), op, param(Lit::Time(d)))
                        }
                    }
                }
            }
        }
    }

    // ----- expressions -----

    /// A non-aggregate expression over one (or two) columns; no FLOAT/DOUBLE results.
    fn scalar(&mut self) -> Expr {
        let c = self.col();
        self.scalar_of(c)
    }

    fn scalar_of(&mut self, c: &'static ColDef) -> Expr {
        let e = col(c.name);
        match c.kind {
            Int => match self.r.below(9) {
                0 => bin(e, "*", int(2)),
                1 => bin(e, "+", int(1)),
                2 => bin(e, "-", int(self.r.range(1, 500))),
                3 => bin(e, "DIV", int(3)),
                4 => bin(e, "%", int(3)),
                5 => Expr::Neg(Box::new(e)),
                6 => bin(e, "*", lit(Lit::Dec("1.5".into()))),
                7 => func("ABS", vec![bin(e, "-", int(20))]),
                _ => func("IFNULL", vec![e, int(0)]),
            },
            Dec => match self.r.below(8) {
                0 => bin(e, "*", int(2)),
                1 => bin(e, "+", int(1)),
                2 => bin(e, "/", int(3)),
                3 => func("ROUND", vec![e, int(1)]),
                4 => func("FLOOR", vec![e]),
                5 => {
                    let o = self.num_col();
                    bin(e, "*", col(o.name))
                }
                6 => Expr::Neg(Box::new(e)),
                _ => bin(e, "-", lit(Lit::Dec("100.50".into()))),
            },
            Str => match self.r.below(10) {
                0 => {
                    let o = self.col();
                    func("CONCAT", vec![e, s("-"), col(o.name)])
                }
                1 => func("UPPER", vec![e]),
                2 => func("LOWER", vec![e]),
                3 => func("LENGTH", vec![e]),
                4 => func("CHAR_LENGTH", vec![e]),
                5 => func("SUBSTRING", vec![e, int(1), int(3)]),
                6 => func("LEFT", vec![e, int(2)]),
                7 => func("COALESCE", vec![e, s("none")]),
                8 => {
                    let o = self.col();
                    func("CONCAT_WS", vec![s("/"), e, col(o.name)])
                }
                _ => func("REPLACE", vec![e, s("a"), s("4")]),
            },
            Time => match self.r.below(7) {
                0 => func("YEAR", vec![e]),
                1 => func("MONTH", vec![e]),
                2 => func("DATE", vec![e]),
                3 => func("DATE_FORMAT", vec![e, s("%Y-%m")]),
                4 => func("DAYOFWEEK", vec![e]),
                5 => func("DATEDIFF", vec![e, lit(Lit::Time("2026-01-01".into()))]),
                _ => func("HOUR", vec![e]),
            },
        }
    }

    fn num_arg(&mut self) -> Expr {
        let c = self.num_col();
        if self.r.chance(70) {
            return col(c.name);
        }
        match self.r.below(5) {
            0 => bin(col(c.name), "*", int(2)),
            1 => {
                let o = self.num_col();
                bin(col(c.name), "*", col(o.name))
            }
            2 => bin(col(c.name), "+", int(1)),
            3 => bin(col(c.name), "DIV", int(2)),
            _ => match self.col_where(|c| c.nullable && c.kind == Int) {
                Some(n) => func("IFNULL", vec![col(n.name), int(0)]),
                None => bin(col(c.name), "-", int(7)),
            },
        }
    }

    fn any_arg(&mut self) -> Expr {
        if self.r.chance(80) {
            col(self.col().name)
        } else {
            self.scalar()
        }
    }

    fn agg(&mut self) -> Expr {
        match self.r.below(100) {
            0..=13 => count_star(),
            14..=23 => {
                let c = if self.r.chance(60) {
                    self.col_where(|c| c.nullable).unwrap_or_else(|| self.col())
                } else {
                    self.col()
                };
                agg(AggFn::Count, false, vec![col(c.name)])
            }
            24..=37 => agg(AggFn::Sum, false, vec![self.num_arg()]),
            38..=49 => agg(AggFn::Min, false, vec![self.any_arg()]),
            50..=61 => agg(AggFn::Max, false, vec![self.any_arg()]),
            62..=73 => agg(AggFn::Avg, false, vec![self.num_arg()]),
            74..=83 => {
                let mut args = vec![self.any_arg()];
                if self.r.chance(10) {
                    args.push(col(self.col().name));
                }
                agg(AggFn::Count, true, args)
            }
            84..=91 => agg(AggFn::Sum, true, vec![self.num_arg()]),
            _ => agg(AggFn::Avg, true, vec![self.num_arg()]),
        }
    }

    fn agg_expr(&mut self) -> Expr {
        let n = self.num_arg();
        let f = |f: AggFn, e: &Expr| agg(f, false, vec![e.clone()]);
        match self.r.below(15) {
            0 => bin(f(AggFn::Sum, &n), "/", count_star()),
            1 => bin(f(AggFn::Max, &n), "-", f(AggFn::Min, &n)),
            2 => func("ROUND", vec![f(AggFn::Avg, &n), int(2)]),
            3 => Expr::Case(
                Box::new(bin(count_star(), ">", int(self.r.range(1, 5)))),
                Box::new(s("many")),
                Box::new(s("few")),
            ),
            4 => bin(count_star(), "*", int(2)),
            5 => bin(f(AggFn::Sum, &n), "DIV", count_star()),
            6 => func("COALESCE", vec![f(AggFn::Sum, &n), int(0)]),
            7 => bin(f(AggFn::Sum, &n), "+", f(AggFn::Max, &n)),
            8 => {
                let c = self.any_arg();
                bin(agg(AggFn::Count, true, vec![c]), "+", int(1))
            }
            9 => {
                let c = col(self.col().name);
                func(
                    "ROUND",
                    vec![
                        bin(f(AggFn::Sum, &n), "/", agg(AggFn::Count, false, vec![c])),
                        int(1),
                    ],
                )
            }
            10 => match self.col_where(|c| c.kind == Str) {
                Some(c) if self.r.chance(50) => func(
                    "IFNULL",
                    vec![agg(AggFn::Max, false, vec![col(c.name)]), s("-")],
                ),
                _ => {
                    // MIN/MAX of a string column may show any collation-equal spelling, and
                    // CONCAT keeps an inner trailing space: numbers and dates only.
                    let c = self
                        .col_where(|c| c.kind != Str)
                        .expect("non-string column");
                    func(
                        "CONCAT",
                        vec![
                            agg(AggFn::Min, false, vec![col(c.name)]),
                            s(".."),
                            agg(AggFn::Max, false, vec![col(c.name)]),
                        ],
                    )
                }
            },
            11 => bin(f(AggFn::Avg, &n), "*", int(2)),
            12 => bin(f(AggFn::Sum, &n), "/", int(0)),
            13 => {
                let c = col(self.col().name);
                Expr::Case(
                    Box::new(Expr::IsNull(
                        Box::new(agg(AggFn::Min, false, vec![c])),
                        false,
                    )),
                    Box::new(s("none")),
                    Box::new(s("some")),
                )
            }
            _ => bin(f(AggFn::Max, &n), "/", int(2)),
        }
    }

    fn lit_for_agg(&mut self, e: &Expr) -> Lit {
        match e {
            Expr::Agg(AggFn::Count, _, _) => Lit::Int(self.r.range(0, 7)),
            Expr::Agg(f, _, args) if args.len() == 1 => match &args[0] {
                Expr::Col(name) => {
                    let c = self.coldef(name).expect("column");
                    match (f, c.pool) {
                        (AggFn::Sum, Pool::Int(lo, hi)) => Lit::Int(self.r.range(lo, hi * 4)),
                        (AggFn::Sum, Pool::Dec(max)) => Lit::Dec(format!(
                            "{}.{:02}",
                            self.r.below(max as u64 * 4),
                            self.r.below(100)
                        )),
                        _ => self.lit(c),
                    }
                }
                _ => Lit::Int(self.r.range(0, 2000)),
            },
            _ => Lit::Int(self.r.range(0, 1000)),
        }
    }

    fn agg_cmp(&mut self) -> Expr {
        let a = if self.r.chance(35) {
            count_star()
        } else {
            self.agg()
        };
        let l = self.lit_for_agg(&a);
        let op = *self.r.pick(CMP);
        bin(a, op, param(l))
    }

    fn having_pred(&mut self, q: &Query, keys: &[Expr]) -> Expr {
        match self.r.below(100) {
            0..=44 => self.agg_cmp(),
            45..=64 => {
                let aliased: Vec<(Expr, String)> = q
                    .expanded()
                    .into_iter()
                    .filter_map(|(e, a)| Some((e, a?)))
                    .collect();
                if aliased.is_empty() {
                    return self.agg_cmp();
                }
                let (e, a) = self.r.pick(&aliased).clone();
                let l = self.lit_for_agg(&e);
                let op = *self.r.pick(CMP);
                bin(Expr::Alias(a), op, param(l))
            }
            65..=79 if keys.iter().any(|k| matches!(k, Expr::Col(_))) => {
                // MariaDB resolves a HAVING column through GROUP BY / the select list;
                // an expression key would need its alias, so only bare column keys.
                let cols: Vec<&Expr> = keys.iter().filter(|k| matches!(k, Expr::Col(_))).collect();
                let k = (*self.r.pick(&cols)).clone();
                let Expr::Col(name) = &k else { unreachable!() };
                if self.r.chance(60) {
                    let c = self.coldef(name).expect("column");
                    let l = self.lit(c);
                    let op = *self.r.pick(CMP);
                    bin(k, op, param(l))
                } else {
                    Expr::IsNull(Box::new(k), self.r.chance(70))
                }
            }
            _ => {
                let (a, b) = (self.agg_cmp(), self.agg_cmp());
                bin(a, "OR", b)
            }
        }
    }

    fn dir(&mut self) -> Option<bool> {
        match self.r.below(10) {
            0..=3 => None,
            4..=5 => Some(false),
            _ => Some(true),
        }
    }

    /// A reference to select-list entry `i` (0-based, `*` expanded).
    fn item_ref(&mut self, q: &Query, i: usize) -> Ref {
        let items = q.expanded();
        let (e, a) = &items[i];
        match self.r.below(10) {
            0..=3 => Ref::Pos(i + 1),
            4..=6 if a.is_some() => Ref::Alias(a.clone().expect("alias")),
            _ if matches!(e, Expr::Lit(..)) => Ref::Pos(i + 1),
            _ => Ref::Expr(e.clone()),
        }
    }

    fn covered(q: &Query, e: &Expr) -> bool {
        q.order_by
            .iter()
            .any(|(r, _)| q.resolve(r).as_ref() == Some(e))
    }

    fn limit(&mut self) -> Limit {
        Limit {
            count: *self.r.pick(&[0, 1, 1, 2, 3, 5, 5, 10, 10, 20, 50, 1000]),
            offset: if self.r.chance(40) {
                Some(*self.r.pick(&[0, 1, 2, 5, 10, 50, 100, 290]))
            } else {
                None
            },
            offset_kw: self.r.chance(40),
            param: self.r.chance(50),
        }
    }

    // ----- shapes -----

    fn plain(&mut self, q: &mut Query) {
        if self.r.chance(12) {
            q.items.push(Item::Star);
            if self.r.chance(25) {
                let e = self.scalar();
                let a = self.alias(60);
                q.items.push(Item::Expr(e, a));
            }
        } else {
            for _ in 0..1 + self.r.below(4) {
                let (e, a) = match self.r.below(100) {
                    0..=54 => {
                        let e = col(self.col().name);
                        (e, self.alias(20))
                    }
                    55..=89 => {
                        let e = self.scalar();
                        (e, self.alias(40))
                    }
                    _ => {
                        let e = match self.r.below(4) {
                            0 => int(1),
                            1 => s("x"),
                            2 => lit(Lit::Dec("3.50".into())),
                            _ => lit(Lit::Null),
                        };
                        (e, self.alias(50))
                    }
                };
                q.items.push(Item::Expr(e, a));
            }
        }
        if self.r.chance(55) {
            let n = q.expanded().len();
            for _ in 0..1 + self.r.below(3) {
                let r = match self.r.below(100) {
                    0..=44 => {
                        let i = self.r.below(n as u64) as usize;
                        self.item_ref(q, i)
                    }
                    45..=69 => Ref::Expr(col(self.col().name)),
                    70..=84 => Ref::Expr(self.scalar()),
                    _ => Ref::Expr(col(self.t.pk)),
                };
                let d = self.dir();
                q.order_by.push((r, d));
            }
        }
        if self.r.chance(35) {
            if !Self::covered(q, &col(self.t.pk)) {
                let d = self.dir();
                q.order_by.push((Ref::Expr(col(self.t.pk)), d));
            }
            q.limit = Some(self.limit());
        }
    }

    fn aggregate(&mut self, q: &mut Query) {
        for _ in 0..1 + self.r.below(3) {
            let e = if self.r.chance(60) {
                self.agg()
            } else {
                self.agg_expr()
            };
            let a = self.alias(35);
            q.items.push(Item::Expr(e, a));
        }
        if self.r.chance(5) {
            q.items.push(Item::Expr(s("total"), None));
        }
        if self.r.chance(20) {
            let h = self.having_pred(q, &[]);
            q.having.push(h);
        }
        if self.r.chance(10) {
            let d = self.dir();
            q.order_by.push((Ref::Pos(1), d));
        }
        if self.r.chance(10) {
            q.limit = Some(Limit {
                count: *self.r.pick(&[0, 1, 5]),
                offset: if self.r.chance(30) {
                    Some(*self.r.pick(&[0, 1]))
                } else {
                    None
                },
                offset_kw: self.r.chance(50),
                param: self.r.chance(50),
            });
        }
    }

    fn is_str(&self, e: &Expr) -> bool {
        match e {
            Expr::Col(c) => self.coldef(c).is_some_and(|c| c.kind == Str),
            Expr::Func(f, _) => matches!(*f, "LOWER" | "UPPER" | "LEFT" | "COALESCE" | "CONCAT"),
            _ => false,
        }
    }

    fn key(&mut self) -> Expr {
        if self.r.chance(70) {
            let c = if self.r.chance(80) {
                self.col_where(|c| c.low).unwrap_or_else(|| self.col())
            } else {
                self.col()
            };
            return col(c.name);
        }
        let c = self.col();
        let e = col(c.name);
        match c.kind {
            Time => func(*self.r.pick(&["YEAR", "MONTH", "DATE"]), vec![e]),
            Int => match self.r.below(3) {
                0 => bin(e, "%", int(3)),
                1 => bin(e, "DIV", int(10)),
                _ => func("IFNULL", vec![e, int(0)]),
            },
            Dec => bin(e, "DIV", int(500)),
            Str => match self.r.below(5) {
                0 => func("LOWER", vec![e]),
                1 => func("UPPER", vec![e]),
                2 => func("LEFT", vec![e, int(1)]),
                3 => func("COALESCE", vec![e, s("-")]),
                _ => func("LENGTH", vec![e]),
            },
        }
    }

    fn grouped(&mut self, q: &mut Query) {
        let nk = match self.r.below(100) {
            0..=64 => 1,
            65..=92 => 2,
            _ => 3,
        };
        let mut keys: Vec<Expr> = Vec::new();
        for _ in 0..nk {
            let k = self.key();
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        // Select list: most keys, an occasional expression over a key, 1-3 aggregates.
        let mut key_pos: Vec<Option<usize>> = Vec::new();
        for k in &keys {
            if self.r.chance(80) {
                key_pos.push(Some(q.items.len()));
                let a = self.alias(30);
                q.items.push(Item::Expr(k.clone(), a));
            } else {
                key_pos.push(None);
            }
        }
        if self.r.chance(8) {
            let k = self.r.pick(&keys).clone();
            // MariaDB evaluates it on any row of the group: over a string key, only an
            // expression that keeps collation-equal spellings equal ('paid ' + '!' would not).
            let e = if self.r.chance(50) && !self.is_str(&k) {
                func("CONCAT", vec![k, s("!")])
            } else {
                func("COALESCE", vec![k, s("?")])
            };
            let a = self.alias(50);
            q.items.push(Item::Expr(e, a));
        }
        let mut aggs = Vec::new();
        for _ in 0..1 + self.r.below(3) {
            let e = if self.r.chance(65) {
                self.agg()
            } else {
                self.agg_expr()
            };
            let a = self.alias(40);
            aggs.push(Item::Expr(e, a));
        }
        if self.r.chance(30) {
            // Aggregates first: key positions shift.
            let n = aggs.len();
            for p in key_pos.iter_mut().flatten() {
                *p += n;
            }
            aggs.append(&mut q.items);
            q.items = aggs;
        } else {
            q.items.append(&mut aggs);
        }
        for (k, p) in keys.iter().zip(&key_pos) {
            let r = match p {
                Some(p) => self.item_ref(q, *p),
                None => Ref::Expr(k.clone()),
            };
            q.group_by.push(r);
        }
        if self.r.chance(35) {
            for _ in 0..1 + self.r.below(2) {
                let h = self.having_pred(q, &keys);
                q.having.push(h);
            }
        }
        // No SELECT DISTINCT over GROUP BY: MariaDB 10.11 itself answers it wrongly
        // (duplicates kept, AVG of the wrong group); see `Query::validate`.
        let n = q.expanded().len();
        if self.r.chance(60) {
            for _ in 0..1 + self.r.below(3) {
                let r = match self.r.below(100) {
                    0..=39 if !q.distinct => {
                        let i = self.r.below(keys.len() as u64) as usize;
                        match key_pos[i] {
                            Some(p) => self.item_ref(q, p),
                            None => Ref::Expr(keys[i].clone()),
                        }
                    }
                    40..=79 => {
                        let i = self.r.below(n as u64) as usize;
                        self.item_ref(q, i)
                    }
                    _ if q.distinct => {
                        let i = self.r.below(n as u64) as usize;
                        self.item_ref(q, i)
                    }
                    _ => Ref::Expr(self.agg()),
                };
                let d = self.dir();
                q.order_by.push((r, d));
            }
        }
        if self.r.chance(30) {
            if q.distinct {
                for i in 0..n {
                    if !Self::covered(q, &q.expanded()[i].0) {
                        let r = self.item_ref(q, i);
                        let d = self.dir();
                        q.order_by.push((r, d));
                    }
                }
            } else {
                for (i, k) in keys.iter().enumerate() {
                    if !Self::covered(q, k) {
                        let r = match key_pos[i] {
                            Some(p) => self.item_ref(q, p),
                            None => Ref::Expr(k.clone()),
                        };
                        let d = self.dir();
                        q.order_by.push((r, d));
                    }
                }
            }
            q.limit = Some(self.limit());
        }
    }

    fn distinct(&mut self, q: &mut Query) {
        q.distinct = true;
        for _ in 0..1 + self.r.below(3) {
            let e = match self.r.below(100) {
                0..=59 => col(self.col_where(|c| c.low).unwrap_or_else(|| self.col()).name),
                60..=84 => self.scalar(),
                _ => col(self.col().name),
            };
            let a = self.alias(25);
            q.items.push(Item::Expr(e, a));
        }
        let n = q.items.len();
        if self.r.chance(50) {
            for _ in 0..1 + self.r.below(n as u64) {
                let i = self.r.below(n as u64) as usize;
                let r = self.item_ref(q, i);
                let d = self.dir();
                q.order_by.push((r, d));
            }
        }
        if self.r.chance(30) {
            for i in 0..n {
                if !Self::covered(q, &q.expanded()[i].0) {
                    let r = self.item_ref(q, i);
                    let d = self.dir();
                    q.order_by.push((r, d));
                }
            }
            q.limit = Some(self.limit());
        }
    }
}
