//! Scalar and aggregate expressions, HAVING predicates.

use super::super::ast::*;
use super::Kind::*;
use super::CMP;
use super::{ColDef, Gen, Pool};

impl Gen<'_> {
    // ----- expressions -----

    /// A non-aggregate expression over one (or two) columns; no FLOAT/DOUBLE results.
    pub(super) fn scalar(&mut self) -> Expr {
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

    pub(super) fn agg(&mut self) -> Expr {
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

    pub(super) fn agg_expr(&mut self) -> Expr {
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

    pub(super) fn having_pred(&mut self, q: &Query, keys: &[Expr]) -> Expr {
        if self.r.chance(5) {
            return self.having_sub();
        }
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
}
