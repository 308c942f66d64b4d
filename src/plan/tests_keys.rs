//! INSERT planning with snowflake key generation: SQL in → per-node SQL out.

use super::{explain_with_keys, KeySource, NodeSql, Plan};
use crate::error::SqlError;
use crate::id::{decompose, ManualClock, Snowflake};
use crate::rules::{parse, LogicalDatabase};

/// 2024-01-01T00:00:00Z
const EPOCH: u64 = 1_704_067_200_000;
/// The simulated clock's time (ms after the epoch); fixed, so ids are predictable.
const AT: u64 = 86_400_000;

fn shop() -> LogicalDatabase {
    let cfg =
        crate::rules::parse(crate::demo::RULES, "rules.toml").unwrap_or_else(|e| panic!("{e}"));
    cfg.databases["shop"].clone()
}

/// A generator on a fixed simulated clock (worker 1).
fn generator() -> Snowflake {
    Snowflake::new(Box::new(ManualClock::new(EPOCH + AT)), EPOCH, 1, 10)
}

/// Plan `sql` with a fresh fixed-clock generator; also the ids a twin generator hands out
/// (the same ids, in the same order).
fn plan(sql: &str) -> (Result<Plan, SqlError>, Option<u64>, Snowflake) {
    let db = shop();
    let g = generator();
    let keys = KeySource::new(&g);
    let p = explain_with_keys(&db, sql, &keys);
    (p, keys.first_generated(), generator())
}

fn node(ds: &str, sql: &str) -> NodeSql {
    NodeSql {
        data_source: ds.into(),
        sql: sql.into(),
    }
}

#[test]
fn omitted_key_is_appended_and_routes_the_row() {
    let (p, first, twin) = plan(
        "INSERT INTO t_order (user_id, status, amount, created_at) VALUES (1, 'NEW', 1.50, '2026-01-01')",
    );
    let p = p.unwrap();
    let id = twin.next_id().unwrap();
    assert_eq!(first, Some(id));
    assert_eq!(decompose(id).timestamp, AT);
    assert_eq!(decompose(id).worker, 1);
    // ds by user_id % 2, table by order_id % 2: the generated id picks the table.
    assert_eq!(
        p.nodes,
        vec![node(
            "ds_1",
            &format!(
                "INSERT INTO t_order_{} (user_id, status, amount, created_at, order_id) VALUES (1, 'NEW', 1.50, '2026-01-01', {id})",
                id % 2
            )
        )]
    );
    assert!(p.write);
}

#[test]
fn multi_row_insert_gets_distinct_ids_grouped_by_node() {
    let sql = "INSERT INTO t_order (user_id, status) VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd'), (5, 'e'), (6, 'f')";
    let (p, first, twin) = plan(sql);
    let p = p.unwrap();
    let ids: Vec<u64> = (0..6).map(|_| twin.next_id().unwrap()).collect();
    assert_eq!(first, Some(ids[0]));
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    // Expected rows per node, in row order.
    let mut want: std::collections::BTreeMap<(u64, u64), Vec<String>> = Default::default();
    for (i, (user, status)) in [(1, 'a'), (2, 'b'), (3, 'c'), (4, 'd'), (5, 'e'), (6, 'f')]
        .into_iter()
        .enumerate()
    {
        want.entry((user % 2, ids[i] % 2))
            .or_default()
            .push(format!("({user}, '{status}', {})", ids[i]));
    }
    let want: Vec<NodeSql> = want
        .into_iter()
        .map(|((ds, t), rows)| {
            node(
                &format!("ds_{ds}"),
                &format!(
                    "INSERT INTO t_order_{t} (user_id, status, order_id) VALUES {}",
                    rows.join(", ")
                ),
            )
        })
        .collect();
    assert_eq!(p.nodes, want);
}

