//! Routing on the example rules and on same-column strategies; exact node indices.

use std::ops::Bound;

use super::tests_config::{example, table};
use super::*;

fn int(i: i128) -> ShardValue {
    ShardValue::Int(i)
}

fn ints(v: &[i128]) -> Values {
    Values::List(v.iter().map(|i| ShardValue::Int(*i)).collect())
}

fn one(v: ShardValue) -> Values {
    Values::List(vec![v])
}

fn example_table(name: &str) -> ShardedTable {
    let cfg = example();
    match cfg.databases["shop"].table(name) {
        Some(TableRule::Sharded(t)) => t.clone(),
        other => panic!("{name}: {other:?}"),
    }
}

fn names(t: &ShardedTable, idx: &[usize]) -> Vec<String> {
    idx.iter().map(|i| t.nodes[*i].to_string()).collect()
}

#[test]
fn t_order_routes() {
    let t = example_table("t_order");
    assert_eq!(
        names(&t, &[0, 1, 2, 3]),
        vec![
            "ds_0.t_order_0",
            "ds_0.t_order_1",
            "ds_1.t_order_0",
            "ds_1.t_order_1"
        ]
    );
    // (user_id values, order_id values, expected node indices)
    let cases: Vec<(Values, Values, Vec<usize>)> = vec![
        (ints(&[1]), ints(&[2]), vec![2]),
        (ints(&[0]), ints(&[7]), vec![1]),
        (ints(&[-3]), ints(&[-3]), vec![3]), // -3 mod 2 = 1
        (ints(&[-4]), ints(&[-1]), vec![1]),
        (ints(&[1, 2]), ints(&[5]), vec![1, 3]),
        (Values::Any, ints(&[4]), vec![0, 2]),
        (ints(&[3]), Values::Any, vec![2, 3]),
        (Values::Any, Values::Any, vec![0, 1, 2, 3]),
        (one(ShardValue::str("17")), Values::Any, vec![2, 3]),
        (one(ShardValue::str(" 8 ")), Values::Any, vec![0, 1]),
        (one(ShardValue::str("abc")), ints(&[1]), vec![1, 3]), // not a number: all data sources
        (
            one(ShardValue::Decimal("17.00".into())),
            ints(&[0]),
            vec![2],
        ),
        (one(ShardValue::Decimal("-17".into())), ints(&[0]), vec![2]),
        (
            one(ShardValue::Decimal("17.5".into())),
            ints(&[0]),
            vec![0, 2],
        ), // non-integral: all
        (one(ShardValue::Float(4.0)), ints(&[1]), vec![1]),
        (one(ShardValue::Float(2.5)), ints(&[1]), vec![1, 3]),
        (
            one(ShardValue::DateTime("2026-01-01".into())),
            ints(&[1]),
            vec![1, 3],
        ),
        (one(int((1 << 70) + 1)), ints(&[1]), vec![3]),
        (one(ShardValue::Null), ints(&[1]), vec![]),
        (ints(&[1]), one(ShardValue::Null), vec![]),
        (
            Values::List(vec![ShardValue::Null, int(3)]),
            ints(&[0]),
            vec![2],
        ),
        (Values::List(vec![]), Values::Any, vec![]),
        (Values::between(int(1), int(2)), ints(&[0]), vec![0, 2]), // mod cannot prune ranges
        (
            Values::Union(vec![ints(&[2]), ints(&[4])]),
            ints(&[1]),
            vec![1],
        ),
        (
            Values::Union(vec![ints(&[2]), Values::Any]),
            ints(&[1]),
            vec![1, 3],
        ),
        (Values::Union(vec![]), ints(&[1]), vec![]),
    ];
    for (db, tbl, want) in cases {
        let got = t.route(&db, &tbl);
        assert_eq!(got, Ok(want.clone()), "db={db:?} tbl={tbl:?}");
    }
}

