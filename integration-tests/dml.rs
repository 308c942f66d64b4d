//! Writes, DDL and transactions on a private cluster, compared with the oracle after each step.

use crate::diff::{check_all, compare, ordered, text, Case};
use crate::harness::Cluster;
use mysql_async::prelude::Queryable;

async fn both(p: &mut mysql_async::Conn, o: &mut mysql_async::Conn, sql: &str) {
    let a = text(p, sql).await;
    let b = text(o, sql).await;
    if let Err(e) = compare(&a, &b, false) {
        panic!("{sql}: {e}");
    }
}

fn contents() -> Vec<Case> {
    vec![
        ordered("SELECT * FROM t_order ORDER BY order_id"),
        ordered("SELECT * FROM t_order_item ORDER BY item_id"),
        ordered("SELECT * FROM t_user ORDER BY user_id"),
        ordered("SELECT * FROM t_region ORDER BY region_id"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_ddl_and_transactions() {
    let c = Cluster::start(false).await;
    let ep = c.endpoints();
    let (mut p, mut o) = crate::diff::connect(&ep).await;
    for sql in [
        "INSERT INTO t_user (user_id, name, email, region_id, balance, created_at) VALUES (1,'a',NULL,1,1.00,'2026-01-01 00:00:00'),(2,'B','b@x',NULL,2.50,'2026-01-02 00:00:00'),(3,'Émile','e@x',2,3.25,'2026-01-03 00:00:00'),(4,'d',NULL,3,0,'2026-01-04 00:00:00')",
        "INSERT INTO t_order (order_id, user_id, status, amount, region_id, created_at, note) VALUES (10,1,'PAID',10.00,1,'2026-01-01 00:00:00',NULL),(11,2,'paid',11.50,NULL,'2026-01-01 00:00:00','x'),(12,3,'NEW',12.00,2,'2026-01-01 00:00:00',NULL),(13,4,'NEW',13.00,2,'2026-01-01 00:00:00',NULL)",
        "INSERT INTO t_order_item (item_id, order_id, user_id, product_id, qty, price) VALUES (100,10,1,1,1,1.00),(101,11,2,2,2,2.00),(102,12,3,3,3,3.00),(103,13,4,4,4,4.00)",
        "INSERT INTO t_region (region_id, name) VALUES (1,'North'),(2,'South')",
        "UPDATE t_order SET status = 'SHIPPED' WHERE order_id = 10 AND user_id = 1",
        "UPDATE t_order SET amount = amount + 1 WHERE amount > 11",
        "UPDATE t_order SET user_id = 2 WHERE user_id = 2 AND order_id = 11",
        "DELETE FROM t_order_item WHERE item_id = 103",
        "DELETE FROM t_order WHERE status = 'new' AND user_id = 3",
        "INSERT INTO t_order (order_id, user_id, status, amount, created_at) VALUES (10, 1, 'dup', 1, '2026-01-01') ON DUPLICATE KEY UPDATE status = 'again'",
        "REPLACE INTO t_user (user_id, name, created_at) VALUES (4, 'replaced', '2026-02-02 00:00:00')",
        "UPDATE t_region SET name = 'Nord' WHERE region_id = 1",
        // INSERT ... SET, as MariaDB reads it (a later value may read an earlier column).
        "INSERT INTO t_user SET user_id = 5, name = CONCAT('e', ',', 'f'), balance = (1.5 + 2) * 2, created_at = '2026-03-01 00:00:00'",
        "INSERT INTO t_order SET order_id = 14, user_id = 5, status = 'NEW', amount = 7, region_id = amount - 5, created_at = '2026-03-01'",
        "INSERT INTO t_order SET order_id = 14, user_id = 5, status = 'x', amount = 1, created_at = NOW() ON DUPLICATE KEY UPDATE status = 'set again'",
        "INSERT IGNORE INTO t_user SET user_id = 5, name = 'ignored', created_at = NOW()",
    ] {
        both(&mut p, &mut o, sql).await;
        check_all(&mut p, &mut o, &contents()).await;
    }
    // Prepared INSERT ... SET: the parameters keep their places.
    for c in [&mut p, &mut o] {
        c.exec_drop(
            "INSERT INTO t_user SET user_id = ?, name = ?, created_at = ?",
            (6, "prep", "2026-03-02 00:00:00"),
        )
        .await
        .unwrap();
    }
    check_all(&mut p, &mut o, &contents()).await;
    // Broadcast writes reach every copy.
    for i in 0..2 {
        let mut s = mysql_async::Conn::from_url(ep.shard_url(i)).await.unwrap();
        let n: Option<String> = s
            .query_first("SELECT name FROM t_region WHERE region_id = 1")
            .await
            .unwrap();
        assert_eq!(n.as_deref(), Some("Nord"), "ds_{i}");
    }
    // Rejected writes name what is wrong.
    for (sql, needle) in [
        (
            "UPDATE t_order SET user_id = 3 WHERE order_id = 10",
            "user_id",
        ),
        (
            "INSERT INTO t_order (order_id, status, amount, created_at) VALUES (99, 'x', 1, NOW())",
            "user_id",
        ),
    ] {
        match text(&mut p, sql).await {
            Err((1235, m)) => assert!(m.contains(needle), "{sql}: {m}"),
            other => panic!("{sql}: expected 1235, got {other:?}"),
        }
    }
    // DDL runs on every physical table.
    both(
        &mut p,
        &mut o,
        "ALTER TABLE t_order ADD COLUMN extra INT NULL",
    )
    .await;
    both(
        &mut p,
        &mut o,
        "CREATE INDEX idx_status ON t_order (status)",
    )
    .await;
    for i in 0..2 {
        let mut s = mysql_async::Conn::from_url(ep.shard_url(i)).await.unwrap();
        for t in ["t_order_0", "t_order_1"] {
            let cols: Vec<String> = s.query(format!("SELECT column_name FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = '{t}' AND column_name = 'extra'")).await.unwrap();
            assert_eq!(cols.len(), 1, "ds_{i}.{t}");
        }
    }
    both(
        &mut p,
        &mut o,
        "CREATE TABLE t_misc (id INT PRIMARY KEY, v VARCHAR(10))",
    )
    .await;
    both(
        &mut p,
        &mut o,
        "INSERT INTO t_misc VALUES (1, 'a'), (2, 'b')",
    )
    .await;
    check_all(
        &mut p,
        &mut o,
        &[ordered("SELECT * FROM t_misc ORDER BY id")],
    )
    .await;
    let tables: Vec<String> = p.query("SHOW TABLES").await.unwrap();
    assert!(tables.contains(&"t_misc".to_string()), "{tables:?}");
    both(&mut p, &mut o, "DROP TABLE t_misc").await;

    // Transactions: rollback leaves nothing, commit keeps everything, reads see own writes.
    for sql in ["BEGIN", "INSERT INTO t_user (user_id, name, created_at) VALUES (20, 't', '2026-01-01'), (21, 'u', '2026-01-01')", "SELECT * FROM t_user WHERE user_id IN (20, 21)"] {
        let _ = text(&mut o, sql).await;
        let r = text(&mut p, sql).await.expect(sql);
        if sql.starts_with("SELECT") {
            assert_eq!(r.rows.len(), 2, "own writes visible inside the transaction");
        }
    }
    both(&mut p, &mut o, "ROLLBACK").await;
    check_all(&mut p, &mut o, &contents()).await;
    for sql in ["START TRANSACTION", "INSERT INTO t_user (user_id, name, created_at) VALUES (30, 't', '2026-01-01'), (31, 'u', '2026-01-01')", "UPDATE t_user SET balance = 9 WHERE user_id = 31", "COMMIT"] {
        both(&mut p, &mut o, sql).await;
    }
    check_all(&mut p, &mut o, &contents()).await;
    // autocommit=0 opens a transaction implicitly.
    for sql in [
        "SET autocommit = 0",
        "DELETE FROM t_user WHERE user_id = 30",
        "ROLLBACK",
        "SET autocommit = 1",
    ] {
        both(&mut p, &mut o, sql).await;
    }
    check_all(&mut p, &mut o, &contents()).await;
    // TRUNCATE empties every node.
    both(&mut p, &mut o, "TRUNCATE TABLE t_order_item").await;
    check_all(&mut p, &mut o, &contents()).await;
    // An AUTO_INCREMENT sharding column left to the server would route by 0 and land
    // elsewhere: refused (the catalog learns AUTO_INCREMENT after the DDL).
    p.query_drop("ALTER TABLE t_product MODIFY product_id BIGINT NOT NULL AUTO_INCREMENT")
        .await
        .unwrap();
    for sql in [
        "INSERT INTO t_product (product_id, name, category, price) VALUES (0, 'x', 'c', 1)",
        "INSERT INTO t_product (product_id, name, category, price) VALUES (NULL, 'x', 'c', 1)",
    ] {
        let e = crate::diff::text(&mut p, sql).await.unwrap_err();
        assert_eq!(e.0, 1235, "{sql}: {e:?}");
    }
    p.query_drop(
        "INSERT INTO t_product (product_id, name, category, price) VALUES (7, 'x', 'c', 1)",
    )
    .await
    .unwrap();
    drop(p);
    drop(o);
    c.stop().await;
}
