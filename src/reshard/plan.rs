//! What a reshard moves: the logical tables whose rows live somewhere else under the new
//! rules, with their source and target physical tables. Pure: the job gives it both rules
//! and the unnamed tables it found on the default data sources.

use crate::plan::ship::quoted as quote;
use crate::rules::{Config, ShardedTable, TableRule};
use crate::rules::{ShardValue, Values};
use std::collections::BTreeSet;
use std::fmt;

/// One physical table, and where it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Phys {
    /// Data source name in its rules.
    pub ds: String,
    /// `host:port`.
    pub server: String,
    pub database: String,
    pub table: String,
}

impl Phys {
    /// Where the rows are, whatever the data source is called.
    pub fn identity(&self) -> (&str, &str, &str) {
        (&self.server, &self.database, &self.table)
    }

    /// `` `database`.`table` ``.
    pub fn qualified(&self) -> String {
        format!("{}.{}", quote(&self.database), quote(&self.table))
    }
}

impl fmt::Display for Phys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{} ({}/{})",
            self.ds, self.table, self.server, self.database
        )
    }
}

/// How rows spread over a side's nodes.
#[derive(Debug, Clone)]
pub enum Spread {
    /// Each row on exactly one node, by the table's strategies.
    Sharded(Box<ShardedTable>),
    /// Every row on every node.
    Broadcast,
    /// One node (a single table, or a table without rules on the default data source).
    Single,
}

#[derive(Debug, Clone)]
pub struct Side {
    pub spread: Spread,
    pub nodes: Vec<Phys>,
}

impl Side {
    fn kind(&self) -> &'static str {
        match self.spread {
            Spread::Sharded(_) => "sharded",
            Spread::Broadcast => "broadcast",
            Spread::Single => "single",
        }
    }

    fn same_placement(&self, other: &Side) -> bool {
        fn ids(s: &Side) -> Vec<(&str, &str, &str)> {
            s.nodes.iter().map(|n| n.identity()).collect()
        }
        match (&self.spread, &other.spread) {
            (Spread::Sharded(a), Spread::Sharded(b)) => {
                let same = |x: &Option<crate::rules::Strategy>,
                            y: &Option<crate::rules::Strategy>| {
                    match (x, y) {
                        (None, None) => true,
                        (Some(x), Some(y)) => {
                            x.column == y.column && x.algorithm.kind == y.algorithm.kind
                        }
                        _ => false,
                    }
                };
                ids(self) == ids(other)
                    && same(&a.database_strategy, &b.database_strategy)
                    && same(&a.table_strategy, &b.table_strategy)
            }
            (Spread::Broadcast, Spread::Broadcast) => {
                let a: BTreeSet<_> = ids(self).into_iter().collect();
                let b: BTreeSet<_> = ids(other).into_iter().collect();
                a == b
            }
            (Spread::Single, Spread::Single) => ids(self) == ids(other),
            _ => false,
        }
    }

    /// Every node holds every row.
    fn complete_copies(&self) -> bool {
        !matches!(self.spread, Spread::Sharded(_))
    }

    /// The nodes (indices into `nodes`) a row goes to; `value` gives a column's value.
    pub fn nodes_for(
        &self,
        value: &dyn Fn(&str) -> Option<ShardValue>,
    ) -> Result<Vec<usize>, String> {
        let Spread::Sharded(t) = &self.spread else {
            return Ok((0..self.nodes.len()).collect());
        };
        let of = |s: &Option<crate::rules::Strategy>| match s {
            Some(s) => match value(&s.column) {
                Some(v) => Ok(Values::List(vec![v])),
                None => Err(format!("no value for sharding column {}", s.column)),
            },
            None => Ok(Values::Any),
        };
        let nodes = t
            .route(&of(&t.database_strategy)?, &of(&t.table_strategy)?)
            .map_err(|e| e.to_string())?;
        if nodes.len() != 1 {
            return Err(format!(
                "a row of {} routes to {} nodes (its sharding value is NULL or out of range)",
                t.name,
                nodes.len()
            ));
        }
        Ok(nodes)
    }
}

/// One logical table that moves.
#[derive(Debug, Clone)]
pub struct Move {
    pub db: String,
    pub table: String,
    pub from: Side,
    pub to: Side,
    /// Target nodes that already hold every row (a broadcast copy that stays): not filled.
    pub kept: Vec<usize>,
}

impl Move {
    /// Target nodes the job fills.
    pub fn filled(&self) -> impl Iterator<Item = (usize, &Phys)> {
        self.to
            .nodes
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.kept.contains(i))
    }

    /// Source nodes whose rows are read (one copy of a broadcast table).
    pub fn read_from(&self) -> &[Phys] {
        match self.from.spread {
            Spread::Sharded(_) => &self.from.nodes,
            _ => &self.from.nodes[..1.min(self.from.nodes.len())],
        }
    }

    pub fn describe(&self) -> String {
        let list = |v: &mut dyn Iterator<Item = &Phys>| {
            v.map(|p| format!("{}.{}", p.ds, p.table))
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!(
            "{}.{}: {} [{}] -> {} [{}]",
            self.db,
            self.table,
            self.from.kind(),
            list(&mut self.from.nodes.iter()),
            self.to.kind(),
            list(&mut self.filled().map(|(_, p)| p)),
        )
    }
}

