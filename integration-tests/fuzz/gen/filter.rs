//! WHERE clauses: sharding-key predicates and random conditions.

use super::super::ast::*;
use super::Gen;
use super::Kind::*;
use super::CMP;

impl Gen<'_> {
    // ----- WHERE -----

    pub(super) fn where_clause(&mut self) -> Vec<Expr> {
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
    pub(super) fn shard_conds(&mut self) -> Vec<Expr> {
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
        let sub = self.sub_pct();
        if self.r.chance(sub) {
            return self.sub_cond();
        }
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

    pub(super) fn pred(&mut self) -> Expr {
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
}
