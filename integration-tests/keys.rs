//! Snowflake keys (issue 4): INSERTs without `order_id` / `item_id` get ids from the proxy
//! before routing, through the text and the prepared-statement protocols.

use crate::harness::{Cluster, Endpoints};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Value};
use std::collections::HashSet;

/// Where a row of `table` with `key = id` physically is: (data source index, table suffix).
async fn locate(ep: &Endpoints, table: &str, key: &str, id: u64) -> Vec<(usize, u64)> {
    let mut found = Vec::new();
    for ds in 0..ep.shard_ports.len() {
        let mut s = Conn::from_url(ep.shard_url(ds)).await.expect("shard");
        for t in 0..2u64 {
            let n: Option<i64> = s
                .exec_first(
                    format!("SELECT COUNT(*) FROM {table}_{t} WHERE {key} = ?"),
                    (id,),
                )
                .await
                .expect("count on shard");
            for _ in 0..n.unwrap_or(0) {
                found.push((ds, t));
            }
        }
        s.disconnect().await.ok();
    }
    found
}

/// Every order of `user` with this note, by id, must sit on ds_(user % 2).t_order_(id % 2).
async fn check_orders(ep: &Endpoints, ids: &[(u64, u64)]) {
    for &(id, user) in ids {
        assert_eq!(
            locate(ep, "t_order", "order_id", id).await,
            vec![((user % 2) as usize, id % 2)],
            "order {id} of user {user}"
        );
    }
}

async fn last_insert_id(p: &mut Conn) -> u64 {
    let v: Option<u64> = p.query_first("SELECT LAST_INSERT_ID()").await.unwrap();
    v.expect("a row")
}