#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub moves: Vec<Move>,
    /// Logical databases of the old rules that the new rules drop (not moved).
    pub notes: Vec<String>,
}

impl Plan {
    /// Physical databases the targets need, per data source of the new rules.
    pub fn target_databases(&self) -> BTreeSet<(String, String)> {
        self.moves
            .iter()
            .flat_map(|m| m.filled().map(|(_, p)| (p.ds.clone(), p.database.clone())))
            .collect()
    }
}

fn phys(config: &Config, ds: &str, table: &str) -> Result<Phys, String> {
    let d = config
        .data_sources
        .get(ds)
        .ok_or_else(|| format!("unknown data source {ds}"))?;
    Ok(Phys {
        ds: ds.to_string(),
        server: format!("{}:{}", d.host, d.port),
        database: d.database.clone(),
        table: table.to_string(),
    })
}

/// Where a logical table's rows live under `config` (a table without a rule lives on the
/// default data source under its own name).
pub fn side(config: &Config, db: &str, table: &str) -> Result<Side, String> {
    let d = config
        .databases
        .get(db)
        .ok_or_else(|| format!("unknown logical database {db}"))?;
    Ok(match d.table(table) {
        Some(TableRule::Sharded(t)) => Side {
            nodes: t
                .nodes
                .iter()
                .map(|n| phys(config, &n.data_source, &n.table))
                .collect::<Result<_, _>>()?,
            spread: Spread::Sharded(Box::new(t.clone())),
        },
        Some(TableRule::Broadcast { data_sources, .. }) => Side {
            spread: Spread::Broadcast,
            nodes: data_sources
                .iter()
                .map(|ds| phys(config, ds, table))
                .collect::<Result<_, _>>()?,
        },
        Some(TableRule::Single { data_source, .. }) => Side {
            spread: Spread::Single,
            nodes: vec![phys(config, data_source, table)?],
        },
        None => Side {
            spread: Spread::Single,
            nodes: vec![phys(config, &d.default_data_source, table)?],
        },
    })
}

