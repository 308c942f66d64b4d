//! Analysis of a grouped SELECT: group keys, aggregates and their shard partials, and the
//! select list / HAVING / ORDER BY compiled over the proxy's group row.

use super::{aggregate_name, AggFinal, DistinctKind, SUPPORTED};
use crate::error::{SqlError, SqlResult};
use crate::eval::{self, AggKind};
use crate::plan::PlanCtx;
use sqlparser::ast::{
    DuplicateTreatment, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Select, SelectItem,
    Spanned, Value,
};
use std::ops::Range;

pub(super) struct Builder<'a> {
    pub(super) ctx: &'a PlanCtx<'a>,
    pub(super) select: &'a Select,
    /// Group key expressions (source ranges) — shard columns 0..keys.
    pub(super) keys: Vec<&'a Expr>,
    /// Source text of each key (token-exact when known).
    pub(super) key_ranges: Vec<Option<Range<usize>>>,
    /// Token-exact parts of the top-level SELECT.
    pub(super) text: Option<crate::sql::clauses::SelectText>,
    /// Distinct-aggregate arguments: (normalized text, source range, sent as
    /// `CAST(... AS BINARY)` so that values equal only by collation stay apart).
    pub(super) distinct_args: Vec<(String, Range<usize>, bool)>,
    /// Partial columns: (normalized text, shard SQL text with {} placeholders resolved per node
    /// as a source range wrapped by a function name), kind.
    pub(super) partials: Vec<(String, PartialSql, AggKind)>,
    pub(super) aggs: Vec<(String, AggFinal)>,
    pub(super) error: Option<SqlError>,
}

