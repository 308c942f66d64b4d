//! INSERT / UPDATE / DELETE planning.

use super::{MergeSpec, NodeSql, Plan, PlanCtx};
use crate::error::{SqlError, SqlResult};
use crate::route::{self, Placement, Route, RouteInput, RouteKind, RouteUnit};
use crate::rules::{ShardValue, Values};
use crate::sql::{name_parts, Edits};
use sqlparser::ast::{
    Assignment, AssignmentTarget, Delete, Expr, FromTable, Insert, OnInsert, Parens, SetExpr,
    Spanned, Update,
};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::ops::Range;

/// Snowflake keys for one statement: the proxy's generator, and the first id the statement
/// took (the client's LAST_INSERT_ID()).
pub struct KeySource<'a> {
    generator: &'a crate::id::Snowflake,
    first: Cell<Option<u64>>,
}

impl<'a> KeySource<'a> {
    pub fn new(generator: &'a crate::id::Snowflake) -> KeySource<'a> {
        KeySource {
            generator,
            first: Cell::new(None),
        }
    }

    /// The first id generated through this source, if any.
    pub fn first_generated(&self) -> Option<u64> {
        self.first.get()
    }

    fn next(&self, table: &str, column: &str) -> SqlResult<u64> {
        let id = self
            .generator
            .next_id()
            .map_err(|e| e.to_sql(table, column))?;
        if self.first.get().is_none() {
            self.first.set(Some(id));
        }
        Ok(id)
    }
}

/// Generated key values of one INSERT.
struct GeneratedKeys {
    column: String,
    /// The column was missing from the column list and is appended to it.
    appended: bool,
    /// Its position in the (extended) column list.
    pos: usize,
    /// Per VALUES row: the generated id, or `None` where the row gives a value.
    ids: Vec<Option<u64>>,
    /// Edits inside the rows: ids appended to or replacing NULL in each row.
    rows: Edits,
    /// Byte ranges those edits replace (parameters there are not spliced).
    replaced: Vec<Range<usize>>,
    /// Edits outside the rows: the column name appended to the column list.
    outer: Edits,
}

impl GeneratedKeys {
    fn id_at(&self, row: usize, pos: usize) -> Option<u64> {
        if pos == self.pos {
            self.ids.get(row).copied().flatten()
        } else {
            None
        }
    }

