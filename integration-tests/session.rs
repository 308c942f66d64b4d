//! Session features: proxy-side variables, temporary tables, SQL-level PREPARE/EXECUTE.

use crate::diff::{check_all, connect, ordered, text};
use mysql_async::prelude::Queryable;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autocommit_variable_reflects_the_proxy_session() {
    let ep = crate::harness::shared();
    let (mut p, _) = connect(&ep).await;
    let v: Option<i64> = p.query_first("SELECT @@autocommit").await.unwrap();
    assert_eq!(v, Some(1));
    p.query_drop("SET autocommit = 0").await.unwrap();
    let v: Option<(i64, i64)> = p
        .query_first("SELECT @@autocommit, @@session.autocommit")
        .await
        .unwrap();
    assert_eq!(v, Some((0, 0)));
    p.query_drop("ROLLBACK").await.unwrap();
    p.query_drop("SET autocommit = 1").await.unwrap();
    let v: Option<i64> = p.query_first("SELECT @@autocommit").await.unwrap();
    assert_eq!(v, Some(1));
}

/// Session functions that only start a select-list item (`CONNECTION_ID() <> @x`) are
/// replaced without an alias; alone they keep their name as the column name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_functions_inside_select_list_expressions() {
    let ep = crate::harness::shared();
    let (mut p, _) = connect(&ep).await;
    let id: Option<i64> = p.query_first("SELECT CONNECTION_ID()").await.unwrap();
    let id = id.expect("a row");
    p.query_drop(format!("SET @first = {}", id + 1))
        .await
        .unwrap();
    let v: Option<(i64, i64, i64, i64)> = p
        .query_first(
            "SELECT CONNECTION_ID() <> @first, DATABASE() = 'shop', LAST_INSERT_ID() + 1, \
             @@autocommit + 0",
        )
        .await
        .unwrap();
    assert_eq!(v, Some((1, 1, 1, 1)));
    let r = p
        .query_iter("SELECT CONNECTION_ID(), DATABASE()")
        .await
        .unwrap();
    let names: Vec<String> = r
        .columns_ref()
        .iter()
        .map(|c| c.name_str().into_owned())
        .collect();
    assert_eq!(names, ["CONNECTION_ID()", "DATABASE()"]);
    r.drop_result().await.unwrap();
}

/// SELECT ... INTO @vars is session state: visible to the session's next statements (on
/// any backend connection), never to another client that gets the same pooled connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn select_into_user_variables_stays_in_the_session() {
    let ep = crate::harness::shared();
    let (mut a, _) = connect(&ep).await;
    a.query_drop("SELECT 42, 'Émile 東京', NULL INTO @sel_a, @sel_b, @sel_c")
        .await
        .unwrap();
    assert_eq!(a.affected_rows(), 1);
    a.query_drop("SELECT MAX(user_id) >= 1 FROM t_user INTO @sel_sharded")
        .await
        .unwrap();
    let v: Option<(i64, String, Option<i64>, i64)> = a
        .query_first("SELECT @sel_a, @sel_b, @sel_c, @sel_sharded FROM t_user WHERE user_id = 1")
        .await
        .unwrap();
    assert_eq!(v, Some((42, "Émile 東京".to_string(), None, 1)));
    let e = a
        .query_drop("SELECT user_id FROM t_user INTO @sel_many")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("1172"), "{e}");
    // Other clients never see them, whichever pooled connection they get.
    for _ in 0..4 {
        let (mut b, _) = connect(&ep).await;
        let v: Option<Option<i64>> = b.query_first("SELECT @sel_a").await.unwrap();
        assert_eq!(v, Some(None));
        let _ = b.disconnect().await;
    }
}

