//! ORDER BY / LIMIT, and the four query shapes: plain, aggregate, grouped, DISTINCT.

use super::super::ast::*;
use super::Gen;
use super::Kind::*;

impl Gen<'_> {
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

    pub(super) fn plain(&mut self, q: &mut Query) {
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

    pub(super) fn aggregate(&mut self, q: &mut Query) {
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

    pub(super) fn grouped(&mut self, q: &mut Query) {
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

    pub(super) fn distinct(&mut self, q: &mut Query) {
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
