//! Random joins over the example tables (issue 6): 2–4 tables, inner / LEFT / RIGHT / comma
//! joins on equal columns (mostly the natural key pairs, sometimes any two columns of a
//! kind), rarely non-equi conditions, extra ON and WHERE predicates, and four shapes on top:
//! plain rows ordered by every table's primary key (unique per result row, NULLs included),
//! GROUP BY with aggregates and HAVING, aggregates without GROUP BY, DISTINCT.

use super::super::ast::{Lit, Order};
use super::Kind::*;
use super::{ColDef, Gen, TableDef, CMP, TABLES};

/// One generated join statement (rendered: literals inline).
#[derive(Clone, Debug)]
pub struct JoinQuery {
    pub sql: String,
    pub order: Order,
    /// Shape names, for the statistics.
    pub shapes: Vec<&'static str>,
    /// Aliases of derived tables and CTEs (their columns' origin depends on MariaDB's plan).
    pub derived: Vec<String>,
    /// Has a LEFT or RIGHT join.
    pub outer: bool,
}

/// A table in the FROM list with its alias.
struct Member {
    t: &'static TableDef,
    alias: String,
    /// What FROM names: the table, a derived table over it, or a CTE (defined in `with`).
    source: String,
}

impl Member {
    fn col(&self, c: &ColDef) -> String {
        format!("{}.{}", self.alias, c.name)
    }
}

fn lit_sql(l: &Lit) -> String {
    match l {
        Lit::Int(v) => v.to_string(),
        Lit::Dec(v) => v.clone(),
        Lit::IntStr(v) | Lit::Str(v) | Lit::Time(v) => format!("'{}'", v.replace('\'', "''")),
        Lit::Null => "NULL".into(),
    }
}