    /// Parameter splices (except where an id replaced a NULL parameter) plus the row edits.
    fn row_edits(&self, ctx: &PlanCtx) -> SqlResult<Edits> {
        ctx.param_edits()?; // checks the parameter count
        let mut e = self.rows.clone();
        for (r, s) in ctx.refs.placeholders.iter().zip(ctx.param_sql) {
            if !self
                .replaced
                .iter()
                .any(|x| x.start <= r.start && r.end <= x.end)
            {
                e.replace(r.clone(), s.clone());
            }
        }
        Ok(e)
    }
}

/// Fill the table's `key_generator` column: appended to the column list with an id per row
/// when omitted, or an id instead of NULL in the rows that give NULL. `None` when the table
/// has no key generator, planning has no key source, or nothing needs generating.
fn generate_keys(
    ctx: &PlanCtx,
    cc: &route::CondCtx,
    table: &crate::rules::ShardedTable,
    ins: &Insert,
    columns: &[String],
    rows: &[Parens<Vec<Expr>>],
) -> SqlResult<Option<GeneratedKeys>> {
    let (Some(kg), Some(keys)) = (&table.key_generator, ctx.keys) else {
        return Ok(None);
    };
    let given = columns.iter().position(|c| *c == kg.column);
    let mut g = GeneratedKeys {
        column: kg.column.clone(),
        appended: given.is_none(),
        pos: given.unwrap_or(columns.len()),
        ids: Vec::with_capacity(rows.len()),
        rows: Edits::new(),
        replaced: Vec::new(),
        outer: Edits::new(),
    };
    let cannot_locate = || {
        SqlError::unsupported(format!(
            "an INSERT into {} whose text cannot be located for the generated key {}",
            table.name, kg.column
        ))
    };
    if g.appended {
        let last = ins.columns.last().ok_or_else(cannot_locate)?;
        let end = ctx.sm.range(last.span()).ok_or_else(cannot_locate)?.end;
        // The span of a quoted name may stop before its closing quote.
        let end = column_list_end(ctx.sql, end).ok_or_else(cannot_locate)?;
        g.outer
            .insert(end, format!(", {}", crate::rewrite::ident(&kg.column)));
    }
    for row in rows {
        let id = match given {
            None => {
                let r = row_range(ctx, row)?;
                let id = keys.next(&table.name, &kg.column)?;
                g.rows.insert(r.end - 1, format!(", {id}"));
                Some(id)
            }
            Some(p) => match row.get(p) {
                Some(e) if cc.value_of(e) == Some(ShardValue::Null) => {
                    let r = ctx.sm.range(e.span()).ok_or_else(cannot_locate)?;
                    let r = crate::sql::edit::balanced(ctx.sql, r);
                    let id = keys.next(&table.name, &kg.column)?;
                    g.rows.replace(r.clone(), id.to_string());
                    g.replaced.push(r);
                    Some(id)
                }
                _ => None,
            },
        };
        g.ids.push(id);
    }
    Ok(g.ids.iter().any(Option::is_some).then_some(g))
}

/// Offset of the `)` closing an INSERT column list, searching from the end of its last name
/// (past a closing quote and whitespace).
fn column_list_end(sql: &str, from: usize) -> Option<usize> {
    let rest = sql.get(from..)?;
    let skip = rest
        .char_indices()
        .find(|&(_, c)| !(c.is_whitespace() || c == '`' || c == '"'))?
        .0;
    rest[skip..].starts_with(')').then_some(from + skip)
}

pub fn plan_insert(ctx: &PlanCtx, ins: &Insert) -> SqlResult<Plan> {
    // The visitor meets the INSERT target before anything in its source.
    let target = ctx
        .refs
        .tables
        .first()
        .ok_or_else(|| SqlError::internal("INSERT without a target table"))?;
    let Placement::Sharded(table) = route::placement(ctx.db, target) else {
        // Unsharded target: any SELECT part must be on the same data source.
        let sharding = route::sharding_columns(ctx.db, ctx.refs);
        if sharding.iter().any(|c| !c.is_empty()) {
            return Err(SqlError::unsupported(
                "INSERT ... SELECT from a sharded table",
            ));
        }
        return write_plan(ctx, &route::Conditions::new());
    };
    let Some(source) = ins.source.as_deref() else {
        // `INSERT ... SET a = x, b = y` is `INSERT ... (a, b) VALUES (x, y)` to MariaDB.
        return match set_as_values(ctx, ins) {
            Some(text) => super::plan_text(ctx, &text),
            None => Err(SqlError::unsupported(format!(
                "INSERT ... SET into sharded table {} (use a column list and VALUES)",
                table.name
            ))),
        };
    };
    let SetExpr::Values(values) = source.body.as_ref() else {
        return Err(SqlError::unsupported(format!(
            "INSERT ... SELECT into sharded table {}",
            table.name
        )));
    };
    if ctx.refs.tables.len() > 1 {
        return Err(SqlError::unsupported(format!(
            "INSERT into sharded table {} with subqueries",
            table.name
        )));
    }
    let mut columns: Vec<String> = ins
        .columns
        .iter()
        .filter_map(|c| name_parts(c).last().map(|i| i.value.to_ascii_lowercase()))
        .collect();
    if columns.is_empty() {
        // Without a column list the values follow the table's column order (catalog).
        let schema = target.schema.clone().unwrap_or_else(|| ctx.db.name.clone());
        if let Some(t) = ctx
            .catalog
            .and_then(|c| c.get(&(schema, target.name.clone())))
        {
            columns = t.columns.iter().map(|c| c.name.clone()).collect();
        }
    }
    if columns.is_empty() {
        // Without a column list the sharding columns and a generated key column cannot be
        // found by name (their positions need the table's column order).
        let key = match &table.key_generator {
            Some(k) => format!(" and generated key {}", k.column),
            None => String::new(),
        };
        return Err(SqlError::unsupported(format!(
            "INSERT into sharded table {} without a column list (its sharding columns{key} \
             must be named)",
            table.name
        )));
    }
    if let Some(OnInsert::DuplicateKeyUpdate(assignments)) = &ins.on {
        for a in assignments {
            if let Some(col) = assigned_column(a) {
                if table.sharding_columns().iter().any(|c| *c == col) {
                    return Err(SqlError::unsupported(format!(
                        "ON DUPLICATE KEY UPDATE of sharding column {}.{col}",
                        table.name
                    )));
                }
            }
        }
    }
    let sharding = route::sharding_columns(ctx.db, ctx.refs);
    let cc = ctx.cond_ctx(&sharding);
    // Generated keys are filled in before routing, so rows land where their ids select.
    let keys = generate_keys(ctx, &cc, table, ins, &columns, &values.rows)?;
    let columns: Vec<String> = match &keys {
        Some(k) if k.appended => columns.iter().cloned().chain([k.column.clone()]).collect(),
        _ => columns,
    };
    let pos = |strategy: &Option<crate::rules::Strategy>| -> SqlResult<Option<usize>> {
        match strategy {
            None => Ok(None),
            Some(s) => columns
                .iter()
                .position(|c| *c == s.column)
                .map(Some)
                .ok_or_else(|| {
                    SqlError::unsupported(format!(
                        "INSERT into {} without its sharding column {}",
                        table.name, s.column
                    ))
                }),
        }
    };
    let db_pos = pos(&table.database_strategy)?;
    let tbl_pos = pos(&table.table_strategy)?;
    let value_at = |i: usize, row: &[Expr], p: Option<usize>| -> SqlResult<Values> {
        let Some(p) = p else { return Ok(Values::Any) };
        if let Some(id) = keys.as_ref().and_then(|k| k.id_at(i, p)) {
            return Ok(Values::eq(ShardValue::Int(i128::from(id))));
        }
        let e = row.get(p).ok_or_else(|| {
            SqlError::new(
                1136,
                "21S01",
                "Column count doesn't match value count at row 1",
            )
        })?;
        let value = cc.value_of(e);
        if matches!(value, Some(ShardValue::Null) | Some(ShardValue::Int(0)))
            && cc.auto_increment(0, &columns[p])
        {
            // The server would pick the value after routing: the row would land where its
            // key does not route.
            return Err(SqlError::unsupported(format!(
                "INSERT into {} letting AUTO_INCREMENT pick sharding column {} (give the value, or configure a key_generator for it)",
                table.name, columns[p]
            )));
        }
        match value {
            Some(ShardValue::Null) => Err(SqlError::new(
                1048,
                "23000",
                format!("Column '{}' cannot be null", columns[p]),
            )),
            // Placed by the value MariaDB stores: '17' into an integer column is 17, 999.5 is
            // 1000, a TIMESTAMP is placed by its UTC time.
            Some(v) => match cc.store_value(0, &columns[p], &v) {
                Ok(stored) => Ok(Values::eq(stored.unwrap_or(v))),
                Err(()) => Err(SqlError::unsupported(format!(
                    "INSERT of {v} into sharding column {}.{} (its stored value is not known exactly: write it in the column's own format{})",
                    table.name,
                    columns[p],
                    if matches!(
                        cc.column_type(0, &columns[p]),
                        Some(crate::convert::SqlType::Timestamp { .. })
                    ) {
                        ", and use a time_zone given as an offset, such as '+00:00'"
                    } else {
                        ""
                    }
                ))),
            },
            None => Err(SqlError::unsupported(format!(
                "INSERT with a non-literal value {e} for sharding column {}",
                columns[p]
            ))),
        }
    };
    // Group rows by target node, keeping their order.
    let mut groups: BTreeMap<usize, Vec<Range<usize>>> = BTreeMap::new();
    let mut all_rows: Option<Range<usize>> = None;
    for (i, row) in values.rows.iter().enumerate() {
        let nodes = table
            .route(&value_at(i, row, db_pos)?, &value_at(i, row, tbl_pos)?)
            .map_err(|e| SqlError::new(1105, "HY000", format!("routing {}: {e}", table.name)))?;
        let [node] = nodes.as_slice() else {
            if nodes.is_empty() {
                return Err(SqlError::new(
                    1526,
                    "HY000",
                    format!(
                        "Table has no partition for value of row {}: no data node of {} takes its sharding value (outside the ranges of the sharding rules)",
                        i + 1,
                        table.name
                    ),
                ));
            }
            return Err(SqlError::unsupported(format!(
                "an INSERT row of {} that does not route to exactly one node",
                table.name
            )));
        };
        let r = row_range(ctx, row)?;
        all_rows = Some(match all_rows {
            None => r.clone(),
            Some(a) => a.start.min(r.start)..a.end.max(r.end),
        });
        groups.entry(*node).or_default().push(r);
    }
    let all_rows = all_rows.ok_or_else(|| SqlError::parse("INSERT without rows"))?;
    // Edits inside the rows (parameters, generated ids) and outside them (the key column).
    let (params, outer) = match &keys {
        Some(k) => (k.row_edits(ctx)?, k.outer.clone()),
        None => (ctx.param_edits()?, Edits::new()),
    };
    let mut nodes = Vec::new();
    for (idx, rows) in &groups {
        let node = &table.nodes[*idx];
        let unit = RouteUnit {
            data_source: node.data_source.clone(),
            tables: BTreeMap::from([(target.name.clone(), node.table.clone())]),
        };
        let mut e = crate::rewrite::table_edits(ctx.refs, &unit, &ctx.db.name);
        if groups.len() > 1 {
            let text: Vec<String> = rows
                .iter()
                .map(|r| crate::rewrite::rewrite_slice(ctx.sql, r.clone(), &params))
                .collect();
            e.replace(all_rows.clone(), text.join(", "));
            // Parameters inside the rows were spliced above; keep the ones outside.
            for (r, s) in ctx.refs.placeholders.iter().zip(ctx.param_sql) {
                if r.start < all_rows.start || r.end > all_rows.end {
                    e.replace(r.clone(), s.clone());
                }
            }
        } else {
            e.extend(&params);
        }
        e.extend(&outer);
        nodes.push(NodeSql {
            data_source: unit.data_source,
            sql: e.apply(ctx.sql),
        });
    }
    let kind = if nodes.len() == 1 {
        RouteKind::Unicast
    } else {
        RouteKind::Multicast
    };
    Ok(Plan {
        kind,
        nodes,
        copies: Vec::new(),
        merge: MergeSpec::default(),
        write: true,
        ddl: false,
    })
}

/// The statement with its `SET a = x, b = y` replaced by `(a, b) VALUES (x, y)`, the same
/// insert to MariaDB (later values may read earlier columns in both forms). Each value is
/// the text between its `=` and the `,` before the next column (the last one ends at
/// `ON DUPLICATE KEY UPDATE` or the end), since sqlparser's expression spans may leave out
/// parentheses. `None` when a column cannot be located, comments sit between the pieces,
/// a target is a tuple, or the rewritten text does not parse back to the same insert.
fn set_as_values(ctx: &PlanCtx, ins: &Insert) -> Option<String> {
    let sql = ctx.sql;
    let mut targets = Vec::new();
    for a in &ins.assignments {
        let AssignmentTarget::ColumnName(n) = &a.target else {
            return None;
        };
        targets.push(ctx.sm.range(n.span()).filter(|r| !r.is_empty())?);
    }
    let first = targets.first()?.start;
    let head = sql.get(..first)?.trim_end();
    let set_at = head.len().checked_sub(3)?;
    let before_set = head.get(..set_at)?;
    if !head.get(set_at..)?.eq_ignore_ascii_case("SET")
        || !before_set.ends_with(|c: char| c.is_whitespace() || c == '`' || c == ')')
    {
        return None;
    }
    // Where the last value ends: before `ON DUPLICATE KEY UPDATE`, or at the end.
    let end = match &ins.on {
        Some(OnInsert::DuplicateKeyUpdate(set)) => {
            let t = set.first().and_then(|a| match &a.target {
                AssignmentTarget::ColumnName(n) => ctx.sm.range(n.span()),
                AssignmentTarget::Tuple(_) => None,
            })?;
            let mut at = t.start;
            for word in ["UPDATE", "KEY", "DUPLICATE", "ON"] {
                let h = sql.get(..at)?.trim_end();
                let w = h.len().checked_sub(word.len())?;
                if !h.get(w..)?.eq_ignore_ascii_case(word) {
                    return None;
                }
                at = w;
            }
            at
        }
        Some(_) => return None,
        None => sql.trim_end().trim_end_matches(';').trim_end().len(),
    };
    let mut cols = Vec::new();
    let mut vals = Vec::new();
    for (i, t) in targets.iter().enumerate() {
        let after = sql.get(t.end..)?;
        let eq = t.end + (after.len() - after.trim_start().len());
        if sql.get(eq..eq + 1)? != "=" {
            return None;
        }
        let stop = match targets.get(i + 1) {
            Some(next) => {
                let h = sql.get(..next.start)?.trim_end();
                h.strip_suffix(',')?.len()
            }
            None => end,
        };
        let v = sql.get(eq + 1..stop)?.trim();
        if v.is_empty() {
            return None;
        }
        cols.push(sql.get(t.clone())?);
        vals.push(v);
    }
    let text = format!(
        "{before_set}({}) VALUES ({}){}{}",
        cols.join(", "),
        vals.join(", "),
        if end < sql.len() && ins.on.is_some() {
            " "
        } else {
            ""
        },
        sql.get(end..)?
    );
    // The rewrite stands only if it reads back as the same columns and values.
    let Ok(sqlparser::ast::Statement::Insert(back)) =
        crate::sql::parse_one(&crate::sql::tolerant_text(&text))
    else {
        return None;
    };
    let SetExpr::Values(v) = back.source.as_deref()?.body.as_ref() else {
        return None;
    };
    let same_cols = back.columns.len() == ins.assignments.len()
        && back
            .columns
            .iter()
            .zip(&ins.assignments)
            .all(|(c, a)| match &a.target {
                AssignmentTarget::ColumnName(n) => c.to_string() == n.to_string(),
                AssignmentTarget::Tuple(_) => false,
            });
    let same_vals = v.rows.len() == 1
        && v.rows[0].len() == ins.assignments.len()
        && v.rows[0]
            .iter()
            .zip(&ins.assignments)
            .all(|(e, a)| e.to_string() == a.value.to_string());
    let same_rest = back.on.as_ref().map(|o| o.to_string())
        == ins.on.as_ref().map(|o| o.to_string())
        && back.ignore == ins.ignore;
    (same_cols && same_vals && same_rest).then_some(text)
}

/// The text of one VALUES row including its parentheses (exact token spans).
fn row_range(ctx: &PlanCtx, row: &Parens<Vec<Expr>>) -> SqlResult<Range<usize>> {
    let r = ctx.sm.range(row.span()).filter(|r| !r.is_empty());
    match r {
        Some(r) if ctx.sql[r.clone()].starts_with('(') && ctx.sql[r.clone()].ends_with(')') => {
            Ok(r)
        }
        _ => Err(SqlError::unsupported(
            "an INSERT row whose text cannot be located",
        )),
    }
}

fn assigned_column(a: &Assignment) -> Option<String> {
    match &a.target {
        AssignmentTarget::ColumnName(n) => {
            name_parts(n).last().map(|i| i.value.to_ascii_lowercase())
        }
        _ => None,
    }
}

pub fn plan_update(ctx: &PlanCtx, u: &Update) -> SqlResult<Plan> {
    let sharding = route::sharding_columns(ctx.db, ctx.refs);
    let any_sharded = sharding.iter().any(|c| !c.is_empty());
    let multi = !u.table.joins.is_empty();
    if u.from.is_some() && any_sharded {
        return Err(SqlError::unsupported(
            "multi-table UPDATE ... FROM over sharded tables",
        ));
    }
    let from = std::slice::from_ref(&u.table);
    if multi && any_sharded {
        // Each node updates its own rows when the tables meet there, as for a join.
        let targets: Vec<Option<usize>> = u
            .assignments
            .iter()
            .map(|a| match &a.target {
                AssignmentTarget::ColumnName(n) => {
                    let parts = name_parts(n);
                    match parts.as_slice() {
                        [q, _] => written_ref(ctx, &q.value),
                        _ => None,
                    }
                }
                _ => None,
            })
            .collect();
        check_multi_table_write(ctx, from, u.selection.as_ref(), &targets, "UPDATE")?;
    }
    let cc = ctx.cond_ctx(&sharding);
    let mut conds = route::Conditions::new();
    for w in filters(u.selection.as_ref(), from) {
        for (k, v) in cc.extract(w) {
            conds.insert(k, v);
        }
    }
    // Changing a sharding column would leave the row on the wrong node; setting it to the
    // value the WHERE already fixes is harmless (ORMs send that).
    for a in &u.assignments {
        let Some(col) = assigned_column(a) else {
            continue;
        };
        for (i, cols) in sharding.iter().enumerate() {
            if !cols.contains(&col) {
                continue;
            }
            // Compared as stored: `SET k = '999' WHERE k = 999` keeps the row where it is.
            let stored = cc
                .value_of(&a.value)
                .and_then(|v| match cc.store_value(i, &col, &v) {
                    Ok(Some(s)) => Some(s),
                    Ok(None) => Some(v),
                    Err(()) => None,
                });
            let fixed = match (conds.get(&(i, col.clone())), stored) {
                (Some(Values::List(l)), Some(v)) => l.len() == 1 && l[0] == v,
                _ => false,
            };
            if !fixed {
                return Err(SqlError::unsupported(format!(
                    "UPDATE of sharding column {}.{col} to a different value",
                    ctx.refs.tables[i].name
                )));
            }
        }
    }
    if u.limit.is_some() || !u.order_by.is_empty() {
        let r = route_write(ctx, &conds)?;
        if r.units.len() > 1 {
            return Err(SqlError::unsupported(
                "UPDATE ... ORDER BY/LIMIT across shards",
            ));
        }
    }
    write_plan(ctx, &conds)
}

pub fn plan_delete(ctx: &PlanCtx, d: &Delete) -> SqlResult<Plan> {
    let from = match &d.from {
        FromTable::WithFromKeyword(v) | FromTable::WithoutKeyword(v) => v,
    };
    let sharding = route::sharding_columns(ctx.db, ctx.refs);
    let multi = !d.tables.is_empty()
        || from.len() > 1
        || from.iter().any(|t| !t.joins.is_empty())
        || d.using.is_some();
    if d.using.is_some() && sharding.iter().any(|c| !c.is_empty()) {
        // Its targets are aliases the reference collector takes for tables.
        return Err(SqlError::unsupported(
            "DELETE ... USING over sharded tables (write DELETE t FROM t JOIN ...)",
        ));
    }
    // `DELETE t1 FROM t1 JOIN t2 ...`
    let targets: Vec<Option<usize>> = d
        .tables
        .iter()
        .map(|n| {
            name_parts(n)
                .last()
                .and_then(|i| written_ref(ctx, &i.value))
        })
        .collect();
    let joined = from.as_slice();
    if multi && sharding.iter().any(|c| !c.is_empty()) {
        check_multi_table_write(ctx, joined, d.selection.as_ref(), &targets, "DELETE")?;
    }
    let cc = ctx.cond_ctx(&sharding);
    let mut conds = route::Conditions::new();
    for w in filters(d.selection.as_ref(), joined) {
        for (k, v) in cc.extract(w) {
            conds.insert(k, v);
        }
    }
    if d.limit.is_some() || !d.order_by.is_empty() {
        let r = route_write(ctx, &conds)?;
        if r.units.len() > 1 {
            return Err(SqlError::unsupported(
                "DELETE ... ORDER BY/LIMIT across shards",
            ));
        }
    }
    write_plan(ctx, &conds)
}

fn route_write(ctx: &PlanCtx, conds: &route::Conditions) -> SqlResult<Route> {
    route::route(&RouteInput {
        db: ctx.db,
        refs: ctx.refs,
        conditions: conds,
        write: true,
        nested: &ctx.refs.nested,
    })
}

fn write_plan(ctx: &PlanCtx, conds: &route::Conditions) -> SqlResult<Plan> {
    let route = route_write(ctx, conds)?;
    let params: Edits = ctx.param_edits()?;
    Ok(Plan {
        kind: route.kind,
        copies: Vec::new(),
        nodes: ctx.node_sql(&route, &params),
        merge: MergeSpec::default(),
        write: true,
        ddl: false,
    })
}

/// WHERE and the ON conditions of inner joins: predicates every written row satisfies.
fn filters<'a>(
    selection: Option<&'a Expr>,
    from: &'a [sqlparser::ast::TableWithJoins],
) -> Vec<&'a Expr> {
    let mut v: Vec<&Expr> = selection.into_iter().collect();
    for twj in from {
        for j in &twj.joins {
            if let Some(on) = super::colocate::inner_on(&j.join_operator) {
                v.push(on);
            }
        }
    }
    v
}

