//! Judging one statement: proxy outcome vs oracle outcome, with string cells compared
//! under utf8mb4_general_ci (case- and accent-insensitive, trailing spaces ignored),
//! ordered as far as the statement fixes the order and as multisets beyond that.

use super::ast::Order;
use crate::diff::{Answer, Col, Outcome};
use mysql_async::Value;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// A key equal for strings that utf8mb4_general_ci (PAD SPACE) considers equal: trailing
/// spaces dropped, accents stripped (canonical decomposition minus combining marks),
/// upper-cased; `ß` weighs as `S`. (Letters without a decomposition such as `Ø`, `Ł`
/// stay distinct, as in general_ci.) `fold_matches_collation` checks this on the oracle.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.trim_end_matches(' ').nfd() {
        if is_combining_mark(ch) {
            continue;
        }
        match ch {
            'ß' => out.push('S'),
            c => out.extend(c.to_uppercase()),
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Match,
    /// Both sides failed with this code.
    BothFailed(u16, String),
    /// The proxy answered 1235 with this message.
    Unsupported(String),
    /// (kind, details); the kind lets the shrinker keep the same failure.
    Mismatch(String, String),
    /// Equal but for tolerated metadata differences (`Meta::TempTableQuirks`).
    Quirk(String),
}

fn is_string(c: &Col) -> bool {
    c.charset != 63
        && matches!(
            c.column_type.as_str(),
            "MYSQL_TYPE_VAR_STRING"
                | "MYSQL_TYPE_STRING"
                | "MYSQL_TYPE_VARCHAR"
                | "MYSQL_TYPE_BLOB"
                | "MYSQL_TYPE_TINY_BLOB"
                | "MYSQL_TYPE_MEDIUM_BLOB"
                | "MYSQL_TYPE_LONG_BLOB"
        )
}

/// Rows as comparable keys: strings folded in string columns, everything else exact.
fn keys(a: &Answer, strings: &[bool]) -> Vec<Vec<String>> {
    a.rows
        .iter()
        .map(|r| {
            r.iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::NULL => "\u{0}NULL".to_string(),
                    Value::Bytes(b) if strings.get(i).copied().unwrap_or(false) => {
                        format!("s:{}", fold(&String::from_utf8_lossy(b)))
                    }
                    Value::Bytes(b) => format!("b:{}", String::from_utf8_lossy(b)),
                    other => format!("{other:?}"),
                })
                .collect()
        })
        .collect()
}

fn show(v: &Value) -> String {
    match v {
        Value::Bytes(b) => format!("'{}'", String::from_utf8_lossy(b)),
        other => format!("{other:?}"),
    }
}

