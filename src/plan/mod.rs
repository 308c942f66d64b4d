//! Planning: a parsed statement + session context → a plan: the route (named kind, per-node
//! SQL) and what the proxy must do with the results (merge order, limit, hidden columns).

mod aggregate;
mod colocate;
mod dml;
mod select;
pub mod ship;

pub use aggregate::{AggFinal, AggHandle, AggPlan, ConcatSpec, DistinctKind};
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_keys;
#[cfg(test)]
mod tests_ship;

pub use dml::KeySource;

use crate::error::{SqlError, SqlResult};
use crate::route::{self, CondCtx, Route, RouteKind};
use crate::rules::{LogicalDatabase, ShardValue};
use crate::sql::refs::Refs;
use crate::sql::{Edits, SourceMap};
use sqlparser::ast::Statement;
use std::fmt;

/// What to do with the rows of several nodes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MergeSpec {
    /// ORDER BY keys: result column and direction.
    pub order_by: Vec<OrderKey>,
    /// Rows to skip, then rows to return, after the merge.
    pub offset: u64,
    pub limit: Option<u64>,
    /// Trailing helper columns added for sorting; never sent to the client.
    pub hidden: usize,
    /// Grouping in the proxy (GROUP BY, aggregates, DISTINCT). The plan's last node is then
    /// the metadata query (the statement with LIMIT 0 on the first node).
    pub aggregate: Option<AggHandle>,
    /// Per ORDER BY key: the collation to compare by when it is not the reported one.
    pub key_collations: Vec<Option<u16>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderKey {
    /// Column index from the left.
    Index(usize, bool),
    /// k-th hidden column (counted from the first hidden column).
    Hidden(usize, bool),
}

impl MergeSpec {
    /// (column index, descending) pairs once the result's column count is known.
    pub fn resolve(&self, total_columns: usize) -> Vec<(usize, bool)> {
        let first_hidden = total_columns.saturating_sub(self.hidden);
        self.order_by
            .iter()
            .map(|k| match *k {
                OrderKey::Index(i, d) => (i, d),
                OrderKey::Hidden(k, d) => (first_hidden + k, d),
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSql {
    pub data_source: String,
    pub sql: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub kind: RouteKind,
    pub nodes: Vec<NodeSql>,
    /// [`RouteKind::Reference`]: the data sources that may run the one node instead (see
    /// [`Route::copies`]).
    pub copies: Vec<String>,
    pub merge: MergeSpec,
    /// The statement changes data or schema.
    pub write: bool,
    /// DDL: refresh the catalog and commit first, as MySQL's implicit commit does.
    pub ddl: bool,
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.kind)?;
        for n in &self.nodes {
            writeln!(f, "  {}: {}", n.data_source, n.sql)?;
        }
        if !self.merge.order_by.is_empty() || self.merge.limit.is_some() || self.merge.offset > 0 {
            writeln!(
                f,
                "  merge: order_by={:?} offset={} limit={:?} hidden={}",
                self.merge.order_by, self.merge.offset, self.merge.limit, self.merge.hidden
            )?;
        }
        if let Some(a) = &self.merge.aggregate {
            writeln!(f, "  merge: {a}")?;
        }
        Ok(())
    }
}

impl Plan {
    /// The node that is the grouped plan's metadata query (see [`MergeSpec::aggregate`]).
    pub fn metadata_node(&self) -> Option<usize> {
        self.merge
            .aggregate
            .as_ref()
            .and_then(|_| self.nodes.len().checked_sub(1))
    }

    /// What the proxy does with the nodes' rows, as EXPLAIN SHARDING prints it after the
    /// nodes: (step, detail). Empty when the rows are relayed as they come.
    pub fn proxy_steps(&self) -> Vec<(&'static str, String)> {
        let m = &self.merge;
        let mut steps = Vec::new();
        if let Some(a) = &m.aggregate {
            steps.push(("Aggregate", a.to_string()));
            return steps;
        }
        if self.nodes.len() < 2 {
            return steps;
        }
        if !m.order_by.is_empty() {
            let keys: Vec<String> = m
                .order_by
                .iter()
                .map(|k| match *k {
                    OrderKey::Index(i, d) => {
                        format!("column {}{}", i + 1, if d { " DESC" } else { "" })
                    }
                    OrderKey::Hidden(i, d) => {
                        format!("hidden column {}{}", i + 1, if d { " DESC" } else { "" })
                    }
                })
                .collect();
            steps.push(("MergeSort", keys.join(", ")));
        }
        if m.limit.is_some() || m.offset > 0 {
            let limit = m.limit.map_or("none".to_string(), |l| l.to_string());
            steps.push(("Limit", format!("offset {}, limit {limit}", m.offset)));
        }
        if m.hidden > 0 {
            steps.push((
                "Project",
                format!("drop the last {} (sort) columns", m.hidden),
            ));
        }
        steps
    }
}

/// Everything planning needs besides the statement.
pub struct PlanCtx<'a> {
    pub db: &'a LogicalDatabase,
    pub sql: &'a str,
    pub sm: &'a SourceMap<'a>,
    pub refs: &'a Refs,
    /// Prepared-statement parameters as routing values and as SQL literals, in order.
    pub params: &'a [ShardValue],
    pub param_sql: &'a [String],
    /// Snowflake keys for `key_generator` columns (`None`: INSERTs get no generated keys).
    pub keys: Option<&'a KeySource<'a>>,
    /// Column types (None when planning from the rules alone).
    pub catalog: Option<&'a crate::catalog::Snapshot>,
    /// Session settings for what the proxy evaluates itself (sql_mode PIPES_AS_CONCAT).
    pub eval: crate::eval::CompileOptions,
    /// Session settings value conversions depend on (sql_mode, time zone).
    pub conv: crate::convert::ConvCtx,
}

/// Apply per-key collation overrides to a sort spec built from reported metadata.
pub fn override_collations(
    spec: &mut crate::merge::SortSpec,
    columns: &[crate::result::ColumnDef],
    collations: &[Option<u16>],
) {
    for (k, c) in spec.keys.iter_mut().zip(collations) {
        if let (Some(id), Some(col)) = (c, columns.get(k.column)) {
            k.kind = crate::collation::sort_kind(col.column_type, col.flags, *id);
        }
    }
}

impl<'a> PlanCtx<'a> {
    /// A context planning from the rules alone: no parameters, no generated keys, no
    /// catalog (struct update syntax adds them).
    pub fn bare(
        db: &'a LogicalDatabase,
        sql: &'a str,
        sm: &'a SourceMap<'a>,
        refs: &'a Refs,
    ) -> PlanCtx<'a> {
        PlanCtx {
            db,
            sql,
            sm,
            refs,
            params: &[],
            param_sql: &[],
            keys: None,
            catalog: None,
            eval: Default::default(),
            conv: Default::default(),
        }
    }

