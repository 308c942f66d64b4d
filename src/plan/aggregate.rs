//! Cross-shard grouping: GROUP BY, aggregates, DISTINCT, HAVING and ORDER BY/LIMIT after
//! grouping. Each shard runs one query that groups by the keys and returns partial aggregates
//! (AVG as SUM + COUNT; DISTINCT arguments as extra group keys), sorted by the group keys; the
//! proxy merges the sorted streams, combines partials per group, computes the select list,
//! filters by HAVING, sorts if needed and applies LIMIT. Column metadata comes from MariaDB
//! itself: the original statement runs with `LIMIT 0` on the first node.

use super::{NodeSql, PlanCtx};
use crate::error::{SqlError, SqlResult};
use crate::eval::{self, AggKind};
use crate::route::Route;
use crate::sql::Edits;
use sqlparser::ast::{
    DuplicateTreatment, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, GroupByExpr,
    LimitClause, OrderByKind, OrderBySort, Query, Select, SelectItem, Spanned, Value,
};
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// How a logical aggregate is finished from the shard columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AggFinal {
    /// A partial merged by its kind (COUNT sums counts, SUM sums, MIN/MAX compare).
    Partial(usize),
    /// A column neither grouped nor aggregated: some value of the group (MIN here).
    Any(usize),
    /// AVG = merged SUM / merged COUNT with MySQL's scale rules.
    Avg { sum: usize, count: usize },
    /// An aggregate over distinct values of shard group-key columns (`args` index the
    /// distinct-argument columns).
    Distinct { args: Vec<usize>, kind: DistinctKind },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DistinctKind {
    Count,
    Sum,
    Avg,
}

/// The proxy's part of a grouped query. Shard rows are `[keys][distinct args][partials]`;
/// the proxy's group row is `[keys][outputs][aggregates]`.
#[derive(Debug, Clone)]
pub struct AggPlan {
    /// Group keys (shard columns `0..keys`).
    pub keys: usize,
    /// Distinct-aggregate arguments (shard columns `keys..keys+distinct_args`).
    pub distinct_args: usize,
    /// Partial aggregates: merge kind, at shard column `keys + distinct_args + i`.
    pub partials: Vec<AggKind>,
    pub aggs: Vec<AggFinal>,
    /// Select-list expressions over the group row.
    pub outputs: Vec<eval::Expr>,
    pub having: Option<eval::Expr>,
    /// Final ORDER BY over the group row; empty when the merged stream is already in order.
    pub order: Vec<(eval::Expr, bool)>,
    /// Sort of the shard streams (shard column, descending) for the k-way merge.
    pub key_order: Vec<(usize, bool)>,
    /// No GROUP BY: exactly one output row, even over no rows.
    pub scalar: bool,
    /// SELECT DISTINCT over grouped output rows.
    pub distinct_outputs: bool,
    /// One server would sort the grouped rows again for the ORDER BY.
    pub resorted: bool,
    pub offset: u64,
    pub limit: Option<u64>,
    /// Partial holding MIN(primary key): the group's representative key values are those of
    /// the shard that saw the group first in primary-key order, as one server would show.
    pub rep: Option<usize>,
    /// Take group-key and plain-aggregate column metadata from the shard query (whose
    /// grouping runs like the original's on one server) rather than the metadata query.
    pub shard_metadata: bool,
}

impl AggPlan {
    /// Index of the first aggregate in the group row.
    pub fn first_agg(&self) -> usize {
        self.keys + self.outputs.len()
    }
    pub fn first_partial(&self) -> usize {
        self.keys + self.distinct_args
    }
}

/// Shared, comparable handle (plans are compared in tests by their printed form).
#[derive(Debug, Clone)]
pub struct AggHandle(pub Arc<AggPlan>);

impl PartialEq for AggHandle {
    fn eq(&self, other: &Self) -> bool {
        format!("{:?}", self.0) == format!("{:?}", other.0)
    }
}
impl Eq for AggHandle {}

impl fmt::Display for AggHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = &self.0;
        write!(
            f,
            "group: keys={} distinct_args={} partials={:?} having={} final_sort={} distinct={} offset={} limit={:?}",
            a.keys,
            a.distinct_args,
            a.partials,
            a.having.is_some(),
            !a.order.is_empty(),
            a.distinct_outputs,
            a.offset,
            a.limit
        )
    }
}

