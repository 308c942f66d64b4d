//! Cross-shard aggregation, GROUP BY, HAVING, DISTINCT and paging after grouping: every shape
//! must equal the unsharded oracle, through text and prepared statements.

use crate::diff::{check_all, connect, ordered, unordered, Case};
use mysql_async::Value;

pub(crate) fn cases() -> Vec<Case> {
    vec![
        // Scalar aggregates, including over no rows.
        ordered("SELECT COUNT(*) FROM t_order"),
        ordered("SELECT COUNT(*), COUNT(note), SUM(amount), MIN(amount), MAX(amount), AVG(amount) FROM t_order"),
        ordered("SELECT COUNT(*), SUM(amount), AVG(amount), MIN(status), MAX(created_at) FROM t_order WHERE amount < 0"),
        ordered("SELECT AVG(region_id), SUM(region_id), AVG(user_id) FROM t_order"),
        ordered("SELECT MIN(name), MAX(name) FROM t_user"),
        ordered("SELECT MIN(note), MAX(note) FROM t_order"),
        ordered("SELECT SUM(qty * price), SUM(qty), MAX(price) - MIN(price) FROM t_order_item"),
        ordered("SELECT SUM(amount) / COUNT(*), ROUND(AVG(amount), 2), COUNT(*) DIV 7, COUNT(*) % 7 FROM t_order"),
        ordered("SELECT CASE WHEN COUNT(*) > 100 THEN 'many' ELSE 'few' END AS size FROM t_order"),
        ordered("SELECT COUNT(DISTINCT status), COUNT(DISTINCT user_id), SUM(DISTINCT region_id), AVG(DISTINCT region_id) FROM t_order"),
        ordered("SELECT COUNT(DISTINCT status, region_id) FROM t_order"),
        ordered("SELECT COUNT(*) FROM t_order WHERE user_id IN (1, 2, 3)"),
        ordered("SELECT SUM(amount) / 0, COUNT(*) / 0 FROM t_order"),
        // GROUP BY: collation groups ('PAID' = 'paid' = 'paid '), positions, aliases, expressions.
        ordered("SELECT status, COUNT(*) FROM t_order GROUP BY status"),
        ordered("SELECT status AS s, COUNT(*) AS n, SUM(amount), AVG(amount) FROM t_order GROUP BY s"),
        ordered("SELECT UPPER(status), COUNT(*) FROM t_order GROUP BY 1"),
        ordered("SELECT region_id, COUNT(*), SUM(amount) FROM t_order GROUP BY region_id"),
        ordered("SELECT user_id % 3 AS b, COUNT(*) FROM t_order GROUP BY user_id % 3"),
        ordered("SELECT YEAR(created_at) y, MONTH(created_at) m, COUNT(*) FROM t_order GROUP BY y, m"),
        ordered("SELECT status, region_id, COUNT(*) FROM t_order GROUP BY status, region_id"),
        ordered("SELECT region_id, COUNT(DISTINCT user_id), AVG(DISTINCT amount), COUNT(DISTINCT status) FROM t_order GROUP BY region_id"),
        // HAVING, including aggregates not in the select list and aliases.
        ordered("SELECT status, COUNT(*) AS n FROM t_order GROUP BY status HAVING n > 20"),
        ordered("SELECT status FROM t_order GROUP BY status HAVING SUM(amount) > 1000 AND MAX(amount) > 10"),
        ordered("SELECT user_id, SUM(amount) FROM t_order GROUP BY user_id HAVING COUNT(*) >= 8"),
        // ORDER BY after grouping; LIMIT/OFFSET after grouping.
        ordered("SELECT user_id, SUM(amount) AS spend FROM t_order GROUP BY user_id ORDER BY spend DESC, user_id LIMIT 10"),
        ordered("SELECT status, COUNT(*) FROM t_order GROUP BY status ORDER BY COUNT(*) DESC, status LIMIT 2"),
        ordered("SELECT user_id, COUNT(*) FROM t_order GROUP BY user_id ORDER BY user_id DESC LIMIT 5, 5"),
        ordered("SELECT user_id, COUNT(*) FROM t_order GROUP BY user_id ORDER BY 1 LIMIT 3 OFFSET 4"),
        ordered("SELECT region_id, AVG(amount) a FROM t_order GROUP BY region_id ORDER BY a"),
        // DISTINCT.
        unordered("SELECT DISTINCT status FROM t_order"),
        // `*` in a DISTINCT select list: the catalog's columns.
        // (The shards group through a temporary table; one server skips it for a select list
        // holding the primary key, so some flag bits differ.)
        ordered("SELECT DISTINCT * FROM t_product ORDER BY product_id").temp_flags(),
        ordered("SELECT DISTINCT o.* FROM t_order o WHERE amount > 1900 ORDER BY order_id LIMIT 5").temp_flags(),
        unordered("SELECT DISTINCT *, amount > 1000 FROM t_order WHERE user_id < 5").temp_flags(),
        ordered("SELECT DISTINCT status FROM t_order ORDER BY status"),
        unordered("SELECT DISTINCT user_id, region_id FROM t_order"),
        ordered("SELECT DISTINCT region_id FROM t_order ORDER BY region_id DESC LIMIT 3"),
        unordered("SELECT DISTINCT COUNT(*) FROM t_order GROUP BY user_id"),
        unordered("SELECT DISTINCT name FROM t_user"),
        // Collations the result metadata does not report (it says utf8mb4_general_ci).
        ordered("SELECT name FROM t_user ORDER BY name COLLATE utf8mb4_bin, user_id"),
        ordered("SELECT status COLLATE utf8mb4_bin AS s, COUNT(*) FROM t_order GROUP BY s ORDER BY s"),
        ordered("SELECT DISTINCT name COLLATE utf8mb4_bin AS n FROM t_user ORDER BY n"),
        // Grouping on other tables.
        ordered("SELECT category, COUNT(*), SUM(stock), AVG(price) FROM t_product GROUP BY category"),
        ordered("SELECT product_id, SUM(qty), COUNT(DISTINCT order_id) FROM t_order_item GROUP BY product_id ORDER BY SUM(qty) DESC, product_id LIMIT 5"),
        // GROUP_CONCAT: ORDER BY, SEPARATOR, several arguments, NULLs skipped, every spelling
        // kept ('PAID', 'paid', 'paid '), DISTINCT (sorted), next to other aggregates.
        ordered("SELECT user_id, GROUP_CONCAT(status ORDER BY order_id) FROM t_order GROUP BY user_id"),
        ordered("SELECT user_id, GROUP_CONCAT(order_id ORDER BY amount DESC, order_id SEPARATOR ';'), COUNT(*) FROM t_order GROUP BY user_id"),
        ordered("SELECT region_id, GROUP_CONCAT(order_id, ':', note ORDER BY order_id SEPARATOR '') AS notes, SUM(amount) FROM t_order GROUP BY region_id"),
        ordered("SELECT GROUP_CONCAT(DISTINCT region_id), GROUP_CONCAT(DISTINCT user_id ORDER BY user_id DESC), COUNT(DISTINCT status) FROM t_order"),
        ordered("SELECT user_id % 4 AS b, GROUP_CONCAT(DISTINCT amount ORDER BY amount) FROM t_order GROUP BY b HAVING LENGTH(GROUP_CONCAT(DISTINCT amount ORDER BY amount)) > 10"),
        ordered("SELECT GROUP_CONCAT(note ORDER BY order_id) FROM t_order WHERE amount < 0"),
        ordered("SELECT region_id, GROUP_CONCAT(INTERVAL(amount, 100, 1000) ORDER BY order_id SEPARATOR '') FROM t_order GROUP BY region_id"),
        ordered("SELECT UPPER(GROUP_CONCAT(DISTINCT name ORDER BY name SEPARATOR ', ')) FROM t_user WHERE user_id < 12"),
        // Parameters.
        ordered("SELECT status, COUNT(*) FROM t_order WHERE amount > ? GROUP BY status HAVING COUNT(*) > ?")
            .with(vec![Value::from("50.5"), Value::Int(3)]),
        ordered("SELECT user_id, SUM(amount) FROM t_order GROUP BY user_id ORDER BY SUM(amount) DESC, user_id LIMIT ?")
            .with(vec![Value::Int(4)]),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregates_match_oracle() {
    let ep = crate::harness::shared();
    let (mut p, mut o) = connect(&ep).await;
    check_all(&mut p, &mut o, &cases()).await;
    // group_concat_max_len cuts the result on both, on a character boundary.
    for c in [&mut p, &mut o] {
        mysql_async::prelude::Queryable::query_drop(c, "SET SESSION group_concat_max_len = 7")
            .await
            .unwrap();
    }
    check_all(
        &mut p,
        &mut o,
        &[
            ordered("SELECT user_id, GROUP_CONCAT(status ORDER BY order_id) FROM t_order GROUP BY user_id"),
            ordered("SELECT GROUP_CONCAT(name ORDER BY user_id) FROM t_user"),
        ],
    )
    .await;
}

/// A grouped query over several nodes needs no more connections than it has nodes per data
/// source (its metadata query runs first on one of them): one connection per pool works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grouped_queries_work_with_one_connection_per_data_source() {
    let (addr, _stop, _) = crate::harness::proxy_over_shared(|c| {
        for ds in c.data_sources.values_mut() {
            ds.pool_size = 1;
        }
    })
    .await;
    let mut p = mysql_async::Conn::from_url(format!("mysql://root:root@{addr}/shop"))
        .await
        .expect("connect");
    let ep = crate::harness::shared();
    let (_, mut o) = crate::diff::connect(&ep).await;
    let cases = [
        ordered(
            "SELECT status, COUNT(*), SUM(amount) FROM t_order GROUP BY status ORDER BY 2 DESC, 1",
        ),
        ordered("SELECT COUNT(DISTINCT user_id), MAX(amount) FROM t_order"),
        unordered("SELECT DISTINCT region_id FROM t_order"),
    ];
    check_all(&mut p, &mut o, &cases).await;
}
