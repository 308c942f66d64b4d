//! hash_mod, consistent_hash, interval and inline algorithms; exact shard numbers.
//! Expected CRC32 values were computed independently (Python `zlib.crc32` over the
//! canonical encoding, e.g. `struct.pack('<q', 17)`).

use std::ops::Bound;

use super::tests_config::table;
use super::*;

fn int(i: i128) -> ShardValue {
    ShardValue::Int(i)
}

fn one(v: ShardValue) -> Values {
    Values::List(vec![v])
}

fn dt(s: &str) -> ShardValue {
    ShardValue::DateTime(s.into())
}

fn db_routes(t: &ShardedTable, cases: Vec<(ShardValue, Vec<usize>)>) {
    for (v, want) in cases {
        assert_eq!(
            t.route(&one(v.clone()), &Values::Any),
            Ok(want.clone()),
            "{v:?}"
        );
    }
}

#[test]
fn shard_hash_pins() {
    let c = "utf8mb4_general_ci";
    let cases: Vec<(ShardValue, Option<u32>)> = vec![
        (int(17), Some(3_576_950_492)),
        (int(-3), Some(1_667_356_769)),
        (int(0), Some(1_696_784_233)),
        (int(1 << 40), Some(1_692_448_094)),
        (int(u64::MAX as i128), Some(558_161_692)),
        (ShardValue::Decimal("17.000".into()), Some(3_576_950_492)),
        (ShardValue::Decimal("+017".into()), Some(3_576_950_492)),
        (ShardValue::Float(17.0), Some(3_576_950_492)),
        (ShardValue::Decimal("12.50".into()), Some(327_728_169)),
        (ShardValue::Decimal("-0.50".into()), Some(180_584_544)),
        (ShardValue::Float(12.5), Some(327_728_169)),
        (dt("2026-01-15"), Some(3_361_553_580)),
        (dt("2026-01-15 00:00:00.000"), Some(3_361_553_580)),
        (dt("2026-01-15 10:30:00.250"), Some(2_400_914_163)),
        (ShardValue::Null, None),
        (ShardValue::Float(f64::NAN), None),
        (ShardValue::Decimal("1e5".into()), None),
        (dt("2026-02-30"), None),
    ];
    for (v, want) in cases {
        assert_eq!(shard_hash(&v, c), want, "{v:?}");
    }
    assert_eq!(shard_hash(&ShardValue::str("x"), "no_such_collation"), None);
}

#[test]
fn hash_mod_routes() {
    let t = table(
        "[databases.db.algorithms.h]\ntype = \"hash_mod\"\nsharding_count = 4\n\
         [databases.db.tables.t]\nactual_data_nodes = \"ds_${0..3}.t\"\n\
         database_strategy = { column = \"k\", algorithm = \"h\" }\n",
    );
    db_routes(
        &t,
        vec![
            (int(17), vec![0]),
            (int(-3), vec![1]),
            (int(0), vec![1]),
            (int(1), vec![3]),
            (int(1 << 40), vec![2]),
            (ShardValue::Decimal("17.00".into()), vec![0]),
            (ShardValue::Decimal("12.50".into()), vec![1]),
            (dt("2026-01-15"), vec![0]),
            (dt("2026-01-15 10:30:00.25"), vec![3]),
            (ShardValue::Null, vec![]),
            (ShardValue::Float(f64::NAN), vec![0, 1, 2, 3]),
        ],
    );
    assert_eq!(
        t.route(&Values::between(int(1), int(2)), &Values::Any),
        Ok(vec![0, 1, 2, 3])
    );
    // Strings: equal under utf8mb4_general_ci (case, trailing spaces, accents) → same shard.
    let groups: &[&[&str]] = &[
        &["PAID", "paid", "paid ", "Paid"],
        &["Émile", "emile", "EMILE  "],
        &["Zoë", "zoe", "ZOE"],
    ];
    for group in groups {
        let routes: Vec<_> = group
            .iter()
            .map(|s| t.route(&one(ShardValue::str(s)), &Values::Any))
            .collect();
        assert_eq!(routes[0].as_ref().map(Vec::len), Ok(1), "{group:?}");
        assert!(
            routes.iter().all(|r| *r == routes[0]),
            "{group:?}: {routes:?}"
        );
    }
}