    /// The collation an expression's strings compare by, when it is not the connection's:
    /// an explicit `COLLATE`, or a column declared with its own collation (MariaDB's result
    /// metadata reports the connection collation for both).
    pub fn expr_collation(&self, e: &sqlparser::ast::Expr) -> Option<u16> {
        use sqlparser::ast::Expr;
        match e {
            Expr::Nested(x) => self.expr_collation(x),
            Expr::Collate { collation, .. } => {
                let name = collation
                    .0
                    .last()
                    .map(|p| p.to_string())
                    .unwrap_or_default();
                crate::collation::Collation::from_name(name.trim_matches('`')).map(|c| c.id())
            }
            Expr::Identifier(_) | Expr::CompoundIdentifier(_) => {
                let parts: Vec<String> = match e {
                    Expr::Identifier(i) => vec![i.value.to_ascii_lowercase()],
                    Expr::CompoundIdentifier(v) => {
                        v.iter().map(|i| i.value.to_ascii_lowercase()).collect()
                    }
                    _ => return None,
                };
                let col = parts.last()?;
                let table = if parts.len() >= 2 {
                    let schema = (parts.len() >= 3).then(|| parts[parts.len() - 3].as_str());
                    self.refs
                        .resolve_qualifier(schema, &parts[parts.len() - 2])?
                } else {
                    match self.refs.tables.as_slice() {
                        [t] => t,
                        _ => return None,
                    }
                };
                let schema = table.schema.clone().unwrap_or_else(|| self.db.name.clone());
                self.catalog?
                    .get(&(schema, table.name.clone()))?
                    .column(col)?
                    .collation
            }
            _ => None,
        }
    }

    /// Edits that splice prepared-statement parameters into the text.
    pub fn param_edits(&self) -> SqlResult<Edits> {
        let mut e = Edits::new();
        if self.refs.placeholders.len() != self.param_sql.len() {
            if self.param_sql.is_empty() && !self.refs.placeholders.is_empty() {
                return Err(SqlError::parse(
                    "'?' placeholders are only allowed in prepared statements",
                ));
            }
            return Err(SqlError::new(
                1210,
                "HY000",
                "Incorrect arguments to mysqld_stmt_execute",
            ));
        }
        for (r, s) in self.refs.placeholders.iter().zip(self.param_sql) {
            e.replace(r.clone(), s.clone());
        }
        Ok(e)
    }