/// Does this SELECT need grouping in the proxy when it spans several nodes?
pub fn is_grouped(q: &Query, select: &Select) -> bool {
    let order_agg = match &q.order_by {
        Some(ob) => match &ob.kind {
            OrderByKind::Expressions(v) => v.iter().any(|o| contains_aggregate(&o.expr)),
            _ => false,
        },
        None => false,
    };
    let grouped = match &select.group_by {
        GroupByExpr::All(_) => true,
        GroupByExpr::Expressions(e, _) => !e.is_empty(),
    };
    grouped
        || order_agg
        || select.distinct.is_some()
        || select.having.is_some()
        || select.projection.iter().any(|i| match i {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                contains_aggregate(e)
            }
            _ => false,
        })
}

const SUPPORTED: &[&str] = &["count", "sum", "avg", "min", "max"];
pub(super) const AGGREGATES: &[&str] = &[
    "count",
    "sum",
    "avg",
    "min",
    "max",
    "group_concat",
    "std",
    "stddev",
    "stddev_pop",
    "stddev_samp",
    "variance",
    "var_pop",
    "var_samp",
    "bit_and",
    "bit_or",
    "bit_xor",
    "json_arrayagg",
    "json_objectagg",
];

fn aggregate_name(e: &Expr) -> Option<String> {
    let Expr::Function(f) = e else { return None };
    let name = f.name.to_string().to_ascii_lowercase();
    (AGGREGATES.contains(&name.as_str()) && !matches!(f.args, FunctionArguments::None))
        .then_some(name)
}

fn contains_aggregate(e: &Expr) -> bool {
    use sqlparser::ast::{Visit, Visitor};
    use std::ops::ControlFlow;
    struct F;
    impl Visitor for F {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
            if aggregate_name(e).is_some() {
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        }
        fn pre_visit_query(&mut self, _q: &Query) -> ControlFlow<()> {
            // Aggregates inside a subquery belong to it.
            ControlFlow::Continue(())
        }
    }
    e.visit(&mut F).is_break()
}

/// Builds the shard query and the proxy's AggPlan.
struct Builder<'a> {
    ctx: &'a PlanCtx<'a>,
    select: &'a Select,
    /// Group key expressions (source ranges) — shard columns 0..keys.
    keys: Vec<&'a Expr>,
    /// Source text of each key (token-exact when known).
    key_ranges: Vec<Option<Range<usize>>>,
    /// Token-exact parts of the top-level SELECT.
    text: Option<crate::sql::clauses::SelectText>,
    /// Distinct-aggregate arguments: (normalized text, source range).
    distinct_args: Vec<(String, Range<usize>)>,
    /// Partial columns: (normalized text, shard SQL text with {} placeholders resolved per node
    /// as a source range wrapped by a function name), kind.
    partials: Vec<(String, PartialSql, AggKind)>,
    aggs: Vec<(String, AggFinal)>,
    error: Option<SqlError>,
}

#[derive(Debug, Clone)]
enum PartialSql {
    /// The aggregate call exactly as written.
    Whole(Range<usize>),
    /// `FUNC(<argument text>)`.
    Wrap(&'static str, Range<usize>),
    CountStar,
    /// `MIN(<column>)` of a column the statement does not name (the primary key).
    MinOf(String),
}

fn norm(e: &Expr) -> String {
    e.to_string().to_ascii_lowercase()
}

/// Same expression for grouping purposes: columns compare by name (an unqualified name
/// matches a qualified one), anything else by its printed form.
fn same_expr(a: &Expr, b: &Expr) -> bool {
    let parts = |e: &Expr| -> Option<Vec<String>> {
        match e {
            Expr::Identifier(i) => Some(vec![i.value.to_ascii_lowercase()]),
            Expr::CompoundIdentifier(v) => {
                Some(v.iter().map(|i| i.value.to_ascii_lowercase()).collect())
            }
            _ => None,
        }
    };
    match (parts(a), parts(b)) {
        (Some(x), Some(y)) => {
            if x.len() == 1 || y.len() == 1 {
                x.last() == y.last()
            } else {
                x == y
            }
        }
        (None, None) => norm(a) == norm(b),
        _ => false,
    }
}

fn position_of(e: &Expr) -> Option<usize> {
    if let Expr::Value(v) = e {
        if let Value::Number(n, _) = &v.value {
            return n.parse::<usize>().ok()?.checked_sub(1);
        }
    }
    None
}

fn item_expr(item: &SelectItem) -> Option<(&Expr, Option<&str>)> {
    match item {
        SelectItem::UnnamedExpr(e) => Some((e, None)),
        SelectItem::ExprWithAlias { expr, alias } => Some((expr, Some(alias.value.as_str()))),
        _ => None,
    }
}

impl<'a> Builder<'a> {
    fn range(&self, e: &Expr) -> SqlResult<Range<usize>> {
        let r = self
            .ctx
            .sm
            .range(e.span())
            .filter(|r| !r.is_empty())
            .ok_or_else(|| SqlError::unsupported(format!("locating {e} in the statement")))?;
        Ok(crate::sql::edit::balanced(self.ctx.sql, r))
    }