pub fn show_outcome(o: &Outcome) -> String {
    match o {
        Err((code, msg)) => format!("ERROR {code}: {msg}"),
        Ok(a) => {
            let mut s = format!(
                "{} row(s); columns: {}",
                a.rows.len(),
                a.columns
                    .iter()
                    .map(|c| format!(
                        "{} {}({}) flags={:#x} cs={} tbl={}/{}",
                        c.name,
                        c.column_type.trim_start_matches("MYSQL_TYPE_"),
                        c.decimals,
                        c.flags,
                        c.charset,
                        c.table,
                        c.org_table
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            for r in a.rows.iter().take(15) {
                s.push_str("\n        ");
                s.push_str(&r.iter().map(show).collect::<Vec<_>>().join(" | "));
            }
            if a.rows.len() > 15 {
                s.push_str(&format!("\n        ... {} more", a.rows.len() - 15));
            }
            s
        }
    }
}

fn sorted(mut v: Vec<Vec<String>>) -> Vec<Vec<String>> {
    v.sort();
    v
}

/// How strictly to compare column metadata.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Meta {
    Strict,
    /// Tolerate the metadata MariaDB changes when it materialises a GROUP BY / DISTINCT
    /// result in a temporary table (and not when it can skip execution, as with `LIMIT 0`):
    /// key flags (PRI_KEY 0x2, UNIQUE_KEY 0x4, MULTIPLE_KEY 0x8, PART_KEY 0x4000) and
    /// BINARY (0x80) dropped, NO_DEFAULT_VALUE (0x1000) and NUM (0x8000) added, string
    /// `decimals` 39 -> 0.
    /// A known proxy difference (see `known_bug`); the verdict is `Quirk`, counted apart.
    TempTableQuirks,
    /// For a statement with an `IN (SELECT ...)` in WHERE: the same, and also the `org_name`
    /// that an expression column gets, whatever the shape. MariaDB executes the IN subquery
    /// as a semi-join (a materialised temporary table) and then, with ORDER BY / DISTINCT /
    /// grouping, shows the metadata of that plan; the proxy sends the statement with the
    /// subquery's values substituted (or merges DISTINCT itself), whose plan has no such
    /// table. Also a known proxy difference, counted as a quirk.
    SemiJoinQuirks,
}

fn normalized(c: &Col, meta: Meta) -> Col {
    let mut c = c.clone();
    c.flags &= !(0x2 | 0x4 | 0x8 | 0x80 | 0x1000 | 0x4000 | 0x8000);
    if is_string(&c) && c.decimals == 39 {
        c.decimals = 0;
    }
    if meta == Meta::SemiJoinQuirks && c.org_table.is_empty() && c.org_name == c.name {
        c.org_name.clear();
    }
    c
}

pub fn judge(proxy: &Outcome, oracle: &Outcome, order: &Order, meta: Meta) -> Verdict {
    let (p, o) = match (proxy, oracle) {
        (Err((1235, m)), _) => return Verdict::Unsupported(m.clone()),
        (Err((a, am)), Err((b, _))) if a == b => return Verdict::BothFailed(*a, am.clone()),
        (Err((a, _)), Err((b, _))) => {
            return Verdict::Mismatch(format!("errors {a}/{b}"), "different errors".into())
        }
        (Err((a, _)), Ok(_)) => {
            return Verdict::Mismatch(format!("proxy error {a}"), "only the proxy failed".into())
        }
        (Ok(_), Err((b, _))) => {
            return Verdict::Mismatch(format!("oracle error {b}"), "only the oracle failed".into())
        }
        (Ok(p), Ok(o)) => (p, o),
    };
    if p.columns.len() != o.columns.len() {
        return Verdict::Mismatch(
            "column count".into(),
            format!("{} vs {} columns", p.columns.len(), o.columns.len()),
        );
    }
    let mut quirk = None;
    for (i, (a, b)) in p.columns.iter().zip(&o.columns).enumerate() {
        if a == b {
            continue;
        }
        if meta != Meta::Strict && normalized(a, meta) == normalized(b, meta) {
            quirk.get_or_insert(format!(
                "column {}: flags proxy {:#x} oracle {:#x}, decimals proxy {} oracle {}",
                i + 1,
                a.flags,
                b.flags,
                a.decimals,
                b.decimals
            ));
            continue;
        }
        let mut fields = Vec::new();
        if a.name != b.name || a.org_name != b.org_name {
            fields.push("name");
        }
        if a.schema != b.schema || a.table != b.table || a.org_table != b.org_table {
            fields.push("table");
        }
        if a.column_type != b.column_type {
            fields.push("type");
        }
        if a.decimals != b.decimals {
            fields.push("decimals");
        }
        if a.charset != b.charset {
            fields.push("charset");
        }
        if a.flags != b.flags {
            fields.push("flags");
        }
        return Verdict::Mismatch(
            format!("column {}", fields.join("+")),
            format!(
                "column {}: flags proxy {:#x} oracle {:#x}\n      proxy  {a:?}\n      oracle {b:?}",
                i + 1,
                a.flags,
                b.flags
            ),
        );
    }
    let strings: Vec<bool> = o.columns.iter().map(is_string).collect();
    let (pk, ok) = (keys(p, &strings), keys(o, &strings));
    if pk.len() != ok.len() {
        return Verdict::Mismatch(
            "row count".into(),
            format!("{} vs {} rows", pk.len(), ok.len()),
        );
    }
    match order {
        Order::Total => {
            if let Some(i) = (0..pk.len()).find(|&i| pk[i] != ok[i]) {
                let same_set = sorted(pk.clone()) == sorted(ok.clone());
                return Verdict::Mismatch(
                    if same_set { "row order" } else { "rows" }.into(),
                    format!("first difference at row {}", i + 1),
                );
            }
        }
        Order::Prefix(cols) => {
            if sorted(pk.clone()) != sorted(ok.clone()) {
                return Verdict::Mismatch("rows".into(), "different row multisets".into());
            }
            let proj = |k: &Vec<Vec<String>>| -> Vec<Vec<String>> {
                k.iter()
                    .map(|r| cols.iter().map(|&c| r[c].clone()).collect())
                    .collect()
            };
            if let Some(i) = proj(&pk).iter().zip(proj(&ok)).position(|(a, b)| *a != b) {
                return Verdict::Mismatch(
                    "row order".into(),
                    format!("ORDER BY keys differ at row {}", i + 1),
                );
            }
        }
        Order::Unordered => {
            if sorted(pk) != sorted(ok) {
                return Verdict::Mismatch("rows".into(), "different row multisets".into());
            }
        }
    }
    match quirk {
        Some(q) => Verdict::Quirk(q),
        None => Verdict::Match,
    }
}
