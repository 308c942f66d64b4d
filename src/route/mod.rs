//! Routing (pure): which data nodes a statement touches, from the rules and the predicates
//! on sharding columns. Route kinds are named (Vitess-style) so plans print and tests pin them.

pub mod conditions;
#[cfg(test)]
mod tests;

use crate::error::{SqlError, SqlResult};
use crate::rules::{LogicalDatabase, ShardedTable, TableRule, Values};
use crate::sql::refs::{Refs, TableRef};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

pub use conditions::{literal, CondCtx, Conditions};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteKind {
    /// Exactly one data node.
    Unicast,
    /// Several (not all) data nodes of a sharded table.
    Multicast,
    /// All data nodes of a sharded table.
    Scatter,
    /// A write to every copy of a broadcast table (or DDL on every node).
    Broadcast,
    /// A read of broadcast tables only: one node, on any data source holding a copy
    /// ([`Route::copies`]); the executor picks one the transaction already uses, or a
    /// healthy one.
    Reference,
}

impl RouteKind {
    pub fn name(self) -> &'static str {
        match self {
            RouteKind::Unicast => "Unicast",
            RouteKind::Multicast => "Multicast",
            RouteKind::Scatter => "Scatter",
            RouteKind::Broadcast => "Broadcast",
            RouteKind::Reference => "Reference",
        }
    }
}

impl fmt::Display for RouteKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One physical target: a data source and, per logical table, the physical table to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteUnit {
    pub data_source: String,
    /// Lower-cased logical name → physical name.
    pub tables: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub kind: RouteKind,
    pub units: Vec<RouteUnit>,
    /// [`RouteKind::Reference`]: every data source that may run the one unit instead of its
    /// own (the same physical names everywhere). Empty otherwise.
    pub copies: Vec<String>,
}

/// Where a [`RouteKind::Reference`] read runs: the first copy the session already uses
/// (`held`: inside its transaction, so the read sees the transaction's own writes and adds
/// no participant), else the first copy that is not down, else the planned one.
pub fn pick_copy<'a>(
    copies: &'a [String],
    planned: &'a str,
    held: impl Fn(&str) -> bool,
    down: impl Fn(&str) -> bool,
) -> &'a str {
    copies
        .iter()
        .find(|c| held(c))
        .or_else(|| copies.iter().find(|c| !down(c)))
        .map_or(planned, |c| c.as_str())
}

/// Where a referenced table lives.
#[derive(Debug, Clone, Copy)]
pub enum Placement<'a> {
    Sharded(&'a ShardedTable),
    Broadcast(&'a [String]),
    Single(&'a str),
    /// Not named by the rules: lives on the default data source.
    Default,
    /// Qualified with another schema (information_schema, mysql, ...): sent as written.
    Foreign,
}

pub fn placement<'a>(db: &'a LogicalDatabase, t: &TableRef) -> Placement<'a> {
    if let Some(s) = &t.schema {
        if !s.eq_ignore_ascii_case(&db.name) {
            return Placement::Foreign;
        }
    }
    match db.table(&t.name) {
        Some(TableRule::Sharded(s)) => Placement::Sharded(s),
        Some(TableRule::Broadcast { data_sources, .. }) => Placement::Broadcast(data_sources),
        Some(TableRule::Single { data_source, .. }) => Placement::Single(data_source),
        None => Placement::Default,
    }
}

/// Routing input for one statement.
pub struct RouteInput<'a> {
    pub db: &'a LogicalDatabase,
    pub refs: &'a Refs,
    /// Values allowed per (table ref index, sharding column).
    pub conditions: &'a Conditions,
    /// The statement writes (broadcast tables then go to every copy).
    pub write: bool,
    /// Table refs that sit in a nested query block (subquery, derived table).
    pub nested: &'a [bool],
}

