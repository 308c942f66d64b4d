//! Picking columns and literal values.

use super::super::ast::*;
use super::char_prefix;
use super::Kind::*;
use super::{ColDef, Gen, Pool};
use crate::data::NAMES;

impl Gen<'_> {
    // ----- columns and literals -----

    pub(super) fn col(&mut self) -> &'static ColDef {
        self.r.pick(self.t.cols)
    }

    pub(super) fn col_where(&mut self, f: impl Fn(&ColDef) -> bool) -> Option<&'static ColDef> {
        let v: Vec<&'static ColDef> = self.t.cols.iter().filter(|c| f(c)).collect();
        if v.is_empty() {
            None
        } else {
            Some(*self.r.pick(&v))
        }
    }

    pub(super) fn coldef(&self, name: &str) -> Option<&'static ColDef> {
        self.t.cols.iter().find(|c| c.name == name)
    }

    pub(super) fn num_col(&mut self) -> &'static ColDef {
        self.col_where(|c| matches!(c.kind, Int | Dec))
            .expect("numeric column")
    }

    pub(super) fn alias(&mut self, pct: u64) -> Option<String> {
        if self.r.chance(pct) {
            self.aliases += 1;
            Some(format!("a{}", self.aliases))
        } else {
            None
        }
    }

    pub(super) fn int_lit(&mut self, v: i64) -> Lit {
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
            3 => super::super::compare::fold(v).to_lowercase(),
            _ => v.to_string(),
        }
    }

    pub(super) fn lit(&mut self, c: &ColDef) -> Lit {
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

    pub(super) fn like_pattern(&mut self, c: &ColDef) -> String {
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
}