    /// The text of select item `j` without its alias.
    fn item_range(&self, j: usize) -> Option<Range<usize>> {
        let t = self.text.as_ref()?;
        let r = t.items.get(j)?.clone();
        match self.select.projection.get(j)? {
            SelectItem::ExprWithAlias { alias, .. } => Some(
                crate::sql::clauses::without_alias(self.ctx.sql, r, &alias.value),
            ),
            _ => Some(r),
        }
    }

    fn projection(&self) -> Vec<(&'a Expr, Option<&'a str>)> {
        self.select.projection.iter().filter_map(item_expr).collect()
    }

    /// A GROUP BY / ORDER BY item: a select-list position, an alias, or an expression.
    fn select_item_for(&self, e: &Expr) -> Option<usize> {
        if let Some(p) = position_of(e) {
            return Some(p);
        }
        if let Expr::Identifier(id) = e {
            let items = self.projection();
            if let Some(j) = items
                .iter()
                .position(|(_, a)| a.is_some_and(|a| a.eq_ignore_ascii_case(&id.value)))
            {
                return Some(j);
            }
        }
        None
    }

    fn key_of(&self, e: &Expr) -> Option<usize> {
        self.keys.iter().position(|k| same_expr(k, e))
    }

    fn fail(&mut self, e: SqlError) {
        self.error.get_or_insert(e);
    }