#[test]
fn hash_mod_binary_collation_is_case_sensitive() {
    let t = table(
        "[databases.db.algorithms.h]\ntype = \"hash_mod\"\nsharding_count = 4\ncollation = \"utf8mb4_bin\"\n\
         [databases.db.tables.t]\nactual_data_nodes = \"ds_${0..3}.t\"\n\
         database_strategy = { column = \"k\", algorithm = \"h\" }\n",
    );
    let key = |s: &str| crate::collation::Collation::Utf8mb4Bin.sort_key(s.as_bytes());
    let shard = |s: &str| (crc32fast::hash(&key(s)) % 4) as usize;
    for s in ["PAID", "paid", "abc"] {
        assert_eq!(
            t.route(&one(ShardValue::str(s)), &Values::Any),
            Ok(vec![shard(s)]),
            "{s}"
        );
    }
}

#[test]
fn consistent_hash_routes() {
    let t = table(
        "[databases.db.algorithms.ch]\ntype = \"consistent_hash\"\nslot_count = 1024\n\
         slots = [{ range = \"0..511\", node = \"ds_0\" }, { range = \"512..1023\", node = \"ds_1\" }]\n\
         [databases.db.tables.t]\nactual_data_nodes = \"ds_${0..1}.t\"\n\
         database_strategy = { column = \"k\", algorithm = \"ch\" }\n",
    );
    db_routes(
        &t,
        vec![
            (int(17), vec![1]),                            // slot 732
            (int(-3), vec![0]),                            // slot 97
            (int(1), vec![1]),                             // slot 1015
            (int(0), vec![1]),                             // slot 873
            (int(42), vec![0]),                            // slot 503
            (int(1001), vec![1]),                          // slot 958
            (ShardValue::Decimal("12.5".into()), vec![0]), // slot 41
            (ShardValue::Null, vec![]),
        ],
    );
    assert_eq!(
        t.route(&Values::between(int(1), int(2)), &Values::Any),
        Ok(vec![0, 1])
    );
}

const MONTHLY: &str = "[databases.db.algorithms.monthly]\ntype = \"interval\"\n\
    datetime_lower = \"2026-01-01 00:00:00\"\ndatetime_upper = \"2026-03-31 23:59:59\"\n\
    interval = \"month\"\nsuffix_pattern = \"yyyyMM\"\n\
    [databases.db.tables.t]\nactual_data_nodes = \"ds_0.t_order_${['202601','202602','202603']}\"\n\
    table_strategy = { column = \"created_at\", algorithm = \"monthly\" }\n";

#[test]
fn interval_routes() {
    let t = table(MONTHLY);
    let inc = |s: &str| Bound::Included(dt(s));
    let exc = |s: &str| Bound::Excluded(dt(s));
    let range = |lower, upper| Values::Range { lower, upper };
    let cases: Vec<(Values, Vec<usize>)> = vec![
        (one(dt("2026-01-01")), vec![0]),
        (one(dt("2026-01-15 10:00:00")), vec![0]),
        (one(dt("2026-02-01")), vec![1]),
        (one(dt("2026-03-31 23:59:59")), vec![2]),
        (one(ShardValue::str("2026-02-28 12:00:00")), vec![1]),
        (
            Values::List(vec![dt("2026-01-02"), dt("2026-03-02")]),
            vec![0, 2],
        ),
        (one(ShardValue::str("soon")), vec![0, 1, 2]),
        (one(int(5)), vec![0, 1, 2]),
        (one(ShardValue::Null), vec![]),
        (range(inc("2026-01-15"), exc("2026-02-01")), vec![0]),
        (range(inc("2026-01-15"), inc("2026-02-01")), vec![0, 1]),
        (
            range(exc("2026-01-31 23:59:59.999999"), Bound::Unbounded),
            vec![1, 2],
        ),
        (
            range(exc("2026-01-31 23:59:59"), Bound::Unbounded),
            vec![0, 1, 2],
        ),
        (range(Bound::Unbounded, exc("2026-01-01")), vec![]),
        (range(Bound::Unbounded, inc("2025-06-01")), vec![]),
        (range(inc("2026-04-01"), Bound::Unbounded), vec![]),
        (range(inc("2025-01-01"), inc("2030-01-01")), vec![0, 1, 2]),
        (range(Bound::Unbounded, Bound::Unbounded), vec![0, 1, 2]),
        (range(inc("2026-03-01"), inc("2026-02-01")), vec![]),
        (
            range(Bound::Included(ShardValue::str("x")), Bound::Unbounded),
            vec![0, 1, 2],
        ),
    ];
    for (v, want) in cases {
        assert_eq!(t.route(&Values::Any, &v), Ok(want.clone()), "{v:?}");
    }
    // Values outside [lower, upper] take no node: a WHERE matches nothing there, an
    // INSERT of them is refused by the planner.
    for v in ["2026-04-01", "2025-12-31 23:59:59"] {
        assert_eq!(t.route(&Values::Any, &one(dt(v))), Ok(vec![]), "{v}");
        let list = Values::List(vec![dt(v), dt("2026-02-10")]);
        assert_eq!(t.route(&Values::Any, &list), Ok(vec![1]), "{v}");
    }
}

