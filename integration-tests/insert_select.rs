//! INSERT ... SELECT across shards (issue 6): the proxy runs the SELECT and inserts its rows
//! as one multi-row INSERT; the rows written must match one server's.

use crate::diff::{compare, connect, text, Outcome};
use mysql_async::prelude::Queryable;
use mysql_async::Value;

async fn both(
    p: &mut mysql_async::Conn,
    o: &mut mysql_async::Conn,
    sql: &str,
) -> (Outcome, Outcome) {
    (text(p, sql).await, text(o, sql).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insert_select_across_shards_matches_oracle() {
    let ep = crate::harness::shared();
    let (mut p, mut o) = connect(&ep).await;
    // Into a table no rule names (the default data source), from sharded and joined tables.
    for c in [&mut p, &mut o] {
        text(c, "CREATE TABLE t_archive (id BIGINT NOT NULL, who VARCHAR(64), total DECIMAL(14,2), PRIMARY KEY (id))")
            .await
            .expect("create");
    }
    let writes = [
        "INSERT INTO t_archive (id, who, total) SELECT order_id, status, amount FROM t_order WHERE amount > 1200",
        "INSERT INTO t_archive SELECT user_id + 100000, CONCAT(COUNT(*), MAX(order_id)), SUM(amount) FROM t_order GROUP BY user_id",
        "INSERT IGNORE INTO t_archive (id, who, total) SELECT order_id, 'dup', 0 FROM t_order WHERE amount > 1000",
        "INSERT INTO t_archive (id, who, total) SELECT i.item_id, p.name, i.qty * i.price FROM t_order_item i JOIN t_product p ON p.product_id = i.product_id WHERE p.stock > 40",
        "INSERT INTO t_archive (id, who, total) SELECT order_id, 'none', 0 FROM t_order WHERE amount < 0",
        "INSERT INTO t_archive (id, who, total) SELECT order_id + 900000, 'x', amount FROM t_order WHERE amount > 1900 ON DUPLICATE KEY UPDATE total = total + 1",
    ];
    for sql in writes {
        let (pa, oa) = both(&mut p, &mut o, sql).await;
        compare(&pa, &oa, true).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    // EXPLAIN SHARDING shows what runs: the SELECT's plan, then the INSERT of its rows.
    let ex = text(&mut p, &format!("EXPLAIN SHARDING {}", writes[3]))
        .await
        .expect("explain");
    let steps: Vec<String> = ex
        .rows
        .iter()
        .map(|r| match &r[0] {
            mysql_async::Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
            v => format!("{v:?}"),
        })
        .collect();
    assert!(steps[0].starts_with("Select: "), "{steps:?}");
    assert_eq!(
        steps.last().map(String::as_str),
        Some("Insert"),
        "{steps:?}"
    );
    let check = "SELECT * FROM t_archive ORDER BY id";
    let (pr, or) = both(&mut p, &mut o, check).await;
    compare(&pr, &or, true).unwrap_or_else(|e| panic!("{check}: {e}"));
    assert!(pr.expect("rows").rows.len() > 100);
    // A duplicate key fails the whole statement, on every node.
    let dup = "INSERT INTO t_archive (id, who, total) SELECT order_id, 'again', 0 FROM t_order";
    let (pe, oe) = both(&mut p, &mut o, dup).await;
    assert_eq!(pe.as_ref().map_err(|e| e.0).err(), Some(1062), "{pe:?}");
    compare(&pe, &oe, true).unwrap_or_else(|e| panic!("{dup}: {e}"));

    // Into a sharded table, inside a transaction (rolled back: other tests share the data),
    // with a prepared statement's parameter.
    for c in [&mut p, &mut o] {
        text(c, "BEGIN").await.expect("begin");
    }
    let into_sharded = "INSERT INTO t_order_item (item_id, order_id, user_id, product_id, qty, price) SELECT item_id + 100000, order_id, user_id, product_id, qty, price FROM t_order_item WHERE qty = ?";
    let pa: Result<(), _> = p.exec_drop(into_sharded, (5,)).await;
    let oa: Result<(), _> = o.exec_drop(into_sharded, (5,)).await;
    pa.expect("proxy insert select");
    oa.expect("oracle insert select");
    assert_eq!(p.affected_rows(), o.affected_rows());
    assert!(p.affected_rows() > 0);
    let check = "SELECT * FROM t_order_item WHERE item_id > 100000 ORDER BY item_id";
    let (pr, or) = both(&mut p, &mut o, check).await;
    compare(&pr, &or, true).unwrap_or_else(|e| panic!("{check}: {e}"));
    // Each row went to its own shard: reading by the full key finds it.
    let first: Vec<(i64, i64, i64)> = p
        .query("SELECT item_id, order_id, user_id FROM t_order_item WHERE item_id > 100000 ORDER BY item_id LIMIT 1")
        .await
        .expect("first");
    let (item, order, user) = first[0];
    let one: Vec<Value> = p
        .exec_first(
            "SELECT item_id FROM t_order_item WHERE user_id = ? AND order_id = ? AND item_id = ?",
            (user, order, item),
        )
        .await
        .expect("by key")
        .map(|r: mysql_async::Row| r.unwrap())
        .unwrap_or_default();
    assert_eq!(one, vec![Value::Int(item)]);
    for c in [&mut p, &mut o] {
        text(c, "ROLLBACK").await.expect("rollback");
        text(c, "DROP TABLE t_archive").await.expect("drop");
    }
}

/// Multi-table UPDATE/DELETE whose tables meet on each node run there (rolled back: the
/// data is shared with other tests).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_table_writes_match_oracle() {
    let ep = crate::harness::shared();
    let (mut p, mut o) = connect(&ep).await;
    for c in [&mut p, &mut o] {
        text(c, "BEGIN").await.expect("begin");
    }
    let steps = [
        "UPDATE t_order o JOIN t_order_item i ON i.order_id = o.order_id AND i.user_id = o.user_id SET i.qty = i.qty + 10, o.note = 'bumped' WHERE o.amount > 1000",
        "SELECT o.order_id, o.note, i.item_id, i.qty FROM t_order o JOIN t_order_item i ON i.order_id = o.order_id AND i.user_id = o.user_id WHERE i.qty > 10 ORDER BY i.item_id",
        "UPDATE t_order o JOIN t_region r ON r.region_id = o.region_id SET o.note = r.name WHERE o.user_id IN (3, 4)",
        "SELECT order_id, note FROM t_order WHERE user_id IN (3, 4) ORDER BY order_id",
        "DELETE i FROM t_order_item i JOIN t_order o ON i.order_id = o.order_id AND i.user_id = o.user_id WHERE o.status = 'cancelled'",
        "SELECT COUNT(*), SUM(qty) FROM t_order_item",
    ];
    for sql in steps {
        let (pa, oa) = both(&mut p, &mut o, sql).await;
        crate::diff::compare(
            &crate::diff::mask_key_flags(pa),
            &crate::diff::mask_key_flags(oa),
            true,
        )
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    // Tables that do not meet on each node: 1235, nothing written.
    let sql = "UPDATE t_order o JOIN t_order_item i ON i.order_id = o.order_id SET i.qty = 0";
    assert_eq!(text(&mut p, sql).await.map(|_| ()).unwrap_err().0, 1235);
    for c in [&mut p, &mut o] {
        text(c, "ROLLBACK").await.expect("rollback");
    }
}