/// (order_id, user_id) of the orders with this note, in id order.
async fn orders_noted(p: &mut Conn, note: &str) -> Vec<(u64, u64)> {
    p.exec(
        "SELECT order_id, user_id FROM t_order WHERE note = ? ORDER BY order_id",
        (note,),
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_keys_route_and_report_last_insert_id() {
    let c = Cluster::start(false).await;
    let ep = c.endpoints();
    let mut p = Conn::from_url(ep.proxy_url()).await.expect("proxy");
    let mut all: HashSet<u64> = HashSet::new();

    // Text protocol, one row: the OK packet and LAST_INSERT_ID() carry the id.
    p.query_drop("INSERT INTO t_order (user_id, status, amount, created_at, note) VALUES (1, 'NEW', 9.99, '2026-03-01 10:00:00', 'single')")
        .await
        .unwrap();
    let ok_id = p.last_insert_id().expect("OK packet last_insert_id");
    assert_eq!(last_insert_id(&mut p).await, ok_id);
    let rows = orders_noted(&mut p, "single").await;
    assert_eq!(rows, vec![(ok_id, 1)]);
    check_orders(&ep, &rows).await;
    all.insert(ok_id);

    // No column list: the values follow the table's column order (schema catalog); NULL in
    // the key column gets an id.
    p.query_drop(
        "INSERT INTO t_order VALUES (NULL, 3, 'NEW', 1.25, NULL, '2026-03-01 10:00:00', 'nolist')",
    )
    .await
    .unwrap();
    let nolist = p.last_insert_id().expect("OK packet last_insert_id");
    let rows = orders_noted(&mut p, "nolist").await;
    assert_eq!(rows, vec![(nolist, 3)]);
    check_orders(&ep, &rows).await;
    all.insert(nolist);

    // Text protocol, many rows: distinct ids, each row where its id routes; the first id is
    // reported.
    let values: Vec<String> = (0..20)
        .map(|i| {
            format!(
                "({}, 'NEW', {i}.50, '2026-03-01 10:00:00', 'multi')",
                i % 4 + 1
            )
        })
        .collect();
    p.query_drop(format!(
        "INSERT INTO t_order (user_id, status, amount, created_at, note) VALUES {}",
        values.join(", ")
    ))
    .await
    .unwrap();
    assert_eq!(p.affected_rows(), 20);
    let first = p.last_insert_id().expect("OK packet last_insert_id");
    assert_eq!(last_insert_id(&mut p).await, first);
    let rows = orders_noted(&mut p, "multi").await;
    assert_eq!(rows.len(), 20);
    assert_eq!(rows[0].0, first, "the first row has the smallest id");
    // Ids follow row order: amount i.50 belongs to row i.
    let by_amount: Vec<u64> = p
        .query("SELECT order_id FROM t_order WHERE note = 'multi' ORDER BY amount")
        .await
        .unwrap();
    assert_eq!(by_amount, rows.iter().map(|r| r.0).collect::<Vec<_>>());
    let tables: HashSet<u64> = rows.iter().map(|r| r.0 % 2).collect();
    assert_eq!(tables.len(), 2, "20 ids spread over both tables: {rows:?}");
    check_orders(&ep, &rows).await;
    for r in &rows {
        assert!(all.insert(r.0), "duplicate id {}", r.0);
    }

    // NULL for the key column is replaced; explicit values are kept.
    p.query_drop("INSERT INTO t_order (order_id, user_id, status, amount, created_at, note) VALUES (NULL, 2, 'NEW', 1, '2026-03-01', 'null'), (7, 2, 'NEW', 1, '2026-03-01', 'explicit')")
        .await
        .unwrap();
    let gen = p.last_insert_id().expect("OK packet last_insert_id");
    assert_eq!(orders_noted(&mut p, "null").await, vec![(gen, 2)]);
    assert_eq!(orders_noted(&mut p, "explicit").await, vec![(7, 2)]);
    check_orders(&ep, &[(gen, 2), (7, 2)]).await;
    all.insert(gen);

    // Explicit keys only: LAST_INSERT_ID() is unchanged, as in MySQL.
    p.query_drop("INSERT INTO t_order (order_id, user_id, status, amount, created_at) VALUES (8, 3, 'NEW', 1, '2026-03-01')")
        .await
        .unwrap();
    assert_eq!(last_insert_id(&mut p).await, gen);
    // A failed insert does not change it either (status is NOT NULL without a default).
    let err = p
        .query_drop("INSERT INTO t_order (user_id, amount, created_at) VALUES (3, 1, '2026-03-01')")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("status"), "{err}");
    assert_eq!(last_insert_id(&mut p).await, gen);

    // Prepared statements: one row, a NULL key parameter, and several rows.
    let stmt = p
        .prep("INSERT INTO t_order (user_id, status, amount, created_at, note) VALUES (?, ?, ?, ?, ?)")
        .await
        .unwrap();
    let mut prepared = Vec::new();
    for user in 1..=6u64 {
        p.exec_drop(&stmt, (user, "NEW", 2.5, "2026-03-02 00:00:00", "prepared"))
            .await
            .unwrap();
        let id = p.last_insert_id().expect("OK packet last_insert_id");
        assert_eq!(last_insert_id(&mut p).await, id);
        prepared.push((id, user));
    }
    assert_eq!(orders_noted(&mut p, "prepared").await, prepared);
    check_orders(&ep, &prepared).await;
    for r in &prepared {
        assert!(all.insert(r.0), "duplicate id {}", r.0);
    }
    p.exec_drop(
        "INSERT INTO t_order (order_id, user_id, status, amount, created_at, note) VALUES (?, ?, 'NEW', 1, NOW(), 'prepared null')",
        (Value::NULL, 5u64),
    )
    .await
    .unwrap();
    let id = p.last_insert_id().expect("OK packet last_insert_id");
    assert_eq!(orders_noted(&mut p, "prepared null").await, vec![(id, 5)]);
    check_orders(&ep, &[(id, 5)]).await;
    assert!(all.insert(id));
    p.exec_drop(
        "INSERT INTO t_order (user_id, status, amount, created_at, note) VALUES (?, 'NEW', 1, NOW(), 'prepared multi'), (?, 'NEW', 2, NOW(), 'prepared multi'), (?, 'NEW', 3, NOW(), 'prepared multi')",
        (1u64, 2u64, 3u64),
    )
    .await
    .unwrap();
    let first = p.last_insert_id().expect("OK packet last_insert_id");
    let rows = orders_noted(&mut p, "prepared multi").await;
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].0, first);
    assert_eq!(last_insert_id(&mut p).await, first);
    check_orders(&ep, &rows).await;
    for r in &rows {
        assert!(all.insert(r.0), "duplicate id {}", r.0);
    }

    // t_order_item generates item_id (not a sharding column there).
    p.query_drop(format!(
        "INSERT INTO t_order_item (order_id, user_id, product_id, qty, price) VALUES ({first}, 1, 1, 1, 1.00), ({first}, 1, 2, 2, 2.00)"
    ))
    .await
    .unwrap();
    let item = p.last_insert_id().expect("OK packet last_insert_id");
    let items: Vec<u64> = p
        .exec(
            "SELECT item_id FROM t_order_item WHERE order_id = ? ORDER BY item_id",
            (first,),
        )
        .await
        .unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0], item);
    for i in &items {
        // Items follow their order: ds_(user_id % 2).t_order_item_(order_id % 2).
        assert_eq!(
            locate(&ep, "t_order_item", "item_id", *i).await,
            vec![(1, first % 2)]
        );
        assert!(all.insert(*i), "duplicate id {i}");
    }

    // Inside a transaction: generated, visible to the transaction, gone after rollback.
    p.query_drop("BEGIN").await.unwrap();
    p.query_drop("INSERT INTO t_order (user_id, status, amount, created_at, note) VALUES (4, 'NEW', 1, NOW(), 'txn')")
        .await
        .unwrap();
    let id = p.last_insert_id().expect("OK packet last_insert_id");
    assert_eq!(orders_noted(&mut p, "txn").await, vec![(id, 4)]);
    p.query_drop("ROLLBACK").await.unwrap();
    assert!(orders_noted(&mut p, "txn").await.is_empty());
    assert!(all.insert(id));

    // All ids came from one generator: distinct and with the configured worker id (0).
    for id in &all {
        assert_eq!(shardgate::id::decompose(*id).worker, 0, "{id}");
    }
    drop(p);
    c.stop().await;
}