#[test]
fn interval_amount_and_units() {
    let quarterly = table(
        "[databases.db.algorithms.q]\ntype = \"interval\"\n\
         datetime_lower = \"2026-01-01\"\ndatetime_upper = \"2026-12-31 23:59:59\"\n\
         interval = \"month\"\ninterval_amount = 3\nsuffix_pattern = \"yyyyMM\"\n\
         [databases.db.tables.t]\nactual_data_nodes = \"ds_0.t_${['202601','202604','202607','202610']}\"\n\
         table_strategy = { column = \"d\", algorithm = \"q\" }\n",
    );
    let daily = table(
        "[databases.db.algorithms.d]\ntype = \"interval\"\n\
         datetime_lower = \"2026-02-27\"\ndatetime_upper = \"2026-03-01 23:59:59\"\n\
         interval = \"day\"\nsuffix_pattern = \"yyyyMMdd\"\n\
         [databases.db.tables.t]\nactual_data_nodes = \"ds_0.t_${['20260227','20260228','20260301']}\"\n\
         table_strategy = { column = \"d\", algorithm = \"d\" }\n",
    );
    let yearly = table(
        "[databases.db.algorithms.y]\ntype = \"interval\"\n\
         datetime_lower = \"2024-01-01\"\ndatetime_upper = \"2026-12-31\"\n\
         interval = \"year\"\nsuffix_pattern = \"yyyy\"\n\
         [databases.db.tables.t]\nactual_data_nodes = \"ds_0.log_${2024..2026}\"\n\
         table_strategy = { column = \"d\", algorithm = \"y\" }\n",
    );
    let cases: Vec<(&ShardedTable, &str, Vec<usize>)> = vec![
        (&quarterly, "2026-03-31 23:59:59", vec![0]),
        (&quarterly, "2026-05-20", vec![1]),
        (&quarterly, "2026-07-01", vec![2]),
        (&quarterly, "2026-12-31", vec![3]),
        (&daily, "2026-02-28 23:00:00", vec![1]),
        (&daily, "2026-03-01", vec![2]),
        (&yearly, "2025-06-30", vec![1]),
        (&yearly, "2026-12-31", vec![2]),
    ];
    for (t, v, want) in cases {
        assert_eq!(t.route(&Values::Any, &one(dt(v))), Ok(want.clone()), "{v}");
    }
}

#[test]
fn inline_routes() {
    let t = table(
        "[databases.db.algorithms.by_user]\ntype = \"inline\"\nexpression = \"ds_${user_id % 2}\"\n\
         [databases.db.algorithms.by_id]\ntype = \"inline\"\nexpression = \"t_${id % 4}\"\n\
         [databases.db.tables.t]\nactual_data_nodes = \"ds_${0..1}.t_${0..3}\"\n\
         database_strategy = { column = \"user_id\", algorithm = \"by_user\" }\n\
         table_strategy = { column = \"id\", algorithm = \"by_id\" }\n",
    );
    // nodes: 0..3 = ds_0.t_0..t_3, 4..7 = ds_1.t_0..t_3
    let cases: Vec<(Values, Values, Vec<usize>)> = vec![
        (one(int(1)), one(int(6)), vec![6]),
        (one(int(-1)), one(int(-1)), vec![7]),
        (one(int(2)), one(ShardValue::str("5")), vec![1]),
        (
            one(int(2)),
            one(ShardValue::Decimal("2.5".into())),
            vec![0, 1, 2, 3],
        ),
        (
            one(int(2)),
            Values::between(int(0), int(1)),
            vec![0, 1, 2, 3],
        ),
        (one(ShardValue::Null), one(int(1)), vec![]),
        (Values::Any, one(int(3)), vec![3, 7]),
    ];
    for (db, tbl, want) in cases {
        assert_eq!(t.route(&db, &tbl), Ok(want.clone()), "{db:?} {tbl:?}");
    }

    let bad = table(
        "[databases.db.algorithms.i]\ntype = \"inline\"\nexpression = \"t_${id % 5}\"\n\
         [databases.db.tables.t]\nactual_data_nodes = \"ds_0.t_${0..3}\"\n\
         table_strategy = { column = \"id\", algorithm = \"i\" }\n",
    );
    // A value the expression maps to a table that does not exist takes no node.
    assert_eq!(bad.route(&Values::Any, &one(int(4))), Ok(vec![]));
    let list = Values::List(vec![int(4), int(3)]);
    assert_eq!(bad.route(&Values::Any, &list), Ok(vec![3]));
    assert_eq!(bad.route(&Values::Any, &one(int(3))), Ok(vec![3]));
}