#[derive(Debug, Clone)]
pub(super) enum PartialSql {
    /// The aggregate call exactly as written.
    Whole(Range<usize>),
    /// `FUNC(<argument text>)`.
    Wrap(&'static str, Range<usize>),
    CountStar,
    /// `MIN(<column>)` of a column the statement does not name (the primary key).
    MinOf(String),
    /// Fixed text.
    Text(&'static str),
}

/// The value of a subquery that was replaced by its answer (see `session::subquery`).
fn answered_subquery(x: &Expr) -> Option<Expr> {
    use sqlparser::ast::{SelectItem, SetExpr};
    let (q, exists, negated) = match x {
        Expr::Subquery(q) => (q, false, false),
        Expr::Exists { subquery, negated } => (subquery, true, *negated),
        // `x [NOT] IN (<empty answer>)` is false (true for NOT IN), whatever x is.
        Expr::In {
            target: sqlparser::ast::InTarget::Subquery(q),
            negated,
            ..
        } => {
            let SetExpr::Select(s) = q.body.as_ref() else {
                return None;
            };
            let empty = matches!(&s.selection, Some(Expr::Value(v)) if matches!(&v.value, Value::Number(n, _) if n == "0"))
                && s.from.len() == 1
                && s.from[0].relation.to_string().eq_ignore_ascii_case("dual");
            return empty
                .then(|| parse_expr(if *negated { "1" } else { "0" }))
                .flatten();
        }
        _ => return None,
    };
    let SetExpr::Select(s) = q.body.as_ref() else {
        return None;
    };
    let where_false = matches!(&s.selection, Some(Expr::Value(v)) if matches!(&v.value, Value::Number(n, _) if n == "0"));
    let from_dual = s.from.len() == 1
        && s.from[0].joins.is_empty()
        && matches!(&s.from[0].relation, sqlparser::ast::TableFactor::Table { name, .. }
            if name.to_string().eq_ignore_ascii_case("dual"));
    if exists {
        // Only the two forms the proxy writes: `SELECT 1` and `SELECT 1 FROM DUAL WHERE 0`.
        let found = if s.from.is_empty() && s.selection.is_none() {
            true
        } else if from_dual && where_false {
            false
        } else {
            return None;
        };
        return parse_expr(if found != negated { "1" } else { "0" });
    }
    if !s.from.is_empty() || s.selection.is_some() || s.projection.len() != 1 {
        return None;
    }
    match &s.projection[0] {
        SelectItem::UnnamedExpr(e @ Expr::Value(_)) => Some(e.clone()),
        SelectItem::UnnamedExpr(e @ Expr::UnaryOp { .. }) => Some(e.clone()),
        _ => None,
    }
}

/// A literal's text (a spliced parameter) as an expression.
fn parse_expr(text: &str) -> Option<Expr> {
    sqlparser::parser::Parser::new(&sqlparser::dialect::MySqlDialect {})
        .try_with_sql(text)
        .ok()?
        .parse_expr()
        .ok()
}

pub(super) fn norm(e: &Expr) -> String {
    e.to_string().to_ascii_lowercase()
}

/// Same expression for grouping purposes: columns compare by name (an unqualified name
/// matches a qualified one), anything else by its printed form.
pub(super) fn same_expr(a: &Expr, b: &Expr) -> bool {
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

pub(super) fn position_of(e: &Expr) -> Option<usize> {
    if let Expr::Value(v) = e {
        if let Value::Number(n, _) = &v.value {
            return n.parse::<usize>().ok()?.checked_sub(1);
        }
    }
    None
}

pub(super) fn item_expr(item: &SelectItem) -> Option<(&Expr, Option<&str>)> {
    match item {
        SelectItem::UnnamedExpr(e) => Some((e, None)),
        SelectItem::ExprWithAlias { expr, alias } => Some((expr, Some(alias.value.as_str()))),
        _ => None,
    }
}

impl<'a> Builder<'a> {
    pub(super) fn range(&self, e: &Expr) -> SqlResult<Range<usize>> {
        let r = self
            .ctx
            .sm
            .range(e.span())
            .filter(|r| !r.is_empty())
            .ok_or_else(|| SqlError::unsupported(format!("locating {e} in the statement")))?;
        Ok(crate::sql::edit::balanced(self.ctx.sql, r))
    }

    /// The text of select item `j` without its alias.
    pub(super) fn item_range(&self, j: usize) -> Option<Range<usize>> {
        let t = self.text.as_ref()?;
        let r = t.items.get(j)?.clone();
        match self.select.projection.get(j)? {
            SelectItem::ExprWithAlias { alias, .. } => Some(crate::sql::clauses::without_alias(
                self.ctx.sql,
                r,
                &alias.value,
            )),
            _ => Some(r),
        }
    }

    pub(super) fn projection(&self) -> Vec<(&'a Expr, Option<&'a str>)> {
        self.select
            .projection
            .iter()
            .filter_map(item_expr)
            .collect()
    }

    /// A GROUP BY / ORDER BY item: a select-list position, an alias, or an expression.
    pub(super) fn select_item_for(&self, e: &Expr) -> Option<usize> {
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

    pub(super) fn key_of(&self, e: &Expr) -> Option<usize> {
        self.keys.iter().position(|k| same_expr(k, e))
    }

    pub(super) fn fail(&mut self, e: SqlError) {
        self.error.get_or_insert(e);
    }

    /// Register (or find) an aggregate call; returns its aggregate index.
    pub(super) fn aggregate(&mut self, e: &Expr) -> Option<usize> {
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
        if name == "group_concat" && f.over.is_none() && f.filter.is_none() {
            let fin = self.group_concat(e, list)?;
            self.aggs.push((key, fin));
            return Some(self.aggs.len() - 1);
        }
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
            let sum = self.partial(
                format!("sum({t})"),
                PartialSql::Wrap("SUM", r.clone()),
                AggKind::Sum,
            );
            let count = self.partial(
                format!("count({t})"),
                PartialSql::Wrap("COUNT", r),
                AggKind::Count,
            );
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
                    Some(Ok(r)) => {
                        PartialSql::Wrap(if kind == AggKind::Min { "MIN" } else { "MAX" }, r)
                    }
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

    pub(super) fn partial(&mut self, text: String, sql: PartialSql, kind: AggKind) -> usize {
        if let Some(i) = self.partials.iter().position(|(t, _, _)| *t == text) {
            return i;
        }
        self.partials.push((text, sql, kind));
        self.partials.len() - 1
    }

    pub(super) fn distinct_arg(&mut self, text: String, r: Range<usize>) -> usize {
        self.distinct_arg_as(text, r, false)
    }

    /// See [`Builder::distinct_args`].
    pub(super) fn distinct_arg_as(&mut self, text: String, r: Range<usize>, exact: bool) -> usize {
        if let Some(i) = self
            .distinct_args
            .iter()
            .position(|(t, _, x)| *t == text && *x == exact)
        {
            return i;
        }
        self.distinct_args.push((text, r, exact));
        self.distinct_args.len() - 1
    }

    /// A column that is neither grouped nor aggregated (MySQL without ONLY_FULL_GROUP_BY
    /// returns some value of the group): take MIN.
    pub(super) fn loose_column(&mut self, e: &Expr) -> Option<usize> {
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
        let p = self.partial(
            format!("min({})", norm(e)),
            PartialSql::Wrap("MIN", r),
            AggKind::Min,
        );
        self.aggs.push((key, AggFinal::Any(p)));
        Some(self.aggs.len() - 1)
    }

    /// Compile an expression over the group row. `outputs` allows select aliases (HAVING,
    /// ORDER BY); `n_outputs` is the select-list length.
    /// `e` with prepared-statement parameters replaced by their literal values (the proxy
    /// evaluates HAVING and the select list itself).
    fn bind_params(&self, e: &Expr) -> Expr {
        use sqlparser::ast::{VisitMut, VisitorMut};

        struct Bind<'b, 'c> {
            b: &'b Builder<'c>,
        }
        impl VisitorMut for Bind<'_, '_> {
            type Break = ();
            fn post_visit_expr(&mut self, x: &mut Expr) -> std::ops::ControlFlow<()> {
                // A subquery the proxy already answered is `(SELECT <literal>)`, and EXISTS
                // over one is `EXISTS (SELECT 1 [FROM DUAL WHERE 0])`: use the value.
                if let Some(v) = answered_subquery(x) {
                    *x = v;
                    return std::ops::ControlFlow::Continue(());
                }
                if let Expr::Value(v) = x {
                    if let Value::SingleQuotedString(t) | Value::DoubleQuotedString(t) =
                        &mut v.value
                    {
                        // Backslashes read under NO_BACKSLASH_ESCAPES (sql::nbe_for_parsing).
                        if self.b.ctx.conv.nbe_standin && t.contains(crate::sql::NBE_BACKSLASH) {
                            *t = t.replace(crate::sql::NBE_BACKSLASH, "\\");
                        }
                    }
                    if matches!(v.value, Value::Placeholder(_)) {
                        let ctx = self.b.ctx;
                        let lit = ctx
                            .sm
                            .range(v.span)
                            .and_then(|r| ctx.refs.placeholders.iter().position(|p| *p == r))
                            .and_then(|i| ctx.param_sql.get(i));
                        if let Some(parsed) = lit.and_then(|l| parse_expr(l)) {
                            *x = parsed;
                        }
                    }
                }
                std::ops::ControlFlow::Continue(())
            }
        }
        let mut out = e.clone();
        let _ = out.visit(&mut Bind { b: self });
        out
    }

    pub(super) fn compile(&mut self, e: &Expr, aliases: bool) -> SqlResult<eval::Expr> {
        let bound = self.bind_params(e);
        let e = &bound;
        let n_keys = self.keys.len();
        let n_out = self.projection().len();
        let opts = self.ctx.eval;
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
        let compiled = eval::compile_with(e, &mut resolve, &opts);
        // What the aggregate itself could not do names the problem best.
        if let Some(err) = self.error.take() {
            return Err(err);
        }
        compiled
            .map_err(|u| SqlError::unsupported(format!("{} in a grouped query across shards", u.0)))
    }
}

/// Aggregate references are compiled as `AGG_BASE + i` and rebased once the select-list
/// length is known.
pub(super) const AGG_BASE: usize = 1 << 40;

pub(super) fn rebase(e: &mut eval::Expr, first_agg: usize) {
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