    pub fn cond_ctx<'b>(&'b self, sharding_columns: &'b [Vec<String>]) -> CondCtx<'b> {
        CondCtx {
            refs: self.refs,
            sm: self.sm,
            sharding_columns,
            params: self.params,
            catalog: self.catalog,
            db: &self.db.name,
            conv: self.conv,
        }
    }

    /// Per-node SQL for a route: shared edits plus each unit's table names.
    pub fn node_sql(&self, route: &Route, shared: &Edits) -> Vec<NodeSql> {
        route
            .units
            .iter()
            .map(|u| {
                let mut e = crate::rewrite::table_edits(self.refs, u, &self.db.name);
                e.extend(shared);
                NodeSql {
                    data_source: u.data_source.clone(),
                    sql: e.apply(self.sql),
                }
            })
            .collect()
    }
}

/// Plan a rewritten form of the statement (same parameters, same everything else).
fn plan_text(ctx: &PlanCtx, text: &str) -> SqlResult<Plan> {
    let stmt =
        crate::sql::parse_one(&crate::sql::tolerant_text(text)).map_err(SqlError::internal)?;
    let sm = crate::sql::SourceMap::new(text);
    let refs = crate::sql::refs::Refs::collect(&stmt, &sm);
    let ctx2 = PlanCtx {
        db: ctx.db,
        sql: text,
        sm: &sm,
        refs: &refs,
        params: ctx.params,
        param_sql: ctx.param_sql,
        keys: ctx.keys,
        catalog: ctx.catalog,
        eval: ctx.eval,
        conv: ctx.conv,
    };
    plan(&ctx2, &stmt)
}

/// Plan a data statement (SELECT / INSERT / UPDATE / DELETE / DDL).
pub fn plan(ctx: &PlanCtx, stmt: &Statement) -> SqlResult<Plan> {
    if ctx.refs.unmapped {
        return Err(SqlError::unsupported(
            "a statement whose identifiers cannot be located in the SQL text",
        ));
    }
    match stmt {
        Statement::Query(q) => select::plan_query(ctx, q),
        Statement::Insert(ins) => dml::plan_insert(ctx, ins),
        Statement::Update(u) => dml::plan_update(ctx, u),
        Statement::Delete(d) => dml::plan_delete(ctx, d),
        _ if is_ddl(stmt) => plan_ddl(ctx, stmt),
        _ => plan_passthrough(ctx, stmt),
    }
}

pub fn is_ddl(stmt: &Statement) -> bool {
    matches!(
        stmt,
        Statement::CreateTable(_)
            | Statement::Drop { .. }
            | Statement::AlterTable(_)
            | Statement::Truncate(_)
            | Statement::CreateIndex(_)
            | Statement::CreateView(_)
            | Statement::AlterView { .. }
            | Statement::RenameTable(_)
    )
}

/// DDL on a logical table runs on every physical table of it.
fn plan_ddl(ctx: &PlanCtx, stmt: &Statement) -> SqlResult<Plan> {
    let ours: Vec<usize> = (0..ctx.refs.tables.len())
        .filter(|&i| {
            !matches!(
                route::placement(ctx.db, &ctx.refs.tables[i]),
                route::Placement::Foreign
            )
        })
        .collect();
    if !ours.is_empty() {
        let renames = match stmt {
            Statement::RenameTable(_) => true,
            Statement::AlterTable(a) => a
                .operations
                .iter()
                .any(|o| matches!(o, sqlparser::ast::AlterTableOperation::RenameTable { .. })),
            _ => false,
        };
        let in_rules = ours
            .iter()
            .find(|&&i| ctx.db.table(&ctx.refs.tables[i].name).is_some());
        if let (true, Some(&i)) = (renames, in_rules) {
            return Err(SqlError::unsupported(format!(
                "RENAME TABLE of table {} in the sharding rules (edit the rules instead)",
                ctx.refs.tables[i].name
            )));
        }
        if let Some(other) = (0..ctx.refs.tables.len()).find(|i| !ours.contains(i)) {
            return Err(SqlError::unsupported(format!(
                "one DDL statement over {} (in the sharding rules) and {} (not in them)",
                ctx.refs.tables[ours[0]].name, ctx.refs.tables[other].name
            )));
        }
    }
    let route = match ours.as_slice() {
        [] => Route {
            kind: RouteKind::Unicast,
            copies: Vec::new(),
            units: vec![route::RouteUnit {
                data_source: ctx.db.default_data_source.clone(),
                tables: Default::default(),
            }],
        },
        [i] => route::all_nodes(ctx.db, &ctx.refs.tables[*i]),
        many => {
            // Several tables (DROP TABLE a, b; CREATE TABLE a LIKE b): all must share one layout.
            let first = route::all_nodes(ctx.db, &ctx.refs.tables[many[0]]);
            let mut units = first.units.clone();
            for &i in &many[1..] {
                let other = route::all_nodes(ctx.db, &ctx.refs.tables[i]);
                if other.units.len() != units.len()
                    || other
                        .units
                        .iter()
                        .zip(&units)
                        .any(|(a, b)| a.data_source != b.data_source)
                {
                    return Err(SqlError::unsupported(format!(
                        "one DDL statement over tables with different layouts ({} and {})",
                        ctx.refs.tables[many[0]].name, ctx.refs.tables[i].name
                    )));
                }
                for (u, o) in units.iter_mut().zip(other.units) {
                    u.tables.extend(o.tables);
                }
            }
            Route {
                kind: first.kind,
                copies: Vec::new(),
                units,
            }
        }
    };
    let shared = ctx.param_edits()?;
    Ok(Plan {
        kind: route.kind,
        copies: Vec::new(),
        nodes: ctx.node_sql(&route, &shared),
        merge: MergeSpec::default(),
        write: true,
        ddl: true,
    })
}