    /// Register (or find) an aggregate call; returns its aggregate index.
    fn aggregate(&mut self, e: &Expr) -> Option<usize> {
        let key = norm(e);
        if let Some(i) = self.aggs.iter().position(|(k, _)| *k == key) {
            return Some(i);
        }
        let Expr::Function(f) = e else { return None };
        let name = f.name.to_string().to_ascii_lowercase();
        if !SUPPORTED.contains(&name.as_str()) {
            self.fail(SqlError::unsupported(format!(
                "aggregate function {} across shards",
                name.to_ascii_uppercase()
            )));
            return None;
        }
        let FunctionArguments::List(list) = &f.args else {
            return None;
        };
        if f.over.is_some() || f.filter.is_some() || !list.clauses.is_empty() {
            self.fail(SqlError::unsupported(format!("{e} across shards")));
            return None;
        }
        let distinct = matches!(list.duplicate_treatment, Some(DuplicateTreatment::Distinct));
        let mut args: Vec<&Expr> = Vec::new();
        let mut star = false;
        for a in &list.args {
            match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => args.push(x),
                FunctionArg::Unnamed(FunctionArgExpr::Wildcard) => star = true,
                _ => {
                    self.fail(SqlError::unsupported(format!("{e} across shards")));
                    return None;
                }
            }
        }
        let whole = match self.range(e) {
            Ok(r) => r,
            Err(err) => {
                self.fail(err);
                return None;
            }
        };
        // Argument text by tokens (sqlparser's spans of FLOOR(x), -x, ... are incomplete).
        let arg_ranges: Option<Vec<Range<usize>>> =
            crate::sql::clauses::call_args(self.ctx.sql, whole.clone())
                .map(|(_, v)| v)
                .filter(|v| v.len() == args.len());
        let arg_range = |this: &Self, i: usize, a: &Expr| -> SqlResult<Range<usize>> {
            match arg_ranges.as_ref().and_then(|v| v.get(i)) {
                Some(r) => Ok(r.clone()),
                None => this.range(a),
            }
        };
        let fin = if distinct && name != "min" && name != "max" {
            let kind = match name.as_str() {
                "count" => DistinctKind::Count,
                "sum" => DistinctKind::Sum,
                _ => DistinctKind::Avg,
            };
            if kind != DistinctKind::Count && args.len() != 1 {
                self.fail(SqlError::parse(format!("near '{e}'")));
                return None;
            }
            let mut idx = Vec::new();
            for (i, a) in args.into_iter().enumerate() {
                let r = match arg_range(self, i, a) {
                    Ok(r) => r,
                    Err(err) => {
                        self.fail(err);
                        return None;
                    }
                };
                idx.push(self.distinct_arg(norm(a), r));
            }
            AggFinal::Distinct { args: idx, kind }
        } else if name == "avg" {
            let Some(a) = args.first() else { return None };
            let r = match arg_range(self, 0, a) {
                Ok(r) => r,
                Err(err) => {
                    self.fail(err);
                    return None;
                }
            };
            let t = norm(a);
            let sum = self.partial(format!("sum({t})"), PartialSql::Wrap("SUM", r.clone()), AggKind::Sum);
            let count = self.partial(format!("count({t})"), PartialSql::Wrap("COUNT", r), AggKind::Count);
            AggFinal::Avg { sum, count }
        } else {
            let kind = match name.as_str() {
                "count" => AggKind::Count,
                "sum" => AggKind::Sum,
                "min" => AggKind::Min,
                _ => AggKind::Max,
            };
            let sql = if star {
                PartialSql::CountStar
            } else if distinct {
                // MIN/MAX(DISTINCT x) = MIN/MAX(x).
                match args.first().map(|a| arg_range(self, 0, a)) {
                    Some(Ok(r)) => PartialSql::Wrap(if kind == AggKind::Min { "MIN" } else { "MAX" }, r),
                    _ => return None,
                }
            } else {
                PartialSql::Whole(whole)
            };
            let text = match (&sql, args.first()) {
                (PartialSql::CountStar, _) => "count(*)".to_string(),
                (_, Some(a)) => format!("{name}({})", norm(a)),
                _ => key.clone(),
            };
            AggFinal::Partial(self.partial(text, sql, kind))
        };
        self.aggs.push((key, fin));
        Some(self.aggs.len() - 1)
    }

    fn partial(&mut self, text: String, sql: PartialSql, kind: AggKind) -> usize {
        if let Some(i) = self.partials.iter().position(|(t, _, _)| *t == text) {
            return i;
        }
        self.partials.push((text, sql, kind));
        self.partials.len() - 1
    }

    fn distinct_arg(&mut self, text: String, r: Range<usize>) -> usize {
        if let Some(i) = self.distinct_args.iter().position(|(t, _)| *t == text) {
            return i;
        }
        self.distinct_args.push((text, r));
        self.distinct_args.len() - 1
    }

    /// A column that is neither grouped nor aggregated (MySQL without ONLY_FULL_GROUP_BY
    /// returns some value of the group): take MIN.
    fn loose_column(&mut self, e: &Expr) -> Option<usize> {
        let r = match self.range(e) {
            Ok(r) => r,
            Err(err) => {
                self.fail(err);
                return None;
            }
        };
        let key = format!("any({})", norm(e));
        if let Some(i) = self.aggs.iter().position(|(k, _)| *k == key) {
            return Some(i);
        }
        let p = self.partial(format!("min({})", norm(e)), PartialSql::Wrap("MIN", r), AggKind::Min);
        self.aggs.push((key, AggFinal::Any(p)));
        Some(self.aggs.len() - 1)
    }