#[test]
fn null_key_values_are_replaced_others_kept() {
    let (p, first, twin) = plan(
        "INSERT INTO t_order (order_id, user_id, note) VALUES (NULL, 1, 'gen'), (42, 1, 'kept'), ( null , 1, 'gen2')",
    );
    let p = p.unwrap();
    let a = twin.next_id().unwrap();
    let b = twin.next_id().unwrap();
    assert_eq!(first, Some(a));
    let mut rows = [
        (a % 2, format!("({a}, 1, 'gen')")),
        (0, "(42, 1, 'kept')".to_string()),
        (b % 2, format!("( {b} , 1, 'gen2')")),
    ];
    rows.sort_by_key(|r| r.0);
    let mut want: Vec<NodeSql> = Vec::new();
    for t in 0..2 {
        let r: Vec<&str> = rows
            .iter()
            .filter(|r| r.0 == t)
            .map(|r| r.1.as_str())
            .collect();
        if !r.is_empty() {
            want.push(node(
                "ds_1",
                &format!(
                    "INSERT INTO t_order_{t} (order_id, user_id, note) VALUES {}",
                    r.join(", ")
                ),
            ));
        }
    }
    assert_eq!(p.nodes, want);
}

#[test]
fn explicit_keys_generate_nothing() {
    let sql = "INSERT INTO t_order (order_id, user_id) VALUES (10, 1)";
    let (p, first, _) = plan(sql);
    assert_eq!(first, None);
    assert_eq!(
        p.unwrap().nodes,
        vec![node(
            "ds_1",
            "INSERT INTO t_order_0 (order_id, user_id) VALUES (10, 1)"
        )]
    );
    // Tables without a key generator are untouched.
    let (p, first, _) = plan("INSERT INTO t_user (user_id, name) VALUES (3, 'x')");
    assert_eq!(first, None);
    assert_eq!(
        p.unwrap().nodes,
        vec![node(
            "ds_1",
            "INSERT INTO t_user (user_id, name) VALUES (3, 'x')"
        )]
    );
}

#[test]
fn key_that_is_not_a_sharding_column_is_filled_too() {
    let (p, first, twin) = plan(
        "INSERT INTO t_order_item (order_id, user_id, product_id, qty, price) VALUES (10, 1, 7, 2, 3.00)",
    );
    let id = twin.next_id().unwrap();
    assert_eq!(first, Some(id));
    assert_eq!(
        p.unwrap().nodes,
        vec![node(
            "ds_1",
            &format!("INSERT INTO t_order_item_0 (order_id, user_id, product_id, qty, price, item_id) VALUES (10, 1, 7, 2, 3.00, {id})")
        )]
    );
}

#[test]
fn replace_quoted_names_value_keyword_and_on_duplicate() {
    let (p, _, twin) = plan("REPLACE INTO t_order (`user_id`, `status`) VALUE (2, 'x')");
    let id = twin.next_id().unwrap();
    assert_eq!(
        p.unwrap().nodes,
        vec![node(
            "ds_0",
            &format!(
                "REPLACE INTO t_order_{} (`user_id`, `status`, order_id) VALUE (2, 'x', {id})",
                id % 2
            )
        )]
    );
    let (p, _, twin) = plan(
        "INSERT INTO shop.t_order ( user_id ,status ) VALUES (2,'x') ON DUPLICATE KEY UPDATE status = 'y'",
    );
    let id = twin.next_id().unwrap();
    assert_eq!(
        p.unwrap().nodes,
        vec![node(
            "ds_0",
            &format!(
                "INSERT INTO t_order_{} ( user_id ,status , order_id) VALUES (2,'x', {id}) ON DUPLICATE KEY UPDATE status = 'y'",
                id % 2
            )
        )]
    );
}

#[test]
fn no_column_list_is_rejected_naming_the_key() {
    let (p, first, _) = plan("INSERT INTO t_order VALUES (NULL, 1, 'NEW', 1, NULL, NOW(), NULL)");
    let e = p.unwrap_err();
    assert_eq!(e.code, 1235, "{e:?}");
    assert!(e.message.contains("column list"), "{}", e.message);
    assert_eq!(first, None);
}

#[test]
fn clock_far_behind_fails_the_insert() {
    let db = shop();
    let clock = std::sync::Arc::new(ManualClock::new(EPOCH + AT));
    struct C(std::sync::Arc<ManualClock>);
    impl crate::id::Clock for C {
        fn now_ms(&self) -> u64 {
            self.0.now_ms()
        }
        fn wait_ms(&self, ms: u64) {
            self.0.wait_ms(ms)
        }
    }
    let g = Snowflake::new(Box::new(C(clock.clone())), EPOCH, 0, 10);
    let keys = KeySource::new(&g);
    let sql = "INSERT INTO t_order (user_id) VALUES (1)";
    explain_with_keys(&db, sql, &keys).unwrap();
    clock.set(EPOCH + AT - 50);
    let e = explain_with_keys(&db, sql, &KeySource::new(&g)).unwrap_err();
    assert_eq!(e.code, 1467);
    assert!(
        e.message.starts_with(
            "Failed to generate a snowflake key for t_order.order_id: the system clock moved back 50 ms"
        ),
        "{}",
        e.message
    );
}

