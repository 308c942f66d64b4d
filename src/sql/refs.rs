//! One pass over a statement's AST collecting what routing and rewriting need: table
//! references (with the byte range of their names and their aliases), table-qualified column
//! references, qualified wildcards and `?` placeholders.

use super::edit::SourceMap;
use super::name_parts;
use sqlparser::ast::{
    Expr, ObjectName, Query, Select, SelectItem, SelectItemQualifiedWildcardKind, Spanned,
    Statement, TableFactor, Value, ValueWithSpan, Visit, Visitor,
};
use std::ops::{ControlFlow, Range};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRef {
    /// Lower-cased table name.
    pub name: String,
    /// Lower-cased schema qualifier, if written.
    pub schema: Option<String>,
    /// Bytes of the whole (possibly schema-qualified) name in the source.
    pub range: Range<usize>,
    /// Lower-cased alias, if any.
    pub alias: Option<String>,
}

/// `t.col`, `schema.t.col` or `t.*`: the qualifier's byte range and lower-cased parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QualifiedRef {
    pub schema: Option<String>,
    pub table: String,
    pub range: Range<usize>,
}

#[derive(Debug, Default)]
pub struct Refs {
    pub tables: Vec<TableRef>,
    /// Parallel to `tables`: the reference sits in a nested query (subquery, derived table).
    pub nested: Vec<bool>,
    pub qualified: Vec<QualifiedRef>,
    /// Byte ranges of `?` placeholders, in source order.
    pub placeholders: Vec<Range<usize>>,
    /// Set when a span could not be mapped (the statement cannot be rewritten safely).
    pub unmapped: bool,
}

impl Refs {
    pub fn collect(stmt: &Statement, sm: &SourceMap) -> Refs {
        let mut c = Collector {
            sm,
            refs: Refs::default(),
            aliases: Vec::new(),
            // A query inside any other statement (UPDATE ... WHERE x IN (SELECT ...),
            // INSERT ... SELECT) is nested; a SELECT statement's own query block is not.
            depth: usize::from(!matches!(stmt, Statement::Query(_))),
        };
        // Table names the AST visitor does not report as relations.
        for name in ddl_names(stmt) {
            c.relation(name);
        }
        let _ = stmt.visit(&mut c);
        // A name reported twice (by the pass above and the visitor) is one reference.
        let mut seen = std::collections::HashSet::new();
        let mut keep = Vec::new();
        for t in &c.refs.tables {
            keep.push(seen.insert(t.range.clone()));
        }
        let mut k = keep.iter();
        c.refs.tables.retain(|_| *k.next().unwrap_or(&true));
        let mut k = keep.iter();
        c.refs.nested.retain(|_| *k.next().unwrap_or(&true));
        let Collector {
            mut refs, aliases, ..
        } = c;
        for (range, alias) in aliases {
            if let Some(t) = refs.tables.iter_mut().find(|t| t.range == range) {
                t.alias = Some(alias);
            }
        }
        refs.placeholders.sort_by_key(|r| r.start);
        refs.placeholders.dedup();
        refs
    }

    /// The table a qualifier (alias or table name) refers to.
    pub fn resolve_qualifier(&self, schema: Option<&str>, qual: &str) -> Option<&TableRef> {
        if schema.is_none() {
            if let Some(t) = self
                .tables
                .iter()
                .find(|t| t.alias.as_deref() == Some(qual))
            {
                return Some(t);
            }
        }
        self.tables.iter().find(|t| {
            t.alias.is_none()
                && t.name == qual
                && (schema.is_none() || t.schema.as_deref() == schema)
        })
    }

    pub fn table_names(&self) -> impl Iterator<Item = &str> {
        self.tables.iter().map(|t| t.name.as_str())
    }
}

struct Collector<'a, 'b> {
    sm: &'b SourceMap<'a>,
    refs: Refs,
    aliases: Vec<(Range<usize>, String)>,
    depth: usize,
}

/// DROP TABLE, RENAME TABLE and CREATE TABLE ... LIKE name tables outside the visitor's
/// notion of a relation.
fn ddl_names(stmt: &Statement) -> Vec<&ObjectName> {
    use sqlparser::ast::{CreateTableLikeKind, ObjectType};
    match stmt {
        Statement::Drop {
            object_type: ObjectType::Table,
            names,
            ..
        } => names.iter().collect(),
        Statement::Drop {
            object_type: ObjectType::Index,
            table: Some(t),
            ..
        } => vec![t],
        Statement::RenameTable(v) => v.iter().flat_map(|r| [&r.old_name, &r.new_name]).collect(),
        Statement::CreateTable(ct) => match &ct.like {
            Some(CreateTableLikeKind::Plain(l)) | Some(CreateTableLikeKind::Parenthesized(l)) => {
                vec![&ct.name, &l.name]
            }
            None => Vec::new(),
        },
        _ => Vec::new(),
    }
}