    /// Compile an expression over the group row. `outputs` allows select aliases (HAVING,
    /// ORDER BY); `n_outputs` is the select-list length.
    fn compile(&mut self, e: &Expr, aliases: bool) -> SqlResult<eval::Expr> {
        let n_keys = self.keys.len();
        let n_out = self.projection().len();
        let items: Vec<(String, Option<String>)> = self
            .projection()
            .iter()
            .map(|(x, a)| (norm(x), a.map(|s| s.to_ascii_lowercase())))
            .collect();
        // Aggregate indices are final only after compiling everything: encode them as
        // negative placeholders and fix up afterwards.
        let mut resolve = |x: &Expr| -> Option<usize> {
            if aggregate_name(x).is_some() {
                return self.aggregate(x).map(|i| AGG_BASE + i);
            }
            if let Some(k) = self.key_of(x) {
                return Some(k);
            }
            if aliases {
                if let Expr::Identifier(id) = x {
                    let l = id.value.to_ascii_lowercase();
                    if let Some(j) = items.iter().position(|(_, a)| a.as_deref() == Some(&l)) {
                        return Some(n_keys + j);
                    }
                }
            }
            if matches!(x, Expr::Identifier(_) | Expr::CompoundIdentifier(_)) {
                return self.loose_column(x).map(|i| AGG_BASE + i);
            }
            let _ = n_out;
            None
        };
        let compiled = eval::compile(e, &mut resolve)
            .map_err(|u| SqlError::unsupported(format!("{} in a grouped query across shards", u.0)))?;
        if let Some(err) = self.error.take() {
            return Err(err);
        }
        Ok(compiled)
    }
}

/// Aggregate references are compiled as `AGG_BASE + i` and rebased once the select-list
/// length is known.
const AGG_BASE: usize = 1 << 40;

fn rebase(e: &mut eval::Expr, first_agg: usize) {
    use eval::Expr as E;
    match e {
        E::Col(i) if *i >= AGG_BASE => *i = *i - AGG_BASE + first_agg,
        E::Col(_) | E::Lit(_) => {}
        E::Unary(_, a) | E::IsNull(a, _) => rebase(a, first_agg),
        E::Binary(_, a, b) => {
            rebase(a, first_agg);
            rebase(b, first_agg);
        }
        E::Between {
            expr, low, high, ..
        } => {
            rebase(expr, first_agg);
            rebase(low, first_agg);
            rebase(high, first_agg);
        }
        E::InList { expr, list, .. } => {
            rebase(expr, first_agg);
            list.iter_mut().for_each(|x| rebase(x, first_agg));
        }
        E::Case {
            operand,
            whens,
            else_,
        } => {
            if let Some(o) = operand {
                rebase(o, first_agg);
            }
            for (w, t) in whens {
                rebase(w, first_agg);
                rebase(t, first_agg);
            }
            if let Some(x) = else_ {
                rebase(x, first_agg);
            }
        }
        E::Func(_, args) => args.iter_mut().for_each(|x| rebase(x, first_agg)),
    }
}

