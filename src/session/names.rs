//! Physical names back to logical ones: result metadata (tables, schemas, shipped and
//! derived tables) and the text of backend error messages.

use super::Session;
use crate::error::SqlError;
use crate::result::ColumnDef;
use bytes::Bytes;

impl Session {
    /// Result metadata with logical names instead of physical ones.
    pub(crate) fn map_column(&self, c: &ColumnDef) -> ColumnDef {
        let mut c = c.clone();
        // A column of a shipped derived table: described as MariaDB describes a materialised
        // derived table's column (no schema; the origin and flags of the derived query's
        // column).
        if let Some((_, cols)) = self.shipped_derived.iter().find(|(t, _)| *t == c.org_table) {
            if let Some(d) = cols.iter().find(|d| d.name == c.org_name) {
                c.schema = Bytes::new();
                c.org_table = d.org_table.clone();
                // Nullability is the outer query's (an outer join's inner side is nullable).
                let nn = mysql_common::constants::ColumnFlags::NOT_NULL_FLAG;
                c.flags = (d.flags - nn) | (c.flags & nn);
                return c;
            }
        }
        let served = self.served_ref();
        let map_table = |b: &Bytes| -> Option<Bytes> {
            let s = std::str::from_utf8(b).ok()?;
            if let Some((_, l)) = self.shipped_names.iter().find(|(t, _)| t == s) {
                return Some(Bytes::copy_from_slice(l.as_bytes()));
            }
            served
                .physical_to_logical
                .get(s)
                .map(|l| Bytes::copy_from_slice(l.as_bytes()))
        };
        if let Some(t) = map_table(&c.org_table) {
            c.org_table = t;
        }
        if let Some(t) = map_table(&c.table) {
            c.table = t;
        }
        if let Ok(s) = std::str::from_utf8(&c.schema) {
            if let Some(l) = served.physical_dbs.get(s) {
                c.schema = Bytes::copy_from_slice(l.as_bytes());
            }
        }
        c
    }

    /// Backend errors keep code and SQLSTATE; physical names in the message become logical.
    pub(crate) fn map_error(&self, mut e: SqlError) -> SqlError {
        let served = self.served_ref();
        let mut names: Vec<(&String, &String)> = served.physical_to_logical.iter().collect();
        names.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        for (p, l) in names {
            if e.message.contains(p.as_str()) {
                e.message = replace_word(&e.message, p, l);
            }
        }
        for (p, l) in &self.shipped_names {
            if e.message.contains(p.as_str()) {
                e.message = replace_word(&e.message, p, l);
            }
        }
        for (p, l) in &served.physical_dbs {
            if e.message.contains(p.as_str()) {
                e.message = replace_word(&e.message, p, l);
            }
        }
        e
    }
}

/// Replace whole-identifier occurrences only (`t_order_1` but not inside `t_order_10`).
fn replace_word(s: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$';
    while let Some(i) = rest.find(from) {
        let before_ok = rest[..i].chars().next_back().is_none_or(|c| !is_ident(c));
        let after = &rest[i + from.len()..];
        let after_ok = after.chars().next().is_none_or(|c| !is_ident(c));
        out.push_str(&rest[..i]);
        out.push_str(if before_ok && after_ok { to } else { from });
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn replace_word_respects_identifier_boundaries() {
        assert_eq!(
            super::replace_word(
                "Table 'shop_0.t_order_1' x t_order_10",
                "t_order_1",
                "t_order"
            ),
            "Table 'shop_0.t_order' x t_order_10"
        );
    }
}
