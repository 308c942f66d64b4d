//! Semi-join reduction of a shipped table (the batch idea of Vitess's apply join): when it
//! must equal the anchor on a column (`p.product_id = i.product_id`), the proxy first reads
//! the anchor's distinct values of that column (with the anchor's own predicates), then ships
//! only the rows whose column is among them. A product page's join then copies a handful
//! of products, not the catalogue.

use super::filter::exact_text;
use super::{Member, PlanCtx};
use crate::catalog::ColKind;
use sqlparser::ast::{BinaryOperator, Expr};

/// How to narrow one shipped table's fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reduce {
    /// `SELECT DISTINCT <anchor column> FROM <anchor> [WHERE <its own predicates>]`.
    pub keys_sql: String,
    /// The shipped table's column, as written (`p.product_id`).
    pub column: String,
}

/// At most this many anchor values; past it the table is shipped unreduced.
pub const MAX_KEYS: usize = 1000;

/// A qualified column and the table reference it names.
fn column_of(ctx: &PlanCtx, e: &Expr) -> Option<(usize, String)> {
    let Expr::CompoundIdentifier(parts) = e else {
        return None;
    };
    let [q, c] = parts.as_slice() else {
        return None;
    };
    let t = ctx
        .refs
        .resolve_qualifier(None, &q.value.to_ascii_lowercase())?;
    let i = ctx.refs.tables.iter().position(|x| x.range == t.range)?;
    Some((i, c.value.to_ascii_lowercase()))
}

fn column_def<'c>(
    ctx: &'c PlanCtx,
    (i, col): &(usize, String),
) -> Option<&'c crate::catalog::Column> {
    let t = &ctx.refs.tables[*i];
    let schema = t.schema.as_deref().unwrap_or(&ctx.db.name);
    ctx.catalog?
        .get(&(schema.to_string(), t.name.clone()))?
        .column(col)
}

/// Do `=` and `IN (values)` compare these columns alike? Integers and decimals with each
/// other, strings of one collation with each other; not temporals or floats.
fn compatible(ctx: &PlanCtx, a: &(usize, String), b: &(usize, String)) -> bool {
    let (Some(x), Some(y)) = (column_def(ctx, a), column_def(ctx, b)) else {
        return false;
    };
    match (x.kind, y.kind) {
        (ColKind::Integer | ColKind::Decimal, ColKind::Integer | ColKind::Decimal) => true,
        (ColKind::String, ColKind::String) => x.collation.is_some() && x.collation == y.collation,
        _ => false,
    }
}

/// The reduction of shipped table `idx` by an equality with the anchor among `conds` (the
/// conditions every contributing row of that table satisfies). `anchor_from`: the anchor's
/// name and alias text; `anchor_pushed`: its own predicates.
pub fn reduction(
    ctx: &PlanCtx,
    idx: usize,
    anchor: (usize, &Member),
    anchor_from: &str,
    anchor_pushed: &[String],
    conds: &[&Expr],
) -> Option<Reduce> {
    for e in conds {
        let Expr::BinaryOp {
            left,
            op: BinaryOperator::Eq,
            right,
        } = e
        else {
            continue;
        };
        for (x, y) in [(left, right), (right, left)] {
            let (Some(cx), Some(cy)) = (column_of(ctx, x), column_of(ctx, y)) else {
                continue;
            };
            if cx.0 != idx || cy.0 != anchor.0 || !compatible(ctx, &cx, &cy) {
                continue;
            }
            let (Some(column), Some(key)) = (exact_text(ctx, x), exact_text(ctx, y)) else {
                continue;
            };
            let mut keys_sql = format!("SELECT DISTINCT {key} FROM {anchor_from}");
            if !anchor_pushed.is_empty() {
                let preds: Vec<String> = anchor_pushed.iter().map(|p| format!("({p})")).collect();
                keys_sql.push_str(" WHERE ");
                keys_sql.push_str(&preds.join(" AND "));
            }
            return Some(Reduce { keys_sql, column });
        }
    }
    None
}
