//! Golden plans: SQL in → route kind and per-node SQL out (pinned), from the example rules.

use super::explain;
use crate::rules::{parse, Config};

fn example() -> Config {
    parse(
        include_str!("../../examples/ecommerce/rules.toml"),
        "rules.toml",
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// (SQL, node SQL of the first node, number of nodes including the metadata query).
#[test]
fn grouped_queries_push_partials_and_group_keys() {
    let cfg = example();
    let db = &cfg.databases["shop"];
    let cases: &[(&str, &str, usize)] = &[
        (
            "SELECT COUNT(*) FROM t_order",
            "SELECT COUNT(*) AS __sg_0 FROM t_order_0",
            5,
        ),
        (
            "SELECT status, COUNT(*) AS n, AVG(amount) FROM t_order WHERE amount > 10 GROUP BY status",
            "SELECT status AS __sg_0, COUNT(*) AS __sg_1, SUM(amount) AS __sg_2, COUNT(amount) AS __sg_3 FROM t_order_0 WHERE amount > 10 GROUP BY __sg_0 ORDER BY __sg_0",
            5,
        ),
        (
            "SELECT user_id, COUNT(DISTINCT status), SUM(amount) FROM t_order GROUP BY 1 ORDER BY 1 DESC LIMIT 3",
            "SELECT user_id AS __sg_0, status AS __sg_1, SUM(amount) AS __sg_2 FROM t_order_0 GROUP BY __sg_0, __sg_1 ORDER BY __sg_0 DESC, __sg_1",
            5,
        ),
        (
            "SELECT user_id, GROUP_CONCAT(status, '-', (amount) ORDER BY amount DESC SEPARATOR ';') FROM t_order GROUP BY user_id",
            "SELECT user_id AS __sg_0, CAST(status AS BINARY) AS __sg_1, CAST('-' AS BINARY) AS __sg_2, CAST((amount) AS BINARY) AS __sg_3, amount AS __sg_4, COUNT(*) AS __sg_5, MAX(@@SESSION.group_concat_max_len) AS __sg_6 FROM t_order_0 GROUP BY __sg_0, __sg_1, __sg_2, __sg_3, __sg_4 ORDER BY __sg_0, __sg_1, __sg_2, __sg_3, __sg_4",
            5,
        ),
        (
            "SELECT GROUP_CONCAT(DISTINCT status) FROM t_order",
            "SELECT status AS __sg_0, COUNT(*) AS __sg_1, MAX(@@SESSION.group_concat_max_len) AS __sg_2 FROM t_order_0 GROUP BY __sg_0 ORDER BY __sg_0",
            5,
        ),
        (
            "SELECT DISTINCT o.status FROM t_order o",
            "SELECT o.status AS __sg_0 FROM t_order_0 o GROUP BY __sg_0 ORDER BY __sg_0",
            5,
        ),
        (
            "SELECT status, SUM(amount) s FROM t_order GROUP BY status HAVING COUNT(*) > 1 ORDER BY s DESC",
            "SELECT status AS __sg_0, SUM(amount) AS __sg_1, COUNT(*) AS __sg_2 FROM t_order_0 GROUP BY __sg_0 ORDER BY __sg_0",
            5,
        ),
    ];
    for (sql, first, n) in cases {
        let p = explain(db, sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        assert!(p.merge.aggregate.is_some(), "{sql}");
        assert_eq!(p.nodes.len(), *n, "{sql}\n{p}");
        assert_eq!(p.nodes[0].sql, *first, "{sql}");
        let meta = &p.nodes[n - 1];
        assert!(meta.sql.ends_with("LIMIT 0"), "{sql}: {}", meta.sql);
    }
}

#[test]
fn single_node_grouped_queries_pass_through() {
    let cfg = example();
    let db = &cfg.databases["shop"];
    let p = explain(
        db,
        "SELECT status, COUNT(*) FROM t_order WHERE user_id = 3 AND order_id = 1001 GROUP BY status",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(p.merge.aggregate.is_none());
    assert_eq!(
        p.nodes[0].sql,
        "SELECT status, COUNT(*) FROM t_order_1 WHERE user_id = 3 AND order_id = 1001 GROUP BY status"
    );
}

#[test]
fn unsupported_grouping_answers_1235() {
    let cfg = example();
    let db = &cfg.databases["shop"];
    for sql in [
        "SELECT GROUP_CONCAT(status LIMIT 2) FROM t_order",
        "SELECT GROUP_CONCAT(DISTINCT status ORDER BY amount) FROM t_order",
        "SELECT GROUP_CONCAT(status ORDER BY 1) FROM t_order",
        "SELECT status, COUNT(*) FROM t_order GROUP BY status WITH ROLLUP",
        "SELECT DISTINCT * FROM t_order",
    ] {
        let e = explain(db, sql).expect_err(sql);
        assert_eq!(e.code, 1235, "{sql}: {e}");
    }
}

#[test]
fn ddl_names_every_physical_table() {
    let cfg = example();
    let db = &cfg.databases["shop"];
    // (SQL, number of nodes, SQL on the first node) — or None when it answers 1235.
    let cases: &[(&str, Option<(usize, &str)>)] = &[
        ("DROP TABLE t_order", Some((4, "DROP TABLE t_order_0"))),
        (
            "DROP INDEX ix ON t_order",
            Some((4, "DROP INDEX ix ON t_order_0")),
        ),
        ("TRUNCATE TABLE t_user", Some((2, "TRUNCATE TABLE t_user"))),
        (
            "CREATE INDEX ix ON t_order_item (qty)",
            Some((4, "CREATE INDEX ix ON t_order_item_0 (qty)")),
        ),
        (
            "RENAME TABLE t_x TO t_y",
            Some((1, "RENAME TABLE t_x TO t_y")),
        ),
        ("RENAME TABLE t_order TO t_y", None),
        ("ALTER TABLE t_order RENAME TO t_y", None),
    ];
    for (sql, want) in cases {
        match (explain(db, sql), want) {
            (Ok(p), Some((n, first))) => {
                assert_eq!(p.nodes.len(), *n, "{sql}\n{p}");
                assert_eq!(p.nodes[0].sql, *first, "{sql}");
            }
            (Err(e), None) => assert_eq!(e.code, 1235, "{sql}: {e}"),
            (other, _) => panic!("{sql}: {other:?}"),
        }
    }
}

/// `INSERT ... SET` into a sharded table is planned as the `VALUES` form; what cannot be
/// rewritten safely keeps the 1235.
#[test]
fn insert_set_becomes_a_values_row() {
    let cfg = example();
    let db = &cfg.databases["shop"];
    let cases: &[(&str, Option<(&str, &str)>)] = &[
        (
            "INSERT INTO t_user SET user_id = 3, name = (SELECT 'a,b'), created_at = NOW()",
            Some(("ds_1", "INSERT INTO t_user (user_id, name, created_at) VALUES (3, (SELECT 'a,b'), NOW())")),
        ),
        (
            "insert ignore into t_user set `user_id` = 2, balance = ((1 + 2)) * 3 on duplicate key update balance = 0;",
            Some(("ds_0", "insert ignore into t_user (`user_id`, balance) VALUES (2, ((1 + 2)) * 3) on duplicate key update balance = 0;")),
        ),
        ("INSERT INTO t_user SET /* c */ user_id = 3", None),
        (
            "INSERT INTO t_user SET user_id = 3 /* c */, name = 'x'",
            Some(("ds_1", "INSERT INTO t_user (user_id, name) VALUES (3 /* c */, 'x')")),
        ),
        // A line comment inside a value would swallow the rest of the row: refused.
        ("INSERT INTO t_user SET user_id = 3 -- c
, name = 'x'", None),
    ];
    for (sql, want) in cases {
        match (explain(db, sql), want) {
            (Ok(p), Some((ds, node))) => {
                assert_eq!(p.nodes.len(), 1, "{sql}");
                assert_eq!(
                    (p.nodes[0].data_source.as_str(), p.nodes[0].sql.as_str()),
                    (*ds, *node),
                    "{sql}"
                );
            }
            (Err(e), None) => assert!(e.message.contains("INSERT ... SET"), "{sql}: {e}"),
            (got, _) => panic!("{sql}: {got:?}"),
        }
    }
}