#[test]
fn single_strategy_tables() {
    let cases: &[(&str, &[i128], &[&str])] = &[
        ("t_user", &[1], &["ds_1.t_user"]),
        ("t_user", &[10], &["ds_0.t_user"]),
        ("t_user", &[-1], &["ds_1.t_user"]),
        ("t_user", &[1, 3, 5], &["ds_1.t_user"]),
        ("t_user", &[1, 2], &["ds_0.t_user", "ds_1.t_user"]),
        ("t_product", &[6], &["ds_0.t_product"]),
        (
            "t_order_item",
            &[7],
            &["ds_1.t_order_item_0", "ds_1.t_order_item_1"],
        ),
    ];
    for (name, values, want) in cases {
        let t = example_table(name);
        let got = t
            .route(&ints(values), &Values::Any)
            .map(|idx| names(&t, &idx));
        assert_eq!(
            got,
            Ok(want.iter().map(|s| s.to_string()).collect()),
            "{name} {values:?}"
        );
    }
}

#[test]
fn binding_tables_route_alike() {
    let order = example_table("t_order");
    let item = example_table("t_order_item");
    for user in -5..6 {
        for ord in -5..6 {
            let (db, tbl) = (ints(&[user]), ints(&[ord]));
            assert_eq!(
                order.route(&db, &tbl),
                item.route(&db, &tbl),
                "{user} {ord}"
            );
        }
    }
}

#[test]
fn same_column_pairs_values() {
    // Both strategies on `id`: no cross product between the database of one value and the
    // table of another.
    let homogeneous = table(
        "[databases.db.algorithms.m2]\ntype = \"mod\"\nsharding_count = 2\n\
         [databases.db.tables.t]\nactual_data_nodes = \"ds_${0..1}.t_${0..1}\"\n\
         database_strategy = { column = \"id\", algorithm = \"m2\" }\n\
         table_strategy = { column = \"ID\", algorithm = \"m2\" }\n",
    );
    assert_eq!(homogeneous.sharding_columns(), vec!["id"]);
    let spread = table(
        "[databases.db.algorithms.m2]\ntype = \"mod\"\nsharding_count = 2\n\
         [databases.db.algorithms.m4]\ntype = \"mod\"\nsharding_count = 4\n\
         [databases.db.tables.t]\nactual_data_nodes = \"ds_0.t_${[0,2]}, ds_1.t_${[1,3]}\"\n\
         database_strategy = { column = \"id\", algorithm = \"m2\" }\n\
         table_strategy = { column = \"id\", algorithm = \"m4\" }\n",
    );
    assert_eq!(
        names(&spread, &[0, 1, 2, 3]),
        vec!["ds_0.t_0", "ds_0.t_2", "ds_1.t_1", "ds_1.t_3"]
    );
    let cases: Vec<(&ShardedTable, Values, Values, Vec<usize>)> = vec![
        (&homogeneous, ints(&[1, 2]), ints(&[1, 2]), vec![0, 3]),
        (&homogeneous, ints(&[1]), Values::Any, vec![3]),
        (&homogeneous, Values::Any, ints(&[4]), vec![0]),
        (&homogeneous, ints(&[1]), ints(&[2]), vec![]),
        (
            &homogeneous,
            Values::between(int(1), int(2)),
            Values::Any,
            vec![0, 1, 2, 3],
        ),
        (
            &homogeneous,
            Values::Union(vec![ints(&[1]), ints(&[2])]),
            Values::Any,
            vec![0, 3],
        ),
        (&spread, ints(&[1, 2]), ints(&[1, 2]), vec![1, 2]),
        (&spread, ints(&[7]), ints(&[7]), vec![3]),
        (&spread, ints(&[-4]), Values::Any, vec![0]),
        (&spread, Values::Any, Values::Any, vec![0, 1, 2, 3]),
    ];
    for (t, db, tbl, want) in cases {
        assert_eq!(
            t.route(&db, &tbl),
            Ok(want.clone()),
            "db={db:?} tbl={tbl:?}"
        );
    }
}

