//! Joins whose tables cannot meet on one node (issue 6): the proxy ships the other tables'
//! rows to the anchor table's data sources as temporary tables; results must match one server.

use crate::diff::{check_all, connect, mask_key_flags, ordered, unordered, Case};
use mysql_async::Value;

pub(crate) fn cases() -> Vec<Case> {
    let cases = vec![
        // Sharded by different keys: order items (user/order) with products (product_id).
        ordered("SELECT i.item_id, i.qty, p.name, p.price FROM t_order_item i JOIN t_product p ON p.product_id = i.product_id ORDER BY i.item_id LIMIT 20"),
        unordered("SELECT i.item_id, p.category FROM t_order_item i JOIN t_product p ON p.product_id = i.product_id WHERE p.price > 150 AND i.qty >= 2"),
        ordered("SELECT p.category, COUNT(*), SUM(i.qty * i.price) FROM t_order_item i JOIN t_product p ON p.product_id = i.product_id GROUP BY p.category ORDER BY 1"),
        ordered("SELECT i.qty, COUNT(DISTINCT p.category) AS n, COUNT(DISTINCT i.order_id) FROM t_order_item i, t_product p WHERE p.product_id = i.product_id GROUP BY i.qty HAVING n > 1 ORDER BY n DESC, 1"),
        // Binding tables joined without the full sharding key.
        ordered("SELECT o.order_id, COUNT(*) FROM t_order o JOIN t_order_item i ON o.order_id = i.order_id GROUP BY o.order_id ORDER BY 2 DESC, 1 LIMIT 10"),
        unordered("SELECT o.order_id, i.item_id FROM t_order o JOIN t_order_item i ON o.order_id = i.order_id WHERE o.status = 'paid'"),
        // Outer joins: the anchor keeps its unmatched rows exactly once.
        ordered("SELECT u.user_id, COUNT(o.order_id) FROM t_user u LEFT JOIN t_order o ON o.user_id = u.user_id AND o.amount > 1500 GROUP BY u.user_id ORDER BY 2 DESC, 1 LIMIT 15"),
        ordered("SELECT p.product_id, SUM(i.qty) FROM t_product p LEFT JOIN t_order_item i ON i.product_id = p.product_id GROUP BY p.product_id ORDER BY p.product_id"),
        ordered("SELECT p.product_id, i.item_id FROM t_order_item i RIGHT JOIN t_product p ON i.product_id = p.product_id AND i.qty > 4 ORDER BY p.product_id, i.item_id"),
        ordered("SELECT r.name, COUNT(o.order_id) FROM t_region r LEFT JOIN t_order o ON o.region_id = r.region_id GROUP BY r.name ORDER BY 1"),
        // A derived table over a broadcast table (or no table), kept by an outer join: once.
        ordered("SELECT r0.region_id, p1.product_id FROM (SELECT * FROM t_region WHERE region_id <= 3) AS r0 LEFT JOIN t_product AS p1 ON r0.region_id = p1.product_id AND p1.name IS NOT NULL ORDER BY 1, 2"),
        ordered("SELECT d.x, COUNT(o.order_id) FROM (SELECT 1 AS x) d LEFT JOIN t_order o ON o.user_id = d.x GROUP BY d.x"),
        // A WHERE on the null-supplying side (not pushed into its fetch).
        ordered("SELECT u.user_id FROM t_user u LEFT JOIN t_order o ON o.user_id = u.user_id AND o.status = 'PAID' WHERE o.order_id IS NULL ORDER BY u.user_id"),
        // Three and four tables; single and broadcast tables on the way.
        ordered("SELECT u.name, p.name, i.qty FROM t_user u JOIN t_order_item i ON i.user_id = u.user_id JOIN t_product p ON p.product_id = i.product_id WHERE u.region_id = 2 ORDER BY i.item_id LIMIT 25"),
        ordered("SELECT r.name, p.product_id % 3, SUM(i.qty) FROM t_order o JOIN t_order_item i ON i.order_id = o.order_id AND i.user_id = o.user_id JOIN t_product p ON p.product_id = i.product_id JOIN t_region r ON r.region_id = o.region_id GROUP BY r.name, p.product_id % 3 ORDER BY 1, 2"),
        ordered("SELECT c.v, COUNT(*) FROM t_order o JOIN t_config c ON c.k = 'currency' GROUP BY c.v"),
        // Collation-aware filters and join keys. (DISTINCT and GROUP BY on case variants such
        // as 'Books'/'books' may show either spelling, as on one server: the fuzzer covers them.)
        ordered("SELECT COUNT(*), MIN(i.qty), MAX(p.price) FROM t_order_item i JOIN t_product p ON p.product_id = i.product_id WHERE p.category = 'BOOKS'"),
        ordered("SELECT u.user_id, COUNT(*) FROM t_user u JOIN t_product p ON p.category = u.name GROUP BY u.user_id ORDER BY 1"),
        unordered("SELECT u.user_id, p.product_id FROM t_user u JOIN t_product p ON LEFT(p.name, 3) = LEFT(u.name, 3) WHERE u.user_id < 40"),
        // Non-equi join conditions.
        ordered("SELECT COUNT(*) FROM t_order o JOIN t_product p ON o.amount < p.price * 3"),
        // The anchor's join values narrow the shipped fetch (none at all in the second).
        ordered("SELECT i.item_id, p.name, p.price FROM t_order_item i JOIN t_product p ON p.product_id = i.product_id WHERE i.user_id = 3 ORDER BY i.item_id"),
        ordered("SELECT i.item_id, p.name FROM t_order_item i LEFT JOIN t_product p ON p.product_id = i.product_id WHERE i.qty > 100"),
        ordered("SELECT u.user_id, o.order_id FROM t_user u LEFT JOIN t_order o ON o.user_id = u.user_id AND o.amount > 1990 WHERE u.user_id < 10 ORDER BY 1, 2"),
        // Different groups, each on one node of one data source: one query there.
        ordered("SELECT u.name, p.name FROM t_user u, t_product p WHERE u.user_id = 1 AND p.product_id IN (3)"),
        ordered("SELECT u.name, i.item_id, i.qty FROM t_user u JOIN t_order_item i ON i.user_id = u.user_id WHERE u.user_id = 5 AND i.user_id = 5 AND i.order_id IN (1001, 1003, 1005, 1007, 1009, 1011, 1013) ORDER BY i.item_id"),
        ordered("SELECT u.name, p.name FROM t_user u JOIN t_product p ON p.product_id = u.user_id WHERE u.user_id = 1"),
        ordered("SELECT u.name, p.name FROM t_user u JOIN t_product p ON p.product_id = u.user_id WHERE u.user_id = ?")
            .with(vec![Value::from(7)]),
        // Prepared, with parameters on both sides.
        ordered("SELECT i.item_id, p.name FROM t_order_item i JOIN t_product p ON p.product_id = i.product_id WHERE p.price > ? AND i.qty = ? ORDER BY i.item_id")
            .with(vec![Value::from(100), Value::from(3)]),
    ];
    cases.into_iter().map(Case::loose_keys).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_shard_joins_match_oracle() {
    let ep = crate::harness::shared();
    let (mut p, mut o) = connect(&ep).await;
    check_all(&mut p, &mut o, &cases()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joins_in_transactions_repeat_and_explain() {
    use crate::diff::{compare, text};
    let ep = crate::harness::shared();
    let (mut p, mut o) = connect(&ep).await;
    // Inside a transaction both sides of the join see the transaction's own writes.
    let join = "SELECT i.item_id, p.stock FROM t_order_item i JOIN t_product p ON p.product_id = i.product_id WHERE p.stock > 1000 ORDER BY i.item_id";
    for c in [&mut p, &mut o] {
        text(c, "BEGIN").await.expect("begin");
        text(
            c,
            "UPDATE t_product SET stock = stock + 5000 WHERE product_id IN (3, 4)",
        )
        .await
        .expect("update");
    }
    let (pr, or) = (
        mask_key_flags(text(&mut p, join).await),
        mask_key_flags(text(&mut o, join).await),
    );
    compare(&pr, &or, true).unwrap_or_else(|e| panic!("{join}: {e}"));
    assert!(!pr.expect("rows").rows.is_empty());
    for c in [&mut p, &mut o] {
        text(c, "ROLLBACK").await.expect("rollback");
    }
    // The copies are dropped after each statement: the same join runs again and again.
    for _ in 0..3 {
        let (pr, or) = (
            mask_key_flags(text(&mut p, join).await),
            mask_key_flags(text(&mut o, join).await),
        );
        compare(&pr, &or, true).unwrap_or_else(|e| panic!("{join}: {e}"));
    }
    // EXPLAIN SHARDING shows the shipped fetch, then the statement on the anchor's nodes.
    let ex = text(
        &mut p,
        "EXPLAIN SHARDING SELECT * FROM t_order_item i JOIN t_product p ON p.product_id = i.product_id WHERE p.price > 10",
    )
    .await
    .expect("explain");
    let cell = |r: &Vec<Value>, k: usize| match &r[k] {
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        v => format!("{v:?}"),
    };
    // First the anchor's join values, then the fetch they narrow.
    assert_eq!(cell(&ex.rows[0], 0), "Keys(p.product_id IN ...)");
    assert_eq!(
        cell(&ex.rows[0], 2),
        "SELECT DISTINCT i.product_id FROM t_order_item AS i"
    );
    assert_eq!(cell(&ex.rows[1], 0), "Ship(t_product -> __sg_ship_0)");
    assert_eq!(
        cell(&ex.rows[1], 2),
        "SELECT * FROM t_product AS p WHERE (p.price > 10)"
    );
    assert_eq!(ex.rows.len(), 6, "{:?}", ex.rows);
    assert!(cell(&ex.rows[2], 2).contains("JOIN __sg_ship_0 p"));
    // A join equality carries the pinned key over: both tables on one node, one query.
    let ex = text(
        &mut p,
        "EXPLAIN SHARDING SELECT u.name, p.name FROM t_user u JOIN t_product p ON p.product_id = u.user_id WHERE u.user_id = 1",
    )
    .await
    .expect("explain");
    assert_eq!(ex.rows.len(), 1, "{:?}", ex.rows);
    assert_eq!(cell(&ex.rows[0], 1), "ds_1");
}

/// Derived tables over shards: the derived query runs through the proxy (every merge applies)
/// and its rows are shipped as a table typed from its result.
pub(crate) fn derived() -> Vec<Case> {
    let cases = vec![
        ordered("SELECT status, n FROM (SELECT status, COUNT(*) AS n FROM t_order GROUP BY status) d WHERE n > 2 ORDER BY n DESC, status"),
        ordered("SELECT u.name, d.total FROM (SELECT user_id, SUM(amount) AS total FROM t_order GROUP BY user_id) d JOIN t_user u ON u.user_id = d.user_id ORDER BY d.total DESC, u.user_id LIMIT 10"),
        ordered("SELECT AVG(d.total), MAX(d.cnt) FROM (SELECT user_id, SUM(amount) AS total, COUNT(*) AS cnt FROM t_order GROUP BY user_id) AS d"),
        ordered("SELECT d.order_id, d.amount FROM (SELECT order_id, amount FROM t_order ORDER BY amount DESC LIMIT 5) d ORDER BY d.order_id"),
        ordered("SELECT p.category, d.q FROM t_product p JOIN (SELECT product_id, SUM(qty) AS q FROM t_order_item GROUP BY product_id) d ON d.product_id = p.product_id ORDER BY d.q DESC, p.product_id LIMIT 8"),
        ordered("SELECT d.user_id FROM (SELECT user_id FROM t_order WHERE user_id = 3) d ORDER BY 1 LIMIT 1"),
        ordered("SELECT u.user_id, d.n FROM t_user u LEFT JOIN (SELECT user_id, COUNT(*) AS n FROM t_order WHERE amount > 1500 GROUP BY user_id) d ON d.user_id = u.user_id ORDER BY u.user_id"),
        ordered("SELECT COUNT(*) FROM (SELECT DISTINCT region_id FROM t_order) d"),
        ordered("SELECT x.m FROM (SELECT MAX(d.total) AS m FROM (SELECT user_id, SUM(amount) AS total FROM t_order GROUP BY user_id) d) x"),
        ordered("SELECT d.status, d.n FROM (SELECT status, COUNT(*) AS n FROM t_order WHERE amount > ? GROUP BY status) d WHERE d.n > ? ORDER BY 1")
            .with(vec![Value::from(100), Value::from(1)]),
        // CTEs over shards, shipped the same way.
        ordered("WITH s AS (SELECT user_id, SUM(amount) AS total FROM t_order GROUP BY user_id) SELECT u.name, s.total FROM t_user u JOIN s ON s.user_id = u.user_id ORDER BY s.total DESC, u.user_id LIMIT 5"),
        ordered("WITH s AS (SELECT user_id, COUNT(*) AS n FROM t_order GROUP BY user_id), big AS (SELECT * FROM s WHERE n > 8) SELECT COUNT(*), MAX(n) FROM big"),
        ordered("WITH p AS (SELECT product_id, price FROM t_product WHERE price > 100) SELECT i.item_id, p.price FROM t_order_item i JOIN p ON p.product_id = i.product_id ORDER BY i.item_id LIMIT 12"),
    ];
    cases.into_iter().map(Case::loose_keys).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn derived_tables_match_oracle() {
    let ep = crate::harness::shared();
    let (mut p, mut o) = connect(&ep).await;
    check_all(&mut p, &mut o, &derived()).await;
}

/// With a small `max_memory_rows`, a shipped table or a multi-node read inside a transaction
/// that would hold more rows answers 1038; the session (and its transaction) go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_bounds_hold_for_shipping_and_transactions() {
    use crate::diff::text;
    let (addr, _stop, _) =
        crate::harness::proxy_over_shared(|c| c.server.max_memory_rows = 50).await;
    let mut p = mysql_async::Conn::from_url(format!("mysql://root:root@{addr}/shop"))
        .await
        .expect("connect");
    let big = "SELECT COUNT(*) FROM t_user u JOIN t_order o ON o.region_id = u.region_id";
    assert_eq!(text(&mut p, big).await.map(|_| ()).unwrap_err().0, 1038);
    // The copies are gone and the session works: a small shipped table goes through.
    let small = "SELECT COUNT(*) FROM t_order o JOIN t_product p ON p.product_id = o.user_id";
    for _ in 0..2 {
        text(&mut p, small).await.expect("small shipped join");
    }
    text(&mut p, "BEGIN").await.expect("begin");
    let scatter = "SELECT * FROM t_order";
    assert_eq!(text(&mut p, scatter).await.map(|_| ()).unwrap_err().0, 1038);
    text(&mut p, "SELECT COUNT(*) FROM t_user")
        .await
        .expect("after 1038");
    text(&mut p, "COMMIT").await.expect("commit");
}