/// The table reference a qualifier (alias or name) written in a multi-table write names.
fn written_ref(ctx: &PlanCtx, qualifier: &str) -> Option<usize> {
    let t = ctx
        .refs
        .resolve_qualifier(None, &qualifier.to_ascii_lowercase())?;
    ctx.refs.tables.iter().position(|x| x.range == t.range)
}

/// A multi-table UPDATE/DELETE over sharded tables runs on each node when its tables meet
/// there, as a join would (binding tables equal on every sharding column, broadcast tables),
/// and it writes no broadcast or single table (each node would change its own copy from its
/// own rows). `targets`: the written reference of each SET item / deleted table, `None` when
/// it cannot be told.
fn check_multi_table_write(
    ctx: &PlanCtx,
    from: &[sqlparser::ast::TableWithJoins],
    selection: Option<&Expr>,
    targets: &[Option<usize>],
    what: &str,
) -> SqlResult<()> {
    let sharding = route::sharding_columns(ctx.db, ctx.refs);
    let f = filters(selection, from);
    super::colocate::check_joins(ctx, from, &sharding, &f)?;
    let all_sharded = ctx
        .refs
        .tables
        .iter()
        .zip(&ctx.refs.nested)
        .filter(|(_, n)| !**n)
        .all(|(t, _)| matches!(route::placement(ctx.db, t), Placement::Sharded(_)));
    for t in targets {
        let ok = match t {
            Some(i) => matches!(
                route::placement(ctx.db, &ctx.refs.tables[*i]),
                Placement::Sharded(_)
            ),
            // An unqualified SET column may belong to any table.
            None => all_sharded,
        };
        if !ok {
            return Err(SqlError::unsupported(format!(
                "multi-table {what} over sharded tables that writes a broadcast or single table (or an unqualified column next to one)"
            )));
        }
    }
    Ok(())
}