/// Plan a grouped SELECT over several nodes.
pub fn plan_grouped(
    ctx: &PlanCtx,
    q: &Query,
    select: &Select,
    route: &Route,
    shared: &Edits,
    names: &Edits,
) -> SqlResult<(Vec<NodeSql>, AggHandle)> {
    let lock = locking_clause(ctx, q);
    if select.into.is_some() {
        return Err(SqlError::unsupported("SELECT ... INTO across shards"));
    }
    if let Some(d) = &select.distinct {
        if !matches!(d, sqlparser::ast::Distinct::Distinct) {
            return Err(SqlError::unsupported("DISTINCT ON across shards"));
        }
    }
    let group_exprs: Vec<&Expr> = match &select.group_by {
        GroupByExpr::All(_) => return Err(SqlError::unsupported("GROUP BY ALL")),
        GroupByExpr::Expressions(e, modifiers) => {
            if !modifiers.is_empty() {
                return Err(SqlError::unsupported("GROUP BY ... WITH ROLLUP across shards"));
            }
            e.iter().collect()
        }
    };
    if select
        .projection
        .iter()
        .any(|i| item_expr(i).is_none())
    {
        return Err(SqlError::unsupported(
            "* in a grouped or DISTINCT select list across shards",
        ));
    }
    let mut b = Builder {
        ctx,
        select,
        keys: Vec::new(),
        key_ranges: Vec::new(),
        text: crate::sql::clauses::select_text(ctx.sql),
        distinct_args: Vec::new(),
        partials: Vec::new(),
        aggs: Vec::new(),
        error: None,
    };
    let projection = b.projection();
    let grouped = !group_exprs.is_empty();
    let distinct = select.distinct.is_some();
    // Group keys: GROUP BY items (positions and aliases name select items).
    for (gi, g) in group_exprs.iter().enumerate() {
        let (e, r) = match b.select_item_for(g) {
            Some(j) => (
                projection.get(j).map(|(x, _)| *x).ok_or_else(|| {
                    SqlError::new(
                        1054,
                        "42S22",
                        format!("Unknown column '{g}' in 'group statement'"),
                    )
                })?,
                b.item_range(j),
            ),
            None => (
                *g,
                b.text.as_ref().and_then(|t| t.group_by.get(gi).cloned()),
            ),
        };
        if contains_aggregate(e) {
            return Err(SqlError::new(1056, "42000", format!("Can't group on '{g}'")));
        }
        if b.key_of(e).is_none() {
            b.keys.push(e);
            b.key_ranges.push(r);
        }
    }
    let order_agg = match &q.order_by {
        Some(ob) => match &ob.kind {
            OrderByKind::Expressions(v) => v.iter().any(|o| contains_aggregate(&o.expr)),
            _ => false,
        },
        None => false,
    };
    let any_aggregate = projection.iter().any(|(e, _)| contains_aggregate(e))
        || select.having.as_ref().is_some_and(contains_aggregate)
        || order_agg;
    // DISTINCT without grouping: the select list is the group key.
    if distinct && !grouped && !any_aggregate {
        for (j, (e, _)) in projection.iter().enumerate() {
            if b.key_of(e).is_none() {
                b.keys.push(e);
                b.key_ranges.push(b.item_range(j));
            }
        }
    }
    if select.having.is_some() && !grouped && !any_aggregate {
        return Err(SqlError::unsupported("HAVING without GROUP BY or aggregates across shards"));
    }
    let distinct_outputs = distinct && (grouped || any_aggregate);
    let n_keys = b.keys.len();

    let mut outputs = Vec::with_capacity(projection.len());
    for (e, _) in &projection {
        outputs.push(b.compile(e, false)?);
    }
    let having = match &select.having {
        Some(h) => Some(b.compile(h, true)?),
        None => None,
    };

    // ORDER BY: streaming when every item is a group key; otherwise a final sort.
    let mut key_order: Vec<(usize, bool)> = Vec::new();
    let mut order: Vec<(eval::Expr, bool)> = Vec::new();
    let mut streaming = true;
    if let Some(ob) = &q.order_by {
        let OrderByKind::Expressions(items) = &ob.kind else {
            return Err(SqlError::unsupported("ORDER BY ALL"));
        };
        for o in items {
            let desc = matches!(o.options.sort, Some(OrderBySort::Desc));
            if o.options.nulls_first.is_some() {
                return Err(SqlError::unsupported("NULLS FIRST/LAST"));
            }
            let target = b.select_item_for(&o.expr);
            let expr_for_key = match target {
                Some(j) => projection.get(j).map(|(x, _)| *x),
                None => Some(&o.expr),
            };
            match expr_for_key.and_then(|x| b.key_of(x)) {
                Some(k) if !key_order.iter().any(|(c, _)| *c == k) => key_order.push((k, desc)),
                Some(_) => {}
                None => streaming = false,
            }
            let compiled = match target {
                Some(j) if j < projection.len() => eval::Expr::Col(n_keys + j),
                Some(_) => {
                    return Err(SqlError::new(
                        1054,
                        "42S22",
                        format!("Unknown column '{}' in 'order clause'", o.expr),
                    ))
                }
                None => b.compile(&o.expr, true)?,
            };
            order.push((compiled, desc));
        }
    }
    // Whether one server sorts its grouped rows again (ORDER BY other than a prefix of
    // GROUP BY in its order, all one direction).
    let same_direction = key_order.windows(2).all(|w| w[0].1 == w[1].1);
    let resorted = q.order_by.is_some()
        && !(streaming && same_direction && key_order.iter().enumerate().all(|(i, &(k, _))| k == i));
    if streaming {
        order.clear();
    } else {
        key_order.clear();
    }
    for k in 0..n_keys {
        if !key_order.iter().any(|(c, _)| *c == k) {
            key_order.push((k, false));
        }
    }
    // Distinct arguments are shard group keys too (after the proxy's keys).
    let n_distinct = b.distinct_args.len();
    for d in 0..n_distinct {
        key_order.push((n_keys + d, false));
    }

    let (offset, limit) = limit_of(ctx, q)?;
    let first_agg = n_keys + projection.len();
    for e in outputs.iter_mut() {
        rebase(e, first_agg);
    }
    let mut having = having;
    if let Some(h) = having.as_mut() {
        rebase(h, first_agg);
    }
    for (e, _) in order.iter_mut() {
        rebase(e, first_agg);
    }

    // Representative values: first row in primary-key order, as a full scan would see it.
    let rep = if n_keys > 0 && ctx.refs.tables.len() == 1 {
        primary_key(ctx).map(|pk| {
            b.partial(format!("min({pk}) #rep"), PartialSql::MinOf(pk), AggKind::Min)
        })
    } else {
        None
    };
    let has_distinct_aggs = b
        .aggs
        .iter()
        .any(|(_, a)| matches!(a, AggFinal::Distinct { .. }));
    let agg = AggPlan {
        keys: n_keys,
        distinct_args: n_distinct,
        partials: b.partials.iter().map(|p| p.2).collect(),
        aggs: b.aggs.iter().map(|a| a.1.clone()).collect(),
        outputs,
        having,
        order,
        key_order,
        scalar: !grouped && !(distinct && !any_aggregate),
        distinct_outputs,
        resorted,
        offset,
        limit,
        rep,
        // One server groups through a temporary table unless DISTINCT aggregates make it
        // sort instead (and an ORDER BY after grouping brings the temporary table back).
        shard_metadata: n_keys > 0 && (!has_distinct_aggs || !streaming),
    };

    // Per-node shard SQL.
    let Some((from_at, tail)) = b.text.as_ref().map(|t| (t.from, t.from_end)) else {
        return Err(SqlError::unsupported(
            "a grouped query whose FROM clause cannot be located",
        ));
    };
    let mut nodes = Vec::with_capacity(route.units.len() + 1);
    for u in &route.units {
        let mut e = crate::rewrite::table_edits(ctx.refs, u, &ctx.db.name);
        e.extend(shared);
        let text = |r: &Range<usize>| crate::rewrite::rewrite_slice(ctx.sql, r.clone(), &e);
        let mut cols: Vec<String> = Vec::new();
        for (k, r) in b.keys.iter().zip(&b.key_ranges) {
            let r = match r {
                Some(r) => r.clone(),
                None => b.range(k)?,
            };
            cols.push(text(&r));
        }
        for (_, r) in &b.distinct_args {
            cols.push(text(r));
        }
        for (_, sql, _) in &b.partials {
            cols.push(match sql {
                PartialSql::Whole(r) => text(&r.clone()),
                PartialSql::Wrap(f, r) => format!("{f}({})", text(&r.clone())),
                PartialSql::CountStar => "COUNT(*)".to_string(),
                PartialSql::MinOf(c) => format!("MIN({})", crate::rewrite::ident(c)),
            });
        }
        let mut sql = String::from("SELECT ");
        for (i, c) in cols.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("{c} AS __sg_{i}"));
        }
        sql.push(' ');
        sql.push_str(&text(&(from_at..tail)));
        let n_group = n_keys + n_distinct;
        if n_group > 0 {
            let list: Vec<String> = (0..n_group).map(|i| format!("__sg_{i}")).collect();
            sql.push_str(&format!(" GROUP BY {}", list.join(", ")));
            let ord: Vec<String> = agg
                .key_order
                .iter()
                .map(|(c, d)| format!("__sg_{c}{}", if *d { " DESC" } else { "" }))
                .collect();
            sql.push_str(&format!(" ORDER BY {}", ord.join(", ")));
        }
        if let Some((_, clause)) = &lock {
            // Locking reads lock on every shard (e.g. a consistent SUM inside a transaction).
            sql.push(' ');
            sql.push_str(clause);
        }
        nodes.push(NodeSql {
            data_source: u.data_source.clone(),
            sql,
        });
    }
    let mut meta_edits = shared.clone();
    meta_edits.extend(names);
    nodes.push(metadata_node(ctx, q, route, &meta_edits, lock.map(|l| l.0))?);
    Ok((nodes, AggHandle(Arc::new(agg))))
}