impl Gen<'_> {
    pub fn join_query(&mut self) -> JoinQuery {
        let mut shapes = Vec::new();
        let n = match self.r.below(100) {
            0..=59 => 2,
            60..=89 => 3,
            _ => 4,
        };
        let mut members: Vec<Member> = Vec::new();
        let mut with: Vec<String> = Vec::new();
        let mut derived: Vec<String> = Vec::new();
        for k in 0..n {
            let t = &TABLES[self.r.below(TABLES.len() as u64) as usize];
            let alias = format!("{}{k}", t.alias);
            // Sometimes a derived table (or CTE) with the table's columns and rows, or some
            // of them: filtered, DISTINCT (materialised), or its first rows by key.
            let source = match self.r.below(100) {
                0..=79 => t.name.to_string(),
                w => {
                    let body = self.derived_body(t);
                    if w < 92 {
                        shapes.push("derived table");
                        format!("({body})")
                    } else {
                        shapes.push("CTE");
                        let name = format!("c{k}");
                        with.push(format!("{name} AS ({body})"));
                        name
                    }
                }
            };
            if source != t.name {
                derived.push(alias.clone());
            }
            members.push(Member { t, alias, source });
        }
        if members
            .iter()
            .enumerate()
            .any(|(k, m)| members[..k].iter().any(|x| x.t.name == m.t.name))
        {
            shapes.push("self join");
        }
        let mut from = format!("{} AS {}", members[0].source, members[0].alias);
        let mut where_: Vec<String> = Vec::new();
        let mut non_equi = false;
        for k in 1..n {
            let cond = self.join_condition(&members, k, n == 2, &mut non_equi);
            let m = &members[k];
            match self.r.below(100) {
                0..=49 => {
                    from.push_str(&format!(" JOIN {} AS {} ON {cond}", m.source, m.alias));
                    shapes.push("inner join");
                }
                50..=74 => {
                    from.push_str(&format!(" LEFT JOIN {} AS {} ON {cond}", m.source, m.alias));
                    shapes.push("left join");
                }
                75..=87 => {
                    from.push_str(&format!(
                        " RIGHT JOIN {} AS {} ON {cond}",
                        m.source, m.alias
                    ));
                    shapes.push("right join");
                }
                _ => {
                    from.push_str(&format!(", {} AS {}", m.source, m.alias));
                    where_.push(cond);
                    shapes.push("comma join");
                }
            }
        }
        if non_equi {
            shapes.push("non-equi join");
        }
        for _ in 0..self.r.below(3) {
            let k = self.r.below(n as u64) as usize;
            where_.push(self.predicate(&members[k]));
        }
        if !where_.is_empty() {
            shapes.push("with WHERE");
        }
        let where_sql = if where_.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", where_.join(" AND "))
        };
        let (head, tail, order) = match self.r.below(100) {
            0..=39 => {
                shapes.push("plain");
                self.plain_shape(&members, non_equi)
            }
            40..=74 => {
                shapes.push("grouped");
                self.grouped_shape(&members)
            }
            75..=89 => {
                shapes.push("aggregate, no GROUP BY");
                (
                    self.aggregates(&members).join(", "),
                    String::new(),
                    Order::Total,
                )
            }
            _ => {
                shapes.push("DISTINCT");
                let cols = self.low_cols(&members);
                let order_by = (1..=cols.len())
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                (
                    format!("DISTINCT {}", cols.join(", ")),
                    format!(" ORDER BY {order_by}"),
                    Order::Total,
                )
            }
        };
        let with_sql = if with.is_empty() {
            String::new()
        } else {
            format!("WITH {} ", with.join(", "))
        };
        JoinQuery {
            sql: format!("{with_sql}SELECT {head} FROM {from}{where_sql}{tail}"),
            order,
            outer: shapes.contains(&"left join") || shapes.contains(&"right join"),
            shapes,
            derived,
        }
    }

    /// A SELECT over `t` returning its columns (so the outer query names them alike).
    fn derived_body(&mut self, t: &'static TableDef) -> String {
        let c = self.r.pick(t.cols);
        let m = Member {
            t,
            alias: String::new(),
            source: String::new(),
        };
        // Unqualified inside the derived table.
        let pred = self.predicate(&m).replacen('.', "", 1);
        match self.r.below(3) {
            0 => format!("SELECT * FROM {} WHERE {pred}", t.name),
            1 => format!(
                "SELECT DISTINCT * FROM {} WHERE {} IS NOT NULL",
                t.name, c.name
            ),
            _ => format!(
                "SELECT * FROM {} ORDER BY {} LIMIT {}",
                t.name,
                t.pk,
                5 + self.r.below(200)
            ),
        }
    }

    /// Two single-table SELECTs of one integer column joined by a set operator.
    pub fn set_operation(&mut self) -> JoinQuery {
        let side = |g: &mut Self| {
            let t = &TABLES[g.r.below(TABLES.len() as u64) as usize];
            let ints: Vec<&ColDef> = t.cols.iter().filter(|c| c.kind == Int).collect();
            let c = *g.r.pick(&ints);
            let m = Member {
                t,
                alias: t.alias.to_string(),
                source: t.name.to_string(),
            };
            let mut sql = format!(
                "SELECT {}.{} FROM {} AS {}",
                m.alias, c.name, t.name, m.alias
            );
            if g.r.chance(60) {
                sql.push_str(&format!(" WHERE {}", g.predicate(&m)));
            }
            sql
        };
        let mut sql = side(self);
        let mut shapes = vec!["set operation"];
        for _ in 0..1 + self.r.below(2) {
            let (op, shape) = *self.r.pick(&[
                ("UNION", "UNION"),
                ("UNION ALL", "UNION"),
                ("INTERSECT", "INTERSECT"),
                ("INTERSECT ALL", "INTERSECT"),
                ("EXCEPT", "EXCEPT"),
                ("EXCEPT ALL", "EXCEPT"),
            ]);
            shapes.push(shape);
            let next = side(self);
            sql = format!("{sql} {op} {next}");
        }
        let order = if self.r.chance(40) {
            sql.push_str(&format!(" ORDER BY 1 DESC LIMIT {}", 1 + self.r.below(10)));
            Order::Total
        } else {
            Order::Unordered
        };
        JoinQuery {
            sql,
            order,
            shapes,
            derived: Vec::new(),
            outer: false,
        }
    }

    /// `a.x = b.y` between table `k` and an earlier one, plus sometimes a predicate on `k`.
    fn join_condition(
        &mut self,
        members: &[Member],
        k: usize,
        two: bool,
        non_equi: &mut bool,
    ) -> String {
        let j = self.r.below(k as u64) as usize;
        let (a, b) = (&members[j], &members[k]);
        // Natural pairs: the same column name in both tables.
        let natural: Vec<(&ColDef, &ColDef)> =
            a.t.cols
                .iter()
                .flat_map(|x| b.t.cols.iter().map(move |y| (x, y)))
                .filter(|(x, y)| x.name == y.name && x.kind == Int)
                .collect();
        // Prefer key pairs (a primary key on one side): joins on low-cardinality columns
        // multiply rows.
        let keyed: Vec<(&ColDef, &ColDef)> = natural
            .iter()
            .copied()
            .filter(|(x, _)| x.name == a.t.pk || x.name == b.t.pk)
            .collect();
        let natural = if keyed.is_empty() || self.r.chance(15) {
            natural
        } else {
            keyed
        };
        let (x, y) = if !natural.is_empty() && (self.r.chance(75) || !two) {
            *self.r.pick(&natural)
        } else {
            let x = self.r.pick(a.t.cols);
            let same: Vec<&ColDef> = b.t.cols.iter().filter(|c| c.kind == x.kind).collect();
            match same.as_slice() {
                [] => {
                    let (x, y) = (&a.t.cols[0], &b.t.cols[0]);
                    (x, y)
                }
                v => (x, *self.r.pick(v)),
            }
        };
        let op = if two && self.r.chance(12) {
            *non_equi = true;
            *self.r.pick(&["<", ">=", "<>"])
        } else {
            "="
        };
        let mut cond = format!("{} {op} {}", a.col(x), b.col(y));
        if self.r.chance(25) {
            cond = format!("{cond} AND {}", self.predicate(b));
        }
        cond
    }

    /// A predicate on one table's column.
    fn predicate(&mut self, m: &Member) -> String {
        let c = self.r.pick(m.t.cols);
        let col = m.col(c);
        match self.r.below(100) {
            0..=59 => {
                let op = *self.r.pick(CMP);
                let l = self.lit(c);
                format!("{col} {op} {}", lit_sql(&l))
            }
            60..=74 => {
                let not = if self.r.chance(50) { " NOT" } else { "" };
                format!("{col} IS{not} NULL")
            }
            75..=89 => {
                let (a, b) = (self.lit(c), self.lit(c));
                format!("{col} IN ({}, {})", lit_sql(&a), lit_sql(&b))
            }
            _ => {
                let (a, b) = (self.lit(c), self.lit(c));
                format!("{col} BETWEEN {} AND {}", lit_sql(&a), lit_sql(&b))
            }
        }
    }

    /// Some columns plus every table's primary key, ordered by the keys (a total order).
    fn plain_shape(&mut self, members: &[Member], non_equi: bool) -> (String, String, Order) {
        let mut items = Vec::new();
        for _ in 0..1 + self.r.below(3) {
            let m = self.r.pick(members);
            let c = self.r.pick(m.t.cols);
            items.push(m.col(c));
        }
        let mut keys = Vec::new();
        for m in members {
            let dir = if self.r.chance(25) { " DESC" } else { "" };
            keys.push(format!("{}.{}{dir}", m.alias, m.t.pk));
            items.push(format!("{}.{}", m.alias, m.t.pk));
        }
        let mut tail = format!(" ORDER BY {}", keys.join(", "));
        if non_equi || self.r.chance(35) {
            tail.push_str(&format!(" LIMIT {}", 1 + self.r.below(25)));
            if self.r.chance(30) {
                tail.push_str(&format!(" OFFSET {}", self.r.below(20)));
            }
        }
        (items.join(", "), tail, Order::Total)
    }

    /// 1–2 low-cardinality columns.
    fn low_cols(&mut self, members: &[Member]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for _ in 0..1 + self.r.below(2) {
            let m = self.r.pick(members);
            let lows: Vec<&ColDef> = m.t.cols.iter().filter(|c| c.low).collect();
            let c = self.r.pick(&lows);
            let s = m.col(c);
            if !out.contains(&s) {
                out.push(s);
            }
        }
        out
    }

    fn aggregates(&mut self, members: &[Member]) -> Vec<String> {
        let mut out = Vec::new();
        for _ in 0..1 + self.r.below(3) {
            let m = self.r.pick(members);
            let c = self.r.pick(m.t.cols);
            let num = matches!(c.kind, Int | Dec);
            let a = match self.r.below(6) {
                0 => "COUNT(*)".to_string(),
                1 => format!("COUNT({})", m.col(c)),
                2 if num => format!("SUM({})", m.col(c)),
                3 if num => format!("AVG({})", m.col(c)),
                4 => format!("MIN({})", m.col(c)),
                _ => format!("MAX({})", m.col(c)),
            };
            out.push(a);
        }
        out
    }

    fn grouped_shape(&mut self, members: &[Member]) -> (String, String, Order) {
        let keys = self.low_cols(members);
        let mut items = keys.clone();
        items.extend(self.aggregates(members));
        let positions: Vec<String> = (1..=keys.len()).map(|i| i.to_string()).collect();
        let mut tail = format!(" GROUP BY {}", positions.join(", "));
        if self.r.chance(20) {
            tail.push_str(&format!(" HAVING COUNT(*) > {}", self.r.below(4)));
        }
        tail.push_str(&format!(" ORDER BY {}", positions.join(", ")));
        if self.r.chance(20) {
            tail.push_str(&format!(" LIMIT {}", 1 + self.r.below(10)));
        }
        (items.join(", "), tail, Order::Total)
    }
}