/// KILL names proxy sessions (as CONNECTION_ID() gives them), never a backend thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_names_proxy_sessions() {
    let ep = crate::harness::shared();
    let (mut p, _) = connect(&ep).await;
    let id: Option<i64> = p.query_first("SELECT CONNECTION_ID()").await.unwrap();
    let id = id.expect("a row");
    // KILL QUERY of the session itself stops only the KILL.
    p.query_drop(format!("KILL QUERY {id}")).await.unwrap();
    for sql in ["KILL 4000000000", "KILL QUERY 4000000001"] {
        let e = p.query_drop(sql).await.unwrap_err();
        assert!(e.to_string().contains("1094"), "{sql}: {e}");
    }
    let v: Option<i64> = p.query_first("SELECT 1").await.unwrap();
    assert_eq!(v, Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_tables_stay_on_the_session_connection() {
    let ep = crate::harness::shared();
    let (mut p, mut o) = connect(&ep).await;
    for c in [&mut p, &mut o] {
        c.query_drop("CREATE TEMPORARY TABLE tmp_ids (id INT PRIMARY KEY, note VARCHAR(10))")
            .await
            .unwrap();
        c.query_drop("INSERT INTO tmp_ids VALUES (1, 'a'), (2, 'b')")
            .await
            .unwrap();
        c.query_drop("BEGIN").await.unwrap();
        c.query_drop("INSERT INTO tmp_ids VALUES (3, 'c')")
            .await
            .unwrap();
        c.query_drop("ROLLBACK").await.unwrap();
    }
    // Many statements later, and after the transaction, the table is still there.
    for _ in 0..5 {
        let pr = text(&mut p, "SELECT * FROM tmp_ids ORDER BY id").await;
        let or = text(&mut o, "SELECT * FROM tmp_ids ORDER BY id").await;
        assert_eq!(pr.as_ref().map(|a| &a.rows), or.as_ref().map(|a| &a.rows));
        assert_eq!(pr.unwrap().rows.len(), 2);
    }
    // A second session does not see it.
    let (mut p2, _) = connect(&ep).await;
    let e = text(&mut p2, "SELECT * FROM tmp_ids").await.unwrap_err();
    assert_eq!(e.0, 1146);
    p.query_drop("DROP TEMPORARY TABLE tmp_ids").await.unwrap();
    let e = text(&mut p, "SELECT * FROM tmp_ids").await.unwrap_err();
    assert_eq!(e.0, 1146);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_level_prepare_execute_routes_like_literals() {
    let ep = crate::harness::shared();
    let (mut p, mut o) = connect(&ep).await;
    for c in [&mut p, &mut o] {
        c.query_drop("SET @uid = 3, @oid = '1001', @lo = 1.5, @name = 'Émile'")
            .await
            .unwrap();
        c.query_drop(
            "SET @q = 'SELECT order_id, status FROM t_order WHERE user_id = ? ORDER BY order_id'",
        )
        .await
        .unwrap();
        c.query_drop("PREPARE by_user FROM @q").await.unwrap();
        c.query_drop(
            "PREPARE s2 FROM 'SELECT user_id, order_id FROM t_order WHERE (amount > ? OR status = ?) AND user_id IN (?, 4) AND order_id >= ? ORDER BY user_id, order_id'",
        )
        .await
        .unwrap();
    }
    let cases = vec![
        ordered("EXECUTE by_user USING @uid"),
        ordered("EXECUTE s2 USING @lo, @name, @uid, @oid"),
        ordered("EXECUTE s2 USING @uid, @uid, @uid, @oid"),
    ];
    check_all(&mut p, &mut o, &cases).await;
    p.query_drop("DEALLOCATE PREPARE by_user").await.unwrap();
    let e = text(&mut p, "EXECUTE by_user USING @uid")
        .await
        .unwrap_err();
    let oe = {
        o.query_drop("DEALLOCATE PREPARE by_user").await.unwrap();
        text(&mut o, "EXECUTE by_user USING @uid")
            .await
            .unwrap_err()
    };
    assert_eq!(e.0, oe.0);
    let e = text(&mut p, "EXECUTE s2 USING @uid").await.unwrap_err();
    let oe = text(&mut o, "EXECUTE s2 USING @uid").await.unwrap_err();
    assert_eq!(e.0, oe.0);
    p.query_drop("DROP PREPARE s2").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ansi_quotes_names_route_and_rewrite() {
    let ep = crate::harness::shared();
    let (mut p, mut o) = connect(&ep).await;
    for c in [&mut p, &mut o] {
        c.query_drop("SET SESSION sql_mode = 'ANSI_QUOTES,STRICT_TRANS_TABLES'")
            .await
            .unwrap();
    }
    let cases = vec![
        ordered(
            r#"SELECT "order_id", "status" FROM "t_order" WHERE "user_id" = 3 ORDER BY "order_id""#,
        ),
        ordered(
            r#"SELECT "o"."order_id" FROM "shop"."t_order" "o" WHERE "o"."user_id" IN (3, 4) ORDER BY 1 LIMIT 5"#,
        ),
        ordered(
            r#"SELECT "status", COUNT(*) FROM "t_order" GROUP BY "status" ORDER BY 2 DESC, 1 LIMIT 3"#,
        ),
    ];
    check_all(&mut p, &mut o, &cases).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_backslash_escapes_strings_parse_as_mariadb_reads_them() {
    let ep = crate::harness::shared();
    let (mut p, mut o) = connect(&ep).await;
    for c in [&mut p, &mut o] {
        c.query_drop("SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES'")
            .await
            .unwrap();
    }
    let cases = vec![
        ordered(
            r"SELECT order_id, 'a\' AS s FROM t_order WHERE user_id = 3 AND note <> 'x\' ORDER BY order_id",
        ),
        ordered(r"SELECT COUNT(*), 'c:\dir\' FROM t_order WHERE status <> '\'"),
        ordered(r"SELECT name FROM t_user WHERE name LIKE 'a%' ESCAPE '|' ORDER BY user_id"),
        ordered(r"SELECT @p"),
        ordered(r"SHOW VARIABLES LIKE 'sql\_mode'"),
    ];
    for c in [&mut p, &mut o] {
        c.query_drop(r"SET @p = 'C:\dir'").await.unwrap();
    }
    check_all(&mut p, &mut o, &cases).await;
}
