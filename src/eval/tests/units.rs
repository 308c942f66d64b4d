//! Unit tests: DOUBLE printing and aggregate merging against server data,
//! decimals, grouping keys, compilation.

use super::super::num::{double_round, format_double, format_double_fixed};
use super::*;
use crate::collation::Collation;
use std::cmp::Ordering;

#[test]
fn doubles_print_like_mariadb() {
    use super::doubles::{FIXED, ROUND, SHORTEST};
    for (lit, want) in SHORTEST {
        let x: f64 = lit.parse().expect("literal");
        assert_eq!(format_double(x), *want, "{lit}");
    }
    for (lit, d, want) in ROUND {
        let x: f64 = lit.parse().expect("literal");
        let r = double_round(x, *d, false);
        let got = if *d >= 31 {
            format_double(r)
        } else {
            format_double_fixed(r, usize::try_from((*d).max(0)).unwrap_or(0))
        };
        assert_eq!(got, *want, "ROUND({lit}, {d})");
    }
    for (a, b, sum, prod, quot, diff) in FIXED {
        let (x, y): (f64, f64) = (a.parse().expect("a"), b.parse().expect("b"));
        assert_eq!(format_double_fixed(x + y, 4), *sum, "{a} + {b}");
        assert_eq!(format_double_fixed(x * y, 4), *prod, "{a} * {b}");
        assert_eq!(format_double_fixed(x / y, 8), *quot, "{a} / {b}");
        assert_eq!(format_double_fixed(x - y, 4), *diff, "{a} - {b}");
    }
    // Exact binary ties round to even (a DOUBLE(30,1) product 0.25 shows 0.2).
    assert_eq!(format_double_fixed(0.25, 1), "0.2");
    assert_eq!(format_double_fixed(0.75, 1), "0.8");
    assert_eq!(format_double_fixed(-0.0, 2), "0.00");
    assert_eq!(format_double(-0.0), "0");
}

#[test]
fn aggregates_merge_like_one_server() {
    for (c, pt, shards, tt, total) in super::aggs::CASES {
        let kinds = [AggKind::Count, AggKind::Sum, AggKind::Min, AggKind::Max];
        let mut accs: Vec<Acc> = kinds.iter().map(|k| Acc::new(*k)).collect();
        for shard in shards.iter() {
            for (i, acc) in accs.iter_mut().enumerate() {
                let def = col(pt[i].0, pt[i].1, pt[i].2, 45);
                let v = Val::from_cell(&def, shard[i].map(str::as_bytes));
                acc.merge(&v).expect("merge");
            }
        }
        let mut finished: Vec<Val> = accs.iter().map(Acc::finish).collect();
        finished.push(avg(&finished[1], &finished[0]).expect("avg"));
        for (i, v) in finished.iter().enumerate() {
            let def = col(tt[i].0, tt[i].1, tt[i].2, 45);
            let got = v
                .to_cell(&def)
                .map(|b| String::from_utf8_lossy(&b).into_owned());
            assert_eq!(got.as_deref(), total[i], "{c} aggregate {i}");
        }
    }
    // Expressions over AVG use its internal precision (AVG(x) * 3 of 4/3 is 4.0000).
    for (c, sql, t, want) in super::aggs::OVER_AVG {
        let (_, pt, shards, _, _) = super::aggs::CASES
            .iter()
            .find(|x| x.0 == *c)
            .expect("column");
        let (mut sum, mut count) = (Acc::new(AggKind::Sum), Acc::new(AggKind::Count));
        for shard in shards.iter() {
            let part = |i: usize| {
                Val::from_cell(
                    &col(pt[i].0, pt[i].1, pt[i].2, 45),
                    shard[i].map(str::as_bytes),
                )
            };
            count.merge(&part(0)).expect("count");
            sum.merge(&part(1)).expect("sum");
        }
        let a = avg(&sum.finish(), &count.finish()).expect("avg");
        let got = cell(sql, &["a"], &[a], &col(t.0, t.1, t.2, 45));
        assert_eq!(got, Ok(want.map(str::to_string)), "{sql} over AVG({c})");
    }
    // Nothing merged at all.
    assert!(matches!(Acc::new(AggKind::Count).finish(), Val::Int(0)));
    for k in [AggKind::Sum, AggKind::Min, AggKind::Max] {
        assert!(Acc::new(k).finish().is_null());
    }
    assert!(avg(&Val::Null, &Val::Int(0)).expect("avg").is_null());
    assert!(avg(&Val::Dec(Decimal::new(5, 0)), &Val::Int(0))
        .expect("avg")
        .is_null());
}