/// Compare the rules. `unnamed(db)`: tables without rules found on that logical database's
/// default data source (lower case).
pub fn plan(
    old: &Config,
    new: &Config,
    unnamed: &dyn Fn(&str) -> Vec<String>,
) -> Result<Plan, String> {
    let mut out = Plan::default();
    for (db, old_db) in &old.databases {
        let Some(new_db) = new.databases.get(db) else {
            out.notes.push(format!(
                "logical database {db} is not in the new rules: its tables stay where they are"
            ));
            continue;
        };
        let mut tables: BTreeSet<String> = old_db.tables.keys().cloned().collect();
        tables.extend(
            unnamed(db)
                .into_iter()
                .filter(|t| old_db.table(t).is_none()),
        );
        for table in tables {
            let name = old_db
                .table(&table)
                .map(|r| r.name().to_string())
                .unwrap_or(table.clone());
            let from = side(old, db, &name)?;
            let to = side(new, &new_db.name, &name)?;
            if from.same_placement(&to) {
                continue;
            }
            let mut kept = Vec::new();
            for (i, t) in to.nodes.iter().enumerate() {
                let overlaps = from.nodes.iter().any(|s| s.identity() == t.identity());
                if !overlaps {
                    continue;
                }
                if from.complete_copies() && to.complete_copies() {
                    // That copy already holds every row.
                    kept.push(i);
                    continue;
                }
                return Err(format!(
                    "table {db}.{name}: the new rules put rows in {t}, which the old rules \
                     also use while rows must leave it or arrive in it; give the new layout \
                     other physical databases or tables"
                ));
            }
            if kept.len() == to.nodes.len() {
                continue;
            }
            out.moves.push(Move {
                db: db.clone(),
                table: name,
                from,
                to,
                kept,
            });
        }
    }
    if out.moves.is_empty() && out.notes.is_empty() {
        out.notes
            .push("no table changes its place: nothing to move".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Config {
        let text = include_str!("../../examples/ecommerce/rules.toml");
        crate::rules::parse(text, "rules.toml").unwrap()
    }

    fn four() -> Config {
        let text = include_str!("../../examples/ecommerce/rules-4ds.toml");
        crate::rules::parse(text, "rules-4ds.toml").unwrap()
    }

    #[test]
    fn the_example_moves_every_table_to_four_data_sources() {
        let p = plan(&example(), &four(), &|_| vec!["t_extra".into()]).unwrap();
        let got: Vec<String> = p.moves.iter().map(Move::describe).collect();
        assert_eq!(
            got,
            [
                "shop.t_config: single [ds_0.t_config] -> single [ds_0.t_config]",
                "shop.t_extra: single [ds_0.t_extra] -> single [ds_0.t_extra]",
                "shop.t_order: sharded [ds_0.t_order_0, ds_0.t_order_1, ds_1.t_order_0, ds_1.t_order_1] -> sharded [ds_0.t_order_0, ds_0.t_order_1, ds_1.t_order_0, ds_1.t_order_1, ds_2.t_order_0, ds_2.t_order_1, ds_3.t_order_0, ds_3.t_order_1]",
                "shop.t_order_item: sharded [ds_0.t_order_item_0, ds_0.t_order_item_1, ds_1.t_order_item_0, ds_1.t_order_item_1] -> sharded [ds_0.t_order_item_0, ds_0.t_order_item_1, ds_1.t_order_item_0, ds_1.t_order_item_1, ds_2.t_order_item_0, ds_2.t_order_item_1, ds_3.t_order_item_0, ds_3.t_order_item_1]",
                "shop.t_product: sharded [ds_0.t_product, ds_1.t_product] -> sharded [ds_0.t_product, ds_1.t_product, ds_2.t_product, ds_3.t_product]",
                "shop.t_region: broadcast [ds_0.t_region, ds_1.t_region] -> broadcast [ds_0.t_region, ds_1.t_region, ds_2.t_region, ds_3.t_region]",
                "shop.t_user: sharded [ds_0.t_user, ds_1.t_user] -> sharded [ds_0.t_user, ds_1.t_user, ds_2.t_user, ds_3.t_user]",
            ]
        );
        let dbs: Vec<String> = p
            .target_databases()
            .into_iter()
            .map(|(ds, db)| format!("{ds}={db}"))
            .collect();
        assert_eq!(
            dbs,
            [
                "ds_0=shop4_0",
                "ds_1=shop4_1",
                "ds_2=shop4_2",
                "ds_3=shop4_3"
            ]
        );
        assert_eq!(p.moves[2].from.nodes[0].server, "127.0.0.1:3316");
        assert_eq!(p.moves[2].to.nodes[7].server, "127.0.0.1:3317");
    }

    #[test]
    fn same_rules_move_nothing() {
        let p = plan(&example(), &example(), &|_| vec!["t_extra".into()]).unwrap();
        assert!(p.moves.is_empty());
        assert_eq!(p.notes, ["no table changes its place: nothing to move"]);
    }

    /// Rows route by the target's strategies: user_id % 4, then order_id % 2.
    #[test]
    fn rows_route_to_exactly_one_target_node() {
        let p = plan(&example(), &four(), &|_| vec![]).unwrap();
        let order = p.moves.iter().find(|m| m.table == "t_order").unwrap();
        let cases = [(1, 10, 2), (2, 10, 4), (3, 11, 7), (4, 11, 1)];
        for (user, order_id, node) in cases {
            let got = order
                .to
                .nodes_for(&|c| match c {
                    "user_id" => Some(ShardValue::Int(user)),
                    "order_id" => Some(ShardValue::Int(order_id)),
                    _ => None,
                })
                .unwrap();
            assert_eq!(got, [node], "user {user} order {order_id}");
        }
        let region = p.moves.iter().find(|m| m.table == "t_region").unwrap();
        assert!(region.kept.is_empty());
        assert_eq!(region.read_from().len(), 1);
        assert_eq!(region.to.nodes_for(&|_| None).unwrap(), [0, 1, 2, 3]);
    }

    #[test]
    fn a_target_on_a_source_table_is_refused_unless_it_already_holds_every_row() {
        let base = include_str!("../../examples/ecommerce/rules.toml");
        // t_user over the same physical tables by another algorithm: rows must leave them.
        let text = base.replace(
            "[databases.shop.algorithms.table_mod]",
            "[databases.shop.algorithms.user_hash]\ntype = \"hash_mod\"\nsharding_count = 2\n\n[databases.shop.algorithms.table_mod]",
        );
        let text = text.replacen(
            "database_strategy = { column = \"user_id\", algorithm = \"db_mod\" }",
            "database_strategy = { column = \"user_id\", algorithm = \"user_hash\" }",
            1,
        );
        let new = crate::rules::parse(&text, "x").unwrap();
        let e = plan(&example(), &new, &|_| vec![]).unwrap_err();
        assert!(e.contains("table shop.t_user"), "{e}");
        assert!(e.contains("ds_0.t_user"), "{e}");
        // An algorithm renamed, same meaning: nothing moves.
        let renamed = base.replace("db_mod", "by_two");
        let p = plan(
            &example(),
            &crate::rules::parse(&renamed, "x").unwrap(),
            &|_| vec![],
        )
        .unwrap();
        assert!(p.moves.is_empty(), "{:?}", p.moves);
        // A single table becoming broadcast over its own data source and another: the copy
        // in place holds every row already, only the other one fills.
        let text = base.replace(
            "broadcast_tables = [\"t_region\"]\nsingle_tables = { t_config = \"ds_0\" }",
            "broadcast_tables = [\"t_region\", \"t_config\"]",
        );
        let new = crate::rules::parse(&text, "x").unwrap();
        let p = plan(&example(), &new, &|_| vec![]).unwrap();
        let m = p.moves.iter().find(|m| m.table == "t_config").unwrap();
        assert_eq!(m.kept, [0]);
        assert_eq!(
            m.describe(),
            "shop.t_config: single [ds_0.t_config] -> broadcast [ds_1.t_config]"
        );
    }
}