#[test]
fn range_algorithm_routes() {
    let t = table(
        "[databases.db.algorithms.r]\ntype = \"range\"\nboundaries = [1000, 2000]\n\
         [databases.db.tables.t]\nactual_data_nodes = \"ds_${0..2}.t\"\n\
         database_strategy = { column = \"id\", algorithm = \"r\" }\n",
    );
    let inc = |v: i128| Bound::Included(int(v));
    let exc = |v: i128| Bound::Excluded(int(v));
    let dec = |s: &str| ShardValue::Decimal(s.into());
    let range = |lower, upper| Values::Range { lower, upper };
    let cases: Vec<(Values, Vec<usize>)> = vec![
        (ints(&[999]), vec![0]),
        (ints(&[1000]), vec![1]),
        (ints(&[1999]), vec![1]),
        (ints(&[2000]), vec![2]),
        (ints(&[-5, 5000]), vec![0, 2]),
        (one(dec("999.99")), vec![0]),
        (one(dec("-0.5")), vec![0]),
        (one(ShardValue::Float(1000.0)), vec![1]),
        (one(ShardValue::str("1500")), vec![1]),
        (one(ShardValue::str("x")), vec![0, 1, 2]),
        (one(ShardValue::Null), vec![]),
        (range(inc(0), exc(1000)), vec![0]),
        (range(inc(0), inc(1000)), vec![0, 1]),
        (range(exc(999), exc(2000)), vec![0, 1]), // 999.5 may match a DECIMAL column
        (range(exc(1000), exc(2000)), vec![1]),
        (range(inc(1000), inc(1999)), vec![1]),
        (range(exc(1999), Bound::Unbounded), vec![1, 2]),
        (range(exc(2000), Bound::Unbounded), vec![2]),
        (range(inc(1999), Bound::Unbounded), vec![1, 2]),
        (range(Bound::Unbounded, exc(1000)), vec![0]),
        (range(Bound::Unbounded, Bound::Unbounded), vec![0, 1, 2]),
        (
            range(
                Bound::Included(dec("999.5")),
                Bound::Excluded(dec("1000.5")),
            ),
            vec![0, 1],
        ),
        (
            range(Bound::Included(dec("1000.5")), Bound::Excluded(int(2000))),
            vec![1],
        ),
        (
            range(Bound::Excluded(dec("1999.5")), Bound::Unbounded),
            vec![1, 2],
        ),
        (range(inc(1500), inc(1400)), vec![]),
        (range(exc(5), exc(6)), vec![0]), // 5.5 on a DECIMAL column
        (range(exc(5), inc(5)), vec![]),
        (range(inc(5), exc(5)), vec![]),
        (range(Bound::Included(ShardValue::Null), inc(5)), vec![]),
        (
            range(Bound::Included(ShardValue::str("a")), inc(5)),
            vec![0, 1, 2],
        ),
        (
            Values::Union(vec![ints(&[5]), range(inc(2500), Bound::Unbounded)]),
            vec![0, 2],
        ),
    ];
    for (v, want) in cases {
        assert_eq!(t.route(&v, &Values::Any), Ok(want.clone()), "{v:?}");
    }
}

/// examples/ecommerce/data.sql puts rows on every node of t_order and t_order_item, and each
/// item on the node of its order.
#[test]
fn example_data_spreads_over_all_nodes() {
    let data = include_str!("../../examples/ecommerce/data.sql");
    let order = example_table("t_order");
    let item = example_table("t_order_item");
    let mut order_counts = [0usize; 4];
    let mut item_counts = [0usize; 4];
    for line in data.lines() {
        let Some((head, vals)) = line.split_once(" VALUES (") else {
            continue;
        };
        let f: Vec<i128> = vals
            .split(", ")
            .take(3)
            .filter_map(|v| v.parse().ok())
            .collect();
        if head.starts_with("INSERT INTO t_order ") {
            // (order_id, user_id, ...)
            let got = order.route(&ints(&[f[1]]), &ints(&[f[0]]));
            let Ok([idx]) = got.as_deref() else {
                panic!("{line}: {got:?}")
            };
            order_counts[*idx] += 1;
        } else if head.starts_with("INSERT INTO t_order_item ") {
            // (item_id, order_id, user_id, ...)
            let got = item.route(&ints(&[f[2]]), &ints(&[f[1]]));
            let Ok([idx]) = got.as_deref() else {
                panic!("{line}: {got:?}")
            };
            item_counts[*idx] += 1;
        }
    }
    assert_eq!(order_counts, [5, 5, 5, 5]);
    assert_eq!(item_counts, [8, 7, 7, 8]);
}
