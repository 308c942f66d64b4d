//! GROUP_CONCAT across shards: its arguments and ORDER BY items become distinct-argument
//! columns of the shard query (each shard row one combination, with a COUNT(*) for how many
//! source rows it stands for), and the backend's `group_concat_max_len` comes along as a
//! partial, so the proxy concatenates, orders, deduplicates and truncates as MariaDB does
//! (see `merge::concat`).

use super::builder::{norm, Builder, PartialSql};
use super::{AggFinal, ConcatSpec};
use crate::error::SqlError;
use crate::eval::AggKind;
use sqlparser::ast::{
    DuplicateTreatment, Expr, FunctionArg, FunctionArgExpr, FunctionArgumentClause,
    FunctionArgumentList, OrderBySort, Value,
};
use std::ops::Range;

impl<'a> Builder<'a> {
    pub(super) fn group_concat(
        &mut self,
        e: &Expr,
        list: &FunctionArgumentList,
    ) -> Option<AggFinal> {
        match self.concat_spec(e, list) {
            Ok(spec) => Some(AggFinal::Concat(spec)),
            Err(err) => {
                self.fail(err);
                None
            }
        }
    }

    fn concat_spec(
        &mut self,
        e: &Expr,
        list: &FunctionArgumentList,
    ) -> Result<ConcatSpec, SqlError> {
        let refuse = |what: &str| SqlError::unsupported(format!("{e} across shards ({what})"));
        let distinct = matches!(list.duplicate_treatment, Some(DuplicateTreatment::Distinct));
        let mut args = Vec::new();
        for a in &list.args {
            let FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) = a else {
                return Err(refuse("an argument that is not an expression"));
            };
            let r = self
                .located(x)
                .ok_or_else(|| refuse("an argument that cannot be located"))?;
            // Without DISTINCT every spelling counts ('PAID' and 'paid' both appear): the
            // shards group by the exact bytes.
            args.push(self.distinct_arg_as(norm(x), r, !distinct));
        }
        if args.is_empty() {
            return Err(SqlError::parse(format!("near '{e}'")));
        }
        let mut order = Vec::new();
        let mut separator = b",".to_vec();
        for c in &list.clauses {
            match c {
                FunctionArgumentClause::OrderBy(items) => {
                    for o in items {
                        if o.options.nulls_first.is_some() || o.with_fill.is_some() {
                            return Err(refuse("NULLS FIRST/LAST"));
                        }
                        if super::builder::position_of(&o.expr).is_some() {
                            return Err(refuse("ORDER BY a position"));
                        }
                        let desc = match &o.options.sort {
                            None | Some(OrderBySort::Asc) => false,
                            Some(OrderBySort::Desc) => true,
                            Some(_) => return Err(refuse("ORDER BY ... USING")),
                        };
                        let r = self
                            .located(&o.expr)
                            .ok_or_else(|| refuse("an ORDER BY item that cannot be located"))?;
                        let col = self.distinct_arg(norm(&o.expr), r);
                        if distinct && !args.contains(&col) {
                            return Err(refuse("DISTINCT with ORDER BY on other expressions"));
                        }
                        order.push((col, desc));
                    }
                }
                FunctionArgumentClause::Separator(v) => match &v.value {
                    Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => {
                        separator = s.as_bytes().to_vec();
                    }
                    _ => return Err(refuse("a SEPARATOR that is not a string")),
                },
                FunctionArgumentClause::Limit(_) => return Err(refuse("LIMIT")),
                _ => return Err(refuse("this clause")),
            }
        }
        let count = self.partial("count(*)".into(), PartialSql::CountStar, AggKind::Count);
        let max_len = self.partial(
            "@@group_concat_max_len".into(),
            PartialSql::Text("MAX(@@SESSION.group_concat_max_len)"),
            AggKind::Max,
        );
        Ok(ConcatSpec {
            args,
            order,
            distinct,
            exact: !distinct,
            separator,
            count,
            max_len,
        })
    }

    /// The text of `x` in the statement, checked by parsing it back: sqlparser's spans may
    /// leave out parentheses around an expression, which are then taken in.
    fn located(&self, x: &Expr) -> Option<Range<usize>> {
        let sql = self.ctx.sql;
        let mut r = self.range(x).ok()?;
        let want = x.to_string();
        for _ in 0..8 {
            let text = sql.get(r.clone())?;
            let probe = format!("SELECT {text}");
            let back = crate::sql::parse_one(&crate::sql::tolerant_text(&probe)).ok();
            if let Some(sqlparser::ast::Statement::Query(q)) = back {
                if let sqlparser::ast::SetExpr::Select(s) = q.body.as_ref() {
                    if let [sqlparser::ast::SelectItem::UnnamedExpr(y)] = s.projection.as_slice() {
                        let y = y.to_string();
                        if y == want || y == format!("({want})") {
                            return Some(r);
                        }
                    }
                }
            }
            let before = sql.get(..r.start)?.trim_end();
            let after = sql.get(r.end..)?;
            let rest = after.trim_start();
            if !(before.ends_with('(') && rest.starts_with(')')) {
                return None;
            }
            r = before.len() - 1..r.end + (after.len() - rest.len()) + 1;
        }
        None
    }
}