impl Collector<'_, '_> {
    fn relation(&mut self, relation: &ObjectName) {
        let parts = name_parts(relation);
        let Some(last) = parts.last() else {
            return;
        };
        if parts.len() == 1 && last.quote_style.is_none() && last.value.eq_ignore_ascii_case("dual")
        {
            // DUAL is no table: `SELECT 1 FROM DUAL` runs anywhere.
            return;
        }
        let schema = (parts.len() >= 2).then(|| parts[parts.len() - 2].value.to_ascii_lowercase());
        match self.sm.range(relation.span()) {
            Some(range) => {
                self.refs.tables.push(TableRef {
                    name: last.value.to_ascii_lowercase(),
                    schema,
                    range,
                    alias: None,
                });
                self.refs.nested.push(self.depth > 1);
            }
            None => self.refs.unmapped = true,
        }
    }

    fn qualifier(&mut self, parts: &[&sqlparser::ast::Ident]) {
        // parts = [schema?, table] (the qualifier, without the column / `*`).
        let (schema, table) = match parts {
            [t] => (None, t),
            [s, t] => (Some(s.value.to_ascii_lowercase()), t),
            _ => return,
        };
        let first = parts[0];
        match (
            self.sm.offset(first.span.start),
            self.sm.offset(table.span.end),
        ) {
            (Some(s), Some(e)) if s <= e => self.refs.qualified.push(QualifiedRef {
                schema,
                table: table.value.to_ascii_lowercase(),
                range: s..e,
            }),
            _ => self.refs.unmapped = true,
        }
    }
}

impl Visitor for Collector<'_, '_> {
    type Break = ();

    fn pre_visit_query(&mut self, _q: &Query) -> ControlFlow<()> {
        self.depth += 1;
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _q: &Query) -> ControlFlow<()> {
        self.depth = self.depth.saturating_sub(1);
        ControlFlow::Continue(())
    }

    fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<()> {
        self.relation(relation);
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, tf: &TableFactor) -> ControlFlow<()> {
        if let TableFactor::Table {
            name,
            alias: Some(alias),
            ..
        } = tf
        {
            if let Some(range) = self.sm.range(name.span()) {
                self.aliases
                    .push((range, alias.name.value.to_ascii_lowercase()));
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, select: &Select) -> ControlFlow<()> {
        for item in &select.projection {
            if let SelectItem::QualifiedWildcard(
                SelectItemQualifiedWildcardKind::ObjectName(name),
                _,
            ) = item
            {
                let parts = name_parts(name);
                self.qualifier(&parts);
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        if let Expr::CompoundIdentifier(idents) = expr {
            if idents.len() >= 2 {
                let quals: Vec<&sqlparser::ast::Ident> =
                    idents[..idents.len() - 1].iter().collect();
                let quals = if quals.len() > 2 {
                    quals[quals.len() - 2..].to_vec()
                } else {
                    quals
                };
                self.qualifier(&quals);
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_value(&mut self, v: &ValueWithSpan) -> ControlFlow<()> {
        if let Value::Placeholder(p) = &v.value {
            if p == "?" {
                match self.sm.range(v.span) {
                    Some(r) => self.refs.placeholders.push(r),
                    None => self.refs.unmapped = true,
                }
            }
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::parse_one;

    #[test]
    fn collects_tables_aliases_qualifiers_placeholders() {
        let sql = "SELECT o.order_id, t_order_item.qty, shop.t_user.name FROM t_order o JOIN t_order_item ON o.order_id = t_order_item.order_id JOIN shop.t_user WHERE o.user_id = ? AND x IN (?, '?')";
        let stmt = parse_one(sql).unwrap();
        let sm = SourceMap::new(sql);
        let r = Refs::collect(&stmt, &sm);
        let names: Vec<(&str, Option<&str>, &str)> = r
            .tables
            .iter()
            .map(|t| (t.name.as_str(), t.alias.as_deref(), &sql[t.range.clone()]))
            .collect();
        assert_eq!(
            names,
            vec![
                ("t_order", Some("o"), "t_order"),
                ("t_order_item", None, "t_order_item"),
                ("t_user", None, "shop.t_user")
            ]
        );
        let quals: Vec<&str> = r.qualified.iter().map(|q| &sql[q.range.clone()]).collect();
        assert!(
            quals.contains(&"t_order_item")
                && quals.contains(&"shop.t_user")
                && quals.contains(&"o")
        );
        assert_eq!(r.placeholders.len(), 2);
        assert_eq!(
            r.resolve_qualifier(None, "o").map(|t| t.name.as_str()),
            Some("t_order")
        );
    }
}
