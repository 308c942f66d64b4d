//! Golden ship plans: which table anchors a join, what is shipped with which fetch, and the
//! rewritten statement (from the example rules, no catalog).

use super::ship::{ship_plan, temporary_ddl, ShipPlan};
use super::PlanCtx;
use crate::rules::parse;
use crate::sql::refs::Refs;
use crate::sql::SourceMap;

fn ship(sql: &str) -> Option<ShipPlan> {
    ship_with(sql, None)
}

/// A catalog of the example tables' join columns (kinds and collations).
fn catalog() -> crate::catalog::Snapshot {
    use crate::catalog::{ColKind, Column, TableSchema};
    let col = |name: &str, kind: ColKind, collation: Option<u16>| Column {
        name: name.into(),
        kind,
        primary_key: false,
        collation,
        auto_increment: false,
        ty: Default::default(),
    };
    let mut s = crate::catalog::Snapshot::new();
    let int = ColKind::Integer;
    for (t, cols) in [
        (
            "t_order_item",
            vec![
                col("item_id", int, None),
                col("product_id", int, None),
                col("qty", int, None),
            ],
        ),
        (
            "t_product",
            vec![
                col("product_id", int, None),
                col("name", ColKind::String, Some(45)),
                col("price", ColKind::Decimal, None),
            ],
        ),
        (
            "t_user",
            vec![
                col("user_id", int, None),
                col("name", ColKind::String, Some(46)),
                col("created_at", ColKind::Temporal, None),
            ],
        ),
        (
            "t_order",
            vec![
                col("user_id", int, None),
                col("created_at", ColKind::Temporal, None),
            ],
        ),
    ] {
        s.insert(("shop".into(), t.into()), TableSchema { columns: cols });
    }
    s
}