/// A statement whose sharded tables (two or more, none in a subquery) each route to exactly
/// one node by their own conditions, all on one data source with its other tables: one
/// query there answers it whole, whatever the tables' binding groups or join conditions (as
/// Vitess merges two routes to one shard). `None` otherwise.
pub fn single_node(input: &RouteInput) -> Option<Route> {
    let db = input.db;
    let mut ds: Option<String> = None;
    let mut same_ds = |d: &str| -> bool {
        match &ds {
            None => {
                ds = Some(d.to_string());
                true
            }
            Some(x) => x == d,
        }
    };
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let mut broadcast: Option<&[String]> = None;
    let mut sharded = 0usize;
    for (i, t) in input.refs.tables.iter().enumerate() {
        match placement(db, t) {
            Placement::Sharded(s) => {
                if input.nested.get(i).copied().unwrap_or(false) {
                    return None;
                }
                let values = |strategy: &Option<crate::rules::Strategy>| -> Values {
                    strategy
                        .as_ref()
                        .and_then(|st| input.conditions.get(&(i, st.column.clone())).cloned())
                        .unwrap_or(Values::Any)
                };
                let nodes = s
                    .route(&values(&s.database_strategy), &values(&s.table_strategy))
                    .ok()?;
                let [n] = nodes.as_slice() else {
                    return None;
                };
                let node = s.nodes.get(*n)?;
                if !same_ds(&node.data_source) {
                    return None;
                }
                // Two references to one table must name one physical table.
                let key = s.name.to_ascii_lowercase();
                if names.get(&key).is_some_and(|p| *p != node.table) {
                    return None;
                }
                names.insert(key, node.table.clone());
                sharded += 1;
            }
            Placement::Broadcast(b) => {
                broadcast = Some(b);
                names.insert(t.name.clone(), t.name.clone());
            }
            Placement::Single(d) => {
                if !same_ds(d) {
                    return None;
                }
                names.insert(t.name.clone(), t.name.clone());
            }
            Placement::Default => {
                if !same_ds(&db.default_data_source) {
                    return None;
                }
                names.insert(t.name.clone(), t.name.clone());
            }
            Placement::Foreign => {}
        }
    }
    let ds = ds?;
    if sharded < 2 || broadcast.is_some_and(|b| !b.iter().any(|x| *x == ds)) {
        return None;
    }
    Some(Route {
        kind: RouteKind::Unicast,
        copies: Vec::new(),
        units: vec![RouteUnit {
            data_source: ds,
            tables: names,
        }],
    })
}

/// Sharding columns of each table ref (empty for unsharded ones), for condition extraction.
pub fn sharding_columns(db: &LogicalDatabase, refs: &Refs) -> Vec<Vec<String>> {
    refs.tables
        .iter()
        .map(|t| match placement(db, t) {
            Placement::Sharded(s) => s
                .sharding_columns()
                .into_iter()
                .map(|c| c.to_string())
                .collect(),
            _ => Vec::new(),
        })
        .collect()
}