/// The original statement on the first node with `LIMIT 0`: MariaDB's own column metadata.
fn metadata_node(
    ctx: &PlanCtx,
    q: &Query,
    route: &Route,
    shared: &Edits,
    lock: Option<Range<usize>>,
) -> SqlResult<NodeSql> {
    let u = route
        .units
        .first()
        .ok_or_else(|| SqlError::internal("empty route"))?;
    let mut e = crate::rewrite::table_edits(ctx.refs, u, &ctx.db.name);
    e.extend(shared);
    if let Some(r) = lock {
        // Metadata needs no locks (and LIMIT 0 must not follow the locking clause).
        e.replace(r, "");
    }
    let mut limit_done = false;
    if let Some(lc) = &q.limit_clause {
        let (limit, offset) = match lc {
            LimitClause::LimitOffset { limit, offset, .. } => {
                (limit.as_ref(), offset.as_ref().map(|o| &o.value))
            }
            LimitClause::OffsetCommaLimit { offset, limit } => (Some(limit), Some(offset)),
        };
        if let Some(l) = limit {
            let r = super::select::expr_range(ctx, l)?;
            e.replace(r, "0");
            limit_done = true;
        }
        if let Some(o) = offset {
            let r = super::select::expr_range(ctx, o)?;
            e.replace(r, "0");
        }
    }
    let mut sql = e.apply(ctx.sql);
    if !limit_done {
        let trimmed = sql.trim_end_matches(|c: char| c.is_whitespace() || c == ';').len();
        sql.truncate(trimmed);
        sql.push_str("\nLIMIT 0");
    }
    Ok(NodeSql {
        data_source: u.data_source.clone(),
        sql,
    })
}