/// Other statements naming tables (SHOW CREATE TABLE, EXPLAIN, ...): one node.
fn plan_passthrough(ctx: &PlanCtx, stmt: &Statement) -> SqlResult<Plan> {
    let _ = stmt;
    let sharding = route::sharding_columns(ctx.db, ctx.refs);
    let conds = route::Conditions::new();
    let nested = vec![false; ctx.refs.tables.len()];
    let _ = &sharding;
    let route = route::route(&route::RouteInput {
        db: ctx.db,
        refs: ctx.refs,
        conditions: &conds,
        write: false,
        nested: &nested,
    })?;
    let unit = route
        .units
        .into_iter()
        .next()
        .ok_or_else(|| SqlError::internal("empty route"))?;
    let route = Route {
        kind: RouteKind::Unicast,
        copies: Vec::new(),
        units: vec![unit],
    };
    let shared = ctx.param_edits()?;
    Ok(Plan {
        kind: route.kind,
        copies: Vec::new(),
        nodes: ctx.node_sql(&route, &shared),
        merge: MergeSpec::default(),
        write: false,
        ddl: false,
    })
}

/// Plan `sql` against the rules alone (no backends): `shardgate explain`.
pub fn explain(db: &LogicalDatabase, sql: &str) -> SqlResult<Plan> {
    // Generated keys as a proxy with the default `[server]` settings would fill them in.
    let generator = crate::id::Snowflake::with_defaults();
    explain_with_keys(db, sql, &KeySource::new(&generator))
}

/// What `shardgate explain` prints: the plan, or for a statement that only shipping answers
/// (a join across nodes, a derived table or CTE over shards), the ship plan and then the
/// plan of its rewritten statement. Without a catalog no predicate on an unqualified column
/// is pushed into a fetch and no fetch is reduced, and a connected proxy may do better.
pub fn explain_text(db: &LogicalDatabase, sql: &str) -> SqlResult<String> {
    let e = match explain(db, sql) {
        Ok(p) => return Ok(p.to_string()),
        Err(e) if e.code == 1235 => e,
        Err(e) => return Err(e),
    };
    let Ok(stmt) = crate::sql::parse_one(&crate::sql::tolerant_text(sql)) else {
        return Err(e);
    };
    let sm = SourceMap::new(sql);
    let refs = Refs::collect(&stmt, &sm);
    let ctx = PlanCtx::bare(db, sql, &sm, &refs);
    let Some(sp) = ship::ship_plan(&ctx, &stmt) else {
        return Err(e);
    };
    let plan = explain(&sp.database(db), &sp.sql)?;
    Ok(format!("{sp}{plan}"))
}

/// [`explain`] with the given snowflake key source.
pub fn explain_with_keys(db: &LogicalDatabase, sql: &str, keys: &KeySource) -> SqlResult<Plan> {
    let stmt = crate::sql::parse_one(&crate::sql::tolerant_text(sql)).map_err(SqlError::parse)?;
    let sm = SourceMap::new(sql);
    let refs = Refs::collect(&stmt, &sm);
    let ctx = PlanCtx {
        keys: Some(keys),
        ..PlanCtx::bare(db, sql, &sm, &refs)
    };
    plan(&ctx, &stmt)
}
