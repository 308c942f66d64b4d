//! Seeded random SELECT generator over the example schema (single-table queries).
//!
//! Layout: `schema.rs` (tables, columns, value pools, real sharding keys), `literals.rs`
//! (columns and literals), `filter.rs` (WHERE), `exprs.rs` (scalar and aggregate
//! expressions, HAVING), `shapes.rs` (ORDER BY / LIMIT and the four query shapes),
//! `subquery.rs` (IN / NOT IN / scalar / EXISTS subquery predicates).

mod exprs;
mod filter;
mod joins;
mod literals;
mod schema;
mod shapes;
mod subquery;

pub use schema::*;

use super::ast::*;
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

pub struct Gen<'a> {
    pub r: Rng,
    keys: &'a Keys,
    t: &'static TableDef,
    aliases: usize,
    /// Subquery nesting depth of what is being generated (0 = the statement itself).
    depth: usize,
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
            depth: 0,
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
        self.depth = 0;
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
}
