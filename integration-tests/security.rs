//! The proxy as the security boundary: statements it does not route never reach a shard,
//! names resolve only in the user's logical databases, comments cannot change what runs
//! without the router knowing, and the privilege model of the rules holds.

use crate::diff::{connect, text};
use mysql_async::prelude::Queryable;
use mysql_async::Conn;

/// The error code the proxy answers `sql` with (0: it succeeded).
async fn code(conn: &mut Conn, sql: &str) -> u16 {
    match text(conn, sql).await {
        Ok(_) => 0,
        Err((c, _)) => c,
    }
}

async fn shard(ep: &crate::harness::Endpoints, i: usize) -> Conn {
    Conn::from_url(ep.shard_url(i)).await.expect("shard")
}

/// Every statement of server administration, file access, other databases and unrouted
/// kinds is refused with its own error, and none has any effect on the shards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_statements_never_reach_a_shard() {
    let ep = crate::harness::shared();
    let mut s0 = shard(&ep, 0).await;
    s0.query_drop("CREATE DATABASE IF NOT EXISTS sg_victim")
        .await
        .unwrap();
    let (mut p, _) = connect(&ep).await;
    let cases: &[(&str, &[u16])] = &[
        ("SHUTDOWN", &[1227]),
        ("shutdown", &[1227]),
        ("/* x */ SHUTDOWN", &[1227]),
        ("/*!40101 SHUTDOWN */", &[1227]),
        ("RESTART", &[1227]),
        ("CREATE USER sg_evil IDENTIFIED BY 'x'", &[1227]),
        ("GRANT ALL ON *.* TO root", &[1227]),
        ("REVOKE ALL ON *.* FROM root", &[1227]),
        ("SET PASSWORD = PASSWORD('x')", &[1227]),
        ("DROP USER root", &[1227]),
        ("CREATE DATABASE sg_evil", &[1044]),
        ("DROP DATABASE sg_victim", &[1044]),
        ("/*!40101 DROP DATABASE sg_victim */", &[1044]),
        ("SELECT 1; DROP DATABASE sg_victim", &[1064]),
        ("SELECT LOAD_FILE('/etc/passwd')", &[1227]),
        (
            "SELECT user_id FROM t_user WHERE name = LOAD_FILE('/etc/hostname')",
            &[1227],
        ),
        ("SELECT 1 INTO OUTFILE '/tmp/sg_outfile'", &[1227]),
        (
            "SELECT * FROM t_user INTO DUMPFILE '/tmp/sg_dumpfile'",
            &[1227],
        ),
        (
            "LOAD DATA INFILE '/etc/passwd' INTO TABLE t_config",
            &[1227],
        ),
        (
            "LOAD DATA LOCAL INFILE '/etc/passwd' INTO TABLE t_config",
            &[1227],
        ),
        ("SHOW BINLOG EVENTS", &[1227]),
        ("SHOW MASTER STATUS", &[1227]),
        ("SHOW SLAVE STATUS", &[1227]),
        ("FLUSH TABLES WITH READ LOCK", &[1227]),
        ("FLUSH PRIVILEGES", &[1227]),
        ("INSTALL SONAME 'ha_connect'", &[1227]),
        ("INSTALL PLUGIN x SONAME 'y.so'", &[1227]),
        ("CHANGE MASTER TO MASTER_HOST='127.0.0.1'", &[1227]),
        ("STOP SLAVE", &[1227]),
        ("RESET MASTER", &[1227]),
        ("PURGE BINARY LOGS BEFORE NOW()", &[1227]),
        ("BINLOG 'AAAA'", &[1227]),
        ("SET GLOBAL max_connections = 5", &[1227]),
        ("SET @@global.max_connections = 5", &[1227]),
        ("SET sql_log_bin = 0", &[1227]),
        ("SET SESSION wait_timeout = 2", &[1235]),
        ("SET session_track_state_change = OFF", &[1235]),
        (
            "CREATE SERVER s FOREIGN DATA WRAPPER mysql OPTIONS (HOST '127.0.0.1')",
            &[1227],
        ),
        ("CREATE TABLE sg_fed (a int) ENGINE=FEDERATED", &[1235]),
        ("CREATE TABLE sg_dir (a int) DATA DIRECTORY='/tmp'", &[1227]),
        // KILL names proxy sessions (none has this id), never backend threads.
        ("KILL 4000000000", &[1094]),
        ("KILL QUERY 4000000000", &[1094]),
        ("CALL mysql.sg_nothing()", &[1235]),
        ("CREATE PROCEDURE sg_p() SELECT 1", &[1235]),
        ("HANDLER t_config OPEN", &[1235]),
        ("XA START 'sg'", &[1235]),
        ("LOCK TABLES t_config READ", &[1235]),
        ("SELECT * FROM shop_0.t_user", &[1142]),
        ("SELECT * FROM `shop_1`.`t_order_0`", &[1142]),
        ("SELECT * FROM mysql.user", &[1142]),
        (
            "SELECT u.user_id FROM t_user u JOIN mysql.user m ON m.User = u.name",
            &[1142],
        ),
        (
            "SELECT * FROM t_user WHERE user_id IN (SELECT 1 FROM mysql.db)",
            &[1142],
        ),
        ("UPDATE shop_0.t_user SET name = 'x'", &[1142]),
        ("INSERT INTO mysql.db (Host) VALUES ('x')", &[1142]),
        ("CREATE TABLE mysql.sg_x (a int)", &[1142]),
        ("CREATE VIEW sg_v AS SELECT * FROM mysql.user", &[1142]),
        ("SELECT mysql.user.User FROM t_user", &[1142]),
        ("SHOW TABLES FROM mysql", &[1044, 1049]),
        ("SHOW TABLES FROM shop_0", &[1044, 1049]),
        ("SHOW CREATE TABLE mysql.user", &[1044, 1049]),
        ("SHOW COLUMNS FROM user FROM mysql", &[1044, 1049]),
        ("SHOW INDEX FROM shop_0.t_user", &[1044, 1049]),
        (
            "SHOW VARIABLES WHERE Variable_name IN (SELECT User FROM mysql.user)",
            &[1235],
        ),
        ("USE mysql", &[1044, 1049]),
        ("USE shop_0", &[1044, 1049]),
        ("SELECT * FROM performance_schema.threads", &[1142]),
        // Hints are comments: they hide no keyword from the proxy.
        ("SET sql_log_bin/*+*/=0", &[1227]),
        ("CREATE /*+ TABLE */ USER sg_evil", &[1227]),
        ("SHOW /*+ STATUS */ BINLOG EVENTS", &[1227]),
        // SET NAMES is rebuilt by the proxy; what follows it is checked like any SET.
        ("SET NAMES utf8mb4, sql_log_bin = 0", &[1227]),
        ("SET NAMES utf8mb4 sql_log_bin", &[1064]),
        ("SET NAMES utf8mb4, GLOBAL max_connections = 5", &[1227]),
        (
            "SET SESSION TRANSACTION READ WRITE, sql_log_bin = 0",
            &[1064],
        ),
        ("SET @@session . sql_log_bin = 0", &[1227]),
        ("SET character_set_client = cp1251", &[1235]),
        ("SET CHARACTER SET koi8r", &[1235]),
        // `--` before a non-ASCII character: comment or not depends on tables the proxy
        // does not model.
        ("SELECT 1 --\u{a0}+1", &[1064]),
        // Statement text prepared in SQL is read as a query.
        ("PREPARE sg_s FROM '/*!40101 SHUTDOWN */'", &[1227]),
        ("PREPARE sg_s FROM 'SELECT 1; SHUTDOWN'", &[1064]),
        // Prepared-statement commands are not preparable, as on MariaDB.
        ("PREPARE sg_s FROM 'PREPARE t FROM ''SELECT 1'''", &[1295]),
        ("PREPARE sg_s FROM 'execute t'", &[1295]),
        ("PREPARE sg_s FROM 'DROP PREPARE t'", &[1295]),
        (
            "CREATE TRIGGER sg_tr BEFORE INSERT ON t_config FOR EACH ROW SET @a = 1",
            &[1235],
        ),
        ("CREATE FUNCTION sg_f() RETURNS INT RETURN 1", &[1235]),
        ("DROP PROCEDURE IF EXISTS sg_p", &[1235]),
    ];
    for (sql, want) in cases {
        let got = code(&mut p, sql).await;
        assert!(want.contains(&got), "{sql}: got {got}, want {want:?}");
    }
    // The session goes on after every refusal.
    let one: Option<i64> = p.query_first("SELECT 1").await.unwrap();
    assert_eq!(one, Some(1));
    // Nothing happened on the shards: both still answer, the victim database is there, no
    // account or database was created, no file was written.
    for i in 0..2 {
        let mut s = shard(&ep, i).await;
        let dbs: Vec<String> = s.query("SHOW DATABASES").await.unwrap();
        assert!(!dbs.iter().any(|d| d == "sg_evil"), "{dbs:?}");
        let users: Vec<String> = s
            .query("SELECT User FROM mysql.user WHERE User = 'sg_evil'")
            .await
            .unwrap();
        assert!(users.is_empty());
    }
    let dbs: Vec<String> = s0.query("SHOW DATABASES").await.unwrap();
    assert!(dbs.iter().any(|d| d == "sg_victim"), "{dbs:?}");
    assert!(!std::path::Path::new("/tmp/sg_outfile").exists());
    assert!(!std::path::Path::new("/tmp/sg_dumpfile").exists());
    s0.query_drop("DROP DATABASE sg_victim").await.unwrap();
}