#[test]
fn avg_scale_and_rounding() {
    let dec = |m, s| Val::Dec(Decimal::new(m, s));
    // Shown with the sum's scale + 4, half away from zero; kept internally
    // with 9 fraction digits (MariaDB's decimal words).
    let show = |v: &Val, decimals| {
        let c = v.to_cell(&col("NEWDECIMAL", decimals, false, 63));
        c.map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    };
    let a = |sum: Val, n| avg(&sum, &Val::Int(n)).expect("avg");
    assert_eq!(show(&a(dec(1, 0), 32), 4), "0.0313");
    assert_eq!(show(&a(dec(-1, 0), 32), 4), "-0.0313");
    assert_eq!(show(&a(dec(4, 2), 3), 6), "0.013333");
    assert_eq!(show(&a(dec(1, 2), 32), 6), "0.000313");
    assert!(matches!(a(dec(4, 0), 3), Val::Dec(d) if d.to_string() == "1.333333333"));
    // DECIMAL(15,5): 9 internal digits = the shown scale, so no rounding up.
    assert_eq!(show(&a(dec(1429013, 5), 7), 9), "2.041447142");
    match avg(&Val::Double(1.0), &Val::Int(32)).expect("avg") {
        Val::Double(x) => assert_eq!(x, 0.03125),
        other => panic!("{other:?}"),
    }
    // Integer and DOUBLE partials mixed: the sum becomes DOUBLE.
    let mut a = Acc::new(AggKind::Sum);
    a.merge(&dec(150, 2)).expect("merge");
    a.merge(&Val::Double(0.25)).expect("merge");
    assert!(matches!(a.finish(), Val::Double(x) if x == 1.75));
    // MIN/MAX by collation keep the first of equal values.
    let s = |t: &'static str| Val::Str(bytes::Bytes::from_static(t.as_bytes()), 45);
    let mut m = Acc::new(AggKind::Max);
    for v in [s("PAID"), s("paid"), Val::Null, s("Apple")] {
        m.merge(&v).expect("merge");
    }
    assert!(matches!(m.finish(), Val::Str(b, _) if &b[..] == b"PAID"));
}