pub fn route(input: &RouteInput) -> SqlResult<Route> {
    let db = input.db;
    let mut sharded: Vec<(usize, &ShardedTable)> = Vec::new();
    let mut fixed_ds: BTreeSet<&str> = BTreeSet::new();
    let mut broadcast: Option<&[String]> = None;
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for (i, t) in input.refs.tables.iter().enumerate() {
        match placement(db, t) {
            Placement::Sharded(s) => {
                if input.nested.get(i).copied().unwrap_or(false) {
                    return Err(SqlError::unsupported(format!(
                        "subquery or derived table over sharded table {}",
                        s.name
                    )));
                }
                sharded.push((i, s));
            }
            Placement::Broadcast(ds) => {
                broadcast = Some(ds);
                names.insert(t.name.clone(), t.name.clone());
            }
            Placement::Single(ds) => {
                fixed_ds.insert(ds);
                names.insert(t.name.clone(), t.name.clone());
            }
            Placement::Default => {
                fixed_ds.insert(db.default_data_source.as_str());
                names.insert(t.name.clone(), t.name.clone());
            }
            Placement::Foreign => {}
        }
    }

    if sharded.is_empty() {
        let target_is_broadcast = input
            .refs
            .tables
            .first()
            .is_some_and(|t| matches!(placement(db, t), Placement::Broadcast(_)));
        if input.write && target_is_broadcast && !fixed_ds.is_empty() {
            // Writing the broadcast table from one data source's tables would leave its
            // other copies behind.
            return Err(SqlError::unsupported(
                "a write that combines a broadcast table with tables of a single data source",
            ));
        }
        if fixed_ds.len() > 1 {
            let list: Vec<&str> = fixed_ds.iter().copied().collect();
            return Err(SqlError::unsupported(format!(
                "a statement over tables on several data sources ({})",
                list.join(", ")
            )));
        }
        if let Some(ds) = fixed_ds.iter().next() {
            if let Some(b) = broadcast {
                if !b.iter().any(|x| x == ds) {
                    return Err(SqlError::unsupported(format!(
                        "broadcast table not present on data source {ds}"
                    )));
                }
            }
            return Ok(Route {
                kind: RouteKind::Unicast,
                copies: Vec::new(),
                units: vec![RouteUnit {
                    data_source: ds.to_string(),
                    tables: names,
                }],
            });
        }
        if let Some(b) = broadcast {
            if input.write {
                let units = b
                    .iter()
                    .map(|ds| RouteUnit {
                        data_source: ds.clone(),
                        tables: names.clone(),
                    })
                    .collect();
                return Ok(Route {
                    kind: RouteKind::Broadcast,
                    copies: Vec::new(),
                    units,
                });
            }
            let ds = b
                .first()
                .cloned()
                .unwrap_or_else(|| db.default_data_source.clone());
            return Ok(Route {
                kind: RouteKind::Reference,
                copies: b.to_vec(),
                units: vec![RouteUnit {
                    data_source: ds,
                    tables: names,
                }],
            });
        }
        return Ok(Route {
            kind: RouteKind::Unicast,
            copies: Vec::new(),
            units: vec![RouteUnit {
                data_source: db.default_data_source.clone(),
                tables: names,
            }],
        });
    }

    if let Some(ds) = fixed_ds.iter().next() {
        return Err(SqlError::unsupported(format!(
            "a join of sharded table {} with table(s) on data source {ds}",
            sharded[0].1.name
        )));
    }
    let first = sharded[0].1;
    for (_, s) in &sharded[1..] {
        let same_group = s.name == first.name
            || matches!((db.binding_group_of(&first.name), db.binding_group_of(&s.name)), (Some(a), Some(b)) if a == b);
        if !same_group {
            return Err(SqlError::unsupported(format!(
                "a join of sharded tables {} and {} that are not in one binding group",
                first.name, s.name
            )));
        }
    }

    // Nodes allowed by each sharded reference; binding tables share a node layout, so node
    // indexes line up and the route is their intersection.
    let mut allowed: Option<BTreeSet<usize>> = None;
    for (i, s) in &sharded {
        let values = |strategy: &Option<crate::rules::Strategy>| -> Values {
            match strategy {
                Some(st) => input
                    .conditions
                    .get(&(*i, st.column.clone()))
                    .cloned()
                    .unwrap_or(Values::Any),
                None => Values::Any,
            }
        };
        let nodes = s
            .route(&values(&s.database_strategy), &values(&s.table_strategy))
            .map_err(|e| SqlError::new(1105, "HY000", format!("routing {}: {e}", s.name)))?;
        let set: BTreeSet<usize> = nodes.into_iter().collect();
        allowed = Some(match allowed {
            None => set,
            Some(a) => a.intersection(&set).copied().collect(),
        });
    }
    let allowed = allowed.unwrap_or_default();
    let total = first.nodes.len();
    let mut units = Vec::new();
    for idx in &allowed {
        let Some(node) = first.nodes.get(*idx) else {
            continue;
        };
        let mut tables = names.clone();
        for (_, s) in &sharded {
            if let Some(n) = s.nodes.get(*idx) {
                tables.insert(s.name.to_ascii_lowercase(), n.table.clone());
            }
        }
        if let Some(b) = broadcast {
            if !b.contains(&node.data_source) {
                return Err(SqlError::unsupported(format!(
                    "broadcast table not present on data source {}",
                    node.data_source
                )));
            }
        }
        units.push(RouteUnit {
            data_source: node.data_source.clone(),
            tables,
        });
    }
    if units.is_empty() {
        // No node can hold a matching row (e.g. `user_id = NULL`): ask the first node, which
        // answers with the right columns and no rows.
        let node = first
            .nodes
            .first()
            .ok_or_else(|| SqlError::internal(format!("table {} has no nodes", first.name)))?;
        let mut tables = names.clone();
        for (_, s) in &sharded {
            if let Some(n) = s.nodes.first() {
                tables.insert(s.name.to_ascii_lowercase(), n.table.clone());
            }
        }
        return Ok(Route {
            kind: RouteKind::Unicast,
            copies: Vec::new(),
            units: vec![RouteUnit {
                data_source: node.data_source.clone(),
                tables,
            }],
        });
    }
    let kind = match units.len() {
        1 => RouteKind::Unicast,
        n if n == total => RouteKind::Scatter,
        _ => RouteKind::Multicast,
    };
    Ok(Route {
        kind,
        units,
        copies: Vec::new(),
    })
}

/// Every node of a table (DDL, and writes to broadcast tables).
pub fn all_nodes(db: &LogicalDatabase, t: &TableRef) -> Route {
    let mut units = Vec::new();
    match placement(db, t) {
        Placement::Sharded(s) => {
            for n in &s.nodes {
                let mut tables = BTreeMap::new();
                tables.insert(t.name.clone(), n.table.clone());
                units.push(RouteUnit {
                    data_source: n.data_source.clone(),
                    tables,
                });
            }
        }
        Placement::Broadcast(ds) => {
            for d in ds {
                units.push(RouteUnit {
                    data_source: d.clone(),
                    tables: BTreeMap::from([(t.name.clone(), t.name.clone())]),
                });
            }
        }
        Placement::Single(ds) => units.push(RouteUnit {
            data_source: ds.to_string(),
            tables: BTreeMap::from([(t.name.clone(), t.name.clone())]),
        }),
        Placement::Default | Placement::Foreign => units.push(RouteUnit {
            data_source: db.default_data_source.clone(),
            tables: BTreeMap::from([(t.name.clone(), t.name.clone())]),
        }),
    }
    let kind = if units.len() == 1 {
        RouteKind::Unicast
    } else {
        RouteKind::Broadcast
    };
    Route {
        kind,
        units,
        copies: Vec::new(),
    }
}