/// What drivers, ORMs and the CLI need keeps working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn driver_and_tool_statements_still_work() {
    let ep = crate::harness::shared();
    let (mut p, _) = connect(&ep).await;
    for sql in [
        "SET NAMES utf8mb4",
        "SET NAMES utf8mb4 COLLATE utf8mb4_general_ci",
        "SET SESSION sql_mode = 'STRICT_TRANS_TABLES'",
        "SET autocommit = 1",
        "SET @a = 1, @b = 'x'",
        "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
        "SET character_set_results = NULL",
        "SET innodb_lock_wait_timeout = 10",
        "SELECT @@session.auto_increment_increment, @@character_set_client, @@max_allowed_packet",
        "SHOW VARIABLES LIKE 'sql_mode'",
        "SHOW SESSION VARIABLES WHERE Variable_name = 'autocommit'",
        "SHOW WARNINGS",
        "SHOW ERRORS",
        "SHOW COUNT(*) WARNINGS",
        "SHOW COLLATION WHERE Charset = 'utf8mb4'",
        "SHOW CHARACTER SET",
        "SHOW ENGINES",
        "SHOW STATUS LIKE 'Uptime'",
        "SHOW GRANTS",
        "SHOW GRANTS FOR CURRENT_USER()",
        "SHOW PROCEDURE STATUS",
        "SHOW FUNCTION STATUS WHERE Db = 'shop'",
        "SHOW TRIGGERS",
        "SHOW CREATE DATABASE shop",
        "SHOW CREATE TABLE t_order",
        "SHOW CREATE TABLE shop.t_order",
        "SHOW FULL COLUMNS FROM t_order",
        "SHOW COLUMNS FROM t_order FROM shop LIKE 'user%'",
        "SHOW INDEX FROM t_order",
        "SHOW KEYS FROM shop.t_order WHERE Key_name = 'PRIMARY'",
        "SELECT * FROM t_order FOR UPDATE",
        "EXPLAIN SELECT * FROM t_config",
        "DESCRIBE t_order",
        "SELECT 1;",
        "/* a comment */ SELECT 1",
        "SELECT 1 -- trailing",
        "SET NAMES 'utf8mb4' COLLATE 'utf8mb4_general_ci'",
        "SET NAMES utf8mb4, @sg_after_names = 7",
        "SET CHARACTER SET utf8mb4",
        "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ WRITE",
        "SELECT /*+ MAX_EXECUTION_TIME(10000) */ 1",
        "SELECT `get_lock`('sg_quoted', 0), `release_lock`('sg_quoted')",
        "SELECT `connection_id`() > 0, `last_insert_id`()",
    ] {
        if let Err(e) = text(&mut p, sql).await {
            panic!("{sql}: {e:?}");
        }
    }
    let after: Option<i64> = p.query_first("SELECT @sg_after_names").await.unwrap();
    assert_eq!(after, Some(7));
    // A quoted lock function is a lock function: the lock lives on the session's own
    // connection, and another session sees it held.
    let got: Option<i64> = p
        .query_first("SELECT `GET_LOCK`('sg_held', 0)")
        .await
        .unwrap();
    assert_eq!(got, Some(1));
    let (mut other, _) = connect(&ep).await;
    let free: Option<i64> = other
        .query_first("SELECT IS_FREE_LOCK('sg_held')")
        .await
        .unwrap();
    assert_eq!(free, Some(0));
    let released: Option<i64> = p
        .query_first("SELECT RELEASE_LOCK('sg_held')")
        .await
        .unwrap();
    assert_eq!(released, Some(1));
    // Under NO_BACKSLASH_ESCAPES a backslash ends no quote early or late.
    p.query_drop("SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES'")
        .await
        .unwrap();
    assert_eq!(
        code(&mut p, r"SET @a = 'x\', sql_log_bin = 0, @b = 'y'").await,
        1227
    );
    p.query_drop(r"SET @a = 'x\', @b = 'y'").await.unwrap();
    let ab: Option<(String, String)> = p.query_first("SELECT @a, @b").await.unwrap();
    assert_eq!(ab, Some((r"x\".to_string(), "y".to_string())));
    p.query_drop("SET SESSION sql_mode = DEFAULT")
        .await
        .unwrap();
    // The kept value reads the same on every connection after the mode changed back.
    let a: Option<String> = p.query_first("SELECT @a").await.unwrap();
    assert_eq!(a.as_deref(), Some(r"x\"));
    // SHOW INDEX names the logical table, never the physical one.
    let rows: Vec<mysql_async::Row> = p.query("SHOW INDEX FROM t_order").await.unwrap();
    for r in rows {
        let t: String = r.get(0).unwrap();
        assert_eq!(t, "t_order");
    }
    let grants: Vec<String> = p.query("SHOW GRANTS").await.unwrap();
    assert!(grants.iter().any(|g| g.contains("`shop`.*")), "{grants:?}");
    let create: Vec<(String, String)> = p.query("SHOW CREATE DATABASE shop").await.unwrap();
    assert_eq!(create[0].0, "shop");
    assert!(create[0].1.contains("`shop`"), "{create:?}");
}

/// Comments and version comments are read as the server reads them: what the server would
/// execute is what the proxy routes; ordinary comments change nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comments_route_what_the_server_executes() {
    let ep = crate::harness::shared();
    let (mut p, mut o) = connect(&ep).await;
    for sql in [
        "SELECT COUNT(*) FROM t_user WHERE user_id = 1 /*M! OR 1=1 */",
        "SELECT COUNT(*) FROM t_user WHERE user_id = 1 /*!40101 OR 1=1 */",
        "SELECT COUNT(*) FROM t_user WHERE user_id = 1 /*!80000 OR 1=1 */",
        "SELECT COUNT(*) FROM t_user WHERE user_id = 1 /*M!999999 OR 1=1 */",
        "SELECT COUNT(*) FROM t_user WHERE user_id = 1 /* OR 1=1 */",
        "SELECT COUNT(*) FROM t_user WHERE user_id = 1 -- OR 1=1",
        "SELECT COUNT(*) FROM t_user WHERE user_id = 1 # OR 1=1",
        "SELECT COUNT(*) FROM t_user WHERE user_id = 1 --1",
        "/*!40101 SELECT COUNT(*) FROM t_order */",
        "/*!40101 SELECT COUNT(*) FROM t_order WHERE user_id = 2 */",
        "SELECT /*!40101 COUNT(*) */ FROM t_order",
        "SELECT COUNT(*) /*!40101 FROM t_order */ WHERE user_id = 3",
        "SELECT /*+ NO_RANGE_OPTIMIZATION(t_order) */ COUNT(*) FROM t_order",
        "SELECT 'a /* b */ c', \"-- d\"",
    ] {
        let a = text(&mut p, sql).await;
        let b = text(&mut o, sql).await;
        let rows = |x: &crate::diff::Outcome| x.as_ref().map(|a| a.rows.clone()).map_err(|e| e.0);
        assert_eq!(rows(&a), rows(&b), "{sql}");
    }
    // SHOW with comments lists logical tables, never physical ones.
    for sql in [
        "/* x */ SHOW TABLES",
        "SHOW /* x */ TABLES",
        "SHOW TABLES /* x */",
    ] {
        let tables: Vec<String> = p.query(sql).await.unwrap();
        assert!(tables.iter().any(|t| t == "t_order"), "{sql}: {tables:?}");
        assert!(
            !tables.iter().any(|t| t == "t_order_0"),
            "{sql}: {tables:?}"
        );
    }
    // USE with comments (and multibyte ones) selects the database the server would.
    for sql in [
        "/*é*/USE shop",
        "/* c */ USE shop",
        "USE /* c */ shop",
        "USE shop -- é",
    ] {
        p.query_drop(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let db: Option<String> = p.query_first("SELECT DATABASE()").await.unwrap();
        assert_eq!(db.as_deref(), Some("shop"), "{sql}");
    }
    assert_eq!(code(&mut p, "SELECT 1 /* never closed").await, 1064);
    assert_eq!(code(&mut p, "SELECT 1 /*!40101 + 1").await, 1064);
    assert_eq!(code(&mut p, "SELECT 'open").await, 1064);
}

/// The privilege model: read-only users, users of other logical databases, admin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_see_only_their_databases_and_rights() {
    let ep = crate::harness::shared();
    // A logical database of its own (physical sg_sec on shard 0), so writes here touch no
    // other test's data.
    let rules = r#"
[data_sources.ds_sec]
host = "127.0.0.1"
port = {p0}
user = "root"
database = "sg_sec"

[databases.sec]
default_data_source = "ds_sec"

[[databases.sec.users]]
name = "writer"
password = "w"

[[users]]
name = "reader"
password = "r"
databases = ["sec", "shop"]
read_only = true
"#;
    let setup = ["CREATE TABLE sg_sec.notes (id INT PRIMARY KEY, body TEXT)".to_string()];
    let (addr, _stop, _) =
        crate::harness::proxy_with_rules(rules, &["sg_sec"], &setup, |_| {}).await;
    let mut s0 = shard(&ep, 0).await;
    let url = |u: &str, pw: &str, db: &str| format!("mysql://{u}:{pw}@{addr}/{db}");

    // writer: only `sec`.
    let mut w = Conn::from_url(url("writer", "w", "sec"))
        .await
        .expect("writer");
    w.query_drop("REPLACE INTO notes VALUES (1, 'hello')")
        .await
        .unwrap();
    for (sql, want) in [
        ("SELECT * FROM shop.t_user", 1142),
        ("SELECT * FROM shop_0.t_user", 1142),
        ("SELECT * FROM sg_sec.notes", 1142),
        ("UPDATE shop.t_user SET name = 'x'", 1142),
        ("USE shop", 1044),
        ("SHOW TABLES FROM shop", 1044),
        ("SHOW CREATE TABLE shop.t_user", 1044),
        ("SHOW GRANTS FOR root", 1044),
    ] {
        assert_eq!(code(&mut w, sql).await, want, "writer: {sql}");
    }
    let dbs: Vec<String> = w.query("SHOW DATABASES").await.unwrap();
    assert!(!dbs.iter().any(|d| d == "shop"), "{dbs:?}");
    assert!(Conn::from_url(url("writer", "w", "shop")).await.is_err());

    // reader: reads in both, writes nowhere.
    let mut r = Conn::from_url(url("reader", "r", "sec"))
        .await
        .expect("reader");
    let body: Option<String> = r
        .query_first("SELECT body FROM notes WHERE id = 1")
        .await
        .unwrap();
    assert_eq!(body.as_deref(), Some("hello"));
    for sql in [
        "INSERT INTO notes VALUES (2, 'x')",
        "UPDATE notes SET body = 'x'",
        "DELETE FROM notes",
        "REPLACE INTO notes VALUES (1, 'x')",
        "CREATE TABLE sg_more (a int)",
        "DROP TABLE notes",
        "ALTER TABLE notes ADD c INT",
        "TRUNCATE TABLE notes",
        "SELECT * FROM notes FOR UPDATE",
        "ALTER VIEW sg_nv AS SELECT 1",
    ] {
        assert_eq!(code(&mut r, sql).await, 1142, "reader: {sql}");
    }
    r.query_drop("USE shop").await.unwrap();
    assert_eq!(
        code(&mut r, "UPDATE t_user SET name = name WHERE user_id = 1").await,
        1142
    );
    let n: Option<i64> = r.query_first("SELECT COUNT(*) FROM t_user").await.unwrap();
    assert!(n.unwrap_or(0) > 0);
    let grants: Vec<String> = r.query("SHOW GRANTS").await.unwrap();
    assert!(
        grants
            .iter()
            .any(|g| g == "GRANT SELECT ON `shop`.* TO `reader`@`%`"),
        "{grants:?}"
    );
    let body: Option<String> = s0
        .query_first("SELECT body FROM sg_sec.notes WHERE id = 1")
        .await
        .unwrap();
    assert_eq!(body.as_deref(), Some("hello"));
    s0.query_drop("DROP DATABASE sg_sec").await.unwrap();
}

/// information_schema answers the logical view: the same rows as on one MariaDB holding the
/// logical tables, for the user's databases only, never the physical ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn information_schema_is_the_logical_view() {
    let ep = crate::harness::shared();
    let (mut p, mut o) = connect(&ep).await;
    let rules_tables = "('t_user','t_order','t_order_item','t_product','t_region','t_config')";
    for sql in [
        format!("SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, ENGINE, TABLE_COLLATION FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME IN {rules_tables} ORDER BY TABLE_NAME"),
        format!("SELECT TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, COLUMN_DEFAULT, IS_NULLABLE, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, COLUMN_TYPE, COLUMN_KEY, EXTRA, COLLATION_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME IN {rules_tables} ORDER BY TABLE_NAME, ORDINAL_POSITION"),
        format!("SELECT c.TABLE_NAME, COUNT(*) FROM information_schema.COLUMNS c JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME WHERE c.TABLE_SCHEMA = DATABASE() AND c.TABLE_NAME IN {rules_tables} GROUP BY c.TABLE_NAME ORDER BY 1"),
        format!("SELECT TABLE_NAME, NON_UNIQUE, INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME IN {rules_tables} ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX"),
        format!("SELECT CONSTRAINT_NAME, TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME IN {rules_tables} ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION"),
        "SELECT SCHEMA_NAME, DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM INFORMATION_SCHEMA.SCHEMATA WHERE SCHEMA_NAME = 'shop'".to_string(),
        "SELECT information_schema.columns.column_name FROM information_schema.columns WHERE table_schema = 'shop' AND table_name = 't_order' ORDER BY ordinal_position".to_string(),
        "SELECT COUNT(*) FROM information_schema.COLLATIONS WHERE CHARACTER_SET_NAME = 'utf8mb4'".to_string(),
    ] {
        let a = text(&mut p, &sql).await;
        let b = text(&mut o, &sql).await;
        let rows = |x: &crate::diff::Outcome| x.as_ref().map(|a| a.rows.clone()).map_err(|e| e.clone());
        assert_eq!(rows(&a), rows(&b), "{sql}");
    }
    // No physical database or table is visible anywhere.
    let names: Vec<String> = p
        .query("SELECT CONCAT(TABLE_SCHEMA, '.', TABLE_NAME) FROM information_schema.TABLES")
        .await
        .unwrap();
    assert!(names.iter().any(|n| n == "shop.t_order"), "{names:?}");
    for n in &names {
        assert!(n.starts_with("shop."), "{n}");
        assert!(!n.contains("t_order_0") && !n.contains("t_order_1"), "{n}");
    }
    let schemas: Vec<String> = p
        .query("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA ORDER BY 1")
        .await
        .unwrap();
    assert_eq!(schemas, ["information_schema", "shop"]);
    // The result metadata says information_schema, as on MariaDB.
    let r = p
        .query_iter("SELECT TABLE_NAME FROM information_schema.TABLES LIMIT 1")
        .await
        .unwrap();
    let c = r.columns_ref()[0].clone();
    r.drop_result().await.unwrap();
    assert_eq!(c.schema_str(), "information_schema");
    assert_eq!(c.org_table_str(), "TABLES");
    // Row counts of sharded tables are summed over their nodes.
    let n: Option<u64> = p
        .query_first(
            "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_NAME = 't_order'",
        )
        .await
        .unwrap();
    assert!(n.unwrap_or(0) > 0);
    // SHOW TABLE STATUS is the same view.
    for sql in [
        "SHOW TABLE STATUS LIKE 't_order%'",
        "SHOW TABLE STATUS FROM shop WHERE Name = 't_user'",
    ] {
        let a: Vec<mysql_async::Row> = p.query(sql).await.unwrap();
        let b: Vec<mysql_async::Row> = o.query(sql).await.unwrap();
        let pick = |rows: &[mysql_async::Row]| -> Vec<(String, String, String)> {
            rows.iter()
                .map(|r| {
                    (
                        r.get::<String, _>(0).unwrap(),
                        r.get::<String, _>(1).unwrap(),
                        r.get::<String, _>(14).unwrap(),
                    )
                })
                .collect()
        };
        assert_eq!(pick(&a), pick(&b), "{sql}");
        assert_eq!(a[0].columns_ref().len(), b[0].columns_ref().len(), "{sql}");
    }
    // Prepared statements too; and what is not part of the logical view is refused.
    let stmt = p.prep("SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION").await.unwrap();
    let cols: Vec<String> = p.exec(&stmt, ("shop", "t_user")).await.unwrap();
    assert_eq!(cols[0], "user_id");
    for sql in [
        "SELECT * FROM information_schema.PROCESSLIST",
        "SELECT * FROM information_schema.USER_PRIVILEGES",
        "SELECT * FROM information_schema.GLOBAL_VARIABLES",
        "SELECT * FROM information_schema.TABLES t JOIN t_user u ON 1 = 1",
        "DELETE FROM information_schema.TABLES",
    ] {
        let got = code(&mut p, sql).await;
        assert!(matches!(got, 1142 | 1235), "{sql}: {got}");
    }
}