/// The statement's trailing locking clause (`FOR UPDATE`, `FOR SHARE`, `LOCK IN SHARE MODE`):
/// its source range and text.
fn locking_clause(ctx: &PlanCtx, q: &Query) -> Option<(Range<usize>, String)> {
    let trimmed = ctx.sql.trim_end().trim_end_matches(';').trim_end();
    let upper = trimmed.to_ascii_uppercase();
    let candidates: &[&str] = if q.locks.is_empty() {
        &["LOCK IN SHARE MODE"]
    } else {
        &["FOR UPDATE", "FOR SHARE", "LOCK IN SHARE MODE"]
    };
    if !q.locks.is_empty() && q.locks.len() != 1 {
        return None;
    }
    for c in candidates {
        if upper.ends_with(c) {
            let start = trimmed.len() - c.len();
            return Some((start..trimmed.len(), c.to_string()));
        }
    }
    None
}

/// The single-column primary key of the statement's only table, from the catalog.
fn primary_key(ctx: &PlanCtx) -> Option<String> {
    let t = ctx.refs.tables.first()?;
    let schema = t.schema.clone().unwrap_or_else(|| ctx.db.name.clone());
    let snap = ctx.catalog?;
    let table = snap.get(&(schema, t.name.to_ascii_lowercase()))?;
    let mut pks = table.columns.iter().filter(|c| c.primary_key);
    let first = pks.next()?;
    pks.next().is_none().then(|| first.name.clone())
}

fn limit_of(ctx: &PlanCtx, q: &Query) -> SqlResult<(u64, Option<u64>)> {
    let Some(lc) = &q.limit_clause else {
        return Ok((0, None));
    };
    let (limit, offset) = match lc {
        LimitClause::LimitOffset {
            limit,
            offset,
            limit_by,
        } => {
            if !limit_by.is_empty() {
                return Err(SqlError::unsupported("LIMIT BY"));
            }
            (limit.as_ref(), offset.as_ref().map(|o| &o.value))
        }
        LimitClause::OffsetCommaLimit { offset, limit } => (Some(limit), Some(offset)),
    };
    let off = match offset {
        Some(e) => super::select::const_u64(ctx, e)?,
        None => 0,
    };
    let lim = match limit {
        Some(e) => Some(super::select::const_u64(ctx, e)?),
        None => None,
    };
    Ok((off, lim))
}