#[test]
fn decimal_text_and_arithmetic() {
    let d = |s: &str| Decimal::parse(s).unwrap_or_else(|| panic!("parse {s}"));
    for s in [
        "0",
        "-1.50",
        "0.05",
        "12",
        "-0.001",
        "99999999999999999999999999999999999999",
    ] {
        assert_eq!(d(s).to_string(), s);
    }
    assert_eq!(d("+.5").to_string(), "0.5");
    assert_eq!(d("-0.00").to_string(), "0.00");
    for bad in ["", "-", ".", "1.2.3", "1e5", "abc", "1 ", "--1"] {
        assert!(Decimal::parse(bad).is_none(), "{bad}");
    }
    assert!(Decimal::parse("999999999999999999999999999999999999999").is_none());
    assert_eq!(
        Decimal::parse_sci("1.5e3")
            .map(|x| x.to_string())
            .as_deref(),
        Some("1500")
    );
    assert_eq!(
        Decimal::parse_sci("15e-3")
            .map(|x| x.to_string())
            .as_deref(),
        Some("0.015")
    );
    assert_eq!(
        Decimal::from_f64(0.1).map(|x| x.to_string()).as_deref(),
        Some("0.1")
    );
    assert_eq!(
        Decimal::from_f64(1e-40).map(|x| x.to_string()).as_deref(),
        Some("0")
    );
    let r = |s: &str, n: i64| d(s).round(n).map(|x| x.to_string()).unwrap_or_default();
    assert_eq!(r("2.5", 0), "3");
    assert_eq!(r("-2.5", 0), "-3");
    assert_eq!(r("1.005", 2), "1.01");
    assert_eq!(r("1250", -2), "1300");
    assert_eq!(r("-1250.5", -2), "-1300");
    assert_eq!(r("49.9", -2), "0");
    assert_eq!(r("1.5", 3), "1.500");
    assert_eq!(r("1.5", 40), format!("1.5{}", "0".repeat(37)));
    // 2.5 at scale 38 does not fit: the value stays exact at a lower scale.
    assert_eq!(d("2.5").round(38).map(|x| x.to_f64()).ok(), Some(2.5));
    let t = |s: &str, n: i64| d(s).truncate(n).map(|x| x.to_string()).unwrap_or_default();
    assert_eq!(t("-1.999", 2), "-1.99");
    assert_eq!(t("1999", -2), "1900");
    let div = |a: &str, b: &str| {
        d(a).checked_div(&d(b), 4)
            .map(|q| q.map_or("NULL".to_string(), |q| q.to_string()))
            .unwrap_or_else(|e| e.to_string())
    };
    assert_eq!(div("7", "2"), "3.5000");
    assert_eq!(div("2", "3"), "0.6667");
    assert_eq!(div("-2", "3"), "-0.6667");
    assert_eq!(div("1", "0.00"), "NULL");
    assert_eq!(div("10.00", "4"), "2.500000");
    assert!(div("99999999999999999999999999999999999999", "0.0001").contains("out of range"));
    assert_eq!(d("5.9999").int_div(&d("2")).ok().flatten(), Some(2));
    assert_eq!(d("-7").int_div(&d("2.5")).ok().flatten(), Some(-2));
    assert_eq!(d("1").int_div(&d("0")).ok().flatten(), None);
    let rem = |a: &str, b: &str| {
        d(a).checked_rem(&d(b))
            .ok()
            .flatten()
            .map(|x| x.to_string())
    };
    assert_eq!(rem("-7.5", "2").as_deref(), Some("-1.5"));
    assert_eq!(rem("7", "2.5").as_deref(), Some("2.0"));
    let big = d("99999999999999999999999999999999999999");
    assert_eq!(
        big.checked_rem(&d("0.7"))
            .ok()
            .flatten()
            .map(|x| x.to_string())
            .as_deref(),
        Some("0.3")
    );
    assert!(big.checked_add(&big).is_err());
    assert!(big.checked_mul(&d("10")).is_err());
    assert_eq!(big.cmp_value(&d("0.5")), Ordering::Greater);
    assert_eq!(d("-0.5").cmp_value(&big), Ordering::Less);
    assert_eq!(d("1.50").cmp_value(&d("1.5")), Ordering::Equal);
    assert_eq!(
        d("-12345678901234567890123.5")
            .floor_ceil(true)
            .map(|x| x.to_string())
            .ok()
            .as_deref(),
        Some("-12345678901234567890123")
    );
    assert_eq!(
        d("-0.5")
            .floor_ceil(false)
            .map(|x| x.to_string())
            .ok()
            .as_deref(),
        Some("-1")
    );
}

fn key(v: &Val) -> Vec<u8> {
    let mut k = Vec::new();
    v.group_key(&mut k);
    k
}

