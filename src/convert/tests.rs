//! The conversions against what MariaDB 10.11 did (src/convert/tests_ref.rs).

use super::tests_ref::{COMPARE, STORE};
use super::*;
use sqlparser::ast::{Expr, SelectItem, SetExpr, Statement, UnaryOperator, Value};

/// A literal as the router reads it.
fn literal(text: &str) -> ShardValue {
    let stmt = crate::sql::parse_one(&format!("SELECT {text}")).expect(text);
    let Statement::Query(q) = stmt else { panic!() };
    let SetExpr::Select(s) = q.body.as_ref() else {
        panic!()
    };
    let SelectItem::UnnamedExpr(e) = &s.projection[0] else {
        panic!()
    };
    value(e).unwrap_or_else(|| panic!("{text}"))
}

fn value(e: &Expr) -> Option<ShardValue> {
    match e {
        Expr::Value(v) => crate::route::literal(&v.value),
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => match value(expr)? {
            ShardValue::Int(i) => Some(ShardValue::Int(-i)),
            ShardValue::Decimal(d) => Some(ShardValue::Decimal(format!("-{d}"))),
            ShardValue::Float(f) => Some(ShardValue::Float(-f)),
            _ => None,
        },
        Expr::TypedString(t) => match &t.value.value {
            Value::SingleQuotedString(s) => Some(ShardValue::DateTime(s.clone())),
            _ => None,
        },
        _ => None,
    }
}

fn ty(name: &str) -> SqlType {
    let lower = name.to_ascii_lowercase();
    let (base, args) = match lower.split_once('(') {
        Some((b, a)) => (
            b.to_string(),
            a.trim_end_matches(|c| c == ')' || c == ' ').to_string(),
        ),
        None => (
            lower.split_whitespace().next().unwrap_or("").to_string(),
            String::new(),
        ),
    };
    let base = base.split_whitespace().next().unwrap_or("").to_string();
    let nums: Vec<u32> = args
        .split(|c| c == ',' || c == ')')
        .filter_map(|x| x.trim().parse().ok())
        .collect();
    let (p, s, f) = match base.as_str() {
        "decimal" => (nums.first().copied(), nums.get(1).copied(), None),
        "datetime" | "timestamp" => (None, None, nums.first().copied()),
        _ => (None, None, None),
    };
    SqlType::from_info(&base, &lower, p, s, f)
}

/// A stored value as MariaDB shows it (`CAST(c AS CHAR)`).
fn shown(t: SqlType, v: &ShardValue) -> String {
    match (t, v) {
        (_, ShardValue::Int(i)) => i.to_string(),
        (_, ShardValue::Decimal(d)) => d.clone(),
        (_, ShardValue::Str(b)) => String::from_utf8_lossy(b).into_owned(),
        (SqlType::Date, ShardValue::DateTime(d)) => d[..10].to_string(),
        (SqlType::DateTime { fsp } | SqlType::Timestamp { fsp }, ShardValue::DateTime(d)) => {
            let (base, frac) = d.split_once('.').unwrap_or((d, ""));
            if fsp == 0 {
                base.to_string()
            } else {
                let mut f = frac.to_string();
                while f.len() < fsp as usize {
                    f.push('0');
                }
                format!("{base}.{}", &f[..fsp as usize])
            }
        }
        (_, other) => other.to_string(),
    }
}

#[test]
fn store_matches_mariadb() {
    let mut wrong = Vec::new();
    let mut unknown = 0;
    for (mode, tyname, lit, want) in STORE {
        let t = ty(tyname);
        let ctx = ConvCtx {
            round_fractional: mode.contains("TIME_ROUND_FRACTIONAL"),
            utc_offset: Some(0),
            nbe_standin: false,
        };
        let v = literal(lit);
        match store(t, &v, &ctx) {
            Converted::Value(got) => {
                let got = shown(t, &got);
                // MariaDB stores a zero date for what is no date; the router cannot place
                // it, which is checked separately (Unknown).
                if got != *want {
                    wrong.push(format!(
                        "{mode:>6} {tyname:16} {lit:34} stored {want:?}, converted {got:?}"
                    ));
                }
            }
            Converted::Unknown => {
                unknown += 1;
                // A date with zero parts: no place for it.
                let zero = want.starts_with("0000-00-00")
                    || want.get(4..10).is_some_and(|d| d.contains("-00"));
                if !zero {
                    wrong.push(format!(
                        "{mode:>6} {tyname:16} {lit:34} stored {want:?}, converted Unknown"
                    ));
                }
            }
            Converted::Nothing => wrong.push(format!("{tyname} {lit}: Nothing on store")),
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} differ ({unknown} unknown):\n{}",
        wrong.len(),
        STORE.len(),
        wrong.join("\n")
    );
}

#[test]
fn compare_matches_mariadb() {
    let mut wrong = Vec::new();
    for (tyname, lit, matched) in COMPARE {
        let t = ty(tyname);
        let ctx = ConvCtx {
            round_fractional: false,
            utc_offset: Some(0),
            nbe_standin: false,
        };
        let v = literal(lit);
        match compare(t, &v, &ctx) {
            Converted::Unknown => {}
            Converted::Nothing => {
                if !matched.is_empty() {
                    wrong.push(format!(
                        "{tyname} = {lit}: matched {matched:?}, converted Nothing"
                    ));
                }
            }
            Converted::Value(got) => {
                let got = shown(t, &got);
                // Every matched row holds exactly that value.
                if matched.iter().any(|m| *m != got) {
                    wrong.push(format!(
                        "{tyname} = {lit}: matched {matched:?}, converted {got:?}"
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