fn ship_with(sql: &str, catalog: Option<&crate::catalog::Snapshot>) -> Option<ShipPlan> {
    let cfg = parse(
        include_str!("../../examples/ecommerce/rules.toml"),
        "rules.toml",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let db = &cfg.databases["shop"];
    let stmt = crate::sql::parse_one(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let sm = SourceMap::new(sql);
    let refs = Refs::collect(&stmt, &sm);
    let ctx = PlanCtx {
        catalog,
        ..PlanCtx::bare(db, sql, &sm, &refs)
    };
    ship_plan(&ctx, &stmt)
}

#[test]
fn ship_plans_pick_anchor_fetches_and_rewrite() {
    // (SQL, anchor, [(shipped, fetch)], rewritten statement)
    let cases: &[(&str, &str, &[(&str, &str)], &str)] = &[
        (
            "SELECT i.qty, p.name FROM t_order_item i JOIN t_product p ON p.product_id = i.product_id AND p.price > 10 WHERE i.qty > 2 AND p.category = 'Books'",
            "t_order_item",
            &[("t_product", "SELECT * FROM t_product AS p WHERE (p.category = 'Books') AND (p.price > 10)")],
            "SELECT i.qty, p.name FROM t_order_item i JOIN __sg_ship_0 p ON p.product_id = i.product_id AND p.price > 10 WHERE i.qty > 2 AND p.category = 'Books'",
        ),
        // Unaliased: the copy is aliased with the original name.
        (
            "SELECT t_product.name FROM t_order JOIN t_product ON t_product.product_id = t_order.order_id",
            "t_order",
            &[("t_product", "SELECT * FROM t_product")],
            "SELECT t_product.name FROM t_order JOIN __sg_ship_0 AS t_product ON t_product.product_id = t_order.order_id",
        ),
        // LEFT JOIN: the null-supplying side takes only its own ON predicates, never WHERE's.
        (
            "SELECT * FROM t_user u LEFT JOIN t_order o ON o.user_id = u.user_id AND o.status = 'paid' WHERE o.amount IS NULL",
            "t_user",
            &[("t_order", "SELECT * FROM t_order AS o WHERE (o.status = 'paid')")],
            "SELECT * FROM t_user u LEFT JOIN __sg_ship_0 o ON o.user_id = u.user_id AND o.status = 'paid' WHERE o.amount IS NULL",
        ),
        // RIGHT JOIN: the anchor is the preserved right side.
        (
            "SELECT * FROM t_order_item i RIGHT JOIN t_product p ON i.product_id = p.product_id",
            "t_product",
            &[("t_order_item", "SELECT * FROM t_order_item AS i")],
            "SELECT * FROM __sg_ship_0 i RIGHT JOIN t_product p ON i.product_id = p.product_id",
        ),
        // Binding tables on the full key stay with the anchor; the broadcast table stays too.
        (
            "SELECT * FROM t_order o JOIN t_order_item i ON i.order_id = o.order_id AND i.user_id = o.user_id JOIN t_product p ON p.product_id = i.product_id JOIN t_region r ON r.region_id = o.region_id",
            "t_order",
            &[("t_product", "SELECT * FROM t_product AS p")],
            "SELECT * FROM t_order o JOIN t_order_item i ON i.order_id = o.order_id AND i.user_id = o.user_id JOIN __sg_ship_0 p ON p.product_id = i.product_id JOIN t_region r ON r.region_id = o.region_id",
        ),
        // Binding tables without the full key: the second is shipped.
        (
            "SELECT o.order_id FROM t_order o JOIN t_order_item i ON o.order_id = i.order_id",
            "t_order",
            &[("t_order_item", "SELECT * FROM t_order_item AS i")],
            "SELECT o.order_id FROM t_order o JOIN __sg_ship_0 i ON o.order_id = i.order_id",
        ),
        // A broadcast table preserved by LEFT JOIN anchors on one node.
        (
            "SELECT * FROM t_region r LEFT JOIN t_order o ON o.region_id = r.region_id",
            "t_region",
            &[("t_order", "SELECT * FROM t_order AS o")],
            "SELECT * FROM t_region r LEFT JOIN __sg_ship_0 o ON o.region_id = r.region_id",
        ),
        // Volatile functions, subqueries and other tables' columns are not pushed.
        (
            "SELECT * FROM t_user u, t_product p WHERE p.price > RAND() AND p.stock IN (SELECT 1) AND p.price > u.balance AND p.stock > 3",
            "t_user",
            &[("t_product", "SELECT * FROM t_product AS p WHERE (p.stock > 3)")],
            "SELECT * FROM t_user u, __sg_ship_0 p WHERE p.price > RAND() AND p.stock IN (SELECT 1) AND p.price > u.balance AND p.stock > 3",
        ),
        // A correlated subquery on part of the key: its table is copied whole.
        (
            "SELECT COUNT(*) FROM t_order o WHERE EXISTS (SELECT 1 FROM t_order_item WHERE t_order_item.order_id = o.order_id)",
            "t_order",
            &[("t_order_item", "SELECT * FROM t_order_item")],
            "SELECT COUNT(*) FROM t_order o WHERE EXISTS (SELECT 1 FROM __sg_ship_0 AS t_order_item WHERE t_order_item.order_id = o.order_id)",
        ),
        // Derived tables: their query's rows are shipped (typed from its result).
        (
            "SELECT d.s, u.name FROM (SELECT user_id, SUM(amount) AS s FROM t_order GROUP BY user_id) AS d JOIN t_user u ON u.user_id = d.user_id",
            "t_user",
            &[("d", "SELECT user_id, SUM(amount) AS s FROM t_order GROUP BY user_id")],
            "SELECT d.s, u.name FROM __sg_ship_0 AS d JOIN t_user u ON u.user_id = d.user_id",
        ),
        (
            "SELECT status, n FROM ( SELECT status, COUNT(*) n FROM t_order GROUP BY status ) d WHERE n > 2",
            "(one node)",
            &[("d", "SELECT status, COUNT(*) n FROM t_order GROUP BY status")],
            "SELECT status, n FROM __sg_ship_0 d WHERE n > 2",
        ),
        // CTEs: shipped like derived tables; a later one is fetched with the ones before it.
        (
            "WITH s AS (SELECT user_id, SUM(amount) AS total FROM t_order GROUP BY user_id), t AS (SELECT * FROM s WHERE total > 10) SELECT u.name, t.total FROM t_user u JOIN t ON t.user_id = u.user_id",
            "t_user",
            &[("t", "WITH s AS (SELECT user_id, SUM(amount) AS total FROM t_order GROUP BY user_id) SELECT * FROM s WHERE total > 10")],
            " SELECT u.name, t.total FROM t_user u JOIN __sg_ship_0 AS t ON t.user_id = u.user_id",
        ),
    ];
    for (sql, anchor, shipped, rewritten) in cases {
        let sp = ship(sql).unwrap_or_else(|| panic!("no ship plan for {sql}"));
        assert_eq!(sp.anchor, *anchor, "{sql}\n{sp}");
        let got: Vec<(&str, &str)> = sp
            .shipped
            .iter()
            .map(|s| (s.logical.as_str(), s.fetch_sql.as_str()))
            .collect();
        assert_eq!(got, *shipped, "{sql}\n{sp}");
        assert_eq!(sp.sql, *rewritten, "{sql}");
    }
}

#[test]
fn shapes_without_ship_plans() {
    for sql in [
        // One node already, or co-located.
        "SELECT * FROM t_order WHERE user_id = 1",
        "SELECT * FROM t_order o JOIN t_order_item i ON i.order_id = o.order_id AND i.user_id = o.user_id",
        "SELECT * FROM t_order o JOIN t_region r ON r.region_id = o.region_id",
        // Nested joins are not shipped (yet), nor derived tables with column lists.
        "SELECT * FROM (SELECT order_id FROM t_order) d (x) JOIN t_product p ON p.product_id = d.x",
        "SELECT * FROM t_order o JOIN (t_product p JOIN t_user u ON u.user_id = p.product_id) ON p.product_id = o.order_id",
        // Recursive CTEs, CTEs with column lists or named in a subquery.
        "WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r JOIN t_order o ON o.user_id = r.n",
        "WITH c (x) AS (SELECT user_id FROM t_order) SELECT * FROM c",
        "WITH c AS (SELECT user_id FROM t_order) SELECT * FROM t_user u WHERE u.user_id IN (SELECT user_id FROM c)",
        // Placeholders must be bound first.
        "SELECT * FROM t_order o JOIN t_product p ON p.product_id = o.order_id WHERE p.price > ?",
    ] {
        assert!(ship(sql).is_none(), "{sql}");
    }
}

#[test]
fn temporary_ddl_keeps_columns_and_keys_but_not_foreign_keys() {
    let ddl = "CREATE TABLE `t_order_item_1` (\n  `item_id` bigint(20) NOT NULL,\n  `order_id` bigint(20) NOT NULL,\n  PRIMARY KEY (`item_id`),\n  KEY `o` (`order_id`),\n  CONSTRAINT `fk` FOREIGN KEY (`order_id`) REFERENCES `t_order_1` (`order_id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci";
    assert_eq!(
        temporary_ddl(ddl, "__sg_ship_0").as_deref(),
        Some("CREATE TEMPORARY TABLE `__sg_ship_0` (\n  `item_id` bigint(20) NOT NULL,\n  `order_id` bigint(20) NOT NULL,\n  PRIMARY KEY (`item_id`),\n  KEY `o` (`order_id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci")
    );
    let ansi = "CREATE TABLE \"a\"\"b\" (\n  \"x\" int(11) DEFAULT NULL\n)";
    assert_eq!(
        temporary_ddl(ansi, "__sg_ship_1").as_deref(),
        Some("CREATE TEMPORARY TABLE \"__sg_ship_1\" (\n  \"x\" int(11) DEFAULT NULL\n)")
    );
    assert_eq!(temporary_ddl("CREATE VIEW v AS SELECT 1", "x"), None);
}

#[test]
fn derived_ddl_types_columns_from_result_metadata() {
    use crate::result::ColumnDef;
    use mysql_common::constants::{ColumnFlags, ColumnType};
    let col = |name: &str, ty: ColumnType, len: u32, dec: u8, cs: u16, flags: ColumnFlags| {
        let mut c = ColumnDef::text(name);
        c.column_type = ty;
        c.column_length = len;
        c.decimals = dec;
        c.charset = cs;
        c.flags = flags;
        c
    };
    let nn = ColumnFlags::NOT_NULL_FLAG;
    let cols = [
        col("user_id", ColumnType::MYSQL_TYPE_LONGLONG, 20, 0, 63, nn),
        col(
            "s",
            ColumnType::MYSQL_TYPE_NEWDECIMAL,
            34,
            2,
            63,
            ColumnFlags::empty(),
        ),
        col("status", ColumnType::MYSQL_TYPE_VAR_STRING, 64, 0, 45, nn),
        col("at", ColumnType::MYSQL_TYPE_DATETIME, 26, 6, 63, nn),
        col(
            "n",
            ColumnType::MYSQL_TYPE_LONGLONG,
            21,
            0,
            63,
            nn | ColumnFlags::UNSIGNED_FLAG,
        ),
        col(
            "note",
            ColumnType::MYSQL_TYPE_BLOB,
            262_140,
            0,
            45,
            ColumnFlags::empty(),
        ),
    ];
    assert_eq!(
        super::ship::derived_ddl("__sg_ship_0", &cols).as_deref(),
        Some("CREATE TEMPORARY TABLE __sg_ship_0 (`user_id` BIGINT NOT NULL, `s` DECIMAL(32,2) NULL, `status` VARCHAR(16) COLLATE utf8mb4_general_ci NOT NULL, `at` DATETIME(6) NOT NULL, `n` BIGINT UNSIGNED NOT NULL, `note` MEDIUMTEXT COLLATE utf8mb4_general_ci NULL)")
    );
}

#[test]
fn shipped_tables_are_reduced_by_the_anchors_join_values() {
    let cat = catalog();
    // (SQL, per shipped table: (column, keys query) or None)
    let cases: &[(&str, &[Option<(&str, &str)>])] = &[
        (
            "SELECT * FROM t_order_item i JOIN t_product p ON p.product_id = i.product_id WHERE i.qty > 3 AND p.price > 1",
            &[Some(("p.product_id", "SELECT DISTINCT i.product_id FROM t_order_item AS i WHERE (i.qty > 3)"))],
        ),
        (
            "SELECT * FROM t_order_item JOIN t_product ON t_order_item.product_id = t_product.product_id",
            &[Some(("t_product.product_id", "SELECT DISTINCT t_order_item.product_id FROM t_order_item"))],
        ),
        // LEFT JOIN: by its own ON.
        (
            "SELECT * FROM t_order_item i LEFT JOIN t_product p ON i.product_id = p.product_id",
            &[Some(("p.product_id", "SELECT DISTINCT i.product_id FROM t_order_item AS i"))],
        ),
        // Strings of different collations, temporals, unqualified columns: not reduced.
        (
            "SELECT * FROM t_user u JOIN t_product p ON p.name = u.name",
            &[None],
        ),
        (
            "SELECT * FROM t_user u JOIN t_order o ON o.created_at = u.created_at",
            &[None],
        ),
        // A RIGHT JOIN's null-supplying side is not reduced.
        (
            "SELECT * FROM t_order_item i RIGHT JOIN t_product p ON i.product_id = p.product_id",
            &[None],
        ),
    ];
    for (sql, want) in cases {
        let sp = ship_with(sql, Some(&cat)).unwrap_or_else(|| panic!("no ship plan for {sql}"));
        let got: Vec<Option<(&str, &str)>> = sp
            .shipped
            .iter()
            .map(|s| {
                s.reduce
                    .as_ref()
                    .map(|r| (r.column.as_str(), r.keys_sql.as_str()))
            })
            .collect();
        assert_eq!(got, *want, "{sql}\n{sp}");
    }
}

#[test]
fn explain_prints_the_ship_plan_then_the_rewritten_plan() {
    let cfg = parse(
        include_str!("../../examples/ecommerce/rules.toml"),
        "rules.toml",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let db = &cfg.databases["shop"];
    let text = super::explain_text(
        db,
        "SELECT i.qty, p.name FROM t_order_item i JOIN t_product p ON p.product_id = i.product_id WHERE p.price > 10",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "ShipJoin anchor=t_order_item");
    assert_eq!(
        lines[1],
        "  ship t_product -> __sg_ship_0: SELECT * FROM t_product AS p WHERE (p.price > 10)"
    );
    assert!(
        lines
            .iter()
            .any(|l| l
                .contains("ds_1: SELECT i.qty, p.name FROM t_order_item_1 i JOIN __sg_ship_0 p")),
        "{text}"
    );
    // Plans that need no shipping print as before; unsupported shapes keep their error.
    assert!(
        super::explain_text(db, "SELECT * FROM t_order WHERE user_id = 1")
            .unwrap_or_default()
            .starts_with("Multicast")
    );
    assert_eq!(
        super::explain_text(
            db,
            "SELECT ROW_NUMBER() OVER (ORDER BY user_id) FROM t_order"
        )
        .map_err(|e| e.code),
        Err(1235)
    );
}

/// Tables sharded differently that each route to one node of one data source are joined
/// there, in one query (no shipping).
#[test]
fn single_node_joins_push_down_whole() {
    let cfg = parse(
        include_str!("../../examples/ecommerce/rules.toml"),
        "rules.toml",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let db = &cfg.databases["shop"];
    let cases: &[(&str, &str)] = &[
        (
            "SELECT u.name, o.amount FROM t_user u JOIN t_order o ON o.user_id = u.user_id WHERE u.user_id = 3 AND o.user_id = 3 AND o.order_id = 1001",
            "SELECT u.name, o.amount FROM t_user u JOIN t_order_1 o ON o.user_id = u.user_id WHERE u.user_id = 3 AND o.user_id = 3 AND o.order_id = 1001",
        ),
        (
            "SELECT * FROM t_user, t_product WHERE t_user.user_id = 1 AND t_product.product_id = 3",
            "SELECT * FROM t_user, t_product WHERE t_user.user_id = 1 AND t_product.product_id = 3",
        ),
    ];
    for (sql, want) in cases {
        let p = super::explain(db, sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        assert_eq!(p.nodes.len(), 1, "{sql}\n{p}");
        assert_eq!(p.nodes[0].data_source, "ds_1", "{sql}");
        assert_eq!(p.nodes[0].sql, *want, "{sql}");
    }
    // On different data sources, or one table on several nodes: not one query.
    for sql in [
        "SELECT * FROM t_user u JOIN t_product p ON p.product_id = u.user_id WHERE u.user_id = 3 AND p.product_id = 2",
        "SELECT * FROM t_user u JOIN t_order o ON o.user_id = u.user_id WHERE u.user_id = 3",
        "SELECT * FROM t_order a JOIN t_order b ON a.region_id = b.region_id WHERE a.user_id = 1 AND a.order_id = 1 AND b.user_id = 1 AND b.order_id = 2",
    ] {
        assert!(super::explain(db, sql).is_err(), "{sql}");
    }
}