/// Multi-table UPDATE/DELETE: pushed to each node when the tables meet there, 1235 otherwise.
#[test]
fn multi_table_writes_route_like_joins() {
    let cfg = parse(
        include_str!("../../examples/ecommerce/rules.toml"),
        "rules.toml",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let db = &cfg.databases["shop"];
    let ok: &[(&str, usize, &str)] = &[
        (
            "UPDATE t_order o JOIN t_order_item i ON i.order_id = o.order_id AND i.user_id = o.user_id SET i.qty = i.qty + 1 WHERE o.status = 'paid'",
            4,
            "UPDATE t_order_0 o JOIN t_order_item_0 i ON i.order_id = o.order_id AND i.user_id = o.user_id SET i.qty = i.qty + 1 WHERE o.status = 'paid'",
        ),
        (
            "UPDATE t_order o JOIN t_order_item i ON i.order_id = o.order_id AND i.user_id = o.user_id SET o.note = 'x' WHERE o.user_id = 3 AND o.order_id = 1001",
            1,
            "UPDATE t_order_1 o JOIN t_order_item_1 i ON i.order_id = o.order_id AND i.user_id = o.user_id SET o.note = 'x' WHERE o.user_id = 3 AND o.order_id = 1001",
        ),
        (
            "DELETE i FROM t_order_item i JOIN t_order o ON i.order_id = o.order_id AND i.user_id = o.user_id WHERE o.status = 'cancelled'",
            4,
            "DELETE i FROM t_order_item_0 i JOIN t_order_0 o ON i.order_id = o.order_id AND i.user_id = o.user_id WHERE o.status = 'cancelled'",
        ),
        (
            "DELETE i FROM t_order_item i JOIN t_order o ON i.order_id = o.order_id AND i.user_id = o.user_id WHERE o.user_id = 2",
            2,
            "DELETE i FROM t_order_item_0 i JOIN t_order_0 o ON i.order_id = o.order_id AND i.user_id = o.user_id WHERE o.user_id = 2",
        ),
        (
            "UPDATE t_order o JOIN t_region r ON r.region_id = o.region_id SET o.note = r.name",
            4,
            "UPDATE t_order_0 o JOIN t_region r ON r.region_id = o.region_id SET o.note = r.name",
        ),
    ];
    for (sql, n, first) in ok {
        let p = super::explain(db, sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        assert_eq!(p.nodes.len(), *n, "{sql}\n{p}");
        assert_eq!(p.nodes[0].sql, *first, "{sql}");
        assert!(p.write);
    }
    for (sql, msg) in [
        (
            "UPDATE t_order o JOIN t_order_item i ON i.order_id = o.order_id SET i.qty = 1",
            "without equality on sharding column",
        ),
        (
            "UPDATE t_order o JOIN t_region r ON r.region_id = o.region_id SET r.name = o.note",
            "writes a broadcast or single table",
        ),
        (
            "UPDATE t_order o JOIN t_region r ON r.region_id = o.region_id SET note = 'x'",
            "writes a broadcast or single table",
        ),
        (
            "DELETE o, r FROM t_order o JOIN t_region r ON r.region_id = o.region_id",
            "writes a broadcast or single table",
        ),
        (
            "DELETE o FROM t_order o JOIN t_product p ON p.product_id = o.order_id",
            "without equality on sharding column",
        ),
        (
            "DELETE FROM i USING t_order_item i JOIN t_order o ON i.order_id = o.order_id AND i.user_id = o.user_id",
            "DELETE ... USING",
        ),
    ] {
        match super::explain(db, sql) {
            Err(e) => assert!(e.code == 1235 && e.message.contains(msg), "{sql}: {e}"),
            Ok(p) => panic!("{sql}: planned\n{p}"),
        }
    }
}