#[test]
fn group_keys() {
    let s = |t: &str, c: u16| Val::Str(bytes::Bytes::copy_from_slice(t.as_bytes()), c);
    let dec = |m, sc| Val::Dec(Decimal::new(m, sc));
    let same = [
        (Val::Int(1), dec(10, 1)),
        (dec(100, 2), Val::UInt(1)),
        (dec(0, 2), Val::Int(0)),
        (Val::Double(1.0), Val::Int(1)),
        (s("PAID", 45), s("paid ", 45)),
        (s("É", 45), s("e", 45)),
        (Val::Null, Val::Null),
        (
            Val::Temporal("2024-01-05".into(), ColumnType::MYSQL_TYPE_DATE),
            Val::Temporal(
                "2024-01-05 00:00:00".into(),
                ColumnType::MYSQL_TYPE_DATETIME,
            ),
        ),
    ];
    for (a, b) in &same {
        assert_eq!(key(a), key(b), "{a:?} vs {b:?}");
        assert_eq!(a.compare(b).unwrap_or(Ordering::Equal), Ordering::Equal);
    }
    let differ = [
        (Val::Int(1), Val::Int(2)),
        (Val::Null, Val::Int(0)),
        (Val::Null, s("", 45)),
        (s("PAID", 63), s("paid", 63)),
        (s("a", 46), s("A", 46)),
        (dec(1, 2), dec(1, 1)),
        (s("1", 45), Val::Int(1)),
    ];
    for (a, b) in &differ {
        assert_ne!(key(a), key(b), "{a:?} vs {b:?}");
    }
    // Keys are self-delimiting: concatenations of different tuples differ.
    let k1 = [key(&s("ab", 63)), key(&s("c", 63))].concat();
    let k2 = [key(&s("a", 63)), key(&s("bc", 63))].concat();
    assert_ne!(k1, k2);
    assert_eq!(
        Collation::from_id_lossy(45).compare(b"PAID", b"paid"),
        Ordering::Equal
    );
}

#[test]
fn cells_round_trip() {
    let (_, rows) = table();
    for (name, ty, dec, uns, cs) in super::rows::COLUMNS {
        let def = col(ty, *dec, *uns, *cs);
        let i = super::rows::COLUMNS
            .iter()
            .position(|c| c.0 == *name)
            .unwrap_or(0);
        for (row, cells) in rows.iter().zip(super::rows::ROWS) {
            let back = row[i].to_cell(&def);
            assert_eq!(back.as_deref(), cells[i].map(str::as_bytes), "{name}");
        }
    }
    // Decimals formatted with exactly the column's decimals, half away from zero.
    let v = Val::Dec(Decimal::new(-12345, 3));
    assert_eq!(
        v.to_cell(&col("NEWDECIMAL", 2, false, 63)).as_deref(),
        Some(&b"-12.35"[..])
    );
    assert_eq!(
        v.to_cell(&col("NEWDECIMAL", 5, false, 63)).as_deref(),
        Some(&b"-12.34500"[..])
    );
    assert_eq!(
        Val::Int(3)
            .to_cell(&col("NEWDECIMAL", 2, false, 63))
            .as_deref(),
        Some(&b"3.00"[..])
    );
    assert_eq!(
        Val::Double(2.5)
            .to_cell(&col("LONGLONG", 0, false, 63))
            .as_deref(),
        Some(&b"2"[..])
    );
    assert_eq!(
        Val::Double(1e20)
            .to_cell(&col("DOUBLE", 31, false, 63))
            .as_deref(),
        Some(&b"1e20"[..])
    );
    assert_eq!(Val::Int(7).to_cell(&col("NULL", 0, false, 63)), None);
}

#[test]
fn truthiness() {
    let s = |t: &'static str| Val::Str(bytes::Bytes::from_static(t.as_bytes()), 45);
    assert_eq!(Val::Null.truthy(), None);
    assert_eq!(Val::Int(-2).truthy(), Some(true));
    assert_eq!(Val::Dec(Decimal::new(0, 3)).truthy(), Some(false));
    assert_eq!(Val::Double(0.1).truthy(), Some(true));
    assert_eq!(s("0.1").truthy(), Some(true));
    assert_eq!(s("abc").truthy(), Some(false));
    assert_eq!(s("1abc").truthy(), Some(true));
}

