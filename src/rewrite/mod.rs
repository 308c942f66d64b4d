//! Rewriting (pure): per route unit, the edits that turn the client's SQL into the SQL for
//! that data node. Only the byte ranges the AST found are touched.

use crate::route::RouteUnit;
use crate::sql::refs::Refs;
use crate::sql::Edits;
use std::ops::Range;

/// Quote an identifier only when it needs it.
pub fn ident(name: &str) -> String {
    let plain = !name.is_empty()
        && !name.as_bytes()[0].is_ascii_digit()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$');
    if plain {
        name.to_string()
    } else {
        format!("`{}`", name.replace('`', "``"))
    }
}

/// Edits replacing logical table names (and table-name qualifiers) with the unit's physical
/// names. References to the logical database's schema are dropped (backend connections use
/// the physical database); other schemas (information_schema...) are left alone.
pub fn table_edits(refs: &Refs, unit: &RouteUnit, logical_db: &str) -> Edits {
    let mut e = Edits::new();
    let ours = |schema: &Option<String>| {
        schema
            .as_deref()
            .is_none_or(|s| s.eq_ignore_ascii_case(logical_db))
    };
    for t in &refs.tables {
        if !ours(&t.schema) {
            continue;
        }
        if let Some(phys) = unit.tables.get(&t.name) {
            e.replace(t.range.clone(), ident(phys));
        }
    }
    for q in &refs.qualified {
        if !ours(&q.schema) {
            continue;
        }
        // A qualifier naming an alias stays; one naming an unaliased table is rewritten.
        let Some(t) = refs.resolve_qualifier(q.schema.as_deref(), &q.table) else {
            continue;
        };
        if t.alias.is_some() {
            continue;
        }
        if let Some(phys) = unit.tables.get(&t.name) {
            e.replace(q.range.clone(), ident(phys));
        }
    }
    e
}

/// Apply only the edits that fall inside `range` to that slice of `text`.
pub fn rewrite_slice(text: &str, range: Range<usize>, edits: &Edits) -> String {
    edits.apply_within(text, range)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::{parse_one, SourceMap};
    use std::collections::BTreeMap;

    fn unit(pairs: &[(&str, &str)]) -> RouteUnit {
        RouteUnit {
            data_source: "ds_1".into(),
            tables: pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect::<BTreeMap<_, _>>(),
        }
    }

    #[test]
    fn rewrites_names_qualifiers_and_schema() {
        let cases = [
            (
                "SELECT t_order.order_id, o2.x FROM shop.t_order JOIN t_order_item o2 ON t_order.order_id = o2.order_id WHERE t_order.user_id = 1",
                "SELECT t_order_1.order_id, o2.x FROM t_order_1 JOIN t_order_item_1 o2 ON t_order_1.order_id = o2.order_id WHERE t_order_1.user_id = 1",
            ),
            ("select `t_order`.* from `t_order`", "select t_order_1.* from t_order_1"),
            ("SELECT * FROM information_schema.tables", "SELECT * FROM information_schema.tables"),
            ("UPDATE t_order SET status='x' WHERE order_id=3", "UPDATE t_order_1 SET status='x' WHERE order_id=3"),
            ("DELETE FROM shop.t_order WHERE shop.t_order.order_id=3", "DELETE FROM t_order_1 WHERE t_order_1.order_id=3"),
            ("INSERT INTO t_order (order_id, user_id) VALUES (1, 2)", "INSERT INTO t_order_1 (order_id, user_id) VALUES (1, 2)"),
            ("SELECT 't_order' FROM t_order -- t_order", "SELECT 't_order' FROM t_order_1 -- t_order"),
        ];
        let u = unit(&[("t_order", "t_order_1"), ("t_order_item", "t_order_item_1")]);
        for (sql, want) in cases {
            let stmt = parse_one(sql).unwrap();
            let sm = SourceMap::new(sql);
            let refs = Refs::collect(&stmt, &sm);
            assert_eq!(table_edits(&refs, &u, "shop").apply(sql), want, "{sql}");
        }
    }

    #[test]
    fn quoting() {
        assert_eq!(ident("t_order_1"), "t_order_1");
        assert_eq!(ident("order"), "order");
        assert_eq!(ident("a-b"), "`a-b`");
        assert_eq!(ident("1t"), "`1t`");
    }
}