#[test]
fn compile_resolves_pre_order_and_rejects_unsupported() {
    // resolve sees the outer node first; a resolved node's children are not visited.
    let e = parse_expr("SUM(x) / COUNT(*) + 1").expect("parse");
    let mut seen = Vec::new();
    let mut resolve = |x: &ast::Expr| {
        seen.push(x.to_string());
        match x.to_string().as_str() {
            "SUM(x)" => Some(0),
            "COUNT(*)" => Some(1),
            _ => None,
        }
    };
    let c = compile(&e, &mut resolve).expect("compile");
    assert_eq!(
        seen,
        [
            "SUM(x) / COUNT(*) + 1",
            "SUM(x) / COUNT(*)",
            "SUM(x)",
            "COUNT(*)",
            "1"
        ]
    );
    let v = c
        .eval(&[Val::Dec(Decimal::new(10, 0)), Val::Int(3)])
        .expect("eval");
    assert_eq!(
        v.to_cell(&col("NEWDECIMAL", 4, false, 63)).as_deref(),
        Some(&b"4.3333"[..])
    );
    for sql in [
        "x",
        "a LIKE 'b%'",
        "CAST(1 AS CHAR)",
        "SUBSTRING('abc', 1, 2)",
        "NOW()",
        "1 IN (SELECT 1)",
        "ROUND(1, 2, 3)",
        "COALESCE()",
        "X'41'",
        "1 & 2",
        "COUNT(DISTINCT a)",
        "'a' COLLATE utf8mb4_bin",
        "FLOOR(1.5 TO DAY)",
    ] {
        let Ok(e) = parse_expr(sql) else { continue };
        let r = compile(&e, &mut |_| None);
        assert!(r.is_err(), "{sql} compiled");
    }
    // Literal typing.
    let lit = |sql: &str| match compile(&parse_expr(sql).expect("parse"), &mut |_| None) {
        Ok(Expr::Lit(v)) => format!("{v:?}"),
        other => format!("{other:?}"),
    };
    assert_eq!(lit("1"), "Int(1)");
    assert_eq!(lit("-9223372036854775808"), "Int(-9223372036854775808)");
    assert_eq!(lit("18446744073709551615"), "UInt(18446744073709551615)");
    assert!(lit("18446744073709551616").starts_with("Dec"));
    assert!(lit("1.5").starts_with("Dec(Decimal { mantissa: 15, scale: 1 })"));
    assert_eq!(lit("1e3"), "Double(1000.0)");
    assert_eq!(lit("TRUE"), "Int(1)");
    assert!(lit("'x'").contains("45"));
}

#[test]
fn errors_map_to_mysql_codes() {
    let e = eval_sql("9223372036854775807 + 1", &[], &[]);
    assert_eq!(e.err().as_deref(), Some("ERROR 1690"));
    let c = compile(&parse_expr("c0 * 2").expect("parse"), &mut |x| {
        (x.to_string() == "c0").then_some(0)
    })
    .expect("compile");
    let err = c.eval(&[Val::Int(i64::MAX)]).expect_err("overflow");
    let sql = err.to_sql_error();
    assert_eq!((sql.code, &sql.state), (1690, b"22003"));
    assert_eq!(sql.message, "BIGINT value is out of range in 'col0 * 2'");
    let u = EvalError::Unsupported("thing".into()).to_sql_error();
    assert_eq!(u.code, 1235);
    let nested = eval_sql("1 + ABS(-9223372036854775807 - 1)", &[], &[]);
    assert_eq!(nested.err().as_deref(), Some("ERROR 1690"));
    // Short-circuit: a decided AND/OR/IF never evaluates the failing side.
    assert!(eval_sql("0 AND 9223372036854775807 + 1", &[], &[]).is_ok());
    assert!(eval_sql("1 OR 9223372036854775807 + 1", &[], &[]).is_ok());
    assert!(eval_sql("IF(1, 2, 9223372036854775807 + 1)", &[], &[]).is_ok());
    // Columns past the row's end read as NULL.
    assert!(Expr::Col(9).eval(&[]).expect("eval").is_null());
}
